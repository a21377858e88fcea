//! The simulated master on the wire against a real Apache Mesos 1.11.0
//! master (`cargo xtask real-master`): both are sent the same raw HTTP/1.1
//! requests and what they answer is compared byte by byte where it does
//! not come from the environment: the status line, the header names with
//! their case and in their order, header values (the `Date` checked
//! against its pattern and the clock, stream ids against theirs), bodies,
//! chunk-size lines, how streams end and whether the connection stays
//! open; for the SUBSCRIBE streams (JSON and protobuf), a 202 call, the
//! error answers of the scheduler API, TEARDOWN, failover, and the
//! endpoints outside it (`/version`, `/master/redirect`, `/redirect`,
//! `/health`, `/master/state`, `/state`, `/metrics/snapshot`).
//!
//! `/master/state` and `/metrics/snapshot` are compared after each step of
//! the same walkthrough on both (idle; subscribed with offers; a task
//! running; killed; torn down): the same keys in the same order, and the
//! same values but where a real master's value comes from its machine
//! (times, host names, paths, timings, load) or from what the simulated
//! master itself decides (the contents of its status updates).
//!
//! Then what only the simulator has: a subscriber that stops reading loses
//! its connection once its backlog is full, and on the virtual clock every
//! byte, `Date` headers included, comes again with the same seed.

use crate::support::real_master;
use crate::support::wire;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mesos_codec::json::{message_type, protobuf_to_json};
use mesos_replay::sim::{self, Clock, Config, Options};
use real_master::RealMaster;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use wire::{Answer, Conn, Head, Stream};

const SCHEDULER: &str = "/api/v1/scheduler";
const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";

// ----- the simulator -----

struct Sim {
    handle: sim::SimHandle,
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    fn start(config: Config, clock: Clock, options: Options) -> Sim {
        Sim::start_on(0, config, clock, options)
    }

    /// On `port` of 127.0.0.1 (0: any).
    fn start_on(port: u16, config: Config, clock: Clock, options: Options) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let handle = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_reuseaddr(true).unwrap();
            socket.bind(SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
            sim::spawn_with(socket.listen(64).unwrap(), config, clock, options).unwrap()
        });
        Sim { handle, _runtime: runtime }
    }

    fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }
}

// ----- comparing heads -----

/// `Date: Sat, 05 Dec 2026 09:18:31 GMT`: its Unix time.
fn parse_date(value: &str) -> i64 {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let parts: Vec<&str> = value.split(' ').collect();
    assert_eq!(parts.len(), 6, "a Date like `Sat, 05 Dec 2026 09:18:31 GMT`: {value:?}");
    let weekday = parts[0].strip_suffix(',').expect("a weekday and a comma");
    assert!(DAYS.contains(&weekday), "{value:?}");
    assert_eq!(parts[1].len(), 2, "a two-digit day: {value:?}");
    let day: i64 = parts[1].parse().unwrap();
    let month = MONTHS.iter().position(|m| *m == parts[2]).expect("a month") as i64 + 1;
    let year: i64 = parts[3].parse().unwrap();
    assert_eq!(parts[4].len(), 8, "hh:mm:ss: {value:?}");
    let hms: Vec<i64> = parts[4].split(':').map(|x| x.parse().unwrap()).collect();
    assert_eq!(parts[5], "GMT");
    // days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let weekday_of = DAYS[((days + 3).rem_euclid(7)) as usize];
    assert_eq!(weekday, weekday_of, "the weekday of {value:?}");
    days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// The same status line, the same header names in the same order, the
/// same values but for `Date` (a date within seconds of now, on both) and
/// the headers named in `own` (each side's own value), and for
/// `Content-Length` when `lengths` is false.
fn same_head(what: &str, real: &Head, sim: &Head, own: &[&str], lengths: bool) {
    let status = |h: &Head| String::from_utf8_lossy(&h.raw).lines().next().unwrap_or_default().to_owned();
    assert_eq!(status(sim), status(real), "{what}: the status line");
    let names = |h: &Head| h.headers.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(sim), names(real), "{what}: the header names, in order\nreal: {real:?}\nsim:  {sim:?}");
    for ((name, r), (_, s)) in real.headers.iter().zip(&sim.headers) {
        if name == "Date" {
            for value in [r, s] {
                let t = parse_date(value);
                assert!((t - unix_now()).abs() <= 5, "{what}: Date {value:?} is now");
            }
        } else if own.contains(&name.as_str()) || (name == "Content-Length" && !lengths) {
            continue;
        } else {
            assert_eq!(s, r, "{what}: header {name}");
        }
    }
    // The raw head is the status line, the headers as parsed, and CRLFs.
    for head in [real, sim] {
        let mut rebuilt = status(head) + "\r\n";
        for (name, value) in &head.headers {
            rebuilt += &format!("{name}: {value}\r\n");
        }
        rebuilt += "\r\n";
        assert_eq!(String::from_utf8_lossy(&head.raw), rebuilt, "{what}: the head is plain `Name: value` lines");
    }
    crate::support::points(what, 1 + real.headers.len());
}

/// Whole answers: heads as [`same_head`], bodies byte for byte after
/// `normalize` (each side's ids replaced).
fn same_answer(what: &str, real: &Answer, sim: &Answer, normalize: &dyn Fn(&str, Side) -> String) {
    let body = |a: &Answer, side| normalize(&a.text(), side);
    let (r, s) = (body(real, Side::Real), body(sim, Side::Sim));
    let lengths = r.len() == s.len() || real.body == sim.body;
    same_head(what, &real.head, &sim.head, &[], lengths);
    assert_eq!(s, r, "{what}: the body");
    crate::support::points(&format!("{what}: the body"), crate::support::text_leaves(&r));
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Real,
    Sim,
}

// ----- the two masters side by side -----

struct Pair {
    real: RealMaster,
    sim: Sim,
}

impl Pair {
    fn addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::Real => self.real.addr(),
            Side::Sim => self.sim.addr(),
        }
    }

    /// One request on a fresh connection to each; both answers.
    fn both(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (Answer, Answer) {
        let ask = |side| Conn::open(self.addr(side)).call(method, path, headers, body);
        (ask(Side::Real), ask(Side::Sim))
    }

    /// A GET answered alike on both.
    fn same_get(&self, path: &str) -> (Answer, Answer) {
        let (r, s) = self.both("GET", path, &[], b"");
        same_answer(&format!("GET {path}"), &r, &s, &|text, _| text.to_owned());
        (r, s)
    }
}

/// A framework subscribed on one side: its stream and ids.
struct Framework {
    stream: Stream,
    id: String,
    stream_id: String,
    content_type: &'static str,
    /// Every record read, in order.
    records: Vec<Vec<u8>>,
}

impl Framework {
    fn subscribe(addr: SocketAddr, content_type: &'static str, call: &Value) -> Framework {
        let body = encode(content_type, call);
        let mut stream =
            Stream::open(addr, SCHEDULER, &[("Content-Type", content_type), ("Accept", content_type)], &body);
        assert_eq!(stream.head.status, 200, "SUBSCRIBE: {:?}", stream.head);
        let stream_id = stream.head.header("Mesos-Stream-Id").expect("a Mesos-Stream-Id").to_owned();
        let first = stream.record().expect("SUBSCRIBED");
        let event = decode(content_type, &first);
        assert_eq!(event["type"], "SUBSCRIBED", "{event}");
        let id = event["subscribed"]["framework_id"]["value"].as_str().unwrap().to_owned();
        Framework { stream, id, stream_id, content_type, records: vec![first] }
    }

    /// The next event.
    fn next(&mut self) -> Value {
        let record = self.stream.record().expect("the stream goes on");
        let event = decode(self.content_type, &record);
        self.records.push(record);
        event
    }

    /// Events until one satisfies `want` (returned); HEARTBEATs and others
    /// read on the way are kept in `records`.
    fn until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..20 {
            let event = self.next();
            if want(&event) {
                return event;
            }
        }
        panic!("no such event in 20");
    }

    fn call(&self, addr: SocketAddr, call: &Value) -> Answer {
        let body = encode(self.content_type, call);
        Conn::open(addr).call(
            "POST",
            SCHEDULER,
            &[("Content-Type", self.content_type), ("Mesos-Stream-Id", &self.stream_id)],
            &body,
        )
    }

    /// Each chunk held exactly one record, its size line in lower-case
    /// hex without leading zeros.
    fn check_chunks(&self, what: &str) {
        let records = self.records.len();
        assert!(self.stream.size_lines.len() >= records, "{what}: chunks");
        for (n, record) in self.records.iter().enumerate() {
            let framed = record.len().to_string().len() + 1 + record.len();
            assert_eq!(self.stream.size_lines[n], format!("{framed:x}"), "{what}: chunk {n} is record {n}, framed");
        }
    }
}

fn encode(content_type: &str, call: &Value) -> Vec<u8> {
    let json = call.to_string().into_bytes();
    if content_type == PROTOBUF {
        mesos_codec::json::json_to_protobuf(message_type("scheduler.Call").unwrap(), &json).unwrap()
    } else {
        json
    }
}

fn decode(content_type: &str, record: &[u8]) -> Value {
    if content_type == PROTOBUF {
        let json = protobuf_to_json(message_type("scheduler.Event").unwrap(), record).unwrap().json;
        serde_json::from_slice(&json).unwrap()
    } else {
        serde_json::from_slice(record).unwrap()
    }
}

/// After SUBSCRIBED: a HEARTBEAT and the OFFERS. A real master sends the
/// first HEARTBEAT and the allocator sends the OFFERS, each on its own, so
/// now and then the OFFERS come first there; never on the simulator.
fn subscribed_heartbeat_offers(f: &mut Framework) {
    f.until(|e| e["type"] == "OFFERS");
    if event_types(f).len() == 2 {
        f.until(|e| e["type"] == "HEARTBEAT");
    }
    let types = event_types(f);
    assert!(
        types == ["SUBSCRIBED", "HEARTBEAT", "OFFERS"] || types == ["SUBSCRIBED", "OFFERS", "HEARTBEAT"],
        "{types:?}"
    );
}

fn event_types(f: &Framework) -> Vec<String> {
    f.records.iter().map(|r| decode(f.content_type, r)["type"].as_str().unwrap().to_owned()).collect()
}

/// The walkthrough's framework, with most of what `/master/state` shows.
fn framework_info(name: &str) -> Value {
    json!({
        "user": "root",
        "name": name,
        "failover_timeout": 60.0,
        "roles": ["tests"],
        "principal": "wire",
        "hostname": "framework.example",
        "webui_url": "http://framework.example/ui",
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "REVOCABLE_RESOURCES"}],
        "labels": {"labels": [{"key": "k", "value": "v"}]}
    })
}

fn subscribe_call(name: &str) -> Value {
    json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": framework_info(name)}})
}

// ----- an order-keeping JSON document -----

/// A JSON value whose objects keep their keys in order.
#[derive(Clone, Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<J, E> {
                Ok(J::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<J, E> {
                Ok(J::Num(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<J, E> {
                Ok(J::Num(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<J, E> {
                Ok(J::Num(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<J, E> {
                Ok(J::Str(v.to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(J::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, J>()? {
                    out.push((k, v));
                }
                Ok(J::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl J {
    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "bool",
            J::Num(_) => "number",
            J::Str(_) => "string",
            J::Arr(_) => "array",
            J::Obj(_) => "object",
        }
    }
}

/// How a value at a path of `/master/state` is compared.
#[derive(PartialEq)]
enum Rule {
    /// Equal.
    Value,
    /// The same kind of value (the environment's, or a time).
    Kind,
    /// A time: a number, zero on both or on neither.
    Time,
    /// Present on both, contents aside.
    Present,
}

/// `/master/state`'s paths (array indexes as `*`) whose values come from
/// the machine or the clock, or from the simulated master's own updates.
fn state_rule(path: &str) -> Rule {
    const KIND: &[&str] = &[
        "/hostname",
        "/pid",
        "/leader",
        "/leader_info/hostname",
        "/leader_info/pid",
        "/leader_info/port",
        "/flags/work_dir",
        "/flags/port",
        "/slaves/*/hostname",
        "/slaves/*/port",
        "/slaves/*/pid",
    ];
    if KIND.contains(&path) {
        return Rule::Kind;
    }
    // Which offer gets which number is the simulated master's business.
    if path.ends_with("/offers/*/id") {
        return Rule::Kind;
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.ends_with("_time") || last == "timestamp" {
        return Rule::Time;
    }
    // The contents of a status update are the simulated master's (it
    // makes no container ids).
    if last == "container_status" {
        return Rule::Present;
    }
    Rule::Value
}

/// Lists a master keeps in hash maps: compared whatever their order, by id.
fn unordered(path: &str) -> bool {
    ["/slaves", "/frameworks", "/frameworks/*/tasks", "/frameworks/*/offers", "/completed_frameworks/*/offers"]
        .contains(&path)
}

fn compare(path: &str, pattern: &str, real: &J, sim: &J, rule: &dyn Fn(&str) -> Rule, out: &mut Vec<String>) {
    match rule(pattern) {
        Rule::Kind => {
            if real.kind() != sim.kind() {
                out.push(format!("{path}: a {} here, a {} on the real master", sim.kind(), real.kind()));
            }
            return;
        }
        Rule::Time => {
            match (real, sim) {
                (J::Num(r), J::Num(s)) if (*r == 0.0) == (*s == 0.0) => {}
                _ => out.push(format!("{path}: {sim:?} here, {real:?} on the real master")),
            }
            return;
        }
        Rule::Present => return,
        Rule::Value => {}
    }
    match (real, sim) {
        (J::Obj(r), J::Obj(s)) => {
            let keys = |m: &Vec<(String, J)>| m.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
            if keys(r) != keys(s) {
                out.push(format!("{path}: keys {:?} here, {:?} on the real master", keys(s), keys(r)));
                return;
            }
            for ((k, rv), (_, sv)) in r.iter().zip(s) {
                compare(&format!("{path}/{k}"), &format!("{pattern}/{k}"), rv, sv, rule, out);
            }
        }
        (J::Arr(r), J::Arr(s)) => {
            if r.len() != s.len() {
                out.push(format!("{path}: {} elements here, {} on the real master", s.len(), r.len()));
                return;
            }
            let (mut r, mut s) = (r.clone(), s.clone());
            if unordered(pattern) {
                // Offers by their agent and resources: which offer gets
                // which number is the allocator's business.
                let offers = pattern.ends_with("/offers");
                let id = |j: &J| match (j.get(if offers { "slave_id" } else { "id" }), offers) {
                    (Some(J::Str(id)), false) => id.clone(),
                    (Some(J::Str(id)), true) => format!("{id} {:?}", j.get("resources")),
                    _ => String::new(),
                };
                r.sort_by_key(id);
                s.sort_by_key(id);
            }
            for (n, (rv, sv)) in r.iter().zip(&s).enumerate() {
                compare(&format!("{path}/{n}"), &format!("{pattern}/*"), rv, sv, rule, out);
            }
        }
        _ => {
            if real != sim {
                out.push(format!("{path}: {sim:?} here, {real:?} on the real master"));
            }
        }
    }
}

/// `/metrics/snapshot`'s metrics whose values come from the machine or the
/// clock (the rest follow the cluster).
fn environmental_metric(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "allocator/event_queue_dispatches",
        "allocator/mesos/allocation_run",
        "allocator/mesos/event_queue_dispatches",
        "master/event_queue_",
        "master/uptime_secs",
        "registrar/",
        "slave/uptime_secs",
        "slave/recovery_time_secs",
        "system/",
        // The agents' own metrics (`slave/*`, `containerizer/*`, `gc/*`):
        // a master running its agents in its process has one agent's, the
        // first to add them, which of the two is a race.
        "gc/",
        "slave/",
        "containerizer/",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Each side's master id, replaced in a body so that ids compare.
fn master_id(addr: SocketAddr) -> String {
    let answer = Conn::open(addr).call("GET", "/master/state", &[], b"");
    let state: Value = serde_json::from_slice(&answer.body).unwrap();
    state["id"].as_str().unwrap().to_owned()
}

/// Both masters' `/master/state` and `/metrics/snapshot`, compared (see the
/// module doc); `step` names the moment.
fn same_state(pair: &Pair, ids: &[String; 2], step: &str) {
    let fetch = |side: Side, path: &str| -> (Answer, J) {
        let answer = Conn::open(pair.addr(side)).call("GET", path, &[], b"");
        let id = &ids[side as usize];
        let text = answer.text().replace(id.as_str(), "MASTER");
        let doc: J = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{step}: {path}: {e}"));
        (answer, doc)
    };
    for path in ["/master/state", "/state"] {
        let (ra, real) = fetch(Side::Real, path);
        let (sa, sim) = fetch(Side::Sim, path);
        same_head(&format!("{step}: GET {path}"), &ra.head, &sa.head, &[], false);
        let mut diffs = Vec::new();
        compare("", "", &real, &sim, &state_rule, &mut diffs);
        assert!(diffs.is_empty(), "{step}: {path} differs:\n{}", diffs.join("\n"));
        crate::support::points(&format!("{step}: {path}"), crate::support::text_leaves(&ra.text()));
    }
    let (ra, real) = fetch(Side::Real, "/metrics/snapshot");
    let (sa, sim) = fetch(Side::Sim, "/metrics/snapshot");
    same_head(&format!("{step}: GET /metrics/snapshot"), &ra.head, &sa.head, &[], false);
    let (J::Obj(real), J::Obj(sim)) = (real, sim) else { panic!("{step}: metrics are an object") };
    let names = |m: &Vec<(String, J)>| m.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sim), names(&real), "{step}: the metrics, in order");
    let diffs: Vec<String> = real
        .iter()
        .zip(&sim)
        .filter(|((name, r), (_, s))| !environmental_metric(name) && r != s)
        .map(|((name, r), (_, s))| format!("{name}: {s:?} here, {r:?} on the real master"))
        .collect();
    assert!(diffs.is_empty(), "{step}: metrics differ:\n{}", diffs.join("\n"));
    let environmental = real.iter().filter(|(name, _)| environmental_metric(name)).count();
    // Each name in its place, and each value but the machine's.
    crate::support::points(&format!("{step}: /metrics/snapshot"), 2 * real.len() - environmental);
}

// ----- the tests -----

/// The endpoints outside the scheduler API, and libprocess's connection
/// handling.
#[test]
fn endpoints_and_connections() {
    let pair = Pair { real: RealMaster::start(), sim: Sim::start(Config::default(), Clock::Real, Options::default()) };
    // `/version`: 1.11.0, the official build's fields, byte for byte.
    let (_, version) = pair.same_get("/version");
    let v: Value = serde_json::from_slice(&version.body).unwrap();
    assert_eq!(v["version"], "1.11.0");
    assert_eq!(v["git_sha"], "04bc7ee1984d86fbb0bd782ccc69ce44c13ae4b9");
    for path in ["/version?jsonp=cb", "/version/", "/version/x", "/health", "/master/health", "/master/health/"] {
        pair.same_get(path);
    }
    for path in ["/foo", "/master/foo", "/", "/redirect/x", "/master/redirect/x", "/master/state.json"] {
        let (_, sim) = pair.same_get(path);
        assert_eq!((sim.head.status, sim.text().as_str()), (404, "404 Not Found."), "{path}");
    }
    // The health check answers any method.
    let (r, s) = pair.both("POST", "/health", &[], b"");
    same_answer("POST /health", &r, &s, &|t, _| t.to_owned());
    // `/redirect`: a 307 to `//<master's hostname>:<port>`, each its own.
    for path in ["/redirect", "/master/redirect", "/master/redirect?x=1"] {
        let (r, s) = pair.both("GET", path, &[], b"");
        same_head(&format!("GET {path}"), &r.head, &s.head, &["Location"], true);
        assert!(r.body.is_empty() && s.body.is_empty());
        for (answer, side) in [(&r, Side::Real), (&s, Side::Sim)] {
            let state: Value =
                serde_json::from_slice(&Conn::open(pair.addr(side)).call("GET", "/master/state", &[], b"").body)
                    .unwrap();
            let hostname = state["leader_info"]["hostname"].as_str().unwrap().to_owned();
            let port = state["leader_info"]["port"].as_u64().unwrap();
            assert_eq!(answer.head.header("Location"), Some(format!("//{hostname}:{port}").as_str()), "{side:?}");
            assert_eq!(port, u64::from(pair.addr(side).port()), "{side:?}");
        }
    }
    // Bodies of 1 KB or more to a request that accepts gzip come gzipped,
    // `Content-Encoding` first; zlib's bytes, as a master's.
    for path in ["/master/state", "/metrics/snapshot", "/version"] {
        let accept = [("Accept-Encoding", "gzip, deflate")];
        let (r, s) = pair.both("GET", path, &accept, b"");
        same_head(&format!("GET {path}, gzip"), &r.head, &s.head, &[], false);
        if path == "/version" {
            assert_eq!(s.head.header("Content-Encoding"), None);
            continue;
        }
        assert_eq!(s.head.header("Content-Encoding"), Some("gzip"));
        for answer in [&r, &s] {
            assert_eq!(answer.head.header("Content-Length"), Some(answer.body.len().to_string().as_str()));
        }
        let plain = gunzip(&r.body);
        serde_json::from_slice::<Value>(&plain).expect("JSON inside");
        serde_json::from_slice::<Value>(&gunzip(&s.body)).expect("JSON inside");
        assert_eq!(sim::gzip(&plain).unwrap(), r.body, "{path}: the real master's gzip, byte for byte");
    }
    // Each connection stays open after an answer; two requests sent at
    // once are answered in order on it.
    for side in [Side::Real, Side::Sim] {
        let mut conn = Conn::open(pair.addr(side));
        let two = "GET /health HTTP/1.1\r\nHost: h\r\n\r\nGET /version HTTP/1.1\r\nHost: h\r\n\r\n";
        conn.send_raw(two.as_bytes());
        assert_eq!(conn.answer().head.status, 200);
        assert!(conn.answer().text().contains("1.11.0"), "{side:?}");
        assert!(!conn.closed_within(Duration::from_millis(300)), "{side:?}: the connection stays open");
        assert_eq!(conn.call("GET", "/health", &[], b"").head.status, 200, "{side:?}");
    }
    // `Connection: close` and HTTP/1.0: answered (without a Connection
    // header), then closed.
    for request in ["GET /version HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "GET /version HTTP/1.0\r\n\r\n"] {
        let mut answers = Vec::new();
        for side in [Side::Real, Side::Sim] {
            let mut conn = Conn::open(pair.addr(side));
            conn.send_raw(request.as_bytes());
            let answer = conn.answer();
            assert!(conn.closed_within(Duration::from_secs(2)), "{side:?}: {request:?} closes the connection");
            answers.push(answer);
        }
        same_answer(request, &answers[0], &answers[1], &|t, _| t.to_owned());
    }
    // Bytes that are not HTTP close the connection unanswered.
    for side in [Side::Real, Side::Sim] {
        let mut conn = Conn::open(pair.addr(side));
        conn.send_raw(b"GARBAGE\r\n\r\n");
        let (got, closed) = conn.drain(Duration::from_secs(2));
        assert!(closed && got.is_empty(), "{side:?}: {:?}", String::from_utf8_lossy(&got));
    }
    // A request whose sender shuts its side at once: the real master closes
    // the connection as soon as it reads the end, answered or not, as its
    // answer was or was not written by then (a race); so does the
    // simulator.
    for side in [Side::Real, Side::Sim] {
        let mut conn = Conn::open(pair.addr(side));
        conn.send_raw(b"GET /version HTTP/1.1\r\nHost: h\r\n\r\n");
        conn.shutdown_write();
        let (got, closed) = conn.drain(Duration::from_secs(2));
        assert!(closed, "{side:?}: the connection closes");
        let answered = !got.is_empty();
        eprintln!("{side:?}: a half-closed request was {}answered", if answered { "" } else { "not " });
    }
    // A request target that is no URL: closed unanswered; an absolute URL
    // without a path: a 400.
    for (target, answered) in [("version", false), ("http://h", true), ("http://h/version", true)] {
        let mut answers = Vec::new();
        for side in [Side::Real, Side::Sim] {
            let mut conn = Conn::open(pair.addr(side));
            conn.send_raw(format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
            if answered {
                answers.push(conn.answer());
            } else {
                let (got, closed) = conn.drain(Duration::from_secs(2));
                assert!(closed && got.is_empty(), "{side:?}: {target}: {:?}", String::from_utf8_lossy(&got));
            }
        }
        if answered {
            same_answer(target, &answers[0], &answers[1], &|t, _| t.to_owned());
        }
    }
    // What libprocess's http-parser (2.6.2) refuses closes the connection
    // unanswered: a method it does not know, or not in capitals; a second
    // `Content-Length`, even the same; a chunked body with one.
    let body = r#"{"type":"DECLINE","framework_id":{"value":"x"},"decline":{"offer_ids":[]}}"#;
    let post = |path: &str, head: &str, body: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n{head}\r\n{body}")
    };
    let length = format!("Content-Length: {}\r\n", body.len());
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    for request in [
        "Get /version HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "FOO /version HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        post("/api/v1/scheduler", &format!("{length}{length}"), body),
        post("/api/v1/scheduler", &format!("{length}Transfer-Encoding: chunked\r\n"), &chunked),
    ] {
        for side in [Side::Real, Side::Sim] {
            let mut conn = Conn::open(pair.addr(side));
            conn.send_raw(request.as_bytes());
            let (got, closed) = conn.drain(Duration::from_secs(2));
            assert!(closed && got.is_empty(), "{side:?}: {request:?}: {:?}", String::from_utf8_lossy(&got));
        }
    }
    // What it takes, as it hands it on, and how libprocess routes a path:
    // a value's trailing spaces kept (`application/json ` is not JSON to a
    // master); the first segment percent-decoded to name the process,
    // the rest not (`/api/v1/sch%65duler` is the operator API); the
    // process's segment taken off the front only where the path starts
    // with it (`//version` is the version process's `version` endpoint,
    // which it has not).
    for request in [
        "GET /vers%69on HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET /vers%zzion HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET /master%2fhealth HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET //version HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET //health HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET //master/health HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "GET /master//health HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        "PATCH /version HTTP/1.1\r\nHost: h\r\n\r\n".to_owned(),
        post("/api/v1/sch%65duler", &length, body),
        post("/api/v1/scheduler", &format!("{length}Transfer-Encoding: identity\r\n"), body),
        format!("POST /api/v1/scheduler HTTP/1.1\r\nHost: h\r\nContent-Type: application/json \r\n{length}\r\n{body}"),
        format!("POST /api/v1/scheduler HTTP/1.1\r\nHost: h\r\nContent-Type:\t application/json\r\n{length}\r\n{body}"),
        format!(
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {} \r\n\r\n{body}",
            body.len()
        ),
    ] {
        let mut answers = Vec::new();
        for side in [Side::Real, Side::Sim] {
            let mut conn = Conn::open(pair.addr(side));
            conn.send_raw(request.as_bytes());
            answers.push(conn.answer());
        }
        same_answer(&request, &answers[0], &answers[1], &|t, _| t.to_owned());
    }
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(data), &mut out).expect("gzip");
    out
}

/// The scheduler API: SUBSCRIBE in JSON and protobuf, a 202, every error
/// answer of the captures that can be made, TEARDOWN, failover, and the
/// state and metrics along the way.
#[test]
fn scheduler_api_state_and_metrics() {
    let pair = Pair { real: RealMaster::start(), sim: Sim::start(Config::default(), Clock::Real, Options::default()) };
    let ids = [master_id(pair.real.addr()), master_id(pair.sim.addr())];
    same_state(&pair, &ids, "idle");

    // Before any framework: errors that need none.
    let not_a_call = b"{\"framework_id\":{\"value\":\"x\"}}";
    let cases: Vec<ErrorCase> = vec![
        ("GET", "GET", vec![], vec![]),
        ("unsupported content type", "POST", vec![("Content-Type", "text/plain")], b"{}".to_vec()),
        ("json not a call", "POST", vec![("Content-Type", JSON)], b"{}".to_vec()),
        ("missing framework id", "POST", vec![("Content-Type", JSON)], br#"{"type":"TEARDOWN"}"#.to_vec()),
        ("no type", "POST", vec![("Content-Type", JSON)], not_a_call.to_vec()),
        ("malformed protobuf", "POST", vec![("Content-Type", PROTOBUF)], b"\xff\xff\xff".to_vec()),
        (
            "unacceptable accept",
            "POST",
            vec![("Content-Type", JSON), ("Accept", "text/html")],
            subscribe_call("x").to_string().into_bytes(),
        ),
        (
            "subscribe with stream id",
            "POST",
            vec![("Content-Type", JSON), ("Mesos-Stream-Id", "00000000-0000-0000-0000-000000000000")],
            subscribe_call("x").to_string().into_bytes(),
        ),
        (
            "subscribe id mismatch",
            "POST",
            vec![("Content-Type", JSON)],
            json!({"type": "SUBSCRIBE", "framework_id": {"value": "a"},
                "subscribe": {"framework_info": {"user": "u", "name": "n", "id": {"value": "b"}}}})
            .to_string()
            .into_bytes(),
        ),
        (
            "unknown framework",
            "POST",
            vec![("Content-Type", JSON), ("Mesos-Stream-Id", "00000000-0000-0000-0000-000000000000")],
            br#"{"type":"TEARDOWN","framework_id":{"value":"nobody"}}"#.to_vec(),
        ),
        ("malformed json", "POST", vec![("Content-Type", JSON)], b"{\"type\":".to_vec()),
    ];
    for (name, method, headers, body) in &cases {
        let (r, s) = pair.both(method, SCHEDULER, headers, body);
        error_answer(name, &r, &s, &|t, _| t.to_owned());
    }

    // SUBSCRIBE, JSON: the head, then SUBSCRIBED, HEARTBEAT, OFFERS, one
    // record a chunk.
    let mut a =
        [Side::Real, Side::Sim].map(|side| Framework::subscribe(pair.addr(side), JSON, &subscribe_call("wire A")));
    same_head("SUBSCRIBE (JSON)", &a[0].stream.head, &a[1].stream.head, &["Mesos-Stream-Id"], true);
    for f in &mut a {
        assert!(is_uuid(&f.stream_id), "{}", f.stream_id);
        subscribed_heartbeat_offers(f);
        f.check_chunks("SUBSCRIBE (JSON)");
    }
    assert_eq!(event_types(&a[1]), ["SUBSCRIBED", "HEARTBEAT", "OFFERS"], "the simulator");
    same_state(&pair, &ids, "subscribed, two offers");

    // Errors of a subscribed framework.
    let sides = [Side::Real, Side::Sim];
    let norm = |ids: [String; 2], fws: [String; 2], sids: [String; 2]| {
        move |text: &str, side: Side| {
            let n = side as usize;
            text.replace(&sids[n], "STREAM").replace(&fws[n], "FRAMEWORK").replace(&ids[n], "MASTER")
        }
    };
    let normalize =
        norm(ids.clone(), [a[0].id.clone(), a[1].id.clone()], [a[0].stream_id.clone(), a[1].stream_id.clone()]);
    let revive = |f: &Framework| json!({"type": "REVIVE", "framework_id": {"value": f.id}});
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&a)
        .map(|(side, f)| {
            Conn::open(pair.addr(*side)).call(
                "POST",
                SCHEDULER,
                &[("Content-Type", JSON)],
                revive(f).to_string().as_bytes(),
            )
        })
        .collect();
    error_answer("no stream id", &answers[0], &answers[1], &normalize);
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&a)
        .map(|(side, f)| {
            Conn::open(pair.addr(*side)).call(
                "POST",
                SCHEDULER,
                &[("Content-Type", JSON), ("Mesos-Stream-Id", "00000000-0000-0000-0000-000000000000")],
                revive(f).to_string().as_bytes(),
            )
        })
        .collect();
    error_answer("wrong stream id", &answers[0], &answers[1], &normalize);

    // A 202: ACCEPT of the offer on agent S0 with a task; then its updates.
    let offers: Vec<Value> = a
        .iter()
        .map(|f| {
            // The offer on S0, wherever it came: a loaded real master's
            // first allocation may find one agent only, and offer the
            // other in an OFFERS of its own a second later.
            f.records
                .iter()
                .rev()
                .flat_map(|record| {
                    let event = decode(f.content_type, record);
                    event["offers"]["offers"].as_array().cloned().unwrap_or_default()
                })
                .find(|o| o["agent_id"]["value"].as_str().unwrap_or_default().ends_with("-S0"))
                .expect("an offer on agent S0")
        })
        .collect();
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&a)
        .zip(&offers)
        .map(|((side, f), offer)| {
            let launch = json!({"type": "ACCEPT", "framework_id": {"value": f.id}, "accept": {
                "offer_ids": [offer["id"]],
                "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                    "name": "wire task", "task_id": {"value": "wire-1"}, "agent_id": offer["agent_id"],
                    "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}},
                                  {"name": "mem", "type": "SCALAR", "scalar": {"value": 128.0}}],
                    "command": {"value": "/bin/sleep 3000s"}}]}}],
                "filters": {"refuse_seconds": 0.0}}});
            f.call(pair.addr(*side), &launch)
        })
        .collect();
    same_answer("ACCEPT (202)", &answers[0], &answers[1], &normalize);
    assert_eq!(answers[1].head.status, 202);
    // TASK_STARTING, and the rest of the agent offered again; acknowledge
    // it, TASK_RUNNING; acknowledge that.
    let mut starting = Vec::new();
    for f in &mut a {
        let update = f.until(|e| e["type"] == "UPDATE");
        assert_eq!(update["update"]["status"]["state"], "TASK_STARTING");
        f.until(|e| e["type"] == "OFFERS");
        starting.push(update["update"]["status"].clone());
    }
    let ack = |f: &Framework, status: &Value| {
        json!({"type": "ACKNOWLEDGE", "framework_id": {"value": f.id}, "acknowledge": {
            "agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}})
    };
    for (n, side) in sides.iter().enumerate() {
        assert_eq!(a[n].call(pair.addr(*side), &ack(&a[n], &starting[n])).head.status, 202);
        let running = a[n].until(|e| e["type"] == "UPDATE")["update"]["status"].clone();
        assert_eq!(running["state"], "TASK_RUNNING");
        assert_eq!(a[n].call(pair.addr(*side), &ack(&a[n], &running)).head.status, 202);
    }
    std::thread::sleep(Duration::from_millis(300));
    same_state(&pair, &ids, "a task running");

    // KILL: TASK_KILLED, acknowledged; its resources offered again.
    for (n, side) in sides.iter().enumerate() {
        let kill =
            json!({"type": "KILL", "framework_id": {"value": a[n].id}, "kill": {"task_id": {"value": "wire-1"}}});
        assert_eq!(a[n].call(pair.addr(*side), &kill).head.status, 202);
        let killed = a[n].until(|e| e["type"] == "UPDATE")["update"]["status"].clone();
        assert_eq!(killed["state"], "TASK_KILLED");
        assert_eq!(a[n].call(pair.addr(*side), &ack(&a[n], &killed)).head.status, 202);
        a[n].until(|e| e["type"] == "OFFERS");
    }
    std::thread::sleep(Duration::from_millis(300));
    same_state(&pair, &ids, "the task killed");

    // TEARDOWN: 202; the stream ends with the last chunk and its
    // connection stays open, ready for another request.
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&a)
        .map(|(side, f)| f.call(pair.addr(*side), &json!({"type": "TEARDOWN", "framework_id": {"value": f.id}})))
        .collect();
    same_answer("TEARDOWN", &answers[0], &answers[1], &normalize);
    for (n, f) in a.iter_mut().enumerate() {
        while f.stream.record().is_some() {}
        assert!(f.stream.ended, "{:?}: the stream ended", sides[n]);
        assert_eq!(f.stream.size_lines.last().map(String::as_str), Some("0"));
        assert!(!f.stream.conn.closed_within(Duration::from_millis(500)), "{:?}: the connection stays open", sides[n]);
        let health = f.stream.conn.call("GET", "/health", &[], b"");
        assert_eq!(health.head.status, 200, "{:?}: the connection is reusable", sides[n]);
    }
    std::thread::sleep(Duration::from_millis(300));
    same_state(&pair, &ids, "torn down");
    // After TEARDOWN: a call is an unknown framework's; SUBSCRIBE again
    // opens a stream that carries one ERROR and ends.
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&a)
        .map(|(side, f)| f.call(pair.addr(*side), &json!({"type": "REVIVE", "framework_id": {"value": f.id}})))
        .collect();
    error_answer("after teardown", &answers[0], &answers[1], &normalize);
    let mut again: Vec<Stream> = sides
        .iter()
        .zip(&a)
        .map(|(side, f)| {
            let mut info = framework_info("wire A");
            info["id"] = json!({"value": f.id});
            let call =
                json!({"type": "SUBSCRIBE", "framework_id": {"value": f.id}, "subscribe": {"framework_info": info}});
            Stream::open(pair.addr(*side), SCHEDULER, &[("Content-Type", JSON)], call.to_string().as_bytes())
        })
        .collect();
    same_head("SUBSCRIBE after TEARDOWN", &again[0].head, &again[1].head, &["Mesos-Stream-Id"], true);
    for s in &mut again {
        let record = s.record().expect("an ERROR");
        assert_eq!(
            String::from_utf8_lossy(&record),
            r#"{"type":"ERROR","error":{"message":"Framework has been removed"}}"#
        );
        assert!(s.record().is_none() && s.ended);
        assert!(!s.conn.closed_within(Duration::from_millis(300)));
    }
    assert_eq!(again[0].size_lines, again[1].size_lines);

    // Protobuf: SUBSCRIBE, then a second SUBSCRIBE of the same framework
    // (failover) in JSON: the old stream gets an ERROR and ends, its
    // connection open; its stream id is refused after.
    let mut p =
        [Side::Real, Side::Sim].map(|side| Framework::subscribe(pair.addr(side), PROTOBUF, &subscribe_call("wire P")));
    same_head("SUBSCRIBE (protobuf)", &p[0].stream.head, &p[1].stream.head, &["Mesos-Stream-Id"], true);
    for f in &mut p {
        subscribed_heartbeat_offers(f);
        f.check_chunks("SUBSCRIBE (protobuf)");
    }
    assert_eq!(event_types(&p[1]), ["SUBSCRIBED", "HEARTBEAT", "OFFERS"], "the simulator");
    let normalize =
        norm(ids.clone(), [p[0].id.clone(), p[1].id.clone()], [p[0].stream_id.clone(), p[1].stream_id.clone()]);
    let mut second: Vec<Framework> = sides
        .iter()
        .zip(&p)
        .map(|(side, f)| {
            let mut info = framework_info("wire P");
            info["id"] = json!({"value": f.id});
            Framework::subscribe(
                pair.addr(*side),
                JSON,
                &json!({"type": "SUBSCRIBE", "framework_id": {"value": f.id}, "subscribe": {"framework_info": info}}),
            )
        })
        .collect();
    same_head("second SUBSCRIBE", &second[0].stream.head, &second[1].stream.head, &["Mesos-Stream-Id"], true);
    for (n, f) in p.iter_mut().enumerate() {
        let error = f.until(|e| e["type"] == "ERROR");
        assert_eq!(error["error"]["message"], "Framework failed over");
        assert!(f.stream.record().is_none() && f.stream.ended, "{:?}: the old stream ends", sides[n]);
        assert!(!f.stream.conn.closed_within(Duration::from_millis(300)), "{:?}: its connection stays open", sides[n]);
        f.check_chunks("the failed-over stream");
        second[n].until(|e| e["type"] == "OFFERS");
    }
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&p)
        .map(|(side, f)| f.call(pair.addr(*side), &json!({"type": "REVIVE", "framework_id": {"value": f.id}})))
        .collect();
    error_answer("old stream id after failover", &answers[0], &answers[1], &normalize);
    let answers: Vec<Answer> = sides
        .iter()
        .zip(&second)
        .map(|(side, f)| f.call(pair.addr(*side), &json!({"type": "TEARDOWN", "framework_id": {"value": f.id}})))
        .collect();
    same_answer("TEARDOWN after failover", &answers[0], &answers[1], &normalize);
    for f in &mut second {
        while f.stream.record().is_some() {}
        assert!(f.stream.ended);
    }
}

/// An error case: its name, the method, the headers and the body.
type ErrorCase<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>);

/// An error answer: head and body alike (the error texts included).
fn error_answer(name: &str, real: &Answer, sim: &Answer, normalize: &dyn Fn(&str, Side) -> String) {
    same_answer(name, real, sim, normalize);
    assert!(real.head.status >= 400, "{name}: {}", real.head.status);
}

/// A subscriber that stops reading: once the stream holds more than the
/// backlog unread (beyond the sockets' buffers), the simulator closes the
/// connection, and the framework is disconnected.
#[test]
fn a_subscriber_that_stops_reading_loses_its_connection() {
    let config = Config { heartbeat: Duration::from_millis(1), ..Config::default() };
    let sim = Sim::start(config, Clock::Manual, Options { stream_backlog: 64 << 10, ..Options::default() });
    // A client with a small receive buffer that reads the head and then
    // nothing.
    let socket = socket_with_small_buffer(sim.addr());
    let mut conn = socket;
    let call = subscribe_call("sleepy").to_string();
    let request = format!(
        "POST {SCHEDULER} HTTP/1.1\r\nHost: h\r\nContent-Type: {JSON}\r\nContent-Length: {}\r\n\r\n{call}",
        call.len()
    );
    std::io::Write::write_all(&mut conn, request.as_bytes()).unwrap();
    let connected = || sim.handle.with_master(|m| m.view().frameworks.iter().any(|f| f.connected));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !connected() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    // 1 000 heartbeats a simulated second, ~30 bytes each on the wire.
    let mut seconds = 0;
    while connected() {
        assert!(seconds < 2_000, "still connected after {seconds} simulated seconds of heartbeats");
        sim.handle.advance(Duration::from_secs(1));
        seconds += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    // What the client still reads ends with the connection: never the
    // last chunk, since the stream did not end.
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut received = Vec::new();
    let _ = std::io::Read::read_to_end(&mut conn, &mut received);
    assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(!received.ends_with(b"0\r\n\r\n"));
    // The master learnt it as a lost connection: the framework is
    // disconnected, its offers rescinded.
    sim.handle.with_master(|m| {
        let view = m.view();
        assert!(view.frameworks.iter().all(|f| !f.connected && f.offers.is_empty() && !f.removed));
    });
}

/// A TCP connection whose receive buffer is as small as the kernel allows.
fn socket_with_small_buffer(addr: SocketAddr) -> std::net::TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap().into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// On the virtual clock with a seed, every byte comes again, heads and
/// `Date`s included: `Date` is the master's own time (its time 0 is its
/// start time, 2026-11-30 00:53:20 UTC unless the config gives one).
#[test]
fn virtual_clock_same_bytes_dates_included() {
    let run = |port: u16| {
        let sim = Sim::start_on(port, Config { seed: 3, ..Config::default() }, Clock::Manual, Options::default());
        let addr = sim.addr();
        let mut all = Vec::new();
        let mut f = Framework::subscribe(addr, JSON, &subscribe_call("det"));
        f.until(|e| e["type"] == "OFFERS");
        all.extend_from_slice(&f.stream.head.raw);
        sim.handle.advance(Duration::from_secs(3_600));
        assert_eq!(
            Conn::open(addr).call("GET", "/health", &[], b"").head.header("Date"),
            Some("Mon, 30 Nov 2026 01:53:20 GMT")
        );
        for path in ["/version", "/master/state", "/metrics/snapshot", "/redirect", "/nowhere"] {
            let answer = Conn::open(addr).call("GET", path, &[], b"");
            all.extend_from_slice(&answer.head.raw);
            all.extend_from_slice(&answer.body);
        }
        let teardown = f.call(addr, &json!({"type": "TEARDOWN", "framework_id": {"value": f.id}}));
        all.extend_from_slice(&teardown.head.raw);
        while f.stream.record().is_some() {}
        for record in &f.records {
            all.extend_from_slice(record);
        }
        all.extend(f.stream.size_lines.join(",").bytes());
        (addr.port(), all)
    };
    let (port, first) = run(0);
    // The same address, so that the bytes that hold it are the same too.
    let (_, second) = run(port);
    let text = String::from_utf8_lossy(&first);
    assert!(text.contains("Date: Mon, 30 Nov 2026 00:53:20 GMT"), "the first answers at time 0");
    assert_eq!(String::from_utf8_lossy(&second), text);
}

/// Issue 18: limits in the simulator too: a body over `--max-body` is
/// answered 413, half a request is closed after `--request-timeout`, one
/// connection over `--max-connections` is answered 503.
#[test]
fn limits_bound_what_a_client_holds() {
    use std::io::{Read, Write};
    let options = Options {
        max_body: 1024,
        request_timeout: Duration::from_millis(400),
        max_connections: 2,
        ..Options::default()
    };
    let sim = Sim::start(Config::default(), Clock::Manual, options);
    let addr = sim.addr();
    let raw = |request: &[u8]| {
        let mut socket = std::net::TcpStream::connect(addr).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        socket.write_all(request).unwrap();
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let big = format!("POST {SCHEDULER} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{}", "x".repeat(5000));
    assert!(raw(big.as_bytes()).starts_with("HTTP/1.1 413 "));
    assert_eq!(raw(b"POST /api/v1/sch"), "", "half a request is closed, unanswered");
    let _a = std::net::TcpStream::connect(addr).unwrap();
    let _b = std::net::TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let refused = raw(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 503 ") && refused.contains("--max-connections 2"), "{refused}");
}
