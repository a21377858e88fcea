//! `mesos-replay serve` end to end: sessions recorded by the simulated
//! master (`sim --record`) while a real HTTP framework ran against it, then
//! played back to the same framework logic, well-behaved and not.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mesos_replay::serve::{self, Options, Pace, Report, Script};
use mesos_replay::sim::{self, Clock, Config};
use test_support::framework::{self, Behaviour, Run};

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

use test_support::temp_dir;

/// Runs the framework against the simulated master and returns the session
/// the simulator recorded, and what the framework saw.
fn record(name: &str, behaviour: Behaviour) -> (PathBuf, Run) {
    record_on(name, behaviour, "127.0.0.1:0".parse().unwrap())
}

fn record_on(name: &str, behaviour: Behaviour, addr: SocketAddr) -> (PathBuf, Run) {
    record_seeded(name, behaviour, addr, 0)
}

/// [`record_on`] a sim started with `seed` (its master id and the ids made
/// from it, the status uuids).
fn record_seeded(name: &str, behaviour: Behaviour, addr: SocketAddr, seed: u64) -> (PathBuf, Run) {
    let dir = temp_dir(name);
    let rt = runtime();
    let run = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let config = Config { record: Some(dir.clone()), seed, ..Config::default() };
        let sim = sim::spawn(listener, config, Clock::Real).unwrap();
        let run = framework::run(sim.local_addr(), behaviour).await;
        // Let the master's stream close land in the session, then end it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(sim);
        run
    });
    assert!(run.tore_down, "the framework did not finish against the simulator: {:?}", run.calls);
    let sessions: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    (sessions[0].clone(), run)
}

pub(crate) fn fast() -> Options {
    Options {
        pace: Pace::Fast,
        call_timeout: Duration::from_secs(2),
        linger: Duration::from_millis(300),
        ..Options::default()
    }
}

/// Replays `session` to the framework.
fn replay(session: &Path, behaviour: Behaviour, options: Options) -> (Run, Report) {
    let rt = runtime();
    rt.block_on(async {
        let script = Script::open(session, false).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = serve::spawn(listener, script, options).unwrap();
        let addr = handle.local_addr();
        let run = framework::run(addr, Behaviour { deadline: Some(Duration::from_secs(10)), ..behaviour }).await;
        (run, handle.finish().await)
    })
}

fn types(run: &Run) -> Vec<String> {
    run.events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_replay_to_the_same_framework_is_clean_and_shows_it_the_recorded_events() {
    let (session, recorded) = record("clean", Behaviour::default());
    let (live, report) = replay(&session, Behaviour::default(), fast());
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(live.events, recorded.events);
    assert_eq!(live.calls, recorded.calls);
    assert_eq!(report.calls_matched, report.calls_recorded);
    assert_eq!(report.events_sent, recorded.events.len() as u64);
    assert!(types(&live).contains(&"UPDATE".to_owned()));
    // Task ids chosen alike bind to themselves.
    assert!(report.bindings.iter().all(|b| b.recorded == b.live));
}

#[test]
fn random_task_ids_are_bound_and_rewritten_in_later_events() {
    let behaviour = Behaviour { random_ids: true, ..Behaviour::default() };
    let (session, recorded) = record("random", behaviour.clone());
    let (live, report) = replay(&session, behaviour, fast());
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_ne!(live.task_id, recorded.task_id);
    let task = report.bindings.iter().find(|b| b.kind == "task").expect("a task binding");
    assert_eq!((task.recorded.as_str(), task.live.as_str()), (recorded.task_id.as_str(), live.task_id.as_str()));
    // Every update the framework got names its own task.
    let updates: Vec<_> = live.events.iter().filter(|e| e["type"] == "UPDATE").collect();
    assert!(!updates.is_empty());
    for update in updates {
        assert_eq!(update["update"]["status"]["task_id"]["value"], live.task_id.as_str(), "{update}");
    }
    assert_eq!(live.calls, recorded.calls);
}

#[test]
fn ten_replays_give_byte_identical_streams_and_reports() {
    let (session, _) = record("determinism", Behaviour::default());
    let mut first: Option<(Vec<u8>, Vec<u8>)> = None;
    for i in 0..10 {
        let (live, report) = replay(&session, Behaviour::default(), fast());
        assert!(report.clean, "run {i}");
        let outcome = (live.stream, report.to_json());
        match &first {
            None => first = Some(outcome),
            Some(first) => {
                assert_eq!(first.0, outcome.0, "run {i}: the stream differs");
                assert_eq!(first.1, outcome.1, "run {i}: the report differs");
            }
        }
    }
}

#[test]
fn a_skipped_acknowledge_is_reported_missing_at_its_call() {
    let (session, recorded) = record("skip-ack", Behaviour::default());
    let (_, report) = replay(&session, Behaviour { skip_ack: Some(2), ..Behaviour::default() }, fast());
    assert!(!report.clean);
    // The second ACKNOWLEDGE of the recording is the recorded call that went missing.
    let acks: Vec<usize> =
        recorded.calls.iter().enumerate().filter(|(_, (kind, _))| kind == "ACKNOWLEDGE").map(|(i, _)| i + 1).collect();
    let missing: Vec<_> = report.divergences.iter().filter(|d| d.kind == "missing").collect();
    assert_eq!(missing.len(), 1, "{:#?}", report.divergences);
    assert_eq!(missing[0].call, Some(acks[1]));
    assert_eq!(missing[0].call_type, "ACKNOWLEDGE");
}

#[test]
fn different_resources_are_reported_with_their_path() {
    let (session, _) = record("resources", Behaviour::default());
    let (_, report) = replay(&session, Behaviour { cpus: Some(1.5), ..Behaviour::default() }, fast());
    let fields: Vec<_> = report.divergences.iter().filter(|d| d.kind == "fields").collect();
    assert_eq!(fields.len(), 1, "{:#?}", report.divergences);
    let d = fields[0];
    assert_eq!(d.call_type, "ACCEPT");
    assert_eq!(d.path.as_deref(), Some("$.accept.operations[0].launch.task_infos[0].resources[0].scalar.value"));
    assert_eq!(d.recorded, Some(serde_json::json!(0.5)));
    assert_eq!(d.live_value, Some(serde_json::json!(1.5)));
    assert!(!report.clean);
}

#[test]
fn an_extra_call_is_reported_unexpected() {
    let (session, recorded) = record("extra", Behaviour::default());
    let (live, report) = replay(&session, Behaviour { extra_revive: true, ..Behaviour::default() }, fast());
    let unexpected: Vec<_> = report.divergences.iter().filter(|d| d.kind == "unexpected").collect();
    assert_eq!(unexpected.len(), 1, "{:#?}", report.divergences);
    assert_eq!(unexpected[0].call_type, "REVIVE");
    // The live REVIVE was the call right after the ACCEPT.
    let accept = recorded.calls.iter().position(|(k, _)| k == "ACCEPT").unwrap();
    assert_eq!(unexpected[0].live, Some(accept as u64 + 2));
    // Lenient: the replay carried on to the end.
    assert!(live.tore_down);
}

#[test]
fn a_protobuf_subscriber_gets_the_json_recording_transcoded() {
    let (session, recorded) = record("transcode", Behaviour::default());
    let (live, report) = replay(&session, Behaviour { protobuf_events: true, ..Behaviour::default() }, fast());
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(live.events, recorded.events);
}

#[test]
fn calls_in_protobuf_match_a_json_recording() {
    let (session, recorded) = record("protobuf-calls", Behaviour::default());
    let (live, report) = replay(&session, Behaviour { protobuf_calls: true, ..Behaviour::default() }, fast());
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(live.events, recorded.events);
    assert_eq!(live.calls, recorded.calls);
}

#[test]
fn recorded_pace_keeps_the_gaps_and_a_factor_scales_them() {
    // A session whose events are 400 ms apart after the SUBSCRIBE.
    let dir = temp_dir("pace");
    let path = dir.join("pace.session.jsonl");
    let mut lines = vec![header()];
    lines.push(subscribe_request(0, 0));
    lines.push(subscribe_response(1, 0, 0));
    for i in 0..3u64 {
        lines.push(event(2 + i, (i + 1) * 400_000_000, 1, r#"{"type":"HEARTBEAT"}"#, None));
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    for (pace, low, high) in [(Pace::Recorded, 1.1, 2.5), (Pace::Factor(4.0), 0.25, 0.9)] {
        let start = std::time::Instant::now();
        let (chunks, report) = raw_subscribe(&path, Options { pace, ..fast() });
        let took = start.elapsed().as_secs_f64();
        assert_eq!(chunks.len(), 3, "{pace:?}");
        assert!(report.clean);
        assert!((low..high).contains(&took), "{pace:?}: {took} s");
    }
}

#[test]
fn chunking_recorded_reproduces_the_recorded_chunk_boundaries() {
    let dir = temp_dir("chunks");
    let path = dir.join("chunks.session.jsonl");
    let record = r#"{"type":"HEARTBEAT"}"#; // 20 bytes: "20\n" + 20 = 23 framed
    let lines = [
        header(),
        subscribe_request(0, 0),
        subscribe_response(1, 0, 0),
        event(2, 10, 1, record, Some("[5,18]")),
        event(3, 20, 1, record, None),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (chunks, _) = raw_subscribe(&path, Options { chunking: serve::Chunking::Recorded, ..fast() });
    assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [5, 18, 23]);
    let (chunks, _) = raw_subscribe(&path, fast());
    assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [23, 23]);
    assert_eq!(chunks[0], b"20\n{\"type\":\"HEARTBEAT\"}");
}

#[test]
fn every_event_of_a_long_fast_stream_is_one_whole_chunk() {
    let dir = temp_dir("one-per-chunk");
    let path = dir.join("long.session.jsonl");
    let mut lines = vec![header(), subscribe_request(0, 0), subscribe_response(1, 0, 0)];
    let update = r#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"task-1"},"state":"TASK_RUNNING","agent_id":{"value":"a-1"},"uuid":"ZGVhZGJlZWZkZWFkYmVlZg=="}}}"#;
    for i in 0..20_000u64 {
        let record = match i % 3 {
            0 => r#"{"type":"HEARTBEAT"}"#.to_owned(),
            1 => update.to_owned(),
            // An OFFERS-sized record (over 1 KiB).
            _ => update.replace("task-1", &"x".repeat(1200)),
        };
        lines.push(event(2 + i, 10 + i, 1, &record, None));
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (chunks, report) = raw_subscribe(&path, fast());
    assert_eq!(report.events_sent, 20_000);
    assert_eq!(chunks.len(), 20_000);
    for (i, chunk) in chunks.iter().enumerate() {
        let mut decoder = mesos_codec::recordio::Decoder::new();
        decoder.push(bytes::Bytes::from(chunk.clone()));
        let record = decoder.next_record().unwrap().unwrap_or_else(|| panic!("chunk {i} holds no whole record"));
        assert_eq!(record.end(), chunk.len() as u64, "chunk {i} holds more than one record");
    }
}

#[test]
fn a_second_subscription_is_served_to_a_reconnecting_framework() {
    let dir = temp_dir("resubscribe");
    let path = dir.join("two.session.jsonl");
    let lines = [
        header(),
        subscribe_request(0, 0),
        subscribe_response(1, 0, 0),
        event(2, 10, 1, r#"{"type":"HEARTBEAT"}"#, None),
        r#"{"seq":3,"t_ns":20,"conn":1,"kind":"close","stream":1,"by":"framework","reason":"connection closed"}"#
            .to_owned(),
        subscribe_request(4, 30).replace("\"conn\":1", "\"conn\":2"),
        subscribe_response(5, 30, 4).replace("\"conn\":1", "\"conn\":2").replace("s-1", "s-2"),
        event(6, 40, 5, r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f1"}}}"#, None),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let rt = runtime();
    let (first, second, report) = rt.block_on(async {
        let script = Script::open(&path, false).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = serve::spawn(listener, script, fast()).unwrap();
        let addr = handle.local_addr();
        let first = tokio::task::spawn_blocking(move || raw_stream(addr, 1)).await.unwrap();
        let second = tokio::task::spawn_blocking(move || raw_stream(addr, 1)).await.unwrap();
        (first, second, handle.finish().await)
    });
    assert!(first.0.contains("Mesos-Stream-Id: s-1") || first.0.contains("mesos-stream-id: s-1"), "{}", first.0);
    assert!(String::from_utf8_lossy(&first.1[0]).contains("HEARTBEAT"));
    assert!(second.0.to_ascii_lowercase().contains("mesos-stream-id: s-2"), "{}", second.0);
    assert!(String::from_utf8_lossy(&second.1[0]).contains("SUBSCRIBED"));
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
    assert_eq!(report.subscriptions.len(), 2);
}

// --- the binary ----------------------------------------------------------

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
}

#[test]
fn strict_ends_the_stream_at_the_first_divergence_and_exits_1() {
    let (session, _) = record("strict", Behaviour::default());
    let report_path = session.with_extension("report.json");
    let mut child = bin()
        .arg("serve")
        .arg(&session)
        .args(["--listen", "127.0.0.1:0", "--pace", "fast", "--strict", "--call-timeout", "2", "--linger", "0.3"])
        .arg("--report")
        .arg(&report_path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, stderr) = listening_addr(&mut child);
    let behaviour = Behaviour { extra_revive: true, deadline: Some(Duration::from_secs(10)), ..Behaviour::default() };
    let live = runtime().block_on(framework::run(addr, behaviour));
    let status = child.wait().unwrap();
    let stderr = stderr.recv().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("REVIVE"), "{stderr}");
    // The stream ended at the divergence: no teardown happened.
    assert!(!live.tore_down);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["clean"], false);
    assert_eq!(report["divergences"][0]["kind"], "unexpected");
}

#[test]
fn the_binary_exits_0_on_a_clean_replay_and_writes_the_report() {
    let (session, _) = record("binary", Behaviour::default());
    let report_path = session.with_extension("report.json");
    let mut child = bin()
        .arg("serve")
        .arg(&session)
        .args(["--listen", "127.0.0.1:0", "--pace", "fast", "--linger", "0.3", "--report"])
        .arg(&report_path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, stderr) = listening_addr(&mut child);
    let live = runtime().block_on(framework::run(addr, Behaviour::default()));
    assert!(live.tore_down);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", stderr.recv().unwrap());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["clean"], true);
}

#[test]
fn bad_sessions_are_refused_naming_the_line() {
    let dir = temp_dir("bad");
    let good = [header(), subscribe_request(0, 0), subscribe_response(1, 0, 0)].join("\n") + "\n";
    let cases: [(&str, String, &str); 5] = [
        ("torn", format!("{good}{{\"seq\":2,\"t_ns\""), "line 4: torn last line"),
        ("version", good.replace("\"version\":1", "\"version\":7"), "line 1: unknown session format version 7"),
        ("order", good.replace("\"seq\":1", "\"seq\":5"), "line 3: entries out of order: seq 5, expected 1"),
        ("garbage", format!("{good}not json at all\n"), "line 4: not JSON"),
        ("empty", String::new(), "empty file"),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(format!("{name}.session.jsonl"));
        std::fs::write(&path, text).unwrap();
        let output = bin().arg("serve").arg(&path).args(["--listen", "127.0.0.1:0"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

#[test]
fn diff_finds_two_recordings_with_random_ids_equivalent_and_names_a_real_difference() {
    let behaviour = Behaviour { random_ids: true, ..Behaviour::default() };
    // Two runs of one master (same address, same seed): only the framework's
    // random task ids and the times differ.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (a, _) = record_on("diff-a", behaviour.clone(), port);
    let (b, _) = record_on("diff-b", behaviour, port);
    let output = bin().arg("diff").arg(&a).arg(&b).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let (c, _) = record_on("diff-c", Behaviour { cpus: Some(1.0), ..Behaviour::default() }, port);
    let output = bin().arg("diff").arg(&a).arg(&c).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("ACCEPT")
            && stdout.contains("$.accept.operations[0].launch.task_infos[0].resources[0].scalar.value: A 0.5 / B 1.0"),
        "{stdout}"
    );
}

#[test]
fn diff_rebinds_what_two_masters_chose_only_when_asked() {
    // Two masters: other ports, other seeds, so other master, framework,
    // agent and offer ids and other status uuids; the same framework.
    let (a, _) = record_seeded("rebind-a", Behaviour::default(), "127.0.0.1:0".parse().unwrap(), 1);
    let (b, _) = record_seeded("rebind-b", Behaviour::default(), "127.0.0.1:0".parse().unwrap(), 2);
    let output = bin().arg("diff").arg(&a).arg(&b).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("$.framework_id.value"), "{stdout}");
    let output = bin().arg("diff").arg("--rebind-master-ids").arg(&a).arg(&b).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // What the framework did differently is still a difference.
    let (c, _) = record_seeded(
        "rebind-c",
        Behaviour { cpus: Some(1.0), ..Behaviour::default() },
        "127.0.0.1:0".parse().unwrap(),
        3,
    );
    let output = bin().arg("diff").arg("--rebind-master-ids").arg(&a).arg(&c).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("scalar.value: A 0.5 / B 1.0"), "{stdout}");
}

// --- helpers ---------------------------------------------------------------

/// Reads the binary's first stderr line for its address; the rest of
/// stderr is collected in the background and returned by the receiver.
fn listening_addr(child: &mut std::process::Child) -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let line = lines.next().expect("a first line").unwrap();
    let addr = line.rsplit("listening on ").next().unwrap().trim().parse().unwrap_or_else(|_| panic!("{line}"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let _ = tx.send(rest.join("\n"));
    });
    (addr, rx)
}

pub(crate) fn header() -> String {
    r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"2026-11-24T00:00:00Z","tool":"test"}"#.to_owned()
}

pub(crate) fn subscribe_request(seq: u64, t_ns: u64) -> String {
    format!(
        r#"{{"seq":{seq},"t_ns":{t_ns},"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[["Content-Type","application/json"]],"body":"{{\"type\":\"SUBSCRIBE\",\"subscribe\":{{\"framework_info\":{{\"user\":\"u\",\"name\":\"n\"}}}}}}","call":"SUBSCRIBE","format":"json"}}"#
    )
}

pub(crate) fn subscribe_response(seq: u64, t_ns: u64, request: u64) -> String {
    format!(
        r#"{{"seq":{seq},"t_ns":{t_ns},"conn":1,"kind":"response","request":{request},"status":200,"headers":[["Content-Type","application/json"],["Mesos-Stream-Id","s-1"]],"stream":true,"format":"json"}}"#
    )
}

pub(crate) fn event(seq: u64, t_ns: u64, stream: u64, record: &str, chunks: Option<&str>) -> String {
    let chunks = chunks.map(|c| format!(",\"chunks\":{c}")).unwrap_or_default();
    format!(
        r#"{{"seq":{seq},"t_ns":{t_ns},"conn":1,"kind":"event","stream":{stream},"record":{}{chunks},"format":"json"}}"#,
        serde_json::Value::String(record.to_owned())
    )
}

/// SUBSCRIBEs over a raw socket and returns the HTTP chunks of the stream.
fn raw_subscribe(session: &Path, options: Options) -> (Vec<Vec<u8>>, Report) {
    let rt = runtime();
    rt.block_on(async {
        let script = Script::open(session, false).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = serve::spawn(listener, script, options).unwrap();
        let addr = handle.local_addr();
        let (_, chunks) = tokio::task::spawn_blocking(move || raw_stream(addr, usize::MAX)).await.unwrap();
        (chunks, handle.finish().await)
    })
}

/// Sends a SUBSCRIBE on a raw socket; reads the head and up to `max` chunks
/// (until the stream ends), byte for byte.
fn raw_stream(addr: SocketAddr, max: usize) -> (String, Vec<Vec<u8>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#;
    write!(
        socket,
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(socket);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let mut chunks = Vec::new();
    while chunks.len() < max {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            break;
        }
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        let mut chunk = vec![0u8; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        chunk.truncate(size);
        chunks.push(chunk);
    }
    (head, chunks)
}

#[test]
fn ctrl_c_writes_the_report_with_the_calls_not_made_missing() {
    let dir = temp_dir("interrupt");
    let path = dir.join("s.session.jsonl");
    std::fs::write(&path, [header(), subscribe_request(0, 0), subscribe_response(1, 0, 0)].join("\n") + "\n").unwrap();
    let report_path = dir.join("report.json");
    let mut child = bin()
        .arg("serve")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--report"])
        .arg(&report_path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, stderr) = listening_addr(&mut child);
    let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let stderr = stderr.recv().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["divergences"][0]["kind"], "missing");
    assert_eq!(report["divergences"][0]["type"], "SUBSCRIBE");
}

mod hostile {
    //! Damaged sessions never panic the replay's reader or `diff`: they are
    //! refused with a line, or read as far as they are whole.

    use super::*;
    use proptest::prelude::*;

    fn session() -> String {
        let lines = [
            header(),
            subscribe_request(0, 0),
            subscribe_response(1, 0, 0),
            event(2, 10, 1, r#"{"type":"HEARTBEAT"}"#, Some("[5,18]")),
            event(
                3,
                20,
                1,
                r#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}}"#,
                None,
            ),
            r#"{"seq":4,"t_ns":30,"conn":1,"kind":"close","stream":1,"by":"master","reason":"teardown"}"#.to_owned(),
        ];
        lines.join("\n") + "\n"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn flipped_and_cut_sessions_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
        ) {
            let original = session();
            let mut bytes = original.clone().into_bytes();
            for (at, byte) in flips {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            let dir = std::env::temp_dir().join(format!("mesos-replay-hostile-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{}.session.jsonl", cut));
            std::fs::write(&path, &bytes).unwrap();
            let _ = Script::open(&path, false);
            let _ = Script::open(&path, true);
            let _ = std::fs::remove_file(&path);
            if let Ok(damaged) = mesos_replay::diff::Conversation::read(&bytes[..]) {
                let whole = mesos_replay::diff::Conversation::read(original.as_bytes()).unwrap();
                for rebind in [mesos_replay::compare::Rebind::FrameworkIds, mesos_replay::compare::Rebind::MasterIds] {
                    let _ = mesos_replay::diff::diff(&whole, &damaged, rebind);
                    let _ = mesos_replay::diff::diff(&damaged, &whole, rebind);
                }
            }
        }
    }
}

/// Issue 18: limits in `serve`: a body over `--max-body` is answered 413, a
/// body whose bytes stop coming 408, half a request head is closed, one
/// connection over `--max-connections` is answered 503.
#[test]
fn limits_bound_what_a_client_holds() {
    use std::io::{Read, Write};
    let (session, _) = record("limits", Behaviour::default());
    let rt = runtime();
    let options = Options { max_body: 1024, request_timeout: Duration::from_millis(400), max_connections: 2, ..fast() };
    let server = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        serve::spawn(listener, Script::open(&session, false).unwrap(), options).unwrap()
    });
    let addr = server.local_addr();
    let raw = |request: &[u8]| {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        socket.write_all(request).unwrap();
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let big = format!("POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{}", "x".repeat(5000));
    assert!(raw(big.as_bytes()).starts_with("HTTP/1.1 413 "));
    let stalled = b"POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n{";
    assert!(raw(stalled).starts_with("HTTP/1.1 408 "));
    assert_eq!(raw(b"POST /api/v1/sch"), "");
    let _a = std::net::TcpStream::connect(addr).unwrap();
    let _b = std::net::TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let refused = raw(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 503 ") && refused.contains("--max-connections 2"), "{refused}");
    drop(server);
}
