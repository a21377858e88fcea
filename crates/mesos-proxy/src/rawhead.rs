//! Headers as they were sent: names in their own case, in wire order (the
//! framework's requests, and the master's answers).
//!
//! hyper keeps the case of header names on the wire (`preserve_header_case`)
//! but does not show it: an `http::HeaderMap` has lowercase names, grouped
//! by name. [`Capture`] wraps a connection (a framework's, or one to the
//! master) and follows the HTTP/1 framing of what is read (heads,
//! `Content-Length` and chunked bodies), queueing each message's header
//! lines; the proxy takes them in message order ([`Heads::next`]) and records
//! them when they match what hyper read (the same names, ignoring case, and
//! the same values). Anything it does not follow (an upgrade,
//! a head too large) turns the capture off, and the headers are recorded as
//! hyper gives them.
//!
//! On a connection to the master, the capture also takes every chunked
//! response body away from hyper ([`Diverted`]): the proxy reads it itself
//! and cuts it into the chunks the master wrote (see [`Capture`] for how
//! hyper is kept in step, and why).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use hyper::body::{Body, Frame};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest head followed; a larger one turns the capture off.
const MAX_HEAD: usize = 64 * 1024;

/// The header lines of one request, `[name, value]` as sent.
pub type Lines = Vec<(String, String)>;

/// More heads than this waiting means the capture lost its way: it stops.
const MAX_WAITING: usize = 32;

/// The heads captured on one connection, in message order.
#[derive(Debug, Clone, Default)]
pub struct Heads(Arc<Mutex<Queue>>);

#[derive(Debug, Default)]
struct Queue {
    heads: VecDeque<Lines>,
    /// Given up: no head is given any more.
    lost: bool,
}

impl Heads {
    /// The header lines of the next message, when they agree with `headers`
    /// (what hyper read of it).
    pub fn next(&self, headers: &HeaderMap) -> Option<Lines> {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner()).heads.pop_front()?;
        // Only the case and the order come from the capture: the names and
        // values must be the ones hyper read.
        let mut sent: Vec<(String, &str)> = lines.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.as_str())).collect();
        let values: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut read: Vec<(String, &str)> = values.iter().map(|(n, v)| (n.clone(), v.as_str())).collect();
        sent.sort_unstable();
        read.sort_unstable();
        (sent == read).then_some(lines)
    }

    fn push(&self, lines: Lines) {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if queue.lost || queue.heads.len() >= MAX_WAITING {
            queue.lost = true;
            queue.heads.clear();
            return;
        }
        queue.heads.push_back(lines);
    }
}

#[derive(Debug)]
enum State {
    /// Reading a head.
    Head(Vec<u8>),
    /// A body of this many bytes still to come.
    Fixed(u64),
    /// A chunk-size line.
    ChunkSize(Vec<u8>),
    /// Chunk data still to come, then its line end.
    ChunkData(u64),
    /// The line end after chunk data.
    ChunkEnd,
    /// Trailer lines after the last chunk, the current one so far.
    Trailers(Vec<u8>),
    /// The chunked body of a response from the master: its bytes go to a
    /// [`Diverted`] reader, not to hyper, which follows it to its end.
    Diverted,
    /// Not followed any more.
    Off,
}

/// Follows the framing of the bytes of one connection.
#[derive(Debug)]
struct Follower {
    state: State,
    heads: Heads,
    /// Responses (from the master) rather than requests.
    responses: bool,
    /// The next response's chunked body goes to a [`Diverted`] reader
    /// (not when it answers a `HEAD` or a `CONNECT`: [`Diverter::expect`]).
    divert: bool,
    /// The next response answers a `HEAD`: it has no body.
    answers_head: bool,
}

fn line_end(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n')
}

/// A chunk-size line's size (the line without its `\n`): hex digits, then
/// maybe an extension after `;`, whitespace (spaces, tabs, the line's
/// `\r`) around both. Read byte by byte: once a chunk, every chunk.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
    let start = line.iter().position(|b| !blank(b))?;
    let mut size: u64 = 0;
    let mut at = start;
    while let Some(digit) = line.get(at).and_then(|&b| char::from(b).to_digit(16)) {
        size = size.checked_mul(16)?.checked_add(u64::from(digit))?;
        at += 1;
    }
    if at == start {
        return None;
    }
    match line[at..].iter().find(|b| !blank(b)) {
        None | Some(b';') => Some(size),
        Some(_) => None,
    }
}

impl Follower {
    /// Follows `data`, the next bytes of the connection. A response head
    /// whose body is diverted ([`State::Diverted`]) stops it there: the
    /// offset in `data` where that body starts.
    fn feed(&mut self, mut data: &[u8]) -> Option<usize> {
        let len = data.len();
        while !data.is_empty() {
            let trailers = matches!(self.state, State::Trailers(_));
            match &mut self.state {
                State::Off => return None,
                State::Diverted => return Some(len - data.len()),
                State::Head(head) => {
                    if head.is_empty() {
                        // Empty lines before a request line are skipped.
                        let skip = data.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(data.len());
                        data = &data[skip..];
                        if data.is_empty() {
                            return None;
                        }
                    }
                    let start = head.len().saturating_sub(3);
                    head.extend_from_slice(data);
                    let found = find_head_end(&head[start..]).map(|end| start + end);
                    match found {
                        Some(end) => {
                            let rest = head.len() - end;
                            let head = std::mem::take(head);
                            data = &data[data.len() - rest..];
                            self.state = self.head(&head[..end]);
                        }
                        None if head.len() > MAX_HEAD => self.state = State::Off,
                        None => return None,
                    }
                }
                State::Fixed(n) => {
                    let take = (*n).min(data.len() as u64);
                    *n -= take;
                    data = &data[take as usize..];
                    if *n == 0 {
                        self.state = State::Head(Vec::new());
                    }
                }
                State::ChunkSize(line) | State::Trailers(line) => {
                    let Some(end) = line_end(data) else {
                        line.extend_from_slice(data);
                        if line.len() > MAX_HEAD {
                            self.state = State::Off;
                        }
                        return None;
                    };
                    // A line read whole (the usual case) is read in place.
                    let whole = if line.is_empty() {
                        &data[..end]
                    } else {
                        line.extend_from_slice(&data[..end]);
                        &line[..]
                    };
                    let next = if trailers {
                        if whole.trim_ascii().is_empty() {
                            State::Head(Vec::new())
                        } else {
                            State::Trailers(Vec::new())
                        }
                    } else {
                        match chunk_size(whole) {
                            Some(0) => State::Trailers(Vec::new()),
                            Some(n) => State::ChunkData(n),
                            None => State::Off,
                        }
                    };
                    self.state = next;
                    data = &data[end + 1..];
                }
                State::ChunkData(n) => {
                    let take = (*n).min(data.len() as u64);
                    *n -= take;
                    data = &data[take as usize..];
                    if *n == 0 {
                        self.state = State::ChunkEnd;
                    }
                }
                State::ChunkEnd => {
                    let end = line_end(data)?;
                    data = &data[end + 1..];
                    self.state = State::ChunkSize(Vec::new());
                }
            }
        }
        // A head that ends `data` may be a diverted body's.
        matches!(self.state, State::Diverted).then_some(len)
    }

    /// Reads a complete head (up to its blank line): its header lines are
    /// queued, and the state of its body is returned.
    fn head(&self, head: &[u8]) -> State {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let request_line = lines.next().unwrap_or("");
        let mut headers = Vec::new();
        for line in lines {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                return State::Off; // obsolete line folding: not followed
            }
            let Some((name, value)) = line.split_once(':') else { return State::Off };
            headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
        }
        fn header<'a>(headers: &'a [(String, String)], wanted: &'a str) -> impl Iterator<Item = &'a (String, String)> {
            headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(wanted))
        }
        let upgrade = request_line.starts_with("CONNECT ") || header(&headers, "upgrade").next().is_some();
        let chunked = header(&headers, "transfer-encoding")
            .last()
            .is_some_and(|(_, v)| v.rsplit(',').next().is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked")));
        let length = header(&headers, "content-length").next().map(|(_, v)| v.parse::<u64>());
        if self.responses {
            let status: u16 = request_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            match status {
                // hyper reads 1xx answers itself; the final answer follows.
                100 | 102..=199 => return State::Head(Vec::new()),
                101 => return State::Off,
                _ => {}
            }
            self.heads.push(headers);
            return match (status, chunked, length) {
                _ if self.answers_head => State::Head(Vec::new()),
                (204 | 304, _, _) => State::Head(Vec::new()),
                (_, true, _) if self.divert => State::Diverted,
                (_, true, _) => State::ChunkSize(Vec::new()),
                (_, false, Some(Ok(0))) => State::Head(Vec::new()),
                (_, false, Some(Ok(n))) => State::Fixed(n),
                // The body runs to the end of the connection.
                (_, false, _) => State::Off,
            };
        }
        self.heads.push(headers);
        if upgrade {
            return State::Off;
        }
        match (chunked, length) {
            (true, _) => State::ChunkSize(Vec::new()),
            (false, Some(Ok(0)) | None) => State::Head(Vec::new()),
            (false, Some(Ok(n))) => State::Fixed(n),
            (false, Some(Err(_))) => State::Off,
        }
    }
}

/// Where a head ends (just after its blank line), within `data`.
fn find_head_end(data: &[u8]) -> Option<usize> {
    (0..data.len()).find_map(|i| {
        if data[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if data[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else if data[i..].starts_with(b"\n\r\n") {
            Some(i + 3)
        } else {
            None
        }
    })
}

/// What hyper reads in place of a diverted body: a chunked body's end, with
/// no chunk before it (the response is over, as far as hyper knows).
const STAND_IN: &[u8] = b"0\r\n\r\n";

/// The room a diverted body is first read into; it doubles after each read
/// that fills it, up to [`DIVERT_READ_MAX`], as hyper's own read buffer
/// grows: an idle stream (a heartbeat every 15 s) holds 8 KiB, a busy one
/// reads up to 256 KiB at a time. Against 64 KiB every read,
/// `proxy_vs_nginx` in the same run: the lane 1.91 → 1.73 µs an event on
/// the mix, 1.59 → 1.44 at 200 B.
const DIVERT_READ: usize = 8 * 1024;

/// The most room a diverted body is read into at a time (a relay's batch
/// is about as large: [`crate::tee::BATCH_BYTES`]).
const DIVERT_READ_MAX: usize = 256 * 1024;

/// The largest chunk of a diverted body held back until it is whole (and
/// forwarded as one chunk); the pieces of a larger one go on as they come.
pub const MAX_JOINED_CHUNK: u64 = 64 * 1024 * 1024;

/// A connection whose heads are captured as they are read; on a connection
/// to the master, every chunked response body (but a `HEAD`'s or a
/// `CONNECT`'s: [`Diverter::expect`]) is diverted from hyper to a
/// [`Diverted`] reader.
///
/// Why divert: an event stream's chunks, relayed through hyper's client,
/// were read twice (hyper's decoder, then this capture, for the chunk
/// sizes that put hyper's pieces back together) and handed over one at a
/// time through hyper's body channel. Read here, each chunk is cut once
/// from the bytes read, whole as the master wrote it. hyper reads the
/// response's head and, in place of its body, an empty chunked body's end
/// (`0\r\n\r\n`): it takes the response as over and waits, its connection
/// idle, until the diverted body has ended; then it reads on from the bytes
/// after it, so keep-alive goes on as before. `proxy_vs_nginx` on a 2-core
/// VM, against hyper's reading in the same run: the stream's lane 2.86 →
/// 2.46 µs an event on the realistic mix, 1.76 → 1.63 at 200 B, 8.31 →
/// 6.56 at 4 KiB (`docs/performance.md`, "Ninth run").
pub struct Capture<S> {
    wire: Arc<Mutex<Wire<S>>>,
}

impl<S> std::fmt::Debug for Capture<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture").finish_non_exhaustive()
    }
}

/// A connection and what its capture knows of it.
struct Wire<S> {
    io: S,
    follower: Follower,
    divert: Divert,
    /// How much of [`STAND_IN`] hyper has read (all of it but while a
    /// diverted body's head has just been read).
    stand_in: usize,
    /// Bytes read after a diverted body's end: hyper reads them (and they
    /// are followed) before the connection's next ones.
    leftover: BytesMut,
}

enum Divert {
    /// hyper reads the connection.
    No,
    /// A body is diverted: `raw` holds what was read of it and not taken
    /// yet; hyper waits (`hyper`, its waker) until the body has ended.
    /// A body broken off inside a chunk gives what came of the chunk first,
    /// then the error (`broken`): the framework sees the same cut.
    /// `room`: what the next read may take at least (see [`DIVERT_READ`]).
    Body {
        raw: BytesMut,
        room: usize,
        dechunk: Dechunk,
        /// Room for [`Dechunk::cut`]'s spans.
        spans: Vec<(usize, usize)>,
        hyper: Option<Waker>,
        claimed: bool,
        broken: Option<io::Error>,
    },
    /// The reader of a diverted body went away before its end: the
    /// connection is in the middle of a body, and can only be closed.
    Abandoned,
}

fn lock<S>(wire: &Mutex<Wire<S>>) -> MutexGuard<'_, Wire<S>> {
    wire.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S> Capture<S> {
    /// Wraps a framework connection `inner`; its requests' heads go to the
    /// returned [`Heads`].
    pub fn requests(inner: S) -> (Capture<S>, Heads) {
        Capture::new(inner, false)
    }

    /// Wraps a connection to the master; its responses' heads go to the
    /// returned [`Heads`], and its chunked response bodies to the
    /// [`Diverted`] that [`Capture::diverter`]'s handle claims.
    pub fn responses(inner: S) -> (Capture<S>, Heads) {
        Capture::new(inner, true)
    }

    fn new(inner: S, responses: bool) -> (Capture<S>, Heads) {
        let heads = Heads::default();
        let follower = Follower {
            state: State::Head(Vec::new()),
            heads: heads.clone(),
            responses,
            divert: responses,
            answers_head: false,
        };
        let wire =
            Wire { io: inner, follower, divert: Divert::No, stand_in: STAND_IN.len(), leftover: BytesMut::new() };
        (Capture { wire: Arc::new(Mutex::new(wire)) }, heads)
    }

    /// The handle that claims the diverted body of the response hyper has
    /// just read ([`Diverter::claim`]).
    pub fn diverter(&self) -> Diverter<S> {
        Diverter { wire: self.wire.clone() }
    }
}

/// Claims the diverted bodies of a connection's responses.
pub struct Diverter<S> {
    wire: Arc<Mutex<Wire<S>>>,
}

impl<S> Clone for Diverter<S> {
    fn clone(&self) -> Self {
        Diverter { wire: self.wire.clone() }
    }
}

impl<S> Diverter<S> {
    /// Before a request goes out: whether its answer's body, if chunked, is
    /// diverted (not when the request is a `HEAD`, whose answer has no
    /// body, nor a `CONNECT`).
    pub fn expect(&self, method: &http::Method) {
        let follower = &mut lock(&self.wire).follower;
        follower.answers_head = *method == http::Method::HEAD;
        follower.divert = !follower.answers_head && *method != http::Method::CONNECT;
    }

    /// The body of the response hyper has just read, when it was diverted
    /// (hyper's own body of it is then empty): each response's once.
    pub fn claim(&self) -> Option<Diverted<S>> {
        let mut wire = lock(&self.wire);
        match &mut wire.divert {
            Divert::Body { claimed, .. } if !*claimed => {
                *claimed = true;
                Some(Diverted {
                    wire: self.wire.clone(),
                    chunks: VecDeque::new(),
                    carried: VecDeque::new(),
                    spliced: None,
                    ended: false,
                })
            }
            _ => None,
        }
    }
}

/// A diverted response body (see [`Capture`]): its chunks, each a frame,
/// as the master framed them; and, once [`spliced`](Self::splice), the
/// bytes that carried them as the master wrote them.
pub struct Diverted<S> {
    wire: Arc<Mutex<Wire<S>>>,
    /// The places of the chunks cut and not taken yet, each in the bytes
    /// that carried it (the first ones in `carried`'s first).
    chunks: VecDeque<(usize, usize)>,
    /// What the chunks not taken yet came in.
    carried: Carried,
    /// Spliced: what carried the chunks taken, in order, until
    /// [`take_carried`](Self::take_carried).
    spliced: Option<Vec<Bytes>>,
    /// The body ended, or broke off.
    ended: bool,
}

impl<S> Diverted<S> {
    /// From now on, the bytes that carried the chunks taken are kept for
    /// [`take_carried`](Self::take_carried): chunk-size lines, data and
    /// CRLFs as the master wrote them, up to the last chunk (taken out:
    /// whoever relays them ends the body themselves). Bytes go there only
    /// once every chunk cut from them has been taken (a relay records a
    /// chunk before it forwards it).
    pub fn splice(&mut self) {
        self.spliced.get_or_insert_with(Vec::new);
    }

    /// Whether it is [`splice`](Self::splice)d.
    pub fn is_spliced(&self) -> bool {
        self.spliced.is_some()
    }

    /// The bytes that carried the chunks taken since the last call, when
    /// [`splice`](Self::splice)d.
    pub fn take_carried(&mut self) -> Vec<Bytes> {
        self.spliced.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

impl<S> std::fmt::Debug for Diverted<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diverted").field("chunks", &self.chunks.len()).field("ended", &self.ended).finish()
    }
}

impl<S: AsyncRead + Unpin> Diverted<S> {
    /// [`poll_frame`](Body::poll_frame) for many chunks at once, without
    /// the frames: the chunks already cut (reading when there are none),
    /// appended to `out` until it holds `max` or they hold `max_bytes`
    /// (at least one is taken): `Ready(Some(Ok(bytes)))`, how many bytes
    /// they hold; `Ready(None)` once the body has ended. A relay that
    /// gathers a batch takes it so (`tee::gather`): `perf` of a stream's
    /// lane at 200 B, the polls through `UpstreamBody` and this body, a
    /// frame a chunk, and the gathering were 4.0 % of its samples, this
    /// and the gathering 2.3 %; the lane's µs an event in three
    /// `proxy_vs_nginx` runs against the frames, 0.41, 0.42, 0.43 vs 0.42,
    /// 0.45, 0.43 at 200 B, 0.65, 0.65, 0.67 vs 0.67, 0.65, 0.67 on the mix.
    pub fn poll_chunks(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Chunks,
        max: usize,
        max_bytes: usize,
    ) -> Poll<Option<io::Result<usize>>> {
        if let Err(err) = std::task::ready!(self.poll_cut(cx)) {
            return Poll::Ready(Some(Err(err)));
        }
        let (mut taken, mut bytes) = (0, 0);
        // Where the bytes that carried the next chunk are in `out`, once
        // they are: each read goes in once, however many chunks it carried.
        let mut read = None;
        while taken == 0 || out.len() < max && bytes < max_bytes {
            let (Some(&(start, end)), Some((carrier, _))) = (self.chunks.front(), self.carried.front()) else { break };
            let index = *read.get_or_insert_with(|| {
                out.reads.push(carrier.clone());
                out.reads.len() - 1
            });
            out.places.push((index, start, end));
            bytes += end - start;
            taken += 1;
            if self.taken() {
                read = None;
            }
        }
        Poll::Ready((taken > 0).then_some(Ok(bytes)))
    }

    /// Cuts the next chunks when none is left, reading as needed: `Ready`
    /// once there are some, or the body has ended.
    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.chunks.is_empty() && !self.ended {
            let result = std::task::ready!(lock(&self.wire).poll_diverted(cx, &mut self.chunks, &mut self.carried));
            match result {
                Ok(ended) => self.ended = ended,
                Err(err) => {
                    self.ended = true;
                    lock(&self.wire).abandon();
                    return Poll::Ready(Err(err));
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// The first chunk cut is taken: it goes, and the bytes that carried
    /// it go too once it was their last (on to
    /// [`take_carried`](Self::take_carried) when spliced): whether they
    /// went. The chunks and what carried them are in the same order.
    fn taken(&mut self) -> bool {
        self.chunks.pop_front();
        let Some((_, left)) = self.carried.front_mut() else { return false };
        *left -= 1;
        if *left > 0 {
            return false;
        }
        if let Some((bytes, _)) = self.carried.pop_front()
            && let Some(spliced) = &mut self.spliced
        {
            spliced.push(bytes);
        }
        true
    }
}

impl<S: AsyncRead + Unpin> Body for Diverted<S> {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if let Err(err) = std::task::ready!(this.poll_cut(cx)) {
            return Poll::Ready(Some(Err(err)));
        }
        let (Some(&(start, end)), Some((carrier, _))) = (this.chunks.front(), this.carried.front()) else {
            return Poll::Ready(None);
        };
        let chunk = carrier.slice(start..end);
        this.taken();
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.chunks.is_empty()
    }
}

impl<S> Drop for Diverted<S> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        lock(&self.wire).abandon();
    }
}

impl<S> Wire<S> {
    /// The diverted body will not be read to its end (its reader went
    /// away, or it broke off): hyper's next read fails, and it closes the
    /// connection.
    fn abandon(&mut self) {
        if let Divert::Body { hyper, .. } = std::mem::replace(&mut self.divert, Divert::Abandoned)
            && let Some(waker) = hyper
        {
            waker.wake();
        }
    }
}

impl<S: AsyncRead + Unpin> Wire<S> {
    /// Follows what hyper has just read into `buf` from `before`; a body to
    /// divert that starts there is taken out, and the stand-in put in its
    /// place.
    fn follow(&mut self, buf: &mut ReadBuf<'_>, before: usize) {
        let Some(at) = self.follower.feed(&buf.filled()[before..]) else { return };
        let start = before + at;
        let mut raw = BytesMut::with_capacity(DIVERT_READ.max(buf.filled().len() - start + self.leftover.len()));
        raw.extend_from_slice(&buf.filled()[start..]);
        raw.extend_from_slice(&self.leftover);
        self.leftover.clear();
        buf.set_filled(start);
        let n = STAND_IN.len().min(buf.remaining());
        buf.put_slice(&STAND_IN[..n]);
        self.stand_in = n;
        self.divert = Divert::Body {
            raw,
            room: DIVERT_READ,
            dechunk: Dechunk::default(),
            spans: Vec::new(),
            hyper: None,
            claimed: false,
            broken: None,
        };
    }

    /// Cuts the diverted body's chunks into `out`, reading when none is
    /// there: `Ready(Ok(true))` once the body has ended (the bytes after
    /// it are hyper's again).
    fn poll_diverted(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut VecDeque<(usize, usize)>,
        carried: &mut Carried,
    ) -> Poll<io::Result<bool>> {
        let Divert::Body { raw, room, dechunk, spans, broken, .. } = &mut self.divert else {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the body is not diverted")));
        };
        loop {
            let ended = match dechunk.cut(raw, out, carried, spans) {
                Ok(ended) => ended,
                // The chunks before the error first (it comes again).
                Err(_) if !out.is_empty() => return Poll::Ready(Ok(false)),
                Err(why) => return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, why))),
            };
            if ended {
                let Divert::Body { raw, hyper, .. } = std::mem::replace(&mut self.divert, Divert::No) else {
                    unreachable!("matched above")
                };
                self.leftover = raw;
                self.follower.state = State::Head(Vec::new());
                if let Some(waker) = hyper {
                    waker.wake();
                }
                return Poll::Ready(Ok(true));
            }
            if !out.is_empty() {
                return Poll::Ready(Ok(false));
            }
            if let Some(err) = broken.take() {
                return Poll::Ready(Err(err));
            }
            raw.reserve((*room).max(dechunk.wanted()));
            let err = match std::task::ready!(tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, raw)) {
                Ok(0) => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the master closed the connection inside a chunked body",
                ),
                Ok(n) => {
                    if n >= *room {
                        *room = (*room * 2).min(DIVERT_READ_MAX);
                    }
                    continue;
                }
                Err(err) => err,
            };
            // What came of a chunk cut off goes on first, then the error.
            if let Dechunk::Data { left, line } = dechunk
                && raw.len() > *line
            {
                let bytes = raw.split().freeze();
                let data = (bytes.len() - *line).min(usize::try_from(*left).unwrap_or(usize::MAX));
                out.push_back((*line, *line + data));
                carried.push_back((bytes, 1));
                *left -= data as u64;
                *line = 0;
                *broken = Some(err);
                return Poll::Ready(Ok(false));
            }
            return Poll::Ready(Err(err));
        }
    }
}

/// Where a diverted chunked body is.
#[derive(Debug, Default)]
enum Dechunk {
    /// At a chunk-size line.
    #[default]
    Size,
    /// In a chunk: `left` bytes of its data still to come, after the
    /// `line` bytes of its size line at the start of what is held (0 once
    /// a piece of it has been cut).
    Data { left: u64, line: usize },
    /// At a chunk's data not followed by CRLF (an error).
    DataEnd,
    /// At a trailer line (or the blank line that ends the body).
    Trailers,
}

/// What a diverted body's chunks came in: bytes as the master wrote them,
/// framing and all, and how many of the chunks cut from them (each a slice
/// of them) have not been taken yet.
type Carried = VecDeque<(Bytes, usize)>;

impl Dechunk {
    /// The bytes a chunk being read still needs, its framing included, when
    /// it is held until it is whole.
    fn wanted(&self) -> usize {
        match self {
            Dechunk::Data { left, line } if *left <= MAX_JOINED_CHUNK => {
                usize::try_from(*left).map_or(0, |left| left + line + 2)
            }
            _ => 0,
        }
    }

    /// Cuts the chunks that are whole in `raw` (a chunk over
    /// [`MAX_JOINED_CHUNK`] in pieces as they come): each chunk's data into
    /// `out`, and the bytes that carried them, as read, into `carried`,
    /// which is how they go on when spliced (`mesos_tls::splice`). A chunk is cut
    /// with the CRLF after it (a piece of a large one keeps its last byte
    /// back until the CRLF has come), so what is carried ends where a
    /// chunk does. True once the body has ended: its last chunk and
    /// trailers are taken out and not carried, and `raw` holds what came
    /// after them. `spans` is room for the chunks' places in `raw`.
    fn cut(
        &mut self,
        raw: &mut BytesMut,
        out: &mut VecDeque<(usize, usize)>,
        carried: &mut Carried,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<bool, String> {
        // Where the bytes cut so far end in `raw`.
        let mut pos = 0;
        let result = loop {
            match self {
                Dechunk::Size | Dechunk::Trailers => {
                    let Some(end) = line_end(&raw[pos..]) else {
                        break if raw.len() - pos > MAX_HEAD {
                            Err(format!("a chunked body's line is over {MAX_HEAD} bytes"))
                        } else {
                            Ok(false)
                        };
                    };
                    let line = &raw[pos..pos + end];
                    if matches!(self, Dechunk::Trailers) {
                        // Only after the last chunk: `pos` is 0.
                        let blank = line.trim_ascii().is_empty();
                        raw.advance(end + 1);
                        if blank {
                            break Ok(true);
                        }
                        continue;
                    }
                    match chunk_size(line) {
                        Some(0) => {
                            // The chunks before the last one go as they came; the
                            // last one and the trailers are taken out.
                            emit(raw, pos, spans, out, carried);
                            pos = 0;
                            raw.advance(end + 1);
                            *self = Dechunk::Trailers;
                        }
                        Some(n) => *self = Dechunk::Data { left: n, line: end + 1 },
                        // Taken out only once read: an error stays where it is.
                        None => {
                            break Err(format!(
                                "bad chunk-size line {:?}",
                                String::from_utf8_lossy(&line[..line.len().min(40)])
                            ));
                        }
                    }
                }
                Dechunk::Data { left, line } => {
                    let start = pos + *line;
                    let have = (raw.len() - start) as u64;
                    let n = *left;
                    if have.checked_sub(n).is_some_and(|after| after >= 2) {
                        let end = start + n as usize;
                        spans.push((start, end));
                        if &raw[end..end + 2] == b"\r\n" {
                            pos = end + 2;
                            *self = Dechunk::Size;
                        } else {
                            pos = end;
                            *self = Dechunk::DataEnd;
                        }
                    } else if n > MAX_JOINED_CHUNK && have > 0 {
                        let take = have.min(n - 1);
                        spans.push((start, start + take as usize));
                        pos = start + take as usize;
                        *self = Dechunk::Data { left: n - take, line: 0 };
                    } else {
                        break Ok(false);
                    }
                }
                Dechunk::DataEnd => break Err("a chunk's data is not followed by CRLF".to_owned()),
            }
        };
        emit(raw, pos, spans, out, carried);
        result
    }
}

/// Cuts `raw`'s first `pos` bytes, which carry the chunks at `spans`, into
/// `carried`, and the chunks' places in them into `out`.
fn emit(
    raw: &mut BytesMut,
    pos: usize,
    spans: &mut Vec<(usize, usize)>,
    out: &mut VecDeque<(usize, usize)>,
    carried: &mut Carried,
) {
    if spans.is_empty() {
        return;
    }
    carried.push_back((raw.split_to(pos).freeze(), spans.len()));
    out.extend(spans.drain(..));
}

/// Chunks taken from a diverted body ([`Diverted::poll_chunks`]), or
/// frames' data: each a place in bytes that carried it, held once however
/// many chunks they carried. A chunk gets no `Bytes` of its own (a
/// reference count taken and dropped for each) unless it is forwarded as
/// a frame: a spliced relay's tap reads each where it is.
///
/// ```
/// use bytes::Bytes;
/// use mesos_proxy::rawhead::Chunks;
///
/// let mut chunks = Chunks::default();
/// chunks.push(Bytes::from_static(b"a frame's data"));
/// chunks.push(Bytes::from_static(b"another"));
/// assert_eq!(chunks.len(), 2);
/// assert_eq!(chunks.iter().collect::<Vec<&[u8]>>(), [&b"a frame's data"[..], b"another"]);
/// assert_eq!(chunks.slices().last(), Some(Bytes::from_static(b"another")));
/// chunks.clear();
/// assert!(chunks.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Chunks {
    reads: Vec<Bytes>,
    /// Each chunk: the index of its bytes in `reads`, and its range there.
    places: Vec<(usize, usize, usize)>,
}

impl Chunks {
    /// How many chunks.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Adds `data` as a chunk of its own.
    pub fn push(&mut self, data: Bytes) {
        self.places.push((self.reads.len(), 0, data.len()));
        self.reads.push(data);
    }

    /// Each chunk's bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.places.iter().map(|&(read, start, end)| &self.reads[read][start..end])
    }

    /// Each chunk as `Bytes` of its own (a frame's), in order.
    pub fn slices(&self) -> impl Iterator<Item = Bytes> + '_ {
        self.places.iter().map(|&(read, start, end)| self.reads[read].slice(start..end))
    }

    /// Lets every chunk go (the room is kept).
    pub fn clear(&mut self) {
        self.reads.clear();
        self.places.clear();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capture<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut wire = lock(&self.wire);
        let wire = &mut *wire;
        if wire.stand_in < STAND_IN.len() {
            let rest = &STAND_IN[wire.stand_in..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            wire.stand_in += n;
            return Poll::Ready(Ok(()));
        }
        match &mut wire.divert {
            Divert::No => {}
            Divert::Body { hyper, .. } => {
                *hyper = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Divert::Abandoned => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the relay of a response body ended before the body did",
                )));
            }
        }
        let before = buf.filled().len();
        if !wire.leftover.is_empty() {
            let n = wire.leftover.len().min(buf.remaining());
            buf.put_slice(&wire.leftover.split_to(n));
            wire.follow(buf, before);
            return Poll::Ready(Ok(()));
        }
        let result = Pin::new(&mut wire.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            wire.follow(buf, before);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capture<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut lock(&self.wire).io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut lock(&self.wire).io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        lock(&self.wire).io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut lock(&self.wire).io).poll_flush(cx)
    }

    /// Not while a diverted body is being read. hyper shuts a connection
    /// down once it has read the last response it expects on it (the
    /// request said `Connection: close`, as the framework's did), which for a
    /// diverted body is the stand-in, while the body itself is still coming:
    /// a master takes the end of what it reads for the client gone and ends
    /// the stream (a real 1.11.0 master does at once, before its second
    /// event). The connection closes when the body's reader lets go of it.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut wire = lock(&self.wire);
        if matches!(wire.divert, Divert::Body { .. }) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut wire.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn follow(pieces: &[&[u8]]) -> Vec<Lines> {
        follow_as(pieces, false)
    }

    fn follow_as(pieces: &[&[u8]], responses: bool) -> Vec<Lines> {
        let heads = Heads::default();
        let mut follower = Follower {
            state: State::Head(Vec::new()),
            heads: heads.clone(),
            responses,
            divert: false,
            answers_head: false,
        };
        for piece in pieces {
            follower.feed(piece);
        }
        heads.0.lock().unwrap().heads.drain(..).collect()
    }

    fn names(heads: &[Lines]) -> Vec<Vec<&str>> {
        heads.iter().map(|h| h.iter().map(|(n, _)| n.as_str()).collect()).collect()
    }

    #[test]
    fn heads_between_bodies_of_both_kinds_are_found_in_any_pieces() {
        let wire: &[u8] =
            b"POST /a HTTP/1.1\r\nHost: m\r\nContent-Length: 17\r\nX-Case: A\r\n\r\nX-Fake: body\r\n\r\n\r\n\
POST /b HTTP/1.1\r\nhost: m\r\nTransfer-Encoding: chunked\r\n\r\n5;ext\r\nab\r\nc\r\n0\r\nTrailer: t\r\n\r\n\
GET /c HTTP/1.1\r\nHOST: m\r\nAccept: */*\r\n\r\n";
        let expected =
            vec![vec!["Host", "Content-Length", "X-Case"], vec!["host", "Transfer-Encoding"], vec!["HOST", "Accept"]];
        assert_eq!(names(&follow(&[wire])), expected);
        // Byte by byte.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        let heads = follow(&bytes);
        assert_eq!(names(&heads), expected);
        assert_eq!(heads[0][2], ("X-Case".to_owned(), "A".to_owned()));
    }

    #[test]
    fn responses_without_bodies_and_1xx_are_followed() {
        let wire: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n\
HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
HTTP/1.1 307 Temporary Redirect\r\nLocation: //m:5050\r\nContent-Length: 2\r\n\r\nxy";
        let expected =
            vec![vec!["Content-Length"], vec!["X-A"], vec!["Transfer-Encoding"], vec!["Location", "Content-Length"]];
        assert_eq!(names(&follow_as(&[wire], true)), expected);
    }

    #[test]
    fn heads_are_taken_only_when_they_match_what_hyper_read() {
        let heads = Heads::default();
        heads.push(vec![("X-A".into(), "1".into()), ("Host".into(), "m".into())]);
        heads.push(vec![("X-A".into(), "2".into()), ("Host".into(), "m".into())]);
        let mut map = HeaderMap::new();
        map.insert("host", "m".parse().unwrap());
        map.insert("x-a", "1".parse().unwrap());
        assert_eq!(heads.next(&map).unwrap()[0].0, "X-A");
        assert_eq!(heads.next(&map), None, "another value");
        assert_eq!(heads.next(&map), None, "none left");
    }

    #[test]
    fn chunk_size_lines() {
        for (line, size) in [
            (&b"1f"[..], Some(31)),
            (b"1F\r", Some(31)),
            (b" 0 ", Some(0)),
            (b"a;name=value\r", Some(10)),
            (b"a ; name\r", Some(10)),
            (b"ffffffffffffffff", Some(u64::MAX)),
            (b"10000000000000000", None),
            (b"", None),
            (b"\r", None),
            (b";x", None),
            (b"+5", None),
            (b"5 x", None),
            (b"g", None),
        ] {
            assert_eq!(chunk_size(line), size, "{:?}", String::from_utf8_lossy(line));
        }
    }

    /// A chunk over [`MAX_JOINED_CHUNK`] goes in pieces as its bytes come,
    /// the first with its size line; its last byte waits for the CRLF after
    /// it, so that what is carried ends where the chunk does.
    #[test]
    fn a_chunk_too_large_to_join_goes_in_pieces_its_last_byte_with_its_crlf() {
        let n = MAX_JOINED_CHUNK + 3;
        let (mut dechunk, mut raw) = (Dechunk::default(), BytesMut::new());
        let (mut out, mut carried, mut spans) = (VecDeque::new(), VecDeque::new(), Vec::new());
        let mut cut = |raw: &mut BytesMut, more: &[u8]| {
            raw.extend_from_slice(more);
            let ended = dechunk.cut(raw, &mut out, &mut carried, &mut spans).unwrap();
            let taken: Vec<(usize, usize)> = out.drain(..).map(|(start, end)| (end - start, 0)).collect();
            let wire: Vec<(usize, usize)> = carried.drain(..).map(|(b, k)| (b.len(), k)).collect();
            (ended, taken, wire)
        };
        let line = format!("{n:x}\r\n");
        assert_eq!(cut(&mut raw, line.as_bytes()), (false, vec![], vec![]), "the size line alone");
        assert_eq!(cut(&mut raw, b"ab"), (false, vec![(2, 0)], vec![(line.len() + 2, 1)]));
        let rest = vec![b'x'; (n - 2) as usize];
        assert_eq!(cut(&mut raw, &rest), (false, vec![(rest.len() - 1, 0)], vec![(rest.len() - 1, 1)]));
        assert_eq!(cut(&mut raw, b"\r"), (false, vec![], vec![]), "the last byte waits for the CRLF");
        assert_eq!(cut(&mut raw, b"\n1\r\nz\r\n0\r\n\r\nnext"), (true, vec![(1, 0), (1, 0)], vec![(3 + 6, 2)]));
        assert_eq!(&raw[..], b"next", "what came after the body stays");
    }

    #[test]
    fn an_upgrade_turns_the_capture_off() {
        let wire: &[u8] = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\nA: b\r\n\r\n";
        assert_eq!(names(&follow(&[wire])), vec![vec!["Upgrade"]]);
    }

    /// A master's side of one connection, scripted: the answer to the
    /// `n`th request is `answers[n]`, read in the pieces given (none of it
    /// before that request was written).
    struct Script {
        answers: VecDeque<VecDeque<Vec<u8>>>,
        /// Requests written (their blank lines) and answers begun.
        requests: usize,
        answered: usize,
        written: Vec<u8>,
        waker: Option<Waker>,
    }

    impl AsyncRead for Script {
        fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self;
            // Every answer read: the master closes the connection.
            while let Some(answer) = this.answers.front_mut() {
                if this.answered >= this.requests {
                    this.waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                match answer.pop_front() {
                    Some(mut piece) => {
                        let n = piece.len().min(buf.remaining());
                        buf.put_slice(&piece[..n]);
                        if n < piece.len() {
                            answer.push_front(piece.split_off(n));
                        }
                        return Poll::Ready(Ok(()));
                    }
                    None => {
                        this.answers.pop_front();
                        this.answered += 1;
                    }
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Script {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
            self.written.extend_from_slice(data);
            let requests = self.written.windows(4).filter(|w| w == b"\r\n\r\n").count();
            if requests > self.requests {
                self.requests = requests;
                if let Some(waker) = self.waker.take() {
                    waker.wake();
                }
            }
            Poll::Ready(Ok(data.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// `bytes` cut where `cuts` (fractions of its length) say.
    fn pieces(bytes: &[u8], cuts: &[f64]) -> VecDeque<Vec<u8>> {
        let mut at: Vec<usize> = cuts.iter().map(|c| (c * bytes.len() as f64) as usize).collect();
        at.extend([0, bytes.len()]);
        at.sort_unstable();
        at.dedup();
        at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
    }

    fn chunked(chunks: &[&[u8]], trailer: &str) -> Vec<u8> {
        let mut body = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nMesos-Stream-Id: s\r\n\r\n".to_vec();
        for (i, chunk) in chunks.iter().enumerate() {
            // A chunk extension on every other chunk.
            let ext = if i % 2 == 1 { ";x=1" } else { "" };
            body.extend_from_slice(format!("{:x}{ext}\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("0\r\n{trailer}\r\n").as_bytes());
        body
    }

    /// hyper's client over the capture of a scripted master connection
    /// giving `answers`: its sender, the capture's heads and diverter, and
    /// the connection's task.
    async fn client(
        answers: Vec<VecDeque<Vec<u8>>>,
    ) -> (
        hyper::client::conn::http1::SendRequest<http_body_util::Empty<Bytes>>,
        Heads,
        Diverter<Script>,
        tokio::task::JoinHandle<hyper::Result<()>>,
    ) {
        let script = Script { answers: answers.into(), requests: 0, answered: 0, written: Vec::new(), waker: None };
        let (capture, heads) = Capture::responses(script);
        let diverter = capture.diverter();
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(capture)).await.unwrap();
        (sender, heads, diverter, tokio::spawn(conn))
    }

    fn block_on<F: std::future::Future>(test: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(test)
    }

    /// Three requests on one connection, read by hyper over the capture:
    /// each `200`'s chunked body comes from the diverted reader, chunk for
    /// chunk as the master framed it; the `202` between them, and the
    /// `Content-Length` body after them, from hyper, as before. With
    /// `batches` (most chunks, most bytes), the chunks are taken as a relay
    /// takes them ([`Diverted::poll_chunks`]), else a frame at a time.
    fn three_answers(cuts: [&[f64]; 4], batches: Option<(usize, usize)>) {
        let big = vec![b'x'; 3 * DIVERT_READ + 7];
        let first: [&[u8]; 3] = [b"abc", b"0123456789", b"Z"];
        let answers = [
            chunked(&first, "X-Trailer: t\r\n"),
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_vec(),
            chunked(&[&big, b"y"], ""),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ];
        let answers_sent = answers.clone();
        block_on(async move {
            use http_body_util::BodyExt;
            let (mut sender, heads, diverter, _conn) =
                client(answers.iter().zip(cuts).map(|(a, c)| pieces(a, c)).collect()).await;
            let mut answers = Vec::new();
            for _ in 0..4 {
                sender.ready().await.unwrap();
                let request = http::Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
                let response = sender.send_request(request).await.unwrap();
                let status = response.status().as_u16();
                let lines = heads.next(response.headers()).map(|l| l[0].0.clone());
                let mut frames = Vec::new();
                match diverter.claim() {
                    Some(mut diverted) => {
                        assert!(diverter.claim().is_none(), "claimed once");
                        diverted.splice();
                        let mut carried = Vec::new();
                        loop {
                            match batches {
                                None => match diverted.frame().await {
                                    Some(frame) => frames.push(frame.unwrap().into_data().unwrap()),
                                    None => break,
                                },
                                Some((max, max_bytes)) => {
                                    let mut batch = Chunks::default();
                                    let polled =
                                        std::future::poll_fn(|cx| diverted.poll_chunks(cx, &mut batch, max, max_bytes));
                                    let Some(bytes) = polled.await else { break };
                                    let sizes: Vec<usize> = batch.iter().map(<[u8]>::len).collect();
                                    assert_eq!(bytes.unwrap(), sizes.iter().sum::<usize>());
                                    assert!((1..=max.max(1)).contains(&sizes.len()), "{sizes:?}, at most {max}");
                                    let before_last: usize = sizes[..sizes.len() - 1].iter().sum();
                                    assert!(sizes.len() == 1 || before_last < max_bytes, "{sizes:?}, {max_bytes} B");
                                    assert_eq!(batch.len(), sizes.len());
                                    // Each read that carried them in once.
                                    assert!(batch.reads.windows(2).all(|w| w[0].as_ptr() != w[1].as_ptr()));
                                    frames.extend(batch.slices());
                                }
                            }
                            carried.extend(diverted.take_carried().iter().flat_map(|b| b.iter().copied()));
                            // What carried the chunks taken, and no more.
                            let frames: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
                            let upto = chunked(&frames, "");
                            let upto = &upto[upto.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
                            assert!(carried.len() <= upto.len() - 5, "the bytes of a chunk not taken yet went on");
                        }
                        // Every byte but the last chunk and trailers, as the
                        // master wrote it.
                        let wire = &answers_sent[answers.len()];
                        let body = &wire[wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
                        let last = body.windows(5).rposition(|w| w == b"\r\n0\r\n").unwrap() + 2;
                        assert_eq!(String::from_utf8_lossy(&carried), String::from_utf8_lossy(&body[..last]));
                        assert!(response.into_body().collect().await.unwrap().to_bytes().is_empty());
                    }
                    None => frames.push(response.into_body().collect().await.unwrap().to_bytes()),
                }
                answers.push((status, lines, frames));
            }
            let chunks = |c: &[&[u8]]| c.iter().map(|c| Bytes::copy_from_slice(c)).collect::<Vec<_>>();
            assert_eq!(answers[0], (200, Some("Transfer-Encoding".to_owned()), chunks(&first)));
            assert_eq!(answers[1], (202, Some("Content-Length".to_owned()), chunks(&[b""])));
            assert_eq!(answers[2], (200, Some("Transfer-Encoding".to_owned()), chunks(&[&big, b"y"])));
            assert_eq!(answers[3], (200, Some("Content-Length".to_owned()), chunks(&[b"ok"])));
        });
    }

    #[test]
    fn diverted_bodies_read_whole_and_hyper_reads_on() {
        for batches in [None, Some((64, 256 * 1024)), Some((2, 1 << 20)), Some((64, 5)), Some((1, 1))] {
            three_answers([&[], &[], &[], &[]], batches);
            // Byte by byte in the heads and framing of the first answer.
            let every: Vec<f64> = (1..140).map(|i| f64::from(i) / 140.0).collect();
            three_answers([&every, &[0.5], &[0.01, 0.3, 0.9999], &every], batches);
        }
    }

    proptest::proptest! {
        #[test]
        fn diverted_bodies_read_whole_in_any_pieces(
            a in proptest::collection::vec(0.0..1.0f64, 0..12),
            b in proptest::collection::vec(0.0..1.0f64, 0..3),
            c in proptest::collection::vec(0.0..1.0f64, 0..12),
        ) {
            three_answers([&a, &b, &c, &a], None);
            three_answers([&a, &b, &c, &a], Some((2, 8)));
        }
    }

    /// A `HEAD`'s answer has no body, chunked or not: nothing is diverted,
    /// and the next answer is read as before.
    #[test]
    fn a_head_answer_is_not_diverted() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        block_on(async move {
            use http_body_util::BodyExt;
            let (mut sender, _, diverter, _conn) =
                client(vec![VecDeque::from([head]), VecDeque::from([chunked(&[b"abc"], "")])]).await;
            for method in [http::Method::HEAD, http::Method::GET] {
                sender.ready().await.unwrap();
                diverter.expect(&method);
                let request = http::Request::builder().method(method.clone()).uri("/");
                let response = sender.send_request(request.body(http_body_util::Empty::<Bytes>::new()).unwrap());
                let response =
                    tokio::time::timeout(std::time::Duration::from_secs(5), response).await.unwrap().unwrap();
                let claimed = diverter.claim();
                assert_eq!(claimed.is_some(), method == http::Method::GET);
                let body = match claimed {
                    Some(diverted) => diverted.collect().await.unwrap().to_bytes(),
                    None => response.into_body().collect().await.unwrap().to_bytes(),
                };
                assert_eq!(body, if method == http::Method::GET { &b"abc"[..] } else { b"" });
            }
        });
    }

    #[test]
    fn a_diverted_body_cut_off_or_misframed_breaks_off() {
        for (wire, why) in [
            (&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"[..], "inside a chunked body"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nZ\r\n", "inside a chunked body"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab", "bad chunk-size line"),
            (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", "not followed by CRLF"),
        ] {
            block_on(async move {
                use http_body_util::BodyExt;
                let (mut sender, _, diverter, conn) = client(vec![VecDeque::from([wire.to_vec()])]).await;
                let request = http::Request::get("/").body(http_body_util::Empty::<Bytes>::new()).unwrap();
                let _response = sender.send_request(request).await.unwrap();
                let mut diverted = diverter.claim().unwrap();
                let mut frames = Vec::new();
                let err = loop {
                    match diverted.frame().await {
                        Some(Ok(frame)) => frames.push(frame.into_data().unwrap()),
                        Some(Err(err)) => break err,
                        None => panic!("ended cleanly: {why}"),
                    }
                };
                assert!(err.to_string().contains(why), "{err} ({why})");
                // What came of a chunk cut off goes on, as it came.
                let came: &[&str] = if why.contains("CRLF") || why.contains("inside") && wire.ends_with(b"ab") {
                    &["ab"]
                } else if wire.ends_with(b"Z\r\n") {
                    &["Z"]
                } else {
                    &[]
                };
                assert_eq!(frames, came.iter().map(|c| Bytes::from(*c)).collect::<Vec<_>>(), "{why}");
                assert!(diverted.frame().await.is_none(), "nothing after the error");
                // hyper's connection, in the middle of a body, ends.
                drop(sender);
                assert!(conn.await.unwrap().is_err(), "{why}");
            });
        }
    }
}
