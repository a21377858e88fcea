//! Faults on demand (`mesos-replay sim --fault SPEC`): the ways a master or
//! its network misbehave that a healthy test cluster never shows, each an
//! input to the sans-IO [`Master`](super::Master) with its time window.
//!
//! A SPEC is `NAME[:PARAM=VALUE,...]`. Every fault takes `at=SECONDS` (when
//! it starts, in seconds after the master started) and, but for the two
//! that happen once (`stale-instance`, `burst`), `for=SECONDS` (how long it
//! lasts; by default for ever, or as its row below says):
//!
//! | name | what it does | its own parameters |
//! |---|---|---|
//! | `duplicate-update` | every status update acknowledged is sent once more, same uuid | `delay=SECONDS` (0) |
//! | `stale-instance` | at `at` (3) every subscribed framework is failed over by another instance of itself | |
//! | `not-ready` | the master answers `404` (routes not installed), then `503 No leader elected`, then `503 Master has not finished recovery` | `answer=all\|404\|no-leader\|recovering`, `at` 0, `for` 6 |
//! | `partition` | the event streams open when it starts go silent (no heartbeats, no events) while their connections stay open; what was held comes when it ends | `at` 2, `for` 60 |
//! | `burst` | at `at` (3) every subscribed framework gets `events` events at once: its offers rescinded and offered again, round after round, its tasks' reconciliation updates | `events=N` (300) |
//! | `rescind` | offers outstanding longer than `timeout` are rescinded (`--offer_timeout`) | `timeout=SECONDS` (5) |
//! | `lose-update` | tasks launched are lost by their agent: no update, the master forgets them | |
//! | `rechunk` | each RecordIO record split across HTTP chunks at seeded-random offsets, its size line cut in two | `pieces=N` (3) |
//! | `leader-change` | at `at` (3) the leadership moves to the simulator's second address: the first answers `307` there, every stream is cut, the new leader has a new id | `location=relative\|absolute\|pathless` |
//! | `crash` | at `at` (3) every stream is cut; for `for` (6) the master is not ready (404, 503, 503); it comes back with a new id | |
//! | `failover-timeout` | at `at` (3) every framework's connection is cut; one disconnected while it lasts is removed after `timeout` | `timeout=SECONDS` (0) |
//!
//! What the master decides here is deterministic: the chunk offsets come
//! from their own generator seeded from `--seed`, so the same seed, calls
//! and faults give the same bytes.

use std::fmt;
use std::time::Duration;

use super::ids::Rng;

pub mod scenario;

/// The faults the simulator offers, in the order of issue 20's table.
pub const NAMES: [&str; 11] = [
    "duplicate-update",
    "stale-instance",
    "leader-change",
    "not-ready",
    "partition",
    "burst",
    "rescind",
    "lose-update",
    "rechunk",
    "failover-timeout",
    "crash",
];

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Every acknowledged status update is sent again (same uuid), `delay`
    /// after its acknowledgement.
    DuplicateUpdate {
        /// How long after the acknowledgement.
        delay: Duration,
    },
    /// The streams open when it starts stop receiving records (held, and
    /// delivered when it ends) while their connections stay open.
    Partition,
    /// The master is not ready: its endpoints answer 404 or 503.
    NotReady {
        /// Which answer(s).
        answer: NotReadyAnswer,
    },
    /// Offers are rescinded `timeout` after they were made.
    Rescind {
        /// The offer timeout.
        timeout: Duration,
    },
    /// At its start, every subscribed framework is failed over by another
    /// instance of itself (a SUBSCRIBE with its id from a connection that
    /// is not the framework's): its stream gets `Framework failed over`
    /// and ends, its stream id is no longer valid.
    StaleInstance,
    /// At its start, every subscribed framework gets at least `events`
    /// events at once: its outstanding offers rescinded and offered again
    /// under new ids, round after round, and the master's reconciliation
    /// update of each of its tasks, every round.
    Burst {
        /// How many events, at least.
        events: usize,
    },
    /// Tasks launched are lost by their agent before their first update:
    /// no update ever comes, the master forgets them.
    LoseUpdate,
    /// At its start, every subscribed framework's connection is cut; a
    /// framework that disconnects while it lasts is removed `timeout`
    /// after, whatever its `failover_timeout`.
    FailoverTimeout {
        /// The failover timeout applied.
        timeout: Duration,
    },
    /// At its start the leadership moves to another master (the
    /// simulator's second address): the first redirects there (`307`),
    /// every stream is cut, the new leader has a new id. Before, the other
    /// redirects to the first.
    LeaderChange {
        /// The `Location` a master that is not the leader writes.
        location: Location,
    },
    /// At its start the master crashes: every stream cut without its last
    /// chunk; while it lasts the master is not ready (as `not-ready`'s
    /// three answers); it comes back with a new id, knowing the agents and
    /// their tasks but no offers, the frameworks disconnected.
    Crash,
    /// Each record is written as `pieces` HTTP chunks.
    Rechunk {
        /// How many chunks a record becomes (at most: a record shorter
        /// than that becomes one chunk a byte).
        pieces: usize,
    },
}

/// The `Location` of a `307` from a master that is not the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// `//host:port/path?query`, as 1.11.0 writes it (protocol-relative).
    Relative,
    /// `http://host:port/path?query`.
    Absolute,
    /// `//host:port`, the path lost (MESOS-3902).
    Pathless,
}

impl Location {
    /// The `Location` for a request of `target` to the leader at
    /// `host:port`.
    pub fn value(self, host: &str, port: u16, target: &str) -> String {
        match self {
            Location::Relative => format!("//{host}:{port}{target}"),
            Location::Absolute => format!("http://{host}:{port}{target}"),
            Location::Pathless => format!("//{host}:{port}"),
        }
    }
}

/// Which not-ready answers a `not-ready` fault gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReadyAnswer {
    /// A third of the time each, in the order a starting master gives them:
    /// 404, no leader, recovering.
    All,
    /// `404 Not Found.` (the master's routes are not installed yet).
    NotFound,
    /// `503 No leader elected`.
    NoLeader,
    /// `503 Master has not finished recovery`.
    Recovering,
}

/// What a master that is not ready is going through at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// Its process (and routes) do not exist yet: every master endpoint is
    /// `404 Not Found.`.
    NotFound,
    /// Not elected and no leader known: `503 No leader elected` from every
    /// endpoint that redirects to the leader (`Master::Http::redirect`).
    NoLeader,
    /// Elected, recovering its registry: `503 Master has not finished
    /// recovery` from the scheduler and operator APIs.
    Recovering,
}

/// One fault and its time window.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: Kind,
    /// When it starts (master time).
    pub at: Duration,
    /// How long it lasts (`None`: for ever).
    pub duration: Option<Duration>,
    /// Only the framework of this name (`framework=NAME`; its
    /// `FrameworkInfo.name`), for the faults that touch one framework at a
    /// time; `None`: every framework.
    pub framework: Option<String>,
    /// Only the task of this id (`task=ID`: `duplicate-update`,
    /// `lose-update`); `None`: every task.
    pub task: Option<String>,
    /// Started by an event instead of at `at` (a `--faults` scenario's
    /// `after` line, [`scenario`]); `None`: at `at`. Each time the trigger
    /// fires, the master starts a copy of the fault (trigger `None`) at
    /// the trigger's delay after the event.
    pub trigger: Option<scenario::Trigger>,
}

/// A SPEC that does not parse: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// The SPEC as given.
    pub spec: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--fault {:?}: {}", self.spec, self.problem)
    }
}

impl std::error::Error for SpecError {}

/// A `framework=` or `task=` value: a name or id, not empty.
fn target(name: &str, param: &str, value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err(format!("{name}: `{param}=`: a {param} name or id, not nothing"));
    }
    Ok(value.to_owned())
}

fn seconds(name: &str, param: &str, value: &str, zero_ok: bool) -> Result<Duration, String> {
    let secs: f64 = value.parse().map_err(|_| format!("{name}: `{param}={value}` is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 || (!zero_ok && secs == 0.0) {
        let want = if zero_ok { "zero or more" } else { "more than zero" };
        return Err(format!("{name}: `{param}={value}`: seconds must be {want}"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{name}: `{param}={value}` is too large"))
}

impl Fault {
    /// Parses `NAME[:PARAM=VALUE,...]`.
    ///
    /// ```
    /// use mesos_replay::sim::faults::{Fault, Kind};
    /// let f = Fault::parse("rescind:timeout=2,at=1").unwrap();
    /// assert_eq!(f.kind, Kind::Rescind { timeout: std::time::Duration::from_secs(2) });
    /// assert!(Fault::parse("rescind:timout=2").unwrap_err().to_string().contains("timout"));
    /// ```
    pub fn parse(spec: &str) -> Result<Fault, SpecError> {
        Fault::parse_inner(spec).map_err(|problem| SpecError { spec: spec.to_owned(), problem })
    }

    fn parse_inner(spec: &str) -> Result<Fault, String> {
        let (name, params) = match spec.split_once(':') {
            Some((name, params)) => (name.trim(), Some(params)),
            None => (spec.trim(), None),
        };
        let (mut framework, mut task) = (None, None);
        let (own, mut kind, mut at, mut duration): (&[&str], Kind, Duration, Option<Duration>) = match name {
            "duplicate-update" => (&["delay"], Kind::DuplicateUpdate { delay: Duration::ZERO }, Duration::ZERO, None),
            "partition" => (&[], Kind::Partition, Duration::from_secs(2), Some(Duration::from_secs(60))),
            "not-ready" => (
                &["answer"],
                Kind::NotReady { answer: NotReadyAnswer::All },
                Duration::ZERO,
                Some(Duration::from_secs(6)),
            ),
            "rescind" => (&["timeout"], Kind::Rescind { timeout: Duration::from_secs(5) }, Duration::ZERO, None),
            "rechunk" => (&["pieces"], Kind::Rechunk { pieces: 3 }, Duration::ZERO, None),
            "stale-instance" => (&[], Kind::StaleInstance, Duration::from_secs(3), None),
            "lose-update" => (&[], Kind::LoseUpdate, Duration::ZERO, None),
            "burst" => (&["events"], Kind::Burst { events: 300 }, Duration::from_secs(3), None),
            "crash" => (&[], Kind::Crash, Duration::from_secs(3), Some(Duration::from_secs(6))),
            "leader-change" => {
                (&["location"], Kind::LeaderChange { location: Location::Relative }, Duration::from_secs(3), None)
            }
            "failover-timeout" => {
                (&["timeout"], Kind::FailoverTimeout { timeout: Duration::ZERO }, Duration::from_secs(3), None)
            }
            "" => return Err("no fault name (known: ".to_owned() + &NAMES.join(", ") + ")"),
            other => {
                return Err(format!("unknown fault `{other}` (known: {})", NAMES.join(", ")));
            }
        };
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
                ("at", _) => at = seconds(name, key, value, true)?,
                (
                    "framework",
                    Kind::DuplicateUpdate { .. }
                    | Kind::LoseUpdate
                    | Kind::Rescind { .. }
                    | Kind::StaleInstance
                    | Kind::Burst { .. }
                    | Kind::FailoverTimeout { .. },
                ) => framework = Some(target(name, key, value)?),
                ("task", Kind::DuplicateUpdate { .. } | Kind::LoseUpdate) => task = Some(target(name, key, value)?),
                ("for", Kind::StaleInstance | Kind::Burst { .. } | Kind::LeaderChange { .. }) => {
                    return Err(format!("{name}: `for` does not apply: it happens once, at `at`"));
                }
                ("for", _) => duration = Some(seconds(name, key, value, false)?),
                ("delay", Kind::DuplicateUpdate { delay }) => *delay = seconds(name, key, value, true)?,
                ("timeout", Kind::Rescind { timeout }) => *timeout = seconds(name, key, value, false)?,
                ("timeout", Kind::FailoverTimeout { timeout }) => *timeout = seconds(name, key, value, true)?,
                ("events", Kind::Burst { events }) => {
                    *events = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=100_000).contains(n))
                        .ok_or_else(|| format!("{name}: `events={value}`: a whole number from 1 to 100000"))?;
                }
                ("pieces", Kind::Rechunk { pieces }) => {
                    *pieces = value
                        .parse()
                        .ok()
                        .filter(|n| (2..=64).contains(n))
                        .ok_or_else(|| format!("{name}: `pieces={value}`: a whole number from 2 to 64"))?;
                }
                ("location", Kind::LeaderChange { location }) => {
                    *location = match value {
                        "relative" => Location::Relative,
                        "absolute" => Location::Absolute,
                        "pathless" => Location::Pathless,
                        _ => {
                            return Err(format!("{name}: `location={value}`: one of relative, absolute, pathless"));
                        }
                    };
                }
                ("answer", Kind::NotReady { answer }) => {
                    *answer = match value {
                        "all" => NotReadyAnswer::All,
                        "404" => NotReadyAnswer::NotFound,
                        "no-leader" => NotReadyAnswer::NoLeader,
                        "recovering" => NotReadyAnswer::Recovering,
                        _ => {
                            return Err(format!("{name}: `answer={value}`: one of all, 404, no-leader, recovering"));
                        }
                    };
                }
                _ => {
                    let targets: &[&str] = match kind {
                        Kind::DuplicateUpdate { .. } | Kind::LoseUpdate => &["framework", "task"],
                        Kind::Rescind { .. }
                        | Kind::StaleInstance
                        | Kind::Burst { .. }
                        | Kind::FailoverTimeout { .. } => &["framework"],
                        _ => &[],
                    };
                    let known: Vec<&str> = ["at", "for"].iter().chain(own).chain(targets).copied().collect();
                    return Err(format!("{name}: unknown parameter `{key}` (known: {})", known.join(", ")));
                }
            }
        }
        Ok(Fault { kind, at, duration, framework, task, trigger: None })
    }

    /// Its name (`partition`).
    ///
    /// ```
    /// use mesos_replay::sim::faults::Fault;
    /// assert_eq!(Fault::parse("rechunk:pieces=4").unwrap().name(), "rechunk");
    /// ```
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::DuplicateUpdate { .. } => "duplicate-update",
            Kind::Partition => "partition",
            Kind::NotReady { .. } => "not-ready",
            Kind::Rescind { .. } => "rescind",
            Kind::Rechunk { .. } => "rechunk",
            Kind::StaleInstance => "stale-instance",
            Kind::LoseUpdate => "lose-update",
            Kind::Burst { .. } => "burst",
            Kind::Crash => "crash",
            Kind::LeaderChange { .. } => "leader-change",
            Kind::FailoverTimeout { .. } => "failover-timeout",
        }
    }

    /// Whether it applies to the framework named `framework` and (when
    /// given) the task `task`: its `framework=` and `task=` targets.
    ///
    /// ```
    /// use mesos_replay::sim::faults::Fault;
    /// let f = Fault::parse("lose-update:framework=web,task=t1").unwrap();
    /// assert!(f.targets("web", Some("t1")) && f.targets("web", None));
    /// assert!(!f.targets("web", Some("t2")) && !f.targets("batch", Some("t1")));
    /// ```
    pub fn targets(&self, framework: &str, task: Option<&str>) -> bool {
        self.framework.as_deref().is_none_or(|f| f == framework)
            && self.task.as_deref().is_none_or(|t| task.is_none_or(|task| task == t))
    }

    /// Whether it is in effect at `now`.
    pub fn active(&self, now: Duration) -> bool {
        now >= self.at && self.end().is_none_or(|end| now < end)
    }

    /// When it ends (`None`: never).
    pub fn end(&self) -> Option<Duration> {
        self.duration.map(|d| self.at.saturating_add(d))
    }
}

impl fmt::Display for Fault {
    /// The fault with all its parameters: `partition:at=2,for=60`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: Duration| d.as_secs_f64();
        let name = self.name();
        write!(f, "{name}:at={}", secs(self.at))?;
        if let Some(d) = self.duration {
            write!(f, ",for={}", secs(d))?;
        }
        if let Some(framework) = &self.framework {
            write!(f, ",framework={framework}")?;
        }
        if let Some(task) = &self.task {
            write!(f, ",task={task}")?;
        }
        match &self.kind {
            Kind::DuplicateUpdate { delay } => write!(f, ",delay={}", secs(*delay)),
            Kind::Partition | Kind::StaleInstance | Kind::LoseUpdate | Kind::Crash => Ok(()),
            Kind::FailoverTimeout { timeout } => write!(f, ",timeout={}", secs(*timeout)),
            Kind::Burst { events } => write!(f, ",events={events}"),
            Kind::LeaderChange { location } => {
                let location = match location {
                    Location::Relative => "relative",
                    Location::Absolute => "absolute",
                    Location::Pathless => "pathless",
                };
                write!(f, ",location={location}")
            }
            Kind::NotReady { answer } => {
                let answer = match answer {
                    NotReadyAnswer::All => "all",
                    NotReadyAnswer::NotFound => "404",
                    NotReadyAnswer::NoLeader => "no-leader",
                    NotReadyAnswer::Recovering => "recovering",
                };
                write!(f, ",answer={answer}")
            }
            Kind::Rescind { timeout } => write!(f, ",timeout={}", secs(*timeout)),
            Kind::Rechunk { pieces } => write!(f, ",pieces={pieces}"),
        }
    }
}

/// Seed salt of the chunking generator, so that it never draws from the
/// allocator's sequence.
const RECHUNK_SALT: u64 = 0x7265_6368_756e_6b21;

/// The faults of one master and what they need to remember.
#[derive(Clone, Debug)]
pub(crate) struct Faults {
    /// The faults in effect by their time window: those given with a time,
    /// and the copies the triggers started.
    pub(crate) list: Vec<Fault>,
    /// The faults a scenario starts on an event, and how many of what they
    /// count were seen.
    rules: Vec<(Fault, u64)>,
    rng: Rng,
}

impl Faults {
    pub(crate) fn new(list: Vec<Fault>, seed: u64) -> Faults {
        let (rules, list): (Vec<Fault>, Vec<Fault>) = list.into_iter().partition(|f| f.trigger.is_some());
        Faults { list, rules: rules.into_iter().map(|f| (f, 0)).collect(), rng: Rng::new(seed ^ RECHUNK_SALT) }
    }

    /// The first active fault `pick` accepts.
    pub(crate) fn find<T>(&self, now: Duration, pick: impl Fn(&Kind) -> Option<T>) -> Option<T> {
        self.list.iter().filter(|f| f.active(now)).find_map(|f| pick(&f.kind))
    }

    /// The first active fault `pick` accepts that targets the framework
    /// named `framework` (and the task `task`, when given).
    pub(crate) fn find_for<T>(
        &self,
        now: Duration,
        framework: &str,
        task: Option<&str>,
        pick: impl Fn(&Kind) -> Option<T>,
    ) -> Option<T> {
        self.list.iter().filter(|f| f.active(now) && f.targets(framework, task)).find_map(|f| pick(&f.kind))
    }

    /// Whether a scenario's trigger waits for events or calls (the master
    /// then tells [`Faults::seen`] what it sends and accepts).
    pub(crate) fn watching(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The master sent or accepted `seen` at `now`: each trigger that
    /// counts it and fires starts a copy of its fault, its delay after
    /// `now`. Whether one did.
    pub(crate) fn seen(&mut self, seen: &scenario::Seen<'_>, now: Duration) -> bool {
        let mut fired = false;
        for (fault, count) in &mut self.rules {
            let Some(trigger) = &fault.trigger else { continue };
            if !trigger.counts(seen) {
                continue;
            }
            *count += 1;
            if trigger.fires(*count) {
                tracing::info!(fault = %scenario::describe(fault), "fault: triggered");
                let at = now.saturating_add(trigger.delay);
                self.list.push(Fault { at, trigger: None, ..fault.clone() });
                fired = true;
            }
        }
        fired
    }

    /// A framed event the master sent on the stream of the framework named
    /// `framework` (`""`: none now), for the triggers: whether one fired.
    pub(crate) fn seen_record(&mut self, framework: &str, record: &[u8], now: Duration) -> bool {
        use mesos_codec::v1::scheduler::Event;
        use prost::Message;
        let Some(newline) = record.iter().position(|&b| b == b'\n') else { return false };
        let payload = &record[newline + 1..];
        // The master writes JSON objects, or protobuf (which never starts
        // with `{`: field 15 is not an event's).
        let event = if payload.first() == Some(&b'{') {
            mesos_codec::json::from_json::<Event>(payload).ok()
        } else {
            Event::decode(payload).ok()
        };
        let Some(event) = event else { return false };
        let status = event.update.as_ref().map(|u| &u.status);
        let state = status.map(|s| s.state().as_str_name());
        let task = status.map(|s| s.task_id.value.as_str());
        let type_name = mesos_codec::v1::scheduler::event::Type::try_from(event.r#type.unwrap_or(0))
            .map(|t| t.as_str_name())
            .unwrap_or("UNKNOWN");
        self.seen(&scenario::Seen { call: false, type_name, state, framework, task }, now)
    }

    /// The `Location` form of a `leader-change` still to come at `now` (by
    /// its time or by its trigger): before it, the other master redirects
    /// to this one.
    pub(crate) fn leader_change_ahead(&self, now: Duration) -> Option<Location> {
        let timed = self.list.iter().map(|f| (f, now < f.at));
        let triggered = self.rules.iter().map(|(f, count)| {
            let pending = f.trigger.as_ref().is_some_and(|t| t.every || *count < t.nth);
            (f, pending)
        });
        timed.chain(triggered).find_map(|(f, ahead)| match f.kind {
            Kind::LeaderChange { location } if ahead => Some(location),
            _ => None,
        })
    }

    /// Where to cut a framed record into HTTP chunks at `now` (empty: one
    /// chunk). The first cut falls inside the RecordIO size line (between
    /// two of its digits, or between its last digit and its `\n`), the
    /// others at random offsets in the rest.
    pub(crate) fn cuts(&mut self, record: &[u8], now: Duration) -> Vec<usize> {
        let Some(pieces) = self.find(now, |k| match k {
            Kind::Rechunk { pieces } => Some(*pieces),
            _ => None,
        }) else {
            return Vec::new();
        };
        cut_points(&mut self.rng, record, pieces)
    }
}

/// Where to cut `record` (a framed RecordIO record) into `pieces` HTTP
/// chunks, drawn from `rng` (empty: one chunk). The first cut falls inside
/// the RecordIO size line (between two of its digits, or between its last
/// digit and its `\n`), the others at distinct random offsets in the rest;
/// a record shorter than that is cut one byte a chunk.
pub(crate) fn cut_points(rng: &mut Rng, record: &[u8], pieces: usize) -> Vec<usize> {
    let Some(newline) = record.iter().position(|&b| b == b'\n') else { return Vec::new() };
    if newline == 0 || record.len() < 2 {
        return Vec::new();
    }
    // Inside the size line: 1..=newline.
    let first = 1 + rng.below(newline as u64) as usize;
    let mut cuts = vec![first];
    let rest = record.len() - first - 1;
    let more = pieces.saturating_sub(2).min(rest);
    // `more` distinct offsets in first+1..record.len().
    let mut chosen: Vec<usize> = Vec::with_capacity(more);
    while chosen.len() < more {
        let at = first + 1 + rng.below(rest as u64) as usize;
        if !chosen.contains(&at) {
            chosen.push(at);
        }
    }
    chosen.sort_unstable();
    cuts.extend(chosen);
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let f = Fault::parse("partition").unwrap();
        assert_eq!(
            (f.kind, f.at, f.duration),
            (Kind::Partition, Duration::from_secs(2), Some(Duration::from_secs(60)))
        );
        let f = Fault::parse("partition:at=1.5,for=3").unwrap();
        assert_eq!((f.at, f.duration), (Duration::from_millis(1500), Some(Duration::from_secs(3))));
        let f = Fault::parse("not-ready:answer=no-leader").unwrap();
        assert_eq!(f.kind, Kind::NotReady { answer: NotReadyAnswer::NoLeader });
        assert_eq!(Fault::parse("rechunk:pieces=5").unwrap().kind, Kind::Rechunk { pieces: 5 });
        assert_eq!(Fault::parse("partition").unwrap().to_string(), "partition:at=2,for=60");
        assert_eq!(Fault::parse("not-ready:for=1.5").unwrap().to_string(), "not-ready:at=0,for=1.5,answer=all");
        let err = |s: &str| Fault::parse(s).unwrap_err().to_string();
        assert_eq!(
            err("master-change"),
            "--fault \"master-change\": unknown fault `master-change` (known: duplicate-update, stale-instance, \
             leader-change, not-ready, partition, burst, rescind, lose-update, rechunk, failover-timeout, crash)"
        );
        assert_eq!(
            err("rechunk:size=3"),
            "--fault \"rechunk:size=3\": rechunk: unknown parameter `size` (known: at, for, pieces)"
        );
        assert!(err("rechunk:pieces=1").contains("from 2 to 64"));
        assert!(err("partition:for=0").contains("more than zero"));
        assert!(err("partition:at=-1").contains("zero or more"));
        assert!(err("partition:at=x").contains("not a number"));
        assert!(err("partition:at").contains("not PARAM=VALUE"));
        assert!(err("partition:at=1,at=2").contains("given twice"));
        assert!(err("rescind:delay=1").contains("unknown parameter `delay`"));
        assert!(err("stale-instance:for=3").contains("`for` does not apply"));
        assert!(err(":at=1").contains("no fault name"));
        assert!(err("partition:at=1e400").contains("not a number") || err("partition:at=1e400").contains("seconds"));
    }

    proptest::proptest! {
        /// Any text: an answer, never a panic; what parses prints as a
        /// SPEC that parses to the same fault.
        #[test]
        fn any_spec(spec in "[a-z:=,.0-9 -]{0,40}") {
            if let Ok(fault) = Fault::parse(&spec) {
                proptest::prop_assert_eq!(Fault::parse(&fault.to_string()), Ok(fault));
            }
        }

        #[test]
        fn named_specs(
            name in proptest::sample::select(NAMES.to_vec()),
            params in "((at|for|delay|timeout|pieces|events|answer)=[0-9a-z.-]{0,6},?){0,4}",
        ) {
            let spec = format!("{name}:{params}");
            if let Ok(fault) = Fault::parse(&spec) {
                proptest::prop_assert_eq!(Fault::parse(&fault.to_string()), Ok(fault));
            }
        }

        #[test]
        fn cuts_in_range(len in 2usize..2000, pieces in 2usize..64, seed: u64) {
            let spec = format!("rechunk:pieces={pieces}");
            let mut faults = Faults::new(vec![Fault::parse(&spec).unwrap()], seed);
            let digits = len.to_string();
            let mut record = format!("{digits}\n").into_bytes();
            record.resize(digits.len() + 1 + len, b'x');
            let cuts = faults.cuts(&record, Duration::ZERO);
            proptest::prop_assert!(!cuts.is_empty() && cuts.len() < pieces);
            proptest::prop_assert!(cuts[0] >= 1 && cuts[0] <= digits.len());
            proptest::prop_assert!(cuts.windows(2).all(|w| w[0] < w[1]));
            proptest::prop_assert!(*cuts.last().unwrap() < record.len());
        }
    }

    #[test]
    fn windows() {
        let f = Fault::parse("partition:at=2,for=3").unwrap();
        assert!(!f.active(Duration::from_secs(1)));
        assert!(f.active(Duration::from_secs(2)));
        assert!(!f.active(Duration::from_secs(5)));
        assert!(Fault::parse("rechunk").unwrap().active(Duration::from_secs(1_000_000)));
    }

    #[test]
    fn cuts_fall_in_the_size_line_then_anywhere() {
        let mut faults = Faults::new(vec![Fault::parse("rechunk:pieces=4").unwrap()], 9);
        let record = b"12\n{\"type\":\"X\"}".to_vec();
        for _ in 0..100 {
            let cuts = faults.cuts(&record, Duration::ZERO);
            assert_eq!(cuts.len(), 3, "{cuts:?}");
            assert!((1..=2).contains(&cuts[0]), "{cuts:?}");
            assert!(cuts.windows(2).all(|w| w[0] < w[1]) && *cuts.last().unwrap() < record.len(), "{cuts:?}");
        }
        // A record too short for all the pieces: one byte a chunk.
        let cuts = faults.cuts(b"1\nx", Duration::ZERO);
        assert_eq!(cuts, vec![1, 2]);
        let mut none = Faults::new(Vec::new(), 9);
        assert!(none.cuts(&record, Duration::ZERO).is_empty());
    }
}
