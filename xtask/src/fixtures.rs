//! `cargo xtask fixtures`: the seed walkthrough fixtures.
//!
//! `fixtures/seed/walkthrough/` holds the seed article's JSON files exactly as
//! the article printed them (copied from `../shared/seed/walkthrough` when that
//! folder is beside the checkout). `fixtures/seed/events.recordio` is the
//! article's event stream rebuilt from them: every `event-*.json`, in file name
//! order (the article's order), trailing whitespace trimmed, framed as RecordIO
//! records. A test in `tests/fixtures.rs` rebuilds it the same way and fails
//! when the checked-in stream drifts.

use std::path::Path;

use anyhow::{Context, Result};
use bytes::BytesMut;

pub fn run(root: &Path) -> Result<()> {
    let seed = root.join("../shared/seed/walkthrough");
    let walkthrough = root.join("fixtures/seed/walkthrough");
    std::fs::create_dir_all(&walkthrough)?;
    if seed.is_dir() {
        for entry in std::fs::read_dir(&seed)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path.file_name().context("file name")?;
                std::fs::write(walkthrough.join(name), crate::read(&path)?)?;
            }
        }
        println!("copied the seed walkthrough from {}", seed.display());
    } else {
        println!("{} not found: keeping the JSON files already in fixtures/seed/walkthrough", seed.display());
    }

    let stream = events_stream(&walkthrough)?;
    let out = root.join("fixtures/seed/events.recordio");
    std::fs::write(&out, &stream).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {} ({} bytes)", out.display(), stream.len());
    Ok(())
}

/// The seed's events, in file name order, as one RecordIO stream.
fn events_stream(walkthrough: &Path) -> Result<BytesMut> {
    let mut names: Vec<_> = std::fs::read_dir(walkthrough)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("event-") && n.ends_with(".json"))
        })
        .collect();
    names.sort();
    let mut stream = BytesMut::new();
    for path in names {
        let json = crate::read(&path)?;
        let record = json.trim_ascii_end();
        // RecordIO: the size in decimal, a newline, the bytes. Written here
        // rather than with mesos-codec, so that xtask builds even when the
        // codec does not (see `cargo xtask schema`).
        stream.extend_from_slice(format!("{}\n", record.len()).as_bytes());
        stream.extend_from_slice(record);
    }
    Ok(stream)
}
