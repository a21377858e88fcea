//! RecordIO, the framing of every Mesos v1 event stream.
//!
//! ```text
//! record      = record-size LF record-data
//! record-size = 1*DIGIT          ; decimal, read as an unsigned 64-bit integer
//! record-data = record-size(OCTET)
//! ```
//!
//! `"6\nhello!0\n"` is two records: `hello!` and the empty record. Proxies may
//! re-chunk a stream freely, so the [`Decoder`] is fed arbitrary pieces of it
//! ([`Bytes`] chunks, as they come off the wire) and hands back whole records:
//!
//! - a record that lies inside one chunk comes out as a slice of that chunk,
//!   sharing its memory (no copy); only a record that spans chunks is
//!   assembled into a buffer of its own;
//! - records come out owned ([`Decoder::next_record`]: [`Record`]s holding
//!   [`Bytes`]) or borrowed ([`Decoder::next_record_ref`]: [`RecordRef`]s
//!   holding a `&[u8]` that lives until the next call, without even a
//!   reference count for records inside a chunk, and with one spill buffer
//!   reused for the records that span chunks);
//! - "need more bytes" is not an error: [`Decoder::next_record`] returns
//!   `Ok(None)`, and the record comes out once its last byte has been pushed;
//! - a hostile size cannot exhaust memory: sizes over the maximum record size
//!   ([`DEFAULT_MAX_RECORD_SIZE`], 64 MiB, unless configured) are refused as
//!   soon as the size line (or the part of it in the chunk at hand) has been
//!   read, before anything is allocated;
//! - errors carry the byte offset in the stream where they happened, and a
//!   decoder that failed stays failed (the stream has lost its framing, and
//!   nothing after the error can be trusted).
//!
//! # Odd input, decided
//!
//! Existing readers disagree on odd input (see the reference's RecordIO
//! table). This decoder reads the grammar strictly and never guesses:
//!
//! | input | this decoder |
//! |---|---|
//! | `0\n` (empty record) | emitted as an empty record |
//! | `00005` | accepted: leading zeros are digits (size 5) |
//! | `+5`, `-1`, `0x10`, `" 5"`, `"5\r"` | [`ErrorKind::InvalidSize`] at the offending byte |
//! | `\n` with no digits | [`ErrorKind::EmptySize`] |
//! | size over `u64` (with a maximum of `u64::MAX`) | [`ErrorKind::SizeOverflow`] at the digit that overflows |
//! | size over the maximum record size | [`ErrorKind::TooLarge`] at the digit that crosses it, before any allocation |
//! | stream ends inside a size or a record | [`ErrorKind::Truncated`] from [`Decoder::finish`] |
//! | anything after an error | the same error again |
//!
//! Records and errors depend only on the bytes: not on where the chunks
//! were cut, nor on when the decoder was drained (a property test holds
//! every decoding to the one of the stream pushed whole).
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use mesos_codec::recordio::{Decoder, ErrorKind};
//!
//! let mut decoder = Decoder::new();
//! let mut records = Vec::new();
//! // The master's chunks need not line up with records.
//! for chunk in ["6\nhel", "lo!0\n1", "\n 13\n13 characters"] {
//!     decoder.push(Bytes::from(chunk));
//!     while let Some(record) = decoder.next_record()? {
//!         records.push(record.data);
//!     }
//! }
//! decoder.finish()?;
//! assert_eq!(records, ["hello!", "", " ", "13 characters"]);
//!
//! // A stream that stops inside a record is reported, not dropped.
//! let mut decoder = Decoder::new();
//! decoder.push(Bytes::from_static(b"5\nabcde5\nfgh"));
//! assert_eq!(decoder.next_record()?.unwrap().data, "abcde");
//! assert_eq!(decoder.next_record()?, None);
//! let err = decoder.finish().unwrap_err();
//! assert_eq!(err.offset(), 7);
//! assert!(matches!(err.kind(), ErrorKind::Truncated { .. }));
//! # Ok::<(), mesos_codec::recordio::Error>(())
//! ```
//!
//! Framing goes the other way with [`frame`], which puts a size line in front
//! of a payload without copying it.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

/// The maximum record size a [`Decoder`] accepts unless told otherwise: 64 MiB,
/// enough for the SUBSCRIBED event of a large cluster.
///
/// ```
/// use mesos_codec::recordio::{Decoder, DEFAULT_MAX_RECORD_SIZE};
/// assert_eq!(DEFAULT_MAX_RECORD_SIZE, 64 << 20);
/// assert_eq!(Decoder::new().max_record_size(), DEFAULT_MAX_RECORD_SIZE);
/// ```
pub const DEFAULT_MAX_RECORD_SIZE: u64 = 64 * 1024 * 1024;

/// A record that spans chunks gets a buffer of its full size up front when it
/// is at most this big (a page and [`PLACEMENT_SLACK`] more when it is placed,
/// see [`place`]); larger ones grow as their bytes arrive, so a size line
/// alone (without the data behind it) never makes the decoder allocate much.
const EXACT_ALLOCATION_LIMIT: usize = 1 << 20;

/// Spanning records at least this big are placed in the spill buffer so that
/// copying them is cheap (see [`place`]); smaller ones start at its
/// beginning, where placement would gain nothing.
const PLACEMENT_MIN: usize = 512;

/// A placed record starts this many bytes after its first data byte's
/// address in the chunk, modulo [`PLACEMENT_PERIOD`]. The copies into the
/// spill buffer then have the same alignment on both sides (a multiple of
/// 64), and their stores never fall on the page offsets of the loads just
/// ahead of them (4K aliasing). Measured on the bench machine with a minimal
/// loop copying 4 KiB records out of 1 KiB chunks: at distances that are not
/// multiples of 64 the copies cost about 10 ns a record more, and at
/// multiples of 1 KiB about 5 ns more.
const PLACEMENT_DISTANCE: usize = 1664;

/// How far the written part of the spill buffer is extended beyond a placed
/// record that did not fit in it (see [`place_slow`]).
const PLACEMENT_SLACK: usize = 256;

/// The period of placement: a page. A placed record starts less than this
/// far into the spill buffer.
const PLACEMENT_PERIOD: usize = 4096;

/// The most memory a spill buffer kept from record to record may hold.
const SPILL_KEPT_LIMIT: usize = EXACT_ALLOCATION_LIMIT + PLACEMENT_PERIOD + PLACEMENT_SLACK;

/// A RecordIO decoding error: what went wrong, and where.
///
/// ```
/// use bytes::Bytes;
/// use mesos_codec::recordio::{Decoder, ErrorKind};
///
/// let mut decoder = Decoder::new();
/// decoder.push(Bytes::from_static(b"not a number\n"));
/// let err = decoder.next_record().unwrap_err();
/// assert_eq!(err.offset(), 0);
/// assert_eq!(*err.kind(), ErrorKind::InvalidSize { byte: b'n' });
/// assert_eq!(err.to_string(), "byte 0: invalid character 'n' in a record size (sizes are decimal digits)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    offset: u64,
    kind: ErrorKind,
}

impl Error {
    /// The byte offset in the stream (counting from 0) where the error is:
    /// the offending byte for a bad size, the start of the record's size line
    /// for a record that is too large or truncated.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::Decoder;
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"1\na-1\n"));
    /// assert_eq!(decoder.next_record()?.unwrap().data, "a");
    /// assert_eq!(decoder.next_record().unwrap_err().offset(), 3); // the `-`
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What went wrong.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::{Decoder, ErrorKind};
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"\n"));
    /// assert_eq!(*decoder.next_record().unwrap_err().kind(), ErrorKind::EmptySize);
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

impl std::error::Error for Error {}

/// The reasons a RecordIO stream can be refused.
///
/// `Display` says what went wrong; [`Error`] adds where.
///
/// ```
/// use bytes::Bytes;
/// use mesos_codec::recordio::{Decoder, ErrorKind};
/// let mut decoder = Decoder::with_max_record_size(u64::MAX);
/// decoder.push(Bytes::from_static(b"99999999999999999999\n")); // over u64::MAX
/// assert_eq!(*decoder.next_record().unwrap_err().kind(), ErrorKind::SizeOverflow);
/// // With a smaller maximum, the digits are refused once they cross it.
/// let mut decoder = Decoder::new();
/// decoder.push(Bytes::from_static(b"99999999999999999999\n"));
/// assert!(matches!(decoder.next_record().unwrap_err().kind(), ErrorKind::TooLarge { size: 99999999, .. }));
/// let truncated = ErrorKind::Truncated { expected: Some(20), received: 3 };
/// assert_eq!(truncated.to_string(), "the stream ended inside a record: 3 of its 20 data bytes received");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A byte other than a decimal digit or the closing newline in a size line.
    #[error("invalid character {} in a record size (sizes are decimal digits)", show_byte(*.byte))]
    InvalidSize {
        /// The offending byte.
        byte: u8,
    },
    /// A size line with no digits at all (a newline where a size should start).
    #[error("empty record size (a newline where the size's digits should be)")]
    EmptySize,
    /// The size does not fit in an unsigned 64-bit integer.
    #[error("record size does not fit in 64 bits")]
    SizeOverflow,
    /// The size is larger than the decoder's maximum record size.
    #[error("record size of at least {size} bytes is over the maximum record size of {max} bytes")]
    TooLarge {
        /// The size read so far: the digits are refused as soon as they cross
        /// the maximum, so a longer size line may hold a larger number.
        size: u64,
        /// The decoder's maximum record size.
        max: u64,
    },
    /// The stream ended inside a record (or inside its size line).
    #[error("{}", truncated_text(*.expected, *.received))]
    Truncated {
        /// The record's size, or `None` when the stream ended inside the size line.
        expected: Option<u64>,
        /// How many of the record's data bytes had arrived.
        received: u64,
    },
}

fn show_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() || byte == b' ' { format!("'{}'", byte as char) } else { format!("{byte:#04x}") }
}

fn truncated_text(expected: Option<u64>, received: u64) -> String {
    match expected {
        Some(size) => format!("the stream ended inside a record: {received} of its {size} data bytes received"),
        None => "the stream ended inside a record's size line".to_owned(),
    }
}

/// One decoded record and where it was in the stream.
///
/// ```
/// use bytes::Bytes;
/// use mesos_codec::recordio::Decoder;
/// let mut decoder = Decoder::new();
/// decoder.push(Bytes::from_static(b"20\n{\"type\":\"HEARTBEAT\"}"));
/// let record = decoder.next_record()?.unwrap();
/// assert_eq!((record.offset, record.data_offset, record.end()), (0, 3, 23));
/// assert_eq!(record.data, r#"{"type":"HEARTBEAT"}"#);
/// # Ok::<(), mesos_codec::recordio::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset of the record's first byte (the first digit of its size line).
    pub offset: u64,
    /// Offset of the first data byte, just after the size line's newline.
    pub data_offset: u64,
    /// The record's data, without the size line. A slice of the pushed chunk
    /// when the record lay inside one chunk.
    pub data: Bytes,
}

impl Record {
    /// Offset one past the record's last byte: where the next record starts.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use mesos_codec::recordio::Decoder;
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"3\nabc"));
    /// let record = decoder.next_record().unwrap().unwrap();
    /// assert_eq!((record.offset, record.data_offset, record.end()), (0, 2, 5));
    /// ```
    pub fn end(&self) -> u64 {
        self.data_offset + self.data.len() as u64
    }
}

/// A record borrowed from the [`Decoder`]: what
/// [`next_record_ref`](Decoder::next_record_ref) hands out.
///
/// The same record as a [`Record`], but `data` is a plain `&[u8]` borrowed
/// from the decoder: a slice of the pushed chunk when the record lay inside
/// one chunk (no copy, no reference count), or of the decoder's reusable spill
/// buffer when it spanned chunks. The borrow ends at the next call on the
/// decoder, so a caller that keeps a record copies it or asks
/// [`next_record`](Decoder::next_record) for an owned one.
///
/// ```
/// use bytes::Bytes;
/// use mesos_codec::recordio::Decoder;
/// let mut decoder = Decoder::new();
/// decoder.push(Bytes::from_static(b"20\n{\"type\":\"HEARTBEAT\"}"));
/// let record = decoder.next_record_ref()?.unwrap();
/// assert_eq!((record.offset, record.data_offset, record.end()), (0, 3, 23));
/// assert_eq!(record.data, br#"{"type":"HEARTBEAT"}"#);
/// # Ok::<(), mesos_codec::recordio::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Offset of the record's first byte (the first digit of its size line).
    pub offset: u64,
    /// Offset of the first data byte, just after the size line's newline.
    pub data_offset: u64,
    /// The record's data, without the size line.
    pub data: &'a [u8],
}

impl RecordRef<'_> {
    /// Offset one past the record's last byte: where the next record starts.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// # use mesos_codec::recordio::Decoder;
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"3\nabc"));
    /// let record = decoder.next_record_ref().unwrap().unwrap();
    /// assert_eq!((record.offset, record.data_offset, record.end()), (0, 2, 5));
    /// ```
    pub fn end(&self) -> u64 {
        self.data_offset + self.data.len() as u64
    }
}

/// Where the decoder is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records: the next byte starts a size line.
    Idle,
    /// Inside a size line whose digits so far (`Decoder::size`) ended a chunk.
    Size,
    /// The size line is read and the data spans chunks: it is being
    /// assembled in the spill buffer.
    Data { data_offset: u64, size: usize },
}

/// Where the slow path found a record.
enum Found {
    /// Data bytes `start..end` of the current chunk.
    Chunk { offset: u64, data_offset: u64, start: usize, end: usize },
    /// The record assembled in the spill buffer.
    Spill { offset: u64, data_offset: u64 },
}

/// Above this, `v * 10 + digit` could overflow a `u64`.
const OVERFLOW_GUARD: u64 = (u64::MAX - 9) / 10;

/// An incremental RecordIO decoder, fed [`Bytes`] chunks (sans I/O).
///
/// Push chunks with [`push`](Self::push), take records with
/// [`next_record`](Self::next_record) (owned [`Record`]s) or
/// [`next_record_ref`](Self::next_record_ref) (borrowed [`RecordRef`]s, the
/// cheaper of the two) until it returns `Ok(None)`, and call
/// [`finish`](Self::finish) when the stream has ended, to learn whether it
/// ended cleanly between records. The two ways of taking records can be
/// mixed freely. See the [module docs](self) for the format and how odd input
/// is treated.
///
/// The decoder trusts nothing in the stream: a size over the maximum record
/// size is refused before any allocation (see [`with_max_record_size`]).
/// Records that span chunks are assembled in one spill buffer that the
/// decoder reuses once the records cut from it are gone.
///
/// [`with_max_record_size`]: Self::with_max_record_size
///
/// ```
/// use bytes::Bytes;
/// use mesos_codec::recordio::Decoder;
/// let mut decoder = Decoder::new();
/// decoder.push(Bytes::from_static(b"20\n{\"type\":\"HEART"));
/// assert_eq!(decoder.next_record()?, None); // more bytes needed
/// decoder.push(Bytes::from_static(b"BEAT\"}"));
/// assert_eq!(decoder.next_record()?.unwrap().data, r#"{"type":"HEARTBEAT"}"#);
/// decoder.finish()?; // the stream ended between records
/// # Ok::<(), mesos_codec::recordio::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    max: u64,
    /// The chunk being decoded, of which the first `pos` bytes are consumed;
    /// `offset` is the stream offset of `current[pos]`. Records are cut out
    /// with the cursor, and the handle itself is left alone.
    current: Bytes,
    pos: usize,
    offset: u64,
    /// Chunks pushed but not yet reached.
    queue: VecDeque<Bytes>,
    state: State,
    /// Offset of the record being read (its size line's first byte), while
    /// the state is `Size` or `Data`.
    record_start: u64,
    /// The digits read so far, while the state is `Size`.
    size: u64,
    /// The spill buffer, where records spanning chunks are assembled: the
    /// record is `spill[spill_start..spill_start + spill_len]` (being
    /// assembled in state `Data`; lent out by `next_record_ref` while
    /// `spill_lent`). Its length is how much of it has ever been written: it
    /// is kept from record to record, so that a record can be put anywhere
    /// in it without writing the bytes before it first.
    spill: BytesMut,
    spill_start: usize,
    spill_len: usize,
    spill_lent: bool,
    failed: Option<Error>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with the default maximum record size of 64 MiB
    /// ([`DEFAULT_MAX_RECORD_SIZE`]).
    ///
    /// ```
    /// use mesos_codec::recordio::{Decoder, DEFAULT_MAX_RECORD_SIZE};
    /// let decoder = Decoder::new();
    /// assert_eq!((decoder.max_record_size(), decoder.position()), (DEFAULT_MAX_RECORD_SIZE, 0));
    /// ```
    pub fn new() -> Self {
        Self::with_max_record_size(DEFAULT_MAX_RECORD_SIZE)
    }

    /// A decoder that refuses records larger than `max` bytes.
    ///
    /// The limit protects against a hostile or corrupt size line: without it a
    /// stream could ask for 2^64 bytes. Records of exactly `max` bytes pass.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::{Decoder, ErrorKind};
    ///
    /// let mut decoder = Decoder::with_max_record_size(4);
    /// decoder.push(Bytes::from_static(b"4\nfour5\n"));
    /// assert_eq!(decoder.next_record().unwrap().unwrap().data, "four");
    /// let err = decoder.next_record().unwrap_err();
    /// assert_eq!(*err.kind(), ErrorKind::TooLarge { size: 5, max: 4 });
    /// ```
    pub fn with_max_record_size(max: u64) -> Self {
        Decoder {
            // A record must also fit in memory: cap at what `usize` can index.
            max: max.min(usize::MAX as u64),
            current: Bytes::new(),
            pos: 0,
            offset: 0,
            queue: VecDeque::new(),
            state: State::Idle,
            record_start: 0,
            size: 0,
            spill: BytesMut::new(),
            spill_start: 0,
            spill_len: 0,
            spill_lent: false,
            failed: None,
        }
    }

    /// The largest record this decoder accepts, in bytes.
    ///
    /// ```
    /// use mesos_codec::recordio::Decoder;
    /// assert_eq!(Decoder::with_max_record_size(1024).max_record_size(), 1024);
    /// ```
    pub fn max_record_size(&self) -> u64 {
        self.max
    }

    /// How many bytes of the stream have been decoded so far (the offset of
    /// the next byte to be read). Bytes pushed but not yet reached by
    /// [`next_record`](Self::next_record) are not counted, except a chunk
    /// that [`push`](Self::push) copied at once into a record spanning
    /// chunks.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::Decoder;
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"1\na1\nb"));
    /// assert_eq!(decoder.position(), 0); // pushed, not yet decoded
    /// decoder.next_record()?;
    /// assert_eq!(decoder.position(), 3);
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// Appends the next chunk of the stream. Empty chunks are fine. A
    /// decoder that has failed drops what it is pushed.
    ///
    /// A chunk that lies wholly inside a record spanning chunks (the record
    /// began in an earlier chunk and goes on past this one), with nothing
    /// pushed before it still waiting, is copied into the record at once and
    /// let go of: there is nothing in it to decode, and the caller's buffer
    /// goes back sooner. This is the common step of a large record arriving
    /// in small chunks, and it is inlined into the caller's loop.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::Decoder;
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"6\nhel"));
    /// decoder.push(Bytes::new());
    /// decoder.push(Bytes::from_static(b"lo!"));
    /// assert_eq!(decoder.next_record()?.unwrap().data, "hello!");
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    #[inline(always)]
    pub fn push(&mut self, chunk: Bytes) {
        // A decoder in state `Data` has not failed and lends nothing; with
        // nothing queued and its current chunk used up (a chunk pushed since
        // the last call may still be unread), this chunk's bytes are the
        // record's next ones.
        if let State::Data { size, .. } = self.state
            && self.queue.is_empty()
            && self.pos == self.current.len()
            && chunk.len() < size - self.spill_len
        {
            put(&mut self.spill, self.spill_start + self.spill_len, &chunk);
            self.spill_len += chunk.len();
            self.offset += chunk.len() as u64;
            return;
        }
        if chunk.is_empty() || self.failed.is_some() {
            return;
        }
        if self.pos != self.current.len() || !self.queue.is_empty() {
            // Bytes pushed earlier are still to be decoded: this chunk waits its turn.
            self.queue.push_back(chunk);
            return;
        }
        self.current = chunk;
        self.pos = 0;
    }

    /// The next complete record, `Ok(None)` when more bytes are needed.
    ///
    /// The record's data is owned: a slice of the pushed chunk (sharing its
    /// memory) when the record lay inside one chunk, a buffer of its own when
    /// it spanned chunks. [`next_record_ref`](Self::next_record_ref) is the
    /// cheaper borrowing form, for callers that look at each record in turn.
    ///
    /// After an error every later call returns the same error.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::Decoder;
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"2\nok3\nab"));
    /// assert_eq!(decoder.next_record()?.unwrap().data, "ok");
    /// assert_eq!(decoder.next_record()?, None); // 2 of 3 bytes so far
    /// decoder.push(Bytes::from_static(b"c"));
    /// assert_eq!(decoder.next_record()?.unwrap().data, "abc");
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    // Inlined so that a record found by the fast path stays in registers.
    #[inline(always)]
    pub fn next_record(&mut self) -> Result<Option<Record>, Error> {
        if self.pos < self.current.len() {
            match self.state {
                State::Idle => {
                    if let Some((offset, data_offset, start, end)) = self.whole_record_in_chunk() {
                        let data = self.cut(start, end);
                        return Ok(Some(Record { offset, data_offset, data }));
                    }
                }
                // A record spanning chunks, usually finished by this chunk (a
                // chunk wholly inside it was copied by `push`): inline too.
                State::Data { data_offset, size } => {
                    if self.spanning_step(size) {
                        return Ok(Some(self.take_spill(data_offset)));
                    }
                    // The chunk ended inside the record (and a decoder
                    // assembling one has not failed and lends nothing).
                    if self.queue.is_empty() {
                        return Ok(None);
                    }
                }
                State::Size => {}
            }
        }
        if self.drained() {
            // Everything pushed has been decoded: the end of every drain loop.
            return Ok(None);
        }
        self.slow_next_record()
    }

    /// The next complete record, borrowed from the decoder; `Ok(None)` when
    /// more bytes are needed.
    ///
    /// This is [`next_record`](Self::next_record) without the owned handle:
    /// a record that lies inside one chunk is a `&[u8]` slice of that chunk
    /// (no copy, and not even a reference count), and a record that spans
    /// chunks is a slice of the decoder's spill buffer, assembled with one
    /// copy of each byte into memory that is reused from record to record.
    /// The borrow lasts until the next call on the decoder, which is what a
    /// drain loop needs:
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// let mut lengths = Vec::new();
    /// for chunk in ["6\nhel", "lo!0\n1", "\n 13\n13 characters"] {
    ///     decoder.push(Bytes::from(chunk));
    ///     while let Some(record) = decoder.next_record_ref()? {
    ///         lengths.push((record.offset, record.data.len()));
    ///     }
    /// }
    /// decoder.finish()?;
    /// assert_eq!(lengths, [(0, 6), (8, 0), (10, 1), (13, 13)]);
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    ///
    /// Every guarantee of `next_record` holds: the maximum record size is
    /// checked before anything is allocated, errors name their byte offset,
    /// and after an error every later call returns the same error.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::{Decoder, ErrorKind};
    /// let mut decoder = Decoder::with_max_record_size(8);
    /// decoder.push(Bytes::from_static(b"2\nok9\n"));
    /// assert_eq!(decoder.next_record_ref()?.unwrap().data, b"ok");
    /// let err = decoder.next_record_ref().unwrap_err();
    /// assert_eq!((err.offset(), err.kind()), (4, &ErrorKind::TooLarge { size: 9, max: 8 }));
    /// assert_eq!(decoder.next_record_ref(), Err(err));
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    #[inline(always)]
    pub fn next_record_ref(&mut self) -> Result<Option<RecordRef<'_>>, Error> {
        if self.pos < self.current.len() {
            match self.state {
                State::Idle => {
                    if let Some((offset, data_offset, start, end)) = self.whole_record_in_chunk() {
                        return Ok(Some(RecordRef { offset, data_offset, data: &self.current[start..end] }));
                    }
                }
                // A record spanning chunks, usually finished by this chunk (a
                // chunk wholly inside it was copied by `push`): inline too.
                State::Data { data_offset, size } => {
                    if self.spanning_step(size) {
                        self.spill_lent = true;
                        let offset = self.record_start;
                        return Ok(Some(RecordRef { offset, data_offset, data: self.spilled() }));
                    }
                    // The chunk ended inside the record (and a decoder
                    // assembling one has not failed and lends nothing).
                    if self.queue.is_empty() {
                        return Ok(None);
                    }
                }
                State::Size => {}
            }
        }
        if self.drained() {
            return Ok(None);
        }
        self.slow_next_record_ref()
    }

    /// [`push`](Self::push) of a chunk lent rather than handed over, and the
    /// drain loop of [`next_record_ref`](Self::next_record_ref) over it: each
    /// record the chunk completes is lent to `each`, in order; the error
    /// that stops them, if any, is returned (after the records before it).
    ///
    /// The usual case takes no reference count and copies nothing: when
    /// nothing is pending, the records wholly inside the chunk are lent
    /// from it where they are. What the chunk leaves unfinished is kept: a
    /// record's first bytes go into the spill buffer, as a record spanning
    /// chunks always does, and a spanning record's next bytes are copied
    /// there straight from the chunk; anything else (a size line cut
    /// short, an error to come) is copied as a chunk of its own for the
    /// general path. A stream's tap, which gets each chunk as a slice of
    /// what the proxy read, decodes it so.
    ///
    /// ```
    /// use mesos_codec::recordio::Decoder;
    ///
    /// let mut decoder = Decoder::new();
    /// let mut records = Vec::new();
    /// for chunk in [&b"6\nhello!2\nok3"[..], b"\nab", b"c1"] {
    ///     decoder.feed(chunk, |record| records.push((record.offset, record.data.to_vec())))?;
    /// }
    /// assert_eq!(records, [(0, b"hello!".to_vec()), (8, b"ok".to_vec()), (12, b"abc".to_vec())]);
    /// assert!(decoder.finish().is_err(), "the stream ended inside a size line");
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    #[inline]
    pub fn feed(&mut self, chunk: &[u8], mut each: impl FnMut(RecordRef<'_>)) -> Result<(), Error> {
        let mut rest = chunk;
        // Nothing pushed is still to be decoded, nothing failed or lent.
        while self.pos == self.current.len() && self.queue.is_empty() && self.failed.is_none() && !self.spill_lent {
            match self.state {
                State::Idle => {
                    let Some((header, size)) = size_line(rest, self.max) else { break };
                    if rest.len() - header < size {
                        self.spanning_from(&rest[header..], header, size);
                        return Ok(());
                    }
                    let offset = self.offset;
                    let data_offset = offset + header as u64;
                    each(RecordRef { offset, data_offset, data: &rest[header..header + size] });
                    self.offset = data_offset + size as u64;
                    rest = &rest[header + size..];
                    if rest.is_empty() {
                        return Ok(());
                    }
                }
                State::Data { data_offset, size } => {
                    // A spanning record's next bytes, straight from the chunk.
                    let take = (size - self.spill_len).min(rest.len());
                    put(&mut self.spill, self.spill_start + self.spill_len, &rest[..take]);
                    self.spill_len += take;
                    self.offset += take as u64;
                    rest = &rest[take..];
                    if self.spill_len < size {
                        return Ok(());
                    }
                    self.state = State::Idle;
                    each(RecordRef { offset: self.record_start, data_offset, data: self.spilled() });
                    self.return_spill();
                    if rest.is_empty() {
                        return Ok(());
                    }
                }
                State::Size => break,
            }
        }
        if !rest.is_empty() {
            self.push(Bytes::copy_from_slice(rest));
        }
        while let Some(record) = self.next_record_ref()? {
            each(record);
        }
        // The last record lent is gone with `each`.
        if self.spill_lent {
            self.return_spill();
        }
        Ok(())
    }

    /// Whether everything pushed has been decoded and nothing is owed: the
    /// usual end of a drain loop, answered without leaving the caller.
    #[inline(always)]
    fn drained(&self) -> bool {
        self.pos == self.current.len() && self.queue.is_empty() && self.failed.is_none() && !self.spill_lent
    }

    /// The owned form of data bytes `start..end` of the current chunk: the
    /// chunk itself when the record ends it (no reference count to take).
    #[inline(always)]
    fn cut(&mut self, start: usize, end: usize) -> Bytes {
        if end == self.current.len() {
            let mut chunk = std::mem::take(&mut self.current);
            self.pos = 0;
            chunk.advance(start);
            chunk
        } else {
            self.current.slice(start..end)
        }
    }

    /// The fast path, inlined into the caller's loop: a record whose size
    /// line and data both lie in the current chunk, between records; the
    /// cursor moves past it, and its offset, its data's offset and the
    /// data's range in the current chunk come back. A record whose size line
    /// is here but whose data goes on in later chunks starts being assembled
    /// at once (without reading its size line twice). Anything else (a size
    /// split over chunks, an odd or bad size, an error) is left untouched for
    /// [`decode`](Self::decode), which handles every case.
    #[inline(always)]
    fn whole_record_in_chunk(&mut self) -> Option<(u64, u64, usize, usize)> {
        let bytes = &self.current[self.pos..];
        let (header, size) = size_line(bytes, self.max)?;
        if bytes.len() - header < size {
            self.begin_spanning(header, size);
            return None;
        }
        let offset = self.offset;
        let start = self.pos + header;
        let end = start + size;
        self.pos = end;
        self.offset += (header + size) as u64;
        Some((offset, offset + header as u64, start, end))
    }

    /// Starts assembling a record whose `header_len`-byte size line (checked
    /// against the maximum) starts at the cursor and whose `size` data bytes
    /// go beyond the current chunk: takes the size line and copies the rest
    /// of the chunk into the spill buffer.
    #[inline(always)]
    fn begin_spanning(&mut self, header_len: usize, size: usize) {
        // Taken out for the copy (a move, no reference count), put back.
        let current = std::mem::take(&mut self.current);
        self.spanning_from(&current[self.pos + header_len..], header_len, size);
        self.pos = current.len();
        self.current = current;
    }

    /// Starts assembling a record whose `header_len`-byte size line (or
    /// what is left of it) is at the stream's offset, whose `size` data
    /// bytes go beyond what is at hand, and whose first ones are `first`:
    /// copied into the spill buffer.
    #[inline(always)]
    fn spanning_from(&mut self, first: &[u8], header_len: usize, size: usize) {
        if self.state == State::Idle {
            self.record_start = self.offset;
        }
        // The fast path can get here while the last spanning record is
        // still lent out: the loan ends with this call.
        if self.spill_lent {
            self.return_spill();
        }
        let start = place(&mut self.spill, size, first.len(), first.as_ptr() as usize);
        put(&mut self.spill, start, first);
        let data_offset = self.offset + header_len as u64;
        self.state = State::Data { data_offset, size };
        self.spill_start = start;
        self.spill_len = first.len();
        self.offset = data_offset + first.len() as u64;
    }

    /// The record assembled in the spill buffer.
    #[inline(always)]
    fn spilled(&self) -> &[u8] {
        &self.spill[self.spill_start..self.spill_start + self.spill_len]
    }

    /// The assembled record in the spill buffer, owned: it is split off the
    /// buffer (sharing its memory), and the buffer is left empty; the next
    /// spanning record gets the memory back if the record is gone by then.
    #[inline(never)]
    fn take_spill(&mut self, data_offset: u64) -> Record {
        let mut data = self.spill.split_to(self.spill_start + self.spill_len);
        data.advance(self.spill_start);
        self.spill.clear();
        self.spill_start = 0;
        self.spill_len = 0;
        Record { offset: self.record_start, data_offset, data: data.freeze() }
    }

    #[inline(never)]
    fn slow_next_record(&mut self) -> Result<Option<Record>, Error> {
        Ok(self.slow_decode()?.map(|found| match found {
            Found::Chunk { offset, data_offset, start, end } => {
                Record { offset, data_offset, data: self.cut(start, end) }
            }
            Found::Spill { data_offset, .. } => self.take_spill(data_offset),
        }))
    }

    #[inline(never)]
    fn slow_next_record_ref(&mut self) -> Result<Option<RecordRef<'_>>, Error> {
        Ok(self.slow_decode()?.map(|found| match found {
            Found::Chunk { offset, data_offset, start, end } => {
                RecordRef { offset, data_offset, data: &self.current[start..end] }
            }
            Found::Spill { offset, data_offset } => {
                self.spill_lent = true;
                RecordRef { offset, data_offset, data: self.spilled() }
            }
        }))
    }

    /// The common step of a record spanning chunks (state `Data`, `size`
    /// data bytes in all), kept short enough to stay inline: copies what the
    /// current chunk holds of it into the spill buffer; true when that was
    /// its last byte (the record is complete in the spill buffer, and the
    /// state is `Idle` again).
    #[inline(always)]
    fn spanning_step(&mut self, size: usize) -> bool {
        let bytes = &self.current[self.pos..];
        let take = (size - self.spill_len).min(bytes.len());
        put(&mut self.spill, self.spill_start + self.spill_len, &bytes[..take]);
        self.spill_len += take;
        self.pos += take;
        self.offset += take as u64;
        if self.spill_len < size {
            return false;
        }
        self.state = State::Idle;
        true
    }

    fn slow_decode(&mut self) -> Result<Option<Found>, Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if self.spill_lent {
            self.return_spill();
        }
        self.decode().inspect_err(|err| self.fail(err.clone()))
    }

    /// The record lent from the spill buffer is gone: keep the buffer for
    /// the next spanning record unless it is large.
    fn return_spill(&mut self) {
        self.spill_lent = false;
        self.spill_len = 0;
        if self.spill.capacity() > SPILL_KEPT_LIMIT {
            self.spill = BytesMut::new();
        }
    }

    /// Declares the end of the stream: `Ok(())` when it ended cleanly between
    /// records, an [`ErrorKind::Truncated`] error when it ended inside one.
    ///
    /// Call it after [`next_record`](Self::next_record) has returned
    /// `Ok(None)`: bytes pushed but not decoded count as an unfinished record.
    /// A decoder that had failed returns its error again.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::{Decoder, ErrorKind};
    /// let mut decoder = Decoder::new();
    /// decoder.push(Bytes::from_static(b"2\nok12"));
    /// while decoder.next_record()?.is_some() {}
    /// let err = decoder.finish().unwrap_err(); // the stream stopped inside a size line
    /// assert_eq!((err.offset(), err.kind()), (4, &ErrorKind::Truncated { expected: None, received: 0 }));
    /// # Ok::<(), mesos_codec::recordio::Error>(())
    /// ```
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let pending = (self.current.len() - self.pos + self.queue.iter().map(Bytes::len).sum::<usize>()) as u64;
        let (offset, kind) = match self.state {
            State::Idle if pending == 0 => return Ok(()),
            State::Idle => (self.offset, ErrorKind::Truncated { expected: None, received: 0 }),
            State::Size => (self.record_start, ErrorKind::Truncated { expected: None, received: 0 }),
            State::Data { size, .. } => (
                self.record_start,
                ErrorKind::Truncated { expected: Some(size as u64), received: self.spill_len as u64 + pending },
            ),
        };
        let err = Error { offset, kind };
        self.fail(err.clone());
        Err(err)
    }

    fn fail(&mut self, err: Error) {
        self.failed = Some(err);
        // Nothing after an error is trusted: release the buffers now.
        self.current = Bytes::new();
        self.pos = 0;
        self.queue = VecDeque::new();
        self.state = State::Idle;
        self.spill = BytesMut::new();
        self.spill_len = 0;
        self.spill_lent = false;
    }

    /// Moves on to the next queued chunk; false when there is none.
    fn next_chunk(&mut self) -> bool {
        match self.queue.pop_front() {
            Some(chunk) => {
                self.current = chunk;
                self.pos = 0;
                true
            }
            None => false,
        }
    }

    /// Every case, one step of the grammar at a time, from the cursor.
    fn decode(&mut self) -> Result<Option<Found>, Error> {
        loop {
            if self.pos == self.current.len() && !self.next_chunk() {
                // Everything pushed is consumed. (The spent chunk is let go
                // of when the next one is pushed.)
                return Ok(None);
            }
            if let State::Data { data_offset, size } = self.state {
                // Copy what this chunk holds of a spanning record.
                if self.spanning_step(size) {
                    return Ok(Some(Found::Spill { offset: self.record_start, data_offset }));
                }
                continue;
            }

            // Reading a size line. Every byte before the newline must be a digit.
            if self.state == State::Idle {
                self.record_start = self.offset;
                self.size = 0;
            }
            let bytes = &self.current[self.pos..];
            let mut value = self.size;
            let mut newline = None;
            for (i, &b) in bytes.iter().enumerate() {
                let digit = b.wrapping_sub(b'0');
                if digit <= 9 {
                    if value > OVERFLOW_GUARD {
                        value = self.add_digit_checked(value, digit, self.offset + i as u64)?;
                    } else {
                        value = value * 10 + u64::from(digit);
                    }
                    if value > self.max {
                        // Refused at the digit that crosses the limit (so the
                        // same bytes give the same error however they were
                        // cut into chunks): nothing was allocated.
                        return Err(Error {
                            offset: self.record_start,
                            kind: ErrorKind::TooLarge { size: value, max: self.max },
                        });
                    }
                } else if b == b'\n' {
                    newline = Some(i);
                    break;
                } else {
                    return Err(Error { offset: self.offset + i as u64, kind: ErrorKind::InvalidSize { byte: b } });
                }
            }
            let Some(i) = newline else {
                // The whole rest of the chunk was digits: keep the value and wait.
                self.size = value;
                self.state = State::Size;
                self.offset += bytes.len() as u64;
                self.pos = self.current.len();
                continue;
            };
            if i == 0 && self.state == State::Idle {
                return Err(Error { offset: self.offset, kind: ErrorKind::EmptySize });
            }
            // `value <= max <= usize::MAX`, checked above.
            let size = value as usize;
            if bytes.len() - (i + 1) < size {
                self.begin_spanning(i + 1, size);
                continue;
            }
            let offset = self.record_start;
            let data_offset = self.offset + i as u64 + 1;
            let start = self.pos + i + 1;
            let end = start + size;
            self.pos = end;
            self.offset = data_offset + value;
            self.state = State::Idle;
            return Ok(Some(Found::Chunk { offset, data_offset, start, end }));
        }
    }

    #[cold]
    fn add_digit_checked(&self, value: u64, digit: u8, at: u64) -> Result<u64, Error> {
        value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(digit)))
            .ok_or(Error { offset: at, kind: ErrorKind::SizeOverflow })
    }
}

/// Where in the spill buffer a spanning record of `size` bytes, of which
/// `rest` are at hand from address `from`, is assembled; reserves the memory
/// for it: all of it up front when the record is at most
/// [`EXACT_ALLOCATION_LIMIT`] bytes (and at most [`PLACEMENT_PERIOD`] and
/// [`PLACEMENT_SLACK`] more when it is placed), otherwise what is sure to
/// come (the buffer grows with the data, never with what the size line
/// claims).
///
/// A record of [`PLACEMENT_MIN`] bytes or more goes where its copy is
/// cheapest: [`PLACEMENT_DISTANCE`] bytes after its source's address, modulo
/// a page. That place is inside the part of the buffer written before (a
/// buffer kept from record to record), or costs writing zeros once; a new
/// buffer (the last record was handed out owned, or there was none) starts
/// its record at the beginning instead, so that owned records spanning
/// chunks never pay for placement.
#[inline(always)]
fn place(spill: &mut BytesMut, size: usize, rest: usize, from: usize) -> usize {
    let start = from.wrapping_add(PLACEMENT_DISTANCE).wrapping_sub(spill.as_ptr() as usize) % PLACEMENT_PERIOD;
    if size.wrapping_sub(PLACEMENT_MIN) <= EXACT_ALLOCATION_LIMIT - PLACEMENT_MIN && start + size <= spill.len() {
        return start;
    }
    place_slow(spill, size, rest, from)
}

/// [`place`] when the buffer is new, or too short for the record where it
/// goes, or the record is not placed.
#[cold]
#[inline(never)]
fn place_slow(spill: &mut BytesMut, size: usize, rest: usize, from: usize) -> usize {
    if !(PLACEMENT_MIN..=EXACT_ALLOCATION_LIMIT).contains(&size) || spill.is_empty() {
        let claim = size.min(EXACT_ALLOCATION_LIMIT.max(rest));
        if spill.capacity() < claim {
            spill.reserve(claim - spill.len());
        }
        return 0;
    }
    // Capacity for the record wherever it lands (so that the buffer does
    // not move once the place is chosen), and bytes written up to its end
    // and a little beyond, so that the next records, which tend to land a
    // little further on, mostly find their place written already.
    let most = PLACEMENT_PERIOD + size + PLACEMENT_SLACK;
    if spill.capacity() < most {
        spill.reserve(most - spill.len());
    }
    let start = from.wrapping_add(PLACEMENT_DISTANCE).wrapping_sub(spill.as_ptr() as usize) % PLACEMENT_PERIOD;
    if spill.len() < start + size {
        spill.resize(start + size + PLACEMENT_SLACK, 0);
    }
    start
}

/// A regular size line at the start of `bytes`, whole: its length (the
/// newline included) and the size it gives, at most `max`. `None` for
/// anything else (no newline yet, no digits, a byte that is not a digit,
/// more than 18 digits, a size over `max`), which only the general path
/// ([`Decoder::decode`]) tells apart.
#[inline(always)]
fn size_line(bytes: &[u8], max: u64) -> Option<(usize, usize)> {
    let mut size: u64 = 0;
    let mut i = 0;
    loop {
        let b = *bytes.get(i)?;
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            if b == b'\n' && i > 0 {
                break;
            }
            return None;
        }
        // At most 18 digits here: no overflow. Longer sizes take the slow path.
        if i == 18 {
            return None;
        }
        size = size * 10 + u64::from(digit);
        i += 1;
    }
    // `size <= max <= usize::MAX`.
    (size <= max).then_some((i + 1, size as usize))
}

/// Copies `piece` into `spill` at `at`: over bytes written before where it
/// can, appending the rest.
#[inline(always)]
fn put(spill: &mut BytesMut, at: usize, piece: &[u8]) {
    if at == spill.len() {
        spill.extend_from_slice(piece);
    } else if let Some(place) = spill.get_mut(at..at + piece.len()) {
        place.copy_from_slice(piece);
    } else {
        put_past_end(spill, at, piece);
    }
}

/// [`put`] where the piece goes past the end of what was written before,
/// from inside it.
#[inline(never)]
fn put_past_end(spill: &mut BytesMut, at: usize, piece: &[u8]) {
    if spill.len() < at {
        // Not reached: records are assembled from their start on.
        spill.resize(at, 0);
    }
    let over = (spill.len() - at).min(piece.len());
    spill[at..at + over].copy_from_slice(&piece[..over]);
    spill.extend_from_slice(&piece[over..]);
}

/// Decodes a whole stream held in one buffer: every record, or the first error
/// (including a truncated last record).
///
/// ```
/// use bytes::Bytes;
/// let records = mesos_codec::recordio::decode_all(Bytes::from_static(b"1\na0\n1\nb"))?;
/// assert_eq!(records, ["a", "", "b"]);
/// # Ok::<(), mesos_codec::recordio::Error>(())
/// ```
pub fn decode_all(stream: Bytes) -> Result<Vec<Bytes>, Error> {
    let mut decoder = Decoder::with_max_record_size(u64::MAX);
    decoder.push(stream);
    let mut records = Vec::new();
    while let Some(record) = decoder.next_record()? {
        records.push(record.data);
    }
    decoder.finish()?;
    Ok(records)
}

/// The longest size line: 20 digits of `u64::MAX` and the newline.
const MAX_HEADER: usize = 21;

/// A framed record: its size line followed by its payload, as a [`Buf`].
///
/// Made by [`frame`]. The payload is never copied: writing a `Framed` with
/// vectored I/O (or as an HTTP chunk through hyper, which accepts any `Buf`)
/// sends the size line and the payload's own memory.
///
/// ```
/// use bytes::{Buf, Bytes};
/// let mut framed = mesos_codec::recordio::frame(Bytes::from_static(b"hello!"));
/// assert_eq!(framed.remaining(), 8);
/// assert_eq!(framed.copy_to_bytes(8), "6\nhello!");
/// ```
#[derive(Clone, Debug)]
pub struct Framed {
    header: [u8; MAX_HEADER],
    header_len: u8,
    header_pos: u8,
    payload: Bytes,
}

impl Framed {
    /// The size line, newline included (`b"6\n"` for a 6-byte payload).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::frame;
    /// assert_eq!(frame(Bytes::from_static(b"hello!")).header(), b"6\n");
    /// assert_eq!(frame(Bytes::new()).header(), b"0\n");
    /// ```
    pub fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }

    /// The payload, unchanged.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let framed = mesos_codec::recordio::frame(Bytes::from_static(br#"{"type":"HEARTBEAT"}"#));
    /// assert_eq!(framed.payload(), r#"{"type":"HEARTBEAT"}"#);
    /// ```
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The framed record as one contiguous buffer (this copies the payload).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use mesos_codec::recordio::frame;
    /// assert_eq!(frame(Bytes::from_static(b"hello!")).to_bytes(), "6\nhello!");
    /// assert_eq!(frame(Bytes::new()).to_bytes(), "0\n");
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(usize::from(self.header_len) + self.payload.len());
        out.extend_from_slice(self.header());
        out.extend_from_slice(&self.payload);
        out.freeze()
    }
}

impl Buf for Framed {
    fn remaining(&self) -> usize {
        usize::from(self.header_len - self.header_pos) + self.payload.remaining()
    }

    fn chunk(&self) -> &[u8] {
        if self.header_pos < self.header_len {
            &self.header[usize::from(self.header_pos)..usize::from(self.header_len)]
        } else {
            self.payload.chunk()
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        let in_header = usize::from(self.header_len - self.header_pos).min(cnt);
        // `in_header <= header_len <= 21`, so it fits in a u8.
        self.header_pos += in_header as u8;
        cnt -= in_header;
        self.payload.advance(cnt);
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        if self.header_pos < self.header_len && n < dst.len() {
            dst[n] = std::io::IoSlice::new(&self.header[usize::from(self.header_pos)..usize::from(self.header_len)]);
            n += 1;
        }
        if !self.payload.is_empty() && n < dst.len() {
            dst[n] = std::io::IoSlice::new(&self.payload);
            n += 1;
        }
        n
    }
}

/// Frames one record without copying its payload.
///
/// ```
/// use bytes::{Buf, Bytes};
/// use mesos_codec::recordio::frame;
///
/// let payload = Bytes::from_static(br#"{"type":"HEARTBEAT"}"#);
/// let framed = frame(payload.clone());
/// assert_eq!(framed.header(), b"20\n");
/// assert_eq!(framed.payload().as_ptr(), payload.as_ptr()); // the same memory
/// assert_eq!(framed.to_bytes(), &b"20\n{\"type\":\"HEARTBEAT\"}"[..]);
/// assert_eq!(framed.remaining(), 23);
/// ```
pub fn frame(payload: Bytes) -> Framed {
    let mut header = [0u8; MAX_HEADER];
    let len = write_header(payload.len() as u64, &mut header);
    Framed { header, header_len: len as u8, header_pos: 0, payload }
}

/// Appends one framed record (size line and payload) to `out`, copying the
/// payload; for building a whole stream in one buffer.
///
/// ```
/// use bytes::BytesMut;
/// let mut stream = BytesMut::new();
/// mesos_codec::recordio::encode_into(b"hello!", &mut stream);
/// mesos_codec::recordio::encode_into(b"", &mut stream);
/// assert_eq!(&stream[..], b"6\nhello!0\n");
/// ```
pub fn encode_into(payload: &[u8], out: &mut BytesMut) {
    let mut header = [0u8; MAX_HEADER];
    let len = write_header(payload.len() as u64, &mut header);
    out.reserve(len + payload.len());
    out.extend_from_slice(&header[..len]);
    out.extend_from_slice(payload);
}

/// Writes `size` in decimal and a newline at the start of `out`; returns the length.
fn write_header(mut size: u64, out: &mut [u8; MAX_HEADER]) -> usize {
    let mut digits = [0u8; 20];
    let mut n = 0;
    loop {
        digits[n] = b'0' + (size % 10) as u8;
        n += 1;
        size /= 10;
        if size == 0 {
            break;
        }
    }
    for (i, d) in digits[..n].iter().rev().enumerate() {
        out[i] = *d;
    }
    out[n] = b'\n';
    n + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_of_max_size() {
        let mut out = [0u8; MAX_HEADER];
        let n = write_header(u64::MAX, &mut out);
        assert_eq!(&out[..n], b"18446744073709551615\n");
    }

    #[test]
    fn framed_advances_across_header_and_payload() {
        let mut framed = frame(Bytes::from_static(b"abc"));
        framed.advance(1);
        assert_eq!(framed.chunk(), b"\n");
        framed.advance(2);
        assert_eq!(framed.chunk(), b"bc");
        assert_eq!(framed.remaining(), 2);
    }

    /// A record as either call sees it: offset, data offset, data.
    type Seen = (u64, u64, Vec<u8>);

    /// Takes every record `decoder` has, borrowed where `pattern` says so
    /// (cycling; always when it is empty), owned elsewhere.
    fn drain(decoder: &mut Decoder, pattern: &[bool], calls: &mut usize, out: &mut Vec<Seen>) -> Result<(), Error> {
        loop {
            let borrowed = pattern.is_empty() || pattern[*calls % pattern.len()];
            *calls += 1;
            let next = if borrowed {
                decoder.next_record_ref().map(|r| r.map(|r| (r.offset, r.data_offset, r.data.to_vec())))
            } else {
                decoder.next_record().map(|r| r.map(|r| (r.offset, r.data_offset, r.data.to_vec())))
            };
            match next? {
                Some(seen) => out.push(seen),
                None => return Ok(()),
            }
        }
    }

    /// A stream of records of the given sizes (distinct contents), and what
    /// decoding it must give.
    fn stream_of(sizes: &[usize]) -> (Bytes, Vec<Seen>) {
        let mut stream = BytesMut::new();
        let mut want = Vec::new();
        for (n, &size) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 + n * 13) as u8).collect();
            let offset = stream.len() as u64;
            encode_into(&data, &mut stream);
            want.push((offset, stream.len() as u64 - size as u64, data));
        }
        (stream.freeze(), want)
    }

    #[test]
    fn a_chunk_inside_a_spanning_record_is_copied_when_pushed() {
        // A stream ending after such chunks is a record cut short, with every
        // byte counted once.
        let mut cut = Decoder::new();
        cut.push(Bytes::from_static(b"10\nabc"));
        assert_eq!(cut.next_record(), Ok(None));
        cut.push(Bytes::from_static(b"def"));
        cut.push(Bytes::from_static(b"g"));
        let err = cut.finish().unwrap_err();
        assert_eq!((err.offset(), err.kind()), (0, &ErrorKind::Truncated { expected: Some(10), received: 7 }));
        for borrowed in [true, false] {
            let mut decoder = Decoder::new();
            decoder.push(Bytes::from_static(b"10\nabc"));
            assert_eq!(decoder.next_record(), Ok(None));
            assert_eq!(decoder.position(), 6);
            // Wholly inside the record: copied at once, and counted.
            decoder.push(Bytes::from_static(b"def"));
            decoder.push(Bytes::new());
            assert_eq!(decoder.position(), 9);
            // The chunk that finishes the record waits for the next call, and
            // what follows the record is decoded from it.
            decoder.push(Bytes::from_static(b"ghij1\nk"));
            assert_eq!(decoder.position(), 9);
            if borrowed {
                let record = decoder.next_record_ref().unwrap().unwrap();
                assert_eq!((record.offset, record.data_offset, record.data), (0, 3, &b"abcdefghij"[..]));
            } else {
                let record = decoder.next_record().unwrap().unwrap();
                assert_eq!((record.offset, record.data_offset, &record.data[..]), (0, 3, &b"abcdefghij"[..]));
            }
            assert_eq!(decoder.next_record().unwrap().unwrap().data, "k");
            assert_eq!((decoder.position(), decoder.finish()), (16, Ok(())));
        }
    }

    #[test]
    fn a_chunk_pushed_while_another_waits_comes_after_it() {
        // The first record ends the first chunk, and the second chunk still
        // waits in the queue when the third is pushed.
        for borrowed in [true, false] {
            let mut decoder = Decoder::new();
            let take = |decoder: &mut Decoder| {
                if borrowed {
                    decoder.next_record_ref().map(|r| r.map(|r| (r.offset, r.data.to_vec())))
                } else {
                    decoder.next_record().map(|r| r.map(|r| (r.offset, r.data.to_vec())))
                }
            };
            decoder.push(Bytes::from_static(b"3\nabc"));
            decoder.push(Bytes::from_static(b"1\nx"));
            assert_eq!(take(&mut decoder), Ok(Some((0, b"abc".to_vec()))));
            decoder.push(Bytes::from_static(b"1\ny"));
            assert_eq!(take(&mut decoder), Ok(Some((5, b"x".to_vec()))));
            assert_eq!(take(&mut decoder), Ok(Some((8, b"y".to_vec()))));
            assert_eq!(take(&mut decoder), Ok(None));
            assert_eq!((decoder.position(), decoder.finish()), (11, Ok(())));
        }
    }

    #[test]
    fn large_spanning_records_are_placed_in_one_buffer() {
        // 4 KiB records in 1 KiB chunks: each spans five chunks. The first
        // goes to a new buffer; the others are placed in it.
        let (stream, want) = stream_of(&[4096; 12]);
        let mut decoder = Decoder::new();
        let mut seen = Vec::new();
        let mut buffers = Vec::new();
        for at in (0..stream.len()).step_by(1024) {
            decoder.push(stream.slice(at..(at + 1024).min(stream.len())));
            while let Some(record) = decoder.next_record_ref().unwrap() {
                let from = stream.as_ptr() as usize + record.data_offset as usize;
                let distance = (record.data.as_ptr() as usize).wrapping_sub(from) % PLACEMENT_PERIOD;
                seen.push((record.offset, record.data_offset, record.data.to_vec()));
                if seen.len() > 1 {
                    assert_eq!(distance, PLACEMENT_DISTANCE, "record {}", seen.len());
                    buffers.push(decoder.spill.as_ptr());
                }
            }
        }
        assert_eq!(decoder.finish(), Ok(()));
        assert_eq!(seen, want);
        assert!(buffers.windows(2).all(|w| w[0] == w[1]), "one buffer: {buffers:?}");
        assert!(decoder.spill.capacity() <= PLACEMENT_PERIOD + 4096 + PLACEMENT_SLACK);
    }

    #[test]
    fn placed_records_taken_owned_keep_their_bytes() {
        // Borrowed and owned takes alternate over placed records; the owned
        // ones are slices of the buffer they were assembled in, which the
        // next record does not touch.
        let (stream, want) = stream_of(&[600, 3000, 5000, 700, 4096, 513, 2000]);
        for pattern in [[true, false], [false, true]] {
            let mut decoder = Decoder::new();
            let mut owned = Vec::new();
            let mut seen = Vec::new();
            let mut calls = 0;
            for at in (0..stream.len()).step_by(333) {
                decoder.push(stream.slice(at..(at + 333).min(stream.len())));
                loop {
                    let borrowed = pattern[calls % 2];
                    calls += 1;
                    if borrowed {
                        match decoder.next_record_ref().unwrap() {
                            Some(r) => seen.push((r.offset, r.data_offset, r.data.to_vec())),
                            None => break,
                        }
                    } else {
                        match decoder.next_record().unwrap() {
                            Some(r) => {
                                seen.push((r.offset, r.data_offset, r.data.to_vec()));
                                owned.push((seen.len() - 1, r.data));
                            }
                            None => break,
                        }
                    }
                }
            }
            assert_eq!(decoder.finish(), Ok(()));
            assert_eq!(seen, want);
            for (n, data) in owned {
                assert_eq!(data, want[n].2, "owned record {n}");
            }
        }
    }

    proptest::proptest! {
        /// Each chunk pushed and drained (`pattern` choosing the owned or
        /// the borrowed record for each call) or fed (lent, as `fed` says
        /// for it), in any mix on one decoder: the records at their offsets.
        #[test]
        fn records_large_and_small_in_random_chunks(
            sizes in proptest::collection::vec(
                proptest::prop_oneof![0..40usize, 480..560usize, 1000..5000usize], 0..12),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..40),
            pattern in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..6),
            fed in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..6),
        ) {
            let (stream, want) = stream_of(&sizes);
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut decoder = Decoder::new();
            let mut seen = Vec::new();
            let mut calls = 0;
            let mut start = 0;
            for (n, cut) in cuts.into_iter().chain([stream.len()]).enumerate() {
                let chunk = stream.slice(start..cut);
                start = cut;
                if !fed.is_empty() && fed[n % fed.len()] {
                    decoder.feed(&chunk, |r| seen.push((r.offset, r.data_offset, r.data.to_vec()))).unwrap();
                } else {
                    decoder.push(chunk);
                    drain(&mut decoder, &pattern, &mut calls, &mut seen).unwrap();
                }
            }
            proptest::prop_assert_eq!(decoder.finish(), Ok(()));
            proptest::prop_assert_eq!(seen, want);
            proptest::prop_assert_eq!(decoder.position(), stream.len() as u64);
        }

        /// Any bytes fed in any chunks: the records and the error (its kind
        /// and offset) that pushing the same chunks gives.
        #[test]
        fn any_bytes_fed_give_what_pushing_them_gives(
            records in proptest::collection::vec(0..700usize, 0..4),
            garbage in proptest::collection::vec(
                proptest::prop_oneof![proptest::strategy::Just(b'\n'), b'0'..=b'9', proptest::prelude::any::<u8>()], 0..64),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..12),
            max in proptest::prop_oneof![proptest::strategy::Just(DEFAULT_MAX_RECORD_SIZE), 1..800u64],
        ) {
            let (valid, _) = stream_of(&records);
            let mut bytes = valid.to_vec();
            bytes.extend_from_slice(&garbage);
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let (mut fed, mut pushed) = (Decoder::with_max_record_size(max), Decoder::with_max_record_size(max));
            let (mut by_feed, mut by_push) = (Vec::new(), Vec::new());
            let (mut fed_end, mut pushed_end) = (Ok(()), Ok(()));
            let mut start = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                let chunk = &bytes[start..cut];
                start = cut;
                if fed_end.is_ok() {
                    fed_end = fed.feed(chunk, |r| by_feed.push((r.offset, r.data_offset, r.data.to_vec())));
                }
                if pushed_end.is_ok() {
                    pushed.push(Bytes::copy_from_slice(chunk));
                    pushed_end = drain(&mut pushed, &[], &mut 0, &mut by_push);
                }
            }
            let fed_end = fed_end.and_then(|()| fed.finish());
            let pushed_end = pushed_end.and_then(|()| pushed.finish());
            proptest::prop_assert_eq!(by_feed, by_push);
            proptest::prop_assert_eq!(fed_end, pushed_end);
        }

        #[test]
        fn arbitrary_bytes_after_a_placed_record_never_panic(
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            digits in proptest::collection::vec(b'0'..=b'9', 1..9),
            cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..12),
            pattern in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..6),
        ) {
            // Two records of 600 bytes (the second placed in the buffer the
            // first left), then a size line of up to 8 digits, then anything.
            let (valid, want) = stream_of(&[600, 600]);
            let mut bytes = valid.to_vec();
            bytes.extend_from_slice(&digits);
            bytes.push(b'\n');
            bytes.extend_from_slice(&garbage);
            let stream = Bytes::from(bytes);
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut decoder = Decoder::with_max_record_size(1 << 24);
            let mut seen = Vec::new();
            let mut calls = 0;
            let mut start = 0;
            let mut outcome = Ok(());
            for cut in cuts.into_iter().chain([stream.len()]) {
                decoder.push(stream.slice(start..cut));
                start = cut;
                outcome = drain(&mut decoder, &pattern, &mut calls, &mut seen);
                if outcome.is_err() {
                    break;
                }
            }
            let end = outcome.and_then(|()| decoder.finish());
            proptest::prop_assert_eq!(&seen[..2], &want[..]);
            if let Err(err) = end {
                proptest::prop_assert_eq!(decoder.next_record_ref(), Err(err.clone()));
                proptest::prop_assert_eq!(decoder.next_record(), Err(err.clone()));
                proptest::prop_assert_eq!(decoder.finish(), Err(err));
            }
        }
    }
}
