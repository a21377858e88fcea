//! The peeks: type and ids of every seed walkthrough file in both encodings,
//! JSON in either key order, the lenient reading, borrowing, errors with
//! their positions, and bad input that must never panic.

use std::borrow::Cow;

use base64::Engine;
use mesos_codec::api::Encoding;
use mesos_codec::json::{json_to_protobuf, message_type, protobuf_to_json};
use mesos_codec::peek::{IdKind, Ids, PeekError, Uuid, peek_heading, peek_ids, peek_type};
use mesos_codec::schema::MessageId;
use proptest::prelude::*;

const A: &str = "b5e0c23f-237e-4398-816f-ad1a4aa7d3f3";

use test_support::{seed, seed_files};

fn type_of(name: &str) -> MessageId {
    message_type(if name.starts_with("event-") { "scheduler.Event" } else { "scheduler.Call" }).unwrap()
}

fn b64(text: &str) -> Uuid<'static> {
    Uuid::from(base64::engine::general_purpose::STANDARD.decode(text).unwrap())
}

fn strs(values: &[&str]) -> Vec<Cow<'static, str>> {
    values.iter().map(|v| Cow::Owned((*v).to_owned())).collect()
}

/// What each seed file holds.
fn expected(name: &str) -> Ids<'static> {
    let o = |n: &str| format!("{A}-O{n}");
    let s = |n: &str| format!("{A}-S{n}");
    let fw = strs(&["test13"]);
    let mut ids = Ids::default();
    match name {
        "01-register.json" => {
            ids.type_name = Some("SUBSCRIBE");
            // `framework_id` and `subscribe.framework_info.id`, listed once.
            ids.framework_ids = fw;
        }
        "02-launch_task.json" => {
            ids.type_name = Some("ACCEPT");
            ids.framework_ids = fw;
            ids.offer_ids = strs(&["81c111bd-f27d-41a4-b184-64090dec3048-O428"]);
            ids.task_ids = strs(&["00012"]);
            ids.agent_ids = strs(&["5bb4aba0-628b-4309-b36f-767db1ebb7f4-S0"]);
        }
        "03-acknowledge.json" => {
            ids.type_name = Some("ACKNOWLEDGE");
            ids.framework_ids = fw;
            ids.agent_ids = strs(&[&s("1")]);
            ids.task_ids = strs(&["00016"]);
            ids.status_uuids = vec![b64("H9KoCldtRTu0T7halLxs9w==")];
        }
        "05-decline.json" => {
            ids.type_name = Some("DECLINE");
            ids.framework_ids = fw;
            ids.offer_ids = strs(&[&o("15")]);
        }
        "06.1-launch_task_merged_offers.json" => {
            ids.type_name = Some("ACCEPT");
            ids.framework_ids = fw;
            ids.offer_ids = strs(&[&o("14"), &o("16")]);
            ids.task_ids = strs(&["00017"]);
            ids.agent_ids = strs(&[&s("1")]);
        }
        "06.2-decline_three_offers.json" => {
            ids.type_name = Some("DECLINE");
            ids.framework_ids = fw;
            ids.offer_ids = strs(&[&o("24"), &o("26"), &o("27")]);
        }
        "07-kill_task.json" => {
            ids.type_name = Some("KILL");
            ids.framework_ids = fw;
            ids.task_ids = strs(&["00020"]);
            ids.agent_ids = strs(&[&s("1")]);
        }
        "08-teardown.json" => {
            ids.type_name = Some("TEARDOWN");
            ids.framework_ids = fw;
        }
        "event-01-subscribed.json" => {
            ids.type_name = Some("SUBSCRIBED");
            ids.framework_ids = fw;
        }
        "event-02-offers.json" => {
            ids.type_name = Some("OFFERS");
            ids.framework_ids = fw;
            ids.offer_ids = strs(&[&o("4"), &o("5")]);
            ids.agent_ids = strs(&[&s("1"), &s("0")]);
        }
        "event-03-update-task-running.json" => {
            ids.type_name = Some("UPDATE");
            ids.agent_ids = strs(&[&s("1")]);
            ids.executor_ids = strs(&["00016"]);
            ids.task_ids = strs(&["00016"]);
            ids.status_uuids = vec![b64("H9KoCldtRTu0T7halLxs9w==")];
        }
        "event-04-heartbeat.json" => ids.type_name = Some("HEARTBEAT"),
        "event-06.2-fragment-offer-1.json"
        | "event-06.2-fragment-offer-2.json"
        | "event-06.2-fragment-offer-3.json" => {
            ids.type_name = Some("OFFERS");
            ids.framework_ids = fw;
            ids.agent_ids = strs(&[&s("1")]);
            let n = match &name[name.len() - 6..name.len() - 5] {
                "1" => "24",
                "2" => "26",
                _ => "27",
            };
            ids.offer_ids = strs(&[&o(n)]);
        }
        "event-07-update-task-killed.json" => {
            ids.type_name = Some("UPDATE");
            ids.agent_ids = strs(&[&s("0")]);
            ids.executor_ids = strs(&["00012"]);
            ids.task_ids = strs(&["00012"]);
            ids.status_uuids = vec![b64("mKSkxCycRLKS8y4YA2HM4A==")];
        }
        other => panic!("no expectations for seed file {other}"),
    }
    ids
}

#[test]
fn every_seed_file_gives_its_type_and_ids_in_both_encodings() {
    let names = seed_files();
    assert_eq!(names.len(), 16);
    for name in names {
        let ty = type_of(&name);
        let json = seed(&name);
        let pb = json_to_protobuf(ty, &json).unwrap();
        let want = expected(&name);
        for (encoding, data) in [(Encoding::Json, &json), (Encoding::Protobuf, &pb)] {
            let what = format!("{name} as {encoding:?}");
            assert_eq!(peek_type(ty, encoding, data).unwrap(), want.type_name, "{what}");
            assert_eq!(peek_ids(ty, encoding, data).unwrap(), want, "{what}");
            let heading = peek_heading(ty, encoding, data).unwrap();
            assert_eq!(
                (heading.type_name, heading.framework_id.as_deref()),
                (want.type_name, want.framework_id()),
                "{what}"
            );
        }
    }
}

#[test]
fn json_in_declaration_order_gives_the_same_answers() {
    // As a 1.x master writes it: keys in declaration order, `type` early.
    for name in seed_files() {
        let ty = type_of(&name);
        let pb = json_to_protobuf(ty, &seed(&name)).unwrap();
        let json = protobuf_to_json(ty, &pb).unwrap().json;
        let want = expected(&name);
        assert_eq!(peek_type(ty, Encoding::Json, &json).unwrap(), want.type_name, "{name}");
        assert_eq!(peek_ids(ty, Encoding::Json, &json).unwrap(), want, "{name}");
        if name.starts_with("event-") {
            assert!(json.starts_with(br#"{"type":""#), "{name}");
        }
    }
}

#[test]
fn ids_borrow_from_the_input_unless_escapes_were_undone() {
    let call = message_type("scheduler.Call").unwrap();
    let json = seed("03-acknowledge.json");
    let ids = peek_ids(call, Encoding::Json, &json).unwrap();
    assert!(matches!(ids.framework_ids[0], Cow::Borrowed(_)));
    assert!(matches!(ids.status_uuids[0].0, Cow::Owned(_))); // decoded from base64

    let pb = json_to_protobuf(call, &json).unwrap();
    let ids = peek_ids(call, Encoding::Protobuf, &pb).unwrap();
    assert!(matches!(ids.framework_ids[0], Cow::Borrowed(_)));
    assert!(matches!(ids.task_ids[0], Cow::Borrowed(_)));
    assert!(matches!(ids.status_uuids[0].0, Cow::Borrowed(_)));
    assert_eq!(ids.status_uuids[0].as_bytes().len(), 16);
    assert_eq!(ids.status_uuids[0].to_string(), "H9KoCldtRTu0T7halLxs9w==");

    let escaped = br#"{"type":"TEARDOWN","framework_id":{"value":"a\/b\u00e9"}}"#;
    let ids = peek_ids(call, Encoding::Json, escaped).unwrap();
    assert_eq!(ids.framework_ids, ["a/b\u{e9}"]);
    assert!(matches!(ids.framework_ids[0], Cow::Owned(_)));

    let owned: Ids<'static> = peek_ids(call, Encoding::Json, &json).unwrap().into_owned();
    assert_eq!(owned, expected("03-acknowledge.json"));
}

#[test]
fn type_peek_reads_escapes_null_unknown_names_and_whitespace() {
    let event = message_type("scheduler.Event").unwrap();
    let json = |text: &str| peek_type(event, Encoding::Json, text.as_bytes());
    assert_eq!(json(r#"{"typ\u0065":"HEARTBEAT"}"#).unwrap(), Some("HEARTBEAT"));
    assert_eq!(json(r#"{"type":"HEART\u0042EAT"}"#).unwrap(), Some("HEARTBEAT"));
    assert_eq!(json(" \n\t{ \"type\" :\r\n \"OFFERS\" } \n").unwrap(), Some("OFFERS"));
    assert_eq!(json(r#"{"type":null}"#).unwrap(), None);
    assert_eq!(json(r#"{"type":"NOT_A_TYPE"}"#).unwrap(), None);
    assert_eq!(json(r#"{}"#).unwrap(), None);
    assert_eq!(json(r#"{"types":"OFFERS","x":"type"}"#).unwrap(), None);
    // Skipped values: strings with escaped quotes and brackets, nesting, scalars.
    let skipped =
        r#"{"a":"x\"}]\\","b":[{"c":["}",{"d":[]}]},-1.5e3,true,null],"e":false,"f":null,"g":12,"type":"FAILURE"}"#;
    assert_eq!(json(skipped).unwrap(), Some("FAILURE"));
    // `type` given twice: the full decode keeps the last, and so do the
    // walks that read everything (issue 18: a call was filed under the
    // first); the JSON type peek stops at the first (documented).
    let twice = r#"{"type":"OFFERS","type":"HEARTBEAT"}"#;
    assert_eq!(json(twice).unwrap(), Some("OFFERS"));
    assert_eq!(peek_ids(event, Encoding::Json, twice.as_bytes()).unwrap().type_name, Some("HEARTBEAT"));
    assert_eq!(peek_heading(event, Encoding::Json, twice.as_bytes()).unwrap().type_name, Some("HEARTBEAT"));
    let unknown_after = r#"{"type":"OFFERS","type":"NOT_A_TYPE"}"#;
    assert_eq!(peek_ids(event, Encoding::Json, unknown_after.as_bytes()).unwrap().type_name, Some("OFFERS"));
    // Protobuf: scheduler.Call `10 01 10 02` is TEARDOWN to prost and to
    // Mesos, and to every peek; an unknown number leaves the one before.
    let call = message_type("scheduler.Call").unwrap();
    for peek in [
        peek_type(call, Encoding::Protobuf, &[0x10, 0x01, 0x10, 0x02]).unwrap(),
        peek_ids(call, Encoding::Protobuf, &[0x10, 0x01, 0x10, 0x02]).unwrap().type_name,
        peek_heading(call, Encoding::Protobuf, &[0x10, 0x01, 0x10, 0x02]).unwrap().type_name,
    ] {
        assert_eq!(peek, Some("TEARDOWN"));
    }
    let decoded =
        <mesos_codec::v1::scheduler::Call as prost::Message>::decode(&[0x10u8, 0x01, 0x10, 0x02][..]).unwrap();
    assert_eq!(decoded.r#type(), mesos_codec::v1::scheduler::call::Type::Teardown);
    assert_eq!(peek_type(event, Encoding::Protobuf, &[0x08, 0x7f]).unwrap(), None);
    assert_eq!(peek_type(event, Encoding::Protobuf, &[0x08, 0x08, 0x08, 0x7f]).unwrap(), Some("HEARTBEAT"));
    assert_eq!(peek_type(event, Encoding::Protobuf, &[]).unwrap(), None);
    // Other messages with a `type` enum, and one without.
    for (ty, json, name) in [
        ("executor.Event", r#"{"type":"ACKNOWLEDGED"}"#, "ACKNOWLEDGED"),
        ("executor.Call", r#"{"type":"UPDATE","executor_id":{"value":"e"},"framework_id":{"value":"f"}}"#, "UPDATE"),
        ("master.Call", r#"{"type":"GET_TASKS"}"#, "GET_TASKS"),
        ("master.Event", r#"{"type":"TASK_ADDED"}"#, "TASK_ADDED"),
        ("master.Response", r#"{"type":"GET_TASKS"}"#, "GET_TASKS"),
        ("agent.Call", r#"{"type":"GET_STATE"}"#, "GET_STATE"),
        ("scheduler.Response", r#"{"type":"RECONCILE_OPERATIONS"}"#, "RECONCILE_OPERATIONS"),
    ] {
        let id = message_type(ty).unwrap();
        assert_eq!(peek_type(id, Encoding::Json, json.as_bytes()).unwrap(), Some(name), "{ty}");
        let pb = json_to_protobuf(id, json.as_bytes()).unwrap();
        assert_eq!(peek_type(id, Encoding::Protobuf, &pb).unwrap(), Some(name), "{ty}");
    }
    let framework_id = message_type("FrameworkID").unwrap();
    assert_eq!(peek_type(framework_id, Encoding::Json, b"not even JSON").unwrap(), None);
}

#[test]
fn ids_are_read_leniently() {
    let call = message_type("scheduler.Call").unwrap();
    let ids = |text: &str| peek_ids(call, Encoding::Json, text.as_bytes()).unwrap().into_owned();
    // A single object for a repeated field; null for unset; unknown keys.
    let got = ids(r#"{"type":"DECLINE","unknown":{"x":[1,{"y":"z"}]},"framework_id":null,
        "decline":{"offer_ids":{"value":"o1"},"filters":{"refuse_seconds":"5"}}}"#);
    assert_eq!(got.offer_ids, ["o1"]);
    assert!(got.framework_ids.is_empty());
    // An id without its value, or with a null one, holds nothing.
    let got = ids(r#"{"framework_id":{},"decline":{"offer_ids":[{"value":null},null,{"value":"o2","x":1}]}}"#);
    assert_eq!(got.offer_ids, ["o2"]);
    assert!(got.framework_ids.is_empty());
    // Base64 with whitespace, as stout reads it.
    let got = ids(r#"{"acknowledge":{"uuid":"H9KoCldt RTu0T7hal\nLxs9w=="}}"#);
    assert_eq!(got.status_uuids, [b64("H9KoCldtRTu0T7halLxs9w==")]);
}

#[test]
fn ids_of_operations_executors_and_the_operator_api() {
    let call = message_type("scheduler.Call").unwrap();
    let json = br#"{"framework_id":{"value":"f"},"type":"ACKNOWLEDGE_OPERATION_STATUS",
        "acknowledge_operation_status":{"agent_id":{"value":"S1"},"uuid":"AAECAwQFBgcICQoLDA0ODw==","operation_id":{"value":"op1"}}}"#;
    let want = Ids {
        type_name: Some("ACKNOWLEDGE_OPERATION_STATUS"),
        framework_ids: strs(&["f"]),
        agent_ids: strs(&["S1"]),
        operation_ids: strs(&["op1"]),
        operation_status_uuids: vec![Uuid::from((0u8..16).collect::<Vec<_>>())],
        ..Ids::default()
    };
    both(call, json, &want);

    let event = message_type("scheduler.Event").unwrap();
    let json = br#"{"type":"UPDATE_OPERATION_STATUS","update_operation_status":{"status":{
        "operation_id":{"value":"op1"},"state":"OPERATION_FINISHED","uuid":{"value":"AAECAwQFBgcICQoLDA0ODw=="},
        "agent_id":{"value":"S1"}}}}"#;
    let want = Ids {
        type_name: Some("UPDATE_OPERATION_STATUS"),
        agent_ids: strs(&["S1"]),
        operation_ids: strs(&["op1"]),
        operation_status_uuids: vec![Uuid::from((0u8..16).collect::<Vec<_>>())],
        ..Ids::default()
    };
    both(event, json, &want);

    let executor_event = message_type("executor.Event").unwrap();
    let json =
        br#"{"type":"ACKNOWLEDGED","acknowledged":{"task_id":{"value":"t1"},"uuid":"H9KoCldtRTu0T7halLxs9w=="}}"#;
    let want = Ids {
        type_name: Some("ACKNOWLEDGED"),
        task_ids: strs(&["t1"]),
        status_uuids: vec![b64("H9KoCldtRTu0T7halLxs9w==")],
        ..Ids::default()
    };
    both(executor_event, json, &want);

    let response = message_type("master.Response").unwrap();
    let json = br#"{"type":"GET_TASKS","get_tasks":{"tasks":[{"name":"n","task_id":{"value":"t1"},
        "framework_id":{"value":"f"},"executor_id":{"value":"e1"},"agent_id":{"value":"S0"},"state":"TASK_RUNNING",
        "status_update_uuid":"H9KoCldtRTu0T7halLxs9w==","statuses":[{"task_id":{"value":"t1"},"state":"TASK_RUNNING",
        "uuid":"H9KoCldtRTu0T7halLxs9w=="}]}]}}"#;
    let want = Ids {
        type_name: Some("GET_TASKS"),
        framework_ids: strs(&["f"]),
        agent_ids: strs(&["S0"]),
        task_ids: strs(&["t1"]),
        executor_ids: strs(&["e1"]),
        status_uuids: vec![b64("H9KoCldtRTu0T7halLxs9w==")],
        ..Ids::default()
    };
    both(response, json, &want);

    // An id message itself.
    let framework_id = message_type("FrameworkID").unwrap();
    let want = Ids { framework_ids: strs(&["f9"]), ..Ids::default() };
    both(framework_id, br#"{"value":"f9"}"#, &want);
    assert_eq!(want.get(IdKind::Framework), ["f9"]);
}

/// Checks `json` and its protobuf give `want`.
fn both(ty: MessageId, json: &[u8], want: &Ids<'_>) {
    assert_eq!(&peek_ids(ty, Encoding::Json, json).unwrap(), want);
    let pb = json_to_protobuf(ty, json).unwrap();
    assert_eq!(&peek_ids(ty, Encoding::Protobuf, &pb).unwrap(), want);
}

#[test]
fn a_hundred_offers_list_each_id_once() {
    let event = message_type("scheduler.Event").unwrap();
    let template: serde_json::Value = serde_json::from_slice(&seed("event-02-offers.json")).unwrap();
    let offer = &template["offers"]["offers"][0];
    let mut offers = Vec::new();
    for i in 0..100 {
        let mut o = offer.clone();
        o["id"]["value"] = format!("{A}-O{}", 1000 + i % 60).into(); // 40 offers twice
        o["agent_id"]["value"] = format!("{A}-S{}", i % 7).into();
        offers.push(o);
    }
    let json = serde_json::to_vec(&serde_json::json!({"type": "OFFERS", "offers": {"offers": offers}})).unwrap();
    let pb = json_to_protobuf(event, &json).unwrap();
    for (encoding, data) in [(Encoding::Json, &json), (Encoding::Protobuf, &pb)] {
        assert_eq!(peek_type(event, encoding, data).unwrap(), Some("OFFERS"));
        let ids = peek_ids(event, encoding, data).unwrap();
        let want: Vec<String> = (0..60).map(|i| format!("{A}-O{}", 1000 + i)).collect();
        assert_eq!(ids.offer_ids, want);
        let want: Vec<String> = (0..7).map(|i| format!("{A}-S{i}")).collect();
        assert_eq!(ids.agent_ids, want);
        assert_eq!(ids.framework_ids, ["test13"]);
        assert!(!ids.is_empty());
    }
}

fn json_err(result: Result<impl std::fmt::Debug, PeekError>) -> (String, String, usize, usize) {
    match result {
        Err(PeekError::Json(e)) => (e.path, e.message, e.line, e.column),
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

fn pb_err(result: Result<impl std::fmt::Debug, PeekError>) -> (String, usize, String) {
    match result {
        Err(PeekError::Protobuf(e)) => (e.path, e.offset, e.kind.to_string()),
        other => panic!("expected a protobuf error, got {other:?}"),
    }
}

#[test]
fn bad_json_is_an_error_saying_where() {
    let event = message_type("scheduler.Event").unwrap();
    let ty = |text: &str| peek_type(event, Encoding::Json, text.as_bytes());
    // Worded as every JSON peek words its errors (the serde walk's, which
    // the type peek hands anything malformed to), with where.
    let top = |message: &str, line, column| ("(top level)".to_owned(), message.to_owned(), line, column);
    assert_eq!(json_err(ty("")), top("EOF while parsing a value", 1, 0));
    assert_eq!(json_err(ty("[]")), top("invalid type: sequence, expected a JSON object", 1, 2));
    assert_eq!(json_err(ty(r#"{"type":"OFF"#)), ("type".into(), "EOF while parsing a string".into(), 1, 12));
    assert_eq!(json_err(ty("{\n  \"a\": [1, 2}, \"type\": \"OFFERS\"}")), top("expected `,` or `]`", 2, 13));
    assert_eq!(json_err(ty(r#"{"a":tru,"type":"OFFERS"}"#)), top("expected ident", 1, 9));
    assert_eq!(json_err(ty(r#"{"a" 1}"#)), top("expected `:`", 1, 6));
    assert_eq!(json_err(ty(r#"{"a":1 "type":"OFFERS"}"#)), top("expected `,` or `}`", 1, 8));
    assert_eq!(json_err(ty(r#"{"a":1} x"#)), top("trailing characters", 1, 9));
    assert_eq!(
        json_err(ty(r#"{"type":["OFFERS"]}"#)),
        ("type".into(), "invalid type: sequence, expected an enum name (a string)".into(), 1, 9)
    );
    // A value stepped over nested deeper than the hand walks go (100
    // levels): the serde walk steps over it (serde_json's `IgnoredAny` has
    // no depth limit and no recursion), as every peek does; a peek is not a
    // validator. Malformed inside, it is still an error.
    let deep = format!(r#"{{"a":{}{},"type":"OFFERS"}}"#, "[".repeat(150), "]".repeat(150));
    assert_eq!(ty(&deep).unwrap(), Some("OFFERS"));
    assert_eq!(peek_ids(event, Encoding::Json, deep.as_bytes()).unwrap().type_name, Some("OFFERS"));
    let deep = format!(r#"{{"a":{}{},"type":"OFFERS"}}"#, "[".repeat(150), "]".repeat(149));
    assert_eq!(json_err(ty(&deep)).1, "expected `,` or `]`");

    let call = message_type("scheduler.Call").unwrap();
    let ids = |text: &str| peek_ids(call, Encoding::Json, text.as_bytes()).map(Ids::into_owned);
    let (path, message, line, _) = json_err(ids("{\"acknowledge\":{\n\"uuid\":\"not base64!\"}}"));
    assert_eq!((path.as_str(), line), ("acknowledge.uuid", 2));
    assert!(message.starts_with("invalid base64"), "{message}");
    assert_eq!(json_err(ids(r#"{"framework_id":{"value":7}}"#)).0, "framework_id.value");
    assert_eq!(json_err(ids(r#"{"framework_id":[{"value":"f"}]}"#)).0, "framework_id");
    assert_eq!(json_err(ids(r#"{"decline":{"offer_ids":[[{"value":"o"}]]}}"#)).0, "decline.offer_ids[0]");
    assert_eq!(json_err(ids(r#"{"accept":"yes"}"#)).0, "accept");
    assert_eq!(json_err(ids(r#"{"type":5}"#)).0, "type");
    assert_eq!(json_err(ids(r#"{"type":"TEARDOWN"} {}"#)).0, "(top level)");
    assert_eq!(json_err(ids(r#"{"type":"TEARDOWN","#)).0, "(top level)");
    // Deep nesting: the hand walks stop past 100 levels, and the serde walk
    // steps over an unknown key's value without recursing (serde_json's
    // `IgnoredAny`), so no depth is too deep for a peek.
    for levels in [150, 1_000_000] {
        let deep = format!(r#"{{"a":{}{},"type":"TEARDOWN"}}"#, "[".repeat(levels), "]".repeat(levels));
        assert_eq!(peek_type(call, Encoding::Json, deep.as_bytes()).unwrap(), Some("TEARDOWN"));
        assert_eq!(ids(&deep).unwrap().type_name, Some("TEARDOWN"));
        let unclosed = format!(r#"{{"a":{}"#, "{\"a\":".repeat(levels));
        assert!(peek_type(call, Encoding::Json, unclosed.as_bytes()).is_err());
        assert!(ids(&unclosed).is_err());
    }
}

#[test]
fn bad_protobuf_is_an_error_saying_where() {
    let call = message_type("scheduler.Call").unwrap();
    let pb = json_to_protobuf(call, &seed("03-acknowledge.json")).unwrap();
    // Cut inside `acknowledge`: the type peek steps over every top-level
    // field by its length, so it sees the cut too.
    let cut = &pb[..pb.len() - 3];
    assert!(peek_type(call, Encoding::Protobuf, cut).is_err());
    let (path, offset, kind) = pb_err(peek_ids(call, Encoding::Protobuf, cut));
    assert_eq!((path.as_str(), kind.as_str()), ("(top level)", "truncated message (the input ends inside a field)"));
    assert!(offset > 0 && offset < cut.len());

    // `type` (field 2) sent as a length-delimited value.
    let (path, offset, kind) = pb_err(peek_type(call, Encoding::Protobuf, &[0x12, 0x00]));
    assert_eq!((path.as_str(), offset), ("type", 0));
    assert_eq!(kind, "wrong wire type 2 (the field's type has wire type 0)");
    // A framework id that is not UTF-8, after a good field.
    let (path, offset, kind) = pb_err(peek_ids(call, Encoding::Protobuf, &[0x10, 0x01, 0x0a, 0x03, 0x0a, 0x01, 0xff]));
    assert_eq!((path.as_str(), offset, kind.as_str()), ("framework_id.value", 4, "invalid UTF-8 in a string field"));
    // `framework_id` as a varint.
    let (path, offset, _) = pb_err(peek_ids(call, Encoding::Protobuf, &[0x08, 0x01]));
    assert_eq!((path.as_str(), offset), ("framework_id", 0));
    // Field number 0 after `type`: both peeks read on and refuse it.
    let (_, offset, kind) = pb_err(peek_type(call, Encoding::Protobuf, &[0x10, 0x01, 0x00]));
    assert_eq!((offset, kind.as_str()), (2, "invalid field key 0x0"));
    let (_, offset, kind) = pb_err(peek_ids(call, Encoding::Protobuf, &[0x10, 0x01, 0x00]));
    assert_eq!((offset, kind.as_str()), (2, "invalid field key 0x0"));
    let err = peek_ids(call, Encoding::Protobuf, &[0x00]).unwrap_err();
    assert_eq!(err.to_string(), "protobuf byte 0, (top level): invalid field key 0x0");
}

#[test]
fn truncating_any_seed_file_never_panics() {
    for name in seed_files() {
        let ty = type_of(&name);
        let json = seed(&name);
        let pb = json_to_protobuf(ty, &json).unwrap();
        for (encoding, data) in [(Encoding::Json, &json), (Encoding::Protobuf, &pb)] {
            for end in 0..data.len() {
                let _ = peek_type(ty, encoding, &data[..end]);
                let ids = peek_ids(ty, encoding, &data[..end]);
                let heading = peek_heading(ty, encoding, &data[..end]);
                // Cut JSON is always an error (the object never closes).
                if encoding == Encoding::Json && !data[end..].iter().all(u8::is_ascii_whitespace) {
                    assert!(ids.is_err() && heading.is_err(), "{name} cut at {end}");
                }
            }
        }
    }
}

fn seed_inputs() -> Vec<(MessageId, Encoding, Vec<u8>)> {
    let mut inputs = Vec::new();
    for name in seed_files() {
        let ty = type_of(&name);
        let json = seed(&name);
        let pb = json_to_protobuf(ty, &json).unwrap();
        inputs.push((ty, Encoding::Protobuf, pb));
        inputs.push((ty, Encoding::Json, json));
    }
    inputs
}

/// Sorted copies of every list (JSON and protobuf may order fields differently).
fn sorted(mut ids: Ids<'_>) -> Ids<'_> {
    for list in [
        &mut ids.framework_ids,
        &mut ids.offer_ids,
        &mut ids.agent_ids,
        &mut ids.task_ids,
        &mut ids.executor_ids,
        &mut ids.operation_ids,
    ] {
        list.sort();
    }
    ids.status_uuids.sort();
    ids.operation_status_uuids.sort();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_seed_files_never_panic(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let inputs = seed_inputs();
        let (ty, encoding, data) = &inputs[which.index(inputs.len())];
        let mut data = data.clone();
        for (at, byte, how) in edits {
            let at = at.index(data.len() + 1);
            match how {
                0 if at < data.len() => data[at] = byte,
                1 => data.insert(at, byte),
                _ if at < data.len() => { data.remove(at); }
                _ => data.push(byte),
            }
        }
        let ty_peek = peek_type(*ty, *encoding, &data);
        let ids = peek_ids(*ty, *encoding, &data);
        if let (Ok(t), Ok(ids)) = (&ty_peek, &ids) {
            prop_assert_eq!(*t, ids.type_name);
        }
        // The heading reads less than the ids: it fails only where they fail
        // too, and agrees with them. (What it steps over unread, it does not
        // check: it may accept JSON that is not; `peek.rs`' own tests.)
        let heading = peek_heading(*ty, *encoding, &data);
        if ids.is_ok() {
            prop_assert!(heading.is_ok(), "{:?}", heading);
        }
        if let (Ok(heading), Ok(ids)) = (&heading, &ids) {
            prop_assert_eq!(heading.type_name, ids.type_name);
            prop_assert_eq!(heading.framework_id.as_deref(), ids.framework_id());
        }
        // JSON the reader accepts gives the same ids (as sets) as its protobuf.
        if *encoding == Encoding::Json {
            if let Ok(pb) = json_to_protobuf(*ty, &data) {
                let from_json = peek_ids(*ty, Encoding::Json, &data);
                prop_assert!(from_json.is_ok(), "{:?}", from_json);
                let from_pb = peek_ids(*ty, Encoding::Protobuf, &pb);
                prop_assert!(from_pb.is_ok(), "{:?}", from_pb);
                prop_assert_eq!(sorted(from_json.unwrap()), sorted(from_pb.unwrap()));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), which in 0usize..7) {
        let ty = ["scheduler.Event", "scheduler.Call", "master.Response", "executor.Call", "agent.Call", "TaskInfo", "AgentID"][which];
        let id = message_type(ty).unwrap();
        for encoding in [Encoding::Protobuf, Encoding::Json] {
            let _ = peek_type(id, encoding, &bytes);
            let _ = peek_ids(id, encoding, &bytes);
            let _ = peek_heading(id, encoding, &bytes);
        }
    }

    #[test]
    fn json_ish_bytes_never_panic(text in r#"\{("(type|offers|framework_id|value|uuid)":[\[\]\{\}"\\ ,:a-zA-Z0-9]{0,12}){0,6}\}?"#) {
        for ty in ["scheduler.Event", "scheduler.Call"] {
            let id = message_type(ty).unwrap();
            let _ = peek_type(id, Encoding::Json, text.as_bytes());
            let _ = peek_ids(id, Encoding::Json, text.as_bytes());
            let _ = peek_heading(id, Encoding::Json, text.as_bytes());
        }
    }
}
