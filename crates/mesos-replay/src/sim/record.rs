//! `mesos-replay sim --record DIR`: what the simulator served, as session
//! files (docs/session-format.md), one per framework.
//!
//! Plain `std::fs` appends, one `write_all` per line: the simulator is not
//! a hot recorder, and a line is never torn by an interleaving writer since
//! every write happens under the server's lock.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mesos_codec::api::{self, Api, Encoding};
use mesos_codec::session::{
    Close, End, Entry, EntryKind, Event, Header, Party, Request, Response, Source, Utc, Writer, create_file,
};

use super::master::{Master, StreamKey};

/// The name of the session of requests that belong to no framework.
const UNKNOWN: &str = "unknown";

struct Session {
    file: File,
    writer: Writer,
    /// The sim's time when the session started (`t_ns` 0).
    start: Duration,
    /// Server connection number → the session's own (from 1).
    conns: HashMap<u64, u64>,
    ended: bool,
}

struct OpenStream {
    session: String,
    response: u64,
    conn: u64,
    format: Option<Encoding>,
}

/// Writes the session files of one simulator run.
pub(crate) struct Recorder {
    dir: PathBuf,
    master_url: String,
    sessions: HashMap<String, Session>,
    streams: HashMap<StreamKey, OpenStream>,
}

/// A request as recorded, before it is given to a session.
pub(crate) struct Exchange {
    pub conn: u64,
    pub request: Request,
    pub response: Response,
    /// The framework id the call names, if any.
    pub framework_id: Option<String>,
}

impl Recorder {
    pub(crate) fn new(dir: &Path, master_url: String) -> io::Result<Recorder> {
        std::fs::create_dir_all(dir)?;
        Ok(Recorder { dir: dir.to_owned(), master_url, sessions: HashMap::new(), streams: HashMap::new() })
    }

    fn session(&mut self, name: &str, now: Duration) -> Option<&mut Session> {
        if !self.sessions.contains_key(name) {
            let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            let wall = Utc::since_epoch(wall);
            let mut header = Header::new(Source::Sim, &wall.rfc3339());
            header.master = Some(self.master_url.clone());
            // The same framework twice in one millisecond: never overwrite, number it.
            let open = |path: &Path| OpenOptions::new().create_new(true).append(true).open(path);
            let opened = create_file(&self.dir, name, &wall.file_stamp(), open).and_then(|(mut file, path)| {
                file.write_all(&header.to_line())
                    .map(|()| file)
                    .map_err(|e| (e, path))
                    .map_err(|(e, p)| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
            });
            match opened {
                Ok(file) => {
                    let session =
                        Session { file, writer: Writer::new(), start: now, conns: HashMap::new(), ended: false };
                    self.sessions.insert(name.to_owned(), session);
                }
                Err(e) => {
                    tracing::warn!("cannot record the session of {name} in {}: {e}", self.dir.display());
                    return None;
                }
            }
        }
        self.sessions.get_mut(name).filter(|s| !s.ended)
    }

    /// Records a request and its answer; `stream` when the answer opened
    /// an event stream (then `framework` is the stream's framework).
    pub(crate) fn exchange(
        &mut self,
        now: Duration,
        mut exchange: Exchange,
        stream: Option<(StreamKey, Option<String>)>,
    ) {
        let live = |id: &String| self.sessions.get(id).is_some_and(|s| !s.ended);
        let name = match &stream {
            Some((_, Some(id))) => id.clone(),
            _ => exchange.framework_id.filter(live).unwrap_or_else(|| UNKNOWN.to_owned()),
        };
        let Some(session) = self.session(&name, now) else { return };
        let conn = session.conn(exchange.conn);
        let request = session.write(now, conn, EntryKind::Request(exchange.request));
        exchange.response.request = Some(request);
        let response = session.write(now, conn, EntryKind::Response(exchange.response.clone()));
        if let Some((key, _)) = stream {
            let format = exchange.response.format;
            self.streams.insert(key, OpenStream { session: name, response, conn: exchange.conn, format });
        }
    }

    /// One record written to `stream` (size line and payload).
    pub(crate) fn record(&mut self, now: Duration, stream: StreamKey, framed: &[u8]) {
        let Some(open) = self.streams.get(&stream) else { return };
        let record = framed.iter().position(|&b| b == b'\n').map_or(framed, |nl| &framed[nl + 1..]);
        let summary = api::summarize(Api::Scheduler.event_type(), open.format, record).unwrap_or_default();
        let event = Event { stream: open.response, record: record.to_vec(), chunks: None, summary };
        let (name, conn) = (open.session.clone(), open.conn);
        if let Some(session) = self.sessions.get_mut(&name).filter(|s| !s.ended) {
            let conn = session.conn(conn);
            session.write(now, conn, EntryKind::Event(event));
        }
    }

    /// `stream` ended: by the master (`reason` given) or the framework.
    pub(crate) fn close(&mut self, now: Duration, stream: StreamKey, by: Party, reason: &str) {
        let Some(open) = self.streams.remove(&stream) else { return };
        if let Some(session) = self.sessions.get_mut(&open.session).filter(|s| !s.ended) {
            let conn = session.conn(open.conn);
            let close = Close { stream: Some(open.response), by, reason: Some(reason.to_owned()) };
            session.write(now, conn, EntryKind::Close(close));
        }
    }

    /// The session of `stream`'s framework, if it is recorded.
    pub(crate) fn stream_session(&self, stream: StreamKey) -> Option<&str> {
        self.streams.get(&stream).map(|s| s.session.as_str())
    }

    /// Ends the sessions of frameworks the master removed.
    pub(crate) fn sync(&mut self, now: Duration, master: &Master) {
        for (name, session) in &mut self.sessions {
            if !session.ended && name != UNKNOWN && master.framework_removed(name) {
                session.end(now);
            }
        }
    }

    /// The simulator stops: every session ends.
    pub(crate) fn shutdown(&mut self, now: Duration) {
        for session in self.sessions.values_mut() {
            if !session.ended {
                session.end(now);
            }
        }
    }
}

impl Session {
    fn conn(&mut self, server_conn: u64) -> u64 {
        let next = self.conns.len() as u64 + 1;
        *self.conns.entry(server_conn).or_insert(next)
    }

    fn t_ns(&self, now: Duration) -> u64 {
        u64::try_from(now.saturating_sub(self.start).as_nanos()).unwrap_or(u64::MAX)
    }

    fn write(&mut self, now: Duration, conn: u64, kind: EntryKind) -> u64 {
        let entry: Entry = self.writer.entry(self.t_ns(now), conn, kind);
        if let Err(e) = self.file.write_all(&entry.to_line()) {
            tracing::warn!("cannot record: {e}");
        }
        entry.seq
    }

    fn end(&mut self, now: Duration) {
        let entries = self.writer.entries();
        self.write(now, 0, EntryKind::End(End { entries, complete: true }));
        self.ended = true;
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
