//! The event streams the benches run: the same records for
//! `proxy_vs_nginx` (through the proxies), `record_core` (through the
//! recording core alone), `proxy_events` and `mesos-replay`'s `serve`
//! (sessions of them served), each of which includes this with `#[path]`
//! and uses what it needs of it.
#![allow(dead_code)]

/// The first event of every stream.
pub const SUBSCRIBED: &str =
    r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f1"},"heartbeat_interval_seconds":15.0}}"#;

/// The realistic mix, after SUBSCRIBED, in turn: OFFERS with two offers,
/// three UPDATEs, a HEARTBEAT; each with its event type.
pub fn named_mix() -> Vec<(&'static str, String)> {
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
        ("OFFERS", format!(r#"{{"type":"OFFERS","offers":{{"offers":[{},{}]}}}}"#, offer(1), offer(2))),
        ("UPDATE", update("TASK_STARTING")),
        ("UPDATE", update("TASK_RUNNING")),
        ("UPDATE", update("TASK_FINISHED")),
        ("HEARTBEAT", r#"{"type":"HEARTBEAT"}"#.to_owned()),
    ]
}

/// The realistic mix's records ([`named_mix`]).
pub fn mix() -> Vec<String> {
    named_mix().into_iter().map(|(_, record)| record).collect()
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
