//! What a Mesos 1.11 master says of a scheduler call whose JSON parses but
//! does not convert to a `Call`: stout's `protobuf::parse`
//! (`3rdparty/stout/include/stout/protobuf.hpp`, its `Parser` visitor),
//! walked over the codec's schema tables, with its texts:
//!
//! - `Not expecting a JSON <object|string|number|array|boolean> for field 'x'`
//!   (the field's own name, not its path);
//! - `Failed to parse 's' as a JSON number for field 'x': <JSON error>` for
//!   a string given for a number (and `... as a JSON boolean ...`);
//! - `Failed to base64 decode bytes field 'x': Invalid character 'c'`;
//! - `Failed to find enum for 'NAME'` for an unknown name of a required
//!   enum (an optional one is dropped, as proto2 drops unknown values);
//! - `Missing required fields: a.b, c[0].d` (protobuf's
//!   `InitializationErrorString`) once the walk is done.
//!
//! Object members are visited in name order (stout's `JSON::Object` is a
//! `std::map`), so the first error is the one the master reports. Only the
//! verdict is kept: the call itself is read by the codec, whose rules are
//! stout's (`docs/mesos-json.md`).

use std::collections::BTreeMap;

use mesos_codec::schema::{Field, FieldKind, MessageId, Schema};
use serde_json::Value;

use super::picojson;

/// A message as the walk filled it: which fields were set.
#[derive(Debug)]
struct Filled {
    id: MessageId,
    /// Field index → what was set there.
    set: BTreeMap<usize, Set>,
}

#[derive(Debug)]
enum Set {
    Scalar,
    Message(Filled),
    Messages(Vec<Filled>),
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Array(_) => "array",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    }
}

fn not_expecting(value: &Value, field: &Field) -> String {
    format!("Not expecting a JSON {} for field '{}'", kind_name(value), field.name)
}

/// `JSON::parse<JSON::Number>` / `<JSON::Boolean>` of a string.
fn parse_as(text: &str, number: bool) -> Result<(), String> {
    picojson::check(text.as_bytes())?;
    let first = text.bytes().find(|b| !b.is_ascii_whitespace());
    let is_number = matches!(first, Some(b'-' | b'0'..=b'9'));
    let is_bool = matches!(first, Some(b't' | b'f'));
    if (number && is_number) || (!number && is_bool) { Ok(()) } else { Err("Unexpected JSON type parsed".into()) }
}

/// stout's `base64::decode`: the first character that is neither base64,
/// padding nor whitespace.
fn base64_error(text: &str) -> Option<String> {
    for c in text.bytes() {
        if c == b'=' {
            return None;
        }
        if c.is_ascii_whitespace() || c == 0x0b {
            continue;
        }
        if !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/') {
            return Some(format!("Invalid character '{}'", String::from_utf8_lossy(&[c])));
        }
    }
    None
}

fn set_scalar(filled: &mut Filled, index: usize) {
    filled.set.insert(index, Set::Scalar);
}

fn push_message(filled: &mut Filled, index: usize, message: Filled) {
    match filled.set.entry(index).or_insert_with(|| Set::Messages(Vec::new())) {
        Set::Messages(list) => list.push(message),
        other => *other = Set::Messages(vec![message]),
    }
}

/// The visitor: `value` for field `index` of `filled`.
fn visit(schema: &Schema, filled: &mut Filled, index: usize, value: &Value) -> Result<(), String> {
    let field = &schema.message(filled.id).fields[index];
    match value {
        Value::Null => Ok(()),
        Value::Array(values) => {
            if !field.repeated {
                return Err(not_expecting(value, field));
            }
            values.iter().try_for_each(|v| visit(schema, filled, index, v))
        }
        Value::Object(object) => {
            let FieldKind::Message(id) = field.kind else { return Err(not_expecting(value, field)) };
            if field.map {
                let entry = schema.message(id);
                let (key, val) = (entry.field_index("key"), entry.field_index("value"));
                for (name, v) in sorted(object) {
                    let mut e = Filled { id, set: BTreeMap::new() };
                    if let Some(k) = key {
                        visit(schema, &mut e, k, &Value::String(name.clone()))?;
                    }
                    if let Some(x) = val {
                        visit(schema, &mut e, x, v)?;
                    }
                    push_message(filled, index, e);
                }
                Ok(())
            } else if field.repeated {
                let mut m = Filled { id, set: BTreeMap::new() };
                parse_object(schema, &mut m, object)?;
                push_message(filled, index, m);
                Ok(())
            } else {
                // `MutableMessage`: a second object merges into the first.
                let entry =
                    filled.set.entry(index).or_insert_with(|| Set::Message(Filled { id, set: BTreeMap::new() }));
                match entry {
                    Set::Message(m) => parse_object(schema, m, object),
                    _ => Ok(()),
                }
            }
        }
        Value::String(text) => match field.kind {
            FieldKind::String => {
                set_scalar(filled, index);
                Ok(())
            }
            FieldKind::Bytes => match base64_error(text) {
                Some(e) => Err(format!("Failed to base64 decode bytes field '{}': {e}", field.name)),
                None => {
                    set_scalar(filled, index);
                    Ok(())
                }
            },
            FieldKind::Enum(id) => {
                if schema.enumeration(id).number_of(text).is_some() {
                    set_scalar(filled, index);
                } else if field.required {
                    return Err(format!("Failed to find enum for '{text}'"));
                }
                Ok(())
            }
            FieldKind::Double | FieldKind::Float if text == "Infinity" || text == "-Infinity" => {
                set_scalar(filled, index);
                Ok(())
            }
            FieldKind::Bool => {
                parse_as(text, false).map_err(|e| {
                    format!("Failed to parse '{text}' as a JSON boolean for field '{}': {e}", field.name)
                })?;
                set_scalar(filled, index);
                Ok(())
            }
            FieldKind::Message(_) => Err(not_expecting(value, field)),
            _ => {
                parse_as(text, true).map_err(|e| {
                    format!("Failed to parse '{text}' as a JSON number for field '{}': {e}", field.name)
                })?;
                set_scalar(filled, index);
                Ok(())
            }
        },
        Value::Number(_) => match field.kind {
            FieldKind::Bool | FieldKind::String | FieldKind::Bytes | FieldKind::Enum(_) | FieldKind::Message(_) => {
                Err(not_expecting(value, field))
            }
            _ => {
                set_scalar(filled, index);
                Ok(())
            }
        },
        Value::Bool(_) => {
            if field.kind == FieldKind::Bool {
                set_scalar(filled, index);
                Ok(())
            } else {
                Err(not_expecting(value, field))
            }
        }
    }
}

fn sorted(object: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut members: Vec<(&String, &Value)> = object.iter().collect();
    members.sort_by(|a, b| a.0.cmp(b.0));
    members
}

/// `internal::parse(message, object)`: each member naming a field, in
/// name order.
fn parse_object(schema: &Schema, filled: &mut Filled, object: &serde_json::Map<String, Value>) -> Result<(), String> {
    for (name, value) in sorted(object) {
        if let Some(index) = schema.message(filled.id).field_index(name) {
            visit(schema, filled, index, value)?;
        }
    }
    Ok(())
}

/// protobuf's `FindInitializationErrors`: missing required fields of this
/// message (declaration order), then those of the messages set in it (by
/// field number).
fn initialization_errors(schema: &Schema, filled: &Filled, prefix: &str, out: &mut Vec<String>) {
    let message = schema.message(filled.id);
    for &index in &message.required {
        let index = usize::from(index);
        if !filled.set.contains_key(&index) {
            out.push(format!("{prefix}{}", message.fields[index].name));
        }
    }
    let mut set: Vec<(&usize, &Set)> = filled.set.iter().collect();
    set.sort_by_key(|(index, _)| message.fields[**index].number);
    for (index, value) in set {
        let name = &message.fields[*index].name;
        match value {
            Set::Message(m) => initialization_errors(schema, m, &format!("{prefix}{name}."), out),
            Set::Messages(list) => {
                for (j, m) in list.iter().enumerate() {
                    initialization_errors(schema, m, &format!("{prefix}{name}[{j}]."), out);
                }
            }
            Set::Scalar => {}
        }
    }
}

/// stout's `protobuf::parse<T>` of a JSON value as message `name`: `Ok`
/// when it converts, else the master's explanation.
pub fn check(value: &Value, name: &str) -> Result<(), String> {
    let schema = Schema::get();
    let Some(id) = schema.message_by_name(name) else { return Ok(()) };
    let Value::Object(object) = value else { return Err("Expecting a JSON object".into()) };
    let mut filled = Filled { id, set: BTreeMap::new() };
    parse_object(schema, &mut filled, object)?;
    let mut missing = Vec::new();
    initialization_errors(schema, &filled, "", &mut missing);
    if missing.is_empty() { Ok(()) } else { Err(format!("Missing required fields: {}", missing.join(", "))) }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn error(json: &str) -> String {
        check(&serde_json::from_str(json).unwrap(), "mesos.v1.scheduler.Call").unwrap_err()
    }

    /// Texts a real 1.11.0 master gave for these bodies.
    #[test]
    fn the_masters_texts() {
        assert_eq!(error(r#""str""#), "Expecting a JSON object");
        assert_eq!(error(r#"{"type": 3}"#), "Not expecting a JSON number for field 'type'");
        assert_eq!(
            error(r#"{"type": "TEARDOWN", "framework_id": "x"}"#),
            "Not expecting a JSON string for field 'framework_id'"
        );
        assert_eq!(
            error(r#"{"type": "TEARDOWN", "framework_id": {"value": 5}}"#),
            "Not expecting a JSON number for field 'value'"
        );
        assert_eq!(error(r#"{"type": ["x"]}"#), "Not expecting a JSON array for field 'type'");
        assert_eq!(
            error(r#"{"type":"TEARDOWN","framework_id":{"value":"x"},"kill":{"task_id":{}}}"#),
            "Missing required fields: kill.task_id.value"
        );
        assert_eq!(
            error(
                r#"{"type":"DECLINE","framework_id":{"value":"x"},"decline":{"offer_ids":[{"value":"1"}],"filters":{"refuse_seconds":"x"}}}"#
            ),
            "Failed to parse 'x' as a JSON number for field 'refuse_seconds': syntax error at line 1 near: x"
        );
        for fine in [r#"{"type": "NOPE"}"#, r#"{"type": null}"#, r#"{"a": 1}"#, r#"{"type": "TEARDOWN"}"#] {
            assert_eq!(check(&serde_json::from_str(fine).unwrap(), "mesos.v1.scheduler.Call"), Ok(()), "{fine}");
        }
    }
}
