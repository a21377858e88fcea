//! Compact schema tables for the JSON and peek engines.
//!
//! Built once from [`crate::v1::descriptor_pool`]: every message of the v1
//! schema as a flat table of fields (declaration order, lookups by number
//! and by name), with what the Mesos JSON rules need to know of each field:
//! its kind, its label, whether it is packed or a map, its explicit default
//! and whether it is deprecated. The engines index these tables by plain
//! integers, so walking a message costs no reference counting and no hashing
//! by number.
//!
//! ```
//! let schema = mesos_codec::schema::Schema::get();
//! let call = schema.message_by_name("mesos.v1.scheduler.Call").unwrap();
//! let subscribe = schema.message(call).field_by_name("subscribe").unwrap();
//! assert_eq!(subscribe.number, 3);
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;

use prost_reflect::{Cardinality, Kind, MessageDescriptor};

/// Index of a message in the [`Schema`].
pub type MessageId = u32;
/// Index of an enum in the [`Schema`].
pub type EnumId = u32;

/// What a field holds, as the wire and the JSON rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum FieldKind {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    /// An enum, by its index in the schema.
    Enum(EnumId),
    /// A message, by its index in the schema.
    Message(MessageId),
}

impl FieldKind {
    /// The protobuf wire type of one (unpacked) value of this kind.
    pub fn wire_type(self) -> u8 {
        match self {
            FieldKind::Double | FieldKind::Fixed64 | FieldKind::Sfixed64 => 1,
            FieldKind::Float | FieldKind::Fixed32 | FieldKind::Sfixed32 => 5,
            FieldKind::String | FieldKind::Bytes | FieldKind::Message(_) => 2,
            _ => 0,
        }
    }

    /// Whether values of this kind may be packed (scalars other than strings).
    pub fn packable(self) -> bool {
        self.wire_type() != 2
    }
}

/// An explicit `[default = ...]` of a field, parsed.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum DefaultValue {
    Int(i64),
    Uint(u64),
    Double(f64),
    Bool(bool),
    String(String),
    Bytes(Vec<u8>),
    /// An enum default, as the value's number.
    Enum(i32),
}

/// One field of a message.
#[derive(Debug, Clone)]
pub struct Field {
    /// The `.proto` name, which is also the JSON key.
    pub name: String,
    /// The field number.
    pub number: u32,
    /// What it holds.
    pub kind: FieldKind,
    /// `repeated` (maps included).
    pub repeated: bool,
    /// `required` (proto2).
    pub required: bool,
    /// Written packed when encoding.
    pub packed: bool,
    /// A `map<K, V>` field (its kind is the entry message).
    pub map: bool,
    /// The explicit default, if the field has one.
    pub default: Option<DefaultValue>,
    /// Marked `[deprecated = true]`.
    pub deprecated: bool,
    /// The JSON key as written: `"name":`.
    pub json_key: Box<[u8]>,
}

impl Field {
    /// Whether the Mesos JSON writer writes this field's default when it is
    /// unset: an explicit default on a non-deprecated, non-repeated field.
    pub fn writes_default(&self) -> bool {
        self.default.is_some() && !self.deprecated && !self.repeated
    }
}

/// A fast, non-cryptographic hasher for the name tables (the FxHash
/// scheme): field names come from the schema and JSON keys only look them
/// up, so hash flooding cannot grow anything.
#[derive(Default, Clone, Copy, Debug)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// The hasher of [`FastHash`].
#[derive(Debug)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Field numbers below this are looked up in a dense table.
const DENSE_NUMBERS: usize = 64;

/// One message of the schema.
#[derive(Debug)]
pub struct Message {
    /// The full name, e.g. `mesos.v1.scheduler.Call`.
    pub name: String,
    /// Fields in declaration order.
    pub fields: Vec<Field>,
    /// Field index by number, sorted by number.
    by_number: Vec<(u32, u16)>,
    /// Field index + 1 by number, for numbers below [`DENSE_NUMBERS`]; 0 = none.
    dense: [u16; DENSE_NUMBERS],
    /// Per field (declaration order): its value's wire type, and bit 3 set
    /// when a length-delimited (packed) run is also accepted.
    wire: Vec<u8>,
    by_name: HashMap<String, u16, FastHash>,
    /// Indexes of the required fields.
    pub required: Vec<u16>,
    /// Indexes (in declaration order) of the fields that matter when they
    /// are absent: required ones, and those whose default the JSON writer
    /// spells out.
    pub absent_attention: Vec<u16>,
    /// Whether this is a synthetic map entry (`key` = 1, `value` = 2).
    pub map_entry: bool,
}

impl Message {
    /// The field with this number, and its index in [`fields`](Self::fields).
    #[inline]
    pub fn field_by_number(&self, number: u32) -> Option<(usize, &Field)> {
        if let Some(&slot) = self.dense.get(number as usize) {
            let index = usize::from(slot.checked_sub(1)?);
            return Some((index, &self.fields[index]));
        }
        let i = self.by_number.binary_search_by_key(&number, |&(n, _)| n).ok()?;
        let index = usize::from(self.by_number[i].1);
        Some((index, &self.fields[index]))
    }

    /// The index of the field with this number and the wire types it
    /// accepts (see [`accepts_wire_type`](Self::accepts_wire_type)), without
    /// touching the field itself.
    #[inline]
    pub fn field_index_by_number(&self, number: u32) -> Option<usize> {
        if let Some(&slot) = self.dense.get(number as usize) {
            return usize::from(slot).checked_sub(1);
        }
        let i = self.by_number.binary_search_by_key(&number, |&(n, _)| n).ok()?;
        Some(usize::from(self.by_number[i].1))
    }

    /// Whether the field at `index` may be encoded with `wire_type`: its
    /// type's own, or a packed run for repeated scalars.
    #[inline]
    pub fn accepts_wire_type(&self, index: usize, wire_type: u8) -> bool {
        let w = self.wire[index];
        w & 7 == wire_type || (wire_type == 2 && w & 8 != 0)
    }

    /// The field with this name.
    #[inline]
    pub fn field_by_name(&self, name: &str) -> Option<&Field> {
        self.by_name.get(name).map(|&i| &self.fields[usize::from(i)])
    }

    /// The index of the field with this name.
    #[inline]
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).map(|&i| usize::from(i))
    }
}

/// One enum of the schema.
#[derive(Debug)]
pub struct Enum {
    /// The full name, e.g. `mesos.v1.TaskState`.
    pub name: String,
    /// `(number, name)`, sorted by number; the first name of an aliased number.
    by_number: Vec<(i32, String)>,
    by_name: HashMap<String, i32, FastHash>,
}

impl Enum {
    /// The name of the value with this number.
    #[inline]
    pub fn name_of(&self, number: i32) -> Option<&str> {
        let i = self.by_number.binary_search_by_key(&number, |(n, _)| *n).ok()?;
        Some(&self.by_number[i].1)
    }

    /// The number of the value with this name.
    #[inline]
    pub fn number_of(&self, name: &str) -> Option<i32> {
        self.by_name.get(name).copied()
    }
}

/// Every message and enum of the v1 schema, as flat tables.
#[derive(Debug)]
pub struct Schema {
    messages: Vec<Message>,
    enums: Vec<Enum>,
    message_ids: HashMap<String, MessageId>,
}

impl Schema {
    /// The schema, built on first use from [`crate::v1::descriptor_pool`].
    pub fn get() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::build(crate::v1::descriptor_pool()))
    }

    /// A message by index.
    #[inline]
    pub fn message(&self, id: MessageId) -> &Message {
        &self.messages[id as usize]
    }

    /// An enum by index.
    #[inline]
    pub fn enumeration(&self, id: EnumId) -> &Enum {
        &self.enums[id as usize]
    }

    /// A message's index by its full name (`mesos.v1.scheduler.Event`).
    pub fn message_by_name(&self, name: &str) -> Option<MessageId> {
        self.message_ids.get(name).copied()
    }

    /// Every message's full name, sorted.
    pub fn message_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.messages.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        names
    }

    fn build(pool: &prost_reflect::DescriptorPool) -> Schema {
        let descriptors: Vec<MessageDescriptor> = pool.all_messages().collect();
        let message_ids: HashMap<String, MessageId> =
            descriptors.iter().enumerate().map(|(i, m)| (m.full_name().to_owned(), i as MessageId)).collect();
        let enum_descriptors: Vec<prost_reflect::EnumDescriptor> = pool.all_enums().collect();
        let enum_ids: HashMap<String, EnumId> =
            enum_descriptors.iter().enumerate().map(|(i, e)| (e.full_name().to_owned(), i as EnumId)).collect();

        let enums = enum_descriptors
            .iter()
            .map(|e| {
                let mut by_number: Vec<(i32, String)> = Vec::new();
                for v in e.values() {
                    if !by_number.iter().any(|(n, _)| *n == v.number()) {
                        by_number.push((v.number(), v.name().to_owned()));
                    }
                }
                by_number.sort_by_key(|(n, _)| *n);
                Enum {
                    name: e.full_name().to_owned(),
                    by_number,
                    by_name: e.values().map(|v| (v.name().to_owned(), v.number())).collect(),
                }
            })
            .collect();

        let messages = descriptors
            .iter()
            .map(|m| {
                let fields: Vec<Field> = m
                    .fields()
                    .map(|f| {
                        let kind = match f.kind() {
                            Kind::Double => FieldKind::Double,
                            Kind::Float => FieldKind::Float,
                            Kind::Int32 => FieldKind::Int32,
                            Kind::Int64 => FieldKind::Int64,
                            Kind::Uint32 => FieldKind::Uint32,
                            Kind::Uint64 => FieldKind::Uint64,
                            Kind::Sint32 => FieldKind::Sint32,
                            Kind::Sint64 => FieldKind::Sint64,
                            Kind::Fixed32 => FieldKind::Fixed32,
                            Kind::Fixed64 => FieldKind::Fixed64,
                            Kind::Sfixed32 => FieldKind::Sfixed32,
                            Kind::Sfixed64 => FieldKind::Sfixed64,
                            Kind::Bool => FieldKind::Bool,
                            Kind::String => FieldKind::String,
                            Kind::Bytes => FieldKind::Bytes,
                            Kind::Message(d) => FieldKind::Message(message_ids[d.full_name()]),
                            Kind::Enum(d) => FieldKind::Enum(enum_ids[d.full_name()]),
                        };
                        let proto = f.field_descriptor_proto();
                        let default = proto.default_value.as_deref().and_then(|text| parse_default(kind, text, &f));
                        Field {
                            name: f.name().to_owned(),
                            number: f.number(),
                            kind,
                            repeated: f.cardinality() == Cardinality::Repeated,
                            required: f.cardinality() == Cardinality::Required,
                            packed: f.is_packed(),
                            map: f.is_map(),
                            default,
                            deprecated: proto.options.as_ref().and_then(|o| o.deprecated).unwrap_or(false),
                            json_key: format!("\"{}\":", f.name()).into_bytes().into_boxed_slice(),
                        }
                    })
                    .collect();
                let mut by_number: Vec<(u32, u16)> =
                    fields.iter().enumerate().map(|(i, f)| (f.number, i as u16)).collect();
                by_number.sort_unstable();
                let mut dense = [0u16; DENSE_NUMBERS];
                for &(number, index) in &by_number {
                    if let Some(slot) = dense.get_mut(number as usize) {
                        *slot = index + 1;
                    }
                }
                let wire = fields
                    .iter()
                    .map(|f| f.kind.wire_type() | if f.repeated && f.kind.packable() { 8 } else { 0 })
                    .collect();
                Message {
                    dense,
                    wire,
                    name: m.full_name().to_owned(),
                    by_name: fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i as u16)).collect(),
                    required: fields.iter().enumerate().filter(|(_, f)| f.required).map(|(i, _)| i as u16).collect(),
                    absent_attention: fields
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.required || f.writes_default())
                        .map(|(i, _)| i as u16)
                        .collect(),
                    fields,
                    by_number,
                    map_entry: m.is_map_entry(),
                }
            })
            .collect();
        Schema { messages, enums, message_ids }
    }
}

fn parse_default(kind: FieldKind, text: &str, field: &prost_reflect::FieldDescriptor) -> Option<DefaultValue> {
    Some(match kind {
        FieldKind::Double | FieldKind::Float => DefaultValue::Double(match text {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            _ => text.parse().ok()?,
        }),
        FieldKind::Int32 | FieldKind::Int64 | FieldKind::Sint32 | FieldKind::Sint64 => {
            DefaultValue::Int(text.parse().ok()?)
        }
        FieldKind::Sfixed32 | FieldKind::Sfixed64 => DefaultValue::Int(text.parse().ok()?),
        FieldKind::Uint32 | FieldKind::Uint64 | FieldKind::Fixed32 | FieldKind::Fixed64 => {
            DefaultValue::Uint(text.parse().ok()?)
        }
        FieldKind::Bool => DefaultValue::Bool(text == "true"),
        FieldKind::String => DefaultValue::String(text.to_owned()),
        FieldKind::Bytes => match field.default_value() {
            prost_reflect::Value::Bytes(b) => DefaultValue::Bytes(b.to_vec()),
            _ => DefaultValue::Bytes(text.as_bytes().to_vec()),
        },
        FieldKind::Enum(_) => match field.default_value() {
            prost_reflect::Value::EnumNumber(n) => DefaultValue::Enum(n),
            _ => return None,
        },
        FieldKind::Message(_) => return None,
    })
}
