//! Which requests are v1 API traffic, and the summaries of their messages.
//!
//! The proxy records the scheduler API (`/api/v1/scheduler`, also
//! `/master/api/v1/scheduler`), the executor API (`/api/v1/executor`) and the
//! operator API (`/api/v1`); everything else is forwarded without a record.
//! Summaries (`call` / `event` name, `format`, `framework_id`) come from
//! [`mesos_codec::peek`], read according to the body's `Content-Type`.

use std::borrow::Cow;

use mesos_codec::json::message_type;
use mesos_codec::negotiate::ContentType;
use mesos_codec::peek::{Encoding, PeekError, peek_heading};
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Format, Summary};

/// A recorded v1 API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/api/v1/scheduler` and `/master/api/v1/scheduler`.
    Scheduler,
    /// `/api/v1/executor`.
    Executor,
    /// `/api/v1`, the operator API.
    Operator,
}

impl Api {
    /// The API a request path (with or without its query) belongs to, if any.
    ///
    /// ```
    /// use mesos_proxy::api::Api;
    /// assert_eq!(Api::from_path("/api/v1/scheduler"), Some(Api::Scheduler));
    /// assert_eq!(Api::from_path("/master/api/v1/scheduler?x=1"), Some(Api::Scheduler));
    /// assert_eq!(Api::from_path("/api/v1"), Some(Api::Operator));
    /// assert_eq!(Api::from_path("/state"), None);
    /// ```
    pub fn from_path(path: &str) -> Option<Api> {
        let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
        match path {
            "/api/v1/scheduler" | "/master/api/v1/scheduler" => Some(Api::Scheduler),
            "/api/v1/executor" => Some(Api::Executor),
            "/api/v1" | "/master/api/v1" => Some(Api::Operator),
            _ => None,
        }
    }

    /// The type of the requests' bodies.
    pub fn call_type(self) -> MessageId {
        self.lookup(match self {
            Api::Scheduler => "scheduler.Call",
            Api::Executor => "executor.Call",
            Api::Operator => "master.Call",
        })
    }

    /// The type of the records of a `SUBSCRIBE` stream.
    pub fn event_type(self) -> MessageId {
        self.lookup(match self {
            Api::Scheduler => "scheduler.Event",
            Api::Executor => "executor.Event",
            Api::Operator => "master.Event",
        })
    }

    /// The type of the answers' bodies (`None`: the API answers with none).
    pub fn response_type(self) -> Option<MessageId> {
        match self {
            Api::Scheduler => Some(self.lookup("scheduler.Response")),
            Api::Executor => None,
            Api::Operator => Some(self.lookup("master.Response")),
        }
    }

    fn lookup(self, name: &str) -> MessageId {
        // The names above are in the schema compiled into mesos-codec.
        message_type(name).unwrap_or_else(|_| unreachable!("{name} is a v1 message type"))
    }
}

/// The message encoding of a `Content-Type` value, compared as the master
/// compares it (exactly).
///
/// ```
/// use mesos_codec::peek::Encoding;
/// assert_eq!(mesos_proxy::api::encoding(Some("application/x-protobuf")), Some(Encoding::Protobuf));
/// assert_eq!(mesos_proxy::api::encoding(Some("text/plain")), None);
/// ```
pub fn encoding(content_type: Option<&str>) -> Option<Encoding> {
    let content_type = ContentType::from_media_type(content_type?.trim())?;
    Encoding::try_from(content_type).ok()
}

/// The session log's name of an encoding.
pub fn format(encoding: Encoding) -> Format {
    match encoding {
        Encoding::Json => Format::Json,
        Encoding::Protobuf => Format::Protobuf,
    }
}

/// The summary of one message: its type name and first framework id.
///
/// Without an encoding (an unknown `Content-Type`) the summary is empty; a
/// message that does not read is an error, for a `note`.
pub fn summarize(message: MessageId, encoding: Option<Encoding>, data: &[u8]) -> Result<Summary, PeekError> {
    let Some(encoding) = encoding else { return Ok(Summary::default()) };
    let mut summary = Summary { format: Some(format(encoding)), ..Summary::default() };
    if data.is_empty() {
        return Ok(summary);
    }
    let heading = peek_heading(message, encoding, data)?;
    summary.name = heading.type_name.map(str::to_owned);
    summary.framework_id = heading.framework_id.map(Cow::into_owned);
    Ok(summary)
}

/// Why `data`, a `message` in `encoding`, does not decode as a whole (the
/// master would refuse it), if it does not; `None` when it decodes or has
/// no known encoding or no body.
///
/// ```
/// use mesos_codec::json::message_type;
/// use mesos_codec::peek::Encoding;
/// let call = message_type("scheduler.Call").unwrap();
/// assert_eq!(mesos_proxy::api::decode_problem(call, Some(Encoding::Json), br#"{"type":"TEARDOWN"}"#), None);
/// let problem = mesos_proxy::api::decode_problem(call, Some(Encoding::Json), b"{\"type\":\"TEARDOWN\",\"x\":\"\xff\"}");
/// assert!(problem.is_some());
/// ```
pub fn decode_problem(message: MessageId, encoding: Option<Encoding>, data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    match encoding? {
        Encoding::Json => mesos_codec::json::json_to_protobuf(message, data).err().map(|e| e.to_string()),
        Encoding::Protobuf => mesos_codec::json::protobuf_to_json(message, data).err().map(|e| e.to_string()),
    }
}
