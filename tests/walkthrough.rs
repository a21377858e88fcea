//! The seed walkthrough end to end, across the crates: the real `curl` runs
//! the article's steps with the article's JSON files through the recording
//! proxy (`mesos-proxy record`) in front of the simulated master
//! (`mesos-replay sim`), and the session file holds every call, answer and
//! event, byte for byte as the framework saw them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesos_codec::recordio;
use mesos_codec::session::{EntryKind, Item, Party, Reader};
use serde_json::Value;

fn walkthrough(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed/walkthrough").join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The events curl has received so far, decoded.
fn events(stream_file: &Path) -> Vec<Value> {
    let bytes = Bytes::from(std::fs::read(stream_file).unwrap_or_default());
    let mut decoder = recordio::Decoder::new();
    decoder.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(record)) = decoder.next_record() {
        out.push(serde_json::from_slice(&record.data).unwrap());
    }
    out
}

/// Waits (bounded) until an event satisfies `pred`; returns it.
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

/// POSTs a call with curl; returns the HTTP status.
fn call(proxy: &str, stream_id: &str, body: &Value) -> String {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json", "-H", &format!("Mesos-Stream-Id: {stream_id}")])
        .args(["-d", &body.to_string(), &format!("http://{proxy}/api/v1/scheduler")])
        .output()
        .expect("curl must be installed (Debian: apt-get install curl)");
    String::from_utf8(out.stdout).unwrap()
}

struct Cleanup(PathBuf, Option<Child>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(child) = &mut self.1 {
            let _ = child.kill();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_through_the_proxy_in_front_of_the_sim() {
    let dir = std::env::temp_dir().join(format!("mesos-tape-walkthrough-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cleanup = Cleanup(dir.clone(), None);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = mesos_replay::sim::spawn(listener, mesos_replay::sim::Config::default(), mesos_replay::sim::Clock::Real)
        .unwrap();
    let recorder = mesos_proxy::Recorder::bind(mesos_proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        master: format!("http://{}", sim.local_addr()),
        out: dir.join("sessions"),
        keep_secrets: false,
    })
    .await
    .unwrap();
    let proxy = recorder.local_addr().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(recorder.run(async {
        let _ = stopped.await;
    }));

    let stream_file = dir.join("stream.recordio");
    let headers_file = dir.join("headers.txt");
    let (stream_file2, headers_file2, proxy2) = (stream_file.clone(), headers_file, proxy.clone());
    let script = tokio::task::spawn_blocking(move || {
        // 1. SUBSCRIBE with the article's register.json; curl keeps the stream.
        let subscribe = Command::new("curl")
            .args(["-sS", "--no-buffer", "-D"])
            .arg(&headers_file2)
            .arg("-o")
            .arg(&stream_file2)
            .args(["-X", "POST", "-H", "Content-Type: application/json", "-d"])
            .arg(walkthrough("01-register.json").to_string())
            .arg(format!("http://{proxy2}/api/v1/scheduler"))
            .stdout(Stdio::null())
            .spawn()
            .expect("curl must be installed (Debian: apt-get install curl)");
        let offers = wait_for(&stream_file2, "OFFERS", |e| e["type"] == "OFFERS");
        let headers = std::fs::read_to_string(&headers_file2).unwrap();
        assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
        let stream_id = headers
            .lines()
            .find_map(|l| l.to_ascii_lowercase().starts_with("mesos-stream-id:").then(|| l[16..].trim().to_owned()))
            .expect("a Mesos-Stream-Id header");
        let first = &offers["offers"]["offers"][0];
        let (offer, agent) = (first["id"]["value"].clone(), first["agent_id"]["value"].clone());
        let other = offers["offers"]["offers"][1]["id"]["value"].clone();

        // 2. ACCEPT a LAUNCH of the article's task on the first offer.
        let mut launch = walkthrough("02-launch_task.json");
        launch["accept"]["offer_ids"][0]["value"] = offer;
        launch["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"]["value"] = agent.clone();
        assert_eq!(call(&proxy2, &stream_id, &launch), "202");

        // 3. ACKNOWLEDGE each update; the next comes after the acknowledgement.
        for state in ["TASK_STARTING", "TASK_RUNNING"] {
            let update = wait_for(&stream_file2, state, |e| e["update"]["status"]["state"] == state);
            let mut ack = walkthrough("03-acknowledge.json");
            ack["acknowledge"]["agent_id"]["value"] = agent.clone();
            ack["acknowledge"]["task_id"]["value"] = "00012".into();
            ack["acknowledge"]["uuid"] = update["update"]["status"]["uuid"].clone();
            assert_eq!(call(&proxy2, &stream_id, &ack), "202");
        }

        // 5. DECLINE the other offer.
        let mut decline = walkthrough("05-decline.json");
        decline["decline"]["offer_ids"][0]["value"] = other;
        assert_eq!(call(&proxy2, &stream_id, &decline), "202");

        // 7. KILL: TASK_KILLED.
        let mut kill = walkthrough("07-kill_task.json");
        kill["kill"]["task_id"]["value"] = "00012".into();
        kill["kill"]["agent_id"]["value"] = agent;
        assert_eq!(call(&proxy2, &stream_id, &kill), "202");
        wait_for(&stream_file2, "TASK_KILLED", |e| e["update"]["status"]["state"] == "TASK_KILLED");

        // 8. TEARDOWN: 202, and the stream ends (curl exits cleanly).
        assert_eq!(call(&proxy2, &stream_id, &walkthrough("08-teardown.json")), "202");
        let mut subscribe = subscribe;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = subscribe.try_wait().unwrap() {
                assert!(status.success(), "curl: {status}");
                break;
            }
            assert!(Instant::now() < deadline, "the stream did not end after TEARDOWN");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let result = script.await;
    cleanup.1 = None;
    result.unwrap();

    // Shut the proxy down cleanly: every session gets its `end`.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();
    drop(sim);

    let sessions: Vec<PathBuf> = std::fs::read_dir(dir.join("sessions")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(sessions[0].file_name().unwrap().to_str().unwrap().starts_with("test13-"), "{sessions:?}");
    let mut reader = Reader::new();
    reader.push(&std::fs::read(&sessions[0]).unwrap());
    let mut entries = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        if let Item::Entry(entry) = item {
            entries.push(entry);
        }
    }
    assert_eq!(reader.finish(), None, "no torn line after a clean shutdown");

    // Every call, in order, with its summary.
    let calls: Vec<&str> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Request(r) => r.summary.name.as_deref(),
            _ => None,
        })
        .collect();
    assert_eq!(calls, ["SUBSCRIBE", "ACCEPT", "ACKNOWLEDGE", "ACKNOWLEDGE", "DECLINE", "KILL", "TEARDOWN"]);
    // Every event curl received is in the file, byte for byte, in order.
    let recorded: Vec<Vec<u8>> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Event(ev) => Some(ev.record.clone()),
            _ => None,
        })
        .collect();
    let received: Vec<Vec<u8>> = {
        let mut decoder = recordio::Decoder::new();
        decoder.push(Bytes::from(std::fs::read(&stream_file).unwrap()));
        let mut v = Vec::new();
        while let Some(record) = decoder.next_record().unwrap() {
            v.push(record.data.to_vec());
        }
        decoder.finish().unwrap();
        v
    };
    assert_eq!(recorded, received);
    // The master ended the stream; the session ended complete.
    assert!(
        entries.iter().any(|e| matches!(&e.kind, EntryKind::Close(c) if c.stream.is_some() && c.by == Party::Master))
    );
    assert!(matches!(&entries.last().unwrap().kind, EntryKind::End(end) if end.complete));
}
