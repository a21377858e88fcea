//! Sessions: one framework's conversation, numbered into entries and handed
//! to its [`crate::writer`] task; and the registry that finds a
//! framework's session from any connection.
//!
//! A session lives while at least one framework connection that touched it is
//! open (a SUBSCRIBE stream keeps its connection open); when the last one
//! closes, or the proxy shuts down, the session writes `close` entries for
//! the streams still open, its `end` entry, closes its file, and logs a
//! one-line summary.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use memchr::memmem;
use mesos_codec::api::Encoding;
use mesos_codec::schema::MessageId;
use mesos_codec::session::{
    Close, Entry, EntryKind, Header, Note, Party, Redactor, Request, Response, Source, Utc, Writer,
};
use tokio::sync::{mpsc, oneshot};

use crate::writer::{self, Msg};

/// What every session of one proxy shares.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Where the files go.
    pub out: PathBuf,
    /// The master, for the header.
    pub master: String,
    /// Keep `Authorization` and `Secret` values (`--keep-secrets`).
    pub keep_secrets: bool,
    /// Compression and rotation of the files (`--compress`, `--rotate-*`).
    pub storage: writer::Storage,
}

struct State {
    writer: Writer,
    redactor: Option<Redactor>,
    /// Proxy connection id → the session's own connection number.
    conns: HashMap<u64, u64>,
    open_streams: BTreeSet<u64>,
    finished: bool,
}

/// One session: entries are numbered here and sent, in order, to the writer.
pub struct Session {
    id: u64,
    started: Instant,
    state: tokio::sync::Mutex<State>,
    tx: mpsc::Sender<Msg>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    name: Mutex<Option<String>>,
    calls: AtomicU64,
    events: AtomicU64,
    bytes: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.id).field("name", &self.name()).finish()
    }
}

impl Session {
    fn new(id: u64, config: &SessionConfig, name: Option<String>) -> Session {
        let now =
            Utc::since_epoch(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default());
        let mut header = Header::new(Source::Proxy, &now.rfc3339());
        header.master = Some(config.master.clone());
        header.redacted = !config.keep_secrets;
        let label = format!("#{id}");
        let (tx, handle) = writer::spawn_stored(
            config.out.clone(),
            now.file_stamp(),
            header.to_line(),
            name.clone(),
            label,
            config.storage.clone(),
        );
        Session {
            id,
            started: Instant::now(),
            state: tokio::sync::Mutex::new(State {
                writer: Writer::new(),
                redactor: (!config.keep_secrets).then(Redactor::new),
                conns: HashMap::new(),
                open_streams: BTreeSet::new(),
                finished: false,
            }),
            tx,
            writer: Mutex::new(Some(handle)),
            name: Mutex::new(name),
            calls: AtomicU64::new(0),
            events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// The session's number in this proxy.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The framework id naming the session, once known.
    pub fn name(&self) -> Option<String> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Names the session (and its file) if it has no name yet; true if this
    /// call named it.
    pub async fn set_name(&self, name: &str) -> bool {
        {
            let mut slot = self.name.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_some() {
                return false;
            }
            *slot = Some(name.to_owned());
        }
        let _ = self.tx.send(Msg::Name(name.to_owned())).await;
        true
    }

    /// Records an entry for proxy connection `conn`, waiting for room in the
    /// writer's queue; its `seq`, or `None` once the session has ended.
    /// Header values are redacted here unless secrets are kept.
    pub async fn record(&self, conn: u64, kind: EntryKind) -> Option<u64> {
        self.record_message(conn, kind, None).await
    }

    /// [`record`](Self::record) for an entry whose body (or event record) is
    /// a v1 message of type `message`: unless secrets are kept, `Secret`
    /// values inside it are redacted too ([`crate::secrets`]), and a `note`
    /// referring to the entry says so.
    pub async fn record_message(&self, conn: u64, mut kind: EntryKind, message: Option<MessageId>) -> Option<u64> {
        let t_ns = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let mut state = self.state.lock().await;
        if state.finished {
            return None;
        }
        let next = state.conns.len() as u64 + 1;
        let local = *state.conns.entry(conn).or_insert(next);
        let redacted = match &mut state.redactor {
            Some(redactor) => redact_entry(redactor, message, &mut kind),
            None => 0,
        };
        let bytes = match &kind {
            EntryKind::Request(r) => {
                self.calls.fetch_add(1, Ordering::Relaxed);
                r.body.len()
            }
            EntryKind::Response(r) => r.body.len(),
            EntryKind::Event(e) => {
                self.events.fetch_add(1, Ordering::Relaxed);
                e.record.len()
            }
            _ => 0,
        };
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let entry = state.writer.entry(t_ns, local, kind);
        track_streams(&mut state.open_streams, &entry);
        let seq = entry.seq;
        let note = redaction_note(redacted, &entry, "forwarded");
        // Sending under the lock keeps the file in `seq` order; a full queue
        // makes the recorder (and so the forwarding) wait. The writer
        // renders the line (on its own thread).
        let _ = self.tx.send(Msg::Entry(Box::new(entry))).await;
        if let Some(note) = note {
            let note = state.writer.entry(t_ns, local, EntryKind::Note(note));
            let _ = self.tx.send(Msg::Entry(Box::new(note))).await;
        }
        Some(seq)
    }

    /// Ends the session: a `close` by `proxy` for each stream still open (when
    /// the proxy is shutting down), the `end` entry, the file flushed and
    /// closed, and the summary logged. Later records are ignored.
    pub async fn finish(&self, shutting_down: bool) {
        let t_ns = || u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let (seq, done_rx) = {
            let mut state = self.state.lock().await;
            if state.finished {
                return;
            }
            for stream in std::mem::take(&mut state.open_streams) {
                let reason = if shutting_down { "the proxy is shutting down" } else { "the session ended" };
                let close = Close { stream: Some(stream), by: Party::Proxy, reason: Some(reason.to_owned()) };
                let entry = state.writer.entry(t_ns(), 0, EntryKind::Close(close));
                let _ = self.tx.send(Msg::Entry(Box::new(entry))).await;
            }
            state.finished = true;
            let seq = state.writer.entries();
            let (done, done_rx) = oneshot::channel();
            let _ = self.tx.send(Msg::Finish { seq, t_ns: t_ns(), done }).await;
            (seq, done_rx)
        };
        let outcome = done_rx.await.ok();
        let handle = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            let _ = handle.await;
        }
        let (path, complete) = match &outcome {
            Some(o) => (o.path.as_ref().map(|p| p.display().to_string()), o.complete),
            None => (None, false),
        };
        tracing::info!(
            session = self.id,
            framework_id = self.name().as_deref().unwrap_or("unknown"),
            calls = self.calls.load(Ordering::Relaxed),
            events = self.events.load(Ordering::Relaxed),
            bytes = self.bytes.load(Ordering::Relaxed),
            entries = seq + 1,
            duration_ms = self.started.elapsed().as_millis() as u64,
            complete,
            path = path.as_deref().unwrap_or("-"),
            "session closed"
        );
    }
}

/// Redacts what an entry carries before it is written (the recorder's and
/// the importer's rule): `Authorization` and `Proxy-Authorization` header
/// values, and the `Secret` values inside its body or event record when that
/// is a v1 `message`; how many `Secret` values.
pub(crate) fn redact_entry(redactor: &mut Redactor, message: Option<MessageId>, kind: &mut EntryKind) -> usize {
    match kind {
        EntryKind::Request(r) => {
            redactor.redact_headers(&mut r.headers);
            redact_body(redactor, message, r.summary.format, &mut r.body)
        }
        EntryKind::Response(r) => {
            redactor.redact_headers(&mut r.headers);
            redact_body(redactor, message, r.format, &mut r.body)
        }
        EntryKind::Event(e) => redact_body(redactor, message, e.summary.format, &mut e.record),
        _ => 0,
    }
}

/// Keeps a session's set of open event streams up to date with an entry
/// just written: a streaming response opens one, a `close` naming a stream
/// ends it. (What is still open when the session ends gets a `close`.)
pub(crate) fn track_streams(open: &mut BTreeSet<u64>, entry: &Entry) {
    match &entry.kind {
        EntryKind::Response(r) if r.stream => {
            open.insert(entry.seq);
        }
        EntryKind::Close(Close { stream: Some(stream), .. }) => {
            open.remove(stream);
        }
        _ => {}
    }
}

/// The `note` that follows an entry in which `redacted` `Secret` values
/// were redacted (none when there were none): the recorded bytes are not
/// the ones that were `how` ("forwarded" by the proxy, "sent" in a
/// capture).
pub(crate) fn redaction_note(redacted: usize, entry: &Entry, how: &str) -> Option<Note> {
    if redacted == 0 {
        return None;
    }
    let what = if matches!(entry.kind, EntryKind::Event(_)) { "record" } else { "body" };
    Some(Note {
        message: format!(
            "{redacted} secret value(s) inside the {what} redacted: the recorded {what} is not byte for byte what was {how}"
        ),
        refers: Some(entry.seq),
        incomplete: false,
    })
}

/// Redacts the `Secret` values of `body`, a `message` in `format`; how many.
pub(crate) fn redact_body(
    redactor: &mut Redactor,
    message: Option<MessageId>,
    format: Option<Encoding>,
    body: &mut Vec<u8>,
) -> usize {
    let (Some(message), Some(format)) = (message, format) else { return 0 };
    let encoding = match format {
        Encoding::Json => {
            // `secrets::redact`'s own first test, with finders built once:
            // every `Secret.Value` has a `data` key (maybe written with
            // escapes), and most messages have neither.
            static DATA: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"data"));
            static ESCAPE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\\u"));
            if DATA.find(body).is_none() && ESCAPE.find(body).is_none() {
                return 0;
            }
            Encoding::Json
        }
        Encoding::Protobuf => Encoding::Protobuf,
    };
    match crate::secrets::redact(message, encoding, body, redactor) {
        Some((redacted, n)) => {
            *body = redacted;
            n
        }
        None => 0,
    }
}

#[derive(Default)]
struct Inner {
    by_framework: HashMap<String, Arc<Session>>,
    /// Live sessions and how many open connections touched each.
    live: HashMap<u64, (Arc<Session>, usize)>,
    next_id: u64,
    shutting_down: bool,
    /// Sessions being ended after their last connection closed.
    finishing: Vec<tokio::task::JoinHandle<()>>,
    /// A new framework's session whose SUBSCRIBE could not be forwarded
    /// (the master unreachable), by host: the framework's retry continues it
    /// rather than opening a file of its own each time. Each holds one
    /// reference on its session until claimed or expired.
    retrying: HashMap<IpAddr, (Arc<Session>, Instant)>,
}

/// Finds a framework's session from any connection, and ends sessions
/// whose last connection closed.
pub struct Registry {
    config: SessionConfig,
    inner: Mutex<Inner>,
    /// Requests outside the v1 APIs made from a host none of whose
    /// connections belongs to a session yet (pymesos asks `GET /version`
    /// before it subscribes, on a connection of its own): they wait here
    /// for the next session a connection from that host opens.
    lobby: Mutex<HashMap<IpAddr, VecDeque<Exchange>>>,
}

/// A request outside the v1 APIs and its answer, waiting in the lobby.
#[derive(Debug)]
pub struct Exchange {
    /// The proxy connection it came on.
    pub conn: u64,
    /// When it was answered.
    pub at: Instant,
    /// The request.
    pub request: Request,
    /// The answer (`None`: the master did not answer).
    pub response: Option<Response>,
    /// A note to record after it (a body not kept, a failure).
    pub note: Option<String>,
}

/// How long an exchange waits in the lobby for its framework's session.
pub const LOBBY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);
/// How many exchanges of one host wait in the lobby (the oldest go first).
pub const LOBBY_SIZE: usize = 16;

/// The sessions one framework connection has touched (each holds one
/// reference on them until the connection closes).
#[derive(Debug, Default)]
pub struct Touched {
    sessions: Vec<Arc<Session>>,
}

impl Touched {
    /// The most recently touched session, for calls that carry no framework id.
    pub fn last(&self) -> Option<Arc<Session>> {
        self.sessions.last().cloned()
    }

    /// Every session touched, for the connection's `close` entries.
    pub fn all(&self) -> &[Arc<Session>] {
        &self.sessions
    }
}

impl Registry {
    /// An empty registry.
    pub fn new(config: SessionConfig) -> Registry {
        Registry { config, inner: Mutex::new(Inner::default()), lobby: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live session of framework `framework_id` (created if there is
    /// none), touched by the connection.
    pub fn framework(&self, framework_id: &str, touched: &mut Touched) -> Arc<Session> {
        let mut inner = self.lock();
        let session = match inner.by_framework.get(framework_id) {
            Some(session) => session.clone(),
            None => {
                let session = self.create(&mut inner, Some(framework_id.to_owned()));
                inner.by_framework.insert(framework_id.to_owned(), session.clone());
                session
            }
        };
        Self::touch(&mut inner, &session, touched);
        session
    }

    /// A new session whose name is not known yet (or is `name`, which is not
    /// registered as a framework id), touched by the connection.
    pub fn anonymous(&self, name: Option<&str>, touched: &mut Touched) -> Arc<Session> {
        let mut inner = self.lock();
        let session = self.create(&mut inner, name.map(str::to_owned));
        Self::touch(&mut inner, &session, touched);
        session
    }

    /// Keeps an exchange outside the v1 APIs from `host`, whose connection
    /// belongs to no session, until a session claims it ([`claim`](Self::claim)).
    pub fn wait_in_lobby(&self, host: IpAddr, exchange: Exchange) {
        let mut lobby = self.lobby.lock().unwrap_or_else(|e| e.into_inner());
        lobby.retain(|_, waiting| {
            waiting.retain(|x| x.at.elapsed() < LOBBY_WAIT);
            !waiting.is_empty()
        });
        let waiting = lobby.entry(host).or_default();
        if waiting.len() == LOBBY_SIZE {
            waiting.pop_front();
        }
        waiting.push_back(exchange);
    }

    /// The exchanges from `host` waiting in the lobby (at most
    /// [`LOBBY_WAIT`] old), oldest first, for the session a connection from
    /// that host just opened.
    pub fn claim(&self, host: IpAddr) -> Vec<Exchange> {
        let mut lobby = self.lobby.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = lobby.remove(&host).unwrap_or_default();
        waiting.into_iter().filter(|x| x.at.elapsed() < LOBBY_WAIT).collect()
    }

    /// Keeps `session` (a new framework's, whose SUBSCRIBE could not be
    /// forwarded) for that framework's retry from `host`, for up to
    /// [`LOBBY_WAIT`]: its next SUBSCRIBE continues the same session (issue
    /// 18: each failed retry made a file of its own).
    pub fn keep_for_retry(&self, host: IpAddr, session: &Arc<Session>) {
        let mut inner = self.lock();
        if inner.shutting_down || !inner.live.contains_key(&session.id) {
            return;
        }
        let kept = inner.retrying.insert(host, (session.clone(), Instant::now()));
        if kept.as_ref().is_none_or(|(s, _)| s.id != session.id) {
            inner.live.entry(session.id).or_insert_with(|| (session.clone(), 0)).1 += 1;
        }
        if let Some((old, _)) = kept.filter(|(s, _)| s.id != session.id) {
            Self::unref(&mut inner, &old);
        }
        let expired: Vec<IpAddr> =
            inner.retrying.iter().filter(|(_, (_, at))| at.elapsed() >= LOBBY_WAIT).map(|(h, _)| *h).collect();
        for host in expired {
            if let Some((old, _)) = inner.retrying.remove(&host) {
                Self::unref(&mut inner, &old);
            }
        }
    }

    /// A new framework's session for a SUBSCRIBE without an id from `host`:
    /// the one its failed attempt left ([`keep_for_retry`](Self::keep_for_retry)),
    /// or a new one; touched by the connection.
    pub fn subscribing(&self, host: IpAddr, touched: &mut Touched) -> Arc<Session> {
        let kept = {
            let mut inner = self.lock();
            match inner.retrying.remove(&host) {
                Some((session, at)) if at.elapsed() < LOBBY_WAIT && session.name().is_none() => {
                    Self::touch(&mut inner, &session, touched);
                    Self::unref(&mut inner, &session);
                    Some(session)
                }
                Some((session, _)) => {
                    Self::unref(&mut inner, &session);
                    None
                }
                None => None,
            }
        };
        kept.unwrap_or_else(|| self.anonymous(None, touched))
    }

    /// Drops one reference on `session`; at the last, it ends.
    fn unref(inner: &mut Inner, session: &Arc<Session>) {
        let last = match inner.live.get_mut(&session.id) {
            Some((_, refs)) => {
                *refs -= 1;
                *refs == 0
            }
            None => false,
        };
        if last {
            inner.live.remove(&session.id);
            inner.by_framework.retain(|_, s| s.id != session.id);
            let session = session.clone();
            inner.finishing.push(tokio::spawn(async move { session.finish(false).await }));
        }
    }

    /// Files `session` under `framework_id`, unless another live session has it.
    pub fn register(&self, framework_id: &str, session: &Arc<Session>) {
        let mut inner = self.lock();
        if inner.live.contains_key(&session.id) {
            inner.by_framework.entry(framework_id.to_owned()).or_insert_with(|| session.clone());
        }
    }

    fn create(&self, inner: &mut Inner, name: Option<String>) -> Arc<Session> {
        inner.next_id += 1;
        let session = Arc::new(Session::new(inner.next_id, &self.config, name));
        if inner.shutting_down {
            // Nothing is recorded once shutdown began; the session ends at once.
            let s = session.clone();
            inner.finishing.push(tokio::spawn(async move { s.finish(true).await }));
        }
        session
    }

    fn touch(inner: &mut Inner, session: &Arc<Session>, touched: &mut Touched) {
        if touched.sessions.iter().any(|s| s.id == session.id) {
            return;
        }
        touched.sessions.push(session.clone());
        if inner.shutting_down {
            return;
        }
        inner.live.entry(session.id).or_insert_with(|| (session.clone(), 0)).1 += 1;
    }

    /// The connection closed: sessions it was the last to hold end, each on
    /// a task of its own that [`shutdown`](Self::shutdown) waits for (so an
    /// aborted connection task never leaves a file half closed).
    pub fn release(&self, touched: Touched) {
        let mut inner = self.lock();
        for session in touched.sessions {
            Self::unref(&mut inner, &session);
        }
        inner.finishing.retain(|handle| !handle.is_finished());
    }

    /// Ends every live session (SIGINT/SIGTERM): their files get `close` and
    /// `end` entries and are flushed and closed.
    pub async fn shutdown(&self) {
        let (sessions, finishing): (Vec<Arc<Session>>, Vec<_>) = {
            let mut inner = self.lock();
            inner.shutting_down = true;
            inner.by_framework.clear();
            inner.retrying.clear();
            (inner.live.drain().map(|(_, (s, _))| s).collect(), std::mem::take(&mut inner.finishing))
        };
        for session in sessions {
            session.finish(true).await;
        }
        for handle in finishing {
            let _ = handle.await;
        }
    }
}
