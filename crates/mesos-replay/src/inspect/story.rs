//! What happened in a session, told per thing: each task's life (its
//! updates, their acknowledgements, re-sent updates, kills), each offer's
//! (offered, then accepted, declined, rescinded, or still outstanding) and
//! each framework's calls and events counted. `inspect --summary` prints it
//! and `inspect --html` draws it.
//!
//! A [`Story`] is fed the entries of one or several sessions in order
//! ([`Story::add`]), with their pairing; it decodes only the messages it
//! needs (heartbeats never).
//!
//! ```
//! use mesos_codec::session::{Entry, EntryKind, Event, Request, Response, Summary};
//! use mesos_replay::inspect::story::{At, Story};
//! use mesos_replay::pairing::Pairing;
//!
//! let mut story = Story::default();
//! let mut pairing = Pairing::default();
//! let kinds = [
//!     EntryKind::Request(Request { method: "POST".into(), path: "/api/v1/scheduler".into(),
//!         body: br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#.to_vec(), ..Request::default() }),
//!     EntryKind::Response(Response { request: Some(0), status: 200, stream: true, ..Response::default() }),
//!     EntryKind::Event(Event { stream: 1, summary: Summary { name: Some("UPDATE".into()), ..Summary::default() },
//!         record: br#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t1"},"state":"TASK_RUNNING","uuid":"AAAA"}}}"#.to_vec(), ..Event::default() }),
//! ];
//! for (seq, kind) in kinds.into_iter().enumerate() {
//!     let entry = Entry { seq: seq as u64, t_ns: 1_000 * seq as u64, conn: 1, kind };
//!     let paired = pairing.pair(&entry);
//!     story.add(&entry, paired, At { entry: seq, seq: seq as u64, t_ns: entry.t_ns });
//! }
//! assert_eq!(story.tasks[0].id, "t1");
//! assert_eq!(story.tasks[0].updates[0].state, "TASK_RUNNING");
//! assert_eq!(story.unacknowledged().count(), 1);
//! ```

use std::collections::{BTreeMap, HashMap};

use mesos_codec::api::Encoding;
use mesos_codec::session::{Entry, EntryKind};
use serde_json::Value;

use crate::messages::canonical;
use crate::pairing::Paired;

/// Where something happened: the entry (its index among everything the
/// story was fed), its `seq` in its session, and its time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct At {
    /// The entry's index among all entries fed to the story.
    pub entry: usize,
    /// Its `seq` in its session.
    pub seq: u64,
    /// Its time, nanoseconds (since the session's start, or on a common
    /// clock when several sessions are told together).
    pub t_ns: u64,
}

/// One framework: its calls and events counted by type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameworkStory {
    /// Its id (empty while the master has not given one).
    pub id: String,
    /// Calls by type.
    pub calls: BTreeMap<String, u64>,
    /// Events by type.
    pub events: BTreeMap<String, u64>,
}

/// One status update of a task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// The `UPDATE` event.
    pub at: At,
    /// `TASK_RUNNING`, ...
    pub state: String,
    /// Its uuid (base64), when it must be acknowledged.
    pub uuid: Option<String>,
    /// `reason`, `message` and `source`, when given.
    pub reason: Option<String>,
    /// The status message.
    pub message: Option<String>,
    /// The `ACKNOWLEDGE` call for it, and the answer's status.
    pub ack: Option<(At, Option<u16>)>,
    /// The index (in the task's updates) of the first update with this
    /// uuid, when this one is the master sending it again.
    pub resent_of: Option<usize>,
}

/// A `KILL` of a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Kill {
    /// The `KILL` call.
    pub at: At,
    /// Its answer's status.
    pub answer: Option<u16>,
}

/// One task's life.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskStory {
    /// The task id.
    pub id: String,
    /// The agent it was launched on (or that sent its updates).
    pub agent: Option<String>,
    /// Its framework, where known.
    pub framework: String,
    /// The `ACCEPT` that launched it, and the answer's status.
    pub launched: Option<(At, Option<u16>)>,
    /// Its status updates, in order.
    pub updates: Vec<Update>,
    /// The kills.
    pub kills: Vec<Kill>,
    /// The scalar resources it was launched with (`cpus`, `mem`, ...).
    pub scalars: Vec<(String, f64)>,
}

/// What became of an offer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing yet, when the session ends.
    Outstanding,
    /// Accepted: the tasks launched with it and the operations' types.
    Accepted {
        /// Task ids launched.
        tasks: Vec<String>,
        /// Operation types (`LAUNCH`, `RESERVE`, ...).
        operations: Vec<String>,
    },
    /// Declined, with the filter's `refuse_seconds` when given.
    Declined {
        /// The filter.
        refuse_seconds: Option<f64>,
    },
    /// Rescinded by the master.
    Rescinded,
}

/// One offer's life.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferStory {
    /// The offer id.
    pub id: String,
    /// Its agent.
    pub agent: String,
    /// The agent's hostname.
    pub hostname: String,
    /// Its resources, in Mesos's text form (`cpus:2;mem:996;ports:[31000-32000]`).
    pub resources: String,
    /// Its scalar resources, added up by name.
    pub scalars: Vec<(String, f64)>,
    /// The framework it was offered to.
    pub framework: String,
    /// The `OFFERS` event.
    pub offered: At,
    /// What became of it.
    pub outcome: Outcome,
    /// The call or event that ended it, and a call's answer status.
    pub ended: Option<(At, Option<u16>)>,
}

impl OfferStory {
    /// How long the framework held it, in nanoseconds: until it was
    /// answered or rescinded, or until `end_ns` when still outstanding.
    ///
    /// ```
    /// use mesos_replay::inspect::story::{At, OfferStory, Outcome};
    /// let offer = OfferStory { id: "O1".into(), agent: "S0".into(), hostname: "h".into(), resources: String::new(), scalars: vec![],
    ///     framework: "f".into(), offered: At { t_ns: 10, ..At::default() }, outcome: Outcome::Outstanding, ended: None };
    /// assert_eq!(offer.held_ns(25), 15);
    /// ```
    pub fn held_ns(&self, end_ns: u64) -> u64 {
        self.ended.map_or(end_ns, |(at, _)| at.t_ns).saturating_sub(self.offered.t_ns)
    }
}

/// A note (a gap the recorder or importer knows of, or any annotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteStory {
    /// The note.
    pub at: At,
    /// Its text.
    pub message: String,
    /// Whether it says the session lost something.
    pub incomplete: bool,
}

/// What a call was about, until its answer comes.
#[derive(Debug, Clone)]
enum Pending {
    Launch(Vec<usize>),
    Offers(Vec<usize>),
    Ack(usize, usize),
    Kill(usize, usize),
}

/// The story of one or several sessions (see the module documentation).
#[derive(Debug, Default)]
pub struct Story {
    /// Frameworks in order of first sight.
    pub frameworks: Vec<FrameworkStory>,
    /// Tasks in order of first sight.
    pub tasks: Vec<TaskStory>,
    /// Offers in order.
    pub offers: Vec<OfferStory>,
    /// Notes.
    pub notes: Vec<NoteStory>,
    /// The time of the last entry.
    pub end_ns: u64,
    /// Entries fed.
    pub entries: u64,
    framework_index: HashMap<String, usize>,
    /// Tasks by (framework, task id): frameworks may choose the same ids.
    task_index: HashMap<(String, String), usize>,
    /// The first task of each id, for a message whose framework is not known.
    task_by_id: HashMap<String, usize>,
    offer_index: HashMap<String, usize>,
    /// Call number → its framework (requests), stream number → its framework.
    call_framework: HashMap<usize, String>,
    stream_framework: HashMap<usize, String>,
    /// Calls whose framework is not known yet (a first SUBSCRIBE): call → type.
    unattributed: HashMap<usize, String>,
    pending: HashMap<usize, Pending>,
    /// The session being fed (calls and streams are numbered per session).
    session: usize,
    /// The last update taken: (task, update).
    last_update: Option<(usize, usize)>,
}

/// A message as JSON: a JSON body read as it is (what the story reads of
/// it is spelled the same in Mesos JSON either way), anything else decoded.
fn decode(message: mesos_codec::schema::MessageId, bytes: &[u8], format: Option<Encoding>) -> Option<Value> {
    if Encoding::of(format, bytes) == Encoding::Json
        && let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(bytes)
    {
        return Some(value);
    }
    canonical(message, bytes, format).ok()
}

/// The calls and events the story reads (others are only counted).
const TOLD: [&str; 9] =
    ["SUBSCRIBE", "ACCEPT", "DECLINE", "ACKNOWLEDGE", "KILL", "SUBSCRIBED", "OFFERS", "RESCIND", "UPDATE"];

fn value_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(key)).and_then(Value::as_str)
}

fn id_of(v: &Value, key: &str) -> Option<String> {
    value_str(v, &[key, "value"]).map(str::to_owned)
}

/// The scalar resources of a list, added up by name, in order of first sight.
///
/// ```
/// use mesos_replay::inspect::story::scalars;
/// let r = serde_json::json!([{"name":"cpus","scalar":{"value":0.5}},{"name":"cpus","scalar":{"value":1.0}},
///     {"name":"ports","ranges":{"range":[]}}]);
/// assert_eq!(scalars(&r), [("cpus".to_owned(), 1.5)]);
/// ```
pub fn scalars(resources: &Value) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for r in resources.as_array().into_iter().flatten() {
        let (Some(name), Some(x)) = (
            r.get("name").and_then(Value::as_str),
            r.get("scalar").and_then(|s| s.get("value")).and_then(Value::as_f64),
        ) else {
            continue;
        };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, sum)) => *sum += x,
            None => out.push((name.to_owned(), x)),
        }
    }
    out
}

/// Mesos's text form of a list of resources: `cpus:2;mem:996;ports:[31000-32000]`.
///
/// ```
/// use mesos_replay::inspect::story::resources_text;
/// let r = serde_json::json!([{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
///     {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}}]);
/// assert_eq!(resources_text(&r), "cpus:0.5;ports:[31000-32000]");
/// ```
pub fn resources_text(resources: &Value) -> String {
    let Some(list) = resources.as_array() else { return String::new() };
    let mut parts = Vec::new();
    for r in list {
        let name = r.get("name").and_then(Value::as_str).unwrap_or("?");
        let value = if let Some(x) = r.get("scalar").and_then(|s| s.get("value")).and_then(Value::as_f64) {
            let rounded = (x * 1000.0).round() / 1000.0;
            format!("{rounded}")
        } else if let Some(ranges) = r.get("ranges").and_then(|s| s.get("range")).and_then(Value::as_array) {
            let texts: Vec<String> = ranges
                .iter()
                .map(|r| format!("{}-{}", r.get("begin").unwrap_or(&Value::Null), r.get("end").unwrap_or(&Value::Null)))
                .collect();
            format!("[{}]", texts.join(", "))
        } else if let Some(items) = r.get("set").and_then(|s| s.get("item")).and_then(Value::as_array) {
            let texts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            format!("{{{}}}", texts.join(", "))
        } else {
            "?".to_owned()
        };
        parts.push(format!("{name}:{value}"));
    }
    parts.join(";")
}

impl Story {
    /// Starts the next session: its calls and streams are numbered anew.
    /// (Not needed before the first.)
    pub fn next_session(&mut self) {
        self.session += 1;
        self.call_framework.clear();
        self.stream_framework.clear();
        self.unattributed.clear();
        self.pending.clear();
    }

    fn framework(&mut self, id: &str) -> &mut FrameworkStory {
        let index = match self.framework_index.get(id) {
            Some(&i) => i,
            None => {
                self.frameworks.push(FrameworkStory { id: id.to_owned(), ..FrameworkStory::default() });
                self.framework_index.insert(id.to_owned(), self.frameworks.len() - 1);
                self.frameworks.len() - 1
            }
        };
        &mut self.frameworks[index]
    }

    /// The task `id` of `framework` (empty: not known), taken on first sight.
    fn task(&mut self, id: &str, framework: &str) -> usize {
        if let Some(i) = self.find_task(id, framework) {
            return i;
        }
        self.tasks.push(TaskStory { id: id.to_owned(), framework: framework.to_owned(), ..TaskStory::default() });
        let i = self.tasks.len() - 1;
        self.task_index.insert((framework.to_owned(), id.to_owned()), i);
        self.task_by_id.entry(id.to_owned()).or_insert(i);
        i
    }

    fn find_task(&mut self, id: &str, framework: &str) -> Option<usize> {
        if let Some(&i) = self.task_index.get(&(framework.to_owned(), id.to_owned())) {
            return Some(i);
        }
        if framework.is_empty() {
            return self.task_by_id.get(id).copied();
        }
        // Seen before its framework was known: it is this framework's.
        let i = self.task_index.remove(&(String::new(), id.to_owned()))?;
        self.tasks[i].framework = framework.to_owned();
        self.task_index.insert((framework.to_owned(), id.to_owned()), i);
        Some(i)
    }

    /// The last status update taken, with its task.
    pub fn last_update(&self) -> Option<(&TaskStory, &Update)> {
        self.last_update.map(|(t, u)| (&self.tasks[t], &self.tasks[t].updates[u]))
    }

    /// The first task with this id (of any framework).
    pub fn task_by_id(&self, id: &str) -> Option<&TaskStory> {
        self.task_by_id.get(id).map(|&i| &self.tasks[i])
    }

    /// Every update that needed an acknowledgement and got none (the last
    /// sending of each uuid), with its task.
    pub fn unacknowledged(&self) -> impl Iterator<Item = (&TaskStory, &Update)> {
        self.tasks.iter().flat_map(|task| {
            task.updates.iter().enumerate().filter_map(move |(i, u)| {
                let last_of_uuid = !task.updates[i + 1..].iter().any(|later| later.uuid == u.uuid);
                (u.uuid.is_some() && u.ack.is_none() && last_of_uuid).then_some((task, u))
            })
        })
    }

    /// Feeds the next entry, paired by the caller's [`crate::pairing::Pairing`].
    pub fn add(&mut self, entry: &Entry, paired: Paired, at: At) {
        self.entries += 1;
        self.end_ns = self.end_ns.max(at.t_ns);
        match (&entry.kind, paired) {
            (EntryKind::Request(r), Paired::Request { call, api }) => {
                let Some(message) = api.call else { return };
                let name = r.summary.name.as_deref().map(str::to_owned).unwrap_or_else(|| "(unknown)".to_owned());
                let decoded =
                    TOLD.contains(&name.as_str()).then(|| decode(message, &r.body, r.summary.format)).flatten();
                let framework = r
                    .summary
                    .framework_id
                    .clone()
                    .or_else(|| decoded.as_ref().and_then(|v| id_of(v, "framework_id")))
                    .or_else(|| {
                        decoded
                            .as_ref()
                            .and_then(|v| value_str(v, &["subscribe", "framework_info", "id", "value"]))
                            .map(str::to_owned)
                    });
                match &framework {
                    Some(f) => {
                        *self.framework(f).calls.entry(name.clone()).or_default() += 1;
                        self.call_framework.insert(call, f.clone());
                    }
                    None => {
                        self.unattributed.insert(call, name.clone());
                    }
                }
                if let Some(v) = decoded {
                    self.call(call, &name, &v, framework.unwrap_or_default(), at);
                }
            }
            (EntryKind::Response(r), Paired::Response { call, stream, .. }) => {
                if let (Some(stream), Some(f)) = (stream, self.call_framework.get(&call)) {
                    self.stream_framework.insert(stream, f.clone());
                }
                for key in [call, call | OFFERS_BIT] {
                    if let Some(pending) = self.pending.remove(&key) {
                        self.answered(pending, r.status);
                    }
                }
            }
            (EntryKind::Event(e), Paired::Event { stream, call, message }) => {
                let name = e.summary.name.as_deref().map(str::to_owned).unwrap_or_else(|| "(unknown)".to_owned());
                let decoded = match message {
                    Some(m) if TOLD.contains(&name.as_str()) => decode(m, &e.record, e.summary.format),
                    _ => None,
                };
                if name == "SUBSCRIBED"
                    && let Some(id) =
                        decoded.as_ref().and_then(|v| value_str(v, &["subscribed", "framework_id", "value"]))
                {
                    let id = id.to_owned();
                    self.stream_framework.insert(stream, id.clone());
                    if let Some(call_name) = self.unattributed.remove(&call) {
                        *self.framework(&id).calls.entry(call_name).or_default() += 1;
                    }
                    self.call_framework.entry(call).or_insert(id);
                }
                let framework = self
                    .stream_framework
                    .get(&stream)
                    .cloned()
                    .or_else(|| e.summary.framework_id.clone())
                    .unwrap_or_default();
                *self.framework(&framework).events.entry(name.clone()).or_default() += 1;
                if let Some(v) = decoded {
                    self.event(&name, &v, &framework, at);
                }
            }
            (EntryKind::Note(n), _) => {
                self.notes.push(NoteStory { at, message: n.message.clone(), incomplete: n.incomplete })
            }
            _ => {}
        }
    }

    fn call(&mut self, call: usize, name: &str, v: &Value, framework: String, at: At) {
        match name {
            "ACCEPT" => {
                let Some(accept) = v.get("accept") else { return };
                let mut tasks = Vec::new();
                let mut operations = Vec::new();
                let mut launched = Vec::new();
                for op in accept.get("operations").and_then(Value::as_array).into_iter().flatten() {
                    operations.push(op.get("type").and_then(Value::as_str).unwrap_or("UNKNOWN").to_owned());
                    let infos = op.get("launch").and_then(|l| l.get("task_infos")).and_then(Value::as_array);
                    let group = op.get("launch_group").and_then(|l| l.get("task_group")).and_then(|g| g.get("tasks"));
                    for info in infos.into_iter().flatten().chain(group.and_then(Value::as_array).into_iter().flatten())
                    {
                        let Some(task_id) = id_of(info, "task_id") else { continue };
                        let i = self.task(&task_id, &framework);
                        self.tasks[i].launched = Some((at, None));
                        self.tasks[i].scalars = info.get("resources").map(scalars).unwrap_or_default();
                        if let Some(agent) = id_of(info, "agent_id") {
                            self.tasks[i].agent = Some(agent);
                        }
                        tasks.push(task_id);
                        launched.push(i);
                    }
                }
                let mut offers = Vec::new();
                for id in accept.get("offer_ids").and_then(Value::as_array).into_iter().flatten() {
                    let Some(id) = value_str(id, &["value"]) else { continue };
                    if let Some(&o) = self.offer_index.get(id) {
                        self.offers[o].outcome =
                            Outcome::Accepted { tasks: tasks.clone(), operations: operations.clone() };
                        self.offers[o].ended = Some((at, None));
                        offers.push(o);
                    }
                }
                self.pending.insert(call, Pending::Launch(launched));
                if !offers.is_empty() {
                    // The offers' answer is the same call's: kept beside the launch.
                    self.pending_offers(call, offers);
                }
            }
            "DECLINE" => {
                let Some(decline) = v.get("decline") else { return };
                let refuse_seconds =
                    decline.get("filters").and_then(|f| f.get("refuse_seconds")).and_then(Value::as_f64);
                let mut offers = Vec::new();
                for id in decline.get("offer_ids").and_then(Value::as_array).into_iter().flatten() {
                    let Some(id) = value_str(id, &["value"]) else { continue };
                    if let Some(&o) = self.offer_index.get(id) {
                        self.offers[o].outcome = Outcome::Declined { refuse_seconds };
                        self.offers[o].ended = Some((at, None));
                        offers.push(o);
                    }
                }
                self.pending.insert(call, Pending::Offers(offers));
            }
            "ACKNOWLEDGE" => {
                let Some(ack) = v.get("acknowledge") else { return };
                let (Some(task_id), Some(uuid)) = (id_of(ack, "task_id"), value_str(ack, &["uuid"])) else { return };
                let Some(t) = self.find_task(&task_id, &framework) else { return };
                let task = &mut self.tasks[t];
                if let Some(u) = task.updates.iter().rposition(|u| u.uuid.as_deref() == Some(uuid)) {
                    task.updates[u].ack = Some((at, None));
                    self.pending.insert(call, Pending::Ack(t, u));
                }
            }
            "KILL" => {
                let Some(kill) = v.get("kill") else { return };
                let Some(task_id) = id_of(kill, "task_id") else { return };
                let t = self.task(&task_id, &framework);
                if self.tasks[t].agent.is_none() {
                    self.tasks[t].agent = id_of(kill, "agent_id");
                }
                self.tasks[t].kills.push(Kill { at, answer: None });
                let k = self.tasks[t].kills.len() - 1;
                self.pending.insert(call, Pending::Kill(t, k));
            }
            _ => {}
        }
    }

    /// An ACCEPT answers for its launches and its offers: the offers'
    /// pending entry goes under the call's number with the high bit set.
    fn pending_offers(&mut self, call: usize, offers: Vec<usize>) {
        self.pending.insert(call | OFFERS_BIT, Pending::Offers(offers));
    }

    fn answered(&mut self, pending: Pending, status: u16) {
        match pending {
            Pending::Launch(tasks) => {
                for t in tasks {
                    if let Some((_, answer)) = &mut self.tasks[t].launched {
                        *answer = Some(status);
                    }
                }
            }
            Pending::Offers(offers) => {
                for o in offers {
                    if let Some((_, answer)) = &mut self.offers[o].ended {
                        *answer = Some(status);
                    }
                }
            }
            Pending::Ack(t, u) => {
                if let Some((_, answer)) = &mut self.tasks[t].updates[u].ack {
                    *answer = Some(status);
                }
            }
            Pending::Kill(t, k) => self.tasks[t].kills[k].answer = Some(status),
        }
    }

    fn event(&mut self, name: &str, v: &Value, framework: &str, at: At) {
        match name {
            "OFFERS" => {
                let list = v.get("offers").and_then(|o| o.get("offers")).and_then(Value::as_array);
                for offer in list.into_iter().flatten() {
                    let Some(id) = id_of(offer, "id") else { continue };
                    let story = OfferStory {
                        id: id.clone(),
                        agent: id_of(offer, "agent_id").unwrap_or_default(),
                        hostname: offer.get("hostname").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        resources: offer.get("resources").map(resources_text).unwrap_or_default(),
                        scalars: offer.get("resources").map(scalars).unwrap_or_default(),
                        framework: id_of(offer, "framework_id").unwrap_or_else(|| framework.to_owned()),
                        offered: at,
                        outcome: Outcome::Outstanding,
                        ended: None,
                    };
                    self.offers.push(story);
                    self.offer_index.insert(id, self.offers.len() - 1);
                }
            }
            "RESCIND" => {
                let Some(id) = value_str(v, &["rescind", "offer_id", "value"]) else { return };
                if let Some(&o) = self.offer_index.get(id)
                    && self.offers[o].outcome == Outcome::Outstanding
                {
                    self.offers[o].outcome = Outcome::Rescinded;
                    self.offers[o].ended = Some((at, None));
                }
            }
            "UPDATE" => {
                let Some(status) = v.get("update").and_then(|u| u.get("status")) else { return };
                let Some(task_id) = id_of(status, "task_id") else { return };
                let t = self.task(&task_id, framework);
                let task = &mut self.tasks[t];
                if task.agent.is_none() {
                    task.agent = id_of(status, "agent_id");
                }
                let uuid = status.get("uuid").and_then(Value::as_str).filter(|u| !u.is_empty()).map(str::to_owned);
                let resent_of = uuid.as_ref().and_then(|uuid| {
                    task.updates.iter().position(|u| u.uuid.as_ref() == Some(uuid) && u.resent_of.is_none())
                });
                task.updates.push(Update {
                    at,
                    state: status.get("state").and_then(Value::as_str).unwrap_or("?").to_owned(),
                    uuid,
                    reason: status.get("reason").and_then(Value::as_str).map(str::to_owned),
                    message: status.get("message").and_then(Value::as_str).map(str::to_owned),
                    ack: None,
                    resent_of,
                });
                self.last_update = Some((t, task.updates.len() - 1));
            }
            _ => {}
        }
    }
}

/// See [`Story::pending_offers`]: call numbers never come near it.
const OFFERS_BIT: usize = 1 << (usize::BITS - 1);
