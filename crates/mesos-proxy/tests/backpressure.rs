//! Between forwarding and the session file: when the file is written
//! slowly, forwarding slows down with it, and no entry is lost; when the
//! master pauses, what was relayed is in the file while the stream waits.
//!
//! The slow file's test runs alone in a process of its own (a child of the
//! test binary, see `test_support::in_own_process`): the slow writer
//! ([`mesos_record::file::slow_down_for_tests`]) holds for the whole process.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use mesos_codec::recordio::Decoder;
use mesos_codec::session::{EntryKind, Item, Reader};
use tokio::net::{TcpListener, TcpStream};

const EVENTS: usize = 1_000;
const PER_LINE: Duration = Duration::from_micros(400);
/// The bytes of each update's `message`: what waits for the writer is
/// bounded in bytes ([`mesos_proxy::writer::WAITING_BYTES`]), which holds
/// a small part of the stream of such events, and fewer than the writer's
/// channel would ([`mesos_proxy::writer::CHANNEL_CAPACITY`] batches of one
/// event each).
const PAD: usize = 64 * 1024;

fn frame(record: &str) -> Bytes {
    Bytes::from(format!("{}\n{record}", record.len()))
}

fn update(i: usize) -> String {
    padded(i, PAD)
}

/// Update `i` with a `message` of `pad` bytes.
fn padded(i: usize, pad: usize) -> String {
    format!(
        r#"{{"type":"UPDATE","update":{{"status":{{"task_id":{{"value":"t-{i}"}},"state":"TASK_RUNNING","agent_id":{{"value":"a"}},"uuid":"AAECAw==","message":"{}"}}}}}}"#,
        "x".repeat(pad)
    )
}

/// SUBSCRIBED, then `EVENTS` updates, as fast as they are taken; then the
/// end, or (`pause`) nothing more, the stream left open.
struct Stream {
    next: usize,
    pause: bool,
    /// The `message` bytes of each update.
    pad: fn(usize) -> usize,
}

impl Body for Stream {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let i = self.next;
        self.next += 1;
        Poll::Ready(match i {
            0 => Some(Ok(Frame::data(frame(
                r#"{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"slow-disk"}}}"#,
            )))),
            i if i <= EVENTS => Some(Ok(Frame::data(frame(&padded(i, (self.pad)(i)))))),
            _ if self.pause => return Poll::Pending,
            _ => None,
        })
    }
}

async fn start_master(pause: bool, pad: fn(usize) -> usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<Incoming>| async move {
                    let response = Response::builder()
                        .header("content-type", "application/json")
                        .header("mesos-stream-id", "s-1")
                        .body(Stream { next: 0, pause, pad })
                        .unwrap();
                    Ok::<_, Infallible>(response)
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    addr
}

/// Subscribes through `addr` and reads every event.
async fn read_stream(addr: SocketAddr) {
    let mut body = subscribe(addr).await;
    let mut decoder = Decoder::new();
    let mut records = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            decoder.push(data);
            while decoder.next_record().unwrap().is_some() {
                records += 1;
            }
        }
    }
    assert_eq!(records, EVENTS + 1, "the framework got every event");
}

/// Subscribes through `addr`: the event stream's body.
async fn subscribe(addr: SocketAddr) -> Incoming {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let call = r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#;
    let request = Request::post("/api/v1/scheduler")
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(call.as_bytes())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body()
}

/// The proxy's configuration, recording into a new directory (returned).
fn config(master: SocketAddr, name: &str) -> (mesos_proxy::Config, std::path::PathBuf) {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let out = std::env::temp_dir().join(format!("mesos-proxy-{name}-{}-{nanos}", std::process::id()));
    let config = mesos_proxy::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        master: format!("http://{master}"),
        out: out.clone(),
        keep_secrets: false,
        limits: Default::default(),
    };
    (config, out)
}

/// A recorder running on its own task until [`Running::stop`].
struct Running {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), mesos_proxy::Error>>,
}

impl Running {
    async fn start(config: mesos_proxy::Config) -> Running {
        let recorder = mesos_proxy::Recorder::bind(config).await.unwrap();
        let addr = recorder.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(recorder.run(async move {
            let _ = stopped.await;
        }));
        Running { addr, stop, task }
    }

    /// Stops it and waits (at most `within`) for its sessions to end.
    async fn stop(self, within: Duration) {
        let _ = self.stop.send(());
        tokio::time::timeout(within, self.task).await.unwrap().unwrap().unwrap();
    }
}

/// The records of the events in the session file of `out` (one file), as
/// far as it is written.
fn events_in_file(out: &std::path::Path) -> (Vec<Vec<u8>>, Option<bool>) {
    let files: Vec<_> = std::fs::read_dir(out).unwrap().map(|f| f.unwrap().path()).collect();
    assert!(files.len() <= 1, "{files:?}");
    let mut events = Vec::new();
    let mut complete = None;
    let Some(file) = files.first() else { return (events, complete) };
    assert!(file.file_name().unwrap().to_str().unwrap().starts_with("slow-disk-"), "{files:?}");
    let mut reader = Reader::new();
    reader.push(&std::fs::read(file).unwrap());
    while let Some(item) = reader.next_item().unwrap() {
        if let Item::Entry(entry) = item {
            match entry.kind {
                EntryKind::Event(event) => events.push(event.record),
                EntryKind::End(end) => complete = Some(end.complete),
                _ => {}
            }
        }
    }
    (events, complete)
}

/// A master that pauses in its stream: every event relayed so far reaches
/// the session file while the stream waits, open (a stream's lines go to
/// the writer when its relay has nothing to read), not when it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_relayed_reach_the_file_while_the_master_pauses() {
    let master = start_master(true, |_| PAD).await;
    let (config, out) = config(master, "pause");
    let recorder = Running::start(config).await;
    let proxy = recorder.addr;
    let mut body = subscribe(proxy).await;
    let mut decoder = Decoder::new();
    let mut records = 0;
    while records < EVENTS + 1 {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame()).await.unwrap().unwrap();
        decoder.push(frame.unwrap().into_data().unwrap());
        while decoder.next_record().unwrap().is_some() {
            records += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (events, complete) = events_in_file(&out);
        assert_eq!(complete, None, "the stream is still open");
        if events.len() == EVENTS + 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{} of {} events in the file", events.len(), EVENTS + 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(body);
    recorder.stop(Duration::from_secs(10)).await;
    let _ = std::fs::remove_dir_all(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_session_file_slows_forwarding_and_loses_nothing() {
    if !test_support::in_own_process("backpressure::a_slow_session_file_slows_forwarding_and_loses_nothing") {
        return;
    }
    let master = start_master(false, |_| PAD).await;
    let (config, out) = config(master, "backpressure");
    mesos_record::file::slow_down_for_tests(PER_LINE);
    let recorder = Running::start(config).await;
    let proxy = recorder.addr;

    tokio::time::timeout(Duration::from_secs(10), read_stream(proxy)).await.unwrap();
    // Once the framework has every event, what is not in the file yet can
    // only be what waits for the writer: WAITING_BYTES of lines (each
    // longer than its record), and the last lines not handed over yet.
    let waiting = mesos_proxy::writer::WAITING_BYTES / update(1).len() + 2;
    let (written, _) = events_in_file(&out);
    assert!(
        written.len() + waiting > EVENTS,
        "the framework has all {} events, the file {}: forwarding ran more than {waiting} events ahead of the file",
        EVENTS + 1,
        written.len()
    );

    recorder.stop(Duration::from_secs(10)).await;
    let (events, complete) = events_in_file(&out);
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(complete, Some(true));
    assert_eq!(events.len(), EVENTS + 1, "every event is in the file");
    for (i, record) in events.iter().enumerate().skip(1) {
        assert_eq!(record, update(i).as_bytes(), "event {i} in order");
    }
}

/// A record larger than all that may wait for the session's writer takes
/// every permit and goes alone: it and the events around it are forwarded
/// and recorded whole, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_larger_than_what_may_wait_for_the_writer_goes_through() {
    fn pad(i: usize) -> usize {
        if i == 3 { mesos_proxy::writer::WAITING_BYTES + (1 << 20) } else { 16 }
    }
    let master = start_master(false, pad).await;
    let (config, out) = config(master, "large-record");
    let recorder = Running::start(config).await;
    let proxy = recorder.addr;
    tokio::time::timeout(Duration::from_secs(30), read_stream(proxy)).await.unwrap();
    recorder.stop(Duration::from_secs(30)).await;
    let (events, complete) = events_in_file(&out);
    let _ = std::fs::remove_dir_all(&out);
    assert_eq!(complete, Some(true));
    assert_eq!(events.len(), EVENTS + 1, "every event is in the file");
    assert!(events[3].len() > mesos_proxy::writer::WAITING_BYTES);
    for (i, record) in events.iter().enumerate().skip(1) {
        assert!(*record == padded(i, pad(i)).as_bytes(), "event {i} in order, whole");
    }
}
