//! `mesos-replay`: the master side of mesos-tape: `serve`, `sim`, `inspect` and `diff`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mesos_replay::compare::Rebind;
use mesos_replay::serve;
use mesos_replay::sim::{self, Clock, Config};

#[derive(Parser)]
#[command(name = "mesos-replay", version, about = "The master side of mesos-tape")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// TLS for the listener (`serve` and `sim`).
#[derive(clap::Args)]
struct TlsArgs {
    /// Serve over TLS: the certificate chain (PEM, leaf first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Require clients to present a certificate issued by one of these CA certificates (PEM);
    /// needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<std::path::PathBuf>,
}

impl TlsArgs {
    fn acceptor(self) -> anyhow::Result<Option<tokio_rustls::TlsAcceptor>> {
        let files =
            mesos_replay::tls::TlsFiles { cert: self.tls_cert, key: self.tls_key, client_ca: self.tls_client_ca };
        Ok(files.acceptor()?)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Play the master of a recorded session to a live framework.
    ///
    /// Exit status 0 when the replay matched the recording, 1 when it
    /// diverged (the divergences on stderr and in the report).
    Serve {
        /// The session file: `.session.jsonl`, `.session.jsonl.zst`, or any part of a rotated session.
        session: std::path::PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:5050")]
        listen: SocketAddr,
        /// `recorded` (the recorded gaps), `fast`, or a factor (2 = twice as fast).
        #[arg(long, default_value = "recorded")]
        pace: mesos_replay::serve::Pace,
        /// End the streams at the first divergence and exit 1.
        #[arg(long)]
        strict: bool,
        /// Write the JSON report here.
        #[arg(long, value_name = "FILE")]
        report: Option<std::path::PathBuf>,
        /// `record`: one record per HTTP chunk, as a master writes them;
        /// `recorded`: the recorded chunk boundaries.
        #[arg(long, default_value = "record", value_parser = ["record", "recorded"])]
        chunking: String,
        /// Seconds to wait for a recorded call before reporting it missing.
        #[arg(long, default_value = "10", value_parser = positive_seconds)]
        call_timeout: Duration,
        /// Shorten recorded gaps longer than this many seconds (skip idle time).
        #[arg(long, value_parser = positive_seconds)]
        max_gap: Option<Duration>,
        /// Seconds to wait, once the recording is played out, for the framework to hang up.
        #[arg(long, default_value = "2", value_parser = positive_seconds)]
        linger: Duration,
        /// Replay a session whose last line is torn (the complete lines before it).
        #[arg(long)]
        allow_torn: bool,
        /// The largest request body, in bytes; a longer one is answered 413.
        #[arg(long, default_value_t = serve::Options::default().max_body)]
        max_body: usize,
        /// Seconds a request's head or body may wait for its next bytes, and a connection for its
        /// next request, before it is closed (never applies to an event stream).
        #[arg(long, default_value = "60", value_parser = positive_seconds)]
        request_timeout: Duration,
        /// Connections served at once; one more is answered 503 and closed.
        #[arg(long, default_value_t = serve::Options::default().max_connections)]
        max_connections: usize,
        /// Show a fault on the recording (repeatable): NAME[:PARAM=VALUE,...], starting at the
        /// event event=N (the session's Nth) or type=TYPE,nth=N. duplicate sends it twice; drop
        /// never sends it; burst[:events=100] sends it and the next ones without their gaps;
        /// rechunk[:pieces=3,events=N,seed=0] cuts each record into chunks, its size line split;
        /// stall[:for=5] silences the stream before it; cut cuts the stream's connection before
        /// it and gives it back to the framework's next SUBSCRIBE. duplicate, drop, stall and cut
        /// start at the 1st UPDATE, burst and rechunk at the 1st event. See docs/faults.md.
        #[arg(long = "fault", value_name = "SPEC")]
        faults: Vec<String>,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Run a simulated Mesos master (scheduler API v1).
    Sim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:5050")]
        listen: SocketAddr,
        /// Number of agents (slave0, slave1, ...).
        #[arg(long, default_value_t = 2)]
        agents: usize,
        /// cpus of each agent.
        #[arg(long, default_value = "2", value_parser = non_negative)]
        cpus: f64,
        /// mem of each agent, MB.
        #[arg(long, default_value = "996", value_parser = non_negative)]
        mem: f64,
        /// Heartbeat interval, seconds (fractions allowed).
        #[arg(long, default_value = "15", value_parser = positive_seconds)]
        heartbeat: Duration,
        /// Seed of every id the master chooses and of its random choices
        /// (a fresh one at every start unless given; printed at start so a
        /// run can be repeated).
        #[arg(long)]
        seed: Option<u64>,
        /// Write what the simulator serves as session files in this
        /// directory, one per framework.
        #[arg(long, value_name = "DIR")]
        record: Option<std::path::PathBuf>,
        /// The most bytes of events a subscriber may leave unread before
        /// its connection is closed (docs/sim.md).
        #[arg(long, value_name = "BYTES", default_value_t = sim::server::DEFAULT_STREAM_BACKLOG)]
        stream_backlog: usize,
        /// The master's and its agents' hostname (as a master's
        /// `--hostname`); by default `localhost` on a loopback address, else
        /// the address.
        #[arg(long)]
        hostname: Option<String>,
        /// The largest request body, in bytes; a longer one is answered 413.
        #[arg(long, default_value_t = sim::Options::default().max_body)]
        max_body: usize,
        /// Seconds a request may take to arrive whole, and a connection without a stream may
        /// wait for its next request, before it is closed.
        #[arg(long, default_value = "60", value_parser = positive_seconds)]
        request_timeout: Duration,
        /// Connections served at once; one more is answered 503 and closed.
        #[arg(long, default_value_t = sim::Options::default().max_connections)]
        max_connections: usize,
        /// Misbehave on purpose (repeatable): NAME[:PARAM=VALUE,...]. Every fault takes at=SECONDS
        /// (after the start), and those that last for=SECONDS. duplicate-update[:delay=S] sends every acknowledged
        /// status update once more, same uuid; stale-instance (at=3) fails every framework over to
        /// another instance of itself; leader-change[:location=relative|absolute|pathless] (at=3)
        /// moves the leadership to a second address, the first answering 307 there; not-ready[:answer=all|404|no-leader|recovering] (for=6)
        /// answers 404, then 503 No leader elected, then 503 Master has not finished recovery;
        /// partition (at=2,for=60) silences the open event streams, connections kept;
        /// burst[:events=300] (at=3) sends each framework that many events at once;
        /// rescind[:timeout=5] rescinds offers after an offer timeout; lose-update loses each
        /// task launched before its first update; rechunk[:pieces=N] splits each record across N
        /// HTTP chunks at seeded-random offsets, its size line cut in two;
        /// failover-timeout[:timeout=0] (at=3) cuts every framework's connection and removes it
        /// after the timeout; crash (at=3,for=6) cuts every stream, is not ready for a while, and
        /// comes back with a new id. See docs/faults.md.
        #[arg(long = "fault", value_name = "SPEC")]
        faults: Vec<String>,
        /// A timed fault scenario, one fault a line: `at SECONDS: FAULT PARAM=VALUE ...`, or on an
        /// event, `after 3rd TASK_RUNNING [of framework NAME] [of task ID] [+ SECONDS]: FAULT ...`
        /// (`every` instead of `after`: each time). See docs/faults.md.
        #[arg(long = "faults", value_name = "FILE")]
        scenario: Option<std::path::PathBuf>,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Print sessions as a readable timeline (time, direction, call or
    /// event type, key ids, status), with --json every entry decoded, with
    /// --summary what happened to each task, framework and offer, or with
    /// --html a picture of it all in one self-contained HTML file.
    ///
    /// The filters select the entries about one task, framework, agent,
    /// offer or type (an answer goes with its call; repeat a filter for any
    /// of several values); --since and --until take seconds since the
    /// session's start (12.5) or an RFC 3339 time (2026-11-24T23:01:56Z).
    Inspect {
        /// The session files (`-` for standard input): plain, `.zst`, or any part of a rotated session.
        #[arg(required = true)]
        sessions: Vec<std::path::PathBuf>,
        /// One JSON object a line, each entry with its message decoded.
        #[arg(long, conflicts_with_all = ["summary", "html"])]
        json: bool,
        /// Per task its life in one line, per framework its calls and events
        /// counted, the unacknowledged updates, the offers held longest.
        #[arg(long, conflicts_with = "html")]
        summary: bool,
        /// Write one self-contained HTML file (no network needed) drawing the
        /// sessions: sequence diagram, task lanes, offers per agent.
        #[arg(long, value_name = "OUT")]
        html: Option<std::path::PathBuf>,
        /// With --html: mark the divergences of this `mesos-replay serve --report`.
        #[arg(long, value_name = "FILE", requires = "html")]
        report: Option<std::path::PathBuf>,
        /// Keep reading a session that is still being written, until its end entry (Ctrl-C stops).
        #[arg(long, conflicts_with = "html")]
        follow: bool,
        /// Only the entries about this task.
        #[arg(long = "task", value_name = "ID", conflicts_with = "html")]
        tasks: Vec<String>,
        /// Only the entries of this framework.
        #[arg(long = "framework", value_name = "ID", conflicts_with = "html")]
        frameworks: Vec<String>,
        /// Only the entries about this agent.
        #[arg(long = "agent", value_name = "ID", conflicts_with = "html")]
        agents: Vec<String>,
        /// Only the entries about this offer.
        #[arg(long = "offer", value_name = "ID", conflicts_with = "html")]
        offers: Vec<String>,
        /// Only the calls or events of this type (ACCEPT, UPDATE, ...).
        #[arg(long = "type", value_name = "CALL_OR_EVENT", conflicts_with_all = ["html", "summary"])]
        types: Vec<String>,
        /// Nothing before this time.
        #[arg(long, value_name = "TIME", conflicts_with = "html")]
        since: Option<mesos_replay::inspect::filter::Bound>,
        /// Nothing after this time.
        #[arg(long, value_name = "TIME", conflicts_with = "html")]
        until: Option<mesos_replay::inspect::filter::Bound>,
    },
    /// Compare two sessions semantically (ignoring times, heartbeats, stream
    /// ids and connection numbers, rebinding framework-chosen ids). Exit
    /// status 0 when they are equivalent, 1 when not.
    Diff {
        /// Bind the ids a master chooses (framework, offer, agent, status
        /// uuid, container, its own) and what it takes from its environment
        /// (hostnames, ips, ports, pids) on first sight too: to compare a
        /// session recorded against the sim with one recorded against a
        /// real master, or two runs of one master.
        #[arg(long)]
        rebind_master_ids: bool,
        /// The first session.
        a: std::path::PathBuf,
        /// The second session.
        b: std::path::PathBuf,
    },
}

fn non_negative(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err("expected a non-negative number".into()),
    }
}

fn positive_seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| "expected a positive number of seconds".into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesos-replay: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let (listen, agents, cpus, mem, heartbeat, seed, record, options, hostname, faults, tls) = match cli.command {
        Command::Sim {
            listen,
            agents,
            cpus,
            mem,
            heartbeat,
            seed,
            record,
            stream_backlog,
            hostname,
            max_body,
            request_timeout,
            max_connections,
            faults,
            scenario,
            tls,
        } => {
            let options = sim::Options { stream_backlog, max_body, request_timeout, max_connections };
            let mut faults =
                faults.iter().map(|spec| sim::faults::Fault::parse(spec)).collect::<Result<Vec<_>, _>>()?;
            if let Some(path) = scenario {
                let name = path.display();
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("--faults {name}: cannot read it"))?;
                faults.extend(sim::faults::scenario::parse(&text).with_context(|| format!("--faults {name}"))?);
            }
            (listen, agents, cpus, mem, heartbeat, seed, record, options, hostname, faults, tls.acceptor()?)
        }
        Command::Inspect {
            sessions,
            json,
            summary,
            html,
            report,
            follow,
            tasks,
            frameworks,
            agents,
            offers,
            types,
            since,
            until,
        } => {
            if let Some(out) = html {
                return inspect_html(&sessions, &out, report.as_deref());
            }
            let filter =
                mesos_replay::inspect::filter::Filter { tasks, frameworks, agents, offers, types, since, until };
            return inspect(&sessions, json, summary, follow, &filter);
        }
        Command::Diff { rebind_master_ids, a, b } => {
            let rebind = if rebind_master_ids { Rebind::MasterIds } else { Rebind::FrameworkIds };
            return diff(&a, &b, rebind);
        }
        Command::Serve {
            session,
            listen,
            pace,
            strict,
            report,
            chunking,
            call_timeout,
            max_gap,
            linger,
            allow_torn,
            max_body,
            request_timeout,
            max_connections,
            faults,
            tls,
        } => {
            let faults =
                faults.iter().map(|spec| serve::faults::ServeFault::parse(spec)).collect::<Result<Vec<_>, _>>()?;
            let tls = tls.acceptor()?;
            let chunking = if chunking == "recorded" { serve::Chunking::Recorded } else { serve::Chunking::Record };
            let options = serve::Options {
                pace,
                strict,
                chunking,
                call_timeout,
                max_gap,
                linger,
                max_body,
                request_timeout,
                max_connections: max_connections.max(1),
                faults,
            };
            return replay(&session, listen, options, report.as_deref(), allow_torn, tls);
        }
    };
    let seed = seed.unwrap_or_else(sim::ids::fresh_seed);
    let fault_specs: Vec<String> = faults
        .iter()
        .map(|f| if f.trigger.is_some() { sim::faults::scenario::describe(f) } else { f.to_string() })
        .collect();
    let config = Config { agents, cpus, mem, heartbeat, seed, record, hostname, faults, ..Config::default() };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let over = if tls.is_some() { " (TLS)" } else { "" };
        let handle = sim::spawn_tls(listener, config, Clock::Real, options, tls)?;
        eprintln!(
            "mesos-replay sim: master {} (--seed {seed}) listening on {}{over}",
            handle.with_master(|m| m.id().to_owned()),
            handle.local_addr()
        );
        for fault in &fault_specs {
            eprintln!("mesos-replay sim: fault {fault}");
        }
        if let Some(other) = handle.with_master(|m| m.successor()) {
            eprintln!("mesos-replay sim: leader-change: the other master listens on {other}");
        }
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        // Dropping the handle ends the recorded sessions.
        drop(handle);
        Ok(())
    })
}

fn inspect(
    paths: &[std::path::PathBuf],
    json: bool,
    summary: bool,
    follow: bool,
    filter: &mesos_replay::inspect::filter::Filter,
) -> anyhow::Result<()> {
    use mesos_replay::inspect::{InspectError, Style};
    use std::io::IsTerminal;
    if follow && paths.len() > 1 {
        anyhow::bail!("--follow follows one session, not {}", paths.len());
    }
    let stdout = std::io::stdout();
    let style = match (json, summary) {
        (true, _) => Style::Json,
        (_, true) => Style::Summary,
        _ => Style::Timeline { colour: stdout.is_terminal() },
    };
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, path) in paths.iter().enumerate() {
        let name = path.display().to_string();
        if paths.len() > 1 && style != Style::Json {
            let _ = writeln!(out, "{}==> {name} <==", if i > 0 { "\n" } else { "" });
        }
        let input = open_session(path)?;
        // --follow: what is written so far is printed, then the file is
        // read again every 200 ms until its end entry.
        let mut wait = || {
            std::thread::sleep(Duration::from_millis(200));
            true
        };
        let follow: Option<mesos_replay::inspect::Wait<'_>> = if follow { Some(&mut wait) } else { None };
        let summary = match mesos_replay::inspect::inspect_with(input, &mut out, style, filter, follow) {
            Ok(summary) => summary,
            // `mesos-replay inspect ... | head`: the reader left, nothing is wrong.
            Err(InspectError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("{name}: bad session")),
        };
        if let Some(torn) = summary.torn {
            let _ = out.flush();
            anyhow::bail!(
                "{name}: line {}: torn last line ({} bytes, the writer stopped mid-line), skipped; everything before it is above",
                torn.line,
                torn.bytes
            );
        }
    }
    Ok(())
}

/// A session file to read from its start (`-`: standard input). The one
/// place that opens sessions for `inspect`: compressed sessions and
/// rotated parts are read here once the codec reads them.
fn open_session(path: &std::path::Path) -> anyhow::Result<Box<dyn std::io::Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    // A compressed session, or every part of a rotated one.
    let files =
        mesos_replay::messages::SessionFiles::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(files))
}

fn inspect_html(
    paths: &[std::path::PathBuf],
    out: &std::path::Path,
    report: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use mesos_replay::inspect::html;
    let mut sessions = Vec::new();
    for path in paths {
        sessions.push(html::SessionInput { name: path.display().to_string(), input: open_session(path)? });
    }
    let report = match report {
        Some(file) => {
            let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let value = serde_json::from_slice(&text)
                .with_context(|| format!("{}: not a mesos-replay serve report (not JSON)", file.display()))?;
            Some(value)
        }
        None => None,
    };
    // Drawn in memory first: a bad session leaves no half-written page.
    let mut page = Vec::new();
    let written = html::write_html(sessions, report.as_ref(), &mut page)
        .with_context(|| format!("cannot draw {}", out.display()))?;
    std::fs::write(out, &page).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "mesos-replay inspect: {} entries, {} tasks, {} offers drawn in {} ({} bytes)",
        written.entries,
        written.tasks,
        written.offers,
        out.display(),
        written.bytes
    );
    for torn in &written.torn {
        eprintln!("mesos-replay inspect: {torn}");
    }
    Ok(())
}

fn replay(
    path: &std::path::Path,
    listen: SocketAddr,
    options: serve::Options,
    report_path: Option<&std::path::Path>,
    allow_torn: bool,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<()> {
    let fault_specs: Vec<String> = options.faults.iter().map(ToString::to_string).collect();
    let script = serve::Script::open(path, allow_torn)?;
    if let Some(torn) = script.torn() {
        eprintln!("mesos-replay serve: line {}: torn last line skipped ({} bytes)", torn.line, torn.bytes);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    let report = runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        // Listen for SIGINT and SIGTERM before saying we are up.
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        eprintln!(
            "mesos-replay serve: {} calls, {} subscriptions, {} events; listening on {}{}",
            script.calls(),
            script.subscriptions(),
            script.events(),
            listener.local_addr().map_or_else(|_| listen.to_string(), |a| a.to_string()),
            if tls.is_some() { " (TLS)" } else { "" },
        );
        for fault in &fault_specs {
            eprintln!("mesos-replay serve: fault {fault}");
        }
        let mut handle = serve::spawn_tls(listener, script, options, tls)?;
        tokio::select! {
            () = handle.played_out() => anyhow::Ok(handle.report()),
            _ = async { tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} } } => {
                eprintln!("mesos-replay serve: interrupted; the calls not made yet are reported missing");
                anyhow::Ok(handle.stop())
            }
        }
    })?;
    if let Some(file) = report_path {
        std::fs::write(file, report.to_json())
            .with_context(|| format!("cannot write the report to {}", file.display()))?;
    }
    for fired in &report.faults {
        eprintln!("fault: {fired}");
    }
    for divergence in &report.divergences {
        eprintln!("divergence: {divergence}");
    }
    eprintln!(
        "mesos-replay serve: {}/{} calls matched, {} events sent, {} divergences",
        report.calls_matched,
        report.calls_recorded,
        report.events_sent,
        report.divergences.len()
    );
    if !report.clean {
        anyhow::bail!("the replay diverged from {}", report.session);
    }
    Ok(())
}

fn diff(a: &std::path::Path, b: &std::path::Path, rebind: Rebind) -> anyhow::Result<()> {
    use mesos_replay::diff::{Conversation, diff};
    let read = |path: &std::path::Path| -> anyhow::Result<Conversation> {
        let files = mesos_replay::messages::SessionFiles::open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Conversation::read(std::io::BufReader::new(files)).with_context(|| format!("{}: bad session", path.display()))
    };
    let (ca, cb) = (read(a)?, read(b)?);
    let outcome = diff(&ca, &cb, rebind);
    let mut out = std::io::stdout().lock();
    for d in &outcome.differences {
        let _ = writeln!(out, "{d}");
    }
    for (path, conv) in [(a, &ca), (b, &cb)] {
        if let Some(torn) = &conv.torn {
            anyhow::bail!(
                "{}: line {}: torn last line ({} bytes), compared without it",
                path.display(),
                torn.line,
                torn.bytes
            );
        }
    }
    if !outcome.differences.is_empty() {
        anyhow::bail!("{} differences between {} and {}", outcome.differences.len(), a.display(), b.display());
    }
    Ok(())
}
