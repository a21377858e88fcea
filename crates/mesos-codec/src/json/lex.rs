//! The one JSON lexer of the codec's hand-written readers: the fast JSON
//! reader ([`super::read`]) and the peeks' walks ([`crate::peek`]). It
//! finds where tokens end and checks them as serde_json does, eight bytes
//! at a time in strings ([`crate::swar`]); it has no error messages. `None`
//! means "not sure": the caller hands the document to the serde-driven path
//! (serde_json's own tokenizer), which gives the answer or says where the
//! input is wrong. So whatever these accept, serde_json accepts too (tests
//! and fuzz targets hold the fast paths to the careful ones); but for
//! `skip_nested`, which checks nothing, for the one caller that wants
//! nothing checked (the peeks' heading walk).
//!
//! ```text
//! ws      the offset of the next byte that is not JSON whitespace
//! string  a string from its opening quote: where it ends, whether it has
//!         escapes, whether it is all ASCII (its UTF-8 is left to readers)
//! number  a number's grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
//! value   any value stepped over, nested at most `depth` levels
//! skip_nested  an object or array stepped over by its brackets, unchecked
//! ```

/// The offset of the first byte at or after `at` that is not JSON
/// whitespace.
#[inline(always)]
pub(crate) fn ws(json: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = json.get(at) {
        at += 1;
    }
    at
}

/// A string stepped over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Str {
    /// The offset after its closing quote (its contents are
    /// `start + 1..end - 1`).
    pub end: usize,
    /// Whether it has escapes (its contents then need
    /// [`unescape_into`](super::unescape_into)).
    pub escaped: bool,
    /// Whether every byte is ASCII (otherwise a reader of its text checks
    /// its UTF-8; serde_json does not when it steps over a string).
    pub ascii: bool,
}

/// The string whose opening quote is at `at`, checked as serde_json checks
/// a string it steps over: no control character, every escape one JSON
/// knows (`\u` with four hex digits, a high surrogate followed by a low
/// one, no lone surrogate).
#[inline(always)]
pub(crate) fn string(json: &[u8], at: usize) -> Option<Str> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = at + 1;
    let mut high = 0;
    let mut escaped = false;
    loop {
        // Eight bytes at a time up to the first `"`, `\` or control character.
        while let Some(word) = crate::swar::word_at(json, at) {
            let w = u64::from_le_bytes(word);
            // (Bytes past the end of the string may count as high: that only
            // costs its reader a UTF-8 check.)
            high |= w & HIGH;
            let stops = crate::swar::string_stops(w);
            if stops != 0 {
                at += stops.trailing_zeros() as usize / 8;
                break;
            }
            at += 8;
            // A plain word may begin a long plain run: sixteen bytes at a
            // time while it lasts (tried only after a plain word: in JSON
            // text, a quote every few bytes, it would mostly fail). A 4 KiB
            // UPDATE's heading, which steps over a long `message`: 688–712
            // → 427–438 ns (a 200 B UPDATE's 153–167 → 146–150 ns, an
            // OFFERS' 844–870 → 807–813 ns; three runs, the same VM). With
            // SSE2's compares (`simd::plain_blocks`) rather than the word
            // masks, `benches/record_core.rs`: a 4 KiB UPDATE's tap 1 297–
            // 1 306 → 973–1 027 ns an event, its heading 11 416 → 8 431
            // instructions under callgrind; 200 B and the mix unmoved in
            // time (161–175 vs 167–176 ns, 297–317 vs 293–309), 6 312 →
            // 6 245 and 9 835 → 9 739 instructions an event.
            let (after, seen) = crate::simd::plain_blocks(json, at);
            (at, high) = (after, high | if seen { HIGH } else { 0 });
        }
        match *json.get(at)? {
            b'"' => return Some(Str { end: at + 1, escaped, ascii: high == 0 }),
            b'\\' => {
                escaped = true;
                at = escape(json, at)?;
            }
            // Near the end of the input, one byte at a time.
            b if b >= 0x20 => {
                high |= u64::from(b & 0x80);
                at += 1;
            }
            _ => return None,
        }
    }
}

/// The offset after the escape whose backslash is at `at`.
#[cold]
fn escape(json: &[u8], at: usize) -> Option<usize> {
    match *json.get(at + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(at + 2),
        b'u' => match hex4(json, at + 2)? {
            0xd800..=0xdbff => {
                if json.get(at + 6..at + 8)? != b"\\u" || !(0xdc00..=0xdfff).contains(&hex4(json, at + 8)?) {
                    return None;
                }
                Some(at + 12)
            }
            0xdc00..=0xdfff => None,
            _ => Some(at + 6),
        },
        _ => None,
    }
}

fn hex4(json: &[u8], at: usize) -> Option<u32> {
    json.get(at..at + 4)?.iter().try_fold(0, |v, &d| Some(v << 4 | char::from(d).to_digit(16)?))
}

/// The offset after the ASCII digits from `at`.
#[inline]
fn digits(json: &[u8], mut at: usize) -> usize {
    while json.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// The offset after the number at `at`, if its grammar is JSON's.
#[inline]
pub(crate) fn number(json: &[u8], at: usize) -> Option<usize> {
    let mut at = at + usize::from(json.get(at) == Some(&b'-'));
    match json.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits(json, at + 1),
        _ => return None,
    }
    if json.get(at) == Some(&b'.') {
        let end = digits(json, at + 1);
        if end == at + 1 {
            return None;
        }
        at = end;
    }
    if let Some(b'e' | b'E') = json.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = json.get(at) {
            at += 1;
        }
        let end = digits(json, at);
        if end == at {
            return None;
        }
        at = end;
    }
    Some(at)
}

/// The offset after the literal `word` (`true`, `false`, `null`) at `at`.
#[inline]
pub(crate) fn literal(json: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    json.get(at..)?.starts_with(word).then_some(at + word.len())
}

/// The offset after the value at `at` (no whitespace before it), checked
/// as serde_json checks a value it steps over; objects and arrays nested
/// at most `depth` levels (counting this one; at most 128).
///
/// One loop, what is open kept as a bit a level (set for an object),
/// rather than a call a level (each call saved and restored registers): a
/// 200 B UPDATE's heading, which steps over its `update`, 2 252 → 2 223
/// instructions, the mix's 4 709 → 4 619 (`benches/record_core.rs` under
/// callgrind).
pub(crate) fn value(json: &[u8], mut at: usize, depth: usize) -> Option<usize> {
    let depth = depth.min(128);
    // Bit `i` of `open`: whether level `i` from the innermost is an object.
    let (mut open, mut level) = (0u128, 0);
    loop {
        // At a value.
        at = match *json.get(at)? {
            b'"' => string(json, at)?.end,
            open_byte @ (b'{' | b'[') => {
                let object = open_byte == b'{';
                let inside = ws(json, at + 1);
                let empty = json.get(inside) == Some(if object { &b'}' } else { &b']' });
                if level == depth {
                    return None;
                }
                if empty {
                    inside + 1
                } else {
                    (open, level) = (open << 1 | u128::from(object), level + 1);
                    at = if object { key(json, inside)? } else { inside };
                    continue;
                }
            }
            b't' => literal(json, at, b"true")?,
            b'f' => literal(json, at, b"false")?,
            b'n' => literal(json, at, b"null")?,
            _ => number(json, at)?,
        };
        // After a whole value: the containers it closes, up to the next
        // member's value.
        loop {
            if level == 0 {
                return Some(at);
            }
            at = ws(json, at);
            let object = open & 1 == 1;
            match (*json.get(at)?, object) {
                (b',', true) => {
                    at = key(json, ws(json, at + 1))?;
                    break;
                }
                (b',', false) => {
                    at = ws(json, at + 1);
                    break;
                }
                (b'}', true) | (b']', false) => (open, level, at) = (open >> 1, level - 1, at + 1),
                _ => return None,
            }
        }
    }
}

/// The offset after the object or array that opens at `at` (a `{` or a
/// `[`), found by its brackets alone, 64 bytes at a time: what is inside
/// is not checked. A quote opens or closes a string, inside which brackets
/// do not count; a backslash, wherever it is, takes the byte after it out
/// of both; the first bracket that closes more than were opened ends it
/// (`{` and `[` alike, as are `}` and `]`). `None` when the input ends
/// first. For well-formed JSON this is [`value`]'s answer (but for
/// nesting deeper than `value` takes: no depth is counted against a
/// limit here, and none is needed, nothing being called a level); for the
/// rest, [`skip_nested_bytewise`]'s (the tests hold it to both).
///
/// A block's marks are the vector unit's compares ([`crate::simd::marks`]);
/// its strings are the running parity of its unescaped quotes (prefix
/// XOR); only a block where the value may end is looked at bracket by
/// bracket. The peeks' heading walk steps over what it does not read
/// with it: a 200 B UPDATE's `update`, the `resources` of an offer.
///
/// (Tried, not kept: the loop compiled a second time for POPCNT, which the
/// baseline x86-64 lacks, chosen at run time: `record_core`'s tap 3 % less
/// on the mix, 200 B and 4 KiB unmoved.)
pub(crate) fn skip_nested(json: &[u8], at: usize) -> Option<usize> {
    let mut depth = 1u64;
    let mut start = at + 1;
    // All ones when a string is open at the block's start.
    let mut in_string = 0u64;
    // The block's first byte follows a backslash.
    let mut escape_carried = false;
    let mut tail = [b' '; 64];
    loop {
        if in_string != 0 && !escape_carried {
            // Inside a string, its plain run sixteen bytes at a time (a 4
            // KiB UPDATE's `message`).
            start = crate::simd::plain_blocks(json, start).0;
        }
        let rest = json.get(start..).filter(|rest| !rest.is_empty())?;
        // The last block, once: the input's last 64 bytes, the marks of
        // those before `start` shifted out (what is past the input has
        // none); or, when it is shorter, a copy.
        let (block, before) = match (rest.first_chunk::<64>(), json.last_chunk::<64>()) {
            (Some(block), _) => (block, 0),
            (None, Some(last)) => (last, 64 - rest.len()),
            (None, None) => {
                tail[..rest.len()].copy_from_slice(rest);
                (&tail, 0)
            }
        };
        let marks = crate::simd::marks(block).shifted(before);
        let escaped = escaped(marks.backslashes, &mut escape_carried);
        let strings = prefix_xor(marks.quotes & !escaped) ^ in_string;
        in_string = ((strings as i64) >> 63) as u64;
        let outside = !(strings | escaped);
        let (opens, closes) = (marks.opens & outside, marks.closes & outside);
        let closing = u64::from(closes.count_ones());
        if closing < depth {
            depth = depth + u64::from(opens.count_ones()) - closing;
        } else {
            let mut brackets = opens | closes;
            while brackets != 0 {
                let bit = brackets & brackets.wrapping_neg();
                if opens & bit != 0 {
                    depth += 1;
                } else {
                    depth -= 1;
                    if depth == 0 {
                        return Some(start + bit.trailing_zeros() as usize + 1);
                    }
                }
                brackets ^= bit;
            }
        }
        start += 64;
    }
}

/// The bytes a backslash takes (bit `i` for byte `i`) in a block whose
/// backslashes are `backslashes`; `carried`: the first byte follows a
/// backslash of the block before (and, once done, the next block's does).
#[inline]
fn escaped(mut backslashes: u64, carried: &mut bool) -> u64 {
    let mut escaped = 0;
    if *carried {
        escaped = 1;
        backslashes &= !1;
        *carried = false;
    }
    // A master's JSON seldom has one: a byte at a time.
    while backslashes != 0 {
        let i = backslashes.trailing_zeros();
        if i == 63 {
            *carried = true;
            break;
        }
        escaped |= 2 << i;
        // The backslash, and the byte it takes (a backslash that takes
        // nothing).
        backslashes &= !(3 << i);
    }
    escaped
}

/// Bit `i` the XOR of bits `0..=i` of `x`: with `x` a block's quotes, the
/// bytes from each opening quote up to its closing one.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// [`skip_nested`] a byte at a time: what the tests hold it to.
#[cfg(test)]
pub(crate) fn skip_nested_bytewise(json: &[u8], at: usize) -> Option<usize> {
    let (mut depth, mut i, mut in_string) = (1u64, at + 1, false);
    while let Some(&b) = json.get(i) {
        match b {
            b'\\' => i += 1,
            b'"' => in_string = !in_string,
            b'{' | b'[' if !in_string => depth += 1,
            b'}' | b']' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A member's key at `at`, and its colon: the offset of its value.
#[inline(always)]
fn key(json: &[u8], at: usize) -> Option<usize> {
    if json.get(at) != Some(&b'"') {
        return None;
    }
    let at = ws(json, string(json, at)?.end);
    if json.get(at) != Some(&b':') {
        return None;
    }
    Some(ws(json, at + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What serde_json says of the same value stepped over: accepted or not.
    fn serde_accepts(json: &[u8]) -> bool {
        serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok()
    }

    #[test]
    fn strings() {
        let s = |json: &[u8]| string(json, 0);
        assert_eq!(s(br#""abc""#), Some(Str { end: 5, escaped: false, ascii: true }));
        assert_eq!(s(br#""a\"b" tail"#), Some(Str { end: 6, escaped: true, ascii: true }));
        assert_eq!(s("\"é\"".as_bytes()), Some(Str { end: 4, escaped: false, ascii: false }));
        assert_eq!(s(br#""\ud83d\ude00""#).map(|s| s.end), Some(14));
        for bad in [&br#""\ud83d""#[..], br#""\ude00""#, br#""\x""#, br#""\u12""#, b"\"a\nb\"", b"\"open"] {
            assert_eq!(s(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    /// Long plain runs (stepped over sixteen bytes at a time) with what
    /// ends or marks them at every offset.
    #[test]
    fn long_plain_runs() {
        for before in 0..48 {
            for after in 0..40 {
                let (x, y) = ("x".repeat(before), "y".repeat(after));
                let run = |middle: &str| string(format!("\"{x}{middle}{y}\" tail").as_bytes(), 0);
                let end = before + after + 2;
                assert_eq!(run(""), Some(Str { end, escaped: false, ascii: true }));
                assert_eq!(run("\\n"), Some(Str { end: end + 2, escaped: true, ascii: true }));
                assert_eq!(run("é"), Some(Str { end: end + 2, escaped: false, ascii: false }));
                assert_eq!(run("\u{1f}"), None);
                assert_eq!(string(format!("\"{x}{y}").as_bytes(), 0), None, "no closing quote");
            }
        }
    }

    #[test]
    fn skipping_across_blocks() {
        // A backslash run, a string and a closing bracket at every offset
        // around a block's end.
        for pad in 0..140 {
            for body in [&br#""\\\"]}""#[..], br#"\"}"#, br#""a]\""}"#, br#"[{}]}"#, br#""\\"}"#] {
                let mut json = b"{".to_vec();
                json.extend(std::iter::repeat_n(b'x', pad));
                json.extend_from_slice(body);
                json.extend_from_slice(b"]]");
                assert_eq!(skip_nested(&json, 0), skip_nested_bytewise(&json, 0), "{}", String::from_utf8_lossy(&json));
            }
        }
        assert_eq!(skip_nested(b"{\"}", 0), None);
        assert_eq!(skip_nested(br#"{"}"}"#, 0), Some(5));
        assert_eq!(skip_nested(b"[1,}x", 0), Some(4));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
        assert!(value(&deep(100), 0, 100).is_some());
        assert!(value(&deep(101), 0, 100).is_none());
    }

    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
            ".*".prop_map(|s| serde_json::to_string(&s).unwrap()),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((".*", inner), 0..6).prop_map(|m| {
                    let members: Vec<String> =
                        m.into_iter().map(|(k, v)| format!("{}: {v}", serde_json::to_string(&k).unwrap())).collect();
                    format!("{{ {} }}", members.join(" ,"))
                }),
            ]
        })
    }

    proptest! {
        /// Whatever the lexer steps over, serde_json accepts; and it steps
        /// over every well-formed value (to its end).
        #[test]
        fn a_value_is_stepped_over_as_serde_json_reads_it(text in json_value(), cut in any::<prop::sample::Index>()) {
            let json = text.as_bytes();
            prop_assert_eq!(value(json, 0, 100), Some(json.len()));
            let cut = &json[..cut.index(json.len() + 1)];
            if let Some(end) = value(cut, 0, 100) {
                prop_assert!(serde_accepts(&cut[..end]), "{}", String::from_utf8_lossy(cut));
            }
        }

        /// A well-formed value with one byte changed: the lexer steps over
        /// it whole exactly when serde_json reads it, and whatever it steps
        /// over serde_json reads.
        #[test]
        fn a_value_with_a_byte_changed_is_refused_as_serde_json_refuses_it(
            text in json_value(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b':'), Just(b','),
                Just(b' '), Just(b'0'), Just(b'-'), Just(b'e'), Just(b'.'), Just(b't'), Just(b'n'), any::<u8>()
            ],
        ) {
            let mut json = text.into_bytes();
            if json.is_empty() {
                return Ok(());
            }
            let at = at.index(json.len());
            json[at] = byte;
            let end = value(&json, ws(&json, 0), 100);
            let whole = end.is_some_and(|end| ws(&json, end) == json.len());
            prop_assert_eq!(whole, serde_accepts(&json), "{}", String::from_utf8_lossy(&json));
            if let Some(end) = end {
                prop_assert!(serde_accepts(&json[..end]), "{}", String::from_utf8_lossy(&json));
            }
        }

        /// A well-formed object or array (nested in one, so that it is one)
        /// is stepped over by its brackets to where the lexer steps over it,
        /// with anything after it.
        #[test]
        fn an_object_or_array_is_skipped_to_where_the_lexer_steps_over_it(
            text in json_value(),
            after in "[ ,\\]}\\[{\"x\\\\]{0,80}",
        ) {
            let json = format!("[{text}]{after}").into_bytes();
            prop_assert_eq!(skip_nested(&json, 0), value(&json, 0, 100), "{}", String::from_utf8_lossy(&json));
        }

        /// On any bytes, the blocks' answer is the bytewise one.
        #[test]
        fn skipping_by_blocks_is_skipping_byte_by_byte(
            bytes in prop::collection::vec(
                prop_oneof![
                    6 => Just(b'x'), 2 => Just(b'"'), 2 => Just(b'\\'), 1 => Just(b'{'), 1 => Just(b'['),
                    1 => Just(b'}'), 1 => Just(b']'), 1 => any::<u8>(),
                ],
                0..400,
            ),
            at in any::<prop::sample::Index>(),
        ) {
            let mut json = bytes;
            let at = at.index(json.len() + 1);
            json.insert(at, b'{');
            prop_assert_eq!(skip_nested(&json, at), skip_nested_bytewise(&json, at), "{:?}", String::from_utf8_lossy(&json));
        }

        #[test]
        fn bytes_the_lexer_accepts_serde_json_accepts(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Some(end) = value(&bytes, 0, 100) {
                prop_assert!(serde_accepts(&bytes[..end]), "{:?}", String::from_utf8_lossy(&bytes[..end]));
            }
        }
    }
}
