//! The faults a real master can show for itself (issue 20), compared with
//! the simulator's: each test starts a real Apache Mesos 1.11.0 master
//! (`cargo xtask real-master`) with the flag that makes it misbehave, and
//! a simulator with the matching `--fault`, drives a framework the same way
//! against both at the same time and compares what it sees line by line
//! (`support/scheduler.rs`: records as written, the values a master chooses
//! replaced; times as the windows they must fall in).
//!
//! - `rescind:timeout=3` against a master started with
//!   `--offer_timeout=3secs`.

#[path = "support/real_master.rs"]
mod real_master;
#[path = "support/scheduler.rs"]
mod scheduler;
#[path = "support/wire.rs"]
mod wire;

use std::time::Duration;

use mesos_replay::sim::faults::Fault;
use mesos_replay::sim::{self, Clock, Config};
use real_master::RealMaster;
use scheduler::{Scheduler, chosen_from, normalize, offers};
use serde_json::{Value, json};

const W: Duration = Duration::from_secs(10);

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
    let real = RealMaster::start_with(&[("MESOS_OFFER_TIMEOUT", "3secs")]);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sim = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let faults = vec![Fault::parse("rescind:timeout=3").unwrap()];
        let config = Config { seed: sim::ids::fresh_seed(), faults, ..Config::default() };
        sim::spawn(listener, config, Clock::Real).unwrap()
    });
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
