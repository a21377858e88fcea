//! The simulated master against the master it simulates, on the same
//! framework workload, in the same run; then a large cluster simulated in
//! real time on one core.
//!
//! ```sh
//! cargo xtask real-master install     # once: the real Mesos 1.11.0 master (see README)
//! cargo bench --bench sim_vs_real     # about two minutes
//! ```
//!
//! The real master is the project's harness (`tests/support/real_master.rs`,
//! included here with `#[path]`: a `mesos-local` master with two agents of
//! `cpus:2;mem:996`, on a free port, stopped with everything it started when
//! dropped); the bench installs it first if `cargo xtask real-master install`
//! has not (it needs root and the network the first time). `BENCH_REAL=0`
//! leaves the real master out.
//!
//! **Part 1, the same workload.** `BENCH_FRAMEWORKS` frameworks (4)
//! subscribe in JSON, each on a connection of its own for its stream and
//! another for its calls (one at a time, each answered `202`). On every
//! OFFERS a framework ACCEPTs each offer with as many `sleep 0.2` tasks
//! (0.5 cpu, 32 MB) as fit, while it has fewer than `BENCH_TASKS` (20)
//! launched (`refuse_seconds` 1 on the rest of the offer), and DECLINEs it
//! with `refuse_seconds` 60 once it has launched them all; it ACKNOWLEDGEs
//! every update with a uuid. The run ends at the Nth TASK_FINISHED (N =
//! frameworks × tasks). Three masters in turn, each with the same two
//! agents:
//!
//! - **real**: the real master;
//! - **sim, real clock**: `mesos-replay sim` as users run it (in this
//!   process, on a tokio runtime of its own);
//! - **sim, virtual clock**: the same sim on its manual clock, moved on to
//!   its next timer whenever every record it sent was read and every call
//!   answered: how fast the sim goes when nothing waits for the clock.
//!
//! The table gives, for each, the time from the first SUBSCRIBE to the Nth
//! TASK_FINISHED, the calls and events per second of wall-clock time over
//! that span, the master's CPU time (the real master's `mesos-local`
//! process, which holds the master and its agents but not the executors;
//! the sim's runtime threads), and the ratios of the sims to the real
//! master: calls/s, events/s, how many times sooner the Nth TASK_FINISHED
//! came (× time), and how many times less CPU the master used (÷ CPU).
//!
//! **Part 2, a large cluster in real time.** The sim with
//! `BENCH_CLUSTER_AGENTS` agents (10 000, each 4 cpus and 4 GB) in a
//! process of its own (this binary again, `--role sim`) on a
//! current-thread tokio runtime, pinned to one core with `taskset` when
//! there is one (the frameworks then to the other), on its real clock;
//! `BENCH_CLUSTER_FRAMEWORKS` frameworks (200) in this process run the
//! workload of the sim bench (tasks of 1 cpu and 128 MB, `sleep 5` to
//! `sleep 60`, at most 40 running each, the rest declined for 15 s) for
//! `BENCH_CLUSTER_SECONDS` (60). It reports the CPU use of the sim's
//! process and of the frameworks (100 % is a whole core), the events and
//! calls per second, the allocations seen (OFFERS events in bursts: a
//! burst starts more than 0.5 s after the last OFFERS), the gaps between
//! bursts (an allocation every second keeps them at 1 s), the spread of a
//! burst, how long after its allocation's whole second (counted from the
//! sim's start) each OFFERS came (p50, p99, max: an allocation that keeps
//! up is a few ms late, one that falls behind goes towards 1 s), and the
//! longest gap between two HEARTBEATs of a framework (15 s intervals).
//!
//! `cargo test --benches` runs a small version (1 framework, 2 tasks; 50
//! agents, 5 frameworks, 3 s) as a smoke test, without the real master.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mesos_codec::recordio::Decoder;
use mesos_replay::sim::{self, Clock, Config, SimHandle};
use serde_json::{Value, json};

#[path = "../tests/support/real_master.rs"]
mod real_master;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What every framework of a run does.
struct Workload {
    frameworks: usize,
    /// Tasks each framework launches in all (`None`: no end).
    quota: Option<u64>,
    /// Most tasks a framework runs at once.
    max_running: u64,
    cpus: f64,
    mem: f64,
    /// The command of the framework's nth task.
    command: fn(u64) -> String,
    /// The filter of an ACCEPT (the rest of the offer).
    accept_refuse: f64,
    /// The filter of a DECLINE.
    decline_refuse: f64,
}

/// What the frameworks of a run did, together.
#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    events: AtomicU64,
    finished: AtomicU64,
    /// Records read (for the virtual clock's quiet).
    received: AtomicU64,
    /// Events in hand whose calls are not all answered yet.
    busy: AtomicU64,
    /// When the Nth TASK_FINISHED came, from the start.
    nth: OnceLock<Duration>,
    /// The Nth.
    target: u64,
    done: tokio::sync::Notify,
}

/// When a framework saw its OFFERS and HEARTBEATs, from the start.
#[derive(Default)]
struct Seen {
    offers: Vec<Duration>,
    heartbeats: Vec<Duration>,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("the master listens");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("an HTTP/1.1 connection");
    tokio::spawn(connection);
    sender
}

fn post(addr: SocketAddr, call: &Value, stream_id: Option<&str>) -> hyper::Request<Full<Bytes>> {
    let mut request = hyper::Request::post("/api/v1/scheduler")
        .header("Host", addr.to_string())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json");
    if let Some(id) = stream_id {
        request = request.header("Mesos-Stream-Id", id);
    }
    request.body(Full::new(Bytes::from(call.to_string()))).expect("a request")
}

fn scalar(resources: &Value, name: &str) -> f64 {
    resources
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == name)
        .filter_map(|r| r["scalar"]["value"].as_f64())
        .sum()
}

/// One framework: subscribes, reads its stream, posts its calls on a
/// second connection; ends when its stream does or the task is aborted.
async fn framework(
    addr: SocketAddr,
    n: usize,
    w: Arc<Workload>,
    c: Arc<Counters>,
    t0: Instant,
    seen: Arc<Mutex<Seen>>,
) {
    let mut events = connect(addr).await;
    let subscribe =
        json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "root", "name": format!("bench-{n}")}}});
    let response = events.send_request(post(addr, &subscribe, None)).await.expect("SUBSCRIBE answered");
    assert_eq!(response.status(), 200, "SUBSCRIBE");
    c.calls.fetch_add(1, Ordering::Relaxed);
    let stream_id = response.headers()["mesos-stream-id"].to_str().expect("a stream id").to_owned();
    let mut body = response.into_body();
    let mut calls = connect(addr).await;
    let mut decoder = Decoder::new();
    let mut framework_id = Value::Null;
    let (mut launched, mut running) = (0u64, 0u64);
    let mut finished: HashSet<String> = HashSet::new();
    let mut out: Vec<Value> = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        let Ok(data) = frame.into_data() else { continue };
        c.busy.fetch_add(1, Ordering::SeqCst);
        decoder.push(data);
        while let Ok(Some(record)) = decoder.next_record() {
            let event: Value = serde_json::from_slice(&record.data).expect("a JSON event");
            c.events.fetch_add(1, Ordering::Relaxed);
            let at = t0.elapsed();
            match event["type"].as_str() {
                Some("SUBSCRIBED") => framework_id = event["subscribed"]["framework_id"].clone(),
                Some("HEARTBEAT") => seen.lock().unwrap().heartbeats.push(at),
                Some("OFFERS") => {
                    seen.lock().unwrap().offers.push(at);
                    let mut declined = Vec::new();
                    for offer in event["offers"]["offers"].as_array().into_iter().flatten() {
                        let (mut cpus, mut mem) =
                            (scalar(&offer["resources"], "cpus"), scalar(&offer["resources"], "mem"));
                        let mut tasks = Vec::new();
                        while cpus >= w.cpus
                            && mem >= w.mem
                            && running < w.max_running
                            && w.quota.is_none_or(|q| launched < q)
                        {
                            cpus -= w.cpus;
                            mem -= w.mem;
                            launched += 1;
                            running += 1;
                            let id = format!("bench-{n}-{launched}");
                            tasks.push(json!({"name": id, "task_id": {"value": id}, "agent_id": offer["agent_id"],
                                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": w.cpus}},
                                              {"name": "mem", "type": "SCALAR", "scalar": {"value": w.mem}}],
                                "command": {"value": (w.command)(launched)}}));
                        }
                        if tasks.is_empty() {
                            declined.push(offer["id"].clone());
                        } else {
                            out.push(json!({"type": "ACCEPT", "framework_id": framework_id, "accept": {
                                "offer_ids": [offer["id"]],
                                "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}],
                                "filters": {"refuse_seconds": w.accept_refuse}}}));
                        }
                    }
                    if !declined.is_empty() {
                        out.push(json!({"type": "DECLINE", "framework_id": framework_id, "decline": {
                            "offer_ids": declined, "filters": {"refuse_seconds": w.decline_refuse}}}));
                    }
                }
                Some("UPDATE") => {
                    let status = &event["update"]["status"];
                    let state = status["state"].as_str().unwrap_or("");
                    let task = status["task_id"]["value"].as_str().unwrap_or("").to_owned();
                    let terminal =
                        matches!(state, "TASK_FINISHED" | "TASK_FAILED" | "TASK_KILLED" | "TASK_LOST" | "TASK_ERROR");
                    if terminal && finished.insert(task) {
                        running = running.saturating_sub(1);
                        if state == "TASK_FINISHED" && c.finished.fetch_add(1, Ordering::SeqCst) + 1 == c.target {
                            let _ = c.nth.set(t0.elapsed());
                            c.done.notify_one();
                        }
                    }
                    if status.get("uuid").is_some() {
                        out.push(json!({"type": "ACKNOWLEDGE", "framework_id": framework_id, "acknowledge": {
                            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}}));
                    }
                }
                _ => {}
            }
            c.received.fetch_add(1, Ordering::SeqCst);
        }
        for call in out.drain(..) {
            if calls.ready().await.is_err() {
                return;
            }
            let Ok(response) = calls.send_request(post(addr, &call, Some(&stream_id))).await else { return };
            assert_eq!(response.status(), 202, "{call}");
            let _ = response.into_body().collect().await;
            c.calls.fetch_add(1, Ordering::Relaxed);
        }
        c.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What one run of part 1 measured.
struct Outcome {
    /// To the Nth TASK_FINISHED.
    nth: Duration,
    calls: u64,
    events: u64,
    /// The master's CPU time over the run.
    cpu: Duration,
}

/// CPU time so far of the threads of process `pid` whose names start with
/// `prefix` (all of them when it is empty).
fn cpu_ns(pid: u32, prefix: &str) -> u64 {
    let mut ns = 0;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        ns += schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    ns
}

/// Runs the workload against the master at `addr` until the Nth
/// TASK_FINISHED; on the virtual clock of `manual` when given.
fn drive(
    rt: &tokio::runtime::Runtime,
    addr: SocketAddr,
    w: &Arc<Workload>,
    manual: Option<Arc<SimHandle>>,
    cpu: &dyn Fn() -> u64,
) -> Outcome {
    let target = w.frameworks as u64 * w.quota.expect("a quota");
    let counters = Arc::new(Counters { target, ..Counters::default() });
    let cpu0 = cpu();
    let t0 = Instant::now();
    rt.block_on(async {
        let clients: Vec<_> = (0..w.frameworks)
            .map(|n| {
                let seen = Arc::new(Mutex::new(Seen::default()));
                tokio::spawn(framework(addr, n, w.clone(), counters.clone(), t0, seen))
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(600);
        match manual {
            None => {
                tokio::time::timeout(Duration::from_secs(600), counters.done.notified()).await.unwrap_or_else(|_| {
                    panic!("no {target}th TASK_FINISHED in 600 s ({} so far)", counters.finished.load(Ordering::SeqCst))
                })
            }
            Some(handle) => {
                // Subscribed: every framework has read something.
                while counters.received.load(Ordering::SeqCst) < w.frameworks as u64 {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                while counters.nth.get().is_none() {
                    assert!(Instant::now() < deadline, "the virtual-clock run never ended");
                    // Quiet: every record sent was read and handled.
                    loop {
                        let h = handle.clone();
                        let sent = tokio::task::spawn_blocking(move || h.records_sent()).await.unwrap();
                        if counters.busy.load(Ordering::SeqCst) == 0 && counters.received.load(Ordering::SeqCst) == sent
                        {
                            break;
                        }
                        tokio::time::sleep(Duration::from_micros(100)).await;
                    }
                    if counters.nth.get().is_some() {
                        break;
                    }
                    let h = handle.clone();
                    tokio::task::spawn_blocking(move || {
                        if let Some(next) = h.next_timeout() {
                            h.advance(next.saturating_sub(h.now()));
                        }
                    })
                    .await
                    .unwrap();
                }
            }
        }
        for client in clients {
            client.abort();
        }
    });
    Outcome {
        nth: *counters.nth.get().expect("the Nth TASK_FINISHED"),
        calls: counters.calls.load(Ordering::SeqCst),
        events: counters.events.load(Ordering::SeqCst),
        cpu: Duration::from_nanos(cpu().saturating_sub(cpu0)),
    }
}

/// The sim on a runtime of its own (threads named `sim`).
fn sim_on(clock: Clock, config: Config) -> (tokio::runtime::Runtime, Arc<SimHandle>) {
    let rt = tokio::runtime::Builder::new_multi_thread().thread_name("sim").enable_all().build().unwrap();
    let handle = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Arc::new(sim::spawn(listener, config, clock).unwrap())
    });
    (rt, handle)
}

/// `--role sim AGENTS`: the sim on a current-thread runtime, real clock.
/// The sim's allocation interval, in seconds.
fn seconds_per_allocation() -> f64 {
    Config::default().allocation_interval.as_secs_f64()
}

fn sim_role(agents: usize) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = Config { agents, cpus: 4.0, mem: 4096.0, ..Config::default() };
        let handle = sim::spawn(listener, config, Clock::Real).unwrap();
        println!("listening on {}", handle.local_addr());
        std::future::pending::<()>().await;
    });
}

fn part1(clients: &tokio::runtime::Runtime, bench: bool) {
    let real = std::env::var("BENCH_REAL").map_or(bench, |v| v != "0");
    let w = Arc::new(Workload {
        frameworks: env("BENCH_FRAMEWORKS", if bench { 4 } else { 1 }),
        quota: Some(env("BENCH_TASKS", if bench { 20 } else { 2 }) as u64),
        max_running: u64::MAX,
        cpus: 0.5,
        mem: 32.0,
        command: |_| "sleep 0.2".to_owned(),
        accept_refuse: 1.0,
        decline_refuse: 60.0,
    });
    let me = std::process::id();
    let mut rows: Vec<(&str, Outcome)> = Vec::new();
    if real {
        let master = real_master::RealMaster::start();
        let pid = master.pid;
        rows.push(("real", drive(clients, master.addr(), &w, None, &|| cpu_ns(pid, ""))));
    }
    {
        let (_rt, handle) = sim_on(Clock::Real, Config::default());
        rows.push(("sim, real clock", drive(clients, handle.local_addr(), &w, None, &|| cpu_ns(me, "sim"))));
    }
    {
        let (_rt, handle) = sim_on(Clock::Manual, Config::default());
        let addr = handle.local_addr();
        rows.push(("sim, virtual clock", drive(clients, addr, &w, Some(handle), &|| cpu_ns(me, "sim"))));
    }
    let n = w.frameworks as u64 * w.quota.unwrap_or(0);
    println!();
    println!(
        "sim vs real master: {} JSON frameworks, {} tasks each (sleep 0.2), two agents of 2 cpus; to the {n}th TASK_FINISHED",
        w.frameworks,
        w.quota.unwrap_or(0)
    );
    println!(
        "{:<20} {:>10} {:>8} {:>8} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "master",
        "to Nth s",
        "calls",
        "events",
        "calls/s",
        "events/s",
        "CPU s",
        "× calls/s",
        "× ev/s",
        "× time",
        "÷ CPU"
    );
    let base = rows.iter().find(|(name, _)| *name == "real").map(|(_, o)| o);
    for (name, o) in &rows {
        let secs = o.nth.as_secs_f64();
        let (calls, events) = (o.calls as f64 / secs, o.events as f64 / secs);
        let ratio = |f: &dyn Fn(&Outcome) -> f64| base.map_or(f64::NAN, |b| f(o) / f(b));
        println!(
            "{:<20} {:>10.3} {:>8} {:>8} {:>10.1} {:>10.1} {:>10.3} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            name,
            secs,
            o.calls,
            o.events,
            calls,
            events,
            o.cpu.as_secs_f64(),
            ratio(&|o| o.calls as f64 / o.nth.as_secs_f64()),
            ratio(&|o| o.events as f64 / o.nth.as_secs_f64()),
            base.map_or(f64::NAN, |b| b.nth.as_secs_f64() / secs),
            base.map_or(f64::NAN, |b| b.cpu.as_secs_f64() / o.cpu.as_secs_f64()),
        );
    }
}

fn part2(clients: &tokio::runtime::Runtime, bench: bool) {
    let agents = env("BENCH_CLUSTER_AGENTS", if bench { 10_000 } else { 50 });
    let frameworks = env("BENCH_CLUSTER_FRAMEWORKS", if bench { 200 } else { 5 });
    let seconds = env("BENCH_CLUSTER_SECONDS", if bench { 60 } else { 3 }) as u64;
    let exe = std::env::current_exe().unwrap();
    let pinned = Command::new("taskset").arg("--version").output().is_ok_and(|o| o.status.success());
    let mut command = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    let mut child: Child =
        command.args(["--role", "sim", &agents.to_string()]).stdout(Stdio::piped()).spawn().expect("the sim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // The sim's clock starts about now: its allocations are due every
    // whole second from here.
    let sim_started = Instant::now();
    let addr: SocketAddr =
        line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the sim said {line:?}")).parse().unwrap();
    let pid = child.id();
    let w = Arc::new(Workload {
        frameworks,
        quota: None,
        max_running: 40,
        cpus: 1.0,
        mem: 128.0,
        command: |n| format!("sleep {}", 5 + n * 7 % 56),
        accept_refuse: 5.0,
        decline_refuse: 15.0,
    });
    if pinned {
        // The frameworks on the other core (every thread of this process).
        let _ = Command::new("taskset").args(["-a", "-p", "-c", "0", &std::process::id().to_string()]).output();
    }
    let counters = Arc::new(Counters { target: u64::MAX, ..Counters::default() });
    let seens: Vec<Arc<Mutex<Seen>>> = (0..frameworks).map(|_| Arc::default()).collect();
    let t0 = Instant::now();
    let cpu0 = cpu_ns(pid, "");
    let me = std::process::id();
    let clients0 = cpu_ns(me, "clients");
    clients.block_on(async {
        let tasks: Vec<_> = seens
            .iter()
            .enumerate()
            .map(|(n, seen)| tokio::spawn(framework(addr, n, w.clone(), counters.clone(), t0, seen.clone())))
            .collect();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        for task in tasks {
            task.abort();
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    let cpu = Duration::from_nanos(cpu_ns(pid, "").saturating_sub(cpu0)).as_secs_f64();
    let clients_cpu = Duration::from_nanos(cpu_ns(me, "clients").saturating_sub(clients0)).as_secs_f64();
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let _ = child.kill();
    let _ = child.wait();

    // Allocations: OFFERS of all frameworks in bursts.
    let mut offers: Vec<Duration> = seens.iter().flat_map(|s| s.lock().unwrap().offers.clone()).collect();
    offers.sort();
    // How long after its second each OFFERS came (an allocation every
    // second that keeps up: a few ms; falling behind: towards 1 s).
    let skew = t0.duration_since(sim_started);
    let mut late: Vec<f64> =
        offers.iter().map(|at| ((*at + skew).as_secs_f64() * 1e3) % (1e3 * seconds_per_allocation())).collect();
    late.sort_by(|a, b| a.total_cmp(b));
    let late_at = |p: f64| late.get(((late.len().max(1) - 1) as f64 * p).round() as usize).copied().unwrap_or(f64::NAN);
    let mut bursts: Vec<(Duration, Duration)> = Vec::new();
    for at in offers {
        match bursts.last_mut() {
            Some((_, end)) if at.saturating_sub(*end) <= Duration::from_millis(500) => *end = at,
            _ => bursts.push((at, at)),
        }
    }
    let gaps: Vec<f64> = bursts.windows(2).map(|b| (b[1].0 - b[0].0).as_secs_f64()).collect();
    let spreads: Vec<f64> = bursts.iter().map(|(s, e)| (*e - *s).as_secs_f64() * 1e3).collect();
    let max = |v: &[f64]| v.iter().copied().fold(f64::NAN, f64::max);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let heartbeat_gap = seens
        .iter()
        .flat_map(|s| {
            let s = s.lock().unwrap();
            s.heartbeats.windows(2).map(|h| (h[1] - h[0]).as_secs_f64()).collect::<Vec<_>>()
        })
        .fold(f64::NAN, f64::max);
    let heartbeats: usize = seens.iter().map(|s| s.lock().unwrap().heartbeats.len()).sum();
    println!();
    println!(
        "the sim alone, real clock: {agents} agents (4 cpus, 4 GB), {frameworks} frameworks, {seconds} s, {}",
        if pinned {
            "the sim pinned to CPU 1 and the frameworks to CPU 0 (taskset), the sim on one runtime thread"
        } else {
            "the sim on one runtime thread (no taskset to pin it)"
        }
    );
    println!("frameworks' CPU {:.1} % of a core", clients_cpu / wall * 100.0);
    println!(
        "{} OFFERS events, each after its allocation's second: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        late.len(),
        late_at(0.5),
        late_at(0.99),
        late_at(1.0)
    );
    println!(
        "sim CPU {:.1} % of a core; {:.0} events/s, {:.0} calls/s; {} allocations seen (OFFERS bursts), gap between \
         them mean {:.3} s, max {:.3} s; burst spread mean {:.1} ms, max {:.1} ms; {heartbeats} heartbeats, longest \
         gap {:.2} s",
        cpu / wall * 100.0,
        counters.events.load(Ordering::SeqCst) as f64 / wall,
        counters.calls.load(Ordering::SeqCst) as f64 / wall,
        bursts.len(),
        mean(&gaps),
        max(&gaps),
        mean(&spreads),
        max(&spreads),
        heartbeat_gap,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--role") {
        match (args.get(2).map(String::as_str), args.get(3).and_then(|a| a.parse().ok())) {
            (Some("sim"), Some(agents)) => return sim_role(agents),
            other => panic!("unknown role {other:?}"),
        }
    }
    let bench = args.iter().any(|a| a == "--bench");
    let clients = tokio::runtime::Builder::new_multi_thread().thread_name("clients").enable_all().build().unwrap();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "compare" {
        part1(&clients, bench);
    }
    if only.is_empty() || only == "cluster" {
        part2(&clients, bench);
    }
}
