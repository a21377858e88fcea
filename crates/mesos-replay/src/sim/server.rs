//! The simulated master on the network: HTTP/1.1 written by hand over
//! tokio, one task per connection, in front of one [`Master`] behind a
//! mutex.
//!
//! The bytes are a Mesos 1.11.0 master's (`super::http`: header names,
//! order and values, `Date`, lower-case chunk sizes, no `Connection`
//! header; a stream that ends leaves its connection open). Requests are
//! handled as libprocess handles them: in the order they arrive on a
//! connection, each as soon as it is read, answered in order (a request
//! that follows a SUBSCRIBE on the same connection is answered once that
//! stream ends); a connection whose peer shuts its side down is closed at
//! once, answered or not; bytes that are not HTTP close it without an
//! answer.
//!
//! Each stream holds at most [`Options::stream_backlog`] bytes of records
//! its framework has not read yet; a framework that falls further behind
//! loses its connection (see `docs/sim.md`).
//!
//! The clock is either real (a driver task wakes the master when
//! [`Master::poll_timeout`] says) or virtual ([`Clock::Manual`]: time moves
//! only when [`SimHandle::advance`] says, which makes every byte of every
//! stream reproducible, `Date` headers included).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use mesos_codec::negotiate;
use mesos_codec::session::{self, Party};

use super::endpoints::{self, Endpoint};
use super::history::{History, decode_call};
use super::http::{self, Parsed, Response};
use super::master::{Answer, Config, DEFAULT_START_SECONDS, Master, Push, Request, StreamKey};
use super::operator::{self, Cluster, Outcome, Subscribers};
use super::record::{Exchange, Recorder};

/// The paths of the scheduler API.
pub const SCHEDULER_PATHS: [&str; 2] = ["/api/v1/scheduler", "/master/api/v1/scheduler"];

/// Where the master's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// Wall-clock time since the server started.
    Real,
    /// A virtual clock that starts at 0 and moves only by
    /// [`SimHandle::advance`].
    Manual,
}

/// How the server treats its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The most bytes of records a stream may hold that its framework has
    /// not read yet (beyond what the sockets' buffers hold). A framework
    /// further behind has its connection closed, as if it had dropped it:
    /// it is disconnected, its offers are rescinded and its failover
    /// timeout starts.
    pub stream_backlog: usize,
    /// The largest request body read (`--max-body`); a longer one is
    /// answered `413` and the connection closed. 64 MiB.
    pub max_body: usize,
    /// How long a request may take to arrive whole, and a connection with
    /// no stream may wait for its next request (`--request-timeout`), before
    /// the connection is closed. A stream being written is never timed out.
    /// 60 s of real time, whatever the clock.
    pub request_timeout: Duration,
    /// Connections served at once (`--max-connections`); one more is
    /// answered `503` and closed. 4096.
    pub max_connections: usize,
}

impl Default for Options {
    /// [`DEFAULT_STREAM_BACKLOG`], 64 MiB bodies, 60 s, 4096 connections.
    fn default() -> Options {
        Options {
            stream_backlog: DEFAULT_STREAM_BACKLOG,
            max_body: http::MAX_REQUEST,
            request_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// 64 MiB: hours of heartbeats, thousands of offers.
pub const DEFAULT_STREAM_BACKLOG: usize = 64 << 20;

/// The most bytes of a stream's chunks gathered for one write.
const WRITE_BATCH: usize = 64 << 10;

/// The pause between the pieces of a re-chunked record (`rechunk`), so
/// that each leaves in its own TCP segment and a client reads it on its
/// own. Real time, whatever the clock: it changes when bytes arrive, never
/// which.
const PIECE_GAP: Duration = Duration::from_millis(5);

/// What a connection's writer gets from a stream.
enum StreamMsg {
    /// One framed RecordIO record: one chunk, or (a `rechunk` fault) one
    /// chunk per piece between these cuts.
    Record(Bytes, Vec<usize>),
    /// The stream ends: the last chunk.
    End,
}

/// The part of a stream its connection and the master share.
#[derive(Default)]
struct Backlog {
    /// Bytes of records handed over and not yet taken by the writer.
    queued: AtomicUsize,
    /// The framework fell too far behind: close the connection.
    aborted: AtomicBool,
    abort: Notify,
}

struct StreamTx {
    tx: mpsc::UnboundedSender<StreamMsg>,
    backlog: Arc<Backlog>,
}

struct State {
    master: Master,
    streams: HashMap<StreamKey, StreamTx>,
    virtual_now: Duration,
    /// Records handed to open streams so far.
    records_sent: u64,
    /// `--record`: the session files.
    recorder: Option<Recorder>,
    /// What `/master/state` and `/metrics/snapshot` need beyond the master.
    history: History,
    /// The operator API's event streams.
    operator: Subscribers,
    stream_backlog: usize,
    /// The Unix time of the master's time 0 (its start time).
    start_wall: f64,
    /// The port the master listens on.
    port: u16,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    clock: Clock,
    start: Instant,
    /// The Unix time of the master's time 0 (its start time).
    start_wall: f64,
    max_body: usize,
    request_timeout: Duration,
    max_connections: usize,
    /// Connections being served.
    open: std::sync::atomic::AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state as consistent as
        // any single step: keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self, state: &State) -> Duration {
        match self.clock {
            Clock::Real => self.start.elapsed(),
            Clock::Manual => state.virtual_now,
        }
    }

    /// The Unix time of the `Date` header: the machine's on the real clock,
    /// the master's own on the virtual one (its time 0 is its start time).
    fn date(&self, now: Duration) -> i64 {
        match self.clock {
            Clock::Real => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
            Clock::Manual => self.wall(now).floor() as i64,
        }
    }

    /// The Unix time the master writes for `now` (as in status updates).
    fn wall(&self, now: Duration) -> f64 {
        self.start_wall + now.as_secs_f64()
    }
}

impl State {
    fn dispatch(&mut self, pushes: Vec<Push>, now: Duration) {
        let mut queue: VecDeque<Push> = pushes.into();
        while let Some(push) = queue.pop_front() {
            match push {
                Push::Record { stream, record } => {
                    let Some(tx) = self.streams.get(&stream) else { continue };
                    let queued = tx.backlog.queued.load(Ordering::Acquire);
                    if queued > 0 && queued + record.len() > self.stream_backlog {
                        self.overflow(stream, now, &mut queue);
                        continue;
                    }
                    tx.backlog.queued.fetch_add(record.len(), Ordering::AcqRel);
                    // A `rechunk` fault: the master says where to cut.
                    let cuts = self.master.chunk_cuts(&record, now);
                    let Some(tx) = self.streams.get(&stream) else { continue };
                    // A receiver that is gone is a closed connection; its
                    // writer's end tells the master.
                    if tx.tx.send(StreamMsg::Record(record.clone(), cuts)).is_ok() {
                        self.records_sent += 1;
                        self.history.record(&self.master, stream, &record);
                        if let Some(recorder) = &mut self.recorder {
                            recorder.record(now, stream, &record);
                        }
                    }
                }
                Push::Close { stream } => {
                    if let Some(tx) = self.streams.remove(&stream) {
                        let _ = tx.tx.send(StreamMsg::End);
                    }
                    if let Some(recorder) = &mut self.recorder {
                        // Only a teardown removes a framework that has a
                        // stream; otherwise a new subscription replaced it,
                        // or the stream carried an error.
                        let reason = match recorder.stream_session(stream) {
                            Some(name) if self.master.framework_removed(name) => "teardown",
                            Some(name) if self.master.stream_framework(stream).is_none() && name != "unknown" => {
                                "failover"
                            }
                            _ => "error",
                        };
                        recorder.close(now, stream, Party::Master, reason);
                    }
                }
            }
        }
        // Connections a fault cut: dropped without their last chunk (all
        // of them when the master crashed).
        let mut cuts = self.master.take_cuts();
        if self.master.take_crash() {
            let operator: Vec<StreamKey> = self.streams.keys().filter(|k| self.operator.owns(**k)).copied().collect();
            for key in operator {
                self.operator.closed(key);
                cuts.push(key);
            }
        }
        for stream in cuts {
            if let Some(tx) = self.streams.remove(&stream) {
                tx.backlog.aborted.store(true, Ordering::Release);
                tx.backlog.abort.notify_one();
            }
            if let Some(recorder) = &mut self.recorder {
                recorder.close(now, stream, Party::Master, "cut (fault)");
            }
        }
        if self.master.removed_frameworks() != self.history.completed.len() {
            self.history.sync(&self.master, self.start_wall + now.as_secs_f64());
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.sync(now, &self.master);
        }
        if self.operator.len() > 0 {
            // What changed goes to the operator API's subscribers.
            let view = self.master.view();
            let clock = self.clock(now);
            let cluster = Cluster { view: &view, history: &self.history, clock: &clock };
            let mut events = Vec::new();
            self.operator.observe(&cluster, &mut events);
            self.send(events);
        }
    }

    /// The times and settings the endpoints need besides the cluster.
    fn clock(&self, now: Duration) -> endpoints::Clock {
        endpoints::Clock {
            start: self.start_wall,
            now: self.start_wall + now.as_secs_f64(),
            port: self.port,
            operator_subscribers: self.operator.len(),
        }
    }

    /// Records for the operator API's streams (or their end).
    fn send(&mut self, pushes: Vec<Push>) {
        for push in pushes {
            match push {
                Push::Record { stream, record } => {
                    let Some(tx) = self.streams.get(&stream) else { continue };
                    let queued = tx.backlog.queued.load(Ordering::Acquire);
                    if queued > 0 && queued + record.len() > self.stream_backlog {
                        // Too far behind: its connection is closed.
                        if let Some(tx) = self.streams.remove(&stream) {
                            tx.backlog.aborted.store(true, Ordering::Release);
                            tx.backlog.abort.notify_one();
                        }
                        self.operator.closed(stream);
                        continue;
                    }
                    tx.backlog.queued.fetch_add(record.len(), Ordering::AcqRel);
                    if tx.tx.send(StreamMsg::Record(record, Vec::new())).is_ok() {
                        self.records_sent += 1;
                    }
                }
                Push::Close { stream } => {
                    if let Some(tx) = self.streams.remove(&stream) {
                        let _ = tx.tx.send(StreamMsg::End);
                    }
                    self.operator.closed(stream);
                }
            }
        }
    }

    /// When the master or the operator API's streams next need waking.
    fn poll_timeout(&self) -> Option<Duration> {
        match (self.master.poll_timeout(), self.operator.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Everything due at `now`.
    fn handle_timeout(&mut self, now: Duration) {
        let mut pushes = Vec::new();
        self.master.handle_timeout(now, &mut pushes);
        self.dispatch(pushes, now);
        let mut beats = Vec::new();
        self.operator.handle_timeout(now, &mut beats);
        self.send(beats);
    }

    /// `stream`'s framework fell more than the backlog behind: its
    /// connection is closed, which the master learns as a lost connection.
    fn overflow(&mut self, stream: StreamKey, now: Duration, queue: &mut VecDeque<Push>) {
        if let Some(tx) = self.streams.remove(&stream) {
            tx.backlog.aborted.store(true, Ordering::Release);
            tx.backlog.abort.notify_one();
        }
        tracing::warn!(
            "stream {}: the framework fell more than {} bytes behind; its connection is closed",
            stream.0,
            self.stream_backlog
        );
        if let Some(recorder) = &mut self.recorder {
            recorder.close(now, stream, Party::Master, "backlog");
        }
        let mut pushes = Vec::new();
        self.connection_lost(stream, now, &mut pushes);
        queue.extend(pushes);
    }

    /// The connection of `stream` is gone: the master is told.
    fn connection_lost(&mut self, stream: StreamKey, now: Duration, pushes: &mut Vec<Push>) {
        if self.operator.owns(stream) {
            self.operator.closed(stream);
            return;
        }
        if let Some(id) = self.master.stream_framework(stream) {
            let offers = self.master.view().frameworks.iter().find(|f| f.id == id).map_or(0, |f| f.offers.len());
            self.history.connection_lost(stream, offers);
        }
        self.master.stream_closed(stream, now, pushes);
    }
}

/// A running simulated master.
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The master's current time.
    pub fn now(&self) -> Duration {
        let state = self.shared.lock();
        self.shared.now(&state)
    }

    /// Moves the virtual clock forward by `by`, doing everything that falls
    /// due on the way, each at its own time. No effect with [`Clock::Real`].
    pub fn advance(&self, by: Duration) {
        if self.shared.clock != Clock::Manual {
            return;
        }
        let mut state = self.shared.lock();
        let target = state.virtual_now.saturating_add(by);
        while let Some(t) = state.poll_timeout()
            && t <= target
        {
            state.virtual_now = state.virtual_now.max(t);
            let now = state.virtual_now;
            state.handle_timeout(now);
        }
        state.virtual_now = target;
    }

    /// How many records were handed to open streams so far (a client that
    /// counts what it read knows when it has read everything).
    pub fn records_sent(&self) -> u64 {
        self.shared.lock().records_sent
    }

    /// When the master (or an operator API stream) next needs waking
    /// ([`Master::poll_timeout`]).
    pub fn next_timeout(&self) -> Option<Duration> {
        self.shared.lock().poll_timeout()
    }

    /// Runs `f` on the master (for tests and tools that want to look inside).
    pub fn with_master<R>(&self, f: impl FnOnce(&Master) -> R) -> R {
        f(&self.shared.lock().master)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let mut state = self.shared.lock();
        let now = self.shared.now(&state);
        if let Some(recorder) = &mut state.recorder {
            recorder.shutdown(now);
        }
    }
}

/// Starts serving `master` on `listener` (the listener's address is
/// written into `master_info`) with the default [`Options`]. Must be
/// called inside a tokio runtime.
pub fn spawn(listener: TcpListener, config: Config, clock: Clock) -> io::Result<SimHandle> {
    spawn_with(listener, config, clock, Options::default())
}

/// [`spawn`] with `options`.
pub fn spawn_with(listener: TcpListener, config: Config, clock: Clock, options: Options) -> io::Result<SimHandle> {
    spawn_tls(listener, config, clock, options, None)
}

/// [`spawn_with`], over TLS when `tls` is given (`--tls-cert`): each
/// connection's handshake is done on its own task, within the request
/// timeout; a plain HTTP request is answered `400` (TLS required). The
/// HTTP inside is the same as over TCP.
pub fn spawn_tls(
    listener: TcpListener,
    mut config: Config,
    clock: Clock,
    options: Options,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    config.address = addr;
    if clock == Clock::Real && config.start_time.is_none() {
        config.start_time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok();
    }
    let start_wall = config.start_time.unwrap_or(Duration::from_secs(DEFAULT_START_SECONDS)).as_secs_f64();
    let heartbeat = config.heartbeat;
    // A `leader-change` fault needs the other master: a second address.
    let successor = if config.faults.iter().any(|f| matches!(f.kind, super::faults::Kind::LeaderChange { .. })) {
        let std_listener = std::net::TcpListener::bind(SocketAddr::new(addr.ip(), 0))?;
        std_listener.set_nonblocking(true)?;
        Some(TcpListener::from_std(std_listener)?)
    } else {
        None
    };
    let recorder = match &config.record {
        Some(dir) => Some(Recorder::new(dir, format!("{scheme}://{addr}"))?),
        None => None,
    };
    let mut master = Master::new(config);
    if let Some(other) = &successor {
        let other = other.local_addr()?;
        tracing::info!("leader-change: the other master listens on {other}");
        master.set_successor(other);
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            master,
            streams: HashMap::new(),
            virtual_now: Duration::ZERO,
            records_sent: 0,
            recorder,
            history: History::default(),
            operator: Subscribers::new(heartbeat),
            stream_backlog: options.stream_backlog.max(1),
            start_wall,
            port: addr.port(),
        }),
        wake: Notify::new(),
        clock,
        start: Instant::now(),
        start_wall,
        max_body: options.max_body,
        request_timeout: options.request_timeout,
        max_connections: options.max_connections.max(1),
        open: std::sync::atomic::AtomicUsize::new(0),
    });
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(accept(listener, shared.clone(), false, tls.clone())));
    if let Some(other) = successor {
        tasks.push(tokio::spawn(accept(other, shared.clone(), true, tls)));
    }
    if clock == Clock::Real {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move { drive(shared).await }));
    }
    Ok(SimHandle { shared, addr, tasks })
}

/// Accepts connections on `listener` (`successor`: the other master's
/// address of a `leader-change` fault), over TLS when `tls` is given, and
/// serves each in a task.
async fn accept(
    listener: TcpListener,
    accept_shared: Arc<Shared>,
    successor: bool,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    // The other address's connections are numbered apart.
    let mut conns = if successor { 1u64 << 32 } else { 0 };
    {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let shared = accept_shared.clone();
            if shared.open.load(Ordering::Relaxed) >= shared.max_connections {
                let tls = tls.clone();
                tokio::spawn(async move {
                    match &tls {
                        None => refuse(stream, shared.max_connections).await,
                        Some(acceptor) => {
                            // The answer goes inside TLS.
                            let accepted =
                                crate::tls::accept(acceptor, stream, shared.request_timeout, "mesos-replay sim").await;
                            if let crate::tls::Accepted::Tls(stream) = accepted {
                                refuse(*stream, shared.max_connections).await;
                            }
                        }
                    }
                });
                continue;
            }
            shared.open.fetch_add(1, Ordering::Relaxed);
            conns += 1;
            let conn = Connection { shared: shared.clone(), id: conns, streams: Vec::new(), successor };
            let tls = tls.clone();
            tokio::spawn(async move {
                let result = match &tls {
                    None => {
                        let (rd, wr) = stream.into_split();
                        conn.run(rd, wr).await
                    }
                    Some(acceptor) => {
                        match crate::tls::accept(acceptor, stream, shared.request_timeout, "mesos-replay sim").await {
                            crate::tls::Accepted::Tls(stream) => {
                                let (rd, wr) = tokio::io::split(*stream);
                                conn.run(rd, wr).await
                            }
                            crate::tls::Accepted::Closed => Ok(()),
                        }
                    }
                };
                if let Err(e) = result {
                    tracing::debug!("connection from {peer}: {e}");
                }
                shared.open.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }
}

/// One connection over `--max-connections`: answered `503` and closed.
async fn refuse<S: AsyncWrite + Unpin>(mut stream: S, max: usize) {
    tracing::warn!(max, "too many connections: one refused (--max-connections)");
    let body = format!("mesos-replay sim: too many connections (--max-connections {max})");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// Wakes the master whenever it asked to be woken (real clock only).
async fn drive(shared: Arc<Shared>) {
    loop {
        let deadline = shared.lock().poll_timeout();
        match deadline.and_then(|at| shared.start.checked_add(at)) {
            Some(at) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = shared.wake.notified() => continue,
                }
            }
            None => {
                shared.wake.notified().await;
                continue;
            }
        }
        let mut state = shared.lock();
        let now = shared.now(&state);
        state.handle_timeout(now);
    }
}

/// Whether the peer has shut its side (what it sent meanwhile goes to
/// `buf`), without waiting: each read is polled once, and what is not
/// ready yet is not waited for.
async fn peer_left<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut BytesMut) -> io::Result<bool> {
    use std::future::Future;
    loop {
        let mut read = std::pin::pin!(rd.read_buf(buf));
        match std::future::poll_fn(|cx| std::task::Poll::Ready(read.as_mut().poll(cx))).await {
            std::task::Poll::Ready(Ok(0)) => return Ok(true),
            std::task::Poll::Ready(Ok(_)) => {}
            std::task::Poll::Ready(Err(e)) => return Err(e),
            std::task::Poll::Pending => return Ok(false),
        }
    }
}

/// An answer waiting for its turn on its connection.
enum Reply {
    /// A whole answer.
    Full { bytes: Vec<u8>, keep_alive: bool },
    /// An event stream: its head, then its records as they come.
    Stream {
        head: Vec<u8>,
        key: StreamKey,
        rx: mpsc::UnboundedReceiver<StreamMsg>,
        backlog: Arc<Backlog>,
        keep_alive: bool,
    },
}

/// How a stream on a connection finished.
enum StreamEnd {
    /// The master ended it (the last chunk was written).
    Ended,
    /// The connection is gone or must go.
    Gone,
}

/// One connection. Dropping it (the peer left, or the task was aborted)
/// tells the master about every stream it still carried.
struct Connection {
    shared: Arc<Shared>,
    id: u64,
    /// The streams opened on it and not ended yet.
    streams: Vec<StreamKey>,
    /// Accepted at the other master's address (`leader-change`).
    successor: bool,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.streams.is_empty() {
            return;
        }
        let mut state = self.shared.lock();
        let now = self.shared.now(&state);
        for stream in self.streams.drain(..) {
            state.streams.remove(&stream);
            if let Some(recorder) = &mut state.recorder {
                recorder.close(now, stream, Party::Framework, "connection closed");
            }
            let mut pushes = Vec::new();
            state.connection_lost(stream, now, &mut pushes);
            state.dispatch(pushes, now);
        }
        drop(state);
        self.shared.wake.notify_one();
    }
}

impl Connection {
    async fn run<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(mut self, mut rd: R, mut wr: W) -> io::Result<()> {
        let mut buf = BytesMut::with_capacity(8192);
        let mut pending: VecDeque<Reply> = VecDeque::new();
        loop {
            if !self.take_requests(&mut buf, &mut pending) {
                return Ok(());
            }
            if !pending.is_empty() && peer_left(&mut rd, &mut buf).await? {
                // The peer shut its side before its answer went out:
                // libprocess closes the socket as soon as it reads the end,
                // which comes before the answer is ready.
                return Ok(());
            }
            let Some(reply) = pending.pop_front() else {
                // Waiting for a request (the next, or the rest of one): not
                // for ever (a stream being written is not waited on here).
                match tokio::time::timeout(self.shared.request_timeout, rd.read_buf(&mut buf)).await {
                    Err(_) => {
                        tracing::debug!(conn = self.id, "no request within the request timeout: closed");
                        return Ok(());
                    }
                    Ok(read) => {
                        if read? == 0 {
                            // The peer shut its side: libprocess closes the
                            // socket at once (`SocketManager::close`).
                            return Ok(());
                        }
                    }
                }
                continue;
            };
            match reply {
                Reply::Full { bytes, keep_alive } => {
                    wr.write_all(&bytes).await?;
                    // Over TLS the last bytes may wait in the TLS layer
                    // (a no-op over TCP).
                    wr.flush().await?;
                    if !keep_alive {
                        let _ = wr.shutdown().await;
                        return Ok(());
                    }
                }
                Reply::Stream { head, key, mut rx, backlog, keep_alive } => {
                    wr.write_all(&head).await?;
                    wr.flush().await?;
                    match self.stream(&mut rd, &mut wr, &mut buf, &mut pending, &mut rx, &backlog).await? {
                        StreamEnd::Ended => {
                            self.streams.retain(|s| *s != key);
                            if !keep_alive {
                                let _ = wr.shutdown().await;
                                return Ok(());
                            }
                        }
                        StreamEnd::Gone => return Ok(()),
                    }
                }
            }
        }
    }

    /// Handles every whole request in `buf`, queueing the answers; `false`
    /// when the bytes are not HTTP (the connection is closed unanswered).
    fn take_requests(&mut self, buf: &mut BytesMut, pending: &mut VecDeque<Reply>) -> bool {
        loop {
            match http::parse(buf, self.shared.max_body) {
                Parsed::Request(request, used) => {
                    buf.advance(used);
                    let reply = self.handle(request);
                    pending.push_back(reply);
                }
                Parsed::Partial => return true,
                Parsed::Invalid => return false,
                Parsed::TooLarge => {
                    // Answered, then the connection closes (the rest of the
                    // body is not read).
                    buf.clear();
                    let now = self.shared.now(&self.shared.lock());
                    let text = format!("Request body over {} bytes (--max-body)", self.shared.max_body);
                    let response = Response::text(413, text).dated(self.shared.date(now));
                    pending.push_back(Reply::Full { bytes: response.to_bytes(), keep_alive: false });
                    return true;
                }
            }
        }
    }

    /// Writes a stream's records as they come, reading (and handling) what
    /// the peer sends meanwhile, until the stream ends or the connection
    /// goes.
    async fn stream<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
        &mut self,
        rd: &mut R,
        wr: &mut W,
        buf: &mut BytesMut,
        pending: &mut VecDeque<Reply>,
        rx: &mut mpsc::UnboundedReceiver<StreamMsg>,
        backlog: &Backlog,
    ) -> io::Result<StreamEnd> {
        // The chunks being written (each record its own chunk, the records
        // at hand written together), how much of them is, and whether the
        // last chunk is among them.
        let mut out: Option<(Vec<u8>, usize)> = None;
        let mut ending = false;
        // The pieces of a re-chunked record still to write, each after a
        // pause, so that each comes in its own TCP segment.
        let mut later: VecDeque<Vec<u8>> = VecDeque::new();
        let pause = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(pause);
        let mut paused = false;
        // Bytes were written since the last flush: over TLS they may wait in
        // the TLS layer until flushed (over TCP a flush is a no-op).
        let mut unflushed = false;
        loop {
            if backlog.aborted.load(Ordering::Acquire) {
                return Ok(StreamEnd::Gone);
            }
            tokio::select! {
                biased;
                _ = backlog.abort.notified() => return Ok(StreamEnd::Gone),
                read = rd.read_buf(buf) => {
                    if read? == 0 || !self.take_requests(buf, pending) {
                        return Ok(StreamEnd::Gone);
                    }
                }
                // Writes the batch; once it is written, flushes (both are
                // cancel-safe: a write that was not polled to its end wrote
                // nothing, and a flush is done again).
                io = async {
                    match out.as_ref() {
                        Some((bytes, at)) => wr.write(&bytes[*at..]).await.map(Some),
                        None => wr.flush().await.map(|()| None),
                    }
                }, if out.is_some() || unflushed =>
                {
                    let Some(n) = io? else {
                        unflushed = false;
                        continue;
                    };
                    if n == 0 {
                        return Ok(StreamEnd::Gone);
                    }
                    unflushed = true;
                    if let Some((bytes, at)) = &mut out {
                        *at += n;
                        if *at == bytes.len() {
                            out = None;
                            if !later.is_empty() {
                                pause.as_mut().reset(Instant::now() + PIECE_GAP);
                                paused = true;
                            } else if ending {
                                wr.flush().await?;
                                return Ok(StreamEnd::Ended);
                            }
                        }
                    }
                }
                _ = &mut pause, if paused => {
                    paused = false;
                    out = later.pop_front().map(|piece| (piece, 0));
                }
                msg = rx.recv(), if out.is_none() && !paused && later.is_empty() => {
                    let mut bytes = Vec::new();
                    let mut next = msg;
                    loop {
                        match next {
                            Some(StreamMsg::Record(record, cuts)) if !cuts.is_empty() => {
                                backlog.queued.fetch_sub(record.len(), Ordering::AcqRel);
                                // The first piece goes with what is at hand,
                                // the others one by one.
                                let mut start = 0;
                                for end in cuts.into_iter().chain([record.len()]) {
                                    let end = end.clamp(start, record.len());
                                    if end == start {
                                        continue;
                                    }
                                    let mut piece = Vec::new();
                                    http::push_chunk(&record[start..end], &mut piece);
                                    if start == 0 {
                                        bytes.extend_from_slice(&piece);
                                    } else {
                                        later.push_back(piece);
                                    }
                                    start = end;
                                }
                                break;
                            }
                            Some(StreamMsg::Record(record, _)) => {
                                backlog.queued.fetch_sub(record.len(), Ordering::AcqRel);
                                http::push_chunk(&record, &mut bytes);
                            }
                            Some(StreamMsg::End) => {
                                bytes.extend_from_slice(http::LAST_CHUNK);
                                ending = true;
                                break;
                            }
                            // The master dropped the stream (it fell too
                            // far behind).
                            None => return Ok(StreamEnd::Gone),
                        }
                        if bytes.len() >= WRITE_BATCH {
                            break;
                        }
                        match rx.try_recv() {
                            Ok(msg) => next = Some(msg),
                            Err(_) => break,
                        }
                    }
                    out = Some((bytes, 0));
                }
            }
        }
    }

    /// One request, handled now; its answer, to be written in turn.
    fn handle(&mut self, request: http::Request) -> Reply {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        let state = &mut *state;
        let now = shared.now(state);
        let (endpoint, path) = endpoints::route(&request.path);
        let mut pushes = Vec::new();
        let mut stream = None;
        let clock = state.clock(now);
        let mut operator_stream = None;
        let mut not_ready = state.master.not_ready(now).and_then(|how| not_ready_answer(how, endpoint));
        // A master that is not the leader (`leader-change`) redirects what
        // `Master::Http::redirect` redirects: `//host:port` and the
        // request's path and query (1.11.0).
        if not_ready.is_none()
            && matches!(endpoint, Endpoint::Scheduler | Endpoint::Operator | Endpoint::State)
            && let Some((host, port, location)) = state.master.redirect(self.successor, now)
        {
            let target = if request.target.starts_with('/') { &request.target } else { &request.path };
            not_ready = Some(Response::redirect(location.value(&host, port, target)));
        }
        let response = if let Some(refused) = not_ready {
            refused
        } else {
            match endpoint {
                Endpoint::Scheduler => {
                    let (response, opened) = answer(state, &request, now, &mut pushes);
                    stream = opened;
                    response
                }
                Endpoint::Operator => {
                    let view = state.master.view();
                    let cluster = Cluster { view: &view, history: &state.history, clock: &clock };
                    match operator::handle(&request, &cluster) {
                        Outcome::Answer(response) => response,
                        Outcome::Subscribe(content_type) => {
                            let mut records = Vec::new();
                            let key = state.operator.subscribe(content_type, &cluster, now, &mut records);
                            let (tx, rx) = mpsc::unbounded_channel();
                            let backlog = Arc::new(Backlog::default());
                            state.streams.insert(key, StreamTx { tx, backlog: backlog.clone() });
                            operator_stream = Some((key, rx, backlog, records));
                            Response::operator_stream(content_type.as_str())
                        }
                    }
                }
                Endpoint::Version => endpoints::version(&request),
                Endpoint::Health => Response::empty(200),
                Endpoint::Redirect => endpoints::redirect(&path, &state.master.view()),
                Endpoint::State => endpoints::state(&request, &state.master.view(), &state.history, &clock),
                Endpoint::Metrics => endpoints::metrics(&request, &state.master.view(), &state.history, &clock),
                Endpoint::NotFound => Response::text(404, "404 Not Found."),
                Endpoint::BadPath => Response::text(400, "Request URL path must start with '/'"),
            }
        };
        let response = response.dated(shared.date(now)).compressed_for(&request);
        if let Some((key, rx, backlog, records)) = operator_stream {
            // Not a framework's: no session records it.
            state.send(records);
            state.dispatch(pushes, now);
            shared.wake.notify_one();
            self.streams.push(key);
            return Reply::Stream { head: response.to_bytes(), key, rx, backlog, keep_alive: request.keep_alive };
        }
        if state.recorder.is_some() && endpoint != Endpoint::Operator {
            let key = stream.as_ref().map(|(key, _, _)| (*key, state.master.stream_framework(*key).map(str::to_owned)));
            let exchange = exchange(self.id, &request, &response, key.is_some());
            if let Some(recorder) = &mut state.recorder {
                recorder.exchange(now, exchange, key);
            }
        }
        state.dispatch(pushes, now);
        shared.wake.notify_one();
        let head = response.to_bytes();
        match stream {
            Some((key, rx, backlog)) => {
                self.streams.push(key);
                Reply::Stream { head, key, rx, backlog, keep_alive: request.keep_alive }
            }
            None => Reply::Full { bytes: head, keep_alive: request.keep_alive },
        }
    }
}

/// What a master that is not ready (a `not-ready` fault) answers on
/// `endpoint`, if not what a ready one does. Its texts are those of
/// src/master/http.cpp (1.11.0): every master route checks that the
/// master is elected first (`redirect`, which without a leader answers
/// `ServiceUnavailable("No leader elected")`); the scheduler and operator
/// APIs then that it recovered (`ServiceUnavailable("Master has not
/// finished recovery")`). Before the master process exists, libprocess
/// knows none of its routes: `NotFound()`, `404 Not Found.`. `/version`
/// and `/metrics/snapshot` are other processes': always served.
fn not_ready_answer(how: super::faults::NotReady, endpoint: Endpoint) -> Option<Response> {
    use super::faults::NotReady;
    let master_route = matches!(
        endpoint,
        Endpoint::Scheduler | Endpoint::Operator | Endpoint::State | Endpoint::Redirect | Endpoint::Health
    );
    match how {
        NotReady::NotFound if master_route => Some(Response::text(404, "404 Not Found.")),
        NotReady::NoLeader if master_route && endpoint != Endpoint::Health => {
            Some(Response::text(503, "No leader elected"))
        }
        NotReady::Recovering if matches!(endpoint, Endpoint::Scheduler | Endpoint::Operator) => {
            Some(Response::text(503, "Master has not finished recovery"))
        }
        _ => None,
    }
}

/// A stream a SUBSCRIBE opened: its key, what its connection reads, and
/// the backlog they share.
type Opened = (StreamKey, mpsc::UnboundedReceiver<StreamMsg>, Arc<Backlog>);

/// The master's answer to a scheduler API request, and the stream it
/// opened.
fn answer(
    state: &mut State,
    request: &http::Request,
    now: Duration,
    pushes: &mut Vec<Push>,
) -> (Response, Option<Opened>) {
    let call = Request {
        method: &request.method,
        content_type: request.header("content-type"),
        accept: request.header("accept"),
        stream_id: request.header("mesos-stream-id"),
        body: &request.body,
    };
    let content_type = negotiate::request_content_type(call.content_type).ok();
    let decoded = decode_call(&request.body, content_type);
    // Whether the call names a framework the master has: a master counts
    // the call in that framework's metrics once it found it.
    let known = decoded.as_ref().and_then(|c| c.framework_id.as_ref()).is_some_and(|id| {
        state.master.framework_info(&id.value).is_some() && !state.master.framework_removed(&id.value)
    });
    let answer = state.master.handle_call(&call, now, pushes);
    let reached = match &answer {
        Answer::Accepted | Answer::Ok => true,
        // Refused before the framework was looked up: the method, the
        // media types, the body, the validation.
        Answer::Error { status, message } => ![405, 406, 415].contains(status) && !message.starts_with("Failed to"),
        Answer::Stream { .. } => false,
    };
    if let Some(decoded) = decoded.as_ref().filter(|_| known && reached) {
        state.history.reached(decoded);
    }
    match answer {
        Answer::Accepted | Answer::Ok => {
            let status = if answer == Answer::Ok { 200 } else { 202 };
            if let Some(decoded) = decoded {
                state.history.taken(&state.master, decoded);
            }
            (Response::empty(status), None)
        }
        Answer::Error { status: 405, message } => (Response::method_not_allowed(message), None),
        Answer::Error { status, message } => (Response::text(status, message), None),
        Answer::Stream { stream, content_type: response_type, stream_id } => {
            let (tx, rx) = mpsc::unbounded_channel();
            let backlog = Arc::new(Backlog::default());
            state.streams.insert(stream, StreamTx { tx, backlog: backlog.clone() });
            let with_id = decoded
                .and_then(|c| c.subscribe)
                .and_then(|s| s.framework_info.id)
                .is_some_and(|id| !id.value.is_empty());
            let framework = state.master.stream_framework(stream).map(str::to_owned);
            let at = state.start_wall + now.as_secs_f64();
            state.history.subscribed(&state.master, stream, framework.as_deref(), with_id, response_type, at);
            (Response::stream(&stream_id, response_type.as_str()), Some((stream, rx, backlog)))
        }
    }
}

/// A request and its response, as a session records them.
fn exchange(conn: u64, request: &http::Request, response: &Response, stream: bool) -> Exchange {
    let (summary, problem) = match mesos_codec::api::Api::from_path(&request.target) {
        Some(api) => mesos_codec::api::read_call(api, request.header("content-type"), &request.body),
        None => (session::Summary::default(), None),
    };
    let framework_id = summary.framework_id.clone();
    let recorded = session::Request {
        method: request.method.clone(),
        path: request.target.clone(),
        headers: request.headers.clone(),
        body: request.body.to_vec(),
        summary,
    };
    let format = if stream { mesos_codec::api::encoding(response.header("content-type")) } else { None };
    let response = session::Response {
        request: None,
        status: response.status,
        headers: response.headers.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect(),
        body: response.body.to_vec(),
        stream,
        format,
    };
    Exchange { conn, request: recorded, problem, response, framework_id }
}
