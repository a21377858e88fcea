//! `mesos-replay`: the master side of mesos-tape: `sim` and `inspect`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use mesos_replay::sim::{self, Clock, Config};

#[derive(Parser)]
#[command(name = "mesos-replay", version, about = "The master side of mesos-tape")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        /// Seed of every id the master chooses.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write what the simulator serves as session files in this
        /// directory, one per framework.
        #[arg(long, value_name = "DIR")]
        record: Option<std::path::PathBuf>,
    },
    /// Print a session as a readable timeline (time, direction, call or
    /// event type, key ids, status), or with --json every entry decoded.
    Inspect {
        /// The session file (`-` for standard input).
        session: std::path::PathBuf,
        /// One JSON object a line, each entry with its message decoded.
        #[arg(long)]
        json: bool,
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
    let (listen, agents, cpus, mem, heartbeat, seed, record) = match cli.command {
        Command::Sim { listen, agents, cpus, mem, heartbeat, seed, record } => {
            (listen, agents, cpus, mem, heartbeat, seed, record)
        }
        Command::Inspect { session, json } => return inspect(&session, json),
    };
    let config = Config { agents, cpus, mem, heartbeat, seed, record, ..Config::default() };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let handle = sim::spawn(listener, config, Clock::Real)?;
        eprintln!(
            "mesos-replay sim: master {} listening on {}",
            handle.with_master(|m| m.id().to_owned()),
            handle.local_addr()
        );
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        // Dropping the handle ends the recorded sessions.
        drop(handle);
        Ok(())
    })
}

fn inspect(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let name = path.display().to_string();
    let input: Box<dyn std::io::Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?)
    };
    let stdout = std::io::stdout();
    let style = if json {
        mesos_replay::inspect::Style::Json
    } else {
        mesos_replay::inspect::Style::Timeline { colour: stdout.is_terminal() }
    };
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = match mesos_replay::inspect::inspect(input, &mut out, style) {
        Ok(summary) => summary,
        // `mesos-replay inspect ... | head`: the reader left, nothing is wrong.
        Err(mesos_replay::inspect::InspectError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{name}: bad session")),
    };
    if let Some(torn) = summary.torn {
        anyhow::bail!(
            "{name}: line {}: torn last line ({} bytes, the writer stopped mid-line), skipped; everything before it is above",
            torn.line,
            torn.bytes
        );
    }
    Ok(())
}
