//! The recording core alone, an event at a time, without sockets: what the
//! recorder does with each event of a stream besides forwarding it, beside
//! the same recording done with serde_json in the same run.
//!
//! ```text
//! cargo bench --bench record_core     # about half a minute
//! ```
//!
//! The streams are `proxy_vs_nginx`'s (`support/streams.rs`: the mix of a
//! real master's records, the hand-made mix of the runs before, 200 B
//! and 4 KiB UPDATEs), one RecordIO record a chunk as a master writes them.
//! Each batch of [`BATCH`] chunks goes through the core in the proxy's
//! order, each step timed over the batch (median of the runs' ns an event):
//!
//! - **tap**: [`EventTap::chunk`] on each chunk (the RecordIO framing; the
//!   heading walk, which reads the event's type and first framework id,
//!   stepping over the objects and arrays that cannot hold one by their
//!   brackets; the record copied into its entry);
//! - **book**: [`Book::record_event`] (numbering; the redaction's check for a
//!   `Secret`) and [`Lines::push_event`] (the event's fields kept, its record
//!   copied as it is, for the writer to write its line), then the batch's
//!   events given back to the tap ([`EventTap::recycle`]): the rest of
//!   what the proxy's stream lane does for an event;
//! - **writer**: [`Lines::write_to`] (each line written whole, its record
//!   escaped): what the session writer's thread does before the file's
//!   `write`.
//!
//! The baseline, **serde_json**: the same recording by the obvious means, an
//! event's syntax checked by `serde_json::from_slice::<IgnoredAny>` and its
//! line (the same keys, the record escaped) written by `serde_json`'s
//! serializer (it checks more of a record than the heading walk, which
//! does not look inside what it steps over). The last column is ours (all
//! three steps) ÷ serde_json's: lower is better. Every run checks that it wrote a line for each event.
//!
//! Under callgrind (instructions, exact and unmoved by a noisy machine):
//!
//! ```text
//! cargo bench --bench record_core --no-run      # prints the executable's path
//! for n in 10000 20000; do
//!   RECORD_CORE_RUNS=1 RECORD_CORE_STREAMS=mix RECORD_CORE_BASELINE=0 RECORD_CORE_EVENTS=$n \
//!     valgrind --tool=callgrind --callgrind-out-file=/tmp/core.$n EXECUTABLE --bench
//!   callgrind_annotate --inclusive=yes /tmp/core.$n | grep -E 'EventTap::chunk|peek_heading|Book::record_event|Lines::(push_event|write_to)|TOTALS'
//! done
//! ```
//!
//! A run goes over the stream twice (the warm-up, then one run): a step's
//! instructions an event are the difference between the two files divided
//! by 2 × 10 000, so that the one-time set-up (the schema, the stream)
//! falls out. `RECORD_CORE_EVENTS` sets the events (the streams' defaults
//! are 100 000, 100 000 and 25 000). `cargo test --benches` runs it once
//! with few events, as a smoke test.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use mesos_codec::api::{Api, Encoding};
use mesos_codec::session::{Lines, Source};
use mesos_record::{Book, EventTap, Tapped};
use serde::Serialize;

#[path = "support/streams.rs"]
mod streams;

/// The allocator of `mesos-proxy`'s binary (its `main` says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Chunks a batch: the most a proxy relay hands over at once.
const BATCH: usize = mesos_proxy::tee::BATCH_FRAMES;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A stream's chunks: SUBSCRIBED, then the records in turn, each one
/// RecordIO record.
fn chunks(records: &[String], events: usize) -> Vec<Bytes> {
    let subscribed = streams::subscribed().record;
    (0..events)
        .map(|n| {
            let record = if n == 0 { subscribed.as_str() } else { records[(n - 1) % records.len()].as_str() };
            Bytes::from(format!("{}\n{record}", record.len()))
        })
        .collect()
}

/// ns an event in each step of one run.
#[derive(Clone, Copy, Default)]
struct Steps {
    tap: f64,
    book: f64,
    writer: f64,
}

/// One run of the core over `chunks`.
fn ours(chunks: &[Bytes]) -> Steps {
    use mesos_proxy::session::{BATCH_ENTRIES, BATCH_LINES};
    let mut tap = EventTap::new(1, Api::Scheduler, Some(Encoding::Json), false);
    let mut book = Book::new(Source::Proxy, false);
    let message = Some(tap.message());
    let (mut tapped, mut out) = (Vec::new(), Vec::new());
    // The lines being gathered, and the batches of them handed to the
    // writer, as the proxy's session gathers and hands them
    // (`Session::record_events`): at `BATCH_LINES` bytes or
    // `BATCH_ENTRIES` entries, and what is left at the end of the relay's
    // batch; each new batch reserving the room of the largest so far.
    let (mut lines, mut handed, mut room) = (Lines::default(), Vec::new(), 0);
    let mut hand_over = |lines: &mut Lines, handed: &mut Vec<Lines>| {
        room = room.max(lines.len()).min(2 * BATCH_LINES);
        handed.push(std::mem::take(lines));
        lines.reserve(room, BATCH_ENTRIES);
    };
    let (mut tap_ns, mut book_ns, mut writer_ns) = (0, 0, 0);
    let mut written = 0;
    for (b, batch) in chunks.chunks(BATCH).enumerate() {
        let start = Instant::now();
        for chunk in batch {
            tap.chunk(chunk, &mut tapped);
        }
        let tapped_at = Instant::now();
        for t in &mut tapped {
            let Tapped::Event(event) = t else { panic!("every record reads: {t:?}") };
            let numbered = book.record_event(1, b as u64, event, message).expect("recorded");
            lines.push_event(numbered.seq, numbered.t_ns, numbered.conn, event);
            if let Some(note) = &numbered.note {
                lines.push(note);
            }
            if lines.len() >= BATCH_LINES || lines.entries() >= BATCH_ENTRIES {
                hand_over(&mut lines, &mut handed);
            }
        }
        tap.recycle(&mut tapped);
        if !lines.is_empty() {
            hand_over(&mut lines, &mut handed);
        }
        let booked_at = Instant::now();
        for lines in handed.drain(..) {
            lines.write_to(&mut out);
        }
        let written_at = Instant::now();
        written += memchr::memchr_iter(b'\n', &out).count();
        black_box(&out);
        out.clear();
        tap_ns += (tapped_at - start).as_nanos();
        book_ns += (booked_at - tapped_at).as_nanos();
        writer_ns += (written_at - booked_at).as_nanos();
    }
    assert_eq!(written, chunks.len(), "a line for every event");
    let per = |ns: u128| ns as f64 / chunks.len() as f64;
    Steps { tap: per(tap_ns), book: per(book_ns), writer: per(writer_ns) }
}

/// An event's line as the baseline writes it: the same keys in the same
/// order as ours.
#[derive(Serialize)]
struct Line<'a> {
    seq: u64,
    t_ns: u64,
    conn: u64,
    kind: &'static str,
    stream: u64,
    record: &'a str,
    event: &'a str,
    format: &'static str,
}

/// One run of the baseline over `chunks`: ns an event.
fn serde_json_recorder(chunks: &[Bytes]) -> f64 {
    let mut out = Vec::new();
    let start = Instant::now();
    for (seq, chunk) in chunks.iter().enumerate() {
        let newline = memchr::memchr(b'\n', chunk).expect("a RecordIO header");
        let record = &chunk[newline + 1..];
        serde_json::from_slice::<serde::de::IgnoredAny>(record).expect("well-formed");
        let record = std::str::from_utf8(record).expect("UTF-8");
        let line = Line {
            seq: seq as u64,
            t_ns: 0,
            conn: 1,
            kind: "event",
            stream: 1,
            record,
            event: "UPDATE",
            format: "json",
        };
        serde_json::to_writer(&mut out, &line).expect("written");
        out.push(b'\n');
        if seq % BATCH == BATCH - 1 {
            black_box(&out);
            out.clear();
        }
    }
    black_box(&out);
    start.elapsed().as_nanos() as f64 / chunks.len() as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // one short run, as a smoke test.
    let bench = std::env::args().any(|a| a == "--bench");
    let scale = |n: usize| if bench { n } else { n / 100 };
    let runs = env("RECORD_CORE_RUNS", if bench { 7 } else { 1 });
    let baseline = env("RECORD_CORE_BASELINE", 1) != 0;
    let wanted = std::env::var("RECORD_CORE_STREAMS").ok();
    let streams = [
        ("mix", streams::mix(), scale(100_000)),
        ("made mix", streams::made_mix(), scale(100_000)),
        ("200 B", vec![streams::update_of(200)], scale(100_000)),
        ("4 KiB", vec![streams::update_of(4096)], scale(25_000)),
    ];
    println!("the recording core, ns an event (medians of {runs} runs; lower is better)");
    println!(
        "{:<8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12} {:>10}",
        "records", "events", "tap", "book", "writer", "ours", "serde_json", "÷ serde"
    );
    for (name, records, events) in streams {
        if wanted.as_deref().is_some_and(|w| !w.split(',').any(|w| w == name)) {
            continue;
        }
        let chunks = chunks(&records, env("RECORD_CORE_EVENTS", events).max(2));
        // A warm-up of each, then the runs taking turns.
        ours(&chunks);
        if baseline {
            serde_json_recorder(&chunks);
        }
        let (mut steps, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            steps.push(ours(&chunks));
            if baseline {
                theirs.push(serde_json_recorder(&chunks));
            }
        }
        let step = |f: fn(&Steps) -> f64| median(steps.iter().map(f).collect());
        let total = step(|s| s.tap + s.book + s.writer);
        let theirs = if baseline { median(theirs) } else { f64::NAN };
        println!(
            "{name:<8} {:>8} {:>8.0} {:>8.0} {:>8.0} {total:>8.0} {theirs:>12.0} {:>10.2}",
            chunks.len(),
            step(|s| s.tap),
            step(|s| s.book),
            step(|s| s.writer),
            total / theirs
        );
    }
}
