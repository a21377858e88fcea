//! Relaying a response body frame by frame while recording it.
//!
//! A relay task reads the master's body and hands its frames to the
//! framework side in batches, through a bounded channel of
//! [`RELAY_BATCHES`]; it reads on only while there is room, so backpressure
//! goes end to end and nothing is buffered to the end of the stream. Each
//! data frame is lent to the [`Tap`] first (its bytes where they are),
//! then forwarded as one frame, which hyper writes as one HTTP chunk: the
//! master's chunk boundaries are kept. (A chunked body, an event
//! stream's always, is read by the proxy rather than hyper
//! ([`crate::rawhead::Diverted`]), which hands each chunk over whole as the
//! master wrote it, however many reads it took: so the framework gets, and
//! the session records, the chunks the master wrote.) An event stream to
//! an HTTP/1.1 framework is spliced: the relay forwards the bytes that
//! carried a batch's chunks, as the master wrote them, and the framework
//! side writes them straight into the connection ([`Splice`]) rather than
//! handing hyper frames to frame again. `proxy_vs_nginx` on a 2-core VM,
//! against hyper's framing in the same run (five runs each): the lane
//! 1.82 → 1.67 µs an event on the realistic mix, 1.40 → 1.25 at 200 B.
//!
//! A batch is every frame already there when the relay looks (at least one,
//! at most [`BATCH_FRAMES`] or about [`BATCH_BYTES`]): a relay never waits
//! to fill one. A diverted body's frames are cut from what the relay's own
//! read brought, so every chunk the master has already sent comes out in
//! one go; and the framework side gets them together: hyper writes every
//! frame it has been handed in one `write`. When the relay holds the
//! upstream connection on a [`Lease`] (event streams do), it drives that
//! connection itself between reads of a body hyper reads, for the same
//! reason (one task switch a batch rather than a chunk); the lease also
//! says when `--master zk://…` ended the connection.
//!
//! The tap of an event stream feeds a RecordIO decoder ([`EventTap`]) and records one
//! `event` per record, with the sizes of the chunk pieces that carried it
//! when that was not exactly one chunk. Every frame of a batch is recorded
//! (numbered, its line rendered) before the batch is forwarded, so an event
//! is in the session before the framework can answer it; the lines go to
//! the session's writer once the relay has nothing to read or must wait for
//! the framework ([`Session::hand_over`]). Malformed RecordIO is still forwarded
//! untouched; it is recorded as a `note`, once, and the rest of the stream
//! is relayed unrecorded. The tap of any other body collects it and records
//! the `response` entry when the body has ended.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use hyper::body::{Body, Frame, SizeHint};
use mesos_codec::api::{Api, Encoding};
use mesos_codec::schema::MessageId;
use mesos_codec::session::{Close, EntryKind, Note, Party, Response};
use tokio::sync::mpsc;

use crate::forward::{BoxError, Lease, UpstreamBody};
use crate::rawhead::Chunks;
use crate::session::{Registry, Session};
use crate::tls::Stream;
use mesos_record::{EventTap, Tapped};
use mesos_tls::splice::Splice;

/// What the relay hands the framework side: a batch, or the error that
/// broke the master's body off.
type Batch = Result<Relayed, BoxError>;

/// A batch of a relayed body.
#[derive(Debug)]
enum Relayed {
    /// Frames, for hyper to write.
    Frames(Vec<Frame<Bytes>>),
    /// The master's bytes, chunk framing and all, written straight to the
    /// framework ([`Splice`]).
    Carried(Vec<Bytes>),
}

/// The framework side of a relayed body: the frames the relay task
/// forwards, or (spliced) nothing, the master's bytes being written
/// straight to the framework while hyper polls it.
#[derive(Debug)]
pub struct RelayBody {
    rx: mpsc::Receiver<Batch>,
    /// The rest of the batch being written.
    current: std::vec::IntoIter<Frame<Bytes>>,
    /// Spliced: the writer, and the rest of the bytes being written.
    splice: Option<Splice<Stream>>,
    carried: VecDeque<Bytes>,
    hint: SizeHint,
}

impl Body for RelayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(frame) = this.current.next() {
                return Poll::Ready(Some(Ok(frame)));
            }
            // Spliced, the batch's bytes go out before the next is taken.
            if let Some(splice) = this.splice.as_mut() {
                ready!(splice.poll_write_all(cx, &mut this.carried))?;
            }
            match ready!(this.rx.poll_recv(cx)) {
                Some(Ok(Relayed::Frames(batch))) => this.current = batch.into_iter(),
                Some(Ok(Relayed::Carried(bytes))) => this.carried.extend(bytes),
                Some(Err(err)) => return Poll::Ready(Some(Err(err))),
                None => return Poll::Ready(None),
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

/// How many batches a relay may have handed over that the framework side
/// has not taken yet.
pub const RELAY_BATCHES: usize = 4;

/// The most frames in one batch. The framework side writes flattened
/// (`proxy::serve`), every frame it has in one `write`; a batch of 64 small
/// events is one hand-over (one wake-up of the framework side's task)
/// where 16 took four (`benches/proxy_vs_nginx.rs`: 10 % less CPU per
/// event in the proxy's workers).
pub const BATCH_FRAMES: usize = 64;

/// The most frames a relay holds that the framework side has not written:
/// the batches in the channel, the one the framework side is writing, and
/// the one being recorded.
pub const RELAY_FRAMES: usize = (RELAY_BATCHES + 2) * BATCH_FRAMES;

/// A batch is closed once it holds this many bytes (its last frame may take
/// it over).
pub const BATCH_BYTES: usize = 256 * 1024;

/// What a relay does with the frames it forwards.
pub enum Tap {
    /// An event stream: one `event` per RecordIO record.
    Stream(Box<StreamTap>),
    /// A plain body: collected, recorded as the `response` when it ends.
    Body(Box<BodyTap>),
}

/// Relays `upstream` to the returned body, through `tap`, on its own task
/// (whose handle is returned too: it ends soon after the body is dropped,
/// once the tap has recorded how the body ended). With a `lease` on the
/// upstream connection the task drives that connection too, until the body
/// ends; then the lease is dropped, which hands the connection back. With
/// a `splice`, a body the proxy reads itself (a chunked one) goes to the
/// framework as the master's bytes ([`Splice`]); the caller gives one only
/// when hyper will frame the response as chunked.
pub fn relay(
    mut upstream: UpstreamBody,
    tap: Tap,
    lease: Option<Lease>,
    splice: Option<Splice<Stream>>,
) -> (RelayBody, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(RELAY_BATCHES);
    let hint = upstream.size_hint();
    let splice = match &mut upstream {
        UpstreamBody::Diverted(body) => splice.inspect(|_| body.splice()),
        UpstreamBody::Hyper(_) => None,
    };
    let handle = tokio::spawn(run(upstream, tx, tap, lease));
    (RelayBody { rx, current: Vec::new().into_iter(), splice, carried: VecDeque::new(), hint }, handle)
}

/// How gathering a batch ended.
enum Gathered {
    /// The batch is full, or holds every frame there was: more may come.
    More,
    /// The master's body ended (after the batch).
    End,
    /// The master's body broke off (after the batch).
    Broken(BoxError),
    /// Nothing to read now, and lines to hand to the writer: the batch is
    /// empty.
    Idle,
}

async fn run(mut upstream: UpstreamBody, tx: mpsc::Sender<Batch>, mut tap: Tap, mut lease: Option<Lease>) {
    // The data of a batch's frames (kept, emptied, so that its room is).
    let mut batch = Chunks::default();
    loop {
        // The frame after them that is not data (a body's trailers).
        let mut trailers = None;
        // With lines numbered and not handed to the writer yet, a relay
        // with nothing to read hands them over (below) rather than wait.
        let unhanded = tap.unhanded();
        let gathered = tokio::select! {
            gathered = std::future::poll_fn(|cx| match gather(&mut upstream, &mut lease, &mut batch, &mut trailers, cx) {
                Poll::Pending if unhanded => Poll::Ready(Gathered::Idle),
                gathered => gathered,
            }) => gathered,
            () = tx.closed() => {
                tap.end(Party::Framework, "the framework closed the connection").await;
                return;
            }
        };
        if matches!(gathered, Gathered::Idle) {
            // The framework side (a task on the same lane) writes the last
            // batch first; then the writer's thread is woken.
            tokio::task::yield_now().await;
            tap.hand_over().await;
            continue;
        }
        let spliced = match &mut upstream {
            UpstreamBody::Diverted(body) => Some(body.take_carried()).filter(|_| body.is_spliced()),
            UpstreamBody::Hyper(_) => None,
        };
        let out = match spliced {
            Some(carried) => {
                for data in batch.iter() {
                    tap.data(data);
                }
                batch.clear();
                (!carried.is_empty()).then_some(Relayed::Carried(carried))
            }
            None => {
                let mut out = Vec::with_capacity(batch.len() + 1);
                for data in batch.slices() {
                    tap.data(&data);
                    out.push(Frame::data(data));
                }
                batch.clear();
                out.extend(trailers);
                (!out.is_empty()).then_some(Relayed::Frames(out))
            }
        };
        // The batch's events are numbered before it is forwarded (an event
        // is in the session before the framework can answer it); their
        // lines go to the session's writer when the relay has nothing more
        // to read (`Gathered::Idle`), or with the next full batch of lines.
        tap.flush().await;
        if let Some(out) = out {
            let sent = match tx.try_send(Ok(out)) {
                Ok(()) => true,
                // A framework slow to read holds the relay here: the lines
                // go to the writer first, so that the file has every event
                // forwarded while it waits.
                Err(mpsc::error::TrySendError::Full(batch)) => {
                    tap.hand_over().await;
                    tx.send(batch).await.is_ok()
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            };
            if !sent {
                tap.end(Party::Framework, "the framework closed the connection").await;
                return;
            }
        }
        if !matches!(gathered, Gathered::More)
            && let Some(lost) = lease.as_ref().and_then(Lease::deposed)
        {
            // `--master zk://…`: the proxy ended the master's connection.
            let message = format!(
                "{lost}: the proxy ended the stream as the master's exit would; the framework's next \
                 request goes to the leader of the moment"
            );
            tap.note(message).await;
        }
        match gathered {
            Gathered::More | Gathered::Idle => {}
            Gathered::End => {
                tap.end(Party::Master, "the master ended the body").await;
                return;
            }
            Gathered::Broken(err) => {
                tap.end(Party::Master, &format!("the master's body broke off: {err}")).await;
                let _ = tx.send(Err(err)).await;
                return;
            }
        }
    }
}

/// Takes into `batch` the data of the frames of `upstream` that are there
/// (a frame that is not data, the body's trailers, into `trailers`):
/// `Pending` until there is at least one (or the body ends), then every one
/// already there, up to a batch's limits. With a lease, the connection is
/// driven whenever the body has nothing, so that it hands over the next
/// chunk it has already read. A diverted body's chunks are taken as
/// places in the reads that carried them ([`Chunks`]), with no `Bytes`
/// of their own, and a spliced relay's tap reads them there.
fn gather(
    upstream: &mut UpstreamBody,
    lease: &mut Option<Lease>,
    batch: &mut Chunks,
    trailers: &mut Option<Frame<Bytes>>,
    cx: &mut Context<'_>,
) -> Poll<Gathered> {
    let mut bytes = 0;
    let mut drove = false;
    loop {
        if batch.len() >= BATCH_FRAMES || bytes >= BATCH_BYTES {
            return Poll::Ready(Gathered::More);
        }
        let polled = match upstream {
            // A diverted body's chunks come all at once, without a frame each.
            UpstreamBody::Diverted(body) => match body.poll_chunks(cx, batch, BATCH_FRAMES, BATCH_BYTES - bytes) {
                Poll::Ready(Some(Ok(n))) => {
                    bytes += n;
                    drove = false;
                    continue;
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Gathered::Broken(err.into())),
                Poll::Ready(None) => return Poll::Ready(Gathered::End),
                Poll::Pending => Poll::Pending,
            },
            UpstreamBody::Hyper(_) => Pin::new(&mut *upstream).poll_frame(cx),
        };
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                match frame.into_data() {
                    Ok(data) => {
                        bytes += data.len();
                        batch.push(data);
                    }
                    Err(frame) => *trailers = Some(frame),
                }
                drove = false;
                continue;
            }
            Poll::Ready(Some(Err(err))) => return Poll::Ready(Gathered::Broken(err)),
            Poll::Ready(None) => return Poll::Ready(Gathered::End),
            Poll::Pending => {}
        }
        if !drove {
            if let Some(lease) = lease.as_mut() {
                // Ended or not, the body says what became of it next time.
                let _ = lease.poll_conn(cx);
                drove = true;
                continue;
            }
        }
        return if batch.is_empty() && trailers.is_none() { Poll::Pending } else { Poll::Ready(Gathered::More) };
    }
}

impl Tap {
    fn data(&mut self, data: &[u8]) {
        match self {
            Tap::Stream(tap) => tap.chunk(data),
            Tap::Body(tap) => tap.data(data),
        }
    }

    /// Records what a stream's tap holds (the events of the batch, handed
    /// to the session's writer together).
    async fn flush(&mut self) {
        if let Tap::Stream(tap) = self
            && !tap.out.is_empty()
        {
            tap.record().await;
        }
    }

    /// Whether an event stream's tap numbered events whose lines were not
    /// handed to the writer yet.
    fn unhanded(&self) -> bool {
        matches!(self, Tap::Stream(tap) if tap.unhanded)
    }

    /// Hands an event stream's numbered lines to the session's writer.
    async fn hand_over(&mut self) {
        if let Tap::Stream(tap) = self {
            tap.unhanded = false;
            tap.session.hand_over().await;
        }
    }

    async fn end(&mut self, by: Party, reason: &str) {
        match self {
            Tap::Stream(tap) => tap.end(by, reason).await,
            Tap::Body(tap) => tap.end().await,
        }
    }

    /// A `note` about an event stream, in its session (a plain body's
    /// response is not recorded yet: nothing to refer to).
    async fn note(&mut self, message: String) {
        if let Tap::Stream(tap) = self {
            tracing::info!(session = tap.session.id(), stream = tap.tap.stream(), "{message}");
            let note = Note { message, refers: Some(tap.tap.stream()), incomplete: false };
            tap.session.record(tap.conn, EntryKind::Note(note)).await;
        }
    }
}

/// Records a plain response once its body has ended.
pub struct BodyTap {
    /// Where the response goes.
    pub to: BodyTarget,
    /// The proxy connection.
    pub conn: u64,
    /// The type of the body, when it is a v1 message (for redaction).
    pub message: Option<MessageId>,
    /// The entry, recorded with the collected body.
    pub response: Response,
    /// The body so far.
    pub body: BytesMut,
    /// Bodies longer than this are not kept (a note says how long it was).
    pub cap: usize,
    /// The body's length, kept or not.
    pub len: usize,
}

/// Where a [`BodyTap`] records its response.
pub enum BodyTarget {
    /// Into a session.
    Session(Arc<Session>),
    /// A request outside the v1 APIs from a host that has no session yet:
    /// the exchange waits in the registry's lobby.
    Lobby {
        /// The registry.
        registry: Arc<Registry>,
        /// The framework's host.
        host: std::net::IpAddr,
        /// The request, recorded with its answer.
        request: Box<mesos_codec::session::Request>,
    },
}

impl BodyTap {
    fn data(&mut self, data: &[u8]) {
        self.len += data.len();
        if self.len <= self.cap {
            self.body.extend_from_slice(data);
        } else {
            self.body = BytesMut::new();
        }
    }

    /// Records the response now (its body is known to be empty).
    pub async fn finish(mut self) {
        self.end().await;
    }

    async fn end(&mut self) {
        let mut response = std::mem::take(&mut self.response);
        let note = (self.len > self.cap)
            .then(|| format!("response body of {} bytes not kept (over the {} bytes kept)", self.len, self.cap));
        response.body = std::mem::take(&mut self.body).to_vec();
        match &mut self.to {
            BodyTarget::Session(session) => {
                let seq = session.record_message(self.conn, EntryKind::Response(response), self.message).await;
                if let Some(message) = note {
                    let note = Note { message, refers: seq, incomplete: false };
                    session.record(self.conn, EntryKind::Note(note)).await;
                }
            }
            BodyTarget::Lobby { registry, host, request } => {
                let exchange = crate::session::Exchange {
                    conn: self.conn,
                    request: std::mem::take(&mut **request),
                    response: Some(response),
                    note,
                };
                registry.wait_in_lobby(*host, exchange);
            }
        }
    }
}

/// Records the events of a `SUBSCRIBE` stream: [`EventTap`]'s outputs
/// into the session.
pub struct StreamTap {
    session: Arc<Session>,
    registry: Arc<Registry>,
    conn: u64,
    tap: EventTap,
    /// Tapped, not recorded yet (until the end of the relay's batch), and
    /// when each was (one time for each, always).
    out: Vec<Tapped>,
    times: Vec<u64>,
    ended: bool,
    /// Events numbered whose lines may not be with the writer yet (see
    /// [`Session::hand_over`]).
    unhanded: bool,
}

impl StreamTap {
    /// A tap for the stream opened by response `stream` of `session`, an
    /// `api` stream in `encoding`; `unnamed` when the session has no name
    /// yet (a framework id the stream carries then names it).
    pub fn new(
        session: Arc<Session>,
        registry: Arc<Registry>,
        unnamed: bool,
        conn: u64,
        stream: u64,
        api: Api,
        encoding: Option<Encoding>,
    ) -> StreamTap {
        let tap = EventTap::new(stream, api, encoding, unnamed);
        StreamTap { session, registry, conn, tap, out: Vec::new(), times: Vec::new(), ended: false, unhanded: false }
    }

    /// Taps a chunk: what it completes waits, with the time it was tapped,
    /// for [`record`](Self::record) at the end of the relay's batch. The
    /// clock is read once a batch, by its first event: the batch's chunks
    /// were all there when the relay looked (a read or a few, without
    /// waiting), and a clock read a chunk was 1.7 % of a stream's lane on
    /// the realistic mix (`perf`).
    fn chunk(&mut self, data: &[u8]) {
        let from = self.out.len();
        self.tap.chunk(data, &mut self.out);
        if self.out.len() > from {
            let t_ns = match self.times.last() {
                Some(&t_ns) => t_ns,
                None => self.session.t_ns(),
            };
            self.times.resize(self.out.len(), t_ns);
        }
    }

    /// Records what was tapped since the last time, in order: a run of
    /// events under one hold of the session's lock
    /// ([`Session::record_events`]).
    async fn record(&mut self) {
        // Recorded where they are (each event moved no further), then
        // given back to the tap (`EventTap::recycle`: the records' room is
        // reused), so that the lists' room and the records' are kept.
        let mut out = std::mem::take(&mut self.out);
        let mut i = 0;
        while let Some(next) = out.get_mut(i) {
            match next {
                Tapped::Name(id) => {
                    if self.session.set_name(id).await {
                        self.registry.register(id, &self.session);
                        tracing::info!(session = self.session.id(), framework_id = %id, "framework id learnt from the stream");
                    }
                    i += 1;
                }
                Tapped::Event(_) => {
                    // The run of events from this one.
                    let run = out[i..].iter().take_while(|t| matches!(t, Tapped::Event(_))).count();
                    let (times, events) = (&self.times[i..i + run], &mut out[i..i + run]);
                    self.session.record_events(self.conn, times, events, Some(self.tap.message())).await;
                    self.unhanded = true;
                    i += run;
                }
                Tapped::Note(message) => {
                    tracing::warn!(session = self.session.id(), stream = self.tap.stream(), "{message}");
                    let note =
                        Note { message: std::mem::take(message), refers: Some(self.tap.stream()), incomplete: false };
                    self.session.record(self.conn, EntryKind::Note(note)).await;
                    i += 1;
                }
            }
        }
        self.tap.recycle(&mut out);
        self.times.clear();
        self.out = out;
    }

    async fn end(&mut self, by: Party, reason: &str) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.tap.end(by, &mut self.out);
        // What the end says has its time too: `out` and `times` go together.
        self.times.resize(self.out.len(), self.session.t_ns());
        self.record().await;
        let close = Close { stream: Some(self.tap.stream()), by, reason: Some(reason.to_owned()) };
        self.session.record(self.conn, EntryKind::Close(close)).await;
        tracing::debug!(session = self.session.id(), stream = self.tap.stream(), by = by.as_str(), "stream closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SessionConfig, Touched};
    use http_body_util::BodyExt;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    /// A chunked response whose first chunk is `chunk`, from a local socket,
    /// read on the proxy's upstream connection (its body diverted from
    /// hyper): a relay's upstream body. It ends when the returned sender is
    /// used.
    async fn upstream(chunk: &'static [u8]) -> (UpstreamBody, oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (end, ended) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await.unwrap();
            let head = format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n", chunk.len());
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(chunk).await.unwrap();
            socket.write_all(b"\r\n").await.unwrap();
            let _ = ended.await;
            socket.write_all(b"0\r\n\r\n").await.unwrap();
        });
        let (mut sender, _, driver) = crate::forward::Upstream::new(addr.to_string()).connect().await.unwrap();
        let request =
            http::Request::get("/").body(http_body_util::Empty::new().map_err(|never| match never {}).boxed());
        let body = driver.body(sender.send_request(request.unwrap()).await.unwrap().into_body());
        assert!(matches!(body, UpstreamBody::Diverted(_)), "a chunked body is diverted: {body:?}");
        (body, end)
    }

    /// A session of a fresh registry recording into a directory of its own.
    fn session() -> (Arc<Session>, Arc<Registry>, std::path::PathBuf) {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let out = std::env::temp_dir().join(format!("mesos-proxy-tee-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let config = SessionConfig {
            out: out.clone(),
            master: "http://m".into(),
            keep_secrets: false,
            storage: Default::default(),
        };
        let registry = Arc::new(Registry::new(config));
        let session = registry.anonymous(Some("fw"), &mut Touched::default());
        (session, registry, out)
    }

    /// Reads `chunk` from the relayed `body`, has the master end the body
    /// (`end`) and reads its end, waits for the `relay`, and ends the
    /// session.
    async fn relay_to_the_end(
        body: &mut RelayBody,
        chunk: &[u8],
        end: oneshot::Sender<()>,
        relay: tokio::task::JoinHandle<()>,
        session: &Session,
    ) {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame()).await.unwrap().unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), chunk);
        end.send(()).unwrap();
        assert!(tokio::time::timeout(Duration::from_secs(10), body.frame()).await.unwrap().is_none());
        relay.await.unwrap();
        session.finish(false).await;
    }

    /// The entries of the one session file in `out`, which goes.
    fn entries(out: &std::path::Path) -> Vec<mesos_codec::session::Entry> {
        let file = std::fs::read_dir(out).unwrap().next().unwrap().unwrap().path();
        let mut reader = mesos_codec::session::Reader::new();
        reader.push(&std::fs::read(&file).unwrap());
        let _ = std::fs::remove_dir_all(out);
        let mut entries = Vec::new();
        while let Some(item) = reader.next_item().unwrap() {
            if let mesos_codec::session::Item::Entry(entry) = item {
                entries.push(entry);
            }
        }
        entries
    }

    /// The invariant replay relies on: a batch reaches the framework only
    /// once its events are numbered in the session (so a call answering
    /// one comes after it). While the session's lock is held, nothing can
    /// be numbered, and nothing is forwarded.
    #[tokio::test]
    async fn a_batch_is_forwarded_only_once_its_events_are_numbered() {
        const CHUNK: &[u8] = b"20\n{\"type\":\"HEARTBEAT\"}";
        let (session, registry, out) = session();
        let (incoming, end) = upstream(CHUNK).await;
        let held = session.hold().await;
        let tap = StreamTap::new(session.clone(), registry.clone(), false, 1, 0, Api::Scheduler, Some(Encoding::Json));
        let (mut body, relay) = super::relay(incoming, Tap::Stream(Box::new(tap)), None, None);
        let early = tokio::time::timeout(Duration::from_millis(300), body.frame()).await;
        assert!(early.is_err(), "forwarded before its event was numbered: {early:?}");
        drop(held);
        relay_to_the_end(&mut body, CHUNK, end, relay, &session).await;
        let kinds: Vec<_> = entries(&out).iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, ["event", "close", "end"]);
    }

    /// A stream that ends inside a record: what the tap says at the end (a
    /// note, with no time of its own) is recorded before the stream's
    /// `close`.
    #[tokio::test]
    async fn a_stream_ended_inside_a_record_is_noted_before_its_close() {
        const CHUNK: &[u8] = b"40\n{\"type\":\"HEARTBEAT\"}";
        let (session, registry, out) = session();
        let (incoming, end) = upstream(CHUNK).await;
        let tap = StreamTap::new(session.clone(), registry.clone(), false, 1, 0, Api::Scheduler, Some(Encoding::Json));
        let (mut body, relay) = super::relay(incoming, Tap::Stream(Box::new(tap)), None, None);
        relay_to_the_end(&mut body, CHUNK, end, relay, &session).await;
        let entries = entries(&out);
        let kinds: Vec<_> = entries.iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, ["note", "close", "end"]);
        let mesos_codec::session::EntryKind::Note(note) = &entries[0].kind else { unreachable!("a note, above") };
        assert_eq!(note.message, "byte 0: the stream ended inside a record: 20 of its 40 data bytes received");
        assert_eq!(note.refers, Some(0));
    }
}
