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
//!
//! The listener's side is [`mesos_tls`]'s, shared with `mesos-replay sim`
//! and `serve`; the master's side (a TLS client) is here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

pub use mesos_tls::{Accepted, TlsError, accept, load_certs, load_key, plain_http_answer, server_acceptor};
use mesos_tls::{certified_key, provider, roots};

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
        let listener = mesos_tls::ListenerFiles {
            cert: self.cert.clone(),
            key: self.key.clone(),
            client_ca: self.client_ca.clone(),
        };
        listener.acceptor()
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

/// A connection, plain or TLS, on either side of the proxy.
pub use mesos_tls::Stream;

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
