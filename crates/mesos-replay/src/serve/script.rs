//! The first pass over a session: where every call, answer and stream is,
//! checked whole before anything is served.
//!
//! Only positions and small facts are kept (about 100 bytes a call, nothing
//! per event), so a session of any size indexes in little memory; bodies are
//! read again from the file when a call is matched.

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use mesos_codec::api::Encoding;
use mesos_codec::peek::peek_ids;
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Entry, EntryKind, Header, Item, Party, TornLine};

use crate::diff::CallKey;
use crate::messages::{Items, ReadError};
use crate::pairing::{Paired, Pairing};

/// Why a session cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The session file cannot be read; the line says where.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What is wrong, and on which line.
        source: ReadError,
    },
    /// The last line is torn (the recorder died mid-line).
    #[error(
        "{path}: line {line}: torn last line ({bytes} bytes without a newline; the recorder died mid-line); \
         pass --allow-torn to replay the {line_before} complete lines before it"
    )]
    Torn {
        /// The file.
        path: String,
        /// The torn line's number.
        line: u64,
        /// The number of the last complete line.
        line_before: u64,
        /// Its length.
        bytes: usize,
    },
}

/// Where a line lies in the file.
pub(crate) use crate::messages::LineSpan as Span;

/// A recorded call.
#[derive(Debug, Clone)]
pub(crate) struct RecordedCall {
    pub key: CallKey,
    pub request: Span,
    pub response: Option<Span>,
    /// The subscription it opened.
    pub sub: Option<usize>,
    /// A hash of the master-chosen ids it names (offers, status uuids), to
    /// tell apart calls of one type sent concurrently.
    pub fingerprint: u64,
}

/// A recorded subscription: a SUBSCRIBE answered with a stream.
#[derive(Debug, Clone)]
pub(crate) struct RecordedSub {
    pub call: usize,
    pub response_seq: u64,
    pub format: Option<Encoding>,
    pub event: Option<MessageId>,
    pub stream_id: Option<String>,
    pub events: u64,
}

/// A session indexed for serving: [`Script::open`] reads it once, checks it
/// whole, and notes where each call, answer and stream is.
///
/// ```no_run
/// let script = mesos_replay::serve::Script::open("f1-20261124T213000.000Z.session.jsonl".as_ref(), false)?;
/// println!("{} calls, {} subscriptions", script.calls(), script.subscriptions());
/// # Ok::<(), mesos_replay::serve::ScriptError>(())
/// ```
#[derive(Debug)]
pub struct Script {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) header: Header,
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) subs: Vec<RecordedSub>,
    pub(crate) events: u64,
    /// Where the complete lines end (a torn line after it is ignored).
    pub(crate) end: u64,
    pub(crate) torn: Option<TornLine>,
    /// A compressed or rotated session's text, written out once as one
    /// plain file (`path`), removed with the script.
    pub(crate) _plain: Option<PlainCopy>,
}

/// A temporary plain copy of a session, removed when dropped.
#[derive(Debug)]
pub(crate) struct PlainCopy(PathBuf);

impl Drop for PlainCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Script {
    /// Reads and indexes a session file. A torn last line is an error
    /// unless `allow_torn`, when the complete lines before it are served.
    /// A compressed session (`.session.jsonl.zst`) and a rotated one (any of
    /// its parts; see [`crate::messages::session_parts`]) are read whole;
    /// their text is written out once to a temporary plain file, which the
    /// replay reads its lines from.
    ///
    /// ```
    /// use mesos_replay::serve::Script;
    /// let path = std::env::temp_dir().join(format!("script-doc-{}.session.jsonl", std::process::id()));
    /// std::fs::write(&path, concat!(
    ///     r#"{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"t"}"#, "\n",
    ///     r#"{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[],"body":"{\"type\":\"SUBSCRIBE\"}"}"#, "\n",
    ///     r#"{"seq":1,"t_ns":5,"conn":1,"kind":"response","request":0,"status":200,"headers":[],"stream":true,"format":"json"}"#, "\n",
    ///     r#"{"seq":2,"t_ns":9,"conn":1,"kind":"event","stream":1,"record":"{\"type\":\"HEARTBEAT\"}"}"#, "\n",
    ///     r#"{"seq":3,"#, // torn: the recorder died here
    /// ))?;
    /// let err = Script::open(&path, false).unwrap_err();
    /// assert!(err.to_string().contains("line 5: torn last line"), "{err}");
    /// let script = Script::open(&path, true)?;
    /// assert_eq!((script.calls(), script.subscriptions(), script.events()), (1, 1, 1));
    /// assert_eq!(script.torn().map(|t| t.line), Some(5));
    /// assert_eq!(script.header().source, mesos_codec::session::Source::Sim);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: &Path, allow_torn: bool) -> Result<Script, ScriptError> {
        let name = path.display().to_string();
        let read_err = |source: ReadError| ScriptError::Read { path: name.clone(), source };
        let files = crate::messages::SessionFiles::open(path).map_err(|e| read_err(e.into()))?;
        let plain_file = files.is_plain_file().map_err(|e| read_err(e.into()))?;
        let paths = files.paths.clone();
        let mut items = Items::new(files);
        let mut header = None;
        let mut calls: Vec<RecordedCall> = Vec::new();
        let mut subs: Vec<RecordedSub> = Vec::new();
        let mut events = 0u64;
        let mut pairing = Pairing::default();
        let mut end = 0;
        loop {
            let (item, span) = match items.next_item() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(source) => return Err(read_err(source)),
            };
            end = span.offset + span.len;
            let entry = match item {
                Item::Header(h) => {
                    header = Some(h);
                    continue;
                }
                Item::Entry(entry) => entry,
            };
            match (pairing.pair(&entry), entry.kind) {
                (Paired::Request { api, .. }, EntryKind::Request(r)) => {
                    let key = CallKey::of(&r.method, &r.path, &r.body, r.summary.format);
                    let fingerprint = fingerprint(api.call, &r.body, r.summary.format);
                    calls.push(RecordedCall { key, request: span, response: None, sub: None, fingerprint });
                }
                (Paired::Response { call: index, api, stream }, EntryKind::Response(r)) => {
                    let call = &mut calls[index];
                    call.response = Some(span);
                    if let Some(sub) = stream {
                        call.sub = Some(sub);
                        let stream_id = r
                            .headers
                            .iter()
                            .rev()
                            .find(|(n, _)| n.eq_ignore_ascii_case("mesos-stream-id"))
                            .map(|(_, v)| v.clone());
                        subs.push(RecordedSub {
                            call: index,
                            response_seq: entry.seq,
                            format: r.format,
                            event: api.event,
                            stream_id,
                            events: 0,
                        });
                    }
                }
                (Paired::Event { stream, .. }, EntryKind::Event(_)) => {
                    subs[stream].events += 1;
                    events += 1;
                }
                _ => {}
            }
        }
        let torn = items.finish();
        if let Some(t) = &torn
            && !allow_torn
        {
            return Err(ScriptError::Torn { path: name, line: t.line, line_before: t.line - 1, bytes: t.bytes });
        }
        let Some(header) = header else { return Err(read_err(ReadError::NoHeader)) };
        let name = path.file_name().map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned());
        let (path, plain) = if plain_file {
            (path.to_owned(), None)
        } else {
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let copy = std::env::temp_dir().join(format!("mesos-replay-{}-{n}.session.jsonl", std::process::id()));
            let plain = PlainCopy(copy.clone());
            crate::messages::write_plain(&paths, &copy)
                .map_err(|e| ScriptError::Read { path: copy.display().to_string(), source: e.into() })?;
            (copy, Some(plain))
        };
        Ok(Script { path, name, header, calls, subs, events, end, torn, _plain: plain })
    }

    /// How many calls the session holds.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// How many subscriptions (SUBSCRIBEs answered with a stream).
    pub fn subscriptions(&self) -> usize {
        self.subs.len()
    }

    /// How many events the subscriptions carried.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The session's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// A torn last line that `allow_torn` skipped.
    pub fn torn(&self) -> Option<&TornLine> {
        self.torn.as_ref()
    }

    /// Reads the entry at `span` again.
    pub(crate) fn read_entry(&self, file: &File, span: Span) -> Result<Entry, ScriptError> {
        let err = |source: ReadError| ScriptError::Read { path: self.name.clone(), source };
        let len = usize::try_from(span.len)
            .map_err(|_| err(std::io::Error::new(std::io::ErrorKind::InvalidData, "line too long").into()))?;
        let mut line = vec![0u8; len];
        file.read_exact_at(&mut line, span.offset).map_err(|e| err(e.into()))?;
        Entry::parse(&line, span.line).map_err(|e| err(e.into()))
    }
}

/// See [`RecordedCall::fingerprint`].
pub(crate) fn fingerprint(call: Option<MessageId>, body: &[u8], format: Option<Encoding>) -> u64 {
    let Some(id) = call else { return 0 };
    let Ok(ids) = peek_ids(id, Encoding::of(format, body), body) else { return 0 };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    ids.offer_ids.hash(&mut h);
    for u in ids.status_uuids.iter().chain(&ids.operation_status_uuids) {
        u.as_bytes().hash(&mut h);
    }
    h.finish()
}

/// Who closed a recorded stream, as a step of the replay.
pub(crate) fn closes_stream(by: Party) -> bool {
    by != Party::Framework
}
