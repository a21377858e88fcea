//! `cargo xtask`: developer chores for mesos-tape (an alias in
//! `.cargo/config.toml`). No Makefile, no loose shell scripts.
//!
//! - `cargo xtask fixtures`: refresh `fixtures/seed/` from the seed walkthrough
//!   in `../shared/seed/walkthrough` (when it is there) and rebuild the RecordIO
//!   streams made from it.
//! - `cargo xtask captures CAPTURE [--port P]`: rebuild `fixtures/captures/`
//!   from a real capture of the walkthrough (reordered, retransmitted, a gap,
//!   chunks split inside records, pcapng with two interfaces, truncated).
//! - `cargo xtask bench-report [FILTER]`: criterion's results as markdown
//!   tables, ours beside the baselines with the ratios.
//! - `cargo xtask real-master install | start | stop`: a real Apache Mesos
//!   1.11.0 master with its agents, from the release's own binary code on
//!   PyPI, installed under `target/real-mesos/` (see `real_master.rs`).
//! - `cargo xtask soak [--frameworks N] [--minutes M]`: the soak of
//!   `tests/soak.rs` at the size asked for, in release mode.
//! - `cargo xtask fuzz [--minutes N | --seconds S | --build-only] [TARGET...]`: the fuzz
//!   targets of `fuzz/`, built for libFuzzer on the nightly toolchain and run
//!   one after another (see `fuzz.rs`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

mod bench_report;
mod captures;
mod fixtures;
mod fuzz;
mod real_master;
mod schema;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("fixtures") => fixtures::run(&workspace_root()),
        Some("captures") => captures::run(&workspace_root(), &args[1..]),
        Some("schema") => schema::run(&workspace_root()),
        Some("fuzz") => fuzz::run(&workspace_root(), &args[1..]),
        Some("soak") => soak(&workspace_root(), &args[1..]),
        Some("bench-report") => bench_report::run(&workspace_root(), args.get(1).map(String::as_str)),
        Some("real-master") => real_master::run(&workspace_root(), &args[1..]),
        Some("help" | "--help" | "-h") => {
            // Not `println!`: `| head` closing the pipe is no error.
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
        None => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  fixtures              refresh fixtures/seed from ../shared/seed/walkthrough and rebuild its RecordIO streams
  captures CAPTURE [--port P]  rebuild fixtures/captures from a tcpdump capture of the walkthrough (see fixtures/README.md)
  bench-report [FILTER] print criterion's results as tables with the ratios to the baselines
  schema [--check]      regenerate crates/mesos-codec/proto from the Mesos v1 wire facts (--check: fail on drift)
  soak [--frameworks N] [--minutes M]  N frameworks (100) through the proxy in front of the sim for M minutes (10),
                        every call and event checked against the session files, memory and fds sampled
  fuzz [--minutes N | --seconds S | --build-only] [TARGET...]  build the fuzz targets of fuzz/ (nightly) and run
                        them one after another, the time split between them; fails on any finding
  real-master install [--tarball FILE]
                        install a real Mesos 1.11.0 master (official binary code from PyPI) into target/real-mesos
  real-master start --port P --dir D [--executor PATH] [--agents N]
                        start it with its agents on 127.0.0.1:P in the background, ready; print its pid
  real-master stop --dir D
                        stop the master of D and every process it started";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `cargo xtask soak`: `tests/soak.rs`'s soak, built in release mode, with
/// `--frameworks N` (100) for `--minutes M` (10).
fn soak(root: &Path, args: &[String]) -> Result<()> {
    let (mut frameworks, mut minutes) = (100u64, 10u64);
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match args[i].as_str() {
            "--frameworks" => frameworks = value().context("--frameworks N")?,
            "--minutes" => minutes = value().context("--minutes M")?,
            other => bail!("unknown argument `{other}` (soak [--frameworks N] [--minutes M])"),
        }
        i += 2;
    }
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args([
            "test",
            "--release",
            "-p",
            "mesos-tape",
            "--test",
            "tests",
            "--",
            "--nocapture",
            "--exact",
            "soak::soak_in_brief",
        ])
        .env("SOAK_FRAMEWORKS", frameworks.to_string())
        .env("SOAK_SECONDS", (minutes * 60).to_string())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("the soak failed");
    }
    Ok(())
}
