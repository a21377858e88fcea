//! A timed fault scenario (`mesos-replay sim --faults FILE`): which faults,
//! when, for how long, in a small declarative format, one fault a line.
//!
//! ```text
//! # A comment runs from `#` to the end of its line; blank lines are skipped.
//! at 2.5: partition for=8                      # at a time (seconds after the start)
//! after 3rd TASK_RUNNING: duplicate-update     # on an event the master sends
//! after 1st ACCEPT + 0.5s: crash for=3         # on a call it accepted, half a second later
//! after 2nd OFFERS of framework web: burst events=500 framework=web
//! every 2nd TASK_RUNNING of task t1: lose-update for=1 task=t1
//! ```
//!
//! A line is `WHEN: FAULT PARAM=VALUE ...`:
//!
//! - `WHEN` is `at SECONDS` or `after|every ORDINAL WHAT [of framework
//!   NAME] [of task ID] [+ SECONDS]`. `after` starts the fault once, when
//!   the ORDINAL-th WHAT happens; `every` each time the count reaches a
//!   multiple of ORDINAL (`every 2nd`: the 2nd, the 4th, ...), how often
//!   the fault comes back. ORDINAL is a whole number, with or without its
//!   English suffix (`3`, `3rd`); `the` may come before it. WHAT is a task
//!   state (`TASK_RUNNING`: an `UPDATE` of that state), an event type
//!   (`OFFERS`, `UPDATE`, `HEARTBEAT`, ...: an event of that type) or a
//!   call type (`ACCEPT`, `ACKNOWLEDGE`, ...: a call the master accepted);
//!   `MESSAGE`, both an event and a call, says which with a word after it
//!   (`MESSAGE event`, `MESSAGE call`; the others may too). Events count as the master sends
//!   them on a framework's stream (re-sent updates and a fault's own events
//!   included); `of framework NAME` counts only the framework of that name
//!   (`FrameworkInfo.name`), `of task ID` only the updates, acknowledgements
//!   and kills of that task. `+ SECONDS` delays the fault after the event.
//!   Seconds may end in `s`.
//! - `FAULT PARAM=VALUE ...` is a fault as `--fault` takes it
//!   ([`Fault::parse`]): its name, then its parameters separated by spaces
//!   or commas, `at` aside (the line says when).
//!
//! A line that does not parse is an error naming its line and column:
//!
//! ```
//! use mesos_replay::sim::faults::scenario::parse;
//!
//! let faults = parse("at 2: partition for=8\nafter 3rd TASK_RUNNING: duplicate-update\n").unwrap();
//! assert_eq!(faults.len(), 2);
//! assert_eq!(faults[0].to_string(), "partition:at=2,for=8");
//! let err = parse("at 2: partition for=8\nafter 3rd TASK_RUNING: crash\n").unwrap_err();
//! assert_eq!((err.line, err.column), (2, 11));
//! assert_eq!(err.to_string(), "line 2, column 11: unknown event `TASK_RUNING` (a task state such as \
//!     TASK_RUNNING, an event type such as OFFERS, or a call type such as ACCEPT)");
//! ```
//!
//! Deterministic: a trigger counts what the master sends and accepts,
//! which depends only on `--seed` and the calls, so the same seed, calls
//! and scenario start the same faults at the same moments.

use std::fmt;
use std::time::Duration;

use mesos_codec::v1::TaskState;
use mesos_codec::v1::scheduler::{call, event};

use super::Fault;

/// What a trigger counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// An `UPDATE` event whose status has this state (`TASK_RUNNING`).
    State(String),
    /// An event of this type (`OFFERS`).
    Event(String),
    /// A call of this type the master accepted (`ACCEPT`).
    Call(String),
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::State(s) => f.write_str(s),
            What::Event(e) if e == "MESSAGE" => f.write_str("MESSAGE event"),
            What::Event(e) => f.write_str(e),
            What::Call(c) if c == "MESSAGE" => f.write_str("MESSAGE call"),
            What::Call(c) => f.write_str(c),
        }
    }
}

/// When a scenario's fault starts: on the `nth` `what` (each `nth` one
/// with `every`), `delay` after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// What is counted.
    pub what: What,
    /// Which one (from 1).
    pub nth: u64,
    /// Each `nth` one (`every`), or only the first time (`after`).
    pub every: bool,
    /// Count only this framework's (`of framework NAME`).
    pub framework: Option<String>,
    /// Count only this task's (`of task ID`).
    pub task: Option<String>,
    /// How long after the event the fault starts.
    pub delay: Duration,
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl fmt::Display for Trigger {
    /// As a scenario line's `WHEN`: `after 3rd TASK_RUNNING of task t1 + 0.5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.every { "every" } else { "after" };
        write!(f, "{how} {} {}", ordinal(self.nth), self.what)?;
        if let Some(framework) = &self.framework {
            write!(f, " of framework {framework}")?;
        }
        if let Some(task) = &self.task {
            write!(f, " of task {task}")?;
        }
        if !self.delay.is_zero() {
            write!(f, " + {}s", self.delay.as_secs_f64())?;
        }
        Ok(())
    }
}

/// Something the master did that a trigger may count.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen<'a> {
    /// An event's type (and an `UPDATE`'s state), or a call's type.
    pub(crate) call: bool,
    pub(crate) type_name: &'a str,
    pub(crate) state: Option<&'a str>,
    /// Its framework's name (`""`: not known).
    pub(crate) framework: &'a str,
    pub(crate) task: Option<&'a str>,
}

impl Trigger {
    /// Whether `seen` is one of what it counts.
    pub(crate) fn counts(&self, seen: &Seen<'_>) -> bool {
        let what = match &self.what {
            What::State(s) => !seen.call && seen.state == Some(s.as_str()),
            What::Event(e) => !seen.call && seen.type_name == e,
            What::Call(c) => seen.call && seen.type_name == c,
        };
        what && self.framework.as_deref().is_none_or(|f| f == seen.framework)
            && self.task.as_deref().is_none_or(|t| seen.task == Some(t))
    }

    /// Whether the `count`-th one counted starts the fault.
    pub(crate) fn fires(&self, count: u64) -> bool {
        if self.every { count.is_multiple_of(self.nth) } else { count == self.nth }
    }
}

/// A scenario line that does not parse: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// Its line (from 1).
    pub line: usize,
    /// Its column (from 1, in characters).
    pub column: usize,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.problem)
    }
}

impl std::error::Error for ScenarioError {}

/// A word of a line and the column it starts at.
#[derive(Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    column: usize,
}

/// The words of `text` (separated by white space; `sep_comma`: commas too),
/// `text` starting at column `start`.
fn words(text: &str, start: usize, sep_comma: bool) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut begin: Option<(usize, usize)> = None;
    for (column, (byte, c)) in text.char_indices().enumerate() {
        let sep = c.is_whitespace() || (sep_comma && c == ',');
        match (sep, begin) {
            (true, Some((b, col))) => {
                out.push(Word { text: &text[b..byte], column: start + col });
                begin = None;
            }
            (false, None) => begin = Some((byte, column)),
            _ => {}
        }
    }
    if let Some((b, col)) = begin {
        out.push(Word { text: &text[b..], column: start + col });
    }
    out
}

fn seconds(word: &Word<'_>) -> Result<Duration, (usize, String)> {
    let text = word.text.strip_suffix('s').unwrap_or(word.text);
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| (word.column, format!("`{}` is not a number of seconds (zero or more)", word.text)))
}

fn parse_ordinal(word: &Word<'_>) -> Result<u64, (usize, String)> {
    let digits = word.text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
        (word.column, format!("`{}` is not an ordinal (1st, 2nd, 3rd, 4th, ... or 1, 2, 3)", word.text))
    })?;
    if digits.len() != word.text.len() && ordinal(n) != word.text {
        return Err((word.column, format!("`{}`: did you mean `{}`?", word.text, ordinal(n))));
    }
    Ok(n)
}

fn known_what(name: &str) -> (bool, bool, bool) {
    let state = name.starts_with("TASK_") && TaskState::from_str_name(name).is_some();
    let event = event::Type::from_str_name(name).is_some_and(|t| t != event::Type::Unknown);
    let call = call::Type::from_str_name(name).is_some_and(|t| t != call::Type::Unknown);
    (state, event, call)
}

/// The `WHEN` of a line: `None` for `at SECONDS` (with the seconds), or a
/// trigger.
fn parse_when(when: &[Word<'_>], colon: usize) -> Result<(Duration, Option<Trigger>), (usize, String)> {
    let Some(first) = when.first() else {
        return Err((colon, "no `at SECONDS`, `after ...` or `every ...` before the `:`".into()));
    };
    let expected = |w: Option<&Word<'_>>, what: &str| -> (usize, String) {
        match w {
            Some(w) => (w.column, format!("`{}`: expected {what}", w.text)),
            None => (colon, format!("expected {what} before the `:`")),
        }
    };
    match first.text {
        "at" => {
            let at = when.get(1).ok_or_else(|| expected(None, "the seconds after `at`"))?;
            let at = seconds(at)?;
            if let Some(extra) = when.get(2) {
                return Err(expected(Some(extra), "the `:` after `at SECONDS`"));
            }
            Ok((at, None))
        }
        "after" | "every" => {
            let mut rest = when[1..].iter().peekable();
            if rest.peek().is_some_and(|w| w.text == "the") {
                rest.next();
            }
            let nth = parse_ordinal(rest.next().ok_or_else(|| expected(None, "an ordinal (3rd)"))?)?;
            let what_word =
                rest.next().ok_or_else(|| expected(None, "what to count (TASK_RUNNING, OFFERS, ACCEPT)"))?;
            let name = what_word.text;
            let (state, event, call) = known_what(name);
            let qualifier = rest.peek().map(|w| w.text);
            let what = match (state, event, call, qualifier) {
                (true, _, _, _) => What::State(name.into()),
                (_, true, _, Some("event")) => {
                    rest.next();
                    What::Event(name.into())
                }
                (_, _, true, Some("call")) => {
                    rest.next();
                    What::Call(name.into())
                }
                (_, true, true, _) => {
                    return Err((
                        what_word.column,
                        format!("`{name}` is both an event and a call: write `{name} event` or `{name} call`"),
                    ));
                }
                (_, true, false, _) => What::Event(name.into()),
                (_, false, true, _) => What::Call(name.into()),
                _ => {
                    return Err((
                        what_word.column,
                        format!(
                            "unknown event `{name}` (a task state such as TASK_RUNNING, an event type such as \
                             OFFERS, or a call type such as ACCEPT)"
                        ),
                    ));
                }
            };
            let (mut framework, mut task, mut delay) = (None, None, Duration::ZERO);
            while let Some(word) = rest.next() {
                match word.text {
                    "of" => {
                        let which = rest.next().ok_or_else(|| expected(None, "`framework NAME` or `task ID`"))?;
                        let slot = match which.text {
                            "framework" => &mut framework,
                            "task" => &mut task,
                            _ => return Err(expected(Some(which), "`framework` or `task`")),
                        };
                        if slot.is_some() {
                            return Err((which.column, format!("`of {}` given twice", which.text)));
                        }
                        let value = rest.next().ok_or_else(|| expected(None, "a name or id"))?;
                        *slot = Some(value.text.to_owned());
                    }
                    "+" => {
                        let secs = rest.next().ok_or_else(|| expected(None, "the seconds after `+`"))?;
                        delay = seconds(secs)?;
                    }
                    text if text.starts_with('+') && text.len() > 1 => {
                        delay = seconds(&Word { text: &text[1..], column: word.column + 1 })?;
                    }
                    _ => return Err(expected(Some(word), "`of framework NAME`, `of task ID`, `+ SECONDS` or the `:`")),
                }
            }
            let every = first.text == "every";
            Ok((Duration::ZERO, Some(Trigger { what, nth, every, framework, task, delay })))
        }
        other => Err((first.column, format!("`{other}`: a line starts with `at`, `after` or `every`"))),
    }
}

/// The fault part of a line: `NAME PARAM=VALUE ...`, checked word by word so
/// that an error names the word at fault.
fn parse_fault(line_words: &[Word<'_>], colon: usize, at: Duration) -> Result<Fault, (usize, String)> {
    let Some(first) = line_words.first() else {
        return Err((colon + 1, "no fault after the `:`".into()));
    };
    // `NAME:PARAM=VALUE,...` (a `--fault` SPEC) as well as `NAME PARAM=VALUE ...`.
    let mut params: Vec<Word<'_>> = Vec::new();
    let name = match first.text.split_once(':') {
        Some((name, rest)) => {
            let start = first.column + name.chars().count() + 1;
            params.extend(words(rest, start, true));
            Word { text: name, column: first.column }
        }
        None => *first,
    };
    params.extend_from_slice(&line_words[1..]);
    let problem = |e: super::SpecError| e.problem;
    let mut spec = name.text.to_owned();
    Fault::parse(&spec).map_err(|e| (name.column, problem(e)))?;
    let mut sep = ':';
    for word in &params {
        if word.text.split_once('=').is_some_and(|(k, _)| k.trim() == "at") || word.text == "at" {
            return Err((word.column, "`at`: the line says when (`at SECONDS:` before the `:`)".into()));
        }
        spec.push(sep);
        spec.push_str(word.text);
        sep = ',';
        Fault::parse(&spec).map_err(|e| (word.column, problem(e)))?;
    }
    let mut fault = Fault::parse(&spec).map_err(|e| (name.column, problem(e)))?;
    fault.at = at;
    Ok(fault)
}

/// Parses a scenario: the faults of its lines, in order (those started by
/// an event carry their [`Trigger`]).
///
/// ```
/// use mesos_replay::sim::faults::scenario::parse;
/// let faults = parse("every 2nd TASK_RUNNING of task t1 + 1s: duplicate-update task=t1\n").unwrap();
/// let trigger = faults[0].trigger.as_ref().unwrap();
/// assert_eq!((trigger.nth, trigger.every, trigger.task.as_deref()), (2, true, Some("t1")));
/// assert_eq!(trigger.to_string(), "every 2nd TASK_RUNNING of task t1 + 1s");
/// ```
pub fn parse(text: &str) -> Result<Vec<Fault>, ScenarioError> {
    let mut faults = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fail = |(column, problem): (usize, String)| ScenarioError { line: n + 1, column, problem };
        let line = line.split_once('#').map_or(line, |(before, _)| before);
        if line.trim().is_empty() {
            continue;
        }
        let Some((when, what)) = line.split_once(':') else {
            let column = line.chars().count() + 1;
            return Err(fail((column, "no `:` between when and the fault (`at 3: crash`)".into())));
        };
        let colon = when.chars().count() + 1;
        let (at, trigger) = parse_when(&words(when, 1, false), colon).map_err(fail)?;
        let mut fault = parse_fault(&words(what, colon + 1, true), colon, at).map_err(fail)?;
        fault.trigger = trigger;
        faults.push(fault);
    }
    Ok(faults)
}

/// A scenario's fault as a line of the scenario: `after 3rd TASK_RUNNING:
/// duplicate-update:...` (what `sim` prints at start); it parses back to
/// the same fault.
///
/// ```
/// use mesos_replay::sim::faults::scenario::{describe, parse};
/// let faults = parse("after the 3 TASK_RUNNING +1: crash for=2\n").unwrap();
/// assert_eq!(describe(&faults[0]), "after 3rd TASK_RUNNING + 1s: crash:for=2");
/// ```
pub fn describe(fault: &Fault) -> String {
    // Its `at` is the line's; the rest as `--fault` writes it.
    let spec = fault.to_string();
    let spec = spec.replacen(&format!(":at={}", fault.at.as_secs_f64()), ":", 1).replacen(":,", ":", 1);
    let spec = spec.strip_suffix(':').unwrap_or(&spec);
    match &fault.trigger {
        Some(trigger) => format!("{trigger}: {spec}"),
        None => format!("at {}: {spec}", fault.at.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::Kind;

    fn err(text: &str) -> (usize, usize, String) {
        let e = parse(text).unwrap_err();
        (e.line, e.column, e.problem)
    }

    #[test]
    fn lines() {
        let faults = parse(
            "# a scenario\n\nat 2.5s: partition for=8   # comment\nafter the 3rd TASK_RUNNING: duplicate-update\n\
             after 1st ACCEPT +0.5: crash for=3\nevery 2 OFFERS of framework web: burst events=5,framework=web\n\
             after 1 MESSAGE call: stale-instance\n",
        )
        .unwrap();
        assert_eq!(faults.len(), 5);
        assert_eq!((faults[0].at, faults[0].duration), (Duration::from_millis(2500), Some(Duration::from_secs(8))));
        assert!(faults[0].trigger.is_none());
        let t = faults[1].trigger.clone().unwrap();
        assert_eq!((t.what, t.nth, t.every), (What::State("TASK_RUNNING".into()), 3, false));
        let t = faults[2].trigger.clone().unwrap();
        assert_eq!((t.what, t.delay), (What::Call("ACCEPT".into()), Duration::from_millis(500)));
        assert_eq!(faults[2].kind, Kind::Crash);
        let t = faults[3].trigger.clone().unwrap();
        assert_eq!(
            (t.what, t.nth, t.every, t.framework.as_deref()),
            (What::Event("OFFERS".into()), 2, true, Some("web"))
        );
        assert_eq!((faults[3].kind.clone(), faults[3].framework.as_deref()), (Kind::Burst { events: 5 }, Some("web")));
        assert_eq!(faults[4].trigger.clone().unwrap().what, What::Call("MESSAGE".into()));
        assert_eq!(describe(&faults[0]), "at 2.5: partition:for=8");
        assert_eq!(describe(&faults[2]), "after 1st ACCEPT + 0.5s: crash:for=3");
        assert_eq!(describe(&faults[1]), "after 3rd TASK_RUNNING: duplicate-update:delay=0");
        assert_eq!(describe(&faults[3]), "every 2nd OFFERS of framework web: burst:framework=web,events=5");
        // What `describe` writes parses back to the same fault.
        for fault in &faults {
            assert_eq!(parse(&describe(fault)).unwrap(), vec![fault.clone()], "{}", describe(fault));
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(err("at 2 partition"), (1, 15, "no `:` between when and the fault (`at 3: crash`)".into()));
        assert_eq!(err("\n at x: crash").0, 2);
        assert_eq!(err("\n at x: crash").1, 5);
        assert_eq!(err("at 1: partiton").1, 7);
        assert!(err("at 1: partiton").2.contains("unknown fault `partiton`"));
        assert_eq!(
            err("at 1: partition for=8 fro=3"),
            (1, 23, "partition: unknown parameter `fro` (known: at, for)".into())
        );
        assert_eq!(err("at 1: partition at=3").1, 17);
        assert_eq!(err("after 3th TASK_RUNNING: crash"), (1, 7, "`3th`: did you mean `3rd`?".into()));
        assert_eq!(err("after 0 TASK_RUNNING: crash").1, 7);
        assert_eq!(err("after 1 MESSAGE: crash").1, 9);
        assert_eq!(err("after 1 OFFERS of agent x: crash"), (1, 19, "`agent`: expected `framework` or `task`".into()));
        assert_eq!(err("after 1 OFFERS + x: crash").1, 18);
        assert_eq!(err("after 1 OFFERS: "), (1, 16, "no fault after the `:`".into()));
        assert_eq!(err(": crash"), (1, 1, "no `at SECONDS`, `after ...` or `every ...` before the `:`".into()));
        assert_eq!(err("when 1: crash").1, 1);
        assert_eq!(err("at 1 2: crash").1, 6);
        assert_eq!(err("after 1: crash").1, 8);
        assert!(err("at 1: partition framework=x").2.contains("unknown parameter `framework`"));
        // Columns count characters, not bytes.
        assert_eq!(err("at é: crash").1, 4);
    }

    #[test]
    fn counting() {
        let t = parse("every 2nd TASK_RUNNING of task t1: crash").unwrap()[0].trigger.clone().unwrap();
        let seen = |state, task| Seen { call: false, type_name: "UPDATE", state: Some(state), framework: "f", task };
        assert!(t.counts(&seen("TASK_RUNNING", Some("t1"))));
        assert!(!t.counts(&seen("TASK_RUNNING", Some("t2"))));
        assert!(!t.counts(&seen("TASK_STARTING", Some("t1"))));
        assert!(!t.fires(1) && t.fires(2) && !t.fires(3) && t.fires(4));
        let once = parse("after 2 ACCEPT: crash").unwrap()[0].trigger.clone().unwrap();
        assert!(once.counts(&Seen { call: true, type_name: "ACCEPT", state: None, framework: "", task: None }));
        assert!(!once.counts(&Seen { call: false, type_name: "ACCEPT", state: None, framework: "", task: None }));
        assert!(!once.fires(1) && once.fires(2) && !once.fires(4));
    }

    proptest::proptest! {
        /// Any text: faults or an error with a line and column inside the
        /// text, never a panic.
        #[test]
        fn any_text(text in "[a-zA-Z_:=,.0-9 +#\n-]{0,80}") {
            match parse(&text) {
                Ok(faults) => for fault in faults {
                    proptest::prop_assert_eq!(parse(&describe(&fault)), Ok(vec![fault]));
                },
                Err(e) => {
                    let line = text.lines().nth(e.line - 1);
                    proptest::prop_assert!(line.is_some());
                    proptest::prop_assert!(e.column >= 1 && e.column <= line.unwrap().chars().count() + 1);
                }
            }
        }
    }
}
