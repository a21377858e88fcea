//! The recording proxy against nginx, in the same run, on the same event
//! stream: what a user who only wanted the bytes forwarded would put there
//! instead.
//!
//! ```sh
//! apt-get install nginx-light            # Debian's nginx (`.ci/run` installs it too)
//! cargo bench --bench proxy_vs_nginx     # about two minutes
//! ```
//!
//! nginx is looked for in `/usr/sbin`, `/usr/bin` and `/usr/local/sbin`
//! (`BENCH_NGINX` names another binary); without it the bench stops and
//! says so. `cargo test --benches` runs it once with few events as a smoke
//! test, and skips nginx (loudly) where it is not installed.
//!
//! The paths, on loopback, for one SUBSCRIBE stream each run:
//!
//! - **direct**: client ← source;
//! - **nginx**: client ← nginx ← source: nginx 1.22 as a plain forwarding
//!   proxy (`proxy_pass`, `proxy_http_version 1.1`, `proxy_buffering off`,
//!   `proxy_request_buffering off`; its defaults otherwise), one worker
//!   process, started on a temporary configuration and a free port;
//! - **nginx-64k**: the same with `proxy_buffer_size 64k` (and `proxy_buffers
//!   4 64k`, `proxy_busy_buffers_size 128k`, which it requires; the default is
//!   one page, 4 KiB, so nginx reads a 4 KiB record in two reads);
//! - **hyper**: client ← a bare hyper relay ← source: forwarding with the
//!   recorder's HTTP library the plain way, nothing recorded (this binary
//!   as `--role relay`: hyper 1 server and client connections, as in the
//!   proxy, the master's body handed over as it comes, a frame for each
//!   chunk; no tap, no session, no batching);
//! - **raw**: client ← a raw byte relay feeding the recording core ←
//!   source: what recording costs without an HTTP library (this binary as
//!   `--role raw`; a bound of the design, not a product: see `raw_role`);
//! - **record**: client ← `mesos-proxy record` ← source: the recorder in a
//!   process of its own (this bench binary started again as
//!   `--role proxy`, which does what `mesos-proxy record`'s `main` does:
//!   its allocator (mimalloc), a default multi-threaded tokio runtime,
//!   `Recorder::bind`, `run`; only its log lines are not written;
//!   `BENCH_PROXY_WORKERS` sets its number of workers), recording to a
//!   temporary directory.
//!   After every run the session file is read: it must hold every event,
//!   and end complete.
//!
//! The source is a raw HTTP/1.1 server on a thread of the bench: it answers
//! the SUBSCRIBE with a chunked stream, one RecordIO record per chunk as a
//! master writes them, SUBSCRIBED first. The whole body is made before the
//! run and written with large writes, so the source costs next to nothing
//! and is never the limit (`benches/proxy_events.rs` has the same paths fed
//! by `mesos-replay serve --pace fast`). The client, on the main thread,
//! reads the stream to its end on a raw socket and counts its chunks and
//! records (every event must arrive, whole).
//!
//! Four streams of records (`BENCH_EVENTS` sets the number of events of
//! each):
//!
//! - **mix**: the realistic mix, a real Mesos 1.11.0 master's records
//!   (`support/streams.rs`: the stream of `fixtures/sessions/real-master/`,
//!   a HEARTBEAT, OFFERS with two offers, three UPDATEs, in turn; 540 B a
//!   record on average), 100 000 events;
//! - **made mix**: the hand-made mix the bench ran before the real
//!   master's (the same kinds, smaller: 347 B on average), kept for
//!   comparisons with `docs/performance.md`'s runs up to the Nineteenth,
//!   100 000 events;
//! - **200 B**: UPDATE records of exactly 200 bytes, 100 000 events;
//! - **4 KiB**: UPDATE records of exactly 4 096 bytes, 25 000 events.
//!
//! For each: one warm-up run per path, then 5 runs of each path taking
//! turns (`BENCH_RUNS`); events/s is counted from the client's connect to
//! the last chunk (a short stream held whole in the sockets' buffers would
//! make a count from the first byte of the body meaningless), and the
//! table gives the medians. CPU µs per event is given by process (the
//! forwarder's: nginx's master and worker; the recorder's process, session
//! writer included, up to the moment its session file is complete; and
//! the bench's own, client and source, up to the last chunk: not its
//! reading of the session file back), from utime + stime of
//! `/proc/PID/stat` before and after the run (10 ms ticks, but they keep
//! the time of the recorder's session writer, a thread that ends with its
//! session); the recorder's is also given by thread (`schedstat`, ns; the
//! writer's is the rest of the total).
//!
//! Then the latency: the source writes 2 000 events of the same stream one
//! chunk at a time, every 250 µs (`BENCH_LATENCY_EVENTS`,
//! `BENCH_LATENCY_GAP_US`), noting when it wrote each; the client notes
//! when each record is whole. Fifteen such paced runs of each path, taking
//! turns (`BENCH_LATENCY_RUNS`), every event of a path's runs in one pool:
//! the table gives the pools' p50 and p99 of that one-way latency by path,
//! and the p99 each forwarder adds to direct's; each run's own p99 is
//! printed above it. `BENCH_RUNS=0` skips the runs at full speed (but for
//! each path's warm-up run).
//!
//! Why pooled, and short runs: on a VM the whole machine stalls now and
//! then, holding every path's events for milliseconds (a stall's events
//! arrive together, each 250 µs less late than the one before), and a run
//! with one stall in it has that stall as its p99. Nine runs of 10 000
//! events each, the median of their p99s, gave the recorder 1.6 ms in one
//! bench and 0.2 ms in others, and the recorder against itself (the same
//! binary as `BENCH_RECORDER_BEFORE`) 194 µs apart in the first. Many short
//! runs taking turns put every path through the same spells of a noisy
//! machine, and a pool's p99 moves only when 1 % of a path's events are
//! late, not with one stall: the recorder against itself, 4 KiB, six
//! benches on a 2-core VM, then differed by 1 to 108 µs at p99 and by 0 to
//! 1 µs at p50. (Tried and not kept: every path in one run, the source
//! writing each record to all of them in turn within the 250 µs. The
//! recorder against itself came within 10–31 µs at p99, but the paths
//! delayed one another: direct's p50 rose from 6 to 26–31 µs.)
//!
//! The last table holds the two forwarders side by side, as ratios to
//! nginx. `BENCH_RECORDER_BEFORE=/path/to/an/older/proxy_vs_nginx-binary`
//! adds that build's recorder as a fourth path, "before", so that a change
//! to the proxy is measured before and after in the same run. For
//! profiling, `BENCH_ONLY=record` (or `nginx`, `direct`;
//! comma-separated) runs only those paths, and `BENCH_STREAMS=mix` (or
//! `made mix`, `200 B`, `4 KiB`) only those streams. On a shared machine events/s
//! moves with the load; the CPU per event much less.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The allocator of `mesos-proxy`'s binary (its `main` says why), for
/// `--role proxy` to be that binary; the other roles and the bench's own
/// client and source use it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/chunked.rs"]
mod chunked;
use chunked::Counter;
#[path = "support/streams.rs"]
mod streams;
use streams::{made_mix, mix, update_of};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A stream's chunked body, made before the runs.
struct Stream {
    name: &'static str,
    events: u64,
    /// Every chunk (one RecordIO record each), then the last chunk.
    body: Vec<u8>,
    /// Where each record's chunk ends in `body`.
    ends: Vec<usize>,
    /// Mean record size.
    mean: usize,
}

impl Stream {
    fn new(name: &'static str, records: &[String], events: u64) -> Stream {
        let mut body = Vec::new();
        let mut ends = Vec::with_capacity(events as usize);
        let mut total = 0;
        let subscribed = streams::subscribed().record;
        for n in 0..events {
            let record =
                if n == 0 { subscribed.as_str() } else { records[((n - 1) % records.len() as u64) as usize].as_str() };
            let size = record.len().to_string();
            write!(body, "{:x}\r\n{size}\n{record}\r\n", size.len() + 1 + record.len()).unwrap();
            ends.push(body.len());
            total += record.len();
        }
        body.extend_from_slice(b"0\r\n\r\n");
        Stream { name, events, body, ends, mean: total / events as usize }
    }
}

/// How the source writes a stream.
#[derive(Clone, Copy)]
enum Pace {
    /// The whole body in large writes.
    Fast,
    /// One chunk at a time, this far apart, noting when each was written.
    Paced(Duration),
}

/// What the source serves to the next SUBSCRIBE, and when it wrote each
/// record (paced).
struct Job {
    stream: Arc<Stream>,
    pace: Pace,
    sent: Arc<Mutex<Vec<Instant>>>,
}

/// The source: a raw HTTP/1.1 server on a thread, one connection at a time.
struct Source {
    addr: SocketAddr,
    job: Arc<Mutex<Option<Job>>>,
}

impl Source {
    fn start() -> Source {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let job: Arc<Mutex<Option<Job>>> = Arc::new(Mutex::new(None));
        let jobs = job.clone();
        std::thread::Builder::new()
            .name("source".to_owned())
            .spawn(move || {
                for conn in listener.incoming() {
                    let Ok(mut conn) = conn else { continue };
                    conn.set_nodelay(true).unwrap();
                    if read_request(&mut conn).is_none() {
                        continue;
                    }
                    let Some(job) = jobs.lock().unwrap().take() else {
                        let _ = conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
                        continue;
                    };
                    serve(&mut conn, &job);
                }
            })
            .unwrap();
        Source { addr, job }
    }

    /// Serves `stream` to the next SUBSCRIBE; the times each record was
    /// written go to the vector returned (paced).
    fn expect(&self, stream: &Arc<Stream>, pace: Pace) -> Arc<Mutex<Vec<Instant>>> {
        let sent = Arc::new(Mutex::new(Vec::new()));
        *self.job.lock().unwrap() = Some(Job { stream: stream.clone(), pace, sent: sent.clone() });
        sent
    }
}

/// A request read whole from `conn`, its head and its `Content-Length`
/// body, as it was sent; `None` when the connection ends first.
fn read_request(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return None;
        }
        message.extend_from_slice(&buf[..n]);
        if let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&message[..end]).to_ascii_lowercase();
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while message.len() < end + 4 + length {
                let n = conn.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    return None;
                }
                message.extend_from_slice(&buf[..n]);
            }
            return Some(message);
        }
    }
}

fn serve(conn: &mut TcpStream, job: &Job) {
    let head = "HTTP/1.1 200 OK\r\nDate: Sat, 05 Dec 2026 00:00:00 GMT\r\nContent-Type: application/json\r\n\
                Mesos-Stream-Id: 0d7f2a8e-bench-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    if conn.write_all(head.as_bytes()).is_err() {
        return;
    }
    let body = &job.stream.body;
    match job.pace {
        Pace::Fast => {
            for piece in body.chunks(256 * 1024) {
                if conn.write_all(piece).is_err() {
                    return;
                }
            }
        }
        Pace::Paced(gap) => {
            let mut sent = Vec::with_capacity(job.stream.ends.len());
            let start = Instant::now();
            let mut from = 0;
            for (i, &end) in job.stream.ends.iter().enumerate() {
                let due = start + gap * i as u32;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                sent.push(Instant::now());
                if conn.write_all(&body[from..end]).is_err() {
                    return;
                }
                from = end;
            }
            let _ = conn.write_all(&body[from..]);
            *job.sent.lock().unwrap() = sent;
        }
    }
    let _ = conn.flush();
}

/// What a client saw of one stream.
struct Drained {
    records: u64,
    chunks: u64,
    /// From the connection to the last chunk.
    elapsed: Duration,
    /// When each record was whole.
    arrived: Vec<Instant>,
}

/// SUBSCRIBEs on a raw socket (`Connection: close`) and reads the stream to
/// its end.
fn drain(addr: SocketAddr, stamp: bool) -> Drained {
    let connected = Instant::now();
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_nodelay(true).unwrap();
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
    let mut started = false;
    let mut arrived = Vec::new();
    loop {
        let n = match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) => panic!("reading the stream: {err}"),
        };
        if !started {
            head.extend_from_slice(&buf[..n]);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            assert!(text.starts_with("http/1.1 200"), "{text}");
            assert!(text.contains("transfer-encoding: chunked"), "{text}");
            started = true;
            counter.feed(&head[end + 4..]);
        } else {
            counter.feed(&buf[..n]);
        }
        if stamp {
            let now = Instant::now();
            arrived.resize(counter.records as usize, now);
        }
        if counter.ended {
            break;
        }
    }
    assert!(counter.ended, "the stream ended with its last chunk");
    let elapsed = connected.elapsed();
    Drained { records: counter.records, chunks: counter.chunks, elapsed, arrived }
}

/// CPU time so far (ns) of these processes: utime + stime of
/// `/proc/PID/stat`, which keep the time of threads that have ended (the
/// recorder's session writer ends with its session), in clock ticks
/// (10 ms).
fn cpu_ns(pids: &[u32]) -> u64 {
    let mut ns = 0;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The fields after the command's closing parenthesis: state is 3,
        // utime 14, stime 15.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let fields: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
        ns += fields.iter().sum::<u64>() * 10_000_000;
    }
    ns
}

/// CPU time so far (ns) of the threads of a process, by thread name.
fn cpu_by_thread(pid: u32) -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return by_name };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let schedstat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let Some(ns) = schedstat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) else { continue };
        *by_name.entry(comm.trim().to_owned()).or_insert(0) += ns;
    }
    by_name
}

/// A process and its children (nginx's master and worker).
fn with_children(pid: u32) -> Vec<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    std::iter::once(pid).chain(children.split_whitespace().filter_map(|c| c.parse().ok())).collect()
}

/// Stops a child with SIGTERM (nginx's fast shutdown, the recorder's
/// graceful one), then kills it if it lingers.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// nginx as a plain forwarding proxy in front of `upstream`.
struct Nginx {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Nginx {
    fn binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("BENCH_NGINX") {
            return Some(PathBuf::from(path));
        }
        ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"].iter().map(PathBuf::from).find(|p| p.exists())
    }

    /// nginx in `dir/name`, with `extra` directives in its `location`.
    fn start(binary: &Path, dir: &Path, name: &str, upstream: SocketAddr, extra: &str) -> Nginx {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
worker_processes 1;
pid {d}/nginx.pid;
{user}
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 1h;
            {extra}
        }}
    }}
}}
"#,
            user = if root { "user root;" } else { "" },
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let nginx = Nginx { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "nginx does not listen: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn pids(&self) -> Vec<u32> {
        with_children(self.child.id())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// The recorder in a process of its own (this binary as `--role proxy`).
struct Recorder {
    child: Child,
    addr: SocketAddr,
    out: PathBuf,
}

impl Recorder {
    /// `exe` as `--role proxy`, recording into `dir/name`.
    fn start(exe: &Path, dir: &Path, name: &str, master: SocketAddr) -> Recorder {
        Recorder::start_role(exe, "proxy", dir, name, master)
    }

    /// `exe` as `--role ROLE MASTER OUT` (`proxy`, `relay` or `raw`).
    fn start_role(exe: &Path, role: &str, dir: &Path, name: &str, master: SocketAddr) -> Recorder {
        let out = dir.join(name);
        std::fs::create_dir_all(&out).unwrap();
        let mut child = Command::new(exe)
            .args(["--role", role, &master.to_string()])
            .arg(&out)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the recorder starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the recorder said {line:?}"));
        Recorder { addr: addr.parse().unwrap(), child, out }
    }

    /// Waits for the session file of the last run to end, checks that it
    /// holds every event and is complete, and removes it.
    fn check_and_clear(&self, events: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let files: Vec<PathBuf> = std::fs::read_dir(&self.out).unwrap().map(|e| e.unwrap().path()).collect();
            let mut ended = 0;
            for file in &files {
                let text = std::fs::read(file).unwrap();
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
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// `--role proxy MASTER OUT`: what `mesos-proxy record --listen
/// 127.0.0.1:0 --master http://MASTER --out OUT` does.
fn proxy_role(master: &str, out: &str) {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = std::env::var("BENCH_PROXY_WORKERS").ok().and_then(|w| w.parse().ok()) {
        builder.worker_threads(workers);
    }
    let runtime = builder.enable_all().build().unwrap();
    runtime.block_on(async {
        let config = mesos_proxy::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            master: format!("http://{master}"),
            out: out.into(),
            keep_secrets: false,
            limits: Default::default(),
        };
        let recorder = mesos_proxy::Recorder::bind(config).await.unwrap();
        println!("listening on {}", recorder.local_addr());
        recorder.run(mesos_proxy::shutdown_signal()).await.unwrap();
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
}

/// `--role relay MASTER`: forwarding with the recorder's HTTP library the
/// plain way, nothing recorded. hyper 1 on both sides, as in `mesos-proxy`: a
/// server connection (flattened writes, as the proxy's) whose every request
/// goes to the master on a client connection of its own, and the master's
/// body handed to the framework side as it is, a frame (a chunk) for each
/// chunk. No tap, no session, no batching, no capture of the raw heads.
fn relay_role(master: &str) {
    use http_body_util::BodyExt;
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    let master: SocketAddr = master.parse().unwrap();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = std::env::var("BENCH_PROXY_WORKERS").ok().and_then(|w| w.parse().ok()) {
        builder.worker_threads(workers);
    }
    let runtime = builder.enable_all().build().unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await?.to_bytes();
                    let upstream = tokio::net::TcpStream::connect(master).await.unwrap();
                    upstream.set_nodelay(true).unwrap();
                    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
                    tokio::spawn(conn);
                    let request = hyper::Request::from_parts(parts, http_body_util::Full::new(body));
                    sender.send_request(request).await
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .writev(false)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// `--role raw MASTER OUT`: a measurement of a design, not a product: how
/// far the recording itself allows, forwarding as nginx does (each read
/// written on as it came). A raw
/// byte relay (blocking sockets, a thread a connection, no HTTP library):
/// the framework's request and the master's head are passed on as they
/// are; then every read of the master's body (up to 256 KiB) is followed
/// through its chunk framing, each chunk's bytes go to the recording core
/// as the proxy's do ([`mesos_record::EventTap`], a [`mesos_record::Book`]
/// numbering and redacting, the lines gathered in a
/// [`mesos_codec::session::Lines`], their records escaped by the session
/// writer's thread into a [`mesos_record::file::SessionFile`]), and the
/// read is written to
/// the framework as it came, once its events are recorded. Every event is
/// in the session file, which ends complete, as the recorder's.
fn raw_role(master: &str, out: &str) {
    use mesos_codec::api::{Api, Encoding};
    use mesos_codec::session::{Header, Lines, Party, Source};
    use mesos_record::file::{SessionFile, Storage};
    use mesos_record::{Book, EventTap, Tapped};
    let master: SocketAddr = master.parse().unwrap();
    let out = PathBuf::from(out);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    println!("listening on {}", listener.local_addr().unwrap());
    for (n, conn) in listener.incoming().enumerate() {
        let Ok(mut framework) = conn else { continue };
        let out = out.clone();
        std::thread::spawn(move || {
            framework.set_nodelay(true).unwrap();
            let started = Instant::now();
            let t_ns = || started.elapsed().as_nanos() as u64;
            // The request, head and body, passed on as it is.
            let request = read_request(&mut framework).expect("the framework's request");
            let mut upstream = TcpStream::connect(master).unwrap();
            upstream.set_nodelay(true).unwrap();
            upstream.write_all(&request).unwrap();
            let mut buf = vec![0u8; 256 * 1024];
            let mut head = Vec::new();
            let body_start = loop {
                let n = upstream.read(&mut buf).unwrap();
                assert!(n > 0, "the master closed before its head");
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
            };
            // The session: its writer on a thread of its own.
            let stamp = format!("raw-{n}");
            let header = Header::new(Source::Proxy, "2026-01-01T00:00:00Z").to_line();
            let mut file = SessionFile::new(out, stamp, header, format!("#{n}"), Storage::default());
            file.open("raw");
            let (lines_tx, lines_rx) = std::sync::mpsc::sync_channel::<Lines>(16);
            let (end_tx, end_rx) = std::sync::mpsc::channel::<(u64, u64)>();
            let writer = std::thread::spawn(move || {
                for lines in lines_rx {
                    file.write_lines(&lines);
                    file.flush();
                }
                let (seq, t_ns) = end_rx.recv().unwrap();
                file.finish(seq, t_ns, true);
            });
            let mut book = Book::new(Source::Proxy, false);
            let stream = 0;
            let message = Some(Api::Scheduler.event_type());
            let mut tap = EventTap::new(stream, Api::Scheduler, Some(Encoding::Json), false);
            let mut tapped = Vec::new();
            let mut chunks = Counter::new();
            let mut lines = Lines::default();
            let mut first = Some(head);
            loop {
                let (data, from) = match first.take() {
                    Some(head) => (head, body_start),
                    None => {
                        let n = upstream.read(&mut buf).unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        (buf[..n].to_vec(), 0)
                    }
                };
                chunks.feed_with(&data[from..], |piece| tap.chunk(piece, &mut tapped));
                let now = t_ns();
                for t in &mut tapped {
                    if let Tapped::Event(event) = t {
                        let numbered = book.record_event(1, now, event, message).unwrap();
                        lines.push_event(numbered.seq, numbered.t_ns, numbered.conn, event);
                        if let Some(note) = numbered.note {
                            lines.push(&note);
                        }
                    }
                }
                tapped.clear();
                if !lines.is_empty() {
                    lines_tx.send(std::mem::take(&mut lines)).unwrap();
                }
                framework.write_all(&data).unwrap();
                if chunks.ended {
                    break;
                }
            }
            tap.end(Party::Master, &mut tapped);
            drop(lines_tx);
            end_tx.send((book.entries(), t_ns())).unwrap();
            writer.join().unwrap();
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Path3 {
    Direct,
    Nginx,
    /// nginx with `proxy_buffer_size 64k` (its default is one page, 4 KiB).
    Nginx64k,
    /// hyper relaying chunk for chunk, nothing recorded (`--role relay`).
    Hyper,
    /// The recording core on a raw byte relay (`--role raw`).
    Raw,
    Record,
    /// `BENCH_RECORDER_BEFORE`'s recorder.
    Before,
}

impl Path3 {
    fn name(self) -> &'static str {
        match self {
            Path3::Direct => "direct",
            Path3::Nginx => "nginx",
            Path3::Nginx64k => "nginx-64k",
            Path3::Hyper => "hyper",
            Path3::Raw => "raw",
            Path3::Record => "record",
            Path3::Before => "before",
        }
    }
}

/// One run's numbers.
struct Run {
    events_per_s: f64,
    /// CPU ns of the forwarder's processes (none for direct).
    forwarder_ns: u64,
    /// CPU ns of the bench's process (client and source).
    bench_ns: u64,
    /// CPU ns of the recorder's threads, by name (record only).
    threads: BTreeMap<String, u64>,
}

struct Paths {
    source: Source,
    nginx: Option<Nginx>,
    nginx64k: Option<Nginx>,
    recorder: Recorder,
    before: Option<Recorder>,
    /// `--role relay` (its output directory stays empty).
    hyper: Recorder,
    /// `--role raw`.
    raw: Recorder,
}

impl Paths {
    fn recorder(&self, path: Path3) -> Option<&Recorder> {
        match path {
            Path3::Record => Some(&self.recorder),
            Path3::Raw => Some(&self.raw),
            Path3::Before => self.before.as_ref(),
            _ => None,
        }
    }

    fn addr(&self, path: Path3) -> SocketAddr {
        match path {
            Path3::Direct => self.source.addr,
            Path3::Nginx => self.nginx.as_ref().unwrap().addr,
            Path3::Nginx64k => self.nginx64k.as_ref().unwrap().addr,
            Path3::Hyper => self.hyper.addr,
            Path3::Raw => self.raw.addr,
            Path3::Record | Path3::Before => self.recorder(path).unwrap().addr,
        }
    }

    fn forwarder(&self, path: Path3) -> Vec<u32> {
        match path {
            Path3::Direct => Vec::new(),
            Path3::Nginx => self.nginx.as_ref().unwrap().pids(),
            Path3::Nginx64k => self.nginx64k.as_ref().unwrap().pids(),
            Path3::Hyper => vec![self.hyper.child.id()],
            Path3::Raw => vec![self.raw.child.id()],
            Path3::Record | Path3::Before => vec![self.recorder(path).unwrap().child.id()],
        }
    }

    /// One run at full speed.
    fn run(&self, stream: &Arc<Stream>, path: Path3) -> Run {
        let pids = self.forwarder(path);
        self.source.expect(stream, Pace::Fast);
        let recorder = self.recorder(path);
        let threads0 = recorder.map(|r| cpu_by_thread(r.child.id())).unwrap_or_default();
        let (fwd0, bench0) = (cpu_ns(&pids), cpu_ns(&[std::process::id()]));
        let drained = drain(self.addr(path), false);
        assert_eq!(drained.records, stream.events, "every event arrives ({})", path.name());
        if !matches!(path, Path3::Nginx | Path3::Nginx64k) {
            // nginx joins chunks as it reads them; the others keep them.
            assert!(drained.chunks >= stream.events, "a chunk per record ({})", path.name());
        }
        // The bench's own time stops here: reading the session file back
        // below is the bench's checking, not the client's cost (it was
        // counted in, before: 8 µs an event of "bench" CPU at 4 KiB).
        let bench1 = cpu_ns(&[std::process::id()]);
        if let Some(recorder) = recorder {
            recorder.check_and_clear(stream.events);
        }
        // The recorder's, once its session file is complete.
        let fwd1 = cpu_ns(&pids);
        let threads = if let Some(recorder) = recorder {
            let mut threads: BTreeMap<String, u64> = cpu_by_thread(recorder.child.id())
                .into_iter()
                .map(|(n, ns)| (n.clone(), ns - threads0.get(&n).copied().unwrap_or(0)))
                .collect();
            // The session writer's thread has ended: the rest of the total.
            let live: u64 = threads.values().sum();
            threads.insert("ended (session writer)".to_owned(), (fwd1 - fwd0).saturating_sub(live));
            threads
        } else {
            BTreeMap::new()
        };
        Run {
            threads,
            events_per_s: stream.events as f64 / drained.elapsed.as_secs_f64(),
            forwarder_ns: fwd1 - fwd0,
            bench_ns: bench1 - bench0,
        }
    }

    /// One paced run: each event's one-way latency, µs.
    fn latency(&self, stream: &Arc<Stream>, path: Path3, gap: Duration) -> Vec<f64> {
        let sent = self.source.expect(stream, Pace::Paced(gap));
        let drained = drain(self.addr(path), true);
        assert_eq!(drained.records, stream.events, "every event arrives ({})", path.name());
        if let Some(recorder) = self.recorder(path) {
            recorder.check_and_clear(stream.events);
        }
        // The source notes its times once it has written the last chunk.
        let deadline = Instant::now() + Duration::from_secs(10);
        let sent = loop {
            let sent = std::mem::take(&mut *sent.lock().unwrap());
            if !sent.is_empty() {
                break sent;
            }
            assert!(Instant::now() < deadline, "the source never finished");
            std::thread::sleep(Duration::from_millis(1));
        };
        assert_eq!(sent.len(), drained.arrived.len());
        sent.iter().zip(&drained.arrived).map(|(s, a)| a.saturating_duration_since(*s).as_secs_f64() * 1e6).collect()
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// A stream's results: medians of the full-speed runs, latencies.
struct Results {
    name: &'static str,
    mean: usize,
    events: u64,
    rate: BTreeMap<Path3, f64>,
    forwarder_us: BTreeMap<Path3, f64>,
    bench_us: BTreeMap<Path3, f64>,
    p50: BTreeMap<Path3, f64>,
    p99: BTreeMap<Path3, f64>,
    /// The recorder's CPU µs per event by thread name (medians).
    threads: BTreeMap<String, f64>,
}

fn measure(
    paths: &Paths,
    which: &[Path3],
    stream: &Arc<Stream>,
    latency: &Arc<Stream>,
    reps: usize,
    latency_runs: usize,
) -> Results {
    for &path in which {
        paths.run(stream, path);
    }
    let mut runs: BTreeMap<Path3, Vec<Run>> = BTreeMap::new();
    for _ in 0..reps {
        for &path in which {
            runs.entry(path).or_default().push(paths.run(stream, path));
        }
    }
    let gap = Duration::from_micros(env("BENCH_LATENCY_GAP_US", 250) as u64);
    // Every paced run's latencies go into one pool per path, whose p50 and
    // p99 the table gives (see the module's doc).
    let mut pools: BTreeMap<Path3, Vec<f64>> = BTreeMap::new();
    let mut p99s: BTreeMap<Path3, Vec<f64>> = BTreeMap::new();
    for _ in 0..latency_runs {
        for &path in which {
            let lat = paths.latency(latency, path, gap);
            p99s.entry(path).or_default().push(percentile(&lat, 0.99));
            pools.entry(path).or_default().extend(lat);
        }
    }
    for (path, p99) in &p99s {
        let all: Vec<String> = p99.iter().map(|us| format!("{us:.0}")).collect();
        println!("  {} paced runs, {}: p99 {} µs", stream.name, path.name(), all.join(" "));
    }
    let p50: BTreeMap<Path3, f64> = pools.iter().map(|(&path, v)| (path, percentile(v, 0.5))).collect();
    let p99: BTreeMap<Path3, f64> = pools.iter().map(|(&path, v)| (path, percentile(v, 0.99))).collect();
    let per_event = |ns: u64| ns as f64 / 1e3 / stream.events as f64;
    let mut results = Results {
        name: stream.name,
        mean: stream.mean,
        events: stream.events,
        rate: BTreeMap::new(),
        forwarder_us: BTreeMap::new(),
        bench_us: BTreeMap::new(),
        p50,
        p99,
        threads: BTreeMap::new(),
    };
    for path in [Path3::Record, Path3::Before, Path3::Raw] {
        let Some(runs) = runs.get(&path) else { continue };
        let names: std::collections::BTreeSet<&String> = runs.iter().flat_map(|r| r.threads.keys()).collect();
        for name in names {
            let us = median(runs.iter().map(|r| per_event(r.threads.get(name).copied().unwrap_or(0))).collect());
            results.threads.insert(format!("{}: {name}", path.name()), us);
        }
    }
    for (path, runs) in &runs {
        results.rate.insert(*path, median(runs.iter().map(|r| r.events_per_s).collect()));
        results.forwarder_us.insert(*path, median(runs.iter().map(|r| per_event(r.forwarder_ns)).collect()));
        results.bench_us.insert(*path, median(runs.iter().map(|r| per_event(r.bench_ns)).collect()));
        let all: Vec<String> = runs.iter().map(|r| format!("{:.0}", r.events_per_s)).collect();
        println!("  {} runs, {}: {} events/s", stream.name, path.name(), all.join(" "));
    }
    results
}

fn print(results: &Results) {
    println!();
    println!(
        "{}: {} events, records of {} B on average; medians (latency: p50 and p99 of the paced runs' events)",
        results.name, results.events, results.mean
    );
    println!(
        "{:<8} {:>12} {:>10} {:>14} {:>14} {:>10} {:>10} {:>12}",
        "path", "events/s", "÷ nginx", "fwd CPU µs/ev", "bench µs/ev", "p50 µs", "p99 µs", "added p99"
    );
    let nginx = results.rate.get(&Path3::Nginx).copied();
    let direct_p99 = results.p99.get(&Path3::Direct).copied().unwrap_or(f64::NAN);
    // Every path that ran: with `BENCH_RUNS=0` only paced runs, with
    // `BENCH_LATENCY_RUNS=0` only counted ones.
    let ran: std::collections::BTreeSet<&Path3> = results.rate.keys().chain(results.p99.keys()).collect();
    for path in ran {
        let get = |m: &BTreeMap<Path3, f64>| m.get(path).copied().unwrap_or(f64::NAN);
        let rate = get(&results.rate);
        let ratio = nginx.map_or(f64::NAN, |n| rate / n);
        let p99 = get(&results.p99);
        println!(
            "{:<8} {:>12.0} {:>10.2} {:>14.2} {:>14.2} {:>10.1} {:>10.1} {:>12.1}",
            path.name(),
            rate,
            ratio,
            get(&results.forwarder_us),
            get(&results.bench_us),
            get(&results.p50),
            p99,
            p99 - direct_p99
        );
    }
    if !results.threads.is_empty() {
        let threads: Vec<String> = results.threads.iter().map(|(n, us)| format!("{n} {us:.2}")).collect();
        println!("the recorders' CPU µs per event by thread: {}", threads.join(", "));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--role") {
        match args.get(2).map(String::as_str) {
            Some("proxy") => return proxy_role(&args[3], &args[4]),
            Some("relay") => return relay_role(&args[3]),
            Some("raw") => return raw_role(&args[3], &args[4]),
            other => panic!("unknown role {other:?}"),
        }
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // it is a smoke run with few events.
    let bench = args.iter().any(|a| a == "--bench");
    let scale = |n: usize| if bench { n } else { 500 };
    let events = |default: usize| env("BENCH_EVENTS", scale(default)) as u64;
    let reps = env("BENCH_RUNS", if bench { 5 } else { 1 });
    let latency_events = env("BENCH_LATENCY_EVENTS", scale(2_000)) as u64;
    let latency_runs = env("BENCH_LATENCY_RUNS", if bench { 15 } else { 1 });

    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("mesos-tape-proxy-vs-nginx-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = Source::start();
    let binary = Nginx::binary();
    let nginx = match &binary {
        Some(binary) => Some(Nginx::start(binary, &dir, "nginx", source.addr, "")),
        None if bench => panic!("nginx is not installed: apt-get install nginx-light (or BENCH_NGINX=/path/to/nginx)"),
        None => {
            eprintln!("\n*** SKIPPED nginx: not installed (apt-get install nginx-light) ***\n");
            None
        }
    };
    let nginx64k = binary.as_ref().map(|b| {
        Nginx::start(
            b,
            &dir,
            "nginx-64k",
            source.addr,
            "proxy_buffer_size 64k; proxy_buffers 4 64k; proxy_busy_buffers_size 128k;",
        )
    });
    let recorder = Recorder::start(&std::env::current_exe().unwrap(), &dir, "sessions", source.addr);
    let hyper = Recorder::start_role(&std::env::current_exe().unwrap(), "relay", &dir, "relay", source.addr);
    let raw = Recorder::start_role(&std::env::current_exe().unwrap(), "raw", &dir, "raw", source.addr);
    let mut which = vec![Path3::Direct, Path3::Hyper, Path3::Raw, Path3::Record];
    if nginx.is_some() {
        which.insert(1, Path3::Nginx);
        which.insert(2, Path3::Nginx64k);
    }
    // `BENCH_RECORDER_BEFORE=path`: a copy of this bench built before a
    // change to the proxy, whose recorder runs beside this one ("before").
    let before = std::env::var_os("BENCH_RECORDER_BEFORE").map(|exe| {
        which.push(Path3::Before);
        Recorder::start(Path::new(&exe), &dir, "sessions-before", source.addr)
    });
    // `BENCH_ONLY=record` (or `nginx`, `direct`, comma-separated) runs
    // those paths alone, and `BENCH_STREAMS=mix` those streams, for
    // profiling.
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        which.retain(|p| only.split(',').any(|o| o == p.name()));
    }
    let streams_wanted = std::env::var("BENCH_STREAMS").ok();
    let paths = Paths { source, nginx, nginx64k, recorder, before, hyper, raw };

    let streams = [
        ("mix", mix(), events(100_000)),
        ("made mix", made_mix(), events(100_000)),
        ("200 B", vec![update_of(200)], events(100_000)),
        ("4 KiB", vec![update_of(4096)], events(25_000)),
    ];
    let mut all = Vec::new();
    for (name, records, n) in streams {
        if streams_wanted.as_ref().is_some_and(|w| !w.split(',').any(|s| s == name)) {
            continue;
        }
        let stream = Arc::new(Stream::new(name, &records, n));
        let latency = Arc::new(Stream::new(name, &records, latency_events));
        let results = measure(&paths, &which, &stream, &latency, reps, latency_runs);
        print(&results);
        all.push(results);
    }
    drop(paths);
    let _ = std::fs::remove_dir_all(&dir);

    println!();
    println!("mesos-proxy record ÷ nginx (events/s: higher is better; CPU per event and p99: lower is better)");
    println!(
        "{:<8} {:>12} {:>12} {:>8} {:>9} {:>10} {:>10} {:>8} {:>11} {:>11} {:>9}",
        "records",
        "nginx ev/s",
        "record ev/s",
        "ratio",
        "÷ 64k",
        "nginx µs",
        "record µs",
        "ratio",
        "nginx +p99",
        "record +p99",
        "diff µs"
    );
    for r in &all {
        let get = |m: &BTreeMap<Path3, f64>, p| m.get(&p).copied().unwrap_or(f64::NAN);
        let added = |p| get(&r.p99, p) - get(&r.p99, Path3::Direct);
        println!(
            "{:<8} {:>12.0} {:>12.0} {:>8.2} {:>9.2} {:>10.2} {:>10.2} {:>8.2} {:>11.1} {:>11.1} {:>9.1}",
            r.name,
            get(&r.rate, Path3::Nginx),
            get(&r.rate, Path3::Record),
            get(&r.rate, Path3::Record) / get(&r.rate, Path3::Nginx),
            get(&r.rate, Path3::Record) / get(&r.rate, Path3::Nginx64k),
            get(&r.forwarder_us, Path3::Nginx),
            get(&r.forwarder_us, Path3::Record),
            get(&r.forwarder_us, Path3::Record) / get(&r.forwarder_us, Path3::Nginx),
            added(Path3::Nginx),
            added(Path3::Record),
            added(Path3::Record) - added(Path3::Nginx),
        );
    }
}
