//! Durations as stout's `Duration` has them: signed nanoseconds, parsed
//! from and written as `5secs`, `1.5mins`, `100ms`, ...

use std::fmt;
use std::time::Duration as StdDuration;

/// A signed duration in nanoseconds, like stout's `Duration` (an `int64_t`
/// of nanoseconds). Signed because `shutdown()` subtracts from the shutdown
/// grace period and may go below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub i64);

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const SECS: i64 = 1_000_000_000;
const MINS: i64 = 60 * SECS;
const HRS: i64 = 60 * MINS;
const DAYS: i64 = 24 * HRS;
const WEEKS: i64 = 7 * DAYS;

impl Dur {
    /// Zero.
    pub const ZERO: Dur = Dur(0);

    /// Whole seconds.
    pub const fn secs(s: i64) -> Dur {
        Dur(s * SECS)
    }

    /// Parses a duration the way stout's `Duration::parse` does: a number
    /// made of digits and dots, then one of the units `ns`, `us`, `ms`,
    /// `secs`, `mins`, `hrs`, `days`, `weeks`, with nothing in between or
    /// after. Negative durations are not supported (as in stout).
    pub fn parse(s: &str) -> Result<Dur, String> {
        let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'));
        let Some(index) = split else {
            return Err(format!("Invalid duration '{s}'"));
        };
        let (number, unit) = s.split_at(index);
        let value: f64 = number.parse().map_err(|_| format!("Failed to convert '{number}' to number"))?;
        let factor = match unit {
            "ns" => NS,
            "us" => US,
            "ms" => MS,
            "secs" => SECS,
            "mins" => MINS,
            "hrs" => HRS,
            "days" => DAYS,
            "weeks" => WEEKS,
            _ => {
                return Err(format!(
                    "Unknown duration unit '{unit}'; supported units are \
                     'ns', 'us', 'ms', 'secs', 'mins', 'hrs', 'days', and 'weeks'"
                ));
            }
        };
        let nanos = value * factor as f64;
        if !nanos.is_finite() || nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
            return Err("Argument out of the range that a Duration can represent due to int64_t's size limit".into());
        }
        Ok(Dur(nanos as i64))
    }

    /// The duration as a std one for timers; negative durations are zero
    /// (a libprocess `delay()` with a negative duration fires at once).
    pub fn to_std(self) -> StdDuration {
        StdDuration::from_nanos(self.0.max(0) as u64)
    }

    /// Time elapsed as a `Dur` (saturating).
    pub fn from_std(d: StdDuration) -> Dur {
        Dur(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

impl std::ops::Sub for Dur {
    type Output = Dur;
    fn sub(self, rhs: Dur) -> Dur {
        Dur(self.0.saturating_sub(rhs.0))
    }
}

impl std::ops::Add for Dur {
    type Output = Dur;
    fn add(self, rhs: Dur) -> Dur {
        Dur(self.0.saturating_add(rhs.0))
    }
}

/// Written as stout writes a `Duration` (`operator<<`): the largest unit
/// in which it reads as a whole number, or one unit further down.
impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut n = self.0;
        if n < 0 {
            f.write_str("-")?;
            n = n.checked_neg().unwrap_or(i64::MAX);
        }
        let as_unit = |unit: i64| n as f64 / unit as f64;
        // (bucket upper bound, unit, unit name, smaller unit, its name)
        let (value, name) = if n < US {
            (n as f64, "ns")
        } else if n < MS {
            if n % US != 0 { (n as f64, "ns") } else { (as_unit(US), "us") }
        } else {
            const BUCKETS: [(i64, i64, &str, i64, &str); 6] = [
                (SECS, MS, "ms", US, "us"),
                (MINS, SECS, "secs", MS, "ms"),
                (HRS, MINS, "mins", SECS, "secs"),
                (DAYS, HRS, "hrs", MINS, "mins"),
                (WEEKS, DAYS, "days", HRS, "hrs"),
                (i64::MAX, WEEKS, "weeks", DAYS, "days"),
            ];
            let (_, unit, name, smaller, smaller_name) =
                BUCKETS.iter().copied().find(|(bound, ..)| n < *bound).unwrap_or(BUCKETS[5]);
            if n % unit != 0 && n % smaller == 0 { (as_unit(smaller), smaller_name) } else { (as_unit(unit), name) }
        };
        write!(f, "{}{name}", Precision15(value))
    }
}

/// A double as an ostream with precision 15 writes it (`%.15g`).
struct Precision15(f64);

impl fmt::Display for Precision15 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v == v.trunc() && v.abs() < 1e15 {
            return write!(f, "{}", v as i64);
        }
        // 15 significant digits, trailing zeros stripped.
        let digits = 15 - 1 - v.abs().log10().floor() as i32;
        let s = format!("{:.*}", digits.max(0) as usize, v);
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
        f.write_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stout_units() {
        assert_eq!(Dur::parse("5secs"), Ok(Dur::secs(5)));
        assert_eq!(Dur::parse("1.5mins"), Ok(Dur(90 * SECS)));
        assert_eq!(Dur::parse("100ms"), Ok(Dur(100 * MS)));
        assert_eq!(Dur::parse("3ns"), Ok(Dur(3)));
        assert_eq!(Dur::parse("2us"), Ok(Dur(2000)));
        assert_eq!(Dur::parse("1hrs"), Ok(Dur(HRS)));
        assert_eq!(Dur::parse("2days"), Ok(Dur(2 * DAYS)));
        assert_eq!(Dur::parse("1weeks"), Ok(Dur(WEEKS)));
        assert_eq!(Dur::parse(".5secs"), Ok(Dur(SECS / 2)));
    }

    #[test]
    fn rejects_what_stout_rejects() {
        assert!(Dur::parse("5").unwrap_err().contains("Invalid duration '5'"));
        assert!(Dur::parse("").unwrap_err().contains("Invalid duration"));
        assert!(Dur::parse("5s").unwrap_err().contains("Unknown duration unit 's'"));
        assert!(Dur::parse("5 secs").unwrap_err().contains("Unknown duration unit ' secs'"));
        assert!(Dur::parse("secs").unwrap_err().contains("Failed to convert"));
        assert!(Dur::parse("1.2.3secs").unwrap_err().contains("Failed to convert"));
        assert!(Dur::parse("-1secs").is_err());
        assert!(Dur::parse("99999999999weeks").unwrap_err().contains("out of the range"));
    }

    #[test]
    fn writes_like_stout() {
        assert_eq!(Dur::secs(3).to_string(), "3secs");
        assert_eq!(Dur::secs(0).to_string(), "0ns");
        assert_eq!(Dur(1500 * MS).to_string(), "1500ms");
        assert_eq!(Dur(90 * SECS).to_string(), "90secs");
        assert_eq!(Dur(2 * MINS).to_string(), "2mins");
        assert_eq!(Dur(250 * MS).to_string(), "250ms");
        assert_eq!(Dur(1).to_string(), "1ns");
        assert_eq!(Dur(1001).to_string(), "1001ns");
        assert_eq!(Dur(15 * MINS).to_string(), "15mins");
        assert_eq!(Dur(-SECS).to_string(), "-1secs");
        assert_eq!(Dur(1_234_567_891).to_string(), "1.234567891secs");
    }

    #[test]
    fn std_conversions_clamp() {
        assert_eq!(Dur(-5).to_std(), StdDuration::ZERO);
        assert_eq!(Dur::secs(2).to_std(), StdDuration::from_secs(2));
        assert_eq!(Dur::from_std(StdDuration::from_millis(3)), Dur(3 * MS));
        assert_eq!(Dur::secs(5) - Dur::secs(7), Dur::secs(-2));
    }
}
