//! The interop suite's harness (issue 8): frameworks that we did not write,
//! run against our servers.
//!
//! A [`Client`] is a real framework client: the avmesos (PyPI) framework in
//! `interop/python/framework.py`, the mesos-framework (npm) one in
//! `interop/node/framework.js`, or the seed walkthrough with `curl`
//! ([`curl`]). [`run_framework`] runs one against any master URL until it
//! tears down (bounded in time) and returns what it logged, a
//! [`FrameworkLog`]: every call it made and every event it was handed, in
//! order. Any server can be plugged under it; each way of the suite is one
//! function here:
//!
//! 1. [`against_the_sim`]: `mesos-replay sim` directly;
//! 2. [`through_the_proxy`]: `mesos-proxy record` in front of the
//!    simulator; the session file must hold the calls and events the
//!    framework logged, in order ([`check_session`]), and be byte for byte
//!    what the simulator served (its own `--record` session is the witness,
//!    [`check_same_traffic`]);
//! 3. [`against_the_replay`] (and [`against_the_replay_fast`], unpaced):
//!    `mesos-replay serve` of the session recorded in 2; the framework must be handed the same events and make the same
//!    calls as when it was recorded ([`check_same_events`]), and the replay's
//!    report must be clean.
//! 4. The real master (`cargo xtask real-master`, a real Apache Mesos 1.11.0):
//!    [`against_the_real_master`] directly; [`through_the_proxy_to_the_real_master`],
//!    where the session must hold what the framework logged
//!    ([`check_session`]); and [`against_the_replay_of_the_real_master`], the
//!    framework against `mesos-replay serve` of that recording.

#![allow(dead_code)] // the tests use part of the harness

pub mod curl;
pub mod install;
pub use crate::support::real_master;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mesos_codec::session::{Entry, EntryKind, Party};
use mesos_replay::sim;
use serde_json::Value;

/// How long a framework may run before the test kills it.
pub const FRAMEWORK_TIMEOUT: Duration = Duration::from_secs(45);

/// The simulator's heartbeat in the suite: avmesos hands an event over only
/// when the next record's size line has arrived, so heartbeats set its pace.
pub const HEARTBEAT: Duration = Duration::from_millis(500);

/// A framework client of the suite: a library with a small framework written
/// with it, or curl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// `interop/python/framework.py`, written with avmesos.
    Avmesos,
    /// The same with one task (`INTEROP_TASKS=sleeper`): its events come in
    /// one order whatever the timing, for comparing two masters.
    AvmesosOneTask,
    /// `interop/node/framework.js`, written with mesos-framework.
    MesosFramework,
    /// The seed walkthrough with curl ([`curl`]).
    Curl,
}

impl Client {
    /// The simulator's heartbeat for it: [`HEARTBEAT`], but the master's own
    /// (15 s) for [`Client::AvmesosOneTask`], whose conversation is compared
    /// with one a real master had: avmesos's pace is set by heartbeats and
    /// the agent's 10 s status update retries, so both must be the master's.
    pub fn heartbeat(self) -> Duration {
        match self {
            Client::AvmesosOneTask => sim::Config::default().heartbeat,
            _ => HEARTBEAT,
        }
    }

    /// Installs what it needs (once per test binary); blocking.
    pub fn prepare(self) {
        match self {
            Client::Avmesos | Client::AvmesosOneTask => {
                install::python();
            }
            Client::MesosFramework => {
                install::node_modules();
            }
            Client::Curl => {}
        }
    }

    /// The `(task, state)` updates it must have been handed.
    fn expected_updates(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Client::Avmesos | Client::MesosFramework => &[
                ("sleeper", "TASK_STARTING"),
                ("sleeper", "TASK_RUNNING"),
                ("sleeper", "TASK_KILLED"),
                ("napper", "TASK_RUNNING"),
                ("napper", "TASK_FINISHED"),
            ],
            Client::AvmesosOneTask => {
                &[("sleeper", "TASK_STARTING"), ("sleeper", "TASK_RUNNING"), ("sleeper", "TASK_KILLED")]
            }
            Client::Curl => &[
                ("00012", "TASK_RUNNING"),
                ("00012", "TASK_KILLED"),
                ("00017", "TASK_STARTING"),
                ("00017", "TASK_RUNNING"),
                ("a", "TASK_KILLED"),
                ("b", "TASK_KILLED"),
            ],
        }
    }
}

/// One line of a framework's log.
#[derive(Clone, Debug, PartialEq)]
pub enum Logged {
    /// A call it made: the call's key fields (a part of the call's JSON).
    Call(Value),
    /// An event it was handed: the event's JSON as the library gave it (a
    /// part of the event), and the record's bytes when the client has them.
    Event { event: Value, raw: Option<Vec<u8>> },
    /// It ended after its teardown.
    Done,
}

/// What a framework logged, and its standard error (for failure messages).
#[derive(Clone, Debug, Default)]
pub struct FrameworkLog {
    pub entries: Vec<Logged>,
    /// Whether it logs every event it receives (curl), or may leave the last
    /// ones unread when it stops (the libraries read a record late or stop
    /// reading after their teardown).
    pub complete: bool,
    pub stderr: String,
}

impl FrameworkLog {
    /// Reads the JSON lines a framework wrote.
    fn parse(text: &str) -> Result<Vec<Logged>, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let value: Value = serde_json::from_str(line).map_err(|e| format!("log line {}: {e}: {line}", n + 1))?;
            entries.push(match value["kind"].as_str() {
                Some("call") => Logged::Call(value["call"].clone()),
                Some("event") => Logged::Event { event: value["event"].clone(), raw: None },
                Some("done") => Logged::Done,
                _ => return Err(format!("log line {}: unknown kind: {line}", n + 1)),
            });
        }
        Ok(entries)
    }

    pub fn calls(&self) -> Vec<&Value> {
        self.entries.iter().filter_map(|e| if let Logged::Call(c) = e { Some(c) } else { None }).collect()
    }

    pub fn events(&self) -> Vec<&Value> {
        self.entries
            .iter()
            .filter_map(|e| if let Logged::Event { event, .. } = e { Some(event) } else { None })
            .collect()
    }

    /// The framework id its SUBSCRIBED event gave.
    pub fn framework_id(&self) -> Option<String> {
        self.events()
            .iter()
            .find(|e| e["type"] == "SUBSCRIBED")
            .and_then(|e| e["subscribed"]["framework_id"]["value"].as_str())
            .map(str::to_owned)
    }

    /// The log, one short line an entry, and the framework's stderr.
    pub fn text(&self) -> String {
        let mut out = String::from("--- the framework's log\n");
        for entry in &self.entries {
            let line = match entry {
                Logged::Call(call) => format!("call  {}", call),
                Logged::Event { event, .. } => format!("event {}", event),
                Logged::Done => "done".to_owned(),
            };
            out.push_str(&line.chars().take(240).collect::<String>());
            out.push('\n');
        }
        if !self.stderr.is_empty() {
            out.push_str("--- its stderr (last 60 lines)\n");
            let lines: Vec<&str> = self.stderr.lines().collect();
            for line in &lines[lines.len().saturating_sub(60)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// A test's scratch directory, removed when the test passes and kept (and
/// named on stderr) when it fails.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let path = std::env::temp_dir().join(format!("mesos-tape-interop-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("interop: kept {} for a look", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The simulated master of the suite for `framework`: the seed walkthrough's
/// cluster with [`Client::heartbeat`], recording what it serves into
/// `record` when given.
pub async fn start_sim(framework: Client, record: Option<PathBuf>) -> sim::SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = sim::Config { heartbeat: framework.heartbeat(), record, ..sim::Config::default() };
    sim::spawn(listener, config, sim::Clock::Real).unwrap()
}

/// `mesos-proxy record` on a free port in front of `master`.
pub struct Proxy {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<Result<(), mesos_proxy::Error>>,
}

impl Proxy {
    pub async fn start(master: SocketAddr, out: PathBuf) -> Proxy {
        let recorder = mesos_proxy::Recorder::bind(mesos_proxy::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            master: format!("http://{master}"),
            out,
            keep_secrets: false,
            limits: Default::default(),
        })
        .await
        .unwrap();
        let addr = recorder.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(recorder.run(async {
            let _ = stopped.await;
        }));
        Proxy { addr, stop, running }
    }

    /// Stops it as SIGTERM would: every session gets its `end`.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.running)
            .await
            .expect("the proxy stops within 10 s")
            .unwrap()
            .unwrap();
    }
}

/// Runs `framework` against the master at `master` (`http://host:port`)
/// until it ends, at most [`FRAMEWORK_TIMEOUT`]; `dir` holds its files.
/// Panics, with its log and stderr, if it fails or hangs.
pub async fn run_framework(framework: Client, master: &str, dir: &Path) -> FrameworkLog {
    let (master, dir) = (master.to_owned(), dir.to_owned());
    tokio::task::spawn_blocking(move || run_blocking(framework, &master, &dir)).await.unwrap()
}

fn run_blocking(framework: Client, master: &str, dir: &Path) -> FrameworkLog {
    let mut command = match framework {
        Client::Curl => return curl::run(master, dir),
        Client::Avmesos | Client::AvmesosOneTask => {
            let mut command = Command::new(install::python());
            command.arg(install::root().join("interop/python/framework.py"));
            if framework == Client::AvmesosOneTask {
                command.env("INTEROP_TASKS", "sleeper");
            }
            command
        }
        Client::MesosFramework => {
            let mut command = Command::new(install::node());
            command.arg(install::root().join("interop/node/framework.js"));
            command.env("NODE_PATH", install::node_modules());
            command
        }
    };
    let log_file = dir.join(format!("{framework:?}.log.jsonl"));
    let stdout_file = dir.join(format!("{framework:?}.stdout"));
    let stderr_file = dir.join(format!("{framework:?}.stderr"));
    // The frameworks append to their log: a second run in the same
    // directory (a replay after a recording) starts afresh.
    let _ = std::fs::remove_file(&log_file);
    let mut child = command
        .arg(master)
        .arg(&log_file)
        .current_dir(dir)
        .env("INTEROP_TIMEOUT", (FRAMEWORK_TIMEOUT.as_secs() + 15).to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_file).unwrap())
        .stderr(std::fs::File::create(&stderr_file).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{framework:?}: cannot start: {e}"));
    let deadline = Instant::now() + FRAMEWORK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log_file).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&stdout_file).unwrap_or_default();
    stderr.push_str(&std::fs::read_to_string(&stderr_file).unwrap_or_default());
    let mut log = FrameworkLog { entries: Vec::new(), complete: false, stderr };
    match FrameworkLog::parse(&text) {
        Ok(entries) => log.entries = entries,
        Err(e) => panic!("{framework:?}: bad log: {e}\n{}", log.text()),
    }
    match status {
        None => panic!("{framework:?} did not end within {FRAMEWORK_TIMEOUT:?}: killed\n{}", log.text()),
        Some(status) if !status.success() => panic!("{framework:?} failed: {status}\n{}", log.text()),
        Some(_) => log,
    }
}

/// Whether `whole` holds everything `part` says: objects key by key (a
/// `null` in `part` also matches a missing key, as Mesos reads `null` as
/// unset), arrays element by element with the same length, numbers by value
/// (`2` and `2.0` are one number to JavaScript and Python).
pub fn contains(whole: &Value, part: &Value) -> bool {
    match (whole, part) {
        (Value::Object(w), Value::Object(p)) => p.iter().all(|(k, v)| w.get(k).map_or(v.is_null(), |x| contains(x, v))),
        (Value::Array(w), Value::Array(p)) => w.len() == p.len() && w.iter().zip(p).all(|(a, b)| contains(a, b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// The framework did the whole story: subscribed, was offered, accepted,
/// declined, had its tasks' updates (each acknowledged), killed, tore down
/// and ended.
pub fn check_story(framework: Client, log: &FrameworkLog) {
    let fail = |why: String| -> ! { panic!("{framework:?}: {why}\n{}", log.text()) };
    let calls: Vec<&str> = log.calls().iter().map(|c| c["type"].as_str().unwrap_or("?")).collect();
    for wanted in ["SUBSCRIBE", "ACCEPT", "DECLINE", "ACKNOWLEDGE", "KILL", "TEARDOWN"] {
        if !calls.contains(&wanted) {
            fail(format!("no {wanted} call: {calls:?}"));
        }
    }
    if calls.first() != Some(&"SUBSCRIBE") || calls.last() != Some(&"TEARDOWN") {
        fail(format!("calls must start with SUBSCRIBE and end with TEARDOWN: {calls:?}"));
    }
    let events = log.events();
    for wanted in ["SUBSCRIBED", "OFFERS", "UPDATE"] {
        if !events.iter().any(|e| e["type"] == wanted) {
            fail(format!("no {wanted} event"));
        }
    }
    for (task, state) in framework.expected_updates() {
        let seen = events
            .iter()
            .any(|e| e["update"]["status"]["task_id"]["value"] == *task && e["update"]["status"]["state"] == *state);
        if !seen {
            fail(format!("no {state} update for {task}"));
        }
    }
    // Every update that carries a uuid is acknowledged, after it came.
    for (n, entry) in log.entries.iter().enumerate() {
        let Logged::Event { event, .. } = entry else { continue };
        let Some(uuid) = event["update"]["status"]["uuid"].as_str() else { continue };
        let acked = log.entries[n..]
            .iter()
            .any(|e| matches!(e, Logged::Call(c) if c["type"] == "ACKNOWLEDGE" && c["acknowledge"]["uuid"] == uuid));
        if !acked {
            fail(format!("update {uuid} ({}) not acknowledged", event["update"]["status"]["state"]));
        }
    }
    if log.entries.last() != Some(&Logged::Done) {
        fail("the log does not end with done".into());
    }
    if log.events().iter().any(|e| e["type"] == "ERROR") {
        fail("an ERROR event".into());
    }
}

/// The entries of a session file, checked by the reader (header, order, no
/// torn line).
pub fn read_session(path: &Path) -> Vec<Entry> {
    test_support::read_session(path).1
}

/// The session file of `framework_id` in `dir` (there must be one).
pub fn session_of(dir: &Path, framework_id: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{framework_id}-"))))
        .collect();
    assert_eq!(files.len(), 1, "one session of {framework_id} in {}: {files:?}", dir.display());
    files.into_iter().next().unwrap()
}

/// A session's v1 calls (`seq`, body as JSON) and events (`seq`, record
/// bytes, record as JSON), in file order.
struct Traffic {
    calls: Vec<(u64, Value)>,
    events: Vec<(u64, Vec<u8>, Value)>,
}

fn traffic(entries: &[Entry]) -> Traffic {
    let mut calls = Vec::new();
    let mut events = Vec::new();
    for entry in entries {
        match &entry.kind {
            EntryKind::Request(r) => {
                calls.push((entry.seq, serde_json::from_slice(&r.body).unwrap_or(Value::Null)));
            }
            EntryKind::Event(e) => {
                events.push((entry.seq, e.record.clone(), serde_json::from_slice(&e.record).unwrap_or(Value::Null)))
            }
            _ => {}
        }
    }
    Traffic { calls, events }
}

/// The session holds what the framework logged:
/// - exactly its calls, in order (each recorded body holds the logged fields);
/// - its events, in order, as the first events of the stream (the exact
///   bytes where the client kept them); after them only HEARTBEATs, unless
///   the client logs every event it receives, when nothing may follow;
/// - each call after every event the framework had seen before making it;
/// - every call answered `202`, the SUBSCRIBE `200` with its stream, which
///   the master closed; the session ended complete.
pub fn check_session(framework: Client, entries: &[Entry], log: &FrameworkLog) {
    let fail =
        |why: String| -> ! { panic!("{framework:?}: the session does not match the log: {why}\n{}", log.text()) };
    let recorded = traffic(entries);
    let logged_calls = log.calls();
    let types = |calls: &mut dyn Iterator<Item = &Value>| -> Vec<String> {
        calls.map(|c| c["type"].as_str().unwrap_or("?").to_owned()).collect()
    };
    if recorded.calls.len() != logged_calls.len() {
        fail(format!(
            "calls recorded {:?}, logged {:?}",
            types(&mut recorded.calls.iter().map(|c| &c.1)),
            types(&mut logged_calls.iter().copied())
        ));
    }
    // The seq of the last logged event's match, to check causality.
    let mut last_event_seq: Option<u64> = None;
    let (mut next_call, mut next_event) = (0, 0);
    for entry in &log.entries {
        match entry {
            Logged::Call(call) => {
                let (seq, body) = &recorded.calls[next_call];
                if !contains(body, call) {
                    fail(format!("call #{next_call}: recorded {body}\nlogged {call}"));
                }
                if last_event_seq.is_some_and(|e| e > *seq) {
                    fail(format!("call #{next_call} (seq {seq}) was made after an event recorded later"));
                }
                next_call += 1;
            }
            Logged::Event { event, raw } => {
                let Some((seq, bytes, value)) = recorded.events.get(next_event) else {
                    fail(format!("event #{next_event} was logged but not recorded: {event}"));
                };
                if !contains(value, event) {
                    fail(format!("event #{next_event}: recorded {value}\nlogged {event}"));
                }
                if raw.as_ref().is_some_and(|raw| raw != bytes) {
                    fail(format!("event #{next_event}: the bytes differ from what the client received"));
                }
                last_event_seq = Some(*seq);
                next_event += 1;
            }
            Logged::Done => {}
        }
    }
    for (_, _, value) in &recorded.events[next_event..] {
        if log.complete || value["type"] != "HEARTBEAT" {
            fail(format!("a recorded event the framework did not log: {value}"));
        }
    }
    // The answers.
    for entry in entries {
        let EntryKind::Response(response) = &entry.kind else { continue };
        let ok = if response.stream { response.status == 200 } else { response.status == 202 };
        if !ok {
            fail(format!("seq {}: answered {} (stream: {})", entry.seq, response.status, response.stream));
        }
    }
    let closed =
        entries.iter().any(|e| matches!(&e.kind, EntryKind::Close(c) if c.stream.is_some() && c.by == Party::Master));
    if !closed {
        fail("the master did not close the stream".into());
    }
    if !matches!(&entries.last().map(|e| &e.kind), Some(EntryKind::End(end)) if end.complete) {
        fail("the session did not end complete".into());
    }
}

/// The proxy's session is byte for byte what the simulator served (the
/// simulator's own session of the framework): the same requests (method,
/// path, body), the same answers, the same records, in the same order.
pub fn check_same_traffic(proxy: &[Entry], sim: &[Entry]) {
    type Request = (String, String, Vec<u8>);
    let requests = |entries: &[Entry]| -> Vec<Request> {
        entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Request(r) => Some((r.method.clone(), r.path.clone(), r.body.clone())),
                _ => None,
            })
            .collect()
    };
    let statuses = |entries: &[Entry]| -> Vec<u16> {
        entries
            .iter()
            .filter_map(|e| if let EntryKind::Response(r) = &e.kind { Some(r.status) } else { None })
            .collect()
    };
    let records = |entries: &[Entry]| -> Vec<Vec<u8>> {
        entries
            .iter()
            .filter_map(|e| if let EntryKind::Event(ev) = &e.kind { Some(ev.record.clone()) } else { None })
            .collect()
    };
    let (a, b) = (requests(proxy), requests(sim));
    assert_eq!(a.len(), b.len(), "requests: the proxy recorded {}, the simulator served {}", a.len(), b.len());
    for (n, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            x == y,
            "request #{n} differs:\nproxy {} {} {}\nsim   {} {} {}",
            x.0,
            x.1,
            String::from_utf8_lossy(&x.2),
            y.0,
            y.1,
            String::from_utf8_lossy(&y.2)
        );
    }
    assert_eq!(statuses(proxy), statuses(sim), "the answers' statuses");
    let (a, b) = (records(proxy), records(sim));
    assert_eq!(a.len(), b.len(), "events: the proxy recorded {}, the simulator served {}", a.len(), b.len());
    for (n, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(
            x == y,
            "event #{n} differs:\nproxy {}\nsim   {}",
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y)
        );
    }
}

/// For way 3: a replayed run handed the framework the same events as the
/// recorded run (HEARTBEATs aside, whose number depends on pacing), in the
/// same order, and it made the same calls.
pub fn check_same_events(recorded: &FrameworkLog, replayed: &FrameworkLog) {
    let events = |log: &FrameworkLog| -> Vec<Value> {
        log.events().into_iter().filter(|e| e["type"] != "HEARTBEAT").cloned().collect()
    };
    let (a, b) = (events(recorded), events(replayed));
    assert_eq!(a.len(), b.len(), "events: recorded run {}, replayed run {}\n{}", a.len(), b.len(), replayed.text());
    for (n, (x, y)) in a.iter().zip(&b).enumerate() {
        assert!(contains(x, y) && contains(y, x), "event #{n}: recorded run {x}\nreplayed run {y}");
    }
    let calls = |log: &FrameworkLog| -> Vec<Value> { log.calls().into_iter().cloned().collect() };
    assert_eq!(calls(recorded), calls(replayed), "the calls\n{}", replayed.text());
}

/// Way 1: the framework against `mesos-replay sim` directly.
pub async fn against_the_sim(framework: Client) -> FrameworkLog {
    let scratch = Scratch::new(&format!("{framework:?}-sim"));
    tokio::task::spawn_blocking(move || framework.prepare()).await.unwrap();
    let sim = start_sim(framework, None).await;
    let log = run_framework(framework, &format!("http://{}", sim.local_addr()), &scratch.path).await;
    check_story(framework, &log);
    let id = log.framework_id().expect("a framework id");
    assert!(
        sim.with_master(|m| m.framework_removed(&id)),
        "{framework:?}: the simulator still knows {id} after TEARDOWN"
    );
    log
}

/// What way 2 recorded, for way 3 to replay.
pub struct Recorded {
    /// The framework's log of the recorded run.
    pub log: FrameworkLog,
    /// The proxy's session file.
    pub session: PathBuf,
    /// Holds the session file (and is where a replayed run's files go).
    pub scratch: Scratch,
}

/// Way 2: the framework through `mesos-proxy record` in front of the
/// simulator; the session file checked against the framework's log and
/// against what the simulator served.
pub async fn through_the_proxy(framework: Client) -> Recorded {
    let scratch = Scratch::new(&format!("{framework:?}-proxy"));
    tokio::task::spawn_blocking(move || framework.prepare()).await.unwrap();
    let sim = start_sim(framework, Some(scratch.path.join("sim"))).await;
    let proxy = Proxy::start(sim.local_addr(), scratch.path.join("proxy")).await;
    let log = run_framework(framework, &format!("http://{}", proxy.addr), &scratch.path).await;
    check_story(framework, &log);
    proxy.stop().await;
    drop(sim); // closes its session files
    let id = log.framework_id().expect("a framework id");
    let session = session_of(&scratch.path.join("proxy"), &id);
    let entries = read_session(&session);
    check_session(framework, &entries, &log);
    let served = read_session(&session_of(&scratch.path.join("sim"), &id));
    check_same_traffic(&entries, &served);
    Recorded { log, session, scratch }
}

/// Way 4: the framework against a real Mesos 1.11.0 master directly.
pub async fn against_the_real_master(framework: Client) -> FrameworkLog {
    let scratch = Scratch::new(&format!("{framework:?}-real"));
    tokio::task::spawn_blocking(move || framework.prepare()).await.unwrap();
    let master = tokio::task::spawn_blocking(real_master::RealMaster::start).await.unwrap();
    let log = run_framework(framework, &master.url(), &scratch.path).await;
    check_story(framework, &log);
    log
}

/// Way 4: the framework through `mesos-proxy record` in front of a real
/// Mesos 1.11.0 master; the session file checked against the framework's
/// log (the events byte for byte where the client keeps them).
pub async fn through_the_proxy_to_the_real_master(framework: Client) -> Recorded {
    let scratch = Scratch::new(&format!("{framework:?}-real-proxy"));
    tokio::task::spawn_blocking(move || framework.prepare()).await.unwrap();
    let master = tokio::task::spawn_blocking(real_master::RealMaster::start).await.unwrap();
    let proxy = Proxy::start(master.addr(), scratch.path.join("proxy")).await;
    let log = run_framework(framework, &format!("http://{}", proxy.addr), &scratch.path).await;
    check_story(framework, &log);
    proxy.stop().await;
    drop(master);
    let id = log.framework_id().expect("a framework id");
    let session = session_of(&scratch.path.join("proxy"), &id);
    let entries = read_session(&session);
    check_session(framework, &entries, &log);
    Recorded { log, session, scratch }
}

/// Way 4: the framework against `mesos-replay serve` of what it did
/// through the proxy in front of the real master.
pub async fn against_the_replay_of_the_real_master(framework: Client) {
    let recorded = through_the_proxy_to_the_real_master(framework).await;
    replay_recorded(framework, recorded, mesos_replay::serve::Pace::Recorded).await;
}

/// Way 3: the framework against `mesos-replay serve` of the session way 2
/// recorded, at the recorded pace.
pub async fn against_the_replay(framework: Client) {
    replay(framework, mesos_replay::serve::Pace::Recorded).await;
}

/// Way 3 with no pacing: every event the gating allows goes out at once, so
/// the client reads many records (one chunk each) in one network read.
pub async fn against_the_replay_fast(framework: Client) {
    replay(framework, mesos_replay::serve::Pace::Fast).await;
}

async fn replay(framework: Client, pace: mesos_replay::serve::Pace) {
    let recorded = through_the_proxy(framework).await;
    replay_recorded(framework, recorded, pace).await;
}

async fn replay_recorded(framework: Client, recorded: Recorded, pace: mesos_replay::serve::Pace) {
    let script = mesos_replay::serve::Script::open(&recorded.session, false)
        .unwrap_or_else(|e| panic!("{}: {e}", recorded.session.display()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = mesos_replay::serve::Options {
        pace,
        call_timeout: Duration::from_secs(10),
        linger: Duration::from_millis(500),
        ..mesos_replay::serve::Options::default()
    };
    let server = mesos_replay::serve::spawn(listener, script, options).unwrap();
    let url = format!("http://{}", server.local_addr());
    let dir = recorded.scratch.path.join("replay");
    std::fs::create_dir_all(&dir).unwrap();
    let replayed = run_framework(framework, &url, &dir).await;
    let report = tokio::time::timeout(Duration::from_secs(30), server.finish()).await.expect("the replay finishes");
    check_story(framework, &replayed);
    check_same_events(&recorded.log, &replayed);
    assert!(
        report.clean,
        "{framework:?}: the replay report is not clean:\n{}",
        String::from_utf8_lossy(&report.to_json())
    );
}
