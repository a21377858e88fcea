//! What a master remembers that the simulated [`Master`] does not need to:
//! when each framework registered, re-registered and went away, each
//! task's status updates as they were sent and the tasks that ended, and
//! the counters of `/metrics/snapshot`. Kept by the server, which sees
//! every call, its answer and every record on every stream; read by
//! [`super::endpoints`].
//!
//! Nothing here changes what the master does: it watches.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use bytes::Bytes;
use mesos_codec::api::Encoding;
use mesos_codec::json::message_type;
use mesos_codec::negotiate::ContentType;
use mesos_codec::peek::{peek_ids, peek_type};
use mesos_codec::v1::scheduler::{Call, Event, call, event};
use mesos_codec::v1::{TaskInfo, TaskState, TaskStatus, offer, task_status};
use prost::Message;

use super::master::{Master, StreamKey, is_terminal};
use super::resources::Resources;

/// A framework's past.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrameworkHistory {
    pub id: String,
    /// The framework's name when it first subscribed (its metrics keep it).
    pub name: String,
    /// Its roles when it first subscribed (`roles/<role>/suppressed`).
    pub roles: Vec<String>,
    /// Its principal, if it gave one (`frameworks/<principal>/...`).
    pub principal: Option<String>,
    /// Unix times.
    pub registered: f64,
    pub reregistered: f64,
    pub unregistered: Option<f64>,
    /// Calls taken, by `scheduler::Call::Type` name in lower case.
    pub calls: BTreeMap<String, u64>,
    /// Events sent, by `scheduler::Event::Type` name in lower case.
    pub events: BTreeMap<String, u64>,
    pub offers_sent: u64,
    pub offers_accepted: u64,
    pub offers_declined: u64,
    pub offers_rescinded: u64,
    /// `LAUNCH` operations accepted.
    pub launches: u64,
    /// Its outstanding offers' resources, by offer id.
    offers: HashMap<String, Resources>,
    /// The sum of its outstanding offers, kept as a master keeps it (its
    /// `totalOfferedResources`): each offer added when made and taken out
    /// when it goes. Ranges are added as a union and taken out as a
    /// difference, so when two agents offer the same ports and one offer
    /// goes, the ports go from the sum (though the other offer has them).
    pub offered: Resources,
    /// Tasks the master still holds (live, or terminal and not yet
    /// acknowledged), in the order they were launched.
    pub tasks: Vec<TaskHistory>,
    /// Tasks that ended, in the order they ended.
    pub completed_tasks: Vec<TaskHistory>,
    /// Tasks that reached each terminal state, by state.
    pub terminal: BTreeMap<TaskState, u64>,
    /// Removed, and no longer among the completed frameworks a master
    /// keeps: only its id and principal are left.
    pub forgotten: bool,
}

/// A task's past.
#[derive(Clone, Debug)]
pub(crate) struct TaskHistory {
    pub info: TaskInfo,
    pub agent_id: String,
    pub resources: Resources,
    /// The state of the last status update its agent sent.
    pub state: TaskState,
    /// Each status update as first sent, in order.
    pub statuses: Vec<TaskStatus>,
}

/// The removed frameworks a master keeps (`--max_completed_frameworks`,
/// 50 by default): the older ones' pasts are forgotten.
pub(crate) const MAX_COMPLETED_FRAMEWORKS: usize = 50;
/// The ended tasks a master keeps of one framework
/// (`--max_completed_tasks_per_framework`, 1000 by default).
pub(crate) const MAX_COMPLETED_TASKS: usize = 1000;

/// What forgotten tasks leave behind on their agent: its counters are its
/// own, and do not forget.
#[derive(Clone, Debug, Default)]
pub(crate) struct AgentTally {
    /// Status updates with a uuid its tasks sent.
    pub updates: usize,
    /// Tasks that ended there, by their last state.
    pub ended: BTreeMap<TaskState, usize>,
}

impl AgentTally {
    fn add(&mut self, task: &TaskHistory) {
        self.updates += task.statuses.iter().filter(|s| s.uuid.is_some()).count();
        *self.ended.entry(task.state).or_default() += 1;
    }

    /// How many tasks ended there.
    pub fn tasks(&self) -> usize {
        self.ended.values().sum()
    }
}

/// The server's memory of the run (see the module doc).
///
/// Bounded as a master's is: the pasts of at most
/// [`MAX_COMPLETED_FRAMEWORKS`] removed frameworks and of at most
/// [`MAX_COMPLETED_TASKS`] ended tasks a framework are kept (a soak of 43 000
/// framework runs grew the sim to 600 MB and slowed it fivefold before).
#[derive(Debug, Default)]
pub(crate) struct History {
    pub frameworks: Vec<FrameworkHistory>,
    index: HashMap<String, usize>,
    /// Indexes into `frameworks` of the frameworks not removed yet.
    live: BTreeSet<usize>,
    /// Indexes into `frameworks`, in the order they were removed: the last
    /// [`MAX_COMPLETED_FRAMEWORKS`].
    pub completed: VecDeque<usize>,
    /// What forgotten tasks leave on their agents, by agent id.
    pub forgotten: HashMap<String, AgentTally>,
    streams: HashMap<StreamKey, (usize, ContentType)>,
    /// The master's own counters (`master/<name>`), by name.
    pub counters: BTreeMap<&'static str, u64>,
}

fn lower(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `master/tasks_<state>`, the counter of tasks that reached a terminal
/// state.
pub(crate) fn terminal_counter(state: TaskState) -> Option<&'static str> {
    Some(match state {
        TaskState::TaskFinished => "tasks_finished",
        TaskState::TaskFailed => "tasks_failed",
        TaskState::TaskKilled => "tasks_killed",
        TaskState::TaskLost => "tasks_lost",
        TaskState::TaskError => "tasks_error",
        TaskState::TaskDropped => "tasks_dropped",
        TaskState::TaskGone => "tasks_gone",
        TaskState::TaskGoneByOperator => "tasks_gone_by_operator",
        _ => return None,
    })
}

/// A scheduler call's body in `content_type`, if it reads.
pub(crate) fn decode_call(body: &[u8], content_type: Option<ContentType>) -> Option<Call> {
    match content_type {
        Some(ContentType::Protobuf) => Call::decode(body).ok(),
        Some(ContentType::Json) => mesos_codec::json::from_json::<Call>(body).ok(),
        _ => None,
    }
}

impl FrameworkHistory {
    fn offer_gone(&mut self, id: &str) {
        if let Some(resources) = self.offers.remove(id) {
            self.offered.subtract_all(&resources);
        }
    }

    fn all_offers_gone(&mut self) {
        let mut ids: Vec<String> = self.offers.keys().cloned().collect();
        ids.sort();
        for id in ids {
            self.offer_gone(&id);
        }
    }
}

impl History {
    fn bump(&mut self, counter: &'static str) {
        *self.counters.entry(counter).or_default() += 1;
    }

    /// The framework with id `id`, if it ever subscribed.
    pub fn framework(&self, id: &str) -> Option<&FrameworkHistory> {
        self.index.get(id).map(|&n| &self.frameworks[n])
    }

    /// A SUBSCRIBE opened `stream` for the framework `framework_id`
    /// (`None`: it had been removed, the stream carries only an error).
    /// `with_id`: the call's `FrameworkInfo` had an id.
    pub fn subscribed(
        &mut self,
        master: &Master,
        stream: StreamKey,
        framework_id: Option<&str>,
        with_id: bool,
        content_type: ContentType,
        wall: f64,
    ) {
        self.bump(if with_id { "messages_reregister_framework" } else { "messages_register_framework" });
        let Some(id) = framework_id else { return };
        let n = match self.index.get(id) {
            Some(&n) => {
                // A failover: the old subscription's offers went.
                let f = &mut self.frameworks[n];
                f.reregistered = wall;
                f.all_offers_gone();
                n
            }
            None => {
                let info = master.framework_info(id).cloned().unwrap_or_default();
                #[allow(deprecated)]
                let role = info.role.clone();
                let roles =
                    if info.roles.is_empty() { vec![role.unwrap_or_else(|| "*".into())] } else { info.roles.clone() };
                self.frameworks.push(FrameworkHistory {
                    id: id.to_owned(),
                    name: info.name.clone(),
                    roles,
                    principal: info.principal.clone(),
                    registered: wall,
                    reregistered: wall,
                    ..Default::default()
                });
                let n = self.frameworks.len() - 1;
                self.index.insert(id.to_owned(), n);
                self.live.insert(n);
                n
            }
        };
        *self.frameworks[n].calls.entry("subscribe".into()).or_default() += 1;
        self.streams.insert(stream, (n, content_type));
    }

    /// A call other than SUBSCRIBE reached its framework (which the master
    /// found): counted in its metrics, whatever comes of it.
    pub fn reached(&mut self, call: &Call) {
        let Some(id) = call.framework_id.as_ref() else { return };
        let Some(&n) = self.index.get(&id.value) else { return };
        let ty = call::Type::try_from(call.r#type.unwrap_or(0)).unwrap_or(call::Type::Unknown);
        *self.frameworks[n].calls.entry(lower(ty.as_str_name())).or_default() += 1;
    }

    /// A call other than SUBSCRIBE was taken (answered 202 or 200).
    pub fn taken(&mut self, master: &Master, call: Call) {
        let Some(id) = call.framework_id.as_ref().map(|f| f.value.clone()) else { return };
        let Some(&n) = self.index.get(&id) else { return };
        let ty = call::Type::try_from(call.r#type.unwrap_or(0)).unwrap_or(call::Type::Unknown);
        match ty {
            call::Type::Accept => {
                let accept = call.accept.unwrap_or_default();
                let launch = |op: &offer::Operation| op.r#type() == offer::operation::Type::Launch;
                for op in accept.operations.iter().filter(|op| launch(op)) {
                    let tasks = op.launch.as_ref().map_or(0, |l| l.task_infos.len());
                    self.bump(if tasks > 0 { "messages_launch_tasks" } else { "messages_decline_offers" });
                }
                let f = &mut self.frameworks[n];
                for id in &accept.offer_ids {
                    f.offer_gone(&id.value);
                }
                f.offers_accepted += accept.offer_ids.len() as u64;
                f.launches += accept.operations.iter().filter(|op| launch(op)).count() as u64;
            }
            call::Type::Decline => {
                self.bump("messages_decline_offers");
                let ids = call.decline.map(|d| d.offer_ids).unwrap_or_default();
                let f = &mut self.frameworks[n];
                for id in &ids {
                    f.offer_gone(&id.value);
                }
                f.offers_declined += ids.len() as u64;
            }
            call::Type::Revive => self.bump("messages_revive_offers"),
            call::Type::Suppress => self.bump("messages_suppress_offers"),
            call::Type::Kill => self.bump("messages_kill_task"),
            call::Type::Reconcile => self.bump("messages_reconcile_tasks"),
            call::Type::Message => self.bump("messages_framework_to_executor"),
            call::Type::Request => self.bump("messages_resource_request"),
            call::Type::Acknowledge => {
                self.bump("messages_status_update_acknowledgement");
                self.bump("valid_status_update_acknowledgements");
                let ack = call.acknowledge.unwrap_or_default();
                self.maybe_completed(master, n, &ack.task_id.value);
            }
            _ => {}
        }
    }

    /// A task the master no longer holds has ended.
    fn maybe_completed(&mut self, master: &Master, n: usize, task_id: &str) {
        let f = &mut self.frameworks[n];
        if master.view_task(&f.id, task_id).is_some() {
            return;
        }
        if let Some(pos) = f.tasks.iter().position(|t| t.info.task_id.value == task_id) {
            let task = f.tasks.remove(pos);
            f.completed_tasks.push(task);
            self.keep_completed_tasks(n);
        }
    }

    /// Keeps framework `n`'s last [`MAX_COMPLETED_TASKS`] ended tasks.
    fn keep_completed_tasks(&mut self, n: usize) {
        let f = &mut self.frameworks[n];
        let over = f.completed_tasks.len().saturating_sub(MAX_COMPLETED_TASKS);
        for task in f.completed_tasks.drain(..over) {
            self.forgotten.entry(task.agent_id.clone()).or_default().add(&task);
        }
    }

    /// Framework `n` was removed: it joins the completed ones, and the
    /// oldest of those beyond [`MAX_COMPLETED_FRAMEWORKS`] is forgotten.
    fn complete(&mut self, n: usize) {
        self.keep_completed_tasks(n);
        self.completed.push_back(n);
        while self.completed.len() > MAX_COMPLETED_FRAMEWORKS {
            let Some(old) = self.completed.pop_front() else { break };
            let f = &mut self.frameworks[old];
            for task in std::mem::take(&mut f.completed_tasks) {
                self.forgotten.entry(task.agent_id.clone()).or_default().add(&task);
            }
            // What a master keeps of it no more: its tasks, offers and
            // metrics (its principal's counters stay, as a master's do).
            let (id, principal, unregistered) = (std::mem::take(&mut f.id), f.principal.take(), f.unregistered);
            *f = FrameworkHistory { id, principal, unregistered, forgotten: true, ..Default::default() };
        }
    }

    /// One record handed to `stream` (size line and payload).
    pub fn record(&mut self, master: &Master, stream: StreamKey, framed: &Bytes) {
        let Some(&(n, content_type)) = self.streams.get(&stream) else { return };
        let payload = framed.iter().position(|&b| b == b'\n').map_or(&framed[..], |nl| &framed[nl + 1..]);
        let encoding = if content_type == ContentType::Protobuf { Encoding::Protobuf } else { Encoding::Json };
        let Ok(event_type) = message_type("scheduler.Event") else { return };
        let Ok(Some(name)) = peek_type(event_type, encoding, payload) else { return };
        *self.frameworks[n].events.entry(lower(name)).or_default() += 1;
        match name {
            "OFFERS" => {
                let Ok(ids) = peek_ids(event_type, encoding, payload) else { return };
                let f = &mut self.frameworks[n];
                f.offers_sent += ids.offer_ids.len() as u64;
                for id in &ids.offer_ids {
                    if let Some(offer) = master.view_offer(id) {
                        f.offered.add_all(&offer.resources);
                        f.offers.insert(offer.id, offer.resources);
                    }
                }
                return;
            }
            "UPDATE" | "RESCIND" => {}
            _ => return,
        }
        let event = match content_type {
            ContentType::Protobuf => Event::decode(payload).ok(),
            _ => mesos_codec::json::from_json::<Event>(payload).ok(),
        };
        let Some(event) = event else { return };
        match event::Type::try_from(event.r#type.unwrap_or(0)) {
            Ok(event::Type::Rescind) => self.frameworks[n].offers_rescinded += 1,
            Ok(event::Type::Update) => {
                if let Some(update) = event.update {
                    self.update(master, n, update.status);
                }
            }
            _ => {}
        }
    }

    fn update(&mut self, master: &Master, n: usize, status: TaskStatus) {
        let state = status.state();
        let from_agent = status.uuid.is_some();
        if !from_agent {
            // The master's own updates: a launch that failed counts.
            let launch_failed =
                matches!(status.reason(), task_status::Reason::InvalidOffers | task_status::Reason::TaskInvalid);
            if status.source() == task_status::Source::Master && launch_failed && status.reason.is_some() {
                if let Some(counter) = terminal_counter(state) {
                    self.bump(counter);
                }
                *self.frameworks[n].terminal.entry(state).or_default() += 1;
            }
            return;
        }
        self.bump("messages_status_update");
        self.bump("valid_status_updates");
        let task_id = status.task_id.value.clone();
        let f = &mut self.frameworks[n];
        let pos = match f.tasks.iter().position(|t| t.info.task_id.value == task_id) {
            Some(pos) => pos,
            None => {
                let Some(view) = master.view_task(&f.id, &task_id) else { return };
                f.tasks.push(TaskHistory {
                    info: view.info,
                    agent_id: view.agent_id,
                    resources: view.resources,
                    state: TaskState::TaskStaging,
                    statuses: Vec::new(),
                });
                f.tasks.len() - 1
            }
        };
        let task = &mut f.tasks[pos];
        if task.statuses.iter().any(|s| s.uuid == status.uuid) {
            return;
        }
        let newly_terminal = is_terminal(state) && !is_terminal(task.state);
        task.state = state;
        task.statuses.push(status);
        if newly_terminal {
            *f.terminal.entry(state).or_default() += 1;
            if let Some(counter) = terminal_counter(state) {
                self.bump(counter);
            }
        }
    }

    /// The framework of `stream` lost its connection, holding `offers`
    /// offers (rescinded).
    pub fn connection_lost(&mut self, stream: StreamKey, offers: usize) {
        if let Some(&(n, _)) = self.streams.get(&stream) {
            let f = &mut self.frameworks[n];
            f.all_offers_gone();
            f.offers_rescinded += offers as u64;
            *f.events.entry("rescind".into()).or_default() += offers as u64;
        }
    }

    /// Frameworks the master removed since the last look: their live tasks
    /// are killed (a master's TASK_KILLED, "Framework removed") and end.
    pub fn sync(&mut self, master: &Master, wall: f64) {
        let removed: Vec<usize> =
            self.live.iter().copied().filter(|&n| master.framework_removed(&self.frameworks[n].id)).collect();
        for n in removed {
            let mut killed = 0;
            let f = &mut self.frameworks[n];
            f.unregistered = Some(wall);
            f.all_offers_gone();
            for mut task in std::mem::take(&mut f.tasks) {
                if !is_terminal(task.state) {
                    let mut status =
                        TaskStatus { task_id: task.info.task_id.clone(), timestamp: Some(wall), ..Default::default() };
                    status.set_state(TaskState::TaskKilled);
                    task.state = TaskState::TaskKilled;
                    task.statuses.push(status);
                    *f.terminal.entry(TaskState::TaskKilled).or_default() += 1;
                    killed += 1;
                }
                f.completed_tasks.push(task);
            }
            for _ in 0..killed {
                self.bump("tasks_killed");
            }
            self.live.remove(&n);
            self.complete(n);
        }
    }
}
