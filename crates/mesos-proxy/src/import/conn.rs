//! One captured TCP connection to the master: its two directions
//! reassembled ([`tcp`]), framed as HTTP ([`http`]), requests paired with
//! their responses, and recorded in sessions as the proxy records them
//! ([`crate::proxy`], [`crate::tee`]).

use std::collections::VecDeque;

use bytes::Bytes;
use mesos_codec::session::{self, Close, EntryKind, Party};

use super::http::{self, Boundary, Event, Head, Parser, Role};
use super::sessions::{SessionId, Sessions, Touched};
use super::tcp::{Piece, Stream};
use mesos_codec::api::{self, Api};

use mesos_record::{self as record, EventTap, Exchange, Filing, Tapped};

/// Which way bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Framework → master.
    Up,
    /// Master → framework.
    Down,
}

impl Dir {
    fn side(self) -> &'static str {
        match self {
            Dir::Up => "the framework's side",
            Dir::Down => "the master's side",
        }
    }
}

struct Side {
    stream: Stream,
    parser: Parser,
    /// The last gap, described, for the notes that follow it.
    last_gap: Option<String>,
}

/// What the first notes of a direction picked up mid-way say.
const MID_WAY: &str = "the capture began after this connection opened";

impl Side {
    fn new(syn: Option<u32>, role: Role) -> Side {
        let (parser, last_gap) = match syn {
            Some(_) => (Parser::new(role), None),
            None => (Parser::mid_way(role), Some(MID_WAY.to_owned())),
        };
        Side { stream: Stream::new(syn), parser, last_gap }
    }
}

/// A recorded request, waiting for (or being answered by) its response.
#[derive(Debug, Clone)]
struct Recording {
    session: SessionId,
    /// `None` outside the v1 APIs.
    api: Option<Api>,
    seq: Option<u64>,
    call: Option<String>,
    /// The session has no name yet: the stream's framework id may give it one.
    unnamed: bool,
}

/// A request sent, not answered yet.
struct Pending {
    /// `None` when it is not recorded in a session now (lost, or waiting
    /// in the lobby).
    rec: Option<Recording>,
    /// A request outside the v1 APIs from a connection that touched no
    /// session: it waits in the lobby with its answer, as in live recording.
    lobby: Option<session::Request>,
}

/// The response being read.
enum Current {
    /// Not recorded.
    Skip,
    /// A plain body, recorded when it ends.
    Body { rec: Recording, entry: session::Response, body: Vec<u8>, damaged: bool },
    /// The body of an answer whose exchange goes to the lobby when it ends.
    Lobby { request: session::Request, entry: session::Response, body: Vec<u8>, damaged: bool },
    /// An event stream.
    Stream(Box<Tap>),
}

/// A body outside the v1 APIs as it is kept: up to
/// [`record::OTHER_BODY_CAP`], else nothing and a note saying so (as the
/// proxy keeps it).
fn capped(body: Vec<u8>) -> (Vec<u8>, Option<String>) {
    if body.len() <= record::OTHER_BODY_CAP {
        return (body, None);
    }
    let note =
        format!("response body of {} bytes not kept (over the {} bytes kept)", body.len(), record::OTHER_BODY_CAP);
    (Vec::new(), Some(note))
}

/// Whether an answer's head says its body is empty (`Content-Length: 0`,
/// a `202`): recorded at once, as the proxy does.
fn head_is_empty(entry: &session::Response) -> bool {
    entry.headers.iter().any(|(n, v)| n.eq_ignore_ascii_case("content-length") && v == "0")
}

/// What a connection adds up to, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Losses {
    /// Gaps (holes in the capture) in this connection.
    pub(crate) gaps: u64,
    /// Whether anything of it was lost or skipped.
    pub(crate) lost: bool,
}

/// One connection.
pub(crate) struct Conn {
    pub(crate) id: u64,
    /// `client → server`, for the report.
    pub(crate) addresses: String,
    /// The framework's host (whose requests outside the v1 APIs wait in
    /// the lobby for its session).
    host: std::net::IpAddr,
    master: String,
    up: Option<Side>,
    down: Option<Side>,
    /// The message being received from the framework.
    request: Option<(Head, Vec<u8>, u64)>,
    pending: VecDeque<Pending>,
    current: Option<Current>,
    /// The response side lost its footing: the next response answers the
    /// latest request, not the oldest.
    responses_resynced: bool,
    touched: Touched,
    /// Notes made before the connection touched any session.
    notes: Vec<(u64, String)>,
    /// The master said `Connection: close`.
    master_closed: bool,
    /// Who closed (FIN or RST) first.
    first_close: Option<Party>,
    reset: bool,
    pub(crate) losses: Losses,
    /// Packet number of the packet being handled, for notes.
    packet: u64,
}

impl Conn {
    /// A connection from `client` to the master at `server`, numbered `id`.
    pub(crate) fn new(id: u64, client: std::net::SocketAddr, server: std::net::SocketAddr) -> Conn {
        Conn {
            id,
            addresses: format!("{client} → {server}"),
            host: client.ip(),
            master: format!("http://{server}"),
            up: None,
            down: None,
            request: None,
            pending: VecDeque::new(),
            current: None,
            responses_resynced: false,
            touched: Touched::default(),
            notes: Vec::new(),
            master_closed: false,
            first_close: None,
            reset: false,
            losses: Losses::default(),
            packet: 0,
        }
    }

    /// Whether the direction `dir` has begun (its SYN or a first segment).
    pub(crate) fn has_side(&self, dir: Dir) -> bool {
        match dir {
            Dir::Up => self.up.is_some(),
            Dir::Down => self.down.is_some(),
        }
    }

    /// A segment of direction `dir` in packet number `packet` captured at `now`.
    pub(crate) fn segment(
        &mut self,
        sessions: &mut Sessions,
        dir: Dir,
        segment: &super::pcap::Segment<'_>,
        packet: u64,
        now: u64,
    ) {
        self.packet = packet;
        let flags = segment.flags;
        let role = if dir == Dir::Up { Role::Request } else { Role::Response };
        let slot = match dir {
            Dir::Up => &mut self.up,
            Dir::Down => &mut self.down,
        };
        if slot.is_none() || (flags.syn && slot.as_ref().is_some_and(|s| s.stream.offset() == 0)) {
            *slot = Some(Side::new(flags.syn.then_some(segment.seq), role));
        }
        let mut pieces: Vec<(Piece<'_>, u64)> = Vec::new();
        if let Some(side) = slot.as_mut() {
            // A SYN takes one sequence number; its data (rare) follows it.
            let seq = if flags.syn { segment.seq.wrapping_add(1) } else { segment.seq };
            side.stream.segment(seq, segment.payload, now, &mut |p| pieces.push((p, now)));
            let end = seq.wrapping_add(segment.payload.len() as u32);
            if segment.missing > 0 {
                side.stream.uncaptured(end, segment.missing, &mut |p| pieces.push((p, now)));
            }
            if flags.fin {
                side.stream.fin(end.wrapping_add(segment.missing));
            }
        }
        self.deliver(sessions, dir, pieces);
        if flags.ack {
            let other = match dir {
                Dir::Up => Dir::Down,
                Dir::Down => Dir::Up,
            };
            let mut pieces = Vec::new();
            if let Some(side) = self.side_mut(other) {
                side.stream.acknowledged(segment.ack, now, &mut |p| pieces.push((p, now)));
            }
            self.deliver(sessions, other, pieces);
        }
        if (flags.fin || flags.rst) && self.first_close.is_none() {
            self.first_close = Some(if dir == Dir::Up { Party::Framework } else { Party::Master });
        }
        if flags.rst {
            self.reset = true;
        }
    }

    fn side_mut(&mut self, dir: Dir) -> Option<&mut Side> {
        match dir {
            Dir::Up => self.up.as_mut(),
            Dir::Down => self.down.as_mut(),
        }
    }

    /// Whether the connection is over: reset, or every direction past its FIN.
    pub(crate) fn done(&self) -> bool {
        let finished = |side: &Option<Side>| side.as_ref().is_none_or(|s| s.stream.finished());
        self.reset || ((self.up.is_some() || self.down.is_some()) && finished(&self.up) && finished(&self.down))
    }

    /// Feeds reassembled pieces of direction `dir` to its parser.
    fn deliver(&mut self, sessions: &mut Sessions, dir: Dir, pieces: Vec<(Piece<'_>, u64)>) {
        if pieces.is_empty() {
            return;
        }
        let mut events = Vec::new();
        let packet = self.packet;
        let Some(side) = self.side_mut(dir) else { return };
        let len = |p: &Piece<'_>| match p {
            Piece::Data(d) => d.len() as u64,
            Piece::Owned(d, _) => d.len() as u64,
            Piece::Gap(n) => *n,
        };
        // The stream offset where the pieces start.
        let mut at = side.stream.offset() - pieces.iter().map(|(p, _)| len(p)).sum::<u64>();
        for (piece, now) in pieces {
            let start = at;
            at += len(&piece);
            match piece {
                Piece::Data(data) => side.parser.feed(data, &mut |e| events.push((e, now))),
                Piece::Owned(data, time) => side.parser.feed(&data, &mut |e| events.push((e, time))),
                Piece::Gap(n) => {
                    side.last_gap = Some(format!(
                        "gap in the capture: bytes {start}..{} of {} are missing (noticed at packet {packet})",
                        start + n,
                        dir.side()
                    ));
                    side.parser.gap(n, &mut |e| events.push((e, now)));
                }
            }
        }
        self.handle(sessions, dir, events, false);
        self.losses.gaps =
            self.up.as_ref().map_or(0, |s| s.stream.gaps()) + self.down.as_ref().map_or(0, |s| s.stream.gaps());
        if self.losses.gaps > 0 {
            self.losses.lost = true;
        }
    }

    fn handle(&mut self, sessions: &mut Sessions, dir: Dir, events: Vec<(Event, u64)>, at_end: bool) {
        for (event, now) in events {
            match dir {
                Dir::Up => self.request_event(sessions, event, now, at_end),
                Dir::Down => self.response_event(sessions, event, now, at_end),
            }
        }
    }

    /// The description of the last gap of `dir`, taken.
    fn gap_text(&mut self, dir: Dir) -> String {
        self.side_mut(dir).and_then(|s| s.last_gap.take()).unwrap_or_else(|| match dir {
            Dir::Up => "the framework's side lost its framing".to_owned(),
            Dir::Down => "the master's side lost its framing".to_owned(),
        })
    }

    /// A note in the session the connection touched last (or kept until it
    /// touches one); `lost` marks the session incomplete.
    fn note(
        &mut self,
        sessions: &mut Sessions,
        session: Option<SessionId>,
        now: u64,
        message: String,
        refers: Option<u64>,
        lost: bool,
    ) {
        if lost {
            self.losses.lost = true;
        }
        match session.or_else(|| self.touched.last()) {
            Some(id) => {
                if lost {
                    sessions.mark_lost(id);
                }
                sessions.note(id, self.id, now, message, refers);
            }
            None => self.notes.push((now, message)),
        }
    }

    fn request_event(&mut self, sessions: &mut Sessions, event: Event, now: u64, at_end: bool) {
        match event {
            Event::Head(head) => self.request = Some((head, Vec::new(), 0)),
            Event::Body(body) | Event::Chunk(body) => {
                if let Some((_, collected, lost)) = &mut self.request {
                    if (collected.len() + body.len()) as u64 > http::MAX_BODY {
                        // Too large to keep: the request is not recorded, and that is said.
                        *lost += (collected.len() + body.len()) as u64;
                        collected.clear();
                    } else if *lost == 0 {
                        collected.extend_from_slice(&body);
                    }
                }
            }
            Event::Damaged { missing } => {
                if let Some((_, _, lost)) = &mut self.request {
                    *lost += missing;
                }
            }
            Event::End => {
                let Some((head, body, lost)) = self.request.take() else { return };
                if let Some(down) = &mut self.down {
                    down.parser.expect_response_to(&head.method);
                }
                if lost > 0 {
                    let gap = self.gap_text(Dir::Up);
                    let message = format!(
                        "{gap}: the request {} {} lost {lost} bytes of its body; not recorded",
                        head.method, head.path
                    );
                    self.note(sessions, None, now, message, None, true);
                    self.pending.push_back(Pending { rec: None, lobby: None });
                    return;
                }
                let (rec, lobby) = match Api::from_path(&head.path) {
                    Some(api) => (Some(self.record_request(sessions, api, head, body, now)), None),
                    None => self.other_request(sessions, head, body, now),
                };
                self.pending.push_back(Pending { rec, lobby });
            }
            Event::Unfinished { bytes } => {
                self.request = None;
                if bytes > 0 {
                    let message = if at_end {
                        format!("the capture ended inside a request ({bytes} bytes of it captured); not recorded")
                    } else {
                        format!("the connection closed inside a request ({bytes} bytes of it sent); not recorded")
                    };
                    self.note(sessions, None, now, message, None, false);
                }
            }
            Event::Skipped { bytes, to, cut } => {
                let cut_request = self.request.take();
                let gap = self.gap_text(Dir::Up);
                let mut message = match to {
                    Boundary::None => {
                        format!("{gap}: {bytes} bytes skipped, and no request followed that could be read")
                    }
                    _ => format!("{gap}: {bytes} bytes skipped to resynchronise at the next request"),
                };
                if let (true, Some((head, ..))) = (cut, cut_request) {
                    message
                        .push_str(&format!("; the request {} {} was cut and is not recorded", head.method, head.path));
                }
                self.note(sessions, None, now, message, None, true);
            }
        }
    }

    /// Records a v1 API request, finding its session as the proxy does.
    fn record_request(&mut self, sessions: &mut Sessions, api: Api, head: Head, body: Vec<u8>, now: u64) -> Recording {
        let (summary, problem) = api::read_call(api, head.header("content-type"), &body);
        let (master, touched) = (&self.master, &mut self.touched);
        let first = touched.all().is_empty();
        let (session, unnamed) = match record::file(api, &summary, touched.last()) {
            Filing::Framework(id) => (sessions.framework(&id, master, now, touched), false),
            Filing::Subscribing => (sessions.anonymous(None, master, now, touched), true),
            Filing::Touched(session) => (session, false),
            Filing::Operator => (sessions.anonymous(Some("operator"), master, now, touched), false),
            Filing::Anonymous => (sessions.anonymous(None, master, now, touched), true),
        };
        if first {
            // What this host asked outside the v1 APIs before (pymesos: `GET /version`).
            for exchange in sessions.claim(self.host, now) {
                sessions.record_exchange(session, exchange, now);
            }
        }
        let unnamed = unnamed || sessions.name(session).is_none();
        // What happened on the connection before it touched a session.
        for (time, message) in std::mem::take(&mut self.notes) {
            sessions.mark_lost(session);
            sessions.note(session, self.id, time, message, None);
        }
        let call = summary.name.as_deref().map(str::to_owned);
        let request = session::Request { method: head.method, path: head.path, headers: head.headers, body, summary };
        let seq = sessions.call(session, self.id, now, request, api, problem);
        Recording { session, api: Some(api), seq, call, unnamed }
    }

    /// A request outside the v1 APIs: recorded in the session its
    /// connection touched last; from a connection that touched none, it
    /// waits in the lobby with its answer (as the proxy records them).
    fn other_request(
        &mut self,
        sessions: &mut Sessions,
        head: Head,
        body: Vec<u8>,
        now: u64,
    ) -> (Option<Recording>, Option<session::Request>) {
        let request = session::Request {
            method: head.method,
            path: head.path,
            headers: head.headers,
            body,
            summary: session::Summary::default(),
        };
        match self.touched.last() {
            Some(session) => {
                let seq = sessions.record(session, self.id, now, EntryKind::Request(request), None);
                (Some(Recording { session, api: None, seq, call: None, unnamed: false }), None)
            }
            None => (None, Some(request)),
        }
    }

    fn response_event(&mut self, sessions: &mut Sessions, event: Event, now: u64, at_end: bool) {
        match event {
            Event::Head(head) => self.response_head(sessions, head, now),
            Event::Body(data) => match &mut self.current {
                Some(Current::Body { body, .. } | Current::Lobby { body, .. }) => *body = data,
                Some(Current::Stream(tap)) => tap.chunk(sessions, Bytes::from(data), now),
                _ => {}
            },
            Event::Chunk(data) => match &mut self.current {
                Some(Current::Body { body, damaged, .. } | Current::Lobby { body, damaged, .. }) => {
                    if (body.len() + data.len()) as u64 > http::MAX_BODY {
                        *damaged = true;
                        body.clear();
                    } else if !*damaged {
                        body.extend_from_slice(&data);
                    }
                }
                Some(Current::Stream(tap)) => tap.chunk(sessions, Bytes::from(data), now),
                _ => {}
            },
            Event::Damaged { missing } => {
                let gap = self.gap_text(Dir::Down);
                match &mut self.current {
                    Some(Current::Body { damaged, .. } | Current::Lobby { damaged, .. }) => *damaged = true,
                    Some(Current::Stream(tap)) => {
                        let (session, stream) = (tap.session, tap.stream);
                        tap.resyncing = true;
                        let message = format!(
                            "{gap}: {missing} bytes of the event stream's chunk are missing; its events are lost until the next chunk of whole records"
                        );
                        self.note(sessions, Some(session), now, message, Some(stream), true);
                        return;
                    }
                    _ => {}
                }
                self.losses.lost = true;
                if let Some(Current::Body { rec, .. }) = &self.current {
                    sessions.mark_lost(rec.session);
                }
                if let Some(side) = self.side_mut(Dir::Down) {
                    side.last_gap = Some(gap);
                }
            }
            Event::End => match self.current.take() {
                Some(Current::Body { rec, entry, damaged: true, .. }) => {
                    let gap = self.gap_text(Dir::Down);
                    let message =
                        format!("{gap}: the response (status {}) lost part of its body; not recorded", entry.status);
                    self.note(sessions, Some(rec.session), now, message, rec.seq, true);
                }
                Some(Current::Body { rec, mut entry, body, .. }) => {
                    let Some(api) = rec.api else {
                        let (body, note) = capped(body);
                        entry.body = body;
                        let seq = sessions.record(rec.session, self.id, now, EntryKind::Response(entry), None);
                        if let Some(message) = note {
                            sessions.note(rec.session, self.id, now, message, seq);
                        }
                        return;
                    };
                    entry.body = body;
                    sessions.record(rec.session, self.id, now, EntryKind::Response(entry), api.response_type());
                }
                Some(Current::Lobby { request, entry, damaged: true, .. }) => {
                    let gap = self.gap_text(Dir::Down);
                    let note =
                        format!("{gap}: the response (status {}) lost part of its body; not recorded", entry.status);
                    self.losses.lost = true;
                    let exchange = Exchange { conn: self.id, request, response: None, note: Some(note) };
                    sessions.wait_in_lobby(self.host, now, exchange);
                }
                Some(Current::Lobby { request, mut entry, body, .. }) => {
                    let (body, note) = capped(body);
                    entry.body = body;
                    let exchange = Exchange { conn: self.id, request, response: Some(entry), note };
                    sessions.wait_in_lobby(self.host, now, exchange);
                }
                Some(Current::Stream(mut tap)) => tap.end(sessions, Party::Master, "the master ended the body", now),
                _ => {}
            },
            Event::Unfinished { bytes } => match self.current.take() {
                Some(Current::Stream(mut tap)) if !at_end => {
                    let by = self.first_close.unwrap_or(Party::Master);
                    tap.end(sessions, by, "the connection closed before the body ended", now);
                }
                Some(Current::Stream(tap)) => self.current = Some(Current::Stream(tap)),
                Some(Current::Body { rec, entry, .. }) => {
                    let message = if at_end {
                        format!("the capture ended inside the response (status {}); not recorded", entry.status)
                    } else {
                        format!("the connection closed inside the response (status {}); not recorded", entry.status)
                    };
                    self.note(sessions, Some(rec.session), now, message, rec.seq, false);
                }
                _ if bytes > 0 && !at_end => {
                    self.note(sessions, None, now, "the connection closed inside a response".to_owned(), None, false);
                }
                _ => {}
            },
            Event::Skipped { bytes, to, cut } => {
                let gap = self.gap_text(Dir::Down);
                self.responses_resynced = true;
                match (to, self.current.take()) {
                    (Boundary::Chunk, Some(Current::Stream(mut tap))) => {
                        tap.resyncing = true;
                        let (session, stream) = (tap.session, tap.stream);
                        self.current = Some(Current::Stream(tap));
                        let message = format!(
                            "{gap}: {bytes} bytes of the event stream skipped to the next chunk of whole records"
                        );
                        self.note(sessions, Some(session), now, message, Some(stream), true);
                    }
                    (Boundary::BodyEnd, Some(Current::Stream(tap))) => {
                        let (session, stream) = (tap.session, tap.stream);
                        self.current = Some(Current::Stream(tap));
                        let message = format!("{gap}: {bytes} bytes of the event stream skipped to its last chunk");
                        self.note(sessions, Some(session), now, message, Some(stream), true);
                    }
                    (_, current) => {
                        let (session, refers, what) = match &current {
                            Some(Current::Stream(tap)) => (Some(tap.session), Some(tap.stream), "the event stream"),
                            Some(Current::Body { rec, .. }) => (Some(rec.session), rec.seq, "the response"),
                            _ => (None, None, "a response"),
                        };
                        // A stream whose end was lost still ends (the parser says End next).
                        if let Some(Current::Stream(tap)) = current {
                            self.current = Some(Current::Stream(tap));
                        }
                        let message = match to {
                            Boundary::None => {
                                format!("{gap}: {bytes} bytes skipped, and no response followed that could be read")
                            }
                            _ if cut => format!(
                                "{gap}: {bytes} bytes skipped to resynchronise at the next response; {what} was cut"
                            ),
                            _ => format!("{gap}: {bytes} bytes skipped to resynchronise at the next response"),
                        };
                        self.note(sessions, session, now, message, refers, true);
                    }
                }
            }
        }
    }

    fn response_head(&mut self, sessions: &mut Sessions, head: Head, now: u64) {
        if std::mem::take(&mut self.responses_resynced) {
            // After lost bytes, a response answers the latest request sent
            // before it (frameworks do not pipeline), not the oldest.
            while self.pending.len() > 1 {
                if let Some(Pending { rec: Some(rec), .. }) = self.pending.pop_front() {
                    let message = "no response recorded: it was lost in a gap in the capture".to_owned();
                    self.note(sessions, Some(rec.session), now, message, rec.seq, true);
                }
            }
        }
        if head.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            self.master_closed = true;
        }
        let Some(pending) = self.pending.pop_front() else {
            let message = format!(
                "a response (status {}) whose request is not in the capture (picked up mid-way); not recorded",
                head.status
            );
            self.note(sessions, None, now, message, None, true);
            self.current = Some(Current::Skip);
            return;
        };
        let Some(rec) = pending.rec else {
            self.current = Some(Current::Skip);
            if let Some(request) = pending.lobby {
                let entry = session::Response {
                    request: None,
                    status: head.status,
                    headers: head.headers,
                    ..Default::default()
                };
                if head_is_empty(&entry) {
                    let exchange = Exchange { conn: self.id, request, response: Some(entry), note: None };
                    sessions.wait_in_lobby(self.host, now, exchange);
                } else {
                    self.current = Some(Current::Lobby { request, entry, body: Vec::new(), damaged: false });
                }
            }
            return;
        };
        let Some(api) = rec.api else {
            let entry = session::Response {
                request: rec.seq,
                status: head.status,
                headers: head.headers,
                ..Default::default()
            };
            if head_is_empty(&entry) {
                sessions.record(rec.session, self.id, now, EntryKind::Response(entry), None);
                self.current = Some(Current::Skip);
            } else {
                self.current = Some(Current::Body { rec, entry, body: Vec::new(), damaged: false });
            }
            return;
        };
        let encoding = api::encoding(head.header("content-type"));
        let stream = api::opens_stream(head.status, rec.call.as_deref(), head.header("mesos-stream-id").is_some());
        let mut entry = session::Response {
            request: rec.seq,
            status: head.status,
            headers: head.headers.clone(),
            stream,
            format: encoding,
            ..Default::default()
        };
        if stream {
            let Some(seq) = sessions.record(rec.session, self.id, now, EntryKind::Response(entry), None) else {
                self.current = Some(Current::Skip);
                return;
            };
            let tap = Tap {
                session: rec.session,
                conn: self.id,
                stream: seq,
                tap: EventTap::new(seq, api, encoding, rec.unnamed),
                resyncing: false,
            };
            self.current = Some(Current::Stream(Box::new(tap)));
        } else if head.header("content-length") == Some("0") {
            // Nothing to collect (a `202`): recorded at once.
            entry.format = None;
            sessions.record(rec.session, self.id, now, EntryKind::Response(entry), None);
            self.current = Some(Current::Skip);
        } else {
            self.current = Some(Current::Body { rec, entry, body: Vec::new(), damaged: false });
        }
    }

    /// The connection is over (`at_end`: the capture ended with it open):
    /// holes become gaps, messages cut short are said, and, when it closed
    /// (both directions, or one side's FIN or RST seen before the capture
    /// ended), every session it touched gets its `close` and may end.
    pub(crate) fn close(&mut self, sessions: &mut Sessions, now: u64, at_end: bool) {
        for dir in [Dir::Up, Dir::Down] {
            let mut pieces = Vec::new();
            if let Some(side) = self.side_mut(dir) {
                side.stream.flush(&mut |p| pieces.push((p, now)));
            }
            self.deliver(sessions, dir, pieces);
            let mut events = Vec::new();
            if let Some(side) = self.side_mut(dir) {
                side.parser.finish(&mut |e| events.push((e, now)));
            }
            self.handle(sessions, dir, events, at_end);
        }
        // A connection that one side had closed (FIN or RST) when the capture
        // ended is closed, as the proxy records it when the framework hangs
        // up: the other side's FIN may simply have come after the capture.
        if at_end && self.first_close.is_none() {
            if !self.notes.is_empty() {
                self.losses.lost = true;
            }
            return;
        }
        if let Some(Current::Stream(mut tap)) = self.current.take() {
            let by = self.first_close.unwrap_or(Party::Master);
            tap.end(sessions, by, "the connection closed", now);
        }
        let (by, reason) = if self.master_closed || self.first_close == Some(Party::Master) {
            (Party::Master, "the master closed the connection")
        } else {
            (Party::Framework, "the framework closed the connection")
        };
        for &session in self.touched.all() {
            let close = Close { stream: None, by, reason: Some(reason.to_owned()) };
            sessions.record(session, self.id, now, EntryKind::Close(close), None);
        }
        sessions.release(std::mem::take(&mut self.touched), now);
        if !self.notes.is_empty() {
            self.losses.lost = true;
        }
    }

    /// Notes that never found a session (nothing on the connection was recorded).
    pub(crate) fn orphan_notes(&self) -> impl Iterator<Item = &str> {
        self.notes.iter().map(|(_, m)| m.as_str())
    }
}

/// The events of a `SUBSCRIBE` stream: [`EventTap`]'s outputs into the
/// session, as [`crate::tee::StreamTap`] records them live; and, after
/// bytes lost in the capture, the wait for a chunk of whole records.
struct Tap {
    session: SessionId,
    conn: u64,
    stream: u64,
    tap: EventTap,
    /// After lost bytes: waiting for a chunk of whole records.
    resyncing: bool,
}

impl Tap {
    fn chunk(&mut self, sessions: &mut Sessions, data: Bytes, now: u64) {
        if self.tap.is_broken() || data.is_empty() {
            return;
        }
        if self.resyncing {
            if !http::whole_records(&data) {
                return;
            }
            self.resyncing = false;
            self.tap.restart();
        }
        let mut out = Vec::new();
        self.tap.chunk(&data, &mut out);
        self.record(sessions, out, now);
    }

    fn record(&mut self, sessions: &mut Sessions, out: Vec<Tapped>, now: u64) {
        for tapped in out {
            match tapped {
                Tapped::Name(id) => {
                    if sessions.set_name(self.session, &id) {
                        sessions.register(&id, self.session);
                    }
                }
                Tapped::Event(event) => {
                    let message = Some(self.tap.message());
                    sessions.record(self.session, self.conn, now, EntryKind::Event(event), message);
                }
                Tapped::Note(message) => sessions.note(self.session, self.conn, now, message, Some(self.stream)),
            }
        }
    }

    fn end(&mut self, sessions: &mut Sessions, by: Party, reason: &str, now: u64) {
        let mut out = Vec::new();
        if !self.resyncing {
            self.tap.end(by, &mut out);
        }
        self.record(sessions, out, now);
        let close = Close { stream: Some(self.stream), by, reason: Some(reason.to_owned()) };
        sessions.record(self.session, self.conn, now, EntryKind::Close(close), None);
    }
}
