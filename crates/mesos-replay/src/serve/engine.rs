//! The replay's state: which recorded calls are matched, the live
//! subscriptions, the bindings and the divergences. Everything here runs
//! under one mutex, without awaiting.

use std::collections::{HashMap, VecDeque};
use std::fs::File;

use bytes::Bytes;
use mesos_codec::api::Encoding;
use mesos_codec::negotiate;
use mesos_codec::peek::peek_ids;
use mesos_codec::session::EntryKind;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::script::{Script, fingerprint};
use super::{Chunking, Options};
use crate::compare::{Binding, Bindings, compare, rewrite};
use crate::diff::CallKey;
use crate::messages::{api_of, canonical, encode_value, transcode};

/// How far ahead among the pending calls of one type a live call looks for
/// one that names the same master-chosen ids.
const LOOKAHEAD: usize = 64;

/// Room in a subscription's channel, in batches of HTTP chunks (a batch
/// holds at most [`BATCH`] events): the cursor waits when a framework reads
/// slowly, so memory stays flat.
pub(crate) const STREAM_BUFFER: usize = 16;

/// Most events handed to a stream at once. Events due together go
/// together, so the HTTP layer writes many chunks with one system call.
pub(crate) const BATCH: u64 = 64;

/// A recorded event's record framed for its stream: the RecordIO size line
/// and the record, in one buffer.
///
/// The session reader's thread frames every event of a read into one
/// [`Arena`], so an event costs no allocation of its own: with one
/// allocation an event, made on the reader's thread and freed on a tokio
/// worker's, glibc's malloc spent an eighth of `serve --pace fast`'s time
/// on its arena locks (perf, docs/performance.md).
#[derive(Clone, Debug)]
pub(crate) struct Framed {
    /// The size line and the record.
    pub bytes: Bytes,
    /// The size line's length: the record starts there.
    pub header: usize,
}

impl Framed {
    /// `record` framed in a buffer of its own.
    pub fn new(record: &[u8]) -> Framed {
        let mut size = itoa::Buffer::new();
        let size_line = size.format(record.len()).as_bytes();
        let mut bytes = Vec::with_capacity(size_line.len() + 1 + record.len());
        bytes.extend_from_slice(size_line);
        bytes.push(b'\n');
        bytes.extend_from_slice(record);
        Framed { bytes: Bytes::from(bytes), header: size_line.len() + 1 }
    }

    /// The record.
    pub fn record(&self) -> &[u8] {
        &self.bytes[self.header..]
    }
}

/// Room for a size line: the digits of a `usize` and the newline.
const HEADROOM: usize = 21;

/// The frames of many events in one buffer. Each frame is opened with room
/// for its size line ([`open`](Arena::open)), its record is written after
/// that room straight from the session line ([`records`](Arena::records),
/// `session::Reader::next_item_into`), and closing it writes the size line
/// just before the record (the few bytes of room it does not need stay
/// unused). Then the buffer becomes one `Bytes` ([`freeze`](Arena::freeze))
/// and each frame a slice of it.
pub(crate) struct Arena {
    buf: Vec<u8>,
}

impl Arena {
    pub fn with_capacity(capacity: usize) -> Arena {
        Arena { buf: Vec::with_capacity(capacity) }
    }

    /// Opens a frame: where it starts, to close it or drop it with.
    pub fn open(&mut self) -> usize {
        let at = self.buf.len();
        self.buf.resize(at + HEADROOM, 0);
        at
    }

    /// Where the open frame's record is written: the end of the buffer.
    pub fn records(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Drops the frame opened at `at` (and what was written after it).
    pub fn drop_open(&mut self, at: usize) {
        self.buf.truncate(at);
    }

    /// Closes the frame opened at `at`: its record is what follows its
    /// room. The frame without its bytes yet, and where they will lie in
    /// the frozen buffer.
    pub fn close(&mut self, at: usize) -> (Framed, std::ops::Range<usize>) {
        let record = self.buf.len() - (at + HEADROOM);
        let mut size = itoa::Buffer::new();
        let size_line = size.format(record).as_bytes();
        let start = at + HEADROOM - size_line.len() - 1;
        self.buf[start..start + size_line.len()].copy_from_slice(size_line);
        self.buf[at + HEADROOM - 1] = b'\n';
        (Framed { bytes: Bytes::new(), header: size_line.len() + 1 }, start..self.buf.len())
    }

    /// The buffer, for the frames to be slices of.
    pub fn freeze(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

/// A live request, as the server read it.
pub(crate) struct LiveRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    pub accept: Option<&'a str>,
    pub stream_id: Option<&'a str>,
    pub host: Option<&'a str>,
    pub body: &'a [u8],
}

/// What to answer.
pub(crate) enum Reply {
    Full { status: u16, headers: Vec<(String, String)>, body: Bytes },
    Stream { status: u16, headers: Vec<(String, String)>, sub: usize, generation: u64, rx: mpsc::Receiver<Vec<Bytes>> },
}

impl Reply {
    fn text(status: u16, message: impl Into<String>) -> Reply {
        let headers = vec![("Content-Type".to_owned(), "text/plain; charset=utf-8".to_owned())];
        Reply::Full { status, headers, body: Bytes::from(message.into()) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CallState {
    Pending,
    Matched { at: Instant },
    Missing,
}

pub(crate) enum SubState {
    Waiting,
    Live {
        tx: mpsc::Sender<Vec<Bytes>>,
        encoding: Encoding,
    },
    /// A `cut` fault cut its connection: the framework's next SUBSCRIBE
    /// gets it back.
    Cut {
        encoding: Encoding,
    },
    Closed,
}

/// A recorded call matched by a live one.
#[derive(Debug, Clone, Serialize)]
pub struct MatchedCall {
    /// The recorded call's number (from 1, in file order).
    pub call: usize,
    /// The live call's number (from 1, in arrival order).
    pub live: u64,
    /// The call type, or method and path.
    #[serde(rename = "type")]
    pub kind: String,
    /// The recorded request's line in the session file.
    pub line: u64,
}

/// One divergence between the recording and the live framework.
///
/// ```
/// use mesos_replay::serve::Divergence;
/// let d = Divergence {
///     kind: "fields", call: Some(3), live: Some(3), call_type: "ACCEPT".into(), line: Some(7),
///     path: Some("$.accept.filters.refuse_seconds".into()),
///     recorded: Some(serde_json::json!(5.0)), live_value: Some(serde_json::json!(60.0)), message: "differs".into(),
/// };
/// assert_eq!(d.to_string(), "call 3 ACCEPT (live call 3) [line 7]: $.accept.filters.refuse_seconds: recorded 5.0, live 60.0: differs");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Divergence {
    /// `fields` (a matched call differs), `missing` (a recorded call never
    /// came), `unexpected` (a live call the recording lacks), `stream_id`
    /// (a call without the subscription's `Mesos-Stream-Id`).
    pub kind: &'static str,
    /// The recorded call's number (from 1), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<usize>,
    /// The live call's number (from 1), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<u64>,
    /// The call type, or method and path.
    #[serde(rename = "type")]
    pub call_type: String,
    /// The recorded request's line in the session file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The field, as a JSON path into the call (`$.accept.offer_ids[0].value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The recorded value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Value>,
    /// The live value.
    #[serde(skip_serializing_if = "Option::is_none", rename = "live_value")]
    pub live_value: Option<Value>,
    /// Why, in words.
    pub message: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.call, self.live) {
            (Some(call), Some(live)) => write!(f, "call {call} {} (live call {live})", self.call_type)?,
            (Some(call), None) => write!(f, "call {call} {}", self.call_type)?,
            (None, Some(live)) => write!(f, "live call {live} {}", self.call_type)?,
            (None, None) => write!(f, "{}", self.call_type)?,
        }
        if let Some(line) = self.line {
            write!(f, " [line {line}]")?;
        }
        if let Some(path) = &self.path {
            write!(f, ": {path}: recorded {}, live {}", fmt_value(&self.recorded), fmt_value(&self.live_value))?;
        }
        write!(f, ": {}", self.message)
    }
}

fn fmt_value(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => "(absent)".to_owned(),
        Some(v) => v.to_string(),
    }
}

pub(crate) struct Engine {
    pub script: std::sync::Arc<Script>,
    file: File,
    pub options: Options,
    pending: HashMap<CallKey, VecDeque<usize>>,
    /// For each request outside the v1 APIs, the last recorded one matched:
    /// asked again once the recording has no more of them (monitors poll,
    /// clients retry), it is answered the same way again.
    outside: HashMap<CallKey, usize>,
    pub states: Vec<CallState>,
    live_calls: u64,
    pub subs: Vec<SubState>,
    /// The stream id of the latest live subscription.
    stream_id: Option<String>,
    pub bindings: Bindings,
    pub matched: Vec<MatchedCall>,
    pub divergences: Vec<Divergence>,
    pub events_sent: Vec<u64>,
    pub events_undelivered: u64,
    pub unrecorded: u64,
    pub stopped: bool,
    /// `--fault`s and where they are.
    pub faults: super::faults::Faults,
    /// The faults that fired, in order.
    pub fired: Vec<super::faults::Fired>,
    /// Each fault's latest line in `fired`.
    pub fired_at: Vec<Option<usize>>,
    /// Each subscription's first event (its `SUBSCRIBED`), to send again
    /// when the framework subscribes again after a `cut`.
    first_event: Vec<Option<(Framed, Option<Encoding>)>>,
    /// Each subscription's live streams so far (a stream that ends leaves
    /// its subscription alone when a newer one took over).
    pub generations: Vec<u64>,
}

impl Engine {
    pub fn new(script: std::sync::Arc<Script>, options: Options) -> std::io::Result<Engine> {
        let file = File::open(&script.path)?;
        let mut pending: HashMap<CallKey, VecDeque<usize>> = HashMap::new();
        for (i, call) in script.calls.iter().enumerate() {
            pending.entry(call.key.clone()).or_default().push_back(i);
        }
        let calls = script.calls.len();
        let subs = script.subs.len();
        let options_faults = options.faults.clone();
        Ok(Engine {
            script,
            file,
            options,
            pending,
            outside: HashMap::new(),
            states: vec![CallState::Pending; calls],
            live_calls: 0,
            subs: (0..subs).map(|_| SubState::Waiting).collect(),
            stream_id: None,
            bindings: Bindings::default(),
            matched: Vec::new(),
            divergences: Vec::new(),
            events_sent: vec![0; subs],
            events_undelivered: 0,
            unrecorded: 0,
            stopped: false,
            faults: super::faults::Faults::new(options_faults.clone()),
            fired: Vec::new(),
            fired_at: vec![None; options_faults.len()],
            first_event: vec![None; subs],
            generations: vec![0; subs],
        })
    }

    fn diverge(&mut self, divergence: Divergence) {
        tracing::warn!("divergence: {divergence}");
        self.divergences.push(divergence);
        if self.options.strict {
            self.stop();
        }
    }

    /// Ends every live stream (strict mode, the end of the recording, or a
    /// shutdown).
    pub fn stop(&mut self) {
        self.stopped = true;
        self.stop_streams();
    }

    /// Ends the live streams (the recording is played out); later calls
    /// are still matched, and reported as unexpected.
    pub fn stop_streams(&mut self) {
        for sub in &mut self.subs {
            if matches!(sub, SubState::Live { .. } | SubState::Cut { .. }) {
                *sub = SubState::Closed;
            }
        }
    }

    /// A recorded call that never came.
    pub fn missing(&mut self, index: usize) {
        if self.states[index] != CallState::Pending {
            return;
        }
        self.states[index] = CallState::Missing;
        let call = &self.script.calls[index];
        if let Some(queue) = self.pending.get_mut(&call.key) {
            queue.retain(|&i| i != index);
        }
        let divergence = Divergence {
            kind: "missing",
            call: Some(index + 1),
            live: None,
            call_type: call.key.to_string(),
            line: Some(call.request.line),
            path: None,
            recorded: None,
            live_value: None,
            message: format!(
                "the framework did not make this call (waited {:.1} s after the events before it)",
                self.options.call_timeout.as_secs_f64()
            ),
        };
        self.diverge(divergence);
    }

    /// The pending recorded call a live call matches: the next of its type,
    /// preferring (among the next few) one naming the same master-chosen ids.
    fn pick(&mut self, key: &CallKey, fingerprint: u64) -> Option<usize> {
        let queue = self.pending.get_mut(key)?;
        let calls = &self.script.calls;
        let position = queue.iter().take(LOOKAHEAD).position(|&i| calls[i].fingerprint == fingerprint).unwrap_or(0);
        queue.remove(position)
    }

    pub fn on_request(&mut self, req: &LiveRequest<'_>, now: Instant) -> Reply {
        self.live_calls += 1;
        let live = self.live_calls;
        let format = mesos_codec::api::encoding(req.content_type);
        let key = CallKey::of(req.method, req.path, req.body, format);
        let api = api_of(req.path);
        if self.stopped {
            return Reply::text(503, "mesos-replay: the replay has stopped (--strict, after a divergence)");
        }
        if key.call.as_deref() == Some("SUBSCRIBE")
            && let Some(sub) = self.subs.iter().position(|s| matches!(s, SubState::Cut { .. }))
        {
            return self.resubscribe(sub, req, live);
        }
        let index = self.pick(&key, fingerprint(api.call, req.body, format));
        let Some(index) = index else {
            if !api.is_v1()
                && let Some(&index) = self.outside.get(&key)
                && let Some(Ok(entry)) =
                    self.script.calls[index].response.map(|s| self.script.read_entry(&self.file, s))
                && let EntryKind::Response(response) = entry.kind
            {
                return Reply::Full {
                    status: response.status,
                    headers: answer_headers(&response.headers),
                    body: Bytes::from(response.body),
                };
            }
            if !api.is_v1() {
                // Not part of the recorded conversation: answer as a master
                // would, and do not count it against the replay.
                self.unrecorded += 1;
                let path = req.path.split('?').next().unwrap_or(req.path);
                if matches!(path, "/redirect" | "/master/redirect") {
                    let location = format!("//{}", req.host.unwrap_or("localhost"));
                    return Reply::Full {
                        status: 307,
                        headers: vec![("Location".into(), location)],
                        body: Bytes::new(),
                    };
                }
                return Reply::text(404, "");
            }
            let divergence = Divergence {
                kind: "unexpected",
                call: None,
                live: Some(live),
                call_type: key.to_string(),
                line: None,
                path: None,
                recorded: None,
                live_value: None,
                message: "the recording has no further call of this type".into(),
            };
            self.diverge(divergence);
            if key.call.as_deref() == Some("SUBSCRIBE") {
                return Reply::text(503, "mesos-replay: the recording has no further subscription");
            }
            return Reply::Full { status: 202, headers: Vec::new(), body: Bytes::new() };
        };
        self.states[index] = CallState::Matched { at: now };
        let call = self.script.calls[index].clone();
        if !api.is_v1() {
            self.outside.insert(key.clone(), index);
        }
        self.matched.push(MatchedCall { call: index + 1, live, kind: key.to_string(), line: call.request.line });
        let divergence = |kind, message: String| Divergence {
            kind,
            call: Some(index + 1),
            live: Some(live),
            call_type: key.to_string(),
            line: Some(call.request.line),
            path: None,
            recorded: None,
            live_value: None,
            message,
        };

        // The recorded exchange.
        let recorded = match self.script.read_entry(&self.file, call.request) {
            Ok(entry) => entry,
            Err(e) => return Reply::text(500, format!("mesos-replay: cannot read the recorded call again: {e}")),
        };
        let EntryKind::Request(recorded) = recorded.kind else {
            return Reply::text(500, "mesos-replay: the session file changed under the replay");
        };
        let response = match call.response.map(|span| self.script.read_entry(&self.file, span)) {
            Some(Ok(entry)) => match entry.kind {
                EntryKind::Response(r) => Some(r),
                _ => return Reply::text(500, "mesos-replay: the session file changed under the replay"),
            },
            Some(Err(e)) => return Reply::text(500, format!("mesos-replay: cannot read the recorded answer: {e}")),
            None => None,
        };

        // Compare, binding framework-chosen ids.
        if let Some(message) = api.call {
            let r = canonical(message, &recorded.body, recorded.summary.format);
            let l = canonical(message, req.body, format);
            match (r, l) {
                (Ok(r), Ok(l)) => {
                    for d in compare(&r, &l, &mut self.bindings) {
                        let mut dv = divergence("fields", d.reason.clone().unwrap_or_else(|| "differs".into()));
                        dv.path = Some(d.path);
                        dv.recorded = Some(d.recorded);
                        dv.live_value = Some(d.live);
                        self.diverge(dv);
                    }
                }
                (Ok(_), Err(e)) => self.diverge(divergence("fields", format!("the live call does not decode: {e}"))),
                (Err(_), _) if recorded.body != req.body => {
                    self.diverge(divergence("fields", "the body differs (the recorded one does not decode)".into()))
                }
                (Err(_), _) => {}
            }
        } else if recorded.body != req.body {
            self.diverge(divergence("fields", "the body differs".into()));
        }

        // The stream id, checked as the master checks it.
        let recorded_stream_id = header(&recorded.headers, "mesos-stream-id");
        if key.call.as_deref() != Some("SUBSCRIBE")
            && recorded_stream_id.is_some()
            && let Some(current) = self.stream_id.clone()
            && req.stream_id != Some(current.as_str())
        {
            let message = match req.stream_id {
                None => "All non-subscribe calls should include the 'Mesos-Stream-Id' header".to_owned(),
                Some(_) => {
                    let framework = recorded.summary.framework_id.as_deref().unwrap_or_default();
                    format!(
                        "The stream ID included in this request didn't match the stream ID currently associated \
                         with framework ID '{framework}'"
                    )
                }
            };
            let mut dv = divergence("stream_id", message.clone());
            dv.path = Some("headers.Mesos-Stream-Id".into());
            dv.recorded = Some(Value::String(current));
            dv.live_value = Some(req.stream_id.map_or(Value::Null, |s| Value::String(s.into())));
            self.diverge(dv);
            return Reply::text(400, message);
        }

        let Some(response) = response else {
            return Reply::text(503, "mesos-replay: the recording holds no answer to this call");
        };
        let wanted = negotiate::response_content_type(req.accept).ok().and_then(|c| Encoding::try_from(c).ok());
        if let Some(sub) = call.sub {
            let mut headers = stream_headers(&response.headers);
            let recorded_format = self.script.subs[sub].format;
            let live_encoding = wanted.or(recorded_format).unwrap_or(Encoding::Json);
            set_content_type(&mut headers, live_encoding);
            let (tx, rx) = mpsc::channel(STREAM_BUFFER);
            // A reconnect replaces the previous subscription's stream.
            self.subs[sub] = SubState::Live { tx, encoding: live_encoding };
            self.stream_id = self.script.subs[sub].stream_id.clone();
            self.generations[sub] += 1;
            return Reply::Stream { status: response.status, headers, sub, generation: self.generations[sub], rx };
        }
        let mut headers = answer_headers(&response.headers);
        let mut body = Bytes::from(response.body);
        if let (Some(message), Some(want), false) = (api.response, wanted, body.is_empty()) {
            let have =
                Encoding::of(response.format.or(mesos_codec::api::encoding(header(&headers, "content-type"))), &body);
            if have != want
                && let Ok(bytes) = transcode(message, &body, have, want)
            {
                body = Bytes::from(bytes);
                set_content_type(&mut headers, want);
            }
        }
        Reply::Full { status: response.status, headers, body }
    }

    /// The bytes to send for one recorded event on `sub`, as HTTP chunks,
    /// and the sender to send them with; `None` when the stream is not live.
    pub fn event_frames(
        &mut self,
        sub: usize,
        framed: Framed,
        format: Option<Encoding>,
        chunks: Option<Vec<u64>>,
    ) -> Option<(mpsc::Sender<Vec<Bytes>>, Vec<Bytes>)> {
        let mut frames = Vec::new();
        let tx = self.event_frames_into(sub, framed, format, chunks, &mut frames)?.clone();
        Some((tx, frames))
    }

    /// Whether `sub`'s stream is live (what [`event_frames_into`](Self::event_frames_into)
    /// gives frames for).
    pub fn is_live(&self, sub: usize) -> bool {
        matches!(self.subs[sub], SubState::Live { .. })
    }

    /// [`event_frames`](Self::event_frames), the HTTP chunks appended to
    /// `out` and the sender lent: the cursor's usual step, with no `Vec`
    /// and no sender clone an event (it clones the sender once a batch).
    pub fn event_frames_into(
        &mut self,
        sub: usize,
        framed: Framed,
        format: Option<Encoding>,
        chunks: Option<Vec<u64>>,
        out: &mut Vec<Bytes>,
    ) -> Option<&mpsc::Sender<Vec<Bytes>>> {
        if self.first_event[sub].is_none() {
            self.first_event[sub] = Some((framed.clone(), format));
        }
        let SubState::Live { tx, encoding: want } = &self.subs[sub] else {
            self.events_undelivered += 1;
            return None;
        };
        let want = *want;
        let message = self.script.subs[sub].event;
        let record = framed.record();
        let have = Encoding::of(format.or(self.script.subs[sub].format), record);
        let mut rewritten: Option<Vec<u8>> = None;
        if let Some(message) = message {
            if self.bindings.renames() && self.names_renamed_ids(message, have, record) {
                rewritten = canonical(message, record, Some(have)).ok().and_then(|mut v| {
                    rewrite(&mut v, &self.bindings).then(|| encode_value(message, &v, want).ok()).flatten()
                });
            }
            if rewritten.is_none() && have != want {
                rewritten = transcode(message, record, have, want).ok();
            }
        }
        let changed = rewritten.is_some();
        let framed = match rewritten {
            None => framed.bytes,
            Some(data) => Framed::new(&data).bytes,
        };
        match (self.options.chunking, chunks) {
            (Chunking::Recorded, Some(sizes))
                if !changed
                    && sizes.iter().try_fold(0u64, |sum, &n| sum.checked_add(n)) == Some(framed.len() as u64)
                    && !sizes.contains(&0) =>
            {
                out.reserve(sizes.len());
                let mut at = 0usize;
                for size in sizes {
                    let end = at + size as usize;
                    out.push(framed.slice(at..end));
                    at = end;
                }
            }
            _ => out.push(framed),
        }
        Some(tx)
    }

    /// A `cut` fault: `sub`'s live stream is to be cut (the sender to cut
    /// it with: an empty batch tells its body to fail, which ends the
    /// connection without the last chunk); the framework's next SUBSCRIBE
    /// gets it back. `None`: it is not live.
    pub fn cut(&mut self, sub: usize) -> Option<mpsc::Sender<Vec<Bytes>>> {
        let SubState::Live { tx, encoding } = &self.subs[sub] else { return None };
        let tx = tx.clone();
        self.subs[sub] = SubState::Cut { encoding: *encoding };
        Some(tx)
    }

    /// A SUBSCRIBE after a `cut` of `sub`: answered as the recorded
    /// subscription was (its head, its `SUBSCRIBED` first), the stream then
    /// going on where it was cut. Neither matched to a recorded call nor a
    /// divergence: the fault asked for it; the report says it came.
    fn resubscribe(&mut self, sub: usize, req: &LiveRequest<'_>, live: u64) -> Reply {
        let SubState::Cut { encoding } = self.subs[sub] else {
            return Reply::text(500, "mesos-replay: no stream to take back");
        };
        let call = self.script.subs[sub].call;
        let response = match self.script.calls[call].response.map(|span| self.script.read_entry(&self.file, span)) {
            Some(Ok(entry)) => match entry.kind {
                EntryKind::Response(r) => r,
                _ => return Reply::text(500, "mesos-replay: the session file changed under the replay"),
            },
            _ => return Reply::text(503, "mesos-replay: the recording holds no answer to this call"),
        };
        let wanted = negotiate::response_content_type(req.accept).ok().and_then(|c| Encoding::try_from(c).ok());
        let live_encoding = wanted.unwrap_or(encoding);
        let mut headers = stream_headers(&response.headers);
        set_content_type(&mut headers, live_encoding);
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        self.subs[sub] = SubState::Live { tx, encoding: live_encoding };
        self.stream_id = self.script.subs[sub].stream_id.clone();
        self.generations[sub] += 1;
        let format = mesos_codec::api::encoding(req.content_type);
        let with_id = api_of(req.path)
            .call
            .and_then(|message| peek_ids(message, Encoding::of(format, req.body), req.body).ok())
            .and_then(|ids| ids.framework_id().map(str::to_owned));
        let what = match with_id {
            Some(id) => format!("the framework subscribed again (live call {live}) with its id {id}"),
            None => format!("the framework subscribed again (live call {live}) without a framework id"),
        };
        if let Some(last) =
            self.fired.iter_mut().rev().find(|f| f.subscription == sub + 1 && f.fault.starts_with("cut:"))
        {
            last.what = format!("{}; {what}", last.what);
        }
        if let Some((framed, format)) = self.first_event[sub].clone()
            && let Some((tx, frames)) = self.event_frames(sub, framed, format, None)
        {
            // The channel is new and empty: this never waits.
            let _ = tx.try_send(frames);
            self.events_sent[sub] += 1;
        }
        Reply::Stream { status: response.status, headers, sub, generation: self.generations[sub], rx }
    }

    fn names_renamed_ids(&self, message: mesos_codec::schema::MessageId, have: Encoding, record: &[u8]) -> bool {
        let Ok(ids) = peek_ids(message, have, record) else { return true };
        ids.task_ids.iter().any(|id| self.bindings.renamed("task", id))
            || ids.executor_ids.iter().any(|id| self.bindings.renamed("executor", id))
            || ids.operation_ids.iter().any(|id| self.bindings.renamed("operation", id))
    }

    pub fn bindings(&self) -> Vec<Binding> {
        self.bindings.all().to_vec()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn set_content_type(headers: &mut Vec<(String, String)>, encoding: Encoding) {
    let value = match encoding {
        Encoding::Json => "application/json",
        Encoding::Protobuf => "application/x-protobuf",
    };
    match headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
        Some((_, v)) => *v = value.to_owned(),
        None => headers.push(("Content-Type".to_owned(), value.to_owned())),
    }
}

/// A recorded answer's headers, to answer again: without those the server
/// writes itself (framing and connection handling).
fn answer_headers(recorded: &[(String, String)]) -> Vec<(String, String)> {
    recorded.iter().filter(|(n, _)| !is_servers_own(n)).cloned().collect()
}

/// Whether a header is one the server writes itself.
fn is_servers_own(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection", "keep-alive"].iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// A recorded stream's headers, to answer again: [`answer_headers`], but
/// for a `Transfer-Encoding: chunked`, kept where the master wrote it (a
/// master writes it second, after `Date`; hyper, which frames the stream
/// as chunked either way, would add it last, and leaves it out itself for
/// an HTTP/1.0 client).
fn stream_headers(recorded: &[(String, String)]) -> Vec<(String, String)> {
    recorded
        .iter()
        .filter(|(n, v)| {
            (n.eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked"))
                || !is_servers_own(n)
        })
        .cloned()
        .collect()
}
