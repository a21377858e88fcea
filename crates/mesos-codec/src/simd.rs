//! Sixteen bytes at a time with SSSE3, chosen at run time: the session
//! writer's string escape, and the session reader's undoing of it. The
//! crate's one module with `unsafe` code (the loads and stores of the
//! vector registers), each use next to the bounds check that makes it
//! sound.
//!
//! A session line holds each event's record as a JSON string, and a JSON
//! record has a quote every few bytes, so the escape spends its time on
//! stops, not on plain runs. [`swar`](crate::swar)'s word masks find the
//! stops eight bytes at a time but still write them one by one. Here a
//! block's quotes and backslashes are escaped together: each half of the
//! block is spread out by one shuffle whose pattern a 256-entry table
//! gives for the half's stops (a backslash in front of each), and stored
//! whole. Measured on the mix of master events (`docs/performance.md`,
//! sixth run): 0.10 µs an event against the word masks' 0.44 µs; 0.20 µs
//! against 1.01 µs for a 745 B OFFERS record. A block with a control
//! character (not in a master's compact JSON) is escaped byte by byte.
//!
//! The reader's usual run, plain bytes and `\"`s, is undone the other way:
//! each half's backslashes dropped by one shuffle from a 256-entry table
//! ([`unescape_run`]).
//!
//! Elsewhere (no SSSE3, or not x86-64) these take nothing and the callers'
//! word masks ([`swar`](crate::swar)) do the whole string.
//!
//! And the JSON lexer's step over a long plain run in a string
//! ([`plain_blocks`]), SSE2, which every x86-64 has: a 4 KiB event's
//! heading steps over a 4 KiB string; and the quotes, backslashes and
//! brackets of 64 bytes at once ([`marks`], SSE2 too), by which the
//! heading steps over the objects and arrays it does not read.

/// Appends the JSON string escape of the leading whole 16-byte blocks of
/// `bytes` to `out` (`"`, `\` and control characters escaped as
/// `serde_json` escapes them; no quotes around it). A block holding a
/// control character is written byte by byte by `string_byte`, which
/// appends one byte as a JSON string holds it.
/// Returns how many bytes of `bytes` it escaped (a multiple of 16; 0 where
/// SSSE3 is not there) and whether one of them had its high bit set.
#[inline]
pub(crate) fn escape_blocks(out: &mut Vec<u8>, bytes: &[u8], string_byte: fn(&mut Vec<u8>, u8)) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if bytes.len() >= 16 && std::is_x86_feature_detected!("ssse3") {
            // SAFETY: SSSE3 is there (checked just above).
            return unsafe { x86::escape_blocks(out, bytes, string_byte) };
        }
    }
    let _ = (out, string_byte);
    (0, false)
}

/// The session reader's step for the usual run of an escaped record: the
/// blocks of sixteen bytes of `line` from `at` that hold plain bytes and
/// `\"`s only, copied to `out` from `o` with those backslashes dropped
/// (each half of a block packed by one shuffle). `carry`: the byte before
/// `at` was a backslash already dropped, so the first byte must be the
/// quote it escapes (a backslash in a block's last byte is dropped so too).
/// Stops before the first block that holds anything else (a closing quote,
/// another escape, a control character), or that `line` or `out` has no
/// room for. Returns where it stopped in `line` and in `out`, the carry
/// there, and whether a byte it took had its high bit set. Without SSSE3
/// it takes nothing.
#[inline]
pub(crate) fn unescape_run(
    line: &[u8],
    at: usize,
    carry: bool,
    out: &mut [u8],
    o: usize,
) -> (usize, usize, bool, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("ssse3") {
            // SAFETY: SSSE3 is there (checked just above).
            return unsafe { x86::unescape_run(line, at, carry, out, o) };
        }
    }
    let _ = (line, out);
    (at, o, carry, false)
}

/// [`swar::plain_pairs`](crate::swar::plain_pairs) with SSE2: steps over
/// the bytes from `at` that a JSON string holds as they are (no `"`, `\`
/// or control character) sixteen at a time: the offset of the first
/// sixteen that hold a stop (or that are not there), and whether a byte
/// stepped over had its high bit set. The same answer as the word masks'
/// (a property test holds it to them); elsewhere than x86-64 it is theirs.
///
/// A block a turn: two a turn (one branch for both) took a 4 KiB
/// UPDATE's tap 3 % less time than one (982–994 vs 973–1 027 ns an
/// event, `benches/record_core.rs`, three runs each), but a 200 B
/// UPDATE's 6–10 % more (177–193 vs 167–176 ns): its strings mostly end
/// within the first block, where the wider step fails later.
#[inline]
pub(crate) fn plain_blocks(data: &[u8], at: usize) -> (usize, bool) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64 itself.
        unsafe { x86::plain_blocks(data, at) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let (at, seen) = crate::swar::plain_pairs(data, at);
        (at, seen & 0x8080_8080_8080_8080 != 0)
    }
}

/// The marks of a block of 64 bytes, a bit a byte (bit `i` for byte `i`):
/// its quotes, backslashes, opening brackets (`{`, `[`) and closing ones
/// (`}`, `]`). What [`crate::json::lex::skip_nested`] steps over an object
/// or an array by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    pub quotes: u64,
    pub backslashes: u64,
    pub opens: u64,
    pub closes: u64,
}

impl Marks {
    /// The marks of the bytes from `n` on (`n` < 64), as from byte 0.
    #[inline]
    pub(crate) fn shifted(self, n: usize) -> Marks {
        Marks {
            quotes: self.quotes >> n,
            backslashes: self.backslashes >> n,
            opens: self.opens >> n,
            closes: self.closes >> n,
        }
    }
}

/// The [`Marks`] of `block`: SSE2 (every x86-64 has it), sixteen bytes a
/// compare; elsewhere a byte at a time ([`marks_bytewise`]).
#[inline]
pub(crate) fn marks(block: &[u8; 64]) -> Marks {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86-64 itself.
        unsafe { x86::marks(block) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        marks_bytewise(block)
    }
}

/// [`marks`] a byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn marks_bytewise(block: &[u8; 64]) -> Marks {
    let mut marks = Marks::default();
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => marks.quotes |= bit,
            b'\\' => marks.backslashes |= bit,
            b'{' | b'[' => marks.opens |= bit,
            b'}' | b']' => marks.closes |= bit,
            _ => {}
        }
    }
    marks
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_setzero_si128, _mm_shuffle_epi8, _mm_srli_si128, _mm_storel_epi64, _mm_storeu_si128, _mm_unpackhi_epi64,
        _mm_unpacklo_epi64,
    };

    /// For each mask of 8 bytes' stops (bit `i` for byte `i`), a shuffle
    /// of the 8 bytes (lanes 0 to 7): with `spread`, a backslash (lane 8)
    /// put in front of each stop (`8 + mask.count_ones()` bytes); without,
    /// the stops dropped and the rest packed down (`8 - mask.count_ones()`
    /// bytes). The rest of the 16 lanes are zero.
    const fn shuffles(spread: bool) -> [[u8; 16]; 256] {
        let mut table = [[0x80u8; 16]; 256];
        let mut mask = 0;
        while mask < 256 {
            let mut lane = 0;
            let mut byte = 0;
            while byte < 8 {
                let stop = mask & (1 << byte) != 0;
                if stop && spread {
                    table[mask][lane] = 8;
                    lane += 1;
                }
                if !stop || spread {
                    table[mask][lane] = byte as u8;
                    lane += 1;
                }
                byte += 1;
            }
            mask += 1;
        }
        table
    }

    /// The bits set in each byte: a load, where `count_ones` is a dozen
    /// instructions on the baseline x86-64, which has no POPCNT (5 % of
    /// the session writer's samples, `perf` on `proxy_vs_nginx`'s mix).
    /// `record_core`'s writer step, three runs alternating: the mix 140–146
    /// → 123–124 ns an event (2 564 → 2 246 instructions), 200 B 86–89 →
    /// 80–82, 4 KiB 408–412 → 400–406.
    static ONES: [u8; 256] = {
        let mut ones = [0u8; 256];
        let mut byte = 0;
        while byte < 256 {
            ones[byte] = (byte as u8).count_ones() as u8;
            byte += 1;
        }
        ones
    };

    /// The escape's shuffles: a backslash in front of each stop.
    static SPREAD: [[u8; 16]; 256] = shuffles(true);

    /// Spreads the low 8 bytes of `half` (a backslash in the high 8) by
    /// `mask`: the bytes to store and how many of them count.
    #[inline]
    #[target_feature(enable = "ssse3")]
    fn spread(half: __m128i, mask: u32) -> (__m128i, usize) {
        let mask = (mask & 0xff) as usize;
        // SAFETY: a 16-byte load from a `[u8; 16]`.
        let pattern = unsafe { _mm_loadu_si128(SPREAD[mask].as_ptr().cast()) };
        (_mm_shuffle_epi8(half, pattern), 8 + usize::from(ONES[mask]))
    }

    /// See [`super::escape_blocks`]; the caller has checked for SSSE3.
    #[target_feature(enable = "ssse3")]
    pub(super) fn escape_blocks(out: &mut Vec<u8>, bytes: &[u8], string_byte: fn(&mut Vec<u8>, u8)) -> (usize, bool) {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let below_space = _mm_set1_epi8(0x1f);
        let mut high = _mm_setzero_si128();
        let blocks = bytes.chunks_exact(16);
        let done = bytes.len() - blocks.remainder().len();
        // A plain block takes 16 bytes, one with stops at most 32: the
        // usual record needs no further reservation than this one.
        out.reserve(done + done / 2);
        for block in blocks {
            // SAFETY: a 16-byte load from a 16-byte slice.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
            high = _mm_or_si128(high, x);
            // `max(b, 0x1f) == 0x1f` exactly for `b <= 0x1f`, unsigned.
            if _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, below_space), below_space)) != 0 {
                for &b in block {
                    string_byte(out, b);
                }
                continue;
            }
            let stops = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash))) as u32;
            out.reserve(32);
            let len = out.len();
            let spare = &mut out.spare_capacity_mut()[..32];
            let written = if stops == 0 {
                // SAFETY: a 16-byte store into 32 bytes of spare capacity.
                unsafe { _mm_storeu_si128(spare.as_mut_ptr().cast(), x) };
                16
            } else {
                let (low, low_len) = spread(_mm_unpacklo_epi64(x, backslash), stops);
                let (high_half, high_len) = spread(_mm_unpackhi_epi64(x, backslash), stops >> 8);
                // SAFETY: two 16-byte stores into 32 bytes of spare
                // capacity, the second at `low_len <= 16`.
                unsafe {
                    _mm_storeu_si128(spare.as_mut_ptr().cast(), low);
                    _mm_storeu_si128(spare.as_mut_ptr().add(low_len).cast(), high_half);
                }
                low_len + high_len
            };
            // SAFETY: the stores above initialized the `written <= 32`
            // bytes after `len`, within the spare capacity.
            unsafe { out.set_len(len + written) };
        }
        (done, _mm_movemask_epi8(high) != 0)
    }

    /// The high bit of each of the 16 bytes at `block` that a JSON string
    /// cannot hold as it is (`"`, `\`, below `0x20`), and the high bits of
    /// all 16. SSE2 only, which every x86-64 has.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn stops_and_highs(block: &[u8; 16]) -> (i32, i32) {
        // SAFETY: a 16-byte load from a `[u8; 16]`.
        let x = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        let below_space = _mm_set1_epi8(0x1f);
        // `max(b, 0x1f) == 0x1f` exactly for `b <= 0x1f`, unsigned.
        let stops = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8)), _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8))),
            _mm_cmpeq_epi8(_mm_max_epu8(x, below_space), below_space),
        );
        (_mm_movemask_epi8(stops), _mm_movemask_epi8(x))
    }

    /// See [`super::marks`].
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn marks(block: &[u8; 64]) -> super::Marks {
        // `{` and `[` (0x7b, 0x5b) differ by 0x20 alone, as `}` and `]` do:
        // with that bit set, one compare finds both.
        let (quote, backslash, fold) = (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\\' as i8), _mm_set1_epi8(0x20));
        let (open, close) = (_mm_set1_epi8(b'{' as i8), _mm_set1_epi8(b'}' as i8));
        let mut marks = super::Marks::default();
        for (k, sixteen) in block.chunks_exact(16).enumerate() {
            // SAFETY: a 16-byte load from a 16-byte chunk.
            let x = unsafe { _mm_loadu_si128(sixteen.as_ptr().cast()) };
            let folded = _mm_or_si128(x, fold);
            let mask = |v: __m128i| u64::from(_mm_movemask_epi8(v) as u16) << (16 * k);
            marks.quotes |= mask(_mm_cmpeq_epi8(x, quote));
            marks.backslashes |= mask(_mm_cmpeq_epi8(x, backslash));
            marks.opens |= mask(_mm_cmpeq_epi8(folded, open));
            marks.closes |= mask(_mm_cmpeq_epi8(folded, close));
        }
        marks
    }

    /// See [`super::plain_blocks`].
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn plain_blocks(data: &[u8], mut at: usize) -> (usize, bool) {
        let mut high = 0;
        while let Some(Ok(block)) = data.get(at..at.saturating_add(16)).map(<&[u8; 16]>::try_from) {
            let (stops, block_high) = stops_and_highs(block);
            if stops != 0 {
                break;
            }
            high |= block_high;
            at += 16;
        }
        (at, high != 0)
    }

    /// The unescape's shuffles: the backslashes dropped.
    static PACK: [[u8; 16]; 256] = shuffles(false);

    /// Packs the low 8 bytes of `half` without those `mask` drops, into
    /// the first 8 bytes of `dst`: how many count.
    #[inline]
    #[target_feature(enable = "ssse3")]
    fn pack(half: __m128i, mask: u32, dst: &mut [u8; 8]) -> usize {
        let mask = (mask & 0xff) as usize;
        // SAFETY: a 16-byte load from a `[u8; 16]`.
        let pattern = unsafe { _mm_loadu_si128(PACK[mask].as_ptr().cast()) };
        // SAFETY: an 8-byte store into a `[u8; 8]`.
        unsafe { _mm_storel_epi64(dst.as_mut_ptr().cast(), _mm_shuffle_epi8(half, pattern)) };
        8 - usize::from(ONES[mask])
    }

    /// See [`super::unescape_run`]; the caller has checked for SSSE3.
    #[target_feature(enable = "ssse3")]
    pub(super) fn unescape_run(
        line: &[u8],
        mut at: usize,
        mut carry: bool,
        out: &mut [u8],
        mut o: usize,
    ) -> (usize, usize, bool, bool) {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let below_space = _mm_set1_epi8(0x1f);
        let mut high = _mm_setzero_si128();
        while let (Some(block), Some(dst)) = (line.get(at..at + 16), out.get_mut(o..o + 16)) {
            // SAFETY: a 16-byte load from a 16-byte slice.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
            let controls = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(x, below_space), below_space));
            let quotes = _mm_movemask_epi8(_mm_cmpeq_epi8(x, quote)) as u32;
            let backslashes = _mm_movemask_epi8(_mm_cmpeq_epi8(x, backslash)) as u32;
            // Each quote right after a backslash, each backslash before a
            // quote (the last one's in the next block).
            if controls != 0 || quotes != ((backslashes << 1 | u32::from(carry)) & 0xffff) {
                break;
            }
            high = _mm_or_si128(high, x);
            // (The slices are 8 bytes long: the conversions cannot fail.)
            let Ok(first) = <&mut [u8; 8]>::try_from(&mut dst[..8]) else { break };
            let kept = pack(x, backslashes, first);
            let Ok(second) = <&mut [u8; 8]>::try_from(&mut dst[kept..kept + 8]) else { break };
            o += kept + pack(_mm_srli_si128::<8>(x), backslashes >> 8, second);
            at += 16;
            carry = backslashes & 0x8000 != 0;
        }
        (at, o, carry, _mm_movemask_epi8(high) != 0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// Bytes where stops and high bytes are common, in runs long enough
    /// to take several blocks.
    fn string_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            8 => Just(b'x'),
            1 => Just(b'"'),
            1 => Just(b'\\'),
            1 => 0u8..0x20,
            1 => 0x80u8..=0xff,
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..200)
    }

    #[test]
    fn plain_blocks_agrees_with_the_word_masks_for_a_stop_at_every_offset() {
        for len in 0..80 {
            for stop in [b'"', b'\\', 0, 0x1f, b'x'] {
                for high in [None, Some(0), Some(len / 2)] {
                    let mut data = vec![b'a'; len];
                    data.push(stop);
                    data.extend_from_slice(b"tail of forty bytes, more than two blocks");
                    if let Some(h) = high.filter(|&h| h < len) {
                        data[h] = 0xc3;
                    }
                    for at in [0, 1, 7, 16] {
                        let (words_at, seen) = crate::swar::plain_pairs(&data, at);
                        let want = (words_at, seen & 0x8080_8080_8080_8080 != 0);
                        assert_eq!(
                            super::plain_blocks(&data, at),
                            want,
                            "len {len}, stop {stop:#x}, high {high:?}, at {at}"
                        );
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn a_blocks_marks_are_its_bytes(bytes in prop::collection::vec(
            prop_oneof![
                4 => any::<u8>(),
                1 => prop::sample::select(b"\"\\{}[]\x5b\x7b\x5d\x7d\xfb\xdb\xfd\xdd".to_vec()),
            ],
            64,
        )) {
            let block: &[u8; 64] = bytes.as_slice().try_into().unwrap();
            prop_assert_eq!(super::marks(block), super::marks_bytewise(block));
        }

        #[test]
        fn plain_blocks_is_the_word_masks_answer(data in string_bytes(), at in 0usize..210) {
            let (words_at, seen) = crate::swar::plain_pairs(&data, at);
            prop_assert_eq!(super::plain_blocks(&data, at), (words_at, seen & 0x8080_8080_8080_8080 != 0));
        }
    }
}
