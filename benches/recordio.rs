//! RecordIO decoding: `mesos_codec::recordio::Decoder` beside two baselines
//! written here, measured in the same run.
//!
//! Streams of 200-byte and 4 KiB records are fed in 1 KiB chunks, 16 KiB
//! chunks, and one chunk per framed record (as a master writes them). Each
//! decoder is handed the chunks by value, as hyper hands a body's frames
//! over; building that list is set-up, not measured.
//!
//! Two sets of groups, each comparing like with like:
//!
//! - `recordio/…` (the table): every decoder hands each record out
//!   *borrowed*, as a `&[u8]` that lives until it is asked for the next one,
//!   and the consumer passes each slice to `black_box`. (Until the borrowing
//!   API existed this table measured owned records, the set below.) Ours is
//!   `Decoder::next_record_ref`: a record inside a chunk is a slice of that
//!   chunk, a record spanning chunks a slice of the decoder's reused spill
//!   buffer (each of its bytes copied once). The baselines get the same
//!   freedom: the memchr decoder lends a slice of its buffer before
//!   advancing past it, the `BufRead` reader reads into one reused `Vec`.
//! - `recordio-owned/…`: every decoder hands each record out *owned*, as a
//!   caller that keeps records needs them. Ours is `Decoder::next_record`
//!   (`Bytes` slices of the chunk, spanning records assembled in a buffer of
//!   their own); the memchr decoder splits each record off its buffer
//!   (`split_to().freeze()`); the `BufRead` reader reads each record into a
//!   new `Vec`.
//!
//! The implementations:
//!
//! - `mesos-codec`: the incremental decoder; records inside a chunk are slices
//!   of it, only records spanning chunks are copied.
//! - `baseline-memchr`: the straightforward decoder over one contiguous
//!   buffer: append each chunk to a `BytesMut`, find the newline with `memchr`,
//!   parse the size with `str::parse`, split the record off.
//! - `baseline-bufread`: `BufRead::read_until(b'\n')` for the size line and
//!   `read_exact` for the data, over a reader that yields the chunks.
//! - `reference-copy` (in `recordio/…` only; not a decoder): takes each chunk
//!   and copies all of it once into a reused buffer. A decoder that hands out
//!   contiguous records must copy each record that spans chunks at least
//!   once, so where every record spans chunks (4 KiB records in 1 KiB
//!   chunks) this is the floor for any such decoder, ours included.
//!
//! `cargo xtask bench-report recordio` prints the ns/record tables and the
//! ratios.

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};

use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mesos_codec::recordio::{Decoder, encode_into};

/// About 1 MiB of stream per measurement, whatever the record size.
const STREAM_BYTES: usize = 1 << 20;

fn stream(record_size: usize) -> (Bytes, Vec<usize>, usize) {
    let count = STREAM_BYTES / record_size;
    let mut out = BytesMut::new();
    let mut boundaries = Vec::with_capacity(count);
    for i in 0..count {
        // JSON-ish payloads of exactly `record_size` bytes.
        let mut record = format!("{{\"type\":\"UPDATE\",\"n\":{i},\"pad\":\"");
        record.extend(std::iter::repeat_n('x', record_size - record.len() - 2));
        record.push_str("\"}");
        encode_into(record.as_bytes(), &mut out);
        boundaries.push(out.len());
    }
    (out.freeze(), boundaries, count)
}

fn chunks_of(stream: &Bytes, size: usize) -> Vec<Bytes> {
    (0..stream.len()).step_by(size).map(|at| stream.slice(at..(at + size).min(stream.len()))).collect()
}

fn per_record(stream: &Bytes, boundaries: &[usize]) -> Vec<Bytes> {
    let mut start = 0;
    boundaries
        .iter()
        .map(|&end| {
            let chunk = stream.slice(start..end);
            start = end;
            chunk
        })
        .collect()
}

// ---- records lent out (`recordio/…`) ----

fn ours(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut decoder = Decoder::new();
    let mut n = 0;
    for chunk in chunks {
        decoder.push(chunk);
        while let Ok(Some(record)) = decoder.next_record_ref() {
            black_box(record.data);
            n += 1;
        }
    }
    n
}

fn baseline_memchr(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut buf = BytesMut::new();
    let mut n = 0;
    for chunk in chunks {
        buf.extend_from_slice(&chunk);
        while let Some(nl) = memchr::memchr(b'\n', &buf) {
            let size: usize = std::str::from_utf8(&buf[..nl]).ok().and_then(|s| s.parse().ok()).expect("size");
            if buf.len() < nl + 1 + size {
                break;
            }
            black_box(&buf[nl + 1..nl + 1 + size]);
            buf.advance(nl + 1 + size);
            n += 1;
        }
    }
    n
}

fn baseline_bufread(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut reader = BufReader::new(ChunkReader { chunks, current: Bytes::new() });
    let mut line = Vec::new();
    let mut data = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).expect("read") == 0 {
            break;
        }
        let size: usize = std::str::from_utf8(&line[..line.len() - 1]).ok().and_then(|s| s.parse().ok()).expect("size");
        data.clear();
        data.resize(size, 0);
        reader.read_exact(&mut data).expect("data");
        black_box(&data[..]);
        n += 1;
    }
    n
}

fn reference_copy(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut bytes = 0;
    for chunk in chunks {
        buf.clear();
        buf.extend_from_slice(&chunk);
        black_box(&buf[..]);
        bytes += chunk.len();
    }
    bytes
}

// ---- records owned (`recordio-owned/…`) ----

fn ours_owned(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut decoder = Decoder::new();
    let mut n = 0;
    for chunk in chunks {
        decoder.push(chunk);
        while let Ok(Some(record)) = decoder.next_record() {
            black_box(record.data);
            n += 1;
        }
    }
    n
}

fn baseline_memchr_owned(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut buf = BytesMut::new();
    let mut n = 0;
    for chunk in chunks {
        buf.extend_from_slice(&chunk);
        while let Some(nl) = memchr::memchr(b'\n', &buf) {
            let size: usize = std::str::from_utf8(&buf[..nl]).ok().and_then(|s| s.parse().ok()).expect("size");
            if buf.len() < nl + 1 + size {
                break;
            }
            buf.advance(nl + 1);
            black_box(buf.split_to(size).freeze());
            n += 1;
        }
    }
    n
}

fn baseline_bufread_owned(chunks: std::vec::Drain<'_, Bytes>) -> usize {
    let mut reader = BufReader::new(ChunkReader { chunks, current: Bytes::new() });
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).expect("read") == 0 {
            break;
        }
        let size: usize = std::str::from_utf8(&line[..line.len() - 1]).ok().and_then(|s| s.parse().ok()).expect("size");
        let mut data = vec![0u8; size];
        reader.read_exact(&mut data).expect("data");
        black_box(data);
        n += 1;
    }
    n
}

/// Yields the chunks one `read` at a time, as a socket would.
struct ChunkReader<I> {
    chunks: I,
    current: Bytes,
}

impl<I: Iterator<Item = Bytes>> Read for ChunkReader<I> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            match self.chunks.next() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

type Decode = fn(std::vec::Drain<'_, Bytes>) -> usize;

fn bench(c: &mut Criterion) {
    let sets: [(&str, [(&str, Decode); 3]); 2] = [
        (
            "recordio",
            [("mesos-codec", ours), ("baseline-memchr", baseline_memchr), ("baseline-bufread", baseline_bufread)],
        ),
        (
            "recordio-owned",
            [
                ("mesos-codec", ours_owned),
                ("baseline-memchr", baseline_memchr_owned),
                ("baseline-bufread", baseline_bufread_owned),
            ],
        ),
    ];
    for (set, decoders) in sets {
        for (record_name, record_size) in [("200B", 200), ("4KiB", 4096)] {
            let (stream, boundaries, count) = stream(record_size);
            for (chunk_name, chunks) in [
                ("1KiB", chunks_of(&stream, 1024)),
                ("16KiB", chunks_of(&stream, 16 * 1024)),
                ("record", per_record(&stream, &boundaries)),
            ] {
                let mut group = c.benchmark_group(format!("{set}/{record_name}-records/{chunk_name}-chunks"));
                group.throughput(Throughput::Elements(count as u64));
                for (name, decode) in decoders {
                    // Every decoder must see every record, or the comparison is void.
                    assert_eq!(decode(chunks.clone().drain(..)), count, "{set} {name}");
                    // Each decoder gets the chunks owned, as they come from hyper;
                    // making and freeing the list of handles is outside the measurement.
                    group.bench_function(name, |b| {
                        b.iter_batched_ref(|| chunks.clone(), |c| decode(c.drain(..)), BatchSize::LargeInput)
                    });
                }
                if set == "recordio" {
                    assert_eq!(reference_copy(chunks.clone().drain(..)), stream.len());
                    group.bench_function("reference-copy", |b| {
                        b.iter_batched_ref(|| chunks.clone(), |c| reference_copy(c.drain(..)), BatchSize::LargeInput)
                    });
                }
                group.finish();
            }
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
