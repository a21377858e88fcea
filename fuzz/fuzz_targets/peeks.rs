//! Peeks: on any message the full decode accepts, the type the peeks give is
//! the full decode's, and the heading's framework id is the id walk's first.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mesos_codec::api::Encoding;
use mesos_codec::json::{json_to_protobuf, protobuf_to_json};
use mesos_codec::peek::{peek_heading, peek_ids, peek_type};

#[path = "common.rs"]
mod common;

/// The top-level `type` of a JSON document the writer wrote.
fn written_type(json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    value.get("type")?.as_str().map(str::to_owned)
}

fuzz_target!(|data: &[u8]| {
    let (selector, input) = common::split_first(data);
    let id = common::message(selector);
    let encoding = if selector & 0x80 != 0 { Encoding::Protobuf } else { Encoding::Json };
    let written = match encoding {
        Encoding::Json => json_to_protobuf(id, input).ok().and_then(|pb| protobuf_to_json(id, &pb).ok()),
        Encoding::Protobuf => protobuf_to_json(id, input).ok(),
    };
    let Some(written) = written else { return };
    let ids = peek_ids(id, encoding, input).expect("the id walk reads what the full decode reads");
    let heading = peek_heading(id, encoding, input).expect("the heading reads what the full decode reads");
    assert_eq!(heading.type_name, ids.type_name);
    assert_eq!(heading.framework_id.as_deref(), ids.framework_id());
    // The full decode's type, read back from what it wrote, unless that is
    // not JSON (a double that is NaN, written bare as the master writes it).
    if common::nan(&written.json) {
        return;
    }
    let full = written_type(&written.json);
    assert_eq!(ids.type_name.map(str::to_owned), full, "peek_ids' type is not the full decode's");
    if encoding == Encoding::Protobuf {
        assert_eq!(peek_type(id, encoding, input).unwrap().map(str::to_owned), full);
    }
});
