//! `mesos-proxy import`: a pcap or pcapng capture of a master's port turned
//! into the same session files as live recording.
//!
//! Where a proxy is not allowed, `tcpdump -w` often is. The importer reads
//! the capture once, front to back, in layers with one job each:
//!
//! - [`pcap`]: pcap and pcapng blocks ([`pcap_parser`]), pcapng interfaces
//!   and their timestamp resolutions, the link layer (Ethernet, Linux cooked
//!   SLL and SLL2, raw IP, BSD loopback), IPv4 and IPv6, TCP;
//! - [`tcp`]: reassembly of each direction of each connection to the port
//!   (out-of-order segments, retransmissions and overlaps, holes the
//!   capture lost, reported as gaps);
//! - [`http`]: HTTP/1.1 framing (keep-alive, `Content-Length` and chunked
//!   bodies), resynchronising only at boundaries it can prove;
//! - `conn`: requests paired with responses, RecordIO event streams, and
//!   summaries, exactly as the recording proxy makes them ([`mesos_codec::api`], [`mesos_record`]);
//! - `sessions`: the proxy's rules for filing traffic into one session per
//!   framework, on the capture's clock, written as files.
//!
//! Sessions have `"source":"pcap"`, `capture` (the capture file's name) and
//! `master` (`http://` and the server address of the connection that opened
//! them) in their header; times come from the capture. Whatever was lost (a
//! gap in the capture, bytes skipped to find a message boundary again, a
//! capture cut short or damaged) is a `note` in the session it concerns
//! (whose `end` then says `"complete":false`) and a line of
//! [`Report::problems`]; everything before the damage is imported.
//!
//! ```no_run
//! use mesos_proxy::import::{Options, import};
//! let report = import("master.pcap".as_ref(), &Options::new("sessions".into()), &mut |_bytes_read| ())?;
//! println!("{}", report.summary());
//! if !report.problems.is_empty() {
//!     std::process::exit(1);
//! }
//! # Ok::<(), mesos_proxy::import::Error>(())
//! ```

pub mod http;
pub mod pcap;
pub mod tcp;

mod conn;
mod sessions;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use conn::{Conn, Dir};
use pcap::{CaptureError, CaptureReader, Decoded};
use sessions::Sessions;

/// The settings of an import.
///
/// ```
/// let options = mesos_proxy::import::Options { port: 15050, ..mesos_proxy::import::Options::new("out".into()) };
/// assert!(!options.keep_secrets);
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// The directory of the session files (created if missing).
    pub out: PathBuf,
    /// The master's port: connections to it are the API traffic.
    pub port: u16,
    /// Keep `Authorization` values and `Secret` values inside messages.
    pub keep_secrets: bool,
}

impl Options {
    /// Port 5050, secrets redacted, files to `out`.
    ///
    /// ```
    /// let options = mesos_proxy::import::Options::new("sessions".into());
    /// assert_eq!(options.port, 5050);
    /// ```
    pub fn new(out: PathBuf) -> Options {
        Options { out, port: 5050, keep_secrets: false }
    }
}

/// What an import did.
///
/// ```
/// let report = mesos_proxy::import::Report::default();
/// assert!(report.problems.is_empty()); // nothing lost: exit status 0
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The capture's size in bytes, as far as it was read.
    pub bytes: u64,
    /// Packets read.
    pub packets: u64,
    /// TCP connections to the port.
    pub connections: u64,
    /// Sessions written.
    pub sessions: usize,
    /// Entries written, all sessions (headers not counted).
    pub entries: u64,
    /// Gaps: holes in the capture inside connections to the port.
    pub gaps: u64,
    /// The session files, in the order they were opened.
    pub files: Vec<PathBuf>,
    /// What was lost, each naming where (packet, byte offset, connection);
    /// empty when everything was imported.
    pub problems: Vec<String>,
}

impl Report {
    /// One line for people.
    ///
    /// ```
    /// let report = mesos_proxy::import::Report { connections: 3, sessions: 1, entries: 20, ..Default::default() };
    /// assert_eq!(report.summary(), "0 packets, 3 connections, 1 session, 20 entries, 0 gaps");
    /// ```
    pub fn summary(&self) -> String {
        let s = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}, {}, {}, {}, {}",
            s(self.packets, "packet", "packets"),
            s(self.connections, "connection", "connections"),
            s(self.sessions as u64, "session", "sessions"),
            s(self.entries, "entry", "entries"),
            s(self.gaps, "gap", "gaps"),
        )
    }
}

/// Why an import could not start.
///
/// ```
/// use mesos_proxy::import::{Error, Options, import};
/// let err = import("no/such/capture.pcap".as_ref(), &Options::new("out".into()), &mut |_| ()).unwrap_err();
/// assert!(matches!(err, Error::Open { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The capture cannot be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The capture.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The output directory cannot be created.
    #[error("cannot write session files to {}: {source}", dir.display())]
    Out {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a capture this importer reads.
    #[error("{capture}: {source}")]
    Capture {
        /// The capture's name.
        capture: String,
        /// Why.
        source: CaptureError,
    },
}

/// Imports the capture at `path`; `progress` is told how many bytes of it
/// have been read, now and then.
///
/// ```no_run
/// use mesos_proxy::import::{Options, import};
/// let options = Options { port: 5051, ..Options::new("sessions".into()) };
/// let report = import("master.pcapng".as_ref(), &options, &mut |read| eprint!("\r{read} bytes"))?;
/// for problem in &report.problems {
///     eprintln!("lost: {problem}");
/// }
/// # Ok::<(), mesos_proxy::import::Error>(())
/// ```
pub fn import(path: &Path, options: &Options, progress: &mut dyn FnMut(u64)) -> Result<Report, Error> {
    let file = std::fs::File::open(path).map_err(|source| Error::Open { path: path.to_owned(), source })?;
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    // The reader keeps a buffer of its own: no BufReader.
    import_from(file, &name, options, progress)
}

/// Imports a capture read from `input`, named `name` in the session headers.
///
/// ```
/// use mesos_proxy::import::{Options, import_from};
/// let out = std::env::temp_dir().join(format!("import-doc-{}", std::process::id()));
/// let err = import_from(std::io::Cursor::new(b"not a capture at all".to_vec()), "x.pcap", &Options::new(out), &mut |_| ());
/// assert!(err.unwrap_err().to_string().contains("not a pcap or pcapng capture"));
/// ```
pub fn import_from<R: Read + Send + 'static>(
    input: R,
    name: &str,
    options: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<Report, Error> {
    let mut reader = CaptureReader::new(input).map_err(|source| Error::Capture { capture: name.to_owned(), source })?;
    std::fs::create_dir_all(&options.out).map_err(|source| Error::Out { dir: options.out.clone(), source })?;
    let mut importer = Importer {
        port: options.port,
        sessions: Sessions::new(options.out.clone(), name.to_owned(), options.keep_secrets),
        conns: FastMap::default(),
        closed: FastSet::default(),
        next_conn: 1,
        last_time: 0,
        problems: Vec::new(),
        odd: HashMap::new(),
        gaps: 0,
    };
    let mut last_progress = 0;
    loop {
        match reader.next_packet(|packet| importer.packet(packet)) {
            Ok(Some(())) => {
                let at = reader.position();
                if at - last_progress >= 1 << 20 {
                    last_progress = at;
                    progress(at);
                }
            }
            Ok(None) => break,
            Err(err) => {
                importer.problems.push(format!("{name}: {err}; everything before it was imported"));
                importer.sessions.mark_live_lost();
                break;
            }
        }
    }
    progress(reader.position());
    let mut report = importer.finish();
    report.bytes = reader.position();
    report.packets = reader.packets();
    Ok(report)
}

/// Packets that were skipped, by kind: how many, and the first one.
#[derive(Debug, Clone, Copy)]
struct Odd {
    count: u64,
    packet: u64,
    offset: u64,
}

type Key = (SocketAddr, SocketAddr);

/// A fast hash for connection keys (addresses are not attacker-chosen keys
/// worth SipHash here: a capture is read once, and the map holds only open
/// connections).
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
type FastSet<K> = HashSet<K, std::hash::BuildHasherDefault<FxHasher>>;

struct Importer {
    port: u16,
    sessions: Sessions,
    /// Open connections by (client, server).
    conns: FastMap<Key, Conn>,
    /// Connections that closed: stray packets after the close are not new ones.
    closed: FastSet<Key>,
    next_conn: u64,
    last_time: u64,
    problems: Vec<String>,
    /// Packets skipped, by reason.
    odd: HashMap<String, Odd>,
    gaps: u64,
}

impl Importer {
    fn packet(&mut self, packet: pcap::Packet<'_>) {
        self.last_time = self.last_time.max(packet.time_ns);
        let segment = match pcap::decode(packet.linktype, packet.data) {
            Decoded::Tcp(segment) => segment,
            Decoded::Other => return,
            Decoded::Fragment => return self.odd("an IP fragment (not reassembled)".to_owned(), &packet),
            Decoded::UnknownLink => {
                return self.odd(format!("link type {} (not read by the importer)", packet.linktype), &packet);
            }
            Decoded::Malformed(why) => return self.odd(format!("malformed: {why}"), &packet),
        };
        let (dir, key) = if segment.dst.port() == self.port {
            (Dir::Up, (segment.src, segment.dst))
        } else if segment.src.port() == self.port {
            (Dir::Down, (segment.dst, segment.src))
        } else {
            return;
        };
        let opening = segment.flags.syn && !segment.flags.ack && dir == Dir::Up;
        if opening {
            self.closed.remove(&key);
            // The same addresses again: a new connection, unless this is the
            // SYN of the one we have, sent again.
            if self.conns.get(&key).is_some_and(|c| c.has_side(Dir::Down)) {
                if let Some(mut old) = self.conns.remove(&key) {
                    self.close(&mut old, false);
                }
            }
        }
        if !self.conns.contains_key(&key) {
            let carries = segment.flags.syn || !segment.payload.is_empty() || segment.missing > 0;
            if !carries || self.closed.contains(&key) {
                return; // an acknowledgement or a retransmission after the close
            }
            let id = self.next_conn;
            self.next_conn += 1;
            self.conns.insert(key, Conn::new(id, key.0, key.1));
        }
        let Some(conn) = self.conns.get_mut(&key) else { return };
        conn.segment(&mut self.sessions, dir, &segment, packet.number, packet.time_ns);
        if conn.done() {
            if let Some(mut conn) = self.conns.remove(&key) {
                self.close(&mut conn, false);
            }
            if self.closed.len() > 100_000 {
                self.closed.clear();
            }
            self.closed.insert(key);
        }
    }

    fn odd(&mut self, reason: String, packet: &pcap::Packet<'_>) {
        self.odd.entry(reason).or_insert(Odd { count: 0, packet: packet.number, offset: packet.offset }).count += 1;
    }

    fn close(&mut self, conn: &mut Conn, at_end: bool) {
        conn.close(&mut self.sessions, self.last_time, at_end);
        self.gaps += conn.losses.gaps;
        if conn.losses.lost {
            let mut parts = Vec::new();
            if conn.losses.gaps > 0 {
                parts.push(format!("{} gap(s) in the capture", conn.losses.gaps));
            }
            let orphans: Vec<&str> = conn.orphan_notes().collect();
            if orphans.is_empty() {
                parts.push("traffic lost, the notes in its session say where".to_owned());
            } else {
                // Nothing of it reached a session: the notes go here.
                parts.extend(orphans.into_iter().map(str::to_owned));
            }
            self.problems.push(format!("connection {} ({}): {}", conn.id, conn.addresses, parts.join("; ")));
        }
    }

    fn finish(mut self) -> Report {
        let mut open: Vec<Conn> = std::mem::take(&mut self.conns).into_values().collect();
        open.sort_by_key(|c| c.id);
        for conn in &mut open {
            self.close(conn, true);
        }
        self.sessions.finish_all(self.last_time);
        let mut odd: Vec<(String, Odd)> = self.odd.into_iter().collect();
        odd.sort_by_key(|(_, o)| o.packet);
        for (reason, o) in odd {
            self.problems.push(format!(
                "{} packet(s) skipped: {reason} (the first is packet {} at byte {})",
                o.count, o.packet, o.offset
            ));
        }
        self.problems.extend(std::mem::take(&mut self.sessions.write_errors));
        Report {
            bytes: 0,
            packets: 0,
            connections: self.next_conn - 1,
            sessions: self.sessions.count(),
            entries: self.sessions.entries,
            gaps: self.gaps,
            files: self.sessions.files,
            problems: self.problems,
        }
    }
}
