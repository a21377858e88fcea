//! TLS for `mesos-replay sim` and `serve` (`--tls-cert`, `--tls-key`,
//! `--tls-client-ca`), so that a framework that speaks TLS to its master
//! can be tested against them: the listener of [`mesos_tls`], shared with
//! `mesos-proxy record`.
//!
//! TLS is only the transport: the simulated master's sans-IO core and its
//! HTTP, and the replay's, are the same over TLS as over TCP.

pub use mesos_tls::{
    Accepted, ListenerFiles as TlsFiles, Stream, TlsError, accept, load_certs, load_key, plain_http_answer,
    server_acceptor,
};
