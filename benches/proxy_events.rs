//! Events/s through the recording proxy against the same stream served
//! directly, on loopback, with an event source fast enough not to be the
//! limit.
//!
//! `cargo bench --bench proxy_events` writes a session of 100 000 events
//! (`BENCH_EVENTS`; the realistic mix of `mesos-replay`'s serve bench, a
//! real Mesos 1.11.0 master's stream: its SUBSCRIBED, then a HEARTBEAT,
//! OFFERS with two offers and three UPDATEs in turn, 540 bytes a record on
//! average; `support/streams.rs`) and serves it in-process with
//! `mesos-replay serve --pace fast` (one record per chunk, as a master
//! writes them). A client on a thread of its own SUBSCRIBEs on a raw
//! socket and reads the stream to its end, counting the HTTP chunks and
//! the RecordIO records as they come:
//!
//! - **direct**: client ← serve;
//! - **proxied**: client ← `mesos_proxy::Recorder` (recording to a temporary
//!   directory) ← serve;
//! - **TLS**: the same over TLS on both sides: client ←TLS← the proxy
//!   (`--tls-cert`, and `--master https://` with `--master-ca`) ←TLS← serve
//!   (`--tls-cert`), with certificates made by rcgen (TLS 1.3, the rustls
//!   `ring` provider's default suite);
//! - **zstd**: proxied, the session recorded with `--compress zstd` (a
//!   zstd frame per batch written).
//!
//! serve and the proxy run on tokio runtimes of their own (2 workers each;
//! `BENCH_PROXY_WORKERS` sets the proxy's), as separate processes would.
//!
//! Direct, proxied, TLS and zstd runs take turns, 5 of each (`BENCH_RUNS`), after one
//! warm-up run of each; the table gives the median events/s of each, and
//! the ratios to direct. Every run checks that every event arrived (whole RecordIO
//! records in a well-formed chunked body), that serve sent them all, and
//! (proxied) that the session file holds every event and ends complete.
//!
//! The calls/s and the added latency per event are measured by
//! `cargo bench -p mesos-proxy --bench proxy` (its stand-in master's events
//! are the limit there, not the proxy; this bench is the one for events/s).
//!
//! Beside events/s, each run's CPU time per event is given by thread (from
//! `/proc/self/task/*/schedstat`, between the first byte of the body and
//! its end; Linux only): the proxy's workers, its session writer, serve's
//! workers and reader, and the client. Unlike events/s on a shared 2-core
//! machine, where every thread competes for the same two cores, these
//! barely move with the load of the machine, and they show what the proxy
//! costs.
//!
//! `cargo test --benches` runs it once with 2 000 events, as a smoke test;
//! `BENCH_ONLY=direct`, `BENCH_ONLY=proxied`, `BENCH_ONLY=tls` or `BENCH_ONLY=zstd` runs one path alone, for profiling.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mesos_replay::serve::{self, Options, Pace, Script};

#[path = "support/chunked.rs"]
mod chunked;
use chunked::Counter;
#[path = "support/streams.rs"]
mod streams;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Writes a session of `events` events (SUBSCRIBED first) for serve.
fn write_session(path: &Path, events: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(out, r#"{{"kind":"header","format":"mesos-tape-session","version":1,"source":"sim","started_at":"2026-11-24T00:00:00Z","tool":"bench"}}"#).unwrap();
    let subscribe =
        r#"{\"type\":\"SUBSCRIBE\",\"subscribe\":{\"framework_info\":{\"user\":\"u\",\"name\":\"bench\"}}}"#;
    writeln!(out, r#"{{"seq":0,"t_ns":0,"conn":1,"kind":"request","method":"POST","path":"/api/v1/scheduler","headers":[["Content-Type","application/json"]],"body":"{subscribe}","call":"SUBSCRIBE","format":"json"}}"#).unwrap();
    writeln!(out, r#"{{"seq":1,"t_ns":0,"conn":1,"kind":"response","request":0,"status":200,"headers":[["Content-Type","application/json"],["Mesos-Stream-Id","s-1"]],"stream":true,"format":"json"}}"#).unwrap();
    // SUBSCRIBED, then the mix in turn: each line's fields after its seq
    // and t_ns as the recorder wrote them.
    writeln!(out, r#"{{"seq":2,"t_ns":0{}"#, streams::subscribed().fields).unwrap();
    let templates: Vec<String> = streams::named_mix().into_iter().map(|e| e.fields).collect();
    for n in 1..events {
        let fields = &templates[((n - 1) % templates.len() as u64) as usize];
        writeln!(out, "{{\"seq\":{},\"t_ns\":{}{fields}", n + 2, n * 1000).unwrap();
    }
    out.flush().unwrap();
}

/// CPU time so far (ns) of this process's threads alive now, summed by
/// thread name (the client is the main thread: it has the process's name);
/// empty where `/proc` does not tell.
fn cpu_by_thread() -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return by_name };
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        let Some(ns) = schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) else { continue };
        let name = match comm.trim() {
            n if n.starts_with("proxy_events") => "client",
            n if n.starts_with("mesos-replay") => "serve-reader",
            n => n,
        };
        *by_name.entry(name.to_owned()).or_insert(0) += ns;
    }
    by_name
}

/// CPU ns per thread name between two [`cpu_by_thread`]s (threads in both).
fn cpu_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after.iter().map(|(name, &ns)| (name.clone(), ns.saturating_sub(before.get(name).copied().unwrap_or(ns)))).collect()
}

/// What one run measured.
struct Measured {
    events_per_s: f64,
    /// CPU ns per thread name over the run.
    cpu: BTreeMap<String, u64>,
}

/// SUBSCRIBEs on a raw socket (`Connection: close`) and reads the stream to
/// its end; the chunks and records that came, the time from the first byte
/// of the body to the end, and the CPU time by thread over that time.
fn drain(addr: SocketAddr, tls: Option<&Tls>) -> (u64, u64, Duration, BTreeMap<String, u64>) {
    let tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut socket: Box<dyn ReadWrite> = match tls {
        None => Box::new(tcp),
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let conn = rustls::ClientConnection::new(tls.client.clone(), name).unwrap();
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    };
    let body = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"bench"}}}"#;
    write!(
        socket,
        "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut head = Vec::new();
    let mut counter = Counter::new();
    let mut started = None;
    let mut cpu_before = BTreeMap::new();
    loop {
        let n = match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) => panic!("reading the stream: {err}"),
        };
        let mut data = &buf[..n];
        if started.is_none() {
            head.extend_from_slice(data);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            assert!(text.starts_with("http/1.1 200"), "{text}");
            assert!(text.contains("transfer-encoding: chunked"), "{text}");
            cpu_before = cpu_by_thread();
            started = Some(Instant::now());
            let body = head.split_off(end + 4);
            counter.feed(&body);
            data = &[];
        }
        counter.feed(data);
        if counter.ended {
            break;
        }
    }
    assert!(counter.ended, "the stream ended with its last chunk");
    let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
    let cpu = cpu_between(&cpu_before, &cpu_by_thread());
    (counter.chunks, counter.records, elapsed, cpu)
}

/// A plain or TLS connection.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The TLS run's certificates: a CA, and a certificate for `localhost`
/// that serve and the proxy present; the client's configuration.
struct Tls {
    dir: PathBuf,
    client: std::sync::Arc<rustls::ClientConfig>,
}

impl Tls {
    fn new(dir: &Path) -> Tls {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = dir.join("tls");
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        // The provider the proxy and serve use (see their `tls.rs`).
        #[allow(deprecated)]
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Tls { dir, client: std::sync::Arc::new(client) }
    }
}

/// One run: a fresh serve of the session, and a SUBSCRIBE to it directly
/// (`proxy` is `None`) or through the proxy (serve then listens on the
/// proxy's master address, over TLS when the proxy's master is `https://`).
fn run(rt: &tokio::runtime::Runtime, session: &Path, events: u64, proxy: Option<&Proxy>) -> Measured {
    let script = Script::open(session, false).unwrap();
    assert_eq!(script.events(), events);
    let handle = rt.block_on(async {
        let listener = match proxy {
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            // The previous run's serve may not have let go of the port yet.
            Some(proxy) => loop {
                match tokio::net::TcpListener::bind(proxy.master).await {
                    Ok(listener) => break listener,
                    Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(err) => panic!("binding {}: {err}", proxy.master),
                }
            },
        };
        let options = Options { pace: Pace::Fast, linger: Duration::ZERO, ..Options::default() };
        let acceptor = proxy.and_then(|p| p.tls.as_ref()).and_then(|tls| {
            let files = mesos_replay::tls::TlsFiles {
                cert: Some(tls.dir.join("server.pem")),
                key: Some(tls.dir.join("server.key")),
                client_ca: None,
            };
            files.acceptor().unwrap()
        });
        serve::spawn_tls(listener, script, options, acceptor).unwrap()
    });
    let addr = proxy.map_or(handle.local_addr(), |p| p.listen);
    let (chunks, records, elapsed, cpu) = drain(addr, proxy.and_then(|p| p.tls.as_ref()));
    assert_eq!(records, events, "every event arrives");
    // serve means to send one record a chunk, but a few records (about 1 in
    // 1 000) come split over two chunks even directly; the proxy relays
    // each chunk as it came.
    assert!(chunks >= events, "at least one chunk a record");
    let report = rt.block_on(handle.finish());
    assert_eq!(report.events_sent, events, "serve sent every event");
    if let Some(proxy) = proxy {
        proxy.check_and_clear(events);
    }
    Measured { events_per_s: events as f64 / elapsed.as_secs_f64(), cpu }
}

/// The recording proxy, in front of a fixed master address (each run's
/// serve binds it anew).
struct Proxy {
    listen: SocketAddr,
    master: SocketAddr,
    out: PathBuf,
    /// TLS on both sides.
    tls: Option<Tls>,
}

impl Proxy {
    /// Waits for the session file of the last run to end, checks that it
    /// holds every event and is complete, and removes it.
    fn check_and_clear(&self, events: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let files: Vec<PathBuf> = std::fs::read_dir(&self.out).unwrap().map(|e| e.unwrap().path()).collect();
            let mut ended = 0;
            for file in &files {
                let raw = std::fs::read(file).unwrap();
                // `--compress zstd`: the text is in whole frames.
                let text = if file.to_string_lossy().ends_with(".zst") {
                    // Empty while the last frame is still being written.
                    zstd::stream::decode_all(&raw[..]).unwrap_or_default()
                } else {
                    raw
                };
                let last = text[..text.len().saturating_sub(1)].rsplit(|&b| b == b'\n').next().unwrap_or(&[]);
                if contains(last, br#""kind":"end","#) {
                    ended += 1;
                    assert!(contains(last, br#""complete":true"#), "the session is complete");
                    let recorded = text.split(|&b| b == b'\n').filter(|l| contains(l, br#""kind":"event""#)).count();
                    assert_eq!(recorded as u64, events, "every event is recorded");
                }
            }
            if ended == files.len() && !files.is_empty() {
                for file in files {
                    std::fs::remove_file(file).unwrap();
                }
                return;
            }
            assert!(Instant::now() < deadline, "the session file never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // it is a smoke run with few events.
    let bench = std::env::args().any(|a| a == "--bench");
    let events = env("BENCH_EVENTS", if bench { 100_000 } else { 2_000 }) as u64;
    let reps = env("BENCH_RUNS", if bench { 5 } else { 1 }).max(1);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("mesos-tape-proxy-events-{}-{nanos}", std::process::id()));
    let out = dir.join("sessions");
    std::fs::create_dir_all(&out).unwrap();
    let session = dir.join("bench.session.jsonl");
    write_session(&session, events);

    // Separate runtimes, as the master and the proxy are separate processes
    // (and their threads have names of their own in a profile).
    let runtime = |name: &str, n: usize| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(n).thread_name(name).enable_all().build().unwrap()
    };
    let rt = runtime("serve", 2);
    let proxy_rt = runtime("proxy", env("BENCH_PROXY_WORKERS", 2));
    let start_proxy = |out: PathBuf, tls: Option<Tls>, storage: mesos_record::file::Storage| {
        proxy_rt.block_on(async {
            // A free port for the serves behind the proxy.
            let master = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
            std::fs::create_dir_all(&out).unwrap();
            let scheme = if tls.is_some() { "https://localhost" } else { "http://127.0.0.1" };
            let config = mesos_proxy::Config {
                listen: "127.0.0.1:0".parse().unwrap(),
                master: format!("{scheme}:{}", master.port()),
                out: out.clone(),
                keep_secrets: false,
                limits: Default::default(),
            };
            let files = match &tls {
                None => mesos_proxy::TlsFiles::default(),
                Some(tls) => mesos_proxy::TlsFiles {
                    cert: Some(tls.dir.join("server.pem")),
                    key: Some(tls.dir.join("server.key")),
                    master_ca: Some(tls.dir.join("ca.pem")),
                    ..Default::default()
                },
            };
            let recorder = mesos_proxy::Recorder::bind_stored(config, &files, storage).await.unwrap();
            let listen = recorder.local_addr();
            tokio::spawn(recorder.run(std::future::pending()));
            Proxy { listen, master, out, tls }
        })
    };
    let proxy = start_proxy(out, None, Default::default());
    let tls_proxy = start_proxy(dir.join("sessions-tls"), Some(Tls::new(&dir)), Default::default());
    let zstd =
        mesos_record::file::Storage { compress: Some(mesos_record::file::Compression::Zstd), ..Default::default() };
    let zstd_proxy = start_proxy(dir.join("sessions-zstd"), None, zstd);

    // `BENCH_ONLY=direct` or `proxied` runs one path alone (for profiling).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let (do_direct, do_proxied, do_tls, do_zstd) = (
        only.is_empty() || only == "direct",
        only.is_empty() || only == "proxied",
        only.is_empty() || only == "tls",
        only.is_empty() || only == "zstd",
    );
    // Warm up every path (allocator, page cache, code).
    if do_direct {
        run(&rt, &session, events, None);
    }
    if do_proxied {
        run(&rt, &session, events, Some(&proxy));
    }
    if do_tls {
        run(&rt, &session, events, Some(&tls_proxy));
    }
    if do_zstd {
        run(&rt, &session, events, Some(&zstd_proxy));
    }
    let (mut direct, mut proxied, mut tls, mut zstd) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        if do_direct {
            direct.push(run(&rt, &session, events, None));
        }
        if do_proxied {
            proxied.push(run(&rt, &session, events, Some(&proxy)));
        }
        if do_tls {
            tls.push(run(&rt, &session, events, Some(&tls_proxy)));
        }
        if do_zstd {
            zstd.push(run(&rt, &session, events, Some(&zstd_proxy)));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let rates = |v: &[Measured]| v.iter().map(|m| m.events_per_s).collect::<Vec<_>>();
    let all = |v: &[Measured]| v.iter().map(|m| format!("{:.0}", m.events_per_s)).collect::<Vec<_>>().join(" ");
    let (d, p, t, z) = (median(rates(&direct)), median(rates(&proxied)), median(rates(&tls)), median(rates(&zstd)));
    println!();
    println!(
        "events through the recording proxy on loopback: {events} events served by mesos-replay serve --pace fast, \
         median of {reps} runs each"
    );
    println!(
        "{:<10} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "", "direct", "proxied", "TLS", "zstd", "ratio", "TLS ratio", "zstd ratio", "target"
    );
    println!(
        "{:<10} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>10.2} {:>10.2} {:>10.2} {:>10}",
        "events/s",
        d,
        p,
        t,
        z,
        p / d,
        t / d,
        z / d,
        ">= 200000"
    );
    println!("runs, direct:  {}", all(&direct));
    println!("runs, proxied: {}", all(&proxied));
    println!("runs, TLS:     {}", all(&tls));
    println!("runs, zstd:    {}", all(&zstd));
    // CPU µs per event by thread: the median over the runs of each path.
    let names: std::collections::BTreeSet<&String> =
        direct.iter().chain(&proxied).chain(&tls).chain(&zstd).flat_map(|m| m.cpu.keys()).collect();
    if !names.is_empty() {
        let per_event = |v: &[Measured], name: &str| {
            median(v.iter().map(|m| m.cpu.get(name).copied().unwrap_or(0) as f64 / events as f64 / 1e3).collect())
        };
        let total = |v: &[Measured]| {
            median(v.iter().map(|m| m.cpu.values().sum::<u64>() as f64 / events as f64 / 1e3).collect())
        };
        println!();
        println!("CPU µs per event, by thread (median of the runs)");
        println!("{:<16} {:>10} {:>10} {:>10} {:>10}", "thread", "direct", "proxied", "TLS", "zstd");
        for name in names {
            let (d, p, t) = (per_event(&direct, name), per_event(&proxied, name), per_event(&tls, name));
            let z = per_event(&zstd, name);
            println!("{name:<16} {d:>10.2} {p:>10.2} {t:>10.2} {z:>10.2}");
        }
        println!(
            "{:<16} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            "all",
            total(&direct),
            total(&proxied),
            total(&tls),
            total(&zstd)
        );
    }
}
