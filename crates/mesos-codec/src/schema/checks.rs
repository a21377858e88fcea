//! What the views' checker (`view.rs`) reads of the schema, packed for its
//! hot loop and built with the rest of the schema (see `packed.rs`).

use super::{Enum, Field, FieldKind, Message};

/// What the views' checker (`view.rs`) needs of a message type, compact:
/// the schema's field tables are larger than its hot loop wants to touch.
#[derive(Debug)]
pub(crate) struct Checks {
    /// Bit `i`: field `i` (declaration order) is required, or (the value
    /// of a map entry) refused when absent.
    pub(crate) required: u64,
    /// Bit `i`: field `i` is not repeated (given twice, it needs rewriting
    /// for views: the last value kept, message values merged).
    pub(crate) singular: u64,
    /// Field index → [`Entry`] bits.
    by_index: Vec<u32>,
    /// Field index → the other members of its oneof (bits by index).
    pub(crate) oneof_siblings: Vec<u64>,
    /// Field index → the numbers 0 to 127 its enum defines, for enums (0
    /// for other fields).
    pub(crate) known_numbers: Vec<u128>,
    /// One-byte field key (field numbers 1 to 15, with the wire type) →
    /// [`Entry`] bits of a field whose values the hot loop checks itself
    /// (0: the general path decides).
    pub(crate) by_key: Box<[u32; 128]>,
}

/// A field's entry in [`Checks`]: bits 0-5 its index, bit 6 set, bits 8-10
/// the wire type of its values, bit 11 set when a packed run is accepted
/// too, bits 12-13 its class, bits 16-31 the message or enum it holds.
#[derive(Clone, Copy)]
pub(crate) struct Entry(pub(crate) u32);

/// Classes of fields: what the checker does with a value.
pub(crate) const PLAIN: u32 = 0;
pub(crate) const STRING: u32 = 1;
pub(crate) const MESSAGE: u32 = 2;
pub(crate) const REQUIRED_ENUM: u32 = 3;

impl Entry {
    fn new(index: usize, field: &Field, packable: bool) -> Entry {
        let (class, target) = match field.kind {
            FieldKind::String => (STRING, 0),
            FieldKind::Message(id) => (MESSAGE, id),
            FieldKind::Enum(id) if field.required => (REQUIRED_ENUM, id),
            _ => (PLAIN, 0),
        };
        let wire = u32::from(field.kind.wire_type());
        Entry((index as u32 & 63) | 64 | wire << 8 | u32::from(packable) << 11 | class << 12 | target << 16)
    }
    #[inline(always)]
    pub(crate) fn index(self) -> usize {
        (self.0 & 63) as usize
    }
    #[inline(always)]
    pub(crate) fn accepts(self, wire_type: u8) -> bool {
        let wire_type = u32::from(wire_type);
        (self.0 >> 8) & 7 == wire_type || (wire_type == 2 && self.0 & (1 << 11) != 0)
    }
    #[inline(always)]
    pub(crate) fn wire_type(self) -> u8 {
        ((self.0 >> 8) & 7) as u8
    }
    #[inline(always)]
    pub(crate) fn class(self) -> u32 {
        (self.0 >> 12) & 3
    }
    #[inline(always)]
    pub(crate) fn target(self) -> u32 {
        self.0 >> 16
    }
}

impl Default for Checks {
    fn default() -> Checks {
        Checks {
            required: 0,
            singular: 0,
            by_index: Vec::new(),
            oneof_siblings: Vec::new(),
            known_numbers: Vec::new(),
            by_key: Box::new([0; 128]),
        }
    }
}

impl Checks {
    /// The checks of `message`, whose field kinds name `messages` and
    /// `enums` (the schema's, built before).
    pub(super) fn build(message: &Message, messages: &[Message], enums: &[Enum]) -> Checks {
        let mut checks = Checks {
            required: 0,
            singular: 0,
            by_index: Vec::with_capacity(message.fields.len()),
            oneof_siblings: vec![0; message.fields.len()],
            known_numbers: vec![0; message.fields.len()],
            by_key: Box::new([0; 128]),
        };
        for (i, field) in message.fields.iter().enumerate() {
            // No message of the schema has more fields (at most 55); a test
            // holds it so.
            assert!(i < 64, "{} has over 64 fields", message.name);
            let bit = 1u64 << i;
            // A map entry without its value holds the value type's empty
            // message: one with required fields of its own is refused, as
            // protobuf's parser (and the JSON writer) refuse it (fuzzing
            // found the view accepting it).
            let empty_value_refused = message.map_entry
                && field.number == 2
                && matches!(field.kind, FieldKind::Message(id) if !messages[id as usize].required.is_empty());
            if field.required || empty_value_refused {
                checks.required |= bit;
            }
            if !field.repeated {
                checks.singular |= bit;
            }
            if let Some(oneof) = field.oneof {
                checks.oneof_siblings[i] = message
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|&(j, f)| j != i && f.oneof == Some(oneof))
                    .fold(0, |mask, (j, _)| mask | 1 << (j & 63));
            }
            let entry = Entry::new(i, field, message.accepts_wire_type(i, 2) && field.kind.wire_type() != 2);
            checks.by_index.push(entry.0);
            if let FieldKind::Enum(e) = field.kind {
                let enumeration = &enums[e as usize];
                checks.known_numbers[i] =
                    (0..128).filter(|&n| enumeration.name_of(n).is_some()).fold(0, |m, n| m | 1 << n);
            }
            // The hot loop's keys: the field's own wire type.
            if field.number < 16 {
                checks.by_key[(field.number << 3 | u32::from(entry.wire_type())) as usize] = entry.0;
            }
        }
        checks
    }

    /// The entry of the field with this number of `message` (whose checks
    /// these are).
    #[inline(always)]
    pub(crate) fn entry(&self, message: &Message, number: u32) -> Option<Entry> {
        message.field_index_by_number(number).and_then(|i| self.by_index.get(i)).map(|&e| Entry(e))
    }
}
