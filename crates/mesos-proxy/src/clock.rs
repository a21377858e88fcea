//! UTC wall-clock stamps for session headers and file names (no time crate).

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant, split into civil fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

impl Utc {
    /// Now.
    pub fn now() -> Utc {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Utc::from_unix(since.as_secs() as i64, since.subsec_nanos())
    }

    /// The instant `secs` seconds and `nanos` nanoseconds after the Unix epoch.
    ///
    /// ```
    /// let t = mesos_proxy::clock::Utc::from_unix(1_795_555_800, 123_456_789);
    /// assert_eq!(t.rfc3339(), "2026-11-24T21:30:00.123456789Z");
    /// assert_eq!(t.file_stamp(), "20261124T213000.123Z");
    /// ```
    pub fn from_unix(secs: i64, nanos: u32) -> Utc {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Utc { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60, nanos }
    }

    /// RFC 3339 with nanoseconds: `2026-11-24T21:30:00.123456789Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.nanos
        )
    }

    /// The file-name form: `20261124T213000.123Z`.
    pub fn file_stamp(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanos / 1_000_000
        )
    }
}
