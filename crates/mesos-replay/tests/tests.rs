//! mesos-replay's integration tests: one test binary, one module per file
//! (ripgrep's layout), so that the crate links its tests once. Helpers
//! shared with the other crates' tests (the test framework among them) are
//! in `crates/test-support`.
//!
//! This file is `tests.rs`, not `main.rs`: proptest looks for its
//! `*.proptest-regressions` files next to each source file only when no
//! `lib.rs` or `main.rs` is found above it.

mod faults;
mod golden;
mod inspect;
mod inspect_filters;
mod inspect_html;
mod serve;
mod serve_faults;
mod sim;
mod tls;
