//! Zero-copy views: for every message type of the schema, a view of random
//! protobuf bytes (canonical or not) reads exactly what prost decodes; bad
//! bytes are refused with the JSON writer's errors (what, where), never a
//! panic; and the proto2 rules views follow (the last value wins, message
//! fields merge, the last oneof member wins, unknown enum numbers) hold.

use bytes::Bytes;
use mesos_codec::json::{ProtobufErrorKind, json_to_protobuf, message_type, protobuf_to_json};
use mesos_codec::schema::Schema;
use mesos_codec::v1::{self, scheduler};
use mesos_codec::view::{Checked, HasView, MessageView};
use mesos_codec::wire::write_varint;
use proptest::prelude::*;
use prost::Message;

use crate::common;
use common::Gen;

/// Decodes `bytes` with prost and through a view: both must agree.
fn check<T: HasView + Message + Default + PartialEq + std::fmt::Debug>(bytes: &Bytes) -> Result<(), String> {
    let name = <T::View<'static> as MessageView<'static>>::FULL_NAME;
    let prost = T::decode(bytes.clone()).map_err(|e| format!("{name}: prost refused it: {e}"))?;
    let checked = Checked::<T>::decode(bytes.clone()).map_err(|e| format!("{name}: the view refused it: {e}"))?;
    let viewed = checked.to_message();
    if viewed != prost {
        return Err(format!("{name}: the view reads\n{viewed:?}\nprost decodes\n{prost:?}"));
    }
    Ok(())
}

type Check = fn(&Bytes) -> Result<(), String>;

/// Every message with a prost type, by full name (generated with the views).
const ALL: &[(&str, Check)] = include!(concat!(env!("OUT_DIR"), "/mesos.v1.view_registry.rs"));

fn check_by_name(name: &str, bytes: &Bytes) -> Result<(), String> {
    let (_, check) = ALL.iter().find(|(n, _)| *n == name).ok_or_else(|| format!("no view of {name}"))?;
    check(bytes)
}

/// A message given twice in a row: protobuf's merge (message fields
/// merge, singular values of the second win, repeated ones add up).
fn twice(bytes: &[u8]) -> Bytes {
    Bytes::from([bytes, bytes].concat())
}

#[test]
fn every_message_with_a_prost_type_has_a_view() {
    let schema = Schema::get();
    let mut names: Vec<&str> = schema
        .message_names()
        .into_iter()
        .filter(|n| {
            let id = schema.message_by_name(n).unwrap();
            !schema.message(id).map_entry
        })
        .collect();
    names.sort_unstable();
    let mut registered: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
    registered.sort_unstable();
    assert_eq!(names, registered);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn views_read_what_prost_decodes(seed in 1u64.., which in any::<prop::sample::Index>()) {
        let (name, _) = ALL[which.index(ALL.len())];
        let schema = Schema::get();
        let id = schema.message_by_name(name).unwrap();
        let mut generator = Gen::new(seed);
        generator.maps = true;
        let bytes = generator.message(id, 0);
        check_by_name(name, &Bytes::from(bytes.clone())).map_err(|e| {
            let json = protobuf_to_json(id, &bytes).map(|t| String::from_utf8_lossy(&t.json).into_owned());
            TestCaseError::fail(format!("{e}\n{json:?}\n{bytes:02x?}"))
        })?;
        // Concatenated: every message field now occurs twice (merged).
        check_by_name(name, &twice(&bytes)).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), which in any::<prop::sample::Index>()) {
        let (name, _) = ALL[which.index(ALL.len())];
        // Refused or read: either way no panic, and what is read is what prost decodes
        // whenever both accept it (prost accepts more: it does not check required fields).
        let bytes = Bytes::from(bytes);
        let _ = check_by_name(name, &bytes);
    }

    #[test]
    fn mutated_events_are_refused_where_the_json_writer_refuses_them(cut in 0usize..2000, flip in 0usize..2000, bit in 0u8..8) {
        let mut pb = seed_pb("event-02-offers.json", "scheduler.Event");
        let at = flip % pb.len();
        pb[at] ^= 1 << bit;
        pb.truncate(cut % (pb.len() + 1));
        let view = Checked::<scheduler::Event>::decode(Bytes::from(pb.clone()));
        let json = protobuf_to_json(event(), &pb);
        // Both refuse or both read it (the JSON writer also refuses unknown
        // enum numbers, which views read as absent). Where there are several
        // faults, each may name another one first: the view names the first
        // in byte order, the JSON writer checks a message's framing before
        // what its fields hold.
        match (view, json) {
            (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
            (Ok(_), Err(j)) => prop_assert!(matches!(j.kind, ProtobufErrorKind::UnknownEnumNumber { .. }), "{}", j),
            (Err(v), Ok(_)) => prop_assert!(false, "the view refused what the JSON writer read: {}", v),
        }
    }
}

fn seed_pb(name: &str, ty: &str) -> Vec<u8> {
    let json = std::fs::read(format!("{}/../../fixtures/seed/walkthrough/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    json_to_protobuf(message_type(ty).unwrap(), &json).unwrap()
}

fn event() -> mesos_codec::schema::MessageId {
    message_type("scheduler.Event").unwrap()
}

#[test]
fn every_seed_message_reads_as_prost_decodes_it() {
    let dir = format!("{}/../../fixtures/seed/walkthrough", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let json = std::fs::read(&path).unwrap();
        // Calls and events alike: whichever reads the file.
        for ty in ["scheduler.Call", "scheduler.Event"] {
            if let Ok(pb) = json_to_protobuf(message_type(ty).unwrap(), &json) {
                check_by_name(&format!("mesos.v1.{ty}"), &Bytes::from(pb)).unwrap();
                seen += 1;
                break;
            }
        }
    }
    assert!(seen >= 5, "{seen} seed messages");
}

#[test]
fn an_offers_event_reads_in_place() {
    let pb = Bytes::from(seed_pb("event-02-offers.json", "scheduler.Event"));
    let checked = Checked::<scheduler::Event>::decode(pb.clone()).unwrap();
    let event = checked.view();
    assert_eq!(event.r#type(), Some(scheduler::event::Type::Offers));
    let offers: Vec<_> = event.offers().unwrap().offers().collect();
    assert!(!offers.is_empty());
    let prost = scheduler::Event::decode(pb.clone()).unwrap();
    for (view, offer) in offers.iter().zip(&prost.offers.as_ref().unwrap().offers) {
        assert_eq!(view.id().value(), offer.id.value);
        assert_eq!(view.hostname(), offer.hostname);
        // Borrowed from the input: no copy.
        let range = pb.as_ptr_range();
        assert!(range.contains(&view.hostname().as_ptr()));
        let names: Vec<&str> = view.resources().map(|r| r.name()).collect();
        assert_eq!(names, offer.resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>());
    }
    // The bytes are kept as they came.
    assert_eq!(checked.bytes().as_ptr(), pb.as_ptr());
}

#[test]
fn errors_say_what_and_where() {
    // Truncated at every length: an error naming a byte inside the input, or (at 0) a missing field.
    let pb = seed_pb("event-02-offers.json", "scheduler.Event");
    for len in 0..pb.len() {
        let err = Checked::<scheduler::Event>::decode(Bytes::copy_from_slice(&pb[..len]));
        let json = protobuf_to_json(event(), &pb[..len]);
        match (err, json) {
            (Err(e), Err(j)) => assert_eq!(e, j, "cut at {len}"),
            (Ok(_), Ok(_)) => {}
            (a, b) => panic!("cut at {len}: view {a:?}, JSON writer {b:?}"),
        }
    }
    // Wrong wire type: Event.type (field 1) as a length-delimited value.
    let err = Checked::<scheduler::Event>::decode(Bytes::from_static(b"\x0a\x00")).unwrap_err();
    assert_eq!(err.to_string(), "byte 0, type: wrong wire type 2 (the field's type has wire type 0)");
    // Invalid UTF-8, two messages deep, in a repeated field: the path has the index.
    let mut offers = scheduler::event::Offers::default();
    let mut offer = v1::Offer { hostname: "h".into(), ..Default::default() };
    offer.id.value = "o".into();
    offer.framework_id.value = "f".into();
    offer.agent_id.value = "a".into();
    offers.offers = vec![offer.clone(), offer];
    let mut pb = scheduler::Event { offers: Some(offers), ..Default::default() }.encode_to_vec();
    let at = pb.iter().rposition(|&b| b == b'h').unwrap();
    pb[at] = 0xff;
    let err = Checked::<scheduler::Event>::decode(Bytes::from(pb.clone())).unwrap_err();
    assert_eq!((err.path.as_str(), err.kind.clone()), ("offers.offers[1].hostname", ProtobufErrorKind::InvalidUtf8));
    assert_eq!(err, protobuf_to_json(event(), &pb).unwrap_err());
    // A missing required field, named with the message's path: a SUBSCRIBE
    // call whose FrameworkInfo is empty (no `user`, no `name`).
    let pb = b"\x10\x01\x1a\x02\x0a\x00";
    let err = Checked::<scheduler::Call>::decode(Bytes::from_static(pb)).unwrap_err();
    assert_eq!(err, protobuf_to_json(message_type("scheduler.Call").unwrap(), pb).unwrap_err());
    assert_eq!(err.to_string(), "byte 6, subscribe.framework_info: missing required field `user`");
}

#[test]
fn hostile_nesting_is_refused() {
    // ContainerID.parent, 200 deep.
    let mut pb = b"\x0a\x01x".to_vec();
    for _ in 0..200 {
        let mut outer = b"\x0a\x01x\x12".to_vec();
        write_varint(pb.len() as u64, &mut outer);
        outer.extend_from_slice(&pb);
        pb = outer;
    }
    let err = Checked::<v1::ContainerId>::decode(Bytes::from(pb.clone())).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::TooDeep);
    assert_eq!(err, protobuf_to_json(message_type("ContainerID").unwrap(), &pb).unwrap_err());
}

#[test]
fn the_last_value_wins_and_message_fields_merge() {
    // FrameworkInfo twice: user "a" then "b"; capabilities add up.
    let mut first = v1::FrameworkInfo { user: "a".into(), name: "n".into(), ..Default::default() };
    first.id = Some(v1::FrameworkId { value: "one".into() });
    first.failover_timeout = Some(1.0);
    let second =
        v1::FrameworkInfo { user: "b".into(), name: "n".into(), hostname: Some("h".into()), ..Default::default() };
    let bytes = Bytes::from([first.encode_to_vec(), second.encode_to_vec()].concat());
    let checked = Checked::<v1::FrameworkInfo>::decode(bytes.clone()).unwrap();
    let view = checked.view();
    assert_eq!((view.user(), view.hostname(), view.failover_timeout()), ("b", Some("h"), Some(1.0)));
    assert_eq!(view.id().map(|id| id.value()), Some("one"));
    check::<v1::FrameworkInfo>(&bytes).unwrap();

    // A message field split in two (TaskStatus.agent_id given twice, the second
    // with an unknown field): merged, and the unknown field kept.
    let mut pb = Vec::new();
    let status = v1::TaskStatus { state: v1::TaskState::TaskRunning as i32, ..Default::default() };
    pb.extend(status.encode_to_vec());
    pb.extend(b"\x2a\x03\x0a\x01a\x2a\x02\x48\x07");
    let bytes = Bytes::from(pb);
    let checked = Checked::<v1::TaskStatus>::decode(bytes.clone()).unwrap();
    let agent = checked.view().agent_id().unwrap();
    assert_eq!(agent.value(), "a");
    assert_eq!(agent.as_raw().fields().count(), 2, "the unknown field 9 is kept");
    check::<v1::TaskStatus>(&bytes).unwrap();
}

#[test]
fn only_the_last_oneof_member_is_there() {
    use scheduler::attribute_constraint::Selector;
    // Selector { pseudoattribute_type = 1 (HOSTNAME), attribute_name = "rack" }: the name came last.
    let bytes = Bytes::from_static(b"\x08\x01\x12\x04rack");
    let checked = Checked::<scheduler::attribute_constraint::Selector>::decode(bytes.clone()).unwrap();
    assert_eq!(checked.view().attribute_name(), Some("rack"));
    assert_eq!(checked.view().pseudoattribute_type(), None);
    check::<Selector>(&bytes).unwrap();
    // The other way round.
    let bytes = Bytes::from_static(b"\x12\x04rack\x08\x01");
    let checked = Checked::<Selector>::decode(bytes.clone()).unwrap();
    assert_eq!(checked.view().attribute_name(), None);
    assert!(checked.view().pseudoattribute_type().is_some());
    check::<Selector>(&bytes).unwrap();
}

#[test]
fn unknown_enum_numbers() {
    // Event.type = 99: read as absent; to_message keeps the number, as prost does.
    let bytes = Bytes::from_static(b"\x08\x63");
    let checked = Checked::<scheduler::Event>::decode(bytes.clone()).unwrap();
    assert_eq!(checked.view().r#type(), None);
    assert_eq!(checked.to_message().r#type, Some(99));
    check::<scheduler::Event>(&bytes).unwrap();
    // TaskStatus.state is a required enum: an unknown number is no state at all.
    let mut pb = b"\x0a\x03\x0a\x01t".to_vec(); // task_id
    pb.extend(b"\x10\x63"); // state = 99
    let err = Checked::<v1::TaskStatus>::decode(Bytes::from(pb.clone())).unwrap_err();
    assert_eq!(err.to_string(), "byte 5, state: unknown mesos.v1.TaskState number 99");
    // ... unless a known one follows.
    pb.extend(b"\x10\x01");
    let checked = Checked::<v1::TaskStatus>::decode(Bytes::from(pb)).unwrap();
    assert_eq!(checked.view().state(), v1::TaskState::TaskRunning);
}

/// Issue 18: an earlier occurrence of a singular field that is not a value
/// of it (a varint where a message belongs, a string that is not UTF-8) was
/// dropped by the rewriting into canonical form before it was checked, so
/// the view accepted bytes prost and the JSON writer refuse.
#[test]
fn an_earlier_bad_occurrence_is_refused_not_dropped() {
    let response = message_type("master.Response").unwrap();
    let schema = Schema::get();
    let get_health = schema.message(response).field_by_name("get_health").unwrap().number as u64;
    // type = GET_HEALTH, get_health as a varint, then get_health { healthy: true }.
    let mut pb = vec![0x08, 0x01];
    write_varint(get_health << 3, &mut pb);
    pb.push(0x05);
    write_varint(get_health << 3 | 2, &mut pb);
    pb.extend_from_slice(&[0x02, 0x08, 0x01]);
    let bytes = Bytes::from(pb.clone());
    assert!(v1::master::Response::decode(bytes.clone()).is_err(), "prost refuses it");
    let err = Checked::<v1::master::Response>::decode(bytes).unwrap_err();
    assert_eq!(err.kind, protobuf_to_json(response, &pb).unwrap_err().kind);
    assert!(matches!(err.kind, ProtobufErrorKind::WrongWireType { expected: 2, found: 0 }), "{err}");

    // FrameworkID { value: "\xff" } then { value: "ok" }.
    let pb = [0x0a, 0x01, 0xff, 0x0a, 0x02, b'o', b'k'];
    assert!(v1::FrameworkId::decode(&pb[..]).is_err(), "prost refuses it");
    let err = Checked::<v1::FrameworkId>::decode(Bytes::copy_from_slice(&pb)).unwrap_err();
    assert_eq!(err.kind, ProtobufErrorKind::InvalidUtf8);
    assert_eq!(err.kind, protobuf_to_json(message_type("FrameworkID").unwrap(), &pb).unwrap_err().kind);
}

/// Issue 18: `to_message` of an unchecked view of a message nested 70 000
/// deep overflowed the stack; past the nesting limit it now stops (what
/// cannot be read is skipped, as unchecked views promise).
#[test]
fn unchecked_views_of_hostile_nesting_do_not_overflow_the_stack() {
    let mut pb = b"\x0a\x01x".to_vec();
    for _ in 0..70_000 {
        let mut outer = b"\x0a\x01x\x12".to_vec();
        write_varint(pb.len() as u64, &mut outer);
        outer.extend_from_slice(&pb);
        pb = outer;
    }
    let view = <v1::ContainerId as HasView>::View::from_raw(mesos_codec::view::RawMessage::new(&pb));
    let message = view.to_message();
    let mut depth = 0;
    let mut at = &message;
    while let Some(parent) = at.parent.as_deref() {
        depth += 1;
        at = parent;
    }
    assert!(depth < 101, "{depth}");
    assert!(Checked::<v1::ContainerId>::decode(Bytes::from(pb)).is_err());
}

/// Fuzzing found it (issue 18): a map entry without its value, where the
/// value's type has required fields (`TaskInfo.limits`, of `Value.Scalar`),
/// was accepted by the view and refused by the JSON writer (and by
/// protobuf's parser, which makes the empty value and finds it lacks them).
#[test]
fn a_map_entry_missing_a_value_with_required_fields_is_refused() {
    // TaskInfo { name, task_id, agent_id, limits { key: "cpus" } }.
    let info = message_type("TaskInfo").unwrap();
    let schema = Schema::get();
    let limits = schema.message(info).field_by_name("limits").unwrap().number as u64;
    let mut pb = b"\x0a\x01t\x12\x03\x0a\x01t\x1a\x03\x0a\x01a".to_vec();
    write_varint(limits << 3 | 2, &mut pb);
    pb.extend_from_slice(b"\x06\x0a\x04cpus");
    let json_err = protobuf_to_json(info, &pb).unwrap_err();
    let view_err = Checked::<v1::TaskInfo>::decode(Bytes::from(pb)).unwrap_err();
    assert_eq!(view_err.kind, json_err.kind);
    assert!(matches!(view_err.kind, ProtobufErrorKind::MissingRequired { .. }), "{view_err}");
}
