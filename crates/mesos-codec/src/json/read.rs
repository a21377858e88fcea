//! Mesos JSON → protobuf wire bytes, the way the master reads it.
//!
//! A streaming pass over the JSON (serde_json's tokenizer, driven by the
//! schema through `DeserializeSeed`s): no JSON tree is built; each value is
//! encoded as soon as it is read. Nested messages get a one-byte length
//! placeholder that is widened in place when needed, and a message whose
//! fields came in another order than their numbers is reordered, so that
//! the output is what the master's `SerializeToString` would produce.

use std::fmt;

use base64::Engine;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::{JsonError, Path};
use crate::schema::{Field, FieldKind, MessageId, Schema};
use crate::wire::{varint_len, write_varint};

/// Mesos refuses JSON nested deeper than this.
const MAX_DEPTH: usize = 100;

/// One encoded field of a message being built: its number and byte range.
#[derive(Clone, Copy)]
struct Segment {
    number: u32,
    start: usize,
    end: usize,
}

struct State {
    schema: &'static Schema,
    out: Vec<u8>,
    path: Path,
    depth: usize,
    segments: Vec<Segment>,
    scratch: Vec<u8>,
}

pub(super) fn read(message: MessageId, json: &[u8]) -> Result<Vec<u8>, JsonError> {
    let mut state = State {
        schema: Schema::get(),
        out: Vec::with_capacity(json.len()),
        path: Path::default(),
        depth: 0,
        segments: Vec::new(),
        scratch: Vec::new(),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let result =
        MessageSeed { state: &mut state, id: message }.deserialize(&mut deserializer).and_then(|()| deserializer.end());
    match result {
        Ok(()) => Ok(state.out),
        Err(err) => {
            let message = err.to_string();
            // serde_json appends " at line L column C"; keep only the reason.
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            Err(JsonError { path: state.path.to_string(), message, line: err.line(), column: err.column() })
        }
    }
}

fn custom<E: de::Error>(message: impl fmt::Display) -> E {
    E::custom(message)
}

impl State {
    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(custom(format_args!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn tag(&mut self, number: u32, wire_type: u8) {
        write_varint(u64::from(number) << 3 | u64::from(wire_type), &mut self.out);
    }

    /// Starts a length-delimited value: the tag and a one-byte placeholder.
    fn open(&mut self, number: u32) -> (usize, usize) {
        let start = self.out.len();
        self.tag(number, 2);
        self.out.push(0);
        (start, self.out.len())
    }

    /// Ends a length-delimited value started by [`open`](Self::open): writes
    /// its length, widening the placeholder if the length needs more bytes.
    fn close(&mut self, number: u32, (start, body): (usize, usize)) {
        let len = self.out.len() - body;
        let width = varint_len(len as u64);
        if width == 1 {
            self.out[body - 1] = len as u8;
        } else {
            let mut prefix = Vec::with_capacity(width);
            write_varint(len as u64, &mut prefix);
            self.out.splice(body - 1..body, prefix);
        }
        self.segments.push(Segment { number, start, end: self.out.len() });
    }

    /// Puts the fields written since `first` (for the message whose body
    /// starts at `body`) in field-number order, as protobuf serializers do.
    fn order_fields(&mut self, first: usize, body: usize) {
        let segments = &mut self.segments[first..];
        if !segments.is_sorted_by_key(|s| s.number) {
            segments.sort_by_key(|s| s.number);
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[body..]);
            self.out.truncate(body);
            for s in segments.iter() {
                self.out.extend_from_slice(&self.scratch[s.start - body..s.end - body]);
            }
        }
        self.segments.truncate(first);
    }
}

/// Reads a JSON object as a message, appending its fields to `state.out`.
struct MessageSeed<'s> {
    state: &'s mut State,
    id: MessageId,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.state;
        state.enter()?;
        let schema = state.schema;
        let message = schema.message(self.id);
        let first = state.segments.len();
        let body = state.out.len();
        let mut seen = Seen::default();
        while let Some(field) = map.next_key_seed(KeySeed { message: self.id })? {
            let Some(index) = field else {
                map.next_value_seed(Skip { state: &mut *state })?;
                continue;
            };
            let field = &message.fields[index];
            state.path.push_field(&field.name);
            let set = map.next_value_seed(FieldSeed { state: &mut *state, field, in_array: false })?;
            state.path.pop();
            if set {
                seen.insert(index);
            }
        }
        if message.required.iter().any(|&i| !seen.contains(usize::from(i))) {
            let missing: Vec<&str> = message
                .required
                .iter()
                .filter(|&&i| !seen.contains(usize::from(i)))
                .map(|&i| message.fields[usize::from(i)].name.as_str())
                .collect();
            return Err(custom(format_args!("missing required fields: {}", missing.join(", "))));
        }
        state.order_fields(first, body);
        state.depth -= 1;
        Ok(())
    }
}

/// Which fields of a message were set (by declaration index).
#[derive(Default)]
struct Seen {
    bits: [u64; 4],
    more: Vec<usize>,
}

impl Seen {
    fn insert(&mut self, i: usize) {
        match self.bits.get_mut(i / 64) {
            Some(word) => *word |= 1 << (i % 64),
            None => self.more.push(i),
        }
    }
    fn contains(&self, i: usize) -> bool {
        match self.bits.get(i / 64) {
            Some(word) => word & (1 << (i % 64)) != 0,
            None => self.more.contains(&i),
        }
    }
}

/// Reads an object key and looks the field up: `None` for unknown keys.
/// (The JSON peeks use it too.)
pub(crate) struct KeySeed {
    pub(crate) message: MessageId,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(Schema::get().message(self.message).field_index(key))
    }
}

/// Skips a value (of an unknown field), still counting its nesting depth.
struct Skip<'s> {
    state: &'s mut State,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.state.enter()?;
        while seq.next_element_seed(Skip { state: &mut *self.state })?.is_some() {}
        self.state.depth -= 1;
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.state.enter()?;
        while map.next_key::<de::IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip { state: &mut *self.state })?;
        }
        self.state.depth -= 1;
        Ok(())
    }
}

/// Reads the value of one field and encodes it. Returns whether the field
/// was set (`null` and dropped enum names leave it unset).
struct FieldSeed<'s> {
    state: &'s mut State,
    field: &'static Field,
    in_array: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Double | FieldKind::Float => "a number",
        FieldKind::Bool => "a boolean",
        FieldKind::String => "a string",
        FieldKind::Bytes => "a base64 string",
        FieldKind::Enum(_) => "an enum name (a string)",
        FieldKind::Message(_) => "an object",
        _ => "an integer",
    }
}

impl FieldSeed<'_> {
    fn expected<E: de::Error>(&self, found: &str) -> E {
        custom(format_args!("expected {}, found {found}", kind_name(self.field.kind)))
    }

    fn number<E: de::Error>(self, n: Number) -> Result<bool, E> {
        let kind = self.field.kind;
        let number = self.field.number;
        let state = self.state;
        let start = state.out.len();
        let range = || custom::<E>(format_args!("number {n} is out of range for the field's type"));
        match kind {
            FieldKind::Double => {
                state.tag(number, 1);
                state.out.extend_from_slice(&n.as_f64().to_bits().to_le_bytes());
            }
            FieldKind::Float => {
                state.tag(number, 5);
                state.out.extend_from_slice(&(n.as_f64() as f32).to_bits().to_le_bytes());
            }
            FieldKind::Int32 | FieldKind::Sint32 | FieldKind::Sfixed32 => {
                let v = i32::try_from(n.as_i64().ok_or_else(range)?).map_err(|_| range())?;
                match kind {
                    FieldKind::Int32 => {
                        state.tag(number, 0);
                        write_varint(i64::from(v) as u64, &mut state.out);
                    }
                    FieldKind::Sint32 => {
                        state.tag(number, 0);
                        write_varint(u64::from(((v << 1) ^ (v >> 31)) as u32), &mut state.out);
                    }
                    _ => {
                        state.tag(number, 5);
                        state.out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            FieldKind::Int64 | FieldKind::Sint64 | FieldKind::Sfixed64 => {
                let v = n.as_i64().ok_or_else(range)?;
                match kind {
                    FieldKind::Int64 => {
                        state.tag(number, 0);
                        write_varint(v as u64, &mut state.out);
                    }
                    FieldKind::Sint64 => {
                        state.tag(number, 0);
                        write_varint(((v << 1) ^ (v >> 63)) as u64, &mut state.out);
                    }
                    _ => {
                        state.tag(number, 1);
                        state.out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            FieldKind::Uint32 | FieldKind::Fixed32 => {
                let v = u32::try_from(n.as_u64().ok_or_else(range)?).map_err(|_| range())?;
                if kind == FieldKind::Uint32 {
                    state.tag(number, 0);
                    write_varint(u64::from(v), &mut state.out);
                } else {
                    state.tag(number, 5);
                    state.out.extend_from_slice(&v.to_le_bytes());
                }
            }
            FieldKind::Uint64 | FieldKind::Fixed64 => {
                let v = n.as_u64().ok_or_else(range)?;
                if kind == FieldKind::Uint64 {
                    state.tag(number, 0);
                    write_varint(v, &mut state.out);
                } else {
                    state.tag(number, 1);
                    state.out.extend_from_slice(&v.to_le_bytes());
                }
            }
            FieldKind::Enum(_) => {
                return Err(custom("enums are read as names (strings), not numbers"));
            }
            FieldKind::Bool | FieldKind::String | FieldKind::Bytes | FieldKind::Message(_) => {
                return Err(custom(format_args!("expected {}, found a number", kind_name(kind))));
            }
        }
        let end = state.out.len();
        state.segments.push(Segment { number, start, end });
        Ok(true)
    }

    fn string<E: de::Error>(self, text: &str) -> Result<bool, E> {
        let field = self.field;
        let number = field.number;
        match field.kind {
            FieldKind::String => {
                let state = self.state;
                let start = state.out.len();
                state.tag(number, 2);
                write_varint(text.len() as u64, &mut state.out);
                state.out.extend_from_slice(text.as_bytes());
                let end = state.out.len();
                state.segments.push(Segment { number, start, end });
                Ok(true)
            }
            FieldKind::Bytes => {
                // Base64 decoding skips whitespace, as stout's does.
                let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| custom::<E>(format_args!("invalid base64: {e}")))?;
                let state = self.state;
                let start = state.out.len();
                state.tag(number, 2);
                write_varint(bytes.len() as u64, &mut state.out);
                state.out.extend_from_slice(&bytes);
                let end = state.out.len();
                state.segments.push(Segment { number, start, end });
                Ok(true)
            }
            FieldKind::Enum(id) => {
                let enumeration = self.state.schema.enumeration(id);
                match enumeration.number_of(text) {
                    Some(value) => {
                        let state = self.state;
                        let start = state.out.len();
                        state.tag(number, 0);
                        write_varint(i64::from(value) as u64, &mut state.out);
                        let end = state.out.len();
                        state.segments.push(Segment { number, start, end });
                        Ok(true)
                    }
                    // Mesos drops an unknown name from an optional or repeated
                    // field, and refuses it for a required one.
                    None if field.required => Err(custom(format_args!("unknown {} value `{text}`", enumeration.name))),
                    None => Ok(false),
                }
            }
            FieldKind::Bool => match text {
                "true" => self.boolean(true),
                "false" => self.boolean(false),
                _ => Err(custom(format_args!("expected a boolean, found the string {text:?}"))),
            },
            FieldKind::Double | FieldKind::Float => {
                let v: f64 = match text {
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => text
                        .trim()
                        .parse()
                        .map_err(|_| custom::<E>(format_args!("expected a number, found the string {text:?}")))?,
                };
                self.number(Number::Float(v))
            }
            FieldKind::Message(_) => Err(self.expected("a string")),
            _ => {
                let trimmed = text.trim();
                let n = if let Ok(v) = trimmed.parse::<u64>() {
                    Number::Unsigned(v)
                } else if let Ok(v) = trimmed.parse::<i64>() {
                    Number::Signed(v)
                } else {
                    return Err(custom(format_args!("expected an integer, found the string {text:?}")));
                };
                self.number(n)
            }
        }
    }

    fn boolean<E: de::Error>(self, v: bool) -> Result<bool, E> {
        if self.field.kind != FieldKind::Bool {
            return Err(self.expected("a boolean"));
        }
        let number = self.field.number;
        let state = self.state;
        let start = state.out.len();
        state.tag(number, 0);
        state.out.push(u8::from(v));
        let end = state.out.len();
        state.segments.push(Segment { number, start, end });
        Ok(true)
    }
}

/// A JSON number as serde_json read it.
#[derive(Clone, Copy)]
enum Number {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Unsigned(v) => v as f64,
            Number::Signed(v) => v as f64,
            Number::Float(v) => v,
        }
    }
    /// As a signed integer; floats are truncated toward zero, as the master's
    /// `static_cast` does.
    fn as_i64(self) -> Option<i64> {
        match self {
            Number::Unsigned(v) => i64::try_from(v).ok(),
            Number::Signed(v) => Some(v),
            Number::Float(v) if v.is_finite() && v >= i64::MIN as f64 && v < i64::MAX as f64 => Some(v as i64),
            Number::Float(_) => None,
        }
    }
    fn as_u64(self) -> Option<u64> {
        match self {
            Number::Unsigned(v) => Some(v),
            Number::Signed(v) => u64::try_from(v).ok(),
            Number::Float(v) if v.is_finite() && v > -1.0 && v < u64::MAX as f64 => Some(v as u64),
            Number::Float(_) => None,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Unsigned(v) => write!(f, "{v}"),
            Number::Signed(v) => write!(f, "{v}"),
            Number::Float(v) => write!(f, "{v}"),
        }
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(kind_name(self.field.kind))
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        // `null` means unset.
        Ok(false)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.boolean(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.number(Number::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.number(Number::Signed(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.number(Number::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.string(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        if !self.field.repeated || self.in_array {
            return Err(custom(if self.in_array {
                "an array inside an array (a repeated field holds single values)"
            } else {
                "an array for a field that is not repeated"
            }));
        }
        let state = self.state;
        state.enter()?;
        let mut index = 0;
        let mut any = false;
        loop {
            state.path.push_index(index);
            let element = seq.next_element_seed(FieldSeed { state: &mut *state, field: self.field, in_array: true })?;
            state.path.pop();
            match element {
                Some(set) => any |= set,
                None => break,
            }
            index += 1;
        }
        state.depth -= 1;
        Ok(any)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let field = self.field;
        let state = self.state;
        if field.map && !self.in_array {
            return read_map(state, field, map);
        }
        let FieldKind::Message(id) = field.kind else {
            return Err(custom(format_args!("expected {}, found an object", kind_name(field.kind))));
        };
        let open = state.open(field.number);
        MessageSeed { state: &mut *state, id }.visit_map(&mut map)?;
        state.close(field.number, open);
        Ok(true)
    }
}

/// A `map<K, V>` field written as a JSON object: each key/value pair becomes
/// one entry message (`key` = 1, `value` = 2).
fn read_map<'de, A: MapAccess<'de>>(state: &mut State, field: &'static Field, mut map: A) -> Result<bool, A::Error> {
    let FieldKind::Message(entry_id) = field.kind else { return Err(custom("map field without an entry type")) };
    let entry = state.schema.message(entry_id);
    let (key_field, value_field) = (&entry.fields[0], &entry.fields[1]);
    state.enter()?;
    let mut any = false;
    while let Some(key) = map.next_key::<String>()? {
        state.path.push_key(key.clone());
        let open = state.open(field.number);
        let first = state.segments.len();
        let body = state.out.len();
        FieldSeed { state: &mut *state, field: key_field, in_array: true }.string::<A::Error>(&key)?;
        map.next_value_seed(FieldSeed { state: &mut *state, field: value_field, in_array: true })?;
        state.order_fields(first, body);
        state.close(field.number, open);
        state.path.pop();
        any = true;
    }
    state.depth -= 1;
    Ok(any)
}
