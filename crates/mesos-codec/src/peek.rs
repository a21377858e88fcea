//! Fast peeks: a message's type and its key ids, read from either encoding
//! (protobuf wire bytes or Mesos JSON) without decoding the whole message.
//!
//! The session log's summaries (`call`, `event`, `framework_id`) and
//! replay's matching run these on every message, so they read as little as
//! they can:
//!
//! - [`peek_type`] returns the name of the message's top-level `type` enum
//!   field (`"SUBSCRIBE"`, `"OFFERS"`, `"HEARTBEAT"`). On protobuf it walks
//!   the top-level fields, stepping over length-delimited values by their
//!   length, and stops at `type`. On JSON it steps over the top-level
//!   object's members with the codec's JSON lexer (`json/lex.rs`,
//!   the fast JSON reader's too) up to `type`, and allocates nothing. A 1.x
//!   master writes `type` first (JSON in declaration order, protobuf in
//!   field-number order), so the peek reads a few bytes; a 0.28 master's
//!   alphabetical JSON puts `type` last, which still works, by stepping
//!   over everything before it. Anything the lexer is not sure of (an
//!   escape in a key or the name, malformed JSON) goes to the serde walk
//!   below, which gives the answer or the error.
//! - [`peek_ids`] walks the whole message, descending (driven by the schema)
//!   only into fields whose types can hold an id, and returns the [`Ids`] it
//!   met: framework, offer, agent, task, executor and operation ids, task
//!   status uuids and operation status uuids. Strings borrow from the input
//!   where they can. JSON is read with serde_json's streaming tokenizer, no
//!   JSON tree is built; skipped values are checked for syntax only.
//! - [`peek_heading`] is [`peek_ids`] narrowed to what a session log files a
//!   message under, its type and first framework id: the same walk,
//!   descending only into fields that can hold a framework id, and into
//!   none once it has one. On JSON it steps over the objects and arrays it
//!   does not descend into by their brackets alone, 64 bytes at a time,
//!   unchecked: a recorder does this for every event it forwards.
//!
//! All take untrusted input and never panic: malformed input is a
//! [`PeekError`] saying where (a byte offset for protobuf, a line and column
//! for JSON, and the field path) and why. They check what they read, no
//! more: a peek is not a validator, and [`crate::json`] is the one to ask
//! whether a whole message is well formed.
//!
//! ```
//! use mesos_codec::json::message_type;
//! use mesos_codec::api::Encoding;
//! use mesos_codec::peek::{peek_ids, peek_type};
//!
//! let call = message_type("scheduler.Call")?;
//! let json = br#"{"framework_id":{"value":"test13"},"type":"ACKNOWLEDGE",
//!     "acknowledge":{"agent_id":{"value":"S1"},"task_id":{"value":"00016"},"uuid":"H9KoCldtRTu0T7halLxs9w=="}}"#;
//! assert_eq!(peek_type(call, Encoding::Json, json)?, Some("ACKNOWLEDGE"));
//!
//! let ids = peek_ids(call, Encoding::Json, json)?;
//! assert_eq!(ids.type_name, Some("ACKNOWLEDGE"));
//! assert_eq!(ids.framework_ids, ["test13"]);
//! assert_eq!((ids.agent_ids[0].as_ref(), ids.task_ids[0].as_ref()), ("S1", "00016"));
//! assert_eq!(ids.status_uuids[0].to_base64(), "H9KoCldtRTu0T7halLxs9w==");
//!
//! // The same call as protobuf gives the same answers.
//! let pb = mesos_codec::json::json_to_protobuf(call, json)?;
//! assert_eq!(peek_type(call, Encoding::Protobuf, &pb)?, Some("ACKNOWLEDGE"));
//! assert_eq!(peek_ids(call, Encoding::Protobuf, &pb)?, ids);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::OnceLock;

use base64::Engine;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::api::Encoding;
use crate::json::{JsonError, KeySeed, Path, ProtobufError, ProtobufErrorKind, lex};
use crate::schema::{Enum, Field, FieldKind, MessageId, Schema};
use crate::wire::{WireValue, read_field, read_varint};

/// Nesting deeper than this is refused, as the JSON reader refuses it.
const MAX_DEPTH: usize = 100;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Bad input met by a peek: where and why.
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_codec::peek::{peek_type, PeekError};
/// let event = mesos_codec::json::message_type("scheduler.Event")?;
///
/// let Err(PeekError::Json(err)) = peek_type(event, Encoding::Json, b"{\n\"type\": 4}") else { panic!() };
/// assert_eq!((err.path.as_str(), err.line, err.column), ("type", 2, 9));
///
/// // Field 2 (`subscribed`) says it holds 5 bytes; there is 1.
/// let Err(PeekError::Protobuf(err)) = peek_type(event, Encoding::Protobuf, &[0x12, 0x05, 0x0a]) else { panic!() };
/// assert_eq!(err.offset, 0);
/// assert_eq!(err.to_string(), "byte 0, (top level): truncated message (the input ends inside a field)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeekError {
    /// Bad protobuf: the byte offset, the field path and the reason.
    #[error("protobuf {0}")]
    Protobuf(#[from] ProtobufError),
    /// Bad JSON: the line and column, the field path and the reason.
    #[error("JSON {0}")]
    Json(#[from] JsonError),
    /// Protobuf messages nested deeper than 100 levels (the JSON reader's
    /// limit), refused before they exhaust the stack.
    #[error("protobuf byte {offset}, {path}: messages nested deeper than 100 levels")]
    ProtobufTooDeep {
        /// The byte offset of the field that goes too deep.
        offset: usize,
        /// Its path.
        path: String,
    },
}

/// The kinds of ids [`peek_ids`] collects, one per id message of the schema.
///
/// ```
/// use mesos_codec::peek::IdKind;
/// assert_eq!(IdKind::Agent.message_name(), "mesos.v1.AgentID");
/// assert_eq!(IdKind::ALL.len(), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// `mesos.v1.FrameworkID`.
    Framework,
    /// `mesos.v1.OfferID` (inverse offers' ids too).
    Offer,
    /// `mesos.v1.AgentID`.
    Agent,
    /// `mesos.v1.TaskID`.
    Task,
    /// `mesos.v1.ExecutorID`.
    Executor,
    /// `mesos.v1.OperationID`.
    Operation,
}

impl IdKind {
    /// Every kind, in the order of [`Ids`]' fields.
    ///
    /// ```
    /// use mesos_codec::peek::IdKind;
    /// assert_eq!(IdKind::ALL[0], IdKind::Framework);
    /// ```
    pub const ALL: [IdKind; 6] =
        [IdKind::Framework, IdKind::Offer, IdKind::Agent, IdKind::Task, IdKind::Executor, IdKind::Operation];

    /// The full name of the id message (`{ required string value = 1; }`).
    ///
    /// ```
    /// assert_eq!(mesos_codec::peek::IdKind::Framework.message_name(), "mesos.v1.FrameworkID");
    /// ```
    pub fn message_name(self) -> &'static str {
        match self {
            IdKind::Framework => "mesos.v1.FrameworkID",
            IdKind::Offer => "mesos.v1.OfferID",
            IdKind::Agent => "mesos.v1.AgentID",
            IdKind::Task => "mesos.v1.TaskID",
            IdKind::Executor => "mesos.v1.ExecutorID",
            IdKind::Operation => "mesos.v1.OperationID",
        }
    }

    fn from_message_name(name: &str) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|kind| kind.message_name() == name)
    }
}

/// A status update uuid, as raw bytes (borrowed from protobuf input, decoded
/// from JSON's base64). It displays as the padded standard base64 that Mesos
/// JSON carries.
///
/// ```
/// use mesos_codec::peek::Uuid;
/// let uuid = Uuid::from(&b"\x1f\xd2"[..]);
/// assert_eq!(uuid.as_bytes(), [0x1f, 0xd2]);
/// assert_eq!(uuid.to_string(), "H9I=");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid<'a>(pub Cow<'a, [u8]>);

impl<'a> Uuid<'a> {
    /// The raw bytes (16 for the uuids Mesos makes).
    ///
    /// ```
    /// let uuid = mesos_codec::peek::Uuid::from(vec![1, 2, 3]);
    /// assert_eq!(uuid.as_bytes(), [1, 2, 3]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The padded standard base64, as Mesos JSON writes the uuid.
    ///
    /// ```
    /// let uuid = mesos_codec::peek::Uuid::from(vec![0xff, 0xee]);
    /// assert_eq!(uuid.to_base64(), "/+4=");
    /// ```
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.0)
    }

    /// Owns the bytes, so the uuid outlives the input.
    ///
    /// ```
    /// let owned: mesos_codec::peek::Uuid<'static> = {
    ///     let input = vec![7u8; 16];
    ///     mesos_codec::peek::Uuid::from(&input[..]).into_owned()
    /// };
    /// assert_eq!(owned.as_bytes(), [7u8; 16]);
    /// ```
    pub fn into_owned(self) -> Uuid<'static> {
        Uuid(Cow::Owned(self.0.into_owned()))
    }
}

impl<'a> From<&'a [u8]> for Uuid<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Uuid(Cow::Borrowed(bytes))
    }
}

impl From<Vec<u8>> for Uuid<'static> {
    fn from(bytes: Vec<u8>) -> Self {
        Uuid(Cow::Owned(bytes))
    }
}

impl fmt::Display for Uuid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Uuid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({:?})", self.to_base64())
    }
}

/// What [`peek_ids`] found in a message: its type, and its ids by kind.
///
/// Each list is in order of appearance in the input, without repeats (an id
/// met twice is listed once). The order is the input's: the same message
/// written with its keys in another order can list ids of one kind in
/// another order. Strings borrow from the input unless JSON escapes had to
/// be undone; uuids borrow from protobuf input and are decoded from JSON's
/// base64.
///
/// ```
/// use mesos_codec::json::message_type;
/// use mesos_codec::api::Encoding;
/// use mesos_codec::peek::{peek_ids, IdKind};
///
/// let event = br#"{"type":"OFFERS","offers":{"offers":[
///     {"id":{"value":"O1"},"framework_id":{"value":"f1"},"agent_id":{"value":"S0"},"hostname":"h"},
///     {"id":{"value":"O2"},"framework_id":{"value":"f1"},"agent_id":{"value":"S0"},"hostname":"h"}]}}"#;
/// let ids = peek_ids(message_type("scheduler.Event")?, Encoding::Json, event)?;
/// assert_eq!(ids.offer_ids, ["O1", "O2"]);
/// assert_eq!(ids.get(IdKind::Agent), ["S0"]);
/// assert_eq!(ids.framework_id(), Some("f1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids<'a> {
    /// The name of the top-level `type` enum field's value, as
    /// [`peek_type`] returns it.
    pub type_name: Option<&'static str>,
    /// `mesos.v1.FrameworkID`s: `Call.framework_id`,
    /// `Event.subscribed.framework_id`, `Offer.framework_id`,
    /// `FrameworkInfo.id`, ...
    pub framework_ids: Vec<Cow<'a, str>>,
    /// `mesos.v1.OfferID`s (offers and inverse offers).
    pub offer_ids: Vec<Cow<'a, str>>,
    /// `mesos.v1.AgentID`s.
    pub agent_ids: Vec<Cow<'a, str>>,
    /// `mesos.v1.TaskID`s.
    pub task_ids: Vec<Cow<'a, str>>,
    /// `mesos.v1.ExecutorID`s.
    pub executor_ids: Vec<Cow<'a, str>>,
    /// `mesos.v1.OperationID`s.
    pub operation_ids: Vec<Cow<'a, str>>,
    /// Task status update uuids: `TaskStatus.uuid`,
    /// `scheduler.Call.Acknowledge.uuid`, `executor.Event.Acknowledged.uuid`
    /// and `Task.status_update_uuid`.
    pub status_uuids: Vec<Uuid<'a>>,
    /// Operation status update uuids: `OperationStatus.uuid` (a
    /// `mesos.v1.UUID`) and `scheduler.Call.AcknowledgeOperationStatus.uuid`.
    /// (`Operation.uuid`, the operation's own uuid, is not one.)
    pub operation_status_uuids: Vec<Uuid<'a>>,
}

impl<'a> Ids<'a> {
    /// The ids of one kind.
    ///
    /// ```
    /// use mesos_codec::peek::{Ids, IdKind};
    /// let ids = Ids { task_ids: vec!["t1".into()], ..Ids::default() };
    /// assert_eq!(ids.get(IdKind::Task), ["t1"]);
    /// assert!(ids.get(IdKind::Offer).is_empty());
    /// ```
    pub fn get(&self, kind: IdKind) -> &[Cow<'a, str>] {
        match kind {
            IdKind::Framework => &self.framework_ids,
            IdKind::Offer => &self.offer_ids,
            IdKind::Agent => &self.agent_ids,
            IdKind::Task => &self.task_ids,
            IdKind::Executor => &self.executor_ids,
            IdKind::Operation => &self.operation_ids,
        }
    }

    fn list_mut(&mut self, kind: IdKind) -> &mut Vec<Cow<'a, str>> {
        match kind {
            IdKind::Framework => &mut self.framework_ids,
            IdKind::Offer => &mut self.offer_ids,
            IdKind::Agent => &mut self.agent_ids,
            IdKind::Task => &mut self.task_ids,
            IdKind::Executor => &mut self.executor_ids,
            IdKind::Operation => &mut self.operation_ids,
        }
    }

    /// The first framework id met, the one a session log files the message
    /// under.
    ///
    /// ```
    /// use mesos_codec::peek::Ids;
    /// let ids = Ids { framework_ids: vec!["test13".into()], ..Ids::default() };
    /// assert_eq!(ids.framework_id(), Some("test13"));
    /// assert_eq!(Ids::default().framework_id(), None);
    /// ```
    pub fn framework_id(&self) -> Option<&str> {
        self.framework_ids.first().map(|id| id.as_ref())
    }

    /// Whether no id and no uuid was found (the type does not count).
    ///
    /// ```
    /// use mesos_codec::peek::Ids;
    /// assert!(Ids { type_name: Some("HEARTBEAT"), ..Ids::default() }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        IdKind::ALL.iter().all(|&kind| self.get(kind).is_empty())
            && self.status_uuids.is_empty()
            && self.operation_status_uuids.is_empty()
    }

    /// Owns every string and uuid, so the ids outlive the input.
    ///
    /// ```
    /// use mesos_codec::api::Encoding;
    /// use mesos_codec::peek::{peek_ids, Ids};
    /// let call = mesos_codec::json::message_type("scheduler.Call")?;
    /// let ids: Ids<'static> = {
    ///     let input = br#"{"type":"TEARDOWN","framework_id":{"value":"f1"}}"#.to_vec();
    ///     peek_ids(call, Encoding::Json, &input)?.into_owned()
    /// };
    /// assert_eq!(ids.framework_ids, ["f1"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_owned(self) -> Ids<'static> {
        fn own(list: Vec<Cow<'_, str>>) -> Vec<Cow<'static, str>> {
            list.into_iter().map(|s| Cow::Owned(s.into_owned())).collect()
        }
        Ids {
            type_name: self.type_name,
            framework_ids: own(self.framework_ids),
            offer_ids: own(self.offer_ids),
            agent_ids: own(self.agent_ids),
            task_ids: own(self.task_ids),
            executor_ids: own(self.executor_ids),
            operation_ids: own(self.operation_ids),
            status_uuids: self.status_uuids.into_iter().map(Uuid::into_owned).collect(),
            operation_status_uuids: self.operation_status_uuids.into_iter().map(Uuid::into_owned).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/// The name of the value of the top-level `type` enum field of `data`, a
/// message of type `message` in `encoding`.
///
/// `None` when the message type has no `type` enum field, when the message
/// leaves it unset (or JSON `null`), or when its value is one the schema
/// does not know (a newer master's), which the JSON reader would drop too.
///
/// Protobuf: every top-level field is stepped over (by its length) and the
/// last `type` wins, as in a full decode. JSON: it reads up to the first
/// `type` and no further (that is what makes it cheap on a large event),
/// so malformed input after it goes unnoticed, and a document that gives
/// `type` twice (which no encoder writes) is answered by its first; use
/// [`peek_heading`] or [`peek_ids`], which read everything and let the last
/// win, where that matters (the recorder files messages by
/// [`peek_heading`]). What it reads must be well formed. Allocates nothing
/// unless JSON escapes must be undone.
///
/// ```
/// use mesos_codec::json::message_type;
/// use mesos_codec::api::Encoding;
/// use mesos_codec::peek::peek_type;
///
/// let call = message_type("scheduler.Call")?;
/// let json = br#"{"framework_id":{"value":"test13"},"type":"TEARDOWN"}"#;
/// assert_eq!(peek_type(call, Encoding::Json, json)?, Some("TEARDOWN"));
/// // framework_id (field 1, skipped by its length), then type (field 2) = 2.
/// assert_eq!(peek_type(call, Encoding::Protobuf, b"\x0a\x08\x0a\x06test13\x10\x02")?, Some("TEARDOWN"));
/// // No `type`, or a message type without one.
/// assert_eq!(peek_type(call, Encoding::Json, b"{}")?, None);
/// assert_eq!(peek_type(message_type("FrameworkID")?, Encoding::Json, br#"{"value":"f"}"#)?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn peek_type(message: MessageId, encoding: Encoding, data: &[u8]) -> Result<Option<&'static str>, PeekError> {
    let Some(plan) = Tables::get().plans.get(message as usize) else { return Ok(None) };
    let Some(type_field) = &plan.type_field else { return Ok(None) };
    match encoding {
        Encoding::Protobuf => peek_type_protobuf(type_field, data).map_err(PeekError::Protobuf),
        Encoding::Json => match fast_type(type_field, data) {
            Some(name) => Ok(name),
            None => json_ids(&Tables::get().framework_plans, message, data).map(|ids| ids.type_name),
        },
    }
}

/// The ids in `data`, a message of type `message` in `encoding`, and its
/// type (as [`peek_type`] gives it).
///
/// Walks the whole message, descending only into the fields whose types
/// can hold an id; the rest is stepped over (JSON syntax is still checked
/// everywhere). Reads JSON leniently, as [`crate::json`] does: unknown keys
/// are ignored, `null` is unset, a single object stands for a one-element
/// list; and refuses, in the fields it reads, what that reader refuses
/// there (an array for a field that is not repeated, a string where an
/// object belongs, bad base64). Protobuf fields whose wire type does not
/// match their type are refused, as the JSON writer refuses them.
///
/// ```
/// use mesos_codec::json::{json_to_protobuf, message_type};
/// use mesos_codec::api::Encoding;
/// use mesos_codec::peek::peek_ids;
///
/// let event = message_type("scheduler.Event")?;
/// let json = br#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"test13"}}}"#;
/// let ids = peek_ids(event, Encoding::Json, json)?;
/// assert_eq!((ids.type_name, ids.framework_id()), (Some("SUBSCRIBED"), Some("test13")));
///
/// let pb = json_to_protobuf(event, json)?;
/// assert_eq!(peek_ids(event, Encoding::Protobuf, &pb)?, ids);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn peek_ids(message: MessageId, encoding: Encoding, data: &[u8]) -> Result<Ids<'_>, PeekError> {
    walk(&Tables::get().plans, message, encoding, data)
}

/// What a session log files a message under: its type and the first
/// framework id in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heading<'a> {
    /// As [`peek_type`] gives it.
    pub type_name: Option<&'static str>,
    /// The first `mesos.v1.FrameworkID` met, as [`Ids::framework_id`].
    pub framework_id: Option<Cow<'a, str>>,
}

/// The type and the first framework id of `data`, a message of type
/// `message` in `encoding`: [`peek_ids`]'s `type_name` and
/// [`Ids::framework_id`], for less.
///
/// Only the fields that can hold a framework id are descended into (in an
/// `UPDATE`, none), and none once the first framework id is read; nothing
/// else is collected. On JSON, every key of the objects it descends into
/// is read (the last `type` given wins, as in a full decode) and every
/// string, number and literal it steps over is checked as [`peek_ids`]
/// checks it; an object or array it does not descend into is stepped over
/// by its brackets alone (quotes and backslashes honoured), and what is
/// inside it is **not checked**. So on well-formed JSON the heading is
/// [`peek_ids`]' type and first framework id, and malformed JSON is an
/// error where the heading reads it, not where it does not: a heading is
/// not a validator ([`crate::api::decode_problem`] is). A recorder files
/// every event it forwards by its heading: checking every byte of every
/// record there was 45 % of the forwarding thread's time on a master's
/// mix of events, and the bracket step leaves about half of it
/// (`docs/performance.md`, nineteenth run).
///
/// ```
/// use mesos_codec::json::message_type;
/// use mesos_codec::api::Encoding;
/// use mesos_codec::peek::{peek_heading, peek_ids};
///
/// let event = message_type("scheduler.Event")?;
/// let json = br#"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"O1"},"framework_id":{"value":"f1"},
///     "agent_id":{"value":"S0"},"hostname":"h"}]}}"#;
/// let heading = peek_heading(event, Encoding::Json, json)?;
/// assert_eq!((heading.type_name, heading.framework_id.as_deref()), (Some("OFFERS"), Some("f1")));
/// let ids = peek_ids(event, Encoding::Json, json)?;
/// assert_eq!((ids.type_name, ids.framework_id()), (heading.type_name, heading.framework_id.as_deref()));
/// // Malformed JSON where the heading reads is an error; inside an array
/// // or object it steps over, it is not looked at.
/// assert!(peek_heading(event, Encoding::Json, br#"{"type":"HEARTBEAT","x":[1,}"#).is_err());
/// assert!(peek_heading(event, Encoding::Json, br#"{"type":"HEARTBEAT","x":[1,,]}"#).is_ok());
/// assert!(peek_ids(event, Encoding::Json, br#"{"type":"HEARTBEAT","x":[1,,]}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn peek_heading(message: MessageId, encoding: Encoding, data: &[u8]) -> Result<Heading<'_>, PeekError> {
    let plans = &Tables::get().framework_plans;
    if encoding == Encoding::Json {
        if let Some(heading) = FastHeading::run(plans, message, data) {
            return Ok(heading);
        }
    }
    let ids = walk(plans, message, encoding, data)?;
    Ok(Heading { type_name: ids.type_name, framework_id: ids.framework_ids.into_iter().next() })
}

/// Walks `data` by `plans`, collecting what they say.
fn walk<'a>(
    plans: &'static [Plan],
    message: MessageId,
    encoding: Encoding,
    data: &'a [u8],
) -> Result<Ids<'a>, PeekError> {
    if plans.get(message as usize).is_none() {
        return Ok(Ids::default());
    }
    match encoding {
        Encoding::Protobuf => {
            let mut walk = PbWalk { plans, schema: Schema::get(), ids: Collector::default(), path: Path::default() };
            walk.top(message, data)?;
            Ok(walk.ids.ids)
        }
        Encoding::Json => json_ids(plans, message, data),
    }
}

// ---------------------------------------------------------------------------
// Schema plans
// ---------------------------------------------------------------------------

/// What a peek does with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Step over it: its type holds no id.
    Skip,
    /// An id message: collect its `value`.
    Id(IdKind),
    /// A bytes uuid: collect it.
    Uuid(UuidKind),
    /// A `mesos.v1.UUID` message: collect its `value` bytes.
    UuidMessage(UuidKind),
    /// A message that can hold ids: walk it.
    Descend(MessageId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UuidKind {
    Status,
    OperationStatus,
}

/// The bytes uuid fields, by message and field name.
const UUID_FIELDS: [(&str, &str, UuidKind); 5] = [
    ("mesos.v1.TaskStatus", "uuid", UuidKind::Status),
    ("mesos.v1.scheduler.Call.Acknowledge", "uuid", UuidKind::Status),
    ("mesos.v1.executor.Event.Acknowledged", "uuid", UuidKind::Status),
    ("mesos.v1.Task", "status_update_uuid", UuidKind::Status),
    ("mesos.v1.scheduler.Call.AcknowledgeOperationStatus", "uuid", UuidKind::OperationStatus),
];

/// The `mesos.v1.UUID` fields that hold status uuids.
const UUID_MESSAGE_FIELDS: [(&str, &str, UuidKind); 1] =
    [("mesos.v1.OperationStatus", "uuid", UuidKind::OperationStatus)];

/// A message's top-level `type` enum field.
#[derive(Debug)]
struct TypeField {
    /// Its index in the message's fields.
    index: usize,
    number: u32,
    enumeration: &'static Enum,
}

impl TypeField {
    /// The canonical name (the one protobuf input gives) of the value named
    /// `name`, an alias maybe.
    #[inline]
    fn by_name(&self, name: &[u8]) -> Option<&'static str> {
        self.enumeration.canonical_name(name)
    }

    fn by_number(&self, number: u64) -> Option<&'static str> {
        // Enums are int32 on the wire; C++ truncates the varint the same way.
        self.enumeration.name_of(number as i32)
    }
}

#[derive(Debug)]
struct Plan {
    /// By field index.
    actions: Vec<Action>,
    type_field: Option<TypeField>,
    /// The message is itself an id message.
    own: Option<IdKind>,
}

#[derive(Debug)]
struct Tables {
    /// By message id: every id and uuid ([`peek_ids`]).
    plans: Vec<Plan>,
    /// By message id: framework ids only ([`peek_heading`]).
    framework_plans: Vec<Plan>,
}

impl Tables {
    fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| {
            let schema = Schema::get();
            Tables { plans: Tables::build(schema, false), framework_plans: Tables::build(schema, true) }
        })
    }

    /// The plans of every message: for every id and uuid, or (`framework_only`)
    /// for framework ids alone.
    fn build(schema: &'static Schema, framework_only: bool) -> Vec<Plan> {
        let ids: Vec<MessageId> =
            schema.message_names().iter().filter_map(|name| schema.message_by_name(name)).collect();
        let count = ids.iter().map(|&id| id as usize + 1).max().unwrap_or(0);
        let mut known = vec![false; count];
        let mut own: Vec<Option<IdKind>> = vec![None; count];
        for &id in &ids {
            known[id as usize] = true;
            own[id as usize] = IdKind::from_message_name(&schema.message(id).name)
                .filter(|&kind| !framework_only || kind == IdKind::Framework);
        }

        // The leaf action of every field: ids and uuids.
        let leaf = |id: MessageId, field: &Field| -> Option<Action> {
            let message = &schema.message(id).name;
            if framework_only {
                return match field.kind {
                    FieldKind::Message(target) => own.get(target as usize).copied().flatten().map(Action::Id),
                    _ => None,
                };
            }
            if let Some(&(_, _, kind)) = UUID_FIELDS.iter().find(|(m, f, _)| m == message && *f == field.name) {
                return (field.kind == FieldKind::Bytes).then_some(Action::Uuid(kind));
            }
            if let Some(&(_, _, kind)) = UUID_MESSAGE_FIELDS.iter().find(|(m, f, _)| m == message && *f == field.name) {
                return matches!(field.kind, FieldKind::Message(_)).then_some(Action::UuidMessage(kind));
            }
            match field.kind {
                FieldKind::Message(target) => own.get(target as usize).copied().flatten().map(Action::Id),
                _ => None,
            }
        };

        // Which messages can hold an id, directly or nested: a fixpoint.
        let mut reaches = vec![false; count];
        for &id in &ids {
            reaches[id as usize] = schema.message(id).fields.iter().any(|f| leaf(id, f).is_some());
        }
        let mut changed = true;
        while changed {
            changed = false;
            for &id in &ids {
                if reaches[id as usize] {
                    continue;
                }
                let nested = schema.message(id).fields.iter().any(|f| match f.kind {
                    FieldKind::Message(target) => reaches.get(target as usize).copied().unwrap_or(false),
                    _ => false,
                });
                if nested {
                    reaches[id as usize] = true;
                    changed = true;
                }
            }
        }

        (0..count)
            .map(|index| {
                let id = index as MessageId;
                if !known[index] {
                    return Plan { actions: Vec::new(), type_field: None, own: None };
                }
                let message = schema.message(id);
                let actions = message
                    .fields
                    .iter()
                    .map(|f| {
                        leaf(id, f).unwrap_or(match f.kind {
                            FieldKind::Message(target) if reaches.get(target as usize).copied().unwrap_or(false) => {
                                Action::Descend(target)
                            }
                            _ => Action::Skip,
                        })
                    })
                    .collect();
                let type_field = message.field_index("type").and_then(|index| {
                    let field = &message.fields[index];
                    let FieldKind::Enum(enum_id) = field.kind else { return None };
                    if field.repeated {
                        return None;
                    }
                    Some(TypeField { index, number: field.number, enumeration: schema.enumeration(enum_id) })
                });
                Plan { actions, type_field, own: own.get(index).copied().flatten() }
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Collecting, without repeats
// ---------------------------------------------------------------------------

/// Below this many items a list is searched; from there on a set of hashes
/// is kept beside it.
const LINEAR: usize = 8;

/// The hashes of a list's items, once it is long enough.
#[derive(Default)]
struct Seen(Option<HashSet<u64, BuildHasherDefault<Identity>>>);

/// The values in [`Seen`] are hashes already.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(bytes);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A fast hash, eight bytes at a time (FxHash's mixing); a collision only
/// costs a search of the list.
fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(word));
    }
    h
}

fn insert_unique<T>(list: &mut Vec<T>, seen: &mut Seen, item: T, bytes: impl Fn(&T) -> &[u8]) {
    let new = bytes(&item);
    match &mut seen.0 {
        None => {
            if list.iter().any(|x| bytes(x) == new) {
                return;
            }
            list.push(item);
            if list.len() >= LINEAR {
                seen.0 = Some(list.iter().map(|x| hash_bytes(bytes(x))).collect());
            }
        }
        Some(hashes) => {
            let h = hash_bytes(new);
            if hashes.contains(&h) && list.iter().any(|x| bytes(x) == new) {
                return;
            }
            hashes.insert(h);
            list.push(item);
        }
    }
}

#[derive(Default)]
struct Collector<'a> {
    ids: Ids<'a>,
    seen: [Seen; 8],
}

impl<'a> Collector<'a> {
    fn id(&mut self, kind: IdKind, value: Cow<'a, str>) {
        let seen = &mut self.seen[kind as usize];
        insert_unique(self.ids.list_mut(kind), seen, value, |s| s.as_bytes());
    }

    fn uuid(&mut self, kind: UuidKind, value: Uuid<'a>) {
        let (list, seen) = match kind {
            UuidKind::Status => (&mut self.ids.status_uuids, &mut self.seen[6]),
            UuidKind::OperationStatus => (&mut self.ids.operation_status_uuids, &mut self.seen[7]),
        };
        insert_unique(list, seen, value, |u| u.as_bytes());
    }

    fn type_name(&mut self, name: Option<&'static str>) {
        // The last `type` given wins, as in a full decode (a value the
        // schema does not know leaves the one before, as proto2 and the
        // JSON reader leave it).
        if name.is_some() {
            self.ids.type_name = name;
        }
    }
}

// ---------------------------------------------------------------------------
// Protobuf
// ---------------------------------------------------------------------------

fn pb_error(offset: usize, path: &str, kind: ProtobufErrorKind) -> ProtobufError {
    ProtobufError { path: path.to_owned(), offset, kind }
}

fn peek_type_protobuf(type_field: &TypeField, data: &[u8]) -> Result<Option<&'static str>, ProtobufError> {
    // Every top-level field is stepped over (by its length, so this costs
    // the number of top-level fields, not the size): the last `type` wins,
    // as in a full decode, and a number the schema does not know leaves the
    // one before (proto2).
    let mut found = None;
    let mut at = 0;
    while at < data.len() {
        let (key, after_key) = read_varint(data, at).map_err(|kind| pb_error(at, "(top level)", kind))?;
        if key >> 3 == u64::from(type_field.number) {
            let wire_type = (key & 7) as u8;
            if wire_type != 0 {
                return Err(pb_error(at, "type", ProtobufErrorKind::WrongWireType { expected: 0, found: wire_type }));
            }
            let (value, next) = read_varint(data, after_key).map_err(|kind| pb_error(at, "type", kind))?;
            if let Some(name) = type_field.by_number(value) {
                found = Some(name);
            }
            at = next;
            continue;
        }
        let (_, _, next) = read_field(data, at).map_err(|kind| pb_error(at, "(top level)", kind))?;
        at = next;
    }
    Ok(found)
}

struct PbWalk<'a> {
    plans: &'static [Plan],
    schema: &'static Schema,
    ids: Collector<'a>,
    path: Path,
}

impl<'a> PbWalk<'a> {
    fn error(&self, offset: usize, kind: ProtobufErrorKind) -> PeekError {
        PeekError::Protobuf(ProtobufError { path: self.path.to_string(), offset, kind })
    }

    fn top(&mut self, id: MessageId, data: &'a [u8]) -> Result<(), PeekError> {
        if let Some(kind) = self.plans[id as usize].own {
            if let Some(value) = self.id_value(data, 0, data.len())? {
                self.ids.id(kind, value);
            }
            return Ok(());
        }
        self.message(id, data, 0, data.len(), 0)
    }

    /// Walks message `id` in `data[start..end]` (offsets are the input's).
    fn message(
        &mut self,
        id: MessageId,
        data: &'a [u8],
        start: usize,
        end: usize,
        depth: usize,
    ) -> Result<(), PeekError> {
        let schema = self.schema;
        let message = schema.message(id);
        let plan = &self.plans[id as usize];
        let type_index = if depth == 0 { plan.type_field.as_ref().map(|t| t.index) } else { None };
        let body = &data[..end];
        let mut at = start;
        while at < end {
            let (number, value, next) = read_field(body, at).map_err(|kind| self.error(at, kind))?;
            let field_at = at;
            at = next;
            let Some((index, field)) = message.field_by_number(number) else { continue };
            let expected = field.kind.wire_type();
            let found = value.wire_type();
            if found != expected && !(found == 2 && field.repeated && field.kind.packable()) {
                self.path.push_field(&field.name);
                return Err(self.error(field_at, ProtobufErrorKind::WrongWireType { expected, found }));
            }
            if Some(index) == type_index {
                if let (WireValue::Varint(v), Some(t)) = (value, &plan.type_field) {
                    self.ids.type_name(t.by_number(v));
                }
                continue;
            }
            let action = plan.actions[index];
            let WireValue::Len(s, e) = value else { continue };
            match action {
                Action::Skip => {}
                Action::Id(kind) => {
                    self.path.push_field(&field.name);
                    let value = self.id_value(data, s, e)?;
                    self.path.pop();
                    if let Some(value) = value {
                        self.ids.id(kind, value);
                    }
                }
                Action::Uuid(kind) => self.ids.uuid(kind, Uuid(Cow::Borrowed(&data[s..e]))),
                Action::UuidMessage(kind) => {
                    self.path.push_field(&field.name);
                    let value = self.uuid_value(data, s, e)?;
                    self.path.pop();
                    if let Some(value) = value {
                        self.ids.uuid(kind, Uuid(Cow::Borrowed(value)));
                    }
                }
                Action::Descend(target) => {
                    self.path.push_field(&field.name);
                    if depth + 1 >= MAX_DEPTH {
                        return Err(PeekError::ProtobufTooDeep { offset: field_at, path: self.path.to_string() });
                    }
                    self.message(target, data, s, e, depth + 1)?;
                    self.path.pop();
                }
            }
        }
        Ok(())
    }

    /// Field 1 (bytes or string) of a one-field message in `data[start..end]`;
    /// the last one wins.
    fn bytes_field_1(
        &mut self,
        data: &'a [u8],
        start: usize,
        end: usize,
    ) -> Result<Option<(usize, &'a [u8])>, PeekError> {
        let body = &data[..end];
        let mut at = start;
        let mut found = None;
        while at < end {
            let (number, value, next) = read_field(body, at).map_err(|kind| self.error(at, kind))?;
            if number == 1 {
                let WireValue::Len(s, e) = value else {
                    self.path.push_field("value");
                    return Err(
                        self.error(at, ProtobufErrorKind::WrongWireType { expected: 2, found: value.wire_type() })
                    );
                };
                found = Some((at, &data[s..e]));
            }
            at = next;
        }
        Ok(found)
    }

    fn id_value(&mut self, data: &'a [u8], start: usize, end: usize) -> Result<Option<Cow<'a, str>>, PeekError> {
        let Some((at, bytes)) = self.bytes_field_1(data, start, end)? else { return Ok(None) };
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(Cow::Borrowed(s))),
            Err(_) => {
                self.path.push_field("value");
                Err(self.error(at, ProtobufErrorKind::InvalidUtf8))
            }
        }
    }

    fn uuid_value(&mut self, data: &'a [u8], start: usize, end: usize) -> Result<Option<&'a [u8]>, PeekError> {
        Ok(self.bytes_field_1(data, start, end)?.map(|(_, bytes)| bytes))
    }
}

// ---------------------------------------------------------------------------
// JSON: the type peek, by hand
// ---------------------------------------------------------------------------

/// [`peek_type`] on JSON: the top-level object's members stepped over with
/// the codec's JSON lexer up to `type`. `None`: not sure (something
/// malformed or unusual before `type`, an escaped key or name), and the
/// serde walk gives the answer or says where the input is wrong.
fn fast_type(type_field: &TypeField, data: &[u8]) -> Option<Option<&'static str>> {
    let mut i = lex::ws(data, 0);
    if data.get(i) != Some(&b'{') {
        return None;
    }
    i = lex::ws(data, i + 1);
    if data.get(i) == Some(&b'}') {
        return (lex::ws(data, i + 1) == data.len()).then_some(None);
    }
    loop {
        if data.get(i) != Some(&b'"') {
            return None;
        }
        let key = lex::string(data, i)?;
        let is_type = !key.escaped && &data[i + 1..key.end - 1] == b"type";
        if key.escaped {
            return None;
        }
        i = lex::ws(data, key.end);
        if data.get(i) != Some(&b':') {
            return None;
        }
        i = lex::ws(data, i + 1);
        if is_type {
            return match *data.get(i)? {
                b'"' => {
                    let name = lex::string(data, i)?;
                    (!name.escaped).then(|| type_field.by_name(&data[i + 1..name.end - 1]))
                }
                b'n' => lex::literal(data, i, b"null").map(|_| None),
                _ => None,
            };
        }
        i = lex::ws(data, lex::value(data, i, MAX_DEPTH - 1)?);
        match *data.get(i)? {
            b',' => i = lex::ws(data, i + 1),
            b'}' => return (lex::ws(data, i + 1) == data.len()).then_some(None),
            _ => return None,
        }
    }
}

// ---------------------------------------------------------------------------
// JSON: the heading walk, by hand
// ---------------------------------------------------------------------------

/// [`peek_heading`] on JSON without serde_json: the same walk as
/// [`json_ids`] by the framework plans (descending into none once it has a
/// framework id), checking what it reads with the codec's JSON lexer
/// ([`crate::json::lex`]), as strictly as serde_json does or more (no lone
/// surrogate in a `\u` escape, what it descends into nested at most 100
/// deep; like serde_json, it checks the UTF-8 of the strings it reads,
/// keys and values, and not of those it steps over), and stepping over
/// the objects and arrays it does not descend into by their brackets
/// ([`lex::skip_nested`]), unchecked. It has no error messages: `None`
/// means "not sure", for anything malformed or unusual where it reads
/// (escaped keys, map fields, a top-level id message), and the serde walk
/// then gives the answer, or the error saying where. On input the serde
/// walk reads the two agree (property tests hold them to it).
struct FastHeading<'a> {
    data: &'a [u8],
    plans: &'static [Plan],
    schema: &'static Schema,
    type_name: Option<&'static str>,
    framework_id: Option<Cow<'a, str>>,
    depth: usize,
}

impl<'a> FastHeading<'a> {
    fn run(plans: &'static [Plan], message: MessageId, data: &'a [u8]) -> Option<Heading<'a>> {
        let plan = plans.get(message as usize)?;
        if plan.own.is_some() {
            return None;
        }
        let mut walk =
            FastHeading { data, plans, schema: Schema::get(), type_name: None, framework_id: None, depth: 0 };
        let i = lex::ws(data, 0);
        if data.get(i) != Some(&b'{') {
            return None;
        }
        let end = walk.message(message, i, true)?;
        (lex::ws(data, end) == data.len())
            .then_some(Heading { type_name: walk.type_name, framework_id: walk.framework_id })
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// The string whose opening quote is at `i`: the offset after it, and
    /// its contents when they have no escapes.
    fn string(&self, i: usize) -> Option<(usize, Option<&'a str>)> {
        let s = lex::string(self.data, i)?;
        let text = if s.escaped { None } else { std::str::from_utf8(&self.data[i + 1..s.end - 1]).ok() };
        Some((s.end, text))
    }

    /// The object opening at `i`: each member's value is read by `member`
    /// (given the range of the key's contents, and the value's offset; it
    /// returns the offset after the value); the offset after the object.
    /// An escaped key is left to the serde walk, and so is one that is not
    /// UTF-8 (serde_json checks a key's UTF-8; an ASCII one, as the lexer
    /// says, needs no check).
    fn object(
        &mut self,
        i: usize,
        mut member: impl FnMut(&mut Self, Range<usize>, usize) -> Option<usize>,
    ) -> Option<usize> {
        let data = self.data;
        self.enter()?;
        let mut j = lex::ws(data, i + 1);
        if data.get(j) != Some(&b'}') {
            loop {
                if data.get(j) != Some(&b'"') {
                    return None;
                }
                let key = lex::string(data, j)?;
                let contents = j + 1..key.end - 1;
                if key.escaped || !key.ascii && std::str::from_utf8(&data[contents.clone()]).is_err() {
                    return None;
                }
                j = lex::ws(data, key.end);
                if data.get(j) != Some(&b':') {
                    return None;
                }
                j = lex::ws(data, member(self, contents, lex::ws(data, j + 1))?);
                match *data.get(j)? {
                    b',' => j = lex::ws(data, j + 1),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(j + 1)
    }

    /// The array opening at `i`, each element read by `element`; the offset
    /// after the array.
    fn array(&mut self, i: usize, mut element: impl FnMut(&mut Self, usize) -> Option<usize>) -> Option<usize> {
        let data = self.data;
        self.enter()?;
        let mut j = lex::ws(data, i + 1);
        if data.get(j) != Some(&b']') {
            loop {
                j = lex::ws(data, element(self, j)?);
                match *data.get(j)? {
                    b',' => j = lex::ws(data, j + 1),
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(j + 1)
    }

    /// Any value at `i` (after whitespace), stepped over: an object or an
    /// array by its brackets ([`lex::skip_nested`]), anything else checked.
    fn value(&mut self, i: usize) -> Option<usize> {
        match *self.data.get(i)? {
            b'{' | b'[' => lex::skip_nested(self.data, i),
            _ => lex::value(self.data, i, MAX_DEPTH.checked_sub(self.depth)?),
        }
    }

    /// The object of message `id` opening at `i`.
    fn message(&mut self, id: MessageId, i: usize, top: bool) -> Option<usize> {
        let message = self.schema.message(id);
        let plan = self.plans.get(id as usize)?;
        let type_index = if top { plan.type_field.as_ref().map(|t| t.index) } else { None };
        // Keys usually come in declaration order: the field after the last
        // one found is tried first (the packed keys' lookup, no hashing).
        let mut guess = 0;
        self.object(i, |walk, key, j| {
            let data = walk.data;
            let index = message.keys.find(message, data, key.start, key.end, guess);
            if let Some(index) = index {
                guess = index + 1;
            }
            match index {
                None => walk.value(j),
                Some(index) if Some(index) == type_index => {
                    let (end, name) = match *data.get(j)? {
                        b'"' => {
                            // An escaped name: the serde walk undoes its escapes.
                            let s = lex::string(data, j)?;
                            let name = (!s.escaped).then_some(&data[j + 1..s.end - 1])?;
                            // One that is not UTF-8 too. An ASCII one, as
                            // the lexer says, needs no check: a 200 B
                            // UPDATE's walk 2 587 → 2 455 instructions
                            // (`benches/record_core.rs` under callgrind).
                            if !s.ascii {
                                std::str::from_utf8(name).ok()?;
                            }
                            (s.end, plan.type_field.as_ref().and_then(|t| t.by_name(name)))
                        }
                        b'n' => (lex::literal(data, j, b"null")?, None),
                        _ => return None,
                    };
                    // The last `type` given wins, as in a full decode.
                    if name.is_some() {
                        walk.type_name = name;
                    }
                    Some(end)
                }
                Some(index) => match plan.actions.get(index)? {
                    Action::Skip => walk.value(j),
                    &action => walk.field_value(&message.fields[index], action, j, false),
                },
            }
        })
    }

    /// The value at `i` of a field whose action is not `Skip`.
    fn field_value(&mut self, field: &'static Field, action: Action, i: usize, in_array: bool) -> Option<usize> {
        if self.framework_id.is_some() {
            // Once the first framework id is known, nothing else is looked for.
            return self.value(i);
        }
        let data = self.data;
        match *data.get(i)? {
            b'n' => lex::literal(data, i, b"null"),
            b'[' if field.repeated && !in_array => self.array(i, |walk, j| walk.field_value(field, action, j, true)),
            b'{' if !field.map || in_array => match action {
                Action::Id(IdKind::Framework) => self.framework_id(i),
                Action::Descend(id) => self.message(id, i, false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A `FrameworkID` object opening at `i`: its `value` (the last one, as
    /// protobuf's last repeat wins) is the heading's, unless one came before.
    fn framework_id(&mut self, i: usize) -> Option<usize> {
        let mut found = None;
        let end = self.object(i, |walk, key, j| {
            let data = walk.data;
            if &data[key] != b"value" {
                return walk.value(j);
            }
            match *data.get(j)? {
                b'"' => {
                    let (end, text) = walk.string(j)?;
                    found = Some(text?);
                    Some(end)
                }
                b'n' => {
                    found = None;
                    lex::literal(data, j, b"null")
                }
                _ => None,
            }
        })?;
        if let (Some(value), None) = (found, &self.framework_id) {
            self.framework_id = Some(Cow::Borrowed(value));
        }
        Some(end)
    }
}

// ---------------------------------------------------------------------------
// JSON: the id walk, streaming through serde_json
// ---------------------------------------------------------------------------

struct JsonWalk<'a> {
    plans: &'static [Plan],
    schema: &'static Schema,
    ids: Collector<'a>,
    path: Path,
    depth: usize,
}

impl JsonWalk<'_> {
    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(E::custom(format_args!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }
}

fn json_ids<'a>(plans: &'static [Plan], message: MessageId, data: &'a [u8]) -> Result<Ids<'a>, PeekError> {
    let mut walk =
        JsonWalk { plans, schema: Schema::get(), ids: Collector::default(), path: Path::default(), depth: 0 };
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    let result = match plans[message as usize].own {
        Some(kind) => IdSeed { walk: &mut walk, kind }.deserialize(&mut deserializer),
        None => MessageSeed { walk: &mut walk, id: message, top: true }.deserialize(&mut deserializer),
    }
    .and_then(|()| deserializer.end());
    match result {
        Ok(()) => Ok(walk.ids.ids),
        Err(err) => {
            let message = err.to_string();
            // serde_json appends " at line L column C"; keep only the reason.
            let message = match message.rfind(" at line ") {
                Some(i) => message[..i].to_owned(),
                None => message,
            };
            Err(PeekError::Json(JsonError {
                path: walk.path.to_string(),
                message,
                line: err.line(),
                column: err.column(),
            }))
        }
    }
}

/// Reads a message object, collecting what its fields hold.
struct MessageSeed<'w, 'a> {
    walk: &'w mut JsonWalk<'a>,
    id: MessageId,
    top: bool,
}

impl<'a> DeserializeSeed<'a> for MessageSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for MessageSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.walk;
        walk.enter()?;
        let schema = walk.schema;
        let message = schema.message(self.id);
        let plan = &walk.plans[self.id as usize];
        let type_index = if self.top { plan.type_field.as_ref().map(|t| t.index) } else { None };
        while let Some(key) = map.next_key_seed(KeySeed { message: self.id })? {
            let Some(index) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let field = &message.fields[index];
            if Some(index) == type_index {
                walk.path.push_field(&field.name);
                let name = map.next_value_seed(TypeSeed { plan })?;
                walk.path.pop();
                walk.ids.type_name(name);
                continue;
            }
            let action = plan.actions[index];
            if action == Action::Skip {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            walk.path.push_field(&field.name);
            map.next_value_seed(ValueSeed { walk: &mut *walk, field, action, in_array: false })?;
            walk.path.pop();
        }
        walk.depth -= 1;
        Ok(())
    }
}

/// Reads the top-level `type`: an enum name, or `null`.
struct TypeSeed {
    plan: &'static Plan,
}

impl<'de> DeserializeSeed<'de> for TypeSeed {
    type Value = Option<&'static str>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TypeSeed {
    type Value = Option<&'static str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum name (a string)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.plan.type_field.as_ref().and_then(|t| t.by_name(v.as_bytes())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads the value of a field whose action is not [`Action::Skip`].
struct ValueSeed<'w, 'a> {
    walk: &'w mut JsonWalk<'a>,
    field: &'static Field,
    action: Action,
    in_array: bool,
}

impl<'a> DeserializeSeed<'a> for ValueSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed<'_, '_> {
    fn expected<E: de::Error>(&self, found: &str) -> E {
        let expected = match self.action {
            Action::Uuid(_) => "a base64 string",
            _ => "an object",
        };
        E::custom(format_args!("expected {expected}, found {found}"))
    }
}

fn decode_base64<E: de::Error>(text: &str) -> Result<Vec<u8>, E> {
    // Whitespace is skipped, as stout's decoder (and the JSON reader) skip it.
    let engine = &base64::engine::general_purpose::STANDARD;
    let result = if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        engine.decode(compact.as_bytes())
    } else {
        engine.decode(text.as_bytes())
    };
    result.map_err(|e| E::custom(format_args!("invalid base64: {e}")))
}

impl<'a> Visitor<'a> for ValueSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.action {
            Action::Uuid(_) => "a base64 string",
            _ => "an object",
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        // `null` means unset.
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.expected("a boolean"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self.expected("a number"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self.expected("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.expected("a number"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        let Action::Uuid(kind) = self.action else { return Err(self.expected("a string")) };
        let bytes = decode_base64(v)?;
        self.walk.ids.uuid(kind, Uuid(Cow::Owned(bytes)));
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.field.repeated || self.in_array {
            return Err(de::Error::custom(if self.in_array {
                "an array inside an array (a repeated field holds single values)"
            } else {
                "an array for a field that is not repeated"
            }));
        }
        let walk = self.walk;
        walk.enter()?;
        let mut index = 0;
        loop {
            walk.path.push_index(index);
            let element = seq.next_element_seed(ValueSeed {
                walk: &mut *walk,
                field: self.field,
                action: self.action,
                in_array: true,
            })?;
            walk.path.pop();
            if element.is_none() {
                break;
            }
            index += 1;
        }
        walk.depth -= 1;
        Ok(())
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        if self.field.map && !self.in_array {
            return map_values(self.walk, self.field, map);
        }
        match self.action {
            Action::Id(kind) => IdSeed { walk: self.walk, kind }.visit_map(map),
            Action::UuidMessage(kind) => {
                let walk = self.walk;
                walk.enter()?;
                let mut found = None;
                while let Some(is_value) = map.next_key_seed(KeyIs("value"))? {
                    if !is_value {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    walk.path.push_field("value");
                    found = map.next_value_seed(Base64Seed)?;
                    walk.path.pop();
                }
                if let Some(bytes) = found {
                    walk.ids.uuid(kind, Uuid(Cow::Owned(bytes)));
                }
                walk.depth -= 1;
                Ok(())
            }
            Action::Descend(id) => MessageSeed { walk: self.walk, id, top: false }.visit_map(map),
            Action::Skip | Action::Uuid(_) => Err(self.expected("an object")),
        }
    }
}

/// A `map<K, V>` field written as a JSON object: walks the values.
fn map_values<'a, A: MapAccess<'a>>(
    walk: &mut JsonWalk<'a>,
    field: &'static Field,
    mut map: A,
) -> Result<(), A::Error> {
    let FieldKind::Message(entry_id) = field.kind else {
        return Err(de::Error::custom("map field without an entry type"));
    };
    let entry = walk.schema.message(entry_id);
    let value_field = entry.field_by_number(2);
    let action = value_field.map_or(Action::Skip, |(index, _)| walk.plans[entry_id as usize].actions[index]);
    walk.enter()?;
    while let Some(key) = map.next_key::<String>()? {
        match value_field {
            Some((_, value_field)) if action != Action::Skip => {
                walk.path.push_key(key);
                map.next_value_seed(ValueSeed { walk: &mut *walk, field: value_field, action, in_array: true })?;
                walk.path.pop();
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    walk.depth -= 1;
    Ok(())
}

/// Reads an object key and says whether it is `self.0`.
struct KeyIs(&'static str);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Reads an id message (`{"value": "..."}`) and collects its value.
struct IdSeed<'w, 'a> {
    walk: &'w mut JsonWalk<'a>,
    kind: IdKind,
}

impl<'a> DeserializeSeed<'a> for IdSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for IdSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.walk;
        walk.enter()?;
        let mut found = None;
        while let Some(is_value) = map.next_key_seed(KeyIs("value"))? {
            if !is_value {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            walk.path.push_field("value");
            // The last one wins, as when protobuf repeats a field.
            found = map.next_value_seed(StrSeed)?;
            walk.path.pop();
        }
        if let Some(value) = found {
            walk.ids.id(self.kind, value);
        }
        walk.depth -= 1;
        Ok(())
    }
}

/// Reads a string, borrowing it from the input when it has no escapes;
/// `null` is `None`.
struct StrSeed;

impl<'a> DeserializeSeed<'a> for StrSeed {
    type Value = Option<Cow<'a, str>>;
    fn deserialize<D: de::Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for StrSeed {
    type Value = Option<Cow<'a, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads a base64 string as bytes; `null` is `None`.
struct Base64Seed;

impl<'de> DeserializeSeed<'de> for Base64Seed {
    type Value = Option<Vec<u8>>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Base64Seed {
    type Value = Option<Vec<u8>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        decode_base64(v).map(Some)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the serde walk says the heading is.
    fn slow(message: MessageId, data: &[u8]) -> Result<Heading<'_>, PeekError> {
        let ids = walk(&Tables::get().framework_plans, message, Encoding::Json, data)?;
        Ok(Heading { type_name: ids.type_name, framework_id: ids.framework_ids.into_iter().next() })
    }

    /// The hand walk answers only where the serde walk gives the same
    /// answer, or refuses what the hand walk stepped over unread.
    fn agree(message: MessageId, data: &[u8]) -> Option<Heading<'_>> {
        let fast = FastHeading::run(&Tables::get().framework_plans, message, data);
        if let (Some(fast), Ok(slow)) = (&fast, slow(message, data)) {
            assert_eq!(fast, &slow, "{}", String::from_utf8_lossy(data));
        }
        fast
    }

    /// JSON objects with the keys of events and calls (and others), nested.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let key = prop::sample::select(vec![
            "type",
            "value",
            "framework_id",
            "subscribed",
            "offers",
            "id",
            "agent_id",
            "update",
            "status",
            "subscribe",
            "framework_info",
            "decline",
            "offer_ids",
            "x",
            "labels",
            "capabilities",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e9f64..1e9).prop_map(Value::from),
            prop::sample::select(vec!["f1", "", "OFFERS", "SUBSCRIBED", "TEARDOWN", "é\\\"\n", "HEARTBEAT"])
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|fields| Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
        .prop_map(|value| match value {
            serde_json::Value::Object(_) => value,
            other => serde_json::json!({ "x": other }),
        })
    }

    fn seeds() -> Vec<(MessageId, Vec<u8>)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/seed/walkthrough");
        let mut seeds: Vec<(MessageId, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_str().unwrap().to_owned();
                let ty = if name.starts_with("event") { "scheduler.Event" } else { "scheduler.Call" };
                (crate::json::message_type(ty).unwrap(), std::fs::read(path).unwrap())
            })
            .collect();
        seeds.sort();
        seeds
    }

    #[test]
    fn the_hand_walk_reads_every_seed_file_as_the_serde_walk_does() {
        for (ty, data) in seeds() {
            let heading = agree(ty, &data);
            assert!(heading.is_some(), "{}", String::from_utf8_lossy(&data));
        }
    }

    #[test]
    fn the_hand_walk_leaves_the_unusual_to_the_serde_walk() {
        let event = crate::json::message_type("scheduler.Event").unwrap();
        let call = crate::json::message_type("scheduler.Call").unwrap();
        let subscribed = |framework_id: &str| {
            format!(r#"{{"type":"SUBSCRIBED","subscribed":{{"framework_id":{{"value":{framework_id}}}}}}}"#)
        };
        // Answered by hand.
        for (ty, text, want) in [
            (event, subscribed(r#""f1""#), Some(("SUBSCRIBED", Some("f1")))),
            (event, subscribed("null"), Some(("SUBSCRIBED", None))),
            (event, r#" {"type" : null , "type":"HEARTBEAT"} "#.to_owned(), Some(("HEARTBEAT", None))),
            (event, r#"{"x":[1,-0,0.5,-1e9,2E+3,true,false,null,"a\"\\\/\b\f\n\r\t\u00e9",{}]}"#.to_owned(), Some(("", None))),
            (call, r#"{"framework_id":{"value":"a","value":"b"},"type":"TEARDOWN"}"#.to_owned(), Some(("TEARDOWN", Some("b")))),
            (call, r#"{"framework_id":{"value":"a","value":null},"type":"TEARDOWN"}"#.to_owned(), Some(("TEARDOWN", None))),
            (call, r#"{"framework_id":{"value":"a"},"subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"z"}}}}"#.to_owned(), Some(("", Some("a")))),
            // A surrogate pair stepped over (a lone surrogate is left to serde_json).
            (event, r#"{"x":"\ud83d\ude00"}"#.to_owned(), Some(("", None))),
        ] {
            let got = agree(ty, text.as_bytes()).map(|h| (h.type_name.unwrap_or(""), h.framework_id.map(|f| f.into_owned())));
            assert_eq!(got, want.map(|(t, f)| (t, f.map(str::to_owned))), "{text}");
        }
        // Left to the serde walk (which may accept, or say where it is wrong).
        for (ty, text) in [
            (event, subscribed(r#""f\u0031""#)),
            (event, r#"{"typ\u0065":"HEARTBEAT"}"#.to_owned()),
            (event, r#"{"type":"HEART\u0042EAT"}"#.to_owned()),
            (event, r#"{"x":"\ude00"}"#.to_owned()),
            (event, r#"{"x":01}"#.to_owned()),
            (event, r#"{"x":1.}"#.to_owned()),
            (event, r#"{"x":"a"} x"#.to_owned()),
            (event, "{\"x\":\"\u{1}\"}".to_owned()),
            (event, r#"[]"#.to_owned()),
            (call, r#"{"framework_id":"f1"}"#.to_owned()),
            (call, r#"{"framework_id":[{"value":"f1"}]}"#.to_owned()),
        ] {
            assert!(agree(ty, text.as_bytes()).is_none(), "{text}");
        }
        // Invalid UTF-8: serde_json steps over it in a skipped string, and
        // refuses it in a key.
        assert!(agree(event, b"{\"x\":\"\xff\"}").is_some());
        assert!(agree(event, b"{\"x\xff\":1}").is_none());
        assert!(slow(event, b"{\"x\xff\":1}").is_err());
        // And in the type's name, which is read (a name not ASCII is
        // checked as UTF-8; one that is, is looked up as it is).
        assert!(agree(event, b"{\"type\":\"HEART\xffBEAT\"}").is_none());
        assert!(slow(event, b"{\"type\":\"HEART\xffBEAT\"}").is_err());
        let heading = agree(event, "{\"type\":\"HEARTBÉAT\"}".as_bytes()).unwrap();
        assert_eq!(heading.type_name, None, "no such type");
    }

    #[test]
    fn what_the_hand_walk_steps_over_unread_is_not_checked() {
        let event = crate::json::message_type("scheduler.Event").unwrap();
        let call = crate::json::message_type("scheduler.Call").unwrap();
        let offers = |second: &str| {
            format!(
                r#"{{"type":"OFFERS","offers":{{"offers":[{{"id":{{"value":"O1"}},"framework_id":{{"value":"f1"}},"resources":[{{"name":"cpus","scalar":{{"value":1.0}}}}]}},{{"framework_id":{second}}}]}}}}"#
            )
        };
        for (ty, text, want) in [
            // Malformed inside an array or object the walk does not descend into.
            (event, r#"{"type":"HEARTBEAT","x":[1,,2]}"#.to_owned(), ("HEARTBEAT", None)),
            (event, r#"{"type":"UPDATE","update":{"status":{"state":TASK_RUNNING}}}"#.to_owned(), ("UPDATE", None)),
            // Nested deeper than the serde walk's limit.
            (event, format!(r#"{{"x":{}1{}}}"#, "[".repeat(100), "]".repeat(100)), ("", None)),
            // After the first framework id, what could hold another is stepped over.
            (event, offers(r#"{"value":7}"#), ("OFFERS", Some("f1"))),
            (event, offers(r#"{"value":"f2"}"#), ("OFFERS", Some("f1"))),
            (
                call,
                r#"{"framework_id":{"value":"a"},"subscribe":{"framework_info":{"id":"z"}},"type":"SUBSCRIBE"}"#
                    .to_owned(),
                ("SUBSCRIBE", Some("a")),
            ),
            // Brackets in strings and escaped quotes do not count.
            (event, r#"{"x":{"a":"}]\"}","b":["\\"]},"type":"ERROR"}"#.to_owned(), ("ERROR", None)),
        ] {
            let heading = FastHeading::run(&Tables::get().framework_plans, ty, text.as_bytes())
                .map(|h| (h.type_name.unwrap_or(""), h.framework_id.map(|f| f.into_owned())));
            assert_eq!(heading, Some((want.0, want.1.map(str::to_owned))), "{text}");
        }
        // The serde walk reads those it reads whole; the rest it refuses.
        assert!(slow(event, offers(r#"{"value":"f2"}"#).as_bytes()).is_ok());
        assert!(slow(event, offers(r#"{"value":7}"#).as_bytes()).is_err());
        assert!(slow(event, br#"{"type":"HEARTBEAT","x":[1,,2]}"#).is_err());
        // Where the walk reads, malformed is still not sure (and the serde
        // walk says where), and a bracket too few or too many leaves the
        // message unclosed or something after it.
        for text in [
            r#"{"type":"HEARTBEAT","x":[1,}"#,
            r#"{"type":"HEARTBEAT","x":[[1]}"#,
            r#"{"type":"HEARTBEAT","x":[1]]}"#,
            r#"{"type":"HEARTBEAT","x":["]}"#,
            r#"{"type":HEARTBEAT,"x":[1]}"#,
            r#"{"type":"OFFERS","offers":{"offers":[{"framework_id":{"value":7}}]}}"#,
        ] {
            assert!(agree(event, text.as_bytes()).is_none(), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn corrupted_seed_files_are_read_alike_or_left_to_serde(
            which in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(
                b"{}[]\",:\\ 0-.eE+\x01uanlx\xff".to_vec()), 0u8..3), 0..5),
        ) {
            let seeds = seeds();
            let (ty, data) = &seeds[which.index(seeds.len())];
            let mut data = data.clone();
            for (at, byte, how) in edits {
                let at = at.index(data.len() + 1);
                match how {
                    0 if at < data.len() => data[at] = byte,
                    1 => data.insert(at, byte),
                    _ if at < data.len() => { data.remove(at); }
                    _ => data.push(byte),
                }
            }
            agree(*ty, &data);
        }

        /// One edit to a seed file that the serde walk refuses and the hand
        /// walk reads was in what it steps over: its heading is the seed's.
        #[test]
        fn one_edit_the_hand_walk_does_not_see_leaves_the_heading_as_it_was(
            which in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"{}[]\",:\\ 0-.eE+\x01uanlx\xff".to_vec()),
            how in 0u8..3,
        ) {
            let seeds = seeds();
            let (ty, seed) = &seeds[which.index(seeds.len())];
            let mut data = seed.clone();
            let at = at.index(data.len());
            match how {
                0 => data[at] = byte,
                1 => data.insert(at, byte),
                _ => { data.remove(at); }
            }
            if let (Some(heading), Err(_)) = (agree(*ty, &data), slow(*ty, &data)) {
                prop_assert_eq!(Some(heading), agree(*ty, seed), "{}", String::from_utf8_lossy(&data));
            }
        }

        #[test]
        fn random_json_in_the_shapes_of_events_and_calls_is_read_alike(value in json_value()) {
            let text = serde_json::to_vec(&value).unwrap();
            for ty in ["scheduler.Event", "scheduler.Call"] {
                agree(crate::json::message_type(ty).unwrap(), &text);
            }
        }

        #[test]
        fn json_ish_text_is_read_alike_or_left_to_serde(
            text in r#"\{("(type|offers|framework_id|value|subscribed|id|x)":[\[\]\{\}"\\ ,:a-zA-Z0-9.\-]{0,14}){0,6}\}?"#
        ) {
            for ty in ["scheduler.Event", "scheduler.Call"] {
                agree(crate::json::message_type(ty).unwrap(), text.as_bytes());
            }
        }
    }
}
