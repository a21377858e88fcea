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

#[cfg(feature = "views")]
mod checks;
mod packed;
#[cfg(feature = "views")]
pub(crate) use checks::{Checks, Entry, MESSAGE, PLAIN, REQUIRED_ENUM, STRING};
pub(crate) use packed::Keys;

/// Index of a message in the [`Schema`].
///
/// ```
/// use mesos_codec::schema::{MessageId, Schema};
/// let schema = Schema::get();
/// let call: MessageId = schema.message_by_name("mesos.v1.scheduler.Call").unwrap();
/// assert_eq!(schema.message(call).name, "mesos.v1.scheduler.Call");
/// ```
pub type MessageId = u32;
/// Index of an enum in the [`Schema`], as an enum field's [`FieldKind::Enum`] holds it.
///
/// ```
/// use mesos_codec::schema::{EnumId, FieldKind, Schema};
/// let schema = Schema::get();
/// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
/// let FieldKind::Enum(id) = call.field_by_name("type").unwrap().kind else { panic!("`type` is an enum") };
/// let id: EnumId = id;
/// assert_eq!(schema.enumeration(id).name, "mesos.v1.scheduler.Call.Type");
/// ```
pub type EnumId = u32;

/// What a field holds, as the wire and the JSON rules see it.
///
/// ```
/// use mesos_codec::schema::{FieldKind, Schema};
/// let schema = Schema::get();
/// let info = schema.message(schema.message_by_name("mesos.v1.FrameworkInfo").unwrap());
/// assert_eq!(info.field_by_name("user").unwrap().kind, FieldKind::String);
/// assert_eq!(info.field_by_name("failover_timeout").unwrap().kind, FieldKind::Double);
/// assert!(matches!(info.field_by_name("id").unwrap().kind, FieldKind::Message(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `double`.
    Double,
    /// `float`.
    Float,
    /// `int32`.
    Int32,
    /// `int64`.
    Int64,
    /// `uint32`.
    Uint32,
    /// `uint64`.
    Uint64,
    /// `sint32` (zigzag-encoded).
    Sint32,
    /// `sint64` (zigzag-encoded).
    Sint64,
    /// `fixed32`.
    Fixed32,
    /// `fixed64`.
    Fixed64,
    /// `sfixed32`.
    Sfixed32,
    /// `sfixed64`.
    Sfixed64,
    /// `bool`.
    Bool,
    /// `string`.
    String,
    /// `bytes`.
    Bytes,
    /// An enum, by its index in the schema.
    Enum(EnumId),
    /// A message, by its index in the schema.
    Message(MessageId),
}

impl FieldKind {
    /// The protobuf wire type of one (unpacked) value of this kind: 0
    /// (varint), 1 (64-bit), 2 (length-delimited) or 5 (32-bit).
    ///
    /// ```
    /// use mesos_codec::schema::FieldKind;
    /// assert_eq!(FieldKind::Enum(0).wire_type(), 0);
    /// assert_eq!(FieldKind::Double.wire_type(), 1);
    /// assert_eq!(FieldKind::String.wire_type(), 2);
    /// assert_eq!(FieldKind::Fixed32.wire_type(), 5);
    /// ```
    pub fn wire_type(self) -> u8 {
        match self {
            FieldKind::Double | FieldKind::Fixed64 | FieldKind::Sfixed64 => 1,
            FieldKind::Float | FieldKind::Fixed32 | FieldKind::Sfixed32 => 5,
            FieldKind::String | FieldKind::Bytes | FieldKind::Message(_) => 2,
            _ => 0,
        }
    }

    /// Whether values of this kind may be packed: every kind but strings,
    /// bytes and messages (the length-delimited ones).
    ///
    /// ```
    /// use mesos_codec::schema::FieldKind;
    /// assert!(FieldKind::Uint32.packable());
    /// assert!(FieldKind::Enum(0).packable());
    /// assert!(!FieldKind::Bytes.packable());
    /// assert!(!FieldKind::Message(0).packable());
    /// ```
    pub fn packable(self) -> bool {
        self.wire_type() != 2
    }
}

/// An explicit `[default = ...]` of a field, parsed.
///
/// ```
/// use mesos_codec::schema::{DefaultValue, Schema};
/// let schema = Schema::get();
/// let filters = schema.message(schema.message_by_name("mesos.v1.Filters").unwrap());
/// assert_eq!(filters.field_by_name("refuse_seconds").unwrap().default, Some(DefaultValue::Double(5.0)));
/// let info = schema.message(schema.message_by_name("mesos.v1.FrameworkInfo").unwrap());
/// assert_eq!(info.field_by_name("role").unwrap().default, Some(DefaultValue::String("*".into())));
/// assert_eq!(info.field_by_name("user").unwrap().default, None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// A signed integer default (`int32`, `int64`, `sint32`, `sint64`, `sfixed32`, `sfixed64`).
    Int(i64),
    /// An unsigned integer default (`uint32`, `uint64`, `fixed32`, `fixed64`).
    Uint(u64),
    /// A `double` or `float` default (`inf`, `-inf` and `nan` included).
    Double(f64),
    /// A `bool` default.
    Bool(bool),
    /// A `string` default.
    String(String),
    /// A `bytes` default, with its escapes undone.
    Bytes(Vec<u8>),
    /// An enum default, as the value's number.
    Enum(i32),
}

/// One field of a message.
///
/// ```
/// use mesos_codec::schema::{FieldKind, Schema};
/// let schema = Schema::get();
/// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
/// let field = call.field_by_name("framework_id").unwrap();
/// assert_eq!((field.number, field.required, field.repeated), (1, false, false));
/// assert_eq!(field.kind, FieldKind::Message(schema.message_by_name("mesos.v1.FrameworkID").unwrap()));
/// assert_eq!(&field.json_key[..], br#""framework_id":"#);
/// ```
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
    /// The index (within its message) of the `oneof` this field belongs to,
    /// if it does: of the members given, only the last one on the wire is
    /// set, as protobuf's parsers keep it.
    pub oneof: Option<u16>,
    /// A repeated field the master writes even when it is empty (`[]`):
    /// the top-level lists of the operator API answers it writes by hand
    /// (see [`WRITTEN_EMPTY`]).
    pub written_empty: bool,
    /// What the JSON writer writes for this field when it is absent: `[]`
    /// for one [`written_empty`](Self::written_empty), the default's JSON
    /// for one that [`writes_default`](Self::writes_default), else nothing.
    pub(crate) absent_json: Option<Box<[u8]>>,
}

impl Field {
    /// Whether the Mesos JSON writer writes this field's default when it is
    /// unset: an explicit default on a non-deprecated, non-repeated field.
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let filters = schema.message(schema.message_by_name("mesos.v1.Filters").unwrap());
    /// assert!(filters.field_by_name("refuse_seconds").unwrap().writes_default()); // `5.0`
    /// let info = schema.message(schema.message_by_name("mesos.v1.FrameworkInfo").unwrap());
    /// assert!(!info.field_by_name("role").unwrap().writes_default()); // deprecated
    /// assert!(!info.field_by_name("user").unwrap().writes_default()); // no default
    /// ```
    pub fn writes_default(&self) -> bool {
        self.default.is_some() && !self.deprecated && !self.repeated
    }
}

/// The repeated fields a 1.11 master writes even when they are empty.
///
/// The master writes most answers with stout's generic mapping, which
/// leaves empty repeated fields out, but it writes GET_AGENTS,
/// GET_FRAMEWORKS, GET_EXECUTORS and GET_TASKS (alone, inside GET_STATE and
/// in the operator stream's SUBSCRIBED) with hand-made writers
/// (`src/master/readonly_handler.cpp`, `jsonifyGet*`) that open these lists
/// whatever they hold.
pub const WRITTEN_EMPTY: &[(&str, &[&str])] = &[
    ("mesos.v1.master.Response.GetAgents", &["agents", "recovered_agents"]),
    ("mesos.v1.master.Response.GetFrameworks", &["frameworks", "completed_frameworks"]),
    ("mesos.v1.master.Response.GetExecutors", &["executors"]),
    ("mesos.v1.master.Response.GetTasks", &["tasks", "unreachable_tasks", "completed_tasks"]),
];

/// A fast, non-cryptographic hasher for the name tables (the FxHash
/// scheme): field names come from the schema and JSON keys only look them
/// up, so hash flooding cannot grow anything.
///
/// ```
/// use std::collections::HashMap;
/// use mesos_codec::schema::FastHash;
/// let mut numbers: HashMap<&str, u32, FastHash> = HashMap::default();
/// numbers.insert("framework_id", 1);
/// numbers.insert("type", 2);
/// assert_eq!(numbers.get("framework_id"), Some(&1));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// The hasher of [`FastHash`]. It has no random seed: the same name always
/// hashes the same.
///
/// ```
/// use std::hash::{BuildHasher, Hasher};
/// use mesos_codec::schema::FastHash;
/// let (mut a, mut b) = (FastHash.build_hasher(), FastHash.build_hasher());
/// a.write(b"framework_id");
/// b.write(b"framework_id");
/// assert_eq!(a.finish(), b.finish());
/// ```
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
///
/// ```
/// use mesos_codec::schema::Schema;
/// let schema = Schema::get();
/// let id = schema.message(schema.message_by_name("mesos.v1.FrameworkID").unwrap());
/// assert_eq!((id.fields[0].name.as_str(), id.required.as_slice()), ("value", &[0][..]));
/// let filters = schema.message(schema.message_by_name("mesos.v1.Filters").unwrap());
/// assert_eq!(filters.absent_attention, [0]); // `refuse_seconds`, whose default is written
/// assert!(!filters.map_entry);
/// ```
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
    /// are absent: required ones, those whose default the JSON writer
    /// spells out, and those it writes empty.
    pub absent_attention: Vec<u16>,
    /// Whether this is a synthetic map entry (`key` = 1, `value` = 2).
    pub map_entry: bool,
    /// Declaration order differs from number order, the order encoders
    /// write fields in.
    pub reordered: bool,
    /// The keys packed for matching in place (the fast JSON reader's).
    pub(crate) keys: Keys,
    /// The views' checker's entries.
    #[cfg(feature = "views")]
    pub(crate) checks: Checks,
}

impl Message {
    /// The field with this number, and its index in [`fields`](Self::fields).
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// let (index, field) = call.field_by_number(3).unwrap();
    /// assert_eq!((index, field.name.as_str()), (2, "subscribe"));
    /// assert!(call.field_by_number(999).is_none());
    /// ```
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

    /// The index in [`fields`](Self::fields) of the field with this number,
    /// without touching the field itself (pair it with
    /// [`accepts_wire_type`](Self::accepts_wire_type) to check a wire value).
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// assert_eq!(call.field_index_by_number(2), Some(1)); // `type`
    /// assert_eq!(call.field_index_by_number(999), None);
    /// ```
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
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// let kind = call.field_index("type").unwrap();
    /// assert!(call.accepts_wire_type(kind, 0) && !call.accepts_wire_type(kind, 2)); // an enum is a varint
    /// let http = schema.message(schema.message_by_name("mesos.v1.HealthCheck.HTTPCheckInfo").unwrap());
    /// let statuses = http.field_index("statuses").unwrap(); // `repeated uint32`
    /// assert!(http.accepts_wire_type(statuses, 0) && http.accepts_wire_type(statuses, 2));
    /// ```
    #[inline]
    pub fn accepts_wire_type(&self, index: usize, wire_type: u8) -> bool {
        let w = self.wire[index];
        w & 7 == wire_type || (wire_type == 2 && w & 8 != 0)
    }

    /// The field with this name.
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// assert_eq!(call.field_by_name("framework_id").unwrap().number, 1);
    /// assert!(call.field_by_name("frameworkId").is_none()); // `.proto` names only
    /// ```
    #[inline]
    pub fn field_by_name(&self, name: &str) -> Option<&Field> {
        self.by_name.get(name).map(|&i| &self.fields[usize::from(i)])
    }

    /// The index of the field with this name in [`fields`](Self::fields).
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// let index = call.field_index("subscribe").unwrap();
    /// assert_eq!((index, call.fields[index].number), (2, 3));
    /// ```
    #[inline]
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).map(|&i| usize::from(i))
    }
}

/// One enum of the schema.
///
/// ```
/// use mesos_codec::schema::{FieldKind, Schema};
/// let schema = Schema::get();
/// let status = schema.message(schema.message_by_name("mesos.v1.TaskStatus").unwrap());
/// let FieldKind::Enum(id) = status.field_by_name("state").unwrap().kind else { panic!("`state` is an enum") };
/// assert_eq!(schema.enumeration(id).name, "mesos.v1.TaskState");
/// ```
#[derive(Debug)]
pub struct Enum {
    /// The full name, e.g. `mesos.v1.TaskState`.
    pub name: String,
    /// `(number, name)`, sorted by number; the first name of an aliased number.
    by_number: Vec<(i32, String)>,
    /// Every name (aliases too), in declaration order. The one lookup by name of the JSON reader, the
    /// peeks and `number_of`: a scan by the first word for enums of up to
    /// [`SCAN`] values, `by_hash` for larger ones.
    by_name: Vec<NameEntry>,
    /// For enums of more than [`SCAN`] values: index in `by_name` by name.
    by_hash: Option<HashMap<Box<[u8]>, usize, FastHash>>,
    /// The name of each number from 0 as a JSON string (`"TASK_RUNNING"`),
    /// what the JSON writer copies; empty for numbers the enum does not
    /// define. Up to the largest number below [`JSON_NAMES`].
    json_names: Vec<Box<[u8]>>,
}

/// Enums with more values than this are looked up by hashing. A scan over
/// the names' first words is what the JSON reader did with its own table
/// (the codec bench's `json-to-protobuf`: a binary search over sorted
/// names instead measured 9 % slower, issue 17).
const SCAN: usize = 32;

/// A name in an [`Enum`]'s lookup: its first eight bytes as a
/// little-endian word (zeros after a shorter name), its length, the name,
/// its number and the index in `by_number` of its number's first name.
type NameEntry = (u64, usize, Box<[u8]>, i32, usize);

/// The first eight bytes of `name` (zeros after a shorter one) as a
/// little-endian word.
#[inline]
fn head(name: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = name.len().min(8);
    w[..n].copy_from_slice(&name[..n]);
    u64::from_le_bytes(w)
}

/// Numbers from 0 below this have their JSON string ready
/// ([`Enum::json_name`]); others are written from [`Enum::name_of`].
const JSON_NAMES: i32 = 1024;

impl Enum {
    /// The name of the value with this number (for a number with aliases,
    /// the first name declared).
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let status = schema.message(schema.message_by_name("mesos.v1.TaskStatus").unwrap());
    /// let FieldKind::Enum(id) = status.field_by_name("state").unwrap().kind else { panic!() };
    /// let state = schema.enumeration(id);
    /// assert_eq!(state.name_of(1), Some("TASK_RUNNING"));
    /// assert_eq!(state.name_of(99), None);
    /// ```
    #[inline]
    pub fn name_of(&self, number: i32) -> Option<&str> {
        let i = self.by_number.binary_search_by_key(&number, |(n, _)| *n).ok()?;
        Some(&self.by_number[i].1)
    }

    /// The number of the value with this name.
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let status = schema.message(schema.message_by_name("mesos.v1.TaskStatus").unwrap());
    /// let FieldKind::Enum(id) = status.field_by_name("state").unwrap().kind else { panic!() };
    /// let state = schema.enumeration(id);
    /// assert_eq!(state.number_of("TASK_STAGING"), Some(6));
    /// assert_eq!(state.number_of("task_staging"), None); // names are case-sensitive
    /// ```
    #[inline]
    pub fn number_of(&self, name: &str) -> Option<i32> {
        self.number_of_bytes(name.as_bytes())
    }

    /// [`number_of`](Self::number_of) for a name as the input holds it
    /// (no UTF-8 check needed: a name that is not UTF-8 is no value's).
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let status = schema.message(schema.message_by_name("mesos.v1.TaskStatus").unwrap());
    /// let FieldKind::Enum(id) = status.field_by_name("reason").unwrap().kind else { panic!() };
    /// let reason = schema.enumeration(id);
    /// // Longer than 16 bytes: told apart from its neighbours by the whole name.
    /// assert_eq!(reason.number_of_bytes(b"REASON_CONTAINER_LAUNCH_FAILED"), Some(21));
    /// assert_eq!(reason.number_of_bytes(b"REASON_CONTAINER_LAUNCH_FAILEX"), None);
    /// ```
    #[inline]
    pub fn number_of_bytes(&self, name: &[u8]) -> Option<i32> {
        self.entry(name).map(|e| e.3)
    }

    /// The name the value named `name` (an alias maybe) has in protobuf's
    /// eyes: its number's first name, as [`name_of`](Self::name_of) gives it.
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let event = schema.message(schema.message_by_name("mesos.v1.scheduler.Event").unwrap());
    /// let FieldKind::Enum(id) = event.field_by_name("type").unwrap().kind else { panic!() };
    /// assert_eq!(schema.enumeration(id).canonical_name(b"OFFERS"), Some("OFFERS"));
    /// assert_eq!(schema.enumeration(id).canonical_name(b"offers"), None);
    /// ```
    #[inline]
    pub fn canonical_name(&self, name: &[u8]) -> Option<&str> {
        self.entry(name).map(|e| self.by_number[e.4].1.as_str())
    }

    #[inline]
    fn entry(&self, name: &[u8]) -> Option<&NameEntry> {
        if let Some(by_hash) = &self.by_hash {
            return by_hash.get(name).map(|&i| &self.by_name[i]);
        }
        let h = head(name);
        self.by_name.iter().find(|(vh, len, n, _, _)| *vh == h && *len == name.len() && **n == *name)
    }

    /// The name of the value with this number as a JSON string, quotes
    /// included, ready to copy (for numbers from 0 below 1024).
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let status = schema.message(schema.message_by_name("mesos.v1.TaskStatus").unwrap());
    /// let FieldKind::Enum(id) = status.field_by_name("state").unwrap().kind else { panic!() };
    /// assert_eq!(schema.enumeration(id).json_name(1), Some(&b"\"TASK_RUNNING\""[..]));
    /// assert_eq!(schema.enumeration(id).json_name(99), None);
    /// ```
    #[inline]
    pub fn json_name(&self, number: i32) -> Option<&[u8]> {
        let json = self.json_names.get(usize::try_from(number).ok()?)?;
        (!json.is_empty()).then_some(json)
    }
}

/// Every message and enum of the v1 schema, as flat tables.
///
/// ```
/// use mesos_codec::schema::Schema;
/// let schema = Schema::get();
/// let event = schema.message_by_name("mesos.v1.scheduler.Event").unwrap();
/// assert_eq!(schema.message(event).fields[0].name, "type");
/// ```
#[derive(Debug)]
pub struct Schema {
    messages: Vec<Message>,
    enums: Vec<Enum>,
    message_ids: HashMap<String, MessageId>,
}

impl Schema {
    /// Checks that `data`, message `id`, is framed on its own: every field
    /// whole, and (recursively, up to 100 levels) every field that holds a
    /// message too. Protobuf's parsers read each occurrence of a message
    /// field on its own and merge the results, so one occurrence whose last
    /// field is completed by the next occurrence's bytes is refused, where
    /// parsing the occurrences concatenated would accept it. The offset and
    /// reason of the first fault.
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let id = schema.message_by_name("mesos.v1.FrameworkID").unwrap();
    /// assert!(schema.check_framing(id, b"\x0a\x01a").is_ok());
    /// assert!(schema.check_framing(id, b"\x0a\x05a").is_err()); // 5 bytes announced, 1 there
    /// ```
    pub fn check_framing(&self, id: MessageId, data: &[u8]) -> Result<(), (usize, crate::json::ProtobufErrorKind)> {
        self.framing_at(id, data, 0, 0)
    }

    fn framing_at(
        &self,
        id: MessageId,
        data: &[u8],
        base: usize,
        depth: usize,
    ) -> Result<(), (usize, crate::json::ProtobufErrorKind)> {
        if depth >= 100 {
            return Err((base, crate::json::ProtobufErrorKind::TooDeep));
        }
        let message = self.message(id);
        let mut at = 0;
        while at < data.len() {
            let (number, value, next) = crate::wire::read_field(data, at).map_err(|kind| (base + at, kind))?;
            if let (Some((_, field)), crate::wire::WireValue::Len(start, end)) =
                (message.field_by_number(number), value)
                && let FieldKind::Message(inner) = field.kind
            {
                self.framing_at(inner, &data[start..end], base + start, depth + 1)?;
            }
            at = next;
        }
        Ok(())
    }

    /// The schema, built on first use from [`crate::v1::descriptor_pool`].
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// // Built once: every call returns the same tables.
    /// assert!(std::ptr::eq(Schema::get(), Schema::get()));
    /// assert!(Schema::get().message_by_name("mesos.v1.scheduler.Call").is_some());
    /// ```
    pub fn get() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::build(crate::v1::descriptor_pool()))
    }

    /// A message by index.
    ///
    /// # Panics
    ///
    /// When `id` is not an index of this schema: use ids from
    /// [`message_by_name`](Self::message_by_name) or a [`FieldKind::Message`].
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// assert_eq!(call.name, "mesos.v1.scheduler.Call");
    /// let FieldKind::Message(id) = call.field_by_name("subscribe").unwrap().kind else { panic!() };
    /// assert_eq!(schema.message(id).name, "mesos.v1.scheduler.Call.Subscribe");
    /// ```
    #[inline]
    pub fn message(&self, id: MessageId) -> &Message {
        &self.messages[id as usize]
    }

    /// An enum by index.
    ///
    /// # Panics
    ///
    /// When `id` is not an index of this schema: use the ids of
    /// [`FieldKind::Enum`].
    ///
    /// ```
    /// use mesos_codec::schema::{FieldKind, Schema};
    /// let schema = Schema::get();
    /// let call = schema.message(schema.message_by_name("mesos.v1.scheduler.Call").unwrap());
    /// let FieldKind::Enum(id) = call.field_by_name("type").unwrap().kind else { panic!() };
    /// assert_eq!(schema.enumeration(id).name_of(1), Some("SUBSCRIBE"));
    /// ```
    #[inline]
    pub fn enumeration(&self, id: EnumId) -> &Enum {
        &self.enums[id as usize]
    }

    /// A message's index by its full name (`mesos.v1.scheduler.Event`).
    /// Names relative to `mesos.v1` are not found here; see
    /// [`crate::json::message_type`] for those.
    ///
    /// ```
    /// use mesos_codec::schema::Schema;
    /// let schema = Schema::get();
    /// let event = schema.message_by_name("mesos.v1.scheduler.Event").unwrap();
    /// assert_eq!(schema.message(event).name, "mesos.v1.scheduler.Event");
    /// assert_eq!(schema.message_by_name("scheduler.Event"), None);
    /// ```
    pub fn message_by_name(&self, name: &str) -> Option<MessageId> {
        self.message_ids.get(name).copied()
    }

    /// Every message's full name, sorted.
    ///
    /// ```
    /// let names = mesos_codec::schema::Schema::get().message_names();
    /// assert!(names.is_sorted());
    /// assert!(names.contains(&"mesos.v1.scheduler.Call"));
    /// assert!(names.contains(&"mesos.v1.FrameworkID"));
    /// ```
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
                let by_name: Vec<NameEntry> = e
                    .values()
                    .filter_map(|v| {
                        let name = v.name().as_bytes();
                        let canonical = by_number.binary_search_by_key(&v.number(), |(n, _)| *n).ok()?;
                        Some((head(name), name.len(), name.into(), v.number(), canonical))
                    })
                    .collect();
                let by_hash = (by_name.len() > SCAN)
                    .then(|| by_name.iter().enumerate().map(|(i, entry)| (entry.2.clone(), i)).collect());
                let mut json_names: Vec<Box<[u8]>> = Vec::new();
                for (number, name) in by_number.iter().filter(|(n, _)| (0..JSON_NAMES).contains(n)) {
                    let at = *number as usize;
                    if json_names.len() <= at {
                        json_names.resize(at + 1, Box::default());
                    }
                    // Value names are identifiers: nothing in them to escape.
                    json_names[at] = format!("\"{name}\"").into_bytes().into_boxed_slice();
                }
                Enum { name: e.full_name().to_owned(), by_number, by_name, by_hash, json_names }
            })
            .collect();

        let messages = descriptors
            .iter()
            .map(|m| {
                // prost-reflect lists fields by number; Mesos writes them in
                // the order the `.proto` file declares them, which the
                // descriptor's own list keeps.
                let fields: Vec<Field> = m
                    .descriptor_proto()
                    .field
                    .iter()
                    .filter_map(|proto| m.get_field(u32::try_from(proto.number()).ok()?))
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
                            absent_json: None,
                            oneof: f
                                .containing_oneof()
                                .filter(|o| !o.is_synthetic())
                                .and_then(|o| m.oneofs().position(|x| x == o))
                                .map(|i| i as u16),
                            written_empty: WRITTEN_EMPTY
                                .iter()
                                .any(|(message, fields)| *message == m.full_name() && fields.contains(&f.name())),
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
                let required: Vec<u16> =
                    fields.iter().enumerate().filter(|(_, f)| f.required).map(|(i, _)| i as u16).collect();
                Message {
                    dense,
                    wire,
                    name: m.full_name().to_owned(),
                    by_name: fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i as u16)).collect(),
                    keys: Keys::build(&fields, &required),
                    required,
                    absent_attention: fields
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| f.required || f.writes_default() || f.written_empty)
                        .map(|(i, _)| i as u16)
                        .collect(),
                    reordered: !fields.is_sorted_by_key(|f| f.number),
                    fields,
                    by_number,
                    map_entry: m.is_map_entry(),
                    #[cfg(feature = "views")]
                    checks: Checks::default(),
                }
            })
            .collect();
        let mut schema = Schema { messages, enums, message_ids };
        // What needs the other messages and the enums.
        for id in 0..schema.messages.len() {
            let message = &schema.messages[id];
            #[cfg(feature = "views")]
            let checks = Checks::build(message, &schema.messages, &schema.enums);
            let absent: Vec<Option<Box<[u8]>>> = message
                .fields
                .iter()
                .map(|field| {
                    if field.written_empty {
                        return Some(Box::from(&b"[]"[..]));
                    }
                    let default = field.default.as_ref().filter(|_| field.writes_default())?;
                    let mut json = Vec::new();
                    crate::json::write_default(&schema, field.kind, default, &mut json);
                    Some(json.into_boxed_slice())
                })
                .collect();
            let message = &mut schema.messages[id];
            #[cfg(feature = "views")]
            {
                message.checks = checks;
            }
            for (field, absent) in message.fields.iter_mut().zip(absent) {
                field.absent_json = absent;
            }
        }
        schema
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

/// An unknown message type name: the name as given.
///
/// ```
/// use mesos_codec::json::{message_type, UnknownType};
/// let err = message_type("scheduler.Cal").unwrap_err();
/// assert_eq!(err, UnknownType("scheduler.Cal".into()));
/// assert!(err.to_string().starts_with("unknown message type `scheduler.Cal`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown message type `{0}` (try `scheduler.Call`, `scheduler.Event` or a full name such as `mesos.v1.TaskInfo`)"
)]
pub struct UnknownType(pub String);

/// Finds a message type by name: a full name (`mesos.v1.TaskInfo`) or one
/// relative to `mesos.v1` (`scheduler.Call`, `TaskInfo`).
///
/// ```
/// let id = mesos_codec::json::message_type("scheduler.Event").unwrap();
/// assert_eq!(mesos_codec::schema::Schema::get().message(id).name, "mesos.v1.scheduler.Event");
/// ```
pub fn message_type(name: &str) -> Result<MessageId, UnknownType> {
    let schema = Schema::get();
    schema
        .message_by_name(name)
        .or_else(|| schema.message_by_name(&format!("mesos.v1.{name}")))
        .ok_or_else(|| UnknownType(name.to_owned()))
}
