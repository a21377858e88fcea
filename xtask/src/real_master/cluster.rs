//! A real master's processes: where the install lives and whether it is
//! complete, how a master with its agents is started, which processes are
//! its, and how they are stopped.
//!
//! This file is the one home of the start and stop rules, for `cargo xtask
//! real-master start|stop` and for the project's tests, which include it with
//! `#[path]` (`tests/support/real_master.rs`) rather than running the xtask
//! binary: a test's master is then the test's own child, so dropping it can
//! reap it (no zombie, no pid left to guess), and starting one costs no
//! `cargo run` (which would wait for cargo's locks and may compile). It
//! therefore uses nothing but std, anyhow and serde_json, and nothing of the
//! xtask crate. The install itself stays in `real_master.rs`: tests run it as
//! `cargo xtask real-master install` when [`is_installed`] says no.

#![allow(dead_code)] // each includer uses part of it

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The Mesos release that runs.
pub const MESOS_VERSION: &str = "1.11.0";
/// The PyPI artifact whose `_scheduler.so` holds that release's libmesos.
pub const TARBALL_NAME: &str = "mesos.scheduler-1.11.0.linux-x86_64.tar.gz";
pub const TARBALL_URL: &str = "https://files.pythonhosted.org/packages/95/df/63f5260be552ee9cc5b6ba34d86aba9af5a2ce66ae29bf0f5185a8bc2432/mesos.scheduler-1.11.0.linux-x86_64.tar.gz";
pub const TARBALL_SHA256: &str = "1d376f20bca6d05ee8b90c1c123a452b28753497ccc2f1c80ea3ac94c12e8f6e";
/// Bumped whenever the install makes something different from the same
/// sources: a stamp of another recipe means install again.
const RECIPE: u32 = 1;
/// The sources the install builds, in `xtask/real-master/`.
pub const SOURCES: [&str; 3] = ["launcher.cpp", "libcurl-shim.c", "libcurl-shim.map"];

/// Each agent's resources, the seed walkthrough's cluster.
pub const AGENT_RESOURCES: &str = "cpus:2;mem:996;disk:30509;ports:[31000-32000]";
/// Agents started when neither `--agents` nor `MESOS_NUM_SLAVES` says.
pub const DEFAULT_AGENTS: u32 = 2;
/// How long a master may take to answer and have every agent activated.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// `target/real-mesos/` of the checkout at `root`, whatever
/// `CARGO_TARGET_DIR` says: the install belongs to the checkout.
pub fn install_dir(root: &Path) -> PathBuf {
    root.join("target/real-mesos")
}

/// The installed launcher: `mesos-local` and `mesos-containerizer` in one.
pub fn launcher(root: &Path) -> PathBuf {
    install_dir(root).join("bin/real-mesos")
}

/// The installed command executor (missing until the `real-master-executor`
/// package exists and the install built it).
pub fn installed_executor(root: &Path) -> PathBuf {
    install_dir(root).join("bin/mesos-executor")
}

pub fn stamp_path(root: &Path) -> PathBuf {
    install_dir(root).join(".installed")
}

/// What the stamp of a complete install from the current sources holds.
pub fn expected_stamp(root: &Path) -> Result<String> {
    let mut stamp = format!("real-mesos recipe {RECIPE}\n{TARBALL_NAME} sha256 {TARBALL_SHA256}\n");
    for name in SOURCES {
        let path = root.join("xtask/real-master").join(name);
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        stamp.push_str(&format!("--- {name}\n{text}"));
    }
    Ok(stamp)
}

/// Whether the install is complete and made from the current sources. The
/// stamp is written last, so this reads no half-made install.
pub fn is_installed(root: &Path) -> bool {
    let expected = expected_stamp(root).ok();
    expected.is_some() && std::fs::read_to_string(stamp_path(root)).ok() == expected && launcher(root).exists()
}

/// What `start` is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The port of the master (and of its agents, which live in its process).
    pub port: u16,
    /// The master's directory: its log, work dir, launcher dir, ...
    pub dir: PathBuf,
    /// The command executor the agents run; the installed one when `None`.
    pub executor: Option<PathBuf>,
    /// The number of agents; `MESOS_NUM_SLAVES`, else 2, when `None`.
    pub agents: Option<u32>,
    /// Flags as `MESOS_*` variables, over the defaults and the environment
    /// (`("MESOS_OFFER_TIMEOUT", "3secs")`).
    pub flags: Vec<(String, String)>,
}

/// A started master, ready: `/version` answered and every agent activated.
#[derive(Debug)]
pub struct Started {
    /// The `mesos-local` process, leader of its own session and group.
    pub child: Child,
    /// `dir` made absolute.
    pub dir: PathBuf,
    /// `dir/mesos.log`: the master's, the agents' and the executors' stderr.
    pub log: PathBuf,
}

/// The file in a master's directory that says which master lives there, for
/// `stop` (one JSON object: `pid`, `port`, `work_dir`).
const STATE_FILE: &str = "real-master.json";

/// Starts a master and its agents on `127.0.0.1:port` and waits until it is
/// ready (at most [`READY_TIMEOUT`]).
///
/// The master runs as `mesos-local` in its own session (`setsid`), cwd
/// `dir`, output to `dir/mesos.log`. Environment: `LIBPROCESS_IP` and
/// `LIBPROCESS_PORT` from the options; `MESOS_NUM_SLAVES` from
/// `options.agents` when given; for every other variable below, a value
/// already in this process's environment wins over the default:
/// `MESOS_WORK_DIR=dir/work`, two agents' resources [`AGENT_RESOURCES`], the
/// posix launcher and isolation, no systemd, the in-memory registry,
/// `MESOS_LAUNCHER_DIR=dir/bin` (made here: `mesos-containerizer` → the
/// installed launcher, `mesos-executor` → `options.executor` or the installed
/// executor), the HTTP command executor, tasks run as this user
/// (`MESOS_SWITCH_USER=false`), image stores under `dir/store`.
///
/// Fails, having stopped what it started, when the port is taken, or the
/// master exits or is not ready in time; the error ends with the log's last
/// error lines.
pub fn start(root: &Path, options: &Options) -> Result<Started> {
    let launcher = launcher(root);
    if !launcher.exists() {
        bail!("{} is missing: run `cargo xtask real-master install` first", launcher.display());
    }
    std::fs::create_dir_all(&options.dir).with_context(|| format!("cannot create {}", options.dir.display()))?;
    let dir = options.dir.canonicalize().with_context(|| format!("{}", options.dir.display()))?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    if TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok() {
        bail!("something already listens on {address}");
    }

    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
    symlink(&launcher, &bin.join("mesos-containerizer"))?;
    let executor = match &options.executor {
        Some(path) => std::path::absolute(path)?,
        None => installed_executor(root),
    };
    if !executor.exists() {
        eprintln!(
            "real-master: warning: no command executor at {}: the agents cannot start tasks \
             (install the `real-master-executor` package with `cargo xtask real-master install`, or pass --executor PATH)",
            executor.display()
        );
    }
    symlink(&executor, &bin.join("mesos-executor"))?;

    let agents = match options.agents {
        Some(n) => n,
        None => match std::env::var("MESOS_NUM_SLAVES") {
            Ok(n) => n.parse().with_context(|| format!("MESOS_NUM_SLAVES={n} is not a number"))?,
            Err(_) => DEFAULT_AGENTS,
        },
    };
    let path = |p: PathBuf| p.into_os_string();
    let defaults = [
        ("MESOS_WORK_DIR", path(dir.join("work"))),
        ("MESOS_RESOURCES", AGENT_RESOURCES.into()),
        ("MESOS_LAUNCHER", "posix".into()),
        ("MESOS_ISOLATION", "posix/cpu,posix/mem".into()),
        ("MESOS_SYSTEMD_ENABLE_SUPPORT", "false".into()),
        ("MESOS_REGISTRY", "in_memory".into()),
        ("MESOS_LAUNCHER_DIR", path(bin.clone())),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "true".into()),
        ("MESOS_SWITCH_USER", "false".into()),
        ("MESOS_APPC_STORE_DIR", path(dir.join("store/appc"))),
        ("MESOS_DOCKER_STORE_DIR", path(dir.join("store/docker"))),
    ];
    let log = dir.join("mesos.log");
    let output = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let mut command = Command::new(&launcher);
    command
        .arg0("mesos-local")
        .current_dir(&dir)
        .env("LIBPROCESS_IP", "127.0.0.1")
        .env("LIBPROCESS_PORT", options.port.to_string())
        .env("MESOS_NUM_SLAVES", agents.to_string())
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output);
    for (name, value) in defaults {
        if std::env::var_os(name).is_none() {
            command.env(name, value);
        }
    }
    for (name, value) in &options.flags {
        command.env(name, value);
    }
    let work_dir = match std::env::var_os("MESOS_WORK_DIR") {
        Some(w) => dir.join(w),
        None => dir.join("work"),
    };
    // SAFETY: setsid is async-signal-safe, and the closure touches nothing else.
    unsafe {
        command.pre_exec(|| if setsid() < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
    }
    let child = command.spawn().with_context(|| format!("cannot run {}", launcher.display()))?;
    let mut started = Started { child, dir, log };
    let state = serde_json::json!({"pid": started.child.id(), "port": options.port, "work_dir": work_dir});
    let ready = std::fs::write(started.dir.join(STATE_FILE), state.to_string())
        .context("cannot write the master's state file")
        .and_then(|()| wait_ready(&mut started, options.port, agents));
    match ready {
        Ok(()) => Ok(started),
        Err(e) => {
            let _ = stop(&started.dir, Some(&mut started.child));
            bail!("{e:#}\n{}", log_tail(&started.log))
        }
    }
}

fn wait_ready(started: &mut Started, port: u16, agents: u32) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        if let Some(status) = started.child.try_wait()? {
            bail!("the master exited ({status}) before it was ready");
        }
        let state = match http_get(port, "/version") {
            Ok((200, _)) => http_get(port, "/master/state"),
            answer => answer,
        };
        match state {
            Ok((200, body)) => {
                let state = serde_json::from_str::<serde_json::Value>(&body).ok();
                let activated = state.and_then(|s| s["activated_slaves"].as_f64()).unwrap_or(0.0);
                if activated >= f64::from(agents) {
                    return Ok(());
                }
                last = format!("{activated} of {agents} agents activated");
            }
            Ok((status, body)) => last = format!("answered {status}: {body}"),
            Err(e) => last = format!("{e:#}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the master on port {port} was not ready after {READY_TIMEOUT:?} ({last})")
}

/// The log's last error lines (glog's `E`/`F` lines, else its last lines),
/// for an error message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 5 && (b[0] == b'E' || b[0] == b'F') && b[1..5].iter().all(u8::is_ascii_digit)
        })
        .collect();
    let shown = if errors.is_empty() { &lines[..] } else { &errors[..] };
    let tail = &shown[shown.len().saturating_sub(5)..];
    format!("last lines of {}:\n{}", log.display(), tail.join("\n"))
}

fn symlink(target: &Path, link: &Path) -> Result<()> {
    match std::fs::remove_file(link) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", link.display())),
    }
    std::os::unix::fs::symlink(target, link).with_context(|| format!("cannot make {}", link.display()))
}

/// `GET path` on `127.0.0.1:port`: the status and the body (HTTP/1.1,
/// `Content-Length` or chunked, or up to the end of the connection).
pub fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    let mut buffer = [0; 16 * 1024];
    let (head_end, status, length, chunked) = loop {
        let n = stream.read(&mut buffer).with_context(|| format!("GET {path}"))?;
        if n == 0 {
            bail!("GET {path}: the connection closed before the answer's head");
        }
        response.extend_from_slice(&buffer[..n]);
        if let Some(at) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..at]).to_ascii_lowercase();
            let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).context("bad status line")?;
            let header = |name: &str| {
                head.lines().find_map(|l| Some(l.strip_prefix(name)?.strip_prefix(':')?.trim().to_owned()))
            };
            let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
            let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
            break (at + 4, status, length, chunked);
        }
    };
    let complete = |body: &[u8]| match (length, chunked) {
        (Some(length), _) => body.len() >= length,
        (None, true) => body.ends_with(b"0\r\n\r\n"),
        (None, false) => false,
    };
    while !complete(&response[head_end..]) {
        let n = stream.read(&mut buffer).with_context(|| format!("GET {path}"))?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..n]);
    }
    let mut body = response.split_off(head_end);
    if chunked {
        body = dechunk(&body).with_context(|| format!("GET {path}: bad chunked body"))?;
    }
    Ok((status, String::from_utf8(body).with_context(|| format!("GET {path}: the body is not UTF-8"))?))
}

fn dechunk(mut chunked: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = chunked.windows(2).position(|w| w == b"\r\n").context("no chunk size line")?;
        let size = std::str::from_utf8(&chunked[..line_end])?.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)?;
        if size == 0 {
            return Ok(body);
        }
        let data = chunked.get(line_end + 2..line_end + 2 + size).context("a chunk is cut short")?;
        body.extend_from_slice(data);
        chunked = chunked.get(line_end + 4 + size..).context("a chunk is cut short")?;
    }
}

// --- Stopping ------------------------------------------------------------------------

/// Stops the master living in `dir` and every process it started, and
/// waits until they are gone: SIGTERM, then SIGKILL to what is left after
/// 3 s. `child` is the master when it is this process's child, to be
/// reaped. Returns how many processes were signalled.
///
/// The master's process group gets the first SIGTERM. Executors and tasks
/// are in sessions of their own (the posix launcher and the executors start
/// each one with `setsid`): they are found by [`processes_of`].
pub fn stop(dir: &Path, mut child: Option<&mut Child>) -> Result<usize> {
    let dir = dir.canonicalize().with_context(|| format!("{}", dir.display()))?;
    let state = read_state(&dir);
    let work_dir = state.as_ref().and_then(|s| s["work_dir"].as_str()).map(PathBuf::from);
    let mut signalled = std::collections::BTreeSet::new();
    let master = match child.as_deref_mut() {
        Some(child) => child.try_wait()?.is_none().then(|| child.id()),
        // Not a pid that was reused since: it must still be one of the master's.
        None => state
            .as_ref()
            .and_then(|s| s["pid"].as_u64())
            .and_then(|pid| u32::try_from(pid).ok())
            .filter(|pid| members(&dir, work_dir.as_deref()).contains(pid)),
    };
    if let Some(pid) = master {
        kill(-(pid as i32), SIGTERM);
        signalled.insert(pid);
    }
    let started = Instant::now();
    loop {
        let left = members(&dir, work_dir.as_deref());
        if left.is_empty() {
            break;
        }
        let late = started.elapsed() > Duration::from_secs(3);
        for pid in left.iter().copied() {
            if signalled.insert(pid) || late {
                kill(pid as i32, if late { SIGKILL } else { SIGTERM });
            }
        }
        if started.elapsed() > Duration::from_secs(10) {
            bail!("processes of the master in {} survive SIGKILL: {left:?}", dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(child) = child {
        // Dead or a zombie by now, unless its environment did not show it.
        let deadline = Instant::now() + Duration::from_secs(1);
        while child.try_wait()?.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait()?;
    }
    Ok(signalled.len())
}

/// The live processes of the master in `dir` (absolute, as [`Started::dir`]): those with a
/// `MESOS_*` variable naming `dir`, `work_dir` or a path inside them. That is
/// the master (`MESOS_WORK_DIR`, `MESOS_LAUNCHER_DIR`), the `mesos-containerizer
/// launch` helpers (they inherit the agent's environment), the executors and
/// their tasks (`MESOS_SANDBOX`, `MESOS_DIRECTORY`), whatever session they are
/// in. Not the working directory: a person's shell may stand in a sandbox.
/// This process and its ancestors are never counted; zombies are gone.
pub fn processes_of(dir: &Path) -> Vec<u32> {
    let state = read_state(dir);
    members(dir, state.as_ref().and_then(|s| s["work_dir"].as_str()).map(Path::new))
}

fn members(dir: &Path, work_dir: Option<&Path>) -> Vec<u32> {
    let mut spared = vec![std::process::id()];
    while let Some(parent) = stat(*spared.last().unwrap_or(&1)).map(|s| s.parent).filter(|&p| p > 1) {
        spared.push(parent);
    }
    let inside = |value: &[u8]| {
        let path = Path::new(std::ffi::OsStr::from_bytes(value));
        path.starts_with(dir) || work_dir.is_some_and(|w| path.starts_with(w))
    };
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return pids };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if pid <= 1 || spared.contains(&pid) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let marked = environ.split(|&b| b == 0).any(|var| {
            var.starts_with(b"MESOS_") && var.iter().position(|&b| b == b'=').is_some_and(|eq| inside(&var[eq + 1..]))
        });
        if marked && stat(pid).is_some_and(|s| s.state != 'Z') {
            pids.push(pid);
        }
    }
    pids
}

fn read_state(dir: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(dir.join(STATE_FILE)).ok()?).ok()
}

struct Stat {
    state: char,
    parent: u32,
}

/// A process' state and parent, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    let mut fields = text.get(text.rfind(')')? + 2..)?.split(' ');
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some(Stat { state, parent })
}

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

unsafe extern "C" {
    safe fn setsid() -> i32;
    safe fn kill(pid: i32, signal: i32) -> i32;
}
