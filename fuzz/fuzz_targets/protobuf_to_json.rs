//! Protobuf → Mesos JSON: what the writer writes reads back, and writing it
//! again gives the same JSON (the writer's fast and careful modes, the
//! reader's fast and careful readers, both ways).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_codec::json::{json_to_protobuf, protobuf_to_json};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let (selector, pb) = common::split_first(data);
    let id = common::message(selector);
    let Ok(written) = protobuf_to_json(id, pb) else { return };
    if common::nan(&written.json) {
        return;
    }
    let read = json_to_protobuf(id, &written.json).expect("the reader reads what the writer wrote");
    let again = protobuf_to_json(id, &read).expect("the writer writes what the reader read");
    assert_eq!(again.json, written.json, "protobuf → JSON → protobuf → JSON changed the JSON");
});
