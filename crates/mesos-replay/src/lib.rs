//! `mesos-replay`: the master side of mesos-tape: deterministic replay of a
//! recorded session, the simulated master, and the `inspect`/`diff` tools.
//!
//! Nothing is implemented here yet: each tool arrives with its own issue, and
//! until then this crate ships no binary, so nothing can pretend to work. It
//! depends on [`mesos_codec`] only, never on `mesos-proxy`.
