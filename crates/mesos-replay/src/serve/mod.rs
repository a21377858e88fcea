//! `mesos-replay serve`: plays the master of a recorded session to a live
//! framework, deterministically.
//!
//! How it works:
//!
//! 1. [`Script::open`] reads the session once, checks it whole (a bad line
//!    is an error naming it before anything is served) and notes where each
//!    call, answer and stream lies. Nothing per event is kept.
//! 2. [`spawn`] serves it. A *cursor* walks the session again in file
//!    order, on its own thread for the reading. At each recorded call it
//!    waits until the live framework has made the matching call (causal
//!    gating); at each event it waits for the pace, then sends it on the
//!    live stream of its subscription; at a stream the master closed, it
//!    closes the live one. Live calls are matched to the recording as they
//!    come and answered with the recorded answer; what does not match is a
//!    [`Divergence`].
//! 3. When the recording is played out (and the framework has hung up, or
//!    `linger` has passed), [`ServeHandle::finish`] returns the [`Report`].
//!
//! Deterministic: what is sent depends only on the recording and on what the
//! framework sends, never on timing (pacing changes *when*, not *what*), and
//! the report holds no times.
//!
//! ```no_run
//! use mesos_replay::serve::{Options, Script, spawn};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let script = Script::open("f1.session.jsonl".as_ref(), false)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5050").await?;
//! let handle = spawn(listener, script, Options::default())?;
//! // ... the framework runs against handle.local_addr() ...
//! let report = handle.finish().await;
//! assert!(report.clean);
//! # Ok(()) }
//! ```

mod engine;
pub mod faults;
mod script;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::TokioIo;
use mesos_codec::api::Encoding;
use mesos_codec::session::{EntryKind, Item, Reader};
use mesos_tls::splice::{Splice, Spliceable, Splicer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use engine::{Divergence, MatchedCall};
pub use script::{Script, ScriptError};

use crate::compare::Binding;
use engine::{CallState, Engine, LiveRequest, Reply, SubState};

/// How fast recorded events are sent, once gating allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// The recorded gaps between events.
    Recorded,
    /// The recorded gaps divided by this factor (2 = twice as fast).
    Factor(f64),
    /// No waiting at all.
    Fast,
}

impl std::str::FromStr for Pace {
    type Err = String;

    /// `recorded`, `fast`, or a positive factor.
    ///
    /// ```
    /// use mesos_replay::serve::Pace;
    /// assert_eq!("fast".parse(), Ok(Pace::Fast));
    /// assert_eq!("2.5".parse(), Ok(Pace::Factor(2.5)));
    /// assert!("0".parse::<Pace>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Pace, String> {
        match s {
            "recorded" => Ok(Pace::Recorded),
            "fast" => Ok(Pace::Fast),
            _ => match s.parse::<f64>() {
                Ok(f) if f.is_finite() && f > 0.0 => Ok(Pace::Factor(f)),
                _ => Err(format!("`{s}`: expected `recorded`, `fast` or a positive factor")),
            },
        }
    }
}

/// How event streams are cut into HTTP chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// One record per chunk, as a master writes them.
    Record,
    /// The recorded chunk boundaries (from the events' `chunks`), for client
    /// bugs that depend on them. Events rewritten or transcoded go as one
    /// chunk (their length changed).
    Recorded,
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// The pace of events.
    pub pace: Pace,
    /// End the streams at the first divergence.
    pub strict: bool,
    /// How streams are cut into chunks.
    pub chunking: Chunking,
    /// How long to wait for a recorded call, once every event before it was
    /// sent, before reporting it missing.
    pub call_timeout: Duration,
    /// Recorded gaps longer than this are shortened to it (idle time skipped).
    pub max_gap: Option<Duration>,
    /// After the recording is played out, how long to wait for the
    /// framework to hang up (extra calls in this time are reported).
    pub linger: Duration,
    /// The largest request body read (`--max-body`); a longer one is
    /// answered `413`.
    pub max_body: usize,
    /// How long a request's head or body may wait for its next bytes, and a
    /// connection for its next request (`--request-timeout`); never an event
    /// stream.
    pub request_timeout: Duration,
    /// Connections served at once (`--max-connections`); one more is
    /// answered `503` and closed.
    pub max_connections: usize,
    /// Faults to show on the recording (`--fault`, [`faults`]).
    pub faults: Vec<faults::ServeFault>,
}

impl Default for Options {
    /// Recorded pace, lenient, one record per chunk, 10 s for a missing
    /// call, no gap limit, 2 s of linger.
    ///
    /// ```
    /// let options = mesos_replay::serve::Options::default();
    /// assert_eq!(options.pace, mesos_replay::serve::Pace::Recorded);
    /// ```
    fn default() -> Options {
        Options {
            pace: Pace::Recorded,
            strict: false,
            chunking: Chunking::Record,
            call_timeout: Duration::from_secs(10),
            max_gap: None,
            linger: Duration::from_secs(2),
            max_body: 64 << 20,
            request_timeout: Duration::from_secs(60),
            max_connections: 4096,
            faults: Vec::new(),
        }
    }
}

/// Per subscription, in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionReport {
    /// Its number (from 1, in recorded order).
    pub subscription: usize,
    /// Whether a live SUBSCRIBE was matched to it.
    pub subscribed: bool,
    /// Events recorded on it.
    pub events_recorded: u64,
    /// Events sent on it.
    pub events_sent: u64,
}

/// The outcome of a replay: byte for byte the same across runs with the same
/// framework behaviour (no times in it).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The session file's name.
    pub session: String,
    /// No divergence, and every recorded call matched.
    pub clean: bool,
    /// Recorded calls.
    pub calls_recorded: usize,
    /// Recorded calls matched by a live call.
    pub calls_matched: usize,
    /// Events sent, on all streams.
    pub events_sent: u64,
    /// Events that could not be sent (their stream was gone).
    pub events_undelivered: u64,
    /// Live requests outside the v1 APIs that the recording does not hold
    /// (`GET /redirect`, ...), answered as a master would.
    pub unrecorded_requests: u64,
    /// The matched calls, in the order they were matched.
    pub matched: Vec<MatchedCall>,
    /// Every divergence, in the order found.
    pub divergences: Vec<Divergence>,
    /// The framework-chosen ids bound (recorded → live).
    pub bindings: Vec<Binding>,
    /// Per subscription.
    pub subscriptions: Vec<SubscriptionReport>,
    /// The `--fault`s that fired: which, at which event, what they did.
    pub faults: Vec<faults::Fired>,
}

impl Report {
    /// The report as pretty JSON, with a final newline.
    ///
    /// ```
    /// # let report = mesos_replay::serve::Report { session: "s".into(), clean: true, calls_recorded: 0,
    /// #     calls_matched: 0, events_sent: 0, events_undelivered: 0, unrecorded_requests: 0, matched: vec![],
    /// #     divergences: vec![], bindings: vec![], subscriptions: vec![], faults: vec![] };
    /// assert!(report.to_json().starts_with(b"{\n  \"session\": \"s\""));
    /// ```
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// One step of the recording, in file order, for the cursor.
enum Step {
    Call {
        index: usize,
        t_ns: u64,
    },
    Event {
        sub: usize,
        seq: u64,
        t_ns: u64,
        framed: engine::Framed,
        format: Option<Encoding>,
        chunks: Option<Vec<u64>>,
    },
    Close {
        sub: usize,
        t_ns: u64,
    },
    Failed(String),
}

struct Shared {
    engine: Mutex<Engine>,
    /// Bumped whenever a call is matched or the replay stops.
    progress: watch::Sender<u64>,
    open_connections: AtomicUsize,
    max_body: usize,
    request_timeout: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bump(&self) {
        self.progress.send_modify(|n| *n += 1);
    }
}

/// A running replay (see [`spawn`]).
///
/// ```no_run
/// # async fn run(handle: mesos_replay::serve::ServeHandle) {
/// let mut handle = handle;
/// println!("serving on {}", handle.local_addr());
/// tokio::select! {
///     () = handle.played_out() => {}
///     _ = tokio::signal::ctrl_c() => {}
/// }
/// let report = handle.report();
/// println!("{} of {} calls matched", report.calls_matched, report.calls_recorded);
/// # }
/// ```
pub struct ServeHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: JoinHandle<()>,
    cursor: JoinHandle<()>,
}

impl ServeHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits until the recording is played out and the framework has hung
    /// up (or `linger` passed), then returns the report.
    pub async fn finish(mut self) -> Report {
        self.played_out().await;
        self.accept.abort();
        self.report()
    }

    /// Waits until the recording is played out (as [`finish`](Self::finish)
    /// does), keeping the handle: for racing it against a shutdown signal.
    pub async fn played_out(&mut self) {
        if !self.cursor.is_finished() {
            let _ = (&mut self.cursor).await;
        }
    }

    /// Stops now (Ctrl-C): the recorded calls not yet made are reported
    /// missing, and the report says so.
    pub fn stop(self) -> Report {
        self.cursor.abort();
        self.accept.abort();
        {
            let mut engine = self.shared.lock();
            for i in 0..engine.states.len() {
                engine.missing(i);
            }
            engine.stop();
        }
        self.report()
    }

    /// The report as it stands.
    pub fn report(&self) -> Report {
        let engine = self.shared.lock();
        let script = &engine.script;
        let calls_matched = engine.matched.len();
        let subscriptions = script
            .subs
            .iter()
            .enumerate()
            .map(|(i, s)| SubscriptionReport {
                subscription: i + 1,
                subscribed: matches!(engine.states[s.call], CallState::Matched { .. }),
                events_recorded: s.events,
                events_sent: engine.events_sent[i],
            })
            .collect();
        Report {
            session: script.name.clone(),
            clean: engine.divergences.is_empty() && calls_matched == script.calls.len(),
            calls_recorded: script.calls.len(),
            calls_matched,
            events_sent: engine.events_sent.iter().sum(),
            events_undelivered: engine.events_undelivered,
            unrecorded_requests: engine.unrecorded,
            matched: engine.matched.clone(),
            divergences: engine.divergences.clone(),
            bindings: engine.bindings(),
            subscriptions,
            faults: engine.fired.clone(),
        }
    }
}

impl Drop for ServeHandle {
    fn drop(&mut self) {
        self.accept.abort();
        self.cursor.abort();
    }
}

/// Starts serving `script` on `listener`. Must be called inside a tokio
/// runtime.
///
/// ```no_run
/// use mesos_replay::serve::{Options, Pace, Script, spawn};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let script = Script::open("f1.session.jsonl".as_ref(), false)?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let handle = spawn(listener, script, Options { pace: Pace::Fast, strict: true, ..Options::default() })?;
/// let report = handle.finish().await;
/// std::fs::write("report.json", report.to_json())?;
/// # Ok(()) }
/// ```
pub fn spawn(listener: TcpListener, script: Script, options: Options) -> io::Result<ServeHandle> {
    spawn_tls(listener, script, options, None)
}

/// [`spawn`], over TLS when `tls` is given (`--tls-cert`): each
/// connection's handshake is done on its own task, within the request
/// timeout; a plain HTTP request is answered `400` (TLS required).
pub fn spawn_tls(
    listener: TcpListener,
    script: Script,
    options: Options,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> io::Result<ServeHandle> {
    let addr = listener.local_addr()?;
    let script = Arc::new(script);
    let limits = (options.max_body, options.request_timeout, options.max_connections);
    let engine = Engine::new(script.clone(), options)?;
    let (progress, _) = watch::channel(0);
    let shared = Arc::new(Shared {
        engine: Mutex::new(engine),
        progress,
        open_connections: AtomicUsize::new(0),
        max_body: limits.0,
        request_timeout: limits.1,
    });
    let max_connections = limits.2;
    let accept_shared = shared.clone();
    let accept = tokio::spawn(async move {
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
            let tls = tls.clone();
            if shared.open_connections.load(Ordering::SeqCst) >= max_connections {
                tokio::spawn(async move {
                    if let Some(stream) = handshake(tls.as_ref(), stream, shared.request_timeout).await {
                        refuse(stream, max_connections).await;
                    }
                });
                continue;
            }
            shared.open_connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let Some(stream) = handshake(tls.as_ref(), stream, shared.request_timeout).await else {
                    shared.open_connections.fetch_sub(1, Ordering::SeqCst);
                    shared.bump();
                    return;
                };
                let conn_shared = shared.clone();
                // Event streams are written past hyper, framed as a master
                // frames them (`mesos_tls::splice`).
                let stream = Spliceable::new(stream);
                let splicer = stream.splicer();
                let service = hyper::service::service_fn(move |req| handle(conn_shared.clone(), splicer.clone(), req));
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    // Header names as a master writes them (`Mesos-Stream-Id`).
                    .title_case_headers(true)
                    // A head that does not come, or a connection idle
                    // between requests, is closed; a stream never is.
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(shared.request_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!("connection from {peer}: {e}");
                }
                shared.open_connections.fetch_sub(1, Ordering::SeqCst);
                shared.bump();
            });
        }
    });
    let (steps_tx, steps_rx) = mpsc::channel(4);
    let reader_script = script.clone();
    std::thread::Builder::new()
        .name("mesos-replay-reader".into())
        .spawn(move || read_steps(&reader_script, &steps_tx))?;
    let cursor = tokio::spawn(cursor(shared.clone(), steps_rx));
    Ok(ServeHandle { shared, addr, accept, cursor })
}

/// The second pass: the session's steps in file order (on its own thread).
fn read_steps(script: &Script, tx: &mpsc::Sender<Vec<Step>>) {
    let fail = |message: String| {
        let _ = tx.blocking_send(vec![Step::Failed(message)]);
    };
    let mut file = match std::fs::File::open(&script.path) {
        Ok(file) => file,
        Err(e) => return fail(format!("{}: {e}", script.name)),
    };
    let subs_by_seq: std::collections::HashMap<u64, usize> =
        script.subs.iter().enumerate().map(|(i, s)| (s.response_seq, i)).collect();
    // The last stream looked up and its subscription: events come in runs
    // of one stream, and hashing each event's was 0.5 % of this thread.
    let mut last: Option<(u64, usize)> = None;
    let mut sub_of = |stream: u64| -> Option<usize> {
        if let Some((seq, sub)) = last
            && seq == stream
        {
            return Some(sub);
        }
        let sub = *subs_by_seq.get(&stream)?;
        last = Some((stream, sub));
        Some(sub)
    };
    let mut reader = Reader::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = script.end;
    let mut calls = 0usize;
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match file.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return fail(format!("{}: {e}", script.name)),
        };
        left -= n as u64;
        reader.push(&buf[..n]);
        // The frames of this read's events, one allocation for them all
        // (see `engine::Framed`): each record is unescaped straight into
        // it, after room for its size line.
        let mut arena = engine::Arena::with_capacity(n + n / 8);
        let mut batch = Vec::new();
        // Where each event's frame lies in the arena, by its step.
        let mut spans = Vec::new();
        loop {
            let at = arena.open();
            let entry = match reader.next_item_into(arena.records()) {
                Ok(Some(Item::Entry(entry))) => entry,
                Ok(Some(Item::Header(_))) => {
                    arena.drop_open(at);
                    continue;
                }
                Ok(None) => {
                    arena.drop_open(at);
                    break;
                }
                Err(e) => return fail(format!("{}: {e}", script.name)),
            };
            let step = match entry.kind {
                EntryKind::Event(e) if let Some(sub) = sub_of(e.stream) => {
                    let (framed, span) = arena.close(at);
                    spans.push((batch.len(), span));
                    Step::Event {
                        sub,
                        seq: entry.seq,
                        t_ns: entry.t_ns,
                        framed,
                        format: e.summary.format,
                        chunks: e.chunks,
                    }
                }
                kind => {
                    arena.drop_open(at);
                    match kind {
                        EntryKind::Request(_) => {
                            calls += 1;
                            Step::Call { index: calls - 1, t_ns: entry.t_ns }
                        }
                        EntryKind::Close(c) if script::closes_stream(c.by) => match c.stream.and_then(&mut sub_of) {
                            Some(sub) => Step::Close { sub, t_ns: entry.t_ns },
                            None => continue,
                        },
                        _ => continue,
                    }
                }
            };
            batch.push(step);
        }
        let frames = arena.freeze();
        for (i, span) in spans {
            if let Step::Event { framed, .. } = &mut batch[i] {
                framed.bytes = frames.slice(span);
            }
        }
        if !batch.is_empty() && tx.blocking_send(batch).is_err() {
            return;
        }
    }
}

/// When the next step is due.
struct Pacer {
    pace: Pace,
    max_gap: Option<Duration>,
    /// The recorded time and the live instant of the last step.
    last: Option<(u64, Instant)>,
}

impl Pacer {
    fn due(&mut self, t_ns: u64, now: Instant) -> Instant {
        let factor = match self.pace {
            Pace::Fast => return now,
            Pace::Recorded => 1.0,
            Pace::Factor(f) => f,
        };
        let Some((last_t, last_at)) = self.last else {
            self.last = Some((t_ns, now));
            return now;
        };
        let mut gap = Duration::from_nanos(t_ns.saturating_sub(last_t));
        if let Some(max) = self.max_gap {
            gap = gap.min(max);
        }
        let due = last_at + gap.div_f64(factor);
        self.last = Some((t_ns, due));
        due
    }

    /// When the next step is due, if that is later than now. With `--pace
    /// fast` never, and the clock is not read: two clock reads an event
    /// were 8 % of the tokio workers' time in `serve --pace fast` (perf).
    fn later(&mut self, t_ns: u64) -> Option<Instant> {
        if self.pace == Pace::Fast {
            return None;
        }
        let now = Instant::now();
        let due = self.due(t_ns, now);
        (due > now).then_some(due)
    }

    /// Everything after is `by` later (a `stall`).
    fn shift(&mut self, by: Duration) {
        if let Some((_, at)) = &mut self.last {
            *at += by;
        }
    }

    /// A recorded call was made live at `at`: later steps keep their gaps
    /// from it, never earlier than the recording would have them.
    fn called(&mut self, t_ns: u64, at: Instant) {
        let due = self.due(t_ns, at);
        self.last = Some((t_ns, due.max(at)));
    }
}

/// Events made ready for one stream and not yet handed to it.
struct Pending {
    sub: usize,
    tx: mpsc::Sender<Vec<Bytes>>,
    frames: Vec<Bytes>,
    events: u64,
}

/// What ended a run of events made ready by [`ready_events`].
enum Run {
    /// The replay stopped.
    Stopped,
    /// The pending events are to be handed over first (a batch is full, or
    /// the next event is for another stream).
    Flush,
    /// The next step is not an event (or there is none).
    Other,
}

/// Makes ready the events at the head of `steps`, under one lock, as the
/// cursor's step does one event at a time with `--pace fast` and no
/// `--fault`s (nothing to wait for between them): until the replay stops,
/// a batch is full or the next step is not an event. No sender clone and
/// no `Vec` an event. Why a second path: serving the serve bench's 1M
/// events with the binary to a draining client (a busy 2-core VM, four
/// runs in turns), the tokio workers took 0.28-0.36 s of CPU with two
/// locks an event, 0.23-0.26 s with this.
fn ready_events(
    shared: &Shared,
    steps: &mut std::iter::Peekable<std::vec::IntoIter<Step>>,
    pending: &mut Option<Pending>,
) -> Run {
    let mut engine = shared.lock();
    loop {
        let Some(&Step::Event { sub, .. }) = steps.peek() else { return Run::Other };
        if engine.stopped {
            return Run::Stopped;
        }
        if engine.is_live(sub) && pending.as_ref().is_some_and(|p| p.sub != sub) {
            return Run::Flush;
        }
        let Some(Step::Event { sub, framed, format, chunks, .. }) = steps.next() else { return Run::Other };
        match pending {
            Some(p) => {
                if engine.event_frames_into(sub, framed, format, chunks, &mut p.frames).is_some() {
                    p.events += 1;
                }
            }
            None => {
                let mut frames = Vec::with_capacity(engine::BATCH as usize);
                if let Some(tx) = engine.event_frames_into(sub, framed, format, chunks, &mut frames) {
                    *pending = Some(Pending { sub, tx: tx.clone(), frames, events: 1 });
                }
            }
        }
        if pending.as_ref().is_some_and(|p| p.events >= engine::BATCH) {
            return Run::Flush;
        }
    }
}

/// Hands the pending events to their stream (waiting while it is full).
async fn flush(shared: &Shared, pending: &mut Option<Pending>) {
    let Some(p) = pending.take() else { return };
    let delivered = p.tx.send(p.frames).await.is_ok();
    let mut engine = shared.lock();
    if delivered {
        engine.events_sent[p.sub] += p.events;
    } else {
        engine.events_undelivered += p.events;
    }
}

async fn cursor(shared: Arc<Shared>, mut steps: mpsc::Receiver<Vec<Step>>) {
    let (timeout, linger, pace, max_gap, faults) = {
        let engine = shared.lock();
        let options = &engine.options;
        (options.call_timeout, options.linger, options.pace, options.max_gap, !engine.faults.list.is_empty())
    };
    let mut pacer = Pacer { pace, max_gap, last: None };
    let mut progress = shared.progress.subscribe();
    let mut pending: Option<Pending> = None;
    // Nothing to wait for between events: runs of them are made ready
    // under one lock (`ready_events`).
    let fast = pace == Pace::Fast && !faults;
    'steps: while let Some(batch) = steps.recv().await {
        let mut batch = batch.into_iter().peekable();
        loop {
            if fast && matches!(batch.peek(), Some(Step::Event { .. })) {
                match ready_events(&shared, &mut batch, &mut pending) {
                    Run::Stopped => break 'steps,
                    Run::Flush => flush(&shared, &mut pending).await,
                    Run::Other => {}
                }
                continue;
            }
            let Some(step) = batch.next() else { break };
            if shared.lock().stopped {
                break 'steps;
            }
            match step {
                Step::Call { index, t_ns } => {
                    flush(&shared, &mut pending).await;
                    let deadline = Instant::now() + timeout;
                    loop {
                        let state = shared.lock().states[index];
                        match state {
                            CallState::Matched { at } => {
                                pacer.called(t_ns, at);
                                break;
                            }
                            CallState::Missing => break,
                            CallState::Pending => {}
                        }
                        tokio::select! {
                            _ = progress.changed() => {}
                            _ = tokio::time::sleep_until(deadline) => {
                                shared.lock().missing(index);
                                shared.bump();
                                break;
                            }
                        }
                    }
                }
                Step::Event { sub, seq, t_ns, framed, format, chunks } => {
                    // Without `--fault`s, no lock here.
                    let effect = if !faults {
                        faults::Effect::default()
                    } else {
                        let mut engine = shared.lock();
                        let message = engine.script.subs[sub].event;
                        let have = Encoding::of(format.or(engine.script.subs[sub].format), framed.record());
                        let type_name = message
                            .and_then(|m| mesos_codec::peek::peek_type(m, have, framed.record()).ok().flatten())
                            .unwrap_or("UNKNOWN");
                        let effect = engine.faults.next(type_name);
                        let event = engine.faults.events();
                        for &i in &effect.fired {
                            // A fault that goes on from the event before
                            // (`burst`, `rechunk`) lengthens its line.
                            if let Some(k) = engine.fired_at[i]
                                && engine.fired[k].event + engine.fired[k].events == event
                            {
                                engine.fired[k].events += 1;
                                continue;
                            }
                            let fault = engine.faults.list[i].clone();
                            let what = faults::describe(&fault, &effect);
                            let fired = faults::Fired {
                                fault: fault.to_string(),
                                event,
                                events: 1,
                                seq,
                                event_type: type_name.to_owned(),
                                subscription: sub + 1,
                                what,
                            };
                            tracing::info!("fault: {fired}");
                            engine.fired_at[i] = Some(engine.fired.len());
                            engine.fired.push(fired);
                        }
                        effect
                    };
                    if let Some(stall) = effect.stall {
                        flush(&shared, &mut pending).await;
                        tokio::time::sleep(stall).await;
                        pacer.shift(stall);
                    }
                    if effect.cut {
                        flush(&shared, &mut pending).await;
                        let cut = shared.lock().cut(sub);
                        if let Some(tx) = cut {
                            let _ = tx.send(Vec::new()).await;
                            drop(tx);
                            // The rest of the stream waits for the framework
                            // to subscribe again, as long as a call would.
                            let deadline = Instant::now() + timeout;
                            loop {
                                if !matches!(shared.lock().subs[sub], SubState::Cut { .. }) {
                                    break;
                                }
                                tokio::select! {
                                    _ = progress.changed() => {}
                                    _ = tokio::time::sleep_until(deadline) => {
                                        let mut engine = shared.lock();
                                        if let Some(last) =
                                            engine.fired.iter_mut().rev().find(|f| f.fault.starts_with("cut:"))
                                        {
                                            last.what.push_str(&format!(
                                                "; the framework did not subscribe again within {:.1} s",
                                                timeout.as_secs_f64()
                                            ));
                                        }
                                        engine.subs[sub] = SubState::Closed;
                                        break;
                                    }
                                }
                            }
                            pacer.called(t_ns, Instant::now());
                        } else {
                            let mut engine = shared.lock();
                            if let Some(last) = engine.fired.iter_mut().rev().find(|f| f.fault.starts_with("cut:")) {
                                last.what = "nothing to cut: its stream was not open".into();
                            }
                        }
                    }
                    if effect.burst {
                        // Now, and the events after it keep their gaps
                        // from now.
                        pacer.last = Some((t_ns, Instant::now()));
                    } else if let Some(due) = pacer.later(t_ns) {
                        flush(&shared, &mut pending).await;
                        tokio::time::sleep_until(due).await;
                    }
                    if effect.drop {
                        continue;
                    }
                    let ready = {
                        let mut engine = shared.lock();
                        let ready = engine.event_frames(sub, framed, format, chunks);
                        match (ready, effect.rechunk) {
                            (Some((tx, frames)), Some((pieces, i))) => {
                                let framed: Vec<u8> = frames.concat();
                                let cuts = engine.faults.cuts(i, &framed, pieces);
                                let framed = Bytes::from(framed);
                                let mut at = 0;
                                let mut pieces = Vec::with_capacity(cuts.len() + 1);
                                for cut in cuts.into_iter().chain([framed.len()]) {
                                    pieces.push(framed.slice(at..cut));
                                    at = cut;
                                }
                                Some((tx, pieces))
                            }
                            (ready, _) => ready,
                        }
                    };
                    let Some((tx, mut frames)) = ready else { continue };
                    if effect.duplicate {
                        frames.extend(frames.clone());
                    }
                    if pending.as_ref().is_some_and(|p| p.sub != sub) {
                        flush(&shared, &mut pending).await;
                    }
                    let p = pending.get_or_insert_with(|| Pending { sub, tx, frames: Vec::new(), events: 0 });
                    p.frames.extend(frames);
                    p.events += 1 + u64::from(effect.duplicate);
                    if p.events >= engine::BATCH {
                        flush(&shared, &mut pending).await;
                    }
                }
                Step::Close { sub, t_ns } => {
                    flush(&shared, &mut pending).await;
                    if let Some(due) = pacer.later(t_ns) {
                        tokio::time::sleep_until(due).await;
                    }
                    let mut engine = shared.lock();
                    if matches!(engine.subs[sub], SubState::Live { .. }) {
                        engine.subs[sub] = SubState::Closed;
                    }
                }
                Step::Failed(message) => {
                    tracing::error!("{message}");
                    break 'steps;
                }
            }
        }
        // Nothing waits for the next read.
        flush(&shared, &mut pending).await;
    }
    flush(&shared, &mut pending).await;
    // Played out: end the streams still open, then give the framework a
    // moment to hang up (and report any extra call it makes meanwhile).
    shared.lock().stop_streams();
    let deadline = Instant::now() + linger;
    while shared.open_connections.load(Ordering::SeqCst) > 0 {
        tokio::select! {
            _ = progress.changed() => {}
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
}

/// Why an event stream's body failed: a `cut` fault (hyper then closes
/// the connection without the last chunk).
type BodyError = Box<dyn std::error::Error + Send + Sync>;

type ResponseBody = BoxBody<Bytes, BodyError>;

fn full(body: Bytes) -> ResponseBody {
    Full::new(body).map_err(|never: Infallible| match never {}).boxed()
}

async fn handle(
    shared: Arc<Shared>,
    splicer: Splicer<crate::tls::Stream>,
    req: hyper::Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let (parts, mut body) = req.into_parts();
    let mut bytes = bytes::BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(shared.request_timeout, body.frame()).await {
            Err(_) => {
                let message = format!("no byte of the request body for {} s", shared.request_timeout.as_secs());
                return Ok(text(StatusCode::REQUEST_TIMEOUT, message));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Ok(text(StatusCode::BAD_REQUEST, format!("Failed to read the request body: {e}")));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > shared.max_body {
                let message = format!("request body over {} bytes (--max-body)", shared.max_body);
                return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, message));
            }
            bytes.extend_from_slice(&data);
        }
    }
    let body = bytes.freeze();
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str());
    let last = |name: &str| parts.headers.get_all(name).iter().next_back().and_then(|v| v.to_str().ok());
    let request = LiveRequest {
        method: parts.method.as_str(),
        path,
        content_type: last("content-type"),
        accept: last("accept"),
        stream_id: last("mesos-stream-id"),
        host: last("host"),
        body: &body,
    };
    let reply = shared.lock().on_request(&request, Instant::now());
    shared.bump();
    Ok(match reply {
        Reply::Full { status, headers, body } => build(status, &headers, full(body)),
        Reply::Stream { status, headers, sub, generation, rx } => {
            // hyper frames the answer to an HTTP/1.1 request as chunked: the
            // stream's chunks can be framed as a master frames them.
            let splice = (parts.version == http::Version::HTTP_11).then(|| splicer.splice());
            let body = EventBody {
                rx,
                queue: Vec::new().into_iter(),
                splice,
                framed: VecDeque::new(),
                sub,
                generation,
                shared: shared.clone(),
                cut: None,
            };
            build(status, &headers, BoxBody::new(body))
        }
    })
}

/// A connection as it is served: plain, or once its TLS handshake is done
/// (`None`: plain HTTP on a TLS listener, answered `400`, or a failed
/// handshake; both logged).
async fn handshake(
    tls: Option<&tokio_rustls::TlsAcceptor>,
    stream: tokio::net::TcpStream,
    timeout: Duration,
) -> Option<crate::tls::Stream> {
    let Some(acceptor) = tls else { return Some(crate::tls::Stream::Plain(stream)) };
    match crate::tls::accept(acceptor, stream, timeout, "mesos-replay serve").await {
        crate::tls::Accepted::Tls(stream) => Some(crate::tls::Stream::Server(stream)),
        crate::tls::Accepted::Closed => None,
    }
}

/// One connection over `--max-connections`: answered `503` and closed.
async fn refuse(mut stream: crate::tls::Stream, max: usize) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!(max, "too many connections: one refused (--max-connections)");
    let body = format!("mesos-replay: too many connections (--max-connections {max})");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

fn build(status: u16, headers: &[(String, String)], body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

fn text(status: StatusCode, message: String) -> Response<ResponseBody> {
    let mut response = Response::new(full(Bytes::from(message)));
    *response.status_mut() = status;
    response
}

/// A live subscription stream: one body frame per chunk; or, spliced, each
/// batch of chunks framed as a master frames them (the size line in
/// lower-case hex; hyper writes upper case) and written past hyper.
struct EventBody {
    rx: mpsc::Receiver<Vec<Bytes>>,
    /// Chunks of the batch being written.
    queue: std::vec::IntoIter<Bytes>,
    /// Spliced: the writer, and the rest of the batch being written.
    splice: Option<Splice<crate::tls::Stream>>,
    framed: VecDeque<Bytes>,
    sub: usize,
    /// Which of its subscription's live streams it is.
    generation: u64,
    shared: Arc<Shared>,
    /// Cut by a `cut` fault: fails once this is over.
    cut: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        if let Some(flushed) = &mut self.cut {
            return match flushed.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err("the stream is cut (--fault cut)".into()))),
                Poll::Pending => Poll::Pending,
            };
        }
        loop {
            if let Some(chunk) = self.queue.next() {
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            let this = &mut *self;
            if let Some(splice) = this.splice.as_mut() {
                match splice.poll_write_all(cx, &mut this.framed) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(err)) => return Poll::Ready(Some(Err(err.into()))),
                    Poll::Pending => return Poll::Pending,
                }
            }
            match self.rx.poll_recv(cx) {
                // An empty batch: a `cut` fault. What was written before
                // it goes out first (hyper flushes while the body is
                // pending), then the body fails and hyper closes the
                // connection without the last chunk.
                Poll::Ready(Some(batch)) if batch.is_empty() => {
                    let mut flushed = Box::pin(tokio::time::sleep(Duration::from_millis(50)));
                    if flushed.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err("the stream is cut (--fault cut)".into())));
                    }
                    self.cut = Some(flushed);
                    return Poll::Pending;
                }
                Poll::Ready(Some(batch)) if self.splice.is_some() => {
                    let framed = frame_chunks(&batch);
                    self.framed.push_back(framed);
                }
                Poll::Ready(Some(batch)) => self.queue = batch.into_iter(),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// `chunks` as HTTP chunks, each as a Mesos master writes it: its size in
/// lower-case hex without leading zeros, CRLF, the data, CRLF. (An empty
/// one, which would end the body, is left out, as hyper leaves it out.)
fn frame_chunks(chunks: &[Bytes]) -> Bytes {
    use std::io::Write;
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len() + 12).sum());
    for chunk in chunks.iter().filter(|c| !c.is_empty()) {
        let _ = write!(out, "{:x}\r\n", chunk.len());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    Bytes::from(out)
}

impl Drop for EventBody {
    fn drop(&mut self) {
        // The framework hung up (or the stream ended): nothing more goes to it.
        let mut engine = self.shared.lock();
        // Its subscription's live state is this stream's unless a newer
        // stream took over (after a `cut`).
        if engine.generations[self.sub] == self.generation && matches!(engine.subs[self.sub], SubState::Live { .. }) {
            engine.subs[self.sub] = SubState::Closed;
        }
    }
}
