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

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::HeaderMap;
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
    /// The sizes of the chunks of the latest response's body read so far
    /// and not yet taken ([`Heads::next_chunk_size`]).
    chunks: VecDeque<u64>,
    /// Chunk sizes are not known any more (the capture stopped, or too
    /// many waited).
    chunks_off: bool,
}

/// More chunk sizes than this waiting: nobody takes them, they stop.
const MAX_CHUNKS_WAITING: usize = 1 << 16;

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

    /// The size of the next chunk of the latest response's body, in the
    /// order the master sent them: known as soon as its size line was read,
    /// so before any of its data comes out of hyper. `None` when the capture
    /// does not know (it stopped following, or the body is not chunked).
    pub fn next_chunk_size(&self) -> Option<u64> {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if queue.chunks_off { None } else { queue.chunks.pop_front() }
    }

    fn chunk(&self, size: u64) {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if queue.chunks_off {
            return;
        }
        if queue.chunks.len() >= MAX_CHUNKS_WAITING {
            queue.chunks_off = true;
            queue.chunks.clear();
            return;
        }
        queue.chunks.push_back(size);
    }

    fn chunks_off(&self) {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        queue.chunks_off = true;
        queue.chunks.clear();
    }

    fn push(&self, lines: Lines) {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A new message: the sizes of the last one's chunks are stale.
        queue.chunks.clear();
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
    /// The capture stopped, and the heads were told so.
    stopped: bool,
}

fn line_end(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n')
}

impl Follower {
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.state {
                State::Off => {
                    if !self.stopped {
                        self.stopped = true;
                        self.heads.chunks_off();
                    }
                    return;
                }
                State::Head(head) => {
                    if head.is_empty() {
                        // Empty lines before a request line are skipped.
                        let skip = data.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(data.len());
                        data = &data[skip..];
                        if data.is_empty() {
                            return;
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
                        None => return,
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
                        return;
                    };
                    line.extend_from_slice(&data[..end]);
                    data = &data[end + 1..];
                    let text = String::from_utf8_lossy(line).trim().to_owned();
                    let trailers = matches!(self.state, State::Trailers(_));
                    self.state = if trailers {
                        if text.is_empty() { State::Head(Vec::new()) } else { State::Trailers(Vec::new()) }
                    } else {
                        let size = text.split(';').next().unwrap_or("").trim();
                        match u64::from_str_radix(size, 16) {
                            Ok(0) => State::Trailers(Vec::new()),
                            Ok(n) => {
                                if self.responses {
                                    self.heads.chunk(n);
                                }
                                State::ChunkData(n)
                            }
                            Err(_) => State::Off,
                        }
                    };
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
                    let Some(end) = line_end(data) else { return };
                    data = &data[end + 1..];
                    self.state = State::ChunkSize(Vec::new());
                }
            }
        }
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
            // (A HEAD request's answer has no body either: it is not followed,
            // and the heads after it no longer match what hyper read.)
            return match (status, chunked, length) {
                (204 | 304, _, _) => State::Head(Vec::new()),
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

/// A connection whose heads are captured as they are read.
#[derive(Debug)]
pub struct Capture<S> {
    inner: S,
    follower: Follower,
}

impl<S> Capture<S> {
    /// Wraps a framework connection `inner`; its requests' heads go to the
    /// returned [`Heads`].
    pub fn requests(inner: S) -> (Capture<S>, Heads) {
        Capture::new(inner, false)
    }

    /// Wraps a connection to the master; its responses' heads go to the
    /// returned [`Heads`].
    pub fn responses(inner: S) -> (Capture<S>, Heads) {
        Capture::new(inner, true)
    }

    fn new(inner: S, responses: bool) -> (Capture<S>, Heads) {
        let heads = Heads::default();
        let follower = Follower { state: State::Head(Vec::new()), heads: heads.clone(), responses, stopped: false };
        (Capture { inner, follower }, heads)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capture<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.follower.feed(&buf.filled()[before..]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capture<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
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
        let mut follower = Follower { state: State::Head(Vec::new()), heads: heads.clone(), responses, stopped: false };
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
    fn an_upgrade_turns_the_capture_off() {
        let wire: &[u8] = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /x HTTP/1.1\r\nA: b\r\n\r\n";
        assert_eq!(names(&follow(&[wire])), vec![vec!["Upgrade"]]);
    }
}
