//! A small blocking HTTP/1.1 client: enough for the executor API (a POST
//! with a `Content-Length` body, a response head, a `Content-Length` or
//! chunked body read incrementally), plus the event stream on top of it
//! (chunked body → RecordIO records → protobuf `Event`s).

use std::io::{self, BufRead, BufReader, Read};

use bytes::Bytes;
use mesos_codec::recordio;
use mesos_codec::v1::executor::Event;
use prost::Message;

/// The content type the C++ executor library speaks (`ContentType::PROTOBUF`).
pub const PROTOBUF: &str = "application/x-protobuf";

/// Longest status line, header line or chunk-size line accepted.
const MAX_LINE: usize = 64 * 1024;
/// Most header lines accepted in one response head.
const MAX_HEADERS: usize = 256;
/// Largest non-streaming body accepted (error texts, `202` answers).
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// A `POST` of `body` to `path` with the headers the library sets
/// (`Accept` and `Content-Type` of the content type, keep-alive, and
/// `Authorization: Bearer` when the agent gave a token).
pub fn post_request(authority: &str, path: &str, body: &[u8], token: Option<&str>) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: {PROTOBUF}\r\nContent-Type: {PROTOBUF}\r\n\
         Connection: Keep-Alive\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    request
}

/// A response's status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub code: u16,
    /// The whole status text after the version, e.g. `200 OK`, as
    /// libprocess's `Response::status` holds it.
    pub status: String,
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn is_chunked(&self) -> bool {
        self.header("Transfer-Encoding").is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("chunked")))
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The reading side of one HTTP connection.
pub struct Reader<R> {
    inner: BufReader<R>,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader { inner: BufReader::new(inner) }
    }

    /// One CRLF- (or LF-) terminated line without its terminator; an
    /// error at EOF.
    fn line(&mut self) -> io::Result<String> {
        let mut buf = Vec::new();
        let n = (&mut self.inner).take(MAX_LINE as u64 + 2).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        if buf.last() != Some(&b'\n') {
            return Err(if n > MAX_LINE {
                invalid("line too long")
            } else {
                io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed inside a line")
            });
        }
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        String::from_utf8(buf).map_err(|_| invalid("line is not UTF-8"))
    }

    /// Reads a response head (status line and headers, up to the empty
    /// line). `1xx` interim responses are skipped.
    pub fn read_head(&mut self) -> io::Result<ResponseHead> {
        loop {
            let status_line = self.line()?;
            let rest = status_line
                .strip_prefix("HTTP/1.1 ")
                .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
                .ok_or_else(|| invalid(format!("bad status line '{status_line}'")))?;
            let code: u16 = rest
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| invalid(format!("bad status line '{status_line}'")))?;
            let mut headers = Vec::new();
            loop {
                let line = self.line()?;
                if line.is_empty() {
                    break;
                }
                if headers.len() == MAX_HEADERS {
                    return Err(invalid("too many headers"));
                }
                let (name, value) = line.split_once(':').ok_or_else(|| invalid(format!("bad header line '{line}'")))?;
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
            if (100..200).contains(&code) {
                continue;
            }
            return Ok(ResponseHead { code, status: rest.trim().to_string(), headers });
        }
    }

    /// Reads the whole body of a non-streaming response. With neither a
    /// length nor chunking the body runs to the end of the connection,
    /// which is then unusable (`false` second member).
    pub fn read_body(&mut self, head: &ResponseHead) -> io::Result<(Vec<u8>, bool)> {
        if head.is_chunked() {
            let mut body = Vec::new();
            while let Some(chunk) = self.read_chunk()? {
                if body.len() + chunk.len() > MAX_BODY as usize {
                    return Err(invalid("response body too large"));
                }
                body.extend_from_slice(&chunk);
            }
            return Ok((body, true));
        }
        if let Some(length) = head.header("Content-Length") {
            let length: u64 = length.parse().map_err(|_| invalid(format!("bad Content-Length '{length}'")))?;
            if length > MAX_BODY {
                return Err(invalid("response body too large"));
            }
            let mut body = vec![0; length as usize];
            self.inner.read_exact(&mut body)?;
            return Ok((body, true));
        }
        if head.code == 204 || head.code == 304 {
            return Ok((Vec::new(), true));
        }
        let mut body = Vec::new();
        (&mut self.inner).take(MAX_BODY + 1).read_to_end(&mut body)?;
        if body.len() as u64 > MAX_BODY {
            return Err(invalid("response body too large"));
        }
        Ok((body, false))
    }

    /// The next chunk of a chunked body, `None` after the last (empty)
    /// chunk and its trailers. Chunk extensions are ignored.
    pub fn read_chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let line = self.line()?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size, 16).map_err(|_| invalid(format!("bad chunk size line '{line}'")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !self.line()?.is_empty() {}
            return Ok(None);
        }
        if size > recordio::DEFAULT_MAX_RECORD_SIZE {
            return Err(invalid(format!("chunk of {size} bytes is too large")));
        }
        let mut chunk = vec![0; size as usize];
        self.inner.read_exact(&mut chunk)?;
        if !self.line()?.is_empty() {
            return Err(invalid("chunk not followed by CRLF"));
        }
        Ok(Some(chunk))
    }
}

/// What the event stream yields.
#[derive(Debug)]
pub enum StreamItem {
    /// A decoded event.
    Event(Box<Event>),
    /// A record that is not a valid `Event`: the library turns this into an
    /// ERROR event and goes on reading.
    Undecodable(String),
    /// The stream ended cleanly (the last chunk).
    End,
}

/// The body of a `200 OK` SUBSCRIBE response: RecordIO records of
/// protobuf `Event`s in a chunked body.
pub struct EventStream<R> {
    reader: Reader<R>,
    decoder: recordio::Decoder,
    chunked: bool,
    ended: bool,
}

impl<R: Read> EventStream<R> {
    /// The stream after `head` (already read from `reader`).
    pub fn new(reader: Reader<R>, head: &ResponseHead) -> Self {
        EventStream { reader, decoder: recordio::Decoder::new(), chunked: head.is_chunked(), ended: false }
    }

    /// The next item; an error is a broken stream (the library's
    /// "Failed to decode the stream of events").
    pub fn next_item(&mut self) -> Result<StreamItem, String> {
        loop {
            if self.ended {
                return Ok(StreamItem::End);
            }
            match self.decoder.next_record() {
                Ok(Some(record)) => {
                    return Ok(match Event::decode(record.data) {
                        Ok(event) => StreamItem::Event(Box::new(event)),
                        Err(e) => StreamItem::Undecodable(e.to_string()),
                    });
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
            let chunk = if self.chunked {
                self.reader.read_chunk().map_err(|e| e.to_string())?
            } else {
                let mut buf = vec![0; 64 * 1024];
                let n = self.reader.inner.read(&mut buf).map_err(|e| e.to_string())?;
                buf.truncate(n);
                (n > 0).then_some(buf)
            };
            match chunk {
                Some(chunk) => self.decoder.push(Bytes::from(chunk)),
                None => {
                    self.decoder.finish().map_err(|e| e.to_string())?;
                    self.ended = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_codec::v1::executor::event;

    /// A reader that hands out its bytes a few at a time, as a socket may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn event_bytes(t: event::Type) -> Vec<u8> {
        let mut e = Event::default();
        e.set_type(t);
        e.encode_to_vec()
    }

    fn chunked_stream(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"HTTP/1.1 200 OK\r\nDate: x\r\nTransfer-Encoding: chunked\r\n\
                        Mesos-Stream-Id: 1\r\nContent-Type: application/x-protobuf\r\n\r\n"
            .to_vec();
        for r in records {
            let record = [format!("{}\n", r.len()).into_bytes(), r.clone()].concat();
            out.extend_from_slice(format!("{:x}\r\n", record.len()).as_bytes());
            out.extend_from_slice(&record);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn request_has_the_library_headers() {
        let request = post_request("127.0.0.1:5051", "/slave(1)/api/v1/executor", b"abc", Some("tok"));
        let text = String::from_utf8(request).unwrap();
        assert!(text.starts_with("POST /slave(1)/api/v1/executor HTTP/1.1\r\nHost: 127.0.0.1:5051\r\n"));
        assert!(text.contains("\r\nAccept: application/x-protobuf\r\n"));
        assert!(text.contains("\r\nContent-Type: application/x-protobuf\r\n"));
        assert!(text.contains("\r\nContent-Length: 3\r\n"));
        assert!(text.contains("\r\nAuthorization: Bearer tok\r\n"));
        assert!(text.ends_with("\r\n\r\nabc"));
        let text = String::from_utf8(post_request("h:1", "/p", b"", None)).unwrap();
        assert!(!text.contains("Authorization"));
    }

    #[test]
    fn reads_a_202_and_a_400_on_one_connection() {
        let bytes = b"HTTP/1.1 202 Accepted\r\nDate: x\r\nContent-Length: 0\r\n\r\n\
                      HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
                      Content-Length: 25\r\n\r\nFramework cannot be found";
        let mut reader = Reader::new(Trickle(bytes, 3));
        let head = reader.read_head().unwrap();
        assert_eq!((head.code, head.status.as_str()), (202, "202 Accepted"));
        assert_eq!(reader.read_body(&head).unwrap(), (vec![], true));
        let head = reader.read_head().unwrap();
        assert_eq!(head.code, 400);
        assert_eq!(head.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(reader.read_body(&head).unwrap(), (b"Framework cannot be found".to_vec(), true));
        assert_eq!(reader.read_head().unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn reads_chunked_and_unframed_bodies() {
        let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\n\
                      Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n";
        let mut reader = Reader::new(Trickle(bytes, 1));
        let head = reader.read_head().unwrap();
        assert_eq!(head.code, 503);
        assert_eq!(reader.read_body(&head).unwrap(), (b"hello!".to_vec(), true));

        let bytes = b"HTTP/1.0 404 Not Found\r\n\r\nno route";
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        assert_eq!(reader.read_body(&head).unwrap(), (b"no route".to_vec(), false));
    }

    #[test]
    fn malformed_responses_are_errors() {
        for bytes in [
            &b"HTTP/2 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Le",
        ] {
            assert!(Reader::new(bytes).read_head().is_err(), "{:?}", String::from_utf8_lossy(bytes));
        }
        let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort";
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        assert!(reader.read_body(&head).is_err());
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        assert!(reader.read_body(&head).unwrap_err().to_string().contains("bad chunk size"));
        let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n";
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        assert!(reader.read_body(&head).unwrap_err().to_string().contains("CRLF"));
    }

    #[test]
    fn event_stream_decodes_records_across_chunks_and_reads() {
        let subscribed = event_bytes(event::Type::Subscribed);
        let heartbeat = event_bytes(event::Type::Heartbeat);
        let mut bytes = chunked_stream(&[subscribed, heartbeat.clone()]);
        // A record split over two chunks.
        let record = [format!("{}\n", heartbeat.len()).into_bytes(), heartbeat].concat();
        let (a, b) = record.split_at(1);
        for part in [a, b] {
            bytes.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            bytes.extend_from_slice(part);
            bytes.extend_from_slice(b"\r\n");
        }
        // A record that is not an Event (field 1 with the wrong wire type).
        bytes.extend_from_slice(b"4\r\n2\n\x0a\x05\r\n0\r\n\r\n");

        let mut reader = Reader::new(Trickle(&bytes, 7));
        let head = reader.read_head().unwrap();
        assert_eq!(head.header("Mesos-Stream-Id"), Some("1"));
        let mut stream = EventStream::new(reader, &head);
        let mut types = Vec::new();
        loop {
            match stream.next_item().unwrap() {
                StreamItem::Event(e) => types.push(e.r#type()),
                StreamItem::Undecodable(e) => {
                    assert!(!e.is_empty());
                    types.push(event::Type::Unknown);
                }
                StreamItem::End => break,
            }
        }
        assert_eq!(
            types,
            [event::Type::Subscribed, event::Type::Heartbeat, event::Type::Heartbeat, event::Type::Unknown]
        );
        assert!(matches!(stream.next_item(), Ok(StreamItem::End)));
    }

    #[test]
    fn event_stream_errors_on_a_cut_stream() {
        // The connection closes without the last chunk.
        let bytes = chunked_stream(&[event_bytes(event::Type::Heartbeat)]);
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        let mut stream = EventStream::new(reader, &head);
        assert!(matches!(stream.next_item(), Ok(StreamItem::Event(_))));
        assert!(stream.next_item().is_err());

        // The last chunk comes inside a record.
        let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        bytes.extend_from_slice(b"3\r\n10\n\r\n0\r\n\r\n");
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        let err = EventStream::new(reader, &head).next_item().unwrap_err();
        assert!(!err.is_empty());

        // A bad RecordIO size line.
        let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        bytes.extend_from_slice(b"2\r\nx\n\r\n");
        let mut reader = Reader::new(&bytes[..]);
        let head = reader.read_head().unwrap();
        assert!(EventStream::new(reader, &head).next_item().is_err());
    }
}
