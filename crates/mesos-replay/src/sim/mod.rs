//! `mesos-replay sim`: a simulated Mesos master.
//!
//! - [`master`]: the master as a sans-IO state machine (calls and time in,
//!   answers and stream records out).
//! - [`server`]: the HTTP side (hyper 1, one task per connection) and the
//!   clock, real or virtual.
//! - [`allocator`]: the hierarchical allocator and its DRF sorters.
//! - [`resources`]: the cluster's resources and their arithmetic.
//! - [`ids`]: deterministic ids and random choices derived from the seed.
//! - `picojson`: the master's explanation of JSON that does not parse.

pub mod allocator;
pub mod ids;
pub mod master;
mod picojson;
mod record;
pub mod resources;
pub mod server;

pub use master::{Answer, Config, Master, Push, Request, StreamKey};
pub use server::{Clock, SimHandle, spawn};
