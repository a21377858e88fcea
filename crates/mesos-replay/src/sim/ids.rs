//! Deterministic identifiers and chance: every id the simulated master
//! chooses, and every random choice it makes (the order its allocator
//! visits agents in), is a function of `--seed` and a counter, never of
//! the clock. `mesos-replay sim` draws a fresh seed at every start unless
//! `--seed` is given (a real master has a fresh id at every start), and
//! prints it so a run can be repeated.

/// The kinds of UUIDs the master makes, each its own sequence.
#[derive(Clone, Copy, Debug)]
pub enum UuidKind {
    /// The master's own id (the prefix of framework, agent and offer ids).
    Master = 0,
    /// A subscription's `Mesos-Stream-Id`.
    Stream = 1,
    /// A status update's `uuid`.
    Status = 2,
    /// A task's container (`container_status.container_id`).
    Container = 3,
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

/// A small deterministic generator (splitmix64), seeded from `--seed`.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(splitmix64(seed ^ 0x6a09_e667_f3bc_c908))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix64(self.0)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for shuffling agents.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Shuffles `items` (Fisher-Yates), as the allocator's
    /// `std::random_shuffle` does the candidate agents.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A seed nobody chose: from the process's random hash keys and the clock.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.finish()
}
