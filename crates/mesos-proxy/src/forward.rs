//! Forwarding to the master: upstream connections, the `Host` rewrite, and
//! the rewrite of a `307`'s `Location` so the framework comes back through
//! the proxy.
//!
//! Each framework connection gets its own upstream connection (made at its
//! first request, over hyper's `client::conn::http1`, and made again if the
//! master closed it), so keep-alive and request order follow the
//! framework's. Requests go out as they came: method, path, headers (names
//! keep their case) and body; only `Host` names the master.
//!
//! A `307` names the leading master. The proxy rewrites `Location` to point
//! at itself and **follows the leader**: from then on new upstream
//! connections go to the leader it named rather than to `--master` (the
//! connection that got the `307` reconnects too), so the framework, coming
//! back through the proxy, reaches the leader instead of being redirected
//! forever.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::rawhead::{Capture, Heads};
use crate::tls::Stream;

/// The bodies the proxy sends and answers with.
pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// How long connecting to the master may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure to reach the master.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// TCP connect failed.
    #[error("cannot connect to the master at {authority}: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// Why.
        source: std::io::Error,
    },
    /// TCP connect took too long.
    #[error("connecting to the master at {0} timed out")]
    Timeout(String),
    /// The TLS handshake with an `https://` master failed.
    #[error("TLS handshake with the master at {authority} failed: {why}")]
    Tls {
        /// `host:port`.
        authority: String,
        /// Why.
        why: String,
    },
    /// The HTTP handshake or exchange failed.
    #[error("HTTP exchange with the master failed: {}", with_sources(.0))]
    Http(#[from] hyper::Error),
}

/// The master to connect to: `--master`, or the leader a `307` named.
pub struct Upstream {
    configured: String,
    leader: Mutex<Option<String>>,
    /// For an `https://` master.
    tls: Option<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("configured", &self.configured)
            .field("leader", &self.leader)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Upstream {
    /// Connecting to `authority` (`host:port`) until a `307` names a leader.
    pub fn new(authority: String) -> Upstream {
        Upstream { configured: authority, leader: Mutex::new(None), tls: None }
    }

    /// The same over TLS (an `https://` master): the server name checked
    /// (and sent as SNI) is the host of the authority connected to.
    pub fn with_tls(authority: String, tls: tokio_rustls::TlsConnector) -> Upstream {
        Upstream { configured: authority, leader: Mutex::new(None), tls: Some(tls) }
    }

    /// Whether the master is reached over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Where new connections go.
    pub fn authority(&self) -> String {
        let leader = self.leader.lock().unwrap_or_else(|e| e.into_inner());
        leader.clone().unwrap_or_else(|| self.configured.clone())
    }

    /// Remembers the leader a `307` named; true when it changed.
    pub fn follow(&self, leader: &str) -> bool {
        let mut slot = self.leader.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_deref() == Some(leader) {
            return false;
        }
        *slot = Some(leader.to_owned());
        true
    }

    /// A new HTTP/1 connection to the master, the heads of its responses as
    /// the master sends them, and its [`Driver`] (which runs it on a task of
    /// its own until a relay leases it).
    pub async fn connect(&self) -> Result<(SendRequest<ProxyBody>, Heads, Driver), ForwardError> {
        let authority = self.authority();
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&authority)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(ForwardError::Connect { authority, source }),
            Err(_) => return Err(ForwardError::Timeout(authority)),
        };
        let _ = stream.set_nodelay(true);
        let stream = match &self.tls {
            None => Stream::Plain(stream),
            Some(tls) => {
                let name = crate::tls::server_name(&authority)
                    .map_err(|why| ForwardError::Tls { authority: authority.clone(), why })?;
                match tokio::time::timeout(CONNECT_TIMEOUT, tls.connect(name, stream)).await {
                    Ok(Ok(stream)) => Stream::Client(Box::new(stream)),
                    Ok(Err(err)) => return Err(ForwardError::Tls { authority, why: tls_why(&err) }),
                    Err(_) => return Err(ForwardError::Tls { authority, why: "timed out".to_owned() }),
                }
            }
        };
        // The capture wraps the TLS stream: it follows the HTTP inside.
        let (stream, heads) = Capture::responses(stream);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .preserve_header_case(true)
            .handshake(TokioIo::new(stream))
            .await?;
        let driver = Driver::spawn(conn, authority, heads.clone());
        Ok((sender, heads, driver))
    }
}

/// An error and the errors under it: hyper's "connection error" alone
/// hides why (over TLS 1.3, a master that requires a client certificate
/// says so only once the handshake is over: "received fatal alert:
/// CertificateRequired").
fn with_sources(err: &hyper::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Why a handshake with the master failed, with a hint for the common
/// mistake of a self-signed CA certificate used as the master's own.
fn tls_why(err: &std::io::Error) -> String {
    let text = err.to_string();
    if text.contains("CaUsedAsEndEntity") {
        format!(
            "{text} (the master's certificate is a CA certificate, as `openssl req -x509` makes by default: \
             the master needs a certificate issued by a CA, and --master-ca that CA)"
        )
    } else {
        text
    }
}

/// One upstream connection's hyper driver: the future that reads the
/// master's responses and writes the requests.
type UpstreamConn = Connection<TokioIo<Capture<Stream>>, ProxyBody>;

/// Who drives an upstream connection: a task of its own, except while a
/// relay holds it on [`Lease`].
///
/// hyper's client hands a response body over one chunk at a time, through a
/// channel from the connection's task to whoever reads the body; relaying a
/// fast event stream that way costs a task switch (often a wake-up of the
/// other worker thread) per chunk, and leaves the framework side one chunk
/// to write at a time. A relay that leases the connection drives it itself,
/// between reads of the body, so that every chunk the master has already
/// sent is taken in one go and written to the framework in as few writes
/// as hyper can.
#[derive(Clone)]
pub struct Driver {
    slot: Arc<Mutex<Slot>>,
}

struct Slot {
    /// The connection, while a driver task (not a lease) has it.
    conn: Option<Pin<Box<UpstreamConn>>>,
    /// The driver task's waker: a lease wakes it so that it ends.
    waker: Option<Waker>,
    /// Counts the driver tasks started: only the latest may drive (an older
    /// one, woken by a lease that has already been dropped, just ends).
    generation: u64,
    /// The master's `host:port`, for the logs.
    label: String,
    /// The connection's captured heads and chunk sizes.
    heads: Heads,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Driver").field("master", &slot.label).field("leased", &slot.conn.is_none()).finish()
    }
}

impl Driver {
    fn spawn(conn: UpstreamConn, label: String, heads: Heads) -> Driver {
        let slot = Slot { conn: Some(Box::pin(conn)), waker: None, generation: 0, label, heads };
        let driver = Driver { slot: Arc::new(Mutex::new(slot)) };
        driver.start();
        driver
    }

    /// Runs the connection in the slot on a task of its own, until it ends
    /// or is leased.
    fn start(&self) {
        let generation = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.generation += 1;
            slot.generation
        };
        let slot = self.slot.clone();
        let task = async move {
            let ended = std::future::poll_fn(|cx| {
                let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                if slot.generation != generation {
                    return Poll::Ready(None);
                }
                let Some(conn) = slot.conn.as_mut() else { return Poll::Ready(None) };
                match conn.as_mut().poll(cx) {
                    Poll::Ready(result) => {
                        slot.conn = None;
                        Poll::Ready(Some((result, slot.label.clone())))
                    }
                    Poll::Pending => {
                        slot.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            })
            .await;
            if let Some((Err(err), master)) = ended {
                tracing::debug!(%master, error = %err, "upstream connection ended with an error");
            }
        };
        // Outside a runtime (it is shutting down) the connection just goes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(task);
        }
    }

    /// Takes the connection over from its task, to drive it in the caller's;
    /// `None` when it has ended (or is leased already). Dropping the lease
    /// hands a connection still open back to a task of its own.
    pub fn lease(&self) -> Option<Lease> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let conn = slot.conn.take()?;
        if let Some(waker) = slot.waker.take() {
            waker.wake();
        }
        let heads = slot.heads.clone();
        Some(Lease { driver: self.clone(), conn: Some(conn), heads })
    }
}

/// An upstream connection driven by its holder (see [`Driver`]).
pub struct Lease {
    driver: Driver,
    conn: Option<Pin<Box<UpstreamConn>>>,
    heads: Heads,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("driver", &self.driver).field("open", &self.conn.is_some()).finish()
    }
}

impl Lease {
    /// Drives the connection: it reads what the master sent (handing body
    /// chunks to the response's body) and writes what is queued. `Ready`
    /// once it has ended (and for ever after).
    pub fn poll_conn(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(conn) = self.conn.as_mut() else { return Poll::Ready(()) };
        match conn.as_mut().poll(cx) {
            Poll::Ready(result) => {
                self.conn = None;
                if let Err(err) = result {
                    let slot = self.driver.slot.lock().unwrap_or_else(|e| e.into_inner());
                    tracing::debug!(master = %slot.label, error = %err, "upstream connection ended with an error");
                }
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The size of the next chunk of the response being read, as the master
    /// framed it ([`Heads::next_chunk_size`]).
    pub fn next_chunk_size(&self) -> Option<u64> {
        self.heads.next_chunk_size()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.driver.slot.lock().unwrap_or_else(|e| e.into_inner()).conn = Some(conn);
            self.driver.start();
        }
    }
}

/// A rewritten `Location`: the new value, and the leader it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The value the framework gets: the proxy's address, the same path.
    pub location: String,
    /// The leader's `host:port`.
    pub leader: String,
}

/// Rewrites a `307`'s `Location` to go through the proxy at `proxy`
/// (`host:port`). Both the protocol-relative forms of Mesos,
/// `//host:port/path` and 0.28's `//host:port`, and absolute `http://` and
/// `https://` URLs are understood (the proxy then puts its own listener's
/// scheme in); anything else is left alone (`None`).
///
/// ```
/// use mesos_proxy::forward::rewrite_location;
/// let r = rewrite_location("//10.0.0.7:5050/api/v1/scheduler", "127.0.0.1:6000").unwrap();
/// assert_eq!((r.location.as_str(), r.leader.as_str()), ("//127.0.0.1:6000/api/v1/scheduler", "10.0.0.7:5050"));
/// let r = rewrite_location("//10.0.0.7:5050", "127.0.0.1:6000").unwrap();
/// assert_eq!(r.location, "//127.0.0.1:6000");
/// let r = rewrite_location("https://master2.example/api/v1/scheduler", "127.0.0.1:6000").unwrap();
/// assert_eq!((r.location.as_str(), r.leader.as_str()), ("https://127.0.0.1:6000/api/v1/scheduler", "master2.example:443"));
/// assert_eq!(rewrite_location("/relative", "127.0.0.1:6000"), None);
/// ```
pub fn rewrite_location(value: &str, proxy: &str) -> Option<Redirect> {
    let (prefix, rest) = if let Some(rest) = value.strip_prefix("//") {
        ("//", rest)
    } else if let Some(rest) = value.strip_prefix("http://") {
        ("http://", rest)
    } else if let Some(rest) = value.strip_prefix("https://") {
        ("https://", rest)
    } else {
        return None;
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return None;
    }
    let leader = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else if prefix == "https://" {
        format!("{authority}:443")
    } else {
        format!("{authority}:80")
    };
    Some(Redirect { location: format!("{prefix}{proxy}{path}"), leader })
}
