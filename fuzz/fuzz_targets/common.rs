//! Shared by the fuzz targets: picking a message type, cutting input into
//! chunks from the input's own bytes, and telling a written document that
//! is not JSON.

#![allow(dead_code)]

use mesos_codec::schema::MessageId;

/// The v1 API message types the codec is fed from the wire.
pub const TYPES: [&str; 10] = [
    "scheduler.Call",
    "scheduler.Event",
    "scheduler.Response",
    "executor.Call",
    "executor.Event",
    "master.Call",
    "master.Response",
    "master.Event",
    "agent.Call",
    "agent.Response",
];

/// A message type chosen by `selector`.
pub fn message(selector: u8) -> MessageId {
    mesos_codec::json::message_type(TYPES[usize::from(selector) % TYPES.len()]).expect("a v1 type")
}

/// `data` split into `[head, rest]`: the first byte (0 if none) and the rest.
pub fn split_first(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&first, rest)) => (first, rest),
        None => (0, data),
    }
}

/// Cut points for `len` bytes, from `seed` (up to 8 of them, sorted).
pub fn cuts(seed: &[u8], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = seed.iter().take(8).map(|&b| usize::from(b) * (len + 1) / 256).collect();
    cuts.sort_unstable();
    cuts
}

/// `data` cut at `cuts` (empty pieces included).
pub fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.min(data.len()).max(start);
        out.push(&data[start..cut]);
        start = cut;
    }
    out.push(&data[start..]);
    out
}

/// A NaN is written bare, as a 1.11 master writes it (rapidjson), which is
/// not JSON: neither the master's parser nor ours (nor serde_json) reads it
/// back (docs/mesos-json.md), so such a document has no round trip to
/// check, and its fields cannot be read back to compare.
pub fn nan(json: &[u8]) -> bool {
    json.windows(4).any(|w| w == b":NaN" || w == b",NaN" || w == b"[NaN")
}
