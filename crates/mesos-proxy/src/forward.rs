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

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::rawhead::{Capture, Heads};

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
    /// The HTTP handshake or exchange failed.
    #[error("HTTP exchange with the master failed: {0}")]
    Http(#[from] hyper::Error),
}

/// The master to connect to: `--master`, or the leader a `307` named.
#[derive(Debug)]
pub struct Upstream {
    configured: String,
    leader: Mutex<Option<String>>,
}

impl Upstream {
    /// Connecting to `authority` (`host:port`) until a `307` names a leader.
    pub fn new(authority: String) -> Upstream {
        Upstream { configured: authority, leader: Mutex::new(None) }
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

    /// A new HTTP/1 connection to the master (its driver runs on its own
    /// task), and the heads of its responses as the master sends them.
    pub async fn connect(&self) -> Result<(SendRequest<ProxyBody>, Heads), ForwardError> {
        let authority = self.authority();
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&authority)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(ForwardError::Connect { authority, source }),
            Err(_) => return Err(ForwardError::Timeout(authority)),
        };
        let _ = stream.set_nodelay(true);
        let (stream, heads) = Capture::responses(stream);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .preserve_header_case(true)
            .handshake(TokioIo::new(stream))
            .await?;
        let label = authority.clone();
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(master = %label, error = %err, "upstream connection ended with an error");
            }
        });
        Ok((sender, heads))
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
/// `//host:port/path` and 0.28's `//host:port`, and absolute `http://` URLs
/// are understood; anything else is left alone (`None`).
///
/// ```
/// use mesos_proxy::forward::rewrite_location;
/// let r = rewrite_location("//10.0.0.7:5050/api/v1/scheduler", "127.0.0.1:6000").unwrap();
/// assert_eq!((r.location.as_str(), r.leader.as_str()), ("//127.0.0.1:6000/api/v1/scheduler", "10.0.0.7:5050"));
/// let r = rewrite_location("//10.0.0.7:5050", "127.0.0.1:6000").unwrap();
/// assert_eq!(r.location, "//127.0.0.1:6000");
/// assert_eq!(rewrite_location("/relative", "127.0.0.1:6000"), None);
/// ```
pub fn rewrite_location(value: &str, proxy: &str) -> Option<Redirect> {
    let (prefix, rest) = if let Some(rest) = value.strip_prefix("//") {
        ("//", rest)
    } else if let Some(rest) = value.strip_prefix("http://") {
        ("http://", rest)
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
    } else {
        format!("{authority}:80")
    };
    Some(Redirect { location: format!("{prefix}{proxy}{path}"), leader })
}
