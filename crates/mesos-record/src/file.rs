//! A session's file: lines gathered into batches and written with plain
//! `std::fs` by whoever drives it (the proxy's writer thread,
//! `mesos_proxy::writer`; the capture importer; the sim's `--record`).
//!
//! When the file cannot be written at all (a read-only directory, a full
//! disk) it says so once, loudly, with `tracing::error!` (or only in
//! [`SessionFile::take_error`], for a driver with a report of its own), drops
//! what it cannot write, and the session ends with `"complete":false`. The
//! file ends in whole lines: a line the full disk cut is cut back out of
//! it (which frees room). At the end, its last lines are a `note` with
//! `"incomplete":true` and the `end`, numbered on from the last line written
//! (the header first, if none of it was); a file that takes not even those
//! keeps its whole lines without an `end`, and one that took nothing at all
//! is removed. (While lines stream in, a plain file's writes end on
//! multiples of 64 KiB of it, and its last line waits a moment for the
//! rest: see [`SessionFile::flush_gathered`].)
//!
//! The file is created when the session's name is known (a new framework
//! learns its id from the `SUBSCRIBED` event); lines recorded before that
//! wait in memory. Names follow `mesos_codec::session::create_file`'s rule:
//! the same framework twice in one millisecond is numbered, never
//! overwritten.
//!
//! [`Storage`] says how the session is stored (`mesos-proxy record
//! --rotate-size/--rotate-age/--compress`):
//!
//! - **Compressed** (`--compress zstd`): the file is
//!   `<id>-<stamp>.session.jsonl.zst`, and every batch written out is one
//!   zstd frame of whole lines, written whole: a SIGKILL loses at most the
//!   frame being written, every frame before it decompresses (`zstdcat`
//!   reads the file, and so does `mesos_codec::session::Reader`, which
//!   reports the cut frame as a torn last line).
//! - **Rotated** (`--rotate-size BYTES`, `--rotate-age DURATION`): once the
//!   part being written has reached the size (bytes in the file, compressed
//!   when compressed) or the age, it is closed after the batch that crossed
//!   the line and the session goes on in a new part: a new file named by the
//!   same rule (`create_file`, with the part's start time), whose header is
//!   the session's with `part` (2, 3, …) and `previous` (the name of the
//!   file before). Entries go on as they are numbered (`seq` and `t_ns` run
//!   on); only the last part has the `end`. A part is only cut between
//!   batches, so every part holds whole lines; an age is checked when lines
//!   come, so a quiet session is cut at its next batch.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mesos_codec::session::{End, Entry, EntryKind, Lines, Note};

/// Lines gathered before they are written out (they are written sooner when
/// the queue runs dry, so a follower of the file sees whole lines soon).
const BATCH_BYTES: usize = 64 * 1024;

/// Where a write ends when it need not end where the lines do
/// (`SessionFile::flush_aligned`): a multiple of 64 KiB of the file.
/// Appending to a file in the page cache costs the kernel two fifths more
/// when each write ends inside a 64 KiB block than when it ends on one
/// (ext4, kernel 6.18: writing 1 GiB in 64 KiB writes, 0.20–0.22 s of
/// system time; in writes of 64 KiB ± 1 234 B, or of 60 or 68 KiB, which
/// end on 4 KiB blocks but inside 64 KiB ones, 0.29–0.31 s; median of
/// six); a recorder writes every byte it forwards.
const WRITE_ALIGN: usize = 64 * 1024;

/// How a session is stored: compression and rotation (the default: one
/// plain file).
///
/// ```
/// use mesos_record::file::{Compression, Storage};
/// let storage = Storage { rotate_size: Some(64 << 20), compress: Some(Compression::Zstd), ..Storage::default() };
/// assert_eq!(storage.suffix(), ".session.jsonl.zst");
/// assert_eq!(Storage::default().suffix(), ".session.jsonl");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    /// Cut a part once its file holds this many bytes (`--rotate-size`).
    pub rotate_size: Option<u64>,
    /// Cut a part once it is this old (`--rotate-age`).
    pub rotate_age: Option<std::time::Duration>,
    /// Compress the files (`--compress`).
    pub compress: Option<Compression>,
}

/// How session files are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zstd frames, one per batch written (`.session.jsonl.zst`).
    Zstd,
}

/// The zstd level: zstd's default, fast enough for a proxy's batches.
pub const ZSTD_LEVEL: i32 = 3;

impl Storage {
    /// The end of the session files' names.
    pub fn suffix(&self) -> &'static str {
        match self.compress {
            None => ".session.jsonl",
            Some(Compression::Zstd) => ".session.jsonl.zst",
        }
    }
}

/// Reads a duration as `--rotate-age` takes it: a number and a unit, `s`,
/// `m`, `h` or `d` (`90s`, `30m`, `6h`, `1d`).
///
/// ```
/// use mesos_record::file::parse_age;
/// assert_eq!(parse_age("30m").unwrap().as_secs(), 1800);
/// assert_eq!(parse_age("1d").unwrap().as_secs(), 86_400);
/// assert!(parse_age("10").unwrap_err().contains("unit"));
/// assert!(parse_age("0h").is_err());
/// ```
pub fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("{text:?}: expected a number and a unit, as 6h"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "" => return Err(format!("{text:?}: no unit (s, m, h or d)")),
        other => return Err(format!("{text:?}: unknown unit {other:?} (s, m, h or d)")),
    };
    match number.checked_mul(seconds) {
        Some(0) => Err(format!("{text:?}: must be more than zero")),
        Some(secs) => Ok(std::time::Duration::from_secs(secs)),
        None => Err(format!("{text:?}: too long")),
    }
}

/// Reads a size as `--rotate-size` takes it: bytes, or with a unit `K`,
/// `M`, `G` (powers of 1024; `KiB`, `MiB`, `GiB` too).
///
/// ```
/// use mesos_record::file::parse_size;
/// assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
/// assert_eq!(parse_size("64M").unwrap(), 64 << 20);
/// assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
/// assert!(parse_size("0").is_err());
/// assert!(parse_size("12X").unwrap_err().contains("unit"));
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("{text:?}: expected a number of bytes, as 64M"))?;
    let shift = match unit {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => return Err(format!("{text:?}: unknown unit {other:?} (K, M or G)")),
    };
    match number.checked_mul(1 << shift) {
        Some(0) => Err(format!("{text:?}: must be more than zero")),
        Some(bytes) => Ok(bytes),
        None => Err(format!("{text:?}: too large")),
    }
}

/// A pause after each line written, in nanoseconds (tests of backpressure).
static SLOW_WRITE_NS: AtomicU64 = AtomicU64::new(0);

/// Makes every session writer of this process pause `per_line` after each
/// line (as many times as a batch of lines holds lines): a slow disk, for
/// the tests of backpressure.
#[doc(hidden)]
pub fn slow_down_for_tests(per_line: std::time::Duration) {
    SLOW_WRITE_NS.store(u64::try_from(per_line.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
}

/// A session's file and what is waiting to go to it (see the module's
/// doc). Nothing here blocks on anything but the file itself.
pub struct SessionFile {
    dir: PathBuf,
    stamp: String,
    header: Vec<u8>,
    /// The header's line, kept to begin a file none of whose bytes could be
    /// written before.
    header_line: Vec<u8>,
    label: String,
    /// Lines not written yet: before the file is named, and between flushes.
    buf: Vec<u8>,
    file: Option<std::fs::File>,
    path: Option<PathBuf>,
    failed: bool,
    /// Bytes of the file up to the end of its last whole line.
    whole: usize,
    /// Test hook: writes fail (once) when the file would pass this size.
    #[cfg(test)]
    budget: Option<usize>,
    /// Bytes written to the file.
    written: usize,
    /// Whole lines written to the file (the header's included): where a
    /// recovery after lost lines goes on numbering. Across parts: the
    /// first part's header and every entry written.
    lines: u64,
    /// Compression and rotation.
    storage: Storage,
    /// With `--compress zstd`: each batch becomes one frame.
    compressor: Option<zstd::bulk::Compressor<'static>>,
    /// The session's name, once known (the next part is named by it too).
    name: Option<String>,
    /// The part being written (1 for the first).
    part: u64,
    /// When the part being written was opened.
    part_opened: std::time::Instant,
    /// 64 KiB of lines or more were written out since the last
    /// [`flush_gathered`](Self::flush_gathered).
    streaming: bool,
    /// Nothing logged (the importer says what went wrong in its report).
    quiet: bool,
    /// The first failure, said (`cannot write PATH: ERROR`).
    error: Option<String>,
}

impl SessionFile {
    /// Names the session: its file is created (numbered if the name is
    /// taken) with what waited for it.
    pub fn open(&mut self, name: &str) {
        if self.file.is_some() || self.failed {
            return;
        }
        self.name = Some(name.to_owned());
        // The same framework twice in one millisecond: never overwrite, number it.
        let opened = self.create(name, &self.stamp.clone());
        match opened {
            Ok((file, path)) => {
                self.part_opened = std::time::Instant::now();
                if !self.quiet {
                    tracing::info!(session = %self.label, path = %path.display(), "session file opened");
                }
                // Only a file that exists is named in the session's summary.
                self.path = Some(path.clone());
                self.file = Some(file);
                let mut lines = std::mem::take(&mut self.header);
                lines.append(&mut self.buf);
                self.buf = lines;
            }
            Err(err) => self.fail(&err),
        }
    }

    /// Creates a file of the session by `create_file`'s rule, with the
    /// storage's suffix.
    fn create(&self, name: &str, stamp: &str) -> std::io::Result<(std::fs::File, PathBuf)> {
        let suffix = self.storage.suffix();
        let named = |path: &Path| {
            let mut path = path.as_os_str().to_owned();
            path.push(&suffix[".session.jsonl".len()..]);
            PathBuf::from(path)
        };
        let (file, path) = mesos_codec::session::create_file(&self.dir, name, stamp, |path| create(&named(path)))?;
        Ok((file, named(&path)))
    }

    /// After a batch: when the part has reached its size or age, closes it
    /// and goes on in the next part (see the module's doc).
    pub fn rotate_if_due(&mut self) {
        if self.failed || self.file.is_none() {
            return;
        }
        let by_size = self.storage.rotate_size.is_some_and(|size| self.written as u64 >= size);
        let by_age = self.storage.rotate_age.is_some_and(|age| self.part_opened.elapsed() >= age);
        if !(by_size || by_age) {
            return;
        }
        // The part ends with every line buffered, whole.
        self.flush();
        if self.failed || !self.buf.is_empty() {
            return;
        }
        let (Some(name), Some(previous)) = (self.name.clone(), self.path.clone()) else { return };
        let mut reader = mesos_codec::session::Reader::new();
        reader.push(&self.header_line);
        let Ok(Some(mesos_codec::session::Item::Header(mut header))) = reader.next_item() else { return };
        header.part = Some(self.part + 1);
        header.previous = previous.file_name().map(|n| n.to_string_lossy().into_owned());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stamp = mesos_codec::session::Utc::since_epoch(now).file_stamp();
        if let Some(file) = self.file.take()
            && let Err(err) = file.sync_all()
        {
            tracing::warn!(session = %self.label, path = %previous.display(), error = %err, "cannot sync a finished part");
        }
        match self.create(&name, &stamp) {
            Ok((file, path)) => {
                tracing::info!(
                    session = %self.label,
                    part = self.part + 1,
                    path = %path.display(),
                    previous = %previous.display(),
                    "session goes on in a new part"
                );
                self.part += 1;
                self.part_opened = std::time::Instant::now();
                self.file = Some(file);
                self.path = Some(path);
                self.written = 0;
                self.whole = 0;
                self.header_line = header.to_line();
                self.buf = self.header_line.clone();
                // The part's header is not an entry: lines count on as if
                // the session were one file.
                self.flush();
                self.lines -= u64::from(!self.failed);
            }
            Err(err) => {
                // The previous part stays as it is, whole lines without an `end`.
                self.path = Some(previous);
                self.fail(&err);
            }
        }
    }

    /// Adds a line (newline included) to what goes to the file.
    pub fn write_line(&mut self, line: &[u8]) {
        if self.failed {
            return;
        }
        self.buf.extend_from_slice(line);
        self.written(|| memchr::memchr_iter(b'\n', line).count());
    }

    /// [`write_line`](Self::write_line) of gathered lines, written out
    /// (their records escaped) straight into the buffer.
    pub fn write_lines(&mut self, lines: &Lines) {
        if self.failed {
            return;
        }
        lines.write_to(&mut self.buf);
        self.written(|| lines.entries());
    }

    /// [`write_line`](Self::write_line) of an entry's line, rendered
    /// straight into the buffer.
    pub fn write_entry(&mut self, entry: &Entry) {
        if self.failed {
            return;
        }
        entry.write_line(&mut self.buf);
        self.written(|| 1);
    }

    /// After lines went into the buffer: flush when it is full (or at once,
    /// when tests slow the disk down, pausing for each of the `lines`).
    fn written(&mut self, lines: impl FnOnce() -> usize) {
        let pause = SLOW_WRITE_NS.load(Ordering::Relaxed);
        if pause > 0 {
            self.flush();
            let lines = u32::try_from(lines()).unwrap_or(u32::MAX);
            std::thread::sleep(std::time::Duration::from_nanos(pause).saturating_mul(lines));
        } else if self.buf.len() >= BATCH_BYTES {
            self.flush_aligned();
            self.streaming = true;
        }
    }

    /// At the end of a gathering of lines (a writer's queue drained): when
    /// 64 KiB of lines or more came since the last gathering and were
    /// written out, the rest waits for the next gathering, a moment away
    /// (so that under load writes keep ending on 64 KiB of the file); when
    /// fewer came, everything is written. Whatever waits is written by the
    /// next gathering, or by [`flush`](Self::flush).
    pub fn flush_gathered(&mut self) {
        if !std::mem::take(&mut self.streaming) {
            self.flush();
        }
    }

    /// Writes out what is buffered (once the file is open): one batch
    /// (one zstd frame, compressed). Lines are also written out whenever
    /// 64 KiB have gathered (up to the last multiple of 64 KiB of the file).
    pub fn flush(&mut self) {
        self.write_out(self.buf.len());
    }

    /// Writes out what is buffered up to the last multiple of 64 KiB of the
    /// file ([`WRITE_ALIGN`]), when there is one: the rest, the start of a
    /// line perhaps, waits for the next write (until then the file's last
    /// line is cut short, as a follower reading a file being written may
    /// always find it). Compressed, everything (a batch is one frame of
    /// whole lines).
    fn flush_aligned(&mut self) {
        if self.compressor.is_some() {
            return self.flush();
        }
        let end = (self.written + self.buf.len()) / WRITE_ALIGN * WRITE_ALIGN;
        if end > self.written {
            self.write_out(end - self.written);
        }
    }

    /// Writes out the first `upto` bytes buffered (compressed, the callers
    /// ask for all of them: a frame is whole lines); the rest stays
    /// buffered.
    fn write_out(&mut self, upto: usize) {
        if self.failed || self.file.is_none() || self.buf.is_empty() {
            return;
        }
        let mut buf = std::mem::take(&mut self.buf);
        let upto = upto.min(buf.len());
        // Compressed, the batch is one frame, which only counts once whole.
        let frame = match self.compressor.as_mut().map(|c| c.compress(&buf[..upto])) {
            None => None,
            Some(Ok(frame)) => Some(frame),
            Some(Err(err)) => return self.fail(&err),
        };
        let data = frame.as_deref().unwrap_or(&buf[..upto]);
        let mut pos = 0;
        while pos < data.len() {
            match self.write_some(&data[pos..]) {
                Ok(0) => {
                    self.cut_torn_line();
                    return self.fail(&std::io::Error::from(std::io::ErrorKind::WriteZero));
                }
                Ok(n) => {
                    let part = &data[pos..pos + n];
                    pos += n;
                    if frame.is_none() {
                        self.lines += memchr::memchr_iter(b'\n', part).count() as u64;
                        if let Some(last) = memchr::memrchr(b'\n', part) {
                            self.whole = self.written + last + 1;
                        }
                    } else if pos == data.len() {
                        self.lines += memchr::memchr_iter(b'\n', &buf[..upto]).count() as u64;
                        self.whole = self.written + n;
                    }
                    self.written += n;
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.cut_torn_line();
                    return self.fail(&err);
                }
            }
        }
        buf.drain(..upto);
        self.buf = buf;
    }

    fn write_some(&mut self, data: &[u8]) -> std::io::Result<usize> {
        #[cfg(test)]
        if let Some(budget) = self.budget {
            let room = budget.saturating_sub(self.written);
            if room == 0 {
                self.budget = None;
                return Err(std::io::Error::other("no space left on the test's device"));
            }
            let n = data.len().min(room);
            return self.file.as_mut().map_or(Ok(0), |f| f.write(&data[..n]));
        }
        self.file.as_mut().map_or(Ok(0), |f| f.write(data))
    }

    /// After a failed write: cuts the file back to its last whole line, so
    /// that it reads whatever happens next (a line cut by a full disk is
    /// lost, not left torn), and the bytes freed make room for the note
    /// and the `end` that say so.
    fn cut_torn_line(&mut self) {
        if self.written > self.whole
            && let Some(file) = &self.file
            && file.set_len(self.whole as u64).is_ok()
        {
            use std::io::Seek;
            if let Some(file) = self.file.as_mut() {
                let _ = file.seek(std::io::SeekFrom::Start(self.whole as u64));
            }
            self.written = self.whole;
        }
    }

    /// Writes the recovery lines (one frame, compressed) and syncs.
    fn write_tail(&mut self, tail: &[u8]) -> std::io::Result<()> {
        let frame = match self.compressor.as_mut() {
            Some(compressor) => Some(compressor.compress(tail)?),
            None => None,
        };
        let tail = frame.as_deref().unwrap_or(tail);
        let mut pos = 0;
        while pos < tail.len() {
            match self.write_some(&tail[pos..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    pos += n;
                    self.written += n;
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        self.whole = self.written;
        self.file.as_ref().map_or(Ok(()), std::fs::File::sync_all)
    }

    fn fail(&mut self, err: &std::io::Error) {
        if !self.failed {
            self.failed = true;
            self.buf = Vec::new();
            let path = self.path.as_deref().map(Path::display).map(|p| p.to_string()).unwrap_or_default();
            self.error = Some(format!("cannot write {path}: {err}"));
            if self.quiet {
                return;
            }
            tracing::error!(
                session = %self.label,
                %path,
                error = %err,
                "CANNOT WRITE THE SESSION FILE: traffic is still forwarded, but this session is INCOMPLETE from here on"
            );
        }
    }

    /// The end of the session: the `end` entry (`complete` unless the
    /// recorder knows it lost something, or lines were lost here: then
    /// after a `note` saying so, when the file takes writes again), flushed
    /// and synced; whether every line was written.
    pub fn finish(&mut self, seq: u64, t_ns: u64, complete: bool) -> bool {
        self.open("unknown");
        self.flush();
        if !self.failed {
            let end = Entry { seq, t_ns, conn: 0, kind: EntryKind::End(End { entries: seq, complete }) };
            self.write_line(&end.to_line());
            self.flush();
        } else if let Some(file) = self.file.take() {
            // Lines were lost: try to say so in the file itself, so that it
            // reads: the torn line finished, or the header if none of it was
            // written, then a note and the end, numbered on from the last
            // line that made it (issue 18: they took the session's count,
            // leaving a gap the reader refuses).
            let note = Note {
                message: "the recorder could not write part of this session to its file; entries are missing"
                    .to_owned(),
                refers: None,
                incomplete: true,
            };
            let mut tail = Vec::new();
            let mut lines = self.lines;
            if self.written == 0 {
                tail = self.header_line.clone();
                if self.part == 1 {
                    lines = 1;
                }
            }
            let next = lines.saturating_sub(1);
            tail.extend(Entry { seq: next, t_ns, conn: 0, kind: EntryKind::Note(note) }.to_line());
            let end = End { entries: next + 1, complete: false };
            tail.extend(Entry { seq: next + 1, t_ns, conn: 0, kind: EntryKind::End(end) }.to_line());
            self.file = Some(file);
            match self.write_tail(&tail) {
                Ok(()) if self.quiet => {}
                Ok(()) => tracing::warn!(session = %self.label, "the session file says it is incomplete"),
                Err(_) if self.written == 0 => {
                    // Not one byte of it: no empty file is left behind.
                    self.file = None;
                    if let Some(path) = self.path.take() {
                        let _ = std::fs::remove_file(&path);
                        if !self.quiet {
                            tracing::error!(session = %self.label, path = %path.display(), "nothing of the session could be written: its file is removed");
                        }
                    }
                }
                // The file stays as it was: whole lines, without an `end`
                // (a reader sees a session cut short).
                Err(_) => self.cut_torn_line(),
            }
            self.file = None;
            return false;
        }
        if let Some(file) = self.file.take() {
            if let Err(err) = file.sync_all() {
                self.fail(&err);
            }
        }
        !self.failed
    }
}

fn create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

impl SessionFile {
    /// The file of a session that goes to `dir`, named with `stamp` (the
    /// session's start, `Utc::file_stamp`) once it is [named](Self::open),
    /// beginning with `header` (its line), stored as `storage` says;
    /// failures are logged with `label` (the session's, for the log).
    ///
    /// ```
    /// use mesos_codec::session::{Entry, EntryKind, Header, Note, Source};
    /// use mesos_record::file::{SessionFile, Storage};
    ///
    /// let dir = std::env::temp_dir().join(format!("mesos-record-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let header = Header::new(Source::Sim, "2026-12-05T18:00:00Z").to_line();
    /// let mut file = SessionFile::new(dir.clone(), "20261205T180000.000Z".into(), header, "#1".into(), Storage::default());
    /// let note = Note { message: "hello".into(), refers: None, incomplete: false };
    /// // Lines wait in memory until the session has a name.
    /// file.write_entry(&Entry { seq: 0, t_ns: 5, conn: 1, kind: EntryKind::Note(note) });
    /// file.open("fw/1");
    /// assert!(file.finish(1, 9, true));
    /// let path = file.path().unwrap();
    /// assert_eq!(path, dir.join("fw_1-20261205T180000.000Z.session.jsonl"));
    /// assert_eq!(std::fs::read_to_string(path).unwrap().lines().count(), 3);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn new(dir: PathBuf, stamp: String, header: Vec<u8>, label: String, storage: Storage) -> SessionFile {
        let mut file = SessionFile {
            dir,
            stamp,
            header_line: header.clone(),
            header,
            label,
            buf: Vec::new(),
            file: None,
            path: None,
            failed: false,
            whole: 0,
            #[cfg(test)]
            budget: None,
            written: 0,
            lines: 0,
            storage: Storage::default(),
            compressor: None,
            name: None,
            part: 1,
            part_opened: std::time::Instant::now(),
            streaming: false,
            quiet: false,
            error: None,
        };
        if storage.compress == Some(Compression::Zstd) {
            match zstd::bulk::Compressor::new(ZSTD_LEVEL).and_then(|mut c| {
                c.include_checksum(true)?;
                Ok(c)
            }) {
                Ok(compressor) => file.compressor = Some(compressor),
                Err(err) => file.fail(&err),
            }
        }
        file.storage = storage;
        file
    }

    /// [`new`](Self::new), plain, with nothing logged: for a driver that
    /// says what failed in its own report ([`take_error`](Self::take_error)), as the
    /// capture importer does.
    pub fn quiet(dir: PathBuf, stamp: String, header: Vec<u8>) -> SessionFile {
        SessionFile { quiet: true, ..SessionFile::new(dir, stamp, header, String::new(), Storage::default()) }
    }

    /// The file, once the session is named.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The first failure (`cannot write PATH: ERROR`), if the file failed
    /// and it was not taken before (a driver reports it once).
    pub fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    /// Whether the file failed: what is written from now on is dropped.
    pub fn has_failed(&self) -> bool {
        self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp_dir(name: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        std::env::temp_dir().join(format!("mesos-record-file-{name}-{}-{nanos}", std::process::id()))
    }

    fn named(dir: &Path, budget: usize) -> SessionFile {
        let mut file = SessionFile::new(dir.to_owned(), "S".into(), b"H\n".to_vec(), "#1".into(), Storage::default());
        file.budget = Some(budget);
        file.open("fw");
        file
    }

    #[test]
    fn lines_lost_on_a_full_disk_end_with_an_incomplete_note() {
        let dir = stamp_dir("full");
        std::fs::create_dir_all(&dir).unwrap();
        // The disk fills up in the middle of the second line, then has room again.
        let mut file = named(&dir, 5);
        file.write_line(b"a\n");
        file.flush();
        file.write_line(b"bbbb\n");
        file.flush();
        file.write_line(b"c\n");
        assert!(!file.finish(3, 9, true));
        let text = std::fs::read_to_string(file.path().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let lines: Vec<&str> = text.lines().collect();
        // The line the full disk cut is cut back (lost, not left torn), so
        // every line reads; the note and the end number on from the last
        // line that made it (issue 18: they took the session's count,
        // leaving a gap the reader refuses).
        assert_eq!(&lines[..2], ["H", "a"], "{text}");
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[2].contains(r#""kind":"note""#) && lines[2].contains(r#""incomplete":true"#), "{text}");
        assert!(lines[2].contains(r#""seq":1"#), "{text}");
        assert_eq!(lines[3], r#"{"seq":2,"t_ns":9,"conn":0,"kind":"end","entries":2,"complete":false}"#);
    }

    /// Compressed, a frame the full disk cut counts none of its lines: the
    /// note and the end number on from the last whole frame.
    #[test]
    fn a_frame_cut_by_a_full_disk_counts_none_of_its_lines() {
        let dir = stamp_dir("full-zst");
        std::fs::create_dir_all(&dir).unwrap();
        let storage = Storage { compress: Some(Compression::Zstd), ..Storage::default() };
        let mut file = SessionFile::new(dir.clone(), "S".into(), b"H\n".to_vec(), "#1".into(), storage);
        file.open("fw");
        file.write_line(b"a\n");
        file.flush();
        // The disk fills up in the middle of the next frame (two lines).
        file.budget = Some(file.written + 3);
        file.write_line(b"b\nc\n");
        file.flush();
        assert!(!file.finish(4, 9, true));
        let bytes = std::fs::read(file.path().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8(zstd::stream::decode_all(&bytes[..]).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(&lines[..2], ["H", "a"], "{text}");
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[2].contains(r#""seq":1"#) && lines[2].contains(r#""incomplete":true"#), "{text}");
        assert_eq!(lines[3], r#"{"seq":2,"t_ns":9,"conn":0,"kind":"end","entries":2,"complete":false}"#);
    }

    /// Issue 18: where not even the header could be written, the recovered
    /// file begins with it.
    #[test]
    fn a_file_whose_header_was_lost_gets_it_back() {
        let dir = stamp_dir("headless");
        std::fs::create_dir_all(&dir).unwrap();
        let mut file = named(&dir, 0);
        file.write_line(b"a\n");
        file.flush();
        assert!(!file.finish(1, 9, true));
        let text = std::fs::read_to_string(file.path().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "H", "{text}");
        assert!(lines[1].contains(r#""seq":0"#) && lines[1].contains(r#""incomplete":true"#), "{text}");
        assert_eq!(lines[2], r#"{"seq":1,"t_ns":9,"conn":0,"kind":"end","entries":1,"complete":false}"#);
    }

    /// Lines of 50 to 149 bytes, numbered.
    fn line(i: usize) -> Vec<u8> {
        let mut line = format!("{i:06} ").into_bytes();
        line.resize(50 + i * 37 % 100, b'x');
        line.push(b'\n');
        line
    }

    #[test]
    fn gathered_lines_are_written_to_the_last_64_kib_of_the_file_and_the_rest_when_flushed() {
        let dir = stamp_dir("aligned");
        std::fs::create_dir_all(&dir).unwrap();
        let mut file = named(&dir, usize::MAX);
        let mut want = b"H\n".to_vec();
        let on_disk = |file: &SessionFile| std::fs::metadata(file.path().unwrap()).unwrap().len() as usize;
        let mut sizes = Vec::new();
        for i in 0..3000 {
            file.write_line(&line(i));
            want.extend(line(i));
            let size = on_disk(&file);
            assert_eq!(size % WRITE_ALIGN, 0, "line {i}: {size} bytes written");
            assert_eq!(size + file.buf.len(), want.len(), "line {i}");
            sizes.push(size);
        }
        assert!(sizes.last() >= Some(&(2 * WRITE_ALIGN)), "{:?}", sizes.last());
        file.flush();
        assert_eq!(std::fs::read(file.path().unwrap()).unwrap(), want);
        assert!(file.finish(3000, 9, true));
        let text = std::fs::read_to_string(file.path().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text.lines().count(), 3002);
    }

    /// The end of a gathering writes everything, unless 64 KiB of lines
    /// came in it: then the rest waits for the next gathering.
    #[test]
    fn a_gathering_of_64_kib_leaves_its_last_line_to_the_next() {
        let dir = stamp_dir("gathered");
        std::fs::create_dir_all(&dir).unwrap();
        let mut file = named(&dir, usize::MAX);
        let on_disk = |file: &SessionFile| std::fs::metadata(file.path().unwrap()).unwrap().len() as usize;
        file.write_line(&line(0));
        file.flush_gathered();
        assert_eq!((on_disk(&file), file.buf.len()), (2 + line(0).len(), 0), "a few lines: all written");
        let mut i = 1;
        while on_disk(&file) < WRITE_ALIGN {
            file.write_line(&line(i));
            i += 1;
        }
        file.write_line(&line(i));
        file.flush_gathered();
        assert_eq!(on_disk(&file), WRITE_ALIGN, "64 KiB came: the rest waits");
        assert!(!file.buf.is_empty());
        file.write_line(&line(i + 1));
        file.flush_gathered();
        assert!(file.buf.is_empty(), "a few lines more: all written");
        let text = std::fs::read_to_string(file.path().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(text.lines().count(), i + 3);
        assert!(text.ends_with('\n'));
    }

    /// A disk that fills up inside a line a 64 KiB write cut: the file is
    /// cut back to its last whole line and numbers on from there.
    #[test]
    fn a_full_disk_inside_an_aligned_write_cuts_back_to_a_whole_line() {
        let dir = stamp_dir("aligned-full");
        std::fs::create_dir_all(&dir).unwrap();
        let mut file = named(&dir, WRITE_ALIGN + 5000);
        for i in 0..2000 {
            file.write_line(&line(i));
        }
        assert!(file.has_failed());
        assert!(!file.finish(2000, 9, true));
        let text = std::fs::read_to_string(file.path().unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let lines: Vec<&str> = text.lines().collect();
        let entries = lines.len() - 3;
        assert!(entries > WRITE_ALIGN / 150 && entries < (WRITE_ALIGN + 5000) / 50, "{entries}");
        for (i, got) in lines[1..=entries].iter().enumerate() {
            assert_eq!(format!("{got}\n").as_bytes(), line(i), "line {}", i + 1);
        }
        let note = lines[entries + 1];
        assert!(note.contains(&format!(r#""seq":{entries},"#)) && note.contains(r#""incomplete":true"#), "{note}");
    }

    #[test]
    fn a_file_that_cannot_be_created_fails_once_and_ends_incomplete() {
        let dir = stamp_dir("missing"); // never created: the file cannot be opened
        let mut file = SessionFile::quiet(dir, "S".into(), b"H\n".to_vec());
        file.open("fw");
        file.write_line(b"x\n");
        assert!(file.has_failed());
        let error = file.take_error().unwrap();
        assert!(error.starts_with("cannot write"), "{error}");
        assert_eq!(file.take_error(), None);
        assert!(!file.finish(1, 9, true));
        assert_eq!(file.path(), None);
    }
}
