//! The interop suite with avmesos (PyPI): `interop/python/framework.py`,
//! installed by the suite into `target/interop/venv`, run against our
//! servers (see `tests/interop/mod.rs`).

mod interop;

use interop::Client::Avmesos;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_sim() {
    interop::against_the_sim(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_through_the_proxy() {
    interop::through_the_proxy(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_replay() {
    interop::against_the_replay(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_replay_unpaced() {
    interop::against_the_replay_fast(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_real_master() {
    interop::against_the_real_master(Avmesos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avmesos_against_the_replay_of_the_real_master() {
    interop::against_the_replay_of_the_real_master(Avmesos).await;
}
