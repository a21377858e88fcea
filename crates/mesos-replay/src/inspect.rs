//! `mesos-replay inspect`: a session as a readable timeline, or every entry
//! fully decoded as JSON lines for jq.
//!
//! The session is read as a stream (64 KiB at a time through
//! [`mesos_codec::session::Reader`]), so memory stays flat however large the
//! file. Bodies and records are decoded with the message type their API path
//! says (`/api/v1/scheduler` → `scheduler.Call` / `scheduler.Event`, and so
//! on) and their recorded format.
//!
//! ```
//! use mesos_replay::inspect::{Style, inspect};
//! let session = concat!(
//!     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t","tool":"x","redacted":true}"#, "\n",
//!     r#"{"seq":0,"t_ns":1500000,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"TEARDOWN\",\"framework_id\":{\"value\":\"f1\"}}","call":"TEARDOWN","format":"json","framework_id":"f1"}"#, "\n",
//! );
//! let mut out = Vec::new();
//! let summary = inspect(session.as_bytes(), &mut out, Style::Timeline { colour: false }).unwrap();
//! assert_eq!(summary.entries, 1);
//! assert_eq!(String::from_utf8(out).unwrap(), "     0.001500  #0  conn 1  →  TEARDOWN  framework=f1\n");
//! ```

use std::io::{self, Read, Write};

use mesos_codec::api::Encoding;
use mesos_codec::json::{json_to_protobuf, protobuf_to_json};
use mesos_codec::peek::{Ids, peek_ids};
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Entry, EntryKind, Item, SessionError, TornLine};
use serde_json::Value;

use crate::messages::{Items, ReadError};
use crate::pairing::{Paired, Pairing};

/// How to print a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One readable line per entry: time, direction, type, key ids, status.
    Timeline {
        /// ANSI colours (for a terminal).
        colour: bool,
    },
    /// Every entry as a JSON object with its message decoded (`"message"`).
    Json,
}

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries printed.
    pub entries: u64,
    /// A torn last line, reported and skipped.
    pub torn: Option<TornLine>,
}

/// Why a session could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The session file is bad (the line says where).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Reading the file or writing the output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Not one whole line: an empty file (a recorder that could not write
    /// anything) is not a session.
    #[error("line 1: no header line: an empty file is not a session")]
    NoHeader,
}

impl From<ReadError> for InspectError {
    fn from(err: ReadError) -> InspectError {
        match err {
            ReadError::Session(e) => InspectError::Session(e),
            ReadError::Io(e) => InspectError::Io(e),
        }
    }
}

/// Reads a session from `input` and prints it to `out` in `style`.
pub fn inspect(input: impl Read, out: &mut impl Write, style: Style) -> Result<Summary, InspectError> {
    let mut items = Items::new(input);
    let mut summary = Summary::default();
    let mut pairing = Pairing::default();
    let mut header = false;
    while let Some((item, _)) = items.next_item()? {
        let Item::Entry(entry) = item else {
            header = true;
            continue;
        };
        let message = match (pairing.pair(&entry), &entry.kind) {
            (Paired::Request { api, .. }, EntryKind::Request(r)) => api.call.map(|id| (id, &r.body, r.summary.format)),
            (Paired::Event { message, .. }, EntryKind::Event(e)) => message.map(|id| (id, &e.record, e.summary.format)),
            _ => None,
        };
        match style {
            Style::Timeline { colour } => timeline(&entry, message, colour, out)?,
            Style::Json => json_line(&entry, message, out)?,
        }
        summary.entries += 1;
    }
    summary.torn = items.finish();
    out.flush()?;
    if !header {
        return Err(InspectError::NoHeader);
    }
    Ok(summary)
}

/// `name=a,b` for each kind of id the message holds.
fn ids_text(ids: &Ids<'_>) -> String {
    let mut parts = Vec::new();
    let lists: [(&str, Vec<String>); 6] = [
        ("framework", ids.framework_ids.iter().map(|s| s.to_string()).collect()),
        ("offers", ids.offer_ids.iter().map(|s| s.to_string()).collect()),
        ("agents", ids.agent_ids.iter().map(|s| s.to_string()).collect()),
        ("tasks", ids.task_ids.iter().map(|s| s.to_string()).collect()),
        ("executors", ids.executor_ids.iter().map(|s| s.to_string()).collect()),
        ("uuid", ids.status_uuids.iter().map(|u| u.to_string()).collect()),
    ];
    for (name, values) in lists {
        if !values.is_empty() {
            parts.push(format!("{name}={}", values.join(",")));
        }
    }
    parts.join(" ")
}

const RESET: &str = "\x1b[0m";

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour { format!("\x1b[{code}m{text}{RESET}") } else { text.to_owned() }
}

fn timeline(
    entry: &Entry,
    message: Option<(MessageId, &Vec<u8>, Option<Encoding>)>,
    colour: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let time = format!("{:>6}.{:06}", entry.t_ns / 1_000_000_000, entry.t_ns % 1_000_000_000 / 1000);
    let head = format!("{time}  #{}  conn {}", entry.seq, entry.conn);
    let ids = message
        .and_then(|(id, bytes, format)| peek_ids(id, Encoding::of(format, bytes), bytes).ok().map(|ids| ids_text(&ids)))
        .filter(|t| !t.is_empty())
        .map(|t| format!("  {t}"))
        .unwrap_or_default();
    let line = match &entry.kind {
        EntryKind::Request(r) => {
            let name = r.summary.name.clone().unwrap_or_else(|| format!("{} {}", r.method, r.path));
            format!("→  {}{ids}", paint(colour, "36;1", &name))
        }
        EntryKind::Response(r) => {
            let status = r.status.to_string();
            let status = paint(colour, if r.status < 400 { "32" } else { "31;1" }, &status);
            let stream = if r.stream { "  (event stream)" } else { "" };
            let body = if r.status >= 400 && !r.body.is_empty() {
                format!("  {}", String::from_utf8_lossy(&r.body).trim())
            } else {
                String::new()
            };
            format!("←  {status}{stream}{body}")
        }
        EntryKind::Event(e) => {
            let name = e.summary.name.clone().unwrap_or_else(|| "(record)".to_owned());
            let chunks = e.chunks.as_ref().map(|c| format!("  chunks={c:?}")).unwrap_or_default();
            format!("⇐  {}{ids}{chunks}", paint(colour, "33", &name))
        }
        EntryKind::Close(c) => {
            let what = if c.stream.is_some() { "stream closed" } else { "connection closed" };
            let reason = c.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            format!("×  {what} by {}{reason}", c.by.as_str())
        }
        EntryKind::Note(n) => format!("!  {}", paint(colour, "35", &n.message)),
        EntryKind::End(e) => {
            format!("■  end of session ({} entries, {})", e.entries, if e.complete { "complete" } else { "INCOMPLETE" })
        }
    };
    writeln!(out, "{head}  {line}")
}

fn json_line(
    entry: &Entry,
    message: Option<(MessageId, &Vec<u8>, Option<Encoding>)>,
    out: &mut impl Write,
) -> io::Result<()> {
    // The entry as the file has it, plus its message decoded.
    let mut value: Value = serde_json::from_slice(&entry.to_line()).unwrap_or(Value::Null);
    if let (Value::Object(object), Some((id, bytes, format))) = (&mut value, message) {
        if !bytes.is_empty() {
            let decoded = match Encoding::of(format, bytes) {
                Encoding::Json => json_to_protobuf(id, bytes).map_err(|e| e.to_string()),
                Encoding::Protobuf => Ok(bytes.clone()),
            }
            .and_then(|pb| protobuf_to_json(id, &pb).map_err(|e| e.to_string()))
            .and_then(|t| serde_json::from_slice::<Value>(&t.json).map_err(|e| e.to_string()));
            match decoded {
                Ok(message) => object.insert("message".into(), message),
                Err(error) => object.insert("message_error".into(), Value::String(error)),
            };
        }
    }
    serde_json::to_writer(&mut *out, &value)?;
    out.write_all(b"\n")
}
