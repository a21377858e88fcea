//! Faults on a recording (`mesos-replay serve --fault SPEC`): a captured
//! session played back with the failure a healthy run did not show.
//!
//! A SPEC is `NAME[:PARAM=VALUE,...]`. Each fault starts at one recorded
//! event, chosen with `event=N` (the session's N-th event, in file order,
//! counting from 1 across its subscriptions) or with `type=TYPE` and
//! `nth=N` (the N-th event of that type: `UPDATE`, `OFFERS`, `HEARTBEAT`,
//! ...):
//!
//! | name | what it does | its own parameters | starts at |
//! |---|---|---|---|
//! | `duplicate` | the event is sent twice in a row | | `type=UPDATE,nth=1` |
//! | `drop` | the event is never sent | | `type=UPDATE,nth=1` |
//! | `burst` | this event and the next `events` - 1 go at once, without their recorded gaps | `events=N` (100) | `event=1` |
//! | `rechunk` | each record from this one on (`events` of them; all by default) is cut into `pieces` HTTP chunks, the first cut inside its size line | `pieces=N` (3), `events=N`, `seed=N` (0) | `event=1` |
//! | `stall` | the stream is silent for `for` seconds before the event, its connection open | `for=SECONDS` (5) | `type=UPDATE,nth=1` |
//! | `cut` | the stream's connection is cut before the event, without its last chunk; the framework's next SUBSCRIBE gets the stream back (the recorded `SUBSCRIBED`, then the event and the rest) | | `type=UPDATE,nth=1` |
//!
//! ```
//! use mesos_replay::serve::faults::{ServeFault, Select};
//! let f = ServeFault::parse("duplicate:type=OFFERS,nth=2").unwrap();
//! assert_eq!(f.select, Select::Type { type_name: "OFFERS".into(), nth: 2 });
//! assert_eq!(f.to_string(), "duplicate:type=OFFERS,nth=2");
//! assert!(ServeFault::parse("partition").unwrap_err().to_string().contains("unknown fault `partition`"));
//! ```
//!
//! Deterministic: which event a fault meets depends only on the recording,
//! and `rechunk`'s cuts on its `seed`.

use std::fmt;
use std::time::Duration;

use mesos_codec::v1::scheduler::event;

use crate::sim::ids::Rng;

/// The faults `serve` offers.
pub const NAMES: [&str; 6] = ["duplicate", "drop", "burst", "rechunk", "stall", "cut"];

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum ServeKind {
    /// The event is sent twice.
    Duplicate,
    /// The event is not sent.
    Drop,
    /// `events` events from this one go without their recorded gaps.
    Burst {
        /// How many.
        events: u64,
    },
    /// Records cut into `pieces` chunks.
    Rechunk {
        /// Chunks per record.
        pieces: usize,
        /// How many records (`None`: every one from here on).
        events: Option<u64>,
        /// The seed of the cut offsets.
        seed: u64,
    },
    /// The stream silent for a while before the event.
    Stall {
        /// How long.
        duration: Duration,
    },
    /// The stream's connection cut before the event; the framework
    /// subscribes again to get the rest.
    Cut,
}

/// Which recorded event a fault starts at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Select {
    /// The session's `n`-th event (from 1, file order).
    Event(u64),
    /// The `nth` event of this type.
    Type {
        /// The event type (`UPDATE`).
        type_name: String,
        /// Which one (from 1).
        nth: u64,
    },
}

/// One fault of `serve --fault`.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeFault {
    /// What it does.
    pub kind: ServeKind,
    /// Where it starts.
    pub select: Select,
}

/// A SPEC that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeSpecError {
    /// The SPEC as given.
    pub spec: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for ServeSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--fault {:?}: {}", self.spec, self.problem)
    }
}

impl std::error::Error for ServeSpecError {}

fn whole(name: &str, key: &str, value: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    value
        .parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("{name}: `{key}={value}`: a whole number from {} to {}", range.start(), range.end()))
}

impl ServeFault {
    /// Parses `NAME[:PARAM=VALUE,...]`.
    ///
    /// ```
    /// use mesos_replay::serve::faults::{ServeFault, ServeKind, Select};
    /// let f = ServeFault::parse("rechunk:pieces=5,seed=7").unwrap();
    /// assert_eq!(f.kind, ServeKind::Rechunk { pieces: 5, events: None, seed: 7 });
    /// assert_eq!(f.select, Select::Event(1));
    /// let err = ServeFault::parse("stall:for=x").unwrap_err();
    /// assert_eq!(err.to_string(), "--fault \"stall:for=x\": stall: `for=x` is not a number of seconds");
    /// ```
    pub fn parse(spec: &str) -> Result<ServeFault, ServeSpecError> {
        ServeFault::parse_inner(spec).map_err(|problem| ServeSpecError { spec: spec.to_owned(), problem })
    }

    fn parse_inner(spec: &str) -> Result<ServeFault, String> {
        let (name, params) = match spec.split_once(':') {
            Some((name, params)) => (name.trim(), Some(params)),
            None => (spec.trim(), None),
        };
        let update = || Select::Type { type_name: "UPDATE".into(), nth: 1 };
        let (own, mut kind, mut select): (&[&str], ServeKind, Select) = match name {
            "duplicate" => (&[], ServeKind::Duplicate, update()),
            "drop" => (&[], ServeKind::Drop, update()),
            "burst" => (&["events"], ServeKind::Burst { events: 100 }, Select::Event(1)),
            "rechunk" => (
                &["pieces", "events", "seed"],
                ServeKind::Rechunk { pieces: 3, events: None, seed: 0 },
                Select::Event(1),
            ),
            "stall" => (&["for"], ServeKind::Stall { duration: Duration::from_secs(5) }, update()),
            "cut" => (&[], ServeKind::Cut, update()),
            "" => return Err(format!("no fault name (known: {})", NAMES.join(", "))),
            other => return Err(format!("unknown fault `{other}` (known: {})", NAMES.join(", "))),
        };
        let (mut event_n, mut type_name, mut nth) = (None, None, None);
        let mut seen: Vec<&str> = Vec::new();
        for param in params.into_iter().flat_map(|p| p.split(',')) {
            let param = param.trim();
            let Some((key, value)) = param.split_once('=') else {
                return Err(format!("{name}: `{param}` is not PARAM=VALUE"));
            };
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return Err(format!("{name}: `{key}` given twice"));
            }
            seen.push(key);
            match (key, &mut kind) {
                ("event", _) => event_n = Some(whole(name, key, value, 1..=u64::MAX)?),
                ("type", _) => {
                    if event::Type::from_str_name(value).is_none_or(|t| t == event::Type::Unknown) {
                        return Err(format!(
                            "{name}: `type={value}`: not an event type (UPDATE, OFFERS, HEARTBEAT, ...)"
                        ));
                    }
                    type_name = Some(value.to_owned());
                }
                ("nth", _) => nth = Some(whole(name, key, value, 1..=u64::MAX)?),
                ("events", ServeKind::Burst { events }) => *events = whole(name, key, value, 1..=u64::MAX)?,
                ("events", ServeKind::Rechunk { events, .. }) => *events = Some(whole(name, key, value, 1..=u64::MAX)?),
                ("pieces", ServeKind::Rechunk { pieces, .. }) => *pieces = whole(name, key, value, 2..=64)? as usize,
                ("seed", ServeKind::Rechunk { seed, .. }) => *seed = whole(name, key, value, 0..=u64::MAX)?,
                ("for", ServeKind::Stall { duration }) => {
                    let secs: f64 =
                        value.parse().map_err(|_| format!("{name}: `for={value}` is not a number of seconds"))?;
                    *duration = Duration::try_from_secs_f64(secs)
                        .ok()
                        .filter(|d| !d.is_zero())
                        .ok_or_else(|| format!("{name}: `for={value}`: seconds must be more than zero"))?;
                }
                _ => {
                    let known: Vec<&str> = ["event", "type", "nth"].iter().chain(own).copied().collect();
                    return Err(format!("{name}: unknown parameter `{key}` (known: {})", known.join(", ")));
                }
            }
        }
        match (event_n, type_name, nth) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(format!("{name}: `event` or `type`/`nth`, not both"));
            }
            (Some(n), None, None) => select = Select::Event(n),
            (None, Some(type_name), nth) => select = Select::Type { type_name, nth: nth.unwrap_or(1) },
            (None, None, Some(n)) => match &mut select {
                Select::Type { nth, .. } => *nth = n,
                Select::Event(_) => return Err(format!("{name}: `nth` needs a `type`")),
            },
            (None, None, None) => {}
        }
        Ok(ServeFault { kind, select })
    }

    /// Its name.
    ///
    /// ```
    /// use mesos_replay::serve::faults::ServeFault;
    /// assert_eq!(ServeFault::parse("stall:for=2").unwrap().name(), "stall");
    /// ```
    pub fn name(&self) -> &'static str {
        match self.kind {
            ServeKind::Duplicate => "duplicate",
            ServeKind::Drop => "drop",
            ServeKind::Burst { .. } => "burst",
            ServeKind::Rechunk { .. } => "rechunk",
            ServeKind::Stall { .. } => "stall",
            ServeKind::Cut => "cut",
        }
    }

    /// How many events it lasts, from the one it starts at (`None`: to
    /// the end).
    fn span(&self) -> Option<u64> {
        match self.kind {
            ServeKind::Burst { events } => Some(events),
            ServeKind::Rechunk { events, .. } => events,
            _ => Some(1),
        }
    }
}

impl fmt::Display for ServeFault {
    /// With all its parameters: `duplicate:type=UPDATE,nth=1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.name())?;
        match &self.select {
            Select::Event(n) => write!(f, "event={n}")?,
            Select::Type { type_name, nth } => write!(f, "type={type_name},nth={nth}")?,
        }
        match &self.kind {
            ServeKind::Duplicate | ServeKind::Drop | ServeKind::Cut => Ok(()),
            ServeKind::Burst { events } => write!(f, ",events={events}"),
            ServeKind::Rechunk { pieces, events, seed } => {
                write!(f, ",pieces={pieces}")?;
                if let Some(events) = events {
                    write!(f, ",events={events}")?;
                }
                write!(f, ",seed={seed}")
            }
            ServeKind::Stall { duration } => write!(f, ",for={}", duration.as_secs_f64()),
        }
    }
}

/// A fault that fired, in the report: which, where, what it did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Fired {
    /// The fault, as `--fault` writes it.
    pub fault: String,
    /// The session's event it met (from 1, file order): the first of
    /// `events` in a row (`burst`, `rechunk`).
    pub event: u64,
    /// How many events in a row it met, from `event`.
    pub events: u64,
    /// That event's `seq` in the session file.
    pub seq: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its subscription (from 1).
    pub subscription: usize,
    /// What the fault did to it.
    pub what: String,
}

impl fmt::Display for Fired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at event {} (seq {}, {}, subscription {})",
            self.fault, self.event, self.seq, self.event_type, self.subscription
        )?;
        if self.events > 1 {
            write!(f, " and the {} after it", self.events - 1)?;
        }
        write!(f, ": {}", self.what)
    }
}

/// What the faults do to one event.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Effect {
    pub(crate) duplicate: bool,
    pub(crate) drop: bool,
    /// Sent without its recorded gap.
    pub(crate) burst: bool,
    /// Cut into this many chunks, with the generator of the fault.
    pub(crate) rechunk: Option<(usize, usize)>,
    pub(crate) stall: Option<Duration>,
    pub(crate) cut: bool,
    /// The faults that fired on it (index into the list), for the report.
    pub(crate) fired: Vec<usize>,
}

/// The faults of one replay and where they are.
pub(crate) struct Faults {
    pub(crate) list: Vec<ServeFault>,
    /// For each fault: the event it started at, once met.
    started: Vec<Option<u64>>,
    /// For each fault with a `type`: how many of that type were seen.
    seen: Vec<u64>,
    /// Each `rechunk`'s generator.
    rngs: Vec<Rng>,
    /// Events seen so far.
    events: u64,
}

impl Faults {
    pub(crate) fn new(list: Vec<ServeFault>) -> Faults {
        let rngs = list
            .iter()
            .map(|f| match f.kind {
                ServeKind::Rechunk { seed, .. } => Rng::new(seed ^ 0x7365_7276_6521_6375),
                _ => Rng::new(0),
            })
            .collect();
        Faults { started: vec![None; list.len()], seen: vec![0; list.len()], rngs, events: 0, list }
    }

    /// The next recorded event, of type `type_name`: what the faults do to it.
    pub(crate) fn next(&mut self, type_name: &str) -> Effect {
        self.events += 1;
        let n = self.events;
        let mut effect = Effect::default();
        for (i, fault) in self.list.iter().enumerate() {
            if self.started[i].is_none() {
                let starts = match &fault.select {
                    Select::Event(at) => *at == n,
                    Select::Type { type_name: t, nth } => {
                        if t == type_name {
                            self.seen[i] += 1;
                        }
                        t == type_name && self.seen[i] == *nth
                    }
                };
                if starts {
                    self.started[i] = Some(n);
                }
            }
            let Some(start) = self.started[i] else { continue };
            if fault.span().is_some_and(|span| n >= start.saturating_add(span)) {
                continue;
            }
            effect.fired.push(i);
            match fault.kind {
                ServeKind::Duplicate => effect.duplicate = true,
                ServeKind::Drop => effect.drop = true,
                ServeKind::Burst { .. } => effect.burst = true,
                ServeKind::Rechunk { pieces, .. } => effect.rechunk = Some((pieces, i)),
                ServeKind::Stall { duration } => effect.stall = Some(duration),
                ServeKind::Cut => effect.cut = true,
            }
        }
        effect
    }

    /// How many events were seen.
    pub(crate) fn events(&self) -> u64 {
        self.events
    }

    /// Where to cut `framed` (a whole RecordIO record) into `pieces` chunks
    /// with fault `i`'s generator.
    pub(crate) fn cuts(&mut self, i: usize, framed: &[u8], pieces: usize) -> Vec<usize> {
        crate::sim::faults::cut_points(&mut self.rngs[i], framed, pieces)
    }
}

/// What `fault` did to an event, in words, for the report.
pub(crate) fn describe(fault: &ServeFault, effect: &Effect) -> String {
    match fault.kind {
        ServeKind::Duplicate => "sent twice".into(),
        ServeKind::Drop => "not sent".into(),
        ServeKind::Burst { .. } => "sent at once, without its recorded gap".into(),
        ServeKind::Rechunk { pieces, .. } => format!("cut into {pieces} chunks (at most), its size line split"),
        ServeKind::Stall { duration } => {
            format!("the stream silent for {} s before it, its connection open", duration.as_secs_f64())
        }
        ServeKind::Cut if effect.drop => "the stream cut before it (the event itself dropped)".into(),
        ServeKind::Cut => "the stream cut before it, without its last chunk".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let p = |s: &str| ServeFault::parse(s).map(|f| f.to_string()).map_err(|e| e.problem);
        assert_eq!(p("duplicate"), Ok("duplicate:type=UPDATE,nth=1".into()));
        assert_eq!(p("drop:nth=3"), Ok("drop:type=UPDATE,nth=3".into()));
        assert_eq!(p("cut:event=7"), Ok("cut:event=7".into()));
        assert_eq!(p("burst:type=OFFERS,events=20"), Ok("burst:type=OFFERS,nth=1,events=20".into()));
        assert_eq!(p("rechunk"), Ok("rechunk:event=1,pieces=3,seed=0".into()));
        assert_eq!(p("stall:for=1.5"), Ok("stall:type=UPDATE,nth=1,for=1.5".into()));
        assert_eq!(p("burst:nth=2"), Err("burst: `nth` needs a `type`".into()));
        assert_eq!(p("cut:event=1,nth=2"), Err("cut: `event` or `type`/`nth`, not both".into()));
        assert!(p("drop:type=UPDATES").unwrap_err().contains("not an event type"));
        assert!(p("drop:event=0").unwrap_err().contains("from 1"));
        assert!(p("stall:for=0").unwrap_err().contains("more than zero"));
        assert!(p("cut:for=1").unwrap_err().contains("unknown parameter `for` (known: event, type, nth)"));
        assert!(p("duplicate:nth=1,nth=2").unwrap_err().contains("given twice"));
    }

    #[test]
    fn where_they_start() {
        let list = ["duplicate:type=UPDATE,nth=2", "drop:event=2", "burst:event=2,events=2", "cut"]
            .iter()
            .map(|s| ServeFault::parse(s).unwrap())
            .collect();
        let mut faults = Faults::new(list);
        let e1 = faults.next("UPDATE");
        assert!(e1.cut && !e1.duplicate && !e1.drop && !e1.burst, "{e1:?}");
        let e2 = faults.next("HEARTBEAT");
        assert!(e2.drop && e2.burst && !e2.cut, "{e2:?}");
        let e3 = faults.next("UPDATE");
        assert!(e3.duplicate && e3.burst && !e3.drop, "{e3:?}");
        let e4 = faults.next("UPDATE");
        assert_eq!(e4, Effect::default());
    }

    proptest::proptest! {
        #[test]
        fn any_spec(spec in "[a-zA-Z:=,.0-9_ -]{0,40}") {
            if let Ok(fault) = ServeFault::parse(&spec) {
                proptest::prop_assert_eq!(ServeFault::parse(&fault.to_string()), Ok(fault));
            }
        }
    }
}
