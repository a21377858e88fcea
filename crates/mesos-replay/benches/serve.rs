//! How fast `mesos-replay serve --pace fast` plays a session, and how much
//! memory it needs as the session grows.
//!
//! - `serve_fast/mesos-replay serve`: a session of [`EVENTS`] events (a
//!   real Mesos 1.11.0 master's stream: its SUBSCRIBED, then a HEARTBEAT,
//!   OFFERS with two offers and three UPDATEs in turn, 540 bytes a record
//!   on average; `support/streams.rs`) served in-process with `--pace fast` to a
//!   client on loopback that reads the stream and discards it. One
//!   iteration = SUBSCRIBE to the stream's end; elements/s is events/s.
//! - `serve_fast/baseline`: the same records, framed in memory beforehand,
//!   written by a bare hyper server one record per chunk to the same client:
//!   the ceiling of the HTTP stack and loopback on this machine, measured
//!   in the same run.
//! - After criterion: the `mesos-replay` binary serves a session of about
//!   1 GB (`SERVE_BENCH_MB` sets another size) and one of 1/16 of it, and
//!   the peak resident memory (`VmHWM`) of each run is printed: flat
//!   memory means both peaks are about the same.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{BufWriter, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group};
use hyper::body::{Body, Frame};
use hyper_util::rt::TokioIo;
use mesos_replay::serve::{self, Options, Pace, Script};

#[path = "../../../benches/support/streams.rs"]
mod streams;

/// Events in the criterion session.
const EVENTS: u64 = 100_000;

/// Writes a session of `events` events (or of about `bytes` bytes) and
/// returns the number of events written.
fn write_session(path: &Path, events: Option<u64>, bytes: Option<u64>) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(out, r#"{{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"2026-11-24T00:00:00Z","tool":"bench"}}"#).unwrap();
    let subscribe =
        r#"{\"type\":\"SUBSCRIBE\",\"subscribe\":{\"framework_info\":{\"user\":\"u\",\"name\":\"bench\"}}}"#;
    writeln!(out, r#"{{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[["Content-Type","application/json"]],"body":"{subscribe}","call":"SUBSCRIBE","format":"json"}}"#).unwrap();
    writeln!(out, r#"{{"seq":1,"t_ns":0,"conn":1,"kind":"response","request":0,"status":200,"headers":[["Content-Type","application/json"],["Mesos-Stream-Id","s-1"]],"stream":true,"format":"json"}}"#).unwrap();
    // SUBSCRIBED, then the mix in turn: each line's fields after its seq
    // and t_ns as the recorder wrote them.
    let templates: Vec<String> = streams::named_mix().into_iter().map(|e| e.fields).collect();
    let subscribed = streams::subscribed().fields;
    let mut written = 300u64;
    let mut n = 0u64;
    loop {
        if events.is_some_and(|e| n >= e) || bytes.is_some_and(|b| written >= b) {
            break;
        }
        let fields = if n == 0 { &subscribed } else { &templates[((n - 1) % templates.len() as u64) as usize] };
        let line = format!("{{\"seq\":{},\"t_ns\":{}{fields}\n", n + 2, n * 1000);
        written += line.len() as u64;
        out.write_all(line.as_bytes()).unwrap();
        n += 1;
    }
    out.flush().unwrap();
    n
}

/// SUBSCRIBEs on a raw socket (`Connection: close`) and reads the stream to
/// its end, discarding it; returns the bytes read.
fn drain(addr: SocketAddr) -> u64 {
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    let body = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"bench"}}}"#;
    write!(
        socket,
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => return total,
            Ok(n) => total += n as u64,
        }
    }
}

fn options() -> Options {
    Options { pace: Pace::Fast, linger: Duration::ZERO, ..Options::default() }
}

/// The baseline's body: pre-framed records, one chunk each.
struct Framed(VecDeque<Bytes>);

impl Body for Framed {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

fn framed_records(events: u64) -> Vec<Bytes> {
    let (subscribed, records) = (streams::subscribed().record, streams::mix());
    (0..events)
        .map(|n| {
            let record = if n == 0 { &subscribed } else { &records[((n - 1) % records.len() as u64) as usize] };
            Bytes::from(format!("{}\n{record}", record.len()))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("mesos-replay-serve-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let session = dir.join("bench.session.jsonl");
    let events = write_session(&session, Some(EVENTS), None);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let mut group = c.benchmark_group("serve_fast");
    group.throughput(Throughput::Elements(events));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("mesos-replay serve", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let script = Script::open(&session, false).unwrap();
                let handle = rt.block_on(async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    serve::spawn(listener, script, options()).unwrap()
                });
                let addr = handle.local_addr();
                let start = Instant::now();
                let read = drain(addr);
                total += start.elapsed();
                assert!(read > events * 100, "only {read} bytes");
                let report = rt.block_on(handle.finish());
                assert_eq!(report.events_sent, events);
            }
            total
        })
    });
    let frames = framed_records(events);
    group.bench_function("baseline: hyper writing pre-framed records", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let frames = frames.clone();
                let (addr, server) = rt.block_on(async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                    let addr = listener.local_addr().unwrap();
                    let server = tokio::spawn(async move {
                        let (stream, _) = listener.accept().await.unwrap();
                        let _ = stream.set_nodelay(true);
                        let frames = std::sync::Mutex::new(Some(frames));
                        let service = hyper::service::service_fn(move |_req| {
                            let body = Framed(frames.lock().unwrap().take().unwrap_or_default().into());
                            async move { Ok::<_, Infallible>(hyper::Response::new(body)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                    (addr, server)
                });
                let start = Instant::now();
                drain(addr);
                total += start.elapsed();
                let _ = rt.block_on(server);
            }
            total
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Serves `session` with the binary to a draining client; returns the
/// events/s and the peak resident memory in MB.
fn binary_run(session: &Path) -> (f64, u64, f64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
        .arg("serve")
        .arg(session)
        .args(["--listen", "127.0.0.1:0", "--pace", "fast", "--linger", "3"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    let addr: SocketAddr = line.rsplit("listening on ").next().unwrap().trim().parse().unwrap();
    let events: u64 = line.split(" events;").next().unwrap().rsplit(", ").next().unwrap().parse().unwrap();
    // Sample the peak resident memory while it serves (it exits at the end).
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak_kb = 0u64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                let hwm = status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                peak_kb = peak_kb.max(hwm);
                std::thread::sleep(Duration::from_millis(20));
            }
            peak_kb
        })
    };
    let start = Instant::now();
    drain(addr);
    let took = start.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let hwm_kb = sampler.join().unwrap_or(0);
    let _ = child.wait();
    (events as f64 / took, hwm_kb / 1024, took)
}

fn memory() {
    let mb: u64 = std::env::var("SERVE_BENCH_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let dir: PathBuf = std::env::temp_dir().join(format!("mesos-replay-serve-mem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("\nmemory as the session grows (the mesos-replay binary, --pace fast, a draining client):");
    eprintln!("| session | events | events/s | peak RSS (VmHWM) |");
    eprintln!("|---|---|---|---|");
    for size in [mb / 16, mb] {
        let path = dir.join(format!("{size}mb.session.jsonl"));
        let events = write_session(&path, None, Some(size << 20));
        let (rate, hwm, _) = binary_run(&path);
        eprintln!("| {size} MB | {events} | {rate:.0} | {hwm} MB |");
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        memory();
    }
}
