//! RecordIO decoder, borrowing API (`Decoder::next_record_ref`): the same
//! records, offsets and errors as `next_record` for every chunking, records
//! inside a chunk lent as slices of it, spanning records lent from the spill
//! buffer, and the two APIs mixed on one decoder. (The properties over
//! random records and chunkings, for both APIs, are in `recordio.rs`.)

use bytes::{Bytes, BytesMut};
use mesos_codec::recordio::{Decoder, Error, ErrorKind, encode_into};

use crate::recordio_support;
use recordio_support::{Seen, Take, feed};

fn owned(chunks: impl IntoIterator<Item = Bytes>) -> (Vec<Seen>, Result<(), Error>) {
    feed(&mut Decoder::new(), chunks, Take::Owned)
}

fn borrowed(chunks: impl IntoIterator<Item = Bytes>) -> (Vec<Seen>, Result<(), Error>) {
    feed(&mut Decoder::new(), chunks, Take::Borrowed)
}

fn texts(records: &[Seen]) -> Vec<&[u8]> {
    records.iter().map(|r| &r.data[..]).collect()
}

fn seed_stream() -> Bytes {
    Bytes::from(std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/seed/events.recordio")).unwrap())
}

// ---- the reference's vectors ----

#[test]
fn vectors() {
    let (records, end) = borrowed([Bytes::from_static(b"6\nhello!0\n1\n 13\n13 characters")]);
    assert_eq!(texts(&records), [&b"hello!"[..], b"", b" ", b"13 characters"]);
    assert_eq!(end, Ok(()));

    let mut decoder = Decoder::new();
    for chunk in ["1", "3", "\n", "13 character"] {
        decoder.push(Bytes::from(chunk));
        assert_eq!(decoder.next_record_ref(), Ok(None), "after {chunk:?}");
    }
    decoder.push(Bytes::from("s"));
    let record = decoder.next_record_ref().unwrap().unwrap();
    assert_eq!((record.offset, record.data_offset, record.data), (0, 3, &b"13 characters"[..]));
    assert_eq!(decoder.next_record_ref(), Ok(None));
    assert_eq!(decoder.finish(), Ok(()));

    let (records, end) = borrowed([Bytes::from_static(b"1\na0\n1\nb")]);
    assert_eq!(texts(&records), [&b"a"[..], b"", b"b"]);
    assert_eq!(end, Ok(()));
}

#[test]
fn not_a_number_fails_and_stays_failed() {
    let mut decoder = Decoder::new();
    decoder.push(Bytes::from("not a number\n"));
    let err = decoder.next_record_ref().unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (0, ErrorKind::InvalidSize { byte: b'n' }));
    decoder.push(Bytes::from("5\nhello"));
    assert_eq!(decoder.next_record_ref(), Err(err.clone()));
    assert_eq!(decoder.next_record(), Err(err.clone()));
    assert_eq!(decoder.next_record_ref(), Err(err.clone()));
    assert_eq!(decoder.finish(), Err(err));
}

#[test]
fn truncated_last_record_is_reported() {
    let (records, end) = borrowed([Bytes::from_static(b"5\nabcde5\nfgh")]);
    assert_eq!(texts(&records), [b"abcde"]);
    let err = end.unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (7, ErrorKind::Truncated { expected: Some(5), received: 3 }));
    // Inside a size line, and with the data split over chunks.
    let (_, end) = borrowed([Bytes::from_static(b"3\nabc1"), Bytes::from_static(b"2")]);
    let err = end.unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (5, ErrorKind::Truncated { expected: None, received: 0 }));
    let (_, end) = borrowed([Bytes::from_static(b"10\nab"), Bytes::from_static(b"cd"), Bytes::from_static(b"e")]);
    let err = end.unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (0, ErrorKind::Truncated { expected: Some(10), received: 5 }));
}

// ---- the RecordIO table ----

fn first_error(input: &[u8], max: u64) -> Error {
    let mut decoder = Decoder::with_max_record_size(max);
    decoder.push(Bytes::copy_from_slice(input));
    loop {
        match decoder.next_record_ref() {
            Ok(Some(_)) => continue,
            Ok(None) => return decoder.finish().unwrap_err(),
            Err(err) => return err,
        }
    }
}

#[test]
fn odd_input_is_refused_at_its_byte() {
    let max = u64::MAX;
    for (input, offset, kind) in [
        (&b"+5\nhello"[..], 0, ErrorKind::InvalidSize { byte: b'+' }),
        (b"-1\n", 0, ErrorKind::InvalidSize { byte: b'-' }),
        (b"0x10\n", 1, ErrorKind::InvalidSize { byte: b'x' }),
        (b" 5\nhello", 0, ErrorKind::InvalidSize { byte: b' ' }),
        (b"5\r\nhello", 1, ErrorKind::InvalidSize { byte: b'\r' }),
        (b"2\nok12a\n", 6, ErrorKind::InvalidSize { byte: b'a' }),
        (b"1\na\nrest", 3, ErrorKind::EmptySize),
        (b"18446744073709551616\n", 19, ErrorKind::SizeOverflow),
        (b"3\nabc12", 5, ErrorKind::Truncated { expected: None, received: 0 }),
    ] {
        let err = first_error(input, max);
        assert_eq!((err.offset(), err.kind().clone()), (offset, kind), "{input:?}");
    }
    assert_eq!(first_error(b"3\nabc11\n", 10).kind(), &ErrorKind::TooLarge { size: 11, max: 10 });
    assert_eq!(first_error(b"3\nabc11\n", 10).offset(), 5);
}

#[test]
fn the_cap_is_checked_before_the_newline_and_before_the_data() {
    let max = mesos_codec::recordio::DEFAULT_MAX_RECORD_SIZE;
    let mut decoder = Decoder::new();
    decoder.push(Bytes::from((max + 1).to_string()));
    let err = decoder.next_record_ref().unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (0, ErrorKind::TooLarge { size: max + 1, max }));
    // Exactly the cap is fine (the record is simply not complete yet).
    let mut decoder = Decoder::new();
    decoder.push(Bytes::from(format!("{max}\nabc")));
    assert_eq!(decoder.next_record_ref(), Ok(None));
    // The cap also holds after records taken on the fast path.
    let mut decoder = Decoder::with_max_record_size(3);
    decoder.push(Bytes::from_static(b"3\nabc3\ndef4\nghij"));
    assert_eq!(decoder.next_record_ref().unwrap().unwrap().data, b"abc");
    assert_eq!(decoder.next_record_ref().unwrap().unwrap().data, b"def");
    let err = decoder.next_record_ref().unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (10, ErrorKind::TooLarge { size: 4, max: 3 }));
    assert_eq!(decoder.next_record_ref(), Err(err));
}

// ---- chunking ----

#[test]
fn every_split_position_of_the_seed_stream_gives_the_same_records() {
    let stream = seed_stream();
    let (whole, end) = owned([stream.clone()]);
    assert_eq!((whole.len(), end), (8, Ok(())));
    for at in 0..=stream.len() {
        let chunks = [stream.slice(..at), stream.slice(at..)];
        assert_eq!(borrowed(chunks.clone()), (whole.clone(), Ok(())), "split at byte {at}");
        let mixed = feed(&mut Decoder::new(), chunks, Take::Mixed(&[true, false, false]));
        assert_eq!(mixed, (whole.clone(), Ok(())), "split at byte {at}, mixed");
    }
}

#[test]
fn every_pair_of_split_positions_of_the_vector_stream_gives_the_same_records() {
    let stream = Bytes::from_static(b"6\nhello!0\n1\n 13\n13 characters00003\nend");
    let (whole, _) = owned([stream.clone()]);
    assert_eq!(texts(&whole), [&b"hello!"[..], b"", b" ", b"13 characters", b"end"]);
    for a in 0..=stream.len() {
        for b in a..=stream.len() {
            let chunks = [stream.slice(..a), stream.slice(a..b), stream.slice(b..)];
            assert_eq!(borrowed(chunks.clone()), (whole.clone(), Ok(())), "split at {a} and {b}");
            let mixed = feed(&mut Decoder::new(), chunks, Take::Mixed(&[false, true]));
            assert_eq!(mixed, (whole.clone(), Ok(())), "split at {a} and {b}, mixed");
        }
    }
}

#[test]
fn byte_by_byte_feeding_gives_the_same_records() {
    let stream = seed_stream();
    let (whole, _) = owned([stream.clone()]);
    let (records, end) = borrowed((0..stream.len()).map(|i| stream.slice(i..i + 1)));
    assert_eq!(records, whole);
    assert_eq!(end, Ok(()));
}

#[test]
fn records_inside_one_chunk_are_slices_of_it() {
    let stream = seed_stream();
    let range = stream.as_ptr_range();
    let mut decoder = Decoder::new();
    decoder.push(stream.clone());
    let mut n = 0;
    while let Some(record) = decoder.next_record_ref().unwrap() {
        assert!(range.contains(&record.data.as_ptr()), "record at {} was copied", record.offset);
        assert_eq!(&stream[record.data_offset as usize..record.end() as usize], record.data);
        n += 1;
    }
    assert_eq!(n, 8);
}

#[test]
fn spanning_records_are_lent_from_one_reused_buffer() {
    // Three records that each span two chunks, and a record that starts while
    // the last spanning one is still lent out.
    let chunks =
        ["3\nab", "c3\nde", "f3\ngh", "i1\nx2\nyz"].map(|chunk: &'static str| Bytes::from_static(chunk.as_bytes()));
    let mut decoder = Decoder::new();
    let mut seen = Vec::new();
    let mut spill_at = Vec::new();
    for chunk in chunks.clone() {
        let range = chunk.as_ptr_range();
        decoder.push(chunk);
        while let Some(record) = decoder.next_record_ref().unwrap() {
            if !range.contains(&record.data.as_ptr()) {
                spill_at.push(record.data.as_ptr());
            }
            seen.push((record.offset, record.data.to_vec()));
        }
    }
    assert_eq!(decoder.finish(), Ok(()));
    let want: Vec<(u64, Vec<u8>)> =
        [(0, "abc"), (5, "def"), (10, "ghi"), (15, "x"), (18, "yz")].map(|(o, d)| (o, d.into())).into();
    assert_eq!(seen, want);
    assert_eq!(spill_at.len(), 3, "abc, def and ghi were assembled");
    assert!(spill_at.windows(2).all(|w| w[0] == w[1]), "one buffer, reused: {spill_at:?}");
}

#[test]
fn a_large_spanning_record_then_small_ones() {
    let big = vec![b'x'; 3 << 20];
    let mut stream = BytesMut::new();
    encode_into(&big, &mut stream);
    encode_into(b"after", &mut stream);
    encode_into(&big[..5000], &mut stream);
    let stream = stream.freeze();
    let chunks: Vec<Bytes> =
        (0..stream.len()).step_by(64 << 10).map(|at| stream.slice(at..(at + (64 << 10)).min(stream.len()))).collect();
    let (records, end) = borrowed(chunks.clone());
    assert_eq!(end, Ok(()));
    assert_eq!(texts(&records), [&big[..], b"after", &big[..5000]]);
    assert_eq!(borrowed(chunks.clone()), owned(chunks));
}

#[test]
fn chunks_pushed_before_draining_are_all_decoded() {
    let mut decoder = Decoder::new();
    for chunk in ["3\na", "bc2", "\nde", "0\n"] {
        decoder.push(Bytes::from(chunk));
    }
    let mut records = Vec::new();
    while let Some(record) = decoder.next_record_ref().unwrap() {
        records.push(record.data.to_vec());
    }
    assert_eq!(records, [&b"abc"[..], b"de", b""]);
    assert_eq!(decoder.position(), 11);
    assert_eq!(decoder.finish(), Ok(()));
}
