//! A proxy killed with SIGKILL in the middle of a stream leaves a session
//! file whose every complete line reads back (a torn last line is reported,
//! never fatal): the writer appends whole lines, and nothing already written
//! is lost.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_leaves_a_file_whose_every_complete_line_reads_back() {
    let master = start_master().await;
    let out = std::env::temp_dir().join(format!("mesos-tape-sigkill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let mut proxy = Command::new(env!("CARGO_BIN_EXE_mesos-proxy"))
        .args(["record", "--listen", "127.0.0.1:0", "--master", &format!("http://{master}"), "--out"])
        .arg(&out)
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
    let mut chunks = 0;
    while chunks < 200 {
        match tokio::time::timeout(Duration::from_secs(5), stream.frame()).await.unwrap() {
            Some(Ok(frame)) if frame.is_data() => chunks += 1,
            Some(Ok(_)) => {}
            other => panic!("the stream ended early: {other:?}"),
        }
    }

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
