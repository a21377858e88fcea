//! A raw HTTP/1.1 client for tests that compare servers on the wire: what
//! it sends is exactly the bytes given, and what it keeps is exactly the
//! bytes received (the status line and headers as written, each chunk's
//! size line as written, the records). Blocking, std only, with timeouts.
//! Reach it as `crate::support::wire`.

#![allow(dead_code)] // the tests use part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a read may wait before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);

/// One connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A response head: the raw bytes, the status and the headers in order.
#[derive(Debug, Clone)]
pub struct Head {
    pub raw: Vec<u8>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The last value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A whole response with a `Content-Length` body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub head: Head,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    /// The connection's socket (to shut it down from elsewhere).
    pub fn socket(&self) -> TcpStream {
        self.writer.try_clone().unwrap()
    }

    /// Sends a request: `POST`/`GET` `path` with these headers (in order)
    /// and `body` (a `Content-Length` is added when there is a body).
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let addr = self.writer.peer_addr().unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.writer.write_all(&bytes).unwrap();
    }

    /// Sends `bytes` as they are (a request written by hand, or not HTTP).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// Shuts the connection's sending side (a half-close).
    pub fn shutdown_write(&mut self) {
        self.writer.shutdown(std::net::Shutdown::Write).unwrap();
    }

    /// Everything the peer sends until it closes the connection or `wait`
    /// passes without a byte; and whether it closed.
    pub fn drain(&mut self, wait: Duration) -> (Vec<u8>, bool) {
        self.writer.set_read_timeout(Some(wait)).unwrap();
        let mut out = Vec::new();
        let closed = loop {
            let mut buf = [0u8; 65536];
            match self.reader.read(&mut buf) {
                Ok(0) => break true,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    break false;
                }
                // A reset is a close.
                Err(_) => break true,
            }
        };
        self.writer.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        (out, closed)
    }

    /// Reads a response head.
    pub fn head(&mut self) -> Head {
        let mut raw = Vec::new();
        let mut status = 0;
        let mut headers = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = self.reader.read_until(b'\n', &mut line).unwrap_or_else(|e| panic!("reading a head: {e}"));
            assert!(n > 0, "the connection closed before a whole head: {}", String::from_utf8_lossy(&raw));
            raw.extend_from_slice(&line);
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            if status == 0 {
                status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            } else if text.is_empty() {
                return Head { raw, status, headers };
            } else if let Some((name, value)) = text.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
    }

    /// Reads a whole response whose body has a `Content-Length` (or none).
    pub fn answer(&mut self) -> Answer {
        let head = self.head();
        let len: usize = head.header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        Answer { head, body }
    }

    /// Sends a request and reads its whole answer.
    pub fn call(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        self.send(method, path, headers, body);
        self.answer()
    }

    /// Reads one chunk of a chunked body: its size line as written and its
    /// data (`None` data: the last chunk, `0`, was read with its CRLF).
    pub fn chunk(&mut self) -> (String, Option<Vec<u8>>) {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap_or_else(|e| panic!("reading a chunk size: {e}"));
        assert!(n > 0, "the connection closed inside a chunked body");
        let size_line = line.trim_end_matches("\r\n").to_owned();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).unwrap();
        assert_eq!(&data[size..], b"\r\n", "a chunk without its CRLF");
        data.truncate(size);
        (size_line, (size > 0).then_some(data))
    }

    /// Whether the peer closed the connection within `wait` (EOF), rather
    /// than keeping it open.
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.writer.set_read_timeout(Some(wait)).unwrap();
        let mut byte = [0u8; 1];
        let closed = matches!(self.reader.read(&mut byte), Ok(0));
        self.writer.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        closed
    }
}

/// An event stream being read: each HTTP chunk, and the RecordIO records.
pub struct Stream {
    pub conn: Conn,
    pub head: Head,
    decoder: mesos_codec::recordio::Decoder,
    /// The chunks' size lines, as written.
    pub size_lines: Vec<String>,
    /// Whether the last chunk arrived.
    pub ended: bool,
}

impl Stream {
    /// Sends a SUBSCRIBE (or any request answered with a stream) and reads
    /// the head.
    pub fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Stream {
        let mut conn = Conn::open(addr);
        conn.send("POST", path, headers, body);
        let head = conn.head();
        Stream { conn, head, decoder: mesos_codec::recordio::Decoder::new(), size_lines: Vec::new(), ended: false }
    }

    /// The next record (`None` once the stream ended).
    pub fn record(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(record) = self.decoder.next_record().unwrap() {
                return Some(record.data.to_vec());
            }
            if self.ended {
                return None;
            }
            let (size_line, data) = self.conn.chunk();
            self.size_lines.push(size_line);
            match data {
                Some(data) => self.decoder.push(data.into()),
                None => self.ended = true,
            }
        }
    }

    /// The next record if one comes within `wait` (`None`: none came, or
    /// the stream ended).
    pub fn record_within(&mut self, wait: Duration) -> Option<Vec<u8>> {
        if let Some(record) = self.decoder.next_record().unwrap() {
            return Some(record.data.to_vec());
        }
        if self.ended {
            return None;
        }
        self.conn.writer.set_read_timeout(Some(wait)).unwrap();
        let arrived = self.conn.reader.fill_buf().map(|b| !b.is_empty());
        self.conn.writer.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        match arrived {
            Ok(true) => self.record(),
            Ok(false) => None,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => None,
            Err(e) => panic!("reading the stream: {e}"),
        }
    }

    /// Records until one satisfies `want` (which is returned), within `within`.
    pub fn until(&mut self, within: Duration, mut want: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + within;
        loop {
            assert!(Instant::now() < deadline, "no such record within {within:?}");
            let record = self.record().expect("the stream ended");
            if want(&record) {
                return record;
            }
        }
    }
}
