//! The recording proxy: the accept loop, one task per framework connection
//! served by hyper's `server::conn::http1`, and the request handler that
//! forwards to the master and records v1 API traffic.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_TYPE, HOST, LOCATION};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mesos_codec::session::{self, Close, EntryKind, Note, Party, Summary};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::forward::{BoxError, Driver, ProxyBody, Upstream, UpstreamBody, rewrite_location};
use crate::lanes::Lanes;
use crate::rawhead;
use crate::session::{Exchange, Registry, Session, SessionConfig, Touched};
use crate::tee::{self, BodyTap, BodyTarget, StreamTap, Tap};
use crate::tls::{Stream, TlsFiles};
use crate::{Config, Error};
use mesos_codec::api::{self, Api};
use mesos_record::file::Storage;
use mesos_record::{self as record, Filing};

struct Shared {
    local: SocketAddr,
    /// The framework side's TLS (`--tls-cert`/`--tls-key`).
    tls: Option<tokio_rustls::TlsAcceptor>,
    upstream: Upstream,
    registry: Arc<Registry>,
    next_conn: AtomicU64,
    limits: crate::Limits,
    /// Framework connections being served.
    open: std::sync::atomic::AtomicUsize,
}

/// A bound recording proxy, ready to [`run`](Recorder::run).
pub struct Recorder {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Recorder {
    /// Checks the configuration, makes sure `--out` is a writable directory,
    /// and binds the listening socket (port 0 picks a free port).
    pub async fn bind(config: Config) -> Result<Recorder, Error> {
        Recorder::bind_with_tls(config, &TlsFiles::default()).await
    }

    /// [`bind`](Recorder::bind) with TLS: a TLS listener when `tls` names
    /// a certificate and key, and the master's CA and client certificate
    /// for an `https://` master (without `--master-ca`, the system's roots).
    ///
    /// A `zk://` master is followed through ZooKeeper ([`crate::zk`]): the
    /// first connection to ZooKeeper is made here (an error if it cannot be
    /// made within [`crate::zk::CONNECT_TIMEOUT`]), then a task watches the
    /// leader for as long as the recorder lives.
    pub async fn bind_with_tls(config: Config, tls: &TlsFiles) -> Result<Recorder, Error> {
        Recorder::bind_stored(config, tls, Storage::default()).await
    }

    /// [`bind_with_tls`](Recorder::bind_with_tls), the session files
    /// stored as `storage` says: compressed (`--compress zstd`) and cut
    /// into parts (`--rotate-size`, `--rotate-age`); see [`crate::writer`].
    pub async fn bind_stored(config: Config, tls: &TlsFiles, storage: Storage) -> Result<Recorder, Error> {
        if config.master.starts_with("zk://") {
            let bad = |why: String| Error::Master { url: config.master.clone(), why };
            let url = crate::zk::ZkUrl::parse(&config.master).map_err(bad)?;
            if tls.has_master_flags() {
                return Err(bad("--master-ca, --master-cert and --master-key are for an https:// --master".to_owned()));
            }
            let client = crate::zk::connect(&url).await.map_err(bad)?;
            let (leader, elected) = tokio::sync::watch::channel(None);
            let upstream = Upstream::following(url.to_string(), elected);
            tokio::spawn(crate::zk::follow(url, client, leader));
            return Recorder::bind_upstream(config, tls, upstream, storage).await;
        }
        let (authority, https) = master_authority(&config.master)?;
        let upstream = if https {
            Upstream::with_tls(authority, tls.connector()?)
        } else if tls.has_master_flags() {
            return Err(Error::Tls(crate::tls::TlsError::Flags(
                "--master-ca, --master-cert and --master-key are for an https:// --master".to_owned(),
            )));
        } else {
            Upstream::new(authority)
        };
        Recorder::bind_upstream(config, tls, upstream, storage).await
    }

    async fn bind_upstream(
        config: Config,
        tls: &TlsFiles,
        upstream: Upstream,
        storage: Storage,
    ) -> Result<Recorder, Error> {
        let acceptor = tls.acceptor()?;
        check_out_dir(&config.out).await?;
        let listener =
            TcpListener::bind(config.listen).await.map_err(|source| Error::Listen { addr: config.listen, source })?;
        let local = listener.local_addr().map_err(|source| Error::Listen { addr: config.listen, source })?;
        let session_config = SessionConfig {
            out: config.out.clone(),
            master: config.master.clone(),
            keep_secrets: config.keep_secrets,
            storage,
        };
        let shared = Arc::new(Shared {
            local,
            tls: acceptor,
            upstream,
            registry: Arc::new(Registry::new(session_config)),
            next_conn: AtomicU64::new(1),
            limits: config.limits,
            open: std::sync::atomic::AtomicUsize::new(0),
        });
        Ok(Recorder { listener, shared })
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    /// Serves until `shutdown` completes, then stops accepting, ends every
    /// session (`close` and `end` entries, files flushed and closed) and
    /// drops the connections still open.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        tracing::info!(
            listen = %self.shared.local,
            tls = self.shared.tls.is_some(),
            master = %self.shared.upstream.authority(),
            master_tls = self.shared.upstream.is_tls(),
            "recording"
        );
        let mut connections = JoinSet::new();
        // Each connection is served on a lane: a thread of its own for all of
        // one stream's work (`lanes.rs` says why, with its numbers).
        let lanes = Lanes::start(Lanes::per_core());
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let shared = self.shared.clone();
                        if shared.open.load(Ordering::Relaxed) >= shared.limits.max_connections {
                            tokio::spawn(async move {
                                // On a TLS listener the answer goes inside TLS.
                                if let Some(stream) = handshake(&shared, stream).await {
                                    refuse(stream, peer, shared.limits.max_connections).await;
                                }
                            });
                            continue;
                        }
                        shared.open.fetch_add(1, Ordering::Relaxed);
                        let (lane, on_lane) = lanes.pick();
                        connections.spawn_on(async move {
                            let _on_lane = on_lane;
                            // The handshake is the connection's own task's,
                            // so a slow one holds up no other.
                            if let Some(stream) = handshake(&shared, stream).await {
                                serve(shared.clone(), stream, peer).await;
                            }
                            shared.open.fetch_sub(1, Ordering::Relaxed);
                        }, &lane);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        tracing::info!("shutting down: closing every session");
        drop(self.listener);
        self.shared.registry.shutdown().await;
        connections.shutdown().await;
        lanes.stop().await;
        Ok(())
    }
}

/// A framework connection as it is served: plain, or once its TLS
/// handshake is done on a TLS listener (`None`: it was plain HTTP,
/// answered `400`, or the handshake failed; both logged).
async fn handshake(shared: &Shared, stream: TcpStream) -> Option<Stream> {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = &shared.tls else { return Some(Stream::Plain(stream)) };
    match crate::tls::accept(acceptor, stream, shared.limits.request_timeout, "mesos-proxy").await {
        crate::tls::Accepted::Tls(stream) => Some(Stream::Server(stream)),
        crate::tls::Accepted::Closed => None,
    }
}

/// One connection over `--max-connections`: answered `503` and closed, not
/// served (the master is not bothered).
async fn refuse(mut stream: Stream, peer: SocketAddr, max: usize) {
    use tokio::io::AsyncWriteExt;
    tracing::warn!(%peer, max, "too many framework connections: one refused (--max-connections)");
    let body = format!("mesos-proxy: too many connections (--max-connections {max})\n");
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// The master's `host:port`, and whether it is reached over TLS.
fn master_authority(master: &str) -> Result<(String, bool), Error> {
    let bad = |why: &str| Error::Master { url: master.to_owned(), why: why.to_owned() };
    let uri: http::Uri = master.parse().map_err(|_| bad("not a URL"))?;
    let (https, default_port) = match uri.scheme_str() {
        Some("http") => (false, 80),
        Some("https") => (true, 443),
        Some(_) => return Err(bad("only http://, https:// and zk:// masters are supported")),
        None => return Err(bad("expected http://host:port, https://host:port or zk://host:port/path")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    Ok((format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(default_port)), https))
}

async fn check_out_dir(out: &std::path::Path) -> Result<(), Error> {
    let fail = |source| Error::Out { dir: out.to_owned(), source };
    tokio::fs::create_dir_all(out).await.map_err(fail)?;
    let probe = out.join(format!(".mesos-proxy-probe-{}", std::process::id()));
    tokio::fs::write(&probe, b"").await.map_err(fail)?;
    let _ = tokio::fs::remove_file(&probe).await;
    Ok(())
}

/// How long a closed connection waits for its relays to record their end.
const RELAY_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// One framework connection's state.
struct Conn {
    shared: Arc<Shared>,
    id: u64,
    /// The upstream connection, its captured response heads, and its driver.
    upstream: tokio::sync::Mutex<Option<(SendRequest<ProxyBody>, rawhead::Heads, Driver)>>,
    touched: std::sync::Mutex<Touched>,
    /// The master asked to close (`Connection: close`).
    master_closed: std::sync::atomic::AtomicBool,
    /// The relays of this connection's recorded responses.
    relays: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The request heads as the framework sent them.
    heads: rawhead::Heads,
    /// Writes event streams straight to the framework (see `tee::relay`).
    splicer: mesos_tls::splice::Splicer<Stream>,
    /// The framework's address.
    peer: SocketAddr,
}

async fn serve(shared: Arc<Shared>, stream: Stream, peer: SocketAddr) {
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(conn = id, %peer, "framework connected");
    // Over TLS, the capture wraps the TLS stream: it follows the HTTP inside.
    let stream = mesos_tls::splice::Spliceable::new(stream);
    let splicer = stream.splicer();
    let (stream, heads) = rawhead::Capture::requests(stream);
    let conn = Arc::new(Conn {
        shared: shared.clone(),
        id,
        upstream: tokio::sync::Mutex::new(None),
        touched: std::sync::Mutex::new(Touched::default()),
        master_closed: Default::default(),
        relays: Default::default(),
        heads,
        splicer,
        peer,
    });
    let service = {
        let conn = conn.clone();
        service_fn(move |req| {
            let conn = conn.clone();
            async move { Ok::<_, Infallible>(handle(conn, req).await) }
        })
    };
    // A head that does not arrive (or a connection idle between requests)
    // closes the connection after the request timeout; a response being
    // relayed (an event stream) is never timed out.
    // Writes flattened into one buffer rather than vectored: hyper's
    // vectored writes go out after at most 16 frames (one `writev` for each
    // 16 chunks of a stream), a flat buffer takes every frame the relay has
    // handed over (up to hyper's buffer limit) into one `write`: fewer
    // system calls per event for the cost of copying each chunk once
    // (`benches/proxy_vs_nginx.rs` measures it).
    let result = hyper::server::conn::http1::Builder::new()
        .writev(false)
        .preserve_header_case(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(shared.limits.request_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await;
    let (by, reason) = match (&result, conn.master_closed.load(Ordering::Relaxed)) {
        // The body hyper was writing to the framework failed: it was the
        // master's answer, which broke off (issue 18: filed as the framework's).
        (Err(err), _) if err.is_user() => {
            (Party::Master, format!("the master's answer broke off: {}", crate::forward::with_sources(err)))
        }
        (Err(err), _) => (Party::Framework, format!("connection error: {err}")),
        (Ok(()), true) => (Party::Master, "the master closed the connection".to_owned()),
        (Ok(()), false) => (Party::Framework, "the framework closed the connection".to_owned()),
    };
    tracing::debug!(conn = id, %peer, by = by.as_str(), %reason, "framework connection closed");
    // The responses' bodies are gone with the connection: let their relays
    // record how the streams ended before the connection's own `close`.
    let relays = std::mem::take(&mut *conn.relays.lock().unwrap_or_else(|e| e.into_inner()));
    for relay in relays {
        let _ = tokio::time::timeout(RELAY_GRACE, relay).await;
    }
    let touched = std::mem::take(&mut *conn.touched.lock().unwrap_or_else(|e| e.into_inner()));
    for session in touched.all() {
        let close = Close { stream: None, by, reason: Some(reason.clone()) };
        session.record(id, EntryKind::Close(close)).await;
    }
    shared.registry.release(touched);
}

fn text(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut response = Response::new(Full::new(Bytes::from(message)).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get_all(CONTENT_TYPE).iter().next_back().and_then(|v| v.to_str().ok())
}

/// Bodies of requests and answers outside the v1 APIs are kept up to this
/// size (a `GET /version`, `/master/state` of a big cluster); longer ones are
/// forwarded as they come and recorded without their body, with a note.
pub use mesos_record::OTHER_BODY_CAP;

/// What is being recorded about one request.
struct Recording {
    session: Arc<Session>,
    /// `None`: a request outside the v1 APIs.
    api: Option<Api>,
    seq: Option<u64>,
    call: Option<String>,
    /// The session has no name yet: the stream's framework id may give it one.
    unnamed: bool,
}

async fn handle(conn: Arc<Conn>, req: Request<Incoming>) -> Response<ProxyBody> {
    // Every request takes its captured head, recorded or not, to stay in step.
    let sent = conn.heads.next(req.headers());
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".to_owned());
    let (mut parts, body) = req.into_parts();
    let version = parts.version;
    let (body, recording, lobby) = match Api::from_path(&path) {
        None if !keeps_body(&parts.headers) => {
            tracing::debug!(conn = conn.id, %path, "request outside the v1 APIs with a long body: forwarded, not recorded");
            (body.map_err(BoxError::from).boxed(), None, None)
        }
        None => {
            let bytes = match read_body(body, &conn.shared.limits).await {
                Ok(bytes) => bytes,
                Err(answer) => return answer,
            };
            let (recording, lobby) = record_other(&conn, &parts, sent, &path, &bytes).await;
            (Full::new(bytes).map_err(|never| match never {}).boxed(), recording, lobby)
        }
        Some(api) => {
            let bytes = match read_body(body, &conn.shared.limits).await {
                Ok(bytes) => bytes,
                Err(answer) => return answer,
            };
            let recording = record_request(&conn, api, &parts, sent, &path, &bytes).await;
            (Full::new(bytes).map_err(|never| match never {}).boxed(), Some(recording), None)
        }
    };

    // Forward: origin-form target, `Host` naming the master, the rest unchanged.
    parts.uri = match path.parse() {
        Ok(uri) => uri,
        Err(_) => return text(StatusCode::BAD_REQUEST, "mesos-proxy: bad request target\n".to_owned()),
    };
    let (response, sent_back, driver) = match send(&conn, parts, body).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::warn!(conn = conn.id, %path, error = %err, "cannot forward to the master");
            let answer = text(StatusCode::BAD_GATEWAY, format!("mesos-proxy: {err}\n"));
            if let Some(rec) = &recording {
                // The framework got an answer, the proxy's: it is the
                // call's response in the session, with a note saying why.
                let response = session::Response {
                    request: rec.seq,
                    status: answer.status().as_u16(),
                    headers: header_pairs(answer.headers()),
                    body: format!("mesos-proxy: {err}\n").into_bytes(),
                    ..Default::default()
                };
                rec.session.record(conn.id, EntryKind::Response(response)).await;
                let note = Note { message: format!("not forwarded: {err}"), refers: rec.seq, incomplete: false };
                rec.session.record(conn.id, EntryKind::Note(note)).await;
                if rec.unnamed && rec.call.as_deref() == Some("SUBSCRIBE") {
                    // The framework will try again: the same session goes on.
                    conn.shared.registry.keep_for_retry(conn.peer.ip(), &rec.session);
                }
            }
            if let Some(request) = lobby {
                let exchange =
                    Exchange { conn: conn.id, request, response: None, note: Some(format!("not forwarded: {err}")) };
                conn.shared.registry.wait_in_lobby(conn.peer.ip(), exchange);
            }
            return answer;
        }
    };
    let (mut parts, body) = response.into_parts();
    if parts.headers.get_all(http::header::CONNECTION).iter().any(|v| v.as_bytes().eq_ignore_ascii_case(b"close")) {
        conn.master_closed.store(true, Ordering::Relaxed);
    }
    let recorded_headers = sent_back.unwrap_or_else(|| header_pairs(&parts.headers));
    if parts.status == StatusCode::TEMPORARY_REDIRECT {
        redirect(&conn, &mut parts.headers, &path).await;
    }

    if let Some(request) = lobby {
        // Outside the v1 APIs, from a host with no session yet: the exchange
        // waits in the lobby for the session that host opens next.
        let response = session::Response {
            request: None,
            status: parts.status.as_u16(),
            headers: recorded_headers,
            ..Default::default()
        };
        let to = BodyTarget::Lobby {
            registry: conn.shared.registry.clone(),
            host: conn.peer.ip(),
            request: Box::new(request),
        };
        return relay_body(&conn, parts, body, to, None, response, OTHER_BODY_CAP).await;
    }
    let Some(rec) = recording else { return Response::from_parts(parts, body.boxed()) };
    let Some(api) = rec.api else {
        let response = session::Response {
            request: rec.seq,
            status: parts.status.as_u16(),
            headers: recorded_headers,
            ..Default::default()
        };
        return relay_body(&conn, parts, body, BodyTarget::Session(rec.session), None, response, OTHER_BODY_CAP).await;
    };
    let encoding = api::encoding(content_type(&parts.headers));
    let stream =
        api::opens_stream(parts.status.as_u16(), rec.call.as_deref(), parts.headers.contains_key("mesos-stream-id"));
    let entry = session::Response {
        request: rec.seq,
        status: parts.status.as_u16(),
        headers: recorded_headers,
        stream,
        format: encoding,
        ..Default::default()
    };
    let (tap, lease) = if stream {
        let Some(seq) = rec.session.record(conn.id, EntryKind::Response(entry)).await else {
            return Response::from_parts(parts, body.boxed());
        };
        let tap =
            StreamTap::new(rec.session.clone(), conn.shared.registry.clone(), rec.unnamed, conn.id, seq, api, encoding);
        // The stream holds the upstream connection until it ends: the relay
        // drives it (see `Driver`).
        (Tap::Stream(Box::new(tap)), driver.lease())
    } else {
        return relay_body(
            &conn,
            parts,
            body,
            BodyTarget::Session(rec.session),
            api.response_type(),
            entry,
            usize::MAX,
        )
        .await;
    };
    // hyper frames the answer to an HTTP/1.1 request as the master did
    // (chunked): the master's bytes can go to the framework as they came.
    let splice = (version == http::Version::HTTP_11).then(|| conn.splicer.splice());
    let (body, relay) = tee::relay(body, tap, lease, splice);
    let mut relays = conn.relays.lock().unwrap_or_else(|e| e.into_inner());
    relays.retain(|r| !r.is_finished());
    relays.push(relay);
    Response::from_parts(parts, body.boxed())
}

/// Relays a plain (not streaming) response body to the framework, recording
/// it as `response` (with `message`, its v1 type if any) once it has ended;
/// a `202` or any body known to be empty is recorded before the answer is
/// forwarded (so that it precedes the framework's next call).
async fn relay_body(
    conn: &Conn,
    parts: http::response::Parts,
    body: UpstreamBody,
    to: BodyTarget,
    message: Option<mesos_codec::schema::MessageId>,
    mut response: session::Response,
    cap: usize,
) -> Response<ProxyBody> {
    let mut tap = BodyTap {
        to,
        conn: conn.id,
        message,
        response: session::Response::default(),
        body: BytesMut::new(),
        cap,
        len: 0,
    };
    if body_is_empty(&parts) {
        // Nothing to relay (a `202`): recorded at once, no relay task.
        response.format = None;
        tap.response = response;
        tap.finish().await;
        return Response::from_parts(parts, body.boxed());
    }
    tap.response = response;
    let (body, relay) = tee::relay(body, Tap::Body(Box::new(tap)), None, None);
    let mut relays = conn.relays.lock().unwrap_or_else(|e| e.into_inner());
    relays.retain(|r| !r.is_finished());
    relays.push(relay);
    Response::from_parts(parts, body.boxed())
}

/// Reads a request body whole, within the limits: `413` past `max_body`
/// (what came so far is dropped, and the request is not forwarded), `408`
/// when no byte arrives for the request timeout, `400` when it breaks off.
async fn read_body(mut body: Incoming, limits: &crate::Limits) -> Result<Bytes, Response<ProxyBody>> {
    let mut bytes = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(limits.request_timeout, body.frame()).await {
            Err(_) => {
                let message = format!(
                    "mesos-proxy: no byte of the request body for {} s (--request-timeout)\n",
                    limits.request_timeout.as_secs()
                );
                return Err(text(StatusCode::REQUEST_TIMEOUT, message));
            }
            Ok(None) => return Ok(bytes.freeze()),
            Ok(Some(Err(err))) => {
                return Err(text(
                    StatusCode::BAD_REQUEST,
                    format!("mesos-proxy: cannot read the request body: {err}\n"),
                ));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limits.max_body {
                let message = format!("mesos-proxy: request body over {} bytes (--max-body)\n", limits.max_body);
                return Err(text(StatusCode::PAYLOAD_TOO_LARGE, message));
            }
            bytes.extend_from_slice(&data);
        }
    }
}

/// Whether a request outside the v1 APIs has a body small enough to keep
/// (a known length up to [`OTHER_BODY_CAP`]; none at all is the usual `GET`).
fn keeps_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        return false;
    }
    match headers.get(http::header::CONTENT_LENGTH) {
        None => true,
        Some(len) => len.to_str().ok().and_then(|l| l.parse::<usize>().ok()).is_some_and(|l| l <= OTHER_BODY_CAP),
    }
}

fn body_is_empty(parts: &http::response::Parts) -> bool {
    parts.headers.get(http::header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() == b"0")
}

/// Records the request of a v1 API call in its framework's session.
async fn record_request(
    conn: &Conn,
    api: Api,
    parts: &http::request::Parts,
    sent: Option<rawhead::Lines>,
    path: &str,
    body: &Bytes,
) -> Recording {
    let (summary, problem) = api::read_call(api, content_type(&parts.headers), body);
    let registry = &conn.shared.registry;
    let (session, unnamed, first) = {
        let mut touched = conn.touched.lock().unwrap_or_else(|e| e.into_inner());
        let first = touched.all().is_empty();
        let (session, unnamed) = match record::file(api, &summary, touched.last()) {
            Filing::Framework(id) => (registry.framework(&id, &mut touched), false),
            Filing::Subscribing => (registry.subscribing(conn.peer.ip(), &mut touched), true),
            Filing::Touched(session) => (session, false),
            Filing::Operator => (registry.anonymous(Some("operator"), &mut touched), false),
            Filing::Anonymous => (registry.anonymous(None, &mut touched), true),
        };
        (session, unnamed, first)
    };
    if first {
        record_lobby(registry, conn.peer.ip(), &session).await;
    }
    let unnamed = unnamed || session.name().is_none();
    let call = summary.name.as_deref().map(str::to_owned);
    let request = session::Request {
        method: parts.method.as_str().to_owned(),
        path: path.to_owned(),
        // The names as sent, in wire order, when the capture followed them.
        headers: sent.unwrap_or_else(|| header_pairs(&parts.headers)),
        body: body.to_vec(),
        summary,
    };
    let seq = session.record_call(conn.id, request, api, problem).await;
    tracing::debug!(conn = conn.id, session = session.id(), call = call.as_deref().unwrap_or("-"), %path, "call");
    Recording { session, api: Some(api), seq, call, unnamed }
}

/// Records a request outside the v1 APIs: in the session of its connection
/// if it has one; otherwise it goes to the lobby with its answer (the
/// request is returned), to join the session its host opens next.
async fn record_other(
    conn: &Conn,
    parts: &http::request::Parts,
    sent: Option<rawhead::Lines>,
    path: &str,
    body: &Bytes,
) -> (Option<Recording>, Option<session::Request>) {
    let request = session::Request {
        method: parts.method.as_str().to_owned(),
        path: path.to_owned(),
        headers: sent.unwrap_or_else(|| header_pairs(&parts.headers)),
        body: body.to_vec(),
        summary: Summary::default(),
    };
    let session = conn.touched.lock().unwrap_or_else(|e| e.into_inner()).last();
    let Some(session) = session else { return (None, Some(request)) };
    let seq = session.record(conn.id, EntryKind::Request(request)).await;
    tracing::debug!(conn = conn.id, session = session.id(), %path, "request outside the v1 APIs");
    (Some(Recording { session, api: None, seq, call: None, unnamed: false }), None)
}

/// Records the exchanges outside the v1 APIs that `host` made before its
/// connection opened `session` (they waited in the lobby), each on its own
/// connection, before the call that opened it.
async fn record_lobby(registry: &Registry, host: std::net::IpAddr, session: &Session) {
    for exchange in registry.claim(host) {
        session.record_exchange(exchange).await;
    }
}

/// Sends a request on the connection's upstream, (re)connecting as needed;
/// the response, its header lines as the master sent them (when captured),
/// and the driver of the upstream connection that carried it.
async fn send(
    conn: &Conn,
    mut parts: http::request::Parts,
    body: ProxyBody,
) -> Result<(Response<UpstreamBody>, Option<rawhead::Lines>, Driver), crate::forward::ForwardError> {
    let mut upstream = conn.upstream.lock().await;
    if upstream.as_ref().is_none_or(|(s, _, _)| s.is_closed()) {
        *upstream = None;
    }
    let (mut sender, mut heads, mut driver) = match upstream.take() {
        Some(sender) => sender,
        None => conn.shared.upstream.connect().await?,
    };
    if let Err(err) = sender.ready().await {
        tracing::debug!(conn = conn.id, error = %err, "upstream connection closed; reconnecting");
        (sender, heads, driver) = conn.shared.upstream.connect().await?;
        sender.ready().await.map_err(|err| why(err, &driver))?;
    }
    let authority = conn.shared.upstream.authority();
    if let Ok(host) = HeaderValue::from_str(&authority) {
        parts.headers.insert(HOST, host);
    }
    driver.expect(&parts.method);
    let future = sender.send_request(Request::from_parts(parts, body));
    *upstream = Some((sender, heads.clone(), driver.clone()));
    drop(upstream);
    let response = future.await.map_err(|err| why(err, &driver))?;
    let sent = heads.next(response.headers());
    // Claimed at once: a body diverted from hyper is read only here.
    let response = response.map(|body| driver.body(body));
    Ok((response, sent, driver))
}

/// What to say of a request hyper could not send: when its connection
/// has ended, hyper says only "channel closed"; the connection's own error
/// says why (over TLS 1.3, a master that requires a client certificate
/// sends its CertificateRequired alert after the handshake, so the
/// connection ends as the first request is made).
fn why(err: hyper::Error, driver: &Driver) -> crate::forward::ForwardError {
    match driver.why_ended() {
        Some(why) if err.is_closed() || err.is_canceled() => crate::forward::ForwardError::Ended(why),
        _ => err.into(),
    }
}

/// Rewrites a `307`'s `Location` to the proxy and follows the leader.
async fn redirect(conn: &Conn, headers: &mut HeaderMap, path: &str) {
    let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned) else { return };
    let proxy = conn.shared.local.to_string();
    let Some(redirect) = rewrite_location(&location, &proxy) else {
        tracing::warn!(conn = conn.id, %location, "307 with a Location the proxy does not understand; relayed as is");
        return;
    };
    // An absolute URL names the scheme frameworks reach the proxy by.
    let scheme = if conn.shared.tls.is_some() { "https://" } else { "http://" };
    let location = match redirect.location.split_once("://") {
        Some((_, rest)) if !redirect.location.starts_with("//") => format!("{scheme}{rest}"),
        _ => redirect.location.clone(),
    };
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(LOCATION, value);
    }
    if conn.shared.upstream.follow(&redirect.leader) {
        tracing::info!(leader = %redirect.leader, %path, "the master redirected to its leader; new upstream connections go there");
    }
    // This connection's upstream is the old master: reconnect next time.
    *conn.upstream.lock().await = None;
}

#[cfg(test)]
mod tests {
    use super::master_authority;

    #[test]
    fn http_and_https_masters_and_their_default_ports() {
        assert_eq!(master_authority("http://m:5050").unwrap(), ("m:5050".to_owned(), false));
        assert_eq!(master_authority("https://m:5050").unwrap(), ("m:5050".to_owned(), true));
        assert_eq!(master_authority("https://m").unwrap(), ("m:443".to_owned(), true));
        assert_eq!(master_authority("http://m").unwrap(), ("m:80".to_owned(), false));
        let err = master_authority("ftp://z:2181/mesos").unwrap_err().to_string();
        assert!(err.contains("only http://, https:// and zk:// masters are supported"), "{err}");
        assert!(master_authority("m:5050").is_err());
    }
}
