//! Eight bytes at a time: finding the bytes that end a plain run of a JSON
//! string. The one home of the trick: the JSON reader's string scanner, the
//! JSON writer's plain-string check, the session writer's escaper and the
//! peeks' scanner all use it.

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

/// The eight bytes at `at`, if there are eight.
#[inline]
pub(crate) fn word_at(data: &[u8], at: usize) -> Option<[u8; 8]> {
    data.get(at..at.checked_add(8)?).and_then(|w| <[u8; 8]>::try_from(w).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
