//! Faults (issue 20, `docs/faults.md`) against a real framework library:
//! the avmesos (PyPI) framework of the interop suite
//! (`interop/python/framework.py`, see `tests/interop/mod.rs`) run against
//! `mesos-replay sim --fault ...`, and what the library visibly does.

use crate::interop;

use std::collections::BTreeMap;

use interop::{Client, FrameworkLog, Logged, Scratch};
use mesos_replay::sim::{self, faults::Fault};

async fn sim_with(faults: &[&str]) -> sim::SimHandle {
    sim_on(faults, sim::Clock::Real).await
}

async fn sim_on(faults: &[&str], clock: sim::Clock) -> sim::SimHandle {
    sim_with_faults(faults.iter().map(|f| Fault::parse(f).unwrap()).collect(), clock).await
}

async fn sim_with_faults(faults: Vec<Fault>, clock: sim::Clock) -> sim::SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = sim::Config { heartbeat: interop::HEARTBEAT, faults, ..sim::Config::default() };
    sim::spawn(listener, config, clock).unwrap()
}

/// Each `(task, state, uuid)` of the updates with a uuid the framework was
/// handed, and how many times; and how many times it acknowledged each uuid.
/// `(task, state, uuid)` → how many times.
type Handed = BTreeMap<(String, String, String), usize>;

fn updates_and_acks(log: &FrameworkLog) -> (Handed, BTreeMap<String, usize>) {
    let mut handed = BTreeMap::new();
    let mut acked = BTreeMap::new();
    for entry in &log.entries {
        match entry {
            Logged::Event { event, .. } => {
                let status = &event["update"]["status"];
                if let Some(uuid) = status["uuid"].as_str() {
                    let task = status["task_id"]["value"].as_str().unwrap_or_default().to_owned();
                    let state = status["state"].as_str().unwrap_or_default().to_owned();
                    *handed.entry((task, state, uuid.to_owned())).or_default() += 1;
                }
            }
            Logged::Call(call) if call["type"] == "ACKNOWLEDGE" => {
                let uuid = call["acknowledge"]["uuid"].as_str().unwrap_or_default().to_owned();
                *acked.entry(uuid).or_default() += 1;
            }
            _ => {}
        }
    }
    (handed, acked)
}

/// `duplicate-update`: avmesos hands every duplicate over to the framework
/// as a new update (it does not remember uuids) and acknowledges it again
/// (it acknowledges before calling back); the framework still finishes its
/// story: both tasks' updates, the kill, the teardown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_under_duplicate_update() {
    let _turn = crate::support::one_at_a_time();
    under_duplicate_update(Client::Avmesos).await;
}

/// `duplicate-update` with mesos-framework: the same as avmesos (the
/// suite's framework acknowledges what the library hands it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_under_duplicate_update() {
    let _turn = crate::support::one_at_a_time();
    under_duplicate_update(Client::MesosFramework).await;
}

async fn under_duplicate_update(client: Client) {
    tokio::task::spawn_blocking(move || client.prepare()).await.unwrap();
    let scratch = Scratch::new(&format!("faults-duplicate-update-{client:?}"));
    let sim = sim_with(&["duplicate-update"]).await;
    let log = interop::run_framework(client, &format!("http://{}", sim.local_addr()), &scratch.path).await;
    assert!(log.entries.contains(&Logged::Done), "the framework finishes\n{}", log.text());
    let (handed, acked) = updates_and_acks(&log);
    // The updates it acknowledged before its teardown all came twice (the
    // copy of a terminal one may come after it stopped reading).
    for ((task, state, uuid), times) in &handed {
        if matches!(state.as_str(), "TASK_STARTING" | "TASK_RUNNING") {
            assert_eq!(*times, 2, "{task} {state}: handed over twice\n{}", log.text());
            assert_eq!(acked.get(uuid), Some(&2), "{task} {state}: acknowledged twice\n{}", log.text());
        }
    }
    for (task, state) in [("sleeper", "TASK_STARTING"), ("sleeper", "TASK_RUNNING"), ("napper", "TASK_RUNNING")] {
        assert!(handed.keys().any(|(t, s, _)| t == task && s == state), "{task} {state} handed over\n{}", log.text());
    }
    drop(sim);
}

/// `rechunk`: every record split across three HTTP chunks, the size line
/// cut in two: avmesos puts them together (it parses the body as one byte
/// stream, not chunk by chunk) and its framework tells its whole story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_under_rechunk() {
    let _turn = crate::support::one_at_a_time();
    tokio::task::spawn_blocking(|| Client::Avmesos.prepare()).await.unwrap();
    let scratch = Scratch::new("faults-rechunk");
    let sim = sim_with(&["rechunk:pieces=5"]).await;
    let log = interop::run_framework(Client::Avmesos, &format!("http://{}", sim.local_addr()), &scratch.path).await;
    interop::check_story(Client::Avmesos, &log);
    assert!(log.entries.contains(&Logged::Done), "the framework finishes\n{}", log.text());
    drop(sim);
}

/// `partition:at=1,for=8` with heartbeats every 0.5 s: avmesos does not
/// watch its heartbeats. It misses 16 in a row without a word, does not
/// re-subscribe, and carries on when the held events arrive at 9 s: the
/// bug of pymesos #61 (`docs/clients.md`), pinned. The sim runs on the
/// virtual clock, held at 0 until the framework subscribed, then moved on
/// at the pace of real time: the partition starts 1 s into the
/// framework's life however long Python took to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_waits_through_a_partition() {
    let _turn = crate::support::one_at_a_time();
    tokio::task::spawn_blocking(|| Client::Avmesos.prepare()).await.unwrap();
    let scratch = Scratch::new("faults-partition");
    let sim = std::sync::Arc::new(sim_on(&["partition:at=1,for=8"], sim::Clock::Manual).await);
    let url = format!("http://{}", sim.local_addr());
    let path = scratch.path.clone();
    let run = tokio::spawn(async move { interop::run_framework(Client::Avmesos, &url, &path).await });
    let ticker = tokio::spawn(hold_then_tick(sim.clone()));
    let log = run.await.unwrap();
    ticker.abort();
    let done = sim.now();
    assert!(log.entries.contains(&Logged::Done), "the framework finishes\n{}", log.text());
    assert!(done >= std::time::Duration::from_secs(9), "only after the partition ended: {done:?}\n{}", log.text());
    let subscribes = log.calls().iter().filter(|c| c["type"] == "SUBSCRIBE").count();
    assert_eq!(subscribes, 1, "it never re-subscribed\n{}", log.text());
    interop::check_story(Client::Avmesos, &log);
    drop(sim);
}

/// A library of the suite, run by hand: its exit status (`None`: still
/// running after `limit`, then killed), its log and its standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Avmesos,
    MesosFramework,
}

struct Raw {
    status: Option<std::process::ExitStatus>,
    log: Vec<serde_json::Value>,
    stderr: String,
}

impl Raw {
    fn calls(&self) -> Vec<&str> {
        self.log.iter().filter(|e| e["kind"] == "call").map(|e| e["call"]["type"].as_str().unwrap_or("?")).collect()
    }

    fn events(&self) -> Vec<&str> {
        self.log.iter().filter(|e| e["kind"] == "event").map(|e| e["event"]["type"].as_str().unwrap_or("?")).collect()
    }
}

/// Runs `lib`'s framework against a sim with `faults` (unlike
/// `interop::run_framework`, a framework that fails or hangs is a result).
async fn run_raw(lib: Lib, faults: &[&str], clock: sim::Clock, limit: std::time::Duration) -> Raw {
    run_raw_with(lib, faults.iter().map(|f| Fault::parse(f).unwrap()).collect(), clock, limit).await
}

/// [`run_raw`] with faults already parsed (a `--faults` scenario's).
async fn run_raw_with(lib: Lib, faults: Vec<Fault>, clock: sim::Clock, limit: std::time::Duration) -> Raw {
    let scratch = Scratch::new(&format!("faults-{lib:?}"));
    let sim = std::sync::Arc::new(sim_with_faults(faults, clock).await);
    let master = format!("http://{}", sim.local_addr());
    // On the virtual clock: time held at 0 until the framework subscribed,
    // then moved on at the pace of real time.
    let ticker = (clock == sim::Clock::Manual).then(|| tokio::spawn(hold_then_tick(sim.clone())));
    let raw = run_raw_at(lib, master, scratch.path.clone(), limit).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    drop(sim);
    raw
}

/// Runs `lib`'s framework against the master at `master`, in `dir`.
async fn run_raw_at(lib: Lib, master: String, dir: std::path::PathBuf, limit: std::time::Duration) -> Raw {
    let (python, modules) = match lib {
        Lib::Avmesos => (Some(tokio::task::spawn_blocking(interop::install::python).await.unwrap()), None),
        Lib::MesosFramework => (None, Some(tokio::task::spawn_blocking(interop::install::node_modules).await.unwrap())),
    };
    tokio::task::spawn_blocking(move || {
        let log_file = dir.join("log.jsonl");
        let mut command = match (python, modules) {
            (Some(python), _) => {
                let mut c = std::process::Command::new(python);
                c.arg(interop::install::root().join("interop/python/framework.py"));
                c
            }
            (_, Some(modules)) => {
                let mut c = std::process::Command::new(interop::install::node());
                c.arg(interop::install::root().join("interop/node/framework.js")).env("NODE_PATH", modules);
                c
            }
            _ => unreachable!("one of the two"),
        };
        let mut child = command
            .arg(&master)
            .arg(&log_file)
            .current_dir(&dir)
            .env("INTEROP_TIMEOUT", "120")
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let mut stderr = std::fs::read_to_string(dir.join("stdout")).unwrap_or_default();
        stderr.push_str(&std::fs::read_to_string(dir.join("stderr")).unwrap_or_default());
        let log = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        Raw { status, log, stderr }
    })
    .await
    .unwrap()
}

/// Holds the virtual clock at 0 until a framework subscribed, then moves
/// it on at the pace of real time.
async fn hold_then_tick(sim: std::sync::Arc<sim::SimHandle>) {
    while sim.with_master(|m| m.view().frameworks.is_empty()) {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        sim.advance(std::time::Duration::from_millis(10));
    }
}

/// `rechunk` against mesos-framework (npm): it parses each HTTP chunk of
/// the stream as one record (`docs/clients.md`, N3), so the first record
/// split across chunks, SUBSCRIBED, is JSON cut short: its scheduler emits
/// `error` ("Couldn't parse as JSON") and the framework stops with exit
/// status 1, before it saw a single event. The library's bug, pinned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_breaks_on_a_rechunked_record() {
    let _turn = crate::support::one_at_a_time();
    let run = run_raw(Lib::MesosFramework, &["rechunk"], sim::Clock::Real, interop::FRAMEWORK_TIMEOUT).await;
    let stderr = &run.stderr;
    assert_eq!(run.status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(stderr.contains("error: Couldn't parse as JSON: {\"type\":\"SUBSCRIBED\""), "{stderr}");
    assert_eq!(run.calls(), ["SUBSCRIBE"], "{stderr}");
    assert!(run.events().is_empty(), "not one event: {:?}", run.log);
}

/// `not-ready` (each answer; the sim on the virtual clock, held at time 0,
/// so the framework meets it however long it takes to start): neither
/// library retries on its own terms. avmesos logs the answer's text as a subscription error and tries
/// again up to its `max_reconnect` (the suite's framework sets 1: it
/// gives up at once); mesos-framework emits `error` ("Error registering
/// with mesos: <text> , code: <status>"), which the suite's framework, as
/// most would, takes as fatal. Both end with exit status 1 having made the
/// SUBSCRIBE alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_stops_both_libraries() {
    let _turn = crate::support::one_at_a_time();
    let answers = [
        ("404", "404 Not Found.", 404),
        ("no-leader", "No leader elected", 503),
        ("recovering", "Master has not finished recovery", 503),
    ];
    for (answer, text, status) in answers {
        let spec = format!("not-ready:answer={answer},for=5");
        let faults = [spec.as_str()];
        let (a, m) = tokio::join!(
            run_raw(Lib::Avmesos, &faults, sim::Clock::Manual, interop::FRAMEWORK_TIMEOUT),
            run_raw(Lib::MesosFramework, &faults, sim::Clock::Manual, interop::FRAMEWORK_TIMEOUT)
        );
        for (lib, run, says) in [
            (Lib::Avmesos, &a, format!("Mesos:Subscribe:Error: {text}")),
            (Lib::MesosFramework, &m, format!("Error registering with mesos: {text} , code: {status}")),
        ] {
            assert_eq!(run.status.and_then(|s| s.code()), Some(1), "{lib:?} {spec}: {}", run.stderr);
            assert!(run.stderr.contains(&says), "{lib:?} {spec}: {}", run.stderr);
            assert_eq!(run.calls(), ["SUBSCRIBE"], "{lib:?} {spec}");
            assert!(run.events().is_empty(), "{lib:?} {spec}: {:?}", run.log);
        }
    }
}

/// `lose-update`: the tasks' updates never come, and neither library (nor
/// the suite's frameworks) reconciles: 8 s after the launch both still
/// wait, with no UPDATE and no RECONCILE (Marathon #1047's stuck tasks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lose_update_leaves_both_libraries_waiting() {
    let _turn = crate::support::one_at_a_time();
    let limit = std::time::Duration::from_secs(10);
    let (a, m) = tokio::join!(
        run_raw(Lib::Avmesos, &["lose-update"], sim::Clock::Real, limit),
        run_raw(Lib::MesosFramework, &["lose-update"], sim::Clock::Real, limit)
    );
    for (lib, run) in [(Lib::Avmesos, &a), (Lib::MesosFramework, &m)] {
        assert!(run.status.is_none(), "{lib:?}: still running, waiting: {}", run.stderr);
        let calls = run.calls();
        assert!(calls.contains(&"ACCEPT"), "{lib:?}: {calls:?}");
        assert!(!calls.contains(&"RECONCILE"), "{lib:?}: {calls:?}");
        assert!(!run.events().contains(&"UPDATE"), "{lib:?}: {:?}", run.events());
    }
}

/// `stale-instance` (0.5 s into the framework's life): both libraries hand
/// the framework the master's `ERROR` "Framework failed over" and stop
/// serving it. avmesos logs `Mesos:Error:Framework failed over` and, its
/// `max_reconnect` used up, returns (the framework ends without tearing
/// down); mesos-framework emits `error` "Error received from Mesos master:
/// Framework failed over", which the suite's framework takes as fatal.
/// Neither subscribes again to take the framework back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_instance_ends_both_libraries() {
    let _turn = crate::support::one_at_a_time();
    let limit = interop::FRAMEWORK_TIMEOUT;
    let faults = ["stale-instance:at=0.5"];
    let (a, m) = tokio::join!(
        run_raw(Lib::Avmesos, &faults, sim::Clock::Manual, limit),
        run_raw(Lib::MesosFramework, &faults, sim::Clock::Manual, limit)
    );
    for (lib, run, says) in [
        (Lib::Avmesos, &a, "Mesos:Error:Framework failed over"),
        (Lib::MesosFramework, &m, "error: Error received from Mesos master: Framework failed over"),
    ] {
        assert_eq!(run.status.and_then(|s| s.code()), Some(1), "{lib:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{lib:?}: {}", run.stderr);
        let error = serde_json::json!({"type": "ERROR", "error": {"message": "Framework failed over"}});
        assert!(run.log.iter().any(|e| e["event"] == error), "{lib:?}: {:?}", run.log);
        assert_eq!(run.calls().iter().filter(|c| **c == "SUBSCRIBE").count(), 1, "{lib:?}: {:?}", run.calls());
    }
}

/// `rescind:timeout=0.5` with heartbeats every 0.5 s: avmesos hands an
/// event over only once the next record begins (`docs/clients.md`), so it
/// hands the framework its first OFFERS when the RESCIND of those offers
/// arrives, 0.5 s later. The framework accepts a rescinded offer: both its
/// tasks are TASK_LOST, "Task launched with invalid offers", and (it
/// launches once) it waits from then on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_accepts_a_rescinded_offer() {
    let _turn = crate::support::one_at_a_time();
    let limit = std::time::Duration::from_secs(10);
    let run = run_raw(Lib::Avmesos, &["rescind:timeout=0.5"], sim::Clock::Manual, limit).await;
    assert!(run.status.is_none(), "still waiting: {}", run.stderr);
    let lost: Vec<&serde_json::Value> =
        run.log.iter().map(|e| &e["event"]["update"]["status"]).filter(|s| s["state"] == "TASK_LOST").collect();
    assert_eq!(lost.len(), 2, "{:?}", run.log);
    for status in lost {
        assert_eq!(status["reason"], "REASON_INVALID_OFFERS");
        assert!(
            status["message"].as_str().unwrap_or_default().starts_with("Task launched with invalid offers: Offer ")
        );
    }
    assert_eq!(run.calls().iter().filter(|c| **c == "ACCEPT").count(), 1, "{:?}", run.calls());
}

/// A stream cut without its last chunk (`crash`, `leader-change`,
/// `failover-timeout`, 0.5 s into the framework's life). avmesos: "http
/// connection error: Response ended prematurely", a failed registration;
/// its `max_reconnect` used up, the framework ends without tearing down.
/// mesos-framework re-subscribes only when a stream *ends* (Node's `end`);
/// a cut connection gives `close` alone, which it only logs ("CLOSE!"): no
/// error, no re-subscription, the framework left without a stream (the
/// suite's, with nothing else to wait for, exits with status 0 mid-story).
/// Neither reaches the new leader or the master that came back. The
/// libraries' behaviour, pinned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_in_both_libraries() {
    let _turn = crate::support::one_at_a_time();
    let limit = interop::FRAMEWORK_TIMEOUT;
    for spec in ["crash:at=0.5,for=3", "leader-change:at=0.5", "failover-timeout:at=0.5"] {
        let faults = [spec];
        let (a, m) = tokio::join!(
            run_raw(Lib::Avmesos, &faults, sim::Clock::Manual, limit),
            run_raw(Lib::MesosFramework, &faults, sim::Clock::Manual, limit)
        );
        assert_eq!(a.status.and_then(|s| s.code()), Some(1), "avmesos {spec}: {}", a.stderr);
        assert!(a.stderr.contains("http connection error: Response ended prematurely"), "avmesos {spec}: {}", a.stderr);
        assert!(a.stderr.contains("the framework ended without tearing down"), "avmesos {spec}: {}", a.stderr);
        assert_eq!(m.status.and_then(|s| s.code()), Some(0), "mesos-framework {spec}: {}", m.stderr);
        assert!(m.stderr.contains("info: CLOSE!"), "mesos-framework {spec}: {}", m.stderr);
        assert!(!m.stderr.contains("Long-running connection was closed!"), "mesos-framework {spec}: {}", m.stderr);
        for (lib, run) in [(Lib::Avmesos, &a), (Lib::MesosFramework, &m)] {
            assert_eq!(
                run.calls().iter().filter(|c| **c == "SUBSCRIBE").count(),
                1,
                "{lib:?} {spec}: {:?}",
                run.calls()
            );
            assert!(!run.calls().contains(&"TEARDOWN"), "{lib:?} {spec}: {:?}", run.calls());
            assert!(!run.log.iter().any(|e| e["kind"] == "done"), "{lib:?} {spec}");
        }
    }
}

/// `burst:at=0.5` (300 events at once: offers rescinded and offered again,
/// round after round, and the tasks' reconciliation updates):
/// mesos-framework takes them all, declines what it does not need, and its
/// framework finishes its story.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_takes_a_burst() {
    let _turn = crate::support::one_at_a_time();
    let run = run_raw(Lib::MesosFramework, &["burst:at=0.5"], sim::Clock::Manual, interop::FRAMEWORK_TIMEOUT).await;
    assert_eq!(run.status.and_then(|s| s.code()), Some(0), "{}", run.stderr);
    assert!(run.log.iter().any(|e| e["kind"] == "done"), "{:?}", run.calls());
    let events = run.events();
    let burst = events.iter().filter(|e| **e == "OFFERS").count() + events.iter().filter(|e| **e == "UPDATE").count();
    assert!(burst >= 100, "the burst reached it: {events:?}");
}

/// `mesos-replay serve --fault duplicate` against both libraries: a
/// session the simulator recorded of the library's own run, played back to
/// it with its first UPDATE sent twice (the failure the healthy run did not
/// show). Each does as it does against the simulator's `duplicate-update`:
/// it hands the copy over as a new update and acknowledges it again; the
/// second ACKNOWLEDGE is not in the recording, so the report, which says
/// where the fault fired, says that too; the story still finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_with_a_duplicated_update_in_both_libraries() {
    let _turn = crate::support::one_at_a_time();
    let (a, m) = tokio::join!(replay_duplicated(Client::Avmesos), replay_duplicated(Client::MesosFramework));
    for (client, (log, report)) in [(Client::Avmesos, a), (Client::MesosFramework, m)] {
        let json = String::from_utf8_lossy(&report.to_json()).into_owned();
        assert_eq!(report.faults.len(), 1, "{client:?}: {json}");
        let fired = &report.faults[0];
        assert_eq!(
            (fired.fault.as_str(), fired.event_type.as_str(), fired.what.as_str()),
            ("duplicate:type=UPDATE,nth=1", "UPDATE", "sent twice")
        );
        let (handed, acked) = updates_and_acks(&log);
        let first =
            log.events().into_iter().find(|e| e["type"] == "UPDATE").expect("an UPDATE")["update"]["status"].clone();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let first = (text(&first["task_id"]["value"]), text(&first["state"]), text(&first["uuid"]));
        assert_eq!(handed[&first], 2, "{client:?}: the first update handed over twice\n{}", log.text());
        assert_eq!(acked.get(&first.2), Some(&2), "{client:?}: and acknowledged twice\n{}", log.text());
        assert!(
            report.divergences.iter().any(|d| d.call_type.contains("ACKNOWLEDGE")),
            "{client:?}: the second ACKNOWLEDGE is not in the recording: {json}"
        );
        assert!(log.entries.contains(&Logged::Done), "{client:?}: the framework finishes\n{}", log.text());
    }
}

/// `client`'s own run recorded by the simulator, then replayed to it with
/// `--fault duplicate`: its log and the report.
async fn replay_duplicated(client: Client) -> (FrameworkLog, mesos_replay::serve::Report) {
    use mesos_replay::serve::{self, faults::ServeFault};
    let scratch = Scratch::new(&format!("faults-serve-duplicate-{client:?}"));
    let session = recorded_session(client, &scratch).await;
    let script = serve::Script::open(&session, false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = serve::Options {
        call_timeout: std::time::Duration::from_secs(5),
        linger: std::time::Duration::from_millis(500),
        faults: vec![ServeFault::parse("duplicate").unwrap()],
        ..serve::Options::default()
    };
    let server = serve::spawn(listener, script, options).unwrap();
    let dir = scratch.path.join("replay");
    std::fs::create_dir_all(&dir).unwrap();
    let log = interop::run_framework(client, &format!("http://{}", server.local_addr()), &dir).await;
    let report = tokio::time::timeout(std::time::Duration::from_secs(30), server.finish()).await.unwrap();
    (log, report)
}

/// A session the simulator recorded of `client`'s whole story, in
/// `scratch`.
async fn recorded_session(client: Client, scratch: &Scratch) -> std::path::PathBuf {
    tokio::task::spawn_blocking(move || client.prepare()).await.unwrap();
    let sim = interop::start_sim(client, Some(scratch.path.join("sim"))).await;
    let dir = scratch.path.join("recorded");
    std::fs::create_dir_all(&dir).unwrap();
    let log = interop::run_framework(client, &format!("http://{}", sim.local_addr()), &dir).await;
    interop::check_story(client, &log);
    drop(sim); // closes its session file
    interop::session_of(&scratch.path.join("sim"), &log.framework_id().unwrap())
}

/// `lib` run by hand against `mesos-replay serve` of `session` with
/// `fault`: its run and the replay's report, once the replay is played out
/// or `settle` passed after the framework ended (then the recorded calls
/// it did not make are reported missing).
async fn replayed_with(
    lib: Lib,
    session: &std::path::Path,
    fault: &str,
    dir: std::path::PathBuf,
    settle: std::time::Duration,
) -> (Raw, mesos_replay::serve::Report) {
    use mesos_replay::serve::{self, faults::ServeFault};
    let script = serve::Script::open(session, false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = serve::Options {
        call_timeout: std::time::Duration::from_secs(3),
        linger: std::time::Duration::from_millis(500),
        faults: vec![ServeFault::parse(fault).unwrap()],
        ..serve::Options::default()
    };
    let mut server = serve::spawn(listener, script, options).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let run = run_raw_at(lib, format!("http://{}", server.local_addr()), dir, std::time::Duration::from_secs(20)).await;
    let _ = tokio::time::timeout(settle, server.played_out()).await;
    (run, server.stop())
}

/// `serve --fault rechunk` against mesos-framework, on a session of its
/// own run: it breaks on the first record split across chunks, as under
/// the simulator's `rechunk` (`docs/clients.md`, N3): "Couldn't parse as
/// JSON", exit status 1, not one event. A captured session is enough to
/// show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_breaks_on_a_rechunked_replay() {
    let _turn = crate::support::one_at_a_time();
    let scratch = Scratch::new("faults-serve-rechunk");
    let session = recorded_session(Client::MesosFramework, &scratch).await;
    let (run, report) =
        replayed_with(Lib::MesosFramework, &session, "rechunk", scratch.path.join("replay"), std::time::Duration::ZERO)
            .await;
    let stderr = &run.stderr;
    assert_eq!(run.status.and_then(|s| s.code()), Some(1), "{stderr}");
    assert!(stderr.contains("error: Couldn't parse as JSON: {\"type\":\"SUBSCRIBED\""), "{stderr}");
    assert!(run.events().is_empty(), "not one event: {:?}", run.log);
    let first = report.faults.first().expect("rechunk fired");
    assert_eq!(
        (first.fault.as_str(), first.event, first.event_type.as_str()),
        ("rechunk:event=1,pieces=3,seed=0", 1, "SUBSCRIBED")
    );
}

/// `serve --fault cut` (before the first UPDATE) against both libraries,
/// each on a session of its own run: as under the simulator's cuts,
/// avmesos sees "Response ended prematurely" and, its `max_reconnect`
/// used up, ends without subscribing again (exit status 1); mesos-framework
/// only logs the close ("CLOSE!") and does not subscribe again either. The
/// report's line for the cut says the framework did not come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_cut_in_both_libraries() {
    let _turn = crate::support::one_at_a_time();
    let cut = |lib: Lib, client: Client| async move {
        let scratch = Scratch::new(&format!("faults-serve-cut-{lib:?}"));
        let session = recorded_session(client, &scratch).await;
        let settle = std::time::Duration::from_secs(5);
        replayed_with(lib, &session, "cut", scratch.path.join("replay"), settle).await
    };
    let (a, m) = tokio::join!(cut(Lib::Avmesos, Client::Avmesos), cut(Lib::MesosFramework, Client::MesosFramework));
    for (lib, (run, report)) in [(Lib::Avmesos, a), (Lib::MesosFramework, m)] {
        let stderr = &run.stderr;
        match lib {
            Lib::Avmesos => {
                assert_eq!(run.status.and_then(|s| s.code()), Some(1), "{stderr}");
                assert!(stderr.contains("http connection error: Response ended prematurely"), "{stderr}");
            }
            Lib::MesosFramework => {
                assert!(stderr.contains("info: CLOSE!"), "{stderr}");
            }
        }
        assert_eq!(run.calls().iter().filter(|c| **c == "SUBSCRIBE").count(), 1, "{lib:?}: {:?}", run.calls());
        assert!(!run.events().contains(&"UPDATE"), "{lib:?}: the stream was cut before the first UPDATE");
        let cut = report.faults.first().expect("cut fired");
        assert_eq!(cut.fault, "cut:type=UPDATE,nth=1");
        assert!(cut.what.ends_with("the framework did not subscribe again within 3.0 s"), "{lib:?}: {}", cut.what);
    }
}

/// A `--faults` scenario against both libraries, on the real clock: a
/// fault started by an event (`after 1st TASK_RUNNING`) meets each
/// framework at the same point of its story however long its interpreter
/// took to start, no virtual clock needed. Each is handed its first
/// TASK_RUNNING, then the ERROR "Framework failed over", and ends as under
/// `stale-instance` at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_meets_both_libraries_mid_story() {
    let _turn = crate::support::one_at_a_time();
    let limit = interop::FRAMEWORK_TIMEOUT;
    let faults = sim::faults::scenario::parse("after 1st TASK_RUNNING: stale-instance\n").unwrap();
    let (a, m) = tokio::join!(
        run_raw_with(Lib::Avmesos, faults.clone(), sim::Clock::Real, limit),
        run_raw_with(Lib::MesosFramework, faults, sim::Clock::Real, limit)
    );
    for (lib, run) in [(Lib::Avmesos, &a), (Lib::MesosFramework, &m)] {
        assert_eq!(run.status.and_then(|s| s.code()), Some(1), "{lib:?}: {}", run.stderr);
        let events: Vec<&serde_json::Value> =
            run.log.iter().filter(|e| e["kind"] == "event").map(|e| &e["event"]).collect();
        let running = events.iter().position(|e| e["update"]["status"]["state"] == "TASK_RUNNING");
        let error = events.iter().position(|e| e["error"]["message"] == "Framework failed over");
        assert!(running.is_some() && error.is_some(), "{lib:?}: {events:?}");
        assert!(running < error, "{lib:?}: TASK_RUNNING, then the ERROR: {events:?}");
        let updates = events.iter().filter(|e| e["type"] == "UPDATE").count();
        assert!(updates <= 3, "{lib:?}: failed over right after its first TASK_RUNNING: {events:?}");
    }
}
