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
