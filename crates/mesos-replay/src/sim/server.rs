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

use super::master::{Answer, Config, Master, Push, Request, StreamKey};

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
    fn dispatch(&mut self, pushes: Vec<Push>) {
        for push in pushes {
            match push {
                Push::Record { stream, record } => {
                    if let Some(tx) = self.streams.get(&stream) {
                        // A receiver that is gone is a closed connection;
                        // its body's drop tells the master.
                        if tx.send(record).is_ok() {
                            self.records_sent += 1;
                        }
                    }
                }
                Push::Close { stream } => {
                    self.streams.remove(&stream);
                }
            }
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
            state.dispatch(pushes);
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
    }
}

/// Starts serving `master` on `listener` (the listener's address is
/// written into `master_info`). Must be called inside a tokio runtime.
pub fn spawn(listener: TcpListener, mut config: Config, clock: Clock) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    config.address = addr;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            master: Master::new(config),
            streams: HashMap::new(),
            virtual_now: Duration::ZERO,
            records_sent: 0,
        }),
        wake: Notify::new(),
        clock,
        start: Instant::now(),
    });
    let mut tasks = Vec::new();
    let accept_shared = shared.clone();
    tasks.push(tokio::spawn(async move {
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
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
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
        state.dispatch(pushes);
    }
}

fn last_header(headers: &http::HeaderMap, name: header::HeaderName) -> Option<&str> {
    // A value that is not visible ASCII can match nothing the master expects.
    headers.get_all(name).iter().next_back().map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

async fn handle(shared: Arc<Shared>, req: hyper::Request<Incoming>) -> Result<Response<ResponseBody>, Infallible> {
    if !SCHEDULER_PATHS.contains(&req.uri().path()) {
        return Ok(plain(StatusCode::NOT_FOUND, String::new()));
    }
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("Failed to read the request body: {e}"))),
    };
    let stream_id_header = header::HeaderName::from_static("mesos-stream-id");
    let request = Request {
        method: parts.method.as_str(),
        content_type: last_header(&parts.headers, header::CONTENT_TYPE),
        accept: last_header(&parts.headers, header::ACCEPT),
        stream_id: last_header(&parts.headers, stream_id_header),
        body: &body,
    };
    let response = {
        let mut state = shared.lock();
        let now = shared.now(&state);
        let mut pushes = Vec::new();
        let answer = state.master.handle_call(&request, now, &mut pushes);
        let response = match answer {
            Answer::Accepted => {
                let mut response = Response::new(Full::new(Bytes::new()).boxed());
                *response.status_mut() = StatusCode::ACCEPTED;
                response
            }
            Answer::Ok => Response::new(Full::new(Bytes::new()).boxed()),
            Answer::Error { status, message } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = plain(status, message);
                if status == StatusCode::METHOD_NOT_ALLOWED {
                    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(Method::POST.as_str()));
                }
                response
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
                response
            }
        };
        state.dispatch(pushes);
        response
    };
    shared.wake.notify_one();
    Ok(response)
}

fn plain(status: StatusCode, message: String) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::from(message)).boxed());
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
        let mut pushes = Vec::new();
        state.master.stream_closed(self.stream, now, &mut pushes);
        state.dispatch(pushes);
        drop(state);
        self.shared.wake.notify_one();
    }
}
