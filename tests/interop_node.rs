//! The interop suite with mesos-framework (npm): `interop/node/framework.js`,
//! installed by the suite into `target/interop/node` with `npm ci`, run
//! against our servers with the machine's Node.js (see `tests/interop/mod.rs`).

use crate::interop;

use interop::Client::MesosFramework;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_against_the_sim() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_sim(MesosFramework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_through_the_proxy() {
    let _turn = crate::support::one_at_a_time();
    interop::through_the_proxy(MesosFramework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_against_the_replay() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_replay(MesosFramework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_against_the_replay_unpaced() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_replay_fast(MesosFramework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_against_the_real_master() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_real_master(MesosFramework).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesos_framework_against_the_replay_of_the_real_master() {
    let _turn = crate::support::one_at_a_time();
    interop::against_the_replay_of_the_real_master(MesosFramework).await;
}
