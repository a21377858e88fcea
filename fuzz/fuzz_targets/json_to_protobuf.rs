//! Mesos JSON → protobuf: what the reader accepts, the writer writes, and
//! the written JSON is a fixed point (read and written again, the same
//! bytes). The protobuf itself may gain fields on the way, as the master's
//! own parser gives them: the writer spells out explicit defaults, and
//! reading sets them (docs/mesos-json.md).
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_codec::json::{json_to_protobuf, protobuf_to_json};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let (selector, json) = common::split_first(data);
    let id = common::message(selector);
    let Ok(pb) = json_to_protobuf(id, json) else { return };
    let written = protobuf_to_json(id, &pb).expect("the writer writes what the reader read");
    if common::nan(&written.json) {
        return;
    }
    let again = json_to_protobuf(id, &written.json).expect("the reader reads what the writer wrote");
    let rewritten = protobuf_to_json(id, &again).expect("the writer writes what the reader read");
    assert_eq!(rewritten.json, written.json, "the written JSON is not a fixed point");
});
