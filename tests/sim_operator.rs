//! The operator API (`POST /api/v1`) of the simulated master against a
//! real Apache Mesos 1.11.0 master (`cargo xtask real-master`): the same
//! calls, in JSON and in protobuf, sent to both at the same moments of the
//! same walkthrough (idle; a framework subscribed; a task running; the
//! task killed; the framework torn down), and the answers compared byte for
//! byte: status line, header names in order and values, bodies. So are
//! the refusals (method, media types, bodies that do not parse or
//! validate, calls not implemented) and the operator event stream
//! (SUBSCRIBED, HEARTBEAT, FRAMEWORK_ADDED, TASK_ADDED, TASK_UPDATED,
//! FRAMEWORK_REMOVED), as JSON and as protobuf, record by record.
//!
//! What legitimately differs between two masters is replaced on both
//! sides, in one place ([`normalize`]): ids, ports, times, status update
//! uuids, container statuses (the simulated agents run no containers), the
//! work directory. Protobuf bodies are compared as a dump of their fields
//! in the order they are on the wire ([`dump`]), normalized the same way,
//! so field order is compared too.

use crate::support::{ONE_AT_A_TIME, real_master, scheduler, wire};

use std::net::SocketAddr;
use std::time::Duration;

use mesos_codec::schema::{FieldKind, Schema};
use mesos_codec::wire::{WireValue, read_field};
use mesos_replay::sim::{self, Clock, Config};
use real_master::RealMaster;
use scheduler::Scheduler;
use serde_json::{Value, json};
use wire::{Answer, Conn, Head, Stream};

const API: &str = "/api/v1";
const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";
const WAIT: Duration = Duration::from_secs(20);

// ----- the simulator -----

struct Sim {
    handle: sim::SimHandle,
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    fn start() -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let handle = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sim::spawn(listener, Config::default(), Clock::Real).unwrap()
        });
        Sim { handle, _runtime: runtime }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Real,
    Sim,
}

const SIDES: [Side; 2] = [Side::Real, Side::Sim];

/// What differs between the two masters, each side's own.
#[derive(Clone, Debug)]
struct Own {
    master_id: String,
    port: u16,
}

struct Pair {
    real: RealMaster,
    sim: Sim,
    own: [Own; 2],
    /// Taken while a real master runs (see [`ONE_AT_A_TIME`]).
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Pair {
    fn start() -> Pair {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let real = RealMaster::start();
        let sim = Sim::start();
        let own = [0, 1].map(|_| Own { master_id: String::new(), port: 0 });
        let mut pair = Pair { real, sim, own, _turn: turn };
        for side in SIDES {
            let answer = call(pair.addr(side), JSON, JSON, &json!({"type": "GET_MASTER"}));
            let master: Value = serde_json::from_slice(&answer.body).unwrap();
            let id = master["get_master"]["master_info"]["id"].as_str().unwrap().to_owned();
            pair.own[side as usize] = Own { master_id: id, port: pair.addr(side).port() };
        }
        pair
    }

    fn addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::Real => self.real.addr(),
            Side::Sim => self.sim.handle.local_addr(),
        }
    }

    /// The same operator call to both, in `encoding`, compared.
    fn same_call(&self, what: &str, encoding: &str, body: &Value) {
        let answers = SIDES.map(|side| call(self.addr(side), encoding, encoding, body));
        self.same_answer(&format!("{what} ({encoding})"), &answers[0], &answers[1], encoding);
    }

    /// The same raw request to both, compared.
    fn same_request(&self, what: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let answers = SIDES.map(|side| Conn::open(self.addr(side)).call(method, path, headers, body));
        self.same_answer(what, &answers[0], &answers[1], JSON);
    }

    fn same_answer(&self, what: &str, real: &Answer, sim: &Answer, encoding: &str) {
        same_head(what, &real.head, &sim.head);
        let body = |a: &Answer, side: Side| {
            let protobuf = a.head.header("Content-Type") == Some(PROTOBUF);
            let text = if protobuf {
                dump("mesos.v1.master.Response", &a.body)
            } else {
                String::from_utf8_lossy(&a.body).into_owned()
            };
            normalize(&text, &self.own[side as usize])
        };
        let (r, s) = (body(real, Side::Real), body(sim, Side::Sim));
        if what.contains("GET_METRICS") {
            // The values follow the machine and the moment (and
            // `/metrics/snapshot` holds them to the real master's in
            // `sim_wire.rs`): here the names, in order.
            assert_eq!(metric_names(&s), metric_names(&r), "{what}: the metrics");
            crate::support::points(&format!("{what}: the metrics' names"), metric_names(&r).len());
            return;
        }
        assert!(s == r, "{what} ({encoding}): the body\nreal: {r}\nsim:  {s}");
        crate::support::points(&format!("{what} ({encoding}): the body"), crate::support::text_leaves(&r));
        // Same length but where the values legitimately differ in size.
        if real.body.len() != sim.body.len() {
            eprintln!("{what}: {} bytes here, {} on the real master", sim.body.len(), real.body.len());
        }
    }
}

/// An operator call as JSON or protobuf, answered in `accept`.
fn call(addr: SocketAddr, encoding: &str, accept: &str, body: &Value) -> Answer {
    let bytes = encode("master.Call", encoding, body);
    Conn::open(addr).call("POST", API, &[("Content-Type", encoding), ("Accept", accept)], &bytes)
}

fn encode(message: &str, encoding: &str, body: &Value) -> Vec<u8> {
    let text = body.to_string().into_bytes();
    if encoding == PROTOBUF {
        mesos_codec::json::json_to_protobuf(mesos_codec::json::message_type(message).unwrap(), &text).unwrap()
    } else {
        text
    }
}

/// The same status line and header names in order; the same values but
/// `Date` (each a date) and `Content-Length` (bodies differ in length where
/// ids or times do).
fn same_head(what: &str, real: &Head, sim: &Head) {
    let status = |h: &Head| String::from_utf8_lossy(&h.raw).lines().next().unwrap_or_default().to_owned();
    assert_eq!(status(sim), status(real), "{what}: the status line");
    let names = |h: &Head| h.headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(sim), names(real), "{what}: the header names, in order");
    for ((name, r), (_, s)) in real.headers.iter().zip(&sim.headers) {
        if name == "Date" {
            assert!(s.ends_with(" GMT") && s.len() == r.len(), "{what}: Date {s:?}");
        } else if name != "Content-Length" {
            assert_eq!(s, r, "{what}: header {name}");
        }
    }
    crate::support::points(what, 1 + real.headers.len());
}

// ----- what differs between two masters: the one place -----

/// Replaces in an answer (JSON, or a [`dump`]) what differs between two
/// masters with placeholders: the master id (and so the framework, agent
/// and offer ids), offer numbers, agents' `slave(N)` numbers, the port (in
/// pids, flags, addresses),
/// times (`nanoseconds`, `timestamp`, `start_time`, `elected_time`; a zero
/// stays zero), status update uuids, container statuses, the `work_dir`
/// and `port` flags.
fn normalize(text: &str, own: &Own) -> String {
    let mut text = text.replace(&own.master_id, "MASTER");
    for (from, to) in [(format!(":{}", own.port), ":PORT"), (format!("\"{}\"", own.port), "\"PORT\"")] {
        text = text.replace(&from, to);
    }
    for key in ["nanoseconds", "timestamp", "start_time", "elected_time", "executor_pid"] {
        text = mask_after(&text, &format!("\"{key}\":"), |value| value != "0");
    }
    for key in ["uuid", "status_update_uuid"] {
        text = mask_after(&text, &format!("\"{key}\":"), |_| true);
    }
    text = mask_after(&text, "\"container_status\":", |_| true);
    // The `port` flag of `cargo xtask real-master`'s master says 5050
    // whatever it listens on (its launcher listens elsewhere).
    for flag in ["work_dir", "port"] {
        text = mask_after(&text, &format!("\"name\":\"{flag}\",\"value\":"), |_| true);
    }
    // Offer numbers: which offer is which is the allocator's. Which agent
    // is `slave(1)` is a race between a real master's two agents.
    for prefix in ["MASTER-O", "slave("] {
        text = number_after(&text, prefix);
    }
    text
}

/// Each number after `prefix` replaced by `#`.
fn number_after(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = rest[at + prefix.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('#');
    }
    out.push_str(rest);
    out
}

/// Each value after `key` (a number, a string, an object or an array) is
/// replaced by `…` when `which` says so.
fn mask_after(text: &str, key: &str, which: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let start = at + key.len();
        out.push_str(&rest[..start]);
        let len = value_len(&rest[start..]);
        let value = &rest[start..start + len];
        out.push_str(if which(value) { "…" } else { value });
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// The length of the JSON value `text` starts with.
fn value_len(text: &str) -> usize {
    let (mut depth, mut in_string, mut escaped) = (0i32, false, false);
    for (i, c) in text.char_indices() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => {
                in_string = false;
                if depth == 0 {
                    return i + 1;
                }
            }
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '{' | '[') => depth += 1,
            (false, _, '}' | ']') => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            (false, _, ',') if depth == 0 => return i,
            _ => {}
        }
    }
    text.len()
}

fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"name\":\"") {
        rest = &rest[at + 8..];
        names.push(rest[..rest.find('"').unwrap_or(0)].to_owned());
    }
    names
}

/// A protobuf message as JSON-like text, its fields in the order they are
/// on the wire (a repeated field is its key repeated), named by the v1
/// schema (`#N` for a field it lacks): what two answers are compared by, so
/// that both field order and values count.
fn dump(message: &str, bytes: &[u8]) -> String {
    let schema = Schema::get();
    let id = schema.message_by_name(message).unwrap_or_else(|| panic!("no message {message}"));
    let mut out = String::new();
    dump_into(schema, id, bytes, &mut out);
    out
}

fn dump_into(schema: &Schema, id: mesos_codec::schema::MessageId, bytes: &[u8], out: &mut String) {
    let message = schema.message(id);
    out.push('{');
    let mut at = 0;
    let mut first = true;
    while at < bytes.len() {
        let (number, value, next) = read_field(bytes, at).unwrap_or_else(|e| panic!("not protobuf at {at}: {e:?}"));
        if !first {
            out.push(',');
        }
        first = false;
        let field = message.field_by_number(number).map(|(_, f)| f);
        let name = field.map_or(format!("#{number}"), |f| f.name.clone());
        out.push_str(&format!("\"{name}\":"));
        match (field.map(|f| f.kind), value) {
            (Some(FieldKind::Message(inner)), WireValue::Len(s, e)) => dump_into(schema, inner, &bytes[s..e], out),
            (Some(FieldKind::String), WireValue::Len(s, e)) => {
                out.push_str(&serde_json::to_string(&String::from_utf8_lossy(&bytes[s..e])).unwrap())
            }
            (_, WireValue::Len(s, e)) => {
                out.push('"');
                for b in &bytes[s..e] {
                    out.push_str(&format!("{b:02x}"));
                }
                out.push('"');
            }
            (Some(FieldKind::Double), WireValue::Fixed64(v)) => out.push_str(&format!("{}", f64::from_bits(v))),
            (Some(FieldKind::Enum(e)), WireValue::Varint(v)) => {
                let name = schema.enumeration(e).name_of(v as i32).map(str::to_owned);
                out.push_str(&name.map_or(v.to_string(), |n| format!("\"{n}\"")));
            }
            (Some(FieldKind::Int64 | FieldKind::Int32), WireValue::Varint(v)) => out.push_str(&(v as i64).to_string()),
            (_, WireValue::Varint(v)) => out.push_str(&v.to_string()),
            (_, WireValue::Fixed64(v)) => out.push_str(&v.to_string()),
            (_, WireValue::Fixed32(v)) => out.push_str(&v.to_string()),
        }
        at = next;
    }
    out.push('}');
}

// ----- the event stream -----

/// An operator API subscription on one side.
struct Subscriber {
    stream: Stream,
    encoding: &'static str,
}

impl Subscriber {
    fn open(addr: SocketAddr, encoding: &'static str) -> Subscriber {
        let body = encode("master.Call", encoding, &json!({"type": "SUBSCRIBE"}));
        let stream = Stream::open(addr, API, &[("Content-Type", encoding), ("Accept", encoding)], &body);
        Subscriber { stream, encoding }
    }

    /// The next record that is not a HEARTBEAT (all when `heartbeats`), as
    /// normalized text.
    fn next(&mut self, own: &Own, heartbeats: bool) -> String {
        loop {
            let record = self.stream.record_within(WAIT).expect("a record");
            let text = if self.encoding == PROTOBUF {
                dump("mesos.v1.master.Event", &record)
            } else {
                String::from_utf8(record).unwrap()
            };
            if heartbeats || !(text.contains("\"HEARTBEAT\"")) {
                return normalize(&text, own);
            }
        }
    }
}

/// Both sides' subscribers, in JSON and in protobuf.
struct Subscribers {
    each: Vec<(Side, Subscriber)>,
}

impl Subscribers {
    fn open(pair: &Pair) -> Subscribers {
        let mut each = Vec::new();
        for encoding in [JSON, PROTOBUF] {
            for side in SIDES {
                each.push((side, Subscriber::open(pair.addr(side), encoding)));
            }
        }
        let subs = Subscribers { each };
        for pairs in subs.each.chunks(2) {
            same_head("operator SUBSCRIBE", &pairs[0].1.stream.head, &pairs[1].1.stream.head);
        }
        subs
    }

    /// The next `n` events on every stream, compared side by side.
    fn expect(&mut self, pair: &Pair, what: &str, types: &[&str], heartbeats: bool) {
        for ty in types {
            let mut got: Vec<String> = Vec::new();
            for (side, sub) in &mut self.each {
                got.push(sub.next(&pair.own[*side as usize], heartbeats));
            }
            for (n, pairs) in got.chunks(2).enumerate() {
                let encoding = if n == 0 { JSON } else { PROTOBUF };
                assert!(
                    pairs[0].contains(&format!("\"{ty}\"")),
                    "{what} ({encoding}): {ty} on the real master: {}",
                    pairs[0]
                );
                assert!(pairs[1] == pairs[0], "{what} ({encoding}): {ty}\nreal: {}\nsim:  {}", pairs[0], pairs[1]);
                crate::support::points(&format!("{what} ({encoding}): {ty}"), crate::support::text_leaves(&pairs[0]));
            }
        }
    }
}

// ----- the walkthrough -----

/// Every read-only call, in both encodings.
const CALLS: &[&str] = &[
    r#"{"type":"GET_HEALTH"}"#,
    r#"{"type":"GET_VERSION"}"#,
    r#"{"type":"GET_FLAGS"}"#,
    r#"{"type":"GET_MASTER"}"#,
    r#"{"type":"GET_METRICS","get_metrics":{}}"#,
    r#"{"type":"GET_LOGGING_LEVEL"}"#,
    r#"{"type":"GET_AGENTS"}"#,
    r#"{"type":"GET_FRAMEWORKS"}"#,
    r#"{"type":"GET_EXECUTORS"}"#,
    r#"{"type":"GET_TASKS"}"#,
    r#"{"type":"GET_ROLES"}"#,
    r#"{"type":"GET_STATE"}"#,
    r#"{"type":"GET_OPERATIONS"}"#,
    r#"{"type":"GET_WEIGHTS"}"#,
    r#"{"type":"GET_QUOTA"}"#,
    r#"{"type":"GET_MAINTENANCE_STATUS"}"#,
    r#"{"type":"GET_MAINTENANCE_SCHEDULE"}"#,
];

fn all_calls(pair: &Pair, step: &str) {
    for call in CALLS {
        let body: Value = serde_json::from_str(call).unwrap();
        for encoding in [JSON, PROTOBUF] {
            pair.same_call(&format!("{step}: {}", body["type"].as_str().unwrap()), encoding, &body);
        }
    }
}

/// A request: what it is, its method, headers and body.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a [u8]);

/// The refusals of `Master::Http::api`, byte for byte.
fn refusals(pair: &Pair) {
    let cases: Vec<Case> = vec![
        ("GET", "GET", vec![], b""),
        ("no Content-Type", "POST", vec![], b"{}"),
        ("text/plain", "POST", vec![("Content-Type", "text/plain")], b"{}"),
        ("malformed JSON", "POST", vec![("Content-Type", JSON)], b"{\"type\":"),
        ("empty body", "POST", vec![("Content-Type", JSON)], b""),
        ("not an object", "POST", vec![("Content-Type", JSON)], b"[1]"),
        ("no type", "POST", vec![("Content-Type", JSON)], b"{}"),
        ("unknown type", "POST", vec![("Content-Type", JSON)], br#"{"type":"NOPE"}"#),
        ("GET_METRICS without get_metrics", "POST", vec![("Content-Type", JSON)], br#"{"type":"GET_METRICS"}"#),
        ("UNKNOWN", "POST", vec![("Content-Type", JSON)], br#"{"type":"UNKNOWN"}"#),
        ("TEARDOWN without teardown", "POST", vec![("Content-Type", JSON)], br#"{"type":"TEARDOWN"}"#),
        (
            "unacceptable Accept",
            "POST",
            vec![("Content-Type", JSON), ("Accept", "text/html")],
            br#"{"type":"GET_HEALTH"}"#,
        ),
        ("malformed protobuf", "POST", vec![("Content-Type", PROTOBUF)], b"\xff\xff\xff"),
        ("protobuf without type", "POST", vec![("Content-Type", PROTOBUF)], b""),
    ];
    for (what, method, headers, body) in &cases {
        pair.same_request(what, method, API, headers, body);
    }
    // The other paths to the same endpoint.
    for path in ["/master/api/v1", "/api/v1/", "/master/api/v1/anything"] {
        pair.same_request(path, "POST", path, &[("Content-Type", JSON)], br#"{"type":"GET_HEALTH"}"#);
    }
}

#[test]
fn operator_api_and_event_stream_against_a_real_master() {
    let pair = Pair::start();
    refusals(&pair);
    all_calls(&pair, "idle");
    let mut subs = Subscribers::open(&pair);
    subs.expect(&pair, "subscribed", &["SUBSCRIBED", "HEARTBEAT"], true);

    // A framework subscribes; it launches a task on the first agent's
    // offer and keeps the rest of its offers refused, so that the state
    // holds still.
    let mut fws: Vec<Scheduler> = SIDES.map(|side| Scheduler::json(pair.addr(side), "operator", json!({}))).into();
    subs.expect(&pair, "framework subscribed", &["FRAMEWORK_ADDED"], false);
    for fw in &mut fws {
        let (_, offers) = fw.until("OFFERS", WAIT);
        let offers = scheduler::offers(&offers.expect("offers").json());
        let (first, rest) = offers.split_first().expect("an offer");
        let accept =
            scheduler::launch(&[&first["id"]], &first["agent_id"], &[("t1", "sleep 1000", 0.5, 32.0)], Some(3600.0));
        assert_eq!(fw.call(accept).head.status, 202);
        let others: Vec<&Value> = rest.iter().map(|o| &o["id"]).collect();
        if !others.is_empty() {
            assert_eq!(fw.call(scheduler::decline(&others, Some(3600.0))).head.status, 202);
        }
        for _ in 0..2 {
            let (_, update) = fw.until("UPDATE", WAIT);
            assert_eq!(fw.acknowledge(&update.expect("an update").json()), 202);
        }
    }
    subs.expect(&pair, "task launched", &["TASK_ADDED", "TASK_UPDATED", "TASK_UPDATED"], false);
    std::thread::sleep(Duration::from_millis(500));
    all_calls(&pair, "a task running");

    // The task is killed; what it held is offered again, and refused.
    for fw in &mut fws {
        assert_eq!(fw.call(json!({"type": "KILL", "kill": {"task_id": {"value": "t1"}}})).head.status, 202);
        let (_, update) = fw.until("UPDATE", WAIT);
        assert_eq!(fw.acknowledge(&update.expect("an update").json()), 202);
        let (_, offers) = fw.until("OFFERS", WAIT);
        let offers = scheduler::offers(&offers.expect("offers").json());
        let ids: Vec<&Value> = offers.iter().map(|o| &o["id"]).collect();
        assert_eq!(fw.call(scheduler::decline(&ids, Some(3600.0))).head.status, 202);
    }
    subs.expect(&pair, "task killed", &["TASK_UPDATED"], false);
    std::thread::sleep(Duration::from_millis(500));
    all_calls(&pair, "the task killed");

    // The framework is torn down.
    for fw in &mut fws {
        assert_eq!(fw.call(json!({"type": "TEARDOWN"})).head.status, 202);
    }
    subs.expect(&pair, "framework torn down", &["FRAMEWORK_REMOVED"], false);
    std::thread::sleep(Duration::from_millis(300));
    all_calls(&pair, "torn down");
}
