//! The interop suite with avmesos (PyPI): `interop/python/framework.py`,
//! installed by the suite into `target/interop/venv`, run against our
//! servers (see `tests/interop/mod.rs`).

use crate::interop;

use interop::Client::{Avmesos, AvmesosOneTask};
use mesos_replay::compare::Rebind;
use mesos_replay::diff::{Conversation, diff};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_sim() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_sim(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_through_the_proxy() {
    let _turn = crate::support::one_at_a_time();
    interop::through_the_proxy(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_replay() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_replay(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_replay_unpaced() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_replay_fast(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_real_master() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_real_master(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_replay_of_the_real_master() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_replay_of_the_real_master(Avmesos).await;
}

/// `mesos-replay diff --rebind-master-ids`: one avmesos framework recorded
/// through the proxy in front of the sim and in front of a real Mesos
/// 1.11.0 master. Bound on first sight, what each master chose (its id,
/// the framework, agent and offer ids, the status uuids, container ids,
/// ports, pids, libprocess ids) lines up, and the two sessions are one
/// conversation: every call, answer and event, field by field. Without the
/// binding, the masters' ids are differences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_recorded_against_the_sim_and_the_real_master_is_one_conversation() {
    let _turn = crate::support::one_at_a_time();
    // About 30 s each (two heartbeats and a status update retry), side by side.
    let (sim, real) = tokio::join!(
        interop::through_the_proxy(AvmesosOneTask),
        interop::through_the_proxy_to_the_real_master(AvmesosOneTask)
    );
    let read = |path: &std::path::Path| {
        Conversation::read(std::fs::File::open(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (a, b) = (read(&sim.session), read(&real.session));
    let text = |outcome: &mesos_replay::diff::Outcome| -> String {
        outcome.differences.iter().map(|d| format!("{d}\n")).collect()
    };
    let plain = diff(&a, &b, Rebind::FrameworkIds);
    assert!(
        plain.differences.iter().any(|d| d.to_string().contains("framework_id.value")),
        "the masters' framework ids differ:\n{}",
        text(&plain)
    );
    let rebound = diff(&a, &b, Rebind::MasterIds);
    assert!(
        rebound.differences.is_empty(),
        "the sim's session ({}) and the real master's ({}) differ:\n{}",
        sim.session.display(),
        real.session.display(),
        text(&rebound)
    );
    let kinds: Vec<&str> = rebound.bindings.all().iter().map(|b| b.kind).collect();
    for kind in ["master", "framework", "agent", "offer", "uuid", "container", "port"] {
        assert!(kinds.contains(&kind), "no {kind} id bound: {kinds:?}");
    }
}
