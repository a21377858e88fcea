//! TLS on both sides of the proxy, with rustls (the `ring` provider).
//!
//! - Frameworks reach the proxy over TLS when `--tls-cert FILE --tls-key
//!   FILE` are given ([`TlsFiles::acceptor`]); `--tls-client-ca FILE` then
//!   requires a client certificate issued by one of that file's
//!   certificates.
//! - An `https://` master is reached over TLS ([`TlsFiles::connector`]):
//!   the server certificate is checked against `--master-ca FILE`, else the
//!   system's roots; `--master-cert FILE --master-key FILE` is the client
//!   certificate for a master that requires one. The server name (SNI, and
//!   the name the certificate must hold) is the master's host name, or the
//!   leader's once a `307` named one.
//!
//! TLS is only the transport: the capture of header lines
//! ([`crate::rawhead`]) wraps the TLS stream, so what is recorded is the
//! HTTP inside it, byte for byte as over plain TCP.
//!
//! A plain HTTP request on a TLS listener ([`accept`]) is answered `400` in
//! plain HTTP saying that TLS is required (nginx's "The plain HTTP request
//! was sent to HTTPS port"), and logged as a warning.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The certificate and key files of `mesos-proxy record`'s TLS flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// `--tls-cert`: the proxy's certificate chain (PEM), leaf first.
    pub cert: Option<PathBuf>,
    /// `--tls-key`: its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// `--tls-client-ca`: frameworks must present a certificate issued by
    /// one of these (PEM).
    pub client_ca: Option<PathBuf>,
    /// `--master-ca`: the roots an `https://` master's certificate is
    /// checked against (PEM); the system's roots when absent.
    pub master_ca: Option<PathBuf>,
    /// `--master-cert`: the client certificate chain presented to the
    /// master (PEM).
    pub master_cert: Option<PathBuf>,
    /// `--master-key`: its private key (PEM).
    pub master_key: Option<PathBuf>,
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
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
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
fn certified_key(
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

fn roots(flag: &'static str, path: &Path) -> Result<rustls::RootCertStore, TlsError> {
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

fn pair<'a>(
    a: (&'static str, &'a Option<PathBuf>),
    b: (&'static str, &'a Option<PathBuf>),
) -> Result<Option<(&'a Path, &'a Path)>, TlsError> {
    match (a.1, b.1) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError::Flags(format!("{} needs {} too", a.0, b.0))),
        (None, Some(_)) => Err(TlsError::Flags(format!("{} needs {} too", b.0, a.0))),
    }
}

impl TlsFiles {
    /// Whether the listener speaks TLS (`--tls-cert`/`--tls-key` given).
    pub fn listens_tls(&self) -> bool {
        self.cert.is_some() || self.key.is_some()
    }

    /// Whether any of the master's flags is given.
    pub fn has_master_flags(&self) -> bool {
        self.master_ca.is_some() || self.master_cert.is_some() || self.master_key.is_some()
    }

    /// The framework side: `None` without `--tls-cert`/`--tls-key`.
    pub fn acceptor(&self) -> Result<Option<TlsAcceptor>, TlsError> {
        let Some((cert, key)) = pair(("--tls-cert", &self.cert), ("--tls-key", &self.key))? else {
            if self.client_ca.is_some() {
                return Err(TlsError::Flags("--tls-client-ca needs --tls-cert and --tls-key".to_owned()));
            }
            return Ok(None);
        };
        server_acceptor(cert, key, self.client_ca.as_deref()).map(Some)
    }

    /// The master side, for an `https://` master.
    pub fn connector(&self) -> Result<TlsConnector, TlsError> {
        let client = pair(("--master-cert", &self.master_cert), ("--master-key", &self.master_key))?;
        let roots = match &self.master_ca {
            Some(path) => roots("--master-ca", path)?,
            None => system_roots()?,
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Flags(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        let mut config = match client {
            Some((cert, key)) => {
                let (certs, key) = certified_key("--master-cert", cert, "--master-key", key)?;
                builder.with_client_auth_cert(certs, key).map_err(|e| TlsError::Bad {
                    flag: "--master-key",
                    path: key_path(&self.master_key),
                    why: e.to_string(),
                })?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConnector::from(Arc::new(config)))
    }
}

fn key_path(path: &Option<PathBuf>) -> PathBuf {
    path.clone().unwrap_or_default()
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

fn system_roots() -> Result<rustls::RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        return Err(TlsError::Flags(format!(
            "no system root certificates to check an https:// master against{}; give --master-ca FILE",
            if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) }
        )));
    }
    Ok(roots)
}

/// The server name a master at `authority` (`host:port`) is checked by.
pub fn server_name(authority: &str) -> Result<ServerName<'static>, String> {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| format!("{host:?} is not a TLS server name: {e}"))
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

/// A connection, plain or TLS, on either side of the proxy.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS, the proxy as the client (to the master).
    Client(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS, the proxy as the server (a framework's connection).
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
    fn the_server_name_is_the_host_of_the_authority() {
        assert_eq!(server_name("master.example:5050").unwrap(), ServerName::try_from("master.example").unwrap());
        assert_eq!(server_name("localhost:443").unwrap(), ServerName::try_from("localhost").unwrap());
        assert_eq!(server_name("10.0.0.7:5050").unwrap(), ServerName::try_from("10.0.0.7").unwrap());
        assert_eq!(server_name("[::1]:5050").unwrap(), ServerName::try_from("::1").unwrap());
        assert!(server_name("bad name:5050").is_err());
    }

    #[test]
    fn the_plain_http_answer_is_a_whole_400() {
        let answer = plain_http_answer("mesos-proxy");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body.starts_with("mesos-proxy: the plain HTTP request was sent to an HTTPS port"));
    }

    #[test]
    fn flags_without_their_other_half_are_errors() {
        let files = TlsFiles { cert: Some("a.pem".into()), ..Default::default() };
        assert_eq!(files.acceptor().err().unwrap().to_string(), "--tls-cert needs --tls-key too");
        let files = TlsFiles { client_ca: Some("ca.pem".into()), ..Default::default() };
        assert_eq!(files.acceptor().err().unwrap().to_string(), "--tls-client-ca needs --tls-cert and --tls-key");
        let files = TlsFiles { master_key: Some("k.pem".into()), ..Default::default() };
        assert_eq!(files.connector().err().unwrap().to_string(), "--master-key needs --master-cert too");
        let files = TlsFiles { master_ca: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        let err = files.connector().err().unwrap().to_string();
        assert!(err.starts_with("--master-ca /nonexistent/ca.pem: cannot read it"), "{err}");
    }
}
