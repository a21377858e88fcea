//! `mesos-replay diff A B`: are two sessions the same conversation?
//!
//! Semantic, not textual. Ignored: times, `seq` numbers, connection numbers,
//! headers (stream ids, dates, user agents), the encoding (a session in
//! protobuf equals one in JSON with the same messages), notes, and how the
//! calls on different connections interleave with the events. Compared:
//!
//! - the calls, each B call matched to the next A call with the same method,
//!   path and call type (so two calls made concurrently may swap places);
//!   their bodies field by field, framework-chosen ids bound on first sight
//!   (see [`crate::compare`]), and their answers (status and body);
//! - the A calls that B lacks, and the B calls that A lacks;
//! - the event streams, each opened by a matched SUBSCRIBE: event by event in
//!   order, the A events read through the bindings (and binding what is new),
//!   HEARTBEATs left out: they carry nothing, and how many a stream holds is
//!   its length in time over the interval.
//!
//! With [`Rebind::MasterIds`] the ids a master chooses and the values it
//! takes from its environment are bound too (see [`crate::compare`]), so a
//! session recorded against the sim and one recorded against a real master
//! for the same framework behaviour compare equal.
//!
//! The sessions are read whole into memory (a replay streams; a diff pairs).
//!
//! ```
//! use mesos_replay::compare::Rebind;
//! use mesos_replay::diff::{Conversation, diff};
//! let header = r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#;
//! let a = format!("{header}\n{}\n", r#"{"seq":0,"t_ns":5,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"KILL\",\"kill\":{\"task_id\":{\"value\":\"t1\"}}}"}"#);
//! let b = format!("{header}\n{}\n", r#"{"seq":0,"t_ns":9,"conn":3,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"kill\":{\"task_id\":{\"value\":\"t2\"}},\"type\":\"KILL\"}"}"#);
//! let a = Conversation::read(a.as_bytes()).unwrap();
//! let b = Conversation::read(b.as_bytes()).unwrap();
//! assert!(diff(&a, &b, Rebind::FrameworkIds).differences.is_empty()); // t1 is bound to t2
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::Read;

use mesos_codec::api::Encoding;
use mesos_codec::peek::peek_type;
use mesos_codec::schema::MessageId;
use mesos_codec::session::{EntryKind, Header, Item, TornLine};
use serde_json::Value;

use crate::compare::{Bindings, FieldDiff, Rebind, compare};
use crate::messages::{Items, api_of, canonical};
use crate::pairing::{Paired, Pairing};

/// What identifies a call for matching: method, path (without the query),
/// and the call type where the body names one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path without its query.
    pub path: String,
    /// The call type (`ACCEPT`), for a v1 API call whose body says.
    pub call: Option<String>,
}

impl CallKey {
    /// The key of a request.
    ///
    /// ```
    /// use mesos_replay::diff::CallKey;
    /// let key = CallKey::of("POST", "/api/v1/scheduler?x", br#"{"type":"DECLINE"}"#, None);
    /// assert_eq!(key.to_string(), "DECLINE");
    /// assert_eq!(CallKey::of("GET", "/state", b"", None).to_string(), "GET /state");
    /// ```
    pub fn of(method: &str, path: &str, body: &[u8], format: Option<Encoding>) -> CallKey {
        let path = path.split('?').next().unwrap_or(path).to_owned();
        let call = api_of(&path)
            .call
            .and_then(|id| peek_type(id, Encoding::of(format, body), body).ok().flatten())
            .map(str::to_owned);
        CallKey { method: method.to_owned(), path, call }
    }
}

impl fmt::Display for CallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.call {
            Some(call) => f.write_str(call),
            None => write!(f, "{} {}", self.method, self.path),
        }
    }
}

/// A message body: canonical JSON when it decodes as its v1 type, its raw
/// bytes otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Decoded (see [`crate::messages::canonical`]).
    Message(Value),
    /// Not a v1 message (or not decodable): compared byte for byte.
    Raw(Vec<u8>),
}

impl Body {
    fn of(message: Option<MessageId>, bytes: &[u8], format: Option<Encoding>) -> Body {
        match message {
            Some(id) if !bytes.is_empty() => {
                canonical(id, bytes, format).map(Body::Message).unwrap_or_else(|_| Body::Raw(bytes.to_vec()))
            }
            _ => Body::Raw(bytes.to_vec()),
        }
    }

    fn value(&self) -> Value {
        match self {
            Body::Message(v) => v.clone(),
            Body::Raw(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Value::String(text.to_owned()),
                Err(_) => Value::String(format!("<{} bytes, not UTF-8>", bytes.len())),
            },
        }
    }
}

/// One call and its answer.
#[derive(Debug, Clone)]
pub struct Call {
    /// The request's line in the file.
    pub line: u64,
    /// What it is.
    pub key: CallKey,
    /// The request body.
    pub body: Body,
    /// The answer's status, if it was answered.
    pub status: Option<u16>,
    /// The answer's body.
    pub answer: Body,
    /// The event stream it opened (an index into [`Conversation::streams`]).
    pub stream: Option<usize>,
}

/// One event of a stream.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its line in the file.
    pub line: u64,
    /// The event type (`OFFERS`), when it decodes.
    pub name: Option<String>,
    /// The record.
    pub body: Body,
}

/// A session read for comparison.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The header.
    pub header: Option<Header>,
    /// The calls in file order.
    pub calls: Vec<Call>,
    /// The event streams in the order they were opened.
    pub streams: Vec<Vec<Event>>,
    /// A torn last line, skipped.
    pub torn: Option<TornLine>,
}

pub use crate::messages::ReadError;

impl Conversation {
    /// Reads a whole session.
    ///
    /// ```
    /// use mesos_replay::diff::Conversation;
    /// let session = concat!(
    ///     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#, "\n",
    ///     r#"{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"TEARDOWN\"}"}"#, "\n",
    ///     r#"{"seq":1,"t_ns":1,"conn":1,"kind":"response","request":0,"status":202,"headers":[]}"#, "\n",
    /// );
    /// let conversation = Conversation::read(session.as_bytes()).unwrap();
    /// assert_eq!(conversation.calls[0].key.to_string(), "TEARDOWN");
    /// assert_eq!(conversation.calls[0].status, Some(202));
    /// assert!(Conversation::read(&b"{\"kind\":\"event\"}\n"[..]).is_err()); // no header
    /// let empty = Conversation::read(&b""[..]).unwrap_err();
    /// assert_eq!(empty.to_string(), "line 1: no header line: an empty file is not a session");
    /// ```
    pub fn read(input: impl Read) -> Result<Conversation, ReadError> {
        let mut items = Items::new(input);
        let mut conv = Conversation { header: None, calls: Vec::new(), streams: Vec::new(), torn: None };
        let mut pairing = Pairing::default();
        while let Some((item, span)) = items.next_item()? {
            let line = span.line;
            let entry = match item {
                Item::Header(header) => {
                    conv.header = Some(header);
                    continue;
                }
                Item::Entry(entry) => entry,
            };
            match (pairing.pair(&entry), entry.kind) {
                (Paired::Request { api, .. }, EntryKind::Request(r)) => {
                    let key = CallKey::of(&r.method, &r.path, &r.body, r.summary.format);
                    let body = Body::of(api.call, &r.body, r.summary.format);
                    conv.calls.push(Call {
                        line,
                        key,
                        body,
                        status: None,
                        answer: Body::Raw(Vec::new()),
                        stream: None,
                    });
                }
                (Paired::Response { call, api, stream }, EntryKind::Response(r)) => {
                    let call = &mut conv.calls[call];
                    call.status = Some(r.status);
                    if let Some(stream) = stream {
                        call.stream = Some(stream);
                        conv.streams.push(Vec::new());
                    } else {
                        let content_type = r.headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case("content-type"));
                        let format = r.format.or(mesos_codec::api::encoding(content_type.map(|(_, v)| v.as_str())));
                        call.answer = Body::of(api.response, &r.body, format);
                    }
                }
                (Paired::Event { stream, message, .. }, EntryKind::Event(e)) => {
                    let body = Body::of(message, &e.record, e.summary.format);
                    conv.streams[stream].push(Event {
                        line,
                        name: e.summary.name.map(std::borrow::Cow::into_owned),
                        body,
                    });
                }
                _ => {}
            }
        }
        conv.torn = items.finish();
        if conv.header.is_none() {
            return Err(ReadError::NoHeader);
        }
        Ok(conv)
    }
}

/// Where a difference is.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// The n-th call of A (from 1) and its match in B.
    Call {
        /// The call's number in A (from 1).
        number: usize,
        /// What it is.
        key: CallKey,
        /// Its line in A.
        a_line: u64,
        /// Its match's line in B.
        b_line: u64,
    },
    /// The answer to a call.
    Answer {
        /// The call's number in A (from 1).
        number: usize,
        /// What it is.
        key: CallKey,
    },
    /// A call of A that B lacks.
    MissingInB {
        /// The call's number in A.
        number: usize,
        /// What it is.
        key: CallKey,
        /// Its line in A.
        a_line: u64,
    },
    /// A call of B that A lacks.
    ExtraInB {
        /// What it is.
        key: CallKey,
        /// Its line in B.
        b_line: u64,
    },
    /// An event of a stream.
    Event {
        /// The stream (from 1).
        stream: usize,
        /// The event's number in the stream (from 1; HEARTBEATs not counted).
        number: usize,
        /// Its type.
        name: Option<String>,
        /// Its line in A, if A has it.
        a_line: Option<u64>,
        /// Its line in B, if B has it.
        b_line: Option<u64>,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Call { number, key, a_line, b_line } => {
                write!(f, "call {number} {key} (A line {a_line}, B line {b_line})")
            }
            Place::Answer { number, key } => write!(f, "answer to call {number} {key}"),
            Place::MissingInB { number, key, a_line } => write!(f, "call {number} {key} (A line {a_line}) is not in B"),
            Place::ExtraInB { key, b_line } => write!(f, "call {key} (B line {b_line}) is not in A"),
            Place::Event { stream, number, name, a_line, b_line } => {
                write!(f, "stream {stream} event {number} {}", name.as_deref().unwrap_or("(record)"))?;
                match (a_line, b_line) {
                    (Some(a), Some(b)) => write!(f, " (A line {a}, B line {b})"),
                    (Some(a), None) => write!(f, " (A line {a})"),
                    (None, Some(b)) => write!(f, " (B line {b})"),
                    (None, None) => Ok(()),
                }
            }
        }
    }
}

/// One difference.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Where.
    pub place: Place,
    /// The field, when the difference is inside a message.
    pub field: Option<FieldDiff>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(d) = &self.field {
            write!(f, ": {}: A {} / B {}", d.path, d.recorded, d.live)?;
            if let Some(reason) = &d.reason {
                write!(f, " ({reason})")?;
            }
        }
        Ok(())
    }
}

/// The outcome of a diff.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Every difference, calls first, then streams.
    pub differences: Vec<Difference>,
    /// The ids bound (A value → B value).
    pub bindings: Bindings,
}

/// Compares two conversations (see the module documentation), binding the
/// ids `rebind` says.
///
/// ```
/// use mesos_replay::compare::Rebind;
/// use mesos_replay::diff::{Conversation, diff};
/// let header = r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#;
/// let call = |kind: &str| format!(
///     r#"{{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{{\"type\":\"{kind}\"}}"}}"#);
/// let a = Conversation::read(format!("{header}\n{}\n", call("REVIVE")).as_bytes()).unwrap();
/// let b = Conversation::read(format!("{header}\n{}\n", call("SUPPRESS")).as_bytes()).unwrap();
/// let lines: Vec<String> = diff(&a, &b, Rebind::FrameworkIds).differences.iter().map(ToString::to_string).collect();
/// assert_eq!(lines, ["call 1 REVIVE (A line 2) is not in B", "call SUPPRESS (B line 2) is not in A"]);
/// ```
pub fn diff(a: &Conversation, b: &Conversation, rebind: Rebind) -> Outcome {
    let mut out = Outcome { differences: Vec::new(), bindings: Bindings::new(rebind) };
    // Pending A calls of each key, in order.
    let mut pending: HashMap<&CallKey, VecDeque<usize>> = HashMap::new();
    for (i, call) in a.calls.iter().enumerate() {
        pending.entry(&call.key).or_default().push_back(i);
    }
    let mut matched = vec![None; a.calls.len()];
    let mut field_diffs: Vec<(usize, Difference)> = Vec::new();
    let mut extra = Vec::new();
    for (j, bc) in b.calls.iter().enumerate() {
        let Some(i) = pending.get_mut(&bc.key).and_then(VecDeque::pop_front) else {
            extra.push(Difference { place: Place::ExtraInB { key: bc.key.clone(), b_line: bc.line }, field: None });
            continue;
        };
        matched[i] = Some(j);
        let ac = &a.calls[i];
        let place = Place::Call { number: i + 1, key: ac.key.clone(), a_line: ac.line, b_line: bc.line };
        for d in compare(&ac.body.value(), &bc.body.value(), &mut out.bindings) {
            field_diffs.push((i, Difference { place: place.clone(), field: Some(d) }));
        }
        let answer = Place::Answer { number: i + 1, key: ac.key.clone() };
        if ac.status != bc.status {
            let field =
                FieldDiff { path: "status".into(), recorded: ac.status.into(), live: bc.status.into(), reason: None };
            field_diffs.push((i, Difference { place: answer.clone(), field: Some(field) }));
        }
        for d in compare(&ac.answer.value(), &bc.answer.value(), &mut out.bindings) {
            field_diffs.push((i, Difference { place: answer.clone(), field: Some(d) }));
        }
    }
    // In A's order: each call's differences, or its absence from B.
    let mut by_call: Vec<Vec<Difference>> = vec![Vec::new(); a.calls.len()];
    for (i, d) in field_diffs {
        by_call[i].push(d);
    }
    for (i, diffs) in by_call.into_iter().enumerate() {
        if matched[i].is_none() {
            let ac = &a.calls[i];
            let place = Place::MissingInB { number: i + 1, key: ac.key.clone(), a_line: ac.line };
            out.differences.push(Difference { place, field: None });
        }
        out.differences.extend(diffs);
    }
    out.differences.extend(extra);
    // The streams of matched SUBSCRIBEs, in A's order.
    for (i, ac) in a.calls.iter().enumerate() {
        let (Some(sa), Some(sb)) = (ac.stream, matched[i].and_then(|j| b.calls[j].stream)) else { continue };
        compare_stream(sa + 1, &a.streams[sa], &b.streams[sb], &mut out);
    }
    out
}

fn compare_stream(stream: usize, a: &[Event], b: &[Event], out: &mut Outcome) {
    let beats = |e: &&Event| e.name.as_deref() != Some("HEARTBEAT");
    let (a, b): (Vec<&Event>, Vec<&Event>) = (a.iter().filter(beats).collect(), b.iter().filter(beats).collect());
    for n in 0..a.len().max(b.len()) {
        let (ea, eb) = (a.get(n), b.get(n));
        let place = |e: &Event| Place::Event {
            stream,
            number: n + 1,
            name: e.name.clone(),
            a_line: ea.map(|e| e.line),
            b_line: eb.map(|e| e.line),
        };
        match (ea, eb) {
            (Some(ea), Some(eb)) => {
                // Compared through the calls' bindings; an id first seen in
                // an event stays bound for the events after it.
                for d in compare(&ea.body.value(), &eb.body.value(), &mut out.bindings) {
                    out.differences.push(Difference { place: place(ea), field: Some(d) });
                }
            }
            (Some(ea), None) => out.differences.push(Difference {
                place: place(ea),
                field: Some(FieldDiff {
                    path: "$".into(),
                    recorded: ea.body.value(),
                    live: Value::Null,
                    reason: Some("not in B".into()),
                }),
            }),
            (None, Some(eb)) => out.differences.push(Difference {
                place: place(eb),
                field: Some(FieldDiff {
                    path: "$".into(),
                    recorded: Value::Null,
                    live: eb.body.value(),
                    reason: Some("not in A".into()),
                }),
            }),
            (None, None) => {}
        }
    }
}
