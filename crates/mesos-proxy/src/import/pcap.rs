//! Reading a capture: pcap or pcapng blocks (with [`pcap_parser`]), then the
//! link layer, IPv4 or IPv6, and TCP, down to [`Segment`]s.
//!
//! Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked capture
//! (SLL and SLL2), raw IP (`RAW`, `IPV4`, `IPV6`) and BSD loopback (`NULL`,
//! `LOOP`). pcapng interfaces each have their link type and timestamp
//! resolution (`if_tsresol`, `if_tsoffset`); times come out as nanoseconds
//! since the Unix epoch.
//!
//! Nothing here trusts the file: every length is checked against what is
//! there, and damage is an error naming the packet number and the byte
//! offset in the capture.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};

/// The reader's buffer: several packets at a time, and any ordinary block.
const BUFFER: usize = 1 << 20;

/// The largest packet record a pcap file may hold (Wireshark's limit).
const MAX_SNAPLEN: u32 = 262_144;

/// The largest block the reader grows its buffer for; a block that claims
/// more is corrupt.
const MAX_BLOCK: usize = 64 << 20;

/// One captured packet, as the capture file has it.
///
/// ```
/// use mesos_proxy::import::pcap::CaptureReader;
/// let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0];
/// file.extend([1, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0x45, 0]); // 1 s + 5 µs, 2 bytes
/// let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
/// let (number, offset, time, link) = reader.next_packet(|p| (p.number, p.offset, p.time_ns, p.linktype)).unwrap().unwrap();
/// assert_eq!((number, offset, time, link), (1, 24, 1_000_005_000, 101));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Its number in the capture, from 1 (as Wireshark counts them).
    pub number: u64,
    /// The byte offset of its record or block in the capture file.
    pub offset: u64,
    /// When it was captured, in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Its link type (`LINKTYPE_*` number).
    pub linktype: i32,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: &'a [u8],
}

/// Why a capture cannot be read (further).
///
/// ```
/// use mesos_proxy::import::pcap::{CaptureError, CaptureReader};
/// let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
/// file.extend([0; 10]); // a packet record cut short
/// let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
/// assert_eq!(reader.next_packet(|_| ()), Err(CaptureError::Truncated { offset: 24, packet: 1 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The file does not start like a pcap or pcapng file.
    #[error("not a pcap or pcapng capture (unknown file header)")]
    NotACapture,
    /// The file ends inside a block or packet record (a killed `tcpdump`).
    #[error("capture truncated at byte {offset}: packet {packet} is cut short (was the capture tool killed?)")]
    Truncated {
        /// Where the cut block starts.
        offset: u64,
        /// The number the cut packet would have had.
        packet: u64,
    },
    /// A block or record that does not parse.
    #[error("corrupt block at byte {offset} (after packet {after}): {why}")]
    Corrupt {
        /// Where the block starts.
        offset: u64,
        /// The last good packet's number.
        after: u64,
        /// What is wrong.
        why: String,
    },
    /// Reading the file failed.
    #[error("cannot read the capture at byte {offset}")]
    Read {
        /// How far it was read.
        offset: u64,
    },
}

/// The link layer and clock of one pcapng interface (or of a pcap file).
#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: i32,
    /// Timestamp units per second.
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_s: i64,
}

/// Streams the packets of a pcap or pcapng capture.
///
/// ```
/// use mesos_proxy::import::pcap::CaptureReader;
/// // A pcap header (microseconds, Ethernet) and no packets.
/// let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
/// file.extend([0; 8]);
/// file.extend(65535u32.to_le_bytes());
/// file.extend(1u32.to_le_bytes());
/// let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
/// assert!(reader.next_packet(|_| ()).unwrap().is_none());
/// ```
pub struct CaptureReader {
    inner: Box<dyn PcapReaderIterator + Send>,
    /// pcapng: the current section's interfaces; pcap: one.
    interfaces: Vec<Interface>,
    packets: u64,
    capacity: usize,
    /// Time of the last packet, for simple packet blocks (which have none).
    last_time: u64,
    done: bool,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader").field("packets", &self.packets).finish()
    }
}

impl CaptureReader {
    /// A reader of the capture `input`, pcap or pcapng (told by its first bytes).
    ///
    /// ```
    /// use mesos_proxy::import::pcap::{CaptureError, CaptureReader};
    /// let err = CaptureReader::new(std::io::Cursor::new(b"{\"kind\":\"header\"}".to_vec())).unwrap_err();
    /// assert_eq!(err, CaptureError::NotACapture);
    /// ```
    pub fn new<R: Read + Send + 'static>(input: R) -> Result<CaptureReader, CaptureError> {
        let inner = match pcap_parser::create_reader(BUFFER, input) {
            Ok(inner) => inner,
            Err(PcapError::ReadError) => return Err(CaptureError::Read { offset: 0 }),
            Err(PcapError::Incomplete(_) | PcapError::UnexpectedEof) => {
                return Err(CaptureError::Truncated { offset: 0, packet: 1 });
            }
            Err(_) => return Err(CaptureError::NotACapture),
        };
        Ok(CaptureReader { inner, interfaces: Vec::new(), packets: 0, capacity: BUFFER, last_time: 0, done: false })
    }

    /// How many bytes of the capture have been read (the progress).
    ///
    /// ```
    /// use mesos_proxy::import::pcap::CaptureReader;
    /// let file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    /// let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    /// while reader.next_packet(|_| ()).unwrap().is_some() {}
    /// assert_eq!(reader.position(), 24);
    /// ```
    pub fn position(&self) -> u64 {
        self.inner.consumed() as u64
    }

    /// How many packets have been read.
    ///
    /// ```
    /// use mesos_proxy::import::pcap::CaptureReader;
    /// let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    /// file.extend([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0xaa]);
    /// let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    /// while reader.next_packet(|_| ()).unwrap().is_some() {}
    /// assert_eq!(reader.packets(), 1);
    /// ```
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Calls `f` with the next packet; `Ok(None)` at the end of the capture.
    /// After an error the reader is done.
    ///
    /// ```
    /// use mesos_proxy::import::pcap::CaptureReader;
    /// let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    /// file.extend([0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3]);
    /// let mut reader = CaptureReader::new(std::io::Cursor::new(file)).unwrap();
    /// assert_eq!(reader.next_packet(|p| p.data.to_vec()).unwrap(), Some(vec![1, 2, 3]));
    /// assert_eq!(reader.next_packet(|p| p.data.to_vec()).unwrap(), None);
    /// ```
    pub fn next_packet<T>(&mut self, mut f: impl FnMut(Packet<'_>) -> T) -> Result<Option<T>, CaptureError> {
        let mut stalled = 0;
        while !self.done {
            let offset = self.inner.consumed() as u64;
            let Self { inner, interfaces, packets, last_time, .. } = self;
            match inner.next() {
                Ok((size, block)) => {
                    stalled = 0;
                    let packet = match block {
                        PcapBlockOwned::LegacyHeader(header) => {
                            let units = if header.is_nanosecond_precision() { 1_000_000_000 } else { 1_000_000 };
                            *interfaces = vec![Interface { linktype: header.network.0, units, offset_s: 0 }];
                            None
                        }
                        PcapBlockOwned::Legacy(record) => {
                            // A length past any snap length is a damaged record header:
                            // what follows it cannot be found.
                            if record.caplen > MAX_SNAPLEN || record.caplen > record.origlen {
                                let why = format!(
                                    "a packet record of {} bytes captured of {} on the wire",
                                    record.caplen, record.origlen
                                );
                                self.done = true;
                                return Err(CaptureError::Corrupt { offset, after: *packets, why });
                            }
                            let interface = interfaces.first().copied();
                            interface.map(|i| {
                                let time = time_ns(i64::from(record.ts_sec), u64::from(record.ts_usec), i.units, 0);
                                (i.linktype, time, record.data)
                            })
                        }
                        PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                            interfaces.clear();
                            None
                        }
                        PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                            let units = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                            interfaces.push(Interface { linktype: idb.linktype.0, units, offset_s: idb.ts_offset() });
                            None
                        }
                        PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                            let Some(i) = interfaces.get(epb.if_id as usize).copied() else {
                                let why = format!("packet on interface {} which was never described", epb.if_id);
                                self.done = true;
                                return Err(CaptureError::Corrupt { offset, after: *packets, why });
                            };
                            let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                            let time = time_ns(0, ts, i.units, i.offset_s);
                            Some((i.linktype, time, epb.data))
                        }
                        PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                            interfaces.first().map(|i| (i.linktype, *last_time, spb.data))
                        }
                        PcapBlockOwned::NG(_) => None,
                    };
                    let result = packet.map(|(linktype, time_ns, data)| {
                        *packets += 1;
                        *last_time = time_ns;
                        f(Packet { number: *packets, offset, time_ns, linktype, data })
                    });
                    inner.consume(size);
                    if let Some(result) = result {
                        return Ok(Some(result));
                    }
                }
                Err(PcapError::Eof) => self.done = true,
                Err(PcapError::UnexpectedEof) => {
                    self.done = true;
                    return Err(CaptureError::Truncated { offset, packet: self.packets + 1 });
                }
                Err(PcapError::Incomplete(_)) => {
                    stalled += 1;
                    let before = inner.data().len();
                    if inner.refill().is_err() {
                        self.done = true;
                        return Err(CaptureError::Read { offset });
                    }
                    // A full buffer that still holds no whole block: grow it.
                    if stalled > 1 && inner.data().len() == before {
                        self.grow(offset)?;
                    }
                }
                Err(PcapError::BufferTooSmall) => {
                    self.grow(offset)?;
                }
                Err(PcapError::HeaderNotRecognized) => {
                    self.done = true;
                    return Err(CaptureError::NotACapture);
                }
                Err(PcapError::ReadError) => {
                    self.done = true;
                    return Err(CaptureError::Read { offset });
                }
                Err(err @ (PcapError::NomError(..) | PcapError::OwnedNomError(..))) => {
                    let why = match err {
                        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
                            format!("the block does not parse ({})", kind.description())
                        }
                        _ => "the block does not parse".to_owned(),
                    };
                    self.done = true;
                    return Err(CaptureError::Corrupt { offset, after: self.packets, why });
                }
            }
        }
        Ok(None)
    }

    /// Doubles the buffer for a large block; an error past [`MAX_BLOCK`].
    fn grow(&mut self, offset: u64) -> Result<bool, CaptureError> {
        let size = self.capacity * 2;
        if size > MAX_BLOCK || !self.inner.grow(size) {
            self.done = true;
            let why = format!("a block larger than {} MiB", MAX_BLOCK >> 20);
            return Err(CaptureError::Corrupt { offset, after: self.packets, why });
        }
        self.capacity = size;
        self.inner.refill().map_err(|_| CaptureError::Read { offset })?;
        Ok(true)
    }
}

/// `seconds` plus `units` in `per_second`, plus `offset_s`, as nanoseconds
/// since the epoch (clamped to `u64`).
fn time_ns(seconds: i64, units: u64, per_second: u64, offset_s: i64) -> u64 {
    let per_second = u128::from(per_second.max(1));
    let units = u128::from(units);
    let whole = (units / per_second) as i128 + i128::from(seconds) + i128::from(offset_s);
    let frac = (units % per_second) * 1_000_000_000 / per_second;
    let ns = whole * 1_000_000_000 + frac as i128;
    u64::try_from(ns.max(0)).unwrap_or(u64::MAX)
}

/// The TCP header flags that matter for reassembly.
///
/// ```
/// let flags = mesos_proxy::import::pcap::Flags { syn: true, ..Default::default() };
/// assert!(flags.syn && !flags.ack);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `SYN`.
    pub syn: bool,
    /// `ACK` (the `ack` number is valid).
    pub ack: bool,
    /// `FIN`.
    pub fin: bool,
    /// `RST`.
    pub rst: bool,
}

/// One TCP segment out of a packet.
///
/// ```
/// use mesos_proxy::import::pcap::{decode, Decoded};
/// // Raw IPv4: 127.0.0.1:5050 → 127.0.0.1:40000, seq 7, ack 9, PSH+ACK, payload "hi".
/// let mut ip = vec![0x45, 0, 0, 42, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
/// ip.extend([0x13, 0xba, 0x9c, 0x40, 0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
/// ip.extend(b"hi");
/// let Decoded::Tcp(s) = decode(101, &ip) else { panic!() };
/// assert_eq!((s.src.port(), s.seq, s.ack, s.flags.ack, s.payload, s.missing), (5050, 7, 9, true, &b"hi"[..], 0));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// The sender.
    pub src: SocketAddr,
    /// The receiver.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful when `flags.ack`).
    pub ack: u32,
    /// Flags.
    pub flags: Flags,
    /// The payload bytes captured.
    pub payload: &'a [u8],
    /// Payload bytes that were on the wire but not captured (snap length).
    pub missing: u32,
}

/// What a packet holds, for the importer.
///
/// ```
/// use mesos_proxy::import::pcap::{decode, Decoded};
/// assert!(matches!(decode(1, &[0; 60]), Decoded::Other)); // Ethernet, ethertype 0
/// assert!(matches!(decode(147, &[0; 60]), Decoded::UnknownLink));
/// assert!(matches!(decode(101, &[0x45, 0]), Decoded::Malformed(_)));
/// ```
#[derive(Debug, Clone, Copy)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Tcp(Segment<'a>),
    /// Something else (ARP, UDP, ICMP, ...): not ours.
    Other,
    /// An IP fragment: TCP inside cannot be read without reassembling IP.
    Fragment,
    /// A link type this importer does not read.
    UnknownLink,
    /// Headers that do not add up.
    Malformed(&'static str),
}

/// Decodes a packet of link type `linktype` down to TCP.
///
/// ```
/// use mesos_proxy::import::pcap::{decode, Decoded};
/// // Raw IPv4 (link type 101): a 40-byte SYN from 127.0.0.1:40000 to 127.0.0.1:5050.
/// let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
/// ip.extend(40000u16.to_be_bytes());
/// ip.extend(5050u16.to_be_bytes());
/// ip.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
/// let Decoded::Tcp(segment) = decode(101, &ip) else { panic!() };
/// assert!(segment.flags.syn);
/// assert_eq!(segment.dst.port(), 5050);
/// ```
pub fn decode(linktype: i32, data: &[u8]) -> Decoded<'_> {
    match linktype {
        // Ethernet.
        1 => {
            let Some(mut ethertype) = be16(data, 12) else { return Decoded::Malformed("short Ethernet header") };
            let mut at = 14;
            // 802.1Q / 802.1ad tags.
            while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                let Some(inner) = be16(data, at + 2) else { return Decoded::Malformed("short VLAN tag") };
                ethertype = inner;
                at += 4;
            }
            by_ethertype(ethertype, data.get(at..).unwrap_or_default())
        }
        // Linux cooked capture v1: protocol at 14, header 16 bytes.
        113 => match be16(data, 14) {
            Some(protocol) => by_ethertype(protocol, data.get(16..).unwrap_or_default()),
            None => Decoded::Malformed("short Linux cooked header"),
        },
        // Linux cooked capture v2: protocol at 0, header 20 bytes.
        276 => match be16(data, 0) {
            Some(protocol) => by_ethertype(protocol, data.get(20..).unwrap_or_default()),
            None => Decoded::Malformed("short Linux cooked v2 header"),
        },
        // Raw IP.
        101 | 12 | 14 => by_version(data),
        228 => ipv4(data),
        229 => ipv6(data),
        // BSD loopback: a 4-byte address family, host order (NULL) or network order (LOOP).
        0 | 108 => {
            let Some(family) = data.get(..4) else { return Decoded::Malformed("short loopback header") };
            let family = [family[0], family[1], family[2], family[3]];
            let (le, be) = (u32::from_le_bytes(family), u32::from_be_bytes(family));
            let rest = &data[4..];
            match (le, be) {
                (2, _) | (_, 2) => ipv4(rest),
                (10 | 24 | 28 | 30, _) | (_, 10 | 24 | 28 | 30) => ipv6(rest),
                _ => Decoded::Other,
            }
        }
        _ => Decoded::UnknownLink,
    }
}

/// Whether this importer reads link type `linktype`.
///
/// ```
/// assert!(mesos_proxy::import::pcap::known_link(1));
/// assert!(!mesos_proxy::import::pcap::known_link(147));
/// ```
pub fn known_link(linktype: i32) -> bool {
    matches!(linktype, 0 | 1 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276)
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn by_ethertype(ethertype: u16, data: &[u8]) -> Decoded<'_> {
    match ethertype {
        0x0800 => ipv4(data),
        0x86dd => ipv6(data),
        _ => Decoded::Other,
    }
}

fn by_version(data: &[u8]) -> Decoded<'_> {
    match data.first().map(|b| b >> 4) {
        Some(4) => ipv4(data),
        Some(6) => ipv6(data),
        _ => Decoded::Other,
    }
}

fn ipv4(data: &[u8]) -> Decoded<'_> {
    if data.len() < 20 || data[0] >> 4 != 4 {
        return Decoded::Malformed("bad IPv4 header");
    }
    let header = usize::from(data[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([data[2], data[3]]));
    if header < 20 || total < header {
        return Decoded::Malformed("bad IPv4 lengths");
    }
    if data[9] != 6 {
        return Decoded::Other;
    }
    let fragment = u16::from_be_bytes([data[6], data[7]]);
    if fragment & 0x3fff != 0 {
        return Decoded::Fragment;
    }
    let src = IpAddr::V4(Ipv4Addr::new(data[12], data[13], data[14], data[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(data[16], data[17], data[18], data[19]));
    // Ethernet pads short frames: the IP length says where the packet ends.
    let end = total.min(data.len());
    let Some(payload) = data.get(header..end) else { return Decoded::Malformed("IPv4 header cut short") };
    tcp(src, dst, payload, total - header)
}

fn ipv6(data: &[u8]) -> Decoded<'_> {
    if data.len() < 40 || data[0] >> 4 != 6 {
        return Decoded::Malformed("bad IPv6 header");
    }
    let length = usize::from(u16::from_be_bytes([data[4], data[5]]));
    if length == 0 {
        return Decoded::Malformed("IPv6 jumbogram");
    }
    let mut next = data[6];
    let mut src = [0u8; 16];
    src.copy_from_slice(&data[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&data[24..40]);
    let end = (40 + length).min(data.len());
    let mut at = 40;
    let mut left = length;
    loop {
        match next {
            6 => break,
            // Hop-by-hop, routing, destination options: skip them.
            0 | 43 | 60 => {
                let (Some(&n), Some(&len)) = (data.get(at), data.get(at + 1)) else {
                    return Decoded::Malformed("IPv6 extension header cut short");
                };
                let size = (usize::from(len) + 1) * 8;
                if size > left {
                    return Decoded::Malformed("bad IPv6 extension header length");
                }
                next = n;
                at += size;
                left -= size;
            }
            44 => return Decoded::Fragment,
            _ => return Decoded::Other,
        }
    }
    let Some(payload) = data.get(at..end.max(at)) else { return Decoded::Malformed("IPv6 packet cut short") };
    tcp(IpAddr::V6(Ipv6Addr::from(src)), IpAddr::V6(Ipv6Addr::from(dst)), payload, left)
}

/// The TCP segment in `data` (the captured part of an IP payload whose
/// length on the wire was `wire_len`).
fn tcp(src: IpAddr, dst: IpAddr, data: &[u8], wire_len: usize) -> Decoded<'_> {
    let (Some(sport), Some(dport), Some(seq), Some(ack)) = (be16(data, 0), be16(data, 2), be32(data, 4), be32(data, 8))
    else {
        return Decoded::Malformed("TCP header cut short");
    };
    let (Some(&offset), Some(&flags)) = (data.get(12), data.get(13)) else {
        return Decoded::Malformed("TCP header cut short");
    };
    let header = usize::from(offset >> 4) * 4;
    if header < 20 || header > wire_len {
        return Decoded::Malformed("bad TCP header length");
    }
    let Some(payload) = data.get(header..) else { return Decoded::Malformed("TCP options cut short") };
    let wire_payload = wire_len - header;
    let payload = &payload[..payload.len().min(wire_payload)];
    let missing = u32::try_from(wire_payload - payload.len()).unwrap_or(u32::MAX);
    Decoded::Tcp(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        ack,
        flags: Flags { fin: flags & 0x01 != 0, syn: flags & 0x02 != 0, rst: flags & 0x04 != 0, ack: flags & 0x10 != 0 },
        payload,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_any_resolution() {
        assert_eq!(time_ns(1, 500_000, 1_000_000, 0), 1_500_000_000);
        assert_eq!(time_ns(0, 1_500_000_000, 1_000_000_000, 0), 1_500_000_000);
        assert_eq!(time_ns(0, 3 * 1024 + 512, 1024, 10), 13_500_000_000);
        assert_eq!(time_ns(0, 5, 1, -10), 0);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut frame = vec![0u8; 12];
        frame.extend([0x08, 0x00]);
        frame.extend([0x45, 0, 0, 41, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        frame.extend([0x13, 0xba, 0x9c, 0x40, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        frame.push(b'x');
        frame.extend([0; 5]); // padding to the Ethernet minimum
        let Decoded::Tcp(segment) = decode(1, &frame) else { panic!() };
        assert_eq!(segment.payload, b"x");
        assert_eq!(segment.missing, 0);
        assert_eq!(segment.src.port(), 5050);
    }
}
