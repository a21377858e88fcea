//! Mesos JSON: the seed walkthrough round trip, golden writer output, the
//! lenient and strict reading rules, and bad input.

use mesos_codec::json::{self, json_to_protobuf, message_type, protobuf_to_json};
use mesos_codec::schema::{FieldKind, MessageId, Schema};
use mesos_codec::v1::scheduler;
use serde_json::Value;

fn seed(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../fixtures/seed/walkthrough/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn seed_files() -> Vec<String> {
    let dir = format!("{}/../../fixtures/seed/walkthrough", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// JSON → protobuf → JSON for message type `ty`.
fn round_trip(ty: &str, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let id = message_type(ty).unwrap();
    let pb = json_to_protobuf(id, input).unwrap_or_else(|e| panic!("{ty}: {e}"));
    let out = protobuf_to_json(id, &pb).unwrap();
    assert!(out.unknown_fields.is_empty());
    (pb, out.json)
}

/// Every key of `a` that the schema knows is in `b` with an equal value,
/// recursively (`b` may add the defaults Mesos writes). Keys the 1.x schema
/// no longer has (0.28's `Call.Subscribe.force`, `NetworkInfo.ip_address`)
/// are ignored by the master, and by us.
fn contained(a: &Value, b: &Value, message: MessageId, path: &str) {
    let schema = Schema::get();
    let (Value::Object(a), Value::Object(b)) = (a, b) else { panic!("{path}: not objects") };
    for (k, v) in a {
        let Some(field) = schema.message(message).field_by_name(k) else { continue };
        let w = b.get(k).unwrap_or_else(|| panic!("{path}.{k} missing"));
        let path = format!("{path}.{k}");
        // A single value for a repeated field is read as a one-element list.
        let (vs, ws): (Vec<&Value>, Vec<&Value>) = match (v, w) {
            (Value::Array(v), Value::Array(w)) => (v.iter().collect(), w.iter().collect()),
            (v, Value::Array(w)) => (vec![v], w.iter().collect()),
            (v, w) => (vec![v], vec![w]),
        };
        assert_eq!(vs.len(), ws.len(), "{path}");
        for (v, w) in vs.into_iter().zip(ws) {
            match field.kind {
                FieldKind::Message(id) => contained(v, w, id, &path),
                _ if v.is_number() => assert_eq!(v.as_f64(), w.as_f64(), "{path}"),
                _ => assert_eq!(v, w, "{path}"),
            }
        }
    }
}

#[test]
fn every_seed_file_round_trips_through_protobuf() {
    for name in seed_files() {
        let ty = if name.starts_with("event-") { "scheduler.Event" } else { "scheduler.Call" };
        let input = seed(&name);
        let (_, json) = round_trip(ty, &input);
        // Reading the JSON we wrote and writing it again gives the same JSON.
        // (The protobuf may gain the defaults the writer spelled out, such as
        // FrameworkInfo.checkpoint = false; from then on it is stable too.)
        let (pb2, json2) = round_trip(ty, &json);
        assert_eq!(json, json2, "{name}: JSON is not stable");
        let (pb3, _) = round_trip(ty, &json2);
        assert_eq!(pb2, pb3, "{name}: protobuf is not stable");
        // The same content as the seed: only key order, the defaults Mesos
        // writes, and 01-register's single-object `capabilities` differ.
        let seed_value: Value = serde_json::from_slice(&input).unwrap();
        let ours: Value = serde_json::from_slice(&json).unwrap();
        contained(&seed_value, &ours, message_type(ty).unwrap(), &name);
    }
}

#[test]
fn register_reads_its_single_object_capabilities_as_a_list() {
    let call: scheduler::Call = json::from_json(&seed("01-register.json")).unwrap();
    let info = &call.subscribe.as_ref().unwrap().framework_info;
    assert_eq!(info.capabilities.len(), 1);
    assert_eq!(info.capabilities[0].r#type(), mesos_codec::v1::framework_info::capability::Type::RevocableResources);
    assert_eq!(info.failover_timeout, Some(60.0));
    // `force` is no longer in the 1.x schema: an unknown key, ignored.
    assert!(!String::from_utf8(json::to_json(&call).unwrap()).unwrap().contains("force"));
}

#[test]
fn events_are_written_in_declaration_order() {
    let (_, json) = round_trip("scheduler.Event", &seed("event-01-subscribed.json"));
    assert_eq!(
        String::from_utf8(json).unwrap(),
        r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"test13"}}}"#
    );
    let (_, json) = round_trip("scheduler.Event", &seed("event-03-update-task-running.json"));
    let text = String::from_utf8(json).unwrap();
    assert!(
        text.starts_with(r#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"00016"},"state":"TASK_RUNNING""#),
        "{text}"
    );
    assert!(text.contains(r#""timestamp":1460526113.05411"#), "{text}");
    assert!(text.contains(r#""uuid":"H9KoCldtRTu0T7halLxs9w==""#), "{text}");
}

// ---- golden writer output ----

fn write(ty: &str, json_in: &str) -> String {
    let (_, out) = round_trip(ty, json_in.as_bytes());
    String::from_utf8(out).unwrap()
}

#[test]
fn golden_explicit_defaults_are_written_unless_deprecated() {
    // Filters.refuse_seconds has [default = 5.0] and is not deprecated.
    assert_eq!(write("Filters", "{}"), r#"{"refuse_seconds":5.0}"#);
    // Resource.role has [default = "*"] but is deprecated: not written.
    assert_eq!(
        write("Resource", r#"{"name":"cpus","type":"SCALAR","scalar":{"value":2}}"#),
        r#"{"name":"cpus","type":"SCALAR","scalar":{"value":2.0}}"#
    );
    // Set explicitly, it is written.
    assert!(write("Resource", r#"{"name":"cpus","type":"SCALAR","role":"*"}"#).contains(r#""role":"*""#));
}

#[test]
fn golden_numbers_bytes_and_strings() {
    // Doubles always carry a decimal point.
    assert_eq!(write("Value.Scalar", r#"{"value":2}"#), r#"{"value":2.0}"#);
    assert_eq!(write("Value.Scalar", r#"{"value":0.1}"#), r#"{"value":0.1}"#);
    // 64-bit integers are numbers, not strings.
    assert_eq!(
        write("Value.Range", r#"{"begin":31000,"end":9007199254740993}"#),
        r#"{"begin":31000,"end":9007199254740993}"#
    );
    // Bytes are padded base64: a 16-byte uuid.
    let ack = write(
        "scheduler.Call.Acknowledge",
        r#"{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"H9KoCldtRTu0T7halLxs9w=="}"#,
    );
    assert!(ack.ends_with(r#""uuid":"H9KoCldtRTu0T7halLxs9w=="}"#), "{ack}");
    // Strings as a 1.11 master's rapidjson escapes them: `/` and DEL as they
    // are, control characters in upper-case hex.
    assert_eq!(
        write("FrameworkID", r#"{"value":"a/b\"c\u0001\u001f\u007f"}"#),
        "{\"value\":\"a/b\\\"c\\u0001\\u001F\u{7f}\"}"
    );
    // Enums by name.
    assert_eq!(write("scheduler.Event", r#"{"type":"HEARTBEAT"}"#), r#"{"type":"HEARTBEAT"}"#);
}

#[test]
fn golden_heartbeat_interval_and_infinity() {
    let out = write("scheduler.Event.Subscribed", r#"{"framework_id":{"value":"f"},"heartbeat_interval_seconds":15}"#);
    assert_eq!(out, r#"{"framework_id":{"value":"f"},"heartbeat_interval_seconds":15.0}"#);
    assert_eq!(write("Value.Scalar", r#"{"value":"Infinity"}"#), r#"{"value":"Infinity"}"#);
}

// ---- lenient reading ----

#[test]
fn lenient_numbers_and_booleans_as_strings() {
    assert_eq!(write("Value.Range", r#"{"begin":"1","end":"2"}"#), r#"{"begin":1,"end":2}"#);
    assert_eq!(write("TimeInfo", r#"{"nanoseconds":"-1"}"#), r#"{"nanoseconds":-1}"#);
    let sub = write(
        "scheduler.Call.Subscribe",
        r#"{"framework_info":{"user":"u","name":"n","checkpoint":"true","failover_timeout":"60"}}"#,
    );
    assert!(sub.contains(r#""checkpoint":true"#) && sub.contains(r#""failover_timeout":60.0"#), "{sub}");
}

#[test]
fn lenient_unknown_fields_null_and_unknown_enum_names() {
    assert_eq!(write("FrameworkID", r#"{"value":"x","bogus":{"deep":[1,2,{"a":null}]}}"#), r#"{"value":"x"}"#);
    assert_eq!(write("scheduler.Event", r#"{"type":"HEARTBEAT","subscribed":null}"#), r#"{"type":"HEARTBEAT"}"#);
    // An unknown name in an optional enum field is dropped.
    assert_eq!(write("scheduler.Event", r#"{"type":"NO_SUCH_EVENT"}"#), "{}");
    // And in a repeated one.
    let caps =
        write("FrameworkInfo", r#"{"user":"u","name":"n","capabilities":[{"type":"NOPE"},{"type":"GPU_RESOURCES"}]}"#);
    assert!(caps.contains(r#""capabilities":[{},{"type":"GPU_RESOURCES"}]"#), "{caps}");
    // Base64 may hold whitespace.
    let ack = write(
        "scheduler.Call.Acknowledge",
        "{\"agent_id\":{\"value\":\"a\"},\"task_id\":{\"value\":\"t\"},\"uuid\":\"H9KoCldt RTu0T7hal\\nLxs9w==\"}",
    );
    assert!(ack.contains(r#""uuid":"H9KoCldtRTu0T7halLxs9w==""#), "{ack}");
}

// ---- strict reading: errors name the path ----

fn error(ty: &str, input: &str) -> json::JsonError {
    json_to_protobuf(message_type(ty).unwrap(), input.as_bytes()).unwrap_err()
}

#[test]
fn strict_wrong_types_name_the_path() {
    let e = error("scheduler.Call", r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":7,"name":"n"}}}"#);
    assert_eq!(e.path, "subscribe.framework_info.user");
    assert_eq!(e.message, "expected a string, found a number");
    assert_eq!(e.to_string(), "subscribe.framework_info.user: expected a string, found a number (line 1, column 59)");
}

#[test]
fn strict_missing_required_fields() {
    let e = error("scheduler.Call", r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"n"}}}"#);
    assert_eq!((e.path.as_str(), e.message.as_str()), ("subscribe.framework_info", "missing required fields: user"));
    let e = error("scheduler.Call", r#"{"type":"SUBSCRIBE","subscribe":{}}"#);
    assert_eq!((e.path.as_str(), e.message.as_str()), ("subscribe", "missing required fields: framework_info"));
}

#[test]
fn strict_enums_are_names() {
    let e = error("scheduler.Event", r#"{"type":4}"#);
    assert_eq!((e.path.as_str(), e.message.as_str()), ("type", "enums are read as names (strings), not numbers"));
    // An unknown name in a required enum field is an error.
    let e = error("Resource", r#"{"name":"cpus","type":"BOGUS"}"#);
    assert_eq!(e.path, "type");
    assert!(e.message.contains("unknown mesos.v1.Value.Type value `BOGUS`"), "{}", e.message);
}

#[test]
fn strict_arrays_garbage_depth_and_syntax() {
    let e = error("FrameworkID", r#"{"value":["a"]}"#);
    assert_eq!((e.path.as_str(), e.message.as_str()), ("value", "an array for a field that is not repeated"));
    let e = error("FrameworkID", r#"{"value":"a"} trailing"#);
    assert_eq!(e.path, "(top level)");
    assert!(e.message.contains("trailing characters"), "{}", e.message);
    let e = error("FrameworkID", r#"{"value":"a""#);
    assert!(e.message.contains("EOF"), "{}", e.message);
    let deep = format!("{{\"value\":\"a\",\"x\":{}1{}}}", "[".repeat(100), "]".repeat(100));
    let e = error("FrameworkID", &deep);
    assert_eq!(e.message, "nesting deeper than 100 levels");
    let ok = format!("{{\"value\":\"a\",\"x\":{}1{}}}", "[".repeat(98), "]".repeat(98));
    assert!(json_to_protobuf(message_type("FrameworkID").unwrap(), ok.as_bytes()).is_ok());
    let e = error("FrameworkID", "[1]");
    assert!(e.message.contains("expected a JSON object"), "{}", e.message);
}

#[test]
fn protobuf_from_json_is_in_field_number_order() {
    // ExecutorInfo declares `source = 10` before `data = 4`; the encoding is by number.
    let pb = json_to_protobuf(
        message_type("ExecutorInfo").unwrap(),
        br#"{"executor_id":{"value":"e"},"command":{"value":"true"},"source":"s","data":"AA=="}"#,
    )
    .unwrap();
    let numbers: Vec<u32> = {
        let mut at = 0;
        let mut v = Vec::new();
        while at < pb.len() {
            let (n, _, next) = mesos_codec::wire::read_field(&pb, at).unwrap();
            v.push(n);
            at = next;
        }
        v
    };
    assert_eq!(numbers, [1, 4, 7, 10]);
}
