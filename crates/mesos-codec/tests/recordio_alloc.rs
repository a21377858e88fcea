//! The maximum record size is enforced before any allocation: a hostile size
//! line cannot make the decoder reserve memory for it.
//!
//! The counting global allocator below is the whole test binary's (every
//! test of the crate allocates through it); the one test here runs again,
//! alone, in a child process of the binary (`test_support::in_own_process`)
//! so that no other test allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use mesos_codec::recordio::{Decoder, ErrorKind};

struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.load(Ordering::SeqCst);
    let out = f();
    (out, ALLOCATED.load(Ordering::SeqCst) - before)
}

#[test]
fn hostile_sizes_allocate_nothing_or_little() {
    if !test_support::in_own_process("recordio_alloc::hostile_sizes_allocate_nothing_or_little") {
        return;
    }
    // A size just over the 64 MiB cap, newline and all: refused, and nothing
    // near its size is allocated.
    let over = Bytes::from(format!("{}\n", (64u64 << 20) + 1));
    let mut decoder = Decoder::new();
    let (result, bytes) = allocated_during(|| {
        decoder.push(over);
        decoder.next_record()
    });
    assert!(matches!(result.unwrap_err().kind(), ErrorKind::TooLarge { .. }));
    assert!(bytes < 4096, "allocated {bytes} bytes to refuse an oversized record");

    // A size under a large cap, but with only a few bytes of data behind it:
    // the buffer grows with the data, it is not reserved for the claim.
    let mut decoder = Decoder::with_max_record_size(u64::MAX);
    let (result, bytes) = allocated_during(|| {
        decoder.push(Bytes::from_static(b"1000000000000\nsome bytes"));
        decoder.next_record()
    });
    assert_eq!(result, Ok(None));
    assert!(bytes <= (1 << 20) + 4096, "allocated {bytes} bytes for a 10-byte partial record");

    // The same through the borrowing API: refused before any allocation, and
    // a large claim with little data behind it reserves no more.
    let over = Bytes::from(format!("{}\n", (64u64 << 20) + 1));
    let mut decoder = Decoder::new();
    let (result, bytes) = allocated_during(|| {
        decoder.push(over);
        decoder.next_record_ref().map(|r| r.map(|r| r.data.len()))
    });
    assert!(matches!(result.unwrap_err().kind(), ErrorKind::TooLarge { .. }));
    assert!(bytes < 4096, "allocated {bytes} bytes to refuse an oversized record (borrowed)");
    let mut decoder = Decoder::with_max_record_size(u64::MAX);
    let (result, bytes) = allocated_during(|| {
        decoder.push(Bytes::from_static(b"2\nok1000000000000\nsome bytes"));
        let first = decoder.next_record_ref().map(|r| r.map(|r| r.data.to_vec()));
        (first, decoder.next_record_ref().map(|r| r.map(|r| r.data.len())))
    });
    assert_eq!(result, (Ok(Some(b"ok".to_vec())), Ok(None)));
    assert!(bytes <= (1 << 20) + 4096, "allocated {bytes} bytes for a 10-byte partial record (borrowed)");

    // Records inside a chunk are lent without allocating at all.
    let mut decoder = Decoder::new();
    let stream = Bytes::from_static(b"3\nabc0\n5\nhello");
    let (lengths, bytes) = allocated_during(|| {
        decoder.push(stream);
        let mut lengths = [0; 3];
        for length in &mut lengths {
            *length = decoder.next_record_ref().unwrap().unwrap().data.len();
        }
        lengths
    });
    assert_eq!((lengths, bytes), ([3, 0, 5], 0));
}
