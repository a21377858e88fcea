//! Shared by the RecordIO tests: chunkings of a stream, and a drain loop
//! that takes each record with `next_record`, `next_record_ref` or a mix of
//! the two.

#![allow(dead_code)]

use bytes::Bytes;
use mesos_codec::recordio::{Decoder, Error, Record, RecordRef};

/// `stream` cut at `cuts` (each taken modulo the length plus one, sorted;
/// repeated cuts make empty chunks).
pub fn chunked(stream: &Bytes, cuts: &[usize]) -> Vec<Bytes> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([stream.len()]) {
        chunks.push(stream.slice(start..cut));
        start = cut;
    }
    chunks
}

/// Which call takes each record.
#[derive(Clone, Copy, Debug)]
pub enum Take<'a> {
    Owned,
    Borrowed,
    /// `next_record_ref` where the pattern says `true`, cycling.
    Mixed(&'a [bool]),
}

/// A record, as either call sees it (borrowed data copied out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub offset: u64,
    pub data_offset: u64,
    pub data: Vec<u8>,
}

impl From<Record> for Seen {
    fn from(record: Record) -> Self {
        Seen { offset: record.offset, data_offset: record.data_offset, data: record.data.to_vec() }
    }
}

impl From<RecordRef<'_>> for Seen {
    fn from(record: RecordRef<'_>) -> Self {
        assert_eq!(record.end(), record.data_offset + record.data.len() as u64);
        Seen { offset: record.offset, data_offset: record.data_offset, data: record.data.to_vec() }
    }
}

/// Feeds `chunks` one by one, draining after each with `take`; returns the
/// records and the outcome of `finish` (or the first error).
pub fn feed(
    decoder: &mut Decoder,
    chunks: impl IntoIterator<Item = Bytes>,
    take: Take,
) -> (Vec<Seen>, Result<(), Error>) {
    feed_draining(decoder, chunks, take, &[])
}

/// [`feed`], draining after push `i` only where `drains[i % len]` says so
/// (always when `drains` is empty), and once more at the end.
pub fn feed_draining(
    decoder: &mut Decoder,
    chunks: impl IntoIterator<Item = Bytes>,
    take: Take,
    drains: &[bool],
) -> (Vec<Seen>, Result<(), Error>) {
    let mut records = Vec::new();
    let mut calls = 0usize;
    let chunks: Vec<Bytes> = chunks.into_iter().collect();
    let last = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        decoder.push(chunk);
        if i + 1 < last && !drains.is_empty() && !drains[i % drains.len()] {
            continue;
        }
        loop {
            let borrowed = match take {
                Take::Owned => false,
                Take::Borrowed => true,
                Take::Mixed(pattern) => pattern.is_empty() || pattern[calls % pattern.len()],
            };
            calls += 1;
            let next = if borrowed {
                decoder.next_record_ref().map(|r| r.map(Seen::from))
            } else {
                decoder.next_record().map(|r| r.map(Seen::from))
            };
            match next {
                Ok(Some(record)) => records.push(record),
                Ok(None) => break,
                Err(err) => return (records, Err(err)),
            }
        }
    }
    let end = decoder.finish();
    (records, end)
}
