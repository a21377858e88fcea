//! Soak: frameworks through the recording proxy in front of the simulated
//! master, each process of its own, for a while; then every call each
//! framework made and every event it was handed must be in the session
//! files, and the processes' memory and file descriptors are sampled.
//!
//! `soak_in_brief` runs in the test suite (20 frameworks for 20 s);
//! `cargo xtask soak --frameworks N --minutes M` runs the same with the
//! figures it asks for (`SOAK_FRAMEWORKS`, `SOAK_SECONDS`) and prints the
//! table. The proxy and the simulator are this test binary run again in a
//! role (`soak::soak_role`, `SOAK_ROLE=proxy|sim`), so each has its own process
//! (and its own memory to sample) without building other packages' binaries.

use test_support::framework;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use framework::{Behaviour, Run};
use mesos_codec::recordio::Decoder;
use mesos_codec::session::{EntryKind, Item, Reader};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The proxy or the simulator, in a process of its own (see the module doc).
#[test]
#[ignore = "a role run in a child process by the soak"]
fn soak_role() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match std::env::var("SOAK_ROLE").as_deref() {
        Ok("sim") => runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let config = mesos_replay::sim::Config { heartbeat: Duration::from_secs(1), ..Default::default() };
            let sim = mesos_replay::sim::spawn(listener, config, mesos_replay::sim::Clock::Real).unwrap();
            println!("listening on {}", sim.local_addr());
            std::future::pending::<()>().await;
        }),
        Ok("proxy") => runtime.block_on(async {
            let config = mesos_proxy::Config {
                listen: "127.0.0.1:0".parse().unwrap(),
                master: std::env::var("SOAK_MASTER").unwrap(),
                out: std::env::var("SOAK_OUT").unwrap().into(),
                keep_secrets: false,
                limits: Default::default(),
            };
            let recorder = mesos_proxy::Recorder::bind(config).await.unwrap();
            println!("listening on {}", recorder.local_addr());
            recorder.run(mesos_proxy::shutdown_signal()).await.unwrap();
        }),
        other => panic!("SOAK_ROLE is {other:?}: this test is a role the soak runs, not a test of its own"),
    }
}

/// A child in a role; its address, read from its first line.
fn start(role: &str, env: &[(&str, String)]) -> (Child, SocketAddr) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--ignored", "--exact", "soak::soak_role", "--nocapture", "--test-threads", "1"])
        .env("SOAK_ROLE", role);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the role's address").unwrap();
        // libtest writes `test soak::soak_role ... ` before it, on the same line.
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.trim().parse().unwrap();
        }
    };
    // Keep reading (and dropping) what it prints, so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// Resident memory (kB) and open file descriptors of a process.
type Sample = (u64, usize);

fn sample(pid: u32) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (rss, fds)
}

/// What a run of the soak measured.
#[derive(Debug)]
struct Figures {
    frameworks: u64,
    seconds: f64,
    runs: usize,
    calls: usize,
    events: usize,
    lost_calls: usize,
    lost_events: usize,
    /// (rss kB, fds) at the start, the middle and the end, for the proxy and the simulator.
    proxy: [Sample; 3],
    sim: [Sample; 3],
}

fn soak(frameworks: u64, seconds: u64) -> Figures {
    let out = std::env::temp_dir().join(format!("mesos-tape-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let (mut sim, sim_addr) = start("sim", &[]);
    let (mut proxy, proxy_addr) =
        start("proxy", &[("SOAK_MASTER", format!("http://{sim_addr}")), ("SOAK_OUT", out.display().to_string())]);
    let samples: Arc<Mutex<Vec<[Sample; 2]>>> = Arc::default();
    let sampling = {
        let (samples, proxy_pid, sim_pid) = (samples.clone(), proxy.id(), sim.id());
        let until = Instant::now() + Duration::from_secs(seconds);
        std::thread::spawn(move || {
            while Instant::now() < until {
                samples.lock().unwrap().push([sample(proxy_pid), sample(sim_pid)]);
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let runs: Vec<Run> = runtime.block_on(async {
        let until = tokio::time::Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for _ in 0..frameworks {
            tasks.push(tokio::spawn(async move {
                let mut runs = Vec::new();
                while tokio::time::Instant::now() < until {
                    let left = until.saturating_duration_since(tokio::time::Instant::now());
                    let behaviour = Behaviour { random_ids: true, deadline: Some(left), ..Behaviour::default() };
                    runs.push(framework::run(proxy_addr, behaviour).await);
                }
                runs
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    sampling.join().unwrap();
    let end = [sample(proxy.id()), sample(sim.id())];
    // SIGTERM: every session gets its close and end entries.
    let _ = Command::new("kill").arg("-TERM").arg(proxy.id().to_string()).status();
    let stopped = proxy.wait().unwrap();
    assert!(stopped.success(), "the proxy exited {stopped}");
    let _ = sim.kill();
    let _ = sim.wait();

    let recorded = read_sessions(&out);
    let (mut calls, mut events, mut lost_calls, mut lost_events) = (0, 0, 0, 0);
    for run in &runs {
        let records = records(&run.stream);
        let Some(id) = framework_id(&records) else {
            // Never subscribed: nothing of it can be looked for by framework.
            continue;
        };
        calls += run.calls.len();
        events += records.len();
        let session = recorded.get(&id);
        let empty = (Vec::new(), Vec::new());
        let (recorded_calls, recorded_events) = session.unwrap_or(&empty);
        // Every record the framework was handed, in order, in its session.
        let mut at = 0;
        for record in &records {
            match recorded_events[at..].iter().position(|r| r == record) {
                Some(i) => at += i + 1,
                None => lost_events += 1,
            }
        }
        // Every call it made (its type and the answer's status), in order.
        let mut at = 0;
        for call in &run.calls {
            match recorded_calls[at..].iter().position(|c| c == call) {
                Some(i) => at += i + 1,
                None => lost_calls += 1,
            }
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    let samples = samples.lock().unwrap().clone();
    let pick = |i: usize| samples.get(i).copied().unwrap_or(end);
    let (start, middle) = (pick(0), pick(samples.len() / 2));
    Figures {
        frameworks,
        seconds: elapsed,
        runs: runs.len(),
        calls,
        events,
        lost_calls,
        lost_events,
        proxy: [start[0], middle[0], end[0]],
        sim: [start[1], middle[1], end[1]],
    }
}

/// The records of a subscription stream's bytes.
fn records(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut decoder = Decoder::new();
    decoder.push(bytes::Bytes::copy_from_slice(stream));
    let mut out = Vec::new();
    while let Ok(Some(record)) = decoder.next_record() {
        out.push(record.data.to_vec());
    }
    out
}

fn framework_id(records: &[Vec<u8>]) -> Option<String> {
    let first: serde_json::Value = serde_json::from_slice(records.first()?).ok()?;
    first["subscribed"]["framework_id"]["value"].as_str().map(str::to_owned)
}

/// Every session file: by framework id, the calls (type and answer status)
/// and the records of its streams, in file order.
type Recorded = HashMap<String, (Vec<(String, u16)>, Vec<Vec<u8>>)>;

fn read_sessions(dir: &Path) -> Recorded {
    let mut recorded: Recorded = HashMap::new();
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    for path in files {
        let mut reader = Reader::new();
        reader.push(&std::fs::read(&path).unwrap());
        let mut calls_by_seq: HashMap<u64, String> = HashMap::new();
        let (mut calls, mut events, mut id) = (Vec::new(), Vec::new(), None);
        while let Some(item) = reader.next_item().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
            let Item::Entry(entry) = item else { continue };
            match entry.kind {
                EntryKind::Request(r) => {
                    id = id.or(r.summary.framework_id.clone());
                    calls_by_seq
                        .insert(entry.seq, r.summary.name.map(std::borrow::Cow::into_owned).unwrap_or_default());
                }
                EntryKind::Response(r) => {
                    if let Some(call) = r.request.and_then(|s| calls_by_seq.get(&s)) {
                        calls.push((call.clone(), r.status));
                    }
                }
                EntryKind::Event(e) => {
                    id = id.or(e.summary.framework_id.clone());
                    events.push(e.record);
                }
                _ => {}
            }
        }
        assert_eq!(reader.finish(), None, "{}: a torn last line", path.display());
        let Some(id) = id else { continue };
        let slot = recorded.entry(id).or_default();
        slot.0.extend(calls);
        slot.1.extend(events);
    }
    recorded
}

fn report(f: &Figures) {
    println!("\nsoak: {} frameworks for {:.0} s ({} framework runs)", f.frameworks, f.seconds, f.runs);
    println!("| | calls | events | calls/s | events/s | lost calls | lost events |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| | {} | {} | {:.0} | {:.0} | {} | {} |",
        f.calls,
        f.events,
        f.calls as f64 / f.seconds,
        f.events as f64 / f.seconds,
        f.lost_calls,
        f.lost_events
    );
    println!("| process | RSS start | RSS middle | RSS end | fds start | fds middle | fds end |");
    println!("|---|---|---|---|---|---|---|");
    for (name, s) in [("proxy", f.proxy), ("sim", f.sim)] {
        println!(
            "| {name} | {} MB | {} MB | {} MB | {} | {} | {} |",
            s[0].0 / 1024,
            s[1].0 / 1024,
            s[2].0 / 1024,
            s[0].1,
            s[1].1,
            s[2].1
        );
    }
}

/// 20 frameworks for 20 s (or `SOAK_FRAMEWORKS` for `SOAK_SECONDS`):
/// nothing they did or saw is missing from the sessions, and the proxy
/// holds no more descriptors at the end than its frameworks need.
#[test]
fn soak_in_brief() {
    let _turn = crate::support::ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let f = soak(setting("SOAK_FRAMEWORKS", 20), setting("SOAK_SECONDS", 20));
    report(&f);
    assert!(f.calls > 0 && f.events > 0, "{f:?}");
    assert_eq!((f.lost_calls, f.lost_events), (0, 0), "{f:?}");
}
