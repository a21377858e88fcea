//! What the root's tests share among themselves (what every crate's tests
//! share is in `crates/test-support`): a real master, a scheduler over a
//! raw connection, the wire, and a real ZooKeeper.

use std::sync::Mutex;

pub mod real_master;
pub mod scheduler;
pub mod wire;
pub mod zookeeper;

/// One such test at a time: the tests that hold it (a real master and a sim
/// side by side in `sim_vs_real`, the soak) check windows of time and want
/// the machine's attention. They used to be alone in test binaries of their
/// own; in the one test binary they take turns.
pub static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes [`ONE_AT_A_TIME`] for the rest of the test: the tests that compare
/// a real master's timing with the sim's take it, and so do the ones that
/// load the machine most (frameworks in Python and Node, nginx), so that
/// they never run beside each other (a real master's allocations slipped
/// by a second beside them).
pub fn one_at_a_time() -> Turn {
    Turn(ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner()))
}

/// A test's turn ([`one_at_a_time`]), held until dropped. Held across
/// awaits by design: the tests' runtimes run on the test's own thread, and
/// the turn only keeps other tests' threads waiting.
pub struct Turn(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

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
