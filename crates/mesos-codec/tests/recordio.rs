//! RecordIO decoder: the reference's vectors, every chunking, every error,
//! and the properties over random records and chunkings (for
//! `next_record`, `next_record_ref` and the two mixed).

use bytes::{Buf, Bytes, BytesMut};
use mesos_codec::recordio::{Decoder, Error, ErrorKind, Record, decode_all, encode_into, frame};
use proptest::prelude::*;

use crate::recordio_support;
use recordio_support::{Take, chunked, feed as feed_taking, feed_draining};

/// Feeds `chunks` one by one, draining after each; returns the records and
/// the outcome of `finish` (or the first error).
fn feed<I, C>(decoder: &mut Decoder, chunks: I) -> (Vec<Record>, Result<(), Error>)
where
    I: IntoIterator<Item = C>,
    C: Into<Bytes>,
{
    let mut records = Vec::new();
    for chunk in chunks {
        decoder.push(chunk.into());
        loop {
            match decoder.next_record() {
                Ok(Some(record)) => records.push(record),
                Ok(None) => break,
                Err(err) => return (records, Err(err)),
            }
        }
    }
    let end = decoder.finish();
    (records, end)
}

fn data(records: &[Record]) -> Vec<Bytes> {
    records.iter().map(|r| r.data.clone()).collect()
}

fn decode_chunks(chunks: &[&[u8]]) -> (Vec<Bytes>, Result<(), Error>) {
    let (records, end) = feed(&mut Decoder::new(), chunks.iter().map(|c| Bytes::copy_from_slice(c)));
    (data(&records), end)
}

// ---- the reference's vectors ----

#[test]
fn vector_mixed_records_including_empty_and_space() {
    let (records, end) = decode_chunks(&[b"6\nhello!0\n1\n 13\n13 characters"]);
    assert_eq!(records, ["hello!", "", " ", "13 characters"]);
    assert_eq!(end, Ok(()));
}

#[test]
fn vector_size_split_over_chunks_yields_nothing_until_last_byte() {
    let mut decoder = Decoder::new();
    for chunk in ["1", "3", "\n", "13 character"] {
        decoder.push(Bytes::from(chunk));
        assert_eq!(decoder.next_record(), Ok(None), "after {chunk:?}");
    }
    decoder.push(Bytes::from("s"));
    assert_eq!(decoder.next_record().unwrap().unwrap().data, "13 characters");
    assert_eq!(decoder.next_record(), Ok(None));
    assert_eq!(decoder.finish(), Ok(()));
}

#[test]
fn vector_not_a_number_fails_and_stays_failed() {
    let mut decoder = Decoder::new();
    decoder.push(Bytes::from("not a number\n"));
    let err = decoder.next_record().unwrap_err();
    assert_eq!(err.offset(), 0);
    assert_eq!(*err.kind(), ErrorKind::InvalidSize { byte: b'n' });
    // Stays failed: more input, more calls, and finish all give the same error.
    decoder.push(Bytes::from("5\nhello"));
    assert_eq!(decoder.next_record(), Err(err.clone()));
    assert_eq!(decoder.next_record(), Err(err.clone()));
    assert_eq!(decoder.finish(), Err(err));
}

#[test]
fn vector_empty_record_between_two() {
    let (records, end) = decode_chunks(&[b"1\na0\n1\nb"]);
    assert_eq!(records, ["a", "", "b"]);
    assert_eq!(end, Ok(()));
}

#[test]
fn vector_truncated_last_record_is_reported() {
    let (records, end) = decode_chunks(&[b"5\nabcde5\nfgh"]);
    assert_eq!(records, ["abcde"]);
    let err = end.unwrap_err();
    assert_eq!(err.offset(), 7);
    assert_eq!(*err.kind(), ErrorKind::Truncated { expected: Some(5), received: 3 });
    assert_eq!(err.to_string(), "byte 7: the stream ended inside a record: 3 of its 5 data bytes received");
}

#[test]
fn vector_ten_json_records_in_five_byte_chunks() {
    let mut stream = BytesMut::new();
    let expected: Vec<String> = (0..10).map(|i| format!(r#"{{"type":"HEARTBEAT","n":{i}}}"#)).collect();
    for json in &expected {
        encode_into(json.as_bytes(), &mut stream);
    }
    let stream = stream.freeze();
    let chunks: Vec<Bytes> =
        (0..stream.len()).step_by(5).map(|at| stream.slice(at..(at + 5).min(stream.len()))).collect();
    let (records, end) = feed(&mut Decoder::new(), chunks);
    assert_eq!(data(&records), expected);
    assert_eq!(end, Ok(()));
}

// ---- the RecordIO table: what this decoder does with odd input ----

fn first_error(input: &[u8]) -> Error {
    let mut decoder = Decoder::new();
    decoder.push(Bytes::copy_from_slice(input));
    loop {
        match decoder.next_record() {
            Ok(Some(_)) => continue,
            Ok(None) => return decoder.finish().unwrap_err(),
            Err(err) => return err,
        }
    }
}

#[test]
fn table_leading_zeros_are_accepted() {
    assert_eq!(decode_chunks(&[b"00005\nhello"]).0, ["hello"]);
    assert_eq!(decode_chunks(&[b"00\n"]).0, [""]);
}

#[test]
fn table_signs_hex_and_whitespace_are_refused_at_their_byte() {
    for (input, offset, byte) in [
        (&b"+5\nhello"[..], 0, b'+'),
        (b"-1\n", 0, b'-'),
        (b"0x10\n", 1, b'x'),
        (b" 5\nhello", 0, b' '),
        (b"5\r\nhello", 1, b'\r'),
        (b"2\nok12a\n", 6, b'a'),
    ] {
        let err = first_error(input);
        assert_eq!((err.offset(), err.kind().clone()), (offset, ErrorKind::InvalidSize { byte }), "{input:?}");
    }
    assert_eq!(
        first_error(b"5\r\n").to_string(),
        "byte 1: invalid character 0x0d in a record size (sizes are decimal digits)"
    );
}

#[test]
fn table_empty_size_is_refused() {
    let err = first_error(b"1\na\nrest");
    assert_eq!((err.offset(), err.kind().clone()), (3, ErrorKind::EmptySize));
}

#[test]
fn table_size_over_u64_is_refused() {
    let mut decoder = Decoder::with_max_record_size(u64::MAX);
    decoder.push(Bytes::from_static(b"18446744073709551615"));
    assert_eq!(decoder.next_record(), Ok(None), "u64::MAX itself is a valid size");
    let mut decoder = Decoder::with_max_record_size(u64::MAX);
    decoder.push(Bytes::from_static(b"18446744073709551616\n"));
    let err = decoder.next_record().unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (19, ErrorKind::SizeOverflow));
}

#[test]
fn table_size_just_over_the_default_cap_is_refused_before_the_newline() {
    let max = mesos_codec::recordio::DEFAULT_MAX_RECORD_SIZE;
    assert_eq!(max, 64 << 20);
    let mut decoder = Decoder::new();
    // No newline yet, no data: the size alone is enough to refuse.
    decoder.push(Bytes::from((max + 1).to_string()));
    let err = decoder.next_record().unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (0, ErrorKind::TooLarge { size: max + 1, max }));
    // Exactly the cap is fine (the record is simply not complete yet).
    let mut decoder = Decoder::new();
    decoder.push(Bytes::from(format!("{max}\n")));
    assert_eq!(decoder.next_record(), Ok(None));
}

#[test]
fn table_cap_is_configurable_and_names_the_record_start() {
    let mut decoder = Decoder::with_max_record_size(10);
    let (records, end) = feed(&mut decoder, [Bytes::from_static(b"10\n0123456789"), Bytes::from_static(b"11\n")]);
    assert_eq!(data(&records), ["0123456789"]);
    let err = end.unwrap_err();
    assert_eq!((err.offset(), err.kind().clone()), (13, ErrorKind::TooLarge { size: 11, max: 10 }));
}

#[test]
fn table_stream_ending_inside_the_size_line_is_truncated() {
    let err = first_error(b"3\nabc12");
    assert_eq!((err.offset(), err.kind().clone()), (5, ErrorKind::Truncated { expected: None, received: 0 }));
    assert_eq!(err.to_string(), "byte 5: the stream ended inside a record's size line");
    let err = first_error(b"3\nabc12\n");
    assert_eq!((err.offset(), err.kind().clone()), (5, ErrorKind::Truncated { expected: Some(12), received: 0 }));
}

#[test]
fn empty_stream_and_empty_chunks_are_fine() {
    assert_eq!(decode_chunks(&[]), (vec![], Ok(())));
    assert_eq!(decode_chunks(&[b"", b"2\n", b"", b"ok", b""]).0, ["ok"]);
}

// ---- chunking ----

fn seed_stream() -> Bytes {
    Bytes::from(std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/seed/events.recordio")).unwrap())
}

#[test]
fn every_split_position_of_the_seed_stream_gives_the_same_records() {
    let stream = seed_stream();
    let (whole, end) = feed(&mut Decoder::new(), [stream.clone()]);
    assert_eq!(end, Ok(()));
    assert_eq!(whole.len(), 8, "the seed stream holds the article's eight events");
    for at in 0..=stream.len() {
        let (records, end) = feed(&mut Decoder::new(), [stream.slice(..at), stream.slice(at..)]);
        assert_eq!(records, whole, "split at byte {at}");
        assert_eq!(end, Ok(()), "split at byte {at}");
    }
}

#[test]
fn every_pair_of_split_positions_of_the_vector_stream_gives_the_same_records() {
    let stream = Bytes::from_static(b"6\nhello!0\n1\n 13\n13 characters00003\nend");
    let (whole, _) = feed(&mut Decoder::new(), [stream.clone()]);
    assert_eq!(data(&whole), ["hello!", "", " ", "13 characters", "end"]);
    for a in 0..=stream.len() {
        for b in a..=stream.len() {
            let chunks = [stream.slice(..a), stream.slice(a..b), stream.slice(b..)];
            let (records, end) = feed(&mut Decoder::new(), chunks);
            assert_eq!(records, whole, "split at {a} and {b}");
            assert_eq!(end, Ok(()));
        }
    }
}

#[test]
fn byte_by_byte_feeding_gives_the_same_records() {
    let stream = seed_stream();
    let (whole, _) = feed(&mut Decoder::new(), [stream.clone()]);
    let (records, end) = feed(&mut Decoder::new(), (0..stream.len()).map(|i| stream.slice(i..i + 1)));
    assert_eq!(records, whole);
    assert_eq!(end, Ok(()));
}

#[test]
fn records_inside_one_chunk_are_slices_of_it() {
    let stream = seed_stream();
    let range = stream.as_ptr_range();
    let (records, _) = feed(&mut Decoder::new(), [stream.clone()]);
    for record in &records {
        let start = record.data.as_ptr();
        assert!(range.contains(&start), "record at {} was copied", record.offset);
        assert_eq!(&stream[record.data_offset as usize..record.end() as usize], &record.data[..]);
    }
}

#[test]
fn chunks_pushed_before_draining_are_all_decoded() {
    let mut decoder = Decoder::new();
    for chunk in ["3\na", "bc2", "\nde", "0\n"] {
        decoder.push(Bytes::from(chunk));
    }
    let mut records = Vec::new();
    while let Some(record) = decoder.next_record().unwrap() {
        records.push(record.data);
    }
    assert_eq!(records, ["abc", "de", ""]);
    assert_eq!(decoder.position(), 11);
    assert_eq!(decoder.finish(), Ok(()));
}

#[test]
fn decode_all_reports_truncation() {
    assert_eq!(decode_all(Bytes::from_static(b"1\na0\n1\nb")).unwrap(), ["a", "", "b"]);
    assert_eq!(decode_all(Bytes::from_static(b"5\nabcde5\nfgh")).unwrap_err().offset(), 7);
}

// ---- the encoder ----

#[test]
fn frame_writes_the_size_line_and_shares_the_payload() {
    let payload = Bytes::from_static(b"hello!");
    let mut framed = frame(payload.clone());
    assert_eq!(framed.header(), b"6\n");
    assert_eq!(framed.payload().as_ptr(), payload.as_ptr());
    let mut wire = Vec::new();
    while framed.has_remaining() {
        let chunk = framed.chunk();
        wire.extend_from_slice(chunk);
        let n = chunk.len();
        framed.advance(n);
    }
    assert_eq!(wire, b"6\nhello!");
    assert_eq!(frame(Bytes::new()).to_bytes(), &b"0\n"[..]);
}

// ---- properties, for both ways of taking records ----

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
        for take in [Take::Owned, Take::Borrowed, Take::Mixed(&pattern)] {
            let (decoded, end) = feed_taking(&mut Decoder::new(), chunks.clone(), take);
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
        let (decoded, end) = feed_taking(&mut Decoder::new(), chunks.clone(), Take::Owned);
        prop_assert_eq!(feed_taking(&mut Decoder::new(), chunks, Take::Borrowed), (decoded.clone(), end.clone()));
        let complete = ends.iter().filter(|&&e| e <= len).count();
        prop_assert_eq!(decoded.len(), complete);
        let at_boundary = len == 0 || ends.contains(&len);
        prop_assert_eq!(end.is_ok(), at_boundary);
        if let Err(err) = end {
            let truncated = matches!(err.kind(), ErrorKind::Truncated { .. });
            prop_assert!(truncated, "{}", err);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_stay(
        input in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..10),
        pattern in prop::collection::vec(any::<bool>(), 0..8),
    ) {
        let input = Bytes::from(input);
        let chunks = chunked(&input, &cuts);
        let want = feed_taking(&mut Decoder::with_max_record_size(100), chunks.clone(), Take::Owned);
        for take in [Take::Owned, Take::Borrowed, Take::Mixed(&pattern)] {
            let mut decoder = Decoder::with_max_record_size(100);
            let got = feed_taking(&mut decoder, chunks.clone(), take);
            // Both ways give the same records and the same outcome.
            prop_assert_eq!(&got, &want);
            if let Err(err) = got.1 {
                prop_assert!(err.offset() <= input.len() as u64);
                prop_assert_eq!(decoder.next_record_ref(), Err(err.clone()));
                prop_assert_eq!(decoder.next_record(), Err(err.clone()));
                prop_assert_eq!(decoder.finish(), Err(err));
            }
        }
    }

    /// The records, and the error (its kind and offset), depend only on
    /// the bytes: not on where the chunks were cut, nor on when the decoder
    /// was drained (fuzzing found both, issue 18).
    #[test]
    fn records_and_errors_do_not_depend_on_chunking_or_draining(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..6),
        garbage in prop::collection::vec(any::<u8>(), 0..12),
        cuts_a in prop::collection::vec(any::<usize>(), 0..12),
        cuts_b in prop::collection::vec(any::<usize>(), 0..12),
        drains in prop::collection::vec(any::<bool>(), 0..6),
        pattern in prop::collection::vec(any::<bool>(), 0..4),
    ) {
        let mut stream = BytesMut::new();
        for record in &records {
            encode_into(record, &mut stream);
        }
        stream.extend_from_slice(&garbage);
        let stream = stream.freeze();
        let whole = feed_taking(&mut Decoder::with_max_record_size(64), [stream.clone()], Take::Owned);
        for take in [Take::Owned, Take::Borrowed, Take::Mixed(&pattern)] {
            for cuts in [&cuts_a, &cuts_b] {
                let chunks = chunked(&stream, cuts);
                let got = feed_draining(&mut Decoder::with_max_record_size(64), chunks, take, &drains);
                prop_assert_eq!(&got, &whole);
            }
        }
    }
}
