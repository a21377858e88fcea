//! `mesos-replay sim`: a simulated Mesos master.
//!
//! - [`master`]: the master as a sans-IO state machine (calls and time in,
//!   answers and stream records out).
//! - [`server`]: the network side (HTTP/1.1 written by hand over tokio, one
//!   task per connection, byte for byte a Mesos 1.11.0 master's) and the
//!   clock, real or virtual.
//! - `http`: that HTTP/1.1, libprocess's framing; `endpoints`: the
//!   master's answers outside the scheduler API (`/version`,
//!   `/master/state`, `/metrics/snapshot`, ...); `history`: what those
//!   need that the master does not keep; `operator`: the operator API
//!   (`/api/v1`) and its event stream, from the same picture.
//! - [`faults`]: the faults `--fault` asks for, inputs to the master.
//! - [`allocator`]: the hierarchical allocator and its DRF sorters.
//! - [`resources`]: the cluster's resources and their arithmetic.
//! - [`ids`]: deterministic ids and random choices derived from the seed.
//! - `picojson`, `stout`: the master's explanations of JSON that does not
//!   parse, and of JSON that does not convert to a call.

pub mod allocator;
mod endpoints;
pub mod faults;
mod history;
mod http;
pub mod ids;
pub mod master;
mod operator;
mod picojson;
mod record;
pub mod resources;
pub mod server;
mod stout;
mod validation;

pub use http::gzip;
pub use master::{Answer, Config, Master, Push, Request, StreamKey};
pub use server::{Clock, Options, SimHandle, spawn, spawn_tls, spawn_with};
