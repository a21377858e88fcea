//! A proxy killed with SIGKILL in the middle of a stream leaves a session
//! file whose every complete line reads back (a torn last line is reported,
//! never fatal): the writer appends whole lines, and nothing already written
//! is lost. Compressed (`--compress zstd`), every frame before the one being
//! written reads back. And a rotated, compressed session (`--rotate-size`)
//! stopped by SIGTERM is a chain of parts that reads as one session.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use mesos_codec::session::{EntryKind, Item, Reader};
use tokio::net::{TcpListener, TcpStream};

/// A master stand-in: SUBSCRIBE gets an endless JSON event stream, one
/// HEARTBEAT record per chunk every few milliseconds.
async fn start_master() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let service = service_fn(|_req: Request<hyper::body::Incoming>| async {
                    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
                    tokio::spawn(async move {
                        let subscribed = r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"killed"}}}"#;
                        let mut records = vec![subscribed.to_owned()];
                        records.extend(std::iter::repeat_n(r#"{"type":"HEARTBEAT"}"#.to_owned(), 10_000));
                        for record in records {
                            let chunk = Bytes::from(format!("{}\n{record}", record.len()));
                            if tx.send(chunk).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    });
                    let body = ChannelBody(rx);
                    Ok::<_, std::convert::Infallible>(
                        Response::builder()
                            .header("Content-Type", "application/json")
                            .header("Mesos-Stream-Id", "3f9f5a2e-0000-4000-8000-000000000001")
                            .body(body)
                            .unwrap(),
                    )
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(socket), service).await;
            });
        }
    });
    addr
}

/// A response body fed by a channel, one frame per message.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
    }
}

/// Reads the proxy's "listening on ADDR" line.
fn proxy_address(child: &mut std::process::Child) -> SocketAddr {
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    line.trim().trim_start_matches("listening on ").parse().unwrap()
}

/// The proxy (the binary, with `args` after `record`'s own) in front of the
/// stand-in master, a framework subscribed through it that has read
/// `chunks` chunks of its stream; the proxy process, the directory of its
/// session files, and the stream (open while it is held).
async fn proxy_streaming(
    name: &str,
    args: &[&str],
    chunks: usize,
) -> (std::process::Child, std::path::PathBuf, hyper::body::Incoming) {
    let master = start_master().await;
    let out = std::env::temp_dir().join(format!("mesos-tape-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_mesos-proxy"))
        .args(["record", "--listen", "127.0.0.1:0", "--master", &format!("http://{master}"), "--out"])
        .arg(&out)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = proxy_address(&mut proxy);

    // A framework subscribes through the proxy and reads events for a while.
    let io = TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    tokio::spawn(conn);
    let body = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#;
    let request = Request::post("/api/v1/scheduler")
        .header("Host", addr.to_string())
        .header("Content-Type", "application/json")
        .body(http_body_util::Full::new(Bytes::from(body)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), send.send_request(request)).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.into_body();
    let mut read = 0;
    while read < chunks {
        match tokio::time::timeout(Duration::from_secs(5), stream.frame()).await.unwrap() {
            Some(Ok(frame)) if frame.is_data() => read += 1,
            Some(Ok(_)) => {}
            other => panic!("the stream ended early: {other:?}"),
        }
    }
    (proxy, out, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_leaves_a_file_whose_every_complete_line_reads_back() {
    let (mut proxy, out, _stream) = proxy_streaming("sigkill", &[], 200).await;

    // SIGKILL: no chance to flush or close anything.
    proxy.kill().unwrap();
    proxy.wait().unwrap();

    let files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let mut reader = Reader::new();
    reader.push(&bytes);
    let mut items = Vec::new();
    while let Some(item) = reader.next_item().unwrap_or_else(|e| panic!("a complete line does not read back: {e}")) {
        items.push(item);
    }
    // A torn last line is allowed (and reported); everything before it is whole.
    let _torn = reader.finish();
    assert!(matches!(items.first(), Some(Item::Header(_))));
    let kinds: Vec<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Entry(e) => Some(e.kind.name()),
            Item::Header(_) => None,
        })
        .collect();
    assert_eq!(&kinds[..2], ["request", "response"]);
    let events = items.iter().filter(|i| matches!(i, Item::Entry(e) if matches!(e.kind, EntryKind::Event(_)))).count();
    assert!(events >= 100, "only {events} events made it to the file before the kill");
    assert!(!kinds.contains(&"end"), "a killed proxy cannot have ended the session");
    std::fs::remove_dir_all(&out).unwrap();
}

/// Where a compressed file's zstd frames end: the whole frames' total
/// size, how many, and the bytes after them (a frame cut short).
fn frames(bytes: &[u8]) -> (usize, usize, usize) {
    let (mut at, mut n) = (0, 0);
    while at < bytes.len() {
        match zstd::zstd_safe::find_frame_compressed_size(&bytes[at..]) {
            Ok(size) if at + size <= bytes.len() => {
                at += size;
                n += 1;
            }
            _ => break,
        }
    }
    (at, n, bytes.len() - at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_with_zstd_loses_at_most_the_frame_being_written() {
    let (mut proxy, out, _stream) = proxy_streaming("sigkill-zstd", &["--compress", "zstd"], 300).await;
    // SIGKILL while the stream goes on: the writer may be mid-frame.
    proxy.kill().unwrap();
    proxy.wait().unwrap();

    let files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".session.jsonl.zst"), "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let (whole, count, cut) = frames(&bytes);
    // What the whole frames hold, decompressed by zstd itself, is whole lines.
    let text = zstd::stream::decode_all(&bytes[..whole]).unwrap();
    assert!(text.ends_with(b"\n"), "a frame ends inside a line");
    let lines_in_frames = text.iter().filter(|b| **b == b'\n').count();

    // The codec's reader, fed the file as it is: every line of every whole
    // frame, then the cut frame reported as torn (never fatal).
    let mut reader = Reader::new();
    reader.push(&bytes);
    let mut items = Vec::new();
    while let Some(item) = reader.next_item().unwrap_or_else(|e| panic!("a whole frame does not read back: {e}")) {
        items.push(item);
    }
    let torn = reader.finish();
    assert!(reader.compressed());
    assert_eq!(items.len(), lines_in_frames, "every line of every whole frame reads back");
    assert_eq!(torn.is_some(), cut > 0, "a cut frame is reported as torn: {torn:?}, {cut} bytes after the frames");
    assert!(matches!(items.first(), Some(Item::Header(_))));
    let events = items.iter().filter(|i| matches!(i, Item::Entry(e) if matches!(e.kind, EntryKind::Event(_)))).count();
    assert!(events >= 100, "only {events} events made it to the file before the kill");
    // The measurement issue 19 asks for (`--nocapture` shows it).
    eprintln!(
        "sigkill with --compress zstd: {} bytes, {count} whole frames ({whole} bytes) read back: {} lines, {events} events; \
         after them {cut} bytes of a frame cut short ({torn:?})",
        bytes.len(),
        items.len()
    );

    // A kill can come in the middle of a frame's write (above it came
    // between two, most often): the file cut in the middle of its last
    // whole frame reads back every frame before that one, and reports the
    // cut frame as torn.
    let (before_last, _, _) = frames(&bytes[..whole - 1]);
    let last_frame = whole - before_last;
    let cut_at = before_last + last_frame / 2;
    let lines_before = zstd::stream::decode_all(&bytes[..before_last]).unwrap().iter().filter(|b| **b == b'\n').count();
    let mut reader = Reader::new();
    reader.push(&bytes[..cut_at]);
    let mut read = 0;
    while reader.next_item().unwrap_or_else(|e| panic!("a frame before the cut does not read back: {e}")).is_some() {
        read += 1;
    }
    let torn = reader.finish().expect("the cut frame is reported as torn");
    assert_eq!(read, lines_before, "every line of every frame before the cut one");
    eprintln!(
        "the same file cut mid-frame at byte {cut_at} (its last frame is {last_frame} bytes): {read} lines of the \
         {} frames before it read back, the cut frame reported torn ({torn:?})",
        count - 1
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_compressed_session_is_a_chain_of_parts_that_reads_as_one() {
    let (mut proxy, out, _stream) =
        proxy_streaming("rotate", &["--compress", "zstd", "--rotate-size", "1K"], 300).await;
    // SIGTERM: the session ends (its `end` in the last part).
    let status = Command::new("kill").args(["-TERM", &proxy.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(proxy.wait().unwrap().success());

    let mut files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 3, "the session was cut into parts: {files:?}");
    // Each part's header names the part before it; the first names none.
    let mut parts = Vec::new();
    for file in &files {
        let mut reader = Reader::new();
        reader.push(&std::fs::read(file).unwrap());
        let Ok(Some(Item::Header(header))) = reader.next_item() else { panic!("{}: no header", file.display()) };
        parts.push((file.file_name().unwrap().to_string_lossy().into_owned(), header));
    }
    parts.sort_by_key(|(_, h)| h.part.unwrap_or(1));
    assert_eq!((parts[0].1.part, parts[0].1.previous.as_deref()), (None, None));
    for pair in parts.windows(2) {
        let (before, (_, header)) = (&pair[0].0, &pair[1]);
        assert_eq!(header.previous.as_deref(), Some(before.as_str()));
        assert!(header.part.unwrap() >= 2);
    }
    // All parts, one after the other, read as one session: `seq` and
    // `t_ns` run on (the reader checks), one `end`, at the end.
    let mut reader = Reader::new();
    for (name, _) in &parts {
        reader.push(&std::fs::read(out.join(name)).unwrap());
    }
    let mut entries = Vec::new();
    while let Some(item) = reader.next_item().unwrap_or_else(|e| panic!("the parts do not read as one: {e}")) {
        if let Item::Entry(entry) = item {
            entries.push(entry);
        }
    }
    assert_eq!(reader.finish(), None);
    assert_eq!(reader.parts(), parts.len() as u64);
    let ends = entries.iter().filter(|e| matches!(e.kind, EntryKind::End(_))).count();
    assert_eq!(ends, 1);
    assert!(
        matches!(entries.last().map(|e| &e.kind), Some(EntryKind::End(end)) if end.entries == entries.len() as u64 - 1)
    );
    std::fs::remove_dir_all(&out).unwrap();
}
