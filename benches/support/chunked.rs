//! A chunked HTTP body read as it comes: its chunks and the RecordIO
//! records inside them counted without a copy. Shared by the benches that
//! drain an event stream (`proxy_events`, `proxy_vs_nginx`), each of which
//! includes it with `#[path]`.

/// Counts HTTP chunks and the RecordIO records inside them as the bytes of a
/// chunked response body come, without copying them.
#[derive(Default)]
pub struct Counter {
    /// Bytes left of the current chunk's data, then its CRLF.
    chunk_left: usize,
    /// Reading a chunk-size line (its value so far), or the CRLF after data.
    in_size: bool,
    size: usize,
    crlf_left: usize,
    pub chunks: u64,
    /// The last (zero) chunk was seen.
    pub ended: bool,
    /// RecordIO: bytes left of the current record, or the size so far.
    record_left: usize,
    record_size: usize,
    pub records: u64,
}

impl Counter {
    pub fn new() -> Counter {
        Counter { in_size: true, ..Counter::default() }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        self.feed_with(bytes, |_| {});
    }

    /// [`feed`](Self::feed), handing each piece of chunk data on as it is
    /// read (a chunk over several reads comes in several pieces).
    pub fn feed_with(&mut self, mut bytes: &[u8], mut piece: impl FnMut(&[u8])) {
        while !bytes.is_empty() && !self.ended {
            if self.crlf_left > 0 {
                let n = self.crlf_left.min(bytes.len());
                self.crlf_left -= n;
                bytes = &bytes[n..];
                if self.crlf_left == 0 {
                    self.in_size = true;
                    self.size = 0;
                }
            } else if self.in_size {
                let b = bytes[0];
                bytes = &bytes[1..];
                match b {
                    b'0'..=b'9' => self.size = self.size * 16 + usize::from(b - b'0'),
                    b'a'..=b'f' => self.size = self.size * 16 + usize::from(b - b'a' + 10),
                    b'A'..=b'F' => self.size = self.size * 16 + usize::from(b - b'A' + 10),
                    b'\r' => {}
                    b'\n' => {
                        self.in_size = false;
                        self.chunk_left = self.size;
                        if self.size == 0 {
                            self.ended = true;
                        } else {
                            self.chunks += 1;
                        }
                    }
                    other => panic!("unexpected byte {other:#x} in a chunk-size line"),
                }
            } else {
                let n = self.chunk_left.min(bytes.len());
                piece(&bytes[..n]);
                self.records(&bytes[..n]);
                self.chunk_left -= n;
                bytes = &bytes[n..];
                if self.chunk_left == 0 {
                    self.crlf_left = 2;
                }
            }
        }
    }

    fn records(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.record_left > 0 {
                let n = self.record_left.min(data.len());
                self.record_left -= n;
                data = &data[n..];
                if self.record_left == 0 {
                    self.records += 1;
                }
            } else {
                let b = data[0];
                data = &data[1..];
                match b {
                    b'0'..=b'9' => self.record_size = self.record_size * 10 + usize::from(b - b'0'),
                    b'\n' => {
                        self.record_left = std::mem::take(&mut self.record_size);
                        assert!(self.record_left > 0, "an empty record");
                    }
                    other => panic!("unexpected byte {other:#x} in a RecordIO size line"),
                }
            }
        }
    }
}
