//! `mesos-proxy`: the recording man-in-the-middle between Mesos frameworks and
//! the master.
//!
//! `mesos-proxy record --listen ADDR --master URL --out DIR [--keep-secrets]`
//! forwards every request to the master unchanged (only `Host` is rewritten)
//! and relays the answers, and records the v1 API traffic (scheduler,
//! executor and operator APIs) as session files in the format of
//! `docs/session-format.md`, one file per framework.
//!
//! The layers, one module each:
//!
//! - [`proxy`]: the accept loop, one task per framework connection (hyper's
//!   `server::conn::http1`), and the request handler;
//! - `lanes`: the threads that serve connections, a tokio current-thread
//!   runtime each; a connection and the tasks it starts stay on one;
//! - [`forward`]: upstream connections (hyper's `client::conn::http1`), the
//!   `Host` rewrite, and the `307` `Location` rewrite (the proxy then follows
//!   the leader);
//! - [`tee`]: relaying a body frame by frame (one HTTP chunk in, one out)
//!   while recording it; RecordIO event streams become `event` entries;
//! - [`session`]: sessions and the registry that finds a framework's session
//!   from any connection; redaction of secrets happens as entries are made;
//! - [`writer`]: the session file writer thread behind a bounded channel
//!   (backpressure), writing with [`mesos_record::file::SessionFile`] (one
//!   loud error if the file cannot be written; zstd frames with
//!   `--compress zstd`, parts with `--rotate-size`, `--rotate-age`;
//!   [`Recorder::bind_stored`]);
//! - [`rawhead`]: header lines as sent (names in their case, wire order);
//!   the master's chunked response bodies, read by the proxy rather than
//!   hyper and cut into the master's chunks ([`rawhead::Diverted`]);
//! - [`tls`]: TLS on both sides (`--tls-cert`/`--tls-key`/`--tls-client-ca`
//!   for frameworks, an `https://` master with `--master-ca` and
//!   `--master-cert`/`--master-key`; [`Recorder::bind_with_tls`]). The
//!   capture wraps the TLS stream: what is recorded is the HTTP inside;
//! - [`zk`]: `--master zk://…`, following the leading master through
//!   ZooKeeper.
//!
//! Which paths are recorded, and the summaries of messages, are
//! [`mesos_codec::api`]'s; where a call is filed, the numbering, the
//! redaction of secrets and the event-stream taps are the recording core's,
//! [`mesos_record`], which the capture importer and the sim's `--record`
//! drive too.
//!
//! # Sessions and their files
//!
//! A scheduler or executor call is filed under the framework id it carries
//! (`framework_id`, or a SUBSCRIBE's `framework_info.id`), so a framework's
//! SUBSCRIBE stream and its calls on other connections share one session.
//! A new framework's SUBSCRIBE (no id yet) opens a session that is named by
//! the framework id of its `SUBSCRIBED` event (`unknown` if the stream never
//! says). Operator API traffic (`/api/v1`) carries no framework id: it goes
//! to an `operator` session per connection. Files are named
//! `<id>-<UTC start>.session.jsonl` (a `-N` suffix if the same id starts
//! twice in one millisecond).
//!
//! A session ends when the last framework connection that touched it
//! closes, or when the proxy is stopped (SIGINT/SIGTERM): streams still open
//! get a `close` by `proxy`, then the `end` entry (`complete` is false if the
//! file could not be written in full), and a one-line summary is logged
//! (calls, events, bytes, duration). A framework that comes back later gets
//! a new file.
//!
//! # Secrets
//!
//! Unless `--keep-secrets` is given, the values of the `Authorization` and
//! `Proxy-Authorization` headers and the `Secret.Value.data` inside recorded
//! calls, responses and events (found by the schema, [`mesos_record::Book`]) are replaced by placeholders
//! (`<redacted:N>`, equal secrets equal placeholders); an entry whose body
//! held a secret is followed by a `note` that says so, as its body is then
//! not byte for byte what was forwarded. Forwarding is never altered.
//!
//! Header names keep their case both ways on the wire (hyper's
//! `preserve_header_case`), and are recorded as sent, in wire order
//! ([`rawhead`] follows the HTTP/1 framing of both connections; where it
//! cannot, the headers are recorded as hyper gives them: lowercase names,
//! grouped by name).
//!
//! `mesos-proxy import CAPTURE --out DIR [--port 5050]` ([`import`]) turns a
//! pcap or pcapng capture of the master's port into the same session files,
//! for where a proxy is not allowed but `tcpdump -w` is.
//!
//! It depends on [`mesos_codec`] only, never on `mesos-replay`.
//!
//! ```no_run
//! # async fn example() -> Result<(), mesos_proxy::Error> {
//! let config = mesos_proxy::Config {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     master: "http://127.0.0.1:5050".into(),
//!     out: "sessions".into(),
//!     keep_secrets: false,
//!     limits: mesos_proxy::Limits::default(),
//! };
//! let recorder = mesos_proxy::Recorder::bind(config).await?;
//! println!("listening on {}", recorder.local_addr());
//! recorder.run(async { tokio::signal::ctrl_c().await.unwrap() }).await
//! # }
//! ```

#![warn(missing_docs)]

pub mod forward;
pub mod import;
mod lanes;
pub mod proxy;
pub mod rawhead;
pub mod session;
pub mod tee;
pub mod tls;
pub mod writer;
pub mod zk;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use proxy::Recorder;
pub use tls::TlsFiles;

/// The settings of `mesos-proxy record`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where frameworks connect (`--listen`); port 0 picks one.
    pub listen: SocketAddr,
    /// The master's URL (`--master`), `http://host:port`,
    /// `https://host:port` (see [`Recorder::bind_with_tls`]), or
    /// `zk://host:port[,host:port…]/path` to follow the leader ([`zk`]).
    pub master: String,
    /// The directory of the session files (`--out`), created if missing.
    pub out: PathBuf,
    /// Keep `Authorization` values and `Secret` values inside messages in the
    /// files (`--keep-secrets`).
    pub keep_secrets: bool,
    /// What one client may hold of the proxy.
    pub limits: Limits,
}

/// What one client may hold of the proxy: without them, one endless
/// request body or a thousand half-sent request lines hold memory and
/// connections for ever (issue 18). Event streams are never timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body read (`--max-body`); a longer one is
    /// answered `413` and not forwarded. 64 MiB, the largest RecordIO
    /// record the codec takes: far over any call.
    pub max_body: usize,
    /// How long a request's head may take to arrive, and how long a
    /// connection may wait for its next request, and a request body for its
    /// next bytes (`--request-timeout`); then the connection is closed (a
    /// body: `408`). 60 s. Never applies to an event stream being relayed.
    pub request_timeout: std::time::Duration,
    /// Framework connections served at once (`--max-connections`); one more
    /// is answered `503` and closed. 4096.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_body: 64 << 20, request_timeout: std::time::Duration::from_secs(60), max_connections: 4096 }
    }
}

/// Why the proxy could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--master` is not an `http://`, `https://` or `zk://` URL, or
    /// ZooKeeper cannot be reached.
    #[error("bad --master {url:?}: {why}")]
    Master {
        /// The value given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// `--out` cannot be created or written.
    #[error("cannot write session files to {}: {source}", dir.display())]
    Out {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A TLS flag or file that cannot be used.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The listening socket cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Resolves when SIGINT or SIGTERM arrives (SIGINT only, off Unix).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
