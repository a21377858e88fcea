//! `mesos-replay sim`: a simulated Mesos master.
//!
//! - [`master`]: the master as a sans-IO state machine (calls and time in,
//!   answers and stream records out).
//! - [`server`]: the HTTP side (hyper 1, one task per connection) and the
//!   clock, real or virtual.
//! - [`allocator`]: the hierarchical allocator and its DRF sorters.
//! - [`resources`]: the cluster's resources and their arithmetic.
//! - [`ids`]: deterministic ids and random choices derived from the seed.
//! - `picojson`, `stout`: the master's explanations of JSON that does not
//!   parse, and of JSON that does not convert to a call.

pub mod allocator;
pub mod ids;
pub mod master;
mod picojson;
mod record;
pub mod resources;
pub mod server;
mod stout;

pub use master::{Answer, Config, Master, Push, Request, StreamKey};
pub use server::{Clock, SimHandle, spawn};
