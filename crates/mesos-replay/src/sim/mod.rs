//! `mesos-replay sim`: a simulated Mesos master.
//!
//! - [`master`]: the master as a sans-IO state machine (calls and time in,
//!   answers and stream records out).
//! - [`server`]: the HTTP side (hyper 1, one task per connection) and the
//!   clock, real or virtual.
//! - [`resources`]: the cluster's resources and their arithmetic.
//! - [`ids`]: deterministic ids derived from the seed.

pub mod ids;
pub mod master;
mod record;
pub mod resources;
pub mod server;

pub use master::{Answer, Config, Master, Push, Request, StreamKey};
pub use server::{Clock, SimHandle, spawn};
