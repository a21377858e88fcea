//! The seed walkthrough end to end, across the crates: the real `curl` runs
//! the article's eight steps with the article's JSON files
//! (`tests/interop/curl.rs`), as a framework of the interop suite, against
//! the simulated master (`mesos-replay sim`) directly, and through the
//! recording proxy (`mesos-proxy record`) in front of it, where the session
//! file must hold every call, answer and event, byte for byte as curl saw
//! them and as the simulator served them.

use crate::interop;

use interop::Client::Curl;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_against_the_sim() {
    interop::against_the_sim(Curl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_through_the_proxy_in_front_of_the_sim() {
    let recorded = interop::through_the_proxy(Curl).await;
    // The session is named by the article's framework id.
    let name = recorded.session.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("test13-"), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_against_the_replay() {
    interop::against_the_replay(Curl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_against_the_replay_unpaced() {
    interop::against_the_replay_fast(Curl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_against_the_real_master() {
    interop::against_the_real_master(Curl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_with_curl_against_the_replay_of_the_real_master() {
    interop::against_the_replay_of_the_real_master(Curl).await;
}
