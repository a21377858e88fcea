//! The session log format (version 1): a writer that renders lines and a
//! streaming reader that is fed bytes, both sans I/O.
//!
//! `docs/session-format.md` is the normative description. In short: JSON
//! Lines; line 1 is a [`Header`]; every other line is an [`Entry`] with
//! `seq`, `t_ns`, `conn` and `kind` (request, response, event, close, note,
//! end); bodies and records byte for byte (`body` when UTF-8, `body_b64`
//! otherwise).
//!
//! The [`Reader`] takes the file's bytes as they come, so it reads a
//! finished file, follows one that is still being written, and reports a
//! torn last line (a writer that died mid-line) without failing. It reads
//! a compressed session (`.session.jsonl.zst`: zstd frames, recognized by
//! their magic number) as well as a plain one, and the parts of a rotated
//! session fed one after the other (a part's header names the part before
//! it, [`Header::previous`]; `seq` and `t_ns` run on across parts).
//!
//! ```
//! use mesos_codec::session::{Entry, EntryKind, Header, Item, Reader, Request, Source, Writer};
//!
//! let mut writer = Writer::new();
//! let mut file = Header::new(Source::Sim, "2026-11-24T21:30:00Z").to_line();
//! let request = Request { method: "POST".into(), path: "/api/v1/scheduler".into(), ..Request::default() };
//! file.extend(writer.entry(5, 1, EntryKind::Request(request)).to_line());
//!
//! let mut reader = Reader::new();
//! reader.push(&file);
//! assert!(matches!(reader.next_item()?, Some(Item::Header(h)) if h.source == Source::Sim));
//! let Some(Item::Entry(entry)) = reader.next_item()? else { panic!() };
//! assert_eq!((entry.seq, entry.t_ns, entry.conn), (0, 5, 1));
//! assert_eq!(reader.next_item()?, None);
//! assert_eq!(reader.finish(), None); // no torn line
//! # Ok::<(), mesos_codec::session::SessionError>(())
//! ```

use std::borrow::Cow;

use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::Encoding;

/// The `format` of every session file.
pub const FORMAT: &str = "mesos-tape-session";
/// The version this module writes and reads.
pub const VERSION: u64 = 1;

/// Who wrote the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The recording proxy.
    Proxy,
    /// The capture importer.
    Pcap,
    /// The simulated master.
    Sim,
}

impl Source {
    /// The name in the file: `proxy`, `pcap`, `sim`.
    ///
    /// ```
    /// assert_eq!(mesos_codec::session::Source::Pcap.as_str(), "pcap");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Proxy => "proxy",
            Source::Pcap => "pcap",
            Source::Sim => "sim",
        }
    }
}

/// Line 1 of a session file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Who wrote the session.
    pub source: Source,
    /// The master's address, as the recorder knew it.
    pub master: Option<String>,
    /// For `pcap`: the capture file's name.
    pub capture: Option<String>,
    /// UTC start time, RFC 3339.
    pub started_at: String,
    /// What wrote the file.
    pub tool: String,
    /// Whether secrets were redacted.
    pub redacted: bool,
    /// In a rotated session, this part's number: 2 for the part after the
    /// first, and so on (absent in the first part and in a session never
    /// cut).
    pub part: Option<u64>,
    /// In a rotated session, the file name (no directory) of the part
    /// before this one.
    pub previous: Option<String>,
}

impl Header {
    /// A header for `source`, started at `started_at`, by this version of
    /// mesos-tape, with secrets redacted.
    ///
    /// ```
    /// use mesos_codec::session::{Header, Source};
    /// let header = Header::new(Source::Proxy, "2026-11-24T21:30:00Z");
    /// assert!(header.redacted);
    /// assert!(header.tool.starts_with("mesos-tape "));
    /// ```
    pub fn new(source: Source, started_at: &str) -> Header {
        Header {
            source,
            master: None,
            capture: None,
            started_at: started_at.to_owned(),
            tool: concat!("mesos-tape ", env!("CARGO_PKG_VERSION")).to_owned(),
            redacted: true,
            part: None,
            previous: None,
        }
    }

    /// The header's line, newline included.
    ///
    /// ```
    /// use mesos_codec::session::{Header, Source};
    /// let line = Header::new(Source::Sim, "2026-11-24T21:30:00Z").to_line();
    /// assert!(line.starts_with(br#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim""#));
    /// assert!(line.ends_with(b"}\n"));
    /// ```
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(256);
        let mut o = Obj::new(&mut line);
        o.field("kind", "header");
        o.field("format", FORMAT);
        o.field("version", VERSION);
        o.field("source", self.source.as_str());
        o.opt("master", self.master.as_deref());
        o.opt("capture", self.capture.as_deref());
        o.field("started_at", &self.started_at);
        o.field("tool", &self.tool);
        o.field("redacted", self.redacted);
        o.opt("part", self.part);
        o.opt("previous", self.previous.as_deref());
        o.finish();
        line
    }
}

/// A UTC instant, for session headers and file names. Pure: the caller
/// passes the time in (this crate reads no clock).
///
/// ```
/// use mesos_codec::session::Utc;
/// let t = Utc::from_unix(1_795_555_800, 123_456_789);
/// assert_eq!(t.rfc3339(), "2026-11-24T21:30:00.123456789Z");
/// assert_eq!(t.file_stamp(), "20261124T213000.123Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

impl Utc {
    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch.
    pub fn from_unix(secs: i64, nanos: u32) -> Utc {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Utc { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60, nanos }
    }

    /// The instant `since` after the Unix epoch (`SystemTime::duration_since(UNIX_EPOCH)`).
    ///
    /// ```
    /// use mesos_codec::session::Utc;
    /// assert_eq!(Utc::since_epoch(std::time::Duration::ZERO).file_stamp(), "19700101T000000.000Z");
    /// ```
    pub fn since_epoch(since: std::time::Duration) -> Utc {
        Utc::from_unix(i64::try_from(since.as_secs()).unwrap_or(i64::MAX), since.subsec_nanos())
    }

    /// RFC 3339 with nanoseconds, for headers: `2026-11-24T21:30:00.123456789Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.nanos
        )
    }

    /// The file-name form, milliseconds: `20261124T213000.123Z`.
    pub fn file_stamp(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanos / 1_000_000
        )
    }
}

/// The id part of a session file name: characters outside `[A-Za-z0-9._-]`
/// become `_` (files are `<id>-<UTC start>.session.jsonl`).
///
/// ```
/// assert_eq!(mesos_codec::session::file_id("a b/c-1.2"), "a_b_c-1.2");
/// ```
pub fn file_id(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

/// How many names [`create_file`] tries for one session: the plain one,
/// then `-2` up to this.
pub const NAME_TRIES: u32 = 1000;

/// Creates a session's file in `dir`, named `<id>-<stamp>.session.jsonl`
/// (the id through [`file_id`]) or, when that is taken (the same id started
/// twice in one millisecond), `<id>-<stamp>-N.session.jsonl` from `N = 2`:
/// never over another file. `open` creates a file that must not exist yet
/// (`OpenOptions::new().write(true).create_new(true)`), so this crate does
/// no I/O of its own. The file and its path; `open`'s error when it fails
/// otherwise than by the name being taken, or the last `AlreadyExists`
/// after [`NAME_TRIES`] names.
///
/// ```
/// use std::collections::HashSet;
/// use std::path::{Path, PathBuf};
/// let mut taken: HashSet<PathBuf> = [PathBuf::from("out/f1-S.session.jsonl")].into();
/// let open = |path: &Path| {
///     if taken.insert(path.to_owned()) { Ok(()) } else { Err(std::io::ErrorKind::AlreadyExists.into()) }
/// };
/// let ((), path) = mesos_codec::session::create_file(Path::new("out"), "f1", "S", open)?;
/// assert_eq!(path, Path::new("out/f1-S-2.session.jsonl"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_file<F>(
    dir: &std::path::Path,
    id: &str,
    stamp: &str,
    mut open: impl FnMut(&std::path::Path) -> std::io::Result<F>,
) -> std::io::Result<(F, std::path::PathBuf)> {
    let base = format!("{}-{stamp}", file_id(id));
    let mut path = dir.join(format!("{base}.session.jsonl"));
    let mut n = 2;
    loop {
        match open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && n <= NAME_TRIES => {
                path = dir.join(format!("{base}-{n}.session.jsonl"));
                n += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Who ended a stream or connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The framework (the client).
    Framework,
    /// The master (the server).
    Master,
    /// The recorder itself (shutting down).
    Proxy,
}

impl Party {
    /// `framework`, `master`, `proxy`.
    ///
    /// ```
    /// assert_eq!(mesos_codec::session::Party::Master.as_str(), "master");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Framework => "framework",
            Party::Master => "master",
            Party::Proxy => "proxy",
        }
    }
}

/// The summaries of a message, for grep and jq.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The call or event type name (`ACCEPT`, `OFFERS`): borrowed from the
    /// schema when the recorder names a message it read (no allocation an
    /// event), owned when read back from a session log.
    pub name: Option<Cow<'static, str>>,
    /// The message's encoding.
    pub format: Option<Encoding>,
    /// The framework id, where known.
    pub framework_id: Option<String>,
}

/// An HTTP request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// `[name, value]` pairs in wire order.
    pub headers: Vec<(String, String)>,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// `call`, `format`, `framework_id`.
    pub summary: Summary,
}

/// An HTTP response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// The `seq` of the request it answers.
    pub request: Option<u64>,
    /// The status code.
    pub status: u16,
    /// `[name, value]` pairs in wire order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for a stream: its records are events).
    pub body: Vec<u8>,
    /// Whether it opens an event stream.
    pub stream: bool,
    /// The body's encoding, when it is a v1 message or a stream of them.
    pub format: Option<Encoding>,
}

/// One RecordIO record of an event stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// The `seq` of the response that opened the stream.
    pub stream: u64,
    /// The record's bytes.
    pub record: Vec<u8>,
    /// The sizes of the HTTP chunks that carried it, when it was not exactly one chunk.
    pub chunks: Option<Vec<u64>>,
    /// `event`, `format`, `framework_id`.
    pub summary: Summary,
}

/// A stream or connection that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The response `seq` of the stream; `None` for a connection.
    pub stream: Option<u64>,
    /// Who ended it.
    pub by: Party,
    /// Why, in words.
    pub reason: Option<String>,
}

/// An annotation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    /// What happened.
    pub message: String,
    /// The `seq` it is about.
    pub refers: Option<u64>,
    /// The recorder lost part of the session.
    pub incomplete: bool,
}

/// The last line of a cleanly closed session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    /// How many entries precede it.
    pub entries: u64,
    /// `false` when the recorder knows it lost something.
    pub complete: bool,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum EntryKind {
    Request(Request),
    Response(Response),
    Event(Event),
    Close(Close),
    Note(Note),
    End(End),
}

impl EntryKind {
    /// An event's `kind` name ([`Lines`] writes it without an entry).
    const EVENT: &'static str = "event";

    /// The `kind` name in the file.
    ///
    /// ```
    /// use mesos_codec::session::{EntryKind, Note};
    /// assert_eq!(EntryKind::Note(Note::default()).name(), "note");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            EntryKind::Request(_) => "request",
            EntryKind::Response(_) => "response",
            EntryKind::Event(_) => EntryKind::EVENT,
            EntryKind::Close(_) => "close",
            EntryKind::Note(_) => "note",
            EntryKind::End(_) => "end",
        }
    }
}

/// One line after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 0, 1, 2, … in file order.
    pub seq: u64,
    /// Nanoseconds since the session's start.
    pub t_ns: u64,
    /// The connection number.
    pub conn: u64,
    /// What it is.
    pub kind: EntryKind,
}

impl Entry {
    /// Reads one entry line (without its newline, or with it) on its own,
    /// without the checks that need the lines before it (header first,
    /// `seq` order, monotonic time): for reading an entry again at an offset
    /// a [`Reader`] noted. `line` only names the line in errors.
    ///
    /// ```
    /// use mesos_codec::session::{Entry, EntryKind};
    /// let entry = Entry::parse(br#"{"seq":3,"t_ns":10,"conn":0,"kind":"end","entries":3,"complete":true}"#, 5).unwrap();
    /// assert!(matches!(entry.kind, EntryKind::End(_)));
    /// assert_eq!(Entry::parse(b"{", 5).unwrap_err().line, 5);
    /// ```
    pub fn parse(line: &[u8], line_no: u64) -> Result<Entry, SessionError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        match parse_line(line, line_no, true, None, 0, None)? {
            Item::Entry(entry) => Ok(entry),
            Item::Header(_) => Err(SessionError { line: line_no, message: "a header, not an entry".into() }),
        }
    }

    /// The entry's line, newline included.
    ///
    /// ```
    /// use mesos_codec::session::{Entry, EntryKind, End};
    /// let entry = Entry { seq: 3, t_ns: 10, conn: 0, kind: EntryKind::End(End { entries: 3, complete: true }) };
    /// assert_eq!(entry.to_line(), b"{\"seq\":3,\"t_ns\":10,\"conn\":0,\"kind\":\"end\",\"entries\":3,\"complete\":true}\n");
    /// ```
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = Vec::new();
        self.write_line(&mut line);
        line
    }

    /// Appends the entry's line, newline included, to `out` (a writer's
    /// buffer: no allocation of its own).
    ///
    /// ```
    /// use mesos_codec::session::{Entry, EntryKind, Note};
    /// let note = |seq| Entry { seq, t_ns: 0, conn: 0, kind: EntryKind::Note(Note { message: "hi".into(), ..Note::default() }) };
    /// let mut out = Vec::new();
    /// note(0).write_line(&mut out);
    /// note(1).write_line(&mut out);
    /// assert_eq!(out, [note(0).to_line(), note(1).to_line()].concat());
    /// ```
    pub fn write_line(&self, out: &mut Vec<u8>) {
        // Room for the escapes of a body, as they usually go.
        let room = |body: &[u8]| body.len() + body.len() / 4;
        out.reserve(
            192 + match &self.kind {
                EntryKind::Request(r) => room(&r.body),
                EntryKind::Response(r) => room(&r.body),
                EntryKind::Event(e) => room(&e.record),
                _ => 0,
            },
        );
        let mut o = Obj::new(out);
        o.head(self.seq, self.t_ns, self.conn, self.kind.name());
        match &self.kind {
            EntryKind::Request(r) => {
                o.field("method", &r.method);
                o.field("path", &r.path);
                o.field("headers", &r.headers);
                o.bytes("body", &r.body);
                let Summary { name, format, framework_id } = &r.summary;
                o.summary("call", name.as_deref(), *format, framework_id.as_deref());
            }
            EntryKind::Response(r) => {
                o.opt("request", r.request);
                o.field("status", r.status);
                o.field("headers", &r.headers);
                o.bytes("body", &r.body);
                if r.stream {
                    o.field("stream", true);
                }
                o.opt("format", r.format.map(Encoding::as_str));
            }
            EntryKind::Event(e) => {
                let Summary { name, format, framework_id } = &e.summary;
                o.event(e.stream, &e.record, e.chunks.as_deref(), name.as_deref(), *format, framework_id.as_deref());
            }
            EntryKind::Close(c) => {
                o.opt("stream", c.stream);
                o.field("by", c.by.as_str());
                o.opt("reason", c.reason.as_deref());
            }
            EntryKind::Note(n) => {
                o.field("message", &n.message);
                o.opt("refers", n.refers);
                if n.incomplete {
                    o.field("incomplete", true);
                }
            }
            EntryKind::End(e) => {
                o.field("entries", e.entries);
                o.field("complete", e.complete);
            }
        }
        o.finish();
    }
}

/// Entries' lines gathered to be written out together, each event's line
/// left unwritten until then: [`push`](Self::push) keeps an event's fields
/// (its record's and framework id's bytes copied as they are) and writes
/// any other entry's line; [`write_to`](Self::write_to) writes the lines
/// out whole, each event's as [`Entry::write_line`] writes it (its record
/// escaped, or as `record_b64` when it is not UTF-8), byte for byte.
///
/// Why: an event's line is most of its recording's work (the record's
/// escape most of all), and none of it need be done where the event is
/// numbered. The proxy numbers a stream's events on the thread that
/// forwards them, and its session writer, on a thread of its own, writes
/// the batch out (`mesos-proxy`'s `session` module has the figures).
///
/// ```
/// use mesos_codec::session::{Entry, EntryKind, Event, Lines, Note};
/// let event = Entry { seq: 0, t_ns: 5, conn: 1, kind: EntryKind::Event(Event { stream: 1, record: br#"{"type":"HEARTBEAT"}"#.to_vec(), ..Event::default() }) };
/// let note = Entry { seq: 1, t_ns: 6, conn: 1, kind: EntryKind::Note(Note { message: "hi".into(), ..Note::default() }) };
/// let mut lines = Lines::default();
/// lines.push(&event);
/// lines.push(&note);
/// assert_eq!(lines.entries(), 2);
/// let mut out = Vec::new();
/// lines.write_to(&mut out);
/// assert_eq!(out, [event.to_line(), note.to_line()].concat());
/// ```
#[derive(Debug, Default, Clone)]
pub struct Lines {
    /// Other entries' lines, and each event's record then its framework
    /// id, as they are (one buffer: a batch is one allocation, `pieces`
    /// another).
    buf: Vec<u8>,
    /// What `buf` holds, in order, each piece from where the last ended.
    pieces: Vec<Piece>,
    /// The events' `chunks`, in order.
    chunks: Vec<u64>,
    entries: usize,
}

/// A piece of [`Lines`]' buffer.
#[derive(Debug, Clone)]
enum Piece {
    /// Lines written, up to this offset.
    Text(usize),
    /// An event's record and framework id, its line's other fields here.
    Event(EventFields),
}

/// An event's line's fields but its record's and framework id's bytes.
#[derive(Debug, Clone)]
struct EventFields {
    seq: u64,
    t_ns: u64,
    conn: u64,
    stream: u64,
    /// Where its record ends (and its framework id begins) in the buffer.
    record_end: usize,
    /// Where its framework id ends (`None`: it has none).
    framework_id_end: Option<usize>,
    /// How many of [`Lines`]' `chunks` are its (`None`: no `chunks`).
    chunks: Option<usize>,
    name: Option<Cow<'static, str>>,
    format: Option<Encoding>,
}

impl Lines {
    /// Adds an entry's line.
    pub fn push(&mut self, entry: &Entry) {
        if let EntryKind::Event(event) = &entry.kind {
            return self.push_event(entry.seq, entry.t_ns, entry.conn, event);
        }
        self.entries += 1;
        entry.write_line(&mut self.buf);
        match self.pieces.last_mut() {
            Some(Piece::Text(end)) => *end = self.buf.len(),
            _ => self.pieces.push(Piece::Text(self.buf.len())),
        }
    }

    /// Adds the line of an event numbered `seq`, at `t_ns`, of connection
    /// `conn`: [`push`](Self::push) of an entry made of them, without the
    /// entry.
    ///
    /// ```
    /// use mesos_codec::session::{Entry, EntryKind, Event, Lines};
    /// let event = Event { stream: 1, record: br#"{"type":"HEARTBEAT"}"#.to_vec(), ..Event::default() };
    /// let mut lines = Lines::default();
    /// lines.push_event(4, 5, 1, &event);
    /// let mut out = Vec::new();
    /// lines.write_to(&mut out);
    /// assert_eq!(out, Entry { seq: 4, t_ns: 5, conn: 1, kind: EntryKind::Event(event) }.to_line());
    /// ```
    pub fn push_event(&mut self, seq: u64, t_ns: u64, conn: u64, event: &Event) {
        self.entries += 1;
        self.buf.extend_from_slice(&event.record);
        let record_end = self.buf.len();
        let framework_id_end = event.summary.framework_id.as_ref().map(|id| {
            self.buf.extend_from_slice(id.as_bytes());
            self.buf.len()
        });
        let chunks = event.chunks.as_ref().map(|chunks| {
            self.chunks.extend_from_slice(chunks);
            chunks.len()
        });
        self.pieces.push(Piece::Event(EventFields {
            seq,
            t_ns,
            conn,
            stream: event.stream,
            record_end,
            framework_id_end,
            chunks,
            name: event.summary.name.clone(),
            format: event.summary.format,
        }));
    }

    /// How many entries' lines there are.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The bytes held: other entries' lines, and events' records and
    /// framework ids as they are.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Reserves room for `bytes` more bytes (lines, records as they are)
    /// and `events` more events.
    pub fn reserve(&mut self, bytes: usize, events: usize) {
        self.buf.reserve(bytes);
        self.pieces.reserve(events);
    }

    /// Appends the lines, whole (records escaped in their places), to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.reserve(self.buf.len() + self.buf.len() / 4 + 192 * self.pieces.len());
        let (mut from, mut chunk) = (0, 0);
        for piece in &self.pieces {
            match piece {
                Piece::Text(end) => {
                    out.extend_from_slice(&self.buf[from..*end]);
                    from = *end;
                }
                Piece::Event(e) => {
                    let record = &self.buf[from..e.record_end];
                    from = e.framework_id_end.unwrap_or(e.record_end);
                    // Copied from a `str`.
                    let framework_id = e
                        .framework_id_end
                        .map(|_| std::str::from_utf8(&self.buf[e.record_end..from]).unwrap_or_default());
                    let chunks = e.chunks.map(|n| {
                        chunk += n;
                        &self.chunks[chunk - n..chunk]
                    });
                    let mut o = Obj::new(out);
                    o.head(e.seq, e.t_ns, e.conn, EntryKind::EVENT);
                    o.event(e.stream, record, chunks, e.name.as_deref(), e.format, framework_id);
                    o.finish();
                }
            }
        }
    }
}

/// How [`json_bytes`] writes each byte: 0 = as itself, a letter = that
/// two-character escape, `u` = `\u00XX`; as serde_json escapes.
static STRING_ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends the escape of `b`, which [`STRING_ESCAPES`] says needs one.
#[inline]
fn push_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match STRING_ESCAPES[usize::from(b)] {
        b'u' => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]),
        escape => out.extend_from_slice(&[b'\\', escape]),
    }
}

/// Appends `bytes` as a JSON string, byte for byte as `serde_json` writes
/// text (only `"`, `\\` and control characters escaped), whether or not
/// they are UTF-8: the caller checks that; says whether every byte was
/// ASCII (then they are UTF-8, and the caller need not look at them again).
///
/// Event records (JSON themselves, so a quote every few bytes) are most of
/// a session's bytes, so this goes eight bytes at a time, every stop of a
/// word read from one exact mask ([`crate::swar::exact_string_stops`]); the
/// run before each stop is copied as a whole word (a fixed-size copy, no
/// `memcpy` call) cut to its length. Was: a word read again after each
/// stop, from the byte after it (the mask of [`crate::swar::string_stops`]
/// only says where the first stop is): `Obj::bytes_always` 13 % of the
/// recorder's CPU in `perf` on `proxy_vs_nginx`'s mix (347 B records).
/// After: a mix event's whole line 235 ns against 323 ns
/// (`Entry::write_line`, best of nine runs on a busy 2-core VM).
///
/// Words without a stop are not copied one by one: the plain run they make
/// is copied whole at the next stop (one `memcpy`), and the ASCII test
/// rides on the same pass instead of a UTF-8 check before it. A 4 KiB
/// record's line (an UPDATE with a long plain `message`) 1 215–1 263 →
/// 574–591 ns, a 200 B UPDATE's 200–204 → 193–198 ns, an OFFERS of two
/// offers (1 KB) 668–677 → 643–671 ns (three runs of each, the same VM).
///
/// With SSSE3 (every x86-64 of the last fifteen years), the whole blocks of
/// sixteen bytes are escaped by `crate::simd` instead, each half of a block
/// spread out by one shuffle, and the word masks here do the last few
/// bytes. On an AMD EPYC VM, the same run, cache-hot: the escape of a mix
/// record 0.44 → 0.10 µs, a 745 B OFFERS 1.01 → 0.20 µs; the whole line of
/// a mix event 487–567 → 215–286 ns, of a 200 B UPDATE 297–343 → 161–182
/// ns, of a 4 KiB one (a long plain `message`) 975–1 258 → 689–768 ns
/// (three runs each; `docs/performance.md`, sixth run).
fn json_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    out.reserve(bytes.len() + bytes.len() / 4 + 2);
    out.push(b'"');
    // With SSSE3, the whole blocks of sixteen (`crate::simd`), and the word
    // masks below only the last few bytes.
    let (done, high_seen) = crate::simd::escape_blocks(out, bytes, push_string_byte);
    let mut high = if high_seen { HIGHS } else { 0 };
    let mut i = done;
    // Where the plain run not copied yet starts.
    let mut run = done;
    while let Some(word) = crate::swar::word_at(bytes, i) {
        let w = u64::from_le_bytes(word);
        high |= w;
        let mut mask = crate::swar::exact_string_stops(w);
        if mask == 0 {
            i += 8;
            // A plain word may begin a long plain run.
            let (after, seen) = crate::swar::plain_pairs(bytes, i);
            (i, high) = (after, high | seen);
            continue;
        }
        if run < i {
            out.extend_from_slice(&bytes[run..i]);
        }
        i += 8;
        run = i;
        // The index in `word` of the first byte not written yet.
        let mut from = 0;
        while mask != 0 {
            let at = (mask.trailing_zeros() / 8) as usize;
            // `from <= at < 8`: bytes `from..at` of the word, as a whole word.
            out.extend_from_slice(&(w >> (8 * from)).to_le_bytes());
            out.truncate(out.len() - 8 + (at - from));
            push_escape(out, word[at]);
            from = at + 1;
            mask &= mask - 1;
        }
        if from < 8 {
            out.extend_from_slice(&(w >> (8 * from)).to_le_bytes());
            out.truncate(out.len() - from);
        }
    }
    out.extend_from_slice(&bytes[run..i]);
    // The last few bytes (or a short string's all: a summary's name, an
    // id), copied as they are unless one needs an escape. One byte at a
    // time they were 5 % of a stream's lane at 200 B records in `perf`
    // (`json_bytes` and `push_string_byte`, for each event line's name);
    // so, a 200 B UPDATE's `Lines::push` 1 014 → 969 instructions
    // (`benches/record_core.rs` under callgrind).
    let tail = &bytes[i..];
    high |= u64::from(tail.iter().fold(0, |high, &b| high | b));
    if tail.iter().all(|&b| STRING_ESCAPES[usize::from(b)] == 0) {
        out.extend_from_slice(tail);
    } else {
        for &b in tail {
            push_string_byte(out, b);
        }
    }
    out.push(b'"');
    high & HIGHS == 0
}

/// Appends `b` as a JSON string holds it: as it is, or its escape.
fn push_string_byte(out: &mut Vec<u8>, b: u8) {
    if STRING_ESCAPES[usize::from(b)] == 0 {
        out.push(b);
    } else {
        push_escape(out, b);
    }
}

/// A JSON object written key by key, in a fixed order, onto the end of a
/// buffer.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        Obj { out, empty: true }
    }
    // `key` and the writers of an event line's fields are inlined, so that
    // each key (a literal at every call) is copied as a constant: no call
    // of `memcpy` for each. A 200 B UPDATE's `Lines::push` 969 → 840
    // instructions, the mix's 1 047 → 910 (`benches/record_core.rs` under
    // callgrind).
    #[inline(always)]
    fn key(&mut self, key: &str) {
        self.out.push(if self.empty { b'{' } else { b',' });
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }
    /// A number, as `serde_json` writes it, without its machinery (every
    /// line starts with three).
    #[inline(always)]
    fn uint(&mut self, key: &str, value: u64) {
        self.key(key);
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }
    /// A text that needs no escape (a name of ours), quoted.
    #[inline(always)]
    fn plain(&mut self, key: &str, value: &'static str) {
        debug_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{value}");
        self.key(key);
        self.out.push(b'"');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
    }
    fn field<T: Serialize>(&mut self, key: &str, value: T) {
        self.key(key);
        // Serializing strings, numbers, booleans and lists of them cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, &value);
    }
    fn opt<T: Serialize>(&mut self, key: &str, value: Option<T>) {
        if let Some(value) = value {
            self.field(key, value);
        }
    }
    /// `key` (UTF-8) or `key_b64`; nothing for empty bytes.
    fn bytes(&mut self, key: &str, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.bytes_always(key, bytes);
        }
    }
    fn bytes_always(&mut self, key: &str, bytes: &[u8]) {
        let (empty, len) = (self.empty, self.out.len());
        self.key(key);
        // Written first, checked after: all ASCII (most records) is UTF-8.
        if json_bytes(self.out, bytes) || std::str::from_utf8(bytes).is_ok() {
            return;
        }
        self.empty = empty;
        self.out.truncate(len);
        self.field(&format!("{key}_b64"), base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    /// A text, escaped as `serde_json` escapes it, without its machinery
    /// (every event line has a summary's strings).
    #[inline(always)]
    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.key(key);
            json_bytes(self.out, value.as_bytes());
        }
    }
    #[inline(always)]
    fn summary(&mut self, name_key: &str, name: Option<&str>, format: Option<Encoding>, framework_id: Option<&str>) {
        self.opt_str(name_key, name);
        if let Some(format) = format {
            self.plain("format", format.as_str());
        }
        self.opt_str("framework_id", framework_id);
    }
    /// The fields every line begins with.
    #[inline(always)]
    fn head(&mut self, seq: u64, t_ns: u64, conn: u64, kind: &'static str) {
        self.uint("seq", seq);
        self.uint("t_ns", t_ns);
        self.uint("conn", conn);
        self.plain("kind", kind);
    }
    /// An event's fields after the head (the one home of their order).
    #[inline(always)]
    fn event(
        &mut self,
        stream: u64,
        record: &[u8],
        chunks: Option<&[u64]>,
        name: Option<&str>,
        format: Option<Encoding>,
        framework_id: Option<&str>,
    ) {
        self.uint("stream", stream);
        self.bytes_always("record", record);
        self.opt("chunks", chunks);
        self.summary("event", name, format, framework_id);
    }
    fn finish(self) {
        if self.empty {
            self.out.push(b'{');
        }
        self.out.extend_from_slice(b"}\n");
    }
}

/// Numbers entries and keeps their times monotonic, for a recorder.
///
/// ```
/// use mesos_codec::session::{EntryKind, Note, Writer};
/// let mut writer = Writer::new();
/// let a = writer.entry(100, 1, EntryKind::Note(Note::default()));
/// let b = writer.entry(50, 1, EntryKind::Note(Note::default())); // a clock step back
/// assert_eq!((a.seq, b.seq), (0, 1));
/// assert_eq!(b.t_ns, 100); // never decreases
/// ```
#[derive(Debug, Default)]
pub struct Writer {
    next_seq: u64,
    last_t_ns: u64,
}

impl Writer {
    /// A writer for a new session (the first entry gets `seq` 0).
    pub fn new() -> Writer {
        Writer::default()
    }

    /// The next entry: numbered, with its time clamped to be monotonic.
    #[inline]
    pub fn entry(&mut self, t_ns: u64, conn: u64, kind: EntryKind) -> Entry {
        let (seq, t_ns) = self.number(t_ns);
        Entry { seq, t_ns, conn, kind }
    }

    /// The next entry's `seq` and time (`t_ns` clamped to be monotonic),
    /// for an entry made elsewhere.
    ///
    /// ```
    /// let mut writer = mesos_codec::session::Writer::new();
    /// assert_eq!(writer.number(100), (0, 100));
    /// assert_eq!(writer.number(50), (1, 100));
    /// ```
    #[inline]
    pub fn number(&mut self, t_ns: u64) -> (u64, u64) {
        let t_ns = t_ns.max(self.last_t_ns);
        self.last_t_ns = t_ns;
        let seq = self.next_seq;
        self.next_seq += 1;
        (seq, t_ns)
    }

    /// How many entries have been made.
    ///
    /// ```
    /// assert_eq!(mesos_codec::session::Writer::new().entries(), 0);
    /// ```
    pub fn entries(&self) -> u64 {
        self.next_seq
    }
}

/// Replaces secret header values by stable placeholders (`<redacted:N>`).
///
/// ```
/// use mesos_codec::session::Redactor;
/// let mut redactor = Redactor::new();
/// let mut headers = vec![
///     ("Authorization".to_owned(), "Basic dXNlcjpwYXNz".to_owned()),
///     ("Content-Type".to_owned(), "application/json".to_owned()),
/// ];
/// redactor.redact_headers(&mut headers);
/// assert_eq!(headers[0].1, "<redacted:1>");
/// assert_eq!(headers[1].1, "application/json");
/// // The same secret gets the same placeholder all session long.
/// let mut again = vec![("authorization".to_owned(), "Basic dXNlcjpwYXNz".to_owned())];
/// redactor.redact_headers(&mut again);
/// assert_eq!(again[0].1, "<redacted:1>");
/// ```
#[derive(Debug, Default)]
pub struct Redactor {
    seen: Vec<String>,
}

impl Redactor {
    /// A redactor for a new session.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Redacts `Authorization` and `Proxy-Authorization` values in place.
    pub fn redact_headers(&mut self, headers: &mut [(String, String)]) {
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization") {
                *value = self.placeholder(value);
            }
        }
    }

    /// The placeholder of a secret value.
    ///
    /// ```
    /// let mut redactor = mesos_codec::session::Redactor::new();
    /// assert_eq!(redactor.placeholder("a"), "<redacted:1>");
    /// assert_eq!(redactor.placeholder("b"), "<redacted:2>");
    /// assert_eq!(redactor.placeholder("a"), "<redacted:1>");
    /// ```
    pub fn placeholder(&mut self, secret: &str) -> String {
        let n = match self.seen.iter().position(|s| s == secret) {
            Some(i) => i + 1,
            None => {
                self.seen.push(secret.to_owned());
                self.seen.len()
            }
        };
        format!("<redacted:{n}>")
    }
}

/// A bad session file: the line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SessionError {
    /// The line number, from 1.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// A last line without its newline: the writer died mid-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornLine {
    /// The line number, from 1.
    pub line: u64,
    /// How many bytes it had.
    pub bytes: usize,
}

/// What the reader read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Item {
    Header(Header),
    Entry(Entry),
}

/// A streaming session reader, fed the file's bytes as they come.
///
/// It checks what the format promises: the header first, `version` 1, `seq`
/// counting from 0 without gaps, `t_ns` never decreasing. Errors name the
/// line. After an error the reader stays failed.
///
/// Compressed input (a `.session.jsonl.zst`, zstd frames) is recognized by
/// its first bytes and decompressed as it is pushed; lines are numbered in
/// the decompressed text. The parts of a rotated session may be pushed one
/// after the other: the header of each part after the first is checked and
/// skipped ([`parts`](Reader::parts) counts them), and `seq` and `t_ns` must
/// run on across the parts. A later part read on its own (its header names
/// a `previous`) starts at the `seq` its first entry has.
///
/// ```
/// use mesos_codec::session::{Reader, TornLine};
/// let mut reader = Reader::new();
/// reader.push(b"{\"kind\":\"header\",\"format\":\"mesos-tape-session\",\"version\":1,\"source\":\"proxy\",\"started_at\":\"x\",\"tool\":\"t\",\"redacted\":true}\n{\"seq\":0,");
/// assert!(reader.next_item().unwrap().is_some()); // the header
/// assert_eq!(reader.next_item().unwrap(), None); // line 2 is not whole yet
/// assert_eq!(reader.finish(), Some(TornLine { line: 2, bytes: 9 }));
/// ```
#[derive(Debug, Default)]
pub struct Reader {
    buf: Vec<u8>,
    start: usize,
    line: u64,
    next_seq: u64,
    last_t_ns: u64,
    header_seen: bool,
    failed: Option<SessionError>,
    /// Why the compressed input cannot be decompressed past what it has
    /// given: reported once every whole line decompressed before it has been
    /// read (so the error does not depend on when the reader is drained).
    corrupt: Option<String>,
    /// Bytes of the file consumed as whole lines.
    consumed: u64,
    /// How far past `start` the current line has been searched for its
    /// newline already (a long line arriving in pieces is searched once,
    /// not again from its start with every piece).
    searched: usize,
    /// Where the line of the item last returned starts.
    last_start: u64,
    /// The file is a later part of a rotated session read on its own: its
    /// first entry's `seq` is where the part begins, not 0.
    seq_from_first: bool,
    /// Plain or compressed input.
    input: Input,
    /// The parts read (the first included).
    parts: u64,
}

/// What a reader says of a zstd frame that does not decompress.
fn corrupt_frame(at: u64) -> String {
    format!("the compressed session is corrupt: its zstd frame at byte {at} does not decompress")
}

/// The zstd frame magic number, little-endian `0xFD2FB528`.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// What the pushed bytes are.
#[derive(Default)]
enum Input {
    /// Not known yet: the first bytes, fewer than the zstd magic number.
    #[default]
    Unknown,
    /// The session's text.
    Plain,
    /// zstd frames.
    Zstd(Box<Zstd>),
}

struct Zstd {
    decoder: zstd::stream::raw::Decoder<'static>,
    /// Compressed bytes of a frame not complete yet (0 between frames).
    open: u64,
    /// Compressed bytes taken so far, and where the current frame starts.
    taken: u64,
    frame_at: u64,
    /// The text of the frame not complete yet: its lines are read once the
    /// frame is whole (or [`STAGED_MAX`] of it has come). So what is read
    /// does not depend on where the input was cut: zstd gives nothing of a
    /// call that fails, so a corrupt frame fed whole would give none of its
    /// lines and fed in pieces some of them (found by the fuzzer).
    staged: Vec<u8>,
}

/// The most text of one zstd frame held back until the frame is whole: our
/// writer's frames are a flush each (kilobytes), but `zstd` the command
/// writes one frame for a whole file; past this its text is read as it
/// comes, and a corruption later in that frame is reported after the lines
/// before it.
const STAGED_MAX: usize = 8 << 20;

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Input::Unknown => f.write_str("Unknown"),
            Input::Plain => f.write_str("Plain"),
            Input::Zstd(z) => write!(f, "Zstd {{ open: {} }}", z.open),
        }
    }
}

impl Reader {
    /// A reader at the start of a file.
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Appends the next bytes of the file (decompressed first, when the
    /// file is compressed).
    ///
    /// ```
    /// use mesos_codec::session::{Item, Reader};
    /// let line = br#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}
    /// "#;
    /// let compressed = zstd::bulk::compress(line, 3).unwrap();
    /// let mut reader = Reader::new();
    /// for byte in &compressed {
    ///     reader.push(std::slice::from_ref(byte)); // any pieces
    /// }
    /// assert!(matches!(reader.next_item().unwrap(), Some(Item::Header(_))));
    /// assert_eq!(reader.finish(), None);
    /// ```
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.searched = 0;
        } else if self.start > 64 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if matches!(self.input, Input::Unknown) {
            // The first bytes decide; they wait here until there are enough.
            self.buf.extend_from_slice(bytes);
            let have = &self.buf[self.start..];
            if have.len() < ZSTD_MAGIC.len() && ZSTD_MAGIC.starts_with(have) {
                return;
            }
            if !have.starts_with(&ZSTD_MAGIC) {
                self.input = Input::Plain;
                return;
            }
            let first = self.buf.split_off(self.start);
            self.searched = 0;
            match zstd::stream::raw::Decoder::new() {
                Ok(decoder) => {
                    let zstd = Zstd { decoder, open: 0, taken: 0, frame_at: 0, staged: Vec::new() };
                    self.input = Input::Zstd(Box::new(zstd));
                }
                Err(e) => {
                    self.corrupt = Some(format!("cannot decompress: {e}"));
                    return;
                }
            }
            return self.decompress(&first);
        }
        match self.input {
            Input::Zstd(_) => self.decompress(bytes),
            _ => self.buf.extend_from_slice(bytes),
        }
    }

    /// Decompresses `bytes` onto the end of the text.
    fn decompress(&mut self, bytes: &[u8]) {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let Input::Zstd(zstd) = &mut self.input else { return };
        if self.failed.is_some() || self.corrupt.is_some() {
            return;
        }
        let mut input = InBuffer::around(bytes);
        loop {
            let staged = &mut zstd.staged;
            if staged.capacity() - staged.len() < 64 * 1024 {
                staged.reserve(128 * 1024);
            }
            let len = staged.len();
            let mut output = OutBuffer::around_pos(staged, len);
            let before = input.pos();
            let result = zstd.decoder.run(&mut input, &mut output);
            let full = output.pos() == output.capacity();
            let stuck = output.pos() == len && input.pos() == before && !full;
            match result {
                // 0: a frame ended here: its text is read.
                Ok(0) => {
                    zstd.open = 0;
                    zstd.taken += (input.pos() - before) as u64;
                    zstd.frame_at = zstd.taken;
                    self.buf.extend_from_slice(&zstd.staged);
                    zstd.staged.clear();
                }
                Ok(_) => {
                    zstd.open += (input.pos() - before) as u64;
                    zstd.taken += (input.pos() - before) as u64;
                    if zstd.staged.len() >= STAGED_MAX {
                        self.buf.extend_from_slice(&zstd.staged);
                        zstd.staged.clear();
                    }
                }
                Err(_) => {
                    // The frame's text held back goes with it. zstd's own
                    // words are not reported: they depend on where the
                    // input was cut ("Data corruption detected" fed whole,
                    // "Destination buffer is too small" in pieces; found by
                    // the fuzzer); where the frame starts does not.
                    zstd.staged = Vec::new();
                    self.corrupt = Some(corrupt_frame(zstd.frame_at));
                    return;
                }
            }
            if input.pos() == bytes.len() && !full {
                return;
            }
            if stuck {
                // zstd took nothing and gave nothing: never spin on it.
                self.corrupt = Some(corrupt_frame(zstd.frame_at));
                return;
            }
        }
    }

    /// The parts of a rotated session read so far (1 for a session never
    /// cut, once its header is read).
    pub fn parts(&self) -> u64 {
        self.parts
    }

    /// Whether the input is compressed (known once its first bytes came).
    pub fn compressed(&self) -> bool {
        matches!(self.input, Input::Zstd(_))
    }

    /// The next complete line's item, `Ok(None)` until more bytes arrive.
    pub fn next_item(&mut self) -> Result<Option<Item>, SessionError> {
        self.next_line(None)
    }

    /// [`next_item`](Reader::next_item), except that an event's record is
    /// appended to `records` instead of being given in its own buffer (the
    /// item's [`Event::record`] is empty): for a reader that frames many
    /// records into one buffer (`mesos-replay serve`). Anything else is read
    /// as `next_item` reads it. On an error `records` is left as it was.
    ///
    /// ```
    /// use mesos_codec::session::{EntryKind, Item, Reader};
    /// let mut reader = Reader::new();
    /// reader.push(b"{\"kind\":\"header\",\"format\":\"mesos-tape-session\",\"version\":1,\"source\":\"sim\",\"started_at\":\"x\"}\n");
    /// reader.push(br#"{"seq":0,"t_ns":0,"conn":1,"kind":"event","stream":3,"record":"{\"type\":\"HEARTBEAT\"}"}"#);
    /// reader.push(b"\n");
    /// let mut records = b"before:".to_vec();
    /// reader.next_item_into(&mut records)?; // the header
    /// let Some(Item::Entry(entry)) = reader.next_item_into(&mut records)? else { panic!() };
    /// let EntryKind::Event(event) = entry.kind else { panic!() };
    /// assert_eq!((event.stream, event.record.len()), (3, 0));
    /// assert_eq!(records, br#"before:{"type":"HEARTBEAT"}"#);
    /// # Ok::<(), mesos_codec::session::SessionError>(())
    /// ```
    pub fn next_item_into(&mut self, records: &mut Vec<u8>) -> Result<Option<Item>, SessionError> {
        let before = records.len();
        let result = self.next_line(Some(records));
        if result.is_err() {
            records.truncate(before);
        }
        result
    }

    fn next_line(&mut self, records: Option<&mut Vec<u8>>) -> Result<Option<Item>, SessionError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if matches!(self.input, Input::Unknown) {
            // Fewer bytes than the zstd magic number: not a line yet either way.
            return Ok(None);
        }
        let from = self.start + self.searched;
        let Some(at) = memchr::memchr(b'\n', &self.buf[from..]) else {
            self.searched = self.buf.len() - self.start;
            if let Some(message) = self.corrupt.take() {
                // Every whole line before the corruption has been read.
                let err = SessionError { line: self.line + 1, message };
                self.failed = Some(err.clone());
                return Err(err);
            }
            return Ok(None);
        };
        let len = self.searched + at;
        self.searched = 0;
        let line = &self.buf[self.start..self.start + len];
        self.start += len + 1;
        self.last_start = self.consumed;
        self.consumed += len as u64 + 1;
        self.line += 1;
        let next_seq = (!self.seq_from_first).then_some(self.next_seq);
        let mut records = records;
        let result = parse_line(line, self.line, self.header_seen, next_seq, self.last_t_ns, records.as_deref_mut());
        match &result {
            // The next part's header: checked, counted, and skipped.
            Ok(Item::Header(_)) if self.header_seen => {
                self.parts += 1;
                return self.next_line(records);
            }
            Ok(Item::Header(header)) => {
                self.header_seen = true;
                self.parts = 1;
                self.seq_from_first = header.previous.is_some();
            }
            Ok(Item::Entry(entry)) => {
                self.seq_from_first = false;
                self.next_seq = entry.seq + 1;
                self.last_t_ns = entry.t_ns;
            }
            Err(err) => self.failed = Some(err.clone()),
        }
        result.map(Some)
    }

    /// The file offset just past the last line read: after
    /// [`next_item`](Reader::next_item) returned an item, its line ends here
    /// (newline included), so a tool can note where each entry lies and read
    /// it again later with [`Entry::parse`].
    ///
    /// ```
    /// use mesos_codec::session::Reader;
    /// let mut reader = Reader::new();
    /// reader.push(b"{\"kind\":\"header\",\"format\":\"mesos-tape-session\",\"version\":1,\"source\":\"sim\",\"started_at\":\"x\"}\n");
    /// assert_eq!(reader.position(), 0);
    /// reader.next_item().unwrap();
    /// assert_eq!(reader.position(), 92);
    /// ```
    pub fn position(&self) -> u64 {
        self.consumed
    }

    /// Where the line of the item last returned starts (its end is
    /// [`position`](Reader::position)): past the header of a next part that
    /// was skipped before it. Offsets count the decompressed text of a
    /// compressed file, and run on across the parts of a rotated session.
    ///
    /// ```
    /// use mesos_codec::session::Reader;
    /// let header = r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"x""#;
    /// let mut reader = Reader::new();
    /// reader.push(format!("{header}}}\n{header},\"part\":2,\"previous\":\"a\"}}\n").as_bytes());
    /// reader.push(br#"{"seq":0,"t_ns":0,"conn":1,"kind":"note","message":"m"}"#);
    /// reader.push(b"\n");
    /// reader.next_item().unwrap(); // the header
    /// reader.next_item().unwrap(); // the note, past the part's header
    /// assert_eq!(reader.parts(), 2);
    /// assert_eq!(reader.position() - reader.line_start(), 56);
    /// ```
    pub fn line_start(&self) -> u64 {
        self.last_start
    }

    /// The number of the last line read (from 1; 0 before the first).
    ///
    /// ```
    /// assert_eq!(mesos_codec::session::Reader::new().line(), 0);
    /// ```
    pub fn line(&self) -> u64 {
        self.line
    }

    /// At the end of the file: the torn last line, if there is one. It is
    /// reported, never fatal: every complete line before it has been read.
    /// In a compressed file, a last frame cut short (the writer died while
    /// writing it) is torn too: `bytes` counts the text of its partial line
    /// and the compressed bytes of the frame that did not decompress.
    pub fn finish(&self) -> Option<TornLine> {
        let mut rest = (self.buf.len() - self.start) as u64;
        if let Input::Zstd(zstd) = &self.input {
            rest += zstd.open;
        }
        let bytes = usize::try_from(rest).unwrap_or(usize::MAX);
        (rest > 0 && self.failed.is_none() && self.corrupt.is_none()).then_some(TornLine { line: self.line + 1, bytes })
    }
}

/// Reads one line. `records`: where an event's record goes (see
/// [`Reader::next_item_into`]); `None`: into the event.
fn parse_line(
    line: &[u8],
    n: u64,
    header_seen: bool,
    next_seq: Option<u64>,
    last_t_ns: u64,
    records: Option<&mut Vec<u8>>,
) -> Result<Item, SessionError> {
    let err = |message: String| SessionError { line: n, message };
    if header_seen {
        let mut records = records;
        let before = records.as_deref().map_or(0, Vec::len);
        if let Some(entry) = fast::event(line, records.as_deref_mut()) {
            // In tests and under the fuzzer: the general reader, the spec,
            // reads the line the same.
            #[cfg(debug_assertions)]
            {
                let mut fast = entry.clone();
                if let (Some(records), EntryKind::Event(e)) = (records.as_deref(), &mut fast.kind) {
                    e.record = records[before..].to_vec();
                }
                let general = parse_entry_line(line, n, None, 0, None);
                assert_eq!(general, Ok(Item::Entry(fast)), "the fast path and the general reader differ on {line:?}");
            }
            let _ = before;
            check_seq(entry.seq, next_seq).map_err(err)?;
            check_t_ns(entry.t_ns, last_t_ns).map_err(err)?;
            return Ok(Item::Entry(entry));
        }
        return parse_entry_line(line, n, next_seq, last_t_ns, records);
    }
    parse_header_line(line, n)
}

/// `seq` follows the entry before (when it is known).
fn check_seq(seq: u64, next_seq: Option<u64>) -> Result<(), String> {
    match next_seq {
        Some(next_seq) if seq != next_seq => Err(format!("entries out of order: seq {seq}, expected {next_seq}")),
        _ => Ok(()),
    }
}

/// `t_ns` does not go back.
fn check_t_ns(t_ns: u64, last_t_ns: u64) -> Result<(), String> {
    if t_ns < last_t_ns {
        return Err(format!("time goes backwards: t_ns {t_ns} after {last_t_ns}"));
    }
    Ok(())
}

/// The first line: the header.
fn parse_header_line(line: &[u8], n: u64) -> Result<Item, SessionError> {
    let err = |message: String| SessionError { line: n, message };
    let value: Value = serde_json::from_slice(line).map_err(|e| err(format!("not JSON: {e}")))?;
    let Value::Object(o) = value else { return Err(err("not a JSON object".into())) };
    let kind = str_field(&o, "kind").map_err(err)?;
    if kind != "header" {
        return Err(err(format!("expected the header first, found a `{kind}` line")));
    }
    parse_header(&o).map(Item::Header).map_err(err)
}

/// A line after the header, by the general reader (the spec of every line).
fn parse_entry_line(
    line: &[u8],
    n: u64,
    next_seq: Option<u64>,
    last_t_ns: u64,
    records: Option<&mut Vec<u8>>,
) -> Result<Item, SessionError> {
    let err = |message: String| SessionError { line: n, message };
    let entry = Line::read(line).map_err(err)?;
    if entry.kind.as_deref() == Some("header") {
        // The next part of a rotated session, fed after the one before.
        let value: Value = serde_json::from_slice(line).map_err(|e| err(format!("not JSON: {e}")))?;
        let Value::Object(o) = value else { return Err(err("not a JSON object".into())) };
        if o.get("previous").is_none_or(Value::is_null) {
            return Err(err("a second header (not the next part of a rotated session: no `previous`)".into()));
        }
        return parse_header(&o).map(Item::Header).map_err(err);
    }
    let line = entry;
    let seq = line.seq.ok_or("missing `seq`").map_err(|e| err(e.into()))?;
    check_seq(seq, next_seq).map_err(err)?;
    let t_ns = line.t_ns.ok_or("missing `t_ns`").map_err(|e| err(e.into()))?;
    check_t_ns(t_ns, last_t_ns).map_err(err)?;
    let conn = line.conn.ok_or("missing `conn`").map_err(|e| err(e.into()))?;
    let mut kind = line.into_kind().map_err(err)?;
    if let (Some(records), EntryKind::Event(event)) = (records, &mut kind) {
        records.append(&mut event.record);
    }
    Ok(Item::Entry(Entry { seq, t_ns, conn, kind }))
}

/// An entry line as it is read: every field any kind of entry has, each
/// as written, borrowed from the line where it can be (the one description
/// of an entry line on the reading side; [`Entry::write_line`] is the
/// writing side). Fields a kind does not have are ignored when present, so
/// a later minor version may add fields.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Line<'a> {
    seq: Option<u64>,
    t_ns: Option<u64>,
    conn: Option<u64>,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    // request
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    headers: Option<Vec<(String, String)>>,
    #[serde(borrow)]
    body: Option<Escaped<'a>>,
    #[serde(borrow)]
    body_b64: Option<Cow<'a, str>>,
    #[serde(borrow)]
    call: Option<Cow<'a, str>>,
    // request, response, event
    #[serde(borrow)]
    format: Option<Cow<'a, str>>,
    #[serde(borrow)]
    framework_id: Option<Cow<'a, str>>,
    // response
    request: Option<u64>,
    status: Option<u64>,
    /// A response's flag, an event's or a close's stream `seq`.
    stream: Option<StreamField>,
    // event
    #[serde(borrow)]
    record: Option<Escaped<'a>>,
    #[serde(borrow)]
    record_b64: Option<Cow<'a, str>>,
    chunks: Option<Vec<u64>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    // close
    #[serde(borrow)]
    by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    // note
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    refers: Option<u64>,
    incomplete: Option<bool>,
    // end
    entries: Option<u64>,
    complete: Option<bool>,
}

/// A string field as written on the line, escapes and all, for the long
/// ones (`record`, `body`): its escapes are undone in one pass into a buffer
/// of its size when it is taken ([`bytes`]), by the codec's one unescaper.
/// Read as a `Cow<str>`, serde_json unescapes into a scratch buffer that
/// grows as it goes, then copies it out (about ten allocations for a
/// 500-byte JSON record).
#[derive(Clone, Copy)]
struct Escaped<'a>(&'a serde_json::value::RawValue);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Escaped<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'a serde_json::value::RawValue>::deserialize(d)?;
        if raw.get().starts_with('"') {
            Ok(Escaped(raw))
        } else {
            let unexpected = serde::de::Unexpected::Other(raw.get());
            Err(serde::de::Error::invalid_type(unexpected, &"a string"))
        }
    }
}

impl Escaped<'_> {
    /// The string's bytes, escapes undone (serde_json has checked their
    /// form; a lone surrogate it lets through is refused here).
    fn bytes(self) -> Result<Vec<u8>, String> {
        let quoted = self.0.get().as_bytes();
        let raw = &quoted[1..quoted.len() - 1];
        let mut out = Vec::with_capacity(raw.len());
        crate::json::unescape_into(raw, &mut out).ok_or("an escape that is no character (a lone surrogate)")?;
        Ok(out)
    }
}

/// `stream`: `true` on a response that opens a stream, the stream's `seq`
/// on an event or a close.
#[derive(Debug, Clone, Copy)]
enum StreamField {
    Flag(bool),
    Seq(u64),
}

impl<'de> serde::Deserialize<'de> for StreamField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = StreamField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean or an unsigned integer")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StreamField, E> {
                Ok(StreamField::Flag(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StreamField, E> {
                Ok(StreamField::Seq(v))
            }
        }
        d.deserialize_any(Visit)
    }
}

impl<'a> Line<'a> {
    /// Reads a line. A field of the wrong type is named (`seq: invalid
    /// type: …`): the line is read again to find it, which costs only on
    /// that error.
    fn read(line: &'a [u8]) -> Result<Line<'a>, String> {
        // A derived struct would also take a JSON array, its fields in order.
        if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
                Ok(_) => Err("not a JSON object".into()),
                Err(e) => Err(format!("not JSON: {e}")),
            };
        }
        let e = match serde_json::from_slice::<Line<'a>>(line) {
            Ok(line) => return Ok(line),
            Err(e) => e,
        };
        if !e.is_data() {
            return Err(format!("not JSON: {e}"));
        }
        let mut de = serde_json::Deserializer::from_slice(line);
        match serde_path_to_error::deserialize::<_, Line<'a>>(&mut de) {
            Err(named) if !named.path().to_string().is_empty() && named.path().to_string() != "." => {
                Err(format!("`{}`: {}", named.path(), named.inner()))
            }
            _ => Err(format!("not an entry: {e}")),
        }
    }

    fn into_kind(self) -> Result<EntryKind, String> {
        let kind = self.kind.as_deref().ok_or("missing `kind`")?;
        Ok(match kind {
            "request" => EntryKind::Request(Request {
                method: need(self.method, "method")?.into_owned(),
                path: need(self.path, "path")?.into_owned(),
                headers: self.headers.unwrap_or_default(),
                body: bytes(self.body, self.body_b64, "body")?.unwrap_or_default(),
                summary: Summary {
                    name: own(self.call).map(Cow::Owned),
                    format: format(self.format)?,
                    framework_id: own(self.framework_id),
                },
            }),
            "response" => EntryKind::Response(Response {
                request: self.request,
                status: u16::try_from(need(self.status, "status")?)
                    .map_err(|_| "`status` is not an HTTP status".to_owned())?,
                headers: self.headers.unwrap_or_default(),
                body: bytes(self.body, self.body_b64, "body")?.unwrap_or_default(),
                stream: match self.stream {
                    None => false,
                    Some(StreamField::Flag(flag)) => flag,
                    Some(StreamField::Seq(_)) => return Err("`stream` is not a boolean".into()),
                },
                format: format(self.format)?,
            }),
            "event" => EntryKind::Event(Event {
                stream: stream_seq(self.stream)?.ok_or("missing `stream`")?,
                record: bytes(self.record, self.record_b64, "record")?.ok_or("missing `record`")?,
                chunks: self.chunks,
                summary: Summary {
                    name: own(self.event).map(Cow::Owned),
                    format: format(self.format)?,
                    framework_id: own(self.framework_id),
                },
            }),
            "close" => EntryKind::Close(Close {
                stream: stream_seq(self.stream)?,
                by: match need(self.by, "by")?.as_ref() {
                    "framework" => Party::Framework,
                    "master" => Party::Master,
                    "proxy" => Party::Proxy,
                    other => return Err(format!("unknown `by` `{other}`")),
                },
                reason: own(self.reason),
            }),
            "note" => EntryKind::Note(Note {
                message: need(self.message, "message")?.into_owned(),
                refers: self.refers,
                incomplete: self.incomplete.unwrap_or(false),
            }),
            "end" => EntryKind::End(End {
                entries: need(self.entries, "entries")?,
                complete: self.complete.unwrap_or(false),
            }),
            "header" => return Err("a second header".into()),
            other => return Err(format!("unknown kind `{other}`")),
        })
    }
}

fn need<T>(value: Option<T>, key: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing `{key}`"))
}

fn own(text: Option<Cow<'_, str>>) -> Option<String> {
    text.map(Cow::into_owned)
}

fn stream_seq(stream: Option<StreamField>) -> Result<Option<u64>, String> {
    match stream {
        None => Ok(None),
        Some(StreamField::Seq(seq)) => Ok(Some(seq)),
        Some(StreamField::Flag(_)) => Err("`stream` is not an unsigned integer".into()),
    }
}

/// `key` (text) or `key_b64` (base64), byte for byte.
fn bytes(text: Option<Escaped<'_>>, b64: Option<Cow<'_, str>>, key: &str) -> Result<Option<Vec<u8>>, String> {
    match (text, b64) {
        (Some(text), _) => text.bytes().map(Some).map_err(|e| format!("`{key}`: {e}")),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map(Some)
            .map_err(|e| format!("`{key}_b64` is not base64: {e}")),
        (None, None) => Ok(None),
    }
}

fn format(format: Option<Cow<'_, str>>) -> Result<Option<Encoding>, String> {
    match format.as_deref() {
        None => Ok(None),
        Some("json") => Ok(Some(Encoding::Json)),
        Some("protobuf") => Ok(Some(Encoding::Protobuf)),
        Some(other) => Err(format!("unknown `format` `{other}`")),
    }
}

fn parse_header(o: &Map<String, Value>) -> Result<Header, String> {
    let format = str_field(o, "format")?;
    if format != FORMAT {
        return Err(format!("not a session file (format `{format}`)"));
    }
    let version = u64_field(o, "version")?;
    if version != VERSION {
        return Err(format!("unknown session format version {version} (this reader knows version {VERSION})"));
    }
    let source = match str_field(o, "source")? {
        "proxy" => Source::Proxy,
        "pcap" => Source::Pcap,
        "sim" => Source::Sim,
        other => return Err(format!("unknown source `{other}`")),
    };
    Ok(Header {
        source,
        master: opt_str(o, "master")?,
        capture: opt_str(o, "capture")?,
        started_at: str_field(o, "started_at")?.to_owned(),
        tool: opt_str(o, "tool")?.unwrap_or_default(),
        redacted: o.get("redacted").and_then(Value::as_bool).unwrap_or(false),
        part: opt_u64(o, "part")?,
        previous: opt_str(o, "previous")?,
    })
}

fn str_field<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("`{key}` is not a string")),
        None => Err(format!("missing `{key}`")),
    }
}

fn opt_str(o: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not a string")),
    }
}

fn u64_field(o: &Map<String, Value>, key: &str) -> Result<u64, String> {
    opt_u64(o, key)?.ok_or_else(|| format!("missing `{key}`"))
}

fn opt_u64(o: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| format!("`{key}` is not an unsigned integer")),
    }
}

/// The fast path of the session reader, for the lines most of a session
/// is: an event as [`Entry::write_line`] writes it (its fields in the
/// writer's order, no spaces, `record` as text, the short strings without
/// escapes). It reads such a line in one pass that finds the record's end
/// while it undoes the record's escapes, where the general reader (serde)
/// goes over the record once to find its end and checks its UTF-8, then
/// once more to unescape it. Any other line, and any line that is not
/// exactly right (an error of any kind, a number out of range, a lone
/// surrogate, invalid UTF-8, a field it does not know), is left to the
/// general reader, which says what is wrong: so what is read, and every
/// error, is the general reader's. In debug builds (tests, the fuzzer)
/// every line it reads is read by the general reader too and compared.
///
/// Why a second path: `serve --pace fast` on the serve bench (records of
/// about 500 bytes), the general reader against this path, alternating
/// runs on a 2-core Xeon VM: 505k → 964k events/s; in the general reader's
/// profile, serde's pass to find the record's end (`skip_to_escape`,
/// `ignore_str`) and the unescaping were nearly half the reader thread
/// (docs/performance.md).
mod fast {
    use super::{EntryKind, Event, Summary};
    use crate::api::Encoding;
    use crate::swar;

    #[cfg(test)]
    thread_local! {
        /// Tests read with the general reader alone when set.
        pub(super) static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// The line, if it is an event of the writer's shape; its record goes
    /// onto `records` when given (and the event's `record` stays empty).
    /// `None`: left to the general reader (`records` as it was).
    pub(super) fn event(line: &[u8], records: Option<&mut Vec<u8>>) -> Option<super::Entry> {
        #[cfg(test)]
        if OFF.with(std::cell::Cell::get) {
            return None;
        }
        match records {
            None => read(line, None),
            Some(records) => {
                let before = records.len();
                let entry = read(line, Some(&mut *records));
                if entry.is_none() {
                    records.truncate(before);
                }
                entry
            }
        }
    }

    fn read(line: &[u8], records: Option<&mut Vec<u8>>) -> Option<super::Entry> {
        let mut at = 0;
        let seq = field_u64(line, &mut at, b"{\"seq\":")?;
        let t_ns = field_u64(line, &mut at, b",\"t_ns\":")?;
        let conn = field_u64(line, &mut at, b",\"conn\":")?;
        let stream = field_u64(line, &mut at, b",\"kind\":\"event\",\"stream\":")?;
        lit(line, &mut at, b",\"record\":\"")?;
        let record = match records {
            Some(records) => {
                at = string_into(line, at, records)?;
                Vec::new()
            }
            None => {
                let mut record = Vec::with_capacity(line.len() - at);
                at = string_into(line, at, &mut record)?;
                record
            }
        };
        let chunks = if lit(line, &mut at, b",\"chunks\":[").is_some() { Some(list_u64(line, &mut at)?) } else { None };
        let name = field_str(line, &mut at, b",\"event\":\"")?;
        let format = match field_str(line, &mut at, b",\"format\":\"")? {
            None => None,
            Some("json") => Some(Encoding::Json),
            Some("protobuf") => Some(Encoding::Protobuf),
            Some(_) => return None,
        };
        let framework_id = field_str(line, &mut at, b",\"framework_id\":\"")?;
        if &line[at..] != b"}" {
            return None;
        }
        let summary = Summary {
            name: name.map(|n| std::borrow::Cow::Owned(n.to_owned())),
            format,
            framework_id: framework_id.map(str::to_owned),
        };
        let event = Event { stream, record, chunks, summary };
        Some(super::Entry { seq, t_ns, conn, kind: EntryKind::Event(event) })
    }

    /// `expected` at `at` (then past it).
    fn lit(line: &[u8], at: &mut usize, expected: &[u8]) -> Option<()> {
        if line.get(*at..)?.starts_with(expected) {
            *at += expected.len();
            Some(())
        } else {
            None
        }
    }

    /// `key` and an unsigned integer as JSON writes one (no leading zero,
    /// no fraction or exponent: the byte after it is checked by whatever
    /// comes next), within `u64`.
    fn field_u64(line: &[u8], at: &mut usize, key: &[u8]) -> Option<u64> {
        lit(line, at, key)?;
        uint(line, at)
    }

    fn uint(line: &[u8], at: &mut usize) -> Option<u64> {
        let digits = line.get(*at..)?.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 1 && line[*at] == b'0' {
            return None;
        }
        let mut n: u64 = 0;
        for &d in &line[*at..*at + digits] {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        *at += digits;
        Some(n)
    }

    /// After `[`: unsigned integers, `,` between them, to `]`.
    fn list_u64(line: &[u8], at: &mut usize) -> Option<Vec<u64>> {
        let mut list = Vec::new();
        if lit(line, at, b"]").is_some() {
            return Some(list);
        }
        loop {
            list.push(uint(line, at)?);
            match line.get(*at)? {
                b',' => *at += 1,
                b']' => {
                    *at += 1;
                    return Some(list);
                }
                _ => return None,
            }
        }
    }

    /// `key` (ending in the string's opening quote) and a string without
    /// escapes or control characters, valid UTF-8; `Some(None)` when the
    /// line does not go on with `key`.
    fn field_str<'a>(line: &'a [u8], at: &mut usize, key: &[u8]) -> Option<Option<&'a str>> {
        if lit(line, at, key).is_none() {
            return Some(None);
        }
        let rest = line.get(*at..)?;
        let len = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[len] != b'"' {
            return None;
        }
        let text = std::str::from_utf8(&rest[..len]).ok()?;
        *at += len + 1;
        Some(Some(text))
    }

    /// Undoes the escapes of the JSON string whose contents start at
    /// `line[at]` onto `out`, up to its closing quote; where the line goes
    /// on after the quote. `None` (and `out` holding part of it) for a
    /// string that is not valid: no closing quote, a control character, an
    /// escape that is not one, a surrogate (paired or not: rare, left to
    /// the general reader), invalid UTF-8.
    ///
    /// Eight bytes at a time (`swar`). A record is JSON text escaped in a
    /// JSON string: a `\"` every few bytes, and little else. So the usual
    /// step takes a word of plain bytes and `\"`s whole: it drops the
    /// backslashes (`COMPRESS`) with no branch on where they fall (a
    /// backslash in the word's last byte is dropped, and the next word
    /// must start with its quote). Any
    /// other word (the closing quote, another escape, a control character)
    /// takes the step for one stop: it keeps the bytes before the first
    /// quote, backslash or control character and handles that one.
    /// Undoing escapes never lengthens the text, so `out` is grown once,
    /// for the rest of the line and a word.
    ///
    /// Why the word step: the step for one stop alone (the loop before it)
    /// took a stop every five bytes or so of the bench's records, each a
    /// branch on where it fell: reading the serve bench's session of 1M
    /// events (the reader and an arena as serve's, from memory, best of
    /// five) took 546-581 ns an event with it alone, 374-385 with the word
    /// step (its masks sharing their work, its count from the table);
    /// `serve --pace fast` on the serve bench, 0.48-0.49 of its ceiling,
    /// then 0.61-0.63 (with the cursor's runs of events, `serve::ready_events`;
    /// three rounds in turns on a 2-core VM, load 1.4-1.8).
    ///
    /// With SSSE3, the run of plain bytes and `\"`s goes sixteen bytes a
    /// step before the word step (`crate::simd::unescape_run`, a shuffle a
    /// half). Reading 200 000 mix events' lines from memory (`next_item_into`,
    /// best of seven, three rounds in turns on the AMD EPYC VM of
    /// `docs/performance.md`'s sixth run): 622-1 009 → 474-527 ns an event.
    /// `serve --pace fast` did not move with it there (0.66-0.87 of its
    /// ceiling before and after, a noisy run): serve's reader thread is no
    /// longer what bounds it.
    fn string_into(line: &[u8], mut at: usize, out: &mut Vec<u8>) -> Option<usize> {
        const HIGHS: u64 = 0x8080_8080_8080_8080;
        let start = out.len();
        out.resize(start + line.len().saturating_sub(at) + 8, 0);
        // Where the next byte goes: never past `start + (at - its start)`,
        // so a word always fits.
        let mut o = start;
        // The high bits of the bytes taken: any set, and the text is
        // checked for UTF-8 at the end. (Escapes give whole characters, so
        // the text is valid where the line's was.)
        let mut high = 0u64;
        // `0x80` when the last word's last byte was a backslash, dropped:
        // this word's first byte must be the quote it escapes.
        let mut carry = 0u64;
        loop {
            // With SSSE3, a run of plain bytes and `\"`s sixteen bytes a
            // step (`crate::simd`); the steps below take what it leaves.
            let (after, o_after, carried, seen) = crate::simd::unescape_run(line, at, carry != 0, out, o);
            (at, o, carry) = (after, o_after, if carried { 0x80 } else { 0 });
            if seen {
                high |= HIGHS;
            }
            match swar::word_at(line, at) {
                Some(word) => {
                    let w = u64::from_le_bytes(word);
                    let [backslashes, quotes, controls] = crate::swar::stop_kinds(w);
                    if controls | (quotes ^ (backslashes << 8 | carry)) == 0 {
                        // Plain bytes and `\"`s (each quote after a
                        // backslash, each backslash before a quote, the
                        // last byte's in the next word): the backslashes
                        // dropped. The next word is at `at + 8` whatever
                        // this one holds, so the steps do not wait on each
                        // other.
                        let lanes = (((backslashes >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56) as usize;
                        let step = COMPRESS.get(lanes)?;
                        let (x, kept) = (compress(w, step), step[4]);
                        out.get_mut(o..o + 8)?.copy_from_slice(&x.to_le_bytes());
                        o += kept as usize;
                        at += 8;
                        carry = backslashes >> 56;
                        high |= w;
                        continue;
                    }
                    if carry != 0 {
                        // The dropped backslash is read again, by the step
                        // for one stop.
                        at -= 1;
                        carry = 0;
                        continue;
                    }
                    // A stop (a quote, backslash or control character)
                    // that is not a `\"`: the word's bytes before the
                    // first stop, then that one. (`high` takes the whole
                    // word: at worst a needless UTF-8 check.)
                    let clean = (swar::string_stops(w).trailing_zeros() / 8) as usize;
                    out.get_mut(o..o + 8)?.copy_from_slice(&word);
                    high |= w;
                    o += clean;
                    at += clean;
                }
                None => {
                    if carry != 0 {
                        at -= 1;
                        carry = 0;
                    }
                    while let Some(&b) = line.get(at) {
                        if b < 0x20 || b == b'"' || b == b'\\' {
                            break;
                        }
                        *out.get_mut(o)? = b;
                        high |= u64::from(b);
                        o += 1;
                        at += 1;
                    }
                }
            }
            match *line.get(at)? {
                b'"' => {
                    out.truncate(o);
                    if high & HIGHS != 0 {
                        std::str::from_utf8(&out[start..]).ok()?;
                    }
                    return Some(at + 1);
                }
                b'\\' => {
                    let c = match *line.get(at + 1)? {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let hex = line.get(at + 2..at + 6)?;
                            let code = hex.iter().try_fold(0u32, |v, &d| Some(v << 4 | char::from(d).to_digit(16)?))?;
                            // A surrogate is None here: left to the general reader.
                            let c = char::from_u32(code)?;
                            c.encode_utf8(out.get_mut(o..o + c.len_utf8())?);
                            o += c.len_utf8();
                            at += 6;
                            continue;
                        }
                        _ => return None,
                    };
                    *out.get_mut(o)? = c;
                    o += 1;
                    at += 2;
                }
                _ => return None,
            }
        }
    }

    /// For each set of a word's bytes to drop (bit `i`: byte `i`, the
    /// `i`-th in the line): the bytes kept, then the bytes that move down
    /// by one, two and four places, in turn, to close the gaps (Hacker's
    /// Delight's `compress`, 7–4, by bytes), and how many bytes are kept
    /// (`count_ones` is a dozen instructions without `popcnt`, which the
    /// target does not assume).
    static COMPRESS: [[u64; 5]; 256] = compress_table();

    const fn compress_table() -> [[u64; 5]; 256] {
        const fn spread(lanes: u32) -> u64 {
            let mut bytes = 0u64;
            let mut i = 0;
            while i < 8 {
                if lanes >> i & 1 == 1 {
                    bytes |= 0xff << (8 * i);
                }
                i += 1;
            }
            bytes
        }
        let mut table = [[0u64; 5]; 256];
        let mut dropped = 0u32;
        while dropped < 256 {
            let mut m = !dropped & 0xff;
            let mut entry = [spread(m), 0, 0, 0, m.count_ones() as u64];
            // The dropped bytes below each byte, a bit of the count a round.
            let mut mk = (!m << 1) & 0xff;
            let mut i = 0;
            while i < 3 {
                let mut mp = mk ^ (mk << 1);
                mp ^= mp << 2;
                mp ^= mp << 4;
                mp &= 0xff;
                let mv = mp & m;
                m = (m ^ mv) | (mv >> (1 << i));
                entry[i + 1] = spread(mv);
                mk &= !mp;
                i += 1;
            }
            table[dropped as usize] = entry;
            dropped += 1;
        }
        table
    }

    /// `word` with the bytes a [`COMPRESS`] entry drops taken out and the
    /// others moved down to close the gaps.
    #[inline(always)]
    fn compress(word: u64, &[keep, by1, by2, by4, _]: &[u64; 5]) -> u64 {
        let mut x = word & keep;
        let t = x & by1;
        x = (x ^ t) | (t >> 8);
        let t = x & by2;
        x = (x ^ t) | (t >> 16);
        let t = x & by4;
        (x ^ t) | (t >> 32)
    }

    #[cfg(test)]
    mod tests {
        /// A record as JSON text (a quote every few bytes, so the sixteen-
        /// and eight-byte steps take most of it), written as a line's string
        /// is, with something put in at every offset (every place in a
        /// block of sixteen, a backslash's quote in the next block): read
        /// back as serde_json reads the string, or refused where serde_json
        /// refuses it.
        #[test]
        fn string_into_reads_as_serde_json_around_every_offset() {
            let record = r#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t-1"},"state":"TASK_RUNNING","uuid":"ZGVh"}}}"#;
            let escaped = serde_json::to_string(record).unwrap();
            for at in 1..escaped.len() - 1 {
                for put in [r"\\", r"\n", r"\u00e9", r#"\""#, r"\u0041", "é", "\u{1}", "\u{1f}", "x"] {
                    let mut string = escaped.clone();
                    string.insert_str(at, put);
                    let line = format!(r#"{string},"tail":1}}"#);
                    let mut out = b"before".to_vec();
                    let read = super::string_into(line.as_bytes(), 1, &mut out);
                    // serde_json's reading of the string the line begins with
                    // (a piece put inside an escape may end it early).
                    let mut strings = serde_json::Deserializer::from_str(&line).into_iter::<String>();
                    match strings.next() {
                        Some(Ok(text)) => {
                            assert_eq!(read, Some(strings.byte_offset()), "{line}");
                            assert_eq!(&out[..6], b"before");
                            assert_eq!(std::str::from_utf8(&out[6..]).unwrap(), text, "{line}");
                        }
                        _ => assert_eq!(read, None, "{line}"),
                    }
                }
                // Bytes that are not UTF-8: refused, as by serde_json.
                for put in [0xff, 0xc3, 0x80] {
                    let mut line = escaped.clone().into_bytes();
                    line.insert(at, put);
                    assert!(serde_json::from_slice::<String>(&line).is_err());
                    assert_eq!(super::string_into(&line, 1, &mut Vec::new()), None, "{put:#x} at {at}");
                }
            }
        }

        /// The word step's pieces against the plain reading of a word.
        #[test]
        fn compress_drops_exactly_the_bytes_asked() {
            let word: [u8; 8] = *b"abcdefgh";
            for dropped in 0..256usize {
                let step = &super::COMPRESS[dropped];
                let (x, count) = (super::compress(u64::from_le_bytes(word), step), step[4]);
                let kept: Vec<u8> = (0..8).filter(|i| dropped >> i & 1 == 0).map(|i| word[i]).collect();
                assert_eq!(&x.to_le_bytes()[..kept.len()], &kept[..], "dropping {dropped:#010b}");
                assert_eq!(count, kept.len() as u64);
                // The lanes as the word step finds them.
                let highs: u64 = (0..8).filter(|i| dropped >> i & 1 == 1).map(|i| 0x80u64 << (8 * i)).sum();
                assert_eq!(((highs >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as usize, dropped);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long plain runs (copied whole, sixteen bytes checked at a time)
    /// around stops at every offset, and bytes that are not UTF-8 (then
    /// the field is `_b64`, and nothing of the escaped attempt is left).
    #[test]
    fn long_plain_runs_and_bytes_not_utf8_are_written_as_serde_json_would() {
        for before in 0..48 {
            for after in 0..40 {
                for stop in ["\"", "\\", "\n", "\u{1}", "é"] {
                    let text = format!("{}{stop}{}", "x".repeat(before), "y".repeat(after));
                    let mut out = Vec::new();
                    let ascii = json_bytes(&mut out, text.as_bytes());
                    assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
                    assert_eq!(ascii, text.is_ascii(), "{text:?}");
                }
                let mut bytes = vec![b'x'; before];
                bytes.push(0xff);
                bytes.extend(std::iter::repeat_n(b'"', after));
                let mut out = b"[".to_vec();
                let mut obj = Obj { out: &mut out, empty: true };
                obj.bytes_always("record", &bytes);
                obj.finish();
                let value: serde_json::Value = serde_json::from_slice(&out[1..]).unwrap();
                let b64 = value["record_b64"].as_str().unwrap();
                assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), bytes);
                assert_eq!(value.as_object().unwrap().len(), 1, "{value}");
            }
        }
    }

    #[test]
    fn json_bytes_writes_what_serde_json_writes() {
        let mut text = String::new();
        for c in (0u8..0x80).map(char::from).chain(['é', '€', '😀']) {
            text.push(c);
            text.push_str("ab\"cd\\");
        }
        for start in 0..text.len() {
            let Some(piece) = text.get(start..) else { continue };
            let mut out = Vec::new();
            json_bytes(&mut out, piece.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(piece).unwrap());
        }
    }

    /// `json_bytes` against `serde_json` (UTF-8 text) and against one byte
    /// at a time (any bytes), for strings that mix every kind of stop with
    /// plain runs, long enough for several of `simd`'s blocks of sixteen
    /// (those with a control character among them) and the word masks'
    /// last few bytes.
    mod escape {
        use proptest::prelude::*;

        use super::super::*;

        fn one_at_a_time(bytes: &[u8]) -> (Vec<u8>, bool) {
            let mut out = vec![b'"'];
            for &b in bytes {
                push_string_byte(&mut out, b);
            }
            out.push(b'"');
            (out, bytes.is_ascii())
        }

        proptest::proptest! {
            #![proptest_config(ProptestConfig::with_cases(2048))]
            #[test]
            fn writes_what_serde_json_writes(
                pieces in proptest::collection::vec(
                    prop_oneof!["\"", "\\\\", "[\u{0}-\u{1f}]", "[ -~]{0,20}", "[é€😀\u{7f}]", "\\PC{0,3}"],
                    0..40,
                ),
            ) {
                let text = pieces.concat();
                let mut out = Vec::new();
                let ascii = json_bytes(&mut out, text.as_bytes());
                prop_assert_eq!(std::str::from_utf8(&out).unwrap(), serde_json::to_string(&text).unwrap());
                prop_assert_eq!(ascii, text.is_ascii());
            }

            #[test]
            fn writes_any_bytes_as_one_at_a_time(
                bytes in proptest::collection::vec(
                    prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..0x7f, 0x80u8..=0xff, Just(b'a')],
                    0..200,
                ),
                before in proptest::collection::vec(any::<u8>(), 0..3),
            ) {
                let mut out = before.clone();
                let ascii = json_bytes(&mut out, &bytes);
                let (expected, expected_ascii) = one_at_a_time(&bytes);
                prop_assert_eq!(&out[..before.len()], &before[..]);
                prop_assert_eq!(&out[before.len()..], &expected[..]);
                prop_assert_eq!(ascii, expected_ascii);
            }
        }
    }

    /// Issue 18: a long line arriving in pieces was searched for its
    /// newline from its start again with every piece (`inspect` of one
    /// 128 MiB line took 14 s). Each byte is now searched once.
    #[test]
    fn a_long_line_is_searched_once() {
        let mut reader = Reader::new();
        reader.push(
            b"{\"kind\":\"header\",\"format\":\"mesos-tape-session\",\"version\":1,\"source\":\"sim\",\"started_at\":\"x\"}\n",
        );
        assert!(reader.next_item().unwrap().is_some());
        let piece = vec![b'x'; 4096];
        for n in 1..=100 {
            reader.push(&piece);
            assert_eq!(reader.next_item().unwrap(), None);
            // Where the next search starts: past everything searched so far.
            assert_eq!(reader.searched, n * piece.len());
        }
        reader.push(b"\n");
        assert!(reader.next_item().is_err(), "the line is not JSON");
        assert_eq!(reader.searched, 0);
    }

    /// The fast path for event lines reads what the general reader reads:
    /// events as the writer writes them (records of any text, escapes,
    /// control characters, non-ASCII, not UTF-8), and the same lines
    /// damaged (a byte changed, added or removed; cut short), read whole
    /// by a reader with and without the fast path, fed in pieces: the same
    /// items, the same errors on the same lines, the same offsets and torn
    /// line. (Debug builds also compare each line the fast path reads with
    /// the general reader's reading of it.)
    mod fast_path {
        use proptest::prelude::*;

        use super::super::*;

        fn text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("\\u0041".to_owned()),
                Just("/".to_owned()),
                Just("\u{1}".to_owned()),
                Just("\n\t\r\u{8}\u{c}".to_owned()),
                Just("\u{7f}".to_owned()),
                Just("é".to_owned()),
                Just("😀".to_owned()),
                Just("\u{2028}".to_owned()),
                "[a-z{}:,\\[\\]0-9 ]{0,12}",
                any::<char>().prop_map(String::from),
            ];
            proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
        }

        fn number() -> impl Strategy<Value = u64> {
            prop_oneof![0..3u64, 0..100_000u64, Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
        }

        fn event() -> impl Strategy<Value = (u64, u64, Event)> {
            let record = prop_oneof![
                8 => text().prop_map(String::into_bytes),
                1 => proptest::collection::vec(any::<u8>(), 0..40),
            ];
            let name = proptest::option::of(prop_oneof![Just("OFFERS".to_owned()), text()]);
            let format = proptest::option::of(prop_oneof![Just(Encoding::Json), Just(Encoding::Protobuf)]);
            let chunks = proptest::option::of(proptest::collection::vec(number(), 0..4));
            (number(), number(), number(), record, chunks, name, format, proptest::option::of(text())).prop_map(
                |(conn, stream, t_ns, record, chunks, name, format, framework_id)| {
                    (
                        conn,
                        t_ns,
                        Event {
                            stream,
                            record,
                            chunks,
                            summary: Summary { name: name.map(Cow::Owned), format, framework_id },
                        },
                    )
                },
            )
        }

        /// A change to a line: at a place (a fraction of its length), one
        /// of the bytes that matter to a JSON reader replaces the byte
        /// there, is put before it, or the byte is removed; or the line is
        /// cut there.
        fn damage() -> impl Strategy<Value = (f64, u8, u8)> {
            let bytes = prop_oneof![
                Just(b'"'),
                Just(b'\\'),
                Just(b'u'),
                Just(b'd'),
                Just(b'8'),
                Just(b'0'),
                Just(b'.'),
                Just(b'-'),
                Just(b'e'),
                Just(b' '),
                Just(b'}'),
                Just(b']'),
                Just(b','),
                Just(b':'),
                Just(0x01),
                Just(0x80),
                Just(0xc3),
                Just(0xff),
                any::<u8>(),
            ];
            (0.0..1.0f64, 0..4u8, bytes)
        }

        fn damaged(mut line: Vec<u8>, (place, how, byte): (f64, u8, u8)) -> Vec<u8> {
            let at = ((line.len() as f64 * place) as usize).min(line.len().saturating_sub(1));
            match how {
                0 if !line.is_empty() => line[at] = byte,
                1 => line.insert(at, byte),
                2 if !line.is_empty() => {
                    line.remove(at);
                }
                _ => line.truncate(at),
            }
            line
        }

        /// A reader's items (each with its offsets), its error, its torn line.
        type Reading = (Vec<(Item, u64, u64)>, Option<SessionError>, Option<TornLine>);

        /// What a reader reads of `file` cut at `cuts`.
        fn read(file: &[u8], cuts: &[usize], into: bool) -> Reading {
            let mut reader = Reader::new();
            let mut items = Vec::new();
            let mut records = vec![b'x'];
            let mut from = 0;
            let mut ends: Vec<usize> = cuts.iter().map(|c| c % (file.len() + 1)).collect();
            ends.push(file.len());
            ends.sort_unstable();
            for end in ends {
                reader.push(&file[from..end]);
                from = end;
                loop {
                    let next = if into {
                        let before = records.len();
                        reader.next_item_into(&mut records).map(|item| {
                            item.map(|mut item| {
                                if let Item::Entry(Entry { kind: EntryKind::Event(e), .. }) = &mut item {
                                    assert!(e.record.is_empty());
                                    e.record = records[before..].to_vec();
                                }
                                item
                            })
                        })
                    } else {
                        reader.next_item()
                    };
                    match next {
                        Ok(Some(item)) => items.push((item, reader.line_start(), reader.position())),
                        Ok(None) => break,
                        Err(e) => return (items, Some(e), None),
                    }
                }
            }
            (items, None, reader.finish())
        }

        proptest::proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn reads_as_the_general_reader(
                events in proptest::collection::vec(event(), 1..6),
                damages in proptest::collection::vec(proptest::option::of(damage()), 1..6),
                cuts in proptest::collection::vec(any::<usize>(), 0..4),
                shuffle in any::<bool>(),
            ) {
                let mut file = Header::new(Source::Proxy, "2026-11-24T21:30:00Z").to_line();
                let mut writer = Writer::new();
                let mut lines = Vec::new();
                for (i, (conn, t_ns, event)) in events.into_iter().enumerate() {
                    let entry = writer.entry(t_ns, conn, EntryKind::Event(event));
                    let mut line = entry.to_line();
                    line.pop();
                    // Events as written (text records, plain short
                    // strings) are the fast path's.
                    let EntryKind::Event(e) = &entry.kind else { unreachable!() };
                    let plain = |s: Option<&str>| s.is_none_or(|s| !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'));
                    if std::str::from_utf8(&e.record).is_ok() && plain(e.summary.name.as_deref()) && plain(e.summary.framework_id.as_deref()) {
                        prop_assert!(fast::event(&line, None).is_some(), "not read fast: {}", String::from_utf8_lossy(&line));
                    }
                    if let Some(Some(d)) = damages.get(i) {
                        line = damaged(line, *d);
                    }
                    // Line by line: what the fast path reads, the general reader reads.
                    if let Some(fast) = fast::event(&line, None) {
                        prop_assert_eq!(parse_entry_line(&line, 2, None, 0, None), Ok(Item::Entry(fast)));
                    }
                    lines.push(line);
                }
                if shuffle {
                    lines.reverse();
                }
                for line in lines {
                    file.extend_from_slice(&line);
                    file.push(b'\n');
                }
                // The last line torn, now and then.
                if cuts.len() == 1 {
                    file.pop();
                }
                let general = {
                    fast::OFF.with(|off| off.set(true));
                    let general = read(&file, &cuts, false);
                    fast::OFF.with(|off| off.set(false));
                    general
                };
                prop_assert_eq!(&read(&file, &cuts, false), &general);
                prop_assert_eq!(&read(&file, &cuts, true), &general);
            }

            /// `Lines` writes out, records escaped in their places, what
            /// `write_line` writes entry by entry: events (records not
            /// UTF-8, empty, full of escapes), notes and requests in turn.
            #[test]
            fn lines_write_what_write_line_writes(
                entries in proptest::collection::vec(
                    prop_oneof![
                        3 => event().prop_map(|(conn, t_ns, e)| (conn, t_ns, EntryKind::Event(e))),
                        1 => (number(), text()).prop_map(|(t_ns, message)| (0, t_ns, EntryKind::Note(Note { message, refers: Some(t_ns), incomplete: false }))),
                        1 => (text(), proptest::collection::vec(any::<u8>(), 0..12)).prop_map(|(path, body)| {
                            (2, 7, EntryKind::Request(Request { method: "POST".into(), path, headers: Vec::new(), body, summary: Summary::default() }))
                        }),
                    ],
                    0..8,
                ),
            ) {
                let mut writer = Writer::new();
                let mut lines = Lines::default();
                let mut expected = Vec::new();
                let mut made = Vec::new();
                for (conn, t_ns, kind) in entries {
                    let entry = writer.entry(t_ns, conn, kind);
                    entry.write_line(&mut expected);
                    lines.push(&entry);
                    made.push(entry);
                }
                let mut out = b"before".to_vec();
                lines.write_to(&mut out);
                prop_assert_eq!(String::from_utf8_lossy(&out[6..]), String::from_utf8_lossy(&expected));
                prop_assert_eq!(&out[6..], &expected[..]);
                prop_assert_eq!(lines.entries(), writer.entries() as usize);
                // And each line reads back as its entry through serde_json
                // (the session reader's fast path off).
                fast::OFF.with(|off| off.set(true));
                let lines = out[6..].split_inclusive(|&b| b == b'\n');
                let read: Vec<_> = lines.enumerate().map(|(i, line)| Entry::parse(line, i as u64 + 2)).collect();
                fast::OFF.with(|off| off.set(false));
                prop_assert_eq!(read, made.into_iter().map(Ok).collect::<Vec<_>>());
            }
        }
    }
}
