//! The real Mesos 1.11.0 master of `cargo xtask real-master` (see
//! `tests/support/real_master.rs`): it starts, it is the release, its two
//! agents are there, and nothing of it outlives it.

use crate::support::real_master;

use real_master::RealMaster;
use serde_json::Value;

#[test]
fn a_real_master_starts_with_two_agents_and_leaves_nothing_behind() {
    let master = RealMaster::start();

    let (status, body) = master.get("/version");
    assert_eq!(status, 200, "{body}");
    let version: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(version["version"], "1.11.0", "{body}");
    assert_eq!(version["git_sha"], "04bc7ee1984d86fbb0bd782ccc69ce44c13ae4b9", "{body}");

    let (status, body) = master.get("/master/state");
    assert_eq!(status, 200, "{body}");
    let state: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["activated_slaves"].as_f64(), Some(2.0), "{body}");
    assert_eq!(state["pid"], format!("master@{}", master.addr()), "{body}");
    let agents = state["slaves"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{body}");
    for agent in agents {
        assert_eq!(agent["active"], true, "{agent}");
        assert_eq!(agent["resources"]["cpus"].as_f64(), Some(2.0), "{agent}");
        assert_eq!(agent["resources"]["mem"].as_f64(), Some(996.0), "{agent}");
    }
    assert!(master.processes().contains(&master.pid), "{:?}", master.processes());

    let (pid, dir) = (master.pid, master.dir.clone());
    drop(master);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the master {pid} is not reaped");
    assert_eq!(real_master::cluster::processes_of(&dir), Vec::<u32>::new());
    assert!(!dir.exists(), "{} is not removed", dir.display());
}
