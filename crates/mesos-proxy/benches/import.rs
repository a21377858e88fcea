//! Capture import throughput (MB/s of capture) beside `tshark` on the same
//! file, in the same run.
//!
//! `cargo bench -p mesos-proxy --bench import` builds a capture of
//! `BENCH_COPIES` (default 400) copies of `fixtures/captures/walkthrough.pcap`
//! one after another (each copy's client ports and times moved, so every
//! copy is its own connections and its own session: about 5 MB, 2800
//! connections, 400 sessions), then measures:
//!
//! - `mesos-proxy import`: [`mesos_proxy::import::import`] of the file into
//!   a fresh directory (writing every session file);
//! - `baseline-tshark`: `tshark -r CAPTURE -d tcp.port==5050,http -Y http
//!   -T fields -e http.request.method` (`-d` makes tshark dissect port 5050
//!   as HTTP, as it would port 80; without it tshark finds no HTTP at all).
//!
//! Both read the same file, warm in the page cache; the capture and the
//! session files are in `/dev/shm` where it exists (the import is measured,
//! not the disk: tshark writes only its lines, to a pipe). `cargo xtask
//! bench-report import` prints the table with the ratio. tshark comes from
//! Debian (`apt-get install tshark`); when it is missing the baseline is
//! skipped and the bench says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/captures/walkthrough.pcap")
}

/// `copies` copies of the walkthrough capture, as one pcap.
fn capture(copies: usize) -> Vec<u8> {
    let bytes = std::fs::read(fixture()).expect("fixtures/captures/walkthrough.pcap");
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        records.push((at, len));
        at += 16 + len;
    }
    // The walkthrough's client ports, numbered.
    let mut clients: Vec<u16> = Vec::new();
    for &(at, _) in &records {
        let frame = &bytes[at + 16..];
        let tcp = 14 + usize::from(frame[14] & 0x0f) * 4;
        for port in
            [u16::from_be_bytes([frame[tcp], frame[tcp + 1]]), u16::from_be_bytes([frame[tcp + 2], frame[tcp + 3]])]
        {
            if port != 5050 && !clients.contains(&port) {
                clients.push(port);
            }
        }
    }
    let mut out = bytes[..24].to_vec();
    for copy in 0..copies {
        for &(at, len) in &records {
            let mut record = bytes[at..at + 16 + len].to_vec();
            let seconds = u32::from_le_bytes(record[0..4].try_into().unwrap()) + copy as u32;
            record[0..4].copy_from_slice(&seconds.to_le_bytes());
            let frame = &mut record[16..];
            let tcp = 14 + usize::from(frame[14] & 0x0f) * 4;
            for offset in [tcp, tcp + 2] {
                let port = u16::from_be_bytes([frame[offset], frame[offset + 1]]);
                if let Some(i) = clients.iter().position(|&c| c == port) {
                    let new = 10_000 + ((copy * clients.len() + i) % 50_000) as u16;
                    frame[offset..offset + 2].copy_from_slice(&new.to_be_bytes());
                }
            }
            out.extend(record);
        }
    }
    out
}

/// A directory removed when dropped (outside the measured time).
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tshark(path: &Path) -> Option<usize> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-d", "tcp.port==5050,http", "-Y", "http", "-T", "fields", "-e", "http.request.method"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count())
}

fn bench(c: &mut Criterion) {
    let copies: usize = std::env::var("BENCH_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    // In memory (tmpfs) where there is one: the measure is of the import,
    // not of the disk (tshark writes nothing but its lines to a pipe).
    let tmp = Path::new("/dev/shm");
    let tmp = if tmp.is_dir() { tmp.to_owned() } else { std::env::temp_dir() };
    let base = tmp.join(format!("mesos-proxy-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    let _cleanup = Dir(base.clone());
    let path = base.join("capture.pcap");
    let bytes = capture(copies);
    std::fs::write(&path, &bytes).unwrap();
    let size = bytes.len() as u64;

    // Both read the whole capture: check it once.
    let options = mesos_proxy::import::Options::new(base.join("check"));
    let report = mesos_proxy::import::import(&path, &options, &mut |_| ()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.sessions, copies);
    let _ = std::fs::remove_dir_all(base.join("check"));
    let tshark_calls = tshark(&path);
    match tshark_calls {
        Some(calls) => {
            assert_eq!(calls, 7 * copies, "tshark saw every call");
            eprintln!("capture: {:.1} MB, {copies} sessions; tshark found {calls} requests", size as f64 / 1e6);
        }
        None => eprintln!(
            "\n*** tshark is not installed (Debian: apt-get install tshark): the baseline-tshark measurement is skipped ***\n"
        ),
    }

    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Bytes(size));
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(10));
    let mut n = 0;
    group.bench_function("mesos-proxy import", |b| {
        b.iter_batched(
            || {
                n += 1;
                Dir(base.join(format!("out-{n}")))
            },
            |dir| {
                let options = mesos_proxy::import::Options::new(dir.0.clone());
                let report = mesos_proxy::import::import(&path, &options, &mut |_| ()).unwrap();
                assert_eq!(report.sessions, copies);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    if tshark_calls.is_some() {
        group.bench_function("baseline-tshark", |b| b.iter(|| tshark(&path)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
