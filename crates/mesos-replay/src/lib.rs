//! `mesos-replay`: the master side of mesos-tape.
//!
//! - [`sim`]: the simulated master: a sans-IO state machine
//!   ([`sim::Master`]) that plays a Mesos master's scheduler API on a
//!   virtual or real clock, and the hyper server that wires it to the
//!   network.
//! - [`inspect`]: a session as a readable timeline, or as JSON lines with
//!   every message decoded.
//!
//! Replay (`serve`) and `diff` arrive with their own issue. This crate
//! depends on [`mesos_codec`] only, never on `mesos-proxy`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod inspect;
pub mod sim;
