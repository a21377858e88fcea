//! `mesos-proxy`: argument parsing and wiring; the logic is in the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's allocator. A stream's lane allocates an
/// event's record and summary for each event of a batch (up to 64 alive at
/// once, more than glibc's per-thread cache keeps, so most went to its
/// arena's slow path), and the session writer frees each batch's lines
/// that the lane allocated. `proxy_vs_nginx` (its `--role proxy`, this
/// `main`, with mimalloc against glibc, the same code otherwise, in the
/// same run): the lane's CPU an event 1.77 → 1.64 µs on the mix, 1.67 →
/// 1.52 µs at 200 B, 6.17 → 5.51 µs at 4 KiB; the writer's unchanged.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Recording man-in-the-middle between Mesos frameworks and the master.
#[derive(Debug, Parser)]
#[command(name = "mesos-proxy", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once, at start: the size of `record`'s flags costs nothing.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Forward to the master and record v1 API traffic as session files.
    Record {
        /// Address to listen on (`host:port`; port 0 picks one).
        #[arg(long)]
        listen: SocketAddr,
        /// The master, `http://host:port`, or `https://host:port` for a master that speaks TLS
        /// (its certificate is checked against --master-ca, else the system's roots, for the
        /// host name, which is also sent as SNI), or `zk://host:port[,host:port...]/path` to
        /// follow the leading master through ZooKeeper, as Mesos clients do.
        #[arg(long)]
        master: String,
        /// Frameworks reach the proxy over TLS: its certificate chain (PEM, leaf first).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Require frameworks to present a client certificate issued by one of these CA
        /// certificates (PEM); needs --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_client_ca: Option<PathBuf>,
        /// The CA certificates (PEM) an https:// master's certificate is checked against,
        /// instead of the system's roots.
        #[arg(long, value_name = "FILE")]
        master_ca: Option<PathBuf>,
        /// The client certificate (PEM) presented to an https:// master that requires one.
        #[arg(long, value_name = "FILE", requires = "master_key")]
        master_cert: Option<PathBuf>,
        /// The private key of --master-cert (PEM).
        #[arg(long, value_name = "FILE", requires = "master_cert")]
        master_key: Option<PathBuf>,
        /// Directory of the session files (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Keep `Authorization` values and `Secret` values inside messages instead of redacting them.
        #[arg(long)]
        keep_secrets: bool,
        /// Cut a session into parts of about this size (bytes in the file; K, M, G for KiB, MiB,
        /// GiB): the next part's header names the one before.
        #[arg(long, value_name = "BYTES", value_parser = mesos_record::file::parse_size)]
        rotate_size: Option<u64>,
        /// Cut a session into parts of this age (s, m, h, d: `6h`), at its first batch after it.
        #[arg(long, value_name = "DURATION", value_parser = mesos_record::file::parse_age)]
        rotate_age: Option<std::time::Duration>,
        /// Compress the session files: `zstd` (`.session.jsonl.zst`, one frame per batch written).
        #[arg(long, value_name = "zstd", value_parser = ["zstd"])]
        compress: Option<String>,
        /// The largest request body, in bytes; a longer one is answered 413 and not forwarded.
        #[arg(long, default_value_t = mesos_proxy::Limits::default().max_body)]
        max_body: usize,
        /// Seconds a request's head or body may wait for its next bytes, and a connection for its
        /// next request, before it is closed (never applies to an event stream).
        #[arg(long, default_value_t = mesos_proxy::Limits::default().request_timeout.as_secs())]
        request_timeout: u64,
        /// Framework connections served at once; one more is answered 503 and closed.
        #[arg(long, default_value_t = mesos_proxy::Limits::default().max_connections)]
        max_connections: usize,
    },
    /// Turn a pcap or pcapng capture of the master's port into session files.
    Import {
        /// The capture (`tcpdump -w`, `tshark -w`, Wireshark; pcap or pcapng).
        capture: PathBuf,
        /// Directory of the session files (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The master's port: connections to it are the API traffic.
        #[arg(long, default_value_t = 5050)]
        port: u16,
        /// Keep `Authorization` values and `Secret` values inside messages instead of redacting them.
        #[arg(long)]
        keep_secrets: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let (listen, master, out, keep_secrets, limits, tls, storage) = match cli.command {
        Command::Record {
            listen,
            master,
            tls_cert,
            tls_key,
            tls_client_ca,
            master_ca,
            master_cert,
            master_key,
            out,
            keep_secrets,
            rotate_size,
            rotate_age,
            compress,
            max_body,
            request_timeout,
            max_connections,
        } => {
            let limits = mesos_proxy::Limits {
                max_body,
                request_timeout: std::time::Duration::from_secs(request_timeout.max(1)),
                max_connections: max_connections.max(1),
            };
            let tls = mesos_proxy::TlsFiles {
                cert: tls_cert,
                key: tls_key,
                client_ca: tls_client_ca,
                master_ca,
                master_cert,
                master_key,
            };
            let storage = mesos_record::file::Storage {
                rotate_size,
                rotate_age,
                compress: compress.map(|_| mesos_record::file::Compression::Zstd),
            };
            (listen, master, out, keep_secrets, limits, tls, storage)
        }
        Command::Import { capture, out, port, keep_secrets } => {
            let options = mesos_proxy::import::Options { out, port, keep_secrets };
            return import(&capture, &options);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("mesos-proxy: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let config = mesos_proxy::Config { listen, master, out, keep_secrets, limits };
    let result = runtime.block_on(async {
        let recorder = mesos_proxy::Recorder::bind_stored(config, &tls, storage).await?;
        // Scripts and tests read the bound address from this line.
        println!("listening on {}", recorder.local_addr());
        recorder.run(mesos_proxy::shutdown_signal()).await
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mesos-proxy: {err}");
            ExitCode::from(1)
        }
    }
}

/// `mesos-proxy import`: a progress bar (bytes of the capture) on a
/// terminal, the summary at the end; exit 1 when something was lost.
fn import(capture: &std::path::Path, options: &mesos_proxy::import::Options) -> ExitCode {
    let size = std::fs::metadata(capture).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let bar = indicatif::ProgressBar::new(size);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let result = mesos_proxy::import::import(capture, options, &mut |read| bar.set_position(read));
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            // A closed stdout (`| head`) must not hide the problems below.
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "imported {}: {}", capture.display(), report.summary());
            for file in &report.files {
                let _ = writeln!(stdout, "  {}", file.display());
            }
            drop(stdout);
            for problem in &report.problems {
                eprintln!("mesos-proxy: {problem}");
            }
            if report.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(err) => {
            eprintln!("mesos-proxy: {err}");
            ExitCode::from(1)
        }
    }
}
