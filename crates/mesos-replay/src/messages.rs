//! The v1 messages inside a session: which message type a body or a record
//! is (by its API path), and turning it into canonical Mesos JSON or into the
//! other encoding; and [`Items`], a session file read item by item.
//!
//! Canonical means: decoded to protobuf and written back by the codec's
//! master-exact JSON writer, so a call recorded in protobuf and the same call
//! sent live in JSON (keys in any order, defaults spelt out or not) decode to
//! the same [`serde_json::Value`].
//!
//! ```
//! use mesos_codec::api::Encoding;
//! use mesos_replay::messages::{api_of, canonical};
//! let api = api_of("/api/v1/scheduler");
//! let call = api.call.unwrap();
//! let a = canonical(call, br#"{"framework_id":{"value":"f1"},"type":"TEARDOWN"}"#, Some(Encoding::Json)).unwrap();
//! let b = canonical(call, br#"{"type":"TEARDOWN","framework_id":{"value":"f1"}}"#, None).unwrap();
//! assert_eq!(a, b);
//! ```

use mesos_codec::api::Encoding;
use mesos_codec::json::{Error, JsonError, json_to_protobuf, protobuf_to_json};
use mesos_codec::schema::MessageId;
use std::io::{self, Read};

use mesos_codec::session::{Item, Reader, TornLine};
use serde_json::Value;

/// Why a session could not be read: the one error of every reader of
/// sessions here (`serve`'s script, `inspect`, `diff`).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The session is bad (the line says where).
    #[error(transparent)]
    Session(#[from] mesos_codec::session::SessionError),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Not one whole line: an empty file (a recorder that could not write
    /// anything) is not a session.
    #[error("line 1: no header line: an empty file is not a session")]
    NoHeader,
}

/// The message types of one v1 API: its calls, the events of its streams,
/// and the bodies of its answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Api {
    /// The call type (`scheduler.Call`).
    pub call: Option<MessageId>,
    /// The event type of its streams (`scheduler.Event`).
    pub event: Option<MessageId>,
    /// The type of a call's answer body (`scheduler.Response`), where the API has one.
    pub response: Option<MessageId>,
}

impl Api {
    /// Whether the path is a v1 API at all.
    ///
    /// ```
    /// use mesos_replay::messages::api_of;
    /// assert!(api_of("/api/v1/scheduler").is_v1());
    /// assert!(!api_of("/state").is_v1());
    /// ```
    pub fn is_v1(&self) -> bool {
        self.call.is_some()
    }
}

/// The message types of the API a request path (with or without its
/// query) belongs to ([`mesos_codec::api::Api::from_path`]).
///
/// ```
/// use mesos_replay::messages::api_of;
/// let api = api_of("/master/api/v1/scheduler?x=1");
/// let schema = mesos_codec::schema::Schema::get();
/// assert_eq!(api.event.map(|id| schema.message(id).name.as_str()), Some("mesos.v1.scheduler.Event"));
/// assert_eq!(api_of("/redirect").call, None);
/// ```
pub fn api_of(path: &str) -> Api {
    match mesos_codec::api::Api::from_path(path) {
        Some(api) => Api { call: Some(api.call_type()), event: Some(api.event_type()), response: api.response_type() },
        None => Api::default(),
    }
}

/// The protobuf encoding of a message in either encoding.
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_replay::messages::{api_of, to_protobuf};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// assert_eq!(to_protobuf(event, br#"{"type":"HEARTBEAT"}"#, Encoding::Json).unwrap(), [0x08, 0x08]);
/// ```
pub fn to_protobuf(message: MessageId, bytes: &[u8], encoding: Encoding) -> Result<Vec<u8>, Error> {
    match encoding {
        Encoding::Json => Ok(json_to_protobuf(message, bytes)?),
        Encoding::Protobuf => Ok(bytes.to_vec()),
    }
}

/// The message re-encoded as `to` (the master's exact JSON for JSON).
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_replay::messages::{api_of, transcode};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// assert_eq!(transcode(event, &[0x08, 0x08], Encoding::Protobuf, Encoding::Json).unwrap(), br#"{"type":"HEARTBEAT"}"#);
/// ```
pub fn transcode(message: MessageId, bytes: &[u8], from: Encoding, to: Encoding) -> Result<Vec<u8>, Error> {
    match (from, to) {
        (Encoding::Json, Encoding::Json) | (Encoding::Protobuf, Encoding::Protobuf) => Ok(bytes.to_vec()),
        (Encoding::Json, Encoding::Protobuf) => Ok(json_to_protobuf(message, bytes)?),
        (Encoding::Protobuf, Encoding::Json) => Ok(protobuf_to_json(message, bytes)?.json),
    }
}

/// The message as canonical Mesos JSON (see the module documentation).
///
/// ```
/// use mesos_replay::messages::{api_of, canonical};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// assert_eq!(canonical(event, &[0x08, 0x08], None).unwrap(), serde_json::json!({"type": "HEARTBEAT"}));
/// assert!(canonical(event, b"{\"type\":7}", None).is_err());
/// ```
pub fn canonical(message: MessageId, bytes: &[u8], format: Option<Encoding>) -> Result<Value, Error> {
    let pb = to_protobuf(message, bytes, Encoding::of(format, bytes))?;
    let json = protobuf_to_json(message, &pb)?.json;
    // The codec's own JSON: it always reads (the conformance tests hold it to a master's).
    serde_json::from_slice(&json).map_err(|e| json_error(&e))
}

/// Writes a canonical JSON value back as the message in `to`.
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_replay::messages::{api_of, encode_value};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// let value = serde_json::json!({"type": "HEARTBEAT"});
/// assert_eq!(encode_value(event, &value, Encoding::Protobuf).unwrap(), [0x08, 0x08]);
/// ```
pub fn encode_value(message: MessageId, value: &Value, to: Encoding) -> Result<Vec<u8>, Error> {
    let json = serde_json::to_vec(value).map_err(|e| json_error(&e))?;
    let pb = json_to_protobuf(message, &json)?;
    match to {
        Encoding::Protobuf => Ok(pb),
        Encoding::Json => Ok(protobuf_to_json(message, &pb)?.json),
    }
}

/// serde_json's error as the codec's JSON error (at the top level).
fn json_error(e: &serde_json::Error) -> Error {
    let message = e.to_string();
    let message = message.rfind(" at line ").map_or(message.clone(), |i| message[..i].to_owned());
    Error::Json(JsonError { path: "(top level)".to_owned(), message, line: e.line(), column: e.column() })
}

/// A session file read item by item, through
/// [`mesos_codec::session::Reader`], a buffer at a time: the one read loop
/// of `inspect`, `diff` and replay's index.
///
/// ```
/// use mesos_replay::messages::Items;
/// let file = concat!(
///     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#, "\n",
///     r#"{"seq":0,"t_ns":0,"conn":1,"kind":"note","message":"hi"}"#, "\n",
///     r#"{"seq":1,"#,
/// );
/// let mut items = Items::new(file.as_bytes());
/// let (_, header) = items.next_item().unwrap().unwrap();
/// assert_eq!((header.line, header.offset), (1, 0));
/// let (_, note) = items.next_item().unwrap().unwrap();
/// assert_eq!(note.line, 2);
/// assert!(items.next_item().unwrap().is_none());
/// assert_eq!(items.finish().map(|torn| torn.line), Some(3));
/// ```
pub struct Items<R> {
    input: R,
    reader: Reader,
    buf: Vec<u8>,
}

/// Where an item's line lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    /// Its first byte's offset.
    pub offset: u64,
    /// Its length, newline included.
    pub len: u64,
    /// Its number, from 1.
    pub line: u64,
}

impl<R: Read> Items<R> {
    /// Reads `input` from its start.
    pub fn new(input: R) -> Items<R> {
        Items { input, reader: Reader::new(), buf: vec![0u8; 256 * 1024] }
    }

    /// The next item and where its line lies; `None` at the end of the input.
    pub fn next_item(&mut self) -> Result<Option<(Item, LineSpan)>, ReadError> {
        loop {
            let start = self.reader.position();
            if let Some(item) = self.reader.next_item()? {
                let end = self.reader.position();
                return Ok(Some((item, LineSpan { offset: start, len: end - start, line: self.reader.line() })));
            }
            match self.input.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => self.reader.push(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// At the end: the torn last line, if any (skipped, never fatal).
    pub fn finish(self) -> Option<TornLine> {
        self.reader.finish()
    }
}
