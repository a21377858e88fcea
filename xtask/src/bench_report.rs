//! `cargo xtask bench-report [FILTER]`: the tables for issue notes, from
//! criterion's results in `target/criterion`.
//!
//! Every benchmark group holds our implementation (`mesos-codec`, or any id
//! not starting with `baseline-`) beside its baselines, measured in the same
//! run. For each group this prints the median time per element (per record,
//! event or call) or the throughput in MB/s, and how many times faster ours is
//! than each baseline. The results are read from `target/criterion`, or from
//! `$CARGO_TARGET_DIR/criterion` when that is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

struct Measurement {
    function: String,
    /// Median nanoseconds per iteration.
    median_ns: f64,
    throughput: Option<(String, f64)>,
}

pub fn run(root: &Path, filter: Option<&str>) -> Result<()> {
    // Criterion writes under the cargo target directory, wherever
    // `CARGO_TARGET_DIR` puts it.
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir));
    let dir = target.join("criterion");
    let mut groups: BTreeMap<String, Vec<Measurement>> = BTreeMap::new();
    for bench in find(&dir, "benchmark.json")? {
        let Some(function_dir) = bench.parent().and_then(Path::parent) else { continue };
        let meta: Value = serde_json::from_slice(&crate::read(&bench)?)?;
        let estimates: Value = serde_json::from_slice(&crate::read(&function_dir.join("new/estimates.json"))?)?;
        let group = meta["group_id"].as_str().unwrap_or_default().to_owned();
        if filter.is_some_and(|f| !group.contains(f)) {
            continue;
        }
        let throughput = meta["throughput"]
            .as_object()
            .and_then(|t| t.iter().next())
            .and_then(|(kind, n)| Some((kind.clone(), n.as_f64()?)));
        groups.entry(group).or_default().push(Measurement {
            function: meta["function_id"].as_str().unwrap_or_default().to_owned(),
            median_ns: estimates["median"]["point_estimate"].as_f64().context("median in estimates.json")?,
            throughput,
        });
    }
    if groups.is_empty() {
        anyhow::bail!("no criterion results under {} (run `cargo bench` first)", dir.display());
    }
    println!("| benchmark | implementation | median | per element / throughput | ours is ×faster |");
    println!("|---|---|---|---|---|");
    for (group, mut ms) in groups {
        ms.sort_by_key(|m| (m.function.starts_with("baseline"), m.function.clone()));
        let ours = ms.iter().find(|m| !m.function.starts_with("baseline")).map(|m| m.median_ns);
        for m in &ms {
            let rate = match &m.throughput {
                Some((kind, n)) if kind == "Bytes" => format!("{:.0} MB/s", n / m.median_ns * 1e3),
                Some((_, n)) => format!("{:.1} ns/elem ({:.0}/s)", m.median_ns / n, n / m.median_ns * 1e9),
                None => String::new(),
            };
            let ratio = match ours {
                Some(ours) if m.function.starts_with("baseline") => format!("{:.2}", m.median_ns / ours),
                _ => "—".to_owned(),
            };
            println!("| {group} | {} | {} | {rate} | {ratio} |", m.function, human(m.median_ns));
        }
    }
    Ok(())
}

fn human(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.1} ns"),
    }
}

/// Every `new/<name>` below `dir`.
fn find(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) && path.parent().is_some_and(|p| p.ends_with("new")) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
