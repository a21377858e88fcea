//! A real Apache Mesos 1.11.0 master with its two agents, for a test: the
//! one `cargo xtask real-master` installs and starts (see
//! `xtask/src/real_master.rs`). Reach it as
//! `crate::support::real_master`.
//!
//! [`RealMaster::start`] installs it the first time (`cargo xtask
//! real-master install`, under that install's own lock, so test binaries
//! running at once install it once), starts a master on a free port in a
//! fresh directory under `target/real-master-runs/`, and waits until it is
//! ready. Dropping it stops the master and every process it started
//! (executors and tasks included) and waits for them; the directory is
//! removed, or kept and named when the test failed.
//!
//! The start and stop rules are not written here: this module includes
//! xtask's `cluster.rs`, their one home (its doc says why tests include it
//! rather than run the xtask binary).

#![allow(dead_code)] // the tests use part of it

#[path = "../../xtask/src/real_master/cluster.rs"]
pub mod cluster;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running real master (see the module doc).
pub struct RealMaster {
    /// The `mesos-local` process (master and agents).
    pub pid: u32,
    /// Its directory: `mesos.log`, `work/` (the agents' sandboxes), `bin/`.
    pub dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RealMaster {
    /// Installs (once), starts and waits for a master with two agents;
    /// panics with the reason and the log's last errors when it cannot.
    pub fn start() -> RealMaster {
        RealMaster::start_with(&[])
    }

    /// [`start`](Self::start) with master flags as `MESOS_*` variables
    /// (`("MESOS_OFFER_TIMEOUT", "3secs")`).
    pub fn start_with(flags: &[(&str, &str)]) -> RealMaster {
        install();
        static RUN: AtomicU32 = AtomicU32::new(0);
        let run = RUN.fetch_add(1, Ordering::Relaxed);
        let dir = root().join("target/real-master-runs").join(format!("{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut attempts = 0;
        let (started, port) = loop {
            let flags = flags.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
            let options = cluster::Options {
                port: test_support::own_port(),
                dir: dir.clone(),
                executor: executor(),
                agents: None,
                flags,
            };
            match cluster::start(&root(), &options) {
                Ok(started) => break (started, options.port),
                // The port was free a moment ago: someone else took it.
                Err(e) if attempts < 3 && format!("{e:#}").contains("already") => attempts += 1,
                Err(e) => panic!("the real master does not start: {e:#}"),
            }
        };
        RealMaster { pid: started.child.id(), dir: started.dir, port, child: Some(started.child) }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// What the master, its agents and the executors logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mesos.log")).unwrap_or_default()
    }

    /// `GET path`: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        cluster::http_get(self.port, path).unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
    }

    /// The live processes of this master: itself, and every executor, task
    /// and launch helper its agents started.
    pub fn processes(&self) -> Vec<u32> {
        cluster::processes_of(&self.dir)
    }
}

impl Drop for RealMaster {
    fn drop(&mut self) {
        if let Err(e) = cluster::stop(&self.dir, self.child.as_mut()) {
            eprintln!("real master in {}: {e:#}", self.dir.display());
        }
        if std::thread::panicking() {
            eprintln!("real master: kept {} for a look (mesos.log there)", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The checkout (the root package's directory).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo xtask real-master install`, unless the install is complete (once
/// per test binary).
fn install() {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            if cluster::is_installed(&root()) {
                return Ok(());
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let out = Command::new(cargo)
                .args(["run", "--quiet", "--package", "xtask", "--", "real-master", "install"])
                .current_dir(root())
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cargo xtask real-master install failed ({})\n{}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(())
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The command executor: the one this cargo invocation built next to the
/// test binary (`target/debug/mesos-executor`), else the installed one.
fn executor() -> Option<PathBuf> {
    let test_binary = std::env::current_exe().ok()?;
    let built = test_binary.parent()?.parent()?.join("mesos-executor");
    built.exists().then_some(built)
}
