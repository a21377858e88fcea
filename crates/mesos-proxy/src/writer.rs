//! The session file writer: one tokio task per session, fed lines through a
//! bounded channel.
//!
//! The channel is the backpressure point: when the disk is slower than the
//! traffic, [`Session::record`](crate::session::Session::record) waits for
//! room, and with it the forwarding of the message being recorded; nothing
//! is dropped. When the file cannot be written at all (a read-only
//! directory, a full disk) the task says so once, loudly, with
//! `tracing::error!`, drops what it cannot write, and the session ends with
//! `"complete":false`; the proxy keeps forwarding regardless.
//!
//! The file is created when the session's name is known (a new framework
//! learns its id from the `SUBSCRIBED` event); lines recorded before that
//! wait in memory.

use std::path::{Path, PathBuf};

use mesos_codec::session::{End, Entry, EntryKind};
use tokio::fs::File;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};

/// How many lines may wait for the writer before recording waits.
pub const CHANNEL_CAPACITY: usize = 256;

/// What a session sends its writer.
#[derive(Debug)]
pub enum Msg {
    /// One entry's line, newline included.
    Line(Vec<u8>),
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

/// Characters outside `[A-Za-z0-9._-]` become `_` in file names.
///
/// ```
/// assert_eq!(mesos_proxy::writer::file_safe("a b/c-1.2"), "a_b_c-1.2");
/// ```
pub fn file_safe(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

struct FileState {
    dir: PathBuf,
    stamp: String,
    header: Vec<u8>,
    label: String,
    pending: Vec<Vec<u8>>,
    file: Option<BufWriter<File>>,
    path: Option<PathBuf>,
    failed: bool,
}

impl FileState {
    async fn open(&mut self, name: &str) {
        if self.file.is_some() || self.failed {
            return;
        }
        let base = format!("{}-{}", file_safe(name), self.stamp);
        let mut path = self.dir.join(format!("{base}.session.jsonl"));
        let mut opened = create(&path).await;
        // The same framework twice in one millisecond: never overwrite, number it.
        let mut n = 2;
        while matches!(&opened, Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists) && n < 100 {
            path = self.dir.join(format!("{base}-{n}.session.jsonl"));
            opened = create(&path).await;
            n += 1;
        }
        self.path = Some(path.clone());
        match opened {
            Ok(file) => {
                tracing::info!(session = %self.label, path = %path.display(), "session file opened");
                self.file = Some(BufWriter::new(file));
                let header = std::mem::take(&mut self.header);
                self.write(&header).await;
                for line in std::mem::take(&mut self.pending) {
                    self.write(&line).await;
                }
            }
            Err(err) => self.fail(&err),
        }
    }

    async fn write(&mut self, line: &[u8]) {
        if self.failed {
            return;
        }
        let Some(file) = &mut self.file else {
            self.pending.push(line.to_vec());
            return;
        };
        if let Err(err) = file.write_all(line).await {
            self.fail(&err);
        }
    }

    async fn flush(&mut self) {
        if let (false, Some(file)) = (self.failed, &mut self.file) {
            if let Err(err) = file.flush().await {
                self.fail(&err);
            }
        }
    }

    fn fail(&mut self, err: &std::io::Error) {
        if !self.failed {
            self.failed = true;
            self.file = None;
            self.pending = Vec::new();
            let path = self.path.as_deref().map(Path::display).map(|p| p.to_string()).unwrap_or_default();
            tracing::error!(
                session = %self.label,
                %path,
                error = %err,
                "CANNOT WRITE THE SESSION FILE: traffic is still forwarded, but this session is INCOMPLETE from here on"
            );
        }
    }
}

async fn create(path: &Path) -> std::io::Result<File> {
    tokio::fs::OpenOptions::new().write(true).create_new(true).open(path).await
}

/// Spawns the writer task of a session whose file goes to `dir`, named with
/// `stamp`, starting with `header` (its line); `name` when already known.
pub fn spawn(
    dir: PathBuf,
    stamp: String,
    header: Vec<u8>,
    name: Option<String>,
    label: String,
) -> (mpsc::Sender<Msg>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let state = FileState { dir, stamp, header, label, pending: Vec::new(), file: None, path: None, failed: false };
    (tx, tokio::spawn(run(rx, state, name)))
}

async fn run(mut rx: mpsc::Receiver<Msg>, mut state: FileState, name: Option<String>) {
    if let Some(name) = name {
        state.open(&name).await;
    }
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Line(line) => state.write(&line).await,
            Msg::Name(name) => state.open(&name).await,
            Msg::Finish { seq, t_ns, done } => {
                state.open("unknown").await;
                let complete = !state.failed;
                let end = Entry { seq, t_ns, conn: 0, kind: EntryKind::End(End { entries: seq, complete }) };
                state.write(&end.to_line()).await;
                state.flush().await;
                if let Some(mut file) = state.file.take() {
                    if let Err(err) = file.get_mut().sync_all().await {
                        state.fail(&err);
                    }
                }
                let _ = done.send(Outcome { path: state.path.clone(), complete: complete && !state.failed });
                return;
            }
        }
        // Flush when the queue is drained, so a follower sees whole lines soon.
        if rx.is_empty() {
            state.flush().await;
        }
    }
    // Every sender dropped without Finish: flush what there is.
    state.open("unknown").await;
    state.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
