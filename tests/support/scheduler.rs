//! A scheduler driven by hand over the raw wire client (`wire.rs`), for
//! tests that drive a real master and the simulated one the same way and
//! compare what a framework sees: a thread reads the subscription's
//! records as they come (with their arrival time), calls are made on
//! connections of their own. Also [`normalize`], which replaces in an
//! event exactly the values a master chooses or takes from its
//! environment. Reach it as `crate::support::scheduler` (it uses
//! `super::wire`).

#![allow(dead_code)] // the tests use part of it

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::wire::{Answer, Conn, Stream};

pub const JSON: &str = "application/json";
pub const PROTOBUF: &str = "application/x-protobuf";
pub const PATH: &str = "/api/v1/scheduler";

/// One record of a subscription stream.
#[derive(Debug, Clone)]
pub struct Record {
    /// When it arrived.
    pub at: Instant,
    /// The record as sent.
    pub raw: Vec<u8>,
}

impl Record {
    /// The record as JSON (JSON streams only).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.raw)))
    }

    /// The event's type (JSON streams only).
    pub fn ty(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// A subscribed framework.
pub struct Scheduler {
    pub master: SocketAddr,
    pub framework_id: String,
    pub stream_id: String,
    /// The SUBSCRIBE answer's status.
    pub status: u16,
    /// When SUBSCRIBE was sent.
    pub subscribed_at: Instant,
    records: mpsc::Receiver<Option<Record>>,
    /// The stream's socket, to hang up.
    socket: std::net::TcpStream,
    /// Records read but not taken.
    pending: std::collections::VecDeque<Record>,
    ended: bool,
}

impl Scheduler {
    /// SUBSCRIBE with `body` (JSON) asking for `accept`; reads the first
    /// record (SUBSCRIBED, or an ERROR) for the framework id.
    pub fn subscribe(master: SocketAddr, body: &Value, accept: &str) -> Scheduler {
        let (content_type, bytes) = if accept == PROTOBUF {
            let pb = mesos_codec::json::json_to_protobuf(
                mesos_codec::json::message_type("scheduler.Call").unwrap(),
                body.to_string().as_bytes(),
            )
            .unwrap();
            (PROTOBUF, pb)
        } else {
            (JSON, body.to_string().into_bytes())
        };
        let subscribed_at = Instant::now();
        let mut stream = Stream::open(master, PATH, &[("Content-Type", content_type), ("Accept", accept)], &bytes);
        let status = stream.head.status;
        let stream_id = stream.head.header("mesos-stream-id").unwrap_or_default().to_owned();
        let socket = stream.conn.socket();
        let (tx, records) = mpsc::channel();
        std::thread::spawn(move || {
            loop {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stream.record())) {
                    Ok(Some(raw)) => {
                        if tx.send(Some(Record { at: Instant::now(), raw })).is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = tx.send(None);
                        return;
                    }
                }
            }
        });
        let mut s = Scheduler {
            master,
            framework_id: String::new(),
            stream_id,
            status,
            subscribed_at,
            records,
            socket,
            pending: Default::default(),
            ended: false,
        };
        if accept == JSON
            && status == 200
            && let Some(first) = s.peek(Duration::from_secs(10))
        {
            let json = first.json();
            if let Some(id) = json["subscribed"]["framework_id"]["value"].as_str() {
                s.framework_id = id.to_owned();
            }
        }
        s
    }

    /// SUBSCRIBE in JSON of a framework named `name` with these
    /// `framework_info` fields besides `user` and `name`.
    pub fn json(master: SocketAddr, name: &str, extra: Value) -> Scheduler {
        let mut info = json!({"user": "root", "name": name});
        if let (Some(info), Some(extra)) = (info.as_object_mut(), extra.as_object()) {
            info.extend(extra.clone());
        }
        let mut body = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": info}});
        if let Some(id) = body["subscribe"]["framework_info"]["id"].as_object().cloned() {
            body["framework_id"] = Value::Object(id);
        }
        Scheduler::subscribe(master, &body, JSON)
    }

    fn fill(&mut self, wait: Duration) {
        if self.ended || !self.pending.is_empty() {
            return;
        }
        match self.records.recv_timeout(wait) {
            Ok(Some(r)) => self.pending.push_back(r),
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => self.ended = true,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }

    /// The next record without taking it, if one comes within `wait`.
    pub fn peek(&mut self, wait: Duration) -> Option<&Record> {
        self.fill(wait);
        self.pending.front()
    }

    /// The next record, if one comes within `wait` (`None`: none came or
    /// the stream ended).
    pub fn next(&mut self, wait: Duration) -> Option<Record> {
        self.fill(wait);
        self.pending.pop_front()
    }

    /// The next record that is not a HEARTBEAT, within `wait`.
    pub fn next_event(&mut self, wait: Duration) -> Option<Record> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let record = self.next(left)?;
            if record.ty() != "HEARTBEAT" {
                return Some(record);
            }
        }
    }

    /// The next event of type `ty` (others in between are returned too).
    pub fn until(&mut self, ty: &str, wait: Duration) -> (Vec<Record>, Option<Record>) {
        let deadline = Instant::now() + wait;
        let mut skipped = Vec::new();
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return (skipped, None) };
            let Some(record) = self.next(left) else { return (skipped, None) };
            if record.ty() == ty {
                return (skipped, Some(record));
            }
            skipped.push(record);
        }
    }

    /// Whether the stream ended (its last chunk came) within `wait`.
    pub fn ended_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.ended {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return false };
            self.fill(left);
            self.pending.clear();
        }
        true
    }

    /// Hangs up the subscription's connection.
    pub fn hang_up(&self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }

    /// A call in JSON with this framework's id and stream id.
    pub fn call(&self, mut body: Value) -> Answer {
        body["framework_id"] = json!({"value": self.framework_id});
        self.call_with(&body.to_string(), Some(&self.stream_id.clone()))
    }

    /// A call with this body as is and this stream id.
    pub fn call_with(&self, body: &str, stream_id: Option<&str>) -> Answer {
        let mut headers = vec![("Content-Type", JSON)];
        if let Some(id) = stream_id {
            headers.push(("Mesos-Stream-Id", id));
        }
        Conn::open(self.master).call("POST", PATH, &headers, body.as_bytes())
    }

    /// ACKNOWLEDGE of an UPDATE event.
    pub fn acknowledge(&self, update: &Value) -> u16 {
        let status = &update["update"]["status"];
        let call = json!({"type": "ACKNOWLEDGE", "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}});
        self.call(call).head.status
    }
}

/// A LAUNCH of a command task on `offer_ids` (of `agent`), with a filter
/// unless `refuse` is `None`.
pub fn launch(offer_ids: &[&Value], agent: &Value, tasks: &[(&str, &str, f64, f64)], refuse: Option<f64>) -> Value {
    let task_infos: Vec<Value> = tasks
        .iter()
        .map(|(id, command, cpus, mem)| {
            json!({"name": id, "task_id": {"value": id}, "agent_id": agent,
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
                              {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}}],
                "command": {"value": command}})
        })
        .collect();
    let mut accept = json!({"offer_ids": offer_ids,
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": task_infos}}]});
    if let Some(refuse) = refuse {
        accept["filters"] = json!({"refuse_seconds": refuse});
    }
    json!({"type": "ACCEPT", "accept": accept})
}

/// A DECLINE of offers.
pub fn decline(offer_ids: &[&Value], refuse: Option<f64>) -> Value {
    let mut decline = json!({"offer_ids": offer_ids});
    if let Some(refuse) = refuse {
        decline["filters"] = json!({"refuse_seconds": refuse});
    }
    json!({"type": "DECLINE", "decline": decline})
}

/// The offers of an OFFERS event, by agent id.
pub fn offers(event: &Value) -> Vec<Value> {
    let mut offers = event["offers"]["offers"].as_array().cloned().unwrap_or_default();
    offers.sort_by(|a, b| a["agent_id"]["value"].as_str().cmp(&b["agent_id"]["value"].as_str()));
    offers
}

/// What a master chooses, or takes from its environment, in one run.
#[derive(Debug, Clone, Default)]
pub struct Chosen {
    /// The master's id (the prefix of every framework, agent and offer id).
    pub master_id: String,
    /// The master's port.
    pub port: u16,
    /// Stream ids seen (replaced by `<stream N>`).
    pub stream_ids: Vec<String>,
}

/// `text` with the JSON value after each `"key":` replaced by `with`.
fn replace_values(text: &str, key: &str, with: &str) -> String {
    let needle = format!("\"{key}\":");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        let start = at + needle.len();
        out.push_str(&rest[..start]);
        let value = &rest[start..];
        let len = if value.starts_with(['{', '[']) {
            value_len(value)
        } else if value.starts_with('"') {
            let mut escaped = false;
            let mut end = value.len();
            for (i, c) in value.char_indices().skip(1) {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = i + 1;
                        break;
                    }
                    _ => {}
                }
            }
            end
        } else {
            value.find([',', '}', ']']).unwrap_or(value.len())
        };
        out.push_str(with);
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

/// The length of the JSON object or array `text` starts with.
fn value_len(text: &str) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{' | '[') => depth += 1,
            (false, _, '}' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// The elements of the JSON array `text` (which starts with `[`).
fn elements(text: &str) -> Vec<String> {
    let inner = &text[1..text.len() - 1];
    let mut out = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let len = value_len(rest);
        out.push(rest[..len].to_owned());
        rest = rest[len..].strip_prefix(',').unwrap_or(&rest[len..]);
    }
    out
}

/// OFFERS events read until they hold `count` offers in all, as one
/// record: the first event with the offers of the later ones added, at the
/// time the last arrived. A real master expires each DECLINE filter on a
/// timer of its own; two filters of one DECLINE usually end before the
/// same allocation run, but on a loaded machine a run can fall between the
/// two timers and the agents come back one event apart. What a framework
/// can rely on is that both come back, not in how many events.
pub fn offers_in_all(s: &mut Scheduler, count: usize, wait: Duration) -> Option<Record> {
    let deadline = Instant::now() + wait;
    let mut first = s.next_event(wait)?;
    let key = "\"offers\":{\"offers\":";
    loop {
        let text = String::from_utf8_lossy(&first.raw).into_owned();
        let at = text.find(key)? + key.len();
        let len = value_len(&text[at..]);
        let mut have = elements(&text[at..at + len]);
        if have.len() >= count {
            return Some(first);
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        let more = s.next_event(left)?;
        let more_text = String::from_utf8_lossy(&more.raw).into_owned();
        let more_at = more_text.find(key)? + key.len();
        have.extend(elements(&more_text[more_at..more_at + value_len(&more_text[more_at..])]));
        let raw = format!("{}[{}]{}", &text[..at], have.join(","), &text[at + len..]);
        first = Record { at: more.at, raw: raw.into_bytes() };
    }
}

/// A JSON record as text with every value a master chooses or takes from
/// its environment replaced, nothing else touched (field order, numbers,
/// texts stay as written):
///
/// - the master id (in framework, agent and offer ids) → `MASTER`; offer
///   numbers → `O#`; stream ids → `<stream>`;
/// - the master's port (`port`, `pid`) → `PORT`; an agent's libprocess id
///   (`/slave(N)`, in the order the agents registered) → `/slave(N)`;
/// - `timestamp` (the master's or the executor's clock) → `0`; a status
///   update's `uuid` → `UUID`; `container_id` → `CONTAINER`;
///   `executor_pid` → `0`;
/// - the offers of an OFFERS event in agent id order (a master lists them
///   as its hash map does).
pub fn normalize(raw: &[u8], chosen: &Chosen) -> String {
    let mut text = String::from_utf8_lossy(raw).into_owned();
    if !chosen.master_id.is_empty() {
        text = text.replace(&chosen.master_id, "MASTER");
    }
    for id in &chosen.stream_ids {
        if !id.is_empty() {
            text = text.replace(id, "<stream>");
        }
    }
    // Offer numbers.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find("MASTER-O") {
        out.push_str(&rest[..at + "MASTER-O".len()]);
        rest = &rest[at + "MASTER-O".len()..];
        rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('#');
    }
    out.push_str(rest);
    text = out;
    let port = chosen.port.to_string();
    text = text.replace(&format!("\"port\":{port}"), "\"port\":PORT").replace(&format!(":{port}\""), ":PORT\"");
    text = replace_values(&text, "timestamp", "0");
    text = replace_values(&text, "uuid", "\"UUID\"");
    text = replace_values(&text, "executor_pid", "0");
    text = replace_values(&text, "path", "\"/slave(N)\"");
    text = replace_values(&text, "container_id", "{\"value\":\"CONTAINER\"}");
    // Offers by agent.
    let key = "\"offers\":{\"offers\":";
    if let Some(at) = text.find(key) {
        let start = at + key.len();
        let len = value_len(&text[start..]);
        let mut offers = elements(&text[start..start + len]);
        let agent = |o: &String| o.find("\"agent_id\"").map(|i| o[i..].to_owned()).unwrap_or_default();
        offers.sort_by_key(agent);
        text = format!("{}[{}]{}", &text[..start], offers.join(","), &text[start + len..]);
    }
    text
}

/// The master's id and port as SUBSCRIBED tells them.
pub fn chosen_from(subscribed: &Value) -> Chosen {
    let info = &subscribed["subscribed"]["master_info"];
    Chosen {
        master_id: info["id"].as_str().unwrap_or_default().to_owned(),
        port: info["port"].as_u64().unwrap_or_default() as u16,
        stream_ids: Vec::new(),
    }
}

/// Runs `scenario` against the real master at `real` and the sim at
/// `sim` at the same time; each returns its transcript (lines that must
/// be equal); the two are compared line by line.
pub fn compare_transcripts(
    what: &str,
    real: SocketAddr,
    sim: SocketAddr,
    scenario: impl Fn(SocketAddr) -> Vec<String> + Send + Sync + 'static + Clone,
) -> Vec<String> {
    let s = scenario.clone();
    let real_run = std::thread::spawn(move || s(real));
    let sim_transcript = scenario(sim);
    let real_transcript = real_run.join().unwrap_or_else(|_| panic!("{what}: the run against the real master failed"));
    let mut differences = Vec::new();
    for n in 0..real_transcript.len().max(sim_transcript.len()) {
        let (r, s) = (real_transcript.get(n), sim_transcript.get(n));
        if r != s {
            differences.push(format!("line {n}:\n  real: {}\n  sim:  {}", r.map_or("-", |x| x), s.map_or("-", |x| x)));
        }
    }
    assert!(
        differences.is_empty(),
        "{what}: the sim differs from the real master\n{}\n--- real:\n{}\n--- sim:\n{}",
        differences.join("\n"),
        real_transcript.join("\n"),
        sim_transcript.join("\n")
    );
    super::points(what, real_transcript.len());
    // Shown with `--nocapture`.
    eprintln!("{what}: the same {} lines from both:\n{}", real_transcript.len(), real_transcript.join("\n"));
    real_transcript
}
