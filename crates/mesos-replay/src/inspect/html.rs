//! `inspect --html`: sessions drawn in one self-contained HTML file (its
//! style and script inline, no network, works from `file://`).
//!
//! The file holds, as data the page's script draws:
//!
//! - every entry's row (time, kind, label, ids, what it answers), with
//!   runs of heartbeats folded into one row, for the sequence diagram
//!   framework ↔ master; the page renders only the rows in view, so a
//!   session of 100 000 entries scrolls like a short one;
//! - the [`Story`]: a lane per task (its states over time, each update's
//!   acknowledgement, unacknowledged and re-sent updates, kills and their
//!   answers) and the offers per agent (offered, accepted by which launch,
//!   declined with the filter, rescinded, outstanding);
//! - notes (gaps) and the divergences of a `serve` report (`--report`),
//!   placed at the entry they are about;
//! - every entry's line as the session file has it, and the message of
//!   each protobuf body or record decoded to Mesos JSON (a JSON one is its
//!   own decoding), shown on a click; search by any id.
//!
//! The data and the lines are gzipped and written in base64 in two
//! `text/plain` script elements (a tenth of their size, and nothing in a
//! body can end the element); the page inflates them with the browser's own
//! `DecompressionStream` (Chromium 80, Firefox 113, Safari 16.4 and later)
//! and then drops the elements, so the document stays small.
//!
//! ```
//! use mesos_replay::inspect::html::{SessionInput, write_html};
//! let session = concat!(
//!     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"2026-11-24T21:30:00Z"}"#, "\n",
//!     r#"{"seq":0,"t_ns":1000,"conn":1,"kind":"note","message":"</script> a gap","incomplete":true}"#, "\n",
//! );
//! let mut out = Vec::new();
//! let written = write_html(vec![SessionInput { name: "s".into(), input: session.as_bytes() }], None, &mut out).unwrap();
//! assert_eq!(written.entries, 1);
//! let page = String::from_utf8(out).unwrap();
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! assert_eq!(page.matches("</script>").count(), 3, "only the page's own script elements end");
//! assert!(!page.contains("http://") && !page.contains("https://"), "nothing from the network");
//! ```

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read, Write};

use mesos_codec::api::Encoding;
use mesos_codec::peek::peek_ids;
use mesos_codec::session::{EntryKind, Item};
use serde_json::{Value, json};

use super::filter::parse_rfc3339;
use super::story::{At, Outcome, Story};
use super::{InspectError, ids_text};
use crate::messages::{Items, canonical};
use crate::pairing::{Paired, Pairing};

const CSS: &str = include_str!("page.css");
const BODY: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");

/// One session to draw: its name (shown, and matched with a report's
/// `session`) and its bytes.
pub struct SessionInput<R> {
    /// The name shown.
    pub name: String,
    /// The session file.
    pub input: R,
}

/// What was drawn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Entries.
    pub entries: u64,
    /// Tasks.
    pub tasks: usize,
    /// Offers.
    pub offers: usize,
    /// Bytes of HTML written.
    pub bytes: u64,
    /// Torn last lines skipped, in words.
    pub torn: Vec<String>,
}

/// A session that could not be drawn, and why.
#[derive(Debug, thiserror::Error)]
#[error("{session}: {error}")]
pub struct HtmlError {
    /// The session's name.
    pub session: String,
    /// What was wrong.
    pub error: InspectError,
}

impl From<io::Error> for HtmlError {
    fn from(e: io::Error) -> HtmlError {
        HtmlError { session: "(output)".into(), error: InspectError::Io(e) }
    }
}

/// The rows of the sequence diagram, as parallel arrays.
#[derive(Default)]
struct Rows {
    session: Vec<usize>,
    seq: Vec<u64>,
    t: Vec<f64>,
    kind: String,
    conn: Vec<u64>,
    label: Vec<String>,
    ids: Vec<String>,
    /// A response's request, an event's or close's stream (its response), a
    /// note's entry: as entry indices, -1 for none.
    link: Vec<i64>,
    /// 1: an error answer, 2: a note about lost data.
    flag: Vec<u8>,
    /// Whether the entry is a heartbeat (folded).
    heartbeat: Vec<bool>,
}

struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `bytes` gzipped, in base64: what the page inflates.
fn gzip_base64(bytes: &[u8]) -> io::Result<String> {
    use base64::Engine as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(encoder.finish()?))
}

fn at_json(at: At) -> Value {
    json!(at.entry)
}

/// Reads every session and writes the page to `out`.
pub fn write_html<R: Read>(
    sessions: Vec<SessionInput<R>>,
    report: Option<&Value>,
    out: &mut impl Write,
) -> Result<Written, HtmlError> {
    let mut rows = Rows::default();
    let mut lines: Vec<u8> = Vec::new();
    let mut decoded = serde_json::Map::new();
    let mut story = Story::default();
    let mut names = Vec::new();
    let mut written = Written::default();
    // Entry index by (session, line), for the report's divergences.
    let mut by_line: HashMap<(usize, u64), usize> = HashMap::new();
    let mut starts = Vec::new();
    let mut files = Vec::new();
    for SessionInput { name, mut input } in sessions {
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes).map_err(|e| HtmlError { session: name.clone(), error: e.into() })?;
        let start = first_line_start(&bytes);
        starts.push(start);
        files.push((name, bytes));
    }
    let origin = starts.iter().flatten().min().copied().unwrap_or(0);
    for (s, (name, bytes)) in files.iter().enumerate() {
        let offset = starts[s].map_or(0, |start| (start - origin).clamp(0, u64::MAX as i128) as u64);
        if s > 0 {
            story.next_session();
        }
        let err = |error: InspectError| HtmlError { session: name.clone(), error };
        let mut items = Items::new(&bytes[..]);
        let mut pairing = Pairing::default();
        let mut header = false;
        let mut response_entry: HashMap<u64, usize> = HashMap::new();
        let mut request_entry: HashMap<u64, usize> = HashMap::new();
        while let Some((item, span)) = items.next_item().map_err(|e| err(e.into()))? {
            let entry = match item {
                Item::Header(_) => {
                    header = true;
                    continue;
                }
                Item::Entry(entry) => entry,
            };
            let index = rows.seq.len();
            by_line.insert((s, span.line), index);
            let line = &bytes[span.offset as usize..(span.offset + span.len) as usize];
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            lines.extend_from_slice(line);
            lines.push(b'\n');
            let paired = pairing.pair(&entry);
            let t_ns = offset + entry.t_ns;
            story.add(&entry, paired, At { entry: index, seq: entry.seq, t_ns });
            let message = match (paired, &entry.kind) {
                (Paired::Request { api, .. }, EntryKind::Request(r)) => {
                    api.call.map(|id| (id, &r.body, r.summary.format))
                }
                (Paired::Event { message, .. }, EntryKind::Event(e)) => {
                    message.map(|id| (id, &e.record, e.summary.format))
                }
                _ => None,
            };
            let mut ids = String::new();
            if let Some((id, body, format)) = message
                && !body.is_empty()
            {
                let encoding = Encoding::of(format, body);
                if let Ok(found) = peek_ids(id, encoding, body) {
                    ids = ids_text(&found);
                }
                if encoding == Encoding::Protobuf
                    && let Ok(v) = canonical(id, body, format)
                {
                    decoded.insert(index.to_string(), v);
                }
            }
            let (kind, label, link, flag, heartbeat) = match (&entry.kind, paired) {
                (EntryKind::Request(r), _) => {
                    request_entry.insert(entry.seq, index);
                    let name = r
                        .summary
                        .name
                        .as_deref()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("{} {}", r.method, r.path));
                    ('q', name, -1, 0, false)
                }
                (EntryKind::Response(r), _) => {
                    response_entry.insert(entry.seq, index);
                    let request = r.request.and_then(|seq| request_entry.get(&seq)).map_or(-1, |&i| i as i64);
                    let mut label = r.status.to_string();
                    if r.stream {
                        label.push_str(" (event stream)");
                    } else if r.status >= 400 && !r.body.is_empty() {
                        let text = String::from_utf8_lossy(&r.body);
                        label.push(' ');
                        label.extend(text.trim().chars().take(120));
                    }
                    ('r', label, request, u8::from(r.status >= 400), false)
                }
                (EntryKind::Event(e), _) => {
                    let name = e.summary.name.as_deref().map(str::to_owned).unwrap_or_else(|| "(record)".to_owned());
                    let stream = response_entry.get(&e.stream).map_or(-1, |&i| i as i64);
                    let heartbeat = name == "HEARTBEAT";
                    let label = match (name.as_str(), story_state(&story, index)) {
                        ("UPDATE", Some(state)) => format!("UPDATE {state}"),
                        _ => name,
                    };
                    ('e', label, stream, 0, heartbeat)
                }
                (EntryKind::Close(c), _) => {
                    let what = if c.stream.is_some() { "stream closed" } else { "connection closed" };
                    let stream = c.stream.and_then(|seq| response_entry.get(&seq)).map_or(-1, |&i| i as i64);
                    let reason = c.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
                    ('c', format!("{what} by {}{reason}", c.by.as_str()), stream, 0, false)
                }
                (EntryKind::Note(n), _) => {
                    let refers = n.refers.and_then(|seq| request_entry.get(&seq).or(response_entry.get(&seq)));
                    ('n', n.message.clone(), refers.map_or(-1, |&i| i as i64), if n.incomplete { 2 } else { 0 }, false)
                }
                (EntryKind::End(e), _) => {
                    let state = if e.complete { "complete" } else { "INCOMPLETE" };
                    (
                        'x',
                        format!("end of session ({} entries, {state})", e.entries),
                        -1,
                        u8::from(!e.complete) * 2,
                        false,
                    )
                }
            };
            rows.session.push(s);
            rows.seq.push(entry.seq);
            rows.t.push(t_ns as f64 / 1e6);
            rows.kind.push(kind);
            rows.conn.push(entry.conn);
            rows.label.push(label);
            rows.ids.push(ids);
            rows.link.push(link);
            rows.flag.push(flag);
            rows.heartbeat.push(heartbeat);
            written.entries += 1;
        }
        if !header {
            return Err(err(InspectError::Read(crate::messages::ReadError::NoHeader)));
        }
        if let Some(torn) = items.finish() {
            written.torn.push(format!("{name}: line {}: torn last line ({} bytes), skipped", torn.line, torn.bytes));
        }
        names.push(name.clone());
    }

    // The diagram's order: by time across sessions (each session's own
    // order kept), heartbeats in a row folded into one.
    let mut order: Vec<usize> = (0..rows.seq.len()).collect();
    order.sort_by(|&a, &b| rows.t[a].total_cmp(&rows.t[b]).then(rows.session[a].cmp(&rows.session[b])).then(a.cmp(&b)));
    let (mut row_entry, mut row_count) = (Vec::new(), Vec::new());
    let mut row_of = vec![0usize; order.len()];
    for &e in &order {
        if rows.heartbeat[e]
            && let (Some(&last), Some(count)) = (row_entry.last(), row_count.last_mut())
            && rows.heartbeat[last]
        {
            *count += 1;
            row_of[e] = row_entry.len() - 1;
            continue;
        }
        row_of[e] = row_entry.len();
        row_entry.push(e);
        row_count.push(1u32);
    }

    let divergences = report.map(|r| divergences(r, &names, &by_line)).unwrap_or_default();
    let tasks: Vec<Value> = story
        .tasks
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "agent": t.agent, "framework": t.framework,
                "launch": t.launched.map(|(at, status)| json!([at.entry, status])),
                "updates": t.updates.iter().map(|u| json!({
                    "e": at_json(u.at), "state": u.state, "uuid": u.uuid, "reason": u.reason, "message": u.message,
                    "ack": u.ack.map(|(at, status)| json!([at.entry, status])),
                    "resent": u.resent_of.is_some(),
                })).collect::<Vec<_>>(),
                "kills": t.kills.iter().map(|k| json!([k.at.entry, k.answer])).collect::<Vec<_>>(),
                "res": t.scalars.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
            })
        })
        .collect();
    let offers: Vec<Value> = story
        .offers
        .iter()
        .map(|o| {
            let (outcome, detail) = match &o.outcome {
                Outcome::Outstanding => ("outstanding", String::new()),
                Outcome::Accepted { tasks, operations } => (
                    "accepted",
                    if tasks.is_empty() { operations.join(", ") } else { format!("launched {}", tasks.join(", ")) },
                ),
                Outcome::Declined { refuse_seconds } => {
                    ("declined", refuse_seconds.map(|s| format!("refuse_seconds {s}")).unwrap_or_default())
                }
                Outcome::Rescinded => ("rescinded", String::new()),
            };
            json!({
                "id": o.id, "agent": o.agent, "host": o.hostname, "res": o.resources, "framework": o.framework,
                "e": o.offered.entry, "outcome": outcome, "detail": detail,
                "scalars": o.scalars.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
                "end": o.ended.map(|(at, status)| json!([at.entry, status])),
            })
        })
        .collect();
    let agents: BTreeSet<&str> = story
        .offers
        .iter()
        .map(|o| o.agent.as_str())
        .chain(story.tasks.iter().filter_map(|t| t.agent.as_deref()))
        .collect();
    let notes: Vec<Value> =
        story.notes.iter().map(|n| json!({"e": n.at.entry, "text": n.message, "gap": n.incomplete})).collect();
    let frameworks: Vec<Value> =
        story.frameworks.iter().map(|f| json!({"id": f.id, "calls": f.calls, "events": f.events})).collect();
    // Serialized from the vectors as they are (a `Value` of 100 000
    // entries would copy every string once more).
    #[derive(serde::Serialize)]
    struct Entries<'a> {
        session: &'a [usize],
        seq: &'a [u64],
        t: &'a [f64],
        kind: &'a str,
        conn: &'a [u64],
        label: &'a [String],
        ids: &'a [String],
        link: &'a [i64],
        flag: &'a [u8],
    }
    #[derive(serde::Serialize)]
    struct RowsOut<'a> {
        entry: &'a [usize],
        count: &'a [u32],
        of: &'a [usize],
    }
    #[derive(serde::Serialize)]
    struct Data<'a> {
        sessions: &'a [String],
        entries: Entries<'a>,
        rows: RowsOut<'a>,
        decoded: &'a serde_json::Map<String, Value>,
        tasks: &'a [Value],
        offers: &'a [Value],
        agents: &'a BTreeSet<&'a str>,
        notes: &'a [Value],
        frameworks: &'a [Value],
        divergences: &'a [Value],
        end: f64,
    }
    let data = Data {
        sessions: &names,
        entries: Entries {
            session: &rows.session,
            seq: &rows.seq,
            t: &rows.t,
            kind: &rows.kind,
            conn: &rows.conn,
            label: &rows.label,
            ids: &rows.ids,
            link: &rows.link,
            flag: &rows.flag,
        },
        rows: RowsOut { entry: &row_entry, count: &row_count, of: &row_of },
        decoded: &decoded,
        tasks: &tasks,
        offers: &offers,
        agents: &agents,
        notes: &notes,
        frameworks: &frameworks,
        divergences: &divergences,
        end: story.end_ns as f64 / 1e6,
    };
    written.tasks = story.tasks.len();
    written.offers = story.offers.len();

    let mut w = CountingWriter { inner: out, bytes: 0 };
    let title: String = names.join(", ").chars().filter(|c| !matches!(c, '<' | '>' | '&')).collect();
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{BODY}"
    )?;
    let data = serde_json::to_vec(&data).map_err(io::Error::from)?;
    w.write_all(b"<script type=\"text/plain\" id=\"data\" data-encoding=\"gzip base64\">")?;
    w.write_all(gzip_base64(&data)?.as_bytes())?;
    w.write_all(b"</script>\n<script type=\"text/plain\" id=\"raw\" data-encoding=\"gzip base64\">")?;
    w.write_all(gzip_base64(&lines)?.as_bytes())?;
    write!(w, "</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n")?;
    w.flush()?;
    written.bytes = w.bytes;
    Ok(written)
}

/// The state of the update that entry `index` is, if it is one: the last
/// update the story took (it was just fed the entry).
fn story_state(story: &Story, index: usize) -> Option<&str> {
    story.last_update().filter(|(_, u)| u.at.entry == index).map(|(_, u)| u.state.as_str())
}

/// The header's start time, read from the first line, when it has one.
fn first_line_start(bytes: &[u8]) -> Option<i128> {
    let end = memchr_newline(bytes)?;
    let header: Value = serde_json::from_slice(&bytes[..end]).ok()?;
    parse_rfc3339(header.get("started_at")?.as_str()?)
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// The report's divergences, each at the entry of its recorded call's
/// line in the session the report names (by file name), when it has one.
fn divergences(report: &Value, names: &[String], by_line: &HashMap<(usize, u64), usize>) -> Vec<Value> {
    let reported = report.get("session").and_then(Value::as_str).unwrap_or_default();
    let file_name = |s: &str| s.rsplit('/').next().unwrap_or(s).to_owned();
    let session = names.iter().position(|n| file_name(n) == file_name(reported)).unwrap_or(0);
    let list = report.get("divergences").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .map(|d| {
            let line = d.get("line").and_then(Value::as_u64);
            let entry = line.and_then(|l| by_line.get(&(session, l)).copied());
            let text = [d.get("kind"), d.get("type"), d.get("path"), d.get("message")]
                .iter()
                .filter_map(|v| v.and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(": ");
            json!({"e": entry, "line": line, "text": text})
        })
        .collect()
}
