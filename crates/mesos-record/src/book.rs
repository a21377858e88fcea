//! One session's book: the entries of one session numbered, its
//! connections numbered, secrets redacted, its open streams and what it
//! lost kept, without I/O. The live proxy keeps one behind each session's
//! lock (`mesos_proxy::session::Session`) and hands the entries to its file
//! writer; the importer keeps one per session of a capture.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use memchr::memmem;
use mesos_codec::api::{Api, Encoding};
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Close, Entry, EntryKind, Event, Note, Party, Redactor, Request, Response, Source};

/// One session's numbering, redaction and stream bookkeeping.
///
/// ```
/// use mesos_codec::session::{Close, EntryKind, Note, Party, Source};
/// use mesos_record::Book;
///
/// let mut book = Book::new(Source::Proxy, false);
/// let note = EntryKind::Note(Note { message: "hello".into(), refers: None, incomplete: false });
/// // Connections are numbered in the session in the order they appear.
/// let first = book.record(17, 5, note.clone(), None).unwrap();
/// let second = book.record(4, 6, note, None).unwrap();
/// assert_eq!((first.entry.seq, first.entry.conn), (0, 1));
/// assert_eq!((second.entry.seq, second.entry.conn), (1, 2));
/// // At the end: nothing open to close; the `end` entry comes next.
/// assert!(book.finish(7, "the session ended").unwrap().is_empty());
/// assert_eq!(book.entries(), 2);
/// assert!(book.is_complete());
/// assert!(book.record(4, 9, EntryKind::Close(Close { stream: None, by: Party::Proxy, reason: None }), None).is_none());
/// ```
#[derive(Debug)]
pub struct Book {
    /// Numbers the entries (`seq`) and keeps `t_ns` monotonic.
    writer: mesos_codec::session::Writer,
    /// `None` when secrets are kept.
    redactor: Option<Redactor>,
    /// What the recorded bytes were, when a redaction changed them:
    /// "forwarded" by the proxy, "sent" in a capture or by the sim.
    how: &'static str,
    /// The recorder's connection id → the session's own number (from 1;
    /// 0 stays 0: the recorder itself).
    conns: HashMap<u64, u64>,
    /// The last connection numbered and its number (`(0, 0)` at first).
    last_conn: (u64, u64),
    /// Streams opened (the `seq` of their response) and not closed yet.
    open_streams: BTreeSet<u64>,
    /// Something of the session was lost: its `end` says incomplete.
    lost: bool,
    finished: bool,
    /// Counts for the session's summary.
    stats: Stats,
}

/// What a session recorded, for its one-line summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests.
    pub calls: u64,
    /// Events of its streams.
    pub events: u64,
    /// Bytes of bodies and event records.
    pub bytes: u64,
}

/// An entry just recorded, and the `note` that must follow it (secret
/// values were redacted inside it).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The entry, numbered.
    pub entry: Entry,
    /// The note saying that its bytes are not the ones on the wire (boxed:
    /// rare, and a `Recorded` is moved whole on every event's way).
    pub note: Option<Box<Entry>>,
}

/// An event just recorded where it is ([`Book::record_event`]): its
/// numbers, and the `note` that must follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbered {
    /// Its `seq`.
    pub seq: u64,
    /// Its time, kept monotonic.
    pub t_ns: u64,
    /// Its connection's number in the session.
    pub conn: u64,
    /// The note saying that its record is not the one on the wire.
    pub note: Option<Box<Entry>>,
}

/// A request outside the v1 APIs and its answer, from a host none of
/// whose connections belonged to a session yet: it waits in the
/// [`Lobby`](super::Lobby) for the session that host opens next, and is
/// recorded there ([`Book::exchange`]).
#[derive(Debug)]
pub struct Exchange {
    /// The recorder's connection it came on.
    pub conn: u64,
    /// The request.
    pub request: Request,
    /// The answer (`None`: the master did not answer).
    pub response: Option<Response>,
    /// A note to record after it (a body not kept, a failure).
    pub note: Option<String>,
}

impl Book {
    /// The book of a new session recorded by `source`; `keep_secrets`
    /// turns redaction off.
    pub fn new(source: Source, keep_secrets: bool) -> Book {
        Book {
            writer: mesos_codec::session::Writer::new(),
            redactor: (!keep_secrets).then(Redactor::new),
            how: if source == Source::Proxy { "forwarded" } else { "sent" },
            conns: HashMap::new(),
            last_conn: (0, 0),
            open_streams: BTreeSet::new(),
            lost: false,
            finished: false,
            stats: Stats::default(),
        }
    }

    /// Records an entry of the recorder's connection `conn` at session time
    /// `t_ns`: numbered, its connection numbered in the session, its header
    /// values redacted and, when its body or event record is a v1 `message`,
    /// the `Secret` values inside it (a `note` then follows it). `None` once
    /// the session has finished.
    pub fn record(
        &mut self,
        conn: u64,
        t_ns: u64,
        mut kind: EntryKind,
        message: Option<MessageId>,
    ) -> Option<Recorded> {
        if let EntryKind::Event(event) = &mut kind {
            let Numbered { seq, t_ns, conn, note } = self.record_event(conn, t_ns, event, message)?;
            return Some(Recorded { entry: Entry { seq, t_ns, conn, kind }, note });
        }
        if self.finished {
            return None;
        }
        let local = self.local_conn(conn);
        let redacted = match &mut self.redactor {
            Some(redactor) => redact_entry(redactor, message, &mut kind),
            None => 0,
        };
        match &kind {
            EntryKind::Request(r) => {
                self.stats.calls += 1;
                self.stats.bytes += r.body.len() as u64;
            }
            EntryKind::Response(r) => self.stats.bytes += r.body.len() as u64,
            _ => {}
        }
        let entry = self.writer.entry(t_ns, local, kind);
        match &entry.kind {
            EntryKind::Response(r) if r.stream => {
                self.open_streams.insert(entry.seq);
            }
            EntryKind::Close(Close { stream: Some(stream), .. }) => {
                self.open_streams.remove(stream);
            }
            _ => {}
        }
        let note = self.redaction_note(redacted, "body", entry.seq, t_ns, local);
        Some(Recorded { entry, note })
    }

    /// [`record`](Self::record) of an event, left where it is (a stream's
    /// events are many, and each is moved no further than its tap's list):
    /// its record redacted in place; its numbers and the note that must
    /// follow it. Each event's line is then written from the event and
    /// these ([`Lines::push_event`](mesos_codec::session::Lines::push_event)).
    /// `None` once the session has finished.
    ///
    /// ```
    /// use mesos_codec::session::{Event, Source};
    /// use mesos_record::Book;
    ///
    /// let mut book = Book::new(Source::Proxy, false);
    /// let mut event = Event { stream: 0, record: br#"{"type":"HEARTBEAT"}"#.to_vec(), ..Event::default() };
    /// let numbered = book.record_event(7, 10, &mut event, None).unwrap();
    /// assert_eq!((numbered.seq, numbered.t_ns, numbered.conn), (0, 10, 1));
    /// assert!(numbered.note.is_none());
    /// assert_eq!(book.stats().events, 1);
    /// ```
    pub fn record_event(
        &mut self,
        conn: u64,
        t_ns: u64,
        event: &mut Event,
        message: Option<MessageId>,
    ) -> Option<Numbered> {
        if self.finished {
            return None;
        }
        let local = self.local_conn(conn);
        let redacted = match &mut self.redactor {
            Some(redactor) => redact_body(redactor, message, event.summary.format, &mut event.record),
            None => 0,
        };
        self.stats.events += 1;
        self.stats.bytes += event.record.len() as u64;
        let (seq, t_ns) = self.writer.number(t_ns);
        let note = self.redaction_note(redacted, "record", seq, t_ns, local);
        Some(Numbered { seq, t_ns, conn: local, note })
    }

    /// The session's number of the recorder's connection `conn`.
    fn local_conn(&mut self, conn: u64) -> u64 {
        // A stream's events come on one connection: its number is kept
        // rather than hashed for each (`conn` 0 is 0, as the cache starts).
        if conn == self.last_conn.0 {
            self.last_conn.1
        } else if conn == 0 {
            0
        } else {
            let next = self.conns.len() as u64 + 1;
            let local = *self.conns.entry(conn).or_insert(next);
            self.last_conn = (conn, local);
            local
        }
    }

    /// The `note` that follows entry `seq` (of connection `local`, at
    /// `t_ns`), in which `redacted` `Secret` values were redacted inside
    /// its `what` ("body", "record"): none when there were none.
    fn redaction_note(&mut self, redacted: usize, what: &str, seq: u64, t_ns: u64, local: u64) -> Option<Box<Entry>> {
        if redacted == 0 {
            return None;
        }
        let note = Note {
            message: format!(
                "{redacted} secret value(s) inside the {what} redacted: the recorded {what} is not byte for byte what was {}",
                self.how
            ),
            refers: Some(seq),
            incomplete: false,
        };
        Some(Box::new(self.writer.entry(t_ns, local, EntryKind::Note(note))))
    }

    /// Records a v1 call of `api` on connection `conn`, as read by
    /// [`mesos_codec::api::read_call`]: the request (its `Secret` values
    /// redacted), then the notes that follow it: the redaction's, and why
    /// its body does not read as a call (`problem`). The request's `seq`
    /// and the entries in order; `None` once the session has finished.
    ///
    /// ```
    /// use mesos_codec::api::{self, Api};
    /// use mesos_codec::session::{EntryKind, Request, Source};
    /// use mesos_record::Book;
    ///
    /// let mut book = Book::new(Source::Sim, false);
    /// let (summary, problem) = api::read_call(Api::Scheduler, Some("application/json"), b"{");
    /// let request = Request { method: "POST".into(), path: "/api/v1/scheduler".into(), headers: Vec::new(), body: b"{".to_vec(), summary };
    /// let (seq, entries) = book.call(3, 10, request, Api::Scheduler, problem).unwrap();
    /// assert_eq!((seq, entries.len()), (0, 2));
    /// assert!(matches!(&entries[1].kind, EntryKind::Note(n) if n.message.starts_with("request body does not read as a v1 call") && n.refers == Some(0)));
    /// ```
    pub fn call(
        &mut self,
        conn: u64,
        t_ns: u64,
        request: Request,
        api: Api,
        problem: Option<String>,
    ) -> Option<(u64, Vec<Entry>)> {
        let recorded = self.record(conn, t_ns, EntryKind::Request(request), Some(api.call_type()))?;
        let seq = recorded.entry.seq;
        let mut entries = vec![recorded.entry];
        entries.extend(recorded.note.map(|note| *note));
        if let Some(problem) = problem {
            let message = format!("request body does not read as a v1 call: {problem}");
            entries.extend(self.note(conn, t_ns, message, Some(seq)));
        }
        Some((seq, entries))
    }

    /// A `note` of connection `conn` (see [`record`](Self::record)).
    pub fn note(&mut self, conn: u64, t_ns: u64, message: String, refers: Option<u64>) -> Option<Entry> {
        let note = EntryKind::Note(Note { message, refers, incomplete: false });
        self.record(conn, t_ns, note, None).map(|r| r.entry)
    }

    /// Records an exchange that waited in the lobby: its request, its
    /// answer naming the request, its note; the entries, in order.
    pub fn exchange(&mut self, t_ns: u64, exchange: Exchange) -> Vec<Entry> {
        let mut entries = Vec::new();
        let conn = exchange.conn;
        let Some(request) = self.record(conn, t_ns, EntryKind::Request(exchange.request), None) else {
            return entries;
        };
        let seq = request.entry.seq;
        entries.push(request.entry);
        if let Some(mut response) = exchange.response {
            response.request = Some(seq);
            entries.extend(self.record(conn, t_ns, EntryKind::Response(response), None).map(|r| r.entry));
        }
        if let Some(message) = exchange.note {
            entries.extend(self.note(conn, t_ns, message, Some(seq)));
        }
        entries
    }

    /// Ends the session: a `close` by the proxy, for `reason`, of every
    /// stream still open; later records are refused. `None` when it had
    /// already ended. The `end` entry comes next, written by the session's
    /// file writer (`complete` as [`is_complete`](Self::is_complete) says,
    /// unless the writer itself lost lines).
    pub fn finish(&mut self, t_ns: u64, reason: &str) -> Option<Vec<Entry>> {
        if self.finished {
            return None;
        }
        let closes = std::mem::take(&mut self.open_streams)
            .into_iter()
            .map(|stream| {
                let close = Close { stream: Some(stream), by: Party::Proxy, reason: Some(reason.to_owned()) };
                self.writer.entry(t_ns, 0, EntryKind::Close(close))
            })
            .collect();
        self.finished = true;
        Some(closes)
    }

    /// Whether nothing of the session was [lost](Self::mark_lost): the
    /// `end` entry's `complete`, as far as the recorder knows.
    pub fn is_complete(&self) -> bool {
        !self.lost
    }

    /// How many entries were made (the next one's `seq`).
    pub fn entries(&self) -> u64 {
        self.writer.entries()
    }

    /// Part of the session's traffic was lost (a gap in a capture).
    pub fn mark_lost(&mut self) {
        self.lost = true;
    }

    /// Whether the session has ended.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// What was recorded so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }
}

/// Redacts what an entry carries before it is written: `Authorization` and
/// `Proxy-Authorization` header values, and the `Secret` values inside its
/// body or event record when that is a v1 `message`; how many `Secret`
/// values.
fn redact_entry(redactor: &mut Redactor, message: Option<MessageId>, kind: &mut EntryKind) -> usize {
    match kind {
        EntryKind::Request(r) => {
            redactor.redact_headers(&mut r.headers);
            redact_body(redactor, message, r.summary.format, &mut r.body)
        }
        EntryKind::Response(r) => {
            redactor.redact_headers(&mut r.headers);
            redact_body(redactor, message, r.format, &mut r.body)
        }
        // An event's: `Book::record_event`.
        _ => 0,
    }
}

/// Redacts the `Secret` values of `body`, a `message` in `format`; how many.
fn redact_body(
    redactor: &mut Redactor,
    message: Option<MessageId>,
    format: Option<Encoding>,
    body: &mut Vec<u8>,
) -> usize {
    let (Some(message), Some(format)) = (message, format) else { return 0 };
    if format == Encoding::Json {
        // `secrets::redact`'s own first test, with finders built once:
        // every `Secret.Value` has a `data` key (maybe written with
        // escapes), and most messages have neither.
        static DATA: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"data"));
        static ESCAPE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\\u"));
        // A `\u` escape needs a backslash: the one-byte search (the
        // quicker) goes first, and most records have none.
        if DATA.find(body).is_none() && (memchr::memchr(b'\\', body).is_none() || ESCAPE.find(body).is_none()) {
            return 0;
        }
    }
    match crate::secrets::redact(message, format, body, redactor) {
        Some((redacted, n)) => {
            *body = redacted;
            n
        }
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_codec::session::{Request, Response, Summary};

    fn request(headers: Vec<(String, String)>) -> EntryKind {
        EntryKind::Request(Request {
            method: "POST".into(),
            path: "/api/v1/scheduler".into(),
            headers,
            body: b"{}".to_vec(),
            summary: Summary::default(),
        })
    }

    fn stream_response() -> EntryKind {
        EntryKind::Response(Response {
            request: Some(0),
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
            stream: true,
            format: Some(Encoding::Json),
        })
    }

    #[test]
    fn headers_are_redacted_unless_secrets_are_kept() {
        let auth = || vec![("Authorization".to_owned(), "token=abc".to_owned())];
        let mut book = Book::new(Source::Proxy, false);
        let recorded = book.record(1, 0, request(auth()), None).unwrap();
        let EntryKind::Request(r) = &recorded.entry.kind else { panic!() };
        assert_eq!(r.headers[0].1, "<redacted:1>");
        let mut book = Book::new(Source::Proxy, true);
        let recorded = book.record(1, 0, request(auth()), None).unwrap();
        let EntryKind::Request(r) = &recorded.entry.kind else { panic!() };
        assert_eq!(r.headers[0].1, "token=abc");
    }

    #[test]
    fn open_streams_are_closed_by_the_proxy_at_the_end_and_counted() {
        let mut book = Book::new(Source::Pcap, false);
        book.record(3, 10, request(Vec::new()), None);
        let opened = book.record(3, 20, stream_response(), None).unwrap().entry.seq;
        book.record(3, 20, stream_response(), None);
        let close = Close { stream: Some(opened), by: Party::Master, reason: None };
        book.record(3, 30, EntryKind::Close(close), None);
        let closes = book.finish(40, "the capture ended").unwrap();
        assert_eq!(closes.len(), 1, "{closes:?}");
        assert!(
            matches!(&closes[0].kind, EntryKind::Close(c) if c.stream == Some(2) && c.by == Party::Proxy && c.reason.as_deref() == Some("the capture ended"))
        );
        assert_eq!(book.finish(50, "again"), None);
        book.mark_lost();
        assert_eq!((book.entries(), book.is_complete()), (5, false));
        assert_eq!(book.stats(), Stats { calls: 1, events: 0, bytes: 2 });
    }

    #[test]
    fn connections_are_numbered_alike_however_they_interleave() {
        let mut book = Book::new(Source::Proxy, false);
        let conns: Vec<u64> = [5, 5, 0, 5, 7, 0, 7, 5, 9, 0]
            .into_iter()
            .map(|conn| book.note(conn, 1, "n".into(), None).unwrap().conn)
            .collect();
        assert_eq!(conns, [1, 1, 0, 1, 2, 0, 2, 1, 3, 0]);
    }

    /// The first test (a `data` key, or a `\u` escape that may spell one)
    /// lets through every body that may hold a secret: the key written
    /// plainly, or with an escape, is redacted; a body with neither is left
    /// as it is, and one with only other escapes too.
    #[test]
    fn secrets_are_found_however_their_key_is_written() {
        let call = Api::Scheduler.call_type();
        let body = |key: &str| {
            format!(
                r#"{{"framework_id":{{"value":"fw"}},"type":"ACCEPT","accept":{{"offer_ids":[{{"value":"o1"}}],"operations":[{{"type":"LAUNCH","launch":{{"task_infos":[{{"name":"t \"q\"","task_id":{{"value":"t1"}},"agent_id":{{"value":"a1"}},"command":{{"value":"env","environment":{{"variables":[{{"name":"PASSWORD","type":"SECRET","secret":{{"type":"VALUE","value":{{"{key}":"aHVudGVyMg=="}}}}}}]}}}}}}]}}}}]}}}}"#
            )
            .into_bytes()
        };
        let summary = Summary { format: Some(Encoding::Json), ..Summary::default() };
        for (key, secret) in [("data", true), ("d\\u0061ta", true), ("\\u0064ata", true), ("date", false)] {
            let mut book = Book::new(Source::Proxy, false);
            let request = Request {
                method: "POST".into(),
                path: "/".into(),
                headers: Vec::new(),
                body: body(key),
                summary: summary.clone(),
            };
            let recorded = book.record(1, 0, EntryKind::Request(request), Some(call)).unwrap();
            let EntryKind::Request(r) = &recorded.entry.kind else { panic!() };
            let kept = memchr::memmem::find(&r.body, b"aHVudGVyMg==").is_some();
            assert_eq!((kept, recorded.note.is_some()), (!secret, secret), "{key}");
        }
    }

    #[test]
    fn time_never_goes_back() {
        let mut book = Book::new(Source::Proxy, false);
        book.note(1, 100, "a".into(), None);
        let earlier = book.note(1, 50, "b".into(), None).unwrap();
        assert_eq!(earlier.t_ns, 100);
    }
}
