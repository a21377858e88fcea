//! Protobuf wire bytes → Mesos JSON, the way the master writes it.
//!
//! Straight from the wire, without building a message. The rules are
//! stout's `jsonify(JSON::Protobuf(..))` (see the module docs of
//! [`crate::json`]).
//!
//! Two ways through a message, with the same output:
//!
//! - **the fast path** (one pass): fields are written as they come, which is
//!   right when they come in declaration order, every field known and with
//!   its type's own wire type, each singular field once and each repeated
//!   field as one run: what a master's encoder produces for nearly every
//!   message. Anything else sends that message to the two-pass path, and an
//!   error or an unknown field anywhere starts the whole document again in
//!   careful mode.
//! - **the two-pass path**: one pass finds the fields of a message, a second
//!   writes them in declaration order (repeated values merged, the last
//!   singular value winning, message values merged). In careful mode
//!   ([`Writer::new`] with `fast: false`) every message takes it and the
//!   writer keeps the JSON path, so errors and unknown fields are reported
//!   exactly, in a fixed order.

use base64::Engine;

use super::{Path, ProtobufError, ProtobufErrorKind, UnknownField};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::schema::{DefaultValue, Field, FieldKind, MessageId, Schema};
use crate::wire::{self, WireValue};

/// One occurrence of a field in a message's bytes.
#[derive(Clone, Copy)]
struct Occurrence {
    field: u16,
    value: WireValue,
}

pub(super) struct Writer<'a> {
    pub schema: &'static Schema,
    plan: &'static Plan,
    pub out: &'a mut Vec<u8>,
    pub unknown: &'a mut Vec<UnknownField>,
    pub path: Path,
    /// Occurrences of every message being written, innermost last.
    occurrences: Vec<Occurrence>,
    /// Set when a nested message's bytes had to be merged from several occurrences.
    merged: Vec<Vec<u8>>,
    /// The fields of the messages the one-pass path is putting in
    /// declaration order (declaration index, value), innermost last.
    found: Vec<(u16, WireValue)>,
    /// How deep in nested messages the writer is.
    depth: usize,
    /// Fast mode: messages take the one-pass path when they can, the path is
    /// not kept, and any error (an unknown field included) only means "start
    /// again in careful mode": it is never shown.
    fast: bool,
}

/// Messages nested deeper than this are refused (protobuf's own parsers stop
/// at 100 too): without a limit, hostile input could exhaust the stack.
const MAX_DEPTH: usize = 100;

/// Writes the protobuf message `id` encoded in `pb` as JSON at the end of
/// `out`, reporting unknown fields in `unknown`: fast mode first, and
/// careful mode (which alone reports errors and unknown fields) when fast
/// mode stops.
pub(super) fn write(
    id: MessageId,
    pb: &[u8],
    out: &mut Vec<u8>,
    unknown: &mut Vec<UnknownField>,
) -> Result<(), ProtobufError> {
    let (out_len, unknown_len) = (out.len(), unknown.len());
    if Writer::new(out, unknown, true).fast_message(id, pb, 0, pb.len(), 0).is_ok() {
        return Ok(());
    }
    out.truncate(out_len);
    unknown.truncate(unknown_len);
    Writer::new(out, unknown, false).message(id, pb, 0)
}

/// Fast mode stopped (an error, an unknown field, a limit): the document is
/// written again in careful mode, which says what and where.
struct Retry;

/// What the fast path reads of the schema, copied beside itself: each
/// message's fields with their JSON keys ready to copy (padded, with the
/// comma) and what is written when they are absent (the schema's
/// `Field::absent_json`). Reading the schema's own `Field`s instead (the
/// keys with their commas packed there too) made
/// `codec/protobuf-to-json-100-offers` 12 % slower (43.4 → 48.6 µs, means of
/// three alternating runs of each build, spread ±3 %, issue 17): a
/// `FieldPlan` is half a schema `Field`, whose names, defaults and
/// spellings for other engines the hot loop does not read.
struct Plan {
    messages: Vec<MessagePlan>,
}

struct MessagePlan {
    /// Field index + 1 by field number, for numbers below [`DENSE`]; 0 = none.
    /// The schema's `Message::field_index_by_number` has the same table;
    /// this copy sits beside the fields the hot loop reads next. Looking up
    /// in the schema's instead made `codec/protobuf-to-json-100-offers`
    /// 3 % slower (40.7 → 42.0 µs and 41.5 → 42.8 µs, alternating runs of
    /// one build each, issue 17; and 9 % slower, 48.6 → 53.2 µs, with the
    /// fields read from the schema too), so it stays.
    dense: [u16; DENSE],
    fields: Vec<FieldPlan>,
    /// As [`Message::absent_attention`](crate::schema::Message::absent_attention).
    attention: Vec<u16>,
    /// Declaration order differs from number order, the order encoders
    /// write fields in.
    reordered: bool,
    /// Fields of this type came out of declaration order (learned once, by
    /// any thread): from then on they are sorted before they are written.
    /// Either way gives the same bytes; this only picks the faster one.
    came_out_of_order: AtomicBool,
}

/// Where the one-pass path is in a message.
#[derive(Default)]
struct FastState {
    /// The next entry of `attention` not yet passed.
    pending: usize,
    /// The declaration index + 1 of the field being written (0: none yet).
    current: usize,
    /// Whether it is a repeated field whose array is open.
    open: bool,
    /// The oneofs one of whose members was written.
    oneofs: u64,
}

/// Field numbers below this are looked up in [`MessagePlan::dense`].
const DENSE: usize = 64;

struct FieldPlan {
    /// `,"name":`.
    key: Key,
    kind: FieldKind,
    /// The wire type of one value of the field's type.
    wire: u8,
    repeated: bool,
    /// A map field: the two-pass path writes those.
    map: bool,
    required: bool,
    /// Bit `i` set: a member of the message's oneof `i` (only the first 64).
    oneof: u64,
    /// What is written when the field is absent (`Field::absent_json`).
    default: Option<Box<[u8]>>,
}

/// A JSON key with the comma before it (`,"name":`), kept padded to a fixed
/// size so that writing it is one fixed-size copy.
struct Key {
    padded: [u8; KEY_PAD],
    len: usize,
    bytes: Box<[u8]>,
}

/// Keys up to this long (every key of the v1 schema) are copied padded.
const KEY_PAD: usize = 48;

impl Key {
    fn new(json_key: &[u8]) -> Key {
        let mut bytes = Vec::with_capacity(json_key.len() + 1);
        bytes.push(b',');
        bytes.extend_from_slice(json_key);
        let mut padded = [0; KEY_PAD];
        if let Some(head) = padded.get_mut(..bytes.len()) {
            head.copy_from_slice(&bytes);
        }
        Key { padded, len: bytes.len(), bytes: bytes.into_boxed_slice() }
    }

    #[inline(always)]
    fn write(&self, out: &mut Vec<u8>) {
        if self.len <= KEY_PAD {
            let end = out.len() + self.len;
            out.extend_from_slice(&self.padded);
            out.truncate(end);
        } else {
            out.extend_from_slice(&self.bytes);
        }
    }
}

impl Plan {
    fn get() -> &'static Plan {
        static PLAN: OnceLock<Plan> = OnceLock::new();
        PLAN.get_or_init(|| Plan::build(Schema::get()))
    }

    fn build(schema: &Schema) -> Plan {
        // Message ids are the indexes 0..n of the schema's table.
        let count = schema.message_names().len();
        let mut messages = Vec::with_capacity(count);
        for id in 0..count as MessageId {
            let message = schema.message(id);
            let mut dense = [0u16; DENSE];
            let mut fields = Vec::with_capacity(message.fields.len());
            for (index, field) in message.fields.iter().enumerate() {
                if let Some(slot) = dense.get_mut(field.number as usize) {
                    *slot = index as u16 + 1;
                }
                fields.push(FieldPlan {
                    key: Key::new(&field.json_key),
                    kind: field.kind,
                    wire: field.kind.wire_type(),
                    repeated: field.repeated,
                    map: field.map,
                    required: field.required,
                    oneof: field.oneof.map_or(0, |i| 1u64.checked_shl(u32::from(i)).unwrap_or(0)),
                    default: field.absent_json.clone(),
                });
            }
            messages.push(MessagePlan {
                dense,
                fields,
                attention: message.absent_attention.clone(),
                reordered: message.reordered,
                came_out_of_order: AtomicBool::new(false),
            });
        }
        Plan { messages }
    }
}

impl MessagePlan {
    #[inline(always)]
    fn index(&self, number: u32, id: MessageId) -> Option<usize> {
        match self.dense.get(number as usize) {
            Some(&slot) => usize::from(slot).checked_sub(1),
            None => Schema::get().message(id).field_index_by_number(number),
        }
    }
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut Vec<u8>, unknown: &'a mut Vec<UnknownField>, fast: bool) -> Self {
        Writer {
            schema: Schema::get(),
            plan: Plan::get(),
            out,
            unknown,
            path: Path::default(),
            occurrences: Vec::new(),
            merged: Vec::new(),
            found: Vec::new(),
            depth: 0,
            fast,
        }
    }

    #[cold]
    fn error(&self, offset: usize, kind: ProtobufErrorKind) -> ProtobufError {
        // In fast mode the error is only a signal to start again carefully.
        let path = if self.fast { String::new() } else { self.path.to_string() };
        ProtobufError { path, offset, kind }
    }

    /// Writes the message `id` encoded in `data` (which starts at `base` in
    /// the outermost buffer, for error offsets).
    pub fn message(&mut self, id: MessageId, data: &[u8], base: usize) -> Result<(), ProtobufError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(base, ProtobufErrorKind::TooDeep));
        }
        if self.fast {
            // Inside the two-pass path in fast mode: back to the one-pass path.
            let depth = self.depth;
            let result = self.fast_message(id, data, 0, data.len(), depth);
            self.depth = depth;
            return result.map_err(|Retry| self.error(base, ProtobufErrorKind::Truncated));
        }
        self.depth += 1;
        let result = self.message_at_depth(id, data, base);
        self.depth -= 1;
        result
    }

    /// The one-pass path of fast mode for the message `id` encoded in
    /// `data[from..end]`, nested in `depth` messages: writes the fields as
    /// they come while they come in declaration order, and hands the message
    /// to the two-pass path otherwise. (`data` goes on after `end`: short
    /// strings are copied in fixed-size blocks that may run past their end.)
    fn fast_message(&mut self, id: MessageId, data: &[u8], from: usize, end: usize, depth: usize) -> Result<(), Retry> {
        if depth >= MAX_DEPTH {
            return Err(Retry);
        }
        let fields = data.get(..end).ok_or(Retry)?;
        let plan = &self.plan.messages[id as usize];
        // Every field is written with a comma before it; the first comma
        // becomes the `{` at the end.
        let start = self.out.len();
        let mut state = FastState::default();
        if plan.came_out_of_order.load(Ordering::Relaxed) {
            // Fields of this message type came out of declaration order
            // before (`Offer`: `url` is declared before `resources`, and
            // encoders write by number): the fields are found first (their
            // tags only), put in declaration order, then written. Message
            // types whose fields keep coming in order (most, `Resource` with
            // its rarely set `provider_id` among them) skip that scan.
            let base = self.found.len();
            let mut at = from;
            while at < end {
                let (tag, value, next) = wire::read_field(fields, at).map_err(|_| Retry)?;
                at = next;
                let index = plan.index(tag, id).ok_or(Retry)?;
                self.found.push((index as u16, value));
            }
            // A stable insertion sort: values of a repeated field keep their order.
            let found = &mut self.found[base..];
            for i in 1..found.len() {
                let mut j = i;
                while j > 0 && found[j - 1].0 > found[j].0 {
                    found.swap(j - 1, j);
                    j -= 1;
                }
            }
            for i in base..self.found.len() {
                let (index, value) = self.found[i];
                if !self.fast_field(&mut state, plan, usize::from(index), value, data, depth)? {
                    self.found.truncate(base);
                    return self.two_pass_instead(id, &fields[from..], from, depth, start);
                }
            }
            self.found.truncate(base);
        } else {
            let mut at = from;
            while at < end {
                let (tag, value, next) = wire::read_field(fields, at).map_err(|_| Retry)?;
                at = next;
                // An unknown field is reported with its path, which only careful mode keeps.
                let index = plan.index(tag, id).ok_or(Retry)?;
                if !self.fast_field(&mut state, plan, index, value, data, depth)? {
                    if index < state.current && plan.reordered {
                        plan.came_out_of_order.store(true, Ordering::Relaxed);
                    }
                    return self.two_pass_instead(id, &fields[from..], from, depth, start);
                }
            }
        }
        if state.open {
            self.out.push(b']');
        }
        for &a in &plan.attention[state.pending..] {
            self.fast_absent(&plan.fields[usize::from(a)])?;
        }
        match self.out.get_mut(start) {
            Some(comma) => *comma = b'{',
            None => self.out.push(b'{'),
        }
        self.out.push(b'}');
        Ok(())
    }

    /// Writes one field of a message on the one-pass path, the fields
    /// coming in declaration order; `false` when this message must take the
    /// two-pass path instead.
    #[inline(always)]
    fn fast_field(
        &mut self,
        state: &mut FastState,
        plan: &'static MessagePlan,
        index: usize,
        value: WireValue,
        data: &[u8],
        depth: usize,
    ) -> Result<bool, Retry> {
        let field = &plan.fields[index];
        if value.wire_type() != field.wire || field.map {
            // A packed run, a map or a wrong wire type.
            return Ok(false);
        }
        if index + 1 == state.current {
            if !field.repeated {
                // A singular field given twice: the last value wins, or messages merge.
                return Ok(false);
            }
            self.out.push(b',');
        } else {
            if index + 1 < state.current || state.oneofs & field.oneof != 0 {
                // Out of order, or a second member of a oneof (the last one
                // given is the one set).
                return Ok(false);
            }
            state.oneofs |= field.oneof;
            if state.open {
                self.out.push(b']');
            }
            // The fields declared before this one that matter when absent.
            while let Some(&a) = plan.attention.get(state.pending) {
                let a = usize::from(a);
                if a > index {
                    break;
                }
                state.pending += 1;
                if a < index {
                    self.fast_absent(&plan.fields[a])?;
                }
            }
            field.key.write(self.out);
            state.open = field.repeated;
            if state.open {
                self.out.push(b'[');
            }
            state.current = index + 1;
        }
        match (field.kind, value) {
            (FieldKind::Message(id), WireValue::Len(s, e)) => self.fast_message(id, data, s, e, depth + 1)?,
            (kind, value) => write_scalar(self.schema, kind, value, data, self.out).map_err(|_| Retry)?,
        }
        Ok(true)
    }

    /// An absent field that matters, in fast mode: a required one stops fast
    /// mode, a default Mesos writes is written.
    fn fast_absent(&mut self, field: &FieldPlan) -> Result<(), Retry> {
        if field.required {
            return Err(Retry);
        }
        if let Some(default) = &field.default {
            field.key.write(self.out);
            self.out.extend_from_slice(default);
        }
        Ok(())
    }

    /// Fast mode met a message the one-pass path cannot write: drops what it
    /// wrote of it (from `start`) and writes it with the two-pass path.
    #[cold]
    fn two_pass_instead(
        &mut self,
        id: MessageId,
        data: &[u8],
        base: usize,
        depth: usize,
        start: usize,
    ) -> Result<(), Retry> {
        self.out.truncate(start);
        self.depth = depth + 1;
        self.message_at_depth(id, data, base).map_err(|_| Retry)
    }

    fn message_at_depth(&mut self, id: MessageId, data: &[u8], base: usize) -> Result<(), ProtobufError> {
        let schema = self.schema;
        let message = schema.message(id);
        let first = self.occurrences.len();

        // Pass 1: find every field.
        let mut at = 0;
        while at < data.len() {
            let (tag, value, next) = wire::read_field(data, at).map_err(|kind| self.error(base + at, kind))?;
            match message.field_index_by_number(tag) {
                Some(index) => {
                    if !message.accepts_wire_type(index, value.wire_type()) {
                        let field = &message.fields[index];
                        self.path.push_field(&field.name);
                        let expected = field.kind.wire_type();
                        let err = self
                            .error(base + at, ProtobufErrorKind::WrongWireType { expected, found: value.wire_type() });
                        return Err(err);
                    }
                    if let (FieldKind::Enum(e), WireValue::Varint(v)) = (message.fields[index].kind, value)
                        && schema.enumeration(e).name_of(v as i32).is_none()
                    {
                        // proto2: an enum number the enum does not define is
                        // kept as an unknown field, and the field is unset.
                        if self.fast {
                            return Err(self.error(base + at, ProtobufErrorKind::InvalidTag(0)));
                        }
                        self.unknown.push(UnknownField {
                            path: self.path.to_string(),
                            number: tag,
                            wire_type: value.wire_type(),
                        });
                    } else {
                        self.occurrences.push(Occurrence { field: index as u16, value });
                    }
                }
                // Fast mode does not keep the path: start again carefully.
                None if self.fast => return Err(self.error(base + at, ProtobufErrorKind::InvalidTag(0))),
                None => self.unknown.push(UnknownField {
                    path: self.path.to_string(),
                    number: tag,
                    wire_type: value.wire_type(),
                }),
            }
            at = next;
        }
        Self::keep_last_oneof_members(message, &mut self.occurrences, first);
        // Declaration order; a stable sort keeps repeated values in order.
        let occurrences = &mut self.occurrences[first..];
        if !occurrences.is_sorted_by_key(|o| o.field) {
            occurrences.sort_by_key(|o| o.field);
        }

        // Pass 2: write them in declaration order, merged with the absent
        // fields that matter (required ones, and the defaults Mesos writes).
        self.out.push(b'{');
        let mut wrote = false;
        let mut next = first;
        let mut attention = message.absent_attention.iter().map(|&i| usize::from(i)).peekable();
        loop {
            let present = self.occurrences.get(next).map(|o| usize::from(o.field));
            let absent = attention.peek().copied();
            let index = match (present, absent) {
                (None, None) => break,
                (Some(p), Some(a)) => p.min(a),
                (Some(p), None) => p,
                (None, Some(a)) => a,
            };
            if absent == Some(index) {
                attention.next();
            }
            let field = &message.fields[index];
            if present != Some(index) {
                if field.required {
                    self.occurrences.truncate(first);
                    return Err(self.error(base, ProtobufErrorKind::MissingRequired { field: field.name.clone() }));
                }
                if let Some(absent) = &field.absent_json {
                    self.key(&field.json_key, &mut wrote);
                    self.out.extend_from_slice(absent);
                }
                continue;
            }
            let start = next;
            while next < self.occurrences.len() && usize::from(self.occurrences[next].field) == index {
                next += 1;
            }
            let present = start..next;
            self.path.push_field(&field.name);
            let result = if field.map {
                self.map(field.kind, &field.json_key, present, data, base, &mut wrote)
            } else if field.repeated {
                self.repeated(field, present, data, base, &mut wrote)
            } else {
                self.key(&field.json_key, &mut wrote);
                self.singular(field.kind, present, data, base)
            };
            self.path.pop();
            if let Err(err) = result {
                self.occurrences.truncate(first);
                return Err(err);
            }
        }
        self.out.push(b'}');
        self.occurrences.truncate(first);
        Ok(())
    }

    /// Protobuf's rule for a `oneof` (occurrences from `first` on, in wire
    /// order): setting one member clears the others, so only the member
    /// given last is set, with only the occurrences of it since the last
    /// time another member was given (a message member merges only those).
    fn keep_last_oneof_members(message: &crate::schema::Message, occurrences: &mut Vec<Occurrence>, first: usize) {
        let oneof = |o: &Occurrence| message.fields[usize::from(o.field)].oneof;
        if occurrences[first..].iter().all(|o| oneof(o).is_none()) {
            return;
        }
        // For each oneof, where its current member's run began.
        let mut since: Vec<(u16, u16, usize)> = Vec::new(); // (oneof, member, position)
        for (i, o) in occurrences[first..].iter().enumerate() {
            if let Some(k) = oneof(o) {
                match since.iter_mut().find(|(oneof, _, _)| *oneof == k) {
                    Some(entry) if entry.1 == o.field => {}
                    Some(entry) => *entry = (k, o.field, i),
                    None => since.push((k, o.field, i)),
                }
            }
        }
        let mut i = 0;
        occurrences.retain(|o| {
            let position = i;
            i += 1;
            if position < first {
                return true;
            }
            match oneof(o) {
                Some(k) => since
                    .iter()
                    .any(|&(oneof, member, from)| oneof == k && member == o.field && position - first >= from),
                None => true,
            }
        });
    }

    #[inline]
    fn key(&mut self, json_key: &[u8], wrote: &mut bool) {
        if *wrote {
            self.out.push(b',');
        }
        *wrote = true;
        self.out.extend_from_slice(json_key);
    }

    /// A non-repeated field: the last value wins; message values merge.
    fn singular(
        &mut self,
        kind: FieldKind,
        present: std::ops::Range<usize>,
        data: &[u8],
        base: usize,
    ) -> Result<(), ProtobufError> {
        if let FieldKind::Message(id) = kind {
            if present.len() == 1 {
                let WireValue::Len(start, end) = self.occurrences[present.start].value else { unreachable_wire() };
                return self.message(id, &data[start..end], base + start);
            }
            // Several occurrences of one message field merge: concatenating
            // their bytes is exactly protobuf's merge, once each occurrence
            // is framed on its own (a parser reads each on its own).
            for o in &self.occurrences[present.clone()] {
                if let WireValue::Len(start, end) = o.value
                    && let Err((at, kind)) = self.schema.check_framing(id, &data[start..end])
                {
                    return Err(self.error(base + start + at, kind));
                }
            }
            let mut merged = self.merged.pop().unwrap_or_default();
            merged.clear();
            for o in &self.occurrences[present.clone()] {
                if let WireValue::Len(start, end) = o.value {
                    merged.extend_from_slice(&data[start..end]);
                }
            }
            let result = self.message(id, &merged, base);
            self.merged.push(merged);
            return result;
        }
        // The last value wins; the earlier ones must still be values (a
        // string that is not UTF-8 is refused wherever it is, as prost and
        // the checked views refuse it).
        if kind == FieldKind::String {
            for o in &self.occurrences[present.start..present.end - 1] {
                if let WireValue::Len(start, end) = o.value
                    && std::str::from_utf8(&data[start..end]).is_err()
                {
                    return Err(self.error(base + start, ProtobufErrorKind::InvalidUtf8));
                }
            }
        }
        let last = self.occurrences[present.end - 1].value;
        self.scalar(kind, last, data, base)
    }

    fn repeated(
        &mut self,
        field: &'static Field,
        present: std::ops::Range<usize>,
        data: &[u8],
        base: usize,
        wrote: &mut bool,
    ) -> Result<(), ProtobufError> {
        let (kind, name) = (field.kind, &field.json_key[..]);
        // A packed field whose payloads are all empty holds no values, nor
        // one whose enum numbers are all unknown: Mesos writes nothing for
        // an empty repeated field (or `[]` for the few it writes empty).
        let any = self.occurrences[present.clone()]
            .iter()
            .any(|o| !(kind.packable() && matches!(o.value, WireValue::Len(s, e) if s == e)));
        let any = any
            && match kind {
                FieldKind::Enum(e) => self.packed_enums_known(e, field.number, present.clone(), data, base)?,
                _ => true,
            };
        if !any {
            if field.written_empty {
                self.key(name, wrote);
                self.out.extend_from_slice(b"[]");
            }
            return Ok(());
        }
        self.key(name, wrote);
        self.out.push(b'[');
        let mut count = 0;
        for i in present {
            let value = self.occurrences[i].value;
            match (value, kind) {
                (WireValue::Len(start, end), kind) if kind.packable() => {
                    let mut at = start;
                    while at < end {
                        let (value, next) =
                            wire::read_packed(data, at, end, kind.wire_type()).map_err(|k| self.error(base + at, k))?;
                        if let (FieldKind::Enum(e), WireValue::Varint(v)) = (kind, value)
                            && self.schema.enumeration(e).name_of(v as i32).is_none()
                        {
                            // Unknown to the enum: an unknown field (reported
                            // by `packed_enums_known`).
                            at = next;
                            continue;
                        }
                        self.element(&mut count);
                        self.path.push_index(count - 1);
                        let r = self.scalar(kind, value, data, base);
                        self.path.pop();
                        r?;
                        at = next;
                    }
                }
                (WireValue::Len(start, end), FieldKind::Message(id)) => {
                    self.element(&mut count);
                    self.path.push_index(count - 1);
                    let r = self.message(id, &data[start..end], base + start);
                    self.path.pop();
                    r?;
                }
                (value, kind) => {
                    self.element(&mut count);
                    self.path.push_index(count - 1);
                    let r = self.scalar(kind, value, data, base);
                    self.path.pop();
                    r?;
                }
            }
        }
        self.out.push(b']');
        Ok(())
    }

    /// For a repeated enum field: reports the numbers in its packed runs
    /// that the enum does not define (proto2 keeps them as unknown fields),
    /// and says whether any value is left to write.
    fn packed_enums_known(
        &mut self,
        id: crate::schema::EnumId,
        number: u32,
        present: std::ops::Range<usize>,
        data: &[u8],
        base: usize,
    ) -> Result<bool, ProtobufError> {
        let enumeration = self.schema.enumeration(id);
        let mut known = false;
        for i in present {
            match self.occurrences[i].value {
                WireValue::Len(start, end) => {
                    let mut at = start;
                    while at < end {
                        let (value, next) =
                            wire::read_packed(data, at, end, 0).map_err(|k| self.error(base + at, k))?;
                        if let WireValue::Varint(v) = value
                            && enumeration.name_of(v as i32).is_none()
                        {
                            if self.fast {
                                return Err(self.error(base + at, ProtobufErrorKind::InvalidTag(0)));
                            }
                            let path = self.path.holder();
                            self.unknown.push(UnknownField { path, number, wire_type: 0 });
                        } else {
                            known = true;
                        }
                        at = next;
                    }
                }
                _ => known = true,
            }
        }
        Ok(known)
    }

    fn element(&mut self, count: &mut usize) {
        if *count > 0 {
            self.out.push(b',');
        }
        *count += 1;
    }

    /// A `map<K, V>` field: an object with stringified keys; entries in wire
    /// order, a later entry replacing an earlier one with the same key.
    fn map(
        &mut self,
        kind: FieldKind,
        name: &[u8],
        present: std::ops::Range<usize>,
        data: &[u8],
        base: usize,
        wrote: &mut bool,
    ) -> Result<(), ProtobufError> {
        let FieldKind::Message(entry) = kind else { unreachable_wire() };
        let entry = self.schema.message(entry);
        let (key_field, value_field) = (&entry.fields[0], &entry.fields[1]);
        // Render each entry's key and value separately, then write the object.
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for i in present {
            let WireValue::Len(start, end) = self.occurrences[i].value else { unreachable_wire() };
            let bytes = &data[start..end];
            let (mut key, mut value) = (None, None);
            let mut at = 0;
            while at < bytes.len() {
                let (tag, v, next) = wire::read_field(bytes, at).map_err(|k| self.error(base + start + at, k))?;
                match tag {
                    1 => key = Some(v),
                    2 => value = Some(v),
                    _ => {}
                }
                at = next;
            }
            let saved = std::mem::take(self.out);
            let key_text = match key {
                Some(v) => self.scalar(key_field.kind, v, bytes, base + start).map(|_| std::mem::take(self.out)),
                None => Ok(zero_json(key_field.kind)),
            };
            let key_text = match key_text {
                Ok(text) => text,
                Err(e) => {
                    *self.out = saved;
                    return Err(e);
                }
            };
            // Keys are strings in JSON: quote the numeric and boolean ones.
            let key_text = if key_text.first() == Some(&b'"') {
                key_text
            } else {
                let mut quoted = Vec::with_capacity(key_text.len() + 2);
                quoted.push(b'"');
                quoted.extend_from_slice(&key_text);
                quoted.push(b'"');
                quoted
            };
            let value_text = match value {
                Some(WireValue::Len(s, e)) if matches!(value_field.kind, FieldKind::Message(_)) => {
                    let FieldKind::Message(id) = value_field.kind else { unreachable_wire() };
                    self.message(id, &bytes[s..e], base + start + s).map(|_| std::mem::take(self.out))
                }
                Some(v) => self.scalar(value_field.kind, v, bytes, base + start).map(|_| std::mem::take(self.out)),
                None => match value_field.kind {
                    FieldKind::Message(id) => self.message(id, &[], base + start).map(|_| std::mem::take(self.out)),
                    kind => Ok(zero_json(kind)),
                },
            };
            *self.out = saved;
            let value_text = value_text?;
            if let Some(existing) = entries.iter_mut().find(|(k, _)| *k == key_text) {
                existing.1 = value_text;
            } else {
                entries.push((key_text, value_text));
            }
        }
        self.key(name, wrote);
        self.out.push(b'{');
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(key);
            self.out.push(b':');
            self.out.extend_from_slice(value);
        }
        self.out.push(b'}');
        Ok(())
    }

    fn scalar(&mut self, kind: FieldKind, value: WireValue, data: &[u8], base: usize) -> Result<(), ProtobufError> {
        if let (FieldKind::Message(id), WireValue::Len(start, end)) = (kind, value) {
            return self.message(id, &data[start..end], base + start);
        }
        match write_scalar(self.schema, kind, value, data, self.out) {
            Ok(()) => Ok(()),
            Err(Bad::Utf8(start)) => Err(self.error(base + start, ProtobufErrorKind::InvalidUtf8)),
            Err(Bad::Enum(number)) => {
                let FieldKind::Enum(id) = kind else { unreachable_wire() };
                let enumeration = self.schema.enumeration(id).name.clone();
                Err(self.error(base, ProtobufErrorKind::UnknownEnumNumber { number, enumeration }))
            }
            Err(Bad::Wire) => Err(self.error(
                base,
                ProtobufErrorKind::WrongWireType { expected: kind.wire_type(), found: value.wire_type() },
            )),
        }
    }
}

/// Why a scalar could not be written.
#[derive(Debug, Clone, Copy)]
enum Bad {
    /// A string field that is not UTF-8, starting at this offset of the data.
    Utf8(usize),
    /// An enum number the enum does not define.
    Enum(i32),
    /// A value whose wire type does not fit the field's type.
    Wire,
}

/// Writes one scalar value (not a message) of kind `kind`, read from `data`.
#[inline(always)]
fn write_scalar(schema: &Schema, kind: FieldKind, value: WireValue, data: &[u8], out: &mut Vec<u8>) -> Result<(), Bad> {
    match (kind, value) {
        (FieldKind::Double, WireValue::Fixed64(bits)) => write_double(f64::from_bits(bits), out),
        (FieldKind::Float, WireValue::Fixed32(bits)) => write_double(f64::from(f32::from_bits(bits)), out),
        (FieldKind::Int32, WireValue::Varint(v)) => write_int(i64::from(v as i32), out),
        (FieldKind::Int64, WireValue::Varint(v)) => write_int(v as i64, out),
        (FieldKind::Uint32, WireValue::Varint(v)) => write_uint(u64::from(v as u32), out),
        (FieldKind::Uint64, WireValue::Varint(v)) => write_uint(v, out),
        (FieldKind::Sint32, WireValue::Varint(v)) => write_int(i64::from(wire::unzigzag(v) as i32), out),
        (FieldKind::Sint64, WireValue::Varint(v)) => write_int(wire::unzigzag(v), out),
        (FieldKind::Fixed32, WireValue::Fixed32(v)) => write_uint(u64::from(v), out),
        (FieldKind::Fixed64, WireValue::Fixed64(v)) => write_uint(v, out),
        (FieldKind::Sfixed32, WireValue::Fixed32(v)) => write_int(i64::from(v as i32), out),
        (FieldKind::Sfixed64, WireValue::Fixed64(v)) => write_int(v as i64, out),
        (FieldKind::Bool, WireValue::Varint(v)) => out.extend_from_slice(if v != 0 { b"true" } else { b"false" }),
        (FieldKind::Enum(id), WireValue::Varint(v)) => {
            let number = v as i32;
            let enumeration = schema.enumeration(id);
            match enumeration.json_name(number) {
                Some(json) => out.extend_from_slice(json),
                // Beyond the ready names: the schema's own lookup.
                None => match enumeration.name_of(number) {
                    Some(name) => write_string(name.as_bytes(), out),
                    None => return Err(Bad::Enum(number)),
                },
            }
        }
        (FieldKind::String, WireValue::Len(start, end)) => {
            // Short strings are checked and copied as one block from `data`.
            let block = data.get(start..start + BLOCK).and_then(|b| <&[u8; BLOCK]>::try_from(b).ok());
            match block {
                Some(block) if end - start <= BLOCK && is_plain_block(block, end - start) => {
                    write_block(block, end - start, out);
                }
                _ => write_utf8_string(&data[start..end], out).map_err(|()| Bad::Utf8(start))?,
            }
        }
        (FieldKind::Bytes, WireValue::Len(start, end)) => write_base64(&data[start..end], out),
        _ => return Err(Bad::Wire),
    }
    Ok(())
}

/// Writes a field's explicit default as the JSON writer writes its value.
pub(crate) fn write_default(schema: &Schema, kind: FieldKind, default: &DefaultValue, out: &mut Vec<u8>) {
    match default {
        DefaultValue::Int(v) => write_int(*v, out),
        DefaultValue::Uint(v) => write_uint(*v, out),
        DefaultValue::Double(v) if kind == FieldKind::Float => write_double(f64::from(*v as f32), out),
        DefaultValue::Double(v) => write_double(*v, out),
        DefaultValue::Bool(v) => out.extend_from_slice(if *v { b"true" } else { b"false" }),
        DefaultValue::String(s) => write_string(s.as_bytes(), out),
        DefaultValue::Bytes(b) => write_base64(b, out),
        DefaultValue::Enum(n) => {
            let FieldKind::Enum(id) = kind else { return };
            let name = schema.enumeration(id).name_of(*n).unwrap_or_default();
            write_string(name.as_bytes(), out);
        }
    }
}

#[cold]
fn unreachable_wire() -> ! {
    // Wire types are checked against field kinds in pass 1.
    unreachable!("wire type checked in pass 1")
}

/// The JSON of a scalar's zero value, for a map entry that omits its key or value.
fn zero_json(kind: FieldKind) -> Vec<u8> {
    match kind {
        FieldKind::String | FieldKind::Bytes => b"\"\"".to_vec(),
        FieldKind::Bool => b"false".to_vec(),
        FieldKind::Double | FieldKind::Float => b"0.0".to_vec(),
        _ => b"0".to_vec(),
    }
}

/// Writes an integer in decimal.
pub(crate) fn write_int(v: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Writes an unsigned integer in decimal.
pub(crate) fn write_uint(v: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Writes bytes as a JSON string of their standard, padded base64.
pub(crate) fn write_base64(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let written = base64::engine::general_purpose::STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

/// What each byte becomes inside a JSON string, as rapidjson's `Writer`
/// writes strings in Mesos 1.11: 0 = itself, a letter = a two-character
/// escape, `u` = `\u00XX` (upper-case hex). `/` and DEL are written as they
/// are, and UTF-8 is not escaped (nor checked: rapidjson does not validate).
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table
};

/// Whether any byte of `w` needs a closer look in a JSON string: a control
/// character, `"`, `\`, or a byte of a multi-byte UTF-8 sequence.
#[inline(always)]
fn needs_care(w: u64) -> bool {
    // A stop's lowest bit is exact and false alarms only come above a
    // genuine stop, so the mask is nonzero exactly when there is one.
    (w & 0x8080_8080_8080_8080) | crate::swar::string_stops(w) != 0
}

/// Whether `bytes` can be written between quotes as they are: no byte to
/// escape and no UTF-8 to check (eight bytes at a time).
#[inline]
fn is_plain(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if needs_care(u64::from_le_bytes(w)) {
            return false;
        }
    }
    words.remainder().iter().all(|&b| ESCAPES[usize::from(b)] == 0 && b < 0x80)
}

/// The size of the blocks short strings are checked and copied in.
const BLOCK: usize = 64;

/// Whether the first `len` bytes of `block` can be written between quotes as
/// they are (see [`is_plain`]).
#[inline(always)]
fn is_plain_block(block: &[u8; BLOCK], len: usize) -> bool {
    const PLAIN: u64 = 0x6161_6161_6161_6161; // "aaaaaaaa"
    let mut i = 0;
    while i + 8 <= len {
        let mut w = [0u8; 8];
        w.copy_from_slice(&block[i..i + 8]);
        if needs_care(u64::from_le_bytes(w)) {
            return false;
        }
        i += 8;
    }
    if i < len {
        // The last word, its bytes past `len` replaced by plain ones.
        let mut w = [0u8; 8];
        w.copy_from_slice(&block[i..i + 8]);
        let keep = u64::MAX >> (8 * (8 - (len - i)));
        let w = (u64::from_le_bytes(w) & keep) | (PLAIN & !keep);
        return !needs_care(w);
    }
    true
}

/// Writes the first `len` bytes of `block` between quotes: the whole block is
/// copied (a fixed-size copy), then the bytes past `len` are dropped.
#[inline(always)]
fn write_block(block: &[u8; BLOCK], len: usize, out: &mut Vec<u8>) {
    out.reserve(BLOCK + 2);
    out.push(b'"');
    let end = out.len() + len;
    out.extend_from_slice(block);
    out.truncate(end);
    out.push(b'"');
}

/// Writes the contents of a protobuf `string` field as a JSON string, after
/// checking that it is UTF-8 (`Err` otherwise, and nothing is written).
#[inline]
fn write_utf8_string(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), ()> {
    if is_plain(bytes) {
        write_plain(bytes, out);
        return Ok(());
    }
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_err() {
        return Err(());
    }
    write_escaped(bytes, out);
    Ok(())
}

/// Writes a JSON string exactly as a 1.11 master does (rapidjson's
/// `Writer::String`): `"` and `\` escaped with a backslash, `\b \f \n \r
/// \t`, other control characters as `\u00XX`, everything else (`/`, DEL,
/// UTF-8) as is.
pub(crate) fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    if is_plain(bytes) {
        write_plain(bytes, out);
    } else {
        write_escaped(bytes, out);
    }
}

/// Writes bytes that need no escaping between quotes.
#[inline]
fn write_plain(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    out.extend_from_slice(bytes);
    out.push(b'"');
}

/// [`write_string`]'s careful path: byte by byte.
fn write_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPES[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Writes a double as stout's `NumberWriter` does in Mesos 1.11, through
/// rapidjson's `Writer::Double` ([`super::dtoa`]): Grisu2's digits, always
/// with a decimal point or an exponent (`15.0`, `996.0`,
/// `1796462612.3989099`, `1e21`). NaN is written bare (`NaN`, not JSON, but
/// what rapidjson with `kWriteNanAndInfFlag` writes), the infinities as the
/// strings `"Infinity"` and `"-Infinity"` (Mesos patches rapidjson to quote
/// them, so that its own parser reads them back).
pub(crate) fn write_double(v: f64, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.extend_from_slice(if v.is_nan() {
            b"NaN"
        } else if v > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
        return;
    }
    // Whole numbers below 2^53 (cpus, mem, disk, ports...): their digits and
    // ".0", which is what Grisu2 and `Prettify` make of them (a test holds
    // the two to each other).
    if v.abs() < 9_007_199_254_740_992.0 && v.fract() == 0.0 && !(v == 0.0 && v.is_sign_negative()) {
        out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
        out.extend_from_slice(b".0");
        return;
    }
    super::dtoa::write_finite(v, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(v: f64) -> String {
        let mut out = Vec::new();
        write_double(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_as_a_master_writes_them() {
        assert_eq!(double(15.0), "15.0");
        assert_eq!(double(996.0), "996.0");
        assert_eq!(double(0.1), "0.1");
        assert_eq!(double(1796462612.3989098), "1796462612.3989099");
        // Grisu2 is not always shortest or closest: rapidjson writes this one so.
        assert_eq!(double(0.30000000000000004), "0.30000000000000007");
        assert_eq!(double(-0.0), "-0.0");
        assert_eq!(double(1e20), "100000000000000000000.0");
        assert_eq!(double(1460526115e21), "1.460526115e30");
        assert_eq!(double(f64::INFINITY), "\"Infinity\"");
        assert_eq!(double(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(double(f64::NAN), "NaN");
        assert_eq!(double(f64::from(0.1f32)), "0.10000000149011612");
    }

    /// The whole-number shortcut writes what Grisu2 and `Prettify` write.
    #[test]
    fn whole_numbers_take_a_shortcut_to_the_same_text() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [(x >> (11 + i % 50)) as f64, -((x % 100_000) as f64), (i as f64) * 1000.0] {
                let mut exact = Vec::new();
                super::super::dtoa::write_finite(v, &mut exact);
                assert_eq!(double(v).into_bytes(), exact, "{v}");
            }
        }
    }

    /// The word-at-a-time test agrees with the byte table on every byte in
    /// every position.
    #[test]
    fn plain_strings_are_found_exactly() {
        for b in 0..=255u8 {
            for len in 1..20 {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let plain = ESCAPES[usize::from(b)] == 0 && b < 0x80;
                    assert_eq!(is_plain(&bytes), plain, "byte {b:#x} at {at} of {len}");
                    let (mut fast, mut careful) = (Vec::new(), Vec::new());
                    write_string(&bytes, &mut fast);
                    write_escaped(&bytes, &mut careful);
                    assert_eq!(fast, careful);
                }
            }
        }
        assert_eq!(write_utf8_string(b"\xff", &mut Vec::new()), Err(()));
        // Blocks: the bytes past the string's end do not count.
        for len in 0..=BLOCK {
            for b in [b'a', b'"', 0x80, 0x00] {
                let mut block = [b'"'; BLOCK];
                block[..len].fill(b'x');
                assert!(is_plain_block(&block, len), "{len}");
                if len > 0 {
                    block[len - 1] = b;
                    assert_eq!(is_plain_block(&block, len), b == b'a', "{len} {b:#x}");
                    let mut out = Vec::new();
                    write_block(&block, len, &mut out);
                    assert_eq!(out.len(), len + 2);
                    assert_eq!(&out[1..=len], &block[..len]);
                }
            }
        }
        assert_eq!(write_utf8_string("\u{e9}t\u{e9}".as_bytes(), &mut Vec::new()), Ok(()));
    }

    #[test]
    fn strings_as_stout_writes_them() {
        let mut out = Vec::new();
        write_string("a\"b\\c/d\n\u{1}\u{1f}\u{7f}é\u{8}\u{c}\r\t".as_bytes(), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\\\"b\\\\c/d\\n\\u0001\\u001F\u{7f}é\\b\\f\\r\\t\"");
    }
    /// Random protobuf for random message types, fields in number order or
    /// shuffled, singular fields repeated, repeated scalars packed, unknown
    /// fields: whatever fast mode writes, careful mode writes alike.
    #[test]
    fn fast_mode_writes_what_careful_mode_writes() {
        use super::super::test_gen::Gen;
        let schema = Schema::get();
        let names = schema.message_names();
        let (mut fast_ok, mut retried) = (0, 0);
        // Twice: the second time, the message types whose fields came out of
        // declaration order the first time are sorted before they are written.
        for seed in (1..3000u64).chain(1..3000) {
            let mut g = Gen(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let id = schema.message_by_name(names[g.below(names.len())]).unwrap();
            let pb = g.message(id, 0);
            let (mut careful, mut careful_unknown) = (Vec::new(), Vec::new());
            let careful_result = Writer::new(&mut careful, &mut careful_unknown, false).message(id, &pb, 0);
            let (mut fast, mut fast_unknown) = (Vec::new(), Vec::new());
            if Writer::new(&mut fast, &mut fast_unknown, true).fast_message(id, &pb, 0, pb.len(), 0).is_ok() {
                fast_ok += 1;
                assert!(careful_result.is_ok(), "{}: {careful_result:?}", schema.message(id).name);
                assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&careful));
                assert!(fast_unknown.is_empty() && careful_unknown.is_empty());
            } else {
                retried += 1;
            }
        }
        // Both ways are exercised, and the sorting one too.
        assert!(fast_ok > 2000 && retried > 10, "{fast_ok} {retried}");
        let learned = Plan::get().messages.iter().filter(|m| m.came_out_of_order.load(Ordering::Relaxed)).count();
        assert!(learned > 10, "{learned}");
    }
}
