//! `inspect`'s filters: which entries answer a question about one task,
//! framework, agent, offer or call/event type, in a time range.
//!
//! A request or event is selected when its message names what every given
//! filter asks for (several values of one filter: any of them); an answer
//! goes with its request, a call answering offers (`ACCEPT`, `DECLINE`) is
//! about their agents too, a stream's close goes with the call that opened it, a
//! note with the entry it refers to (a note about a gap, which may have
//! lost anything, always shows). Times are session times (seconds since the
//! session's start: `12.5`, `12.5s`) or wall times (RFC 3339:
//! `2026-11-24T23:01:56.6Z`, placed by the header's `started_at`).
//!
//! ```
//! use mesos_replay::inspect::filter::{Bound, Filter};
//! let filter = Filter { tasks: vec!["t1".into()], since: Some("1.5".parse().unwrap()), ..Filter::default() };
//! assert!(filter.selects_ids());
//! assert_eq!("1.5s".parse::<Bound>().unwrap(), Bound::Session(1_500_000_000));
//! assert_eq!("1970-01-01T00:00:01Z".parse::<Bound>().unwrap(), Bound::Wall(1_000_000_000));
//! assert!("yesterday".parse::<Bound>().is_err());
//! ```

use std::str::FromStr;

/// A point in time for `--since` and `--until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Nanoseconds since the session's start.
    Session(u64),
    /// Nanoseconds since the Unix epoch (UTC).
    Wall(i128),
}

impl FromStr for Bound {
    type Err = String;

    fn from_str(text: &str) -> Result<Bound, String> {
        let seconds = text.strip_suffix('s').unwrap_or(text);
        if !seconds.is_empty() && seconds.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return match seconds.parse::<f64>() {
                Ok(x) if x.is_finite() && x < 1e10 => Ok(Bound::Session((x * 1e9).round() as u64)),
                _ => Err(format!("{text:?}: not a number of seconds")),
            };
        }
        parse_rfc3339(text).map(Bound::Wall).ok_or_else(|| {
            format!(
                "{text:?}: neither seconds since the session's start (12.5) nor an RFC 3339 time (2026-11-24T23:01:56Z)"
            )
        })
    }
}

impl Bound {
    /// This bound as nanoseconds since the session's start, for a session
    /// that started at `start` (Unix nanoseconds, when its header says); a
    /// wall time before the start is 0, and `None` when the start is not known.
    ///
    /// ```
    /// use mesos_replay::inspect::filter::Bound;
    /// assert_eq!(Bound::Wall(5_000).session_ns(Some(1_000)), Some(4_000));
    /// assert_eq!(Bound::Wall(5_000).session_ns(None), None);
    /// assert_eq!(Bound::Session(7).session_ns(None), Some(7));
    /// ```
    pub fn session_ns(self, start: Option<i128>) -> Option<u64> {
        match self {
            Bound::Session(ns) => Some(ns),
            Bound::Wall(wall) => start.map(|start| (wall - start).clamp(0, u64::MAX as i128) as u64),
        }
    }
}

/// An RFC 3339 time (`2026-11-24T23:01:56.521Z`, `...+01:00`; `t`, `z`
/// and a space for `T` accepted) as nanoseconds since the Unix epoch.
///
/// ```
/// use mesos_replay::inspect::filter::parse_rfc3339;
/// assert_eq!(parse_rfc3339("2026-11-24T21:30:00.123456789Z"), Some(1_795_555_800_123_456_789));
/// assert_eq!(parse_rfc3339("2026-11-24T22:30:00+01:00"), Some(1_795_555_800_000_000_000));
/// assert_eq!(parse_rfc3339("2026-13-24T22:30:00Z"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut nanos: i128 = 0;
    if b[at] == b'.' {
        let start = at + 1;
        at = start;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
        let digits = &text[start..at];
        if digits.is_empty() {
            return None;
        }
        let kept = &digits[..digits.len().min(9)];
        nanos = kept.parse::<i128>().ok()? * 10i128.pow(9 - kept.len() as u32);
    }
    let offset_secs: i64 = match &b[at..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == at + 6 && b[at + 3] == b':' => {
            let (h, m) = (num(at + 1..at + 3)?, num(at + 4..at + 6)?);
            let secs = h * 3600 + m * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs as i128 * 1_000_000_000 + nanos)
}

/// The filters of `inspect` (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `--task`: task ids.
    pub tasks: Vec<String>,
    /// `--framework`: framework ids.
    pub frameworks: Vec<String>,
    /// `--agent`: agent ids.
    pub agents: Vec<String>,
    /// `--offer`: offer ids.
    pub offers: Vec<String>,
    /// `--type`: call or event types (`ACCEPT`, `UPDATE`).
    pub types: Vec<String>,
    /// `--since`: the first time shown.
    pub since: Option<Bound>,
    /// `--until`: the last time shown.
    pub until: Option<Bound>,
}

impl Filter {
    /// Whether any filter other than time is given.
    pub fn selects_ids(&self) -> bool {
        !(self.tasks.is_empty()
            && self.frameworks.is_empty()
            && self.agents.is_empty()
            && self.offers.is_empty()
            && self.types.is_empty())
    }

    /// Whether a message with these ids, of type `name`, in framework
    /// `framework` (from its stream or summary) is selected.
    pub(crate) fn matches(&self, ids: &Owned, name: Option<&str>, framework: Option<&str>) -> bool {
        let any = |wanted: &[String], have: &[String]| wanted.is_empty() || wanted.iter().any(|w| have.contains(w));
        any(&self.tasks, &ids.tasks)
            && any(&self.agents, &ids.agents)
            && any(&self.offers, &ids.offers)
            && (self.frameworks.is_empty()
                || self.frameworks.iter().any(|w| ids.frameworks.contains(w) || framework == Some(w.as_str())))
            && (self.types.is_empty() || name.is_some_and(|n| self.types.iter().any(|t| t.eq_ignore_ascii_case(n))))
    }
}

/// A message's ids, owned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Owned {
    pub frameworks: Vec<String>,
    pub tasks: Vec<String>,
    pub agents: Vec<String>,
    pub offers: Vec<String>,
}

impl Owned {
    pub fn of(ids: &mesos_codec::peek::Ids<'_>) -> Owned {
        let own = |v: &[std::borrow::Cow<'_, str>]| v.iter().map(|s| s.to_string()).collect();
        Owned {
            frameworks: own(&ids.framework_ids),
            tasks: own(&ids.task_ids),
            agents: own(&ids.agent_ids),
            offers: own(&ids.offer_ids),
        }
    }
}
