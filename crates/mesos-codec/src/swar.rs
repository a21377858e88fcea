//! Eight bytes at a time: finding the bytes that end a plain run of a JSON
//! string. The one home of the trick: the JSON reader's string scanner, the
//! JSON writer's plain-string check, the session writer's escaper, the
//! session reader's unescaper and the lexer all use it. Three masks: the
//! first stop only ([`string_stops`], the cheapest), every stop
//! ([`exact_string_stops`], where a word may hold several), and every stop
//! by its kind ([`stop_kinds`], for undoing escapes); and a long plain run
//! stepped over sixteen bytes at a time ([`plain_pairs`]).

/// The high bit of each byte of `word` (read little-endian) that is a
/// control character (below `0x20`), `"` or `\`: the bytes a JSON string
/// cannot hold as they are.
///
/// The lowest bit set is always right, so `mask.trailing_zeros() / 8` is the
/// index of the first such byte; bits above it may be set falsely (a borrow
/// running on from a genuine one), so nothing else is read from the mask.
#[inline(always)]
pub(crate) fn string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    control | zero_byte(word ^ (ONES * u64::from(b'"'))) | zero_byte(word ^ (ONES * u64::from(b'\\')))
}

/// The high bit of each byte of `word` (read little-endian) that is a
/// control character (below `0x20`), `"` or `\\`, and of no other byte.
///
/// Unlike [`string_stops`], whose bits above the lowest may be
/// set falsely, every bit here is right (a byte's test cannot carry into the
/// next: `(v & 0x7f) + 0x7f` stays below `0x100`), so one word's stops are
/// all read from one mask.
#[inline(always)]
pub(crate) fn exact_string_stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = ONES * 0x7f;
    const HIGHS: u64 = ONES * 0x80;
    // The high bit of each byte of `v` that is zero.
    let zero_byte = |v: u64| !(((v & LOW7) + LOW7) | v) & HIGHS;
    zero_byte(word & (ONES * 0xe0))
        | zero_byte(word ^ (ONES * u64::from(b'"')))
        | zero_byte(word ^ (ONES * u64::from(b'\\')))
}

/// The high bit of each byte of `word` that is a backslash, a quote, a
/// control character (below `0x20`), and of no other byte. (A byte
/// with its high bit set is none of them; the others are matched on
/// their low seven bits, which carry into the high bit unless zero.)
#[inline(always)]
pub(crate) fn stop_kinds(word: u64) -> [u64; 3] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let low = word & LOWS;
    let ascii = !word & !LOWS;
    let zero = |v: u64| !(v + LOWS) & ascii;
    [zero(low ^ (ONES * u64::from(b'\\'))), zero(low ^ (ONES * u64::from(b'"'))), !(low + ONES * 0x60) & ascii]
}

/// Steps over the plain bytes from `at` sixteen at a time (two words with
/// no stop, by [`string_stops`]): the offset of the first sixteen that hold
/// a stop (or that are not there), and the OR of every byte stepped over
/// (its high bits say whether all were ASCII).
///
/// For long plain runs in JSON strings (a long `message`, base64 data);
/// callers try it only after a plain word, since in JSON text (a quote
/// every few bytes) it would mostly fail at once.
#[inline(always)]
pub(crate) fn plain_pairs(data: &[u8], mut at: usize) -> (usize, u64) {
    let mut seen = 0;
    while let Some(pair) = data.get(at..at.saturating_add(16)) {
        let (a, b) = pair.split_at(8);
        let a = u64::from_le_bytes(a.try_into().unwrap_or_default());
        let b = u64::from_le_bytes(b.try_into().unwrap_or_default());
        if string_stops(a) | string_stops(b) != 0 {
            break;
        }
        seen |= a | b;
        at += 16;
    }
    (at, seen)
}

/// The eight bytes at `at`, if there are eight.
#[inline]
pub(crate) fn word_at(data: &[u8], at: usize) -> Option<[u8; 8]> {
    data.get(at..at.checked_add(8)?).and_then(|w| <[u8; 8]>::try_from(w).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_pairs_stop_before_the_sixteen_bytes_holding_a_stop() {
        for len in 0..64 {
            for stop in [b'"', b'\\', 0x1f] {
                let mut data = vec![b'x'; len];
                data.push(stop);
                data.extend_from_slice(&[0xc3, 0xa9, b'y', b'y']);
                let (at, seen) = plain_pairs(&data, 0);
                assert_eq!(at, len / 16 * 16, "len {len}");
                assert_eq!(seen & 0x8080_8080_8080_8080, 0, "only ASCII stepped over");
            }
            let data = vec![0xffu8; len];
            let (at, seen) = plain_pairs(&data, 0);
            assert_eq!(at, len / 16 * 16);
            assert_eq!(seen != 0, len >= 16);
        }
    }

    #[test]
    fn the_first_stop_is_found_in_every_position_and_nothing_else_stops() {
        for stop in [0u8, 0x1f, b'"', b'\\'] {
            for at in 0..8 {
                for fill in [b'a', b' ', 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'] {
                    let mut word = [fill; 8];
                    word[at] = stop;
                    let mask = string_stops(u64::from_le_bytes(word));
                    assert_eq!(mask.trailing_zeros() / 8, at as u32, "{stop:#x} at {at} among {fill:#x}");
                }
            }
        }
        for b in 0x20..=0xffu8 {
            if b != b'"' && b != b'\\' {
                assert_eq!(string_stops(u64::from_le_bytes([b; 8])), 0, "{b:#x}");
            }
        }
    }

    /// Every byte value, in every position, among every other: the mask has
    /// exactly the bits of the bytes a JSON string escapes.
    #[test]
    fn exact_string_stops_are_exact() {
        for b in 0..=255u8 {
            for fill in 0..=255u8 {
                for at in 0..8 {
                    let mut word = [fill; 8];
                    word[at] = b;
                    let expected = word
                        .iter()
                        .enumerate()
                        .filter(|(_, x)| **x < 0x20 || **x == b'"' || **x == b'\\')
                        .fold(0u64, |m, (k, _)| m | 0x80 << (8 * k));
                    assert_eq!(
                        exact_string_stops(u64::from_le_bytes(word)),
                        expected,
                        "{b:#x} at {at} among {fill:#x}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_masks_are_exact() {
        for b in 0..=255u8 {
            for fill in [0u8, 1, b'"', b'\\', b']', b'#', 0x1f, 0x20, 0x7f, 0x80, 0xff] {
                for at in 0..8 {
                    let mut word = [fill; 8];
                    word[at] = b;
                    let w = u64::from_le_bytes(word);
                    let want = |pred: &dyn Fn(u8) -> bool| -> u64 {
                        (0..8).filter(|&i| pred(word[i])).map(|i| 0x80u64 << (8 * i)).sum()
                    };
                    let [backslashes, quotes, controls] = stop_kinds(w);
                    assert_eq!(backslashes, want(&|c| c == b'\\'), "{word:?}");
                    assert_eq!(quotes, want(&|c| c == b'"'), "{word:?}");
                    assert_eq!(controls, want(&|c| c < 0x20), "{word:?}");
                }
            }
        }
    }
}
