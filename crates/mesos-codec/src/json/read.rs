//! Mesos JSON → protobuf wire bytes, the way the master reads it.
//!
//! One streaming pass over the JSON: no JSON tree is built; each value is
//! encoded as soon as it is read. Nested messages get a one-byte length
//! placeholder that is widened in place when needed, and a message whose
//! fields came in another order than their numbers is reordered, so that
//! the output is what the master's `SerializeToString` would produce.
//!
//! Two readers share the encoding:
//!
//! - **the fast reader** ([`Reader`]), by hand over the bytes: strings
//!   scanned eight bytes at a time and borrowed from the input, keys matched
//!   in place against the field expected next, numbers read exactly as
//!   serde_json reads them. It keeps no JSON path, and stops at the first
//!   thing it does not like: anything the careful reader refuses, and a few
//!   lenient forms it leaves to it (map fields, numbers serde_json reads
//!   with more care).
//! - **the careful reader** (serde_json's tokenizer driven by the schema
//!   through `DeserializeSeed`s), which reads a document again when the fast
//!   one stopped: it accepts it, or says what is wrong and where (JSON path,
//!   line, column).
//!
//! A document either reader accepts gives the same bytes; `tests` below and
//! the property tests hold them to it.
//!
//! Why two: on the codec bench's 100-offer event (`benches/codec.rs`,
//! `json-to-protobuf-100-offers`) the fast reader takes 68 µs and the
//! careful one alone 231 µs, 3.4 times as long (same run, the project's
//! 2-core machine).

use std::cell::RefCell;
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
    /// Whether `segments` is kept (the fast reader finds the fields again in
    /// the bytes, only when a message needs reordering).
    track: bool,
    segments: Vec<Segment>,
    scratch: Vec<u8>,
}

pub(super) fn read(message: MessageId, json: &[u8]) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(json.len());
    read_into(message, json, &mut out)?;
    Ok(out)
}

/// [`read`] into `out` (which is cleared first): the fast reader, and the
/// careful one when the fast one stops.
pub(super) fn read_into(message: MessageId, json: &[u8], out: &mut Vec<u8>) -> Result<(), JsonError> {
    out.clear();
    let done = with_scratch(|scratch| {
        let mut state = State::new(0);
        state.track = false;
        state.out = std::mem::take(out);
        state.segments = std::mem::take(&mut scratch.segments);
        state.scratch = std::mem::take(&mut scratch.scratch);
        let mut reader = Reader { json, at: 0, state, text: std::mem::take(&mut scratch.text) };
        let done = reader.document(message).is_ok();
        *out = reader.state.out;
        scratch.segments = reader.state.segments;
        scratch.scratch = reader.state.scratch;
        scratch.text = reader.text;
        scratch.segments.clear();
        done
    });
    if !done {
        *out = read_carefully(message, json)?;
    }
    Ok(())
}

/// Buffers the fast reader reuses from one document to the next, on each
/// thread: allocating them anew for every document costs more than reading
/// a small one.
#[derive(Default)]
struct Scratch {
    segments: Vec<Segment>,
    scratch: Vec<u8>,
    text: Vec<u8>,
}

/// Buffers over this size are not kept for the next document.
const KEEP: usize = 1 << 20;

/// Runs `f` with this thread's [`Scratch`] (or fresh buffers, should it be
/// in use).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    thread_local! {
        static SCRATCH: RefCell<Scratch> = RefCell::default();
    }
    // Once the thread is tearing its locals down: fresh buffers.
    if SCRATCH.try_with(|_| ()).is_err() {
        return f(&mut Scratch::default());
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let result = f(&mut scratch);
            let segments = scratch.segments.capacity() * std::mem::size_of::<Segment>();
            if scratch.scratch.capacity() > KEEP || scratch.text.capacity() > KEEP || segments > KEEP {
                *scratch = Scratch::default();
            }
            result
        }
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Runs `f` with a buffer for protobuf bytes that this thread keeps from one
/// call to the next (or a fresh one, should it be in use).
///
/// After `f` (which decodes a message from the buffer) the buffer is taken
/// anew, with the same capacity: the buffer kept is then younger than the
/// message returned. With glibc's allocator that matters: a message whose
/// memory ends the heap is trimmed off when it is freed, and the next one
/// faults the same pages in again (three `brk` calls and some 260 KB of page
/// faults for each 100-offer event decoded and dropped in a loop); a live
/// buffer after it keeps its memory in the free lists for the next message.
pub(super) fn with_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    // Once the thread is tearing its locals down: a fresh buffer.
    if BUFFER.try_with(|_| ()).is_err() {
        return f(&mut Vec::new());
    }
    BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            let result = f(&mut buffer);
            let capacity = buffer.capacity();
            *buffer = if capacity > KEEP { Vec::new() } else { Vec::with_capacity(capacity) };
            result
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// The careful reader: serde_json's tokenizer driven by the schema's seeds,
/// keeping the JSON path; its errors are the ones reported.
pub(super) fn read_carefully(message: MessageId, json: &[u8]) -> Result<Vec<u8>, JsonError> {
    let mut state = State::new(json.len());
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
    fn new(capacity: usize) -> State {
        State {
            schema: Schema::get(),
            out: Vec::with_capacity(capacity),
            path: Path::default(),
            depth: 0,
            track: true,
            segments: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Field `number` = the varint `v`, as one segment.
    #[inline]
    fn varint(&mut self, number: u32, v: u64) {
        let start = self.out.len();
        self.tag(number, 0);
        write_varint(v, &mut self.out);
        self.segment(number, start);
    }

    /// Field `number` = the boolean `v`, as one segment.
    #[inline]
    fn boolean(&mut self, number: u32, v: bool) {
        let start = self.out.len();
        self.tag(number, 0);
        self.out.push(u8::from(v));
        self.segment(number, start);
    }

    /// Field `number` = the bytes `bytes` (a string or bytes field), as one segment.
    #[inline]
    fn length_delimited(&mut self, number: u32, bytes: &[u8]) {
        let start = self.out.len();
        self.tag(number, 2);
        write_varint(bytes.len() as u64, &mut self.out);
        self.out.extend_from_slice(bytes);
        self.segment(number, start);
    }

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
            // Widen the placeholder: move the body up and write the length.
            let mut prefix = [0u8; 10];
            let mut v = len as u64;
            for byte in &mut prefix[..width] {
                *byte = (v as u8 & 0x7f) | 0x80;
                v >>= 7;
            }
            prefix[width - 1] &= 0x7f;
            let old_len = self.out.len();
            self.out.resize(old_len + width - 1, 0);
            self.out.copy_within(body..old_len, body + width - 1);
            self.out[body - 1..body - 1 + width].copy_from_slice(&prefix[..width]);
        }
        self.segment(number, start);
    }

    /// Notes that field `number` was written from `start` to the end of `out`.
    #[inline(always)]
    fn segment(&mut self, number: u32, start: usize) {
        if self.track {
            self.segments.push(Segment { number, start, end: self.out.len() });
        }
    }

    /// For the fast reader, which does not track segments: puts the fields
    /// of the message whose body starts at `body` in field-number order,
    /// finding them in the bytes written.
    /// (`false` if the bytes are not whole fields, which cannot happen.)
    #[cold]
    fn reorder(&mut self, body: usize) -> bool {
        let first = self.segments.len();
        let mut at = body;
        while at < self.out.len() {
            match crate::wire::read_field(&self.out, at) {
                Ok((number, _, next)) => {
                    self.segments.push(Segment { number, start: at, end: next });
                    at = next;
                }
                Err(_) => {
                    self.segments.truncate(first);
                    return false;
                }
            }
        }
        self.order_fields(first, body);
        true
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
    #[inline]
    fn insert(&mut self, i: usize) {
        match self.bits.get_mut(i / 64) {
            Some(word) => *word |= 1 << (i % 64),
            None => self.more.push(i),
        }
    }
    #[inline]
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
        match encode_number(self.state, self.field, n) {
            Ok(()) => Ok(true),
            Err(Refused::Range) => Err(custom(format_args!("number {n} is out of range for the field's type"))),
            Err(Refused::Enum) => Err(custom("enums are read as names (strings), not numbers")),
            Err(Refused::Kind) => Err(custom(format_args!("expected {}, found a number", kind_name(kind)))),
        }
    }

    fn string<E: de::Error>(self, text: &str) -> Result<bool, E> {
        let field = self.field;
        let number = field.number;
        match field.kind {
            FieldKind::String => {
                self.state.length_delimited(number, text.as_bytes());
                Ok(true)
            }
            FieldKind::Bytes => {
                let bytes = decode_base64(text).map_err(|e| custom::<E>(format_args!("invalid base64: {e}")))?;
                self.state.length_delimited(number, &bytes);
                Ok(true)
            }
            FieldKind::Enum(id) => {
                let enumeration = self.state.schema.enumeration(id);
                match enumeration.number_of(text) {
                    Some(value) => {
                        self.state.varint(number, i64::from(value) as u64);
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
            FieldKind::Double | FieldKind::Float => match lenient_number(field.kind, text) {
                Some(n) => self.number(n),
                None => Err(custom(format_args!("expected a number, found the string {text:?}"))),
            },
            FieldKind::Message(_) => Err(self.expected("a string")),
            kind => match lenient_number(kind, text) {
                Some(n) => self.number(n),
                None => Err(custom(format_args!("expected an integer, found the string {text:?}"))),
            },
        }
    }

    fn boolean<E: de::Error>(self, v: bool) -> Result<bool, E> {
        if self.field.kind != FieldKind::Bool {
            return Err(self.expected("a boolean"));
        }
        self.state.boolean(self.field.number, v);
        Ok(true)
    }
}

/// Why a number cannot be the value of a field.
enum Refused {
    /// Out of the range of the field's type.
    Range,
    /// The field is an enum: enums are names.
    Enum,
    /// The field holds no numbers.
    Kind,
}

/// Encodes the number `n` as the value of `field` (one segment).
fn encode_number(state: &mut State, field: &Field, n: Number) -> Result<(), Refused> {
    let kind = field.kind;
    let number = field.number;
    let start = state.out.len();
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
            let v = i32::try_from(n.as_i64().ok_or(Refused::Range)?).map_err(|_| Refused::Range)?;
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
            let v = n.as_i64().ok_or(Refused::Range)?;
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
            let v = u32::try_from(n.as_u64().ok_or(Refused::Range)?).map_err(|_| Refused::Range)?;
            if kind == FieldKind::Uint32 {
                state.tag(number, 0);
                write_varint(u64::from(v), &mut state.out);
            } else {
                state.tag(number, 5);
                state.out.extend_from_slice(&v.to_le_bytes());
            }
        }
        FieldKind::Uint64 | FieldKind::Fixed64 => {
            let v = n.as_u64().ok_or(Refused::Range)?;
            if kind == FieldKind::Uint64 {
                state.tag(number, 0);
                write_varint(v, &mut state.out);
            } else {
                state.tag(number, 1);
                state.out.extend_from_slice(&v.to_le_bytes());
            }
        }
        FieldKind::Enum(_) => return Err(Refused::Enum),
        FieldKind::Bool | FieldKind::String | FieldKind::Bytes | FieldKind::Message(_) => {
            return Err(Refused::Kind);
        }
    }
    state.segment(number, start);
    Ok(())
}

/// A number given as a string (`"-1"`, `"60"`, `"Infinity"`), for a field
/// of numeric kind `kind`: what the master's lenient parsing reads.
fn lenient_number(kind: FieldKind, text: &str) -> Option<Number> {
    match kind {
        FieldKind::Double | FieldKind::Float => Some(Number::Float(match text {
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => text.trim().parse().ok()?,
        })),
        _ => {
            let trimmed = text.trim();
            if let Ok(v) = trimmed.parse::<u64>() {
                Some(Number::Unsigned(v))
            } else {
                trimmed.parse::<i64>().ok().map(Number::Signed)
            }
        }
    }
}

/// Base64 as stout decodes it: standard alphabet, whitespace skipped.
fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact.as_bytes())
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

// ---------------------------------------------------------------------------
// The fast path: a hand-written reader for the JSON a master or a client
// sends, with no serde in between.
// ---------------------------------------------------------------------------

/// The fast reader stopped: the document is read again by the careful
/// (serde_json) reader, which accepts it or says what is wrong and where.
/// The fast reader stops on every input the careful one refuses, and on
/// some it accepts (lenient forms it leaves to it, such as map fields).
struct Bail;

type Fast<T> = Result<T, Bail>;

/// 10^0 ... 10^22, the powers of ten a double holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A string's contents: a range of the input, or (when it had escapes) the
/// reader's `text` buffer.
#[derive(Clone, Copy)]
enum Text {
    Raw(usize, usize),
    Unescaped,
}

struct Reader<'j> {
    json: &'j [u8],
    at: usize,
    state: State,
    /// The contents of the last string that had escapes, unescaped.
    text: Vec<u8>,
}

impl<'j> Reader<'j> {
    /// Skips whitespace; returns the next byte.
    #[inline(always)]
    fn ws(&mut self) -> Option<u8> {
        self.at = super::lex::ws(self.json, self.at);
        self.json.get(self.at).copied()
    }

    /// Expects `byte` after whitespace.
    #[inline(always)]
    fn expect(&mut self, byte: u8) -> Fast<()> {
        if self.ws() != Some(byte) {
            return Err(Bail);
        }
        self.at += 1;
        Ok(())
    }

    fn enter(&mut self) -> Fast<()> {
        self.state.depth += 1;
        if self.state.depth > MAX_DEPTH {
            return Err(Bail);
        }
        Ok(())
    }

    /// The document: one object of type `id`, and nothing after it.
    fn document(&mut self, id: MessageId) -> Fast<()> {
        if self.ws() != Some(b'{') {
            return Err(Bail);
        }
        self.message(id)?;
        if self.ws().is_some() {
            return Err(Bail);
        }
        Ok(())
    }

    /// A string whose opening quote is at `self.at`: checked as serde_json
    /// checks strings it reads (escapes, control characters, UTF-8).
    #[inline(always)]
    fn string(&mut self) -> Fast<Text> {
        let json = self.json;
        let start = self.at + 1;
        let s = super::lex::string(json, self.at).ok_or(Bail)?;
        self.at = s.end;
        let raw = &json[start..s.end - 1];
        if s.escaped {
            return self.escaped_string(raw);
        }
        if !s.ascii && std::str::from_utf8(raw).is_err() {
            return Err(Bail);
        }
        Ok(Text::Raw(start, s.end - 1))
    }

    /// The contents `raw` of a string with escapes, unescaped into
    /// `self.text`.
    #[cold]
    fn escaped_string(&mut self, raw: &[u8]) -> Fast<Text> {
        self.text.clear();
        super::unescape_into(raw, &mut self.text).ok_or(Bail)?;
        if std::str::from_utf8(&self.text).is_err() {
            return Err(Bail);
        }
        Ok(Text::Unescaped)
    }

    /// The bytes of a string read by [`string`](Self::string).
    #[inline(always)]
    fn bytes<'s>(&'s self, text: Text) -> &'s [u8]
    where
        'j: 's,
    {
        match text {
            Text::Raw(start, end) => &self.json[start..end],
            Text::Unescaped => &self.text,
        }
    }

    /// A number at `self.at`, read as serde_json (with `float_roundtrip`)
    /// reads it: doubles correctly rounded (the forms it reads with more
    /// care are left to it).
    fn number(&mut self) -> Fast<Number> {
        let json = self.json;
        let start = self.at;
        let mut at = self.at;
        let negative = json.get(at) == Some(&b'-');
        at += usize::from(negative);
        // Digits: up to 19 of them cannot overflow a u64 (longer numbers are
        // left to the careful reader).
        let mut significand: u64 = 0;
        let mut digits = 0;
        let int_start = at;
        while let Some(&b) = json.get(at) {
            if !b.is_ascii_digit() {
                break;
            }
            significand = significand.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            at += 1;
        }
        digits += at - int_start;
        // At least one digit, and only one leading zero.
        if at == int_start || (json[int_start] == b'0' && at - int_start > 1) {
            return Err(Bail);
        }
        let mut exponent: i32 = 0;
        let mut float = false;
        if json.get(at) == Some(&b'.') {
            float = true;
            at += 1;
            let fraction_start = at;
            while let Some(&b) = json.get(at) {
                if !b.is_ascii_digit() {
                    break;
                }
                significand = significand.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
                at += 1;
            }
            if at == fraction_start {
                return Err(Bail);
            }
            digits += at - fraction_start;
            exponent = -((at - fraction_start) as i32);
        }
        if digits > 19 {
            // Twenty digits may still fit (integers up to u64::MAX); the
            // rest is left to the careful reader.
            if float || digits > 20 {
                return Err(Bail);
            }
            significand = json[int_start..at].iter().try_fold(0u64, |s, &b| {
                s.checked_mul(10).and_then(|s| s.checked_add(u64::from(b - b'0'))).ok_or(Bail)
            })?;
        }
        if let Some(b'e' | b'E') = json.get(at) {
            float = true;
            at += 1;
            let negative_exponent = match json.get(at) {
                Some(b'-') => {
                    at += 1;
                    true
                }
                Some(b'+') => {
                    at += 1;
                    false
                }
                _ => false,
            };
            let exponent_start = at;
            let mut e: i32 = 0;
            while let Some(&b) = json.get(at) {
                if !b.is_ascii_digit() {
                    break;
                }
                e = e * 10 + i32::from(b - b'0');
                at += 1;
                if at - exponent_start > 4 {
                    return Err(Bail);
                }
            }
            if at == exponent_start {
                return Err(Bail);
            }
            exponent += if negative_exponent { -e } else { e };
        }
        self.at = at;
        if !float {
            if !negative {
                return Ok(Number::Unsigned(significand));
            }
            // As serde_json: `-0` and what i64 cannot hold are doubles.
            let neg = (significand as i64).wrapping_neg();
            return Ok(if neg >= 0 { Number::Float(-(significand as f64)) } else { Number::Signed(neg) });
        }
        // Exactly rounded, as the master's parser (`strtod`) reads it: when
        // the significand and the power of ten are both exact doubles, one
        // IEEE operation rounds correctly (Clinger's fast path); anything
        // else goes to the standard library's correctly rounded parser.
        let f = match EXACT_POW10.get(exponent.unsigned_abs() as usize) {
            Some(&pow) if significand < 1 << 53 && digits <= 19 => {
                let f = significand as f64;
                if exponent >= 0 { f * pow } else { f / pow }
            }
            _ => {
                let text = std::str::from_utf8(&json[start..at]).map_err(|_| Bail)?;
                let f: f64 = text.parse().map_err(|_| Bail)?;
                if f.is_infinite() {
                    return Err(Bail);
                }
                return Ok(Number::Float(f));
            }
        };
        Ok(Number::Float(if negative { -f } else { f }))
    }

    /// Steps over `literal` (`true`, `false`, `null`) at `self.at`.
    #[inline]
    fn literal(&mut self, literal: &[u8]) -> Fast<()> {
        self.at = super::lex::literal(self.json, self.at, literal).ok_or(Bail)?;
        Ok(())
    }

    /// An object of message type `id`, its `{` at `self.at`.
    fn message(&mut self, id: MessageId) -> Fast<()> {
        self.at += 1;
        self.enter()?;
        let message = self.state.schema.message(id);
        let names = &message.keys;
        let body = self.state.out.len();
        // The number of the last field read, and whether one came before a
        // lower-numbered one.
        let (mut last, mut unordered) = (0, false);
        // The required fields set so far, one bit each.
        let mut seen = 0u64;
        // Keys usually come in declaration order: the field after the last
        // one is tried first.
        let mut guess = 0;
        match self.ws() {
            Some(b'}') => self.at += 1,
            _ => loop {
                if self.ws() != Some(b'"') {
                    return Err(Bail);
                }
                // The key expected next, with its colon (`"name":`), matched
                // in place; any other key is read as a string.
                let index = match names.expected(self.json, self.at, guess) {
                    Some((index, len)) => {
                        self.at += len;
                        Some(index)
                    }
                    None => {
                        let key = self.string()?;
                        let index = match key {
                            Text::Raw(start, end) => names.find(message, self.json, start, end, guess),
                            Text::Unescaped => {
                                std::str::from_utf8(&self.text).ok().and_then(|key| message.field_index(key))
                            }
                        };
                        self.expect(b':')?;
                        index
                    }
                };
                let next = self.ws().ok_or(Bail)?;
                match index {
                    Some(index) => {
                        guess = index + 1;
                        let field = &message.fields[index];
                        unordered |= field.number < last;
                        last = field.number;
                        let set = if next == b'"' && field.kind == FieldKind::String {
                            // The commonest value, inline.
                            match self.string()? {
                                Text::Raw(start, end) => {
                                    self.state.length_delimited(field.number, &self.json[start..end])
                                }
                                Text::Unescaped => self.state.length_delimited(field.number, &self.text),
                            }
                            true
                        } else {
                            self.value(field, next, false)?
                        };
                        if set {
                            seen |= names.required[index];
                        }
                    }
                    None => self.skip(next)?,
                }
                match self.ws() {
                    Some(b',') => self.at += 1,
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    _ => return Err(Bail),
                }
            },
        }
        if seen != names.all_required || unordered && !self.state.reorder(body) {
            return Err(Bail);
        }
        self.state.depth -= 1;
        Ok(())
    }

    /// The value of `field`, its first byte `next` at `self.at`: encoded as
    /// the careful reader encodes it. Returns whether the field was set.
    fn value(&mut self, field: &'static Field, next: u8, in_array: bool) -> Fast<bool> {
        match next {
            b'"' => {
                let text = self.string()?;
                self.string_value(field, text)
            }
            b'{' => {
                let FieldKind::Message(id) = field.kind else { return Err(Bail) };
                if field.map {
                    return Err(Bail);
                }
                let open = self.state.open(field.number);
                self.message(id)?;
                self.state.close(field.number, open);
                Ok(true)
            }
            b'[' => {
                if !field.repeated || in_array {
                    return Err(Bail);
                }
                self.at += 1;
                self.enter()?;
                let mut any = false;
                if self.ws() == Some(b']') {
                    self.at += 1;
                } else {
                    loop {
                        let next = self.ws().ok_or(Bail)?;
                        any |= self.value(field, next, true)?;
                        match self.ws() {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(Bail),
                        }
                    }
                }
                self.state.depth -= 1;
                Ok(any)
            }
            b't' | b'f' => {
                let v = next == b't';
                self.literal(if v { b"true" } else { b"false" })?;
                if field.kind != FieldKind::Bool {
                    return Err(Bail);
                }
                self.state.boolean(field.number, v);
                Ok(true)
            }
            b'n' => {
                self.literal(b"null")?;
                Ok(false)
            }
            _ => {
                let n = self.number()?;
                encode_number(&mut self.state, field, n).map_err(|_| Bail)?;
                Ok(true)
            }
        }
    }

    /// A string given for `field`.
    fn string_value(&mut self, field: &'static Field, text: Text) -> Fast<bool> {
        let number = field.number;
        match field.kind {
            FieldKind::String => {
                let bytes = match text {
                    Text::Raw(start, end) => &self.json[start..end],
                    Text::Unescaped => &self.text,
                };
                self.state.length_delimited(number, bytes);
                Ok(true)
            }
            FieldKind::Enum(id) => {
                let value = self.state.schema.enumeration(id).number_of_bytes(self.bytes(text));
                match value {
                    Some(value) => {
                        self.state.varint(number, i64::from(value) as u64);
                        Ok(true)
                    }
                    None if field.required => Err(Bail),
                    None => Ok(false),
                }
            }
            kind => {
                // The lenient forms: the careful reader's own conversions.
                let text = std::str::from_utf8(self.bytes(text)).map_err(|_| Bail)?;
                match kind {
                    FieldKind::Bytes => {
                        let bytes = decode_base64(text).map_err(|_| Bail)?;
                        self.state.length_delimited(number, &bytes);
                    }
                    FieldKind::Bool => match text {
                        "true" => self.state.boolean(number, true),
                        "false" => self.state.boolean(number, false),
                        _ => return Err(Bail),
                    },
                    FieldKind::Message(_) => return Err(Bail),
                    kind => {
                        let n = lenient_number(kind, text).ok_or(Bail)?;
                        encode_number(&mut self.state, field, n).map_err(|_| Bail)?;
                    }
                }
                Ok(true)
            }
        }
    }

    /// Steps over the value of an unknown key, its first byte `next` at
    /// `self.at`, checking it as the careful reader does.
    fn skip(&mut self, next: u8) -> Fast<()> {
        match next {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let close = if next == b'{' { b'}' } else { b']' };
                self.at += 1;
                self.enter()?;
                if self.ws() == Some(close) {
                    self.at += 1;
                } else {
                    loop {
                        if next == b'{' {
                            if self.ws() != Some(b'"') {
                                return Err(Bail);
                            }
                            self.string()?;
                            self.expect(b':')?;
                        }
                        let value = self.ws().ok_or(Bail)?;
                        self.skip(value)?;
                        match self.ws() {
                            Some(b',') => self.at += 1,
                            Some(b) if b == close => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(Bail),
                        }
                    }
                }
                self.state.depth -= 1;
                Ok(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::message_type;

    /// The fast reader's bytes, or `None` where it stops.
    fn fast(ty: &str, json: &str) -> Option<Vec<u8>> {
        let mut state = State::new(0);
        state.track = false;
        let mut reader = Reader { json: json.as_bytes(), at: 0, state, text: Vec::new() };
        reader.document(message_type(ty).unwrap()).ok().map(|()| reader.state.out)
    }

    fn careful(ty: &str, json: &str) -> Result<Vec<u8>, JsonError> {
        read_carefully(message_type(ty).unwrap(), json.as_bytes())
    }

    /// Documents the fast reader reads, exactly as the careful one does.
    #[test]
    fn the_fast_reader_gives_the_careful_readers_bytes() {
        let documents = [
            ("FrameworkID", r#"{"value":"test13"}"#),
            ("FrameworkID", " {\n\t\"value\" : \"a\\/b\\\"c\\u00e9\\ud83d\\ude00\\n\\u0000\" } \r\n"),
            ("FrameworkID", r#"{"value":"x","bogus":{"deep":[1,-2.5e-3,{"a":null},"\u0041",true,false,[]]},"n":null}"#),
            ("FrameworkID", r#"{"value":"a","value":"b"}"#),
            ("FrameworkID", "{\"value\":\"caf\u{e9} \u{4efb}\u{52a1} \u{1F600}\"}"),
            ("Value.Scalar", r#"{"value":2.50e1}"#),
            ("Value.Scalar", r#"{"value":-0}"#),
            ("Value.Scalar", r#"{"value":"Infinity"}"#),
            ("Value.Scalar", r#"{"value":" 60 "}"#),
            ("Value.Scalar", r#"{"value":1E+2}"#),
            ("Value.Scalar", r#"{"value":-2.5e-3}"#),
            ("Value.Scalar", r#"{"value":0.30000000000000004}"#),
            ("Value.Range", r#"{"begin":"1","end":9007199254740993}"#),
            ("Value.Range", r#"{"begin":18446744073709551615,"end":1.9}"#),
            ("TimeInfo", r#"{"nanoseconds":-9223372036854775808}"#),
            ("TimeInfo", r#"{"nanoseconds":"-1"}"#),
            ("Filters", "{}"),
            ("Filters", r#"{"refuse_seconds":null}"#),
            ("scheduler.Event", r#"{"type":"NO_SUCH_EVENT"}"#),
            ("scheduler.Event", r#"{"type":"HEARTBEAT","subscribed":null}"#),
            (
                "FrameworkInfo",
                r#"{"user":"u","name":"n","checkpoint":"true","capabilities":{"type":"GPU_RESOURCES"},"roles":[]}"#,
            ),
            ("FrameworkInfo", r#"{"user":"u","name":"n","capabilities":[{"type":"NOPE"},{"type":"GPU_RESOURCES"}]}"#),
            (
                "scheduler.Call.Acknowledge",
                "{\"agent_id\":{\"value\":\"a\"},\"task_id\":{\"value\":\"t\"},\"uuid\":\"H9KoCldt RTu0T7hal\\nLxs9w==\"}",
            ),
            ("ExecutorInfo", r#"{"executor_id":{"value":"e"},"command":{"value":"true"},"source":"s","data":"AA=="}"#),
            (
                "scheduler.Event",
                r#"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"o1"},"framework_id":{"value":"f"},"agent_id":{"value":"s"},"hostname":"h","url":{"scheme":"http","address":{"hostname":"h","ip":"1.2.3.4","port":5051},"path":"\/slave(1)"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":2.0}},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}}]}]}}"#,
            ),
        ];
        for (ty, json) in documents {
            let expected = careful(ty, json).unwrap_or_else(|e| panic!("{ty} {json}: {e}"));
            assert_eq!(fast(ty, json).as_ref(), Some(&expected), "{ty} {json}");
        }
        // Long enough for the length placeholder to be widened.
        let long = format!(r#"{{"value":"{}"}}"#, "x".repeat(300));
        assert_eq!(fast("FrameworkID", &long).unwrap(), careful("FrameworkID", &long).unwrap());
    }

    /// JSON the writer wrote for random messages, as it is and damaged:
    /// whatever the fast reader reads, the careful one reads alike.
    #[test]
    fn the_fast_reader_agrees_with_the_careful_one_on_random_documents() {
        use super::super::test_gen::Gen;
        let schema = Schema::get();
        let names = schema.message_names();
        let (mut fast_ok, mut stopped) = (0, 0);
        for seed in 1..2000u64 {
            let mut g = Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let id = schema.message_by_name(names[g.below(names.len())]).unwrap();
            let Ok(written) = crate::json::protobuf_to_json(id, &g.message(id, 0)) else { continue };
            let text = String::from_utf8(written.json).unwrap();
            let mut variants = vec![
                text.replace(':', " : ").replace(',', ",\n\t"),
                text.replace("\\/", "/").replace("\"value\"", "\"v\\u0061lue\""),
                text.replace(".0", "0e-1").replace(",\"", ",\"unknown\":[{\"a\":null}],\""),
            ];
            let mut damaged = text.clone().into_bytes();
            if !damaged.is_empty() {
                let at = g.below(damaged.len());
                damaged[at] = b"{}[]\",:0-.e\\ "[g.below(13)];
            }
            variants.push(String::from_utf8_lossy(&damaged).into_owned());
            variants.push(text);
            for json in variants {
                let mut state = State::new(0);
                state.track = false;
                let mut reader = Reader { json: json.as_bytes(), at: 0, state, text: Vec::new() };
                let careful = read_carefully(id, json.as_bytes());
                if reader.document(id).is_ok() {
                    fast_ok += 1;
                    assert_eq!(Some(&reader.state.out), careful.as_ref().ok(), "{}: {json}", schema.message(id).name);
                } else {
                    stopped += 1;
                }
            }
        }
        // Both ways are exercised.
        assert!(fast_ok > 3000 && stopped > 100, "{fast_ok} {stopped}");
    }

    /// Whatever the careful reader refuses, the fast reader stops at.
    #[test]
    fn the_fast_reader_stops_where_the_careful_reader_refuses() {
        let deep = format!(r#"{{"value":"a","x":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        let documents = [
            ("FrameworkID", r#"{"value":"a"} x"#),
            ("FrameworkID", r#"{"value":"a""#),
            ("FrameworkID", r#"{"value":"a",}"#),
            ("FrameworkID", r#"{"value":"a" "x":1}"#),
            ("FrameworkID", r#"{"value" "a"}"#),
            ("FrameworkID", r#"{value:"a"}"#),
            ("FrameworkID", "[1]"),
            ("FrameworkID", ""),
            ("FrameworkID", "{}"),
            ("FrameworkID", r#"{"value":7}"#),
            ("FrameworkID", r#"{"value":["a"]}"#),
            ("FrameworkID", r#"{"value":"\x"}"#),
            ("FrameworkID", r#"{"value":"\ud800"}"#),
            ("FrameworkID", r#"{"value":"\udc00"}"#),
            ("FrameworkID", r#"{"value":"\u12"}"#),
            ("FrameworkID", "{\"value\":\"tab\there\"}"),
            ("FrameworkID", r#"{"value":"a","x":[1,]}"#),
            ("FrameworkID", r#"{"value":"a","x":01}"#),
            ("FrameworkID", r#"{"value":"a","x":1.}"#),
            ("FrameworkID", r#"{"value":"a","x":-}"#),
            ("FrameworkID", r#"{"value":"a","x":1e400}"#),
            ("FrameworkID", r#"{"value":"a","x":tru}"#),
            ("FrameworkID", &deep),
            ("Value.Range", r#"{"begin":1}"#),
            ("Value.Range", r#"{"begin":-1,"end":1}"#),
            ("TimeInfo", r#"{"nanoseconds":9223372036854775808}"#),
            ("scheduler.Event", r#"{"type":4}"#),
            ("Resource", r#"{"name":"cpus","type":"BOGUS"}"#),
            ("Value.Scalar", r#"{"value":"NaN?"}"#),
            ("Value.Scalar", r#"{"value":{}}"#),
        ];
        for (ty, json) in documents {
            assert!(careful(ty, json).is_err(), "{ty} {json}");
            assert_eq!(fast(ty, json), None, "{ty} {json}");
        }
        // Bytes that are not UTF-8, in a value and in a skipped value.
        for json in [&b"{\"value\":\"\xff\"}"[..], b"{\"value\":\"a\",\"x\":\"\xc3\"}"] {
            let id = message_type("FrameworkID").unwrap();
            assert!(read_carefully(id, json).is_err());
            let mut reader = Reader { json, at: 0, state: State::new(0), text: Vec::new() };
            assert!(reader.document(id).is_err());
        }
    }
}
