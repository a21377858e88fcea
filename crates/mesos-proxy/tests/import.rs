//! `mesos-proxy import` on the fixture captures (`fixtures/captures/`, see
//! `fixtures/README.md`): the seed walkthrough captured by tcpdump on
//! loopback, and the same capture rewritten (reordered, retransmitted, a
//! gap, chunks split inside records, pcapng with two interfaces, truncated),
//! plus other link layers, IPv6, damage and arbitrary bytes made here.

use std::path::{Path, PathBuf};

use mesos_codec::session::{Entry, EntryKind, Header, Source};
use mesos_proxy::import::{Options, Report, import, import_from};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    test_support::fixture("captures").join(name)
}

/// A fresh output directory, removed when dropped.
struct Out(PathBuf);

impl Out {
    fn new(name: &str) -> Out {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("mesos-proxy-import-{name}-{}-{nanos}", std::process::id()));
        Out(dir)
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use test_support::read_session;

/// Imports a fixture: the report and its one session.
fn import_fixture(name: &str) -> (Report, Header, Vec<Entry>) {
    let out = Out::new(name);
    let report = import(&fixture(name), &Options::new(out.0.clone()), &mut |_| ()).unwrap();
    assert_eq!(report.files.len(), 1, "{report:?}");
    let (header, entries) = read_session(&report.files[0]);
    (report, header, entries)
}

fn calls(entries: &[Entry]) -> Vec<&str> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Request(r) => r.summary.name.as_deref(),
            _ => None,
        })
        .collect()
}

fn events(entries: &[Entry]) -> Vec<(String, Vec<u8>)> {
    entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Event(ev) => {
                Some((ev.summary.name.as_deref().unwrap_or_default().to_owned(), ev.record.clone()))
            }
            _ => None,
        })
        .collect()
}

const CALLS: [&str; 7] = ["SUBSCRIBE", "ACCEPT", "ACKNOWLEDGE", "ACKNOWLEDGE", "DECLINE", "KILL", "TEARDOWN"];
const EVENTS: [&str; 6] = ["SUBSCRIBED", "HEARTBEAT", "OFFERS", "UPDATE", "UPDATE", "UPDATE"];

#[test]
fn the_walkthrough_capture_imports_to_one_session_like_the_proxy_writes() {
    let (report, header, entries) = import_fixture("walkthrough.pcap");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.connections, report.sessions, report.gaps), (7, 1, 0));
    assert_eq!(report.entries, entries.len() as u64);
    assert_eq!(report.bytes, std::fs::metadata(fixture("walkthrough.pcap")).unwrap().len());
    assert!(report.files[0].file_name().unwrap().to_str().unwrap().starts_with("test13-20261124T230156.521Z"));
    assert_eq!(header.source, Source::Pcap);
    assert_eq!(header.capture.as_deref(), Some("walkthrough.pcap"));
    assert_eq!(header.master.as_deref(), Some("http://127.0.0.1:5050"));
    assert_eq!(header.started_at, "2026-11-24T23:01:56.521947000Z", "the capture's clock");
    assert_eq!(calls(&entries), CALLS);
    let names: Vec<String> = events(&entries).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, EVENTS);
    // Every request answered, the stream opened and closed, the session complete.
    let responses: Vec<(Option<u64>, u16, bool)> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Response(r) => Some((r.request, r.status, r.stream)),
            _ => None,
        })
        .collect();
    assert_eq!(responses.len(), 7);
    assert_eq!(responses[0], (Some(0), 200, true));
    assert!(responses[1..].iter().all(|(_, status, stream)| *status == 202 && !stream));
    let event = entries.iter().find_map(|e| match &e.kind {
        EntryKind::Event(ev) => Some(ev),
        _ => None,
    });
    let event = event.unwrap();
    assert_eq!(event.stream, 1);
    assert_eq!(event.chunks, None, "one record per chunk, as the master writes them");
    assert_eq!(event.summary.framework_id.as_deref(), Some("test13"));
    assert!(entries.iter().any(|e| matches!(&e.kind, EntryKind::Close(c) if c.stream == Some(1))));
    assert!(matches!(&entries.last().unwrap().kind, EntryKind::End(end) if end.complete));
    // Times from the capture, monotonic.
    assert!(entries.windows(2).all(|w| w[0].t_ns <= w[1].t_ns));
    assert!(entries.last().unwrap().t_ns > 80_000_000);
}

#[test]
fn reordered_retransmitted_and_two_interface_captures_import_the_same_entries() {
    let (_, _, reference) = import_fixture("walkthrough.pcap");
    for name in ["reordered.pcap", "retransmitted.pcap", "two-interfaces.pcapng"] {
        let (report, header, entries) = import_fixture(name);
        assert!(report.problems.is_empty(), "{name}: {:?}", report.problems);
        assert_eq!(report.gaps, 0, "{name}");
        assert_eq!(header.capture.as_deref(), Some(name));
        assert_eq!(entries, reference, "{name}: every entry, times included");
    }
}

#[test]
fn chunk_boundaries_inside_records_are_recorded_as_chunks() {
    let (_, _, reference) = import_fixture("walkthrough.pcap");
    let (report, _, entries) = import_fixture("split-chunks.pcap");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(events(&entries), events(&reference), "the same records byte for byte");
    let chunks: Vec<Option<Vec<u64>>> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Event(ev) => Some(ev.chunks.clone()),
            _ => None,
        })
        .collect();
    for (chunks, (_, record)) in chunks.iter().zip(events(&reference)) {
        // The xtask split each chunk in two, in the middle of its data.
        let framed = record.len() + record.len().to_string().len() + 1;
        assert_eq!(chunks.as_deref(), Some(&[framed as u64 / 2, framed as u64 - framed as u64 / 2][..]));
    }
}

#[test]
fn a_gap_is_a_note_and_the_stream_resumes_at_the_next_whole_chunk() {
    let (_, _, reference) = import_fixture("walkthrough.pcap");
    let (report, _, entries) = import_fixture("gap.pcap");
    assert_eq!(report.gaps, 1);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(
        report.problems,
        ["connection 1 (127.0.0.1:33236 → 127.0.0.1:5050): 1 gap(s) in the capture; traffic lost, the notes in its \
          session say where"]
    );
    // The OFFERS event was in the dropped segment; everything else is there.
    let mut expected = events(&reference);
    expected.retain(|(name, _)| name != "OFFERS");
    assert_eq!(events(&entries), expected);
    assert_eq!(calls(&entries), CALLS);
    let note = entries
        .iter()
        .find_map(|e| match &e.kind {
            EntryKind::Note(n) => Some(n),
            _ => None,
        })
        .unwrap();
    assert!(
        note.message.starts_with("gap in the capture: bytes 540..1685 of the master's side are missing"),
        "{}",
        note.message
    );
    assert!(note.message.ends_with("1145 bytes of the event stream skipped to the next chunk of whole records"));
    assert_eq!(note.refers, Some(1), "the stream");
    assert!(matches!(&entries.last().unwrap().kind, EntryKind::End(end) if !end.complete));
}

#[test]
fn a_truncated_capture_imports_everything_before_the_cut() {
    let (report, _, entries) = import_fixture("truncated.pcap");
    assert_eq!(
        report.problems,
        ["truncated.pcap: capture truncated at byte 6417: packet 33 is cut short (was the capture tool killed?); \
          everything before it was imported"]
    );
    assert_eq!(calls(&entries), ["SUBSCRIBE", "ACCEPT", "ACKNOWLEDGE"]);
    let names: Vec<String> = events(&entries).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["SUBSCRIBED", "HEARTBEAT", "OFFERS", "UPDATE"]);
    // The stream was still open where the capture ends: the importer closes it.
    let close = entries.iter().rev().find_map(|e| match &e.kind {
        EntryKind::Close(c) if c.stream == Some(1) => Some(c),
        _ => None,
    });
    assert_eq!(close.and_then(|c| c.reason.as_deref()), Some("the capture ended"));
    assert!(matches!(&entries.last().unwrap().kind, EntryKind::End(end) if !end.complete));
}

/// The packet records of a pcap file: (16-byte record header, frame).
fn records(pcap: &[u8]) -> Vec<([u8; 16], Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let header: [u8; 16] = pcap[at..at + 16].try_into().unwrap();
        let len = u32::from_le_bytes(header[8..12].try_into().unwrap()) as usize;
        let Some(frame) = pcap.get(at + 16..at + 16 + len) else { break };
        out.push((header, frame.to_vec()));
        at += 16 + len;
    }
    out
}

fn pcap_file(linktype: u32, records: &[([u8; 16], Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    out.extend(262_144u32.to_le_bytes());
    out.extend(linktype.to_le_bytes());
    for (header, frame) in records {
        let mut header = *header;
        header[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        header[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend(header);
        out.extend(frame);
    }
    out
}

/// An Ethernet/IPv4 frame's IPv4 packet as IPv6 (::1 to ::1).
fn ipv6(ip: &[u8]) -> Vec<u8> {
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let tcp = &ip[ihl..total];
    let mut out = vec![0x60, 0, 0, 0];
    out.extend((tcp.len() as u16).to_be_bytes());
    out.extend([6, 64]);
    let mut one = [0u8; 16];
    one[15] = 1;
    out.extend(one);
    out.extend(one);
    out.extend(tcp);
    out
}

/// Makes a packet's frame from its IPv4 packet.
type Frame = dyn Fn(&[u8]) -> Vec<u8>;

fn import_bytes(name: &str, bytes: Vec<u8>) -> (Report, Vec<(Header, Vec<Entry>)>) {
    let out = Out::new(name);
    let report = import_from(std::io::Cursor::new(bytes), name, &Options::new(out.0.clone()), &mut |_| ()).unwrap();
    let sessions = report.files.iter().map(|f| read_session(f)).collect();
    (report, sessions)
}

#[test]
fn linux_cooked_raw_ip_bsd_loopback_and_ipv6_import_alike() {
    let (_, _, reference) = import_fixture("walkthrough.pcap");
    let ethernet = records(&std::fs::read(fixture("walkthrough.pcap")).unwrap());
    let convert =
        |f: &Frame| -> Vec<([u8; 16], Vec<u8>)> { ethernet.iter().map(|(h, frame)| (*h, f(&frame[14..]))).collect() };
    let sll = |ip: &[u8]| [&[0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00][..], ip].concat();
    let sll_v6 = |ip: &[u8]| [&[0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd][..], &ipv6(ip)].concat();
    let null = |ip: &[u8]| [&2u32.to_le_bytes()[..], ip].concat();
    let loop_v6 = |ip: &[u8]| [&30u32.to_be_bytes()[..], &ipv6(ip)].concat();
    let raw = |ip: &[u8]| ip.to_vec();
    let cases: [(&str, u32, &Frame, &str); 5] = [
        ("sll", 113, &sll, "http://127.0.0.1:5050"),
        ("sll-ipv6", 113, &sll_v6, "http://[::1]:5050"),
        ("null", 0, &null, "http://127.0.0.1:5050"),
        ("loop-ipv6", 108, &loop_v6, "http://[::1]:5050"),
        ("raw", 101, &raw, "http://127.0.0.1:5050"),
    ];
    for (name, linktype, f, master) in cases {
        let (report, sessions) = import_bytes(name, pcap_file(linktype, &convert(f)));
        assert!(report.problems.is_empty(), "{name}: {:?}", report.problems);
        assert_eq!(sessions.len(), 1, "{name}");
        assert_eq!(sessions[0].0.master.as_deref(), Some(master), "{name}");
        assert_eq!(sessions[0].1, reference, "{name}");
    }
}

#[test]
fn an_unknown_link_type_is_said_with_where_its_packets_start() {
    let mut bytes = std::fs::read(fixture("walkthrough.pcap")).unwrap();
    bytes[20..24].copy_from_slice(&147u32.to_le_bytes());
    let (report, sessions) = import_bytes("unknown-link.pcap", bytes);
    assert!(sessions.is_empty());
    assert_eq!(
        report.problems,
        ["84 packet(s) skipped: link type 147 (not read by the importer) (the first is packet 1 at byte 24)"]
    );
}

#[test]
fn a_corrupt_pcapng_block_stops_the_import_after_what_came_before() {
    let mut bytes = std::fs::read(fixture("two-interfaces.pcapng")).unwrap();
    // Walk the blocks to the 30th packet block and break its length.
    let (mut at, mut packets) = (0, 0);
    while packets < 30 {
        let kind = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if kind == 6 {
            packets += 1;
            if packets == 30 {
                break;
            }
        }
        at += len;
    }
    bytes[at + 4..at + 8].copy_from_slice(&7u32.to_le_bytes());
    let (report, sessions) = import_bytes("corrupt.pcapng", bytes);
    assert_eq!(report.packets, 29);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].starts_with(&format!("corrupt.pcapng: corrupt block at byte {at} (after packet 29)")),
        "{:?}",
        report.problems
    );
    assert_eq!(calls(&sessions[0].1), ["SUBSCRIBE", "ACCEPT", "ACKNOWLEDGE"]);
    assert!(matches!(&sessions[0].1.last().unwrap().kind, EntryKind::End(end) if !end.complete));
}

#[test]
fn a_capture_that_starts_mid_way_picks_up_at_the_next_provable_request() {
    let (_, _, reference) = import_fixture("walkthrough.pcap");
    let all = records(&std::fs::read(fixture("walkthrough.pcap")).unwrap());
    // Start just after the ACCEPT's request head left (mid-body) and the
    // stream is under way.
    let accept = all.iter().position(|(_, f)| f.windows(8).any(|w| w == b"\"ACCEPT\"")).unwrap();
    let (report, sessions) = import_bytes("mid-way.pcap", pcap_file(1, &all[accept + 1..]));
    // The ACCEPT and the SUBSCRIBE stream are lost; the calls after them are
    // whole. With no stream connection holding the framework's session open,
    // each call is a session of its own, as the proxy files them.
    let entries: Vec<Entry> = sessions.iter().flat_map(|(_, entries)| entries.clone()).collect();
    assert_eq!(calls(&entries), ["ACKNOWLEDGE", "ACKNOWLEDGE", "DECLINE", "KILL", "TEARDOWN"]);
    assert_eq!(sessions.len(), 5);
    assert!(events(&entries).is_empty(), "the stream's head is not in the capture");
    assert_eq!(report.connections, 7);
    // Connection 1 is the ACCEPT's (its answer came without its request),
    // connection 2 the stream (no head to start from).
    assert_eq!(
        report.problems,
        [
            "connection 1 (127.0.0.1:33250 → 127.0.0.1:5050): a response (status 202) whose request is not in the \
             capture (picked up mid-way); not recorded",
            "connection 2 (127.0.0.1:33236 → 127.0.0.1:5050): the capture began after this connection opened: 1225 \
             bytes skipped, and no response followed that could be read"
        ]
    );
    let reference_calls: Vec<&Entry> = reference.iter().filter(|e| e.kind.name() == "request").skip(2).collect();
    let imported_calls: Vec<&Entry> = entries.iter().filter(|e| e.kind.name() == "request").collect();
    for (a, b) in imported_calls.iter().zip(reference_calls) {
        match (&a.kind, &b.kind) {
            (EntryKind::Request(a), EntryKind::Request(b)) => assert_eq!(a, b),
            _ => unreachable!(),
        }
    }
}

#[test]
fn not_a_capture_is_an_error() {
    let out = Out::new("garbage");
    let err = import_from(
        std::io::Cursor::new(b"GET / HTTP/1.1\r\n\r\n".to_vec()),
        "x",
        &Options::new(out.0.clone()),
        &mut |_| (),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "x: not a pcap or pcapng capture (unknown file header)");
    let err = import(Path::new("/nonexistent/capture.pcap"), &Options::new(out.0.clone()), &mut |_| ()).unwrap_err();
    assert!(err.to_string().starts_with("cannot open /nonexistent/capture.pcap"));
}

fn walkthrough_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| std::fs::read(fixture("walkthrough.pcap")).unwrap())
}

fn import_quietly(bytes: Vec<u8>) -> Option<Report> {
    let out = Out::new("prop");
    import_from(std::io::Cursor::new(bytes), "p", &Options::new(out.0.clone()), &mut |_| ()).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        import_quietly(bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_pcap_header_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut file = walkthrough_bytes()[..24].to_vec();
        file.extend(bytes);
        import_quietly(file);
    }

    #[test]
    fn every_truncation_imports_what_came_before(cut in 0usize..13248) {
        let bytes = walkthrough_bytes();
        let cut = cut.min(bytes.len());
        if let Some(report) = import_quietly(bytes[..cut].to_vec()) {
            // A cut inside a record is said; a cut between records loses no
            // packet, only what the capture would have held after it.
            let between = records(&bytes[..cut]).iter().map(|(_, f)| 16 + f.len()).sum::<usize>() + 24 == cut;
            prop_assert_eq!(report.problems.iter().any(|p| p.contains("truncated")), !between);
        }
    }

    #[test]
    fn flipped_bytes_never_panic(flips in proptest::collection::vec((0usize..13248, any::<u8>()), 1..16)) {
        let mut bytes = walkthrough_bytes().to_vec();
        for (at, value) in flips {
            let len = bytes.len();
            bytes[at % len] = value;
        }
        import_quietly(bytes);
    }
}

/// A TCP conversation written packet by packet, as raw IPv4 (link type 101).
struct Conversation {
    packets: Vec<(u64, Vec<u8>)>,
    time_us: u64,
}

/// One connection of a [`Conversation`].
struct Connection {
    client_port: u16,
    client_seq: u32,
    server_seq: u32,
}

impl Conversation {
    fn new() -> Conversation {
        Conversation { packets: Vec::new(), time_us: 1_795_555_800_000_000 }
    }

    fn packet(&mut self, c: &mut Connection, from_client: bool, flags: u8, payload: &[u8]) {
        self.time_us += 100;
        let (sport, dport) = if from_client { (c.client_port, 5050) } else { (5050, c.client_port) };
        let (seq, ack) = if from_client { (c.client_seq, c.server_seq) } else { (c.server_seq, c.client_seq) };
        let mut ip = vec![0x45, 0];
        ip.extend(((40 + payload.len()) as u16).to_be_bytes());
        ip.extend([0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1]);
        if !from_client {
            ip[12..20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        }
        ip.extend(sport.to_be_bytes());
        ip.extend(dport.to_be_bytes());
        ip.extend(seq.to_be_bytes());
        ip.extend(ack.to_be_bytes());
        ip.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        ip.extend(payload);
        let advance = payload.len() as u32 + u32::from(flags & 0x03 != 0); // SYN and FIN take one
        if from_client {
            c.client_seq = c.client_seq.wrapping_add(advance);
        } else {
            c.server_seq = c.server_seq.wrapping_add(advance);
        }
        self.packets.push((self.time_us, ip));
    }

    fn open(&mut self, client_port: u16) -> Connection {
        let mut c = Connection { client_port, client_seq: 1000 * u32::from(client_port), server_seq: 4_000_000_000 };
        self.packet(&mut c, true, 0x02, b"");
        self.packet(&mut c, false, 0x12, b"");
        self.packet(&mut c, true, 0x10, b"");
        c
    }

    fn send(&mut self, c: &mut Connection, from_client: bool, data: &[u8]) {
        self.packet(c, from_client, 0x18, data);
        self.packet(c, !from_client, 0x10, b"");
    }

    fn close(&mut self, c: &mut Connection, client_first: bool) {
        self.packet(c, client_first, 0x11, b"");
        self.packet(c, !client_first, 0x11, b"");
        self.packet(c, client_first, 0x10, b"");
    }

    fn pcap(&self) -> Vec<u8> {
        let records: Vec<([u8; 16], Vec<u8>)> = self
            .packets
            .iter()
            .map(|(t, ip)| {
                let mut header = [0u8; 16];
                header[0..4].copy_from_slice(&((t / 1_000_000) as u32).to_le_bytes());
                header[4..8].copy_from_slice(&((t % 1_000_000) as u32).to_le_bytes());
                (header, ip.clone())
            })
            .collect();
        pcap_file(101, &records)
    }
}

fn chunk(data: &[u8]) -> Vec<u8> {
    [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
}

fn record(data: &str) -> Vec<u8> {
    format!("{}\n{data}", data.len()).into_bytes()
}

#[test]
fn keep_alive_chunked_requests_and_sized_answers_pair_up() {
    let subscribe = r#"{"framework_id":{"value":"fw1"},"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"fw1"}}}}"#;
    let subscribed =
        r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"fw1"},"heartbeat_interval_seconds":15.0}}"#;
    let decline = r#"{"framework_id":{"value":"fw1"},"type":"DECLINE","decline":{"offer_ids":[{"value":"o1"}]}}"#;
    let reconcile = r#"{"framework_id":{"value":"fw1"},"type":"RECONCILE","reconcile":{}}"#;
    let mut capture = Conversation::new();
    // The subscription: a chunked request body (as mesos-framework sends it).
    let mut stream = capture.open(40_001);
    let (a, b) = subscribe.split_at(40);
    let head =
        "POST /api/v1/scheduler HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    capture.send(
        &mut stream,
        true,
        &[head.as_bytes(), &chunk(a.as_bytes()), &chunk(b.as_bytes()), b"0\r\n\r\n"].concat(),
    );
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMesos-Stream-Id: s1\r\nTransfer-Encoding: chunked\r\n\r\n";
    capture.send(&mut stream, false, &[head.as_bytes(), &chunk(&record(subscribed))].concat());
    capture.send(&mut stream, false, &chunk(&record(r#"{"type":"HEARTBEAT"}"#)));
    // Calls, answers and a request outside the v1 APIs (recorded in the
    // session its connection touched, as the proxy records it), on one
    // keep-alive connection.
    let mut keep_alive = capture.open(40_002);
    let post = |body: &str| {
        format!(
            "POST /api/v1/scheduler HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    capture.send(&mut keep_alive, true, post(decline).as_bytes());
    capture.send(
        &mut keep_alive,
        false,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
    );
    capture.send(&mut keep_alive, true, post(reconcile).as_bytes());
    let refusal = "Framework cannot be found";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{refusal}",
        refusal.len()
    );
    capture.send(&mut keep_alive, false, answer.as_bytes());
    capture.send(&mut keep_alive, true, b"GET /health HTTP/1.1\r\n\r\n");
    capture.send(&mut keep_alive, false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    capture.close(&mut keep_alive, true);
    capture.send(&mut stream, false, b"0\r\n\r\n");
    capture.close(&mut stream, false);

    let (report, sessions) = import_bytes("keep-alive.pcap", capture.pcap());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.connections, report.sessions), (2, 1));
    let entries = &sessions[0].1;
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "request", "response", "event", "event", "request", "response", "request", "response", "request",
            "response", "close", "close", "close", "end"
        ]
    );
    let EntryKind::Request(sub) = &entries[0].kind else { unreachable!() };
    assert_eq!(sub.body, subscribe.as_bytes(), "the chunked body, de-chunked");
    assert_eq!(sub.summary.name.as_deref(), Some("SUBSCRIBE"));
    assert_eq!(calls(entries), ["SUBSCRIBE", "DECLINE", "RECONCILE"]);
    let EntryKind::Response(accepted) = &entries[5].kind else { unreachable!() };
    assert_eq!((accepted.request, accepted.status), (Some(4), 202), "the 100 Continue is not an answer");
    let EntryKind::Response(refused) = &entries[7].kind else { unreachable!() };
    assert_eq!((refused.request, refused.status, refused.body.as_slice()), (Some(6), 400, refusal.as_bytes()));
    assert_eq!((entries[4].conn, entries[6].conn), (2, 2), "one connection, two calls");
    let EntryKind::Request(health) = &entries[8].kind else { unreachable!() };
    assert_eq!((health.method.as_str(), health.path.as_str(), entries[8].conn), ("GET", "/health", 2));
    assert_eq!(health.summary, mesos_codec::session::Summary::default(), "not a v1 call");
    let EntryKind::Response(ok) = &entries[9].kind else { unreachable!() };
    assert_eq!((ok.request, ok.status, ok.body.as_slice(), ok.format), (Some(8), 200, &b"ok"[..], None));
    assert!(
        matches!(&entries[10].kind, EntryKind::Close(c) if c.stream.is_none() && c.by == mesos_codec::session::Party::Framework)
    );
    assert!(
        matches!(&entries[11].kind, EntryKind::Close(c) if c.stream == Some(1) && c.by == mesos_codec::session::Party::Master)
    );
    assert!(
        matches!(&entries[12].kind, EntryKind::Close(c) if c.stream.is_none() && c.by == mesos_codec::session::Party::Master)
    );
}

#[test]
fn the_command_prints_the_summary_and_exits_1_when_something_was_lost() {
    let run = |name: &str| {
        let out = Out::new(&format!("cli-{name}"));
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-proxy"))
            .arg("import")
            .arg(fixture(name))
            .arg("--out")
            .arg(&out.0)
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    let (code, stdout, stderr) = run("walkthrough.pcap");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("walkthrough.pcap: 84 packets, 7 connections, 1 session, 29 entries, 0 gaps\n"),
        "{stdout}"
    );
    assert!(stdout.contains("test13-20261124T230156.521Z.session.jsonl"), "{stdout}");
    let (code, stdout, stderr) = run("truncated.pcap");
    assert_eq!(code, Some(1));
    assert!(stdout.contains("1 session"), "{stdout}");
    assert!(
        stderr.contains("mesos-proxy: truncated.pcap: capture truncated at byte 6417: packet 33 is cut short"),
        "{stderr}"
    );
    let (code, _, stderr) = run("gap.pcap");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("1 gap(s) in the capture"), "{stderr}");
}

#[test]
fn secrets_in_captured_calls_and_headers_are_redacted_unless_kept() {
    // An ACCEPT launching a task whose environment has a `SECRET` variable
    // (`hunter2`, base64 `aHVudGVyMg==`), sent with a bearer token.
    let accept = r#"{"framework_id":{"value":"fw-secret"},"type":"ACCEPT","accept":{"offer_ids":[{"value":"o1"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t1"},"agent_id":{"value":"a1"},"command":{"value":"env","environment":{"variables":[{"name":"PASSWORD","type":"SECRET","secret":{"type":"VALUE","value":{"data":"aHVudGVyMg=="}}},{"name":"PLAIN","value":"x"}]}}}]}}]}}"#;
    let mut capture = Conversation::new();
    let mut connection = capture.open(40_003);
    let head = format!(
        "POST /api/v1/scheduler HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer tok3n\r\nContent-Length: {}\r\n\r\n",
        accept.len()
    );
    capture.send(&mut connection, true, &[head.as_bytes(), accept.as_bytes()].concat());
    capture.send(&mut connection, false, b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    capture.close(&mut connection, true);
    let pcap = capture.pcap();

    for keep in [false, true] {
        let out = Out::new(&format!("secrets-{keep}"));
        let mut options = Options::new(out.0.clone());
        options.keep_secrets = keep;
        let report = import_from(std::io::Cursor::new(pcap.clone()), "secrets.pcap", &options, &mut |_| ()).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.files.len(), 1, "{:?}", report.files);
        let (header, entries) = read_session(&report.files[0]);
        assert_eq!(header.redacted, !keep);
        let EntryKind::Request(request) = &entries[0].kind else { panic!("{:?}", entries[0]) };
        let authorization = request.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let notes: Vec<&mesos_codec::session::Note> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::Note(n) => Some(n),
                _ => None,
            })
            .collect();
        if keep {
            assert_eq!(request.body, accept.as_bytes());
            assert_eq!(authorization.map(|(_, v)| v.as_str()), Some("Bearer tok3n"));
            assert!(notes.is_empty(), "{notes:?}");
        } else {
            assert!(!body.contains("aHVudGVyMg=="), "{body}");
            assert!(body.contains(r#""name":"PLAIN""#), "{body}");
            assert_eq!(authorization.map(|(_, v)| v.as_str()), Some("<redacted:1>"));
            // One note, right after the call, saying its body is not what was sent.
            assert_eq!(notes.len(), 1, "{notes:?}");
            assert!(matches!(&entries[1].kind, EntryKind::Note(n) if n.refers == Some(entries[0].seq)));
            assert!(notes[0].message.contains("secret value(s) inside the body redacted"), "{}", notes[0].message);
            assert!(notes[0].message.ends_with("what was sent"), "{}", notes[0].message);
        }
    }
}
