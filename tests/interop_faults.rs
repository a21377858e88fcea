//! Faults (issue 20, `docs/faults.md`) against a real framework library:
//! the avmesos (PyPI) framework of the interop suite
//! (`interop/python/framework.py`, see `tests/interop/mod.rs`) run against
//! `mesos-replay sim --fault ...`, and what the library visibly does.

mod interop;

use std::collections::BTreeMap;

use interop::{Client, FrameworkLog, Logged, Scratch};
use mesos_replay::sim::{self, faults::Fault};

async fn sim_with(faults: &[&str]) -> sim::SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let faults = faults.iter().map(|f| Fault::parse(f).unwrap()).collect();
    let config = sim::Config { heartbeat: interop::HEARTBEAT, faults, ..sim::Config::default() };
    sim::spawn(listener, config, sim::Clock::Real).unwrap()
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
    tokio::task::spawn_blocking(|| Client::Avmesos.prepare()).await.unwrap();
    let scratch = Scratch::new("faults-duplicate-update");
    let sim = sim_with(&["duplicate-update"]).await;
    let log = interop::run_framework(Client::Avmesos, &format!("http://{}", sim.local_addr()), &scratch.path).await;
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
/// bug of pymesos #61 (`docs/clients.md`), pinned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_waits_through_a_partition() {
    tokio::task::spawn_blocking(|| Client::Avmesos.prepare()).await.unwrap();
    let scratch = Scratch::new("faults-partition");
    let sim = sim_with(&["partition:at=1,for=8"]).await;
    let log = interop::run_framework(Client::Avmesos, &format!("http://{}", sim.local_addr()), &scratch.path).await;
    let done = sim.now();
    assert!(log.entries.contains(&Logged::Done), "the framework finishes\n{}", log.text());
    assert!(done >= std::time::Duration::from_secs(9), "only after the partition ended: {done:?}\n{}", log.text());
    let subscribes = log.calls().iter().filter(|c| c["type"] == "SUBSCRIBE").count();
    assert_eq!(subscribes, 1, "it never re-subscribed\n{}", log.text());
    interop::check_story(Client::Avmesos, &log);
    drop(sim);
}

/// `rechunk` against mesos-framework (npm): it parses each HTTP chunk of
/// the stream as one record (`docs/clients.md`, N3), so the first record
/// split across chunks, SUBSCRIBED, is JSON cut short: its scheduler emits
/// `error` ("Couldn't parse as JSON") and the framework stops with exit
/// status 1, before it saw a single event. The library's bug, pinned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_breaks_on_a_rechunked_record() {
    let modules = tokio::task::spawn_blocking(interop::install::node_modules).await.unwrap();
    let scratch = Scratch::new("faults-node-rechunk");
    let sim = sim_with(&["rechunk"]).await;
    let master = format!("http://{}", sim.local_addr());
    let dir = scratch.path.clone();
    let (status, log, stderr) = tokio::task::spawn_blocking(move || {
        let log_file = dir.join("log.jsonl");
        let mut child = std::process::Command::new(interop::install::node())
            .arg(interop::install::root().join("interop/node/framework.js"))
            .arg(&master)
            .arg(&log_file)
            .current_dir(&dir)
            .env("NODE_PATH", modules)
            .env("INTEROP_TIMEOUT", "60")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + interop::FRAMEWORK_TIMEOUT;
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
        (status, log, std::fs::read_to_string(dir.join("stderr")).unwrap_or_default())
    })
    .await
    .unwrap();
    let status = status.expect("it stops by itself");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: Couldn't parse as JSON: {\"type\":\"SUBSCRIBED\""), "{stderr}");
    let entries: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 1, "the SUBSCRIBE call alone, no event: {log}");
    assert_eq!(entries[0]["call"]["type"], "SUBSCRIBE", "{log}");
    drop(sim);
}
