//! `mesos-replay sim --fault` (issue 20) on the wire: each fault seen by a
//! raw HTTP/1.1 client (std only: the bytes sent are the bytes written, the
//! chunks read are the chunks the server wrote), on a virtual clock so
//! that time moves only when a test says; the same seed, calls and faults
//! give the same bytes; a SPEC that does not parse stops the binary with
//! exit status 1 and says what is wrong.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use mesos_codec::recordio::Decoder;
use mesos_replay::sim::faults::{Fault, scenario};
use mesos_replay::sim::{self, Clock, Config};
use serde_json::{Value, json};

const SCHEDULER: &str = "/api/v1/scheduler";
const WAIT: Duration = Duration::from_secs(10);

struct Sim {
    handle: sim::SimHandle,
    _runtime: tokio::runtime::Runtime,
}

/// A listener on a port of the kernel's choice.
fn any_port() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    listener
}

impl Sim {
    fn start(faults: &[&str], config: Config) -> Sim {
        Sim::start_on(&any_port(), faults, config)
    }

    fn start_on(listener: &std::net::TcpListener, faults: &[&str], config: Config) -> Sim {
        Sim::start_with(listener, faults.iter().map(|f| Fault::parse(f).unwrap()).collect(), config)
    }

    /// On a clone of `listener` (a test that runs twice on one port holds
    /// it in between).
    fn start_with(listener: &std::net::TcpListener, faults: Vec<Fault>, config: Config) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = listener.try_clone().unwrap();
        let handle = runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            sim::spawn(listener, Config { faults, ..config }, Clock::Manual).unwrap()
        });
        Sim { handle, _runtime: runtime }
    }

    fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    fn advance_ms(&self, ms: u64) {
        self.handle.advance(Duration::from_millis(ms));
    }
}

// ----- a raw client -----

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

struct Head {
    raw: Vec<u8>,
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.writer.write_all(&bytes).unwrap();
    }

    fn head(&mut self) -> Head {
        let mut raw = Vec::new();
        let mut status = 0;
        let mut headers = Vec::new();
        loop {
            let mut line = Vec::new();
            assert!(self.reader.read_until(b'\n', &mut line).unwrap() > 0, "closed inside a head");
            raw.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            if status == 0 {
                status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
            } else if text.is_empty() {
                return Head { raw, status, headers };
            } else if let Some((name, value)) = text.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }

    /// A whole answer: its head and body.
    fn answer(&mut self) -> (Head, String) {
        let head = self.head();
        let len: usize = head.header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        (head, String::from_utf8(body).unwrap())
    }

    /// One chunk: its size line as written and its data (empty: the last).
    fn chunk(&mut self) -> (String, Vec<u8>) {
        let mut line = String::new();
        assert!(self.reader.read_line(&mut line).unwrap() > 0, "closed inside a chunked body");
        let size_line = line.trim_end_matches("\r\n").to_owned();
        let size = usize::from_str_radix(&size_line, 16).unwrap();
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).unwrap();
        assert_eq!(&data[size..], b"\r\n");
        data.truncate(size);
        (size_line, data)
    }

    /// Whether anything arrives (or the peer closes) within `wait`.
    fn quiet_for(&mut self, wait: Duration) -> bool {
        if !self.reader.buffer().is_empty() {
            return false;
        }
        self.writer.set_read_timeout(Some(wait)).unwrap();
        let quiet = match self.reader.fill_buf() {
            // Bytes, or the end of the connection.
            Ok(_) => false,
            Err(e) => matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        };
        self.writer.set_read_timeout(Some(WAIT)).unwrap();
        quiet
    }
}

fn call(addr: SocketAddr, stream_id: &str, body: &Value) -> (Head, String) {
    let mut conn = Conn::open(addr);
    let body = body.to_string();
    conn.send(
        "POST",
        SCHEDULER,
        &[("Content-Type", "application/json"), ("Mesos-Stream-Id", stream_id)],
        body.as_bytes(),
    );
    conn.answer()
}

/// A framework's event stream, read chunk by chunk.
struct Framework {
    conn: Conn,
    head: Head,
    decoder: Decoder,
    id: String,
    stream_id: String,
    /// Every chunk as it came: size line and data.
    chunks: Vec<(String, Vec<u8>)>,
    /// Every event read.
    events: Vec<Value>,
}

impl Framework {
    fn subscribe(addr: SocketAddr, name: &str) -> Framework {
        Framework::subscribe_as(addr, name, None)
    }

    /// SUBSCRIBE, with the framework id `id` if given (a re-subscription).
    fn subscribe_as(addr: SocketAddr, name: &str, id: Option<&str>) -> Framework {
        let mut conn = Conn::open(addr);
        let mut body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "root", "name": name, "failover_timeout": 60.0}}});
        if let Some(id) = id {
            body["framework_id"] = json!({"value": id});
            body["subscribe"]["framework_info"]["id"] = json!({"value": id});
        }
        let body = body.to_string();
        conn.send(
            "POST",
            SCHEDULER,
            &[("Content-Type", "application/json"), ("Accept", "application/json")],
            body.as_bytes(),
        );
        let head = conn.head();
        assert_eq!(head.status, 200, "SUBSCRIBE: {}", String::from_utf8_lossy(&head.raw));
        let stream_id = head.header("Mesos-Stream-Id").unwrap().to_owned();
        let mut f = Framework {
            conn,
            head,
            decoder: Decoder::new(),
            id: String::new(),
            stream_id,
            chunks: Vec::new(),
            events: Vec::new(),
        };
        let subscribed = f.next();
        if subscribed["type"] == "SUBSCRIBED" {
            f.id = subscribed["subscribed"]["framework_id"]["value"].as_str().unwrap().to_owned();
        }
        f
    }

    /// Reads what is left of the stream: whether it ended with its last
    /// chunk (`true`) or the connection closed without it (`false`).
    fn ends(&mut self) -> bool {
        loop {
            let mut line = String::new();
            match self.conn.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            let size = usize::from_str_radix(line.trim_end(), 16).unwrap();
            let mut data = vec![0; size + 2];
            if self.conn.reader.read_exact(&mut data).is_err() {
                return false;
            }
            if size == 0 {
                return true;
            }
            data.truncate(size);
            self.decoder.push(data.into());
            while let Some(record) = self.decoder.next_record().unwrap() {
                self.events.push(serde_json::from_slice(&record.data).unwrap());
            }
        }
    }

    fn next(&mut self) -> Value {
        loop {
            if let Some(record) = self.decoder.next_record().unwrap() {
                let event: Value = serde_json::from_slice(&record.data).unwrap();
                self.events.push(event.clone());
                return event;
            }
            let (size_line, data) = self.conn.chunk();
            assert!(!data.is_empty(), "the stream ended");
            self.chunks.push((size_line, data.clone()));
            self.decoder.push(data.into());
        }
    }

    fn until(&mut self, ty: &str) -> Value {
        for _ in 0..200 {
            let event = self.next();
            if event["type"] == ty {
                return event;
            }
        }
        panic!("no {ty} in 200 events");
    }

    fn call(&self, addr: SocketAddr, body: &Value) -> (Head, String) {
        call(addr, &self.stream_id, body)
    }

    fn launch(&self, addr: SocketAddr, offer: &Value, task: &str, command: &str) {
        let body = json!({"framework_id": {"value": self.id}, "type": "ACCEPT", "accept": {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{"name": task, "task_id": {"value": task},
            "agent_id": offer["agent_id"], "command": {"value": command},
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
                          {"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}]}]}}]}});
        assert_eq!(self.call(addr, &body).0.status, 202);
    }

    fn ack(&self, addr: SocketAddr, update: &Value) {
        let status = &update["update"]["status"];
        let body = json!({"framework_id": {"value": self.id}, "type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}});
        assert_eq!(self.call(addr, &body).0.status, 202);
    }
}

fn state_and_uuid(update: &Value) -> (String, String) {
    let status = &update["update"]["status"];
    (status["state"].as_str().unwrap().to_owned(), status["uuid"].as_str().unwrap_or("").to_owned())
}

// ----- the faults -----

/// `duplicate-update`: each update, once acknowledged, comes once more
/// with the same uuid (before the task's next one); acknowledging the
/// copy is answered 202 and changes nothing; the terminal update too.
#[test]
fn duplicate_update_sends_each_acknowledged_update_again() {
    let sim = Sim::start(&["duplicate-update"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "dup");
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 5");
    let starting = f.until("UPDATE");
    assert_eq!(state_and_uuid(&starting).0, "TASK_STARTING");
    f.ack(addr, &starting);
    let again = f.until("UPDATE");
    assert_eq!(again, starting, "the same update, same uuid, once more");
    let running = f.until("UPDATE");
    assert_eq!(state_and_uuid(&running).0, "TASK_RUNNING");
    // The copy acknowledged: nothing more for it.
    f.ack(addr, &again);
    f.ack(addr, &running);
    assert_eq!(f.until("UPDATE"), running);
    sim.advance_ms(5_000);
    let finished = f.until("UPDATE");
    assert_eq!(state_and_uuid(&finished).0, "TASK_FINISHED");
    f.ack(addr, &finished);
    assert_eq!(f.until("UPDATE"), finished, "the terminal update too (MESOS-2198)");
    f.ack(addr, &finished);
    assert!(f.conn.quiet_for(Duration::from_millis(300)), "no third copy");
}

/// `duplicate-update:delay=3`: the copy comes 3 s after the
/// acknowledgement, after the task's next update.
#[test]
fn duplicate_update_with_a_delay_comes_after_the_next_update() {
    let sim = Sim::start(&["duplicate-update:delay=3"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "dup-late");
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 100");
    let starting = f.until("UPDATE");
    f.ack(addr, &starting);
    let running = f.until("UPDATE");
    assert_eq!(state_and_uuid(&running).0, "TASK_RUNNING");
    sim.advance_ms(2_900);
    assert!(f.conn.quiet_for(Duration::from_millis(200)), "not before 3 s");
    sim.advance_ms(100);
    assert_eq!(f.until("UPDATE"), starting, "TASK_STARTING again, after TASK_RUNNING");
}

/// `rechunk`: every record comes in 3 chunks (4 with `pieces=4`), the
/// first ending inside the RecordIO size line; the records put together
/// are the ones a healthy master sends.
#[test]
fn rechunk_splits_records_and_their_size_lines() {
    for (spec, pieces) in [("rechunk", 3), ("rechunk:pieces=4", 4)] {
        let sim = Sim::start(&[spec], Config { seed: 5, ..Config::default() });
        let mut f = Framework::subscribe(sim.addr(), "chunks");
        f.until("OFFERS");
        let healthy = Sim::start(&[], Config { seed: 5, ..Config::default() });
        let mut g = Framework::subscribe(healthy.addr(), "chunks");
        g.until("OFFERS");
        let port = |sim: &Sim, events: &[Value]| {
            serde_json::to_string(events).unwrap().replace(&sim.addr().port().to_string(), "PORT")
        };
        assert_eq!(port(&sim, &f.events), port(&healthy, &g.events), "{spec}: the same events");
        assert_eq!(g.chunks.len(), 3, "healthy: one chunk a record");
        assert_eq!(f.chunks.len(), 3 * pieces, "{spec}: {pieces} chunks a record");
        for record in f.chunks.chunks(pieces) {
            let first = &record[0].1;
            assert!(!first.contains(&b'\n'), "{spec}: the first chunk ends inside the size line: {first:?}");
            assert!(first.iter().all(u8::is_ascii_digit), "{spec}: {first:?}");
            for (size_line, data) in record {
                assert_eq!(size_line, &format!("{:x}", data.len()), "{spec}: lower-case hex sizes");
            }
            let whole: Vec<u8> = record.iter().flat_map(|(_, d)| d.clone()).collect();
            let (size, payload) = std::str::from_utf8(&whole).unwrap().split_once('\n').unwrap();
            assert_eq!(size.parse::<usize>().unwrap(), payload.len(), "{spec}");
        }
    }
}

/// `rechunk:at=2,for=1`: only the records sent in its window are split.
#[test]
fn rechunk_only_in_its_window() {
    let sim = Sim::start(&["rechunk:at=2,for=1"], Config { heartbeat: Duration::from_secs(1), ..Config::default() });
    let mut f = Framework::subscribe(sim.addr(), "window");
    f.until("OFFERS");
    assert_eq!(f.chunks.len(), 3);
    sim.advance_ms(1_000); // t=1: a heartbeat, whole
    f.until("HEARTBEAT");
    assert_eq!(f.chunks.len(), 4);
    sim.advance_ms(1_000); // t=2: split
    f.until("HEARTBEAT");
    assert_eq!(f.chunks.len(), 7);
    sim.advance_ms(1_000); // t=3: whole again
    f.until("HEARTBEAT");
    assert_eq!(f.chunks.len(), 8);
}

/// `partition:at=2,for=10`: from 2 s the stream open then gets nothing,
/// no heartbeat, while its connection stays open and calls are answered;
/// a stream opened during the partition is not affected; at 12 s what was
/// held comes, in order.
#[test]
fn partition_silences_the_stream_and_keeps_the_connection() {
    let sim = Sim::start(&["partition:at=2,for=10"], Config { heartbeat: Duration::from_secs(1), ..Config::default() });
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "dark");
    f.until("OFFERS");
    sim.advance_ms(1_000);
    f.until("HEARTBEAT");
    sim.advance_ms(1_000); // t=2: the partition starts
    sim.advance_ms(5_000);
    assert!(f.conn.quiet_for(Duration::from_millis(300)), "no heartbeat through a partition");
    // The master still takes the framework's calls.
    let revive = json!({"framework_id": {"value": f.id}, "type": "REVIVE"});
    assert_eq!(f.call(addr, &revive).0.status, 202);
    // A new subscriber is not in the partition.
    let mut g = Framework::subscribe(addr, "fresh");
    g.until("HEARTBEAT");
    sim.advance_ms(1_000);
    g.until("HEARTBEAT");
    assert!(f.conn.quiet_for(Duration::from_millis(100)));
    sim.advance_ms(4_000); // t=12: the partition ends
    let before = f.events.len();
    for _ in 0..10 {
        assert_eq!(f.next()["type"], "HEARTBEAT", "what was held: the heartbeats of 2..=11 s");
    }
    assert_eq!(f.events.len(), before + 10);
    sim.advance_ms(1_000);
    f.until("HEARTBEAT");
}

/// `not-ready` (6 s): first `404 Not Found.` from every master route, then
/// `503 No leader elected`, then `503 Master has not finished recovery`
/// from the scheduler API (the state served again), then a master that
/// serves. `/version` is another process's: always served.
#[test]
fn not_ready_answers_404_then_503_then_serves() {
    let sim = Sim::start(&["not-ready"], Config::default());
    let addr = sim.addr();
    let get = |path: &str| {
        let mut conn = Conn::open(addr);
        conn.send("GET", path, &[], b"");
        conn.answer()
    };
    let subscribe = || {
        let mut conn = Conn::open(addr);
        let body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "root", "name": "early"}}})
            .to_string();
        conn.send(
            "POST",
            SCHEDULER,
            &[("Content-Type", "application/json"), ("Accept", "application/json")],
            body.as_bytes(),
        );
        conn.answer()
    };
    let text = |(head, body): (Head, String)| {
        let status_line = String::from_utf8_lossy(&head.raw).lines().next().unwrap().to_owned();
        let names: Vec<String> = head.headers.iter().map(|(n, _)| n.clone()).collect();
        (status_line, names, head.header("Content-Type").map(str::to_owned), body)
    };
    let plain = Some("text/plain; charset=utf-8".to_owned());
    let headers = vec!["Date".to_owned(), "Content-Type".to_owned(), "Content-Length".to_owned()];
    let not_found = ("HTTP/1.1 404 Not Found".to_owned(), headers.clone(), plain.clone(), "404 Not Found.".to_owned());
    assert_eq!(text(subscribe()), not_found);
    assert_eq!(text(get("/master/state")), not_found);
    assert_eq!(text(get("/master/health")), not_found);
    assert_eq!(get("/version").0.status, 200);
    sim.advance_ms(2_000);
    let no_leader =
        ("HTTP/1.1 503 Service Unavailable".to_owned(), headers.clone(), plain.clone(), "No leader elected".to_owned());
    assert_eq!(text(subscribe()), no_leader);
    assert_eq!(text(get("/master/state")), no_leader);
    assert_eq!(text(get("/master/redirect")), no_leader);
    assert_eq!(get("/master/health").0.status, 200);
    sim.advance_ms(2_000);
    let recovering =
        ("HTTP/1.1 503 Service Unavailable".to_owned(), headers, plain, "Master has not finished recovery".to_owned());
    assert_eq!(text(subscribe()), recovering);
    assert_eq!(get("/master/state").0.status, 200);
    assert_eq!(get("/master/redirect").0.status, 307);
    sim.advance_ms(2_000);
    let mut f = Framework::subscribe(addr, "late");
    f.until("OFFERS");
}

/// `not-ready:answer=no-leader,at=1,for=2`: one answer, its own window.
#[test]
fn not_ready_one_answer_in_its_window() {
    let sim = Sim::start(&["not-ready:answer=no-leader,at=1,for=2"], Config::default());
    let status = |sim: &Sim| {
        let mut conn = Conn::open(sim.addr());
        conn.send("GET", "/master/state", &[], b"");
        conn.answer().0.status
    };
    assert_eq!(status(&sim), 200);
    sim.advance_ms(1_000);
    assert_eq!(status(&sim), 503);
    sim.advance_ms(1_999);
    assert_eq!(status(&sim), 503);
    sim.advance_ms(1);
    assert_eq!(status(&sim), 200);
}

/// `rescind:timeout=3`: an offer left alone for 3 s is rescinded (one
/// RESCIND per offer, as `Master::offerTimeout` sends), its resources go
/// back unfiltered and come again in a new offer at the next allocation;
/// accepting the rescinded offer gets TASK_LOST.
#[test]
fn rescind_after_the_offer_timeout() {
    let sim = Sim::start(&["rescind:timeout=3"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "hoarder");
    let offers = f.until("OFFERS");
    let ids: Vec<Value> = offers["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
    assert_eq!(ids.len(), 2);
    sim.advance_ms(2_999);
    assert!(f.conn.quiet_for(Duration::from_millis(200)));
    sim.advance_ms(1);
    for id in &ids {
        let rescind = f.next();
        assert_eq!(rescind, json!({"type": "RESCIND", "rescind": {"offer_id": id}}));
    }
    sim.advance_ms(1_100);
    let again = f.until("OFFERS");
    let again_ids: Vec<Value> = again["offers"]["offers"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect();
    assert_eq!(again_ids.len(), 2);
    assert!(again_ids.iter().all(|id| !ids.contains(id)), "new offers");
    // The framework's metrics count them.
    let mut conn = Conn::open(addr);
    conn.send("GET", "/metrics/snapshot", &[], b"");
    let metrics: Value = serde_json::from_str(&conn.answer().1).unwrap();
    let key = format!("master/frameworks/hoarder/{}/offers/rescinded", f.id);
    assert_eq!(metrics[&key], 2.0, "{key}");
    assert_eq!(metrics[&format!("master/frameworks/hoarder/{}/events/rescind", f.id)], 2.0);
    f.launch(addr, &offers["offers"]["offers"][0], "late", "sleep 10");
    let lost = f.until("UPDATE");
    assert_eq!(lost["update"]["status"]["state"], "TASK_LOST");
    assert_eq!(lost["update"]["status"]["reason"], "REASON_INVALID_OFFERS");
}

/// `stale-instance:at=2`: at 2 s another instance subscribes with the
/// framework's id: the framework's stream gets `Framework failed over` and
/// ends; its calls with its stream id are refused as a master refuses a
/// stale instance's; subscribing again with its id takes the framework
/// back (the offers it had come again).
#[test]
fn stale_instance_fails_the_framework_over() {
    let sim = Sim::start(&["stale-instance:at=2"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "first");
    f.until("OFFERS");
    sim.advance_ms(1_999);
    assert!(f.conn.quiet_for(Duration::from_millis(200)));
    sim.advance_ms(1);
    assert_eq!(f.next(), json!({"type": "ERROR", "error": {"message": "Framework failed over"}}));
    assert!(f.ends(), "the stream ends with its last chunk");
    let (head, body) = f.call(addr, &json!({"framework_id": {"value": f.id}, "type": "REVIVE"}));
    assert_eq!(head.status, 400);
    assert_eq!(
        body,
        format!(
            "The stream ID '{}' included in this request didn't match the stream ID currently associated with \
             framework ID {}",
            f.stream_id, f.id
        )
    );
    let mut back = Framework::subscribe_as(addr, "first", Some(&f.id));
    assert_eq!(back.id, f.id, "SUBSCRIBED, the same framework");
    sim.advance_ms(1_100);
    assert_eq!(back.until("OFFERS")["offers"]["offers"].as_array().unwrap().len(), 2);
}

/// `failover-timeout:at=2`: at 2 s the framework's connection is cut (no
/// last chunk), and it is removed at once whatever its `failover_timeout`
/// (60 s): subscribing again with its id gets `Framework has been removed`.
/// With `timeout=5`, a framework back within 5 s is taken back.
#[test]
fn failover_timeout_removes_a_disconnected_framework() {
    let sim = Sim::start(&["failover-timeout:at=2"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "gone");
    f.until("OFFERS");
    sim.advance_ms(2_000);
    assert!(!f.ends(), "the connection closes without the last chunk");
    sim.advance_ms(500);
    let mut again = Framework::subscribe_as(addr, "gone", Some(&f.id));
    assert_eq!(again.events, vec![json!({"type": "ERROR", "error": {"message": "Framework has been removed"}})]);
    assert!(again.ends());

    let sim = Sim::start(&["failover-timeout:at=2,timeout=5"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "back");
    f.until("OFFERS");
    sim.advance_ms(2_000);
    assert!(!f.ends());
    sim.advance_ms(4_900);
    let back = Framework::subscribe_as(addr, "back", Some(&f.id));
    assert_eq!(back.id, f.id, "back within the timeout");
}

/// `lose-update`: a task launched never gets an update (its agent lost
/// it); its resources come back in an offer; RECONCILE of it is answered
/// TASK_LOST, "Reconciliation: Task is unknown to the agent".
#[test]
fn lose_update_then_reconcile_says_lost() {
    let sim = Sim::start(&["lose-update"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "lost");
    let offers = f.until("OFFERS");
    let offer = offers["offers"]["offers"][0].clone();
    f.launch(addr, &offer, "t1", "sleep 100");
    assert!(f.conn.quiet_for(Duration::from_millis(200)), "no update");
    sim.advance_ms(1_100);
    let again = f.until("OFFERS");
    assert_eq!(again["offers"]["offers"][0]["agent_id"], offer["agent_id"], "its resources back");
    assert!(f.events.iter().all(|e| e["type"] != "UPDATE"));
    let reconcile = json!({"framework_id": {"value": f.id}, "type": "RECONCILE", "reconcile": {"tasks": [
        {"task_id": {"value": "t1"}, "agent_id": offer["agent_id"]}]}});
    assert_eq!(f.call(addr, &reconcile).0.status, 202);
    let status = f.until("UPDATE")["update"]["status"].clone();
    assert_eq!(status["state"], "TASK_LOST");
    assert_eq!(status["message"], "Reconciliation: Task is unknown to the agent");
    assert_eq!(status["reason"], "REASON_RECONCILIATION");
    assert_eq!(status["source"], "SOURCE_MASTER");
    assert!(status.get("uuid").is_none(), "nothing to acknowledge");
}

/// `burst:at=2,events=30`: at 2 s, 30 events at once, each one a master
/// may send: round after round the outstanding offer rescinded and offered
/// again under a new id, and the running task's reconciliation update;
/// the last offer is good, the ones before it are not.
#[test]
fn burst_sends_events_at_once() {
    let sim = Sim::start(&["burst:at=2,events=30"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "burst");
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 100");
    let starting = f.until("UPDATE");
    f.ack(addr, &starting);
    let running = f.until("UPDATE");
    f.ack(addr, &running);
    let before = f.events.len();
    sim.advance_ms(2_000);
    let mut ids = Vec::new();
    let mut held = offers["offers"]["offers"][1]["id"].clone();
    for round in 0..10 {
        assert_eq!(f.next(), json!({"type": "RESCIND", "rescind": {"offer_id": held}}), "round {round}");
        let again = f.next();
        assert_eq!(again["type"], "OFFERS", "round {round}");
        held = again["offers"]["offers"][0]["id"].clone();
        ids.push(held.clone());
        let update = f.next();
        assert_eq!(update["update"]["status"]["state"], "TASK_RUNNING", "round {round}");
        assert_eq!(update["update"]["status"]["reason"], "REASON_RECONCILIATION");
    }
    assert_eq!(f.events.len() - before, 30);
    assert!(f.conn.quiet_for(Duration::from_millis(200)), "30, then nothing");
    let distinct: std::collections::BTreeSet<String> = ids.iter().map(|v| v.to_string()).collect();
    assert_eq!(distinct.len(), 10, "a new id every round");
    // The last is good: declined, no offer is left.
    let decline =
        |id: &Value| json!({"framework_id": {"value": f.id}, "type": "DECLINE", "decline": {"offer_ids": [id]}});
    assert_eq!(f.call(addr, &decline(&held)).0.status, 202);
    let mut conn = Conn::open(addr);
    conn.send("GET", "/master/state", &[], b"");
    let state: Value = serde_json::from_str(&conn.answer().1).unwrap();
    assert_eq!(state["frameworks"][0]["offers"].as_array().map(Vec::len), Some(0), "declined: no offer left");
}

/// `crash:at=2,for=3`: at 2 s the stream is cut without its last chunk;
/// then the master is not ready (404, 503 No leader elected, 503 Master
/// has not finished recovery, a second each); at 5 s it is back with a new
/// id: the framework subscribes again with its id and is taken back, its
/// task still running, the offers under the new id.
#[test]
fn crash_cuts_refuses_then_comes_back_with_a_new_id() {
    let sim = Sim::start(&["crash:at=2,for=3"], Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "survivor");
    let old_master = f.events[0]["subscribed"]["master_info"]["id"].as_str().unwrap().to_owned();
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 100");
    let starting = f.until("UPDATE");
    f.ack(addr, &starting);
    let running = f.until("UPDATE");
    f.ack(addr, &running);
    // An operator API subscriber too.
    let mut operator = Conn::open(addr);
    let body = br#"{"type":"SUBSCRIBE"}"#;
    operator.send("POST", "/api/v1", &[("Content-Type", "application/json"), ("Accept", "application/json")], body);
    assert_eq!(operator.head().status, 200);
    sim.advance_ms(2_000);
    assert!(!f.ends(), "cut without the last chunk");
    let mut rest = Vec::new();
    let _ = operator.reader.read_to_end(&mut rest);
    assert!(!rest.ends_with(b"0\r\n\r\n"), "the operator stream cut too: {}", String::from_utf8_lossy(&rest));
    let status = |path: &str| {
        let mut conn = Conn::open(addr);
        conn.send("GET", path, &[], b"");
        let (head, body) = conn.answer();
        (head.status, body)
    };
    assert_eq!(status("/master/state"), (404, "404 Not Found.".to_owned()));
    sim.advance_ms(1_000);
    assert_eq!(status("/master/state"), (503, "No leader elected".to_owned()));
    sim.advance_ms(1_000);
    let (head, body) = f.call(addr, &json!({"framework_id": {"value": f.id}, "type": "REVIVE"}));
    assert_eq!((head.status, body.as_str()), (503, "Master has not finished recovery"));
    sim.advance_ms(1_000);
    let mut back = Framework::subscribe_as(addr, "survivor", Some(&f.id));
    assert_eq!(back.id, f.id, "the same framework");
    let new_master = back.events[0]["subscribed"]["master_info"]["id"].as_str().unwrap().to_owned();
    assert_ne!(new_master, old_master, "a new master id");
    sim.advance_ms(1_100);
    let again = back.until("OFFERS");
    let id = again["offers"]["offers"][0]["id"]["value"].as_str().unwrap();
    assert!(id.starts_with(&format!("{new_master}-O")), "{id}");
    let agent = again["offers"]["offers"][0]["agent_id"]["value"].as_str().unwrap();
    assert!(agent.starts_with(&old_master), "the agents keep their ids: {agent}");
    let reconcile = json!({"framework_id": {"value": f.id}, "type": "RECONCILE", "reconcile": {"tasks": []}});
    assert_eq!(back.call(addr, &reconcile).0.status, 202);
    let update = back.until("UPDATE");
    assert_eq!(update["update"]["status"]["state"], "TASK_RUNNING", "the task survived");
    let (code, state) = status("/master/state");
    assert_eq!(code, 200);
    let state: Value = serde_json::from_str(&state).unwrap();
    assert_eq!(state["id"], new_master.as_str());
}

/// `leader-change:at=2`: the simulator has a second address, the other
/// master. Before 2 s it redirects to the first (`307`, `Location:
/// //localhost:PORT/api/v1/scheduler`, as a 1.11.0 master that is not the
/// leader writes it); at 2 s the leadership moves: every stream is cut,
/// the first address redirects to the second (the state too), where the
/// framework subscribes again with its id and meets a leader with a new
/// id. `location=absolute` and `location=pathless` (MESOS-3902) write the
/// other forms.
#[test]
fn leader_change_redirects_to_the_new_leader() {
    let sim = Sim::start(&["leader-change:at=2"], Config::default());
    let addr = sim.addr();
    let other = sim.handle.with_master(|m| m.successor()).expect("a second address");
    let location = |at: SocketAddr, method: &str, path: &str| {
        let mut conn = Conn::open(at);
        let body: &[u8] = if method == "POST" {
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x"}}}"#
        } else {
            b""
        };
        conn.send(method, path, &[("Content-Type", "application/json"), ("Accept", "application/json")], body);
        let (head, _) = conn.answer();
        (head.status, head.header("Location").map(str::to_owned))
    };
    assert_eq!(
        location(other, "POST", SCHEDULER),
        (307, Some(format!("//localhost:{}/api/v1/scheduler", addr.port())))
    );
    let mut f = Framework::subscribe(addr, "follower");
    let old_master = f.events[0]["subscribed"]["master_info"]["id"].as_str().unwrap().to_owned();
    f.until("OFFERS");
    sim.advance_ms(2_000);
    assert!(!f.ends(), "cut without the last chunk");
    assert_eq!(
        location(addr, "POST", SCHEDULER),
        (307, Some(format!("//localhost:{}/api/v1/scheduler", other.port())))
    );
    assert_eq!(
        location(addr, "GET", "/master/state?jsonp=f"),
        (307, Some(format!("//localhost:{}/master/state?jsonp=f", other.port())))
    );
    let back = Framework::subscribe_as(other, "follower", Some(&f.id));
    assert_eq!(back.id, f.id);
    let info = &back.events[0]["subscribed"]["master_info"];
    assert_ne!(info["id"].as_str().unwrap(), old_master, "a new leader");
    assert_eq!(info["port"], other.port());

    for (form, want) in [("absolute", "http://localhost:{}/api/v1/scheduler"), ("pathless", "//localhost:{}")] {
        let sim = Sim::start(&[&format!("leader-change:at=0,location={form}")], Config::default());
        let other = sim.handle.with_master(|m| m.successor()).unwrap();
        sim.advance_ms(1);
        assert_eq!(location(sim.addr(), "POST", SCHEDULER), (307, Some(want.replace("{}", &other.port().to_string()))));
    }
}

// ----- determinism -----

/// One scenario under every fault that changes the stream: its bytes,
/// head and chunk size lines included.
fn scenario(listener: &std::net::TcpListener, seed: u64) -> Vec<u8> {
    let faults = ["rechunk", "duplicate-update", "rescind:timeout=3", "partition:at=5,for=3", "burst:at=9,events=20"];
    let sim = Sim::start_on(listener, &faults, Config { seed, heartbeat: Duration::from_secs(2), ..Config::default() });
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "det");
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 4");
    let starting = f.until("UPDATE");
    f.ack(addr, &starting);
    f.until("UPDATE");
    let running = f.until("UPDATE");
    f.ack(addr, &running);
    f.until("UPDATE");
    for _ in 0..12 {
        sim.advance_ms(1_000);
    }
    let teardown = json!({"framework_id": {"value": f.id}, "type": "TEARDOWN"});
    assert_eq!(f.call(addr, &teardown).0.status, 202);
    loop {
        let (size_line, data) = f.conn.chunk();
        f.chunks.push((size_line, data.clone()));
        if data.is_empty() {
            break;
        }
    }
    let mut bytes = f.head.raw.clone();
    for (size_line, data) in &f.chunks {
        bytes.extend_from_slice(size_line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// The data of a stream's chunks, put together.
fn payload(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let body = text.split_once("\r\n\r\n").unwrap().1;
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size, 16).unwrap();
        out.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    out
}

/// Two seeds, the scenario twice each: the same bytes for a seed, not the
/// same for the other.
#[test]
fn same_seed_same_faulted_bytes() {
    // Every run on one socket: the bytes name its port.
    let listener = test_support::own_listener();
    let (a1, a2) = (scenario(&listener, 1), scenario(&listener, 1));
    let (b1, b2) = (scenario(&listener, 2), scenario(&listener, 2));
    assert_eq!(String::from_utf8_lossy(&a1), String::from_utf8_lossy(&a2), "seed 1");
    assert_eq!(String::from_utf8_lossy(&b1), String::from_utf8_lossy(&b2), "seed 2");
    assert_ne!(a1, b1, "another seed, other ids and other cuts");
    let text = payload(&a1);
    for what in ["RESCIND", "TASK_FINISHED", "HEARTBEAT"] {
        assert!(text.contains(what), "{what}: {text}");
    }
}

// ----- the binary -----

/// A SPEC that does not parse: exit status 1, and which SPEC and what.
#[test]
fn bad_specs_exit_1_saying_which_and_why() {
    for (spec, says) in [
        (
            "crash-landing",
            "unknown fault `crash-landing` (known: duplicate-update, stale-instance, leader-change, not-ready, \
             partition, burst, rescind, lose-update, rechunk, failover-timeout, crash)",
        ),
        ("rechunk:pieces=1", "rechunk: `pieces=1`: a whole number from 2 to 64"),
        ("partition:for=-3", "partition: `for=-3`: seconds must be more than zero"),
        ("rescind:timout=2", "rescind: unknown parameter `timout` (known: at, for, timeout, framework)"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
            .args(["sim", "--listen", "127.0.0.1:0", "--fault", "partition", "--fault", spec])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{spec}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end(), format!("mesos-replay: --fault {spec:?}: {says}"), "{spec}");
    }
}

// ----- scenarios (`--faults FILE`) -----

/// A fault started on an event: `after 2nd TASK_RUNNING` fails the
/// framework over right after the second task's TASK_RUNNING, not the
/// first's; a trigger for another framework's events never fires.
#[test]
fn scenario_starts_a_fault_on_the_nth_event() {
    let faults = scenario::parse(
        "after 2nd TASK_RUNNING of framework trig: stale-instance\n\
         after 1st TASK_RUNNING of framework other: crash\n",
    )
    .unwrap();
    let sim = Sim::start_with(&any_port(), faults, Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "trig");
    let offers = f.until("OFFERS");
    for (n, task) in ["t1", "t2"].into_iter().enumerate() {
        f.launch(addr, &offers["offers"]["offers"][n], task, "sleep 100");
        let starting = f.until("UPDATE");
        f.ack(addr, &starting);
        let running = f.until("UPDATE");
        assert_eq!(state_and_uuid(&running).0, "TASK_RUNNING");
        if task == "t1" {
            f.ack(addr, &running);
            assert!(f.conn.quiet_for(Duration::from_millis(200)), "no fault after the 1st TASK_RUNNING");
        }
    }
    assert_eq!(f.next(), json!({"type": "ERROR", "error": {"message": "Framework failed over"}}));
    assert!(f.ends(), "the stream ends with its last chunk");
}

/// `every` starts the fault each time, `of task` counts one task's
/// updates, `+ SECONDS` delays it: a copy of each TASK_RUNNING of t1,
/// 2 s after it.
#[test]
fn scenario_every_nth_with_a_delay() {
    let faults = scenario::parse("every 1st ACKNOWLEDGE of task t1 + 2s: duplicate-update for=0.5 task=t1\n").unwrap();
    let sim = Sim::start_with(&any_port(), faults, Config::default());
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "every");
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 100");
    let starting = f.until("UPDATE");
    f.ack(addr, &starting);
    let running = f.until("UPDATE");
    // The window opens 2 s after this ACKNOWLEDGE: acknowledging now is
    // not answered with a copy.
    f.ack(addr, &running);
    assert!(f.conn.quiet_for(Duration::from_millis(200)));
    sim.advance_ms(2_000);
    f.launch(addr, &offers["offers"]["offers"][1], "t2", "sleep 100");
    let t2_starting = f.until("UPDATE");
    f.ack(addr, &t2_starting);
    let t2_running = f.until("UPDATE");
    f.ack(addr, &t2_running);
    assert!(f.conn.quiet_for(Duration::from_millis(200)), "t2's updates are not copied");
    let kill = json!({"framework_id": {"value": f.id}, "type": "KILL", "kill": {"task_id": {"value": "t1"}}});
    assert_eq!(f.call(addr, &kill).0.status, 202);
    let killed = f.until("UPDATE");
    assert_eq!(state_and_uuid(&killed).0, "TASK_KILLED");
    f.ack(addr, &killed);
    assert_eq!(
        f.next(),
        killed,
        "the terminal update once more: the earlier acknowledgements opened the window, 2 s after them"
    );
}

const SCENARIO: &str = "\
# two seeds x this scenario, run twice each
at 0: rechunk pieces=4
after 1st TASK_RUNNING: duplicate-update
after 1st ACCEPT + 2: partition for=3
after 3rd HEARTBEAT: burst events=20
every 2nd OFFERS: rescind timeout=1 for=1
";

/// A scenario's run: subscribe, launch, acknowledge, 12 s, teardown; the
/// stream's bytes, head and chunk size lines included.
fn scenario_run(listener: &std::net::TcpListener, seed: u64) -> Vec<u8> {
    let faults = scenario::parse(SCENARIO).unwrap();
    let sim =
        Sim::start_with(listener, faults, Config { seed, heartbeat: Duration::from_secs(2), ..Config::default() });
    let addr = sim.addr();
    let mut f = Framework::subscribe(addr, "det");
    let offers = f.until("OFFERS");
    f.launch(addr, &offers["offers"]["offers"][0], "t1", "sleep 4");
    let starting = f.until("UPDATE");
    f.ack(addr, &starting);
    let running = f.until("UPDATE");
    f.ack(addr, &running);
    for _ in 0..12 {
        sim.advance_ms(1_000);
    }
    let teardown = json!({"framework_id": {"value": f.id}, "type": "TEARDOWN"});
    assert_eq!(f.call(addr, &teardown).0.status, 202);
    loop {
        let (size_line, data) = f.conn.chunk();
        f.chunks.push((size_line, data.clone()));
        if data.is_empty() {
            break;
        }
    }
    let mut bytes = f.head.raw.clone();
    for (size_line, data) in &f.chunks {
        bytes.extend_from_slice(size_line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

/// Two seeds x one scenario (every kind of trigger), run twice each: the
/// same bytes per seed, other bytes for the other seed; and each fault of
/// the scenario showed.
#[test]
fn same_seed_same_scenario_bytes() {
    // Every run on one socket: the bytes name its port.
    let listener = test_support::own_listener();
    let (a1, a2) = (scenario_run(&listener, 1), scenario_run(&listener, 1));
    let (b1, b2) = (scenario_run(&listener, 2), scenario_run(&listener, 2));
    assert_eq!(String::from_utf8_lossy(&a1), String::from_utf8_lossy(&a2), "seed 1");
    assert_eq!(String::from_utf8_lossy(&b1), String::from_utf8_lossy(&b2), "seed 2");
    assert_ne!(a1, b1, "another seed, other ids and other cuts");
    let text = payload(&a1);
    let running = text.matches("\"TASK_RUNNING\"").count();
    assert!(running >= 2, "TASK_RUNNING and its copy (and the burst's reconciliation): {text}");
    for what in ["RESCIND", "TASK_FINISHED", "REASON_RECONCILIATION"] {
        assert!(text.contains(what), "{what}: {text}");
    }
    // rechunk: a record's size line cut: a chunk of digits alone.
    let body = String::from_utf8_lossy(&a1);
    assert!(body.contains("\r\n1\r\n"), "a size line cut in two");
    // What the run measured (`--nocapture`), with an FNV-1a digest of each stream.
    let fnv = |bytes: &[u8]| {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    };
    eprintln!(
        "same_seed_same_scenario_bytes: seed 1: {} and {} bytes, fnv {:016x} and {:016x}; \
         seed 2: {} and {} bytes, fnv {:016x} and {:016x}",
        a1.len(),
        a2.len(),
        fnv(&a1),
        fnv(&a2),
        b1.len(),
        b2.len(),
        fnv(&b1),
        fnv(&b2)
    );
}

/// A scenario that does not parse: exit status 1, the file, line and
/// column, and what is wrong.
#[test]
fn bad_scenario_exits_1_naming_line_and_column() {
    let file = test_support::temp_dir("bad_scenario").join("s.faults");
    std::fs::write(&file, "at 1: crash\n\nafter 3rd TASK_RUNNIG: partition\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mesos-replay"))
        .args(["sim", "--listen", "127.0.0.1:0", "--faults"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "mesos-replay: --faults {}: line 3, column 11: unknown event `TASK_RUNNIG` (a task state such as \
             TASK_RUNNING, an event type such as OFFERS, or a call type such as ACCEPT)",
            file.display()
        )
    );
}

/// Every scenario in docs/faults.md parses, one fault a line, and there
/// is one for each fault.
#[test]
fn the_documented_scenarios_parse() {
    let doc = std::fs::read_to_string(test_support::workspace().join("docs/faults.md")).unwrap();
    let mut named = std::collections::BTreeSet::new();
    for block in doc.split("In a scenario (`--faults`):\n\n```\n").skip(1) {
        let text = block.split("```").next().unwrap();
        let faults = scenario::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(faults.len(), 1, "{text}");
        named.insert(faults[0].name());
    }
    assert_eq!(named.len(), mesos_replay::sim::faults::NAMES.len(), "{named:?}");
    let big = doc.split("## Scenarios: `--faults FILE`").nth(1).unwrap().split("```\n").nth(1).unwrap();
    assert_eq!(scenario::parse(big).unwrap().len(), 5);
    let det = doc.split("digest of each stream).").nth(1);
    let det = det.and_then(|d| d.split("```\n").nth(1)).unwrap();
    assert_eq!(det, SCENARIO.split_once('\n').unwrap().1, "the documented scenario is the test's");
}
