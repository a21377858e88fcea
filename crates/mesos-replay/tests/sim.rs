//! The simulated master, end to end: the seed walkthrough with the real
//! `curl`, every error answer in JSON and protobuf, and determinism.
//!
//! Every server but the one that checks the binary runs on a virtual clock
//! ([`Clock::Manual`]): time moves only when a test says, so heartbeats,
//! retries and filters come exactly when expected, and nothing sleeps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use mesos_codec::json::{json_to_protobuf, message_type, protobuf_to_json};
use mesos_codec::recordio::Decoder;
use mesos_replay::sim::{self, Answer, Clock, Config, Master, Push, Request};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

struct Sim {
    handle: sim::SimHandle,
    // Dropped after the handle, so the handle's tasks are aborted first.
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    fn start(config: Config) -> Sim {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Sim::start_on(config, listener)
    }

    fn start_on(config: Config, listener: std::net::TcpListener) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let handle = runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            sim::spawn(listener, config, Clock::Manual).unwrap()
        });
        Sim { handle, _runtime: runtime }
    }

    fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    fn url(&self) -> String {
        format!("http://{}/api/v1/scheduler", self.addr())
    }

    fn advance(&self, secs: u64) {
        self.handle.advance(Duration::from_secs(secs));
    }
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&test_support::seed(name)).unwrap()
}

fn fixture_path(name: &str) -> PathBuf {
    test_support::fixture("seed/walkthrough").join(name)
}

// ----- a subscription read by `curl --no-buffer` -----

struct CurlStream {
    child: Child,
    headers: Vec<(String, String)>,
    status: u16,
    records: mpsc::Receiver<Option<Bytes>>,
}

impl CurlStream {
    fn subscribe(url: &str, body_file: &std::path::Path) -> CurlStream {
        let mut child = Command::new("curl")
            .args(["-sS", "--no-buffer", "-D", "-", "-X", "POST", "-H", "Content-Type: application/json"])
            .arg("--data-binary")
            .arg(format!("@{}", body_file.display()))
            .arg(url)
            .stdout(Stdio::piped())
            .spawn()
            .expect("curl runs");
        let stdout = child.stdout.take().unwrap();
        let (head_tx, head_rx) = mpsc::channel();
        let (tx, records) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    let _ = head_tx.send(head);
                    let _ = tx.send(None);
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            let _ = head_tx.send(head);
            let mut decoder = Decoder::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    let _ = tx.send(None);
                    return;
                }
                decoder.push(Bytes::copy_from_slice(&buf[..n]));
                while let Ok(Some(record)) = decoder.next_record() {
                    let _ = tx.send(Some(record.data.clone()));
                }
            }
        });
        let head: Vec<String> = head_rx.recv_timeout(WAIT).expect("curl prints the response head");
        let status = head.first().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers = head
            .iter()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        CurlStream { child, headers, status, records }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The next record's bytes, or `None` at the end of the stream.
    fn next_record(&mut self) -> Option<Bytes> {
        self.records.recv_timeout(WAIT).expect("an event or the end of the stream in time")
    }

    /// The next event if one comes within `wait` (`Some(None)`: the end).
    fn next_within(&mut self, wait: Duration) -> Option<Option<Value>> {
        match self.records.recv_timeout(wait) {
            Ok(record) => Some(record.map(|r| serde_json::from_slice(&r).expect("each record is a JSON event"))),
            Err(_) => None,
        }
    }

    /// The next event, or `None` at the end of the stream.
    fn next(&mut self) -> Option<Value> {
        let record = self.next_record()?;
        Some(serde_json::from_slice(&record).expect("each record is a JSON event"))
    }

    /// The next event that is not a HEARTBEAT.
    fn next_skipping_heartbeats(&mut self) -> Value {
        loop {
            let event = self.next().expect("the stream goes on");
            if event["type"] != "HEARTBEAT" {
                return event;
            }
        }
    }

    fn expect_end(&mut self) {
        while let Some(event) = self.next() {
            assert_eq!(event["type"], "HEARTBEAT", "unexpected event before the end: {event}");
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "curl ends cleanly when the master closes the stream: {status}");
    }
}

impl Drop for CurlStream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A call with `curl`: the status and the body.
fn curl_call(url: &str, stream_id: Option<&str>, body: &Value) -> (u16, String) {
    let mut command = Command::new("curl");
    command.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json"]);
    if let Some(id) = stream_id {
        command.arg("-H").arg(format!("Mesos-Stream-Id: {id}"));
    }
    let output = command.arg("--data-binary").arg(body.to_string()).arg(url).output().expect("curl runs");
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_owned())
}

/// The offer for agent `S{n}` in an OFFERS event (a master lists them in
/// no particular order; every agent's hostname is the master's).
fn offer_for(offers: &Value, n: usize) -> &Value {
    let suffix = format!("-S{n}");
    offers["offers"]["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["agent_id"]["value"].as_str().unwrap().ends_with(&suffix))
        .unwrap_or_else(|| panic!("no offer for S{n}: {offers}"))
}

fn scalar(offer: &Value, name: &str) -> Option<f64> {
    offer["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .map(|r| r["scalar"]["value"].as_f64().unwrap())
}

fn names(offer: &Value) -> Vec<&str> {
    offer["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect()
}

/// The seed article's walkthrough, with the real master's behaviour
/// (`tests/sim_vs_real.rs` holds the sim to one): resources come back at
/// the allocation after they were freed or their filter ended (every
/// second), each declined offer filters only what it held, and an agent
/// left with only disk and ports is not offered (the master's minimum
/// allocatable resources, `cpus:0.01|mem:32`).
#[test]
fn seed_walkthrough_with_curl() {
    let sim = Sim::start(Config { seed: 13, ..Config::default() });
    let url = sim.url();

    // 1. SUBSCRIBE with the article's body: an id never seen registers a
    //    new framework with that id.
    let mut stream = CurlStream::subscribe(&url, &fixture_path("01-register.json"));
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("application/json"));
    assert_eq!(stream.header("transfer-encoding"), Some("chunked"));
    let stream_id = stream.header("mesos-stream-id").expect("a Mesos-Stream-Id").to_owned();
    let subscribed = stream.next().unwrap();
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    assert_eq!(subscribed["subscribed"]["framework_id"]["value"], "test13");
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    assert_eq!(subscribed["subscribed"]["master_info"]["port"], sim.addr().port());
    assert_eq!(subscribed["subscribed"]["master_info"]["version"], "1.11.0");
    assert_eq!(stream.next().unwrap(), json!({"type": "HEARTBEAT"}));
    let offers = stream.next().unwrap();
    assert_eq!(offers["type"], "OFFERS");
    assert_eq!(offers["offers"]["offers"].as_array().unwrap().len(), 2);
    let slave0 = offer_for(&offers, 0).clone();
    let slave1 = offer_for(&offers, 1).clone();
    assert_eq!(
        slave0["resources"],
        json!([
            {"name": "ports", "type": "RANGES", "ranges": {"range": [{"begin": 31000, "end": 32000}]}, "role": "*"},
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*"},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 996.0}, "role": "*"},
            {"name": "disk", "type": "SCALAR", "scalar": {"value": 30509.0}, "role": "*"},
        ])
    );
    assert_eq!(slave0["framework_id"]["value"], "test13");
    assert_eq!(slave0["url"]["path"], "/slave(1)");
    assert_eq!(slave1["url"]["path"], "/slave(2)");
    let agent0 = slave0["agent_id"].clone();

    // 2. ACCEPT a LAUNCH of `/bin/sleep 3000s` with the live offer id.
    let mut launch = fixture("02-launch_task.json");
    launch["accept"]["offer_ids"] = json!([slave0["id"]]);
    launch["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"] = agent0.clone();
    assert_eq!(curl_call(&url, Some(&stream_id), &launch), (202, String::new()));
    let starting = stream.next_skipping_heartbeats();
    assert_eq!(starting["update"]["status"]["state"], "TASK_STARTING");
    assert_eq!(starting["update"]["status"]["task_id"]["value"], "00012");

    // 3. ACKNOWLEDGE: the next update (TASK_RUNNING) follows.
    let ack = |status: &Value| {
        let mut ack = fixture("03-acknowledge.json");
        ack["acknowledge"]["agent_id"] = status["agent_id"].clone();
        ack["acknowledge"]["task_id"] = status["task_id"].clone();
        ack["acknowledge"]["uuid"] = status["uuid"].clone();
        ack
    };
    assert_eq!(curl_call(&url, Some(&stream_id), &ack(&starting["update"]["status"])).0, 202);
    let running = stream.next_skipping_heartbeats();
    let status = &running["update"]["status"];
    assert_eq!(status["state"], "TASK_RUNNING");
    assert_eq!(status["agent_id"], agent0);
    assert_eq!(status["executor_id"]["value"], "00012");
    assert_eq!(status["source"], "SOURCE_EXECUTOR");
    assert_ne!(status["uuid"], starting["update"]["status"]["uuid"]);

    // The unused remainder of S0 comes back at the allocation after the
    // default 5 s filter; the unacknowledged update is re-sent after 10 s.
    sim.advance(10);
    let remainder = stream.next_skipping_heartbeats();
    assert_eq!(remainder["type"], "OFFERS");
    let remainder = offer_for(&remainder, 0).clone();
    assert_eq!(scalar(&remainder, "cpus"), Some(1.0));
    assert_eq!(scalar(&remainder, "mem"), None, "all the memory is used");
    assert_eq!(names(&remainder), ["ports", "cpus", "disk"]);
    let again = stream.next_skipping_heartbeats();
    assert_eq!(again["update"]["status"]["uuid"], status["uuid"]);
    assert_eq!(curl_call(&url, Some(&stream_id), &ack(status)).0, 202);

    // 5. DECLINE both outstanding offers: they come back together at the
    //    allocation after the default 5 s filter (the allocations drift a
    //    little past whole seconds, as a master's do).
    let mut decline = fixture("05-decline.json");
    decline["decline"]["offer_ids"] = json!([slave1["id"], remainder["id"]]);
    assert_eq!(curl_call(&url, Some(&stream_id), &decline).0, 202);
    sim.advance(6);
    let back = stream.next_skipping_heartbeats();
    assert_eq!(back["type"], "OFFERS");
    assert_eq!(scalar(offer_for(&back, 1), "cpus"), Some(2.0));
    assert_eq!(scalar(offer_for(&back, 0), "cpus"), Some(1.0));

    // 7. KILL the task: TASK_KILLED; its resources are offered at the next
    //    allocation (a second later).
    let mut kill = fixture("07-kill_task.json");
    kill["kill"]["task_id"] = json!({"value": "00012"});
    kill["kill"]["agent_id"] = agent0.clone();
    assert_eq!(curl_call(&url, Some(&stream_id), &kill).0, 202);
    let killed = stream.next_skipping_heartbeats();
    assert_eq!(killed["update"]["status"]["state"], "TASK_KILLED");
    assert_eq!(killed["update"]["status"]["message"], "Command terminated with signal Terminated");
    assert_eq!(curl_call(&url, Some(&stream_id), &ack(&killed["update"]["status"])).0, 202);
    sim.advance(1);
    let freed = stream.next_skipping_heartbeats();
    assert_eq!(freed["type"], "OFFERS");
    assert_eq!(names(offer_for(&freed, 0)), ["cpus", "mem"], "what the task held");
    assert_eq!(scalar(offer_for(&freed, 0), "mem"), Some(996.0));

    // The next OFFERS, acknowledging the updates on the way, the clock
    // moving a second whenever nothing comes.
    let next_offers = |stream: &mut CurlStream| loop {
        let Some(event) = stream.next_within(Duration::from_millis(300)) else {
            sim.advance(1);
            continue;
        };
        let event = event.expect("the stream goes on");
        match event["type"].as_str() {
            Some("OFFERS") => return event,
            Some("UPDATE") => assert_eq!(curl_call(&url, Some(&stream_id), &ack(&event["update"]["status"])).0, 202),
            Some("HEARTBEAT") => {}
            _ => panic!("unexpected event: {event}"),
        }
    };
    let offers_of = |event: &Value, n: usize| -> Vec<Value> {
        let suffix = format!("-S{n}");
        event["offers"]["offers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["agent_id"]["value"].as_str().unwrap().ends_with(&suffix))
            .cloned()
            .collect()
    };

    // 6.1 S0 is offered in two fragments (the declined remainder and what
    //     the killed task freed): ACCEPT both at once with a task of 2 cpus
    //     and 996 MB, which only their sum holds. What is left (disk and
    //     ports) is below the master's minimum: never offered.
    let fragments = [offer_for(&back, 0).clone(), offer_for(&freed, 0).clone()];
    assert_ne!(fragments[0]["id"], fragments[1]["id"]);
    assert_eq!(scalar(&fragments[0], "cpus"), Some(1.0));
    assert_eq!(scalar(&fragments[1], "cpus"), Some(1.0));
    let mut merged = fixture("06.1-launch_task_merged_offers.json");
    merged["accept"]["offer_ids"] = json!([fragments[0]["id"], fragments[1]["id"]]);
    merged["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"] = agent0.clone();
    assert_eq!(curl_call(&url, Some(&stream_id), &merged), (202, String::new()));
    let starting = stream.next_skipping_heartbeats();
    assert_eq!(starting["update"]["status"]["state"], "TASK_STARTING");
    assert_eq!(starting["update"]["status"]["task_id"]["value"], "00017");
    assert_eq!(curl_call(&url, Some(&stream_id), &ack(&starting["update"]["status"])).0, 202);

    // 6.2 Split S1 into three fragments (the remainder of two tasks, then
    //     what each freed when killed) and DECLINE them all at once: each
    //     declined offer filters only what it held, so all of S1 is ONE
    //     offer again at the next allocation.
    let whole = offer_for(&back, 1).clone();
    let agent1 = whole["agent_id"].clone();
    let mut two = launch_call("test13", json!([whole["id"]]), &agent1, "a", 0.5, "sleep 3000", 0.0);
    let mut task_b = two["accept"]["operations"][0]["launch"]["task_infos"][0].clone();
    task_b["name"] = json!("b");
    task_b["task_id"] = json!({"value": "b"});
    two["accept"]["operations"][0]["launch"]["task_infos"].as_array_mut().unwrap().push(task_b);
    assert_eq!(curl_call(&url, Some(&stream_id), &two).0, 202);
    let mut pieces = Vec::new();
    let next_s1 = |stream: &mut CurlStream| {
        let event = next_offers(stream);
        assert!(offers_of(&event, 0).is_empty(), "S0's disk and ports are never offered: {event}");
        offers_of(&event, 1)
    };
    pieces.extend(next_s1(&mut stream));
    for task in ["a", "b"] {
        // Once TASK_RUNNING is acknowledged, TASK_KILLED comes at once.
        while let Some(Some(event)) = stream.next_within(Duration::from_millis(300)) {
            if event["type"] == "UPDATE" {
                assert_eq!(curl_call(&url, Some(&stream_id), &ack(&event["update"]["status"])).0, 202);
            }
        }
        let mut kill = fixture("07-kill_task.json");
        kill["kill"]["task_id"] = json!({"value": task});
        kill["kill"]["agent_id"] = agent1.clone();
        assert_eq!(curl_call(&url, Some(&stream_id), &kill).0, 202);
        pieces.extend(next_s1(&mut stream));
    }
    assert_eq!(pieces.len(), 3, "three fragment offers of S1: {pieces:?}");
    assert_eq!(pieces.iter().map(|o| scalar(o, "cpus").unwrap_or(0.0)).sum::<f64>(), 2.0);
    let mut decline = fixture("06.2-decline_three_offers.json");
    decline["decline"]["offer_ids"] = json!(pieces.iter().map(|o| o["id"].clone()).collect::<Vec<_>>());
    assert_eq!(curl_call(&url, Some(&stream_id), &decline), (202, String::new()));
    let back = next_s1(&mut stream);
    assert_eq!(back.len(), 1, "one merged offer for S1: {back:?}");
    assert_eq!(scalar(&back[0], "cpus"), Some(2.0));
    assert_eq!(scalar(&back[0], "mem"), Some(996.0));

    // 8. TEARDOWN: 202, the stream ends, the framework is gone.
    assert_eq!(curl_call(&url, Some(&stream_id), &fixture("08-teardown.json")).0, 202);
    stream.expect_end();
    assert_eq!(
        curl_call(&url, Some(&stream_id), &fixture("08-teardown.json")),
        (400, "Framework cannot be found".to_owned())
    );
    let mut again = CurlStream::subscribe(&url, &fixture_path("01-register.json"));
    assert_eq!(again.status, 200);
    assert_eq!(again.next().unwrap(), json!({"type": "ERROR", "error": {"message": "Framework has been removed"}}));
    again.expect_end();
}

// ----- a raw HTTP/1.1 client, to control every header and see every chunk -----

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn send(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: &[u8]) -> BufReader<TcpStream> {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!("{method} /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    BufReader::new(conn)
}

fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            return (status, headers);
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
}

/// One HTTP chunk, or `None` for the closing one.
fn read_chunk(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let size = usize::from_str_radix(line.trim(), 16).unwrap();
    let mut data = vec![0u8; size + 2];
    reader.read_exact(&mut data).unwrap();
    data.truncate(size);
    (size > 0).then_some(data)
}

fn request(addr: SocketAddr, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut reader = send(addr, method, headers, body);
    let (status, headers) = read_head(&mut reader);
    let length: usize = headers.iter().find(|(k, _)| k == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    Reply { status, headers, body }
}

#[derive(Clone, Copy, Debug)]
enum Format {
    Json,
    Protobuf,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Protobuf => "application/x-protobuf",
        }
    }

    fn encode(self, call: &Value) -> Vec<u8> {
        let json = call.to_string().into_bytes();
        match self {
            Format::Json => json,
            Format::Protobuf => json_to_protobuf(message_type("scheduler.Call").unwrap(), &json).unwrap(),
        }
    }

    fn decode_event(self, record: &[u8]) -> Value {
        match self {
            Format::Json => serde_json::from_slice(record).unwrap(),
            Format::Protobuf => {
                let json = protobuf_to_json(message_type("scheduler.Event").unwrap(), record).unwrap().json;
                serde_json::from_slice(&json).unwrap()
            }
        }
    }
}

/// A subscription over the raw client: checks one record per chunk.
struct RawStream {
    reader: BufReader<TcpStream>,
    format: Format,
    stream_id: String,
    /// Every chunk's payload so far, byte for byte.
    raw: Vec<u8>,
}

impl RawStream {
    fn subscribe(addr: SocketAddr, format: Format, call: &Value) -> RawStream {
        let mut reader = send(
            addr,
            "POST",
            &[("Content-Type", format.content_type()), ("Accept", format.content_type())],
            &format.encode(call),
        );
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status, 200);
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(header("content-type").as_deref(), Some(format.content_type()));
        RawStream { reader, format, stream_id: header("mesos-stream-id").unwrap(), raw: Vec::new() }
    }

    fn next(&mut self) -> Option<Value> {
        let chunk = read_chunk(&mut self.reader)?;
        self.raw.extend_from_slice(&chunk);
        let records = mesos_codec::recordio::decode_all(Bytes::from(chunk)).unwrap();
        assert_eq!(records.len(), 1, "one record per HTTP chunk");
        Some(self.format.decode_event(&records[0]))
    }
}

fn subscribe_call(id: &str) -> Value {
    json!({
        "framework_id": {"value": id},
        "type": "SUBSCRIBE",
        "subscribe": {"framework_info": {"user": "root", "name": id, "id": {"value": id}, "failover_timeout": 60.0}}
    })
}

/// Every error answer of the master's table, in JSON and in protobuf, with
/// Mesos's own texts (src/master/http.cpp, src/master/validation.cpp,
/// libprocess's process/http.hpp, stout's uuid.hpp).
#[test]
fn error_answers_in_both_encodings() {
    for format in [Format::Json, Format::Protobuf] {
        let sim = Sim::start(Config::default());
        let addr = sim.addr();
        let ct = format.content_type();
        let post = |headers: &[(&str, &str)], call: &Value| request(addr, "POST", headers, &format.encode(call));
        let check = |reply: Reply, status: u16, text: &str, exact: bool| {
            assert_eq!(reply.status, status, "{format:?}: {}", reply.text());
            if exact {
                assert_eq!(reply.text(), text, "{format:?}");
            } else {
                assert!(reply.text().starts_with(text), "{format:?}: {:?} should start with {text:?}", reply.text());
            }
            assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
        };
        let expect = |reply: Reply, status: u16, text: &str| check(reply, status, text, true);
        let teardown = json!({"framework_id": {"value": "fw"}, "type": "TEARDOWN"});

        // 405, with `Allow: POST`.
        let reply = request(addr, "GET", &[("Content-Type", ct)], b"");
        assert_eq!(reply.header("allow"), Some("POST"));
        expect(reply, 405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'.");
        // 400 and 415: the request's type.
        expect(post(&[], &teardown), 400, "Expecting 'Content-Type' to be present");
        expect(
            post(&[("Content-Type", "application/json; charset=utf-8")], &teardown),
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        );
        expect(
            post(&[("Content-Type", "text/plain")], &teardown),
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        );
        // 400: the body.
        let garbage = request(addr, "POST", &[("Content-Type", ct)], b"\xff\xff{not a call");
        match format {
            // The parser's explanation follows: stout's over picojson, the
            // rest of the body from where it stopped (the two bytes that
            // are not UTF-8 as U+FFFD here; the master writes them as they
            // came).
            Format::Json => expect(
                garbage,
                400,
                "Failed to parse body into JSON: syntax error at line 1 near: \u{fffd}\u{fffd}{not a call",
            ),
            Format::Protobuf => expect(garbage, 400, "Failed to parse body into Call protobuf"),
        }
        if let Format::Json = format {
            let reply = request(addr, "POST", &[("Content-Type", ct)], br#"{"type": 3}"#);
            expect(
                reply,
                400,
                "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'type'",
            );
        }
        // 400: validation.
        let invalid = |call: &Value, why: &str| {
            expect(post(&[("Content-Type", ct)], call), 400, &format!("Failed to validate scheduler::Call: {why}"));
        };
        invalid(&json!({}), "Expecting 'type' to be present");
        invalid(&json!({"type": "SUBSCRIBE"}), "Expecting 'subscribe' to be present");
        let bad_id = json!({"framework_id": {"value": "a"}, "type": "SUBSCRIBE",
            "subscribe": {"framework_info": {"user": "u", "name": "n", "id": {"value": "b"}}}});
        invalid(&bad_id, "'framework_id' differs from 'subscribe.framework_info.id'");
        invalid(&json!({"type": "TEARDOWN"}), "Expecting 'framework_id' to be present");
        for (ty, field) in [("ACCEPT", "accept"), ("DECLINE", "decline"), ("KILL", "kill"), ("RECONCILE", "reconcile")]
        {
            invalid(
                &json!({"framework_id": {"value": "fw"}, "type": ty}),
                &format!("Expecting '{field}' to be present"),
            );
        }
        let ack = |uuid: &str| {
            json!({"framework_id": {"value": "fw"}, "type": "ACKNOWLEDGE",
                "acknowledge": {"agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": uuid}})
        };
        invalid(&ack("AAAA"), "Not a valid UUID");
        // 16 bytes, but no UUID version.
        invalid(&ack("AAAAAAAAAAAAAAAAAAAAAA=="), "Not a valid UUID");
        // 406, then the 400 for a SUBSCRIBE that carries a stream id.
        expect(
            post(&[("Content-Type", ct), ("Accept", "text/html")], &subscribe_call("fw")),
            406,
            "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
        );
        expect(
            post(&[("Content-Type", ct), ("Mesos-Stream-Id", "x")], &subscribe_call("fw")),
            400,
            "Subscribe calls should not include the 'Mesos-Stream-Id' header",
        );
        // 400: no such framework.
        expect(post(&[("Content-Type", ct)], &teardown), 400, "Framework cannot be found");
        let unknown = json!({"framework_id": {"value": "fw"}, "type": "UNKNOWN"});
        expect(post(&[("Content-Type", ct)], &unknown), 400, "Framework cannot be found");

        // Subscribed: the stream id is required and must match; UNKNOWN is 501.
        let mut stream = RawStream::subscribe(addr, format, &subscribe_call("fw"));
        assert_eq!(stream.next().unwrap()["type"], "SUBSCRIBED");
        let sid = stream.stream_id.clone();
        expect(
            post(&[("Content-Type", ct)], &unknown),
            400,
            "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
        );
        expect(
            post(&[("Content-Type", ct), ("Mesos-Stream-Id", "other")], &unknown),
            400,
            "The stream ID 'other' included in this request didn't match the stream ID currently associated with \
             framework ID fw",
        );
        expect(post(&[("Content-Type", ct), ("Mesos-Stream-Id", &sid)], &unknown), 501, "501 Not Implemented.");
        let revive = json!({"framework_id": {"value": "fw"}, "type": "REVIVE"});
        let reply = post(&[("Content-Type", ct), ("Mesos-Stream-Id", &sid)], &revive);
        assert_eq!((reply.status, reply.header("content-length")), (202, Some("0")));

        // The connection drops: the framework is not subscribed any more.
        drop(stream);
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let reply = post(&[("Content-Type", ct), ("Mesos-Stream-Id", &sid)], &revive);
            if reply.status == 403 {
                assert_eq!(reply.text(), "Framework is not subscribed");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the master never noticed the dropped connection");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Failover over HTTP, from a protobuf stream to a JSON one and back.
#[test]
fn failover_and_offers_back_in_both_encodings() {
    for (old, new) in [(Format::Protobuf, Format::Json), (Format::Json, Format::Protobuf)] {
        let sim = Sim::start(Config { heartbeat: Duration::from_secs(2), ..Config::default() });
        let addr = sim.addr();
        let mut first = RawStream::subscribe(addr, old, &subscribe_call("fw"));
        assert_eq!(first.next().unwrap()["type"], "SUBSCRIBED");
        assert_eq!(first.next().unwrap()["type"], "HEARTBEAT");
        assert_eq!(first.next().unwrap()["type"], "OFFERS");
        sim.advance(2);
        assert_eq!(first.next().unwrap()["type"], "HEARTBEAT", "periodic heartbeats");

        // Failover: the old stream gets an ERROR and ends; the new one gets
        // SUBSCRIBED and, at the next allocation (the framework stayed
        // active), the cluster's resources again, in new offers.
        let mut second = RawStream::subscribe(addr, new, &subscribe_call("fw"));
        assert_ne!(second.stream_id, first.stream_id);
        assert_eq!(first.next().unwrap(), json!({"type": "ERROR", "error": {"message": "Framework failed over"}}));
        assert_eq!(first.next(), None);
        assert_eq!(second.next().unwrap()["subscribed"]["framework_id"]["value"], "fw");
        assert_eq!(second.next().unwrap()["type"], "HEARTBEAT");
        sim.advance(1);
        let offers = second.next().unwrap();
        assert_eq!(offers["offers"]["offers"].as_array().unwrap().len(), 2);
        assert_eq!(offers["offers"]["offers"][0]["id"]["value"].as_str().unwrap().rsplit_once('-').unwrap().1, "O2");
        // The old stream id is refused now.
        let reply = request(
            addr,
            "POST",
            &[("Content-Type", new.content_type()), ("Mesos-Stream-Id", &first.stream_id)],
            &new.encode(&json!({"framework_id": {"value": "fw"}, "type": "REVIVE"})),
        );
        assert_eq!(reply.status, 400);
    }
}

// ----- the sans-IO master -----

/// Runs a scenario once with JSON calls and streams, once with protobuf.
fn both(scenario: impl Fn(Format)) {
    for format in [Format::Json, Format::Protobuf] {
        scenario(format);
    }
}

/// One call in `format` (the body written as JSON, encoded as `format`
/// says; a SUBSCRIBE asks for a stream in `format` too).
fn call(
    format: Format,
    master: &mut Master,
    now: u64,
    stream_id: Option<&str>,
    body: &Value,
    pushes: &mut Vec<Push>,
) -> Answer {
    call_at(format, master, Duration::from_secs(now), stream_id, body, pushes)
}

/// [`call`] at a time given to the nanosecond.
fn call_at(
    format: Format,
    master: &mut Master,
    now: Duration,
    stream_id: Option<&str>,
    body: &Value,
    pushes: &mut Vec<Push>,
) -> Answer {
    let body = format.encode(body);
    let request = Request {
        method: "POST",
        content_type: Some(format.content_type()),
        accept: Some(format.content_type()),
        stream_id,
        body: &body,
    };
    master.handle_call(&request, now, pushes)
}

/// The events pushed, decoded from `format` and shown as JSON; each push is
/// exactly one record.
fn events(format: Format, pushes: &[Push]) -> Vec<Value> {
    pushes
        .iter()
        .filter_map(|p| match p {
            Push::Record { record, .. } => {
                let records = mesos_codec::recordio::decode_all(record.clone()).unwrap();
                assert_eq!(records.len(), 1, "one record per push");
                Some(format.decode_event(&records[0]))
            }
            Push::Close { .. } => None,
        })
        .collect()
}

/// Subscribes, launches `sleep 30` on a whole agent, acknowledges, lets it
/// finish, declines, kills an unknown task, reconciles, tears down; returns
/// every byte pushed.
fn script(seed: u64, format: Format) -> Vec<u8> {
    let mut master = Master::new(Config { seed, ..Config::default() });
    let mut pushes = Vec::new();
    let Answer::Stream { stream_id, .. } = call(format, &mut master, 0, None, &subscribe_call("fw"), &mut pushes)
    else {
        panic!("SUBSCRIBE opens a stream")
    };
    let sid = Some(stream_id.as_str());
    let offers = events(format, &pushes).pop().unwrap();
    let offer = &offers["offers"]["offers"][0];
    let launch = json!({"framework_id": {"value": "fw"}, "type": "ACCEPT", "accept": {
        "offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0.0},
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
            "name": "t", "task_id": {"value": "t1"}, "agent_id": offer["agent_id"],
            "resources": offer["resources"], "command": {"value": "sleep 30"}}]}}]}});
    assert_eq!(call(format, &mut master, 1, sid, &launch, &mut pushes), Answer::Accepted);
    for now in [2, 12, 40] {
        let last = events(format, &pushes).into_iter().rev().find(|e| e["type"] == "UPDATE").unwrap();
        let status = &last["update"]["status"];
        let ack = json!({"framework_id": {"value": "fw"}, "type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}});
        assert_eq!(call(format, &mut master, now, sid, &ack, &mut pushes), Answer::Accepted);
        while let Some(t) = master.poll_timeout().filter(|t| *t <= Duration::from_secs(now + 25)) {
            master.handle_timeout(t, &mut pushes);
        }
    }
    let all = events(format, &pushes);
    let states: Vec<&str> = all
        .iter()
        .filter(|e| e["type"] == "UPDATE")
        .map(|e| e["update"]["status"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states.first(), Some(&"TASK_STARTING"));
    assert!(states.contains(&"TASK_RUNNING") && states.contains(&"TASK_FINISHED"), "{states:?}");
    let kill = json!({"framework_id": {"value": "fw"}, "type": "KILL", "kill": {"task_id": {"value": "nope"}}});
    assert_eq!(call(format, &mut master, 70, sid, &kill, &mut pushes), Answer::Accepted);
    let reconcile = json!({"framework_id": {"value": "fw"}, "type": "RECONCILE", "reconcile": {}});
    assert_eq!(call(format, &mut master, 71, sid, &reconcile, &mut pushes), Answer::Accepted);
    let teardown = json!({"framework_id": {"value": "fw"}, "type": "TEARDOWN"});
    assert_eq!(call(format, &mut master, 72, sid, &teardown, &mut pushes), Answer::Accepted);
    assert!(matches!(pushes.last(), Some(Push::Close { .. })));
    let mut bytes = stream_id.into_bytes();
    for push in pushes {
        if let Push::Record { record, .. } = push {
            bytes.extend_from_slice(&record);
        }
    }
    bytes
}

#[test]
fn same_seed_same_bytes() {
    both(|format| {
        let a = script(7, format);
        assert_eq!(a, script(7, format));
        assert_ne!(a, script(8, format));
    });
}

/// Acknowledges every update with a uuid in `pushes` (its acknowledgement
/// may bring the next update, acknowledged in turn).
fn acknowledge_all(format: Format, master: &mut Master, fw: &str, now: u64, sid: Option<&str>, pushes: &mut Vec<Push>) {
    let mut seen = 0;
    loop {
        let out = events(format, pushes);
        let Some(update) =
            out[seen..].iter().find(|e| e["type"] == "UPDATE" && e["update"]["status"].get("uuid").is_some())
        else {
            return;
        };
        seen += out[seen..].iter().position(|e| e == update).unwrap() + 1;
        let ack = ack_call(fw, &update["update"]["status"]);
        assert_eq!(call(format, master, now, sid, &ack, pushes), Answer::Accepted);
    }
}

#[test]
fn invalid_launches_and_merged_offers() {
    both(|format| {
        let mut master = Master::new(Config::default());
        let mut pushes = Vec::new();
        let Answer::Stream { stream_id, .. } = call(format, &mut master, 0, None, &subscribe_call("fw"), &mut pushes)
        else {
            panic!("SUBSCRIBE opens a stream")
        };
        let sid = Some(stream_id.as_str());
        let offers = events(format, &pushes).pop().unwrap();
        let offer = offers["offers"]["offers"][0].clone();
        let task = |id: &str, cpus: f64| {
            json!({"name": id, "task_id": {"value": id}, "agent_id": offer["agent_id"], "command": {"value": "sleep 5"},
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}}]})
        };
        let accept = |offer_ids: Value, tasks: Vec<Value>| {
            json!({"framework_id": {"value": "fw"}, "type": "ACCEPT", "accept": {"offer_ids": offer_ids,
                "filters": {"refuse_seconds": 0.0},
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": tasks}}]}})
        };
        // Too much: TASK_ERROR with the master's text; the offer's resources
        // come back at the next allocation.
        pushes.clear();
        assert_eq!(
            call(format, &mut master, 1, sid, &accept(json!([offer["id"]]), vec![task("big", 3.0)]), &mut pushes),
            Answer::Accepted
        );
        let out = events(format, &pushes);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0]["update"]["status"]["state"], "TASK_ERROR");
        assert_eq!(out[0]["update"]["status"]["reason"], "REASON_TASK_INVALID");
        assert_eq!(out[0]["update"]["status"]["source"], "SOURCE_MASTER");
        assert_eq!(
            out[0]["update"]["status"]["message"],
            "Total resources cpus(allocated: *):3 required by task and its executor is more than available \
             ports(allocated: *):[31000-32000]; cpus(allocated: *):2; mem(allocated: *):996; \
             disk(allocated: *):30509"
        );
        assert!(out[0]["update"]["status"].get("uuid").is_none(), "master-generated updates carry no uuid");
        pushes.clear();
        master.handle_timeout(Duration::from_secs(2), &mut pushes);
        let out = events(format, &pushes);
        assert_eq!(out[0]["type"], "OFFERS");
        let offer = out[0]["offers"]["offers"][0].clone();

        // A stale offer id: TASK_LOST (not partition-aware) for invalid offers.
        pushes.clear();
        assert_eq!(
            call(format, &mut master, 2, sid, &accept(json!([{"value": "gone"}]), vec![task("x", 1.0)]), &mut pushes),
            Answer::Accepted
        );
        assert_eq!(events(format, &pushes)[0]["update"]["status"]["state"], "TASK_LOST");
        assert_eq!(events(format, &pushes)[0]["update"]["status"]["reason"], "REASON_INVALID_OFFERS");

        // Two tasks of 1 cpu from one offer: the unused memory, disk and ports
        // come back at the next allocation as one offer, the cpus as
        // another once both tasks ended (and the master learnt it: each
        // task's updates acknowledged up to TASK_RUNNING); accepted
        // together, the two fragments are one pool.
        pushes.clear();
        let two = accept(json!([offer["id"]]), vec![task("a", 1.0), task("b", 1.0)]);
        assert_eq!(call(format, &mut master, 3, sid, &two, &mut pushes), Answer::Accepted);
        acknowledge_all(format, &mut master, "fw", 3, sid, &mut pushes);
        pushes.clear();
        master.handle_timeout(Duration::from_secs(4), &mut pushes);
        let rest = events(format, &pushes).into_iter().find(|e| e["type"] == "OFFERS").unwrap();
        let rest = rest["offers"]["offers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["agent_id"] == offer["agent_id"])
            .unwrap()
            .clone();
        assert!(rest["resources"].as_array().unwrap().iter().all(|r| r["name"] != "cpus"), "{rest}");
        // At 8 s both end; the allocation of that second (after the agents'
        // news) offers their cpus.
        pushes.clear();
        master.handle_timeout(Duration::from_secs(8), &mut pushes);
        assert_eq!(update_states(&events(format, &pushes)), ["TASK_FINISHED", "TASK_FINISHED"]);
        let freed = events(format, &pushes).into_iter().find(|e| e["type"] == "OFFERS").unwrap();
        let freed = freed["offers"]["offers"][0].clone();
        assert_eq!(
            freed["resources"],
            json!([{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}, "role": "*"}])
        );
        let mut big = task("c", 2.0);
        big["resources"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "mem", "type": "SCALAR", "scalar": {"value": 996.0}}));
        pushes.clear();
        assert_eq!(
            call(
                format,
                &mut master,
                9,
                sid,
                &accept(json!([rest["id"], freed["id"]]), vec![big.clone()]),
                &mut pushes
            ),
            Answer::Accepted
        );
        assert_eq!(events(format, &pushes)[0]["update"]["status"]["state"], "TASK_STARTING");
        // Neither fragment alone would have done.
        let mut other = big;
        other["task_id"] = json!({"value": "d"});
        pushes.clear();
        assert_eq!(
            call(format, &mut master, 10, sid, &accept(json!([rest["id"]]), vec![other]), &mut pushes),
            Answer::Accepted
        );
        assert_eq!(events(format, &pushes)[0]["update"]["status"]["state"], "TASK_LOST", "the offer was used up");
    });
}

/// The walkthrough's calls over HTTP in `format` against a fresh sim on
/// `listener` (a clone of it) with seed 7, checking the stream on the way:
/// every byte of the stream, the `Mesos-Stream-Id` first.
fn http_script(listener: &std::net::TcpListener, format: Format) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = listener.try_clone().unwrap();
    let handle = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        sim::spawn(listener, Config { seed: 7, ..Config::default() }, Clock::Manual).unwrap()
    });
    let addr = handle.local_addr();
    // 200, the stream's type and id (checked by `subscribe`), then
    // SUBSCRIBED with the heartbeat interval, a HEARTBEAT at once, OFFERS.
    let mut stream = RawStream::subscribe(addr, format, &subscribe_call("fw"));
    let sid = stream.stream_id.clone();
    assert_eq!(sid.len(), 36, "a UUID: {sid}");
    let post = |call: &Value| {
        let reply = request(
            addr,
            "POST",
            &[("Content-Type", format.content_type()), ("Mesos-Stream-Id", &sid)],
            &format.encode(call),
        );
        assert_eq!(reply.status, 202, "{}", reply.text());
    };
    let subscribed = stream.next().unwrap();
    assert_eq!(subscribed["type"], "SUBSCRIBED");
    assert_eq!(subscribed["subscribed"]["framework_id"]["value"], "fw");
    assert_eq!(subscribed["subscribed"]["heartbeat_interval_seconds"], 15.0);
    assert_eq!(stream.next().unwrap(), json!({"type": "HEARTBEAT"}));
    let offers = stream.next().unwrap();
    assert_eq!(offers["type"], "OFFERS");
    assert_eq!(offers["offers"]["offers"].as_array().unwrap().len(), 2);
    let offer = &offers["offers"]["offers"][0];
    post(&json!({"framework_id": {"value": "fw"}, "type": "ACCEPT", "accept": {"offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{"name": "t", "task_id": {"value": "t"},
        "agent_id": offer["agent_id"], "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}],
        "command": {"value": "sleep 20"}}]}}]}}));
    // TASK_STARTING, TASK_RUNNING once it is acknowledged, TASK_FINISHED
    // 20 s later; heartbeats every 15 s meanwhile.
    let mut acked = 0;
    let mut seen = Vec::new();
    while acked < 3 {
        let event = stream.next().unwrap();
        seen.push(event["type"].as_str().unwrap().to_owned());
        if event["type"] == "UPDATE" {
            let status = &event["update"]["status"];
            seen.push(status["state"].as_str().unwrap().to_owned());
            post(&json!({"framework_id": {"value": "fw"}, "type": "ACKNOWLEDGE", "acknowledge": {
                "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}}));
            acked += 1;
            if acked == 2 {
                handle.advance(Duration::from_secs(30));
            }
        }
    }
    let seen: Vec<&str> = seen.iter().map(String::as_str).filter(|t| *t != "UPDATE").collect();
    // At 5 s the unused remainder comes back (the default filter), at 15 s
    // the heartbeat, at 20 s the end of `sleep 20`.
    assert_eq!(seen, ["TASK_STARTING", "TASK_RUNNING", "OFFERS", "HEARTBEAT", "TASK_FINISHED"]);
    // TEARDOWN ends the stream (the closing chunk).
    post(&json!({"framework_id": {"value": "fw"}, "type": "TEARDOWN"}));
    // (What was already on its way comes first: the 30 s heartbeat and the
    // re-sent TASK_FINISHED, acknowledged only after the clock moved.)
    while stream.next().is_some() {}
    let mut bytes = stream.stream_id.clone().into_bytes();
    bytes.extend_from_slice(&stream.raw);
    drop(handle);
    drop(runtime);
    bytes
}

#[test]
fn same_seed_same_bytes_over_http() {
    both(|format| {
        // Both runs on one socket: the bytes name its port.
        let listener = test_support::own_listener();
        assert_eq!(http_script(&listener, format), http_script(&listener, format), "{format:?}");
    });
}

#[test]
fn decline_filters_suppress_revive_disconnect_and_failover_timeout() {
    both(|format| {
        let mut master = Master::new(Config::default());
        let mut pushes = Vec::new();
        let mut subscribe = subscribe_call("fw");
        subscribe["subscribe"]["framework_info"]["failover_timeout"] = json!(30.0);
        let Answer::Stream { stream, stream_id, .. } = call(format, &mut master, 0, None, &subscribe, &mut pushes)
        else {
            panic!("SUBSCRIBE opens a stream")
        };
        let sid = Some(stream_id.as_str());
        let offers = events(format, &pushes).pop().unwrap();
        let ids: Vec<Value> = offers["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();

        // DECLINE for 20 s: nothing until then, then everything again.
        pushes.clear();
        let decline = json!({"framework_id": {"value": "fw"}, "type": "DECLINE",
            "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 20.0}}});
        assert_eq!(call(format, &mut master, 1, sid, &decline, &mut pushes), Answer::Accepted);
        assert!(events(format, &pushes).is_empty());
        assert_eq!(master.poll_timeout(), Some(Duration::from_secs(1)), "the first allocation");
        while let Some(t) = master.poll_timeout().filter(|t| *t < Duration::from_secs(21)) {
            master.handle_timeout(t, &mut pushes);
        }
        assert_eq!(events(format, &pushes), [json!({"type": "HEARTBEAT"})], "the allocations until 21 s offer nothing");
        pushes.clear();
        let t = master.next_allocation();
        assert!(t < Duration::from_millis(21_100), "{t:?}: a little more than a second apart");
        master.handle_timeout(t, &mut pushes);
        let back = events(format, &pushes);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0]["offers"]["offers"].as_array().unwrap().len(), 2);
        let ids: Vec<Value> = back[0]["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();

        // SUPPRESS: declined resources are not offered again, even after the
        // filter; REVIVE clears filters and offers at once.
        let suppress = json!({"framework_id": {"value": "fw"}, "type": "SUPPRESS"});
        assert_eq!(call(format, &mut master, 22, sid, &suppress, &mut pushes), Answer::Accepted);
        let decline = json!({"framework_id": {"value": "fw"}, "type": "DECLINE", "decline": {"offer_ids": ids}});
        assert_eq!(call(format, &mut master, 22, sid, &decline, &mut pushes), Answer::Accepted);
        pushes.clear();
        master.handle_timeout(Duration::from_secs(28), &mut pushes);
        assert!(events(format, &pushes).is_empty(), "suppressed: {:?}", events(format, &pushes));
        let revive = json!({"framework_id": {"value": "fw"}, "type": "REVIVE"});
        assert_eq!(call(format, &mut master, 29, sid, &revive, &mut pushes), Answer::Accepted);
        assert_eq!(events(format, &pushes)[0]["type"], "OFFERS");

        // The connection drops: offers rescinded, 403 until it subscribes
        // again, when they are offered again; after the failover timeout with
        // no subscription the framework is removed.
        pushes.clear();
        master.stream_closed(stream, Duration::from_secs(30), &mut pushes);
        assert!(pushes.is_empty());
        let teardown = json!({"framework_id": {"value": "fw"}, "type": "TEARDOWN"});
        assert_eq!(
            call(format, &mut master, 31, sid, &teardown, &mut pushes),
            Answer::Error { status: 403, message: "Framework is not subscribed".into() }
        );
        let Answer::Stream { stream, .. } = call(format, &mut master, 32, None, &subscribe, &mut pushes) else {
            panic!("SUBSCRIBE opens a stream")
        };
        let types: Vec<Value> = events(format, &pushes).iter().map(|e| e["type"].clone()).collect();
        assert_eq!(types, [json!("SUBSCRIBED"), json!("HEARTBEAT"), json!("OFFERS")]);
        master.stream_closed(stream, Duration::from_secs(40), &mut pushes);
        master.handle_timeout(Duration::from_secs(69), &mut pushes);
        let still = call(format, &mut master, 69, sid, &teardown, &mut pushes);
        assert_eq!(still, Answer::Error { status: 403, message: "Framework is not subscribed".into() });
        master.handle_timeout(Duration::from_secs(70), &mut pushes);
        let gone = call(format, &mut master, 70, sid, &teardown, &mut pushes);
        assert_eq!(gone, Answer::Error { status: 400, message: "Framework cannot be found".into() });
    });
}

#[test]
fn reconciliation() {
    both(|format| {
        let mut master = Master::new(Config::default());
        let mut pushes = Vec::new();
        let Answer::Stream { stream_id, .. } = call(format, &mut master, 0, None, &subscribe_call("fw"), &mut pushes)
        else {
            panic!("SUBSCRIBE opens a stream")
        };
        let sid = Some(stream_id.as_str());
        let offer = events(format, &pushes).pop().unwrap()["offers"]["offers"][0].clone();
        let launch = json!({"framework_id": {"value": "fw"}, "type": "ACCEPT", "accept": {"offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{"name": "t", "task_id": {"value": "t"},
            "agent_id": offer["agent_id"], "command": {"value": "sleep 100"},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}]}]}}]}});
        assert_eq!(call(format, &mut master, 1, sid, &launch, &mut pushes), Answer::Accepted);
        // Reconciliation tells the state of the last update the master
        // forwarded: TASK_RUNNING once TASK_STARTING is acknowledged.
        acknowledge_all(format, &mut master, "fw", 1, sid, &mut pushes);
        pushes.clear();
        let update = json!({"framework_id": {"value": "fw"}, "type": "UPDATE_FRAMEWORK", "update_framework": {
            "framework_info": {"user": "root", "name": "renamed", "id": {"value": "fw"}}}});
        assert_eq!(call(format, &mut master, 2, sid, &update, &mut pushes), Answer::Ok);
        let mut wrong = update.clone();
        wrong["update_framework"]["framework_info"]["id"]["value"] = json!("other");
        assert_eq!(
            call(format, &mut master, 2, sid, &wrong, &mut pushes),
            Answer::Error {
                status: 400,
                message: "Failed to validate scheduler::Call: 'framework_id' differs from \
                          'update_framework.framework_info.id'"
                    .into()
            }
        );
        let implicit = json!({"framework_id": {"value": "fw"}, "type": "RECONCILE", "reconcile": {}});
        assert_eq!(call(format, &mut master, 2, sid, &implicit, &mut pushes), Answer::Accepted);
        let out = events(format, &pushes);
        assert_eq!(out.len(), 1);
        let status = &out[0]["update"]["status"];
        assert_eq!(status["state"], "TASK_RUNNING");
        assert_eq!(status["reason"], "REASON_RECONCILIATION");
        assert_eq!(status["message"], "Reconciliation: Latest task state");
        pushes.clear();
        let explicit = json!({"framework_id": {"value": "fw"}, "type": "RECONCILE", "reconcile": {"tasks": [
            {"task_id": {"value": "t"}}, {"task_id": {"value": "nope"}}]}});
        assert_eq!(call(format, &mut master, 3, sid, &explicit, &mut pushes), Answer::Accepted);
        let states: Vec<Value> =
            events(format, &pushes).iter().map(|e| e["update"]["status"]["state"].clone()).collect();
        assert_eq!(states, [json!("TASK_RUNNING"), json!("TASK_LOST")]);
    });
}

/// The binary itself, on the real clock: heartbeats come by themselves.
#[test]
fn binary_on_a_real_clock() {
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Kill(
        Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
            .args(["sim", "--listen", "127.0.0.1:0", "--heartbeat", "0.2", "--seed", "7", "--agents", "3"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr: SocketAddr = line.trim().rsplit(' ').next().unwrap().parse().expect("the address on stderr");
    let started = std::time::Instant::now();
    let mut stream =
        CurlStream::subscribe(&format!("http://{addr}/master/api/v1/scheduler"), &fixture_path("01-register.json"));
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next().unwrap()["subscribed"]["heartbeat_interval_seconds"], 0.2);
    assert_eq!(stream.next().unwrap()["type"], "HEARTBEAT");
    assert_eq!(stream.next().unwrap()["offers"]["offers"].as_array().unwrap().len(), 3);
    // Three more, each 0.2 s after the last, all after `started`.
    for _ in 0..3 {
        assert_eq!(stream.next().unwrap()["type"], "HEARTBEAT");
    }
    assert!(started.elapsed() >= Duration::from_millis(600), "{:?}", started.elapsed());
}

/// A real master has a fresh id at every start; so has the sim unless
/// `--seed` is given. It prints the seed it drew, and given back, the seed
/// makes the same master again.
#[test]
fn a_fresh_seed_at_every_start_unless_given() {
    fn start(args: &[&str]) -> (String, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
            .args(["sim", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        // mesos-replay sim: master <id> (--seed <n>) listening on <addr>
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[..3], ["mesos-replay", "sim:", "master"], "{line}");
        assert_eq!(words[4], "(--seed", "{line}");
        (words[3].to_owned(), words[5].trim_end_matches(')').to_owned())
    }
    let (a, seed_a) = start(&[]);
    let (b, seed_b) = start(&[]);
    assert_ne!(a, b, "two starts, two master ids");
    assert_ne!(seed_a, seed_b);
    assert_eq!(start(&["--seed", &seed_a]), (a, seed_a));
    assert_eq!(start(&["--seed", "7"]), start(&["--seed", "7"]));
}

// ----- more of the sans-IO master, each in both encodings -----

/// The events of one stream.
fn events_of(format: Format, pushes: &[Push], stream: sim::StreamKey) -> Vec<Value> {
    let mine: Vec<Push> = pushes
        .iter()
        .filter(|p| matches!(p, Push::Record { stream: s, .. } | Push::Close { stream: s } if *s == stream))
        .cloned()
        .collect();
    events(format, &mine)
}

fn subscribed(
    format: Format,
    master: &mut Master,
    now: u64,
    id: &str,
    pushes: &mut Vec<Push>,
) -> (sim::StreamKey, String) {
    match call(format, master, now, None, &subscribe_call(id), pushes) {
        Answer::Stream { stream, stream_id, content_type } => {
            assert_eq!(content_type.as_str(), format.content_type());
            (stream, stream_id)
        }
        other => panic!("SUBSCRIBE opens a stream: {other:?}"),
    }
}

fn launch_call(fw: &str, offer_ids: Value, agent: &Value, task: &str, cpus: f64, command: &str, refuse: f64) -> Value {
    json!({"framework_id": {"value": fw}, "type": "ACCEPT", "accept": {"offer_ids": offer_ids,
        "filters": {"refuse_seconds": refuse},
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{"name": task, "task_id": {"value": task},
        "agent_id": agent, "command": {"value": command},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
                      {"name": "mem", "type": "SCALAR", "scalar": {"value": 100.0}}]}]}}]}})
}

fn ack_call(fw: &str, status: &Value) -> Value {
    json!({"framework_id": {"value": fw}, "type": "ACKNOWLEDGE", "acknowledge": {
        "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}})
}

fn update_states(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "UPDATE")
        .map(|e| e["update"]["status"]["state"].as_str().unwrap().into())
        .collect()
}

/// TASK_STARTING, then TASK_RUNNING only once it is acknowledged; an
/// update not acknowledged is re-sent after 10 s, then 20 s; KILL gives
/// TASK_KILLED and the task's resources come back in an offer.
#[test]
fn updates_resent_until_acknowledged_and_kill() {
    both(|format| {
        let mut master = Master::new(Config::default());
        let mut pushes = Vec::new();
        let (_, sid) = subscribed(format, &mut master, 0, "fw", &mut pushes);
        let sid = Some(sid.as_str());
        let offers = events(format, &pushes).pop().unwrap();
        let offer = offers["offers"]["offers"][0].clone();
        let ids: Vec<Value> = offers["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
        pushes.clear();
        let launch = launch_call("fw", json!([offer["id"]]), &offer["agent_id"], "t", 2.0, "sleep 1000", 1000.0);
        assert_eq!(call(format, &mut master, 1, sid, &launch, &mut pushes), Answer::Accepted);
        let out = events(format, &pushes);
        assert_eq!(update_states(&out), ["TASK_STARTING"], "one update at a time");
        let starting = out[0]["update"]["status"].clone();
        assert_eq!(starting["source"], "SOURCE_EXECUTOR");
        assert!(starting.get("uuid").is_some());
        pushes.clear();
        let decline = json!({"framework_id": {"value": "fw"}, "type": "DECLINE",
            "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 1000.0}}});
        assert_eq!(call(format, &mut master, 1, sid, &decline, &mut pushes), Answer::Accepted);

        // Re-sent after 10 s, then after 20 more, the same uuid each time;
        // heartbeats every 15 s; the allocations every second offer
        // nothing (all is filtered or used).
        let mut at = Vec::new();
        while let Some(t) = master.poll_timeout().filter(|t| *t <= Duration::from_secs(31)) {
            let mut now = Vec::new();
            master.handle_timeout(t, &mut now);
            for event in events(format, &now) {
                at.push((t.as_secs(), event));
            }
        }
        let when = |ty: &str| at.iter().filter(|(_, e)| e["type"] == ty).map(|(t, _)| *t).collect::<Vec<_>>();
        assert_eq!(when("UPDATE"), [11, 31]);
        assert_eq!(when("HEARTBEAT"), [15, 30]);
        assert_eq!(at.len(), 4, "{at:?}");
        assert_eq!(at[0].1, json!({"type": "UPDATE", "update": {"status": starting.clone()}}));

        // ACKNOWLEDGE: TASK_RUNNING follows at once; a wrong uuid does nothing.
        pushes.clear();
        let mut wrong = starting.clone();
        wrong["uuid"] = json!("AAAAAAAAQAAAAAAAAAAAAA==");
        assert_eq!(call(format, &mut master, 32, sid, &ack_call("fw", &wrong), &mut pushes), Answer::Accepted);
        assert!(pushes.is_empty());
        assert_eq!(call(format, &mut master, 32, sid, &ack_call("fw", &starting), &mut pushes), Answer::Accepted);
        let out = events(format, &pushes);
        assert_eq!(update_states(&out), ["TASK_RUNNING"]);
        let running = out[0]["update"]["status"].clone();
        assert_ne!(running["uuid"], starting["uuid"]);
        pushes.clear();
        assert_eq!(call(format, &mut master, 33, sid, &ack_call("fw", &running), &mut pushes), Answer::Accepted);
        assert!(pushes.is_empty());

        // KILL: TASK_KILLED, and the whole agent is free again: offered at
        // the next allocation, although the framework refused what the
        // launch left for 1000 s (a filter holds only while the agent has
        // no more than was refused).
        let kill = json!({"framework_id": {"value": "fw"}, "type": "KILL", "kill": {"task_id": {"value": "t"},
            "agent_id": offer["agent_id"]}});
        assert_eq!(call(format, &mut master, 34, sid, &kill, &mut pushes), Answer::Accepted);
        let out = events(format, &pushes);
        assert_eq!(update_states(&out), ["TASK_KILLED"]);
        assert_eq!(out[0]["update"]["status"]["message"], "Command terminated with signal Terminated");
        assert_eq!(out.len(), 1, "nothing offered before the next allocation: {out:?}");
        pushes.clear();
        master.handle_timeout(Duration::from_secs(35), &mut pushes);
        let out = events(format, &pushes);
        let back = out[0]["offers"]["offers"].as_array().unwrap().iter().find(|o| o["agent_id"] == offer["agent_id"]);
        assert_eq!(back.unwrap()["resources"], offer["resources"], "all of it");
    });
}

/// Launches with invalid offers: TASK_LOST for a framework that is not
/// partition-aware, TASK_DROPPED for one that is.
#[test]
fn invalid_offers_lost_or_dropped() {
    both(|format| {
        let mut master = Master::new(Config::default());
        let mut pushes = Vec::new();
        let mut subscribe = subscribe_call("fw");
        subscribe["subscribe"]["framework_info"]["capabilities"] = json!([{"type": "PARTITION_AWARE"}]);
        let Answer::Stream { stream_id, .. } = call(format, &mut master, 0, None, &subscribe, &mut pushes) else {
            panic!("SUBSCRIBE opens a stream")
        };
        pushes.clear();
        let agent = json!({"value": master.agent_ids()[0]});
        let launch = launch_call("fw", json!([{"value": "gone"}]), &agent, "t", 1.0, "sleep 1", 0.0);
        assert_eq!(call(format, &mut master, 1, Some(&stream_id), &launch, &mut pushes), Answer::Accepted);
        let status = &events(format, &pushes)[0]["update"]["status"];
        assert_eq!(status["state"], "TASK_DROPPED");
        assert_eq!(status["reason"], "REASON_INVALID_OFFERS");
        assert_eq!(status["message"], "Task launched with invalid offers: Offer gone is no longer valid");
    });
}

/// Three frameworks share the two agents, each declining every offer
/// (refusing for 0 s): at each allocation (every second) the agents go to
/// the frameworks with the lowest dominant share (`cpus`, `mem`, `disk`
/// offered or used, over the cluster's); among equal shares to the one
/// that received fewer allocations, then by name, as Mesos's DRF sorter
/// orders them. `a` runs a task (a share above 0): it gets nothing while
/// `b` and `c` take the agents; once its task is killed, it has had the
/// fewest allocations and goes first.
#[test]
fn offers_by_drf() {
    both(|format| {
        let mut master = Master::new(Config::default());
        let mut pushes = Vec::new();
        let mut streams = Vec::new();
        for fw in ["a", "b", "c"] {
            let (stream, sid) = subscribed(format, &mut master, 0, fw, &mut pushes);
            streams.push((fw, stream, sid));
        }
        // `a` subscribed first and got both agents; it runs a task on one.
        let offers = events_of(format, &pushes, streams[0].1).pop().unwrap();
        assert_eq!(offers["type"], "OFFERS");
        let offers = offers["offers"]["offers"].as_array().unwrap().clone();
        assert_eq!(offers.len(), 2);
        let (on, other) = (&offers[0], &offers[1]);
        let sid_a = Some(streams[0].2.as_str());
        let launch = launch_call("a", json!([on["id"]]), &on["agent_id"], "t", 1.0, "sleep 1000", 0.0);
        pushes.clear();
        assert_eq!(call(format, &mut master, 0, sid_a, &launch, &mut pushes), Answer::Accepted);
        acknowledge_all(format, &mut master, "a", 0, sid_a, &mut pushes);
        let decline = |fw: &str, ids: Vec<Value>| {
            json!({"framework_id": {"value": fw}, "type": "DECLINE",
                "decline": {"offer_ids": ids, "filters": {"refuse_seconds": 0.0}}})
        };
        assert_eq!(
            call(format, &mut master, 0, sid_a, &decline("a", vec![other["id"].clone()]), &mut pushes),
            Answer::Accepted
        );

        // At each allocation: who got an offer (each declines it at once).
        let tick = |master: &mut Master| -> Vec<&str> {
            let mut pushes = Vec::new();
            let t = master.next_allocation();
            master.handle_timeout(t, &mut pushes);
            let mut got = Vec::new();
            for (fw, stream, sid) in &streams {
                for event in events_of(format, &pushes, *stream).into_iter().filter(|e| e["type"] == "OFFERS") {
                    let ids: Vec<Value> =
                        event["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
                    for _ in &ids {
                        got.push(*fw);
                    }
                    let mut out = Vec::new();
                    let answer = call_at(format, master, t, Some(sid), &decline(fw, ids), &mut out);
                    assert_eq!(answer, Answer::Accepted);
                }
            }
            got
        };
        for n in 1..=4 {
            assert_eq!(tick(&mut master), ["b", "c"], "allocation {n}: the two with no share");
        }
        // Kill `a`'s task: its share is 0 again, and it had 2 allocations
        // to the others' 4 each.
        let kill = json!({"framework_id": {"value": "a"}, "type": "KILL", "kill": {"task_id": {"value": "t"}}});
        let mut out = Vec::new();
        let now = master.next_allocation() - Duration::from_millis(500);
        assert_eq!(call_at(format, &mut master, now, sid_a, &kill, &mut out), Answer::Accepted);
        assert_eq!(update_states(&events(format, &out)), ["TASK_KILLED"]);
        // counts a 2, b 4, c 4: a, then b (by name); a 3, b 5, c 4: a, c;
        // a 4, b 5, c 5: a, b; a 5, b 6, c 5: a, c; a 6, b 6, c 6: a, b.
        let expected = [["a", "b"], ["a", "c"], ["a", "b"], ["a", "c"], ["a", "b"]];
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(&tick(&mut master), want, "allocation {}", 5 + n);
        }
    });
}

// ----- `sim --record` -----

use test_support::temp_dir;

/// SUBSCRIBE, ACCEPT with a LAUNCH, ACKNOWLEDGE, TEARDOWN with `--record`
/// on the virtual clock: the address it served on, the session file's
/// bytes and the records curl received.
fn recorded_run(listener: &std::net::TcpListener, dir: &std::path::Path) -> (SocketAddr, Vec<u8>, Vec<Bytes>) {
    let listener = listener.try_clone().unwrap();
    let sim = Sim::start_on(Config { seed: 13, record: Some(dir.to_owned()), ..Config::default() }, listener);
    let url = sim.url();
    let mut received = Vec::new();
    let mut stream = CurlStream::subscribe(&url, &fixture_path("01-register.json"));
    assert_eq!(stream.status, 200);
    let stream_id = stream.header("mesos-stream-id").unwrap().to_owned();
    for _ in 0..3 {
        received.push(stream.next_record().unwrap()); // SUBSCRIBED, HEARTBEAT, OFFERS
    }
    let offers: Value = serde_json::from_slice(&received[2]).unwrap();
    let slave0 = offer_for(&offers, 0).clone();
    let mut launch = fixture("02-launch_task.json");
    launch["accept"]["offer_ids"] = json!([slave0["id"]]);
    launch["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"] = slave0["agent_id"].clone();
    assert_eq!(curl_call(&url, Some(&stream_id), &launch).0, 202);
    received.push(stream.next_record().unwrap());
    let starting: Value = serde_json::from_slice(&received[3]).unwrap();
    assert_eq!(starting["update"]["status"]["state"], "TASK_STARTING");
    let mut ack = fixture("03-acknowledge.json");
    for key in ["agent_id", "task_id", "uuid"] {
        ack["acknowledge"][key] = starting["update"]["status"][key].clone();
    }
    assert_eq!(curl_call(&url, Some(&stream_id), &ack).0, 202);
    received.push(stream.next_record().unwrap());
    assert_eq!(curl_call(&url, Some(&stream_id), &fixture("08-teardown.json")).0, 202);
    while let Some(record) = stream.next_record() {
        received.push(record);
    }
    let addr = sim.addr();
    drop(sim);
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one framework, one file: {files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    let stamp = name.strip_prefix("test13-").and_then(|s| s.strip_suffix(".session.jsonl")).unwrap_or_else(|| {
        panic!("named <framework id>-<UTC start time>.session.jsonl: {name}");
    });
    assert!(
        stamp.len() == 20 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z') && stamp.as_bytes()[15] == b'.',
        "a UTC stamp like 20261124T221031.257Z: {stamp}"
    );
    (addr, std::fs::read(&files[0]).unwrap(), received)
}

#[test]
fn record_sessions_deterministically() {
    use mesos_codec::session::{EntryKind, Item, Party, Reader, Source};

    let dir = temp_dir("record-1");
    // Both runs on one socket: the sessions name its port.
    let listener = test_support::own_listener();
    let (addr, bytes, received) = recorded_run(&listener, &dir);
    let mut reader = Reader::new();
    reader.push(&bytes);
    let mut items = Vec::new();
    while let Some(item) = reader.next_item().expect("every line reads") {
        items.push(item);
    }
    assert!(reader.finish().is_none(), "no torn line");
    let Item::Header(header) = &items[0] else { panic!("a header first: {:?}", items[0]) };
    assert_eq!(header.source, Source::Sim);
    assert_eq!(header.master.as_deref(), Some(format!("http://{addr}").as_str()));
    let entries: Vec<_> = items[1..]
        .iter()
        .map(|item| match item {
            Item::Entry(entry) => entry.clone(),
            Item::Header(_) => panic!("one header"),
        })
        .collect();
    for (n, entry) in entries.iter().enumerate() {
        assert_eq!(entry.seq, n as u64);
    }
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.name()).collect();
    #[rustfmt::skip]
    assert_eq!(
        kinds,
        [
            "request", "response", "event", "event", "event", // SUBSCRIBE
            "request", "response", "event",                   // ACCEPT
            "request", "response", "event",                   // ACKNOWLEDGE
            "request", "response", "close", "end",            // TEARDOWN
        ]
    );
    let calls: Vec<&str> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Request(r) => {
                assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/api/v1/scheduler"));
                assert_eq!(r.summary.format.map(|f| f.as_str()), Some("json"));
                assert_eq!(r.summary.framework_id.as_deref(), Some("test13"));
                assert!(
                    r.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json")
                );
                serde_json::from_slice::<Value>(&r.body).expect("the body as sent");
                r.summary.name.as_deref()
            }
            _ => None,
        })
        .collect();
    assert_eq!(calls, ["SUBSCRIBE", "ACCEPT", "ACKNOWLEDGE", "TEARDOWN"]);
    let EntryKind::Response(subscribed) = &entries[1].kind else { unreachable!() };
    assert_eq!((subscribed.request, subscribed.status, subscribed.stream), (Some(0), 200, true));
    for n in [6, 9, 12] {
        let EntryKind::Response(r) = &entries[n].kind else { unreachable!() };
        assert_eq!((r.request, r.status, r.stream, r.body.is_empty()), (Some(n as u64 - 1), 202, false, true));
    }
    let events: Vec<_> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Event(event) => Some(event),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e.summary.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["SUBSCRIBED", "HEARTBEAT", "OFFERS", "UPDATE", "UPDATE"]);
    assert_eq!(events.len(), received.len());
    for (event, record) in events.iter().zip(&received) {
        assert_eq!(event.stream, 1);
        assert_eq!(event.record, record.as_ref(), "the record as the client received it");
        assert_eq!(event.chunks, None);
    }
    assert_eq!(events[0].summary.framework_id.as_deref(), Some("test13"));
    let EntryKind::Close(close) = &entries[13].kind else { unreachable!() };
    assert_eq!((close.stream, close.by), (Some(1), Party::Master));
    let EntryKind::End(end) = &entries[14].kind else { unreachable!() };
    assert_eq!((end.entries, end.complete), (14, true));

    // The same seed on the same address: the same file but for the header.
    let dir2 = temp_dir("record-2");
    let (_, bytes2, received2) = recorded_run(&listener, &dir2);
    assert_eq!(received2, received);
    let body = |bytes: &[u8]| bytes[bytes.iter().position(|&b| b == b'\n').unwrap() + 1..].to_vec();
    assert_eq!(String::from_utf8(body(&bytes2)).unwrap(), String::from_utf8(body(&bytes)).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

/// `sim --record` records through the recording core, as the proxy does:
/// credentials redacted, a call that does not read noted, and at the end
/// the stream still open closed by the recorder before the `end`.
#[test]
fn recorded_sessions_are_redacted_noted_and_closed_at_the_end() {
    use mesos_codec::session::{EntryKind, Item, Party, Reader};

    let dir = temp_dir("record-core");
    let sim = Sim::start(Config { record: Some(dir.clone()), ..Config::default() });
    let addr = sim.addr();
    let call = Format::Json.encode(&subscribe_call("fw-secret"));
    let headers = [("Content-Type", "application/json"), ("Authorization", "Basic cHJpbmNpcGFsOnNlY3JldA==")];
    let mut reader = send(addr, "POST", &headers, &call);
    let (status, _) = read_head(&mut reader);
    assert_eq!(status, 200);
    read_chunk(&mut reader).expect("SUBSCRIBED");
    let bad = [("Content-Type", "application/json")];
    let reply = request(
        addr,
        "POST",
        &bad,
        br#"{"framework_id":{"value":"fw-secret"},"type":"DECLINE","decline":{"offer_ids":7}}"#,
    );
    assert_eq!(reply.status, 400);
    drop(sim);
    let files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    let file = files.iter().find(|f| f.file_name().unwrap().to_string_lossy().starts_with("fw-secret-")).unwrap();
    let mut session = Reader::new();
    session.push(&std::fs::read(file).unwrap());
    let mut entries = Vec::new();
    while let Some(item) = session.next_item().expect("every line reads") {
        if let Item::Entry(entry) = item {
            entries.push(entry);
        }
    }
    let EntryKind::Request(subscribe) = &entries[0].kind else { panic!("{:?}", entries[0]) };
    let auth = subscribe.headers.iter().find(|(k, _)| k == "Authorization").unwrap();
    assert_eq!(auth.1, "<redacted:1>");
    let noted = entries.iter().any(
        |e| matches!(&e.kind, EntryKind::Note(n) if n.message.starts_with("request body does not read as a v1 call")),
    );
    assert!(noted, "{entries:?}");
    let n = entries.len();
    assert!(
        matches!(&entries[n - 2].kind, EntryKind::Close(c) if c.stream == Some(1) && c.by == Party::Proxy && c.reason.as_deref() == Some("the simulator stopped")),
        "{:?}",
        entries[n - 2]
    );
    assert!(matches!(&entries[n - 1].kind, EntryKind::End(end) if end.complete && end.entries == n as u64 - 1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A master keeps the last 50 removed frameworks
/// (`--max_completed_frameworks`) and forgets the older ones; so does the
/// sim, which kept them all and grew without bound in a soak.
#[test]
fn the_last_fifty_removed_frameworks_are_kept() {
    let sim = Sim::start(Config::default());
    let addr = sim.addr();
    for n in 0..55 {
        let id = format!("fw{n}");
        let mut stream = RawStream::subscribe(addr, Format::Json, &subscribe_call(&id));
        assert_eq!(stream.next().unwrap()["type"], "SUBSCRIBED");
        let teardown = json!({"framework_id": {"value": id}, "type": "TEARDOWN"});
        let headers = [("Content-Type", "application/json"), ("Mesos-Stream-Id", stream.stream_id.as_str())];
        let reply = request(addr, "POST", &headers, &Format::Json.encode(&teardown));
        assert_eq!(reply.status, 202, "TEARDOWN of {id}");
    }
    let get = |path: &str| -> Value {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(WAIT)).unwrap();
        conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
        let mut reader = BufReader::new(conn);
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status, 200, "{path}");
        let length: usize =
            headers.iter().find(|(k, _)| k == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap();
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    };
    let state = get("/master/state");
    let completed: Vec<&str> =
        state["completed_frameworks"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    let expected: Vec<String> = (5..55).map(|n| format!("fw{n}")).collect();
    assert_eq!(completed, expected);
    // Their metrics go with them (a master's go with the Framework it frees).
    let metrics = get("/metrics/snapshot");
    let of = |id: &str| metrics.as_object().unwrap().keys().any(|k| k.starts_with(&format!("master/frameworks/{id}/")));
    assert!(!of("fw4") && of("fw5") && of("fw54"), "per-framework metrics of the last fifty only");
}
