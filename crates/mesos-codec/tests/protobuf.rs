//! Protobuf input: bad bytes give errors that say what and where, never a
//! panic; unknown fields are reported; and every message type of the schema
//! survives protobuf → Mesos JSON → protobuf (a property test over
//! generated messages).

use mesos_codec::json::{ProtobufErrorKind, UnknownField, json_to_protobuf, message_type, protobuf_to_json};
use mesos_codec::schema::{MessageId, Schema};
use mesos_codec::wire::write_varint;
use proptest::prelude::*;
use prost_reflect::{DynamicMessage, MessageDescriptor, ReflectMessage, Value};

fn seed_pb(name: &str, ty: &str) -> Vec<u8> {
    let json = std::fs::read(format!("{}/../../fixtures/seed/walkthrough/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    json_to_protobuf(message_type(ty).unwrap(), &json).unwrap()
}

fn event() -> MessageId {
    message_type("scheduler.Event").unwrap()
}

#[test]
fn truncated_protobuf_is_an_error_at_every_length() {
    let pb = seed_pb("event-02-offers.json", "scheduler.Event");
    for len in 0..pb.len() {
        match protobuf_to_json(event(), &pb[..len]) {
            // Some prefixes end exactly between top-level fields: a valid, smaller event.
            Ok(_) => {}
            Err(err) => assert!(
                matches!(err.kind, ProtobufErrorKind::Truncated | ProtobufErrorKind::MissingRequired { .. }),
                "length {len}: {err}"
            ),
        }
    }
    let err = protobuf_to_json(event(), &pb[..pb.len() - 1]).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::Truncated);
    assert!(err.to_string().starts_with("byte "), "{err}");
}

#[test]
fn wrong_wire_type_names_the_field() {
    // Event.type (field 1, an enum) sent as a length-delimited value.
    let err = protobuf_to_json(event(), &[0x0a, 0x01, 0x04]).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::WrongWireType { expected: 0, found: 2 });
    assert_eq!(err.path, "type");
    assert_eq!(err.to_string(), "byte 0, type: wrong wire type 2 (the field's type has wire type 0)");
}

#[test]
fn invalid_utf8_in_a_string_field() {
    // Event { subscribed { framework_id { value: "\xff" } } }
    let err = protobuf_to_json(event(), &[0x08, 0x01, 0x12, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff]).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::InvalidUtf8);
    assert_eq!(err.path, "subscribed.framework_id.value");
    assert_eq!(err.offset, 8);
}

/// proto2, as the master's parser reads it: an enum number the enum does
/// not define leaves the field unset (the number is kept as an unknown
/// field), so a 1.11 master writes QUOTA_V2, which its schema lacks, as `{}`.
#[test]
fn unknown_enum_number_leaves_the_field_unset() {
    let out = protobuf_to_json(event(), &[0x08, 99]).unwrap();
    assert_eq!(out.json, b"{}");
    assert_eq!(out.unknown_fields, [UnknownField { path: "(top level)".into(), number: 1, wire_type: 0 }]);
    // MasterInfo.Capability { type: 3 (QUOTA_V2, unknown to 1.11.0) }.
    let capability = message_type("mesos.v1.MasterInfo.Capability").unwrap();
    assert_eq!(protobuf_to_json(capability, &[0x08, 0x03]).unwrap().json, b"{}");
    // In a repeated field, the unknown values are left out, packed or not.
    // CapabilityInfo.capabilities (field 1): UNKNOWN (0) is defined, 999 is not.
    let capabilities = message_type("mesos.v1.CapabilityInfo").unwrap();
    let unpacked = protobuf_to_json(capabilities, &[0x08, 0x00, 0x08, 0xe7, 0x07]).unwrap();
    assert_eq!(unpacked.json, br#"{"capabilities":["UNKNOWN"]}"#);
    assert_eq!(unpacked.unknown_fields.len(), 1);
    let packed = protobuf_to_json(capabilities, &[0x0a, 0x03, 0xe7, 0x07, 0x00]).unwrap();
    assert_eq!(packed.json, br#"{"capabilities":["UNKNOWN"]}"#);
    assert_eq!(packed.unknown_fields.len(), 1);
    let none_known = protobuf_to_json(capabilities, &[0x0a, 0x02, 0xe7, 0x07]).unwrap();
    assert_eq!(none_known.json, b"{}");
    // A required enum with an unknown number is a missing required field.
    let scalar = message_type("mesos.v1.Value").unwrap();
    let err = protobuf_to_json(scalar, &[0x08, 0x63]).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::MissingRequired { field: "type".into() });
}

#[test]
fn missing_required_field() {
    // Event { subscribed { } }: Subscribed.framework_id is required.
    let err = protobuf_to_json(event(), &[0x08, 0x01, 0x12, 0x00]).unwrap_err();
    assert_eq!(err.path, "subscribed");
    assert_eq!(err.kind, ProtobufErrorKind::MissingRequired { field: "framework_id".into() });
}

#[test]
fn fields_out_of_declaration_order_are_written_in_declaration_order() {
    // Event { subscribed { framework_id { value: "f" } } } then type = SUBSCRIBED (1).
    let pb = [0x12, 0x05, 0x0a, 0x03, 0x0a, 0x01, b'f', 0x08, 0x01];
    let out = protobuf_to_json(event(), &pb).unwrap();
    assert_eq!(out.json, br#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"}}}"#);
}

#[test]
fn a_message_field_given_twice_is_merged() {
    // Event { type: SUBSCRIBED, subscribed { heartbeat_interval_seconds: 15 }, subscribed { framework_id { value: "f" } } }
    let mut pb = vec![0x08, 0x01, 0x12, 0x09, 0x11];
    pb.extend_from_slice(&15f64.to_le_bytes());
    pb.extend_from_slice(&[0x12, 0x05, 0x0a, 0x03, 0x0a, 0x01, b'f']);
    let out = protobuf_to_json(event(), &pb).unwrap();
    assert_eq!(
        out.json,
        br#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f"},"heartbeat_interval_seconds":15.0}}"#
    );
    // A scalar given twice: the last one wins.
    let out = protobuf_to_json(event(), &[0x08, 0x01, 0x08, 0x08]).unwrap();
    assert_eq!(out.json, br#"{"type":"HEARTBEAT"}"#);
}

/// `ContainerID { value: "a", parent: ... }` nested `depth` deep.
fn nested_container_id(depth: usize) -> Vec<u8> {
    let mut message = vec![0x0a, 0x01, b'a'];
    for _ in 0..depth {
        let mut outer = vec![0x0a, 0x01, b'a', 0x12];
        write_varint(message.len() as u64, &mut outer);
        outer.extend_from_slice(&message);
        message = outer;
    }
    message
}

#[test]
fn hostile_nesting_is_refused_not_a_stack_overflow() {
    let id = message_type("ContainerID").unwrap();
    let err = protobuf_to_json(id, &nested_container_id(5_000)).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::TooDeep);
    assert!(err.path.starts_with("parent.parent.parent"), "{}", err.path);
    // 99 levels below the top are fine.
    assert!(protobuf_to_json(id, &nested_container_id(99)).is_ok());
}

#[test]
fn unknown_fields_are_reported_not_dropped_silently() {
    let mut pb = seed_pb("event-04-heartbeat.json", "scheduler.Event");
    // Field 999, varint 7; and inside no message.
    write_varint(999 << 3, &mut pb);
    pb.push(7);
    let out = protobuf_to_json(event(), &pb).unwrap();
    assert_eq!(out.json, br#"{"type":"HEARTBEAT"}"#);
    assert_eq!(out.unknown_fields.len(), 1);
    assert_eq!(out.unknown_fields[0].number, 999);
    assert_eq!(
        out.unknown_fields[0].to_string(),
        "(top level): unknown field number 999 (wire type 0) not representable in JSON"
    );
}

#[test]
fn unknown_fields_survive_a_same_encoding_round_trip() {
    // Decoding and re-encoding protobuf with the dynamic message keeps them.
    let mut pb = seed_pb("event-03-update-task-running.json", "scheduler.Event");
    write_varint(999 << 3 | 2, &mut pb);
    pb.extend_from_slice(&[3, b'a', b'b', b'c']);
    let descriptor = mesos_codec::v1::descriptor_pool().get_message_by_name("mesos.v1.scheduler.Event").unwrap();
    let message = DynamicMessage::decode(descriptor, pb.as_slice()).unwrap();
    let again = prost::Message::encode_to_vec(&message);
    assert_eq!(again, pb);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), which in 0usize..6) {
        let ty = ["scheduler.Event", "scheduler.Call", "master.Response", "executor.Call", "agent.Call", "TaskInfo"][which];
        let _ = protobuf_to_json(message_type(ty).unwrap(), &bytes);
        let _ = json_to_protobuf(message_type(ty).unwrap(), &bytes);
    }
}

// ---- round trip over generated messages ----

use crate::common;
use common::Gen;

/// Equal as decoded values: unset fields read as their defaults (the JSON
/// writer spells out explicit defaults), messages must be present on both
/// sides or neither, lists element by element.
fn same_value(a: &DynamicMessage, b: &DynamicMessage, path: &str) -> Result<(), String> {
    let descriptor: MessageDescriptor = a.descriptor();
    for field in descriptor.fields() {
        let path = format!("{path}.{}", field.name());
        if field.kind().as_message().is_some() && !field.is_list() && !field.is_map() {
            match (a.has_field(&field), b.has_field(&field)) {
                (false, false) => continue,
                (true, true) => {}
                _ => return Err(format!("{path}: present on one side only")),
            }
        }
        same(&a.get_field(&field), &b.get_field(&field), &path)?;
    }
    Ok(())
}

fn same(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Message(a), Value::Message(b)) => same_value(a, b, path),
        (Value::List(a), Value::List(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().try_for_each(|(i, (a, b))| same(a, b, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: {a:?} != {b:?}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn protobuf_to_json_to_protobuf_is_identity_on_the_decoded_value(seed in 1u64.., which in any::<prop::sample::Index>()) {
        let schema = Schema::get();
        let names = schema.message_names();
        let name = names[which.index(names.len())];
        let id = schema.message_by_name(name).unwrap();
        if schema.message(id).map_entry {
            return Ok(());
        }
        let mut generator = Gen::new(seed);
        let pb1 = generator.message(id, 0);
        let json1 = protobuf_to_json(id, &pb1).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        prop_assert!(json1.unknown_fields.is_empty());
        let pb2 = json_to_protobuf(id, &json1.json)
            .map_err(|e| TestCaseError::fail(format!("{name}: {e}\n{}", String::from_utf8_lossy(&json1.json))))?;
        let json2 = protobuf_to_json(id, &pb2).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        prop_assert_eq!(&json1.json, &json2.json, "{}: JSON differs after a round trip", name);
        let descriptor = mesos_codec::v1::descriptor_pool().get_message_by_name(name).unwrap();
        let a = DynamicMessage::decode(descriptor.clone(), pb1.as_slice()).unwrap();
        let b = DynamicMessage::decode(descriptor, pb2.as_slice()).unwrap();
        same_value(&a, &b, name).map_err(|e| TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&json1.json))))?;
    }
}

/// Fuzzing found it (issue 18): a singular message field given twice, the
/// first occurrence cut inside its last field and the second's bytes
/// completing it. Protobuf's parsers read each occurrence on its own, so
/// they refuse it; the JSON writer merged the concatenated bytes and
/// accepted it, where the id walk refused it.
#[test]
fn each_occurrence_of_a_message_field_is_framed_on_its_own() {
    let found = include_bytes!("fuzz-regressions/peeks-split-occurrence");
    let (id, pb) = (message_type("agent.Response").unwrap(), &found[1..]);
    let err = protobuf_to_json(id, pb).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::Truncated, "{err}");
    assert!(mesos_codec::peek::peek_ids(id, mesos_codec::api::Encoding::Protobuf, pb).is_err());
    // The smallest case: Event.subscribed given twice, the first cut inside
    // framework_id (3 bytes announced, 1 there), the second supplying 2.
    let event = message_type("scheduler.Event").unwrap();
    let split = [0x12, 0x03, 0x0a, 0x03, 0x0a, 0x12, 0x02, 0x01, b'f'];
    assert!(protobuf_to_json(event, &split).is_err());
}
