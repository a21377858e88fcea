//! mesos-codec's integration tests: one test binary, one module per file
//! (ripgrep's layout), so that the crate links its tests once. Helpers
//! shared with the other crates' tests are in `crates/test-support`.
//!
//! This file is `tests.rs`, not `main.rs`: proptest looks for its
//! `*.proptest-regressions` files next to each source file only when no
//! `lib.rs` or `main.rs` is found above it.

mod common;
mod recordio_support;

mod cli_messages;
mod cli_records;
mod json;
mod negotiate;
mod peek;
mod protobuf;
mod recordio;
mod recordio_alloc;
mod recordio_ref;
mod schema;
mod session;
mod view;
