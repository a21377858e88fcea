//! RecordIO decoder, borrowing API (`Decoder::next_record_ref`): the same
//! records, offsets and errors as `next_record` for every chunking, records
//! inside a chunk lent as slices of it, spanning records lent from the spill
//! buffer, and the two APIs mixed on one decoder.

use bytes::{Bytes, BytesMut};
use mesos_codec::recordio::{Decoder, Error, ErrorKind, Record, RecordRef, encode_into};
use proptest::prelude::*;

/// Which call takes each record.
#[derive(Clone, Copy, Debug)]
enum Take<'a> {
    Owned,
    Borrowed,
    /// `next_record_ref` where the pattern says `true`, cycling.
    Mixed(&'a [bool]),
}

/// A record, as either call sees it (borrowed data copied out).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    offset: u64,
    data_offset: u64,
    data: Vec<u8>,
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
fn feed(decoder: &mut Decoder, chunks: impl IntoIterator<Item = Bytes>, take: Take) -> (Vec<Seen>, Result<(), Error>) {
    let mut records = Vec::new();
    let mut calls = 0usize;
    for chunk in chunks {
        decoder.push(chunk);
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

// ---- properties ----

fn chunked(stream: &Bytes, cuts: &[usize]) -> Vec<Bytes> {
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

proptest! {
    #[test]
    fn random_records_in_random_chunks_round_trip(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
        pattern in prop::collection::vec(any::<bool>(), 0..8),
    ) {
        let mut stream = BytesMut::new();
        let mut offsets = Vec::new();
        for record in &records {
            offsets.push(stream.len() as u64);
            encode_into(record, &mut stream);
        }
        let stream = stream.freeze();
        let chunks = chunked(&stream, &cuts);
        for take in [Take::Borrowed, Take::Mixed(&pattern)] {
            let (decoded, end) = feed(&mut Decoder::new(), chunks.clone(), take);
            prop_assert_eq!(end, Ok(()));
            prop_assert_eq!(decoded.len(), records.len());
            for ((got, want), &offset) in decoded.iter().zip(&records).zip(&offsets) {
                prop_assert_eq!(&got.data, want);
                prop_assert_eq!(got.offset, offset);
            }
        }
    }

    #[test]
    fn any_prefix_of_a_stream_is_records_then_truncation_or_clean_end(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 1..10),
        keep in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        let mut stream = BytesMut::new();
        let mut ends = Vec::new();
        for record in &records {
            encode_into(record, &mut stream);
            ends.push(stream.len());
        }
        let len = keep.index(stream.len() + 1);
        let prefix = stream.freeze().slice(..len);
        let chunks = chunked(&prefix, &cuts);
        let (decoded, end) = borrowed(chunks.clone());
        prop_assert_eq!((&decoded, &end), (&owned(chunks).0, &owned(chunked(&prefix, &cuts)).1));
        let complete = ends.iter().filter(|&&e| e <= len).count();
        prop_assert_eq!(decoded.len(), complete);
        prop_assert_eq!(end.is_ok(), len == 0 || ends.contains(&len));
        if let Err(err) = end {
            let truncated = matches!(err.kind(), ErrorKind::Truncated { .. });
            prop_assert!(truncated, "{}", err);
        }
    }

    #[test]
    fn arbitrary_bytes_give_the_same_outcome_and_errors_stay(
        input in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        pattern in prop::collection::vec(any::<bool>(), 0..8),
    ) {
        let input = Bytes::from(input);
        let chunks = chunked(&input, &cuts);
        let want = feed(&mut Decoder::with_max_record_size(100), chunks.clone(), Take::Owned);
        for take in [Take::Borrowed, Take::Mixed(&pattern)] {
            let mut decoder = Decoder::with_max_record_size(100);
            let got = feed(&mut decoder, chunks.clone(), take);
            prop_assert_eq!(&got, &want);
            if let Err(err) = got.1 {
                prop_assert!(err.offset() <= input.len() as u64);
                prop_assert_eq!(decoder.next_record_ref(), Err(err.clone()));
                prop_assert_eq!(decoder.next_record(), Err(err.clone()));
                prop_assert_eq!(decoder.finish(), Err(err));
            }
        }
    }
}
