//! The recording proxy against the same traffic sent directly, on loopback.
//!
//! `cargo bench -p mesos-proxy --bench proxy` starts an in-process hyper
//! master stand-in and runs, once straight at it and once through a
//! recording proxy (recording to a temporary directory):
//!
//! 1. **events/s**: a SUBSCRIBE stream of 100 000 small JSON `UPDATE`
//!    records, one record per chunk, sent as fast as the connection takes
//!    them;
//! 2. **calls/s**: 10 000 scheduler calls (`ACKNOWLEDGE`, JSON) answered
//!    `202`, on 4 keep-alive connections in parallel;
//! 3. **latency per event**: 10 000 events sent one at a time (the stand-in
//!    sends the next once the framework has read the previous), each carrying
//!    the stand-in's send time; the framework's arrival time minus it is the
//!    event's latency. The added latency is proxied − direct, per percentile.
//!
//! Direct and proxied runs take turns, 5 of each (`BENCH_RUNS`); the table
//! gives the median of each figure. It checks that the session files hold
//! every event and call. `BENCH_EVENTS`, `BENCH_CALLS`,
//! `BENCH_LATENCY_EVENTS` and `BENCH_CONNECTIONS` change the sizes.
//!
//! The stand-in master makes and formats each event as hyper asks for it,
//! which limits the *direct* events/s here (about 70 000/s on a 2-core
//! machine): figure 1 says little about the proxy. For events/s, the root
//! package's `cargo bench --bench proxy_events` feeds the proxy from
//! `mesos-replay serve --pace fast` instead (several times faster than the
//! proxy), direct and proxied in the same run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mesos_codec::recordio::Decoder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const FRAMEWORK_ID: &str = "bench-framework-0001";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Nanoseconds since the benchmark started: the clock of the send stamps.
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn frame(record: &str) -> Bytes {
    Bytes::from(format!("{}\n{record}", record.len()))
}

fn subscribed() -> Bytes {
    frame(&format!(
        r#"{{"type":"SUBSCRIBED","subscribed":{{"framework_id":{{"value":"{FRAMEWORK_ID}"}},"heartbeat_interval_seconds":15.0}}}}"#
    ))
}

/// An `UPDATE` whose task id carries the send time.
fn update(stamp: u64) -> Bytes {
    frame(&format!(
        r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"t-{stamp}"}},"state":"TASK_RUNNING","agent_id":{{"value":"agent-1"}},"uuid":"AAECAwQFBgcICQoLDA0ODw=="}}}}}}"#
    ))
}

/// The send time an `UPDATE` carries.
fn stamp_of(record: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(record).ok()?;
    let start = text.find("\"t-")? + 3;
    let end = start + text[start..].find('"')?;
    text[start..end].parse().ok()
}

// ---------------------------------------------------------------------------
// The master stand-in
// ---------------------------------------------------------------------------

/// The stand-in's stream: SUBSCRIBED, then `remaining` UPDATEs, each made
/// (and stamped) when hyper asks for the next frame; when paced, only once
/// the framework asked for it through `next`.
struct StreamBody {
    subscribed: bool,
    remaining: usize,
    next: Option<mpsc::Receiver<()>>,
}

impl Body for StreamBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if !self.subscribed {
            self.subscribed = true;
            return Poll::Ready(Some(Ok(Frame::data(subscribed()))));
        }
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        if let Some(next) = &mut self.next {
            match next.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(())) => {}
            }
        }
        self.remaining -= 1;
        Poll::Ready(Some(Ok(Frame::data(update(now_ns())))))
    }
}

type StandInBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// The pacing of the stream: `x-bench-events: N` and, for one at a time,
/// `x-bench-paced: 1` (the framework asks for the next event through the
/// `next` channel handed over in [`PACER`]).
static PACER: std::sync::Mutex<Option<mpsc::Receiver<()>>> = std::sync::Mutex::new(None);

async fn answer(req: Request<Incoming>) -> Response<StandInBody> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let events: usize = header("x-bench-events").unwrap_or(0);
    let paced = header("x-bench-paced").unwrap_or(0usize) == 1;
    let body = req.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    if !body.windows(11).any(|w| w == b"\"SUBSCRIBE\"") {
        let mut response = Response::new(Full::new(Bytes::new()).boxed());
        *response.status_mut() = StatusCode::ACCEPTED;
        return response;
    }
    let next = if paced { PACER.lock().unwrap().take() } else { None };
    let mut response = Response::new(BodyExt::boxed(StreamBody { subscribed: false, remaining: events, next }));
    response.headers_mut().insert("content-type", "application/json".parse().unwrap());
    response.headers_mut().insert("mesos-stream-id", "bench-stream".parse().unwrap());
    response
}

async fn start_master() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|req| async move { Ok::<_, Infallible>(answer(req).await) });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------
// The framework
// ---------------------------------------------------------------------------

async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

fn post(addr: SocketAddr) -> http::request::Builder {
    Request::post("/api/v1/scheduler")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .header("accept", "application/json")
}

/// Subscribes and reads `events` events; their count, the time from the
/// first byte of the stream to the last event, and each event's latency.
async fn subscribe(addr: SocketAddr, events: usize, paced: bool) -> (usize, Duration, Vec<u64>) {
    let mut sender = connect(addr).await;
    let call = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"bench","name":"bench"}}}"#.to_owned();
    let next = if paced {
        let (tx, rx) = mpsc::channel(1);
        *PACER.lock().unwrap() = Some(rx);
        Some(tx)
    } else {
        None
    };
    let request = post(addr)
        .header("x-bench-events", events.to_string())
        .header("x-bench-paced", if paced { "1" } else { "0" })
        .body(Full::new(Bytes::from(call)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut decoder = Decoder::new();
    let mut latencies = Vec::with_capacity(if paced { events } else { 0 });
    let mut seen = 0;
    let mut started = None;
    if let Some(next) = &next {
        next.send(()).await.unwrap();
    }
    'read: while let Some(frame) = body.frame().await {
        let Ok(data) = frame.unwrap().into_data() else { continue };
        let arrived = now_ns();
        decoder.push(data);
        while let Some(record) = decoder.next_record().unwrap() {
            let Some(stamp) = stamp_of(&record.data) else { continue }; // SUBSCRIBED
            started.get_or_insert_with(Instant::now);
            if paced {
                latencies.push(arrived.saturating_sub(stamp));
            }
            seen += 1;
            if seen == events {
                break 'read;
            }
            if let Some(next) = &next {
                next.send(()).await.unwrap();
            }
        }
    }
    let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
    (seen, elapsed, latencies)
}

/// `calls` ACKNOWLEDGE calls on `connections` keep-alive connections in
/// parallel; the wall time and each call's round trip.
async fn calls(addr: SocketAddr, calls: usize, connections: usize) -> (Duration, Vec<u64>) {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let share = calls / connections + usize::from(c < calls % connections);
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await;
            let mut times = Vec::with_capacity(share);
            for i in 0..share {
                let call = format!(
                    r#"{{"framework_id":{{"value":"{FRAMEWORK_ID}"}},"type":"ACKNOWLEDGE","acknowledge":{{"agent_id":{{"value":"agent-1"}},"task_id":{{"value":"t-{c}-{i}"}},"uuid":"AAECAwQFBgcICQoLDA0ODw=="}}}}"#
                );
                let request = post(addr).body(Full::new(Bytes::from(call))).unwrap();
                let sent = Instant::now();
                sender.ready().await.unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::ACCEPTED);
                response.into_body().collect().await.unwrap();
                times.push(sent.elapsed().as_nanos() as u64);
            }
            times
        }));
    }
    let mut times = Vec::with_capacity(calls);
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    (started.elapsed(), times)
}

// ---------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Run {
    events_per_s: f64,
    calls_per_s: f64,
    event_p50: u64,
    event_p99: u64,
    call_p50: u64,
    call_p99: u64,
}

impl Run {
    /// Each figure's median over `runs`.
    fn median(runs: &[Run]) -> Run {
        fn mid<T: Copy + PartialOrd>(runs: &[Run], f: impl Fn(&Run) -> T) -> T {
            let mut values: Vec<T> = runs.iter().map(f).collect();
            values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
            values[values.len() / 2]
        }
        Run {
            events_per_s: mid(runs, |r| r.events_per_s),
            calls_per_s: mid(runs, |r| r.calls_per_s),
            event_p50: mid(runs, |r| r.event_p50),
            event_p99: mid(runs, |r| r.event_p99),
            call_p50: mid(runs, |r| r.call_p50),
            call_p99: mid(runs, |r| r.call_p99),
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Sizes {
    events: usize,
    calls: usize,
    latency_events: usize,
    connections: usize,
}

/// Every measurement against `addr` (the master, or the proxy).
async fn measure(addr: SocketAddr, sizes: &Sizes) -> Run {
    let (seen, elapsed, _) = subscribe(addr, sizes.events, false).await;
    assert_eq!(seen, sizes.events, "every event arrives");
    let events_per_s = seen as f64 / elapsed.as_secs_f64();

    let (elapsed, mut times) = calls(addr, sizes.calls, sizes.connections).await;
    let calls_per_s = sizes.calls as f64 / elapsed.as_secs_f64();
    times.sort_unstable();

    let (seen, _, mut latencies) = subscribe(addr, sizes.latency_events, true).await;
    assert_eq!(seen, sizes.latency_events, "every paced event arrives");
    latencies.sort_unstable();
    Run {
        events_per_s,
        calls_per_s,
        event_p50: percentile(&latencies, 50.0),
        event_p99: percentile(&latencies, 99.0),
        call_p50: percentile(&times, 50.0),
        call_p99: percentile(&times, 99.0),
    }
}

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("mesos-proxy-bench-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Counts the `event` and `request` entries of the session files in `dir`.
fn recorded(dir: &std::path::Path) -> (usize, usize, bool) {
    let (mut events, mut requests, mut complete) = (0, 0, true);
    for file in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
        for line in text.lines() {
            if line.contains(r#""kind":"event""#) {
                events += 1;
            } else if line.contains(r#""kind":"request""#) {
                requests += 1;
            } else if line.contains(r#""complete":false"#) {
                complete = false;
            }
        }
    }
    (events, requests, complete)
}

fn us(ns: u64) -> String {
    format!("{:.1} µs", ns as f64 / 1000.0)
}

fn signed_us(a: u64, b: u64) -> String {
    format!("{:+.1} µs", (a as f64 - b as f64) / 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // it is a smoke run with small sizes.
    let bench = std::env::args().any(|a| a == "--bench");
    let scale = if bench { 1 } else { 100 };
    let sizes = Sizes {
        events: env("BENCH_EVENTS", 100_000 / scale),
        calls: env("BENCH_CALLS", 10_000 / scale),
        latency_events: env("BENCH_LATENCY_EVENTS", 10_000 / scale),
        connections: env("BENCH_CONNECTIONS", 4),
    };
    let reps = env("BENCH_RUNS", if bench { 5 } else { 1 }).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        now_ns();
        let master = start_master().await;
        // Warm up both paths (connections, allocator, page cache).
        let warm = Sizes { events: 2_000, calls: 500, latency_events: 200, connections: sizes.connections };
        measure(master, &warm).await;

        let out = temp_dir();
        let config = mesos_proxy::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            master: format!("http://{master}"),
            out: out.clone(),
            keep_secrets: false,
            limits: Default::default(),
        };
        let recorder = mesos_proxy::Recorder::bind(config).await.unwrap();
        let proxy = recorder.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(recorder.run(async move {
            let _ = stopped.await;
        }));
        measure(proxy, &warm).await;
        // Direct and proxied runs take turns; each figure is the median of
        // the runs (the machine may be busy with other work).
        let (mut directs, mut proxieds) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            directs.push(measure(master, &sizes).await);
            proxieds.push(measure(proxy, &sizes).await);
        }
        let (direct, proxied) = (Run::median(&directs), Run::median(&proxieds));
        let _ = stop.send(());
        running.await.unwrap().unwrap();

        let (events, requests, complete) = recorded(&out);
        let _ = std::fs::remove_dir_all(&out);
        // Two SUBSCRIBE streams per measurement, each with its SUBSCRIBED.
        let expected_events = warm.events + warm.latency_events + reps * (sizes.events + sizes.latency_events + 2) + 2;
        let expected_requests = warm.calls + reps * (sizes.calls + 2) + 2;
        assert_eq!(events, expected_events, "every event is recorded (SUBSCRIBED included)");
        assert_eq!(requests, expected_requests, "every call is recorded");
        assert!(complete, "the sessions are complete");

        println!();
        println!(
            "mesos-proxy record on loopback: {} events, {} calls on {} connections, {} events one at a time; \
             median of {reps} runs each",
            sizes.events, sizes.calls, sizes.connections, sizes.latency_events
        );
        println!("{:<26} {:>14} {:>14} {:>14} {:>10}", "", "direct", "proxied", "added", "target");
        println!(
            "{:<26} {:>14.0} {:>14.0} {:>14} {:>10}",
            "events/s",
            direct.events_per_s,
            proxied.events_per_s,
            format!("{:.0}%", 100.0 * (proxied.events_per_s / direct.events_per_s - 1.0)),
            ">= 200000"
        );
        println!(
            "{:<26} {:>14.0} {:>14.0} {:>14} {:>10}",
            "calls/s",
            direct.calls_per_s,
            proxied.calls_per_s,
            format!("{:.0}%", 100.0 * (proxied.calls_per_s / direct.calls_per_s - 1.0)),
            ">= 15000"
        );
        for (name, d, p, target) in [
            ("event latency p50", direct.event_p50, proxied.event_p50, ""),
            ("event latency p99", direct.event_p99, proxied.event_p99, "< 200 µs"),
            ("call round trip p50", direct.call_p50, proxied.call_p50, ""),
            ("call round trip p99", direct.call_p99, proxied.call_p99, ""),
        ] {
            println!("{:<26} {:>14} {:>14} {:>14} {:>10}", name, us(d), us(p), signed_us(p, d), target);
        }
        println!("recorded: {events} events, {requests} requests, complete: {complete}");
    });
}
