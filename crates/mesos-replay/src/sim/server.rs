//! The simulated master on the network: a hyper 1 HTTP/1.1 server, one task
//! per connection, in front of one [`Master`] behind a mutex.
//!
//! The clock is either real (a driver task wakes the master when
//! [`Master::poll_timeout`] says) or virtual ([`Clock::Manual`]: time moves
//! only when [`SimHandle::advance`] says, which makes every byte of every
//! stream reproducible).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use mesos_codec::negotiate::{self, ContentType};
use mesos_codec::session::{self, Format, Party};

use super::master::{Answer, Config, Master, Push, Request, StreamKey};
use super::record::{Exchange, Recorder, summarize};

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

type ResponseBody = BoxBody<Bytes, Infallible>;

struct State {
    master: Master,
    streams: HashMap<StreamKey, mpsc::UnboundedSender<Bytes>>,
    virtual_now: Duration,
    /// Records handed to open streams so far.
    records_sent: u64,
    /// `--record`: the session files.
    recorder: Option<Recorder>,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    clock: Clock,
    start: Instant,
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
}

impl State {
    fn dispatch(&mut self, pushes: Vec<Push>, now: Duration) {
        for push in pushes {
            match push {
                Push::Record { stream, record } => {
                    if let Some(tx) = self.streams.get(&stream) {
                        // A receiver that is gone is a closed connection;
                        // its body's drop tells the master.
                        if tx.send(record.clone()).is_ok() {
                            self.records_sent += 1;
                            if let Some(recorder) = &mut self.recorder {
                                recorder.record(now, stream, &record);
                            }
                        }
                    }
                }
                Push::Close { stream } => {
                    self.streams.remove(&stream);
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
        if let Some(recorder) = &mut self.recorder {
            recorder.sync(now, &self.master);
        }
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
        while let Some(t) = state.master.poll_timeout()
            && t <= target
        {
            state.virtual_now = state.virtual_now.max(t);
            let now = state.virtual_now;
            let mut pushes = Vec::new();
            state.master.handle_timeout(now, &mut pushes);
            state.dispatch(pushes, now);
        }
        state.virtual_now = target;
    }

    /// How many records were handed to open streams so far (a client that
    /// counts what it read knows when it has read everything).
    pub fn records_sent(&self) -> u64 {
        self.shared.lock().records_sent
    }

    /// When the master next needs waking ([`Master::poll_timeout`]).
    pub fn next_timeout(&self) -> Option<Duration> {
        self.shared.lock().master.poll_timeout()
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
/// written into `master_info`). Must be called inside a tokio runtime.
pub fn spawn(listener: TcpListener, mut config: Config, clock: Clock) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    config.address = addr;
    if clock == Clock::Real && config.start_time.is_none() {
        config.start_time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok();
    }
    let recorder = match &config.record {
        Some(dir) => Some(Recorder::new(dir, format!("http://{addr}"))?),
        None => None,
    };
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            master: Master::new(config),
            streams: HashMap::new(),
            virtual_now: Duration::ZERO,
            records_sent: 0,
            recorder,
        }),
        wake: Notify::new(),
        clock,
        start: Instant::now(),
    });
    let mut tasks = Vec::new();
    let accept_shared = shared.clone();
    tasks.push(tokio::spawn(async move {
        let mut conns = 0u64;
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let shared = accept_shared.clone();
            conns += 1;
            let conn = conns;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(shared.clone(), conn, req));
                if let Err(e) =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
                {
                    tracing::debug!("connection from {peer}: {e}");
                }
            });
        }
    }));
    if clock == Clock::Real {
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move { drive(shared).await }));
    }
    Ok(SimHandle { shared, addr, tasks })
}

/// Wakes the master whenever it asked to be woken (real clock only).
async fn drive(shared: Arc<Shared>) {
    loop {
        let deadline = shared.lock().master.poll_timeout();
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
        let mut pushes = Vec::new();
        state.master.handle_timeout(now, &mut pushes);
        state.dispatch(pushes, now);
    }
}

fn last_header(headers: &http::HeaderMap, name: header::HeaderName) -> Option<&str> {
    // A value that is not visible ASCII can match nothing the master expects.
    headers.get_all(name).iter().next_back().map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

async fn handle(
    shared: Arc<Shared>,
    conn: u64,
    req: hyper::Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("Failed to read the request body: {e}"))),
    };
    let response = {
        let mut state = shared.lock();
        let now = shared.now(&state);
        let mut pushes = Vec::new();
        let (response, stream, response_body) = if SCHEDULER_PATHS.contains(&parts.uri.path()) {
            answer(&shared, &mut state, &parts, &body, now, &mut pushes)
        } else {
            (plain(StatusCode::NOT_FOUND, Bytes::new()), None, Bytes::new())
        };
        if state.recorder.is_some() {
            let stream = stream.map(|key| (key, state.master.stream_framework(key).map(str::to_owned)));
            let exchange = exchange(conn, &parts, &body, &response, &response_body, stream.is_some());
            if let Some(recorder) = &mut state.recorder {
                recorder.exchange(now, exchange, stream);
            }
        }
        state.dispatch(pushes, now);
        response
    };
    shared.wake.notify_one();
    Ok(response)
}

/// The master's answer to a scheduler API request, as an HTTP response, and
/// the stream it opened.
fn answer(
    shared: &Arc<Shared>,
    state: &mut State,
    parts: &http::request::Parts,
    body: &Bytes,
    now: Duration,
    pushes: &mut Vec<Push>,
) -> (Response<ResponseBody>, Option<StreamKey>, Bytes) {
    let stream_id_header = header::HeaderName::from_static("mesos-stream-id");
    let request = Request {
        method: parts.method.as_str(),
        content_type: last_header(&parts.headers, header::CONTENT_TYPE),
        accept: last_header(&parts.headers, header::ACCEPT),
        stream_id: last_header(&parts.headers, stream_id_header),
        body,
    };
    match state.master.handle_call(&request, now, pushes) {
        Answer::Accepted => {
            let mut response = Response::new(Full::new(Bytes::new()).boxed());
            *response.status_mut() = StatusCode::ACCEPTED;
            (response, None, Bytes::new())
        }
        Answer::Ok => (Response::new(Full::new(Bytes::new()).boxed()), None, Bytes::new()),
        Answer::Error { status, message } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = Bytes::from(message);
            let mut response = plain(status, body.clone());
            if status == StatusCode::METHOD_NOT_ALLOWED {
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(Method::POST.as_str()));
            }
            (response, None, body)
        }
        Answer::Stream { stream, content_type, stream_id } => {
            let (tx, rx) = mpsc::unbounded_channel();
            state.streams.insert(stream, tx);
            let body = EventBody { rx, stream, shared: shared.clone() };
            let mut response = Response::new(BoxBody::new(body));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type.as_str()));
            if let Ok(value) = HeaderValue::from_str(&stream_id) {
                response.headers_mut().insert("mesos-stream-id", value);
            }
            (response, Some(stream), Bytes::new())
        }
    }
}

fn format_of(content_type: Option<&str>) -> Option<Format> {
    match negotiate::request_content_type(content_type) {
        Ok(ContentType::Json) => Some(Format::Json),
        Ok(ContentType::Protobuf) => Some(Format::Protobuf),
        _ => None,
    }
}

fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

/// A request and its response, as a session records them.
fn exchange(
    conn: u64,
    parts: &http::request::Parts,
    body: &Bytes,
    response: &Response<ResponseBody>,
    response_body: &[u8],
    stream: bool,
) -> Exchange {
    let path = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let request_format = format_of(last_header(&parts.headers, header::CONTENT_TYPE));
    let summary = summarize("scheduler.Call", request_format, body);
    let framework_id = summary.framework_id.clone();
    let request = session::Request {
        method: parts.method.as_str().to_owned(),
        path,
        headers: header_pairs(&parts.headers),
        body: body.to_vec(),
        summary,
    };
    let format = if stream { format_of(last_header(response.headers(), header::CONTENT_TYPE)) } else { None };
    let response = session::Response {
        request: None,
        status: response.status().as_u16(),
        headers: header_pairs(response.headers()),
        body: response_body.to_vec(),
        stream,
        format,
    };
    Exchange { conn, request, response, framework_id }
}

fn plain(status: StatusCode, message: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(message.into()).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// A subscription stream: each record is one body frame, so one HTTP chunk.
/// Dropping it (the connection is gone, or the stream ended) tells the
/// master.
struct EventBody {
    rx: mpsc::UnboundedReceiver<Bytes>,
    stream: StreamKey,
    shared: Arc<Shared>,
}

impl Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|record| record.map(|bytes| Ok(Frame::data(bytes))))
    }
}

impl Drop for EventBody {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.streams.remove(&self.stream);
        let now = self.shared.now(&state);
        if let Some(recorder) = &mut state.recorder {
            recorder.close(now, self.stream, Party::Framework, "connection closed");
        }
        let mut pushes = Vec::new();
        state.master.stream_closed(self.stream, now, &mut pushes);
        state.dispatch(pushes, now);
        drop(state);
        self.shared.wake.notify_one();
    }
}
