//! `cargo xtask captures CAPTURE [--port P]`: builds `fixtures/captures/`
//! from a real capture of the walkthrough (tcpdump on `lo`, Ethernet, pcap),
//! as `tests/import_live.rs` keeps it with `MESOS_TAPE_CAPTURE_OUT=FILE`.
//!
//! Only the connections to the proxy's port `P` (the first SYN's
//! destination when not given) are kept, and that port becomes 5050, the
//! importer's default; TCP and IP checksums are computed again. Each
//! fixture then rewrites packets in one way (see `fixtures/README.md`).
//! This file reads and writes pcap and pcapng by hand: xtask does not
//! depend on the crates it serves.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// The port the fixtures use (the importer's default).
const PORT: u16 = 5050;

#[derive(Debug, Clone)]
struct Packet {
    /// Nanoseconds since the epoch.
    time_ns: u64,
    /// An Ethernet frame carrying IPv4.
    data: Vec<u8>,
}

/// Offsets of the interesting parts of an Ethernet/IPv4/TCP frame.
#[derive(Debug, Clone, Copy)]
struct Tcp {
    ip: usize,
    tcp: usize,
    payload: usize,
    end: usize,
}

impl Packet {
    fn tcp(&self) -> Option<Tcp> {
        let d = &self.data;
        if d.len() < 34 || d[12..14] != [0x08, 0x00] || d[14] >> 4 != 4 || d[23] != 6 {
            return None;
        }
        let ip = 14;
        let ihl = usize::from(d[ip] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([d[ip + 2], d[ip + 3]]));
        let tcp = ip + ihl;
        let offset = usize::from(*d.get(tcp + 12)? >> 4) * 4;
        let end = ip + total;
        (end <= d.len()).then_some(Tcp { ip, tcp, payload: tcp + offset, end })
    }
    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.data[at], self.data[at + 1]])
    }
    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes([self.data[at], self.data[at + 1], self.data[at + 2], self.data[at + 3]])
    }
    fn ports(&self) -> Option<(u16, u16)> {
        let t = self.tcp()?;
        Some((self.u16_at(t.tcp), self.u16_at(t.tcp + 2)))
    }
    fn seq(&self) -> u32 {
        self.tcp().map_or(0, |t| self.u32_at(t.tcp + 4))
    }
    fn ack(&self) -> u32 {
        self.tcp().map_or(0, |t| self.u32_at(t.tcp + 8))
    }
    fn flags(&self) -> u8 {
        self.tcp().map_or(0, |t| self.data[t.tcp + 13])
    }
    fn payload(&self) -> &[u8] {
        self.tcp().map_or(&[][..], |t| &self.data[t.payload..t.end])
    }
    fn set_u16(&mut self, at: usize, v: u16) {
        self.data[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }
    fn set_u32(&mut self, at: usize, v: u32) {
        self.data[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
    fn set_seq(&mut self, v: u32) {
        if let Some(t) = self.tcp() {
            self.set_u32(t.tcp + 4, v);
        }
    }
    fn set_ack(&mut self, v: u32) {
        if let Some(t) = self.tcp() {
            self.set_u32(t.tcp + 8, v);
        }
    }
    /// Replaces the payload, fixing the IP length.
    fn set_payload(&mut self, payload: &[u8]) {
        let Some(t) = self.tcp() else { return };
        self.data.truncate(t.payload);
        self.data.extend_from_slice(payload);
        let total = (self.data.len() - t.ip) as u16;
        self.set_u16(t.ip + 2, total);
    }
    /// Computes the IPv4 header and TCP checksums again.
    fn checksum(&mut self) {
        let Some(t) = self.tcp() else { return };
        self.set_u16(t.ip + 10, 0);
        let ip_sum = fold(sum(&self.data[t.ip..t.tcp]));
        self.set_u16(t.ip + 10, ip_sum);
        self.set_u16(t.tcp + 16, 0);
        let len = (t.end - t.tcp) as u32;
        let mut s = sum(&self.data[t.ip + 12..t.ip + 20]) + 6 + len;
        s += sum(&self.data[t.tcp..t.end]);
        let tcp_sum = fold(s);
        self.set_u16(t.tcp + 16, tcp_sum);
    }
}

fn sum(data: &[u8]) -> u32 {
    data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum()
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

/// Reads a little-endian Ethernet pcap (microseconds or nanoseconds).
fn read_pcap(bytes: &[u8]) -> Result<Vec<Packet>> {
    let le32 = |at: usize| -> Result<u32> {
        let b = bytes.get(at..at + 4).context("pcap cut short")?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let nanos = match le32(0)? {
        0xa1b2_c3d4 => false,
        0xa1b2_3c4d => true,
        magic => bail!("not a little-endian pcap file (magic {magic:#x}); make it with tcpdump -w"),
    };
    if le32(20)? != 1 {
        bail!("link type {} (expected Ethernet: capture on lo with tcpdump -i lo)", le32(20)?);
    }
    let mut packets = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let (sec, frac, caplen) = (le32(at)?, le32(at + 4)?, le32(at + 8)? as usize);
        let data = bytes.get(at + 16..at + 16 + caplen).context("pcap packet cut short")?.to_vec();
        let time_ns = u64::from(sec) * 1_000_000_000 + u64::from(frac) * if nanos { 1 } else { 1000 };
        packets.push(Packet { time_ns, data });
        at += 16 + caplen;
    }
    Ok(packets)
}

/// A microsecond Ethernet pcap.
fn write_pcap(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0; 8]);
    out.extend(262_144u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    for p in packets {
        out.extend(((p.time_ns / 1_000_000_000) as u32).to_le_bytes());
        out.extend(((p.time_ns % 1_000_000_000 / 1000) as u32).to_le_bytes());
        out.extend((p.data.len() as u32).to_le_bytes());
        out.extend((p.data.len() as u32).to_le_bytes());
        out.extend(&p.data);
    }
    out
}

fn pcapng_block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    out.extend(kind.to_le_bytes());
    out.extend(total.to_le_bytes());
    out.extend(body);
    out.extend(std::iter::repeat_n(0, padded - body.len()));
    out.extend(total.to_le_bytes());
}

fn pcapng_option(body: &mut Vec<u8>, code: u16, value: &[u8]) {
    body.extend(code.to_le_bytes());
    body.extend((value.len() as u16).to_le_bytes());
    body.extend(value);
    body.extend(std::iter::repeat_n(0, value.len().div_ceil(4) * 4 - value.len()));
}

/// One pcapng interface: link type, `if_tsresol`, and how a packet's frame
/// is made from the Ethernet one.
struct Interface {
    linktype: u16,
    tsresol: u8,
    name: &'static str,
    frame: fn(&[u8]) -> Vec<u8>,
}

fn pcapng(packets: &[(usize, Packet)], interfaces: &[Interface]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend(0x1a2b_3c4du32.to_le_bytes());
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    pcapng_option(&mut shb, 4, b"cargo xtask captures"); // shb_userappl
    shb.extend([0; 4]); // opt_endofopt
    pcapng_block(&mut out, 0x0a0d_0d0a, &shb);
    for i in interfaces {
        let mut idb = Vec::new();
        idb.extend(i.linktype.to_le_bytes());
        idb.extend(0u16.to_le_bytes());
        idb.extend(262_144u32.to_le_bytes());
        pcapng_option(&mut idb, 2, i.name.as_bytes()); // if_name
        pcapng_option(&mut idb, 9, &[i.tsresol]); // if_tsresol
        idb.extend([0; 4]);
        pcapng_block(&mut out, 1, &idb);
    }
    for (interface, p) in packets {
        let i = &interfaces[*interface];
        let units = 10u64.pow(u32::from(i.tsresol));
        let ts = u128::from(p.time_ns) * u128::from(units) / 1_000_000_000;
        let frame = (i.frame)(&p.data);
        let mut epb = Vec::new();
        epb.extend((*interface as u32).to_le_bytes());
        epb.extend(((ts >> 32) as u32).to_le_bytes());
        epb.extend((ts as u32).to_le_bytes());
        epb.extend((frame.len() as u32).to_le_bytes());
        epb.extend((frame.len() as u32).to_le_bytes());
        epb.extend(&frame);
        epb.extend(std::iter::repeat_n(0, frame.len().div_ceil(4) * 4 - frame.len()));
        pcapng_block(&mut out, 6, &epb);
    }
    out
}

/// Linux cooked capture v2 (SLL2) from an Ethernet frame.
fn sll2(ethernet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ethernet.len() + 6);
    out.extend([0x08, 0x00]); // protocol: IPv4
    out.extend([0, 0]); // reserved
    out.extend(1u32.to_be_bytes()); // interface index
    out.extend(772u16.to_be_bytes()); // ARPHRD_LOOPBACK
    out.extend([0, 6]); // packet type (outgoing), address length
    out.extend(&ethernet[6..12]);
    out.extend([0, 0]);
    out.extend(&ethernet[14..]);
    out
}

fn ethernet(frame: &[u8]) -> Vec<u8> {
    frame.to_vec()
}

/// The connections to `port`, made to go to [`PORT`], checksums fixed.
fn filtered(packets: &[Packet], port: u16) -> Vec<Packet> {
    let mut out = Vec::new();
    for p in packets {
        let Some((src, dst)) = p.ports() else { continue };
        if src != port && dst != port {
            continue;
        }
        let mut p = p.clone();
        if let Some(t) = p.tcp() {
            if src == port {
                p.set_u16(t.tcp, PORT);
            } else {
                p.set_u16(t.tcp + 2, PORT);
            }
        }
        p.checksum();
        out.push(p);
    }
    out
}

fn from_server(p: &Packet) -> bool {
    p.ports().is_some_and(|(src, _)| src == PORT)
}

/// The client port of the first connection (the SUBSCRIBE).
fn subscribe_port(packets: &[Packet]) -> Option<u16> {
    packets.iter().find(|p| p.flags() & (SYN | ACK) == SYN).and_then(|p| p.ports()).map(|(src, _)| src)
}

fn on_conn(p: &Packet, client: u16) -> bool {
    p.ports().is_some_and(|(a, b)| a == client || b == client)
}

/// Indexes of the master's data segments on the SUBSCRIBE connection.
fn stream_segments(packets: &[Packet]) -> Vec<usize> {
    let Some(client) = subscribe_port(packets) else { return Vec::new() };
    (0..packets.len())
        .filter(|&i| on_conn(&packets[i], client) && from_server(&packets[i]) && !packets[i].payload().is_empty())
        .collect()
}

/// Each data segment of the event stream split in two, the second half
/// captured before the first (as a multi-queue card may deliver them).
fn reordered(packets: &[Packet]) -> Vec<Packet> {
    let segments = stream_segments(packets);
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let payload = p.payload().to_vec();
        if !segments.contains(&i) || payload.len() < 2 {
            out.push(p.clone());
            continue;
        }
        let half = payload.len() / 2;
        let mut second = p.clone();
        second.set_seq(p.seq().wrapping_add(half as u32));
        second.set_payload(&payload[half..]);
        second.checksum();
        let mut first = p.clone();
        first.set_payload(&payload[..half]);
        first.time_ns += 1_000;
        first.checksum();
        out.push(second);
        out.push(first);
    }
    out
}

/// Every third data segment of the stream sent again later, and one
/// segment overlapping two events (the second half of one, the first half
/// of the next) captured just before the second.
fn retransmitted(packets: &[Packet]) -> Vec<Packet> {
    let segments = stream_segments(packets);
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        out.push(p.clone());
        if let Some(k) = segments.iter().position(|&s| s == i) {
            if k % 3 == 1 {
                let mut again = p.clone();
                again.time_ns += 2_000;
                out.push(again);
            }
            // The tail of this segment and the head of the next, as one.
            if k == 2 {
                if let Some(&next) = segments.get(3) {
                    let (a, b) = (p.payload(), packets[next].payload());
                    let mut overlap = p.clone();
                    let half = a.len() / 2;
                    let mut payload = a[half..].to_vec();
                    payload.extend_from_slice(&b[..b.len() / 2]);
                    overlap.set_seq(p.seq().wrapping_add(half as u32));
                    overlap.set_payload(&payload);
                    // Just before the next segment: its first half comes first here.
                    overlap.time_ns = packets[next].time_ns.saturating_sub(1);
                    overlap.checksum();
                    out.push(overlap);
                }
            }
        }
    }
    // Each added segment goes to its place in time.
    out.sort_by_key(|p| p.time_ns);
    out
}

/// The segment of the first OFFERS event dropped.
fn gap(packets: &[Packet]) -> Vec<Packet> {
    let segments = stream_segments(packets);
    let drop = segments.iter().copied().find(|&i| contains(packets[i].payload(), b"\"OFFERS\""));
    packets.iter().enumerate().filter(|(i, _)| Some(*i) != drop).map(|(_, p)| p.clone()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Re-chunks a payload made of whole chunks: each chunk of 4 bytes or more
/// becomes two chunks split in the middle of its data (so of its RecordIO
/// record). `None` when the payload is not whole chunks.
fn rechunk(payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let line_end = at + payload[at..].windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&payload[at..line_end]).ok()?, 16).ok()?;
        let data = payload.get(line_end + 2..line_end + 2 + size)?;
        if payload.get(line_end + 2 + size..line_end + 4 + size)? != b"\r\n" {
            return None;
        }
        if size >= 4 {
            let (a, b) = data.split_at(size / 2);
            for part in [a, b] {
                out.extend(format!("{:x}\r\n", part.len()).as_bytes());
                out.extend(part);
                out.extend(b"\r\n");
            }
        } else {
            out.extend(&payload[at..line_end + 4 + size]);
        }
        at = line_end + 4 + size;
    }
    Some(out)
}

/// The stream's chunks each split in two inside their record, and each
/// such segment split in two TCP segments at a third of its length; the
/// sequence and acknowledgement numbers after them moved accordingly.
fn split_chunks(packets: &[Packet]) -> Vec<Packet> {
    let Some(client) = subscribe_port(packets) else { return packets.to_vec() };
    // (old end sequence number, bytes added up to there), in stream order.
    let mut shifts: Vec<(u32, u32)> = Vec::new();
    let shift_at = |shifts: &[(u32, u32)], seq: u32| {
        shifts.iter().rev().find(|(end, _)| seq.wrapping_sub(*end) as i32 >= 0).map_or(0, |&(_, s)| s)
    };
    let mut out = Vec::new();
    for p in packets {
        let mut p = p.clone();
        if !on_conn(&p, client) {
            out.push(p);
            continue;
        }
        if from_server(&p) {
            let old_seq = p.seq();
            let added = shift_at(&shifts, old_seq);
            p.set_seq(old_seq.wrapping_add(added));
            let payload = p.payload().to_vec();
            // Only bodies: the head stays as it came.
            let new = (!payload.starts_with(b"HTTP/")).then(|| rechunk(&payload)).flatten();
            match new {
                Some(new) if !payload.is_empty() => {
                    let end = old_seq.wrapping_add(payload.len() as u32);
                    shifts.push((end, added + (new.len() - payload.len()) as u32));
                    let cut = new.len() / 3;
                    let mut first = p.clone();
                    first.set_payload(&new[..cut]);
                    first.checksum();
                    out.push(first);
                    p.set_seq(p.seq().wrapping_add(cut as u32));
                    p.set_payload(&new[cut..]);
                    p.time_ns += 1_000;
                }
                _ => {}
            }
        } else if p.flags() & ACK != 0 {
            let ack = p.ack();
            p.set_ack(ack.wrapping_add(shift_at(&shifts, ack)));
        }
        p.checksum();
        out.push(p);
    }
    out
}

/// pcapng, the framework's packets on an Ethernet interface with
/// microseconds, the master's on a Linux cooked (SLL2) one with nanoseconds.
fn two_interfaces(packets: &[Packet]) -> Vec<u8> {
    let interfaces = [
        Interface { linktype: 1, tsresol: 6, name: "lo", frame: ethernet },
        Interface { linktype: 276, tsresol: 9, name: "any", frame: sll2 },
    ];
    let tagged: Vec<(usize, Packet)> = packets.iter().map(|p| (usize::from(from_server(p)), p.clone())).collect();
    pcapng(&tagged, &interfaces)
}

/// The pcap cut in the middle of the data of the packet that carries the
/// TASK_RUNNING update (a tcpdump killed while writing).
fn truncated(packets: &[Packet]) -> Vec<u8> {
    let bytes = write_pcap(packets);
    let target = packets.iter().position(|p| from_server(p) && contains(p.payload(), b"TASK_RUNNING"));
    let mut offset = 24;
    for (i, p) in packets.iter().enumerate() {
        if Some(i) == target {
            let cut = offset + 16 + p.data.len() / 2;
            return bytes[..cut].to_vec();
        }
        offset += 16 + p.data.len();
    }
    bytes[..bytes.len() - 10].to_vec()
}

pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let Some(input) = args.first() else {
        bail!(
            "usage: cargo xtask captures CAPTURE [--port P]\n\n\
             CAPTURE: a tcpdump capture of the walkthrough, made by\n  \
             MESOS_TAPE_CAPTURE_OUT=/tmp/walkthrough.pcap cargo test --test tests -- import_live::"
        );
    };
    let packets = read_pcap(&crate::read(Path::new(input))?)?;
    let port = match args.iter().position(|a| a == "--port") {
        Some(i) => args.get(i + 1).context("--port needs a value")?.parse().context("--port")?,
        None => packets
            .iter()
            .find(|p| p.flags() & (SYN | ACK) == SYN)
            .and_then(Packet::ports)
            .map(|(_, dst)| dst)
            .context("no SYN in the capture: cannot tell the proxy's port (give --port)")?,
    };
    let base = filtered(&packets, port);
    if stream_segments(&base).len() < 6 {
        bail!("the capture on port {port} does not hold the walkthrough's event stream");
    }
    let dir = root.join("fixtures/captures");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let files: [(&str, Vec<u8>); 7] = [
        ("walkthrough.pcap", write_pcap(&base)),
        ("reordered.pcap", write_pcap(&reordered(&base))),
        ("retransmitted.pcap", write_pcap(&retransmitted(&base))),
        ("gap.pcap", write_pcap(&gap(&base))),
        ("split-chunks.pcap", write_pcap(&split_chunks(&base))),
        ("two-interfaces.pcapng", two_interfaces(&base)),
        ("truncated.pcap", truncated(&base)),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{:>7} bytes  {}", bytes.len(), path.display());
    }
    Ok(())
}
