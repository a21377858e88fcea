//! `mesos-replay inspect`: a session as a readable timeline, or every entry
//! fully decoded as JSON lines for jq, the entries chosen by [`filter`]
//! (task, framework, agent, offer, type, time range); `--summary` tells its
//! [`story`] (each task's life, the unacknowledged updates, the offers held
//! longest); `--follow` reads a session still being written; [`html`] draws
//! sessions in one self-contained page.
//!
//! The session is read as a stream (through
//! [`mesos_codec::session::Reader`]), so memory stays flat however large the
//! file (for a timeline or JSON lines; a summary keeps one record per task
//! and offer). Bodies and records are decoded with the message type their API path
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

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};

use mesos_codec::api::Encoding;
use mesos_codec::json::{json_to_protobuf, protobuf_to_json};
use mesos_codec::peek::{Ids, peek_ids};
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Entry, EntryKind, Item, TornLine};
use serde_json::Value;

use crate::messages::{Items, ReadError};
use crate::pairing::{Paired, Pairing};

pub mod filter;

pub mod html;
pub mod story;
mod summary;

use filter::{Filter, Owned, parse_rfc3339};
pub use summary::write_summary;

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
    /// `--summary`: per task its life in one line, per framework its calls
    /// and events counted, the unacknowledged updates, the offers held
    /// longest ([`write_summary`]).
    Summary,
}

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries printed (for [`Style::Summary`]: entries told).
    pub entries: u64,
    /// A torn last line, reported and skipped.
    pub torn: Option<TornLine>,
}

/// Why a session could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The session cannot be read (the line says where).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A filter cannot apply to this session (a wall time, and a header
    /// without a start time).
    #[error("line {line}: {message}")]
    Filter {
        /// The line (the header's).
        line: u64,
        /// Why.
        message: String,
    },
}

/// Reads a session from `input` and prints it to `out` in `style`.
pub fn inspect(input: impl Read, out: &mut impl Write, style: Style) -> Result<Summary, InspectError> {
    inspect_with(input, out, style, &Filter::default(), None)
}

/// What `--follow` does at the end of what was written so far: wait for
/// more (and return `true` to read on) or give up (`false`). Called only
/// until the session's `end` entry is read.
pub type Wait<'a> = &'a mut dyn FnMut() -> bool;

/// Reads a session from `input` and prints the entries `filter` selects to
/// `out` in `style`. With `follow`, the end of the input is not the end of
/// the session: a file still being written is read on (through the same
/// [`mesos_codec::session::Reader`], a torn last line waiting for the rest
/// of it) until its `end` entry, or until `follow` gives up.
///
/// ```
/// use mesos_replay::inspect::filter::Filter;
/// use mesos_replay::inspect::{Style, inspect_with};
/// let session = concat!(
///     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"2026-11-24T21:30:00Z"}"#, "\n",
///     r#"{"seq":0,"t_ns":1000,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"KILL\",\"kill\":{\"task_id\":{\"value\":\"t1\"}}}","call":"KILL","format":"json"}"#, "\n",
///     r#"{"seq":1,"t_ns":2000,"conn":1,"kind":"response","request":0,"status":202,"headers":[]}"#, "\n",
///     r#"{"seq":2,"t_ns":3000,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"KILL\",\"kill\":{\"task_id\":{\"value\":\"t2\"}}}","call":"KILL","format":"json"}"#, "\n",
/// );
/// let filter = Filter { tasks: vec!["t1".into()], ..Filter::default() };
/// let mut out = Vec::new();
/// inspect_with(session.as_bytes(), &mut out, Style::Timeline { colour: false }, &filter, None).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// assert_eq!(text.lines().count(), 2, "{text}"); // the KILL of t1 and its answer
/// ```
pub fn inspect_with(
    input: impl Read,
    out: &mut impl Write,
    style: Style,
    filter: &Filter,
    mut follow: Option<Wait<'_>>,
) -> Result<Summary, InspectError> {
    let mut items = Items::new(input);
    let mut summary = Summary::default();
    let mut pairing = Pairing::default();
    let mut select = Select::default();
    let mut story = story::Story::default();
    let mut header = false;
    let (mut since, mut until) = (None, None);
    let mut ended = false;
    let mut past_until = false;
    loop {
        let Some((item, span)) = items.next_item()? else {
            if ended {
                break;
            }
            out.flush()?;
            let more = follow.as_mut().is_some_and(|wait| wait());
            if more {
                continue;
            }
            break;
        };
        let entry = match item {
            Item::Header(h) => {
                header = true;
                let start = parse_rfc3339(&h.started_at);
                let place = |bound: Option<filter::Bound>, flag: &str| -> Result<Option<u64>, InspectError> {
                    match bound {
                        None => Ok(None),
                        Some(b) => b.session_ns(start).map(Some).ok_or_else(|| InspectError::Filter {
                            line: span.line,
                            message: format!(
                                "{flag} is a wall time, and the header's started_at {:?} is not an RFC 3339 time to place it by",
                                h.started_at
                            ),
                        }),
                    }
                };
                since = place(filter.since, "--since")?;
                until = place(filter.until, "--until")?;
                continue;
            }
            Item::Entry(entry) => entry,
        };
        ended |= matches!(entry.kind, EntryKind::End(_));
        if until.is_some_and(|u| entry.t_ns > u) {
            // Times never go back: nothing later can be in range.
            past_until = true;
            break;
        }
        let paired = pairing.pair(&entry);
        let message = match (paired, &entry.kind) {
            (Paired::Request { api, .. }, EntryKind::Request(r)) => api.call.map(|id| (id, &r.body, r.summary.format)),
            (Paired::Event { message, .. }, EntryKind::Event(e)) => message.map(|id| (id, &e.record, e.summary.format)),
            _ => None,
        };
        let ids = message.and_then(|(id, bytes, format)| peek_ids(id, Encoding::of(format, bytes), bytes).ok());
        // A summary is told from every entry in the time range; its filters
        // choose the rows it prints.
        let selected = style == Style::Summary || select.selects(filter, &entry, paired, ids.as_ref(), message);
        if since.is_some_and(|s| entry.t_ns < s) || !selected {
            continue;
        }
        match style {
            Style::Timeline { colour } => timeline(&entry, ids.as_ref(), colour, out)?,
            Style::Json => json_line(&entry, message, out)?,
            Style::Summary => {
                let at = story::At { entry: summary.entries as usize, seq: entry.seq, t_ns: entry.t_ns };
                story.add(&entry, paired, at);
            }
        }
        summary.entries += 1;
    }
    if !past_until {
        summary.torn = items.finish();
    }
    if !header {
        return Err(ReadError::NoHeader.into());
    }
    if style == Style::Summary {
        write_summary(&story, filter, out)?;
    }
    out.flush()?;
    Ok(summary)
}

/// Which entries the id and type filters select, remembering what the
/// answers, streams and notes that come later belong to.
#[derive(Debug, Default)]
struct Select {
    /// Calls selected (their answers and streams follow them).
    calls: HashSet<usize>,
    /// Each call's framework, as its request said.
    call_framework: HashMap<usize, String>,
    /// Each stream's framework (its call's, or its SUBSCRIBED event's).
    stream_framework: HashMap<usize, String>,
    /// Each stream's call.
    stream_call: HashMap<usize, usize>,
    /// The `seq`s selected, for the notes that refer to them.
    seqs: HashSet<u64>,
    /// With `--agent`: each offer's agent, so that a call answering offers
    /// (ACCEPT, DECLINE) is about their agents too.
    offer_agents: HashMap<String, String>,
}

impl Select {
    fn selects(
        &mut self,
        filter: &Filter,
        entry: &Entry,
        paired: Paired,
        ids: Option<&Ids<'_>>,
        message: Option<(MessageId, &Vec<u8>, Option<Encoding>)>,
    ) -> bool {
        let mut owned = ids.map(Owned::of).unwrap_or_default();
        if !filter.agents.is_empty() {
            if let (EntryKind::Event(e), Some((id, bytes, format))) = (&entry.kind, message)
                && e.summary.name.as_deref() == Some("OFFERS")
                && let Ok(offers) = crate::messages::canonical(id, bytes, format)
            {
                let list = offers.get("offers").and_then(|o| o.get("offers")).and_then(Value::as_array);
                for offer in list.into_iter().flatten() {
                    let value = |key: &str| offer.get(key).and_then(|v| v.get("value")).and_then(Value::as_str);
                    if let (Some(offer), Some(agent)) = (value("id"), value("agent_id")) {
                        self.offer_agents.insert(offer.to_owned(), agent.to_owned());
                    }
                }
            }
            let agents: Vec<String> = owned.offers.iter().filter_map(|o| self.offer_agents.get(o)).cloned().collect();
            owned.agents.extend(agents);
        }
        let selected = match (&entry.kind, paired) {
            (EntryKind::Request(r), Paired::Request { call, .. }) => {
                let framework = r.summary.framework_id.clone().or_else(|| owned.frameworks.first().cloned());
                let selected = filter.matches(&owned, r.summary.name.as_deref(), framework.as_deref());
                if let Some(f) = framework {
                    self.call_framework.insert(call, f);
                }
                if selected {
                    self.calls.insert(call);
                }
                selected
            }
            (EntryKind::Response(_), Paired::Response { call, stream, .. }) => {
                if let Some(stream) = stream {
                    self.stream_call.insert(stream, call);
                    if let Some(f) = self.call_framework.get(&call) {
                        self.stream_framework.insert(stream, f.clone());
                    }
                }
                self.calls.contains(&call)
            }
            (EntryKind::Event(e), Paired::Event { stream, .. }) => {
                if e.summary.name.as_deref() == Some("SUBSCRIBED")
                    && let Some(f) = owned.frameworks.first()
                {
                    self.stream_framework.insert(stream, f.clone());
                }
                let framework = self.stream_framework.get(&stream).cloned().or_else(|| e.summary.framework_id.clone());
                filter.matches(&owned, e.summary.name.as_deref(), framework.as_deref())
            }
            (EntryKind::Close(_), Paired::Close { stream: Some(stream) }) => {
                !filter.selects_ids() || self.stream_call.get(&stream).is_some_and(|c| self.calls.contains(c))
            }
            (EntryKind::Note(n), _) => {
                !filter.selects_ids() || n.incomplete || n.refers.is_some_and(|seq| self.seqs.contains(&seq))
            }
            _ => !filter.selects_ids(),
        };
        if selected && filter.selects_ids() {
            self.seqs.insert(entry.seq);
        }
        selected
    }
}

/// `name=a,b` for each kind of id the message holds.
pub(crate) fn ids_text(ids: &Ids<'_>) -> String {
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

fn timeline(entry: &Entry, ids: Option<&Ids<'_>>, colour: bool, out: &mut impl Write) -> io::Result<()> {
    let time = format!("{:>6}.{:06}", entry.t_ns / 1_000_000_000, entry.t_ns % 1_000_000_000 / 1000);
    let head = format!("{time}  #{}  conn {}", entry.seq, entry.conn);
    let ids = ids.map(ids_text).filter(|t| !t.is_empty()).map(|t| format!("  {t}")).unwrap_or_default();
    let line = match &entry.kind {
        EntryKind::Request(r) => {
            let name =
                r.summary.name.as_deref().map(str::to_owned).unwrap_or_else(|| format!("{} {}", r.method, r.path));
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
            let name = e.summary.name.as_deref().map(str::to_owned).unwrap_or_else(|| "(record)".to_owned());
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
