//! What a Mesos 1.11 master says of a scheduler call whose JSON does not
//! parse: stout's `JSON::parse` (`3rdparty/stout/include/stout/json.hpp`)
//! over picojson 1.3.0 (`picojson.h`, with Mesos's depth patch), ported
//! step for step so the explanation is the master's own:
//!
//! - `syntax error at line N near: REST`, where `REST` is what follows the
//!   character picojson stopped at (itself included when it was put back),
//!   up to the next newline, without control characters;
//! - `Parsed JSON included non-whitespace trailing characters: REST` when
//!   a value is followed by more than whitespace;
//! - `Value out of range` for a number that overflows a double.
//!
//! Only the verdict is kept: the call itself is read by the codec.

/// picojson's `input<Iter>`: a cursor that can put back one character.
struct Input<'a> {
    bytes: &'a [u8],
    cur: usize,
    last_ch: i32,
    ungot: bool,
    line: u32,
}

impl Input<'_> {
    fn getc(&mut self) -> i32 {
        if self.ungot {
            self.ungot = false;
            return self.last_ch;
        }
        if self.cur == self.bytes.len() {
            self.last_ch = -1;
            return -1;
        }
        if self.last_ch == i32::from(b'\n') {
            self.line += 1;
        }
        self.last_ch = i32::from(self.bytes[self.cur]);
        self.cur += 1;
        self.last_ch
    }

    fn ungetc(&mut self) {
        if self.last_ch != -1 {
            self.ungot = true;
        }
    }

    fn skip_ws(&mut self) {
        loop {
            let ch = self.getc();
            if !matches!(ch, 0x20 | 0x09 | 0x0a | 0x0d) {
                self.ungetc();
                break;
            }
        }
    }

    fn expect(&mut self, expected: u8) -> bool {
        self.skip_ws();
        if self.getc() != i32::from(expected) {
            self.ungetc();
            return false;
        }
        true
    }

    fn matches(&mut self, pattern: &[u8]) -> bool {
        for &p in pattern {
            if self.getc() != i32::from(p) {
                self.ungetc();
                return false;
            }
        }
        true
    }
}

/// A double overflowed (`picojson::value(double)` throws).
struct OutOfRange;

/// stout's `STOUT_JSON_MAX_DEPTH`.
const MAX_DEPTH: usize = 200;

fn parse_value(input: &mut Input<'_>, depth: usize) -> Result<bool, OutOfRange> {
    input.skip_ws();
    let ch = input.getc();
    match u8::try_from(ch) {
        Ok(b'n') => Ok(input.matches(b"ull")),
        Ok(b'f') => Ok(input.matches(b"alse")),
        Ok(b't') => Ok(input.matches(b"rue")),
        Ok(b'"') => Ok(parse_string(input)),
        Ok(b'[') => parse_array(input, depth),
        Ok(b'{') => parse_object(input, depth),
        Ok(c) if c.is_ascii_digit() || c == b'-' => {
            input.ungetc();
            let number = parse_number(input);
            if number.is_empty() {
                return Ok(false);
            }
            if is_int64(&number) {
                return Ok(true);
            }
            match full_strtod(&number) {
                Some(x) if x.is_finite() => Ok(true),
                Some(_) => Err(OutOfRange),
                None => Ok(false),
            }
        }
        _ => {
            input.ungetc();
            Ok(false)
        }
    }
}

fn parse_string(input: &mut Input<'_>) -> bool {
    loop {
        let ch = input.getc();
        if ch < i32::from(b' ') {
            input.ungetc();
            return false;
        }
        if ch == i32::from(b'"') {
            return true;
        }
        if ch == i32::from(b'\\') {
            let escaped = input.getc();
            if escaped == -1 {
                return false;
            }
            match u8::try_from(escaped) {
                Ok(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                Ok(b'u') => {
                    if !parse_codepoint(input) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }
}

fn parse_quadhex(input: &mut Input<'_>) -> i32 {
    let mut value = 0;
    for _ in 0..4 {
        let hex = input.getc();
        if hex == -1 {
            return -1;
        }
        let digit = match u8::try_from(hex) {
            Ok(c @ b'0'..=b'9') => i32::from(c - b'0'),
            Ok(c @ b'A'..=b'F') => i32::from(c - b'A' + 10),
            Ok(c @ b'a'..=b'f') => i32::from(c - b'a' + 10),
            _ => {
                input.ungetc();
                return -1;
            }
        };
        value = value * 16 + digit;
    }
    value
}

fn parse_codepoint(input: &mut Input<'_>) -> bool {
    let first = parse_quadhex(input);
    if first == -1 {
        return false;
    }
    if (0xd800..=0xdfff).contains(&first) {
        if first >= 0xdc00 {
            return false;
        }
        if input.getc() != i32::from(b'\\') || input.getc() != i32::from(b'u') {
            input.ungetc();
            return false;
        }
        let second = parse_quadhex(input);
        if !(0xdc00..=0xdfff).contains(&second) {
            return false;
        }
    }
    true
}

fn parse_array(input: &mut Input<'_>, depth: usize) -> Result<bool, OutOfRange> {
    if depth == 0 {
        return Ok(false);
    }
    if input.expect(b']') {
        return Ok(true);
    }
    loop {
        if !parse_value(input, depth - 1)? {
            return Ok(false);
        }
        if !input.expect(b',') {
            break;
        }
    }
    Ok(input.expect(b']'))
}

fn parse_object(input: &mut Input<'_>, depth: usize) -> Result<bool, OutOfRange> {
    if depth == 0 {
        return Ok(false);
    }
    if input.expect(b'}') {
        return Ok(true);
    }
    loop {
        if !input.expect(b'"') || !parse_string(input) || !input.expect(b':') {
            return Ok(false);
        }
        if !parse_value(input, depth - 1)? {
            return Ok(false);
        }
        if !input.expect(b',') {
            break;
        }
    }
    Ok(input.expect(b'}'))
}

fn parse_number(input: &mut Input<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let ch = input.getc();
        match u8::try_from(ch) {
            Ok(c) if c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'e' | b'E' | b'.') => out.push(c),
            _ => {
                input.ungetc();
                return out;
            }
        }
    }
}

/// `strtoimax(s, &end, 10)` consumed all of `s` without `ERANGE`.
fn is_int64(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").or_else(|| s.strip_prefix(b"+")).unwrap_or(s);
    !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(s).ok().and_then(|t| t.parse::<i64>().ok()).is_some()
}

/// `strtod(s, &end)` consumed all of `s` (C locale, decimal only: the
/// characters picojson collects allow nothing else): its value.
fn full_strtod(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_digits = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = s[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    if i != s.len() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    // Rust's parser takes neither a leading `+` nor a bare `5.` / `.5`
    // exponent-less forms differently from strtod, except the `+`.
    text.strip_prefix('+').unwrap_or(text).parse::<f64>().ok()
}

/// stout's `JSON::parse` of `body`: `Ok` when it holds one JSON value and
/// nothing but whitespace after it, else the master's explanation.
pub fn check(body: &[u8]) -> Result<(), String> {
    let mut input = Input { bytes: body, cur: 0, last_ch: -1, ungot: false, line: 1 };
    match parse_value(&mut input, MAX_DEPTH) {
        Err(OutOfRange) => Err("Value out of range".into()),
        Ok(false) => {
            let mut error = format!("syntax error at line {} near: ", input.line);
            let mut rest = Vec::new();
            loop {
                let ch = input.getc();
                if ch == -1 || ch == i32::from(b'\n') {
                    break;
                }
                if ch >= i32::from(b' ') {
                    rest.push(ch as u8);
                }
            }
            error.push_str(&String::from_utf8_lossy(&rest));
            Err(error)
        }
        Ok(true) => {
            // `parseEnd` is picojson's cursor: past a character it put back.
            let end = input.cur;
            let last_visible = body.iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
            let visible_end = last_visible.map_or(0, |i| i + 1);
            if end != visible_end {
                let rest = body.get(end..visible_end).unwrap_or_default();
                return Err(format!(
                    "Parsed JSON included non-whitespace trailing characters: {}",
                    String::from_utf8_lossy(rest)
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn error(body: &str) -> String {
        check(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn valid() {
        for body in [r#"{"type": "SUBSCRIBE"}"#, "  [1, -2.5e3, true, null, \"\\u00e9\"]\n", "0", "-.5", "1."] {
            assert_eq!(check(body.as_bytes()), Ok(()), "{body}");
        }
    }

    #[test]
    fn the_masters_texts() {
        // A truncated body (the capture's case): nothing after `near: `.
        assert_eq!(error(r#"{"type": "SUBSCRIBE""#), "syntax error at line 1 near: ");
        assert_eq!(error(""), "syntax error at line 1 near: ");
        // The character picojson stopped at is put back.
        assert_eq!(error(r#"{"type": x}"#), "syntax error at line 1 near: x}");
        assert_eq!(error("{not json}"), "syntax error at line 1 near: not json}");
        // Lines count from 1; the rest stops at the newline.
        assert_eq!(error("{\n\"a\": 1,\n oops\n}"), "syntax error at line 3 near: oops");
        // A bad number: the character after it.
        assert_eq!(error(r#"{"a": 1-2}"#), "syntax error at line 1 near: }");
        assert_eq!(error(r#"{"a": nul}"#), "syntax error at line 1 near: }");
        // Control characters are left out of the rest.
        assert_eq!(error("{\"a\": \"x\ty\"}"), "syntax error at line 1 near: y\"}");
        assert_eq!(error("1e999"), "Value out of range");
        assert_eq!(error("{} x"), "Parsed JSON included non-whitespace trailing characters:  x");
        assert_eq!(error("12 x"), "Parsed JSON included non-whitespace trailing characters: x");
        let deep = "[".repeat(201) + &"]".repeat(201);
        // The 201st bracket is one too deep; what follows it is the rest.
        assert_eq!(error(&deep), format!("syntax error at line 1 near: {}", &deep[201..]));
        assert_eq!(check(("[".repeat(200) + &"]".repeat(200)).as_bytes()), Ok(()));
    }
}
