//! Sessions: one framework's conversation, numbered into entries and handed
//! to its [`crate::writer`] task; and the registry that finds a
//! framework's session from any connection.
//!
//! A session lives while at least one framework connection that touched it is
//! open (a SUBSCRIBE stream keeps its connection open); when the last one
//! closes, or the proxy shuts down, the session writes `close` entries for
//! the streams still open, its `end` entry, closes its file, and logs a
//! one-line summary.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mesos_codec::schema::MessageId;
use mesos_codec::session::{Entry, EntryKind, Event, Header, Lines, Source, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::writer::{self, Msg};
pub use mesos_record::Exchange;
use mesos_record::{self as record, Book, Lobby, Tapped};

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
    pub storage: mesos_record::file::Storage,
}

/// One session: its [`Book`] numbers the entries, which are sent, in
/// order, to the session's writer.
pub struct Session {
    id: u64,
    started: Instant,
    book: tokio::sync::Mutex<Ledger>,
    tx: mpsc::Sender<Msg>,
    /// One per byte of lines waiting for the writer ([`writer::WAITING_BYTES`]).
    permits: Arc<tokio::sync::Semaphore>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    name: Mutex<Option<String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.id).field("name", &self.name()).finish()
    }
}

impl mesos_record::Keyed for Session {
    fn key(&self) -> u64 {
        self.id
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
            book: tokio::sync::Mutex::new(Ledger {
                book: Book::new(Source::Proxy, config.keep_secrets),
                lines: Lines::default(),
                room: 0,
            }),
            tx,
            permits: Arc::new(tokio::sync::Semaphore::new(writer::WAITING_BYTES)),
            writer: Mutex::new(Some(handle)),
            name: Mutex::new(name),
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

    /// Nanoseconds since the session's start.
    pub fn t_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Records an entry for proxy connection `conn`, waiting for room in the
    /// writer's queue; its `seq`, or `None` once the session has ended.
    /// Header values are redacted here unless secrets are kept.
    pub async fn record(&self, conn: u64, kind: EntryKind) -> Option<u64> {
        self.record_message(conn, kind, None).await
    }

    /// [`record`](Self::record) for an entry whose body (or event record) is
    /// a v1 message of type `message`: unless secrets are kept, `Secret`
    /// values inside it are redacted too ([`mesos_record::Book`]), and a `note`
    /// referring to the entry says so.
    pub async fn record_message(&self, conn: u64, kind: EntryKind, message: Option<MessageId>) -> Option<u64> {
        let t_ns = self.t_ns();
        let mut ledger = self.book.lock().await;
        let seq = ledger.record(conn, t_ns, kind, message)?;
        self.send_lines(&mut ledger).await;
        Some(seq)
    }

    /// [`record_message`](Self::record_message) of the events among
    /// `tapped` (a run of a stream's events, each at its time in `times`,
    /// from [`t_ns`](Self::t_ns) when it was tapped), under one hold of the
    /// session's lock: numbered in order where they are, each redacted in
    /// place ([`Book::record_event`]), none moved. (An event passed by value
    /// through the tap's list, an iterator and the book was copied five
    /// times on its way: `memcpy` 11 % of the lane in `perf` at 200 B.
    /// `proxy_vs_nginx`, three runs: events/s ÷ nginx's 0.78, 0.81, 0.78 →
    /// 0.85, 0.88, 0.84 at 200 B, the lane 0.40 → 0.36–0.38 µs an event.)
    /// Their lines go to the writer in batches of at most
    /// [`BATCH_LINES`] bytes or [`BATCH_ENTRIES`] entries; the last lines
    /// wait for [`hand_over`](Self::hand_over), or for the next entry that
    /// anyone records in the session. A stream's relay records the events
    /// of each of its batches of frames so, and hands the lines over when
    /// it has nothing to read (or must wait for the framework).
    ///
    /// Handing the lines over after the forwarding, and only when the relay
    /// would wait anyway: waking the writer's thread before the forwarding
    /// put the writer's work (a file write) ahead of it when the kernel ran
    /// the writer on the relay's core, and woke it once per batch under load.
    /// `proxy_vs_nginx` (lines handed over at the end of each batch, before
    /// the forwarding, against this; the same run): the median latency a
    /// paced event is given went from 30–31 to 27–29 µs, the added p99 from
    /// 89–137 to 76–82 µs (medians of three paced runs; nginx's 72–230 µs),
    /// and events/s up 5–13 % (lines reach the writer in larger batches).
    ///
    /// One lock and one hand-over per batch rather than per event, and the
    /// line rendered here, where the entry was made: the entry (its record,
    /// its summary's strings) is freed on the thread that allocated it.
    /// Handed to the writer's thread, every event's entry was freed there,
    /// and glibc's allocator then takes the allocating thread's arena lock:
    /// the recorder's workers and its writer contended for it on every
    /// event (about a fifth of the recorder's CPU in `perf`, in futex
    /// wake-ups and task switches). On `proxy_vs_nginx`'s mix, the recorder
    /// went from 3.2 to 2.4 µs CPU per event (events sent one by one, the
    /// lines rendered on the writer's thread, before).
    ///
    /// Only each event's line is left to the writer's thread, first its
    /// record's escape (half of a line's work, and a tenth of the stream's
    /// lane in `perf`, while the writer's core had room), then the rest of
    /// it: the batch ([`Lines`]) holds each event's fields, its record
    /// copied as it is, and the writer writes the line. `proxy_vs_nginx`,
    /// the record left to the writer against the lines rendered whole here,
    /// in the same run: the lane's CPU an event 2.24 → 2.01 µs on the mix
    /// and 7.49 → 5.85 µs at 4 KiB (the writer's 0.70 → 0.79 and 4.25 →
    /// 4.24), events/s +13 % and +25 %; at 200 B no change past the noise.
    /// (The whole line rendered there, the entries handed over, was tried
    /// again with mimalloc, which takes frees from another thread well: no
    /// gain past the noise, the writer 0.2–0.8 µs an event more;
    /// `docs/performance.md`, "Eighth run".) The rest of the line left to
    /// the writer too, the entries still freed here: `benches/record_core.rs`
    /// (200 B), the numbering and the batch 81–83 → 49–51 ns an event, the
    /// writer 47–48 → 87–93 ns; `proxy_vs_nginx` on a 2-core VM, against
    /// the record alone left to the writer, three runs: events/s ÷ nginx's
    /// 0.73, 0.68, 0.67 → 0.81, 0.76, 0.89 at 200 B (the lane 0.43–0.52 →
    /// 0.38–0.43 µs an event), 0.76, 0.80, 0.75 → 0.79, 0.85, 0.86 on the
    /// mix, 4 KiB within the runs' spread (`docs/performance.md`,
    /// "Fifteenth run").
    pub async fn record_events(&self, conn: u64, times: &[u64], tapped: &mut [Tapped], message: Option<MessageId>) {
        let mut ledger = self.book.lock().await;
        for (&t_ns, tapped) in times.iter().zip(tapped) {
            let Tapped::Event(event) = tapped else { continue };
            if ledger.record_event(conn, t_ns, event, message).is_none() {
                break;
            }
            if ledger.lines.len() >= BATCH_LINES || ledger.lines.entries() >= BATCH_ENTRIES {
                self.send_lines(&mut ledger).await;
            }
        }
        // The last lines wait for `hand_over` (or go with the next entry
        // recorded, whoever records it: they are in `seq` order).
    }

    /// Hands the lines numbered and not yet handed over to the writer (see
    /// [`record_events`](Self::record_events) for when a stream's relay
    /// calls it, and why).
    pub async fn hand_over(&self) {
        let mut ledger = self.book.lock().await;
        self.send_lines(&mut ledger).await;
    }

    /// Holds the session's lock (nothing is numbered meanwhile), for tests.
    #[cfg(test)]
    pub(crate) async fn hold(&self) -> impl Drop + '_ {
        self.book.lock().await
    }

    /// Sends the lines gathered in `ledger` to the writer, under the
    /// session's lock (which keeps the file in `seq` order); a full queue
    /// (a permit per byte of lines waiting, [`writer::WAITING_BYTES`] of them)
    /// makes the recorder (and so the forwarding) wait.
    async fn send_lines(&self, ledger: &mut Ledger) {
        if ledger.lines.is_empty() {
            return;
        }
        // Room for the largest batch so far and for what `Entry::render`
        // reserves past a line's record before writing it (192 bytes): room
        // for the largest batch alone made its last line grow the buffer, a
        // copy of the whole batch (2 % of the lane in `perf` at 200 B).
        ledger.room = ledger.room.max(ledger.lines.len() + 256).min(BATCH_LINES * 2);
        let lines = std::mem::take(&mut ledger.lines);
        // A batch larger than the bound (a record of more than 4 MiB)
        // takes every permit.
        let n = lines.len().clamp(1, writer::WAITING_BYTES);
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        // The semaphore is never closed.
        let Ok(permit) = self.permits.clone().acquire_many_owned(n).await else { return };
        let _ = self.tx.send(Msg::Lines(lines, permit)).await;
    }

    /// Records a v1 call of `api` and the notes after it (see
    /// [`Book::call`]); the request's `seq`.
    pub async fn record_call(
        &self,
        conn: u64,
        request: mesos_codec::session::Request,
        api: mesos_codec::api::Api,
        problem: Option<String>,
    ) -> Option<u64> {
        let t_ns = self.t_ns();
        let mut ledger = self.book.lock().await;
        let (seq, entries) = ledger.book.call(conn, t_ns, request, api, problem)?;
        for entry in entries {
            ledger.write(&entry);
        }
        self.send_lines(&mut ledger).await;
        Some(seq)
    }

    /// Records an exchange that waited in the lobby (see [`Book::exchange`]).
    pub async fn record_exchange(&self, exchange: Exchange) {
        let t_ns = self.t_ns();
        let mut ledger = self.book.lock().await;
        for entry in ledger.book.exchange(t_ns, exchange) {
            ledger.write(&entry);
        }
        self.send_lines(&mut ledger).await;
    }

    /// Ends the session: a `close` by `proxy` for each stream still open, the
    /// `end` entry, the file flushed and closed, and the summary logged.
    /// Later records are ignored.
    pub async fn finish(&self, shutting_down: bool) {
        let (seq, stats, done_rx) = {
            let mut ledger = self.book.lock().await;
            let reason = if shutting_down { "the proxy is shutting down" } else { "the session ended" };
            let Some(closes) = ledger.book.finish(self.t_ns(), reason) else { return };
            for close in closes {
                ledger.write(&close);
            }
            self.send_lines(&mut ledger).await;
            // The writer writes the `end`: it knows whether every line made it.
            let seq = ledger.book.entries();
            let (done, done_rx) = oneshot::channel();
            let _ = self.tx.send(Msg::Finish { seq, t_ns: self.t_ns(), done }).await;
            (seq, ledger.book.stats(), done_rx)
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
            calls = stats.calls,
            events = stats.events,
            bytes = stats.bytes,
            entries = seq + 1,
            duration_ms = self.started.elapsed().as_millis() as u64,
            complete,
            path = path.as_deref().unwrap_or("-"),
            "session closed"
        );
    }
}

/// How many bytes of lines (their events' lines not written yet: [`Lines::len`])
/// a stream's events gather at most before they go to the writer (see
/// [`Session::record_events`]). What may wait for the disk is bounded in
/// bytes: [`writer::WAITING_BYTES`].
pub const BATCH_LINES: usize = 16 * 1024;

/// How many entries' lines a stream's events gather at most (see
/// [`Session::record_events`]).
pub const BATCH_ENTRIES: usize = 64;

/// A session's [`Book`] and the lines of its entries not yet handed to its
/// writer (behind the session's lock: they are rendered in `seq` order).
struct Ledger {
    book: Book,
    lines: Lines,
    /// The largest batch of lines sent so far (capped): room reserved for
    /// the next one, so that a batch is not grown step by step.
    room: usize,
}

impl Ledger {
    /// Records an entry (and the note after it) into `lines`; its `seq`.
    fn record(&mut self, conn: u64, t_ns: u64, kind: EntryKind, message: Option<MessageId>) -> Option<u64> {
        // Borrowed where it was returned, not moved out of the `Option`
        // (a 184-byte copy an event). With `Writer::entry` inlined, `perf`
        // of the lane at 200 B: copies 13.0 % → 9.7 % of its samples.
        let Some(recorded) = &self.book.record(conn, t_ns, kind, message) else { return None };
        self.write(&recorded.entry);
        if let Some(note) = &recorded.note {
            self.write(note);
        }
        Some(recorded.entry.seq)
    }

    /// [`record`](Self::record) of an event, where it is
    /// ([`Book::record_event`]).
    fn record_event(&mut self, conn: u64, t_ns: u64, event: &mut Event, message: Option<MessageId>) -> Option<u64> {
        let numbered = self.book.record_event(conn, t_ns, event, message)?;
        if self.lines.is_empty() {
            self.lines.reserve(self.room, BATCH_ENTRIES);
        }
        self.lines.push_event(numbered.seq, numbered.t_ns, numbered.conn, event);
        if let Some(note) = &numbered.note {
            self.write(note);
        }
        Some(numbered.seq)
    }

    fn write(&mut self, entry: &Entry) {
        if self.lines.is_empty() {
            self.lines.reserve(self.room, BATCH_ENTRIES);
        }
        self.lines.push(entry);
    }
}

/// The sessions one framework connection has touched.
pub type Touched = record::Touched<Arc<Session>>;

/// Finds a framework's session from any connection ([`record::Registry`]
/// behind a lock), and ends sessions whose last connection closed, each
/// on a task of its own.
pub struct Registry {
    config: SessionConfig,
    started: Instant,
    inner: Mutex<Inner>,
    /// Requests outside the v1 APIs waiting for their framework's session.
    lobby: Mutex<Lobby<Exchange>>,
}

struct Inner {
    sessions: record::Registry<Arc<Session>>,
    ends: Ends,
}

/// Makes sessions and ends them.
struct Ends {
    next_id: u64,
    /// Sessions being ended (after their last connection closed), each on
    /// a task of its own.
    finishing: Vec<tokio::task::JoinHandle<()>>,
}

impl Ends {
    fn create(&mut self, config: &SessionConfig, shutting_down: bool, name: Option<String>) -> Arc<Session> {
        self.next_id += 1;
        let session = Arc::new(Session::new(self.next_id, config, name));
        if shutting_down {
            // Nothing is recorded once shutdown began; the session ends at once.
            self.end(vec![session.clone()], true);
        }
        session
    }

    fn end(&mut self, ended: Vec<Arc<Session>>, shutting_down: bool) {
        for session in ended {
            self.finishing.push(tokio::spawn(async move { session.finish(shutting_down).await }));
        }
    }
}

impl Registry {
    /// An empty registry.
    pub fn new(config: SessionConfig) -> Registry {
        let ends = Ends { next_id: 0, finishing: Vec::new() };
        let inner = Inner { sessions: record::Registry::default(), ends };
        Registry { config, started: Instant::now(), inner: Mutex::new(inner), lobby: Mutex::new(Lobby::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// The live session of framework `framework_id` (created if there is
    /// none), touched by the connection.
    pub fn framework(&self, framework_id: &str, touched: &mut Touched) -> Arc<Session> {
        let Inner { sessions, ends } = &mut *self.lock();
        let down = sessions.is_shutting_down();
        sessions.framework(framework_id, touched, || ends.create(&self.config, down, Some(framework_id.to_owned())))
    }

    /// A new session whose name is not known yet (or is `name`, which is not
    /// registered as a framework id), touched by the connection.
    pub fn anonymous(&self, name: Option<&str>, touched: &mut Touched) -> Arc<Session> {
        let Inner { sessions, ends } = &mut *self.lock();
        let down = sessions.is_shutting_down();
        sessions.anonymous(touched, || ends.create(&self.config, down, name.map(str::to_owned)))
    }

    /// A new framework's session for a SUBSCRIBE without an id from `host`:
    /// the one its failed attempt left ([`keep_for_retry`](Self::keep_for_retry)),
    /// or a new one; touched by the connection.
    pub fn subscribing(&self, host: IpAddr, touched: &mut Touched) -> Arc<Session> {
        let now = self.now();
        let Inner { sessions, ends } = &mut *self.lock();
        let down = sessions.is_shutting_down();
        let unnamed = |s: &Arc<Session>| s.name().is_none();
        let (session, ended) =
            sessions.subscribing(host, touched, now, unnamed, || ends.create(&self.config, down, None));
        ends.end(ended, false);
        session
    }

    /// Keeps `session` (a new framework's, whose SUBSCRIBE could not be
    /// forwarded) for that framework's retry from `host`, for up to
    /// [`record::LOBBY_WAIT`]: its next SUBSCRIBE continues the same
    /// session (issue 18: each failed retry made a file of its own).
    pub fn keep_for_retry(&self, host: IpAddr, session: &Arc<Session>) {
        let now = self.now();
        let Inner { sessions, ends } = &mut *self.lock();
        let ended = sessions.keep_for_retry(host, session, now);
        ends.end(ended, false);
    }

    /// Files `session` under `framework_id`, unless another live session has it.
    pub fn register(&self, framework_id: &str, session: &Arc<Session>) {
        self.lock().sessions.register(framework_id, session);
    }

    /// Keeps an exchange outside the v1 APIs from `host`, whose connection
    /// belongs to no session, until a session claims it ([`claim`](Self::claim)).
    pub fn wait_in_lobby(&self, host: IpAddr, exchange: Exchange) {
        let now = self.now();
        self.lobby.lock().unwrap_or_else(|e| e.into_inner()).wait(host, now, exchange);
    }

    /// The exchanges from `host` waiting in the lobby, oldest first, for
    /// the session a connection from that host just opened.
    pub fn claim(&self, host: IpAddr) -> Vec<Exchange> {
        let now = self.now();
        self.lobby.lock().unwrap_or_else(|e| e.into_inner()).claim(host, now)
    }

    /// The connection closed: sessions it was the last to hold end, each on
    /// a task of its own that [`shutdown`](Self::shutdown) waits for (so an
    /// aborted connection task never leaves a file half closed).
    pub fn release(&self, touched: Touched) {
        let Inner { sessions, ends } = &mut *self.lock();
        let ended = sessions.release(touched);
        ends.end(ended, false);
        ends.finishing.retain(|handle| !handle.is_finished());
    }

    /// Ends every live session (SIGINT/SIGTERM): their files get `close` and
    /// `end` entries and are flushed and closed.
    pub async fn shutdown(&self) {
        let (live, finishing) = {
            let mut inner = self.lock();
            (inner.sessions.shut_down(), std::mem::take(&mut inner.ends.finishing))
        };
        for session in live {
            session.finish(true).await;
        }
        for handle in finishing {
            let _ = handle.await;
        }
    }
}
