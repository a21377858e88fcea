//! What the Mesos v1 HTTP APIs are, in one place: which request path is
//! which API and the message types it speaks, which `Content-Type` is which
//! message [`Encoding`], and the summary of a message (its type name and
//! framework id) that sessions keep beside it.
//!
//! The recorder, the importer, the replay server, `inspect` and `diff` all
//! ask here; none keeps a list of paths of its own.
//!
//! ```
//! use mesos_codec::api::{Api, Encoding, encoding, summarize};
//! let api = Api::from_path("/master/api/v1/scheduler?x=1").unwrap();
//! assert_eq!(api, Api::Scheduler);
//! let call = br#"{"framework_id":{"value":"f1"},"type":"TEARDOWN"}"#;
//! let summary = summarize(api.call_type(), encoding(Some("application/json")), call)?;
//! assert_eq!(summary.name.as_deref(), Some("TEARDOWN"));
//! assert_eq!(summary.framework_id.as_deref(), Some("f1"));
//! assert_eq!(summary.format, Some(Encoding::Json));
//! # Ok::<(), mesos_codec::peek::PeekError>(())
//! ```

use std::borrow::Cow;
use std::sync::OnceLock;

use crate::json::message_type;
use crate::negotiate::ContentType;
use crate::peek::{PeekError, peek_heading};
use crate::schema::MessageId;
use crate::session::Summary;

/// Which encoding a message is in: the one name for it everywhere (the
/// session log's `format`, the peeks, the transcoders).
///
/// ```
/// use mesos_codec::api::Encoding;
/// assert_eq!(Encoding::Protobuf.as_str(), "protobuf");
/// assert_eq!(Encoding::Json.media_type(), "application/json");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Protobuf wire bytes (`application/x-protobuf`).
    Protobuf,
    /// Mesos JSON (`application/json`), as [`crate::json`] reads it.
    Json,
}

impl Encoding {
    /// `json` or `protobuf`, as the session log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Protobuf => "protobuf",
        }
    }

    /// The encoding a session log's `format` names.
    ///
    /// ```
    /// use mesos_codec::api::Encoding;
    /// assert_eq!(Encoding::from_name("protobuf"), Some(Encoding::Protobuf));
    /// assert_eq!(Encoding::from_name("xml"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name {
            "json" => Some(Encoding::Json),
            "protobuf" => Some(Encoding::Protobuf),
            _ => None,
        }
    }

    /// Its media type, as Mesos writes it in `Content-Type`.
    pub fn media_type(self) -> &'static str {
        ContentType::from(self).as_str()
    }

    /// The encoding of recorded bytes: `recorded` when the recorder knew it,
    /// else a guess from the first byte (`{` is JSON).
    ///
    /// ```
    /// use mesos_codec::api::Encoding;
    /// assert_eq!(Encoding::of(None, b"{}"), Encoding::Json);
    /// assert_eq!(Encoding::of(None, b"\x08\x08"), Encoding::Protobuf);
    /// assert_eq!(Encoding::of(Some(Encoding::Json), b"\x08"), Encoding::Json);
    /// ```
    pub fn of(recorded: Option<Encoding>, bytes: &[u8]) -> Encoding {
        match recorded {
            Some(encoding) => encoding,
            None if bytes.first() == Some(&b'{') => Encoding::Json,
            None => Encoding::Protobuf,
        }
    }
}

impl From<Encoding> for ContentType {
    fn from(encoding: Encoding) -> ContentType {
        match encoding {
            Encoding::Json => ContentType::Json,
            Encoding::Protobuf => ContentType::Protobuf,
        }
    }
}

/// The message encoding of a negotiated content type; `application/recordio`
/// is a stream of messages, not one, and has none.
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_codec::negotiate::ContentType;
/// assert_eq!(Encoding::try_from(ContentType::Protobuf), Ok(Encoding::Protobuf));
/// assert_eq!(Encoding::try_from(ContentType::RecordIo), Err(ContentType::RecordIo));
/// ```
impl TryFrom<ContentType> for Encoding {
    type Error = ContentType;
    fn try_from(content_type: ContentType) -> Result<Encoding, ContentType> {
        match content_type {
            ContentType::Json => Ok(Encoding::Json),
            ContentType::Protobuf => Ok(Encoding::Protobuf),
            other => Err(other),
        }
    }
}

/// The message encoding of a `Content-Type` value, compared as the master
/// compares it (exactly, after trimming white space).
///
/// ```
/// use mesos_codec::api::{Encoding, encoding};
/// assert_eq!(encoding(Some("application/x-protobuf")), Some(Encoding::Protobuf));
/// assert_eq!(encoding(Some("application/json; charset=utf-8")), None);
/// assert_eq!(encoding(None), None);
/// ```
pub fn encoding(content_type: Option<&str>) -> Option<Encoding> {
    let content_type = ContentType::from_media_type(content_type?.trim())?;
    Encoding::try_from(content_type).ok()
}

/// A v1 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// The scheduler API: `/api/v1/scheduler`, `/master/api/v1/scheduler`.
    Scheduler,
    /// The executor API, an agent's: `/api/v1/executor`,
    /// `/slave(N)/api/v1/executor`.
    Executor,
    /// The master's operator API: `/api/v1`, `/master/api/v1`.
    Operator,
}

impl Api {
    /// The API a request path (with or without its query) belongs to, if
    /// any. As libprocess routes them, a trailing `/` does not matter.
    ///
    /// ```
    /// use mesos_codec::api::Api;
    /// assert_eq!(Api::from_path("/api/v1/scheduler"), Some(Api::Scheduler));
    /// assert_eq!(Api::from_path("/master/api/v1/scheduler/?x=1"), Some(Api::Scheduler));
    /// assert_eq!(Api::from_path("/slave(1)/api/v1/executor"), Some(Api::Executor));
    /// assert_eq!(Api::from_path("/api/v1"), Some(Api::Operator));
    /// assert_eq!(Api::from_path("/state"), None);
    /// assert_eq!(Api::from_path("/slave()/api/v1/executor"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Api> {
        let path = path.split('?').next().unwrap_or(path);
        let path = path.trim_end_matches('/');
        match path {
            "/api/v1/scheduler" | "/master/api/v1/scheduler" => Some(Api::Scheduler),
            "/api/v1/executor" => Some(Api::Executor),
            "/api/v1" | "/master/api/v1" => Some(Api::Operator),
            _ => {
                let n = path.strip_prefix("/slave(")?.strip_suffix(")/api/v1/executor")?;
                (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(Api::Executor)
            }
        }
    }

    /// The type of its requests' bodies (`scheduler.Call`).
    pub fn call_type(self) -> MessageId {
        types().call[self.index()]
    }

    /// The type of the records of its `SUBSCRIBE` streams (`scheduler.Event`).
    pub fn event_type(self) -> MessageId {
        types().event[self.index()]
    }

    /// The type of its answers' bodies (`None`: the API answers with none).
    pub fn response_type(self) -> Option<MessageId> {
        types().response[self.index()]
    }

    fn index(self) -> usize {
        match self {
            Api::Scheduler => 0,
            Api::Executor => 1,
            Api::Operator => 2,
        }
    }
}

/// Each API's message types (by [`Api::index`]), looked up once: a lookup
/// by name formats the full name and hashes it, and the recorders ask for
/// every call and every event (`message_type` was 4 % of the capture
/// importer's time in `perf`).
struct Types {
    call: [MessageId; 3],
    event: [MessageId; 3],
    response: [Option<MessageId>; 3],
}

fn types() -> &'static Types {
    static TYPES: OnceLock<Types> = OnceLock::new();
    TYPES.get_or_init(|| Types {
        call: ["scheduler.Call", "executor.Call", "master.Call"].map(lookup),
        event: ["scheduler.Event", "executor.Event", "master.Event"].map(lookup),
        response: [Some(lookup("scheduler.Response")), None, Some(lookup("master.Response"))],
    })
}

fn lookup(name: &str) -> MessageId {
    // The names above are in the schema compiled into this crate (a test
    // below looks each up).
    message_type(name).unwrap_or_else(|_| unreachable!("{name} is a v1 message type"))
}

/// The summary of one message: its type name and first framework id, and
/// its encoding.
///
/// Without an encoding (an unknown `Content-Type`) the summary is empty; a
/// message whose heading does not read is an error, for a `note` (JSON
/// that [`peek_heading`] steps over is not checked: [`decode_problem`] is
/// the whole check).
pub fn summarize(message: MessageId, encoding: Option<Encoding>, data: &[u8]) -> Result<Summary, PeekError> {
    let Some(encoding) = encoding else { return Ok(Summary::default()) };
    let mut summary = Summary { format: Some(encoding), ..Summary::default() };
    if data.is_empty() {
        return Ok(summary);
    }
    let heading = peek_heading(message, encoding, data)?;
    summary.name = heading.type_name.map(Cow::Borrowed);
    summary.framework_id = heading.framework_id.map(Cow::into_owned);
    Ok(summary)
}

/// Why `data`, a `message` in `encoding`, does not decode as a whole (the
/// master would refuse it), if it does not; `None` when it decodes or has
/// no known encoding or no body.
///
/// ```
/// use mesos_codec::api::{Api, Encoding, decode_problem};
/// let call = Api::Scheduler.call_type();
/// assert_eq!(decode_problem(call, Some(Encoding::Json), br#"{"type":"TEARDOWN"}"#), None);
/// assert!(decode_problem(call, Some(Encoding::Json), b"{\"type\":\"TEARDOWN\",\"x\":\"\xff\"}").is_some());
/// ```
pub fn decode_problem(message: MessageId, encoding: Option<Encoding>, data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    match encoding? {
        Encoding::Json => crate::json::json_to_protobuf(message, data).err().map(|e| e.to_string()),
        Encoding::Protobuf => crate::json::protobuf_to_json(message, data).err().map(|e| e.to_string()),
    }
}

/// A call read as the recorder files it: its summary, and why it does not
/// decode as a whole, if it does not (the session says so in a `note`).
///
/// ```
/// use mesos_codec::api::{Api, read_call};
/// let (summary, problem) = read_call(Api::Scheduler, Some("application/json"), br#"{"type":"SUBSCRIBE"}"#);
/// assert_eq!(summary.name.as_deref(), Some("SUBSCRIBE"));
/// assert_eq!(problem, None);
/// let (summary, problem) = read_call(Api::Scheduler, Some("application/json"), b"{");
/// assert_eq!(summary.name, None);
/// assert!(problem.is_some());
/// ```
pub fn read_call(api: Api, content_type: Option<&str>, body: &[u8]) -> (Summary, Option<String>) {
    let encoding = encoding(content_type);
    match summarize(api.call_type(), encoding, body) {
        // The summary reads only a few fields: the whole call must decode
        // too, or the session says why it does not (issue 18: bodies that
        // are not UTF-8 or nest 100 000 deep were filed without a note).
        Ok(summary) => (summary, decode_problem(api.call_type(), encoding, body)),
        Err(err) => (Summary { format: encoding, ..Summary::default() }, Some(err.to_string())),
    }
}

/// Whether an answer opens an event stream: a `SUBSCRIBE` answered `200`,
/// or any `200` that carries a `Mesos-Stream-Id` (when the call did not read).
///
/// ```
/// use mesos_codec::api::opens_stream;
/// assert!(opens_stream(200, Some("SUBSCRIBE"), false));
/// assert!(opens_stream(200, None, true));
/// assert!(!opens_stream(202, Some("SUBSCRIBE"), true));
/// ```
pub fn opens_stream(status: u16, call: Option<&str>, has_stream_id: bool) -> bool {
    status == 200 && (call == Some("SUBSCRIBE") || has_stream_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_has_its_types() {
        for api in [Api::Scheduler, Api::Executor, Api::Operator] {
            let _ = (api.call_type(), api.event_type(), api.response_type());
        }
    }
}
