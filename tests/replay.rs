//! Replay round trip, across the crates: a framework (a real HTTP client,
//! driven from the test) runs against the simulated master through the
//! recording proxy; `mesos-replay serve` then plays that session to the same
//! framework logic, again through a recording proxy; the replay's report is
//! clean and `diff` finds the two recordings equivalent.

use test_support::framework;

use std::path::{Path, PathBuf};
use std::time::Duration;

use framework::{Behaviour, Run};
use mesos_replay::compare::Rebind;
use mesos_replay::diff::{Conversation, diff};
use mesos_replay::serve::{self, Options, Pace, Report, Script};
use mesos_replay::sim::{self, Clock, Config};

use mesos_record::file::{Compression, Storage};
use test_support::temp_dir;

/// Runs the framework through a recording proxy in front of `master`; returns
/// the one session file the proxy wrote.
async fn through_proxy(master: String, out: &Path, behaviour: Behaviour) -> (PathBuf, Run) {
    let (mut sessions, run) = through_proxy_stored(master, out, behaviour, Storage::default()).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    (sessions.remove(0), run)
}

/// [`through_proxy`] with the session stored as `storage` says: every file
/// the proxy wrote (the parts of a rotated session), by name.
async fn through_proxy_stored(
    master: String,
    out: &Path,
    behaviour: Behaviour,
    storage: Storage,
) -> (Vec<PathBuf>, Run) {
    let config = mesos_proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        master,
        out: out.to_owned(),
        keep_secrets: false,
        limits: Default::default(),
    };
    let recorder = mesos_proxy::Recorder::bind_stored(config, &Default::default(), storage).await.unwrap();
    let addr = recorder.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let proxy = tokio::spawn(recorder.run(async {
        let _ = stopped.await;
    }));
    let run = framework::run(addr, behaviour).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = stop.send(());
    let _ = proxy.await;
    let mut sessions: Vec<PathBuf> = std::fs::read_dir(out).unwrap().map(|e| e.unwrap().path()).collect();
    sessions.sort();
    (sessions, run)
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
    let outcome = diff(&read(a), &read(b), Rebind::FrameworkIds);
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

/// A session recorded compressed and cut into small parts reads as one
/// wherever it is opened: `inspect` and `diff` from its first part, and
/// `serve` from its last replays it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_compressed_recording_inspects_diffs_and_replays_as_one_session() {
    let dir = temp_dir("rotated");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = sim::spawn(listener, Config::default(), Clock::Real).unwrap();
    let storage = Storage { rotate_size: Some(200), compress: Some(Compression::Zstd), ..Storage::default() };
    let master = format!("http://{}", sim.local_addr());
    let (parts, recorded) = through_proxy_stored(master, &dir.join("rotated"), Behaviour::default(), storage).await;
    // Cut after each batch over the size: a quick conversation is a few batches.
    assert!(parts.len() >= 2, "cut into parts: {parts:?}");
    assert!(parts.iter().all(|p| p.to_string_lossy().ends_with(".session.jsonl.zst")), "{parts:?}");
    drop(sim);

    // Any part finds the whole chain: the first (on through the files
    // beside it) for inspect and diff, the last (back) for serve.
    let first = &parts[0];
    let files = mesos_replay::messages::SessionFiles::open(first).unwrap();
    let order = files.paths.clone();
    let mut chain = order.clone();
    chain.sort();
    assert_eq!(chain, parts);
    let mut timeline = Vec::new();
    let summary = mesos_replay::inspect::inspect(files, &mut timeline, mesos_replay::inspect::Style::Json).unwrap();
    assert!(summary.torn.is_none());
    // As many entries as the parts hold, one `end` among them, at the end.
    // (In the chain's order: parts cut in the same millisecond are named
    // `-2`, `-3`, which do not sort after the first.)
    let mut reader = mesos_codec::session::Reader::new();
    for part in &order {
        reader.push(&std::fs::read(part).unwrap());
    }
    let mut entries = 0;
    while let Some(item) = reader.next_item().unwrap() {
        entries += u64::from(matches!(item, mesos_codec::session::Item::Entry(_)));
    }
    assert_eq!(summary.entries, entries);
    assert_eq!(reader.parts(), parts.len() as u64);
    let text = String::from_utf8(timeline).unwrap();
    assert_eq!(text.matches(r#""kind":"end""#).count(), 1, "{text}");

    // `serve` plays the chain, opened from its last part.
    let script = Script::open(parts.last().unwrap(), false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = Options {
        pace: Pace::Fast,
        call_timeout: Duration::from_secs(3),
        linger: Duration::from_millis(300),
        ..Options::default()
    };
    let replay = serve::spawn(listener, script, options).unwrap();
    let (second, replayed) =
        through_proxy(format!("http://{}", replay.local_addr()), &dir.join("second"), Behaviour::default()).await;
    let report = replay.finish().await;
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(replayed.calls, recorded.calls);
    // `diff` reads the chain from its first part.
    let rotated = Conversation::read(mesos_replay::messages::SessionFiles::open(first).unwrap()).unwrap();
    let outcome =
        diff(&rotated, &Conversation::read(std::fs::File::open(&second).unwrap()).unwrap(), Rebind::FrameworkIds);
    let lines: Vec<String> = outcome.differences.iter().map(ToString::to_string).collect();
    assert!(lines.is_empty(), "the replay's recording differs from the rotated one:\n{}", lines.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- a real master's traffic, recorded and replayed byte for byte ----

use crate::interop::Proxy;
use crate::support::real_master;
use crate::support::wire;

/// A framework that sends `Connection: close` with its SUBSCRIBE keeps its
/// stream through the proxy, in front of a real Mesos 1.11.0 master. hyper
/// shuts the proxy's connection to the master down once it has read the
/// answer it expects there, and the master ends a stream as soon as its
/// client's side is shut down: before, such a framework got the head and
/// nothing more (the real master's stream ended before its second event).
/// And the stream's chunks come as the master wrote them: their size lines
/// in lower-case hex (hyper, framing them again, wrote upper case).
#[test]
fn a_subscribe_with_connection_close_keeps_its_stream_through_the_proxy() {
    use mesos_codec::session::EntryKind;
    use wire::{Conn, Stream};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let master = real_master::RealMaster::start();
    let dir = temp_dir("real-connection-close");
    let out = dir.join("proxy");
    let recorder = runtime.block_on(Proxy::start(master.addr(), out.clone()));
    let proxy = recorder.addr;

    let subscribe = br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"close","roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}]}}}"#;
    let headers = [("Content-Type", "application/json"), ("Accept", "application/json"), ("Connection", "close")];
    let mut framework = Stream::open(proxy, "/api/v1/scheduler", &headers, subscribe);
    assert_eq!(framework.head.status, 200);
    let stream_id = framework.head.header("mesos-stream-id").unwrap().to_owned();
    let subscribed = framework.record().expect("SUBSCRIBED");
    let subscribed: serde_json::Value = serde_json::from_slice(&subscribed).unwrap();
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    let framework_id = subscribed["subscribed"]["framework_id"].clone();
    // The master's offers of its two agents come after SUBSCRIBED.
    let mut got = vec![serde_json::to_vec(&subscribed).unwrap()];
    got.push(framework.until(Duration::from_secs(10), |r| r.starts_with(br#"{"type":"OFFERS""#)));
    let teardown = serde_json::json!({"framework_id": framework_id, "type": "TEARDOWN"});
    let sid = [("Content-Type", "application/json"), ("Mesos-Stream-Id", stream_id.as_str())];
    let torn = Conn::open(proxy).call("POST", "/api/v1/scheduler", &sid, teardown.to_string().as_bytes());
    assert_eq!(torn.head.status, 202, "{}", torn.text());
    while framework.record().is_some() {}
    assert!(framework.ended, "the stream ends with its last chunk after TEARDOWN");
    // The master's own size lines, on a stream of its own.
    let mut direct = Stream::open(master.addr(), "/api/v1/scheduler", &headers, subscribe);
    direct.record().expect("SUBSCRIBED");
    let lower = |line: &String| *line == format!("{:x}", usize::from_str_radix(line, 16).unwrap());
    let letter = |line: &String| line.bytes().any(|b| b.is_ascii_alphabetic());
    assert!(direct.size_lines.iter().all(lower) && direct.size_lines.iter().any(letter), "{:?}", direct.size_lines);
    let proxied = &framework.size_lines[..framework.size_lines.len() - 1];
    assert!(proxied.iter().all(lower) && proxied.iter().any(letter), "as the master writes them: {proxied:?}");
    drop(direct);
    drop(framework);
    std::thread::sleep(Duration::from_millis(200));
    runtime.block_on(recorder.stop());
    drop(master);

    let sessions: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let (_, entries) = test_support::read_session(&sessions[0]);
    let events: Vec<&str> = entries
        .iter()
        .filter_map(|e| {
            if let EntryKind::Event(ev) = &e.kind { Some(ev.summary.name.as_deref().unwrap_or("?")) } else { None }
        })
        .collect();
    assert_eq!(events.first(), Some(&"SUBSCRIBED"), "{events:?}");
    assert!(events.contains(&"OFFERS"), "{events:?}");
    let closed = entries.iter().find_map(|e| match &e.kind {
        EntryKind::Close(close) if close.stream.is_some() => Some(close),
        _ => None,
    });
    let closed = closed.expect("the stream's close is recorded");
    assert_eq!(closed.by.as_str(), "master", "the master ended the stream: {closed:?}");
    let EntryKind::End(end) = &entries.last().unwrap().kind else { panic!("{:?}", entries.last()) };
    assert!(end.complete);
}

/// Through the proxy in front of a real Mesos 1.11.0 master, an operator
/// asks `GET /version` on a connection of its own (as pymesos does before it
/// subscribes) and then subscribes to the operator API's event stream while
/// a framework launches a task. The session keeps the `/version` exchange
/// and every record of the stream; `mesos-replay serve` of it answers
/// `/version` as the master did and plays the stream back byte for byte, in
/// the master's chunks.
#[test]
fn a_real_masters_version_and_operator_stream_replay_as_recorded() {
    use mesos_codec::session::EntryKind;
    use wire::{Conn, Stream};
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let master = real_master::RealMaster::start();
    let dir = temp_dir("real-operator");
    let out = dir.join("proxy");
    let recorder = runtime.block_on(Proxy::start(master.addr(), out.clone()));
    let proxy = recorder.addr;

    let version = Conn::open(proxy).call("GET", "/version", &[("Accept", "*/*")], b"");
    assert_eq!(version.head.status, 200);
    let direct = Conn::open(master.addr()).call("GET", "/version", &[("Accept", "*/*")], b"");
    assert_eq!(version.body, direct.body, "the proxy forwards /version as the master answers it");

    let subscribe = br#"{"type":"SUBSCRIBE"}"#;
    let headers = [("Content-Type", "application/json"), ("Accept", "application/json")];
    let mut operator = Stream::open(proxy, "/api/v1", &headers, subscribe);
    assert_eq!(operator.head.status, 200);
    // A framework, straight to the master, launches a task: the operator
    // stream tells of it.
    let framework = br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"op","roles":["*"],"capabilities":[{"type":"MULTI_ROLE"}]}}}"#;
    let mut scheduler = Stream::open(master.addr(), "/api/v1/scheduler", &headers, framework);
    let stream_id = scheduler.head.header("mesos-stream-id").unwrap().to_owned();
    let offers = scheduler.until(Duration::from_secs(10), |r| r.starts_with(br#"{"type":"OFFERS""#));
    let offers: serde_json::Value = serde_json::from_slice(&offers).unwrap();
    let offer = &offers["offers"]["offers"][0];
    let accept = serde_json::json!({
        "framework_id": offer["framework_id"], "type": "ACCEPT",
        "accept": {"offer_ids": [offer["id"]], "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": "t", "task_id": {"value": "t"}, "agent_id": offer["agent_id"],
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}],
            "command": {"value": "sleep 100"}}]}}]}
    });
    let sid = [("Content-Type", "application/json"), ("Mesos-Stream-Id", stream_id.as_str())];
    let accepted = Conn::open(master.addr()).call("POST", "/api/v1/scheduler", &sid, accept.to_string().as_bytes());
    assert_eq!(accepted.head.status, 202, "{}", accepted.text());
    let mut live = Vec::new();
    while !live.last().is_some_and(|r: &Vec<u8>| r.starts_with(br#"{"type":"TASK_UPDATED""#)) {
        live.push(operator.until(Duration::from_secs(10), |_| true));
    }
    let live_chunks = operator.size_lines.clone();
    let live_head = operator.head.clone();
    drop(operator);
    std::thread::sleep(Duration::from_millis(200));
    runtime.block_on(recorder.stop());
    drop(scheduler);
    drop(master);

    let sessions: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let (_, entries) = test_support::read_session(&sessions[0]);
    // The `/version` exchange first, on a connection of its own.
    let EntryKind::Request(request) = &entries[0].kind else { panic!("{:?}", entries[0]) };
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/version"));
    let EntryKind::Response(response) = &entries[1].kind else { panic!("{:?}", entries[1]) };
    assert_eq!((response.status, &response.body), (200, &version.body));
    assert_ne!(entries[0].conn, entries[2].conn, "/version came on a connection of its own");
    let recorded: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|e| if let EntryKind::Event(ev) = &e.kind { Some(ev.record.clone()) } else { None })
        .collect();
    assert_eq!(recorded[..live.len()], live[..], "the session holds the records as the operator got them");

    // Replayed.
    let script = Script::open(&sessions[0], false).unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let options = Options { pace: Pace::Fast, linger: Duration::from_millis(300), ..Options::default() };
    let replay = runtime.block_on(async { serve::spawn(listener, script, options) }).unwrap();
    let addr = replay.local_addr();
    let again = Conn::open(addr).call("GET", "/version", &[("Accept", "*/*")], b"");
    assert_eq!((again.head.status, &again.body), (200, &version.body), "/version answered as recorded");
    let polled = Conn::open(addr).call("GET", "/version", &[("Accept", "*/*")], b"");
    assert_eq!((polled.head.status, &polled.body), (200, &version.body), "and again when asked again");
    let mut operator = Stream::open(addr, "/api/v1", &headers, subscribe);
    assert_eq!(operator.head.status, 200);
    let head = |head: &wire::Head| String::from_utf8_lossy(&head.raw).into_owned();
    assert_eq!(head(&operator.head), head(&live_head), "the head byte for byte (its names' case and order too)");
    let replayed: Vec<Vec<u8>> = (0..live.len()).map(|_| operator.record().unwrap()).collect();
    assert_eq!(replayed, live, "the operator stream replays byte for byte");
    assert_eq!(operator.size_lines, live_chunks[..operator.size_lines.len()], "in the master's chunks");
    drop(operator);
    let report = runtime.block_on(replay.finish());
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
}
