//! Logging to stderr in glog's line format, as the C++ executor logs:
//! `I0102 03:04:05.678901 12345 mesos-executor] message` (severity
//! letter, month and day, time of day in UTC, pid, then the prefix).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// glog's severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Fatal,
}

/// The line prefix for `severity` at `unix_micros` (UTC) from `pid`.
pub fn prefix(severity: Severity, unix_micros: u128, pid: u32) -> String {
    let letter = match severity {
        Severity::Info => 'I',
        Severity::Warning => 'W',
        Severity::Error => 'E',
        Severity::Fatal => 'F',
    };
    let secs = (unix_micros / 1_000_000) as i64;
    let micros = unix_micros % 1_000_000;
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (_, month, day) = civil_from_days(days);
    let (h, m, s) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    format!("{letter}{month:02}{day:02} {h:02}:{m:02}:{s:02}.{micros:06} {pid:>5} mesos-executor]")
}

/// Howard Hinnant's `civil_from_days`: (year, month, day) of a day count
/// since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes one log line to stderr (one `write` per line, so lines from
/// threads do not interleave). In unit tests only with `EXECUTOR_TEST_LOG`
/// set.
pub fn write(severity: Severity, message: &str) {
    // Unit tests keep quiet unless asked.
    if cfg!(test) && std::env::var_os("EXECUTOR_TEST_LOG").is_none() {
        return;
    }
    let micros = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_micros();
    let line = format!("{} {message}\n", prefix(severity, micros, std::process::id()));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Severity::Info, &format!($($arg)*)) };
}

#[macro_export]
macro_rules! warning {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Severity::Warning, &format!($($arg)*)) };
}

#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Severity::Error, &format!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glog_prefix() {
        // 2020-11-24 15:38:37.123456 UTC
        let micros = 1_606_232_317_123_456u128;
        assert_eq!(prefix(Severity::Info, micros, 42), "I1124 15:38:37.123456    42 mesos-executor]");
        assert_eq!(prefix(Severity::Error, 0, 123_456), "E0101 00:00:00.000000 123456 mesos-executor]");
        // A leap day.
        assert_eq!(&prefix(Severity::Warning, 951_782_400_000_000, 1)[..5], "W0229");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(18_590), (2020, 11, 24));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
