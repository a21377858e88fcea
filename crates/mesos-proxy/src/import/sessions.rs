//! The importer's driver of the recording core ([`mesos_record`]): the
//! same filing, numbering and redaction as live recording, on the capture's
//! clock, written by the proxy's own session-file writer
//! ([`crate::writer`]'s file, without its thread).
//!
//! As in live recording: a call is filed under the framework id it carries;
//! a new framework's SUBSCRIBE opens a session named by its `SUBSCRIBED`
//! event; a call without an id goes to the session its connection touched
//! last; operator API traffic goes to an `operator` session per connection;
//! requests outside the v1 APIs from a host with no session yet wait in the
//! lobby for the session it opens next. A session ends when the last
//! connection that touched it closes (a framework that comes back later
//! gets a new file), or at the end of the capture. A session's time is the
//! capture's: `t_ns` counts from the packet that opened it, and
//! `started_at` is that packet's time.
//!
//! Lines wait in memory until the session has a name (a new framework's
//! file is named by its framework id), then go to the file as they come.

use std::path::PathBuf;

use mesos_codec::schema::MessageId;
use mesos_codec::session::{Entry, EntryKind, Header, Source, Utc};

use mesos_record::file::SessionFile;
use mesos_record::{Book, Exchange, Lobby, Registry};

/// An index into [`Sessions`].
pub(crate) type SessionId = usize;

/// The sessions a connection touched.
pub(crate) type Touched = mesos_record::Touched<SessionId>;

struct State {
    book: Book,
    started_ns: u64,
    name: Option<String>,
    /// The proxy's session file, written here without its thread: lines
    /// wait until the session is named, a failure is said once.
    file: SessionFile,
}

/// Every session of one import.
pub(crate) struct Sessions {
    out: PathBuf,
    capture: String,
    keep_secrets: bool,
    list: Vec<State>,
    registry: Registry<SessionId>,
    /// Requests outside the v1 APIs waiting for their host's session.
    lobby: Lobby<Exchange>,
    /// Files that could not be written, said once each.
    pub(crate) write_errors: Vec<String>,
    /// Entries written, all sessions.
    pub(crate) entries: u64,
    /// Files written.
    pub(crate) files: Vec<PathBuf>,
}

impl Sessions {
    pub(crate) fn new(out: PathBuf, capture: String, keep_secrets: bool) -> Sessions {
        Sessions {
            out,
            capture,
            keep_secrets,
            list: Vec::new(),
            registry: Registry::default(),
            lobby: Lobby::default(),
            write_errors: Vec::new(),
            entries: 0,
            files: Vec::new(),
        }
    }

    /// How many sessions were opened.
    pub(crate) fn count(&self) -> usize {
        self.list.len()
    }

    /// The live session of `framework_id` (created if none), touched.
    pub(crate) fn framework(&mut self, framework_id: &str, master: &str, now: u64, touched: &mut Touched) -> SessionId {
        let next = self.list.len();
        let id = self.registry.framework(framework_id, touched, || next);
        if id == next {
            self.create(Some(framework_id.to_owned()), master, now);
        }
        id
    }

    /// A new session named `name` (not a framework id) or not named yet, touched.
    pub(crate) fn anonymous(&mut self, name: Option<&str>, master: &str, now: u64, touched: &mut Touched) -> SessionId {
        let id = self.registry.anonymous(touched, || self.list.len());
        self.create(name.map(str::to_owned), master, now);
        id
    }

    /// Files session `id` under `framework_id`, unless another live session has it.
    pub(crate) fn register(&mut self, framework_id: &str, id: SessionId) {
        self.registry.register(framework_id, &id);
    }

    pub(crate) fn name(&self, id: SessionId) -> Option<&str> {
        self.list.get(id).and_then(|s| s.name.as_deref())
    }

    /// Names session `id` (and opens its file) unless it has a name; true if named now.
    pub(crate) fn set_name(&mut self, id: SessionId, name: &str) -> bool {
        let Some(state) = self.list.get_mut(id) else { return false };
        if state.name.is_some() {
            return false;
        }
        state.name = Some(name.to_owned());
        self.open(id);
        true
    }

    /// Marks session `id` as having lost part of its traffic.
    pub(crate) fn mark_lost(&mut self, id: SessionId) {
        if let Some(state) = self.list.get_mut(id) {
            state.book.mark_lost();
        }
    }

    fn create(&mut self, name: Option<String>, master: &str, now: u64) {
        let start = Utc::from_unix((now / 1_000_000_000) as i64, (now % 1_000_000_000) as u32);
        let mut header = Header::new(Source::Pcap, &start.rfc3339());
        header.master = Some(master.to_owned());
        header.capture = Some(self.capture.clone());
        header.redacted = !self.keep_secrets;
        let id = self.list.len();
        self.list.push(State {
            book: Book::new(Source::Pcap, self.keep_secrets),
            started_ns: now,
            name: None,
            file: SessionFile::quiet(self.out.clone(), start.file_stamp(), header.to_line()),
        });
        if let Some(name) = name {
            self.set_name(id, &name);
        }
    }

    /// Records an entry of capture connection `conn` at capture time `now`;
    /// its `seq`. `message` is the v1 type of its body or record, for the
    /// redaction of `Secret` values (a `note` after it then says so).
    pub(crate) fn record(
        &mut self,
        id: SessionId,
        conn: u64,
        now: u64,
        kind: EntryKind,
        message: Option<MessageId>,
    ) -> Option<u64> {
        let state = self.list.get_mut(id)?;
        let t_ns = now.saturating_sub(state.started_ns);
        let recorded = state.book.record(conn, t_ns, kind, message)?;
        self.write(id, &recorded.entry);
        if let Some(note) = &recorded.note {
            self.write(id, note);
        }
        Some(recorded.entry.seq)
    }

    /// Records a v1 call of `api` in session `id` and the notes after it
    /// (see [`Book::call`]); the request's `seq`.
    pub(crate) fn call(
        &mut self,
        id: SessionId,
        conn: u64,
        now: u64,
        request: mesos_codec::session::Request,
        api: mesos_codec::api::Api,
        problem: Option<String>,
    ) -> Option<u64> {
        let state = self.list.get_mut(id)?;
        let t_ns = now.saturating_sub(state.started_ns);
        let (seq, entries) = state.book.call(conn, t_ns, request, api, problem)?;
        for entry in &entries {
            self.write(id, entry);
        }
        Some(seq)
    }

    /// Keeps an exchange outside the v1 APIs from `host`, whose connection
    /// touched no session, for the session that host opens next.
    pub(crate) fn wait_in_lobby(&mut self, host: std::net::IpAddr, now: u64, exchange: Exchange) {
        self.lobby.wait(host, std::time::Duration::from_nanos(now), exchange);
    }

    /// What waits in the lobby from `host`, oldest first.
    pub(crate) fn claim(&mut self, host: std::net::IpAddr, now: u64) -> Vec<Exchange> {
        self.lobby.claim(host, std::time::Duration::from_nanos(now))
    }

    /// Records an exchange that waited in the lobby in session `id`.
    pub(crate) fn record_exchange(&mut self, id: SessionId, exchange: Exchange, now: u64) {
        let Some(state) = self.list.get_mut(id) else { return };
        let t_ns = now.saturating_sub(state.started_ns);
        for entry in state.book.exchange(t_ns, exchange) {
            self.write(id, &entry);
        }
    }

    /// A `note` in session `id`.
    pub(crate) fn note(&mut self, id: SessionId, conn: u64, now: u64, message: String, refers: Option<u64>) {
        let Some(state) = self.list.get_mut(id) else { return };
        let t_ns = now.saturating_sub(state.started_ns);
        if let Some(note) = state.book.note(conn, t_ns, message, refers) {
            self.write(id, &note);
        }
    }

    /// The connection that touched `touched` closed: sessions it was the
    /// last to hold end.
    pub(crate) fn release(&mut self, touched: Touched, now: u64) {
        for id in self.registry.release(touched) {
            self.finish(id, now, "the session ended");
        }
    }

    /// The capture was cut short or damaged: every live session lost what
    /// would have followed.
    pub(crate) fn mark_live_lost(&mut self) {
        let live: Vec<SessionId> = self.registry.live().copied().collect();
        for id in live {
            self.mark_lost(id);
        }
    }

    /// The end of the capture: every live session ends, its open streams
    /// closed by the importer.
    pub(crate) fn finish_all(&mut self, now: u64) {
        for id in self.registry.shut_down() {
            self.finish(id, now, "the capture ended");
        }
    }

    fn finish(&mut self, id: SessionId, now: u64, reason: &str) {
        let Some(state) = self.list.get_mut(id) else { return };
        let t_ns = now.saturating_sub(state.started_ns);
        let Some(closes) = state.book.finish(t_ns, reason) else { return };
        if state.name.is_none() {
            state.name = Some("unknown".to_owned());
            self.open(id);
        }
        for close in &closes {
            self.write(id, close);
        }
        let Some(state) = self.list.get_mut(id) else { return };
        state.file.finish(state.book.entries(), t_ns, state.book.is_complete());
        self.entries += 1;
        if let Some(error) = state.file.take_error() {
            self.write_errors.push(error);
        }
    }

    fn write(&mut self, id: SessionId, entry: &Entry) {
        let Some(state) = self.list.get_mut(id) else { return };
        state.file.write_entry(entry);
        self.entries += 1;
    }

    /// Opens the file of a session that was just named, with what waited.
    fn open(&mut self, id: SessionId) {
        let Some(state) = self.list.get_mut(id) else { return };
        state.file.open(state.name.as_deref().unwrap_or("unknown"));
        match state.file.path() {
            Some(path) => self.files.push(path.to_owned()),
            None => self.write_errors.extend(state.file.take_error()),
        }
    }
}
