//! Replay round trip, across the crates: a framework (a real HTTP client,
//! driven from the test) runs against the simulated master through the
//! recording proxy; `mesos-replay serve` then plays that session to the same
//! framework logic, again through a recording proxy; the replay's report is
//! clean and `diff` finds the two recordings equivalent.

#[path = "../crates/mesos-replay/tests/common/framework.rs"]
mod framework;

use std::path::{Path, PathBuf};
use std::time::Duration;

use framework::{Behaviour, Run};
use mesos_replay::diff::{Conversation, diff};
use mesos_replay::serve::{self, Options, Pace, Report, Script};
use mesos_replay::sim::{self, Clock, Config};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mesos-tape-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the framework through a recording proxy in front of `master`; returns
/// the one session file the proxy wrote.
async fn through_proxy(master: String, out: &Path, behaviour: Behaviour) -> (PathBuf, Run) {
    let recorder = mesos_proxy::Recorder::bind(mesos_proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        master,
        out: out.to_owned(),
        keep_secrets: false,
    })
    .await
    .unwrap();
    let addr = recorder.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy = tokio::spawn(recorder.run(async {
        let _ = stopped.await;
    }));
    let run = framework::run(addr, behaviour).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(());
    let _ = proxy.await;
    let sessions: Vec<PathBuf> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    (sessions[0].clone(), run)
}

async fn round_trip(name: &str, behaviour: Behaviour) -> (Run, Run, Report, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(listener, Config::default(), Clock::Real).unwrap();
    let (first, recorded) =
        through_proxy(format!("http://{}", sim.local_addr()), &dir.join("first"), behaviour.clone()).await;
    drop(sim);
    assert!(recorded.tore_down, "{:?}", recorded.calls);

    let script = Script::open(&first, false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Options {
        pace: Pace::Fast,
        call_timeout: Duration::from_secs(3),
        linger: Duration::from_millis(300),
        ..Options::default()
    };
    let replay = serve::spawn(listener, script, options).unwrap();
    let (second, replayed) =
        through_proxy(format!("http://{}", replay.local_addr()), &dir.join("second"), behaviour).await;
    let report = replay.finish().await;
    (recorded, replayed, report, first, second)
}

fn assert_equivalent(a: &Path, b: &Path) {
    let read = |p: &Path| Conversation::read(std::fs::File::open(p).unwrap()).unwrap();
    let outcome = diff(&read(a), &read(b));
    let lines: Vec<String> = outcome.differences.iter().map(ToString::to_string).collect();
    assert!(lines.is_empty(), "the replay's recording differs:\n{}", lines.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_recording_replays_cleanly_and_the_replay_records_the_same_conversation() {
    let (recorded, replayed, report, first, second) = round_trip("same", Behaviour::default()).await;
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(replayed.events, recorded.events);
    assert_eq!(replayed.calls, recorded.calls);
    assert_equivalent(&first, &second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framework_with_random_task_ids_replays_cleanly_too() {
    let behaviour = Behaviour { random_ids: true, ..Behaviour::default() };
    let (recorded, replayed, report, first, second) = round_trip("random", behaviour).await;
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_ne!(recorded.task_id, replayed.task_id);
    assert_eq!(replayed.calls, recorded.calls);
    assert_equivalent(&first, &second);
}
