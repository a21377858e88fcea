//! The simulated master's HTTP/1.1, byte for byte as a Mesos 1.11.0 master
//! (libprocess) speaks it: requests read as libprocess's decoder reads them
//! (`3rdparty/libprocess/src/decoder.hpp`, over http_parser), answers
//! framed as its encoder frames them (`encoder.hpp`'s
//! `HttpResponseEncoder`, `http_proxy.cpp`'s chunks).
//!
//! What a real master writes, and so what this module writes:
//!
//! - the status line `HTTP/1.1 <code> <reason>` with libprocess's reason
//!   phrases, whatever version the request had;
//! - the headers with their names as Mesos spells them and in the order
//!   the master's `http::Headers` (a `std::unordered_map` with a
//!   case-insensitive hash, copied and given `Date` by the encoder) yields
//!   them for each kind of answer; that order is not the order they were
//!   set in, so each kind of answer lists its own ([`Response`]'s
//!   constructors), as read off a live master;
//! - `Date` in `strftime`'s `%a, %d %b %Y %H:%M:%S GMT`, seconds only;
//! - no `Connection` header ever: a request that did not ask to keep the
//!   connection (`Connection: close`, or HTTP/1.0 without `keep-alive`) is
//!   answered and the connection closed;
//! - a body answer with its `Content-Length`; an answer without a body
//!   with `Content-Length: 0` last;
//! - an event stream as `Transfer-Encoding: chunked`, one chunk per write
//!   (one RecordIO record), chunk sizes in lower-case hex without leading
//!   zeros, ended by `0\r\n\r\n` on a connection that stays open.

use bytes::{Buf, Bytes, BytesMut};

/// Where a header's value comes from the clock: written when the answer is
/// made.
const DATE: &str = "Date";

/// One request, as much of it as the master reads.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    /// `GET`, `POST`, ... as sent.
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// The path part of the target, not decoded (libprocess's `url.path`).
    pub path: String,
    /// The query's key/value pairs, decoded.
    pub query: Vec<(String, String)>,
    /// The headers as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body (a chunked body put together).
    pub body: Bytes,
    /// Whether the connection stays open after the answer (http_parser's
    /// `http_should_keep_alive`).
    pub keep_alive: bool,
}

impl Request {
    /// The value of header `name` (any case). libprocess keeps headers in a
    /// map, so of a repeated header the last one counts.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of query parameter `key` (the last one).
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A whole request, and how many bytes it took.
    Request(Request, usize),
    /// Not a whole request yet.
    Partial,
    /// Not HTTP: libprocess's decoder fails, and the master closes the
    /// connection without an answer.
    Invalid,
    /// A request whose body is over the most the simulator reads
    /// (`--max-body`): answered `413` and the connection closed.
    TooLarge,
}

/// The most a request may hold (head and body) before the connection is
/// given up as not HTTP; far above anything a scheduler sends.
pub(crate) const MAX_REQUEST: usize = 64 << 20;

/// Reads one request from the start of `buf`; a body over `max_body` bytes
/// (announced, or buffered) is [`Parsed::TooLarge`].
pub(crate) fn parse(buf: &[u8], max_body: usize) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_REQUEST { Parsed::Invalid } else { Parsed::Partial };
        }
        Err(_) => return Parsed::Invalid,
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Parsed::Invalid;
    };
    // libprocess's http-parser (2.6.2) knows these methods, in capitals,
    // and fails on any other (`Get`, `FOO`): the connection is closed.
    if !HTTP_PARSER_METHODS.contains(&method) {
        return Parsed::Invalid;
    }
    // A value as http-parser hands it on: the whitespace before it
    // skipped, what ends it kept (`Content-Type: application/json ` is
    // not JSON to a master: `415`).
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            let value = whole_value(buf, head_len, h.value);
            (h.name.to_owned(), String::from_utf8_lossy(value).trim_start_matches([' ', '\t']).to_owned())
        })
        .collect();
    let mut close = false;
    let mut keep = false;
    let mut chunked = false;
    let mut length: Option<usize> = None;
    for (name, value) in &headers {
        // What http-parser reads itself, it reads without the spaces
        // around it.
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.split(',').map(str::trim).next_back().is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            // A second `Content-Length`, even the same, fails http-parser.
            match value.parse::<usize>() {
                Ok(n) if length.is_none() => length = Some(n),
                _ => return Parsed::Invalid,
            }
        }
    }
    // So does a chunked body with a `Content-Length`.
    if chunked && length.is_some() {
        return Parsed::Invalid;
    }
    let keep_alive = if minor >= 1 { !close } else { keep };
    let rest = &buf[head_len..];
    if length.is_some_and(|n| n > max_body) || rest.len() > max_body {
        return Parsed::TooLarge;
    }
    let (body, body_len) = if chunked {
        match dechunk(rest) {
            Some(Ok(found)) => found,
            Some(Err(())) => return Parsed::Invalid,
            None => return if buf.len() > MAX_REQUEST { Parsed::Invalid } else { Parsed::Partial },
        }
    } else {
        let n = length.unwrap_or(0);
        if n > MAX_REQUEST {
            return Parsed::Invalid;
        }
        if rest.len() < n {
            return Parsed::Partial;
        }
        (Bytes::copy_from_slice(&rest[..n]), n)
    };
    // http_parser's URL: a path, or an absolute URL (whose path may be
    // empty); anything else fails the decoder.
    let target_path = if target.starts_with('/') {
        target
    } else if let Some(rest) = target.strip_prefix("http://").or_else(|| target.strip_prefix("https://")) {
        rest.find(['/', '?', '#']).map_or("", |i| &rest[i..])
    } else {
        return Parsed::Invalid;
    };
    let (path, query) = match target_path.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target_path, ""),
    };
    let path = path.split('#').next().unwrap_or_default();
    let query = query.split('#').next().unwrap_or_default();
    let request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        path: path.to_owned(),
        query: decode_query(query),
        headers,
        body,
        keep_alive,
    };
    Parsed::Request(request, head_len + body_len)
}

/// `value` (a header's value as httparse gives it, inside `buf`'s head of
/// `head_len` bytes) with the spaces and tabs that ended it on its line,
/// which httparse drops.
fn whole_value<'b>(buf: &'b [u8], head_len: usize, value: &'b [u8]) -> &'b [u8] {
    let start = (value.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    let Some(mut end) = start.checked_add(value.len()).filter(|&end| end <= head_len) else { return value };
    while end < head_len && matches!(buf[end], b' ' | b'\t') {
        end += 1;
    }
    &buf[start..end]
}

/// The methods of http-parser 2.6.2 (`HTTP_METHOD_MAP`, `http_parser.h`),
/// the one libprocess 1.11 bundles.
const HTTP_PARSER_METHODS: [&str; 33] = [
    "DELETE",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "COPY",
    "LOCK",
    "MKCOL",
    "MOVE",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "UNLOCK",
    "BIND",
    "REBIND",
    "UNBIND",
    "ACL",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PATCH",
    "PURGE",
    "MKCALENDAR",
    "LINK",
    "UNLINK",
];

/// A chunked body: the data and how many bytes it took, `None` if not
/// whole yet.
fn dechunk(mut buf: &[u8]) -> Option<Result<(Bytes, usize), ()>> {
    let start = buf.len();
    let mut body = BytesMut::new();
    loop {
        let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&buf[..line_end]).map_err(|_| ());
        let size = match line
            .and_then(|l| usize::from_str_radix(l.split(';').next().unwrap_or("").trim(), 16).map_err(|_| ()))
        {
            Ok(size) if size <= MAX_REQUEST => size,
            _ => return Some(Err(())),
        };
        buf = &buf[line_end + 2..];
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                let end = buf.windows(2).position(|w| w == b"\r\n")?;
                buf = &buf[end + 2..];
                if end == 0 {
                    return Some(Ok((body.freeze(), start - buf.len())));
                }
            }
        }
        if buf.len() < size + 2 {
            return None;
        }
        if &buf[size..size + 2] != b"\r\n" {
            return Some(Err(()));
        }
        body.extend_from_slice(&buf[..size]);
        buf.advance(size + 2);
    }
}

/// `a=1&b=%20x`: stout's `http::query::decode` (a `+` is a space).
fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split(['&', ';'])
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                out.push((hex(i + 1).unwrap_or(0) * 16 + hex(i + 2).unwrap_or(0)) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libprocess's `http::decode` (`3rdparty/libprocess/src/http.cpp`): `+` is
/// a space, `%XX` a byte; a `%` without two hex digits after it is an
/// error (`None`). (The routing's: a query is read by [`decode_query`],
/// which keeps such a `%` as it is.)
pub(crate) fn http_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
                out.push((hex(i + 1)? * 16 + hex(i + 2)?) as u8);
                i += 2;
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// `data` gzipped as a Mesos master gzips an answer (stout's
/// `gzip::compress`: zlib, default level, memLevel 8, a gzip header with no
/// name and no time, made on Unix), byte for byte when zlib is the same.
pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .operating_system(3)
        .write(Vec::with_capacity(data.len() / 4 + 64), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, data)?;
    encoder.finish()
}

/// The smallest body `HttpResponseEncoder` compresses.
const GZIP_MINIMUM_BODY_LENGTH: usize = 1024;

/// libprocess's `Request::acceptsEncoding`: `encoding`, or else `*`, listed
/// in `Accept-Encoding` without a zero q value. No header: identity only.
pub(crate) fn accepts_encoding(request: &Request, encoding: &str) -> bool {
    let Some(accept) = request.header("Accept-Encoding") else { return false };
    let accept: String = accept.chars().filter(|c| !matches!(c, ' ' | '\t' | '\n')).collect();
    for candidate in [encoding, "*"] {
        for item in accept.split(',').filter(|i| !i.is_empty()) {
            let mut parts = item.split(';').filter(|p| !p.is_empty());
            let Some(name) = parts.next() else { continue };
            if !name.eq_ignore_ascii_case(candidate) {
                continue;
            }
            let q: Vec<&str> =
                item.split(';').filter_map(|p| p.split_once('=')).filter(|(k, _)| *k == "q").map(|(_, v)| v).collect();
            return match q.as_slice() {
                [q] => q.parse::<f64>().is_ok_and(|q| q > 0.0),
                _ => true,
            };
        }
    }
    false
}

/// libprocess's reason phrase of `code` (`Status::string`).
pub(crate) fn reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Time-out",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        415 => "Unsupported Media Type",
        416 => "Requested range not satisfiable",
        417 => "Expectation Failed",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Time-out",
        505 => "HTTP Version not supported",
        _ => "",
    }
}

/// An answer, before its `Date` is known.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// The headers in the order they are written; [`DATE`]'s value is
    /// filled in by [`Response::head`].
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for a stream).
    pub body: Bytes,
    /// Whether a chunked body follows the head (an event stream).
    pub stream: bool,
}

impl Response {
    /// An answer without a body (`Response::NONE`: `OK()`, `Accepted()`):
    /// `Date`, then `Content-Length: 0` added by the encoder.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: vec![(DATE, String::new()), ("Content-Length", "0".into())],
            body: Bytes::new(),
            stream: false,
        }
    }

    /// `TemporaryRedirect(url)`: `Date`, `Location`, `Content-Length: 0`.
    pub fn redirect(location: String) -> Response {
        Response {
            status: 307,
            headers: vec![(DATE, String::new()), ("Location", location), ("Content-Length", "0".into())],
            body: Bytes::new(),
            stream: false,
        }
    }

    /// An error (`BadRequest(body)`, `NotFound()`, ...: libprocess's
    /// `Response(body, code)`): `text/plain; charset=utf-8`.
    pub fn text(status: u16, body: impl Into<Bytes>) -> Response {
        let body = body.into();
        Response {
            status,
            headers: vec![
                (DATE, String::new()),
                ("Content-Type", "text/plain; charset=utf-8".into()),
                ("Content-Length", body.len().to_string()),
            ],
            body,
            stream: false,
        }
    }

    /// `MethodNotAllowed({"POST"}, method)`: its text, and `Allow`.
    pub fn method_not_allowed(body: impl Into<Bytes>) -> Response {
        let mut response = Response::text(405, body);
        response.headers.insert(1, ("Allow", "POST".into()));
        response
    }

    /// `OK(json, jsonp)`: a JSON document, or with `jsonp` the call
    /// `jsonp(json)` as `text/javascript`.
    pub fn json(json: Vec<u8>, jsonp: Option<&str>) -> Response {
        let (body, content_type) = match jsonp {
            Some(callback) => {
                let mut body = Vec::with_capacity(callback.len() + json.len() + 2);
                body.extend_from_slice(callback.as_bytes());
                body.push(b'(');
                body.extend_from_slice(&json);
                body.push(b')');
                (body, "text/javascript")
            }
            None => (json, "application/json"),
        };
        Response {
            status: 200,
            headers: vec![
                (DATE, String::new()),
                ("Content-Length", body.len().to_string()),
                ("Content-Type", content_type.into()),
            ],
            body: Bytes::from(body),
            stream: false,
        }
    }

    /// `OK(body, contentType)`, the operator API's answers: `Date`,
    /// `Content-Type`, `Content-Length` (not the order of [`Response::json`],
    /// whose answers the master makes another way).
    pub fn ok(body: Vec<u8>, content_type: &str) -> Response {
        Response {
            status: 200,
            headers: vec![
                (DATE, String::new()),
                ("Content-Type", content_type.into()),
                ("Content-Length", body.len().to_string()),
            ],
            body: Bytes::from(body),
            stream: false,
        }
    }

    /// The head of the operator API's event stream (`OK` with a pipe and
    /// only a `Content-Type`): no `Mesos-Stream-Id`.
    pub fn operator_stream(content_type: &str) -> Response {
        Response {
            status: 200,
            headers: vec![
                (DATE, String::new()),
                ("Transfer-Encoding", "chunked".into()),
                ("Content-Type", content_type.into()),
            ],
            body: Bytes::new(),
            stream: true,
        }
    }

    /// The head of a SUBSCRIBE's event stream.
    pub fn stream(stream_id: &str, content_type: &str) -> Response {
        Response {
            status: 200,
            headers: vec![
                (DATE, String::new()),
                ("Transfer-Encoding", "chunked".into()),
                ("Mesos-Stream-Id", stream_id.into()),
                ("Content-Type", content_type.into()),
            ],
            body: Bytes::new(),
            stream: true,
        }
    }

    /// `HttpResponseEncoder`'s compression: a body of at least 1 KB, not
    /// already encoded, to a request that accepts gzip, is sent gzipped
    /// (zlib's `deflate`, default level, gzip header with no name and no
    /// time, as stout's `gzip::compress` makes it) with `Content-Encoding:
    /// gzip` first among the headers.
    pub fn compressed_for(mut self, request: &Request) -> Response {
        if self.stream
            || self.body.len() < GZIP_MINIMUM_BODY_LENGTH
            || self.header("Content-Encoding").is_some()
            || !accepts_encoding(request, "gzip")
        {
            return self;
        }
        let Ok(gzipped) = gzip(&self.body) else { return self };
        for (name, value) in &mut self.headers {
            if *name == "Content-Length" {
                *value = gzipped.len().to_string();
            }
        }
        self.headers.insert(0, ("Content-Encoding", "gzip".into()));
        self.body = Bytes::from(gzipped);
        self
    }

    /// The value of header `name` (as spelled here).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Fills in `Date` (Unix time `unix_seconds`).
    pub fn dated(mut self, unix_seconds: i64) -> Response {
        for (name, value) in &mut self.headers {
            if *name == DATE {
                *value = http_date(unix_seconds);
            }
        }
        self
    }

    /// The status line, the headers and the empty line; then the body,
    /// unless this is a stream.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.body.len());
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        let reason = reason(self.status);
        if !reason.is_empty() {
            out.push(b' ');
            out.extend_from_slice(reason.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

/// One chunk of a chunked body, appended to `out`: the size in lower-case
/// hex, the data (`std::hex << size` in `HttpProxy::stream`).
pub(crate) fn push_chunk(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + 20);
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// `strftime("%a, %d %b %Y %H:%M:%S GMT")` of a Unix time.
pub(crate) fn http_date(unix_seconds: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The capture's: Sat, 05 Dec 2026 09:18:31 GMT.
        assert_eq!(http_date(1_796_462_311), "Sat, 05 Dec 2026 09:18:31 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(1_460_526_113), "Wed, 13 Apr 2016 05:41:53 GMT");
    }

    #[test]
    fn heads() {
        let accepted = Response::empty(202).dated(0);
        assert_eq!(
            accepted.to_bytes(),
            b"HTTP/1.1 202 Accepted\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
        );
        let error = Response::method_not_allowed("no").dated(0);
        assert_eq!(
            String::from_utf8(error.to_bytes()).unwrap(),
            "HTTP/1.1 405 Method Not Allowed\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\nAllow: POST\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nno"
        );
        let mut chunk = Vec::new();
        push_chunk(&[0; 438], &mut chunk);
        assert_eq!(chunk, [b"1b6\r\n".as_slice(), &[0; 438], b"\r\n"].concat());
    }

    #[test]
    fn requests() {
        let raw = b"POST /api/v1/scheduler?a=1&jsonp=x%20y HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}GET";
        let Parsed::Request(r, n) = parse(raw, MAX_REQUEST) else { panic!() };
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), &r.body[..], n),
            ("POST", "/api/v1/scheduler", &b"{}"[..], raw.len() - 3)
        );
        assert_eq!(r.query("jsonp"), Some("x y"));
        assert!(r.keep_alive);
        assert!(matches!(parse(b"GET / HTTP/1.1\r\nHost: h\r\n", MAX_REQUEST), Parsed::Partial));
        assert!(matches!(parse(b"GARBAGE\r\n\r\n", MAX_REQUEST), Parsed::Invalid));
        assert!(matches!(parse(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n{", 8), Parsed::TooLarge));
        let Parsed::Request(r, _) = parse(b"GET / HTTP/1.0\r\n\r\n", MAX_REQUEST) else { panic!() };
        assert!(!r.keep_alive);
        let Parsed::Request(r, _) = parse(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", MAX_REQUEST) else {
            panic!()
        };
        assert!(!r.keep_alive);
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x=y\r\nc\r\n0\r\n\r\nNEXT";
        let Parsed::Request(r, n) = parse(chunked, MAX_REQUEST) else { panic!() };
        assert_eq!((&r.body[..], n), (&b"abc"[..], chunked.len() - 4));
        assert!(matches!(parse(&chunked[..chunked.len() - 6], MAX_REQUEST), Parsed::Partial));
    }

    #[test]
    fn encodings() {
        let with = |accept: &str| {
            let raw = format!("GET / HTTP/1.1\r\nAccept-Encoding: {accept}\r\n\r\n");
            let Parsed::Request(r, _) = parse(raw.as_bytes(), MAX_REQUEST) else { panic!() };
            accepts_encoding(&r, "gzip")
        };
        assert!(with("gzip, deflate"));
        assert!(with("deflate, GZIP;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("deflate"));
        assert!(!with("*;q=0.0"));
        let Parsed::Request(r, _) = parse(b"GET / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n", MAX_REQUEST) else {
            panic!()
        };
        let big = Response::json(vec![b' '; 2000], None).dated(0).compressed_for(&r);
        let names: Vec<&str> = big.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["Content-Encoding", "Date", "Content-Length", "Content-Type"]);
        assert_eq!(&big.body[..4], b"\x1f\x8b\x08\x00");
        assert_eq!(big.header("Content-Length"), Some(big.body.len().to_string().as_str()));
        let small = Response::json(vec![b' '; 100], None).compressed_for(&r);
        assert_eq!(small.header("Content-Encoding"), None);
    }
}
