//! Zero-copy typed views of protobuf messages: decoding checks the bytes
//! once, and the fields are read from them on demand.
//!
//! [`Checked::decode`] takes a message's protobuf bytes (a [`Bytes`], kept,
//! not copied) and checks all of them against the schema, as strictly as
//! Mesos's own parser: the wire format (truncation, varints, keys, wire
//! types, packed runs), UTF-8 in every string field, nesting up to 100
//! levels, required fields (a required enum must also be a known number).
//! What it hands back never fails again: [`Checked::view`] gives the
//! message's view type, generated for every message of the v1 schema under
//! [`v1`] at the same path as its prost type under [`crate::v1`]
//! (`view::v1::scheduler::Event` for `v1::scheduler::Event`), with an
//! accessor per field:
//!
//! | field | accessor returns |
//! | --- | --- |
//! | `optional` scalar, string, bytes, message | `Option<i64>`, `Option<&str>`, `Option<&[u8]>`, `Option<v1::Offer>` ... |
//! | `required` one | the value itself (present: checked) |
//! | `optional` / `required` enum | `Option<Enum>` / `Enum`: an unknown number reads as absent, as proto2 (and the master) treat it |
//! | `repeated` scalars | [`Scalars`] (packed or not), enums an iterator of the known ones |
//! | `repeated` strings, bytes, messages; maps | [`Repeated`] (map entries as views with `key()` and `value()`) |
//! | a oneof member | `Option<...>`: only the member that came last on the wire is there |
//!
//! Strings and bytes are borrowed from the buffer; nothing is allocated,
//! not even for repeated fields, which are iterators over the bytes. An
//! accessor reads the message's fields up to the one it wants (no index is
//! built). A singular field given more than once reads as its last value, as
//! protobuf says, and a message field given more than once is the *merge*
//! of its occurrences. Neither can be read in place cheaply, so such input
//! (which encoders do not produce, but concatenated messages do) is
//! rewritten once into canonical form by [`Checked::decode`]: views always
//! see a singular field at most once, and stop reading at it.
//!
//! Unknown fields are kept (they are in [`Checked::bytes`]) and skipped by
//! the accessors. `to_message` on a view builds the prost type.
//!
//! ```
//! use bytes::Bytes;
//! use mesos_codec::v1::{scheduler, FrameworkId};
//! use mesos_codec::view::Checked;
//! use prost::Message;
//!
//! let event = scheduler::Event {
//!     r#type: Some(scheduler::event::Type::Subscribed as i32),
//!     subscribed: Some(scheduler::event::Subscribed {
//!         framework_id: FrameworkId { value: "fw-1".into() },
//!         heartbeat_interval_seconds: Some(15.0),
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! let bytes = Bytes::from(event.encode_to_vec());
//!
//! let checked = Checked::<scheduler::Event>::decode(bytes)?;
//! let view = checked.view();
//! assert_eq!(view.r#type(), Some(scheduler::event::Type::Subscribed));
//! let subscribed = view.subscribed().expect("a SUBSCRIBED event");
//! assert_eq!(subscribed.framework_id().value(), "fw-1");
//! assert_eq!(subscribed.heartbeat_interval_seconds(), Some(15.0));
//! assert_eq!(subscribed.master_info(), None);
//! assert_eq!(view.to_message(), event);
//! # Ok::<(), mesos_codec::json::ProtobufError>(())
//! ```

use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

use crate::json::{ProtobufError, ProtobufErrorKind};
use crate::schema::{Checks, Entry, MESSAGE, MessageId, PLAIN, REQUIRED_ENUM, STRING, Schema};
use crate::wire::{self, WireValue};

/// The generated views, one module per protobuf package, at the paths of
/// the prost types under [`crate::v1`].
///
/// ```
/// use mesos_codec::view::{MessageView, v1};
/// assert_eq!(v1::scheduler::Event::FULL_NAME, "mesos.v1.scheduler.Event");
/// assert_eq!(v1::Offer::FULL_NAME, "mesos.v1.Offer");
/// ```
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    unreachable_pub,
    deprecated,
    unused_qualifications
)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/mesos.v1.views.rs"));
}

/// Messages nested deeper than this are refused, as by the JSON writer and
/// protobuf's own parsers.
pub(crate) const MAX_DEPTH: usize = 100;

/// A view type: a `Copy` handle on a checked message's bytes.
///
/// ```
/// use mesos_codec::view::{MessageView, RawMessage, v1};
/// // An empty FrameworkInfo; views do not check (Checked::decode does).
/// let info = v1::FrameworkInfo::from_raw(RawMessage::new(b""));
/// assert_eq!(info.name(), "");
/// assert_eq!(<v1::FrameworkInfo as MessageView>::FULL_NAME, "mesos.v1.FrameworkInfo");
/// ```
pub trait MessageView<'a>: Copy {
    /// The message's full protobuf name.
    const FULL_NAME: &'static str;
    /// The message's index in the [`Schema`], looked up once per type.
    #[doc(hidden)]
    fn message_id() -> MessageId;
    /// The view of these bytes. Nothing is checked: accessors of unchecked
    /// bytes read what they can and skip the rest, never panicking, and
    /// read the first value of a singular field given more than once
    /// ([`Checked`] bytes hold one).
    fn from_raw(raw: RawMessage<'a>) -> Self;
}

/// A prost message type with a generated view.
///
/// ```
/// use mesos_codec::view::HasView;
/// fn view_name<T: HasView>() -> &'static str {
///     <T::View<'static> as mesos_codec::view::MessageView>::FULL_NAME
/// }
/// assert_eq!(view_name::<mesos_codec::v1::TaskStatus>(), "mesos.v1.TaskStatus");
/// ```
pub trait HasView: Sized {
    /// The view type.
    type View<'a>: MessageView<'a>;
    /// The message a view reads (its `to_message`).
    fn from_view(view: Self::View<'_>) -> Self;
}

/// A message's protobuf bytes, checked against the schema of `T`: its views
/// read them without further checks.
///
/// ```
/// use bytes::Bytes;
/// use mesos_codec::json::ProtobufErrorKind;
/// use mesos_codec::v1::FrameworkId;
/// use mesos_codec::view::Checked;
///
/// let id = Checked::<FrameworkId>::decode(Bytes::from_static(b"\x0a\x04fw-1"))?;
/// assert_eq!(id.view().value(), "fw-1");
/// // `value` is required.
/// let err = Checked::<FrameworkId>::decode(Bytes::new()).unwrap_err();
/// assert_eq!(err.kind, ProtobufErrorKind::MissingRequired { field: "value".into() });
/// # Ok::<(), mesos_codec::json::ProtobufError>(())
/// ```
pub struct Checked<T: HasView> {
    bytes: Bytes,
    _type: PhantomData<fn() -> T>,
}

impl<T: HasView> Checked<T> {
    /// Checks `bytes` as a `T`: the error says what and where (byte offset,
    /// field path), as the JSON writer says it. The bytes are kept as they
    /// are, unless a singular field occurs more than once somewhere in them:
    /// then they are rewritten once in canonical form (message values
    /// merged, the last of other values kept, as protobuf reads them).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::v1::scheduler;
    /// use mesos_codec::view::Checked;
    /// // Event.type (field 1) = 8 (HEARTBEAT), then field 2 (`subscribed`)
    /// // claiming 5 bytes where 1 is left.
    /// let err = Checked::<scheduler::Event>::decode(Bytes::from_static(b"\x08\x08\x12\x05\x0a")).unwrap_err();
    /// assert_eq!(err.to_string(), "byte 2, (top level): truncated message (the input ends inside a field)");
    /// ```
    pub fn decode(bytes: Bytes) -> Result<Self, ProtobufError> {
        let schema = Schema::get();
        let id = <T::View<'static> as MessageView<'static>>::message_id();
        let bytes = match check(schema, id, &bytes) {
            Ok(Shape::Canonical) => bytes,
            // Framed and checked already: canonical bytes frame too.
            Ok(Shape::Split) => canonical(id, &bytes).map_err(|e| e.unwrap_or_else(|| unframed(schema, id)))?,
            Err(failure) => {
                let error = (*failure).into_error(schema, id, &bytes);
                // A required field may be missing only from one part of a
                // message given in several: merged, it may be there.
                if !matches!(
                    error.kind,
                    ProtobufErrorKind::MissingRequired { .. } | ProtobufErrorKind::UnknownEnumNumber { .. }
                ) {
                    return Err(error);
                }
                canonical(id, &bytes).map_err(|_| error)?
            }
        };
        Ok(Checked { bytes, _type: PhantomData })
    }

    /// The view of the message.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::v1::FrameworkId;
    /// use mesos_codec::view::Checked;
    /// let id = Checked::<FrameworkId>::decode(Bytes::from_static(b"\x0a\x04fw-1"))?;
    /// assert_eq!(id.view().to_message(), FrameworkId { value: "fw-1".into() });
    /// # Ok::<(), mesos_codec::json::ProtobufError>(())
    /// ```
    #[inline]
    pub fn view(&self) -> T::View<'_> {
        <T::View<'_> as MessageView<'_>>::from_raw(RawMessage::new(&self.bytes))
    }

    /// The message as its prost type, read through its view.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::v1::FrameworkId;
    /// use mesos_codec::view::Checked;
    /// let id = Checked::<FrameworkId>::decode(Bytes::from_static(b"\x0a\x04fw-1"))?;
    /// assert_eq!(id.to_message(), FrameworkId { value: "fw-1".into() });
    /// # Ok::<(), mesos_codec::json::ProtobufError>(())
    /// ```
    pub fn to_message(&self) -> T {
        T::from_view(self.view())
    }

    /// The checked bytes (the input, or its canonical form).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::v1::FrameworkId;
    /// use mesos_codec::view::Checked;
    /// let input = Bytes::from_static(b"\x0a\x04fw-1");
    /// let id = Checked::<FrameworkId>::decode(input.clone())?;
    /// assert_eq!(id.bytes(), &input);
    /// # Ok::<(), mesos_codec::json::ProtobufError>(())
    /// ```
    #[inline]
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl<T: HasView> Clone for Checked<T> {
    fn clone(&self) -> Self {
        Checked { bytes: self.bytes.clone(), _type: PhantomData }
    }
}

impl<T: HasView> fmt::Debug for Checked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = <T::View<'static> as MessageView<'static>>::FULL_NAME;
        f.debug_struct("Checked").field("type", &name).field("bytes", &self.bytes.len()).finish()
    }
}

/// The index of the message `name`, for the generated `message_id`s.
#[doc(hidden)]
pub fn lookup_message_id(name: &str) -> MessageId {
    // Not input: the views are generated from the schema the tables hold.
    Schema::get().message_by_name(name).expect("every view's message is in the schema")
}

/// The error for bytes that passed the check but could not be framed again
/// (not expected: the check frames every field first).
#[cold]
fn unframed(schema: &'static Schema, id: MessageId) -> ProtobufError {
    ProtobufError { path: schema.message(id).name.clone(), offset: 0, kind: ProtobufErrorKind::Truncated }
}

// ---- reading fields ----

/// One field value as it is on the wire, borrowed from the message's bytes.
///
/// ```
/// use mesos_codec::view::{RawMessage, Wire};
/// // FrameworkID { value: "fw" }, then the unknown field 9 = 1.
/// let raw = RawMessage::new(b"\x0a\x02fw\x48\x01");
/// let fields: Vec<(u32, Wire)> = raw.fields().collect();
/// assert_eq!(fields, [(1, Wire::Len(b"fw")), (9, Wire::Varint(1))]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: the payload.
    Len(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

/// A message's bytes, read field by field: what the generated views are
/// made of. Reading never fails: on bytes that were not checked, a
/// malformed field ends the message.
///
/// ```
/// use mesos_codec::view::{RawMessage, scalar};
/// // Filters { refuse_seconds: 5.0 }: field 1, a double.
/// let raw = RawMessage::new(b"\x09\x00\x00\x00\x00\x00\x00\x14\x40");
/// assert_eq!(raw.scalar::<scalar::Double>(1), Some(5.0));
/// assert_eq!(raw.scalar::<scalar::Double>(2), None);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct RawMessage<'a> {
    bytes: &'a [u8],
}

impl fmt::Debug for RawMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.bytes.len())
    }
}

impl<'a> RawMessage<'a> {
    /// The message encoded in `bytes`.
    ///
    /// ```
    /// let raw = mesos_codec::view::RawMessage::new(b"\x08\x01");
    /// assert_eq!(raw.as_bytes(), b"\x08\x01");
    /// ```
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        RawMessage { bytes }
    }

    /// The message's bytes.
    ///
    /// ```
    /// let raw = mesos_codec::view::RawMessage::new(b"");
    /// assert!(raw.as_bytes().is_empty());
    /// ```
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every field, in wire order: number and value.
    ///
    /// ```
    /// use mesos_codec::view::{RawMessage, Wire};
    /// let numbers: Vec<u32> = RawMessage::new(b"\x08\x01\x10\x02\x08\x03").fields().map(|(n, _)| n).collect();
    /// assert_eq!(numbers, [1, 2, 1]);
    /// ```
    #[inline]
    pub fn fields(&self) -> Fields<'a> {
        Fields { bytes: self.bytes, at: 0 }
    }

    /// The first value of field `number`: for a singular field of a
    /// checked message, its only one (checking rewrites repeats), found
    /// without reading the fields after it.
    ///
    /// ```
    /// use mesos_codec::view::{RawMessage, Wire};
    /// assert_eq!(RawMessage::new(b"\x08\x01\x08\x02").first(1), Some(Wire::Varint(1)));
    /// ```
    #[inline]
    pub fn first(&self, number: u32) -> Option<Wire<'a>> {
        self.fields().find(|&(n, _)| n == number).map(|(_, value)| value)
    }

    /// The last value of field `number` (protobuf's rule for a singular
    /// field given more than once).
    ///
    /// ```
    /// use mesos_codec::view::{RawMessage, Wire};
    /// assert_eq!(RawMessage::new(b"\x08\x01\x08\x02").last(1), Some(Wire::Varint(2)));
    /// ```
    #[inline]
    pub fn last(&self, number: u32) -> Option<Wire<'a>> {
        let mut found = None;
        for (n, value) in self.fields() {
            if n == number {
                found = Some(value);
            }
        }
        found
    }

    /// Which of the fields `members` (a oneof) came last, if any did.
    ///
    /// ```
    /// let raw = mesos_codec::view::RawMessage::new(b"\x08\x01\x10\x02");
    /// assert_eq!(raw.last_of(&[1, 2]), Some(2));
    /// assert_eq!(raw.last_of(&[3]), None);
    /// ```
    #[inline]
    pub fn last_of(&self, members: &[u32]) -> Option<u32> {
        let mut found = None;
        for (n, _) in self.fields() {
            if members.contains(&n) {
                found = Some(n);
            }
        }
        found
    }

    /// The value of field `number` of the oneof `members`, if it is the
    /// member that came last.
    ///
    /// ```
    /// use mesos_codec::view::{RawMessage, Wire};
    /// let raw = RawMessage::new(b"\x08\x01\x10\x02");
    /// assert_eq!(raw.one_of(2, &[1, 2]), Some(Wire::Varint(2)));
    /// assert_eq!(raw.one_of(1, &[1, 2]), None); // field 2 came after it
    /// ```
    #[inline]
    pub fn one_of(&self, number: u32, members: &[u32]) -> Option<Wire<'a>> {
        let mut found = None;
        for (n, value) in self.fields() {
            if n == number {
                found = Some(value);
            } else if members.contains(&n) {
                found = None;
            }
        }
        found
    }

    /// The value of the scalar field `number` (the [`first`](Self::first)),
    /// read as `S`.
    ///
    /// ```
    /// use mesos_codec::view::{RawMessage, scalar};
    /// // Field 1 = varint 3, read as sint64 (zigzag): -2.
    /// assert_eq!(RawMessage::new(b"\x08\x03").scalar::<scalar::Sint64>(1), Some(-2));
    /// ```
    #[inline]
    pub fn scalar<S: Scalar>(&self, number: u32) -> Option<S::Value> {
        self.first(number).and_then(S::from_wire)
    }

    /// The value of the string, bytes or message field `number` (the
    /// [`first`](Self::first)).
    ///
    /// ```
    /// use mesos_codec::view::RawMessage;
    /// assert_eq!(RawMessage::new(b"\x0a\x02fw").element::<&str>(1), Some("fw"));
    /// ```
    #[inline]
    pub fn element<E: Element<'a>>(&self, number: u32) -> Option<E> {
        self.first(number).and_then(E::from_wire)
    }

    /// The values of the repeated scalar field `number`, packed or not.
    ///
    /// ```
    /// use mesos_codec::view::{RawMessage, scalar};
    /// // Field 1: 7, then a packed run of 8 and 9.
    /// let raw = RawMessage::new(b"\x08\x07\x0a\x02\x08\x09");
    /// assert_eq!(raw.scalars::<scalar::Uint32>(1).collect::<Vec<_>>(), [7, 8, 9]);
    /// ```
    #[inline]
    pub fn scalars<S: Scalar>(&self, number: u32) -> Scalars<'a, S> {
        Scalars { fields: self.fields(), number, run: &[], _scalar: PhantomData }
    }

    /// The values of the repeated string, bytes or message field `number`.
    ///
    /// ```
    /// use mesos_codec::view::RawMessage;
    /// let raw = RawMessage::new(b"\x0a\x01a\x10\x01\x0a\x01b");
    /// assert_eq!(raw.repeated::<&str>(1).collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    #[inline]
    pub fn repeated<E: Element<'a>>(&self, number: u32) -> Repeated<'a, E> {
        Repeated { fields: self.fields(), number, _element: PhantomData }
    }
}

/// The fields of a message, in wire order: see [`RawMessage::fields`].
///
/// ```
/// let mut fields = mesos_codec::view::RawMessage::new(b"\x08\x01").fields();
/// assert!(fields.next().is_some() && fields.next().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u32, Wire<'a>);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let (data, at) = (self.bytes, self.at);
        // A one-byte key with a one-byte varint or length, or a fixed-width
        // value (nearly every field of a master's messages); anything else
        // the general reader.
        if let (Some(&key), Some(&byte)) = (data.get(at), data.get(at + 1)) {
            if (8..0x80).contains(&key) {
                let number = u32::from(key >> 3);
                let found = match key & 7 {
                    0 if byte < 0x80 => Some((Wire::Varint(u64::from(byte)), at + 2)),
                    2 if byte < 0x80 => {
                        let end = at + 2 + usize::from(byte);
                        data.get(at + 2..end).map(|value| (Wire::Len(value), end))
                    }
                    1 => data.get(at + 1..at + 9).map(|b| {
                        let mut w = [0u8; 8];
                        w.copy_from_slice(b);
                        (Wire::Fixed64(u64::from_le_bytes(w)), at + 9)
                    }),
                    5 => data.get(at + 1..at + 5).map(|b| {
                        let mut w = [0u8; 4];
                        w.copy_from_slice(b);
                        (Wire::Fixed32(u32::from_le_bytes(w)), at + 5)
                    }),
                    _ => None,
                };
                if let Some((value, next)) = found {
                    self.at = next;
                    return Some((number, value));
                }
            }
        }
        self.next_general()
    }
}

impl<'a> Fields<'a> {
    /// [`Iterator::next`] for any field: the general reader.
    #[inline(never)]
    fn next_general(&mut self) -> Option<(u32, Wire<'a>)> {
        let Ok((number, value, next)) = wire::read_field(self.bytes, self.at) else {
            self.at = self.bytes.len();
            return None;
        };
        self.at = next;
        Some((number, wire_of(self.bytes, value)))
    }
}

#[inline(always)]
fn wire_of(bytes: &[u8], value: WireValue) -> Wire<'_> {
    match value {
        WireValue::Varint(v) => Wire::Varint(v),
        WireValue::Fixed64(v) => Wire::Fixed64(v),
        WireValue::Fixed32(v) => Wire::Fixed32(v),
        WireValue::Len(start, end) => Wire::Len(bytes.get(start..end).unwrap_or_default()),
    }
}

/// The values of a repeated scalar field: see [`RawMessage::scalars`].
///
/// ```
/// use mesos_codec::view::{RawMessage, scalar};
/// assert_eq!(RawMessage::new(b"\x08\x01\x08\x00").scalars::<scalar::Bool>(1).collect::<Vec<_>>(), [true, false]);
/// ```
pub struct Scalars<'a, S> {
    fields: Fields<'a>,
    number: u32,
    /// The rest of a packed run.
    run: &'a [u8],
    _scalar: PhantomData<fn() -> S>,
}

impl<S> Clone for Scalars<'_, S> {
    fn clone(&self) -> Self {
        Scalars { fields: self.fields.clone(), number: self.number, run: self.run, _scalar: PhantomData }
    }
}

impl<S> fmt::Debug for Scalars<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scalars").field("number", &self.number).finish_non_exhaustive()
    }
}

impl<S: Scalar> Iterator for Scalars<'_, S> {
    type Item = S::Value;

    #[inline]
    fn next(&mut self) -> Option<S::Value> {
        loop {
            if !self.run.is_empty() {
                match wire::read_value(self.run, 0, S::WIRE_TYPE) {
                    Ok((value, next)) => {
                        self.run = &self.run[next..];
                        if let Some(v) = S::from_wire(wire_of(&[], value)) {
                            return Some(v);
                        }
                    }
                    Err(_) => self.run = &[],
                }
                continue;
            }
            let (n, value) = self.fields.next()?;
            if n != self.number {
                continue;
            }
            match value {
                Wire::Len(run) if S::WIRE_TYPE != 2 => self.run = run,
                value => {
                    if let Some(v) = S::from_wire(value) {
                        return Some(v);
                    }
                }
            }
        }
    }
}

/// The values of a repeated string, bytes or message field (or a map's
/// entries): see [`RawMessage::repeated`].
///
/// ```
/// use mesos_codec::view::RawMessage;
/// let mut names = RawMessage::new(b"\x0a\x01a").repeated::<&str>(1);
/// assert_eq!((names.next(), names.next()), (Some("a"), None));
/// ```
pub struct Repeated<'a, E> {
    fields: Fields<'a>,
    number: u32,
    _element: PhantomData<fn() -> E>,
}

impl<E> Clone for Repeated<'_, E> {
    fn clone(&self) -> Self {
        Repeated { fields: self.fields.clone(), number: self.number, _element: PhantomData }
    }
}

impl<E> fmt::Debug for Repeated<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repeated").field("number", &self.number).finish_non_exhaustive()
    }
}

impl<'a, E: Element<'a>> Iterator for Repeated<'a, E> {
    type Item = E;

    #[inline]
    fn next(&mut self) -> Option<E> {
        loop {
            let (n, value) = self.fields.next()?;
            if n == self.number {
                if let Some(e) = E::from_wire(value) {
                    return Some(e);
                }
            }
        }
    }
}

/// A length-delimited field's value: a string, bytes, or a message view.
///
/// ```
/// use mesos_codec::view::{Element, Wire};
/// assert_eq!(<&str>::from_wire(Wire::Len(b"ok")), Some("ok"));
/// assert_eq!(<&str>::from_wire(Wire::Len(b"\xff")), None); // not UTF-8
/// assert_eq!(<&[u8]>::from_wire(Wire::Varint(1)), None);
/// ```
pub trait Element<'a>: Sized {
    /// The value, if `wire` is length-delimited (and, for strings, UTF-8).
    fn from_wire(wire: Wire<'a>) -> Option<Self>;
}

impl<'a> Element<'a> for &'a str {
    #[inline]
    fn from_wire(wire: Wire<'a>) -> Option<Self> {
        match wire {
            Wire::Len(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }
}

impl<'a> Element<'a> for &'a [u8] {
    #[inline]
    fn from_wire(wire: Wire<'a>) -> Option<Self> {
        match wire {
            Wire::Len(bytes) => Some(bytes),
            _ => None,
        }
    }
}

impl<'a, V: MessageView<'a>> Element<'a> for V {
    #[inline]
    fn from_wire(wire: Wire<'a>) -> Option<Self> {
        match wire {
            Wire::Len(bytes) => Some(V::from_raw(RawMessage::new(bytes))),
            _ => None,
        }
    }
}

/// How a scalar type is read from the wire: see the types in [`scalar`].
///
/// ```
/// use mesos_codec::view::{Scalar, Wire, scalar};
/// assert_eq!(scalar::Int32::from_wire(Wire::Varint(u64::MAX)), Some(-1));
/// assert_eq!(scalar::Float::from_wire(Wire::Fixed32(1.5f32.to_bits())), Some(1.5));
/// assert_eq!(scalar::Float::from_wire(Wire::Varint(1)), None);
/// ```
pub trait Scalar {
    /// The Rust type it reads as.
    type Value;
    /// The wire type of one value.
    const WIRE_TYPE: u8;
    /// The value, if `wire` has this type's wire type.
    fn from_wire(wire: Wire<'_>) -> Option<Self::Value>;
}

/// The protobuf scalar types, as [`Scalar`] readers.
///
/// ```
/// use mesos_codec::view::{Scalar, Wire, scalar};
/// assert_eq!(scalar::Sint32::from_wire(Wire::Varint(1)), Some(-1));
/// assert_eq!(scalar::Bool::from_wire(Wire::Varint(2)), Some(true));
/// ```
pub mod scalar {
    use super::{Scalar, Wire};

    macro_rules! scalars {
        ($($(#[$doc:meta])* $name:ident: $value:ty, $wire_type:literal, $wire:ident($v:ident) => $read:expr;)*) => {$(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Scalar for $name {
                type Value = $value;
                const WIRE_TYPE: u8 = $wire_type;
                #[inline]
                #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, clippy::cast_sign_loss)]
                fn from_wire(wire: Wire<'_>) -> Option<$value> {
                    match wire {
                        Wire::$wire($v) => Some($read),
                        _ => None,
                    }
                }
            }
        )*};
    }

    scalars! {
        /// `double`.
        Double: f64, 1, Fixed64(v) => f64::from_bits(v);
        /// `float`.
        Float: f32, 5, Fixed32(v) => f32::from_bits(v);
        /// `int32` (and enums, as numbers): a varint, truncated to 32 bits.
        Int32: i32, 0, Varint(v) => v as i32;
        /// `int64`.
        Int64: i64, 0, Varint(v) => v as i64;
        /// `uint32`.
        Uint32: u32, 0, Varint(v) => v as u32;
        /// `uint64`.
        Uint64: u64, 0, Varint(v) => v;
        /// `sint32` (zigzag).
        Sint32: i32, 0, Varint(v) => crate::wire::unzigzag(u64::from(v as u32)) as i32;
        /// `sint64` (zigzag).
        Sint64: i64, 0, Varint(v) => crate::wire::unzigzag(v);
        /// `fixed32`.
        Fixed32: u32, 5, Fixed32(v) => v;
        /// `fixed64`.
        Fixed64: u64, 1, Fixed64(v) => v;
        /// `sfixed32`.
        Sfixed32: i32, 5, Fixed32(v) => v as i32;
        /// `sfixed64`.
        Sfixed64: i64, 1, Fixed64(v) => v as i64;
        /// `bool`: any non-zero varint is true.
        Bool: bool, 0, Varint(v) => v != 0;
    }
}

// ---- checking ----

/// A checked message's shape.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    /// Every singular field occurs at most once: views can read it as it is.
    Canonical,
    /// Some singular field occurs more than once somewhere: it needs
    /// rewriting ([`canonical`]).
    Split,
}

/// Why a message was refused: where, and the fields leading there
/// (innermost first; field index and occurrence).
struct Failure {
    offset: usize,
    kind: ProtobufErrorKind,
    /// (message, field index, byte offset of the field in that message's
    /// bytes), innermost first.
    trail: Vec<(MessageId, usize, usize)>,
}

impl Failure {
    fn new(offset: usize, kind: ProtobufErrorKind) -> Box<Failure> {
        Box::new(Failure { offset, kind, trail: Vec::new() })
    }

    /// The error, with the path spelled as the JSON engines spell it
    /// (`offers.offers[3].resources[0].name`).
    fn into_error(self, schema: &'static Schema, top: MessageId, bytes: &[u8]) -> ProtobufError {
        let mut path = crate::json::Path::default();
        let mut data = bytes;
        debug_assert!(self.trail.last().is_none_or(|&(id, ..)| id == top));
        for &(id, index, at) in self.trail.iter().rev() {
            let field = &schema.message(id).fields[index];
            path.push_field(&field.name);
            if field.repeated {
                // Which occurrence: count the earlier ones.
                let earlier = RawMessage::new(data.get(..at).unwrap_or_default())
                    .fields()
                    .filter(|&(n, _)| n == field.number)
                    .count();
                path.push_index(earlier);
            }
            if let Ok((_, WireValue::Len(start, end), _)) = wire::read_field(data, at) {
                data = data.get(start..end).unwrap_or_default();
            }
        }
        ProtobufError { path: path.to_string(), offset: self.offset, kind: self.kind }
    }
}

/// Checks `data` as message `id`, nested `depth` deep.
fn check(schema: &'static Schema, id: MessageId, data: &[u8]) -> Result<Shape, Box<Failure>> {
    let split = check_at(schema, id, data, 0, 0)?;
    Ok(if split { Shape::Split } else { Shape::Canonical })
}

/// What checking a message has seen so far.
struct Seen {
    /// Fields given (bits by index), for repeats of singular ones.
    present: u64,
    /// Required fields satisfied (a required enum's unknown number does not
    /// count).
    satisfied: u64,
    /// A singular field given more than once, here or inside.
    split: bool,
    /// A required enum's unknown number: the error if the field stays
    /// missing.
    unknown_enum: Option<Box<Failure>>,
}

impl Seen {
    #[inline(always)]
    fn field(&mut self, rule: &Checks, index: usize) {
        let bit = 1u64 << index;
        self.split |= self.present & bit & rule.singular != 0;
        self.present |= bit;
        self.satisfied |= bit;
    }
}

/// Checks `data` as message `id` (at `base` in the input, nested `depth`
/// deep): the hot loop, for the fields nearly every message is made of; the
/// others go to [`check_field`]. True when a singular field is given more
/// than once (here or inside).
fn check_at(schema: &Schema, id: MessageId, data: &[u8], base: usize, depth: usize) -> Result<bool, Box<Failure>> {
    let rule = &schema.message(id).checks;
    let mut seen = Seen { present: 0, satisfied: 0, split: false, unknown_enum: None };
    let mut at = 0;
    while at < data.len() {
        // A one-byte key (field numbers 1 to 15) of a known field with its
        // own wire type, and a sound value: checked here.
        let fast = rule.by_key[usize::from(data[at] & 0x7f)] & if data[at] < 0x80 { u32::MAX } else { 0 };
        if fast != 0 {
            let entry = Entry(fast);
            match entry.wire_type() {
                0 => {
                    if let Some(end) = varint_end(data, at + 1) {
                        // A required enum's number must be known (one byte: 0 to 127).
                        if entry.class() != REQUIRED_ENUM
                            || (end == at + 2 && rule.known_numbers[entry.index()] & 1 << data[at + 1] != 0)
                        {
                            seen.field(rule, entry.index());
                            at = end;
                            continue;
                        }
                    }
                }
                2 => {
                    if let Some((start, end)) = len_value(data, at + 1) {
                        let value = &data[start..end];
                        match entry.class() {
                            MESSAGE if depth + 1 < MAX_DEPTH => {
                                seen.field(rule, entry.index());
                                match check_at(schema, entry.target(), value, base + start, depth + 1) {
                                    Ok(split) => seen.split |= split,
                                    Err(failure) => return Err(nested(failure, id, entry.index(), at)),
                                }
                                at = end;
                                continue;
                            }
                            STRING if value.is_ascii() || std::str::from_utf8(value).is_ok() => {
                                seen.field(rule, entry.index());
                                at = end;
                                continue;
                            }
                            PLAIN => {
                                seen.field(rule, entry.index());
                                at = end;
                                continue;
                            }
                            _ => {}
                        }
                    }
                }
                wire_type => {
                    let end = at + if wire_type == 1 { 9 } else { 5 };
                    if end <= data.len() {
                        seen.field(rule, entry.index());
                        at = end;
                        continue;
                    }
                }
            }
        }
        at = check_field(schema, id, data, at, base, depth, &mut seen)?;
    }
    if seen.satisfied & rule.required != rule.required {
        return Err(missing(schema, rule, id, base, seen));
    }
    Ok(seen.split)
}

/// The start and end of the length-delimited value whose length is at
/// `at`, if it lies within `data`.
#[inline(always)]
fn len_value(data: &[u8], at: usize) -> Option<(usize, usize)> {
    let (start, len) = match data.get(at) {
        Some(&byte) if byte < 0x80 => (at + 1, usize::from(byte)),
        _ => {
            let (len, start) = wire::read_varint(data, at).ok()?;
            (start, usize::try_from(len).ok()?)
        }
    };
    let end = start.checked_add(len)?;
    (end <= data.len()).then_some((start, end))
}

/// A failure inside the field at `at` (index `index`) of message `id`.
#[cold]
fn nested(mut failure: Box<Failure>, id: MessageId, index: usize, at: usize) -> Box<Failure> {
    failure.trail.push((id, index, at));
    failure
}

/// The failure for a required field missing from message `id` at `base`.
#[cold]
fn missing(schema: &Schema, rule: &Checks, id: MessageId, base: usize, seen: Seen) -> Box<Failure> {
    let missing = (rule.required & !seen.satisfied).trailing_zeros() as usize;
    if let Some(failure) = seen.unknown_enum.filter(|f| f.trail.first().is_some_and(|t| t.1 == missing)) {
        return failure;
    }
    let field = &schema.message(id).fields[missing];
    Failure::new(base, ProtobufErrorKind::MissingRequired { field: field.name.clone() })
}

/// Checks the field at `at` of message `id` the general way (any key, any
/// value, unknown fields skipped); returns where the next field starts.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn check_field(
    schema: &Schema,
    id: MessageId,
    data: &[u8],
    at: usize,
    base: usize,
    depth: usize,
    seen: &mut Seen,
) -> Result<usize, Box<Failure>> {
    let message = schema.message(id);
    let rule = &message.checks;
    let (number, value, next) = wire::read_field(data, at).map_err(|kind| Failure::new(base + at, kind))?;
    let Some(entry) = rule.entry(message, number) else { return Ok(next) };
    let index = entry.index();
    // Errors about the key are at the key; about the value, at the value
    // (where the JSON writer puts them too).
    let fail_at = |offset, kind| nested(Failure::new(offset, kind), id, index, at);
    if !entry.accepts(value.wire_type()) {
        let expected = message.fields[index].kind.wire_type();
        return Err(fail_at(base + at, ProtobufErrorKind::WrongWireType { expected, found: value.wire_type() }));
    }
    seen.field(rule, index);
    match (entry.class(), value) {
        (STRING, WireValue::Len(start, end)) if std::str::from_utf8(&data[start..end]).is_err() => {
            return Err(fail_at(base + start, ProtobufErrorKind::InvalidUtf8));
        }
        (MESSAGE, WireValue::Len(start, end)) => {
            if depth + 1 >= MAX_DEPTH {
                return Err(fail_at(base + start, ProtobufErrorKind::TooDeep));
            }
            match check_at(schema, entry.target(), &data[start..end], base + start, depth + 1) {
                Ok(split) => seen.split |= split,
                Err(failure) => return Err(nested(failure, id, index, at)),
            }
        }
        (REQUIRED_ENUM, WireValue::Varint(v)) => {
            // An unknown number of a required enum is not the field (proto2
            // keeps it among the unknown fields), so the field is missing
            // unless a known one follows.
            let enumeration = schema.enumeration(entry.target());
            #[allow(clippy::cast_possible_truncation)]
            let number = v as i32;
            if enumeration.name_of(number).is_none() {
                seen.satisfied &= !(1u64 << index);
                let name = enumeration.name.clone();
                let kind = ProtobufErrorKind::UnknownEnumNumber { number, enumeration: name };
                seen.unknown_enum = Some(fail_at(base + at, kind));
            }
        }
        (_, WireValue::Len(start, end)) if entry.wire_type() != 2 => {
            // A packed run: whole values only.
            let wire_type = entry.wire_type();
            let mut p = start;
            while p < end {
                p = wire::read_packed(data, p, end, wire_type).map_err(|k| fail_at(base + p, k))?.1;
            }
        }
        _ => {}
    }
    Ok(next)
}

/// Where the varint at `at` ends, if it does within `data` and ten bytes.
#[inline(always)]
fn varint_end(data: &[u8], at: usize) -> Option<usize> {
    let tail = data.get(at..)?;
    let len = tail.iter().take(10).position(|&b| b < 0x80)? + 1;
    // A tenth byte may only hold the 64th bit.
    if len == 10 && tail[9] > 1 {
        return None;
    }
    Some(at + len)
}

/// `bytes` rewritten with the occurrences of every singular message field
/// merged into one (where its last occurrence was, so that the last member
/// of a oneof stays the last), and checked again. An error is the
/// canonical bytes' (its offsets are theirs); bytes that cannot be framed
/// give `None`.
#[cold]
fn canonical(id: MessageId, bytes: &Bytes) -> Result<Bytes, Option<ProtobufError>> {
    let schema = Schema::get();
    let mut out = Vec::with_capacity(bytes.len());
    merge_split(schema, id, bytes, &mut out).ok_or(None)?;
    let canonical = Bytes::from(out);
    match check(schema, id, &canonical) {
        Ok(_) => Ok(canonical),
        Err(failure) => Err(Some((*failure).into_error(schema, id, &canonical))),
    }
}

/// Whether `value` is a value of the field `entry` describes: its wire type,
/// and UTF-8 for a string.
fn sound(entry: Entry, value: WireValue, data: &[u8]) -> bool {
    entry.accepts(value.wire_type())
        && match (entry.class(), value) {
            (STRING, WireValue::Len(start, end)) => std::str::from_utf8(&data[start..end]).is_ok(),
            _ => true,
        }
}

/// Writes `data` (message `id`) to `out` with every singular field given
/// once: message values merged, the last of other values kept; `None` when
/// the bytes cannot be framed.
fn merge_split(schema: &Schema, id: MessageId, data: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let message = schema.message(id);
    let rule = &message.checks;
    // How often each singular field is given.
    let mut counts = [0u32; 64];
    let mut at = 0;
    while at < data.len() {
        let (number, _, next) = wire::read_field(data, at).ok()?;
        if let Some(entry) = rule.entry(message, number) {
            counts[entry.index()] += 1;
        }
        at = next;
    }
    let mut remaining = counts;
    let mut merged: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let (number, value, next) = wire::read_field(data, at).ok()?;
        let Some(entry) = rule.entry(message, number) else {
            out.extend_from_slice(&data[at..next]);
            at = next;
            continue;
        };
        let i = entry.index();
        let repeat = rule.singular & (1 << i) != 0 && counts[i] > 1;
        remaining[i] -= 1;
        // Another member of a oneof clears a message member merged so far.
        let siblings = rule.oneof_siblings[i];
        if siblings != 0 {
            for (j, payload) in &mut merged {
                if siblings & (1 << *j) != 0 {
                    payload.clear();
                }
            }
        }
        match (entry.class(), value) {
            (MESSAGE, WireValue::Len(start, end)) => {
                // Each occurrence must be framed on its own, as a parser
                // reads it, before the occurrences are merged.
                if repeat && schema.check_framing(entry.target(), &data[start..end]).is_err() {
                    return None;
                }
                let payload = if repeat {
                    let slot = match merged.iter().position(|(j, _)| *j == i) {
                        Some(slot) => slot,
                        None => {
                            merged.push((i, Vec::new()));
                            merged.len() - 1
                        }
                    };
                    merged[slot].1.extend_from_slice(&data[start..end]);
                    if remaining[i] > 0 {
                        // Written with the last occurrence.
                        at = next;
                        continue;
                    }
                    std::mem::take(&mut merged[slot].1)
                } else {
                    data[start..end].to_vec()
                };
                let mut inner = Vec::with_capacity(payload.len());
                merge_split(schema, entry.target(), &payload, &mut inner)?;
                wire::write_varint(u64::from(number) << 3 | 2, out);
                wire::write_varint(inner.len() as u64, out);
                out.extend_from_slice(&inner);
            }
            // An earlier value of a singular field: the last one wins; but a
            // value that is not one (a wrong wire type, a string that is not
            // UTF-8) stays, for the check to refuse as prost and the JSON
            // writer do (issue 18: it was dropped unchecked).
            _ if repeat && remaining[i] > 0 && sound(entry, value, data) => {}
            _ => out.extend_from_slice(&data[at..next]),
        }
        at = next;
    }
    Some(())
}
