//! `mesos-replay serve --fault` (issue 20) on the wire: a recorded session
//! played to a raw HTTP/1.1 client with a fault the recording did not
//! show; the report says which fault fired at which event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mesos_replay::serve::faults::ServeFault;
use mesos_replay::serve::{self, Options, Report, Script};

use crate::serve::{bin, event, fast, header, runtime, subscribe_request, subscribe_response};

const SUBSCRIBED: &str =
    r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f1"},"heartbeat_interval_seconds":15.0}}"#;
const HEARTBEAT: &str = r#"{"type":"HEARTBEAT"}"#;

fn update(state: &str) -> String {
    format!(
        r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"t1"}},"state":"{state}","agent_id":{{"value":"a1"}},"uuid":"ZGVhZGJlZWZkZWFkYmVlZg=="}}}}}}"#
    )
}

/// A session with one subscription and its events: SUBSCRIBED, HEARTBEAT,
/// UPDATE TASK_STARTING, UPDATE TASK_RUNNING, HEARTBEAT.
fn session(name: &str) -> PathBuf {
    let path = test_support::temp_dir(name).join("faults.session.jsonl");
    let records = [
        SUBSCRIBED.to_owned(),
        HEARTBEAT.to_owned(),
        update("TASK_STARTING"),
        update("TASK_RUNNING"),
        HEARTBEAT.to_owned(),
    ];
    let mut lines = vec![header(), subscribe_request(0, 0), subscribe_response(1, 0, 0)];
    for (i, record) in records.iter().enumerate() {
        lines.push(event(2 + i as u64, 10 + i as u64, 1, record, None));
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn with_faults(specs: &[&str]) -> Options {
    Options { faults: specs.iter().map(|s| ServeFault::parse(s).unwrap()).collect(), ..fast() }
}

/// A stream read on a raw socket: its head, its chunks, and whether it
/// ended with its last chunk (`false`: the connection closed without it).
struct Stream {
    head: String,
    chunks: Vec<Vec<u8>>,
    ended: bool,
}

impl Stream {
    /// The records, put together from the chunks.
    fn records(&self) -> Vec<String> {
        let mut decoder = mesos_codec::recordio::Decoder::new();
        decoder.push(bytes::Bytes::from(self.chunks.concat()));
        let mut out = Vec::new();
        while let Some(record) = decoder.next_record().unwrap() {
            out.push(String::from_utf8(record.data.to_vec()).unwrap());
        }
        out
    }
}

/// SUBSCRIBEs (with `framework_id` if given) on a raw socket and reads the
/// stream to its end.
fn subscribe(addr: SocketAddr, framework_id: Option<&str>) -> Stream {
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let id = framework_id.map(|id| format!(r#""framework_id":{{"value":"{id}"}},"#)).unwrap_or_default();
    let body = format!(r#"{{{id}"type":"SUBSCRIBE","subscribe":{{"framework_info":{{"user":"u","name":"n"}}}}}}"#);
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
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut chunks = Vec::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).unwrap_or(0) == 0 {
            return Stream { head, chunks, ended: false };
        }
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        let mut chunk = vec![0u8; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        if size == 0 {
            return Stream { head, chunks, ended: true };
        }
        chunk.truncate(size);
        chunks.push(chunk);
    }
}

/// Serves `path` with `options` and runs `client` against it; the report.
fn serve_to<T: Send + 'static>(
    path: &Path,
    options: Options,
    client: impl FnOnce(SocketAddr) -> T + Send + 'static,
) -> (T, Report) {
    runtime().block_on(async {
        let script = Script::open(path, false).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = serve::spawn(listener, script, options).unwrap();
        let addr = handle.local_addr();
        let out = tokio::task::spawn_blocking(move || client(addr)).await.unwrap();
        (out, handle.finish().await)
    })
}

fn fired(report: &Report) -> Vec<(String, u64, u64, String, String)> {
    report.faults.iter().map(|f| (f.fault.clone(), f.event, f.seq, f.event_type.clone(), f.what.clone())).collect()
}

/// `duplicate` sends the 1st UPDATE twice; `drop:nth=2` never sends the
/// 2nd; the report says which fault fired at which event.
#[test]
fn duplicate_and_drop_on_the_wire() {
    let path = session("serve-dup-drop");
    let (stream, report) = serve_to(&path, with_faults(&["duplicate", "drop:nth=2"]), |addr| subscribe(addr, None));
    assert!(stream.ended);
    assert_eq!(
        stream.records(),
        [
            SUBSCRIBED.to_owned(),
            HEARTBEAT.to_owned(),
            update("TASK_STARTING"),
            update("TASK_STARTING"),
            HEARTBEAT.to_owned()
        ]
    );
    assert_eq!(
        fired(&report),
        [
            ("duplicate:type=UPDATE,nth=1".into(), 3, 4, "UPDATE".into(), "sent twice".into()),
            ("drop:type=UPDATE,nth=2".into(), 4, 5, "UPDATE".into(), "not sent".into()),
        ]
    );
    assert!(report.clean, "the framework made every recorded call");
}

/// `rechunk` cuts each record into `pieces` chunks, the first cut inside
/// the size line; the records put together are the recorded ones; the
/// same seed cuts the same way, another seed another way.
#[test]
fn rechunk_on_the_wire() {
    let path = session("serve-rechunk");
    let run = |spec: &str| serve_to(&path, with_faults(&[spec]), |addr| subscribe(addr, None));
    let (a, report) = run("rechunk:pieces=4,seed=5");
    let (b, _) = run("rechunk:pieces=4,seed=5");
    let (c, _) = run("rechunk:pieces=4,seed=6");
    assert_eq!(a.records().len(), 5);
    assert_eq!(a.records()[2], update("TASK_STARTING"));
    assert_eq!(a.chunks.len(), 20, "4 chunks a record");
    for record in a.chunks.chunks(4) {
        // The size line cut: the first chunk holds digits only (and maybe
        // the newline).
        assert!(record[0].iter().all(|b| b.is_ascii_digit()), "{:?}", String::from_utf8_lossy(&record[0]));
    }
    assert_eq!(a.chunks, b.chunks, "the same seed, the same cuts");
    assert_ne!(a.chunks, c.chunks, "another seed, other cuts");
    assert_eq!(report.faults.len(), 1, "one line for the records in a row");
    assert_eq!((report.faults[0].event, report.faults[0].events), (1, 5));
    assert_eq!(report.faults[0].what, "cut into 4 chunks (at most), its size line split");
}

/// `stall:type=HEARTBEAT,nth=2,for=1`: nothing for a second before the
/// second HEARTBEAT, the connection open; then the rest.
#[test]
fn stall_on_the_wire() {
    let path = session("serve-stall");
    let (took, report) = serve_to(&path, with_faults(&["stall:type=HEARTBEAT,nth=2,for=1"]), |addr| {
        let start = Instant::now();
        let stream = subscribe(addr, None);
        assert!(stream.ended);
        assert_eq!(stream.records().len(), 5);
        start.elapsed()
    });
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert_eq!(
        fired(&report),
        [(
            "stall:type=HEARTBEAT,nth=2,for=1".into(),
            5,
            6,
            "HEARTBEAT".into(),
            "the stream silent for 1 s before it, its connection open".into()
        )]
    );
}

/// `cut`: the stream's connection closes before the 1st UPDATE, without
/// the last chunk; the framework subscribes again with its id and gets the
/// recorded SUBSCRIBED, then the UPDATE and the rest. The report says so;
/// the replay is clean.
#[test]
fn cut_then_subscribe_again_on_the_wire() {
    let path = session("serve-cut");
    let ((first, second), report) = serve_to(&path, with_faults(&["cut"]), |addr| {
        let first = subscribe(addr, None);
        let second = subscribe(addr, Some("f1"));
        (first, second)
    });
    assert!(!first.ended, "cut: no last chunk");
    assert_eq!(first.records(), [SUBSCRIBED, HEARTBEAT]);
    assert!(second.head.starts_with("HTTP/1.1 200 OK"), "{}", second.head);
    assert!(second.ended);
    assert_eq!(
        second.records(),
        [SUBSCRIBED.to_owned(), update("TASK_STARTING"), update("TASK_RUNNING"), HEARTBEAT.to_owned()]
    );
    assert_eq!(
        fired(&report),
        [(
            "cut:type=UPDATE,nth=1".into(),
            3,
            4,
            "UPDATE".into(),
            "the stream cut before it, without its last chunk; the framework subscribed again (live call 2) \
             with its id f1"
                .into()
        )]
    );
    assert!(report.clean, "{}", String::from_utf8_lossy(&report.to_json()));
}

/// The binary: the faults printed at start, each one that fired at the
/// end; a SPEC that does not parse exits 1 naming it.
#[test]
fn the_binary_prints_the_faults_and_refuses_bad_specs() {
    let out = bin()
        .args(["serve", "/nonexistent.session.jsonl", "--listen", "127.0.0.1:0", "--fault", "drop:nth=x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "mesos-replay: --fault \"drop:nth=x\": drop: `nth=x`: a whole number from 1 to 18446744073709551615"
    );
    let path = session("serve-bin");
    let report_path = path.with_extension("report.json");
    let mut child = bin()
        .arg("serve")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--pace", "fast", "--linger", "0.2", "--fault", "duplicate"])
        .arg("--report")
        .arg(&report_path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    let addr: SocketAddr = first.rsplit("listening on ").next().unwrap().trim().parse().unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "mesos-replay serve: fault duplicate:type=UPDATE,nth=1");
    let stream = subscribe(addr, None);
    assert_eq!(stream.records().len(), 6);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(child.wait().unwrap().success());
    assert!(
        rest.contains(
            &"fault: duplicate:type=UPDATE,nth=1 at event 3 (seq 4, UPDATE, subscription 1): sent twice".to_owned()
        ),
        "{rest:?}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["faults"][0]["event"], 3);
}

/// `burst:event=2,events=4` at the recorded pace: the heartbeats,
/// recorded 1000 s apart, all go at once (without the fault the client's
/// 10 s read timeout would end the test long before the second).
#[test]
fn burst_on_the_wire() {
    let path = test_support::temp_dir("serve-burst").join("burst.session.jsonl");
    let mut lines = vec![header(), subscribe_request(0, 0), subscribe_response(1, 0, 0)];
    lines.push(event(2, 0, 1, SUBSCRIBED, None));
    for i in 1..=4u64 {
        lines.push(event(2 + i, i * 1_000_000_000_000, 1, HEARTBEAT, None));
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let options = Options { pace: serve::Pace::Recorded, ..with_faults(&["burst:event=2,events=4"]) };
    let (stream, report) = serve_to(&path, options, |addr| subscribe(addr, None));
    assert!(stream.ended);
    assert_eq!(stream.records().len(), 5);
    let fired: Vec<(u64, u64)> = report.faults.iter().map(|f| (f.event, f.events)).collect();
    assert_eq!(fired, [(2, 4)]);
    assert_eq!(
        report.faults[0].to_string(),
        "burst:event=2,events=4 at event 2 (seq 3, HEARTBEAT, subscription 1) and the 3 after it: sent at once, without its recorded gap"
    );
}
