//! Content negotiation, by the rules of the Mesos master and agent.
//!
//! Every v1 HTTP endpoint (`/api/v1/scheduler`, `/api/v1/executor`, the
//! operator API `/api/v1`) takes a `Call` as JSON or protobuf and answers in
//! JSON or protobuf. This module decides, from the request's header values,
//! which type the body is in and which type the answer must be in, and when a
//! request is refused it gives the status and the text body the master (or the
//! agent) answers with. It takes header values as `&str`, depends on no HTTP
//! library, does no I/O and never panics.
//!
//! # The rules
//!
//! | header | function | Mesos's answer |
//! |---|---|---|
//! | no `Content-Type` | [`request_content_type`] | `400` "Expecting 'Content-Type' to be present" |
//! | `Content-Type` not *exactly* `application/json` or `application/x-protobuf` | [`request_content_type`] | `415` "Expecting 'Content-Type' of application/json or application/x-protobuf" |
//! | `Accept` admits neither JSON nor protobuf | [`response_content_type`] | `406` "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'" |
//!
//! - `Content-Type` is compared as a plain string, case and all (Mesos's own
//!   code carries a `TODO` about it): `application/json; charset=utf-8` and
//!   `Application/JSON` are refused with `415`.
//! - `Accept` is matched as libprocess's `Request::acceptsMediaType` does
//!   ([`accepts`]): no `Accept` header admits everything; `*/*` and
//!   `application/*` match; `q=0` refuses. Then **JSON wins whenever it is
//!   acceptable at all**: the master asks "JSON?", then "protobuf?", and does
//!   not compare q-values, so `*/*;q=0.5, application/x-protobuf` gets JSON.
//!   [`response_content_type_by_quality`] ranks by q-value instead, for
//!   callers that want RFC 9110's reading; the master does not do that.
//!
//! Where the master checks what (in `src/master/http.cpp`): `Content-Type`
//! first, then it parses and validates the body (`400`s of its own), and only
//! then looks at `Accept`, so a bad body and a bad `Accept` get the `400`.
//! The scheduler API looks at `Accept` only for `SUBSCRIBE` and
//! `RECONCILE_OPERATIONS` (the calls whose answer has a body), the executor
//! API only for `SUBSCRIBE`, the operator API for every call. The master
//! ignores `Message-Content-Type` and `Message-Accept`.
//!
//! ```
//! use mesos_codec::negotiate::{request_content_type, response_content_type, ContentType};
//!
//! assert_eq!(request_content_type(Some("application/x-protobuf"))?, ContentType::Protobuf);
//! assert_eq!(response_content_type(None)?, ContentType::Json);
//! assert_eq!(response_content_type(Some("application/x-protobuf;q=0, application/json"))?, ContentType::Json);
//! assert_eq!(response_content_type(Some("application/x-protobuf"))?, ContentType::Protobuf);
//!
//! let refused = request_content_type(Some("application/json; charset=utf-8")).unwrap_err();
//! assert_eq!(refused.status(), 415);
//! assert_eq!(refused.to_string(), "Expecting 'Content-Type' of application/json or application/x-protobuf");
//!
//! let refused = response_content_type(Some("text/html")).unwrap_err();
//! assert_eq!(refused.status(), 406);
//! # Ok::<(), mesos_codec::negotiate::NegotiationError>(())
//! ```
//!
//! # How `Accept` is read
//!
//! Exactly as libprocess reads it (`3rdparty/libprocess/src/http.cpp`,
//! `Request::_acceptsMediaType`), odd corners included:
//!
//! - spaces, tabs and line feeds are removed everywhere first, then the value
//!   is cut at `,` into media ranges and each range at `;`; empty pieces are
//!   skipped (so an empty or all-comma `Accept` admits nothing: `406`);
//! - types compare ASCII-case-insensitively; parameters other than `q` are
//!   ignored; quoted strings are not understood (a `,` inside quotes still
//!   cuts);
//! - the most specific range decides: `application/json`, else
//!   `application/*`, else `*/*`; among equally specific ranges, the first;
//! - its `q` decides: no `q` at all, or more than one, counts as `q=1`; a `q`
//!   that is not a number (`q=high`) refuses, like `q=0`; so does a negative or
//!   NaN `q`; any positive number admits (`q=2` too). The parameter name is
//!   case-sensitive (`Q=0` is no q-value, so it admits), and a piece that is
//!   not exactly `name=value` (`q=`, `q=0=1`) is no parameter;
//! - a header sent more than once: libprocess keeps the **last** value (its
//!   parser stores headers in a map), see [`last_header_value`].
//!
//! # Streaming calls on the agent (RecordIO)
//!
//! `application/recordio`, with `Message-Content-Type` / `Message-Accept`
//! naming the type of each record, exists only on the agent's operator API,
//! and only for `ATTACH_CONTAINER_INPUT` (as the request body) and
//! `ATTACH_CONTAINER_OUTPUT` / `LAUNCH_NESTED_CONTAINER_SESSION` (as the
//! response). The agent reads these headers with [`agent_request_body_type`]
//! and [`agent_response_body_type`] (before it knows the call) and then
//! checks them against the call with [`check_streaming_call`]:
//!
//! | condition | the agent's answer |
//! |---|---|
//! | `Content-Type: application/recordio` without `Message-Content-Type` | `400` |
//! | `Message-Content-Type` not exactly JSON or protobuf | `415` |
//! | `Message-Content-Type` on a non-streaming request | `415` |
//! | `Accept` admits none of JSON, protobuf, RecordIO | `406` |
//! | streaming `Accept` whose `Message-Accept` admits neither JSON nor protobuf | `406` |
//! | `Message-Accept` on a non-streaming response | `406` |
//! | a streaming request body for any call but `ATTACH_CONTAINER_INPUT`, or `ATTACH_CONTAINER_INPUT` without one | `415` |
//! | a streaming response for any call but `ATTACH_CONTAINER_OUTPUT` and `LAUNCH_NESTED_CONTAINER_SESSION` | `406` |
//!
//! The agent prefers JSON, then protobuf, then RecordIO, so a response is
//! streamed only when `Accept` admits RecordIO and neither of the others.
//!
//! ```
//! use mesos_codec::negotiate::{agent_request_body_type, agent_response_body_type, BodyType, ContentType};
//!
//! let body = agent_request_body_type(Some("application/recordio"), Some("application/x-protobuf"))?;
//! assert_eq!(body, BodyType::Streaming(ContentType::Protobuf));
//!
//! let answer = agent_response_body_type(Some("application/recordio"), None)?;
//! assert_eq!(answer, BodyType::Streaming(ContentType::Json));
//!
//! let refused = agent_request_body_type(Some("application/json"), Some("application/json")).unwrap_err();
//! assert_eq!((refused.status(), refused.to_string().as_str()),
//!     (415, "Expecting 'Message-Content-Type' to be not set for non-streaming requests"));
//! # Ok::<(), mesos_codec::negotiate::NegotiationError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::v1::agent::call::Type as AgentCallType;

/// The name of the header that gives the type of each record of a streaming
/// (`application/recordio`) request body: `Message-Content-Type`.
///
/// ```
/// assert_eq!(mesos_codec::negotiate::MESSAGE_CONTENT_TYPE, "Message-Content-Type");
/// ```
pub const MESSAGE_CONTENT_TYPE: &str = "Message-Content-Type";

/// The name of the header that says which types a client accepts for each
/// record of a streaming (`application/recordio`) response: `Message-Accept`.
///
/// ```
/// assert_eq!(mesos_codec::negotiate::MESSAGE_ACCEPT, "Message-Accept");
/// ```
pub const MESSAGE_ACCEPT: &str = "Message-Accept";

/// A media type of the Mesos v1 HTTP API.
///
/// `RecordIo` (`application/recordio`) is only ever the outer type of a
/// streaming request or response on the agent's operator API; the records in
/// it are JSON or protobuf (see [`BodyType`]).
///
/// ```
/// use mesos_codec::negotiate::ContentType;
///
/// assert_eq!(ContentType::Protobuf.as_str(), "application/x-protobuf");
/// assert_eq!("application/json".parse::<ContentType>(), Ok(ContentType::Json));
/// assert_eq!(ContentType::RecordIo.to_string(), "application/recordio");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `application/json`, in Mesos's JSON mapping.
    Json,
    /// `application/x-protobuf`, the protobuf wire format.
    Protobuf,
    /// `application/recordio`: a RecordIO stream of JSON or protobuf records,
    /// on the agent's streaming calls only.
    RecordIo,
}

impl ContentType {
    /// The media type, as Mesos writes it in `Content-Type`.
    ///
    /// ```
    /// use mesos_codec::negotiate::ContentType;
    ///
    /// assert_eq!(ContentType::Json.as_str(), "application/json");
    /// assert_eq!(ContentType::Protobuf.as_str(), "application/x-protobuf");
    /// assert_eq!(ContentType::RecordIo.as_str(), "application/recordio");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::Protobuf => "application/x-protobuf",
            ContentType::RecordIo => "application/recordio",
        }
    }

    /// The content type a `Content-Type` value names, compared the way Mesos
    /// compares it: as an exact, case-sensitive string, parameters and all.
    ///
    /// ```
    /// use mesos_codec::negotiate::ContentType;
    ///
    /// assert_eq!(ContentType::from_media_type("application/x-protobuf"), Some(ContentType::Protobuf));
    /// assert_eq!(ContentType::from_media_type("application/json; charset=utf-8"), None);
    /// assert_eq!(ContentType::from_media_type("Application/JSON"), None);
    /// ```
    pub fn from_media_type(value: &str) -> Option<ContentType> {
        match value {
            "application/json" => Some(ContentType::Json),
            "application/x-protobuf" => Some(ContentType::Protobuf),
            "application/recordio" => Some(ContentType::RecordIo),
            _ => None,
        }
    }

    /// Whether this is the streaming type (`application/recordio`), as Mesos's
    /// `streamingMediaType` says.
    ///
    /// ```
    /// use mesos_codec::negotiate::ContentType;
    ///
    /// assert!(ContentType::RecordIo.is_streaming());
    /// assert!(!ContentType::Json.is_streaming());
    /// ```
    pub const fn is_streaming(self) -> bool {
        matches!(self, ContentType::RecordIo)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContentType {
    type Err = UnknownContentType;

    /// Parses a media type by [`ContentType::from_media_type`]'s exact compare.
    fn from_str(value: &str) -> Result<ContentType, UnknownContentType> {
        ContentType::from_media_type(value).ok_or_else(|| UnknownContentType { value: value.to_owned() })
    }
}

/// A string that is none of the three media types (see [`ContentType`]'s
/// [`FromStr`]).
///
/// ```
/// use mesos_codec::negotiate::ContentType;
///
/// let err = "text/html".parse::<ContentType>().unwrap_err();
/// assert_eq!(err.value(), "text/html");
/// assert_eq!(
///     err.to_string(),
///     "unknown media type \"text/html\" (expecting application/json, application/x-protobuf or application/recordio)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown media type {value:?} (expecting application/json, application/x-protobuf or application/recordio)")]
pub struct UnknownContentType {
    value: String,
}

impl UnknownContentType {
    /// The string that was refused.
    ///
    /// ```
    /// let err = "application/xml".parse::<mesos_codec::negotiate::ContentType>().unwrap_err();
    /// assert_eq!(err.value(), "application/xml");
    /// ```
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// The type of a request or response body on the agent's operator API: one
/// message, or a RecordIO stream of messages.
///
/// "Streaming" is meant as Mesos means it (`Content-Type:
/// application/recordio`). The event stream of a `SUBSCRIBE` call is RecordIO
/// too, but its `Content-Type` is the type of its records: it is `Plain` here.
/// The `ContentType` inside is always `Json` or `Protobuf` for values this
/// module returns.
///
/// ```
/// use mesos_codec::negotiate::{BodyType, ContentType};
///
/// let streamed = BodyType::Streaming(ContentType::Protobuf);
/// assert_eq!(streamed.content_type(), ContentType::RecordIo);
/// assert_eq!(streamed.message_type(), ContentType::Protobuf);
/// assert_eq!(streamed.message_header(), Some(ContentType::Protobuf));
///
/// let plain = BodyType::Plain(ContentType::Json);
/// assert_eq!(plain.content_type(), ContentType::Json);
/// assert_eq!(plain.message_header(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyType {
    /// One message, of this type: `Content-Type` is the type, and there is no
    /// `Message-Content-Type` / `Message-Accept`.
    Plain(ContentType),
    /// A RecordIO stream whose records are of this type: `Content-Type` is
    /// `application/recordio`, and `Message-Content-Type` (request) or
    /// `Message-Accept` (response) names the type.
    Streaming(ContentType),
}

impl BodyType {
    /// The `Content-Type` of the body: `application/recordio` for a stream.
    ///
    /// ```
    /// use mesos_codec::negotiate::{BodyType, ContentType};
    ///
    /// assert_eq!(BodyType::Streaming(ContentType::Json).content_type(), ContentType::RecordIo);
    /// assert_eq!(BodyType::Plain(ContentType::Protobuf).content_type(), ContentType::Protobuf);
    /// ```
    pub const fn content_type(self) -> ContentType {
        match self {
            BodyType::Plain(content_type) => content_type,
            BodyType::Streaming(_) => ContentType::RecordIo,
        }
    }

    /// How each message is encoded: the body's type, or the records' type.
    ///
    /// ```
    /// use mesos_codec::negotiate::{BodyType, ContentType};
    ///
    /// assert_eq!(BodyType::Streaming(ContentType::Json).message_type(), ContentType::Json);
    /// assert_eq!(BodyType::Plain(ContentType::Protobuf).message_type(), ContentType::Protobuf);
    /// ```
    pub const fn message_type(self) -> ContentType {
        match self {
            BodyType::Plain(content_type) | BodyType::Streaming(content_type) => content_type,
        }
    }

    /// The type of the records of a stream (what `Message-Content-Type` says
    /// of a request, what `Message-Accept` settled on for a response); `None`
    /// for a plain body.
    ///
    /// ```
    /// use mesos_codec::negotiate::{BodyType, ContentType};
    ///
    /// assert_eq!(BodyType::Streaming(ContentType::Json).message_header(), Some(ContentType::Json));
    /// assert_eq!(BodyType::Plain(ContentType::Json).message_header(), None);
    /// ```
    pub const fn message_header(self) -> Option<ContentType> {
        match self {
            BodyType::Plain(_) => None,
            BodyType::Streaming(content_type) => Some(content_type),
        }
    }

    /// Whether the body is a RecordIO stream (`application/recordio`).
    ///
    /// ```
    /// use mesos_codec::negotiate::{BodyType, ContentType};
    ///
    /// assert!(BodyType::Streaming(ContentType::Json).is_streaming());
    /// assert!(!BodyType::Plain(ContentType::Json).is_streaming());
    /// ```
    pub const fn is_streaming(self) -> bool {
        matches!(self, BodyType::Streaming(_))
    }
}

/// Why a request was refused: [`status`](NegotiationError::status) is the
/// HTTP status the master (or agent) answers with, and `Display` is its
/// `text/plain` body, word for word.
///
/// The texts are those of `src/master/http.cpp` (the scheduler and operator
/// APIs) and `src/slave/http.cpp` (the executor API says the same as the
/// master; the agent's operator API has its own texts, the `Agent*`,
/// `*Message*` and `Streaming*` variants).
///
/// ```
/// use mesos_codec::negotiate::{request_content_type, NegotiationError};
///
/// let err = request_content_type(None).unwrap_err();
/// assert_eq!(err, NegotiationError::MissingContentType);
/// assert_eq!(err.status(), 400);
/// assert_eq!(err.to_string(), "Expecting 'Content-Type' to be present");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// No `Content-Type` header: `400`.
    #[error("Expecting 'Content-Type' to be present")]
    MissingContentType,
    /// A `Content-Type` other than exactly `application/json` or
    /// `application/x-protobuf` (master, and the agent's executor API): `415`.
    #[error("Expecting 'Content-Type' of application/json or application/x-protobuf")]
    UnsupportedContentType,
    /// An `Accept` that admits neither JSON nor protobuf (master, and the
    /// agent's executor API): `406`.
    #[error("Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")]
    NotAcceptable,
    /// A `Content-Type` other than exactly JSON, protobuf or RecordIO, on the
    /// agent's operator API: `415`.
    #[error("Expecting 'Content-Type' of application/json or application/x-protobuf or application/recordio")]
    AgentUnsupportedContentType,
    /// An `Accept` that admits none of JSON, protobuf and RecordIO, on the
    /// agent's operator API: `406`.
    #[error("Expecting 'Accept' to allow application/json or application/x-protobuf or application/recordio")]
    AgentNotAcceptable,
    /// A streaming request without `Message-Content-Type`: `400`.
    #[error("Expecting 'Message-Content-Type' to be set for streaming requests")]
    MissingMessageContentType,
    /// A `Message-Content-Type` other than exactly JSON or protobuf: `415`.
    #[error("Expecting 'Message-Content-Type' of application/json or application/x-protobuf")]
    UnsupportedMessageContentType,
    /// A `Message-Content-Type` on a request that is not streaming: `415`.
    #[error("Expecting 'Message-Content-Type' to be not set for non-streaming requests")]
    UnexpectedMessageContentType,
    /// A streaming response whose `Message-Accept` admits neither JSON nor
    /// protobuf: `406`.
    #[error("Expecting 'Message-Accept' to allow application/json or application/x-protobuf")]
    MessageNotAcceptable,
    /// A `Message-Accept` on a request whose response is not streaming: `406`.
    #[error("Expecting 'Message-Accept' to be not set for non-streaming responses")]
    UnexpectedMessageAccept,
    /// A streaming request body for a call that takes none (any call but
    /// `ATTACH_CONTAINER_INPUT`): `415`.
    #[error("Streaming 'Content-Type' application/recordio is not supported for {} call", .call.as_str_name())]
    StreamingRequestNotSupported {
        /// The agent call.
        call: AgentCallType,
    },
    /// A call that takes only a streaming request body
    /// (`ATTACH_CONTAINER_INPUT`) sent with a plain one: `415`.
    #[error("Expecting 'Content-Type' to be application/recordio for {} call", .call.as_str_name())]
    StreamingRequestRequired {
        /// The agent call.
        call: AgentCallType,
    },
    /// A streaming response asked of a call that has none (any call but
    /// `ATTACH_CONTAINER_OUTPUT` and `LAUNCH_NESTED_CONTAINER_SESSION`): `406`.
    #[error("Streaming response is not supported for {} call", .call.as_str_name())]
    StreamingResponseNotSupported {
        /// The agent call.
        call: AgentCallType,
    },
}

impl NegotiationError {
    /// The HTTP status the master or agent answers with: `400`, `406` or `415`.
    ///
    /// ```
    /// use mesos_codec::negotiate::NegotiationError;
    ///
    /// assert_eq!(NegotiationError::MissingContentType.status(), 400);
    /// assert_eq!(NegotiationError::UnsupportedContentType.status(), 415);
    /// assert_eq!(NegotiationError::NotAcceptable.status(), 406);
    /// ```
    pub const fn status(&self) -> u16 {
        match self {
            NegotiationError::MissingContentType | NegotiationError::MissingMessageContentType => 400,
            NegotiationError::NotAcceptable
            | NegotiationError::AgentNotAcceptable
            | NegotiationError::MessageNotAcceptable
            | NegotiationError::UnexpectedMessageAccept
            | NegotiationError::StreamingResponseNotSupported { .. } => 406,
            NegotiationError::UnsupportedContentType
            | NegotiationError::AgentUnsupportedContentType
            | NegotiationError::UnsupportedMessageContentType
            | NegotiationError::UnexpectedMessageContentType
            | NegotiationError::StreamingRequestNotSupported { .. }
            | NegotiationError::StreamingRequestRequired { .. } => 415,
        }
    }
}

/// The value the master reads from a header sent any number of times: the
/// last one, or `None` when there is none.
///
/// libprocess's request parser keeps headers in a map and overwrites earlier
/// values, so `Accept: application/json` followed by `Accept:
/// application/x-protobuf` is read as `application/x-protobuf` alone (the
/// values are *not* joined with `,` as RFC 9110 would have it). Feed the
/// result to any function of this module.
///
/// ```
/// use mesos_codec::negotiate::{last_header_value, response_content_type, ContentType};
///
/// let accept = ["application/json", "application/x-protobuf"];
/// assert_eq!(last_header_value(accept), Some("application/x-protobuf"));
/// assert_eq!(response_content_type(last_header_value(accept))?, ContentType::Protobuf);
/// assert_eq!(last_header_value([]), None);
/// # Ok::<(), mesos_codec::negotiate::NegotiationError>(())
/// ```
pub fn last_header_value<'a, I>(values: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    values.into_iter().last()
}

/// The type of a request body to the master (scheduler and operator APIs) or
/// to the agent's executor API, from its `Content-Type` value.
///
/// The value is compared exactly, as Mesos does: pass it as the HTTP library
/// hands it over (without the whitespace around it). `application/recordio`
/// is refused here like any other type; the agent's operator API reads it with
/// [`agent_request_body_type`].
///
/// ```
/// use mesos_codec::negotiate::{request_content_type, ContentType, NegotiationError};
///
/// assert_eq!(request_content_type(Some("application/json")), Ok(ContentType::Json));
/// assert_eq!(request_content_type(None), Err(NegotiationError::MissingContentType));
/// assert_eq!(
///     request_content_type(Some("application/json; charset=utf-8")),
///     Err(NegotiationError::UnsupportedContentType)
/// );
/// ```
pub fn request_content_type(content_type: Option<&str>) -> Result<ContentType, NegotiationError> {
    match content_type.map(ContentType::from_media_type) {
        None => Err(NegotiationError::MissingContentType),
        Some(Some(content_type @ (ContentType::Json | ContentType::Protobuf))) => Ok(content_type),
        Some(_) => Err(NegotiationError::UnsupportedContentType),
    }
}

/// The type the master (or the agent's executor API) answers in, from the
/// request's `Accept` value: JSON if [`accepts`] admits it, else protobuf if
/// admitted, else [`NegotiationError::NotAcceptable`] (`406`).
///
/// This is the master's order, not a ranking by q-value: JSON wins whenever it
/// is acceptable at all (see [`response_content_type_by_quality`] for the
/// other reading). No `Accept` header means JSON.
///
/// ```
/// use mesos_codec::negotiate::{response_content_type, ContentType, NegotiationError};
///
/// assert_eq!(response_content_type(None), Ok(ContentType::Json));
/// assert_eq!(response_content_type(Some("*/*")), Ok(ContentType::Json));
/// assert_eq!(response_content_type(Some("application/x-protobuf")), Ok(ContentType::Protobuf));
/// assert_eq!(response_content_type(Some("application/json;q=0, */*")), Ok(ContentType::Protobuf));
/// // The master does not compare q-values.
/// assert_eq!(response_content_type(Some("*/*;q=0.5, application/x-protobuf")), Ok(ContentType::Json));
/// assert_eq!(response_content_type(Some("text/html")), Err(NegotiationError::NotAcceptable));
/// ```
pub fn response_content_type(accept: Option<&str>) -> Result<ContentType, NegotiationError> {
    if accepts(accept, ContentType::Json) {
        Ok(ContentType::Json)
    } else if accepts(accept, ContentType::Protobuf) {
        Ok(ContentType::Protobuf)
    } else {
        Err(NegotiationError::NotAcceptable)
    }
}

/// Like [`response_content_type`], but the type with the higher q-value
/// ([`quality`]) wins, JSON on a tie: RFC 9110's reading of `Accept`, which is
/// **not** what the master does. Acceptability is the same (a type is
/// acceptable when the master would accept it), and so is the `406`.
///
/// ```
/// use mesos_codec::negotiate::{response_content_type_by_quality, ContentType};
///
/// let accept = Some("*/*;q=0.5, application/x-protobuf");
/// assert_eq!(response_content_type_by_quality(accept), Ok(ContentType::Protobuf));
/// assert_eq!(response_content_type_by_quality(Some("application/*")), Ok(ContentType::Json));
/// assert_eq!(response_content_type_by_quality(None), Ok(ContentType::Json));
/// ```
pub fn response_content_type_by_quality(accept: Option<&str>) -> Result<ContentType, NegotiationError> {
    let json = quality(accept, ContentType::Json);
    let protobuf = quality(accept, ContentType::Protobuf);
    if json > 0.0 && json >= protobuf {
        Ok(ContentType::Json)
    } else if protobuf > 0.0 {
        Ok(ContentType::Protobuf)
    } else {
        Err(NegotiationError::NotAcceptable)
    }
}

/// Whether an `Accept` (or `Message-Accept`) value admits a type, exactly as
/// libprocess's `Request::acceptsMediaType` decides: `quality(..) > 0`. No
/// header admits everything; see the [module documentation](self) for how the
/// value is read.
///
/// ```
/// use mesos_codec::negotiate::{accepts, ContentType};
///
/// assert!(accepts(None, ContentType::Protobuf));
/// assert!(accepts(Some("application/*"), ContentType::Protobuf));
/// assert!(accepts(Some("APPLICATION/X-PROTOBUF; level=1"), ContentType::Protobuf));
/// assert!(!accepts(Some("application/x-protobuf;q=0, */*"), ContentType::Protobuf));
/// assert!(!accepts(Some(""), ContentType::Json));
/// ```
pub fn accepts(accept: Option<&str>, content_type: ContentType) -> bool {
    quality(accept, content_type) > 0.0
}

/// The q-value an `Accept` (or `Message-Accept`) value gives a type, as the
/// master reads it: `1.0` when there is no header; the `q` of the most
/// specific matching range (`1.0` when it has none, or more than one);
/// `0.0` when no range matches, or the `q` is not a positive number.
///
/// q-values are not clamped to `0..=1` (`q=2` gives `2.0`).
///
/// ```
/// use mesos_codec::negotiate::{quality, ContentType};
///
/// assert_eq!(quality(None, ContentType::Json), 1.0);
/// assert_eq!(quality(Some("application/json;q=0.3, */*;q=0.9"), ContentType::Json), 0.3);
/// assert_eq!(quality(Some("application/json;q=0.3, */*;q=0.9"), ContentType::Protobuf), 0.9);
/// assert_eq!(quality(Some("application/json;q=high"), ContentType::Json), 0.0);
/// assert_eq!(quality(Some("text/*"), ContentType::Json), 0.0);
/// ```
pub fn quality(accept: Option<&str>, content_type: ContentType) -> f64 {
    let Some(accept) = accept else {
        return 1.0;
    };
    // libprocess removes these three characters (and no others) everywhere.
    let accept: String = accept.chars().filter(|c| !matches!(c, ' ' | '\t' | '\n')).collect();
    // Every type of the API is `application/...`.
    for candidate in [content_type.as_str(), "application/*", "*/*"] {
        for range in accept.split(',') {
            let Some(media_range) = range.split(';').find(|token| !token.is_empty()) else {
                continue;
            };
            if media_range.eq_ignore_ascii_case(candidate) {
                return range_quality(range);
            }
        }
    }
    0.0
}

/// The q-value of one media range (whitespace already removed), by stout's
/// `strings::pairs(range, ";", "=")` and `numify<double>`.
fn range_quality(range: &str) -> f64 {
    let mut q_values = range.split(';').filter_map(|parameter| {
        let mut parts = parameter.split('=').filter(|part| !part.is_empty());
        match (parts.next(), parts.next(), parts.next()) {
            (Some("q"), Some(value), None) => Some(value),
            _ => None,
        }
    });
    match (q_values.next(), q_values.next()) {
        // Exactly one `q`: it must be a positive number.
        (Some(value), None) => match value.parse::<f64>() {
            Ok(q) if q > 0.0 => q,
            _ => 0.0,
        },
        // No `q`, or several (Mesos: "No q value, or malformed q value").
        _ => 1.0,
    }
}

/// The type of a request body to the agent's operator API (`/api/v1` on the
/// agent), from its `Content-Type` and `Message-Content-Type` values.
///
/// `application/recordio` makes a streaming body and requires a
/// `Message-Content-Type` of exactly JSON or protobuf; any other body must
/// come without `Message-Content-Type`. All values are compared exactly.
///
/// ```
/// use mesos_codec::negotiate::{agent_request_body_type, BodyType, ContentType, NegotiationError};
///
/// assert_eq!(agent_request_body_type(Some("application/json"), None), Ok(BodyType::Plain(ContentType::Json)));
/// assert_eq!(
///     agent_request_body_type(Some("application/recordio"), Some("application/json")),
///     Ok(BodyType::Streaming(ContentType::Json))
/// );
/// assert_eq!(
///     agent_request_body_type(Some("application/recordio"), None),
///     Err(NegotiationError::MissingMessageContentType)
/// );
/// assert_eq!(agent_request_body_type(Some("text/plain"), None), Err(NegotiationError::AgentUnsupportedContentType));
/// ```
pub fn agent_request_body_type(
    content_type: Option<&str>,
    message_content_type: Option<&str>,
) -> Result<BodyType, NegotiationError> {
    let content_type = content_type
        .ok_or(NegotiationError::MissingContentType)
        .and_then(|value| ContentType::from_media_type(value).ok_or(NegotiationError::AgentUnsupportedContentType))?;
    if content_type.is_streaming() {
        match message_content_type.map(ContentType::from_media_type) {
            None => Err(NegotiationError::MissingMessageContentType),
            Some(Some(message @ (ContentType::Json | ContentType::Protobuf))) => Ok(BodyType::Streaming(message)),
            Some(_) => Err(NegotiationError::UnsupportedMessageContentType),
        }
    } else if message_content_type.is_some() {
        Err(NegotiationError::UnexpectedMessageContentType)
    } else {
        Ok(BodyType::Plain(content_type))
    }
}

/// The type the agent's operator API answers in, from the request's `Accept`
/// and `Message-Accept` values.
///
/// The agent takes JSON if `Accept` admits it, else protobuf, else a RecordIO
/// stream, else refuses (`406`). For a stream, the records are JSON if
/// `Message-Accept` admits it (no `Message-Accept` admits everything), else
/// protobuf, else `406`; a response that is not a stream must come without
/// `Message-Accept` (`406`). Acceptance is [`accepts`]'s.
///
/// ```
/// use mesos_codec::negotiate::{agent_response_body_type, BodyType, ContentType, NegotiationError};
///
/// assert_eq!(agent_response_body_type(None, None), Ok(BodyType::Plain(ContentType::Json)));
/// assert_eq!(
///     agent_response_body_type(Some("application/recordio"), Some("application/x-protobuf")),
///     Ok(BodyType::Streaming(ContentType::Protobuf))
/// );
/// assert_eq!(
///     agent_response_body_type(Some("application/json"), Some("application/json")),
///     Err(NegotiationError::UnexpectedMessageAccept)
/// );
/// assert_eq!(agent_response_body_type(Some("text/html"), None), Err(NegotiationError::AgentNotAcceptable));
/// ```
pub fn agent_response_body_type(
    accept: Option<&str>,
    message_accept: Option<&str>,
) -> Result<BodyType, NegotiationError> {
    let content_type = [ContentType::Json, ContentType::Protobuf, ContentType::RecordIo]
        .into_iter()
        .find(|&content_type| accepts(accept, content_type))
        .ok_or(NegotiationError::AgentNotAcceptable)?;
    if content_type.is_streaming() {
        [ContentType::Json, ContentType::Protobuf]
            .into_iter()
            .find(|&message| accepts(message_accept, message))
            .map(BodyType::Streaming)
            .ok_or(NegotiationError::MessageNotAcceptable)
    } else if message_accept.is_some() {
        Err(NegotiationError::UnexpectedMessageAccept)
    } else {
        Ok(BodyType::Plain(content_type))
    }
}

/// The agent's check, once it has read the call, that streaming is used only
/// where it exists: a streaming request body for `ATTACH_CONTAINER_INPUT` and
/// for nothing else (`415`), a streaming response for
/// `ATTACH_CONTAINER_OUTPUT` and `LAUNCH_NESTED_CONTAINER_SESSION` only
/// (`406`). The request is checked first.
///
/// ```
/// use mesos_codec::negotiate::{check_streaming_call, BodyType, ContentType, NegotiationError};
/// use mesos_codec::v1::agent::call::Type;
///
/// let plain = BodyType::Plain(ContentType::Json);
/// let stream = BodyType::Streaming(ContentType::Json);
/// assert_eq!(check_streaming_call(Type::AttachContainerInput, stream, plain), Ok(()));
/// assert_eq!(check_streaming_call(Type::AttachContainerOutput, plain, stream), Ok(()));
/// assert_eq!(check_streaming_call(Type::GetHealth, plain, plain), Ok(()));
///
/// let err = check_streaming_call(Type::GetHealth, plain, stream).unwrap_err();
/// assert_eq!(err, NegotiationError::StreamingResponseNotSupported { call: Type::GetHealth });
/// assert_eq!(err.status(), 406);
/// assert_eq!(err.to_string(), "Streaming response is not supported for GET_HEALTH call");
/// ```
pub fn check_streaming_call(
    call: AgentCallType,
    request: BodyType,
    response: BodyType,
) -> Result<(), NegotiationError> {
    let takes_stream = call == AgentCallType::AttachContainerInput;
    if request.is_streaming() && !takes_stream {
        return Err(NegotiationError::StreamingRequestNotSupported { call });
    }
    if !request.is_streaming() && takes_stream {
        return Err(NegotiationError::StreamingRequestRequired { call });
    }
    let gives_stream =
        matches!(call, AgentCallType::AttachContainerOutput | AgentCallType::LaunchNestedContainerSession);
    if response.is_streaming() && !gives_stream {
        return Err(NegotiationError::StreamingResponseNotSupported { call });
    }
    Ok(())
}
