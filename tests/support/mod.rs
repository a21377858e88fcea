//! What the root's tests share among themselves (what every crate's tests
//! share is in `crates/test-support`): a real master, a scheduler over a
//! raw connection, and the wire.

use std::sync::Mutex;

pub mod real_master;
pub mod scheduler;
pub mod wire;

/// One such test at a time: the tests that hold it (a real master and a sim
/// side by side in `sim_vs_real`, the soak) check windows of time and want
/// the machine's attention. They used to be alone in test binaries of their
/// own; in the one test binary they take turns.
pub static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Says how many values a comparison of the sim with the real master held
/// equal (a status line, a header, a JSON value, a transcript line, an
/// event): `cargo test --test tests -- sim_ --nocapture 2>&1 | grep '^points:'`
/// adds up what the conformance suite compares.
pub fn points(what: &str, n: usize) {
    eprintln!("points: {n} {what}");
}

/// The values (leaves) of a JSON document, each a point when two documents
/// were found equal.
pub fn leaves(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(m) => m.values().map(leaves).sum::<usize>().max(1),
        serde_json::Value::Array(a) => a.iter().map(leaves).sum::<usize>().max(1),
        _ => 1,
    }
}

/// [`leaves`] of a JSON text; 1 for anything else (a body compared whole).
pub fn text_leaves(text: &str) -> usize {
    serde_json::from_str(text).map_or(1, |v| leaves(&v))
}
