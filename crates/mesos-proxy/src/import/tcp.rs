//! TCP reassembly of one direction of a connection: segments in, the byte
//! stream out, in order, with the holes the capture has said.
//!
//! - In-order data is handed on at once, straight from the packet (no copy).
//! - Out-of-order segments wait (copied) until the bytes before them come.
//! - Retransmissions and overlaps: bytes already handed on are dropped; the
//!   first copy of a byte wins.
//! - Missing segments: the capture, not the network, lost bytes when the
//!   receiver acknowledges past them (it got them, they will never be sent
//!   again) while later bytes wait. A capture may itself reorder packets (a
//!   multi-queue card), so the hole is given up when the receiver also
//!   acknowledges the bytes waiting after it, or when [`REORDER_NS`] of
//!   capture time have passed since it acknowledged the hole; then the hole
//!   becomes a [`Piece::Gap`] and the stream goes on. At the end of a
//!   connection (and when too much waits) every hole becomes a gap.
//!   Waiting bytes keep the time of the packet that brought them.
//! - A payload longer than what was captured (the snap length) is handed on
//!   as far as it was captured, then a gap.
//!
//! Sequence numbers wrap; offsets in the stream (from 0 at the first byte
//! after the SYN, or at the first byte seen) do not.

use std::collections::BTreeMap;

/// How many bytes may wait for a hole to fill before the hole is given up
/// as a gap.
///
/// ```
/// assert_eq!(mesos_proxy::import::tcp::MAX_WAITING, 8 << 20);
/// ```
pub const MAX_WAITING: usize = 8 << 20;

/// How long (capture time) an acknowledged hole may wait for its bytes.
///
/// ```
/// assert_eq!(mesos_proxy::import::tcp::REORDER_NS, 200_000_000);
/// ```
pub const REORDER_NS: u64 = 200_000_000;

/// What the reassembler hands on.
///
/// ```
/// use mesos_proxy::import::tcp::{Piece, Stream};
/// let mut stream = Stream::new(Some(0));
/// let mut pieces = Vec::new();
/// stream.segment(1, b"abc", 0, &mut |p| pieces.push(format!("{p:?}")));
/// assert_eq!(pieces, ["Data([97, 98, 99])"]);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// The next bytes of the stream, out of the waiting room, with the time
    /// of the packet that brought them.
    Owned(Vec<u8>, u64),
    /// This many bytes of the stream are missing from the capture.
    Gap(u64),
}

/// One direction of a TCP connection.
///
/// ```
/// use mesos_proxy::import::tcp::{Piece, Stream};
/// let mut stream = Stream::new(Some(1000)); // the SYN had sequence number 1000
/// let mut out = Vec::new();
/// stream.segment(1006, b"world", 7, &mut |p| out.push(format!("{p:?}")));
/// stream.segment(1001, b"hello", 9, &mut |p| out.push(format!("{p:?}")));
/// assert_eq!(out, ["Data([104, 101, 108, 108, 111])", "Owned([119, 111, 114, 108, 100], 7)"]);
/// ```
#[derive(Debug, Default)]
pub struct Stream {
    /// The sequence number of the next byte expected (once known).
    next: Option<u32>,
    /// The stream offset of `next`.
    offset: u64,
    /// Out-of-order bytes by stream offset.
    waiting: BTreeMap<u64, (Vec<u8>, u64)>,
    waiting_bytes: usize,
    /// The highest offset the receiver acknowledged.
    acked: u64,
    /// When an acknowledgement was first seen past a hole.
    hole_acked_at: Option<u64>,
    /// The stream offset of the FIN, once seen.
    fin: Option<u64>,
    gaps: u64,
}

impl Stream {
    /// A direction whose SYN had sequence number `syn`, or, without one, a
    /// direction picked up mid-way at its first segment.
    ///
    /// ```
    /// use mesos_proxy::import::tcp::Stream;
    /// let mut stream = Stream::new(None);
    /// stream.segment(7_000, b"mid-way", 0, &mut |_| ()); // its first byte is offset 0
    /// assert_eq!(stream.offset(), 7);
    /// ```
    pub fn new(syn: Option<u32>) -> Stream {
        Stream { next: syn.map(|s| s.wrapping_add(1)), ..Stream::default() }
    }

    /// Bytes handed on or given up as gaps so far: the offset of the next byte.
    ///
    /// ```
    /// use mesos_proxy::import::tcp::Stream;
    /// let mut stream = Stream::new(Some(9));
    /// stream.segment(10, b"abc", 0, &mut |_| ());
    /// assert_eq!(stream.offset(), 3);
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many gaps were handed on.
    ///
    /// ```
    /// use mesos_proxy::import::tcp::Stream;
    /// let mut stream = Stream::new(Some(0));
    /// stream.segment(5, b"late", 0, &mut |_| ());
    /// stream.flush(&mut |_| ()); // the connection ended: bytes 0..4 never came
    /// assert_eq!(stream.gaps(), 1);
    /// ```
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Whether the FIN has been reached (every byte before it handed on).
    ///
    /// ```
    /// use mesos_proxy::import::tcp::Stream;
    /// let mut stream = Stream::new(Some(0));
    /// stream.fin(3); // FIN after two bytes
    /// assert!(!stream.finished());
    /// stream.segment(1, b"ok", 0, &mut |_| ());
    /// assert!(stream.finished());
    /// ```
    pub fn finished(&self) -> bool {
        self.fin.is_some_and(|fin| self.offset >= fin)
    }

    /// The stream offset of sequence number `seq`, relative to `next`.
    fn offset_of(&self, next: u32, seq: u32) -> u64 {
        let delta = i64::from(seq.wrapping_sub(next) as i32);
        self.offset.saturating_add_signed(delta)
    }

    /// A segment with sequence number `seq` and `data`, captured at `now`;
    /// hands on what is now in order.
    pub fn segment<'a>(&mut self, seq: u32, data: &'a [u8], now: u64, out: &mut dyn FnMut(Piece<'a>)) {
        let next = *self.next.get_or_insert(seq);
        if data.is_empty() {
            return;
        }
        let start = self.offset_of(next, seq);
        let end = start + data.len() as u64;
        if end <= self.offset {
            return; // a retransmission of bytes already handed on
        }
        if start <= self.offset {
            let fresh = &data[(self.offset - start) as usize..];
            self.advance(fresh.len() as u64);
            out(Piece::Data(fresh));
            self.drain(out);
        } else {
            let slot = self.waiting.entry(start).or_default();
            if slot.0.len() < data.len() {
                self.waiting_bytes += data.len() - slot.0.len();
                *slot = (data.to_vec(), now);
            }
            if self.waiting_bytes > MAX_WAITING {
                self.skip_hole(out);
            }
            self.check_hole(now, out);
        }
    }

    /// `count` bytes from `seq` on were on the wire but not captured.
    ///
    /// ```
    /// use mesos_proxy::import::tcp::{Piece, Stream};
    /// let mut stream = Stream::new(Some(0));
    /// let mut out = Vec::new();
    /// stream.segment(1, b"ab", 0, &mut |_| ()); // a 6-byte payload captured to 2 bytes
    /// stream.uncaptured(3, 4, &mut |p| out.push(p));
    /// assert_eq!(out, [Piece::Gap(4)]);
    /// ```
    pub fn uncaptured<'a>(&mut self, seq: u32, count: u32, out: &mut dyn FnMut(Piece<'a>)) {
        let Some(next) = self.next else { return };
        let start = self.offset_of(next, seq);
        if count > 0 && start == self.offset {
            self.advance(u64::from(count));
            self.gaps += 1;
            out(Piece::Gap(u64::from(count)));
            self.drain(out);
        }
    }

    /// The FIN came with sequence number `seq` (after the segment's data).
    ///
    /// ```
    /// use mesos_proxy::import::tcp::Stream;
    /// let mut stream = Stream::new(Some(0));
    /// stream.fin(1);
    /// assert!(stream.finished());
    /// ```
    pub fn fin(&mut self, seq: u32) {
        if let Some(next) = self.next {
            self.fin = Some(self.offset_of(next, seq));
        }
    }

    /// The receiver acknowledged up to sequence number `ack` (in a packet
    /// captured at `now`): bytes before it that are still missing were lost
    /// by the capture.
    ///
    /// ```
    /// use mesos_proxy::import::tcp::{Piece, Stream};
    /// let mut stream = Stream::new(Some(0));
    /// let mut out = Vec::new();
    /// stream.segment(4, b"def", 0, &mut |p| out.push(format!("{p:?}"))); // bytes 0..3 missing so far
    /// stream.acknowledged(7, 0, &mut |p| out.push(format!("{p:?}"))); // the receiver has all 6
    /// assert_eq!(out, ["Gap(3)", "Owned([100, 101, 102], 0)"]);
    /// ```
    pub fn acknowledged<'a>(&mut self, ack: u32, now: u64, out: &mut dyn FnMut(Piece<'a>)) {
        let Some(next) = self.next else { return };
        let acked = self.offset_of(next, ack);
        // An acknowledgement far ahead is not believed (a bad checksum, a
        // wrapped number): at most what is waiting.
        if acked > self.acked && acked <= self.offset + MAX_WAITING as u64 {
            self.acked = acked;
        }
        self.check_hole(now, out);
    }

    /// Gives up the acknowledged holes once they have waited long enough.
    fn check_hole<'a>(&mut self, now: u64, out: &mut dyn FnMut(Piece<'a>)) {
        let hole_acked = self.waiting.first_key_value().is_some_and(|(&start, _)| start <= self.acked);
        if !hole_acked || self.acked <= self.offset {
            self.hole_acked_at = None;
            return;
        }
        // The receiver has the bytes after the hole too: the hole will not be
        // filled. Otherwise the data may still come (a capture that reordered).
        let after_hole_acked =
            self.waiting.first_key_value().is_some_and(|(&start, (data, _))| start + data.len() as u64 <= self.acked);
        let since = *self.hole_acked_at.get_or_insert(now);
        if after_hole_acked || now.saturating_sub(since) >= REORDER_NS {
            while self.waiting.first_key_value().is_some_and(|(&start, _)| start <= self.acked) {
                self.skip_hole(out);
            }
            self.hole_acked_at = None;
        }
    }

    /// The connection is over: every hole is a gap, everything waiting is
    /// handed on.
    ///
    /// ```
    /// use mesos_proxy::import::tcp::Stream;
    /// let mut stream = Stream::new(Some(0));
    /// stream.segment(3, b"c", 0, &mut |_| ());
    /// let mut out = Vec::new();
    /// stream.flush(&mut |p| out.push(format!("{p:?}")));
    /// assert_eq!(out, ["Gap(2)", "Owned([99], 0)"]);
    /// ```
    pub fn flush<'a>(&mut self, out: &mut dyn FnMut(Piece<'a>)) {
        while !self.waiting.is_empty() {
            self.skip_hole(out);
        }
    }

    /// Gives up the hole before the first waiting bytes.
    fn skip_hole<'a>(&mut self, out: &mut dyn FnMut(Piece<'a>)) {
        let Some((&start, _)) = self.waiting.first_key_value() else { return };
        if start > self.offset {
            let len = start - self.offset;
            self.advance(len);
            self.gaps += 1;
            out(Piece::Gap(len));
        }
        self.drain(out);
    }

    /// Hands on the waiting bytes that are now in order.
    fn drain<'a>(&mut self, out: &mut dyn FnMut(Piece<'a>)) {
        while let Some(entry) = self.waiting.first_entry() {
            let start = *entry.key();
            if start > self.offset {
                break;
            }
            let (mut data, time) = entry.remove();
            self.waiting_bytes -= data.len();
            let end = start + data.len() as u64;
            if end <= self.offset {
                continue;
            }
            data.drain(..(self.offset - start) as usize);
            self.advance(data.len() as u64);
            out(Piece::Owned(data, time));
        }
    }

    fn advance(&mut self, n: u64) {
        self.offset += n;
        self.next = self.next.map(|next| next.wrapping_add(n as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stream: &mut Stream, seq: u32, data: &[u8], out: &mut Vec<String>) {
        stream.segment(seq, data, 0, &mut |p| out.push(show(p)));
    }

    fn show(piece: Piece<'_>) -> String {
        match piece {
            Piece::Data(d) => String::from_utf8_lossy(d).into_owned(),
            Piece::Owned(d, _) => String::from_utf8_lossy(&d).into_owned(),
            Piece::Gap(n) => format!("<gap {n}>"),
        }
    }

    #[test]
    fn retransmissions_and_overlaps_keep_the_first_copy() {
        let mut stream = Stream::new(Some(u32::MAX - 2)); // wraps
        let mut out = Vec::new();
        run(&mut stream, u32::MAX - 1, b"abcd", &mut out);
        run(&mut stream, u32::MAX - 1, b"abcd", &mut out);
        run(&mut stream, 0, b"cdef", &mut out);
        assert_eq!(out, ["abcd", "ef"]);
        assert_eq!(stream.offset(), 6);
    }

    #[test]
    fn an_acknowledged_hole_is_a_gap() {
        let mut stream = Stream::new(Some(0));
        let mut out = Vec::new();
        run(&mut stream, 1, b"ab", &mut out);
        run(&mut stream, 5, b"ef", &mut out);
        assert_eq!(out, ["ab"]);
        stream.acknowledged(5, 0, &mut |p| out.push(show(p)));
        assert_eq!(out, ["ab"], "the data may still come (a capture that reordered)");
        stream.acknowledged(5, REORDER_NS, &mut |p| out.push(show(p)));
        assert_eq!(out, ["ab", "<gap 2>", "ef"]);
        assert_eq!(stream.gaps(), 1);
        // The receiver acknowledging what waits after a hole gives it up at once.
        run(&mut stream, 9, b"ij", &mut out);
        stream.acknowledged(11, REORDER_NS, &mut |p| out.push(show(p)));
        assert_eq!(out, ["ab", "<gap 2>", "ef", "<gap 2>", "ij"]);
    }

    #[test]
    fn overlapping_waiting_segments() {
        let mut stream = Stream::new(Some(0));
        let mut out = Vec::new();
        run(&mut stream, 4, b"defg", &mut out);
        run(&mut stream, 3, b"cde", &mut out);
        run(&mut stream, 1, b"ab", &mut out);
        assert_eq!(out, ["ab", "cde", "fg"]);
    }
}
