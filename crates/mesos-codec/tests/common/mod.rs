//! Shared by the protobuf and JSON tests: a generator of random protobuf
//! messages of any type of the schema, and rapidjson itself as the
//! reference for a master's numbers and strings.

#![allow(dead_code)]

pub mod rapidjson;

use mesos_codec::schema::{FieldKind, MessageId, Schema};
use mesos_codec::wire::write_varint;

/// A small deterministic generator (xorshift), seeded by proptest.
pub struct Gen {
    state: u64,
    /// Whether map fields get entries (random keys, which may repeat).
    pub maps: bool,
}

impl Gen {
    /// A generator seeded with `seed` (not 0), without map entries.
    pub fn new(seed: u64) -> Gen {
        Gen { state: seed.max(1), maps: false }
    }

    pub fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A finite double: short decimals (resources), times with all their
    /// digits, or any bit pattern.
    pub fn double(&mut self) -> f64 {
        match self.below(3) {
            0 => {
                let mantissa = self.below(2_000_000_000) as f64 - 1_000_000_000.0;
                mantissa / 10f64.powi(self.below(7) as i32)
            }
            1 => 1.7e9 + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 1e8,
            _ => loop {
                let v = f64::from_bits(self.next());
                if v.is_finite() {
                    break v;
                }
            },
        }
    }

    pub fn string(&mut self) -> Vec<u8> {
        const PIECES: [&str; 14] =
            ["a", "Z", "/", "\"", "\\", "\n", "\u{1}", "é", "任务", " ", "\u{7f}", "\u{1f}", "\u{8}", "😀"];
        (0..self.below(6)).flat_map(|_| PIECES[self.below(14) as usize].bytes().collect::<Vec<_>>()).collect()
    }

    /// Protobuf bytes of a random message of type `id`, fields in number order.
    pub fn message(&mut self, id: MessageId, depth: usize) -> Vec<u8> {
        let schema = Schema::get();
        let message = schema.message(id);
        let mut fields: Vec<_> = message.fields.iter().collect();
        fields.sort_by_key(|f| f.number);
        let mut out = Vec::new();
        for field in fields {
            let nested = matches!(field.kind, FieldKind::Message(_));
            // A map entry's message value is there as surely as a required
            // field when its type has required fields (an entry without it
            // holds an empty value, which protobuf's parser refuses).
            let needed = message.map_entry
                && field.number == 2
                && matches!(field.kind, FieldKind::Message(v) if !schema.message(v).required.is_empty());
            let count = if field.required || needed {
                1
            } else if (field.map && !self.maps) || (nested && depth >= 4) {
                // Map keys must be unique for JSON (covered by golden tests);
                // optional nesting stops at depth 4.
                0
            } else if field.repeated {
                self.below(3) as usize
            } else {
                usize::from(self.chance(50))
            };
            for _ in 0..count {
                self.value(field.number, field.kind, depth, &mut out);
            }
        }
        out
    }

    pub fn value(&mut self, number: u32, kind: FieldKind, depth: usize, out: &mut Vec<u8>) {
        let tag = |wire: u64, out: &mut Vec<u8>| write_varint(u64::from(number) << 3 | wire, out);
        match kind {
            FieldKind::Double => {
                tag(1, out);
                out.extend_from_slice(&self.double().to_le_bytes());
            }
            FieldKind::Float => {
                tag(5, out);
                out.extend_from_slice(&(self.double() as f32).to_le_bytes());
            }
            FieldKind::Int32
            | FieldKind::Int64
            | FieldKind::Uint64
            | FieldKind::Uint32
            | FieldKind::Sint32
            | FieldKind::Sint64
            | FieldKind::Bool => {
                tag(0, out);
                let v = match kind {
                    FieldKind::Int32 => (self.next() as i32) as i64 as u64,
                    FieldKind::Uint32 => u64::from(self.next() as u32),
                    FieldKind::Sint32 => u64::from(self.next() as u32),
                    FieldKind::Bool => self.below(2),
                    _ => self.next() >> self.below(64),
                };
                write_varint(v, out);
            }
            FieldKind::Fixed32 | FieldKind::Sfixed32 => {
                tag(5, out);
                out.extend_from_slice(&(self.next() as u32).to_le_bytes());
            }
            FieldKind::Fixed64 | FieldKind::Sfixed64 => {
                tag(1, out);
                out.extend_from_slice(&self.next().to_le_bytes());
            }
            FieldKind::Enum(id) => {
                let descriptor = mesos_codec::v1::descriptor_pool()
                    .all_enums()
                    .find(|e| e.full_name() == Schema::get().enumeration(id).name)
                    .unwrap();
                let values: Vec<i32> = descriptor.values().map(|v| v.number()).collect();
                tag(0, out);
                write_varint(values[self.below(values.len() as u64) as usize] as i64 as u64, out);
            }
            FieldKind::String | FieldKind::Bytes => {
                let bytes = if kind == FieldKind::String {
                    self.string()
                } else {
                    (0..self.below(20)).map(|_| self.next() as u8).collect()
                };
                tag(2, out);
                write_varint(bytes.len() as u64, out);
                out.extend_from_slice(&bytes);
            }
            FieldKind::Message(id) => {
                let body = self.message(id, depth + 1);
                tag(2, out);
                write_varint(body.len() as u64, out);
                out.extend_from_slice(&body);
            }
        }
    }
}
