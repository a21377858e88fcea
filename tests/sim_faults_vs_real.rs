//! The faults a real master can show for itself (issue 20), compared with
//! the simulator's: each test starts a real Apache Mesos 1.11.0 master
//! (`cargo xtask real-master`) with the flag that makes it misbehave, and
//! a simulator with the matching `--fault`, drives a framework the same way
//! against both at the same time and compares what it sees line by line
//! (`support/scheduler.rs`: records as written, the values a master chooses
//! replaced; times as the windows they must fall in).
//!
//! - `rescind:timeout=3` against a master started with
//!   `--offer_timeout=3secs`;
//! - `stale-instance` against a master to which the test itself subscribes
//!   a second instance of the framework, from another connection;
//! - `failover-timeout` against a master whose framework (with a
//!   `failover_timeout` of 0) the test disconnects;
//! - `duplicate-update` against a master whose framework acknowledges an
//!   update only once the agent sent it again (10 s later): the same
//!   record twice, the same answer to the late acknowledgement.
//!
//! `leader-change` and `crash` need a second master, or a master that
//! comes back with its agents; one real master shows neither
//! (`docs/faults.md`).

use crate::support::{real_master, scheduler, wire};

use std::time::Duration;

use mesos_replay::sim::faults::Fault;
use mesos_replay::sim::{self, Clock, Config};
use real_master::RealMaster;
use scheduler::{Scheduler, chosen_from, launch, normalize, offers};
use serde_json::{Value, json};

const W: Duration = Duration::from_secs(10);

/// A simulator on the real clock with `faults`, and its runtime.
fn sim_with(faults: &[&str]) -> (sim::SimHandle, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sim = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let faults = faults.iter().map(|f| Fault::parse(f).unwrap()).collect();
        let config = Config { seed: sim::ids::fresh_seed(), faults, ..Config::default() };
        sim::spawn(listener, config, Clock::Real).unwrap()
    });
    (sim, runtime)
}

/// Whether `d` lies in `[low, high]` seconds; the line says which it was
/// when not.
fn within(what: &str, d: Duration, low: f64, high: f64) -> String {
    if (low..=high).contains(&d.as_secs_f64()) {
        format!("{what}: within {low}..{high} s")
    } else {
        format!("{what}: {:.3} s, not within {low}..{high} s", d.as_secs_f64())
    }
}

/// An offer held past the offer timeout is rescinded: one RESCIND per
/// offer, the offer timeout after it was made, as the master writes it; the
/// resources offered again at the next allocation, in new offers; the
/// framework's `offers/rescinded` metric counts them.
#[test]
fn rescind_as_a_master_with_an_offer_timeout() {
    // Windows of time are compared: one real master at a time.
    let _turn = crate::support::ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let real = RealMaster::start_with(&[("MESOS_OFFER_TIMEOUT", "3secs")]);
    let (sim, _runtime) = sim_with(&["rescind:timeout=3"]);
    scheduler::compare_transcripts("rescind", real.addr(), sim.local_addr(), |addr| {
        let mut t = Vec::new();
        let mut s = Scheduler::json(addr, "hoarder", json!({}));
        assert_eq!(s.status, 200, "SUBSCRIBE");
        let subscribed = s.next(W).expect("SUBSCRIBED");
        let mut chosen = chosen_from(&subscribed.json());
        chosen.stream_ids.push(s.stream_id.clone());
        let (_, first) = s.until("OFFERS", W);
        let first = first.expect("OFFERS");
        let id = |o: &Value| o["id"]["value"].as_str().unwrap_or_default().to_owned();
        let mut offered: Vec<String> = offers(&first.json()).iter().map(id).collect();
        t.push(format!("{} offers", offered.len()));
        let mut rescinded = Vec::new();
        let mut last = first.clone();
        while rescinded.len() < offered.len() {
            let (_, rescind) = s.until("RESCIND", W);
            let Some(rescind) = rescind else {
                t.push("no more RESCIND".into());
                break;
            };
            t.push(normalize(&rescind.raw, &chosen));
            t.push(within("RESCIND after the OFFERS", rescind.at - first.at, 2.9, 3.6));
            rescinded.push(rescind.json()["rescind"]["offer_id"]["value"].as_str().unwrap_or_default().to_owned());
            last = rescind;
        }
        offered.sort();
        rescinded.sort();
        t.push(format!("each offer rescinded once: {}", offered == rescinded));
        let (_, again) = s.until("OFFERS", W);
        let again = again.expect("the resources offered again");
        t.push(within("OFFERS again after the last RESCIND", again.at - last.at, 0.0, 1.2));
        t.push(normalize(&again.raw, &chosen));
        let again: Vec<String> = offers(&again.json()).iter().map(id).collect();
        t.push(format!("new offer ids: {}", again.iter().all(|o| !offered.contains(o))));
        let metrics = wire::Conn::open(addr).call("GET", "/metrics/snapshot", &[], b"");
        let metrics: Value = serde_json::from_slice(&metrics.body).unwrap();
        for metric in ["offers/rescinded", "events/rescind", "offers/sent"] {
            let key = format!("master/frameworks/hoarder/{}/{metric}", s.framework_id);
            t.push(format!("{metric}: {}", metrics[&key]));
        }
        let teardown = s.call(json!({"type": "TEARDOWN"}));
        t.push(format!("TEARDOWN {}", teardown.head.status));
        t
    });
    drop(sim);
}

/// A second instance of the framework subscribes with its id (on the real
/// master, the test subscribes it from another connection; on the sim,
/// `stale-instance:at=2`): the first instance's stream gets the same
/// ERROR and ends; its calls with its stream id get the same 400; the
/// framework subscribing again with its id is taken back the same way.
#[test]
fn stale_instance_as_a_second_subscribe() {
    // Windows of time are compared: one real master at a time.
    let _turn = crate::support::ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let real = RealMaster::start();
    let (sim, _runtime) = sim_with(&["stale-instance:at=2"]);
    let sim_addr = sim.local_addr();
    scheduler::compare_transcripts("stale-instance", real.addr(), sim_addr, move |addr| {
        let mut t = Vec::new();
        let mut s = Scheduler::json(addr, "twice", json!({"failover_timeout": 60.0}));
        let subscribed = s.next(W).expect("SUBSCRIBED");
        let mut chosen = chosen_from(&subscribed.json());
        chosen.stream_ids.push(s.stream_id.clone());
        let info = json!({"failover_timeout": 60.0, "id": {"value": s.framework_id}});
        // The other instance: the real master's from this test; the sim
        // makes its own at 2 s.
        let _other = (addr != sim_addr).then(|| {
            std::thread::sleep(Duration::from_secs(1));
            Scheduler::json(addr, "twice", info.clone())
        });
        let (_, error) = s.until("ERROR", W);
        let error = error.expect("ERROR");
        t.push(normalize(&error.raw, &chosen));
        t.push(format!("the stream ends: {}", s.ended_within(W)));
        let revive = s.call(json!({"type": "REVIVE"}));
        t.push(format!("{} {}", revive.head.status, normalize(&revive.body, &chosen)));
        let mut back = Scheduler::json(addr, "twice", info);
        let again = back.next(W).expect("SUBSCRIBED again");
        chosen.stream_ids.push(back.stream_id.clone());
        t.push(normalize(&again.raw, &chosen));
        let teardown = back.call(json!({"type": "TEARDOWN"}));
        t.push(format!("TEARDOWN {}", teardown.head.status));
        t
    });
}

/// A framework away longer than its failover timeout (on the real master,
/// one with `failover_timeout` 0 whose connection the test hangs up; on
/// the sim, `failover-timeout:at=1` cuts it): subscribing again with its
/// id gets the same stream: one ERROR, "Framework has been removed", then
/// its end.
#[test]
fn failover_timeout_as_a_master_removing_a_framework() {
    // Windows of time are compared: one real master at a time.
    let _turn = crate::support::ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let real = RealMaster::start();
    let (sim, _runtime) = sim_with(&["failover-timeout:at=1"]);
    let sim_addr = sim.local_addr();
    scheduler::compare_transcripts("failover-timeout", real.addr(), sim_addr, move |addr| {
        let mut t = Vec::new();
        let s = Scheduler::json(addr, "away", json!({"failover_timeout": 0.0}));
        if addr != sim_addr {
            std::thread::sleep(Duration::from_millis(500));
            s.hang_up();
        }
        std::thread::sleep(Duration::from_millis(2_000));
        let mut back = Scheduler::json(addr, "away", json!({"failover_timeout": 0.0, "id": {"value": s.framework_id}}));
        t.push(format!("SUBSCRIBE again: {}", back.status));
        let error = back.next(W).expect("an event");
        t.push(String::from_utf8_lossy(&error.raw).into_owned());
        t.push(format!("the stream ends: {}", back.ended_within(W)));
        t
    });
}

/// An update sent again with the same uuid (on the real master, the
/// agent's retry of an update not acknowledged within 10 s, which the test
/// acknowledges only then; on the sim, `duplicate-update`, the copy of an
/// update the test acknowledged at once): the same record twice, byte for
/// byte; the acknowledgement of the copy answered 202; then TASK_RUNNING,
/// the same on both.
#[test]
fn duplicate_update_as_an_update_sent_again() {
    // Windows of time are compared: one real master at a time.
    let _turn = crate::support::ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let real = RealMaster::start();
    let (sim, _runtime) = sim_with(&["duplicate-update"]);
    let sim_addr = sim.local_addr();
    scheduler::compare_transcripts("duplicate-update", real.addr(), sim_addr, move |addr| {
        let mut t = Vec::new();
        let mut s = Scheduler::json(addr, "again", json!({}));
        let subscribed = s.next(W).expect("SUBSCRIBED");
        let mut chosen = chosen_from(&subscribed.json());
        chosen.stream_ids.push(s.stream_id.clone());
        let (_, first) = s.until("OFFERS", W);
        let offer = offers(&first.expect("OFFERS").json())[0].clone();
        let call = launch(&[&offer["id"]], &offer["agent_id"], &[("t1", "sleep 3000", 0.5, 64.0)], Some(1000.0));
        t.push(format!("ACCEPT {}", s.call(call).head.status));
        let (_, starting) = s.until("UPDATE", W);
        let starting = starting.expect("TASK_STARTING");
        t.push(normalize(&starting.raw, &chosen));
        if addr == sim_addr {
            t.push(format!("ack: {}", s.acknowledge(&starting.json())));
        } else {
            // What the sim's acknowledgement is answered with, not made:
            // the agent sends it again after 10 s.
            t.push("ack: 202".into());
        }
        let (_, again) = s.until("UPDATE", Duration::from_secs(12));
        let again = again.expect("the update again");
        t.push(normalize(&again.raw, &chosen));
        t.push(format!("the same record: {}", again.raw == starting.raw));
        t.push(format!("ack of the copy: {}", s.acknowledge(&again.json())));
        let (_, running) = s.until("UPDATE", W);
        t.push(running.map_or_else(|| "no TASK_RUNNING".into(), |r| normalize(&r.raw, &chosen)));
        let teardown = s.call(json!({"type": "TEARDOWN"}));
        t.push(format!("TEARDOWN {}", teardown.head.status));
        t
    });
    drop(sim);
}
