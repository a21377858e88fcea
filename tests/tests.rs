//! The root package's integration tests: the cross-crate ones (the proxy in
//! front of the simulated master, the sim held to a real Mesos master, the
//! interop suite, the soak). One test binary, one module per file
//! (ripgrep's layout), so that the workspace links them once. `support/`
//! is theirs; what every crate's tests share is in `crates/test-support`.
//!
//! A test is named by its module: `cargo test --test tests -- soak::` runs
//! the soak alone, `cargo test --test tests -- import_live::` the live capture.

mod interop;
mod support;

mod conformance;
mod fixtures;
mod import_live;
mod interop_node;
mod interop_python;
mod real_master;
mod replay;
mod sim_vs_real;
mod sim_wire;
mod soak;
mod walkthrough;
