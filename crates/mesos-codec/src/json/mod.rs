//! Mesos's own JSON mapping of the v1 messages, both directions, for every
//! message type of the schema.
//!
//! This is the dialect a Mesos 1.11 master speaks (stout's `jsonify` over
//! rapidjson, and `protobuf::parse`), not proto3's canonical JSON mapping:
//!
//! **Writing** ([`to_json`], [`protobuf_to_json`]), as the master writes:
//! - keys are the `.proto` field names, in declaration order;
//! - set fields are written, even when they equal their default; unset
//!   fields are left out, except optional fields with an explicit
//!   `[default = ...]` that are not deprecated, which are written with their
//!   default (`Filters.refuse_seconds` → `5.0`; the deprecated
//!   `Resource.role` → nothing); empty repeated fields are left out (but
//!   for the lists of [`crate::schema::WRITTEN_EMPTY`]);
//! - enums as their names (a number the enum does not define leaves the
//!   field unset, as proto2 does), bytes as padded standard base64, 64-bit
//!   integers as plain JSON numbers, doubles as rapidjson writes them
//!   (Grisu2: `15.0`, `996.0`, `1796462612.3989099`, `1e21`), infinities as
//!   the strings `"Infinity"` / `"-Infinity"`, NaN bare, maps as objects with
//!   string keys;
//! - strings escaped as rapidjson escapes them (`"`, `\\` and control
//!   characters; `/`, DEL and UTF-8 as they are).
//!
//! **Reading** ([`from_json`], [`json_to_protobuf`]), as the master reads:
//! - exact: doubles are correctly rounded, as `strtod` reads them;
//! - lenient: unknown keys are ignored, `null` means unset, numbers and
//!   booleans may be strings (`"-1"`, `"true"`), floats accept `"Infinity"`,
//!   a single value for a repeated field is a one-element list (the seed's
//!   `"capabilities":{"type":...}`), an unknown enum name is dropped from an
//!   optional or repeated field, base64 may hold whitespace;
//! - strict: missing required fields (checked recursively), an enum given as
//!   a number, an unknown enum name in a required field, an array for a
//!   non-repeated field, a value of the wrong type, trailing garbage after
//!   the document, and nesting deeper than 100 levels are errors.
//!
//! Every error names where: a JSON path (`subscribe.framework_info.user`)
//! with the line and column, or a path and byte offset for protobuf input.
//! The protobuf produced from JSON is what the master would produce: fields
//! in field-number order.
//!
//! ```
//! use mesos_codec::v1::scheduler;
//!
//! let call: scheduler::Call = mesos_codec::json::from_json(
//!     br#"{"type":"DECLINE","framework_id":{"value":"f1"},
//!         "decline":{"offer_ids":{"value":"o1"},"filters":{}}}"#,
//! )?;
//! assert_eq!(call.decline.as_ref().unwrap().offer_ids[0].value, "o1");
//!
//! let json = mesos_codec::json::to_json(&call)?;
//! assert_eq!(
//!     String::from_utf8(json).unwrap(),
//!     r#"{"framework_id":{"value":"f1"},"type":"DECLINE","decline":{"offer_ids":[{"value":"o1"}],"filters":{"refuse_seconds":5.0}}}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::schema::MessageId;
pub use crate::schema::{UnknownType, message_type};
pub use crate::wire::{ProtobufError, ProtobufErrorKind};

mod dtoa;
pub(crate) mod lex;
mod read;
mod write;

pub(crate) use read::KeySeed;
pub(crate) use write::write_default;

/// Where in a message an error is: field names and array indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Field(&'static str),
    Index(usize),
    Key(String),
}

impl Path {
    pub(crate) fn push_field(&mut self, name: &'static str) {
        self.0.push(Segment::Field(name));
    }
    pub(crate) fn push_index(&mut self, index: usize) {
        self.0.push(Segment::Index(index));
    }
    pub(crate) fn push_key(&mut self, key: String) {
        self.0.push(Segment::Key(key));
    }
    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }
    /// The path without its last segment: the message that holds the
    /// field pushed last.
    pub(crate) fn holder(&self) -> String {
        Path(self.0[..self.0.len().saturating_sub(1)].to_vec()).to_string()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

/// A protobuf field the schema does not know, met while writing JSON.
///
/// JSON has no way to carry it, so it is reported rather than dropped
/// without a word.
///
/// ```
/// use mesos_codec::json::{message_type, protobuf_to_json, UnknownField};
/// // A HEARTBEAT event, then field 15 (which Event does not have) = 7.
/// let out = protobuf_to_json(message_type("scheduler.Event")?, &[0x08, 0x08, 0x78, 0x07])?;
/// assert_eq!(out.json, br#"{"type":"HEARTBEAT"}"#);
/// assert_eq!(out.unknown_fields, [UnknownField { path: "(top level)".into(), number: 15, wire_type: 0 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The path of the message that held it.
    pub path: String,
    /// Its field number.
    pub number: u32,
    /// Its wire type.
    pub wire_type: u8,
}

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: unknown field number {} (wire type {}) not representable in JSON",
            self.path, self.number, self.wire_type
        )
    }
}

/// Bad JSON input: what and where.
///
/// ```
/// use mesos_codec::json::{json_to_protobuf, message_type};
/// let err = json_to_protobuf(message_type("FrameworkID")?, b"{\n  \"value\": 13\n}").unwrap_err();
/// assert_eq!((err.path.as_str(), err.line, err.column), ("value", 2, 13));
/// assert_eq!(err.to_string(), "value: expected a string, found a number (line 2, column 13)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message} (line {line}, column {column})")]
pub struct JsonError {
    /// The JSON path where the error is (`subscribe.framework_info.user`),
    /// `(top level)` for the document itself.
    pub path: String,
    /// What went wrong.
    pub message: String,
    /// Line of the error in the input, from 1.
    pub line: usize,
    /// Column of the error in the input, from 1.
    pub column: usize,
}

/// The result of writing protobuf as JSON: the JSON, and the fields it could
/// not carry.
///
/// ```
/// use mesos_codec::json::{message_type, protobuf_to_json, Transcoded};
/// let out = protobuf_to_json(message_type("FrameworkID")?, b"\x0a\x06test13")?;
/// assert_eq!(out, Transcoded { json: br#"{"value":"test13"}"#.to_vec(), unknown_fields: vec![] });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcoded {
    /// The Mesos JSON.
    pub json: Vec<u8>,
    /// Protobuf fields unknown to the schema, which JSON cannot carry.
    pub unknown_fields: Vec<UnknownField>,
}

/// Writes the protobuf encoding `pb` of message type `message` as Mesos JSON,
/// straight from the wire bytes.
///
/// ```
/// use mesos_codec::json::{message_type, protobuf_to_json};
/// // A HEARTBEAT event: field 1 (type) = 8 (HEARTBEAT).
/// let out = protobuf_to_json(message_type("scheduler.Event")?, &[0x08, 0x08])?;
/// assert_eq!(out.json, br#"{"type":"HEARTBEAT"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn protobuf_to_json(message: MessageId, pb: &[u8]) -> Result<Transcoded, ProtobufError> {
    let mut json = Vec::with_capacity(pb.len() * 2 + 16);
    let mut unknown_fields = Vec::new();
    protobuf_to_json_into(message, pb, &mut json, &mut unknown_fields)?;
    Ok(Transcoded { json, unknown_fields })
}

/// [`protobuf_to_json`] into caller-owned buffers (reused across messages).
///
/// ```
/// use mesos_codec::json::{message_type, protobuf_to_json_into};
/// let (mut json, mut unknown) = (Vec::new(), Vec::new());
/// protobuf_to_json_into(message_type("FrameworkID")?, b"\x0a\x02f1", &mut json, &mut unknown)?;
/// assert_eq!(json, br#"{"value":"f1"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn protobuf_to_json_into(
    message: MessageId,
    pb: &[u8],
    json: &mut Vec<u8>,
    unknown: &mut Vec<UnknownField>,
) -> Result<(), ProtobufError> {
    write::write(message, pb, json, unknown)
}

/// Reads Mesos JSON as message type `message` and returns its protobuf
/// encoding (fields in field-number order, as the master encodes).
///
/// ```
/// use mesos_codec::json::{json_to_protobuf, message_type};
/// let pb = json_to_protobuf(message_type("scheduler.Event")?, br#"{"type":"HEARTBEAT"}"#)?;
/// assert_eq!(pb, [0x08, 0x08]);
/// let err = json_to_protobuf(message_type("FrameworkID")?, br#"{"value":7}"#).unwrap_err();
/// assert_eq!(err.path, "value");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn json_to_protobuf(message: MessageId, json: &[u8]) -> Result<Vec<u8>, JsonError> {
    read::read(message, json)
}

/// [`json_to_protobuf`] by the careful reader alone (serde_json's
/// tokenizer driven by the schema), never the fast one: for the codec
/// benchmark, which measures what the fast reader is worth.
#[cfg(feature = "views")]
#[doc(hidden)]
pub fn json_to_protobuf_carefully(message: MessageId, json: &[u8]) -> Result<Vec<u8>, JsonError> {
    read::read_carefully(message, json)
}

/// Errors of the typed conversions ([`from_json`], [`to_json`]).
///
/// ```
/// use mesos_codec::json::{from_json, Error};
/// use mesos_codec::v1::FrameworkId;
/// let err = from_json::<FrameworkId>(b"{}").unwrap_err();
/// let Error::Json(json) = &err else { panic!("expected a JSON error, got {err}") };
/// assert_eq!(json.to_string(), "(top level): missing required fields: value (line 1, column 2)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The JSON was refused.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The protobuf was refused.
    #[error(transparent)]
    Protobuf(#[from] ProtobufError),
    /// prost could not decode what the JSON reader produced.
    #[error("cannot decode the message: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The Rust type is not a message of the v1 schema.
    #[error(transparent)]
    UnknownType(#[from] UnknownType),
}

/// Reads Mesos JSON into a typed message.
///
/// ```
/// let id: mesos_codec::v1::FrameworkId = mesos_codec::json::from_json(br#"{"value":"test13"}"#)?;
/// assert_eq!(id.value, "test13");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_json<T: prost::Message + prost::Name + Default>(json: &[u8]) -> Result<T, Error> {
    let id = message_type(&T::full_name())?;
    // The protobuf bytes only live until prost has decoded them: a buffer
    // the thread keeps.
    read::with_buffer(|pb| {
        read::read_into(id, json, pb)?;
        Ok(T::decode(pb.as_slice())?)
    })
}

/// Writes a typed message as Mesos JSON.
///
/// Fails only on values the master could not have sent: an enum field
/// holding a number the schema does not define.
///
/// ```
/// use mesos_codec::v1::Filters;
/// let json = mesos_codec::json::to_json(&Filters::default())?;
/// assert_eq!(json, br#"{"refuse_seconds":5.0}"#); // the explicit default
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_json<T: prost::Message + prost::Name>(message: &T) -> Result<Vec<u8>, Error> {
    let pb = message.encode_to_vec();
    Ok(protobuf_to_json(message_type(&T::full_name())?, &pb)?.json)
}

/// Writes `text` as a JSON string, escaped as a Mesos 1.11 master escapes
/// strings (rapidjson's `Writer::String`), for JSON a master writes by hand
/// (its `/master/state`, `/metrics/snapshot`).
pub fn write_json_string(text: &str, out: &mut Vec<u8>) {
    write::write_string(text.as_bytes(), out);
}

/// Writes a double as a Mesos 1.11 master writes one (rapidjson's
/// `Writer::Double`: `2.0`, `0.75`, `1796462612.3989099`).
pub fn write_json_double(value: f64, out: &mut Vec<u8>) {
    write::write_double(value, out);
}

/// Undoes the escapes of a JSON string's contents (`raw`, the bytes between
/// its quotes) onto the end of `out`; `None` where an escape is bad (unknown,
/// cut short, a lone surrogate). Runs without a backslash are copied whole.
/// The one unescaper of the session reader and the peeks (the JSON reader
/// unescapes as it scans, finding the string's end on the way).
pub(crate) fn unescape_into(raw: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let hex4 = |at: usize| -> Option<u32> {
        let digits = raw.get(at..at + 4)?;
        digits.iter().try_fold(0, |v, &d| Some(v << 4 | char::from(d).to_digit(16)?))
    };
    let mut at = 0;
    while let Some(slash) = memchr::memchr(b'\\', &raw[at..]) {
        out.extend_from_slice(&raw[at..at + slash]);
        at += slash;
        let c = match *raw.get(at + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = hex4(at + 2)?;
                at += 4;
                let code = match high {
                    0xd800..=0xdbff => {
                        if raw.get(at + 2..at + 4)? != b"\\u" {
                            return None;
                        }
                        let low = hex4(at + 4)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return None;
                        }
                        at += 6;
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    }
                    _ => high,
                };
                char::from_u32(code)?
            }
            _ => return None,
        };
        at += 2;
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    out.extend_from_slice(&raw[at..]);
    Some(())
}

/// A small deterministic generator of protobuf messages for the tests of
/// both directions: fields in number order, now and then shuffled, a
/// singular field given twice, repeated scalars packed, an unknown field.
#[cfg(test)]
mod test_gen {
    use crate::schema::{FieldKind, MessageId, Schema};

    pub(crate) struct Gen(pub(crate) u64);
    impl Gen {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn field(&mut self, number: u32, kind: FieldKind, depth: usize, out: &mut Vec<u8>) {
            let schema = Schema::get();
            let tag = |wire: u64, out: &mut Vec<u8>| crate::wire::write_varint(u64::from(number) << 3 | wire, out);
            match kind {
                FieldKind::Message(id) => {
                    let body = self.message(id, depth + 1);
                    tag(2, out);
                    crate::wire::write_varint(body.len() as u64, out);
                    out.extend_from_slice(&body);
                }
                FieldKind::String | FieldKind::Bytes => {
                    let pieces = ["a", "/", "\"", "\n", "\u{1}", "é", "0123456789abcdef"];
                    let text: String = (0..self.below(4)).map(|_| pieces[self.below(pieces.len())]).collect();
                    tag(2, out);
                    crate::wire::write_varint(text.len() as u64, out);
                    out.extend_from_slice(text.as_bytes());
                }
                FieldKind::Enum(id) => {
                    let e = schema.enumeration(id);
                    let number = (0..64).find(|&n| e.name_of(n).is_some()).unwrap_or(0);
                    tag(0, out);
                    crate::wire::write_varint(number as u64, out);
                }
                kind => match kind.wire_type() {
                    0 => {
                        tag(0, out);
                        crate::wire::write_varint(self.next() >> self.below(64), out);
                    }
                    1 => {
                        tag(1, out);
                        out.extend_from_slice(&(self.below(100_000) as f64 / 8.0).to_le_bytes());
                    }
                    _ => {
                        tag(5, out);
                        out.extend_from_slice(&(self.next() as u32).to_le_bytes());
                    }
                },
            }
        }
        pub(crate) fn message(&mut self, id: MessageId, depth: usize) -> Vec<u8> {
            let message = Schema::get().message(id);
            let mut pieces = Vec::new();
            let mut fields: Vec<_> = message.fields.iter().collect();
            fields.sort_by_key(|f| f.number);
            for f in fields {
                let nested = matches!(f.kind, FieldKind::Message(_));
                let count = match () {
                    _ if f.map || (nested && depth >= 3 && !f.required) => 0,
                    _ if f.required => 1,
                    _ if f.repeated => self.below(3),
                    _ => self.below(2) + usize::from(self.below(20) == 0),
                };
                if f.repeated && f.kind.packable() && count > 0 && self.below(3) == 0 {
                    let mut body = Vec::new();
                    for _ in 0..count {
                        let mut one = Vec::new();
                        self.field(1, f.kind, depth, &mut one);
                        body.extend_from_slice(&one[1..]);
                    }
                    let mut piece = Vec::new();
                    crate::wire::write_varint(u64::from(f.number) << 3 | 2, &mut piece);
                    crate::wire::write_varint(body.len() as u64, &mut piece);
                    piece.extend_from_slice(&body);
                    pieces.push(piece);
                    continue;
                }
                for _ in 0..count {
                    let mut piece = Vec::new();
                    self.field(f.number, f.kind, depth, &mut piece);
                    pieces.push(piece);
                }
            }
            if self.below(10) == 0 && pieces.len() > 1 {
                let (i, j) = (self.below(pieces.len()), self.below(pieces.len()));
                pieces.swap(i, j);
            }
            if self.below(30) == 0 {
                pieces.push(vec![0xf8, 0x07, 0x01]); // field 127, varint 1: unknown
            }
            pieces.concat()
        }
    }
}
