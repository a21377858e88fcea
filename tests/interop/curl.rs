//! The seed walkthrough's eight steps with the real `curl`, as a framework
//! of the suite: the article's JSON files with the ids the master chose
//! patched in, and its event stream kept by `curl --no-buffer` in a file.
//! It logs what it does and sees in the suite's log format ([`super::Logged`]);
//! since curl keeps the stream's bytes, its events carry the exact records.
//!
//! The steps run in the order 1, 2, 3, 4, 5, 7, 6.1, 6.2, 8: the fragments
//! that 6.1 accepts together come from 7's kill. The article's filters are
//! kept except for their length: the calls that leave resources unused ask
//! for a 1 s `refuse_seconds` instead of the default 5 s, so the offers come
//! back within the test's time (and 6.2's split of an agent asks for none).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesos_codec::recordio;
use serde_json::{Value, json};

use super::{FrameworkLog, Logged};

/// How long any one step may wait for its event.
const STEP: Duration = Duration::from_secs(15);

fn walkthrough(name: &str) -> Value {
    serde_json::from_slice(&test_support::seed(name)).unwrap()
}

/// The records of the stream so far: bytes, and the event as JSON.
fn records(stream_file: &Path) -> Vec<(Vec<u8>, Value)> {
    let bytes = Bytes::from(std::fs::read(stream_file).unwrap_or_default());
    let mut decoder = recordio::Decoder::new();
    decoder.push(bytes);
    let mut out = Vec::new();
    while let Ok(Some(record)) = decoder.next_record() {
        let value = serde_json::from_slice(&record.data).unwrap_or(Value::Null);
        out.push((record.data.to_vec(), value));
    }
    out
}

struct Walk {
    master: String,
    stream_file: PathBuf,
    stream_id: String,
    log: FrameworkLog,
    /// Every event logged so far.
    events: Vec<Value>,
    subscribe: Option<Child>,
}

impl Walk {
    /// Logs the records that arrived since the last look.
    fn catch_up(&mut self) {
        for (raw, event) in records(&self.stream_file).into_iter().skip(self.events.len()) {
            self.log.entries.push(Logged::Event { event: event.clone(), raw: Some(raw) });
            self.events.push(event);
        }
    }

    /// Waits (bounded) until an event so far satisfies `pred`, logging every
    /// event on the way; returns the first that does.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            self.catch_up();
            if let Some(event) = self.events.iter().find(|e| pred(e)) {
                return event.clone();
            }
            assert!(
                Instant::now() < deadline,
                "curl walkthrough: no {what} event within {STEP:?}\n{}",
                self.log.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// POSTs a call with curl (after logging what came before); it must be
    /// answered `202`.
    fn call(&mut self, body: Value) {
        self.catch_up();
        self.log.entries.push(Logged::Call(body.clone()));
        let out = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args(["-H", "Content-Type: application/json", "-H", &format!("Mesos-Stream-Id: {}", self.stream_id)])
            .arg("--data-binary")
            .arg(body.to_string())
            .arg(format!("{}/api/v1/scheduler", self.master))
            .output()
            .expect("curl must be installed (Debian: apt-get install curl)");
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(status, "202", "curl walkthrough: {} answered {status}: {}", body["type"], body);
    }

    fn ack(&mut self, update: &Value) {
        let status = &update["update"]["status"];
        let mut ack = walkthrough("03-acknowledge.json");
        ack["acknowledge"]["agent_id"] = status["agent_id"].clone();
        ack["acknowledge"]["task_id"] = status["task_id"].clone();
        ack["acknowledge"]["uuid"] = status["uuid"].clone();
        self.call(ack);
    }

    /// Waits for `task`'s update to `state` and acknowledges it.
    fn ack_state(&mut self, task: &str, state: &str) -> Value {
        let update = self.wait_for(&format!("{task} {state}"), |e| {
            e["update"]["status"]["task_id"]["value"] == task && e["update"]["status"]["state"] == state
        });
        self.ack(&update);
        update
    }

    /// Waits for an OFFERS event with an offer for `agent` other than the
    /// ones in `known`; returns that offer.
    fn offer_of(&mut self, agent: &Value, known: &[Value], what: &str) -> Value {
        let event = self.wait_for(what, |e| {
            e["type"] == "OFFERS"
                && e["offers"]["offers"]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|o| o["agent_id"] == *agent && !known.contains(&o["id"])))
        });
        let offers = event["offers"]["offers"].as_array().unwrap();
        offers.iter().find(|o| o["agent_id"] == *agent && !known.contains(&o["id"])).unwrap().clone()
    }
}

impl Drop for Walk {
    fn drop(&mut self) {
        if let Some(child) = &mut self.subscribe {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the walkthrough against the master at `master` (`http://host:port`);
/// `dir` holds curl's files. Blocking.
pub fn run(master: &str, dir: &Path) -> FrameworkLog {
    let stream_file = dir.join("curl-stream.recordio");
    let headers_file = dir.join("curl-headers.txt");
    let mut walk = Walk {
        master: master.to_owned(),
        stream_file: stream_file.clone(),
        stream_id: String::new(),
        log: FrameworkLog { entries: Vec::new(), complete: true, stderr: String::new() },
        events: Vec::new(),
        subscribe: None,
    };

    // 1. SUBSCRIBE with the article's register.json; curl keeps the stream.
    let register = walkthrough("01-register.json");
    walk.log.entries.push(Logged::Call(register.clone()));
    walk.subscribe = Some(
        Command::new("curl")
            .args(["-sS", "--no-buffer", "-D"])
            .arg(&headers_file)
            .arg("-o")
            .arg(&stream_file)
            .args(["-X", "POST", "-H", "Content-Type: application/json", "--data-binary"])
            .arg(register.to_string())
            .arg(format!("{master}/api/v1/scheduler"))
            .stdout(Stdio::null())
            .spawn()
            .expect("curl must be installed (Debian: apt-get install curl)"),
    );
    let offers = walk.wait_for("OFFERS", |e| e["type"] == "OFFERS");
    let headers = std::fs::read_to_string(&headers_file).unwrap();
    assert!(headers.starts_with("HTTP/1.1 200"), "SUBSCRIBE: {headers}");
    walk.stream_id = headers
        .lines()
        .find_map(|l| l.to_ascii_lowercase().starts_with("mesos-stream-id:").then(|| l[16..].trim().to_owned()))
        .expect("a Mesos-Stream-Id header");
    let first = offers["offers"]["offers"][0].clone();
    let other = offers["offers"]["offers"][1].clone();
    let agent = first["agent_id"].clone();

    // 2. ACCEPT a LAUNCH of the article's task (1 cpu, all the memory) on
    //    the first offer: TASK_STARTING.
    let mut launch = walkthrough("02-launch_task.json");
    launch["accept"]["offer_ids"] = json!([first["id"]]);
    launch["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"] = agent.clone();
    launch["accept"]["filters"] = json!({"refuse_seconds": 1.0});
    walk.call(launch);

    // 3. ACKNOWLEDGE each update; TASK_RUNNING follows the first.
    walk.ack_state("00012", "TASK_STARTING");
    walk.ack_state("00012", "TASK_RUNNING");

    // 4. What the task left unused on that agent is offered again.
    let remainder = walk.offer_of(&agent, &[first["id"].clone()], "remainder OFFERS");

    // 5. DECLINE the other agent's offer.
    let mut decline = walkthrough("05-decline.json");
    decline["decline"]["offer_ids"] = json!([other["id"]]);
    decline["decline"]["filters"] = json!({"refuse_seconds": 1.0});
    walk.call(decline);

    // 7. KILL the task: TASK_KILLED; what it held comes back as a second
    //    fragment of its agent.
    let mut kill = walkthrough("07-kill_task.json");
    kill["kill"]["task_id"] = json!({"value": "00012"});
    kill["kill"]["agent_id"] = agent.clone();
    walk.call(kill);
    walk.ack_state("00012", "TASK_KILLED");
    let freed = walk.offer_of(&agent, &[first["id"].clone(), remainder["id"].clone()], "freed OFFERS");

    // 6.1 ACCEPT both fragments at once with the article's task of 2 cpus
    //     and 996 MB, which only their sum holds.
    let mut merged = walkthrough("06.1-launch_task_merged_offers.json");
    merged["accept"]["offer_ids"] = json!([remainder["id"], freed["id"]]);
    merged["accept"]["operations"][0]["launch"]["task_infos"][0]["agent_id"] = agent.clone();
    merged["accept"]["filters"] = json!({"refuse_seconds": 1.0});
    walk.call(merged);
    walk.ack_state("00017", "TASK_STARTING");
    walk.ack_state("00017", "TASK_RUNNING");

    // 6.2 Split the other agent into three fragments (what two small tasks
    //     leave, then what each frees when killed), DECLINE the three at
    //     once: ONE offer of the whole agent comes back.
    let agent1 = other["agent_id"].clone();
    let whole = walk.offer_of(&agent1, &[other["id"].clone()], "the other agent's OFFERS");
    let mut two = walkthrough("02-launch_task.json");
    two["accept"]["offer_ids"] = json!([whole["id"]]);
    let task = |name: &str| {
        let mut task = two["accept"]["operations"][0]["launch"]["task_infos"][0].clone();
        task["name"] = json!(name);
        task["task_id"] = json!({"value": name});
        task["agent_id"] = agent1.clone();
        task["resources"] = json!([
            {"name": "mem", "type": "SCALAR", "scalar": {"value": 128.0}},
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}},
        ]);
        task
    };
    two["accept"]["operations"][0]["launch"]["task_infos"] = json!([task("a"), task("b")]);
    // No filter: what the tasks leave is offered again at once.
    two["accept"]["filters"] = json!({"refuse_seconds": 0.0});
    walk.call(two);
    let mut known = vec![other["id"].clone(), whole["id"].clone()];
    let mut fragments = vec![walk.offer_of(&agent1, &known, "the first fragment")];
    known.push(fragments[0]["id"].clone());
    for name in ["a", "b"] {
        walk.ack_state(name, "TASK_STARTING");
        walk.ack_state(name, "TASK_RUNNING");
    }
    for name in ["a", "b"] {
        let mut kill = walkthrough("07-kill_task.json");
        kill["kill"]["task_id"] = json!({"value": name});
        kill["kill"]["agent_id"] = agent1.clone();
        walk.call(kill);
        walk.ack_state(name, "TASK_KILLED");
        let fragment = walk.offer_of(&agent1, &known, "a freed fragment");
        known.push(fragment["id"].clone());
        fragments.push(fragment);
    }
    let mut decline = walkthrough("06.2-decline_three_offers.json");
    decline["decline"]["offer_ids"] = json!(fragments.iter().map(|o| o["id"].clone()).collect::<Vec<_>>());
    decline["decline"]["filters"] = json!({"refuse_seconds": 1.0});
    walk.call(decline);
    let back = walk.offer_of(&agent1, &known, "the merged offer");
    let scalar = |name: &str| {
        back["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .map(|r| r["scalar"]["value"].clone())
    };
    assert_eq!((scalar("cpus"), scalar("mem")), (Some(json!(2.0)), Some(json!(996.0))), "one merged offer: {back}");

    // 8. TEARDOWN: 202, and the stream ends (curl exits cleanly).
    walk.call(walkthrough("08-teardown.json"));
    let deadline = Instant::now() + STEP;
    let mut subscribe = walk.subscribe.take().unwrap();
    loop {
        if let Some(status) = subscribe.try_wait().unwrap() {
            assert!(status.success(), "curl walkthrough: the SUBSCRIBE curl: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "curl walkthrough: the stream did not end after TEARDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
    walk.catch_up();
    walk.log.entries.push(Logged::Done);
    std::mem::replace(&mut walk.log, FrameworkLog { entries: Vec::new(), complete: true, stderr: String::new() })
}
