//! Deterministic identifiers: every id the simulated master chooses is a
//! function of `--seed` and a counter, never of the clock or of chance.

/// The kinds of UUIDs the master makes, each its own sequence.
#[derive(Clone, Copy, Debug)]
pub enum UuidKind {
    /// The master's own id (the prefix of framework, agent and offer ids).
    Master = 0,
    /// A subscription's `Mesos-Stream-Id`.
    Stream = 1,
    /// A status update's `uuid`.
    Status = 2,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The `n`th UUID of a kind, for a seed: 16 bytes shaped as a version 4 UUID.
///
/// ```
/// use mesos_replay::sim::ids::{uuid_bytes, UuidKind};
/// assert_eq!(uuid_bytes(7, UuidKind::Status, 0), uuid_bytes(7, UuidKind::Status, 0));
/// assert_ne!(uuid_bytes(7, UuidKind::Status, 0), uuid_bytes(7, UuidKind::Status, 1));
/// ```
pub fn uuid_bytes(seed: u64, kind: UuidKind, n: u64) -> [u8; 16] {
    let base = splitmix64(seed ^ splitmix64((kind as u64) << 56 ^ n));
    let hi = splitmix64(base);
    let lo = splitmix64(base ^ 0x5555_5555_5555_5555);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&hi.to_be_bytes());
    out[8..].copy_from_slice(&lo.to_be_bytes());
    out[6] = (out[6] & 0x0f) | 0x40;
    out[8] = (out[8] & 0x3f) | 0x80;
    out
}

/// The canonical text form (`8-4-4-4-12` lowercase hex) of a UUID.
///
/// ```
/// use mesos_replay::sim::ids::uuid_string;
/// assert_eq!(uuid_string(&[0xab; 16]), "abababab-abab-abab-abab-abababababab");
/// ```
pub fn uuid_string(bytes: &[u8; 16]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}
