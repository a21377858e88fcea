//! How a session's entries belong together, in one place: each response
//! to its request, each event to the stream a response opened, and each
//! body to its v1 message type. `serve`, `diff` and `inspect` read
//! sessions through it.
//!
//! A response names its request (`request`); one that does not (a
//! recorder that lost it) answers the oldest unanswered request on its
//! connection, as HTTP/1.1 answers in order.
//!
//! ```
//! use mesos_codec::session::{Entry, EntryKind, Event, Request, Response};
//! use mesos_replay::pairing::{Paired, Pairing};
//!
//! let entry = |seq, kind| Entry { seq, t_ns: 0, conn: 1, kind };
//! let mut pairing = Pairing::default();
//! let subscribe = Request { method: "POST".into(), path: "/api/v1/scheduler".into(), ..Request::default() };
//! assert!(matches!(pairing.pair(&entry(0, EntryKind::Request(subscribe))), Paired::Request { call: 0, .. }));
//! let answer = Response { request: None, status: 200, stream: true, ..Response::default() };
//! assert!(matches!(pairing.pair(&entry(1, EntryKind::Response(answer))), Paired::Response { call: 0, stream: Some(0), .. }));
//! let event = Event { stream: 1, ..Event::default() };
//! let Paired::Event { stream: 0, call: 0, message, .. } = pairing.pair(&entry(2, EntryKind::Event(event))) else { panic!() };
//! assert_eq!(message, pairing.api(0).event);
//! ```

use std::collections::{HashMap, VecDeque};

use mesos_codec::schema::MessageId;
use mesos_codec::session::{Entry, EntryKind};

use crate::messages::{Api, api_of};

/// What an entry is, paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paired {
    /// Request number `call` (0, 1, … in file order), of `api` (the
    /// default [`Api`] outside the v1 APIs).
    Request {
        /// Its number.
        call: usize,
        /// Its API's message types.
        api: Api,
    },
    /// The answer to request `call`; `stream` when it opened event stream
    /// number `stream` (0, 1, … in file order).
    Response {
        /// The request it answers.
        call: usize,
        /// Its API's message types (the body's is `api.response`).
        api: Api,
        /// The stream it opened.
        stream: Option<usize>,
    },
    /// An event of stream `stream`, opened by the answer to `call`; its
    /// record is a `message`.
    Event {
        /// The stream's number.
        stream: usize,
        /// The request that opened it.
        call: usize,
        /// The record's type.
        message: Option<MessageId>,
    },
    /// The end of stream `stream`, or of a connection (`None`).
    Close {
        /// The stream ended, if a stream.
        stream: Option<usize>,
    },
    /// A response, event or close that belongs to nothing read before it,
    /// or a `note` or `end`.
    Other,
}

/// The pairing state of one session read in order.
#[derive(Debug, Default)]
pub struct Pairing {
    /// Each request's API, by call number.
    calls: Vec<Api>,
    /// Request seq → call number.
    calls_by_seq: HashMap<u64, usize>,
    /// Connection → its unanswered calls, oldest first.
    unanswered: HashMap<u64, VecDeque<usize>>,
    /// Response seq → stream number.
    streams_by_seq: HashMap<u64, usize>,
    /// Each stream's call, by stream number.
    streams: Vec<usize>,
}

impl Pairing {
    /// Pairs the next entry of the session.
    pub fn pair(&mut self, entry: &Entry) -> Paired {
        match &entry.kind {
            EntryKind::Request(r) => {
                let call = self.calls.len();
                let api = api_of(&r.path);
                self.calls.push(api);
                self.calls_by_seq.insert(entry.seq, call);
                self.unanswered.entry(entry.conn).or_default().push_back(call);
                Paired::Request { call, api }
            }
            EntryKind::Response(r) => {
                let call = match r.request {
                    Some(seq) => self.calls_by_seq.get(&seq).copied(),
                    None => self.unanswered.get(&entry.conn).and_then(|q| q.front().copied()),
                };
                let Some(call) = call else { return Paired::Other };
                if let Some(queue) = self.unanswered.get_mut(&entry.conn) {
                    queue.retain(|&i| i != call);
                }
                let stream = r.stream.then(|| {
                    let stream = self.streams.len();
                    self.streams.push(call);
                    self.streams_by_seq.insert(entry.seq, stream);
                    stream
                });
                Paired::Response { call, api: self.calls[call], stream }
            }
            EntryKind::Event(e) => match self.streams_by_seq.get(&e.stream) {
                Some(&stream) => {
                    let call = self.streams[stream];
                    Paired::Event { stream, call, message: self.calls[call].event }
                }
                None => Paired::Other,
            },
            EntryKind::Close(c) => match c.stream {
                None => Paired::Close { stream: None },
                Some(seq) => match self.streams_by_seq.get(&seq) {
                    Some(&stream) => Paired::Close { stream: Some(stream) },
                    None => Paired::Other,
                },
            },
            EntryKind::Note(_) | EntryKind::End(_) => Paired::Other,
        }
    }

    /// The API of request number `call`.
    ///
    /// # Panics
    ///
    /// If no such request was paired.
    pub fn api(&self, call: usize) -> Api {
        self.calls[call]
    }
}

#[cfg(test)]
mod tests {
    use mesos_codec::session::{Close, Event, Party, Request, Response};

    use super::*;

    fn entry(seq: u64, conn: u64, kind: EntryKind) -> Entry {
        Entry { seq, t_ns: 0, conn, kind }
    }

    fn request(path: &str) -> EntryKind {
        EntryKind::Request(Request { method: "POST".into(), path: path.into(), ..Request::default() })
    }

    #[test]
    fn unnamed_answers_go_in_order_per_connection() {
        let mut p = Pairing::default();
        p.pair(&entry(0, 1, request("/api/v1/scheduler")));
        p.pair(&entry(1, 2, request("/api/v1")));
        p.pair(&entry(2, 1, request("/version")));
        let answer = |request| EntryKind::Response(Response { request, status: 202, ..Response::default() });
        assert!(matches!(p.pair(&entry(3, 1, answer(None))), Paired::Response { call: 0, stream: None, .. }));
        assert!(matches!(p.pair(&entry(4, 1, answer(None))), Paired::Response { call: 2, .. }));
        assert!(matches!(p.pair(&entry(5, 2, answer(Some(1)))), Paired::Response { call: 1, .. }));
        // Nothing left to answer on connection 1.
        assert_eq!(p.pair(&entry(6, 1, answer(None))), Paired::Other);
    }

    #[test]
    fn events_and_closes_find_their_stream() {
        let mut p = Pairing::default();
        p.pair(&entry(0, 1, request("/api/v1/scheduler")));
        let opened =
            EntryKind::Response(Response { request: Some(0), status: 200, stream: true, ..Default::default() });
        p.pair(&entry(1, 1, opened));
        let event = |stream| EntryKind::Event(Event { stream, ..Event::default() });
        let scheduler_event = api_of("/api/v1/scheduler").event;
        assert_eq!(p.pair(&entry(2, 1, event(1))), Paired::Event { stream: 0, call: 0, message: scheduler_event });
        assert_eq!(p.pair(&entry(3, 1, event(0))), Paired::Other);
        let close = |stream| EntryKind::Close(Close { stream, by: Party::Master, reason: None });
        assert_eq!(p.pair(&entry(4, 1, close(Some(1)))), Paired::Close { stream: Some(0) });
        assert_eq!(p.pair(&entry(5, 1, close(None))), Paired::Close { stream: None });
    }
}
