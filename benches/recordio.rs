//! RecordIO decoding: `mesos_codec::recordio::Decoder` beside two baselines
//! written here, measured in the same run.
//!
//! Streams of 200-byte and 4 KiB records are fed in 1 KiB chunks, 16 KiB
//! chunks, and one chunk per framed record (as a master writes them). Every
//! decoder hands each record out as an owned buffer, as a caller needs it.
//!
//! Each decoder is handed the chunks by value, as hyper hands a body's frames
//! over; building that list is set-up, not measured.
//!
//! - `mesos-codec`: the incremental decoder; records inside a chunk are slices
//!   of it, only records spanning chunks are copied.
//! - `baseline-memchr`: the straightforward decoder over one contiguous
//!   buffer: append each chunk to a `BytesMut`, find the newline with `memchr`,
//!   parse the size with `str::parse`, split the record off.
//! - `baseline-bufread`: `BufRead::read_until(b'\n')` for the size line and
//!   `read_exact` into a new `Vec` for the data, over a reader that yields the
//!   chunks.
//!
//! `cargo xtask bench-report` prints the ns/record table and the ratios.

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

fn ours(chunks: impl Iterator<Item = Bytes>) -> usize {
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

fn baseline_memchr(chunks: impl Iterator<Item = Bytes>) -> usize {
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

fn baseline_bufread(chunks: impl Iterator<Item = Bytes>) -> usize {
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

fn bench(c: &mut Criterion) {
    for (record_name, record_size) in [("200B", 200), ("4KiB", 4096)] {
        let (stream, boundaries, count) = stream(record_size);
        for (chunk_name, chunks) in [
            ("1KiB", chunks_of(&stream, 1024)),
            ("16KiB", chunks_of(&stream, 16 * 1024)),
            ("record", per_record(&stream, &boundaries)),
        ] {
            // Every decoder must see every record, or the comparison is void.
            assert_eq!(ours(chunks.clone().into_iter()), count);
            assert_eq!(baseline_memchr(chunks.clone().into_iter()), count);
            assert_eq!(baseline_bufread(chunks.clone().into_iter()), count);
            let mut group = c.benchmark_group(format!("recordio/{record_name}-records/{chunk_name}-chunks"));
            group.throughput(Throughput::Elements(count as u64));
            // Each decoder gets the chunks owned, as they come from hyper;
            // making and freeing the list of handles is outside the measurement.
            let input = || chunks.clone();
            let size = BatchSize::LargeInput;
            group.bench_function("mesos-codec", |b| b.iter_batched_ref(input, |c| ours(c.drain(..)), size));
            group.bench_function("baseline-memchr", |b| {
                b.iter_batched_ref(input, |c| baseline_memchr(c.drain(..)), size)
            });
            group.bench_function("baseline-bufread", |b| {
                b.iter_batched_ref(input, |c| baseline_bufread(c.drain(..)), size)
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
