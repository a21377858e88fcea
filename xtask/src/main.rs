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
//! - `cargo xtask fuzz [--minutes N | --seconds S] [TARGET...]`: the fuzz
//!   targets of `fuzz/`, built for libFuzzer on the nightly toolchain and run
//!   one after another (see `fuzz.rs`).

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
        Some("bench-report") => bench_report::run(&workspace_root(), args.get(1).map(String::as_str)),
        Some("real-master") => real_master::run(&workspace_root(), &args[1..]),
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
  fuzz [--minutes N | --seconds S] [TARGET...]  build the fuzz targets of fuzz/ (nightly) and run them one after
                        another, the time split between them; fails on any finding
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
