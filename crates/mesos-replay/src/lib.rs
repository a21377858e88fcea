//! `mesos-replay`: the master side of mesos-tape.
//!
//! For now it holds the simulated master ([`sim`]): a sans-IO state machine
//! ([`sim::Master`]) that plays a Mesos master's scheduler API on a virtual
//! or real clock, and the hyper server that wires it to the network. Replay,
//! `inspect` and `diff` arrive with their own issues. This crate depends on
//! [`mesos_codec`] only, never on `mesos-proxy`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod sim;
