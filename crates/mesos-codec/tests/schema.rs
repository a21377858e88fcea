//! The compiled Mesos v1 schema against the wire facts it is generated from
//! (`schema/mesos-v1-schema.json`, the crate's own copy).
//!
//! - `descriptors_match_the_facts`: every file's package, syntax and imports;
//!   every message with exactly the facts' fields (name, number, label, type,
//!   type name, default, deprecated, oneof, packed, in the facts' order) and
//!   map-entry flag; every enum with exactly its values; and nothing in
//!   [`mesos_codec::v1::descriptor_pool`] that the facts do not list.
//! - `checked_in_protos_are_generated_from_the_facts`: the `.proto` files
//!   under `proto/` are byte for byte what `cargo xtask schema` writes (the
//!   generator is included from xtask's source, so this needs no xtask build).
//! - `typed_and_dynamic_messages_agree`: a typed message round-trips through
//!   the descriptor pool's dynamic messages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Syntax};
use prost_types::FieldDescriptorProto;
use prost_types::field_descriptor_proto::Label;
use serde_json::Value;

// xtask's `schema` inside this file's module `schema` (a module of tests.rs).
#[allow(dead_code, clippy::module_inception)]
#[path = "../../../xtask/src/schema.rs"]
mod schema;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn facts_text() -> String {
    let path = crate_dir().join(schema::FACTS);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn facts() -> Vec<Value> {
    let root: Value = serde_json::from_str(&facts_text()).expect("the facts are JSON");
    root["files"].as_array().expect("the facts have `files`").clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A field as the facts describe it, from the facts or from a descriptor.
#[derive(Clone, Debug, PartialEq)]
struct FieldFacts {
    name: String,
    number: i64,
    label: String,
    ty: String,
    type_name: Option<String>,
    default: Option<String>,
    deprecated: bool,
    oneof: Option<String>,
    packed: Option<bool>,
}

impl FieldFacts {
    fn from_facts(f: &Value) -> Self {
        FieldFacts {
            name: s(f, "name").to_owned(),
            number: f["number"].as_i64().expect("a field number"),
            label: s(f, "label").to_owned(),
            ty: s(f, "type").to_owned(),
            type_name: f.get("type_name").map(|_| s(f, "type_name").to_owned()),
            default: f.get("default").map(|_| s(f, "default").to_owned()),
            deprecated: flag(f, "deprecated"),
            oneof: f.get("oneof").map(|_| s(f, "oneof").to_owned()),
            packed: f.get("packed").and_then(Value::as_bool),
        }
    }

    fn from_descriptor(f: &FieldDescriptorProto, oneofs: &[String]) -> Self {
        let label = match f.label() {
            Label::Optional => "optional",
            Label::Required => "required",
            Label::Repeated => "repeated",
        };
        let ty = f.r#type().as_str_name().strip_prefix("TYPE_").expect("TYPE_ prefix").to_ascii_lowercase();
        let type_name =
            f.type_name.as_deref().map(|t| t.strip_prefix('.').expect("a fully-qualified type name").to_owned());
        FieldFacts {
            name: f.name().to_owned(),
            number: i64::from(f.number()),
            label: label.to_owned(),
            ty,
            type_name,
            default: f.default_value.clone(),
            deprecated: f.options.as_ref().and_then(|o| o.deprecated).unwrap_or(false),
            oneof: f.oneof_index.map(|i| oneofs[usize::try_from(i).expect("oneof index")].clone()),
            packed: f.options.as_ref().and_then(|o| o.packed),
        }
    }
}

/// Whether two `default_value` strings of a field of type `ty` denote the same
/// value (`15` and `15.0` are the same double).
fn same_default(ty: &str, a: &str, b: &str) -> bool {
    fn float(s: &str) -> Option<f64> {
        match s {
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => s.parse().ok(),
        }
    }
    match ty {
        "double" | "float" => match (float(a), float(b)) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            _ => false,
        },
        "int32" | "int64" | "uint32" | "uint64" | "sint32" | "sint64" | "fixed32" | "fixed64" | "sfixed32"
        | "sfixed64" => matches!((a.parse::<i128>(), b.parse::<i128>()), (Ok(x), Ok(y)) if x == y),
        _ => a == b,
    }
}

impl FieldFacts {
    /// Equal, but with defaults compared as values of the field's type.
    fn agrees_with(&self, facts: &FieldFacts) -> bool {
        let defaults = match (&self.default, &facts.default) {
            (Some(a), Some(b)) => same_default(&facts.ty, a, b),
            (a, b) => a == b,
        };
        defaults && FieldFacts { default: None, ..self.clone() } == FieldFacts { default: None, ..facts.clone() }
    }
}

fn check_fields(message: &str, expected: &[FieldFacts], actual: &[FieldFacts], errors: &mut Vec<String>) {
    let names = |fields: &[FieldFacts]| fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    if names(expected) != names(actual) {
        errors.push(format!("{message}: fields {:?}, expected {:?}", names(actual), names(expected)));
    }
    for want in expected {
        let Some(got) = actual.iter().find(|f| f.name == want.name) else { continue };
        if !got.agrees_with(want) {
            errors.push(format!("{message}.{}: descriptor says {got:?}, facts say {want:?}", want.name));
        }
    }
}

#[test]
fn descriptors_match_the_facts() {
    let pool: &DescriptorPool = mesos_codec::v1::descriptor_pool();
    let files = facts();
    assert_eq!(files.len(), 9, "the facts list the nine Mesos v1 files");
    let mut errors = Vec::new();
    let mut all_messages = BTreeSet::new();
    let mut all_enums = BTreeSet::new();
    let mut field_count = 0;

    for file in &files {
        let name = s(file, "file");
        let Some(fd) = pool.get_file_by_name(name) else {
            errors.push(format!("{name}: not in the descriptor pool"));
            continue;
        };
        if fd.package_name() != s(file, "package") {
            errors.push(format!("{name}: package {}, expected {}", fd.package_name(), s(file, "package")));
        }
        let syntax = match fd.syntax() {
            Syntax::Proto2 => "proto2",
            Syntax::Proto3 => "proto3",
        };
        if syntax != s(file, "syntax") {
            errors.push(format!("{name}: syntax {syntax}, expected {}", s(file, "syntax")));
        }
        let deps: Vec<String> = fd.dependencies().map(|d| d.name().to_owned()).collect();
        let want_deps: Vec<String> =
            list(file, "dependencies").iter().map(|d| d.as_str().unwrap_or("?").to_owned()).collect();
        if deps != want_deps {
            errors.push(format!("{name}: imports {deps:?}, expected {want_deps:?}"));
        }

        for message in list(file, "messages") {
            let full = s(message, "name");
            all_messages.insert(full.to_owned());
            let Some(md) = pool.get_message_by_name(full) else {
                errors.push(format!("message {full}: not in the descriptor pool"));
                continue;
            };
            if md.parent_file().name() != name {
                errors.push(format!("message {full}: in {}, expected {name}", md.parent_file().name()));
            }
            if md.is_map_entry() != flag(message, "map_entry") {
                errors.push(format!("message {full}: map entry {}, expected the opposite", md.is_map_entry()));
            }
            let proto = md.descriptor_proto();
            let oneofs: Vec<String> = proto.oneof_decl.iter().map(|o| o.name().to_owned()).collect();
            let actual: Vec<FieldFacts> = proto.field.iter().map(|f| FieldFacts::from_descriptor(f, &oneofs)).collect();
            let expected: Vec<FieldFacts> = list(message, "fields").iter().map(FieldFacts::from_facts).collect();
            field_count += expected.len();
            check_fields(full, &expected, &actual, &mut errors);
            // The typed view agrees on map-ness: a map field is one whose entry is a map entry.
            for field in md.fields() {
                let entry = field.kind().as_message().is_some_and(|m| m.is_map_entry());
                if field.is_map() != entry {
                    errors.push(format!("{}: is_map {} but entry {entry}", field.full_name(), field.is_map()));
                }
            }
        }

        for en in list(file, "enums") {
            let full = s(en, "name");
            all_enums.insert(full.to_owned());
            let Some(ed) = pool.get_enum_by_name(full) else {
                errors.push(format!("enum {full}: not in the descriptor pool"));
                continue;
            };
            if ed.parent_file().name() != name {
                errors.push(format!("enum {full}: in {}, expected {name}", ed.parent_file().name()));
            }
            let actual: Vec<(String, i64, bool)> = ed
                .enum_descriptor_proto()
                .value
                .iter()
                .map(|v| {
                    let deprecated = v.options.as_ref().and_then(|o| o.deprecated).unwrap_or(false);
                    (v.name().to_owned(), i64::from(v.number()), deprecated)
                })
                .collect();
            let expected: Vec<(String, i64, bool)> = list(en, "values")
                .iter()
                .map(|v| {
                    (s(v, "name").to_owned(), v["number"].as_i64().expect("an enum number"), flag(v, "deprecated"))
                })
                .collect();
            if actual != expected {
                errors.push(format!("enum {full}: values {actual:?}, expected {expected:?}"));
            }
        }
    }

    let files_in_facts: BTreeSet<&str> = files.iter().map(|f| s(f, "file")).collect();
    for fd in pool.files() {
        if !files_in_facts.contains(fd.name()) {
            errors.push(format!("file {} is in the pool but not in the facts", fd.name()));
        }
    }
    for md in pool.all_messages() {
        if !all_messages.contains(md.full_name()) {
            errors.push(format!("message {} is in the pool but not in the facts", md.full_name()));
        }
    }
    for ed in pool.all_enums() {
        if !all_enums.contains(ed.full_name()) {
            errors.push(format!("enum {} is in the pool but not in the facts", ed.full_name()));
        }
    }
    assert!(
        errors.is_empty(),
        "{} disagreements between the descriptors and the facts:\n{}",
        errors.len(),
        errors.join("\n")
    );
    // Guard against a vacuous pass.
    assert!(all_messages.len() >= 350, "only {} messages in the facts", all_messages.len());
    assert!(all_enums.len() >= 50, "only {} enums in the facts", all_enums.len());
    assert!(field_count >= 1000, "only {field_count} fields in the facts");
}

#[test]
fn defaults_compare_semantically() {
    assert!(same_default("double", "15", "15.0"));
    assert!(same_default("double", "0", "0"));
    assert!(!same_default("double", "15", "10"));
    assert!(same_default("uint32", "5050", "5050"));
    assert!(!same_default("string", "*", "default"));
    assert!(same_default("enum", "IPv4", "IPv4"));
}

#[test]
fn checked_in_protos_are_generated_from_the_facts() {
    let generated = schema::generate(&facts_text()).expect("the generator accepts the facts");
    let proto_dir: PathBuf = crate_dir().join(schema::PROTO_DIR);
    let on_disk = schema::proto_files(&proto_dir).expect("proto/ can be listed");
    let want: BTreeSet<String> = generated.keys().cloned().collect();
    assert_eq!(on_disk, want, "the .proto files under proto/ (run `cargo xtask schema`)");
    let mut drift = BTreeMap::new();
    for (name, text) in &generated {
        let path = proto_dir.join(name);
        let disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if &disk != text {
            let line = disk
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map_or_else(|| disk.lines().count().min(text.lines().count()) + 1, |i| i + 1);
            drift.insert(name.clone(), line);
        }
    }
    assert!(
        drift.is_empty(),
        "checked-in .proto files differ from the generator's (file: first differing line): {drift:?}; run `cargo xtask schema`"
    );
}

#[test]
fn typed_and_dynamic_messages_agree() {
    use mesos_codec::v1::{FrameworkId, FrameworkInfo, scheduler};

    let mut call = scheduler::Call {
        framework_id: Some(FrameworkId { value: "f-1".into() }),
        subscribe: Some(scheduler::call::Subscribe {
            framework_info: FrameworkInfo {
                user: "root".into(),
                name: "schema test".into(),
                roles: vec!["a".into(), "b".into()],
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    call.set_type(scheduler::call::Type::Subscribe);
    let wire = Bytes::from(call.encode_to_vec());

    let desc = mesos_codec::v1::descriptor_pool().get_message_by_name("mesos.v1.scheduler.Call").expect("Call");
    let dynamic = DynamicMessage::decode(desc, wire.clone()).expect("the pool decodes a typed Call");
    let kind = dynamic.get_field_by_name("type").expect("type");
    assert_eq!(kind.as_enum_number(), Some(scheduler::call::Type::Subscribe as i32));
    let id = dynamic.get_field_by_name("framework_id").expect("framework_id");
    let id = id.as_message().expect("a message").get_field_by_name("value").expect("value");
    assert_eq!(id.as_str(), Some("f-1"));

    let back = scheduler::Call::decode(Bytes::from(dynamic.encode_to_vec())).expect("typed decode");
    assert_eq!(back, call);
}
