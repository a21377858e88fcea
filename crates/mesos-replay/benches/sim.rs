//! How many frameworks and tasks the simulated master sustains: events per
//! second with 100 frameworks on a 1 000-agent cluster.
//!
//! - `sans-io`: the [`Master`] state machine driven directly, no sockets.
//!   100 frameworks subscribe (protobuf) at time 0; each one, on every
//!   OFFERS, launches one `sleep N` task (1 cpu, 128 MB, N from 5 to 60 s)
//!   on each of its first offers while it runs fewer than
//!   [`TASKS_PER_FRAMEWORK`] tasks, and declines the rest; it acknowledges
//!   every status update that carries a uuid. Calls are answered at the
//!   time the event that caused them was pushed; then the clock jumps to
//!   [`Master::poll_timeout`] (the allocation every second, which is when
//!   declined and freed resources are offered again, task ends, retries,
//!   heartbeats every 15 s) until [`SPAN`] of simulated time has passed
//!   (`SIM_BENCH_SECONDS` sets another span).
//! - `http`: the same schedulers over the hyper server on loopback, on the
//!   virtual clock (a 4-thread tokio runtime): one client task per
//!   framework reads its stream (one connection) and posts its calls one
//!   at a time (another connection); the clock moves on once every record
//!   sent was read and every call answered. Its span is shorter
//!   ([`HTTP_SPAN`], or `SIM_BENCH_HTTP_SECONDS`): the subscriptions and
//!   the first wave of offers, launches and acknowledgements.
//!
//! The throughput is the number of events (stream records) in a run,
//! counted on a first run, so criterion's elements/s is events per second.
//! (Over HTTP the clients' calls interleave as the scheduler threads
//! decide, so the count of a later run may differ by a fraction of a
//! percent.) The first run's counts are printed on stderr.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mesos_codec::recordio::Decoder;
use mesos_replay::sim::{self, Clock};
use tokio::sync::mpsc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mesos_codec::v1::scheduler::{Call, Event, call, event};
use mesos_codec::v1::{
    AgentId, CommandInfo, Filters, FrameworkId, FrameworkInfo, OfferId, Resource, TaskId, TaskInfo, offer, value,
};
use mesos_replay::sim::{Answer, Config, Master, Push, Request, StreamKey};
use prost::Message;

/// Frameworks subscribed.
const FRAMEWORKS: usize = 100;
/// Agents in the cluster.
const AGENTS: usize = 1_000;
/// Most tasks a framework runs at once.
const TASKS_PER_FRAMEWORK: usize = 40;
/// How long a framework refuses the offers it declines.
const REFUSE_SECONDS: f64 = 15.0;
/// Simulated time of one run, unless `SIM_BENCH_SECONDS` says.
const SPAN: Duration = Duration::from_secs(30);

fn span() -> Duration {
    std::env::var("SIM_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).map_or(SPAN, Duration::from_secs)
}

fn config() -> Config {
    Config { agents: AGENTS, cpus: 4.0, mem: 4096.0, ..Config::default() }
}

fn scalar(name: &str, amount: f64) -> Resource {
    let mut r = Resource { name: name.into(), scalar: Some(value::Scalar { value: amount }), ..Default::default() };
    r.set_type(value::Type::Scalar);
    r
}

/// One framework's scheduler: what it does with each event.
struct Scheduler {
    id: String,
    stream_id: String,
    running: usize,
    launched: u64,
}

impl Scheduler {
    fn call(&self, ty: call::Type) -> Call {
        Call {
            framework_id: Some(FrameworkId { value: self.id.clone() }),
            r#type: Some(ty as i32),
            ..Default::default()
        }
    }

    /// The calls an event asks for.
    fn react(&mut self, event: Event, out: &mut Vec<Call>) {
        match event.r#type() {
            event::Type::Offers => {
                let mut declined = Vec::new();
                for o in event.offers.unwrap_or_default().offers {
                    let cpus =
                        o.resources.iter().find(|r| r.name == "cpus").and_then(|r| r.scalar).map_or(0.0, |s| s.value);
                    let mem =
                        o.resources.iter().find(|r| r.name == "mem").and_then(|r| r.scalar).map_or(0.0, |s| s.value);
                    if self.running >= TASKS_PER_FRAMEWORK || cpus < 1.0 || mem < 128.0 {
                        declined.push(o.id);
                        continue;
                    }
                    self.running += 1;
                    self.launched += 1;
                    let n = self.launched;
                    let task = TaskInfo {
                        name: format!("t{n}"),
                        task_id: TaskId { value: format!("{}-t{n}", self.id) },
                        agent_id: AgentId { value: o.agent_id.value.clone() },
                        resources: vec![scalar("cpus", 1.0), scalar("mem", 128.0)],
                        command: Some(CommandInfo {
                            value: Some(format!("sleep {}", 5 + n * 7 % 56)),
                            ..Default::default()
                        }),
                        ..Default::default()
                    };
                    let mut op = offer::Operation {
                        launch: Some(offer::operation::Launch { task_infos: vec![task] }),
                        ..Default::default()
                    };
                    op.set_type(offer::operation::Type::Launch);
                    let mut accept = self.call(call::Type::Accept);
                    accept.accept = Some(call::Accept {
                        offer_ids: vec![OfferId { value: o.id.value }],
                        operations: vec![op],
                        filters: Some(Filters { refuse_seconds: Some(5.0) }),
                    });
                    out.push(accept);
                }
                if !declined.is_empty() {
                    let mut decline = self.call(call::Type::Decline);
                    decline.decline = Some(call::Decline {
                        offer_ids: declined,
                        filters: Some(Filters { refuse_seconds: Some(REFUSE_SECONDS) }),
                    });
                    out.push(decline);
                }
            }
            event::Type::Update => {
                let status = event.update.unwrap_or_default().status;
                if matches!(
                    status.state(),
                    mesos_codec::v1::TaskState::TaskFinished
                        | mesos_codec::v1::TaskState::TaskKilled
                        | mesos_codec::v1::TaskState::TaskError
                        | mesos_codec::v1::TaskState::TaskLost
                ) {
                    self.running = self.running.saturating_sub(1);
                }
                if let Some(uuid) = status.uuid {
                    let mut ack = self.call(call::Type::Acknowledge);
                    ack.acknowledge = Some(call::Acknowledge {
                        agent_id: status.agent_id.unwrap_or_default(),
                        task_id: status.task_id,
                        uuid,
                    });
                    out.push(ack);
                }
            }
            _ => {}
        }
    }
}

fn subscribe_call(id: &str) -> Call {
    let info = FrameworkInfo {
        user: "root".into(),
        name: id.into(),
        id: Some(FrameworkId { value: id.into() }),
        failover_timeout: Some(60.0),
        ..Default::default()
    };
    Call {
        framework_id: Some(FrameworkId { value: id.into() }),
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe { framework_info: info, ..Default::default() }),
        ..Default::default()
    }
}

/// The payload of one framed record.
fn payload(record: &Bytes) -> &[u8] {
    let newline = record.iter().position(|&b| b == b'\n').expect("a size line");
    &record[newline + 1..]
}

fn request<'a>(body: &'a [u8], stream_id: Option<&'a str>) -> Request<'a> {
    Request {
        method: "POST",
        content_type: Some("application/x-protobuf"),
        accept: Some("application/x-protobuf"),
        stream_id,
        body,
    }
}

/// One run: returns the number of events pushed and the tasks launched.
/// What one run did.
#[derive(Debug, Default)]
struct Run {
    /// Records pushed to the streams.
    events: u64,
    /// Calls made after the subscriptions.
    calls: u64,
    /// Wake-ups ([`Master::handle_timeout`]).
    steps: u64,
    /// Tasks launched.
    tasks: u64,
}

fn run_sans_io(span: Duration) -> Run {
    let mut master = Master::new(config());
    let mut schedulers: Vec<Scheduler> = Vec::with_capacity(FRAMEWORKS);
    let mut owner: std::collections::HashMap<StreamKey, usize> = std::collections::HashMap::new();
    let mut pushes = Vec::new();
    let mut run = Run::default();
    let mut now = Duration::ZERO;
    let mut calls: Vec<(usize, Call)> = Vec::new();
    for n in 0..FRAMEWORKS {
        let id = format!("fw{n:03}");
        let body = subscribe_call(&id).encode_to_vec();
        let Answer::Stream { stream, stream_id, .. } = master.handle_call(&request(&body, None), now, &mut pushes)
        else {
            panic!("SUBSCRIBE opens a stream")
        };
        owner.insert(stream, n);
        schedulers.push(Scheduler { id, stream_id, running: 0, launched: 0 });
    }
    loop {
        // Hand each pushed event to its framework; answer its calls at once.
        while !pushes.is_empty() {
            let mut reactions = Vec::new();
            for push in pushes.drain(..) {
                if let Push::Record { stream, record } = push {
                    run.events += 1;
                    let fw = owner[&stream];
                    let event = Event::decode(payload(&record)).expect("a protobuf event");
                    reactions.clear();
                    schedulers[fw].react(event, &mut reactions);
                    calls.extend(reactions.drain(..).map(|c| (fw, c)));
                }
            }
            run.calls += calls.len() as u64;
            for (fw, call) in calls.drain(..) {
                let body = call.encode_to_vec();
                let sid = Some(schedulers[fw].stream_id.as_str());
                let answer = master.handle_call(&request(&body, sid), now, &mut pushes);
                debug_assert_eq!(answer, Answer::Accepted);
            }
        }
        match master.poll_timeout() {
            Some(t) if t <= span => {
                now = now.max(t);
                run.steps += 1;
                master.handle_timeout(now, &mut pushes);
            }
            _ => break,
        }
    }
    run.tasks = schedulers.iter().map(|s| s.launched).sum();
    run
}

// ----- the same over HTTP -----

/// Simulated time of one HTTP run, unless `SIM_BENCH_HTTP_SECONDS` says.
const HTTP_SPAN: Duration = Duration::from_secs(2);

/// What the clients have in hand, to know when all is quiet.
#[derive(Default)]
struct Progress {
    /// Records read, over all streams.
    received: AtomicU64,
    /// Events being handled (calls not answered yet).
    busy: AtomicU64,
    /// Calls made after the subscriptions.
    calls: AtomicU64,
    /// Tasks launched.
    tasks: AtomicU64,
}

async fn connect(addr: SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("the sim listens");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("an HTTP/1.1 connection");
    tokio::spawn(connection);
    sender
}

fn http_request(body: Vec<u8>, stream_id: Option<&str>) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::post("/api/v1/scheduler")
        .header("Content-Type", "application/x-protobuf")
        .header("Accept", "application/x-protobuf");
    if let Some(id) = stream_id {
        request = request.header("Mesos-Stream-Id", id);
    }
    request.body(Full::new(Bytes::from(body))).expect("a request")
}

/// One framework's client: subscribes, reads its stream, posts its calls
/// on a second connection.
async fn client(addr: SocketAddr, n: usize, progress: Arc<Progress>, subscribed: mpsc::Sender<()>) {
    let id = format!("fw{n:03}");
    let mut events = connect(addr).await;
    let response = events.send_request(http_request(subscribe_call(&id).encode_to_vec(), None)).await.expect("200");
    assert_eq!(response.status(), 200);
    let stream_id = response.headers()["mesos-stream-id"].to_str().expect("a stream id").to_owned();
    let mut body = response.into_body();
    let mut calls = connect(addr).await;
    let mut scheduler = Scheduler { id, stream_id, running: 0, launched: 0 };
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let _ = subscribed.send(()).await;
    // Any failure ends the client (at the end of a run, the server goes
    // first); `busy` stays up, so a failure mid-run would show as a run
    // that never ends rather than a wrong count.
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else { continue };
        progress.busy.fetch_add(1, Ordering::SeqCst);
        decoder.push(data);
        while let Ok(Some(record)) = decoder.next_record() {
            let event = Event::decode(record.data.clone()).expect("a protobuf event");
            let launched = scheduler.launched;
            scheduler.react(event, &mut out);
            progress.tasks.fetch_add(scheduler.launched - launched, Ordering::Relaxed);
            progress.received.fetch_add(1, Ordering::SeqCst);
        }
        for call in out.drain(..) {
            progress.calls.fetch_add(1, Ordering::Relaxed);
            let request = http_request(call.encode_to_vec(), Some(&scheduler.stream_id));
            // HTTP/1.1: one request at a time on the connection.
            if calls.ready().await.is_err() {
                return;
            }
            let Ok(response) = calls.send_request(request).await else { return };
            assert_eq!(response.status(), 202);
            let _ = response.into_body().collect().await;
        }
        progress.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One run over HTTP: the number of events the clients read.
fn run_http(span: Duration) -> Run {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = Arc::new(sim::spawn(listener, config(), Clock::Manual).unwrap());
        let addr = handle.local_addr();
        let progress = Arc::new(Progress::default());
        let (tx, mut rx) = mpsc::channel(FRAMEWORKS);
        let clients: Vec<_> =
            (0..FRAMEWORKS).map(|n| tokio::spawn(client(addr, n, progress.clone(), tx.clone()))).collect();
        for _ in 0..FRAMEWORKS {
            rx.recv().await.expect("every client subscribes");
        }
        let mut steps = 0;
        loop {
            // Quiet: every record sent was read and handled.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                assert!(std::time::Instant::now() < deadline, "the clients stopped reading or calling");
                let handle = handle.clone();
                let sent = tokio::task::spawn_blocking(move || handle.records_sent()).await.unwrap();
                if progress.busy.load(Ordering::SeqCst) == 0 && progress.received.load(Ordering::SeqCst) == sent {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            let handle2 = handle.clone();
            let (next, now) =
                tokio::task::spawn_blocking(move || (handle2.next_timeout(), handle2.now())).await.unwrap();
            match next {
                Some(t) if t <= span => {
                    steps += 1;
                    let handle = handle.clone();
                    tokio::task::spawn_blocking(move || handle.advance(t.saturating_sub(now))).await.unwrap();
                }
                _ => break,
            }
        }
        for c in clients {
            c.abort();
        }
        Run {
            events: progress.received.load(Ordering::SeqCst),
            calls: progress.calls.load(Ordering::SeqCst),
            steps,
            tasks: progress.tasks.load(Ordering::SeqCst),
        }
    })
}

fn bench(c: &mut Criterion) {
    let span = span();
    let started = std::time::Instant::now();
    let run = run_sans_io(span);
    let took = started.elapsed();
    eprintln!(
        "sans-io: {FRAMEWORKS} frameworks, {AGENTS} agents, {} s simulated, first run in {took:.2?}: {run:?}",
        span.as_secs()
    );
    let mut group = c.benchmark_group("sim");
    group.sample_size(10);
    group.throughput(Throughput::Elements(run.events));
    group.bench_function("sans-io", |b| b.iter(|| black_box(run_sans_io(span))));
    group.finish();

    let span = std::env::var("SIM_BENCH_HTTP_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(HTTP_SPAN, Duration::from_secs);
    let started = std::time::Instant::now();
    let run = run_http(span);
    let took = started.elapsed();
    eprintln!(
        "http: {FRAMEWORKS} frameworks, {AGENTS} agents, {} s simulated, first run in {took:.2?}: {run:?}",
        span.as_secs()
    );
    let mut group = c.benchmark_group("sim");
    group.sample_size(10);
    group.throughput(Throughput::Elements(run.events));
    group.bench_function("http", |b| b.iter(|| black_box(run_http(span))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
