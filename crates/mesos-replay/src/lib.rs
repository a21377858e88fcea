//! `mesos-replay`: the master side of mesos-tape.
//!
//! - [`sim`]: the simulated master: a sans-IO state machine
//!   ([`sim::Master`]) that plays a Mesos master's scheduler API on a
//!   virtual or real clock, and the server that wires it to the network,
//!   HTTP/1.1 framed as a 1.11.0 master frames it.
//! - [`inspect`]: a session as a readable timeline, or as JSON lines with
//!   every message decoded.
//!
//! - [`serve`]: deterministic replay of a recorded session to a live
//!   framework, with causal gating, id binding and a divergence report.
//! - [`diff`]: two sessions compared semantically.
//! - [`compare`]: the field-by-field comparison with id binding that
//!   `serve` and `diff` share; [`messages`]: message types by API path,
//!   canonical JSON and transcoding; [`pairing`]: which response answers
//!   which request, which stream an event is of.
//! - [`tls`]: `--tls-cert`/`--tls-key` (and `--tls-client-ca`) for `sim`
//!   and `serve`: TLS as the transport only.
//!
//! This crate depends on [`mesos_codec`] only, never on `mesos-proxy`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compare;
pub mod diff;
pub mod inspect;
pub mod messages;
pub mod pairing;
pub mod serve;
pub mod sim;
pub mod tls;
