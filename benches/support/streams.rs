//! The event streams the benches run: the same records for
//! `proxy_vs_nginx` (through the proxies), `record_core` (through the
//! recording core alone), `proxy_events` and `mesos-replay`'s `serve`
//! (sessions of them served), each of which includes this with `#[path]`
//! and uses what it needs of it.
#![allow(dead_code)]

/// The session the realistic mix is taken from: the seed walkthrough
/// through `mesos-proxy record` in front of a real Mesos 1.11.0 master
/// (`fixtures/sessions/real-master/`, whose README says how it was made).
const REAL_MASTER: &str = include_str!("../../fixtures/sessions/real-master/walkthrough.session.jsonl");

/// The framework id of [`REAL_MASTER`]'s stream (its SUBSCRIBED's, and
/// its offers').
pub const FRAMEWORK_ID: &str = "test13";

/// An event of [`REAL_MASTER`]'s stream.
pub struct RealEvent {
    /// Its type.
    pub name: String,
    /// Its record, byte for byte as the master wrote it.
    pub record: String,
    /// Its session line after `"seq":N,"t_ns":T` (from `,"conn":1` to the
    /// closing brace), as the recorder wrote it: for benches that write a
    /// session of these events.
    pub fields: String,
}

/// The events of [`REAL_MASTER`]'s stream, in the order the master sent
/// them.
fn real_master_events() -> Vec<RealEvent> {
    REAL_MASTER
        .lines()
        .filter_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("the fixture session is JSON lines");
            (entry["kind"] == "event").then(|| {
                let at = line.find(r#","conn":"#).expect("an entry's conn after its seq and t_ns");
                RealEvent {
                    name: entry["event"].as_str().expect("an event's type").to_owned(),
                    record: entry["record"].as_str().expect("an event's record is JSON text").to_owned(),
                    fields: line[at..].to_owned(),
                }
            })
        })
        .collect()
}

/// The first event of every stream: the real master's SUBSCRIBED (396 B).
pub fn subscribed() -> RealEvent {
    let first = real_master_events().into_iter().next().expect("the fixture session has events");
    assert_eq!(first.name, "SUBSCRIBED");
    assert!(first.record.contains(FRAMEWORK_ID));
    first
}

/// The realistic mix, after SUBSCRIBED, in turn: the rest of a real Mesos
/// 1.11.0 master's stream as it sent it, a HEARTBEAT (20 B), OFFERS with
/// two offers (1 231 B), the UPDATEs of a task's TASK_STARTING (466 B),
/// TASK_RUNNING (465 B) and TASK_KILLED (518 B): 540 B a record on
/// average.
pub fn named_mix() -> Vec<RealEvent> {
    let events = real_master_events();
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["SUBSCRIBED", "HEARTBEAT", "OFFERS", "UPDATE", "UPDATE", "UPDATE"], "the fixture's stream");
    events.into_iter().skip(1).collect()
}

/// The realistic mix's records ([`named_mix`]).
pub fn mix() -> Vec<String> {
    named_mix().into_iter().map(|e| e.record).collect()
}

/// The hand-made mix the benches ran up to `docs/performance.md`'s
/// Nineteenth run, kept for comparisons with those runs: OFFERS with two
/// offers, three UPDATEs, a HEARTBEAT, in turn, shaped like a master's
/// but smaller (347 B a record on average). Figures of "the mix" or "the
/// realistic mix" in the code's comments and in `docs/performance.md` up
/// to its Nineteenth run are of this one.
pub fn made_mix() -> Vec<String> {
    let offer = |i: u32| {
        format!(
            r#"{{"id":{{"value":"o-{i}"}},"framework_id":{{"value":"f1"}},"agent_id":{{"value":"a-{i}"}},"hostname":"agent{i}.example.com","resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":4.0}},"role":"*"}},{{"name":"mem","type":"SCALAR","scalar":{{"value":8192.0}},"role":"*"}},{{"name":"ports","type":"RANGES","ranges":{{"range":[{{"begin":31000,"end":32000}}]}},"role":"*"}}]}}"#
        )
    };
    let update = |state: &str| {
        format!(
            r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"task-1"}},"state":"{state}","source":"SOURCE_EXECUTOR","agent_id":{{"value":"a-1"}},"executor_id":{{"value":"task-1"}},"timestamp":1764020000.123,"uuid":"ZGVhZGJlZWZkZWFkYmVlZg==","container_status":{{"network_infos":[{{"ip_addresses":[{{"ip_address":"10.0.0.1"}}]}}]}}}}}}}}"#
        )
    };
    vec![
        format!(r#"{{"type":"OFFERS","offers":{{"offers":[{},{}]}}}}"#, offer(1), offer(2)),
        update("TASK_STARTING"),
        update("TASK_RUNNING"),
        update("TASK_FINISHED"),
        r#"{"type":"HEARTBEAT"}"#.to_owned(),
    ]
}

/// An UPDATE of exactly `size` bytes (its message padded).
pub fn update_of(size: usize) -> String {
    let record = |pad: usize| {
        format!(
            r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"task-1"}},"state":"TASK_RUNNING","agent_id":{{"value":"a-1"}},"message":"{}","uuid":"ZGVhZGJlZWZkZWFkYmVlZg=="}}}}}}"#,
            "x".repeat(pad)
        )
    };
    let base = record(0).len();
    assert!(size >= base, "an UPDATE takes at least {base} bytes");
    let record = record(size - base);
    assert_eq!(record.len(), size);
    record
}
