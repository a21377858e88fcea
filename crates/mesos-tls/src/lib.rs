//! The TLS listener of mesos-tape's servers (`mesos-proxy record`,
//! `mesos-replay sim` and `serve`), with rustls (the `ring` provider): the
//! certificate, key and client CA files (`--tls-cert`, `--tls-key`,
//! `--tls-client-ca`) loaded and checked at start, errors naming the flag
//! and the file; [`accept`], which answers a plain HTTP request on a TLS
//! port `400` in plain HTTP (nginx's "The plain HTTP request was sent to
//! HTTPS port") and logs it; and [`Stream`], a server connection plain or
//! TLS. One home for the three servers (the proxy's master side, a TLS
//! client, stays in `mesos-proxy`). And [`splice`]: a chunked response body
//! written past hyper, as a master frames it.
//!
//! ```
//! use std::path::PathBuf;
//! use mesos_tls::{ListenerFiles, TlsError};
//!
//! // No flags: a plain listener.
//! assert!(ListenerFiles::default().acceptor().unwrap().is_none());
//! // A certificate without its key is refused, saying so.
//! let half = ListenerFiles { cert: Some(PathBuf::from("cert.pem")), ..ListenerFiles::default() };
//! assert!(matches!(half.acceptor(), Err(TlsError::Flags(m)) if m == "--tls-cert needs --tls-key too"));
//! // A file that is not there is named.
//! let missing = ListenerFiles { cert: Some("/nonexistent.pem".into()), key: Some("/nonexistent.key".into()), client_ca: None };
//! assert!(missing.acceptor().err().unwrap().to_string().starts_with("--tls-cert /nonexistent.pem: cannot read it"));
//! ```

pub mod splice;

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// The TLS flags of a server's listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerFiles {
    /// `--tls-cert`: the server's certificate chain (PEM), leaf first.
    pub cert: Option<PathBuf>,
    /// `--tls-key`: its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// `--tls-client-ca`: clients must present a certificate issued by one
    /// of these (PEM).
    pub client_ca: Option<PathBuf>,
}

impl ListenerFiles {
    /// `None` without `--tls-cert`/`--tls-key`.
    pub fn acceptor(&self) -> Result<Option<TlsAcceptor>, TlsError> {
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => server_acceptor(cert, key, self.client_ca.as_deref()).map(Some),
            (None, None) if self.client_ca.is_none() => Ok(None),
            (None, None) => Err(TlsError::Flags("--tls-client-ca needs --tls-cert and --tls-key".to_owned())),
            (Some(_), None) => Err(TlsError::Flags("--tls-cert needs --tls-key too".to_owned())),
            (None, Some(_)) => Err(TlsError::Flags("--tls-key needs --tls-cert too".to_owned())),
        }
    }
}

/// A TLS flag or file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("{flag} {}: cannot read it: {source}", path.display())]
    Read {
        /// The flag that named it.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file does not hold what the flag needs.
    #[error("{flag} {}: {why}", path.display())]
    Bad {
        /// The flag that named it.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Flags that do not go together.
    #[error("{0}")]
    Flags(String),
}

/// rustls's `ring` provider: a light build (aws-lc-rs, rustls's default,
/// compiles a large C library). rustls 0.23.48 deprecates it for lacking
/// post-quantum key exchange, which Mesos masters (libprocess on OpenSSL)
/// do not offer either; see ARCHITECTURE.md's dependency table.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { flag, path: path.to_owned(), source })
}

/// The certificates of a PEM file: at least one, every block readable.
pub fn load_certs(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(flag, path)?;
    let bad = |why: String| TlsError::Bad { flag, path: path.to_owned(), why };
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        certs.push(cert.map_err(|e| bad(format!("not a readable PEM certificate: {e}")))?);
    }
    if certs.is_empty() {
        return Err(bad("no certificate in it (expected PEM `-----BEGIN CERTIFICATE-----` blocks)".to_owned()));
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(flag: &'static str, path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(flag, path)?;
    let bad = |why: String| TlsError::Bad { flag, path: path.to_owned(), why };
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            bad("no private key in it (expected a PEM `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)"
                .to_owned())
        }
        e => bad(format!("not a readable PEM private key: {e}")),
    })
}

/// A certificate chain and its key, checked to belong together.
pub fn certified_key(
    cert_flag: &'static str,
    cert_path: &Path,
    key_flag: &'static str,
    key_path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let certs = load_certs(cert_flag, cert_path)?;
    let key = load_key(key_flag, key_path)?;
    let bad_key = |why: String| TlsError::Bad { flag: key_flag, path: key_path.to_owned(), why };
    let signing = provider().key_provider.load_private_key(key.clone_key()).map_err(|e| bad_key(format!("{e}")))?;
    let certified = rustls::sign::CertifiedKey::new(certs.clone(), signing);
    if let Err(e) = certified.keys_match() {
        let why = format!("not the key of the certificate in {} ({e})", cert_path.display());
        return Err(bad_key(why));
    }
    Ok((certs, key))
}

/// The CA certificates of a PEM file, as roots to check peers against.
pub fn roots(flag: &'static str, path: &Path) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(flag, path)? {
        roots.add(cert).map_err(|e| TlsError::Bad {
            flag,
            path: path.to_owned(),
            why: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(roots)
}

/// A TLS server configuration from a certificate chain and its key, with
/// client certificates required when `client_ca` is given.
pub fn server_acceptor(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<TlsAcceptor, TlsError> {
    let (certs, key_der) = certified_key("--tls-cert", cert, "--tls-key", key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Flags(format!("TLS: {e}")))?;
    let builder = match client_ca {
        Some(path) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots("--tls-client-ca", path)?),
                provider(),
            )
            .build()
            .map_err(|e| TlsError::Bad {
                flag: "--tls-client-ca",
                path: path.to_owned(),
                why: e.to_string(),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key_der).map_err(|e| TlsError::Bad {
        flag: "--tls-key",
        path: key.to_owned(),
        why: e.to_string(),
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// What [`accept`] made of a new connection on a TLS listener.
pub enum Accepted {
    /// The handshake succeeded.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// It was plain HTTP (answered `400`), or the handshake failed or timed
    /// out (logged); the connection is closed.
    Closed,
}

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The answer to plain HTTP on a TLS port.
pub fn plain_http_answer(who: &str) -> String {
    let body =
        format!("{who}: the plain HTTP request was sent to an HTTPS port: this port speaks TLS only (use https://)\n");
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Accepts a connection on a TLS listener within `timeout`: a TLS
/// handshake, or, when the first byte says plain HTTP, the `400` of
/// [`plain_http_answer`] (`who` names the program in it), a warning in the
/// log, and the connection closed.
pub async fn accept(acceptor: &TlsAcceptor, stream: TcpStream, timeout: Duration, who: &str) -> Accepted {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".to_owned());
    let mut first = [0u8; 1];
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1..)) => {}
        Ok(Ok(0)) => return Accepted::Closed,
        Ok(Err(err)) => {
            tracing::debug!(%peer, error = %err, "connection lost before the TLS handshake");
            return Accepted::Closed;
        }
        Err(_) => {
            tracing::debug!(%peer, "no TLS handshake within the request timeout: closed");
            return Accepted::Closed;
        }
    }
    if first[0] != TLS_HANDSHAKE {
        if first[0].is_ascii_alphabetic() {
            tracing::warn!(%peer, "plain HTTP request on the TLS listener: answered 400 (use https://)");
            answer_plain(stream, &plain_http_answer(who), timeout).await;
        } else {
            tracing::warn!(%peer, first_byte = first[0], "neither TLS nor HTTP on the TLS listener: closed");
        }
        return Accepted::Closed;
    }
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Accepted::Tls(Box::new(tls)),
        Ok(Err(err)) => {
            tracing::warn!(%peer, error = %err, "TLS handshake failed");
            Accepted::Closed
        }
        Err(_) => {
            tracing::warn!(%peer, "TLS handshake not done within the request timeout: closed");
            Accepted::Closed
        }
    }
}

/// Reads the request head (so that closing does not reset the connection
/// under the answer), writes `answer`, and closes.
async fn answer_plain(mut stream: TcpStream, answer: &str, timeout: Duration) {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read_head = async {
        while head.len() < 64 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(timeout.min(Duration::from_secs(5)), read_head).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(answer.as_bytes())).await;
    let _ = stream.shutdown().await;
    // Whatever else comes (a body) is read and dropped until the peer
    // closes, briefly, so that the answer is not cut by a reset.
    let drain = async { while matches!(stream.read(&mut buf).await, Ok(1..)) {} };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// A connection, plain or TLS, on either side: what the servers accept
/// and what the proxy opens to an `https://` master.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS, this side the client (the proxy to its master).
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS, this side the server (a connection [`accept`]ed).
    Server(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, data),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_write(cx, data),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Client(s) => s.is_write_vectored(),
            Stream::Server(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Client(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Server(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_http_answer_is_a_whole_400() {
        let answer = plain_http_answer("mesos-proxy");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body.starts_with("mesos-proxy: the plain HTTP request was sent to an HTTPS port"));
    }

    #[test]
    fn a_certificate_and_its_key_make_a_listener_and_another_key_is_named() {
        let dir = std::env::temp_dir().join(format!("mesos-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = test_support::self_signed(&dir, "server");
        let (_, other) = test_support::self_signed(&dir, "other");
        let files = ListenerFiles { cert: Some(cert.clone()), key: Some(key), client_ca: Some(cert.clone()) };
        assert!(files.acceptor().unwrap().is_some());
        let wrong = ListenerFiles { cert: Some(cert), key: Some(other.clone()), client_ca: None };
        let err = wrong.acceptor().err().unwrap().to_string();
        assert!(err.starts_with(&format!("--tls-key {}: not the key of the certificate", other.display())), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A plain HTTP request on the TLS port gets the whole `400`, over a
    /// real socket, and the connection is closed.
    #[tokio::test]
    async fn plain_http_on_the_tls_port_is_answered_400() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = std::env::temp_dir().join(format!("mesos-tls-plain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = test_support::self_signed(&dir, "server");
        let acceptor = server_acceptor(&cert, &key, None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            matches!(accept(&acceptor, stream, Duration::from_secs(5), "test").await, Accepted::Closed)
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
        assert!(answer.ends_with("this port speaks TLS only (use https://)\n"), "{answer}");
        assert!(server.await.unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
