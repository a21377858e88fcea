//! `mesos-proxy import` against live recording: the seed walkthrough runs
//! with the real `curl` through the recording proxy in front of the
//! simulated master while the real `tcpdump` (Debian package `tcpdump`)
//! captures loopback; the capture, imported, gives the same session as the
//! proxy wrote.
//!
//! Compared field by field: the same entry kinds in the same order (see
//! `assert_equivalent` for entries of different connections at the same
//! moment); for
//! requests the method, path, headers (names as sent, wire order), body and
//! summaries (`call`, `format`, `framework_id`); for responses the request
//! they answer, status, `stream`, `format` and body, and their headers as a
//! set of (lowercase name, value); for events the stream, the record byte
//! for byte, `chunks` and summaries; for closes whether it is a stream's or
//! a connection's, and which stream. Not compared, and why:
//!
//! - `t_ns` and `started_at`: the proxy stamps entries with its own clock
//!   as it records them, the importer with the capture's packet times;
//! - `conn`: both number connections per session in order of first entry,
//!   but which entry comes first can differ by microseconds between them;
//! - the order and case of response header names: the proxy records the
//!   master's header lines as the master sent them, the capture on the
//!   proxy's port sees what the proxy sent on (hyper writes the same names
//!   and values, grouped by name);
//! - a close's `by` and `reason`: the proxy knows which side its hyper
//!   connection saw go first; in the capture that is whoever sent the
//!   first FIN.
//!
//! With `MESOS_TAPE_CAPTURE_OUT=FILE` the capture is kept there (what
//! `cargo xtask captures` builds the fixture captures from).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesos_codec::recordio;
use mesos_codec::session::{Entry, EntryKind, Source};
use serde_json::Value;

fn walkthrough(name: &str) -> Value {
    serde_json::from_slice(&test_support::seed(name)).unwrap()
}

fn events(stream_file: &Path) -> Vec<Value> {
    let mut decoder = recordio::Decoder::new();
    decoder.push(Bytes::from(std::fs::read(stream_file).unwrap_or_default()));
    let mut out = Vec::new();
    while let Ok(Some(record)) = decoder.next_record() {
        out.push(serde_json::from_slice(&record.data).unwrap());
    }
    out
}

fn wait_for(stream_file: &Path, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(event) = events(stream_file).into_iter().find(|e| pred(e)) {
            return event;
        }
        assert!(Instant::now() < deadline, "no {what} event within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn curl() -> Command {
    let mut command = Command::new("curl");
    command.args(["-sS", "--no-progress-meter"]);
    command
}

fn call(proxy: &str, stream_id: &str, body: &Value) -> String {
    let out = curl()
        .args(["-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json", "-H", &format!("Mesos-Stream-Id: {stream_id}")])
        .args(["-d", &body.to_string(), &format!("http://{proxy}/api/v1/scheduler")])
        .output()
        .expect("curl must be installed (Debian: apt-get install curl)");
    String::from_utf8(out.stdout).unwrap()
}

/// Kills what is left on the way out (a failed assertion), removes the directory.
struct Cleanup(PathBuf, Vec<Child>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for child in &mut self.1 {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `tcpdump` and the lines it says on stderr.
struct Dump {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

/// Starts `tcpdump` on `lo` for `ports`, writing `file`; returns once it
/// says it is listening.
///
/// `-B 16384`: 16 MiB for the kernel's ring rather than libpcap's 2 MiB.
/// In immediate mode libpcap divides it into frames of `lo`'s MTU (64 KiB),
/// so 2 MiB held 31 packets: a CI run's capture, tcpdump descheduled for a
/// moment on two busy cores, said "4 packets dropped by kernel" and lacked
/// an answer. 16 MiB holds 250, more than the whole run's 180.
fn tcpdump(file: &Path, ports: &[u16]) -> Dump {
    let filter = ports.iter().map(|p| format!("tcp port {p}")).collect::<Vec<_>>().join(" or ");
    let mut child = match Command::new("tcpdump")
        .args(["-i", "lo", "-n", "-U", "--immediate-mode", "-B", "16384", "-s", "0", "-w"])
        .arg(file)
        .arg(&filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => panic!(
            "this test needs tcpdump to capture loopback ({err}); install the Debian package: apt-get install tcpdump"
        ),
    };
    // tcpdump prints "listening on lo, ..." once the capture is running,
    // and when it stops how many packets it captured and how many the
    // kernel dropped: every line is said on stderr (a failing comparison
    // then shows whether the capture lost packets).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("tcpdump: {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.contains("listening on") => return Dump { child, lines: rx },
            Ok(_) => {}
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("tcpdump exited ({status}) before it listened: is this run as root (or with CAP_NET_RAW)?");
                }
                assert!(Instant::now() < deadline, "tcpdump did not start listening within 10 s");
            }
        }
    }
}

/// Stops tcpdump with SIGINT once it has caught up, and waits for it: the
/// file is flushed and whole.
///
/// On SIGINT tcpdump stops reading: packets the kernel holds for it and it
/// has not read yet are lost. On a loaded machine it can lag behind the
/// traffic (a CI run's captures lacked a call's answer in all three
/// attempts, though the proxy had forwarded and recorded each), so it is
/// stopped only once its file (written a packet at a time, `-U`) has
/// stopped growing for a while. Panics if tcpdump says the kernel dropped
/// packets: that capture is not the traffic, and comparing it would blame
/// the importer.
fn stop(dump: Dump, file: &Path) {
    let Dump { mut child, lines } = dump;
    let size = || std::fs::metadata(file).map_or(0, |m| m.len());
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut last, mut since) = (size(), Instant::now());
    while since.elapsed() < Duration::from_millis(300) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(25));
        let now = size();
        if now != last {
            (last, since) = (now, Instant::now());
        }
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "tcpdump did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Its last lines: "N packets captured", "... received by filter",
    // "N packets dropped by kernel" (the reader ends with tcpdump's stderr).
    let dropped = lines.iter().find_map(|line| {
        let count = line.strip_suffix(" dropped by kernel")?;
        let count = count.strip_suffix(" packets").or_else(|| count.strip_suffix(" packet"))?;
        count.trim().parse::<u64>().ok()
    });
    assert_eq!(dropped, Some(0), "tcpdump's count of packets the kernel dropped from the capture");
}

use test_support::read_session;

fn sessions_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn lower_sorted(headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
    headers.sort();
    headers
}

/// The proxy's entries and the importer's, compared as the module doc says.
///
/// Entries are matched connection by connection (each connection's entries
/// in the same order, the same kinds); references (`request`, `stream`,
/// `refers`) must point at matching entries. Across connections the order
/// is the same too, except for entries of different connections that the
/// proxy recorded within 100 ms of each other: the proxy records what it
/// received from the master, a capture on its port shows what it sent on,
/// and two relays (TEARDOWN's `202` on one connection, the end of the
/// stream it causes on another) may pass each other, the more so on a
/// loaded machine.
fn assert_equivalent(recorded: &[Entry], imported: &[Entry]) {
    let kinds = |entries: &[Entry]| entries.iter().map(|e| e.kind.name()).collect::<Vec<_>>();
    let by_conn = |entries: &[Entry]| {
        let mut groups: std::collections::BTreeMap<u64, Vec<usize>> = Default::default();
        for (i, e) in entries.iter().enumerate() {
            groups.entry(e.conn).or_default().push(i);
        }
        groups
    };
    let (rec_groups, imp_groups) = (by_conn(recorded), by_conn(imported));
    let context = format!("recorded {:?}\nimported {:?}", kinds(recorded), kinds(imported));
    assert_eq!(rec_groups.keys().collect::<Vec<_>>(), imp_groups.keys().collect::<Vec<_>>(), "{context}");
    // recorded index → imported index
    let mut map = vec![usize::MAX; recorded.len()];
    for (conn, rec) in &rec_groups {
        let imp = &imp_groups[conn];
        let rk: Vec<_> = rec.iter().map(|&i| recorded[i].kind.name()).collect();
        let ik: Vec<_> = imp.iter().map(|&i| imported[i].kind.name()).collect();
        assert_eq!(rk, ik, "connection {conn}: the same kinds in the same order\n{context}");
        for (&r, &i) in rec.iter().zip(imp) {
            map[r] = i;
        }
    }
    assert_eq!(recorded.len(), imported.len());
    let seq = |s: Option<u64>| s.map(|s| imported[map[s as usize]].seq);
    for (r_index, r) in recorded.iter().enumerate() {
        let i = &imported[map[r_index]];
        let at = format!("recorded entry {} (imported {})", r.seq, i.seq);
        match (&r.kind, &i.kind) {
            (EntryKind::Request(r), EntryKind::Request(i)) => {
                assert_eq!((&r.method, &r.path), (&i.method, &i.path), "{at}");
                assert_eq!(r.headers, i.headers, "{at}: request headers as sent");
                assert_eq!(r.body, i.body, "{at}: body");
                assert_eq!(r.summary, i.summary, "{at}: call, format, framework_id");
            }
            (EntryKind::Response(r), EntryKind::Response(i)) => {
                assert_eq!(seq(r.request), i.request, "{at}: the request it answers");
                assert_eq!((r.status, r.stream, r.format), (i.status, i.stream, i.format), "{at}");
                assert_eq!(r.body, i.body, "{at}: body");
                assert_eq!(lower_sorted(&r.headers), lower_sorted(&i.headers), "{at}: response headers");
            }
            (EntryKind::Event(r), EntryKind::Event(i)) => {
                assert_eq!(seq(Some(r.stream)), Some(i.stream), "{at}: stream");
                assert_eq!(r.record, i.record, "{at}: record");
                assert_eq!(r.chunks, i.chunks, "{at}: chunks");
                assert_eq!(r.summary, i.summary, "{at}: event, format, framework_id");
            }
            (EntryKind::Close(r), EntryKind::Close(i)) => assert_eq!(seq(r.stream), i.stream, "{at}"),
            (EntryKind::Note(r), EntryKind::Note(i)) => assert_eq!(seq(r.refers), i.refers, "{at}"),
            (EntryKind::End(r), EntryKind::End(i)) => assert_eq!(r, i, "{at}"),
            (r, i) => panic!("{at}: {} against {}", r.name(), i.name()),
        }
    }
    // The order across connections.
    for a in 0..recorded.len() {
        for b in a + 1..recorded.len() {
            if map[a] > map[b] {
                let (ra, rb) = (&recorded[a], &recorded[b]);
                assert!(
                    ra.conn != rb.conn && rb.t_ns - ra.t_ns < 100_000_000,
                    "recorded entries {} and {} are imported the other way round\n{context}",
                    ra.seq,
                    rb.seq
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_capture_imports_to_the_session_the_proxy_recorded() {
    // On this kind of VM a loopback capture has now and then lacked
    // packets of the run (a FIN, once an answer): the comparison then
    // fails for want of input, not because of the importer. `tcpdump`'s
    // larger ring should make that rare, and `stop` fails a run whose
    // capture tcpdump says lost packets. Up to three runs, each said on
    // stderr; the third failure fails the test.
    for attempt in 1..=3 {
        match tokio::spawn(capture_and_compare(attempt)).await {
            Ok(()) => return,
            Err(err) if err.is_panic() && attempt < 3 => {
                eprintln!("attempt {attempt} failed (see the panic above); capturing again")
            }
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => panic!("{err}"),
        }
    }
}

async fn capture_and_compare(attempt: u32) {
    let dir = std::env::temp_dir().join(format!("mesos-tape-import-live-{}-{attempt}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cleanup = Cleanup(dir.clone(), Vec::new());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = mesos_replay::sim::spawn(listener, mesos_replay::sim::Config::default(), mesos_replay::sim::Clock::Real)
        .unwrap();
    let recorder = mesos_proxy::Recorder::bind(mesos_proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        master: format!("http://{}", sim.local_addr()),
        out: dir.join("recorded"),
        keep_secrets: false,
        limits: Default::default(),
    })
    .await
    .unwrap();
    let proxy = recorder.local_addr().to_string();
    let (proxy_port, master_port) = (recorder.local_addr().port(), sim.local_addr().port());
    let capture = dir.join("walkthrough.pcap");
    let dump = tcpdump(&capture, &[proxy_port, master_port]);

    let (stop_proxy, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(recorder.run(async {
        let _ = stopped.await;
    }));

    let stream_file = dir.join("stream.recordio");
    let headers_file = dir.join("headers.txt");
    let (stream_file2, proxy2) = (stream_file.clone(), proxy.clone());
    let script = tokio::task::spawn_blocking(move || {
        // As pymesos does before it subscribes: `GET /version`, on a
        // connection of its own. Outside the v1 APIs, from a host with no
        // session yet: both recorders keep it for the session this host
        // opens next (the lobby).
        let version = curl().arg(format!("http://{proxy2}/version")).output().unwrap();
        assert!(String::from_utf8_lossy(&version.stdout).contains("\"version\""), "{version:?}");
        let subscribe = curl()
            .args(["--no-buffer", "-D"])
            .arg(&headers_file)
            .arg("-o")
            .arg(&stream_file2)
            .args(["-X", "POST", "-H", "Content-Type: application/json", "-d"])
            .arg(walkthrough("01-register.json").to_string())
            .arg(format!("http://{proxy2}/api/v1/scheduler"))
            .stdout(Stdio::null())
            .spawn()
            .expect("curl must be installed (Debian: apt-get install curl)");
        let offers = wait_for(&stream_file2, "OFFERS", |e| e["type"] == "OFFERS");
        let headers = std::fs::read_to_string(&headers_file).unwrap();
        let stream_id = headers
            .lines()
            .find_map(|l| l.to_ascii_lowercase().starts_with("mesos-stream-id:").then(|| l[16..].trim().to_owned()))
            .expect("a Mesos-Stream-Id header");
        let first = &offers["offers"]["offers"][0];
        let (offer, agent) = (first["id"]["value"].clone(), first["agent_id"]["value"].clone());
        let other = offers["offers"]["offers"][1]["id"]["value"].clone();

        let mut launch = walkthrough("02-launch_task.json");
        launch["accept"]["offer_ids"][0]["value"] = offer;
        launch["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"]["value"] = agent.clone();
        assert_eq!(call(&proxy2, &stream_id, &launch), "202");
        for state in ["TASK_STARTING", "TASK_RUNNING"] {
            let update = wait_for(&stream_file2, state, |e| e["update"]["status"]["state"] == state);
            let mut ack = walkthrough("03-acknowledge.json");
            ack["acknowledge"]["agent_id"]["value"] = agent.clone();
            ack["acknowledge"]["task_id"]["value"] = "00012".into();
            ack["acknowledge"]["uuid"] = update["update"]["status"]["uuid"].clone();
            assert_eq!(call(&proxy2, &stream_id, &ack), "202");
        }
        let mut decline = walkthrough("05-decline.json");
        decline["decline"]["offer_ids"][0]["value"] = other;
        assert_eq!(call(&proxy2, &stream_id, &decline), "202");
        let mut kill = walkthrough("07-kill_task.json");
        kill["kill"]["task_id"]["value"] = "00012".into();
        kill["kill"]["agent_id"]["value"] = agent;
        assert_eq!(call(&proxy2, &stream_id, &kill), "202");
        wait_for(&stream_file2, "TASK_KILLED", |e| e["update"]["status"]["state"] == "TASK_KILLED");
        assert_eq!(call(&proxy2, &stream_id, &walkthrough("08-teardown.json")), "202");
        let mut subscribe = subscribe;
        let deadline = Instant::now() + Duration::from_secs(10);
        while subscribe.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the stream did not end after TEARDOWN");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    script.await.unwrap();
    // curl has gone: let the proxy see its connections close (and record
    // it) before it is stopped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_proxy.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();
    drop(sim);
    // Let the last FIN/ACK exchanges reach the capture, then flush it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop(dump, &capture);
    if let Ok(keep) = std::env::var("MESOS_TAPE_CAPTURE_OUT") {
        std::fs::copy(&capture, &keep).unwrap();
    }

    let recorded = sessions_in(&dir.join("recorded"));
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let (_, recorded_entries) = read_session(&recorded[0]);

    // The framework's side of the proxy: what the proxy recorded.
    let options = mesos_proxy::import::Options { out: dir.join("imported"), port: proxy_port, keep_secrets: false };
    let report = mesos_proxy::import::import(&capture, &options, &mut |_| ()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.sessions, report.gaps), (1, 0), "{report:?}");
    assert_eq!(report.connections, 8, "GET /version, SUBSCRIBE and six calls, one connection each: {report:?}");
    let version = |entries: &[Entry]| {
        entries.iter().any(|e| matches!(&e.kind, EntryKind::Request(r) if r.path == "/version" && r.method == "GET"))
    };
    assert!(version(&recorded_entries), "the proxy recorded GET /version");
    let imported = sessions_in(&dir.join("imported"));
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(
        imported[0].file_name().unwrap().to_str().unwrap().split('-').next(),
        recorded[0].file_name().unwrap().to_str().unwrap().split('-').next(),
        "both files are named by the framework id"
    );
    let (header, imported_entries) = read_session(&imported[0]);
    assert_eq!(header.source, Source::Pcap);
    assert_eq!(header.capture.as_deref(), Some("walkthrough.pcap"));
    assert_eq!(header.master, Some(format!("http://127.0.0.1:{proxy_port}")));
    assert!(version(&imported_entries), "the importer recorded GET /version, as the proxy did");
    assert_equivalent(&recorded_entries, &imported_entries);
    assert_eq!(report.entries, imported_entries.len() as u64);
    // And `mesos-replay diff` finds them the same conversation.
    let conversation = |p: &Path| mesos_replay::diff::Conversation::read(std::fs::File::open(p).unwrap()).unwrap();
    let outcome = mesos_replay::diff::diff(
        &conversation(&recorded[0]),
        &conversation(&imported[0]),
        mesos_replay::compare::Rebind::FrameworkIds,
    );
    let lines: Vec<String> = outcome.differences.iter().map(ToString::to_string).collect();
    assert!(lines.is_empty(), "diff of the proxy's and the imported session:\n{}", lines.join("\n"));

    // The master's side: the same calls and events, byte for byte (the
    // proxy rewrote `Host`, so request headers are not compared there).
    let options = mesos_proxy::import::Options { out: dir.join("upstream"), port: master_port, keep_secrets: false };
    let report = mesos_proxy::import::import(&capture, &options, &mut |_| ()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let upstream = sessions_in(&dir.join("upstream"));
    assert_eq!(upstream.len(), 1, "{upstream:?}");
    let (_, upstream_entries) = read_session(&upstream[0]);
    // Requests, responses and events each in order (across connections the
    // order depends on the proxy's relays, as above).
    let of_kind = |entries: &[Entry], kind: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|e| e.kind.name() == kind)
            .map(|e| match &e.kind {
                EntryKind::Request(r) => format!("{:?} {}", r.summary, String::from_utf8_lossy(&r.body)),
                EntryKind::Event(ev) => format!("{:?} {}", ev.summary, String::from_utf8_lossy(&ev.record)),
                EntryKind::Response(r) => format!("{} {} {}", r.status, r.stream, String::from_utf8_lossy(&r.body)),
                _ => String::new(),
            })
            .collect()
    };
    for kind in ["request", "response", "event"] {
        assert_eq!(of_kind(&upstream_entries, kind), of_kind(&recorded_entries, kind), "{kind}s");
    }
    cleanup.1.clear();
}
