//! `cargo xtask fuzz [--minutes N | --seconds S | --build-only] [TARGET...]`:
//! builds the fuzz targets of `fuzz/` with libFuzzer's instrumentation on
//! the nightly toolchain (the flags cargo-fuzz passes; cargo-fuzz itself is
//! not needed) and runs them one after another, the time split evenly
//! between them, from the checked-in seeds (`fuzz/seeds/TARGET`) and the
//! corpus kept between runs (`fuzz/corpus/TARGET`, not checked in, given
//! first: libFuzzer writes new inputs there). Prints each target's
//! executions, executions per second and coverage; fails, naming
//! the input that crashed (`fuzz/artifacts/TARGET/`), on any finding.
//! `--build-only` builds them and runs nothing: `.ci/run` builds them in
//! the background, niced, while it builds and runs everything else (the
//! tests mostly wait on real masters), then runs them, already built.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Every target, in the order they run.
pub const TARGETS: &[&str] = &[
    "recordio",
    "json_to_protobuf",
    "protobuf_to_json",
    "views",
    "peeks",
    "session_reader",
    "replay_script",
    "capture_import",
    "http_framing",
];

const TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// What cargo-fuzz passes to rustc: SanitizerCoverage for libFuzzer,
/// AddressSanitizer, debug assertions and overflow checks.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Zsanitizer=address -Cdebug-assertions -Coverflow-checks";

/// One target's run.
struct Run {
    target: &'static str,
    executions: u64,
    per_second: u64,
    coverage: u64,
    features: u64,
    corpus: u64,
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 600u64;
    let mut targets: Vec<&'static str> = Vec::new();
    let mut build_only = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--minutes" => {
                seconds = 60 * args.get(i + 1).context("--minutes N")?.parse::<u64>().context("--minutes N")?;
                i += 1;
            }
            "--seconds" => {
                seconds = args.get(i + 1).context("--seconds S")?.parse().context("--seconds S")?;
                i += 1;
            }
            "--build-only" => build_only = true,
            name => match TARGETS.iter().find(|t| **t == name) {
                Some(t) => targets.push(t),
                None => bail!("unknown fuzz target `{name}` (targets: {})", TARGETS.join(", ")),
            },
        }
        i += 1;
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let each = (seconds / targets.len() as u64).max(1);
    let fuzz = root.join("fuzz");
    build(&fuzz)?;
    if build_only {
        return Ok(());
    }
    let mut runs = Vec::new();
    for target in targets {
        runs.push(run_one(&fuzz, target, each)?);
    }
    println!("\n| target | executions | executions/s | coverage (edges) | features | corpus |");
    println!("|---|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.target, r.executions, r.per_second, r.coverage, r.features, r.corpus
        );
    }
    println!("\n{} targets, {each} s each: no finding.", runs.len());
    Ok(())
}

fn build(fuzz: &Path) -> Result<()> {
    let started = Instant::now();
    eprintln!("fuzz: building the targets (nightly, libFuzzer instrumentation, AddressSanitizer)");
    let status = Command::new("cargo")
        .args(["+nightly", "build", "--release", "--manifest-path"])
        .arg(fuzz.join("Cargo.toml"))
        .args(["--target", TRIPLE, "--bins"])
        .env("RUSTFLAGS", RUSTFLAGS)
        .env("CARGO_TARGET_DIR", fuzz.join("target"))
        .status()
        .context("cargo +nightly (the fuzz targets need the nightly toolchain: rustup toolchain install nightly)")?;
    if !status.success() {
        bail!("building the fuzz targets failed");
    }
    eprintln!("fuzz: built in {:.0?}", started.elapsed());
    Ok(())
}

fn run_one(fuzz: &Path, target: &'static str, seconds: u64) -> Result<Run> {
    let binary = fuzz.join("target").join(TRIPLE).join("release").join(target);
    let corpus = fuzz.join("corpus").join(target);
    let seeds = fuzz.join("seeds").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    eprintln!("fuzz: {target} for {seconds} s");
    let mut command = Command::new(&binary);
    command.arg(&corpus);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    let output = command
        .arg(format!("-max_total_time={seconds}"))
        .arg("-print_final_stats=1")
        .arg("-max_len=65536")
        .arg("-rss_limit_mb=2048")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        let found = newest(&artifacts).map(|p| p.display().to_string()).unwrap_or_else(|| "(no artifact)".into());
        bail!("fuzz target {target} found a failure: {found}\n{}", tail.join("\n"));
    }
    Ok(Run {
        target,
        executions: stat(&log, "stat::number_of_executed_units:"),
        per_second: stat(&log, "stat::average_exec_per_sec:"),
        coverage: last_count(&log, " cov: "),
        features: last_count(&log, " ft: "),
        corpus: last_count(&log, " corp: "),
    })
}

/// A `stat::name: value` line of libFuzzer's final stats.
fn stat(log: &str, name: &str) -> u64 {
    log.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// The number after `key` on the last status line that has it (`cov: 1234`).
fn last_count(log: &str, key: &str) -> u64 {
    log.lines()
        .rev()
        .find_map(|l| l.split_once(key).map(|(_, rest)| rest))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn newest(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}
