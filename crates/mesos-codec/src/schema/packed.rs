//! The engines' packings of the schema: what each hot loop reads of a
//! message's fields, laid out for it and built once with the rest of the
//! schema (`Schema::build`), so that a schema fact has one home however
//! many engines read it.
//!
//! - [`Keys`]: JSON keys packed in words for matching them in place, and
//!   required fields as bits (the fast JSON reader, `json/read.rs`);
//! - `Checks` (in `checks.rs`, with the views): 32-bit field entries by
//!   one-byte wire key, required, singular and oneof bits, the low numbers
//!   of enums (the views' checker, `view.rs`).
//!
//! (What the JSON writer writes for an absent field is the schema's too,
//! `Field::absent_json`; its hot loop keeps a compact copy of the fields it
//! reads beside itself, for the reason measured in `json/write.rs`.)

use super::{Field, Message, head};

/// A message's JSON keys packed for matching them in place in a document,
/// and its required fields as bits: the fast JSON reader's lookup
/// (`json/read.rs`), built with the rest of the schema.
#[derive(Debug)]
pub(crate) struct Keys {
    /// Per field (declaration order): the name's first eight bytes (zeros
    /// after a shorter name), as a little-endian word, and its length.
    heads: Vec<(u64, usize)>,
    /// Per field: its JSON key with the colon (`"name":`), as two
    /// little-endian words (zeros after a shorter key), and its length.
    words: Vec<(u128, usize)>,
    /// Per field: its bit among the required fields (0 if it is optional).
    pub(crate) required: Vec<u64>,
    /// Every required field's bit; a bit no field has when there are more
    /// than 64 (such a message is left to the careful reader).
    pub(crate) all_required: u64,
}

impl Keys {
    pub(super) fn build(fields: &[Field], required_fields: &[u16]) -> Keys {
        let mut required = vec![0; fields.len()];
        let mut all_required = 0;
        for (bit, &index) in required_fields.iter().enumerate() {
            match required.get_mut(usize::from(index)) {
                Some(slot) if bit < 64 => {
                    *slot = 1 << bit;
                    all_required |= 1 << bit;
                }
                // Never set: such a message always stops the fast reader.
                _ => all_required = u64::MAX,
            }
        }
        let words = fields
            .iter()
            .map(|f| {
                let mut key = [0u8; 16];
                let len = f.json_key.len();
                if let Some(head) = key.get_mut(..len) {
                    head.copy_from_slice(&f.json_key);
                }
                // A key too long for a word is never matched in place.
                (u128::from_le_bytes(key), if len <= 16 { len } else { usize::MAX })
            })
            .collect();
        Keys {
            heads: fields.iter().map(|f| (head(f.name.as_bytes()), f.name.len())).collect(),
            words,
            required,
            all_required,
        }
    }

    /// Whether the key of the field at `guess` (the one expected next), with
    /// its colon, is at `json[at..]`: its index and the key's length.
    #[inline(always)]
    pub(crate) fn expected(&self, json: &[u8], at: usize, guess: usize) -> Option<(usize, usize)> {
        let &(key, len) = self.words.get(guess)?;
        let window = json.get(at..at + 16)?;
        let mut w = [0u8; 16];
        w.copy_from_slice(window);
        let mask = if len >= 16 { u128::MAX } else { (1u128 << (8 * len)) - 1 };
        // (A name holds no quote or backslash, so `"name":` is that key.)
        ((u128::from_le_bytes(w) ^ key) & mask == 0 && len <= 16).then_some((guess, len))
    }

    /// The index of the field of `message` (whose keys these are) whose name
    /// is `json[start..end]` (a key without escapes): the fields from `guess`
    /// on are tried first, since keys usually come in declaration order,
    /// then all of them.
    ///
    /// Every field's head is compared (a message has 53 fields at most),
    /// rather than the name looked up in `Message::field_index`'s hash map
    /// once four from `guess` missed: a 200 B UPDATE's `update` (the
    /// seventh field of `scheduler.Event`, after `type`, the first) took
    /// that lookup, 5 % of the recorder's lane at 200 B in `perf`. The
    /// heading walk under callgrind (`benches/record_core.rs`), instructions
    /// an event: 200 B 2 388 → 2 252, the mix 4 779 → 4 709, 4 KiB 8 431 →
    /// 8 302; the tap's time at 200 B 156–159 → 142–147 ns an event (two
    /// runs each). (All of them compared from `guess` on, wrapping round,
    /// as one chained iterator: the mix 4 779 → 4 907.)
    #[inline]
    pub(crate) fn find(&self, message: &Message, json: &[u8], start: usize, end: usize, guess: usize) -> Option<usize> {
        let len = end - start;
        // The key's first eight bytes; the input goes on after the key (its
        // closing quote, at least).
        let key_head = match json.get(start..start + 8) {
            Some(word) => {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                let w = u64::from_le_bytes(w);
                if len >= 8 { w } else { w & ((1u64 << (8 * len)) - 1) }
            }
            None => head(&json[start..end]),
        };
        let key = &json[start..end];
        let is = |i: usize, (h, n): (u64, usize)| {
            h == key_head && n == len && (len <= 8 || message.fields[i].name.as_bytes()[8..] == key[8..])
        };
        for (i, &head) in self.heads.iter().enumerate().skip(guess).take(4) {
            if is(i, head) {
                return Some(i);
            }
        }
        self.heads.iter().enumerate().find_map(|(i, &head)| is(i, head).then_some(i))
    }
}
