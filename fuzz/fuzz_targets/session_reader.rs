//! The session reader: fed in pieces, it reads what it reads fed whole
//! (items, the error and its line, the torn last line).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_codec::session::Reader;

#[path = "common.rs"]
mod common;

fn read(pieces: &[&[u8]]) -> (Vec<String>, Option<String>, Option<(u64, usize)>) {
    let mut reader = Reader::new();
    let mut items = Vec::new();
    for piece in pieces {
        reader.push(piece);
        loop {
            match reader.next_item() {
                Ok(Some(item)) => items.push(format!("{item:?}")),
                Ok(None) => break,
                Err(err) => return (items, Some(err.to_string()), None),
            }
        }
    }
    (items, None, reader.finish().map(|t| (t.line, t.bytes)))
}

fuzz_target!(|data: &[u8]| {
    let (seed_len, rest) = common::split_first(data);
    let (seed, file) = rest.split_at(usize::from(seed_len % 9).min(rest.len()));
    let whole = read(&[file]);
    assert_eq!(read(&common::pieces(file, &common::cuts(seed, file.len()))), whole);
});
