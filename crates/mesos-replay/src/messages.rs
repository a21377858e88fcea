//! The v1 messages inside a session: which message type a body or a record
//! is (by its API path), and turning it into canonical Mesos JSON or into the
//! other encoding; and [`Items`], a session file read item by item.
//!
//! Canonical means: decoded to protobuf and written back by the codec's
//! master-exact JSON writer, so a call recorded in protobuf and the same call
//! sent live in JSON (keys in any order, defaults spelt out or not) decode to
//! the same [`serde_json::Value`].
//!
//! ```
//! use mesos_codec::api::Encoding;
//! use mesos_replay::messages::{api_of, canonical};
//! let api = api_of("/api/v1/scheduler");
//! let call = api.call.unwrap();
//! let a = canonical(call, br#"{"framework_id":{"value":"f1"},"type":"TEARDOWN"}"#, Some(Encoding::Json)).unwrap();
//! let b = canonical(call, br#"{"type":"TEARDOWN","framework_id":{"value":"f1"}}"#, None).unwrap();
//! assert_eq!(a, b);
//! ```

use mesos_codec::api::Encoding;
use mesos_codec::json::{Error, JsonError, json_to_protobuf, protobuf_to_json};
use mesos_codec::schema::MessageId;
use std::io::{self, Read};

use mesos_codec::session::{Item, Reader, TornLine};
use serde_json::Value;

/// Why a session could not be read: the one error of every reader of
/// sessions here (`serve`'s script, `inspect`, `diff`).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The session is bad (the line says where).
    #[error(transparent)]
    Session(#[from] mesos_codec::session::SessionError),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Not one whole line: an empty file (a recorder that could not write
    /// anything) is not a session.
    #[error("line 1: no header line: an empty file is not a session")]
    NoHeader,
}

/// The message types of one v1 API: its calls, the events of its streams,
/// and the bodies of its answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Api {
    /// The call type (`scheduler.Call`).
    pub call: Option<MessageId>,
    /// The event type of its streams (`scheduler.Event`).
    pub event: Option<MessageId>,
    /// The type of a call's answer body (`scheduler.Response`), where the API has one.
    pub response: Option<MessageId>,
}

impl Api {
    /// Whether the path is a v1 API at all.
    ///
    /// ```
    /// use mesos_replay::messages::api_of;
    /// assert!(api_of("/api/v1/scheduler").is_v1());
    /// assert!(!api_of("/state").is_v1());
    /// ```
    pub fn is_v1(&self) -> bool {
        self.call.is_some()
    }
}

/// The message types of the API a request path (with or without its
/// query) belongs to ([`mesos_codec::api::Api::from_path`]).
///
/// ```
/// use mesos_replay::messages::api_of;
/// let api = api_of("/master/api/v1/scheduler?x=1");
/// let schema = mesos_codec::schema::Schema::get();
/// assert_eq!(api.event.map(|id| schema.message(id).name.as_str()), Some("mesos.v1.scheduler.Event"));
/// assert_eq!(api_of("/redirect").call, None);
/// ```
pub fn api_of(path: &str) -> Api {
    match mesos_codec::api::Api::from_path(path) {
        Some(api) => Api { call: Some(api.call_type()), event: Some(api.event_type()), response: api.response_type() },
        None => Api::default(),
    }
}

/// The protobuf encoding of a message in either encoding.
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_replay::messages::{api_of, to_protobuf};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// assert_eq!(to_protobuf(event, br#"{"type":"HEARTBEAT"}"#, Encoding::Json).unwrap(), [0x08, 0x08]);
/// ```
pub fn to_protobuf(message: MessageId, bytes: &[u8], encoding: Encoding) -> Result<Vec<u8>, Error> {
    match encoding {
        Encoding::Json => Ok(json_to_protobuf(message, bytes)?),
        Encoding::Protobuf => Ok(bytes.to_vec()),
    }
}

/// The message re-encoded as `to` (the master's exact JSON for JSON).
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_replay::messages::{api_of, transcode};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// assert_eq!(transcode(event, &[0x08, 0x08], Encoding::Protobuf, Encoding::Json).unwrap(), br#"{"type":"HEARTBEAT"}"#);
/// ```
pub fn transcode(message: MessageId, bytes: &[u8], from: Encoding, to: Encoding) -> Result<Vec<u8>, Error> {
    match (from, to) {
        (Encoding::Json, Encoding::Json) | (Encoding::Protobuf, Encoding::Protobuf) => Ok(bytes.to_vec()),
        (Encoding::Json, Encoding::Protobuf) => Ok(json_to_protobuf(message, bytes)?),
        (Encoding::Protobuf, Encoding::Json) => Ok(protobuf_to_json(message, bytes)?.json),
    }
}

/// The message as canonical Mesos JSON (see the module documentation).
///
/// ```
/// use mesos_replay::messages::{api_of, canonical};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// assert_eq!(canonical(event, &[0x08, 0x08], None).unwrap(), serde_json::json!({"type": "HEARTBEAT"}));
/// assert!(canonical(event, b"{\"type\":7}", None).is_err());
/// ```
pub fn canonical(message: MessageId, bytes: &[u8], format: Option<Encoding>) -> Result<Value, Error> {
    let pb = to_protobuf(message, bytes, Encoding::of(format, bytes))?;
    let json = protobuf_to_json(message, &pb)?.json;
    // The codec's own JSON: it always reads (the conformance tests hold it to a master's).
    serde_json::from_slice(&json).map_err(|e| json_error(&e))
}

/// Writes a canonical JSON value back as the message in `to`.
///
/// ```
/// use mesos_codec::api::Encoding;
/// use mesos_replay::messages::{api_of, encode_value};
/// let event = api_of("/api/v1/scheduler").event.unwrap();
/// let value = serde_json::json!({"type": "HEARTBEAT"});
/// assert_eq!(encode_value(event, &value, Encoding::Protobuf).unwrap(), [0x08, 0x08]);
/// ```
pub fn encode_value(message: MessageId, value: &Value, to: Encoding) -> Result<Vec<u8>, Error> {
    let json = serde_json::to_vec(value).map_err(|e| json_error(&e))?;
    let pb = json_to_protobuf(message, &json)?;
    match to {
        Encoding::Protobuf => Ok(pb),
        Encoding::Json => Ok(protobuf_to_json(message, &pb)?.json),
    }
}

/// serde_json's error as the codec's JSON error (at the top level).
fn json_error(e: &serde_json::Error) -> Error {
    let message = e.to_string();
    let message = message.rfind(" at line ").map_or(message.clone(), |i| message[..i].to_owned());
    Error::Json(JsonError { path: "(top level)".to_owned(), message, line: e.line(), column: e.column() })
}

/// A session file read item by item, through
/// [`mesos_codec::session::Reader`], a buffer at a time: the one read loop
/// of `inspect`, `diff` and replay's index.
///
/// ```
/// use mesos_replay::messages::Items;
/// let file = concat!(
///     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#, "\n",
///     r#"{"seq":0,"t_ns":0,"conn":1,"kind":"note","message":"hi"}"#, "\n",
///     r#"{"seq":1,"#,
/// );
/// let mut items = Items::new(file.as_bytes());
/// let (_, header) = items.next_item().unwrap().unwrap();
/// assert_eq!((header.line, header.offset), (1, 0));
/// let (_, note) = items.next_item().unwrap().unwrap();
/// assert_eq!(note.line, 2);
/// assert!(items.next_item().unwrap().is_none());
/// assert_eq!(items.finish().map(|torn| torn.line), Some(3));
/// ```
pub struct Items<R> {
    input: R,
    reader: Reader,
    buf: Vec<u8>,
}

/// Where an item's line lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineSpan {
    /// Its first byte's offset.
    pub offset: u64,
    /// Its length, newline included.
    pub len: u64,
    /// Its number, from 1.
    pub line: u64,
}

impl<R: Read> Items<R> {
    /// Reads `input` from its start.
    pub fn new(input: R) -> Items<R> {
        Items { input, reader: Reader::new(), buf: vec![0u8; 256 * 1024] }
    }

    /// The next item and where its line lies; `None` at the end of the input.
    pub fn next_item(&mut self) -> Result<Option<(Item, LineSpan)>, ReadError> {
        loop {
            if let Some(item) = self.reader.next_item()? {
                // Past the header of a next part, if one was skipped.
                let (start, end) = (self.reader.line_start(), self.reader.position());
                return Ok(Some((item, LineSpan { offset: start, len: end - start, line: self.reader.line() })));
            }
            match self.input.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => self.reader.push(&self.buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// At the end: the torn last line, if any (skipped, never fatal).
    pub fn finish(self) -> Option<TornLine> {
        self.reader.finish()
    }
}

/// The files of the session that `path` belongs to, in order: `path` alone
/// for a session never cut; for a rotated one, every part, found from any
/// of them: back through the `previous` each part's header names, and on
/// through the files beside it (same id) whose header names the part
/// before. A part that a header names but that is missing is an error.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("parts-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let header = r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"proxy","started_at":"t""#;
/// std::fs::write(dir.join("f1-20261124T213000.000Z.session.jsonl"), format!("{header}}}\n"))?;
/// std::fs::write(
///     dir.join("f1-20261124T220000.000Z.session.jsonl"),
///     format!("{header},\"part\":2,\"previous\":\"f1-20261124T213000.000Z.session.jsonl\"}}\n"),
/// )?;
/// let parts = mesos_replay::messages::session_parts(&dir.join("f1-20261124T213000.000Z.session.jsonl"))?;
/// assert_eq!(parts.len(), 2);
/// assert!(parts[1].ends_with("f1-20261124T220000.000Z.session.jsonl"));
/// assert_eq!(parts, mesos_replay::messages::session_parts(&parts[1])?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn session_parts(path: &std::path::Path) -> io::Result<Vec<std::path::PathBuf>> {
    use std::collections::{HashMap, HashSet};
    let dir = path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let mut parts = vec![path.to_path_buf()];
    let mut seen: HashSet<std::path::PathBuf> = parts.iter().cloned().collect();
    // Back to the first part. A file that does not read as a session is
    // left to the reader, whose error names the line.
    let mut first_header = header_of(path).ok().flatten();
    while let Some(previous) = first_header.as_ref().and_then(|h| h.previous.clone()) {
        let before = dir.join(&previous);
        if !seen.insert(before.clone()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: the parts name each other in a loop", path.display()),
            ));
        }
        first_header = header_of(&before).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{}: the part before it, {previous}, cannot be read: {e}", parts[0].display()),
            )
        })?;
        parts.insert(0, before);
    }
    // On through the files beside it that name the part before them.
    let Some(prefix) = parts[0].file_name().and_then(|n| n.to_str()).and_then(id_prefix).map(str::to_owned) else {
        return Ok(parts);
    };
    let mut next_of: HashMap<String, std::path::PathBuf> = HashMap::new();
    for entry in std::fs::read_dir(if dir.as_os_str().is_empty() { std::path::Path::new(".") } else { &dir })? {
        let candidate = entry?.path();
        let Some(name) = candidate.file_name().and_then(|n| n.to_str()) else { continue };
        let session_file = name.ends_with(".session.jsonl") || name.ends_with(".session.jsonl.zst");
        if !session_file || !name.starts_with(&prefix) || seen.contains(&dir.join(name)) {
            continue;
        }
        if let Ok(Some(header)) = header_of(&candidate)
            && let Some(previous) = header.previous
        {
            next_of.insert(previous, dir.join(name));
        }
    }
    loop {
        let last = parts.last().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
        let Some(next) = last.and_then(|name| next_of.remove(&name)) else { return Ok(parts) };
        if !seen.insert(next.clone()) {
            return Ok(parts);
        }
        parts.push(next);
    }
}

/// The id part of a session file's name, with its dash: `f1-` of
/// `f1-20261124T213000.000Z.session.jsonl` (the id may hold dashes).
fn id_prefix(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    (0..bytes.len()).rev().find_map(|at| {
        let stamp = bytes.get(at + 1..at + 10)?;
        (bytes[at] == b'-' && stamp[..8].iter().all(u8::is_ascii_digit) && stamp[8] == b'T').then(|| &name[..=at])
    })
}

/// The header of a session file (plain or compressed); `None` when it has
/// no whole first line.
fn header_of(path: &std::path::Path) -> io::Result<Option<mesos_codec::session::Header>> {
    let mut file = std::fs::File::open(path)?;
    let mut reader = Reader::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut read = 0usize;
    loop {
        match reader.next_item() {
            Ok(Some(Item::Header(header))) => return Ok(Some(header)),
            Ok(Some(Item::Entry(_))) => return Ok(None),
            Ok(None) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
        }
        // A header is a few hundred bytes: a file without one soon is no session.
        if read > 1 << 20 {
            return Ok(None);
        }
        match file.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                read += n;
                reader.push(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A session's files read one after the other, as they are on disk
/// (compressed or not): what [`Items`] (and so the codec's reader, which
/// decompresses and skips the headers of the parts after the first) takes.
///
/// ```no_run
/// let input = mesos_replay::messages::SessionFiles::open("f1-20261124T213000.000Z.session.jsonl.zst".as_ref())?;
/// let mut items = mesos_replay::messages::Items::new(input);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SessionFiles {
    parts: std::collections::VecDeque<std::path::PathBuf>,
    current: Option<std::fs::File>,
    /// Every part, in order.
    pub paths: Vec<std::path::PathBuf>,
}

impl SessionFiles {
    /// The session that `path` is a part of ([`session_parts`]).
    pub fn open(path: &std::path::Path) -> io::Result<SessionFiles> {
        let paths = session_parts(path)?;
        // Every part must open now, not half-way through reading.
        for part in &paths {
            match std::fs::metadata(part) {
                Ok(_) => {}
                // The caller names the path it gave.
                Err(e) if part == path => return Err(e),
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", part.display()))),
            }
        }
        Ok(SessionFiles { parts: paths.iter().cloned().collect(), current: None, paths })
    }

    /// Whether the part being read has been followed by another since
    /// (a rotated session still being written): that part is queued.
    fn next_part_appeared(&mut self) -> bool {
        let Some(last) = self.paths.last() else { return false };
        let Ok(chain) = session_parts(last) else { return false };
        let Some(at) = chain.iter().position(|p| p == last) else { return false };
        let new: Vec<_> = chain[at + 1..].to_vec();
        if new.is_empty() {
            return false;
        }
        self.parts.extend(new.iter().cloned());
        self.paths.extend(new);
        true
    }

    /// Whether the session is stored in more than one file, or compressed:
    /// then its lines' offsets are not offsets in one plain file.
    pub fn is_plain_file(&self) -> io::Result<bool> {
        if self.paths.len() != 1 {
            return Ok(false);
        }
        let mut magic = [0u8; 4];
        let mut file = std::fs::File::open(&self.paths[0])?;
        let mut have = 0;
        while have < 4 {
            match file.read(&mut magic[have..])? {
                0 => break,
                n => have += n,
            }
        }
        Ok(!(have == 4 && magic == [0x28, 0xB5, 0x2F, 0xFD]))
    }
}

impl Read for SessionFiles {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.current.is_none() {
                let Some(next) = self.parts.pop_front() else { return Ok(0) };
                self.current = Some(
                    std::fs::File::open(&next)
                        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", next.display())))?,
                );
            }
            let Some(file) = self.current.as_mut() else { return Ok(0) };
            match file.read(buf)? {
                // The last part stays open: a file still being written
                // (`inspect --follow`) is read on as it grows, and once the
                // writer has cut it, the next part is read on.
                0 if self.parts.is_empty() => {
                    if !self.next_part_appeared() {
                        return Ok(0);
                    }
                    self.current = None;
                }
                0 => self.current = None,
                n => return Ok(n),
            }
        }
    }
}

/// Writes the text of a compressed or rotated session into one plain file
/// at `to` (each part decompressed if it is compressed, the parts one after
/// the other, their headers kept: the codec's reader skips them again), so
/// that the offsets [`Items`] gave its lines are offsets in `to`. A last
/// frame cut short is left out, as the reader leaves it out.
pub fn write_plain(paths: &[std::path::PathBuf], to: &std::path::Path) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(to)?);
    for path in paths {
        let mut file = io::BufReader::new(std::fs::File::open(path)?);
        let compressed = io::BufRead::fill_buf(&mut file)?.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]);
        if !compressed {
            io::copy(&mut file, &mut out)?;
            continue;
        }
        let mut decoder = zstd::stream::read::Decoder::with_buffer(file)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => io::Write::write_all(&mut out, &buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A frame cut short by a writer that died (the reader
                // reports it as torn): what decompressed before it is here.
                // Anything worse, the reader has already refused.
                Err(_) => break,
            }
        }
    }
    io::Write::flush(&mut out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_cut_while_it_is_read_is_followed_by_the_next() {
        let dir = std::env::temp_dir().join(format!("session-files-follow-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let header = r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"proxy","started_at":"t""#;
        let first = dir.join("f1-20261124T213000.000Z.session.jsonl");
        std::fs::write(&first, format!("{header}}}\n")).unwrap();
        let mut files = SessionFiles::open(&first).unwrap();
        let mut text = String::new();
        files.read_to_string(&mut text).unwrap();
        assert_eq!(text.lines().count(), 1);
        // The writer cuts the session: the next part names the first.
        let next = format!("{header},\"part\":2,\"previous\":\"f1-20261124T213000.000Z.session.jsonl\"}}\n");
        std::fs::write(dir.join("f1-20261124T220000.000Z.session.jsonl"), &next).unwrap();
        let mut more = String::new();
        files.read_to_string(&mut more).unwrap();
        assert_eq!(more, next);
        assert_eq!(files.paths.len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
