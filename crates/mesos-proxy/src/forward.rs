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
//!
//! With `--master zk://…` ([`crate::zk`]) the master is the leader that
//! ZooKeeper names at the moment a connection is made (a request waits up
//! to [`CONNECT_TIMEOUT`] for one while no master leads). When the leader
//! changes, every upstream connection made under the previous one is ended
//! ([`Deposable`]): the master it reached has lost its leadership (a real
//! one exits then), so its streams end as they would, and the framework's
//! next request reaches the new leader. A `307` is still followed, until
//! ZooKeeper names another leader.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::rawhead::{Capture, Diverted, Diverter, Heads};
use crate::tls::Stream;
use crate::zk::LostLeadership;

/// Why a body the proxy relays broke off.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The bodies the proxy sends and answers with.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// A response body from the master: hyper's, or a chunked body, diverted
/// from hyper and cut into its chunks by the proxy ([`Capture`]).
#[derive(Debug)]
pub enum UpstreamBody {
    /// Read by hyper.
    Hyper(Incoming),
    /// Diverted from hyper.
    Diverted(Diverted<Deposable<Stream>>),
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            UpstreamBody::Hyper(body) => Pin::new(body).poll_frame(cx).map_err(BoxError::from),
            UpstreamBody::Diverted(body) => Pin::new(body).poll_frame(cx).map_err(BoxError::from),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Hyper(body) => body.is_end_stream(),
            UpstreamBody::Diverted(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Hyper(body) => body.size_hint(),
            UpstreamBody::Diverted(_) => SizeHint::default(),
        }
    }
}

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
    /// `--master zk://…`, and ZooKeeper names no leading master.
    #[error("no leading master: ZooKeeper at {0} names none (no json.info_ node)")]
    NoLeader(String),
    /// The HTTP handshake or exchange failed.
    #[error("HTTP exchange with the master failed: {}", with_sources(.0))]
    Http(#[from] hyper::Error),
    /// The connection ended before the request went out: why it ended
    /// (hyper only says "channel closed" to the request).
    #[error("HTTP exchange with the master failed: the connection ended: {0}")]
    Ended(String),
}

/// The master to connect to: `--master`, the leader ZooKeeper names, or
/// the leader a `307` named.
pub struct Upstream {
    configured: String,
    /// The leader a `307` named, and the leader ZooKeeper named then (it
    /// holds until ZooKeeper names another).
    leader: Mutex<Option<(String, Option<String>)>>,
    /// For an `https://` master.
    tls: Option<tokio_rustls::TlsConnector>,
    /// With `--master zk://…`: the leader ZooKeeper names ([`crate::zk::follow`]).
    elected: Option<watch::Receiver<Option<String>>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("configured", &self.configured)
            .field("leader", &self.leader)
            .field("tls", &self.tls.is_some())
            .field("elected", &self.elected.as_ref().map(|e| e.borrow().clone()))
            .finish()
    }
}

impl Upstream {
    /// Connecting to `authority` (`host:port`) until a `307` names a leader.
    pub fn new(authority: String) -> Upstream {
        Upstream { configured: authority, leader: Mutex::new(None), tls: None, elected: None }
    }

    /// Connecting to the leader of the moment that `elected` names (`None`
    /// while no master leads); `label` (the `zk://` URL) names the source
    /// in logs and errors.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use mesos_proxy::forward::Upstream;
    /// let (tx, rx) = tokio::sync::watch::channel(Some("10.0.0.5:5050".to_owned()));
    /// let upstream = Upstream::following("zk://zk1:2181/mesos".to_owned(), rx);
    /// assert_eq!(upstream.authority(), "10.0.0.5:5050");
    /// tx.send_replace(Some("10.0.0.6:5050".to_owned()));
    /// assert_eq!(upstream.authority(), "10.0.0.6:5050");
    /// # }
    /// ```
    pub fn following(label: String, elected: watch::Receiver<Option<String>>) -> Upstream {
        Upstream { configured: label, leader: Mutex::new(None), tls: None, elected: Some(elected) }
    }

    /// The same over TLS (an `https://` master): the server name checked
    /// (and sent as SNI) is the host of the authority connected to.
    pub fn with_tls(authority: String, tls: tokio_rustls::TlsConnector) -> Upstream {
        Upstream { configured: authority, leader: Mutex::new(None), tls: Some(tls), elected: None }
    }

    /// Whether the master is reached over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Where new connections go (with ZooKeeper and no leader: the
    /// `zk://` URL, for the logs).
    pub fn authority(&self) -> String {
        self.target().unwrap_or_else(|| self.configured.clone())
    }

    /// The leader ZooKeeper names now (`None` without ZooKeeper too).
    fn elected(&self) -> Option<String> {
        self.elected.as_ref().and_then(|e| e.borrow().clone())
    }

    /// Where new connections go; `None` with ZooKeeper naming no leader.
    fn target(&self) -> Option<String> {
        let elected = self.elected();
        let leader = self.leader.lock().unwrap_or_else(|e| e.into_inner());
        match &*leader {
            // A 307's leader holds while ZooKeeper names the same as then.
            Some((redirected, then)) if *then == elected => Some(redirected.clone()),
            _ if self.elected.is_some() => elected,
            _ => Some(self.configured.clone()),
        }
    }

    /// Remembers the leader a `307` named; true when it changed.
    pub fn follow(&self, leader: &str) -> bool {
        let elected = self.elected();
        let mut slot = self.leader.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(to, then)| to == leader && *then == elected) {
            return false;
        }
        *slot = Some((leader.to_owned(), elected));
        true
    }

    /// Where to connect, and what ends the connection: with ZooKeeper, the
    /// next leader change (waiting up to [`CONNECT_TIMEOUT`] for a leader
    /// while none is named).
    async fn destination(&self) -> Result<(String, Option<Deposer>), ForwardError> {
        let Some(elected) = &self.elected else { return Ok((self.authority(), None)) };
        let mut elected = elected.clone();
        let waited = tokio::time::timeout(CONNECT_TIMEOUT, elected.wait_for(Option::is_some)).await;
        if !matches!(waited.as_ref().map(|w| w.is_ok()), Ok(true)) {
            return Err(ForwardError::NoLeader(self.configured.clone()));
        }
        drop(waited);
        let at = elected.borrow_and_update().clone();
        let authority = self.target().ok_or_else(|| ForwardError::NoLeader(self.configured.clone()))?;
        let master = authority.clone();
        let lost = async move {
            let now = elected.wait_for(|now| *now != at).await.map(|now| now.clone());
            match now {
                Ok(now) => LostLeadership {
                    master,
                    now: match now {
                        Some(leader) => format!("the leader is now {leader}"),
                        None => "no master leads".to_owned(),
                    },
                },
                // The proxy is stopping: no leader change will come.
                Err(_) => std::future::pending().await,
            }
        };
        Ok((authority, Some(Box::pin(lost))))
    }

    /// A new HTTP/1 connection to the master, the heads of its responses as
    /// the master sends them, and its [`Driver`] (which runs it on a task of
    /// its own until a relay leases it).
    pub async fn connect(&self) -> Result<(SendRequest<ProxyBody>, Heads, Driver), ForwardError> {
        let (authority, deposer) = self.destination().await?;
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
        let deposed = Arc::new(OnceLock::new());
        let stream = Deposable { inner: stream, deposer, deposed: deposed.clone() };
        // The capture wraps the TLS stream: it follows the HTTP inside.
        let (stream, heads) = Capture::responses(stream);
        let diverter = stream.diverter();
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .preserve_header_case(true)
            .handshake(TokioIo::new(stream))
            .await?;
        let driver = Driver::spawn(conn, authority, deposed, diverter);
        Ok((sender, heads, driver))
    }
}

/// An error and the errors under it: hyper's "connection error" alone
/// hides why (over TLS 1.3, a master that requires a client certificate
/// says so only once the handshake is over: "received fatal alert:
/// CertificateRequired").
pub(crate) fn with_sources(err: &hyper::Error) -> String {
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
type UpstreamConn = Connection<TokioIo<Capture<Deposable<Stream>>>, ProxyBody>;

/// What ends a connection to a master when it loses its leadership.
type Deposer = Pin<Box<dyn Future<Output = LostLeadership> + Send>>;

/// An upstream connection that fails (reads and writes: `ConnectionAborted`
/// carrying [`LostLeadership`]) once the master it reached has lost its
/// leadership, as the connection to a real master does when that master
/// exits; hyper then ends the connection and its response body. Without
/// ZooKeeper it is the stream as it is.
pub struct Deposable<S> {
    inner: S,
    deposer: Option<Deposer>,
    /// Set when the connection was ended for that reason.
    deposed: Arc<OnceLock<LostLeadership>>,
}

impl<S> Deposable<S> {
    fn check(&mut self, cx: &mut Context<'_>) -> std::io::Result<()> {
        if let Some(deposer) = self.deposer.as_mut()
            && let Poll::Ready(lost) = deposer.as_mut().poll(cx)
        {
            self.deposer = None;
            tracing::info!(master = %lost.master, now = %lost.now, "the master lost its leadership: its connection ends");
            let _ = self.deposed.set(lost);
        }
        match self.deposed.get() {
            Some(lost) => Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, lost.clone())),
            None => Ok(()),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deposable<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Deposable<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

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
/// as hyper can. (A chunked body, an event stream's always, is no longer
/// read through hyper at all: see [`Capture`]. The lease still serves the
/// bodies hyper reads, and says when the master lost its leadership.)
#[derive(Clone)]
pub struct Driver {
    slot: Arc<Mutex<Slot>>,
    /// Claims the response bodies diverted from hyper.
    diverter: Diverter<Deposable<Stream>>,
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
    /// Set when the master lost its leadership ([`Deposable`]).
    deposed: Arc<OnceLock<LostLeadership>>,
    /// Why the connection ended, when it ended with an error: set before
    /// the connection is dropped, so a request that was still queued (and
    /// learns only "channel closed") finds it ([`Driver::why_ended`]).
    ended: Option<String>,
}

impl Slot {
    /// The connection is over: `result` is what it ended with.
    fn end(&mut self, result: Result<(), hyper::Error>) {
        if let Err(err) = result {
            tracing::debug!(master = %self.label, error = %err, "upstream connection ended with an error");
            self.ended = Some(with_sources(&err));
        }
        self.conn = None;
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Driver").field("master", &slot.label).field("leased", &slot.conn.is_none()).finish()
    }
}

impl Driver {
    fn spawn(
        conn: UpstreamConn,
        label: String,
        deposed: Arc<OnceLock<LostLeadership>>,
        diverter: Diverter<Deposable<Stream>>,
    ) -> Driver {
        let slot = Slot { conn: Some(Box::pin(conn)), waker: None, generation: 0, label, deposed, ended: None };
        let driver = Driver { slot: Arc::new(Mutex::new(slot)), diverter };
        driver.start();
        driver
    }

    /// Before a request goes out on this connection: see
    /// [`Diverter::expect`].
    pub fn expect(&self, method: &http::Method) {
        self.diverter.expect(method);
    }

    /// The body of the response just read on this connection: `body`,
    /// hyper's, unless the body was diverted from hyper ([`Capture`]).
    pub fn body(&self, body: Incoming) -> UpstreamBody {
        match self.diverter.claim() {
            Some(diverted) => UpstreamBody::Diverted(diverted),
            None => UpstreamBody::Hyper(body),
        }
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
        let task = std::future::poll_fn(move |cx| {
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            if slot.generation != generation {
                return Poll::Ready(());
            }
            let Some(conn) = slot.conn.as_mut() else { return Poll::Ready(()) };
            match conn.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    slot.end(result);
                    Poll::Ready(())
                }
                Poll::Pending => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        });
        // Outside a runtime (it is shutting down) the connection just goes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(task);
        }
    }

    /// Why the connection ended, if it ended with an error.
    pub fn why_ended(&self) -> Option<String> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).ended.clone()
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
        let deposed = slot.deposed.clone();
        Some(Lease { driver: self.clone(), conn: Some(conn), deposed })
    }
}

/// An upstream connection driven by its holder (see [`Driver`]).
pub struct Lease {
    driver: Driver,
    conn: Option<Pin<Box<UpstreamConn>>>,
    deposed: Arc<OnceLock<LostLeadership>>,
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
                let conn = self.conn.take();
                let mut slot = self.driver.slot.lock().unwrap_or_else(|e| e.into_inner());
                slot.conn = conn;
                slot.end(result);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Why the connection was ended, when its master lost its leadership
    /// (`--master zk://…`).
    pub fn deposed(&self) -> Option<&LostLeadership> {
        self.deposed.get()
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

#[cfg(test)]
mod tests {
    use super::Upstream;

    #[test]
    fn a_307_holds_until_zookeeper_names_another_leader() {
        let (tx, rx) = tokio::sync::watch::channel(Some("a:5050".to_owned()));
        let upstream = Upstream::following("zk://z:2181/mesos".to_owned(), rx);
        assert_eq!(upstream.authority(), "a:5050");
        assert!(upstream.follow("x:5050"));
        assert!(!upstream.follow("x:5050"));
        assert_eq!(upstream.authority(), "x:5050");
        tx.send_replace(Some("b:5050".to_owned()));
        assert_eq!(upstream.authority(), "b:5050");
        tx.send_replace(None);
        assert_eq!(upstream.target(), None);
        assert_eq!(upstream.authority(), "zk://z:2181/mesos");
        let fixed = Upstream::new("m:5050".to_owned());
        assert!(fixed.follow("n:5050"));
        assert_eq!(fixed.authority(), "n:5050");
    }
}
