//! RecordIO: the records and the error depend only on the bytes, not on
//! where the chunks were cut, when the decoder was drained, or which call
//! took the records (`next_record` or `next_record_ref`), nor on whether
//! a chunk was pushed or fed (lent, `feed`).
#![no_main]
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mesos_codec::recordio::Decoder;

#[path = "common.rs"]
mod common;

type Outcome = (Vec<(u64, Vec<u8>)>, Option<String>);

fn decode(chunks: &[&[u8]], drains: u8, borrowed: u8) -> Outcome {
    let mut decoder = Decoder::with_max_record_size(4096);
    let mut records = Vec::new();
    let mut calls = 0u32;
    let last = chunks.len();
    for (i, chunk) in chunks.iter().enumerate() {
        decoder.push(Bytes::copy_from_slice(chunk));
        if i + 1 < last && drains & (1 << (i % 8)) == 0 {
            continue;
        }
        loop {
            calls += 1;
            let next = if borrowed & (1 << (calls % 8)) != 0 {
                decoder.next_record_ref().map(|r| r.map(|r| (r.offset, r.data.to_vec())))
            } else {
                decoder.next_record().map(|r| r.map(|r| (r.offset, r.data.to_vec())))
            };
            match next {
                Ok(Some(record)) => records.push(record),
                Ok(None) => break,
                Err(err) => return (records, Some(err.to_string())),
            }
        }
    }
    (records, decoder.finish().err().map(|e| e.to_string()))
}

/// Each chunk fed (`how`'s bit for it set) or pushed and drained.
fn fed(chunks: &[&[u8]], how: u8) -> Outcome {
    let mut decoder = Decoder::with_max_record_size(4096);
    let mut records = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let step = if how & (1 << (i % 8)) != 0 {
            decoder.feed(chunk, |r| records.push((r.offset, r.data.to_vec())))
        } else {
            decoder.push(Bytes::copy_from_slice(chunk));
            loop {
                match decoder.next_record_ref() {
                    Ok(Some(r)) => records.push((r.offset, r.data.to_vec())),
                    Ok(None) => break Ok(()),
                    Err(err) => break Err(err),
                }
            }
        };
        if let Err(err) = step {
            return (records, Some(err.to_string()));
        }
    }
    (records, decoder.finish().err().map(|e| e.to_string()))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (drains, borrowed, seed_len) = (data[0], data[1], usize::from(data[2] % 9));
    let rest = &data[3..];
    let (seed, stream) = rest.split_at(seed_len.min(rest.len()));
    let whole = decode(&[stream], 0xff, 0);
    let cut = common::pieces(stream, &common::cuts(seed, stream.len()));
    assert_eq!(decode(&cut, drains, borrowed), whole);
    assert_eq!(fed(&cut, drains ^ borrowed), whole);
});
