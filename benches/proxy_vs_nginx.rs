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
//! Three paths, on loopback, for one SUBSCRIBE stream each run:
//!
//! - **direct**: client ← source;
//! - **nginx**: client ← nginx ← source: nginx 1.22 as a plain forwarding
//!   proxy (`proxy_pass`, `proxy_http_version 1.1`, `proxy_buffering off`,
//!   `proxy_request_buffering off`; its defaults otherwise), one worker
//!   process, started on a temporary configuration and a free port;
//! - **nginx-64k**: the same with `proxy_buffer_size 64k` (and `proxy_buffers
//!   4 64k`, `proxy_busy_buffers_size 128k`, which it requires; the default is
//!   one page, 4 KiB, so nginx reads a 4 KiB record in two reads);
//! - **record**: client ← `mesos-proxy record` ← source: the recorder in a
//!   process of its own (this bench binary started again as
//!   `--role proxy`, which does what `mesos-proxy record`'s `main` does: a
//!   default multi-threaded tokio runtime, `Recorder::bind`, `run`; only
//!   its log lines are not written; `BENCH_PROXY_WORKERS` sets its number
//!   of workers), recording to a temporary directory.
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
//! Three streams of records (`BENCH_EVENTS` sets the number of events of
//! each):
//!
//! - **mix**: the realistic mix of `proxy_events` (OFFERS with two offers,
//!   three UPDATEs, a HEARTBEAT, in turn), 100 000 events;
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
//! the bench's own, client and source), from utime + stime of
//! `/proc/PID/stat` before and after the run (10 ms ticks, but they keep
//! the time of the recorder's session writer, a thread that ends with its
//! session); the recorder's is also given by thread (`schedstat`, ns; the
//! writer's is the rest of the total).
//!
//! Then the latency: the source writes 4 000 events of the same stream one
//! chunk at a time, every 250 µs (`BENCH_LATENCY_EVENTS`,
//! `BENCH_LATENCY_GAP_US`), noting when it wrote each; the client notes
//! when each record is whole. The table gives p50 and p99 of that one-way
//! latency by path, and the p99 each forwarder adds to direct's.
//!
//! The last table holds the two forwarders side by side, as ratios to
//! nginx. `BENCH_RECORDER_BEFORE=/path/to/an/older/proxy_vs_nginx-binary`
//! adds that build's recorder as a fourth path, "before", so that a change
//! to the proxy is measured before and after in the same run. For
//! profiling, `BENCH_ONLY=record` (or `nginx`, `direct`;
//! comma-separated) runs only those paths, and `BENCH_STREAMS=mix` (or
//! `200 B`, `4 KiB`) only those streams. On a shared machine events/s moves with the load; the CPU per
//! event much less.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/chunked.rs"]
mod chunked;
use chunked::Counter;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The realistic mix (the records of `proxy_events`, after SUBSCRIBED).
fn mix() -> Vec<String> {
    let offer = |i: u32| {
        format!(
            r#"{{"id":{{"value":"o-{i}"}},"framework_id":{{"value":"f1"}},"agent_id":{{"value":"a-{i}"}},"hostname":"agent{i}.example.com","resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":4.0}},"role":"*"}},{{"name":"mem","type":"SCALAR","scalar":{{"value":8192.0}},"role":"*"}},{{"name":"ports","type":"RANGES","ranges":{{"range":[{{"begin":31000,"end":32000}}]}},"role":"*"}}]}}"#
        )
    };
    let update = |state: &str| {
        format!(
            r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"task-1"}},"state":"{state}","source":"SOURCE_EXECUTOR","agent_id":{{"value":"a-1"}},"executor_id":{{"value":"task-1"}},"timestamp":1764020000.123,"uuid":"ZGVhZGJlZWZkZWFkYmVlZg==","container_status":{{"network_infos":[{{"ip_addresses":[{{"ip_address":"10.0.0.1"}}]}}]}}}}}}}}"#
        )
    };
    vec![
        format!(r#"{{"type":"OFFERS","offers":{{"offers":[{},{}]}}}}"#, offer(1), offer(2)),
        update("TASK_STARTING"),
        update("TASK_RUNNING"),
        update("TASK_FINISHED"),
        r#"{"type":"HEARTBEAT"}"#.to_owned(),
    ]
}

/// An UPDATE of exactly `size` bytes (its message padded).
fn update_of(size: usize) -> String {
    let record = |pad: usize| {
        format!(
            r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"task-1"}},"state":"TASK_RUNNING","agent_id":{{"value":"a-1"}},"message":"{}","uuid":"ZGVhZGJlZWZkZWFkYmVlZg=="}}}}}}"#,
            "x".repeat(pad)
        )
    };
    let base = record(0).len();
    assert!(size >= base, "an UPDATE takes at least {base} bytes");
    let record = record(size - base);
    assert_eq!(record.len(), size);
    record
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
        let subscribed =
            r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f1"},"heartbeat_interval_seconds":15.0}}"#;
        let mut body = Vec::new();
        let mut ends = Vec::with_capacity(events as usize);
        let mut total = 0;
        for n in 0..events {
            let record = if n == 0 { subscribed } else { records[((n - 1) % records.len() as u64) as usize].as_str() };
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
                    if !read_request(&mut conn) {
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

/// Reads a request's head and its `Content-Length` body; false when the
/// connection ends first.
fn read_request(conn: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.read(&mut buf).unwrap_or(0);
        if n == 0 {
            return false;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let mut have = head.len() - end - 4;
            while have < length {
                let n = conn.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    return false;
                }
                have += n;
            }
            return true;
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
        let out = dir.join(name);
        std::fs::create_dir_all(&out).unwrap();
        let mut child = Command::new(exe)
            .args(["--role", "proxy", &master.to_string()])
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

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Path3 {
    Direct,
    Nginx,
    /// nginx with `proxy_buffer_size 64k` (its default is one page, 4 KiB).
    Nginx64k,
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
}

impl Paths {
    fn recorder(&self, path: Path3) -> Option<&Recorder> {
        match path {
            Path3::Record => Some(&self.recorder),
            Path3::Before => self.before.as_ref(),
            _ => None,
        }
    }

    fn addr(&self, path: Path3) -> SocketAddr {
        match path {
            Path3::Direct => self.source.addr,
            Path3::Nginx => self.nginx.as_ref().unwrap().addr,
            Path3::Nginx64k => self.nginx64k.as_ref().unwrap().addr,
            Path3::Record | Path3::Before => self.recorder(path).unwrap().addr,
        }
    }

    fn forwarder(&self, path: Path3) -> Vec<u32> {
        match path {
            Path3::Direct => Vec::new(),
            Path3::Nginx => self.nginx.as_ref().unwrap().pids(),
            Path3::Nginx64k => self.nginx64k.as_ref().unwrap().pids(),
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
        if let Some(recorder) = recorder {
            recorder.check_and_clear(stream.events);
        }
        let (fwd1, bench1) = (cpu_ns(&pids), cpu_ns(&[std::process::id()]));
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

fn measure(paths: &Paths, which: &[Path3], stream: &Arc<Stream>, latency: &Arc<Stream>, reps: usize) -> Results {
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
    let mut p50 = BTreeMap::new();
    let mut p99 = BTreeMap::new();
    for &path in which {
        let lat = paths.latency(latency, path, gap);
        p50.insert(path, percentile(&lat, 0.5));
        p99.insert(path, percentile(&lat, 0.99));
    }
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
    for path in [Path3::Record, Path3::Before] {
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
        "{}: {} events, records of {} B on average; medians; latency of one paced run",
        results.name, results.events, results.mean
    );
    println!(
        "{:<8} {:>12} {:>10} {:>14} {:>14} {:>10} {:>10} {:>12}",
        "path", "events/s", "÷ nginx", "fwd CPU µs/ev", "bench µs/ev", "p50 µs", "p99 µs", "added p99"
    );
    let nginx = results.rate.get(&Path3::Nginx).copied();
    let direct_p99 = results.p99.get(&Path3::Direct).copied().unwrap_or(f64::NAN);
    for (path, rate) in &results.rate {
        let ratio = nginx.map_or(f64::NAN, |n| rate / n);
        let p99 = results.p99[path];
        println!(
            "{:<8} {:>12.0} {:>10.2} {:>14.2} {:>14.2} {:>10.1} {:>10.1} {:>12.1}",
            path.name(),
            rate,
            ratio,
            results.forwarder_us[path],
            results.bench_us[path],
            results.p50[path],
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
            other => panic!("unknown role {other:?}"),
        }
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // it is a smoke run with few events.
    let bench = args.iter().any(|a| a == "--bench");
    let scale = |n: usize| if bench { n } else { 500 };
    let events = |default: usize| env("BENCH_EVENTS", scale(default)) as u64;
    let reps = env("BENCH_RUNS", if bench { 5 } else { 1 }).max(1);
    let latency_events = env("BENCH_LATENCY_EVENTS", scale(4_000)) as u64;

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
    let mut which = vec![Path3::Direct, Path3::Record];
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
    let paths = Paths { source, nginx, nginx64k, recorder, before };

    let streams = [
        ("mix", mix(), events(100_000)),
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
        let results = measure(&paths, &which, &stream, &latency, reps);
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
