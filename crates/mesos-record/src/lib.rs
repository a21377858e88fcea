//! The recording core of mesos-tape, one for every recorder: the live
//! proxy (`mesos-proxy record`), the capture importer (`mesos-proxy
//! import`) and the simulated master's `--record` are drivers of it that
//! feed it what happened on the wire and when, and write what comes out.
//! So a capture, a live recording and a simulated run of the same traffic
//! are filed, numbered, redacted and written alike, and these rules are
//! tested here without sockets.
//!
//! Without I/O: where a call is filed ([`file()`]), which session is whose
//! ([`Registry`], [`Lobby`]), what an event stream's chunks become
//! ([`EventTap`]), one session's entries numbered and redacted ([`Book`]).
//! With the file system only: one session's file ([`file::SessionFile`]:
//! naming, numbering on a collision, lines waiting until the session is
//! named, batches, compression, rotation, failing once and loudly).
//!
//! ```
//! use mesos_codec::api::{Api, Encoding};
//! use mesos_codec::session::Party;
//! use mesos_record::{EventTap, Tapped};
//!
//! let mut tap = EventTap::new(7, Api::Scheduler, Some(Encoding::Json), true);
//! let mut out = Vec::new();
//! // One record over two chunks, then one chunk of exactly one record.
//! tap.chunk(b"20\n{\"type\":\"HEA", &mut out);
//! tap.chunk(b"RTBEAT\"}", &mut out);
//! tap.chunk(b"20\n{\"type\":\"HEARTBEAT\"}", &mut out);
//! tap.end(Party::Master, &mut out);
//! let events: Vec<_> = out.iter().filter_map(|t| match t { Tapped::Event(e) => Some(e), _ => None }).collect();
//! assert_eq!(events.len(), 2);
//! assert_eq!(events[0].chunks, Some(vec![15, 8]));
//! assert_eq!(events[1].chunks, None);
//! assert_eq!(events[1].summary.name.as_deref(), Some("HEARTBEAT"));
//! ```

mod book;
pub mod file;
mod registry;
mod secrets;

pub use book::{Book, Exchange, Numbered, Recorded, Stats};
pub use registry::{Handle, Keyed, LOBBY_SIZE, LOBBY_WAIT, Lobby, Registry, Touched};

use std::collections::VecDeque;

use mesos_codec::api::{self, Api, Encoding};
use mesos_codec::recordio::Decoder;
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Event, Party, Summary};

/// How much of a response body outside the v1 APIs is kept (a master's
/// `/master/state` can be megabytes; what is over is said in a `note`).
pub const OTHER_BODY_CAP: usize = 4 << 20;

/// Where a v1 call is filed: the filing rule of both recorders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filing<S> {
    /// The session of the framework it names (created if there is none).
    Framework(String),
    /// A new framework subscribing: a session of its own, named later by
    /// the framework id of its `SUBSCRIBED` event.
    Subscribing,
    /// The session its connection touched last.
    Touched(S),
    /// Operator traffic on a connection that touched no session: an
    /// `operator` session of its own.
    Operator,
    /// Anything else on a connection that touched no session: a new
    /// session, named by what comes later, if anything.
    Anonymous,
}

/// Files a call of `api` with `summary`, on a connection whose most
/// recently touched session is `last`.
///
/// A scheduler or executor call goes under the framework id it carries (a
/// SUBSCRIBE's `framework_info.id` included), so a framework's stream and
/// its calls on other connections share one session; operator calls carry
/// none, and stay with their connection.
///
/// ```
/// use mesos_codec::api::Api;
/// use mesos_codec::session::Summary;
/// use mesos_record::{Filing, file};
/// let named = Summary { framework_id: Some("f1".into()), ..Summary::default() };
/// assert_eq!(file(Api::Scheduler, &named, None::<u8>), Filing::Framework("f1".into()));
/// let subscribe = Summary { name: Some("SUBSCRIBE".into()), ..Summary::default() };
/// assert_eq!(file(Api::Scheduler, &subscribe, Some(3)), Filing::Subscribing);
/// assert_eq!(file(Api::Operator, &named, Some(3)), Filing::Touched(3));
/// assert_eq!(file(Api::Operator, &Summary::default(), None::<u8>), Filing::Operator);
/// ```
pub fn file<S>(api: Api, summary: &Summary, last: Option<S>) -> Filing<S> {
    match (&summary.framework_id, api) {
        (Some(id), Api::Scheduler | Api::Executor) => Filing::Framework(id.clone()),
        (None, Api::Scheduler | Api::Executor) if summary.name.as_deref() == Some("SUBSCRIBE") => Filing::Subscribing,
        _ => match last {
            Some(session) => Filing::Touched(session),
            None if api == Api::Operator => Filing::Operator,
            None => Filing::Anonymous,
        },
    }
}

/// What an [`EventTap`] makes of a stream, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Tapped {
    /// The framework id that names the stream's session (the first one an
    /// event carries, when the tap may name it), before that event.
    Name(String),
    /// An event, for an `event` entry.
    Event(Event),
    /// Something to say about the stream, for a `note` referring to it.
    Note(String),
}

/// An event stream's tap: chunks in, one `event` per RecordIO record out,
/// with the sizes of the chunk pieces that carried it when that was not
/// exactly one chunk. Malformed RecordIO is said once, and the rest of the
/// stream is not recorded.
#[derive(Debug)]
pub struct EventTap {
    stream: u64,
    message: MessageId,
    encoding: Option<Encoding>,
    /// Whether a framework id seen in the stream may name the session.
    name_from_events: bool,
    decoder: Decoder,
    /// Stream offset and length of the chunks not yet wholly consumed.
    chunks: VecDeque<(u64, u64)>,
    received: u64,
    broken: bool,
    /// Records' buffers given back by [`recycle`](EventTap::recycle), each
    /// event's record copied into one rather than into a new allocation;
    /// and their room, in bytes.
    spare: Vec<Vec<u8>>,
    spare_room: usize,
}

/// The room an [`EventTap`] keeps in records' buffers for reuse, and the
/// largest buffer it keeps: a relay's batch of records (256 KiB at most,
/// but for its last) twice over, so that a stream's tap holds no more than
/// that whatever records it carried.
const SPARE_ROOM: usize = 512 * 1024;
const SPARE_BYTES: usize = 16 * 1024;

impl EventTap {
    /// A tap for the stream opened by response `stream` (its `seq`), an
    /// `api` stream in `encoding`; `name_from_events` when its session has
    /// no name yet and is not an operator's.
    pub fn new(stream: u64, api: Api, encoding: Option<Encoding>, name_from_events: bool) -> EventTap {
        EventTap {
            stream,
            message: api.event_type(),
            encoding,
            name_from_events: name_from_events && api != Api::Operator,
            decoder: Decoder::new(),
            chunks: VecDeque::new(),
            received: 0,
            broken: false,
            spare: Vec::new(),
            spare_room: 0,
        }
    }

    /// The `seq` of the response that opened the stream.
    pub fn stream(&self) -> u64 {
        self.stream
    }

    /// The type of the stream's records.
    pub fn message(&self) -> MessageId {
        self.message
    }

    /// Whether the stream has stopped being recorded (malformed RecordIO).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Takes the next chunk of the stream (as the master wrote it), lent:
    /// the records it completes are read where they are
    /// ([`Decoder::feed`]), and only what it leaves unfinished is copied.
    pub fn chunk(&mut self, data: &[u8], out: &mut Vec<Tapped>) {
        if self.broken || data.is_empty() {
            return;
        }
        self.chunks.push_back((self.received, data.len() as u64));
        self.received += data.len() as u64;
        let (chunks, stream, message, encoding) = (&mut self.chunks, self.stream, self.message, self.encoding);
        let (name_from_events, spare, spare_room) = (&mut self.name_from_events, &mut self.spare, &mut self.spare_room);
        let fed = self.decoder.feed(data, |record| {
            let pieces = chunk_pieces(chunks, record.offset, record.end());
            let to = Events { stream, message, encoding, name_from_events: &mut *name_from_events };
            let mut copy = spare.pop().unwrap_or_default();
            *spare_room -= copy.capacity();
            copy.extend_from_slice(record.data);
            to.event(copy, pieces, out);
        });
        if let Err(err) = fed {
            self.broken = true;
            self.chunks.clear();
            out.push(Tapped::Note(format!("malformed RecordIO, no longer recorded: {err}")));
        }
    }

    /// Empties `out` once what it holds was recorded, keeping its events'
    /// records' buffers for the next events: a driver that taps a stream
    /// for long gives them back, so that an event's record is copied into
    /// memory already in use rather than a new allocation. Allocating,
    /// freeing and the page faults of fresh memory were 4 % of the proxy's
    /// lane in `perf` on `proxy_vs_nginx`'s mix. After, five runs against
    /// the recorder before in the same runs: the lane's CPU µs an event on
    /// the mix 0.62, 0.65, 0.58, 0.59, 0.55 against 0.64, 0.69, 0.58, 0.59,
    /// 0.58; at 200 B 0.38, 0.37, 0.37, 0.36, 0.35 against 0.39, 0.48,
    /// 0.40, 0.41, 0.35 (events/s, the median of the runs' ratios: 1.03×
    /// on the mix, 1.13× at 200 B).
    ///
    /// ```
    /// use mesos_codec::api::{Api, Encoding};
    /// use mesos_record::{EventTap, Tapped};
    ///
    /// let mut tap = EventTap::new(7, Api::Scheduler, Some(Encoding::Json), false);
    /// let mut out = Vec::new();
    /// tap.chunk(b"40\n{\"type\":\"HEARTBEAT\",\"padding\":\"xxxxxxx\"}", &mut out);
    /// tap.recycle(&mut out);
    /// assert!(out.is_empty());
    /// tap.chunk(b"20\n{\"type\":\"HEARTBEAT\"}", &mut out);
    /// let Tapped::Event(second) = &out[0] else { panic!() };
    /// assert_eq!(second.record, br#"{"type":"HEARTBEAT"}"#);
    /// // In the first record's room.
    /// assert!(second.record.capacity() >= 40);
    /// ```
    pub fn recycle(&mut self, out: &mut Vec<Tapped>) {
        for tapped in out.drain(..) {
            if let Tapped::Event(Event { mut record, .. }) = tapped
                && record.capacity() <= SPARE_BYTES
                && self.spare_room + record.capacity() <= SPARE_ROOM
            {
                record.clear();
                self.spare_room += record.capacity();
                self.spare.push(record);
            }
        }
    }

    /// Starts over at a chunk of whole records, after bytes of the stream
    /// were lost (a gap in a capture): what was half read is dropped.
    pub fn restart(&mut self) {
        self.decoder = Decoder::new();
        self.chunks.clear();
        self.received = 0;
    }

    /// The stream ended, ended by `by`: when the master ended it inside a
    /// record, that is said.
    pub fn end(&mut self, by: Party, out: &mut Vec<Tapped>) {
        if !self.broken && by == Party::Master {
            if let Err(err) = self.decoder.finish() {
                self.broken = true;
                // The error says it all: "byte N: the stream ended inside a record: …".
                out.push(Tapped::Note(err.to_string()));
            }
        }
    }
}

/// What an [`EventTap`] makes of each record (its fields the decoder's
/// borrowed record does not hold).
struct Events<'t> {
    stream: u64,
    message: MessageId,
    encoding: Option<Encoding>,
    name_from_events: &'t mut bool,
}

impl Events<'_> {
    /// `record`: a copy of the record, which the event keeps.
    fn event(self, record: Vec<u8>, chunks: Option<Vec<u64>>, out: &mut Vec<Tapped>) {
        // The heading alone is read, on the forwarding path: a record
        // malformed only where it steps over goes without a note
        // (`docs/session-format.md`, `event`).
        let summary = match api::summarize(self.message, self.encoding, &record) {
            Ok(summary) => summary,
            Err(err) => {
                let what = self.encoding.map_or("a v1 message", Encoding::as_str);
                out.push(Tapped::Note(format!("event does not read as {what}: {err}")));
                Summary::default()
            }
        };
        if *self.name_from_events {
            if let Some(id) = &summary.framework_id {
                *self.name_from_events = false;
                out.push(Tapped::Name(id.clone()));
            }
        }
        out.push(Tapped::Event(Event { stream: self.stream, record, chunks, summary }));
    }
}

/// The sizes of the pieces of HTTP chunks (stream offset, length; oldest
/// first) that carried stream bytes `start..end`, or `None` when exactly one
/// chunk carried exactly those bytes (the `chunks` of a session's event).
/// Chunks wholly before `end` are dropped from the queue.
fn chunk_pieces(chunks: &mut VecDeque<(u64, u64)>, start: u64, end: u64) -> Option<Vec<u64>> {
    // The usual case (a record a chunk), without a list made (and freed)
    // to say so: the tap of a mix event 5 861 → 5 621 instructions
    // (`benches/record_core.rs` under callgrind).
    if chunks.front() == Some(&(start, end - start)) {
        chunks.pop_front();
        return None;
    }
    let mut sizes = Vec::new();
    let mut exact = true;
    for &(offset, len) in chunks.iter() {
        let (lo, hi) = (offset.max(start), (offset + len).min(end));
        if lo < hi {
            sizes.push(hi - lo);
            exact &= offset == start && offset + len == end;
        }
    }
    while let Some(&(offset, len)) = chunks.front() {
        if offset + len <= end {
            chunks.pop_front();
        } else {
            break;
        }
    }
    (!(exact && sizes.len() == 1)).then_some(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&'static [u8]], by: Party) -> Vec<Tapped> {
        let mut tap = EventTap::new(1, Api::Scheduler, Some(Encoding::Json), true);
        let mut out = Vec::new();
        for chunk in chunks {
            tap.chunk(chunk, &mut out);
        }
        tap.end(by, &mut out);
        out
    }

    #[test]
    fn the_first_framework_id_names_the_session_once() {
        let subscribed = br#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f1"}}}"#;
        let mut chunk = format!("{}\n", subscribed.len()).into_bytes();
        chunk.extend_from_slice(subscribed);
        let chunk: &'static [u8] = Box::leak(chunk.into_boxed_slice());
        let out = run(&[chunk, chunk], Party::Framework);
        assert!(matches!(&out[0], Tapped::Name(id) if id == "f1"), "{out:?}");
        assert_eq!(out.iter().filter(|t| matches!(t, Tapped::Name(_))).count(), 1);
        assert_eq!(out.iter().filter(|t| matches!(t, Tapped::Event(_))).count(), 2);
    }

    /// What a tap keeps for reuse is bounded in bytes, whatever it was
    /// given back, and a huge record's buffer is not kept.
    #[test]
    fn the_room_kept_for_records_is_bounded() {
        let mut tap = EventTap::new(1, Api::Scheduler, Some(Encoding::Json), false);
        let record = |len: usize| {
            let record = format!(r#"{{"type":"HEARTBEAT","x":"{}"}}"#, "x".repeat(len - 27));
            format!("{}\n{record}", record.len()).into_bytes()
        };
        let mut out = Vec::new();
        for _ in 0..100 {
            tap.chunk(&record(10_000), &mut out);
        }
        tap.chunk(&record(40_000), &mut out);
        assert_eq!(out.len(), 101);
        tap.recycle(&mut out);
        assert!(out.is_empty());
        assert!(tap.spare_room <= SPARE_ROOM && tap.spare_room > SPARE_ROOM - 10_000, "{}", tap.spare_room);
        assert_eq!(tap.spare_room, tap.spare.iter().map(Vec::capacity).sum::<usize>());
        assert!(tap.spare.iter().all(|b| b.is_empty() && b.capacity() <= SPARE_BYTES));
        // Taken again, the room is counted out.
        tap.chunk(&record(100), &mut out);
        assert_eq!(tap.spare_room, tap.spare.iter().map(Vec::capacity).sum::<usize>());
    }

    #[test]
    fn operator_streams_name_nothing() {
        let mut tap = EventTap::new(1, Api::Operator, Some(Encoding::Json), true);
        let record = br#"{"type":"SUBSCRIBED","subscribed":{"get_state":{}}}"#;
        let mut chunk = format!("{}\n", record.len()).into_bytes();
        chunk.extend_from_slice(record);
        let mut out = Vec::new();
        tap.chunk(&chunk, &mut out);
        assert!(out.iter().all(|t| !matches!(t, Tapped::Name(_))), "{out:?}");
    }

    #[test]
    fn malformed_recordio_is_said_once_and_the_rest_unrecorded() {
        let out = run(&[b"20\n{\"type\":\"HEARTBEAT\"}", b"x\n", b"20\n{\"type\":\"HEARTBEAT\"}"], Party::Master);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(&out[1], Tapped::Note(n) if n.starts_with("malformed RecordIO, no longer recorded")));
    }

    #[test]
    fn a_stream_the_master_ends_inside_a_record_is_said() {
        let out = run(&[b"20\n{\"type\""], Party::Master);
        assert!(
            matches!(&out[..], [Tapped::Note(n)] if n == "byte 0: the stream ended inside a record: 7 of its 20 data bytes received"),
            "{out:?}"
        );
        // Cut by the framework, it is not the master's doing: nothing said.
        assert!(run(&[b"20\n{\"type\""], Party::Framework).is_empty());
    }

    #[test]
    fn an_event_that_does_not_read_is_recorded_with_a_note() {
        let out = run(&[b"3\n{x}"], Party::Master);
        assert!(matches!(&out[0], Tapped::Note(n) if n.starts_with("event does not read as json")), "{out:?}");
        assert!(matches!(&out[1], Tapped::Event(e) if e.record == b"{x}" && e.summary == Summary::default()));
    }

    #[test]
    fn an_event_malformed_only_where_its_heading_steps_over_goes_without_a_note() {
        let out = run(&[b"43\n{\"type\":\"UPDATE\",\"update\":{\"status\":[1,,]}}"], Party::Master);
        assert!(matches!(&out[..], [Tapped::Event(e)] if e.summary.name.as_deref() == Some("UPDATE")), "{out:?}");
    }

    #[test]
    fn pieces_of_chunks() {
        let mut q: VecDeque<(u64, u64)> = [(0, 10), (10, 5)].into_iter().collect();
        assert_eq!(chunk_pieces(&mut q, 0, 10), None);
        assert_eq!(chunk_pieces(&mut q, 10, 12), Some(vec![2]));
        assert_eq!(q.len(), 1);
    }

    proptest::proptest! {
        /// However a stream is cut into chunks, each event's `chunks` are
        /// the sizes of the pieces of chunks that carried its record (its
        /// RecordIO header included), none when one chunk carried exactly
        /// the record: reckoned here from the cuts alone.
        #[test]
        fn an_events_chunks_are_the_pieces_that_carried_it(
            pads in proptest::collection::vec(0usize..24, 1..8),
            cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..12),
            at_records in proptest::prelude::any::<bool>(),
        ) {
            let mut stream = Vec::new();
            let mut spans = Vec::new();
            for pad in pads {
                let record = format!(r#"{{"type":"HEARTBEAT","x":"{}"}}"#, "a".repeat(pad));
                let start = stream.len();
                stream.extend_from_slice(format!("{}\n{record}", record.len()).as_bytes());
                spans.push(start..stream.len());
            }
            // Cuts anywhere, and (now and then) at every record's end too.
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            if at_records {
                points.extend(spans.iter().map(|s| s.end));
            }
            points.extend([0, stream.len()]);
            points.sort_unstable();
            points.dedup();
            let chunks: Vec<_> = points.windows(2).map(|w| w[0]..w[1]).collect();
            let mut tap = EventTap::new(1, Api::Scheduler, Some(Encoding::Json), false);
            let mut out = Vec::new();
            for chunk in &chunks {
                tap.chunk(&stream[chunk.clone()], &mut out);
            }
            let got: Vec<_> = out.into_iter().filter_map(|t| match t { Tapped::Event(e) => Some(e.chunks), _ => None }).collect();
            let expected: Vec<_> = spans
                .iter()
                .map(|span| {
                    let pieces: Vec<_> = chunks.iter().filter(|c| c.start < span.end && span.start < c.end).collect();
                    if pieces.len() == 1 && *pieces[0] == *span {
                        return None;
                    }
                    Some(pieces.iter().map(|c| (c.end.min(span.end) - c.start.max(span.start)) as u64).collect())
                })
                .collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }
}
