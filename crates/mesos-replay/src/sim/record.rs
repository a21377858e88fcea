//! `mesos-replay sim --record DIR`: what the simulator served, as session
//! files (docs/session-format.md), one per framework.
//!
//! A thin driver of the recording core ([`mesos_record`]), as the proxy and
//! the capture importer are: each session is a [`Book`] (numbering, its
//! connections numbered, secrets redacted, streams still open closed at the
//! end) written by a [`SessionFile`] (naming, numbering on a collision,
//! failing once and loudly), and each event stream goes through an
//! [`EventTap`] (the event's summary). What the sim adds is only what it
//! knows as the master: whose session a call or a stream is. Every call
//! happens under the server's lock, and each one's lines are written out
//! before it returns, so a follower of the file sees whole lines at once.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use mesos_codec::api::Api;
use mesos_codec::session::{Close, Entry, EntryKind, Header, Party, Request, Response, Source, Utc};
use mesos_record::file::{SessionFile, Storage};
use mesos_record::{Book, EventTap, Tapped};

use super::master::{Master, StreamKey};

/// The name of the session of requests that belong to no framework.
const UNKNOWN: &str = "unknown";

struct Session {
    book: Book,
    file: SessionFile,
    /// The sim's time when the session started (`t_ns` 0).
    start: Duration,
}

struct OpenStream {
    session: String,
    conn: u64,
    tap: EventTap,
}

/// Writes the session files of one simulator run.
pub(crate) struct Recorder {
    dir: PathBuf,
    master_url: String,
    sessions: HashMap<String, Session>,
    streams: HashMap<StreamKey, OpenStream>,
    /// What the taps give, reused.
    tapped: Vec<Tapped>,
}

/// A request as recorded, before it is given to a session.
pub(crate) struct Exchange {
    pub conn: u64,
    pub request: Request,
    /// Why the request's body does not read as a v1 call, if it does not.
    pub problem: Option<String>,
    pub response: Response,
    /// The framework id the call names, if any.
    pub framework_id: Option<String>,
}

impl Recorder {
    pub(crate) fn new(dir: &Path, master_url: String) -> io::Result<Recorder> {
        std::fs::create_dir_all(dir)?;
        Ok(Recorder {
            dir: dir.to_owned(),
            master_url,
            sessions: HashMap::new(),
            streams: HashMap::new(),
            tapped: Vec::new(),
        })
    }

    /// The session `name`, begun at `now` if there is none yet; `None`
    /// once it has ended.
    fn session(&mut self, name: &str, now: Duration) -> Option<&mut Session> {
        if !self.sessions.contains_key(name) {
            let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            let wall = Utc::since_epoch(wall);
            let mut header = Header::new(Source::Sim, &wall.rfc3339());
            header.master = Some(self.master_url.clone());
            let label = format!("sim {name}");
            let mut file =
                SessionFile::new(self.dir.clone(), wall.file_stamp(), header.to_line(), label, Storage::default());
            file.open(name);
            let session = Session { book: Book::new(Source::Sim, false), file, start: now };
            self.sessions.insert(name.to_owned(), session);
        }
        self.sessions.get_mut(name).filter(|s| !s.book.is_finished())
    }

    /// Records a request and its answer; `stream` when the answer opened
    /// an event stream (then `framework` is the stream's framework).
    pub(crate) fn exchange(
        &mut self,
        now: Duration,
        mut exchange: Exchange,
        stream: Option<(StreamKey, Option<String>)>,
    ) {
        let live = |id: &String| self.sessions.get(id).is_some_and(|s| !s.book.is_finished());
        let name = match &stream {
            Some((_, Some(id))) => id.clone(),
            _ => exchange.framework_id.filter(live).unwrap_or_else(|| UNKNOWN.to_owned()),
        };
        let Some(session) = self.session(&name, now) else { return };
        let (t_ns, conn) = (session.t_ns(now), exchange.conn);
        let request = match Api::from_path(&exchange.request.path) {
            Some(api) => session.book.call(conn, t_ns, exchange.request, api, exchange.problem),
            None => session.book.record(conn, t_ns, EntryKind::Request(exchange.request), None).map(|r| {
                let seq = r.entry.seq;
                (seq, std::iter::once(r.entry).chain(r.note.map(|note| *note)).collect())
            }),
        };
        let Some((request, entries)) = request else { return };
        session.write(&entries);
        exchange.response.request = Some(request);
        let format = exchange.response.format;
        let Some(response) = session.book.record(conn, t_ns, EntryKind::Response(exchange.response), None) else {
            return;
        };
        let seq = response.entry.seq;
        session.write(&[response.entry]);
        session.file.flush();
        if let Some((key, _)) = stream {
            let tap = EventTap::new(seq, Api::Scheduler, format, false);
            self.streams.insert(key, OpenStream { session: name, conn, tap });
        }
    }

    /// One record written to `stream` (size line and payload).
    pub(crate) fn record(&mut self, now: Duration, stream: StreamKey, framed: &Bytes) {
        let Some(open) = self.streams.get_mut(&stream) else { return };
        let Some(session) = self.sessions.get_mut(&open.session).filter(|s| !s.book.is_finished()) else { return };
        open.tap.chunk(framed, &mut self.tapped);
        session.record_tapped(now, open.conn, open.tap.stream(), open.tap.message(), &mut self.tapped);
        session.file.flush();
    }

    /// `stream` ended: by the master (`reason` given) or the framework.
    pub(crate) fn close(&mut self, now: Duration, stream: StreamKey, by: Party, reason: &str) {
        let Some(mut open) = self.streams.remove(&stream) else { return };
        let Some(session) = self.sessions.get_mut(&open.session).filter(|s| !s.book.is_finished()) else { return };
        open.tap.end(by, &mut self.tapped);
        session.record_tapped(now, open.conn, open.tap.stream(), open.tap.message(), &mut self.tapped);
        let close = Close { stream: Some(open.tap.stream()), by, reason: Some(reason.to_owned()) };
        if let Some(recorded) = session.book.record(open.conn, session.t_ns(now), EntryKind::Close(close), None) {
            session.write(&[recorded.entry]);
        }
        session.file.flush();
    }

    /// The session of `stream`'s framework, if it is recorded.
    pub(crate) fn stream_session(&self, stream: StreamKey) -> Option<&str> {
        self.streams.get(&stream).map(|s| s.session.as_str())
    }

    /// Ends the sessions of frameworks the master removed.
    pub(crate) fn sync(&mut self, now: Duration, master: &Master) {
        for (name, session) in &mut self.sessions {
            if !session.book.is_finished() && name != UNKNOWN && master.framework_removed(name) {
                session.end(now, "the framework was removed");
            }
        }
    }

    /// The simulator stops: every session ends.
    pub(crate) fn shutdown(&mut self, now: Duration) {
        for session in self.sessions.values_mut() {
            if !session.book.is_finished() {
                session.end(now, "the simulator stopped");
            }
        }
    }
}

impl Session {
    fn t_ns(&self, now: Duration) -> u64 {
        u64::try_from(now.saturating_sub(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    fn write(&mut self, entries: &[Entry]) {
        for entry in entries {
            self.file.write_entry(entry);
        }
    }

    /// Records what a tap gave: its events and notes, at `now`.
    fn record_tapped(
        &mut self,
        now: Duration,
        conn: u64,
        stream: u64,
        message: mesos_codec::schema::MessageId,
        tapped: &mut Vec<Tapped>,
    ) {
        let t_ns = self.t_ns(now);
        for tapped in tapped.drain(..) {
            match tapped {
                Tapped::Event(event) => {
                    if let Some(recorded) = self.book.record(conn, t_ns, EntryKind::Event(event), Some(message)) {
                        self.write(&[recorded.entry]);
                        if let Some(note) = recorded.note {
                            self.write(&[*note]);
                        }
                    }
                }
                Tapped::Note(message) => {
                    if let Some(note) = self.book.note(conn, t_ns, message, Some(stream)) {
                        self.write(&[note]);
                    }
                }
                // The sim knows whose stream it is: its name is the framework's.
                Tapped::Name(_) => {}
            }
        }
    }

    /// Ends the session: the streams still open closed by the recorder,
    /// for `reason`, then the `end`.
    fn end(&mut self, now: Duration, reason: &str) {
        let t_ns = self.t_ns(now);
        if let Some(closes) = self.book.finish(t_ns, reason) {
            self.write(&closes);
            self.file.finish(self.book.entries(), t_ns, self.book.is_complete());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        let wall = Duration::new(1_795_558_231, 257_000_001);
        let stamp = |d| Utc::since_epoch(d).file_stamp();
        let rfc3339 = |d| Utc::since_epoch(d).rfc3339();
        assert_eq!(stamp(wall), "20261124T221031.257Z");
        assert_eq!(rfc3339(wall), "2026-11-24T22:10:31.257000001Z");
        assert_eq!(stamp(Duration::ZERO), "19700101T000000.000Z");
        assert_eq!(rfc3339(Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000000000Z");
    }
}
