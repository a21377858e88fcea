//! The proxy's session writers: one thread per session, fed entries
//! through a bounded channel, writing them to the session's file
//! ([`mesos_record::file::SessionFile`]: naming, batches, compression,
//! rotation, failing once and loudly). A live session sends its entries
//! in batches of lines (see
//! [`Session::record_events`](crate::session::Session::record_events): an
//! entry freed on the writer's thread made glibc's allocator contend with
//! the forwarding threads on every event), each event's fields in them, its
//! record as it is: the writer writes its line, the record escaped, as it
//! writes the batch out ([`mesos_codec::session::Lines`]); [`Msg::Entry`]
//! renders one here.
//!
//! The channel is the backpressure point: when the disk is slower than the
//! traffic, [`Session::record`](crate::session::Session::record) waits for
//! room, and with it the forwarding of the message being recorded; nothing
//! is dropped. When the file cannot be written at all the proxy keeps
//! forwarding regardless, and the session ends with `"complete":false`.
//! Lines are written out when the queue runs dry, so a follower of the file
//! sees whole lines soon (under load, up to the last 64 KiB of the file, the
//! rest with the next gathering: `SessionFile::flush_gathered`); a rotation
//! is due only between batches.

use std::path::PathBuf;

use mesos_codec::session::{Entry, Lines};
use mesos_record::file::{SessionFile, Storage};
use tokio::sync::{mpsc, oneshot};

/// How many messages may wait for the writer before recording waits.
pub const CHANNEL_CAPACITY: usize = 256;

/// How many bytes of a session's lines (events' lines not written yet:
/// [`Lines::len`]) may wait for the writer before recording waits, and
/// with it the forwarding of what is being recorded: a permit for each
/// byte ([`Msg::Lines`]). It must hold well over what comes in while the
/// writer lingers (200 µs) and writes: 256 entries, the bound before,
/// are 90 KB of 200 B events, fewer than a fast stream brings in one
/// linger, and the recorder's lane stood waiting for permits at every turn
/// of the writer (the lane's `epoll_wait`s for 300 000 200 B events: 2 267,
/// against 299 with the bound raised). `proxy_vs_nginx` on a 2-core VM,
/// against 256 entries in the same run, three runs: 0.48–0.58 → 0.81–0.92×
/// nginx's events/s at 200 B, 0.66–0.82 → 0.90–1.05× on the mix
/// (`docs/performance.md`, "Twelfth run"). 256 KiB was already as good at
/// 200 B; 4 MiB was ahead of 1 MiB at 4 KiB.
pub const WAITING_BYTES: usize = 4 * 1024 * 1024;

/// How long the writer lets lines gather after writing a batch.
const LINGER: std::time::Duration = std::time::Duration::from_micros(200);

/// What a session sends its writer.
#[derive(Debug)]
pub enum Msg {
    /// Lines of entries, each with its newline.
    Line(Vec<u8>),
    /// Lines of entries (their events' lines left to be written here)
    /// and the session's permits they hold, given back once the lines are
    /// written (see
    /// [`Session::record_events`](crate::session::Session::record_events)):
    /// what waits for the writer is bounded in bytes, one permit each.
    Lines(Lines, tokio::sync::OwnedSemaphorePermit),
    /// One entry, rendered as its line by the writer (off the forwarding
    /// path).
    Entry(Box<Entry>),
    /// The session's name (its framework id), which names the file.
    Name(String),
    /// Write the `end` entry with this `seq` and `t_ns`, flush, close, and
    /// answer whether the session is complete.
    Finish {
        /// The `end` entry's `seq` (also the number of entries before it).
        seq: u64,
        /// Its time.
        t_ns: u64,
        /// Told the outcome once the file is closed.
        done: oneshot::Sender<Outcome>,
    },
}

/// How a session file ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file, once it was named.
    pub path: Option<PathBuf>,
    /// Whether every line was written.
    pub complete: bool,
}

/// Spawns the writer (a thread of its own) of a session whose file
/// goes to `dir`, named with `stamp`, starting with `header` (its line);
/// `name` when already known.
pub fn spawn(
    dir: PathBuf,
    stamp: String,
    header: Vec<u8>,
    name: Option<String>,
    label: String,
) -> (mpsc::Sender<Msg>, tokio::task::JoinHandle<()>) {
    spawn_stored(dir, stamp, header, name, label, Storage::default())
}

/// [`spawn`], the session stored as `storage` says (compressed, rotated).
pub fn spawn_stored(
    dir: PathBuf,
    stamp: String,
    header: Vec<u8>,
    name: Option<String>,
    label: String,
    storage: Storage,
) -> (mpsc::Sender<Msg>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let state = SessionFile::new(dir, stamp, header, label, storage);
    (tx, start(move || run(rx, state, name)))
}

/// Runs `work` on a thread of its own (not tokio's blocking pool, whose
/// size would cap the number of live sessions); the handle resolves when it
/// is done.
fn start(work: impl FnOnce() + Send + 'static) -> tokio::task::JoinHandle<()> {
    let (done, finished) = oneshot::channel::<()>();
    let work = std::sync::Arc::new(std::sync::Mutex::new(Some((work, done))));
    let on_thread = work.clone();
    let spawned = std::thread::Builder::new().name("session-writer".into()).stack_size(256 * 1024).spawn(move || {
        if let Some((work, done)) = on_thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            work();
            let _ = done.send(());
        }
    });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start a session writer thread; using tokio's blocking pool");
        return tokio::task::spawn_blocking(move || {
            if let Some((work, _done)) = work.lock().unwrap_or_else(|e| e.into_inner()).take() {
                work();
            }
        });
    }
    tokio::spawn(async move {
        let _ = finished.await;
    })
}

fn run(mut rx: mpsc::Receiver<Msg>, mut state: SessionFile, name: Option<String>) {
    if let Some(name) = name {
        state.open(&name);
    }
    while let Some(mut msg) = rx.blocking_recv() {
        loop {
            // Take everything already queued before writing it out.
            loop {
                match msg {
                    Msg::Line(line) => state.write_line(&line),
                    Msg::Lines(lines, permit) => {
                        state.write_lines(&lines);
                        drop(permit);
                    }
                    // Not rendered when it would be dropped anyway.
                    Msg::Entry(entry) if !state.has_failed() => state.write_entry(&entry),
                    Msg::Entry(_) => {}
                    Msg::Name(name) => state.open(&name),
                    Msg::Finish { seq, t_ns, done } => {
                        let complete = state.finish(seq, t_ns, true);
                        let _ = done.send(Outcome { path: state.path().map(Into::into), complete });
                        return;
                    }
                }
                match rx.try_recv() {
                    Ok(next) => msg = next,
                    Err(_) => break,
                }
            }
            // Under load the last line waits for the next gathering (see
            // `flush_gathered`); once the queue stays dry, it is written.
            state.flush_gathered();
            state.rotate_if_due();
            // Let lines gather for a moment rather than being woken for each
            // one: far fewer context switches under load. WAITING_BYTES of
            // lines may gather meanwhile, so recording does not wait for it.
            std::thread::sleep(LINGER);
            match rx.try_recv() {
                Ok(next) => msg = next,
                Err(_) => break,
            }
        }
        state.flush();
        state.rotate_if_due();
    }
    // Every sender dropped without Finish: write what there is.
    state.open("unknown");
    state.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_codec::session::{EntryKind, Note};
    use mesos_record::file::Compression;

    fn stamp_dir(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        std::env::temp_dir().join(format!("mesos-proxy-writer-{name}-{}-{nanos}", std::process::id()))
    }

    async fn finish(tx: &mpsc::Sender<Msg>, seq: u64) -> Outcome {
        let (done, rx) = oneshot::channel();
        tx.send(Msg::Finish { seq, t_ns: 9, done }).await.unwrap();
        rx.await.unwrap()
    }

    #[tokio::test]
    async fn lines_wait_for_the_name_then_go_to_the_named_file() {
        let dir = stamp_dir("named");
        std::fs::create_dir_all(&dir).unwrap();
        let (tx, handle) = spawn(dir.clone(), "S".into(), b"H\n".to_vec(), None, "#1".into());
        tx.send(Msg::Line(b"a\n".to_vec())).await.unwrap();
        tx.send(Msg::Name("fw/1".into())).await.unwrap();
        tx.send(Msg::Line(b"b\n".to_vec())).await.unwrap();
        let outcome = finish(&tx, 2).await;
        handle.await.unwrap();
        assert!(outcome.complete);
        let path = outcome.path.unwrap();
        assert_eq!(path, dir.join("fw_1-S.session.jsonl"));
        let text = std::fs::read_to_string(path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            text,
            "H\na\nb\n{\"seq\":2,\"t_ns\":9,\"conn\":0,\"kind\":\"end\",\"entries\":2,\"complete\":true}\n"
        );
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_written_makes_the_session_incomplete_without_blocking() {
        let dir = stamp_dir("missing"); // never created: the file cannot be opened
        let (tx, handle) = spawn(dir, "S".into(), b"H\n".to_vec(), Some("fw".into()), "#1".into());
        // Far more lines than the channel holds: the writer keeps draining.
        for _ in 0..CHANNEL_CAPACITY * 4 {
            tx.send(Msg::Line(b"x\n".to_vec())).await.unwrap();
        }
        let outcome = finish(&tx, 5).await;
        handle.await.unwrap();
        assert!(!outcome.complete);
        // Issue 18: the summary named a file that was never created.
        assert_eq!(outcome.path, None);
    }

    /// `--rotate-age`: a part older than the age is cut after its batch;
    /// with `--compress zstd` too, the parts chain by `previous` and read
    /// back as one session, the `end` in the last.
    #[tokio::test]
    async fn an_old_part_is_cut_after_its_batch_and_the_parts_read_as_one() {
        use mesos_codec::session::{Header, Item, Reader, Source};
        let dir = stamp_dir("age");
        std::fs::create_dir_all(&dir).unwrap();
        let header = Header::new(Source::Proxy, "2026-12-05T18:00:00Z").to_line();
        let storage = Storage {
            rotate_age: Some(std::time::Duration::from_nanos(1)),
            compress: Some(Compression::Zstd),
            ..Storage::default()
        };
        let (tx, handle) = spawn_stored(dir.clone(), "S".into(), header, Some("fw".into()), "#1".into(), storage);
        let note = |seq: u64| {
            let note = Note { message: format!("n{seq}"), refers: None, incomplete: false };
            Msg::Entry(Box::new(Entry { seq, t_ns: seq, conn: 1, kind: EntryKind::Note(note) }))
        };
        // The first batch, alone: the part is older than the age after it.
        tx.send(note(0)).await.unwrap();
        let files = || std::fs::read_dir(&dir).unwrap().count();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while files() < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        for seq in 1..3 {
            tx.send(note(seq)).await.unwrap();
        }
        let outcome = finish(&tx, 3).await;
        handle.await.unwrap();
        assert!(outcome.complete);
        let mut parts: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(parts.len() >= 2, "{parts:?}");
        assert!(parts.iter().all(|p| p.to_string_lossy().ends_with(".session.jsonl.zst")), "{parts:?}");
        // In chain order: each part's header names the one before.
        let header_of = |path: &PathBuf| {
            let mut reader = Reader::new();
            reader.push(&std::fs::read(path).unwrap());
            match reader.next_item() {
                Ok(Some(Item::Header(header))) => header,
                other => panic!("{}: {other:?}", path.display()),
            }
        };
        parts.sort_by_key(|p| header_of(p).part.unwrap_or(1));
        for pair in parts.windows(2) {
            let previous = header_of(&pair[1]).previous.unwrap();
            assert_eq!(previous, pair[0].file_name().unwrap().to_string_lossy());
        }
        assert_eq!(outcome.path.as_ref(), parts.last());
        let mut reader = Reader::new();
        for part in &parts {
            reader.push(&std::fs::read(part).unwrap());
        }
        let mut kinds = Vec::new();
        while let Some(item) = reader.next_item().unwrap() {
            if let Item::Entry(entry) = item {
                kinds.push(entry.kind.name());
            }
        }
        assert_eq!(reader.finish(), None);
        assert_eq!(reader.parts(), parts.len() as u64);
        assert_eq!(kinds, ["note", "note", "note", "end"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
