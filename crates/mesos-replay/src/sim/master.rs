//! The simulated master as a sans-IO state machine.
//!
//! [`Master`] owns the cluster (agents, offers, frameworks, tasks) and does no
//! I/O and reads no clock: the caller hands it each scheduler call with the
//! current time ([`Master::handle_call`]), tells it when a subscription's
//! connection is gone ([`Master::stream_closed`]), asks when it next needs to
//! be woken ([`Master::poll_timeout`]) and wakes it ([`Master::handle_timeout`]).
//! Each of these returns [`Push`]es: framed RecordIO records to write to a
//! subscription stream (one record, one HTTP chunk) and streams to close.
//! Time is a [`Duration`] since the master started, so a test can run it on
//! a virtual clock and get the same bytes every time.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use mesos_codec::negotiate::{self, ContentType};
use mesos_codec::recordio;
use mesos_codec::v1::scheduler::{Call, Event, call, event};
use mesos_codec::v1::{
    Address, AgentId, ContainerStatus, ExecutorId, FrameworkId, FrameworkInfo, MasterInfo, NetworkInfo, Offer, OfferId,
    TaskId, TaskInfo, TaskState, TaskStatus, Url, framework_info, network_info, offer, task_status,
};
use prost::Message;

use super::ids::{UuidKind, uuid_bytes, uuid_string};
use super::resources::Resources;

mod view;
pub use view::{AgentView, FrameworkView, OfferView, TaskView, View};

/// The Unix time (seconds) that simulated time 0 maps to in status update
/// timestamps: the first update of the seed walkthrough.
pub const EPOCH_SECONDS: f64 = 1_460_526_113.0;

/// First retry delay of an unacknowledged status update; it doubles up to
/// [`UPDATE_RETRY_MAX`], as an agent's status update manager does.
pub const UPDATE_RETRY_MIN: Duration = Duration::from_secs(10);
/// Longest delay between two sends of an unacknowledged status update.
pub const UPDATE_RETRY_MAX: Duration = Duration::from_secs(600);

/// The simulated cluster and master settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Number of agents (`slave0`, `slave1`, ...).
    pub agents: usize,
    /// `cpus` of each agent.
    pub cpus: f64,
    /// `mem` of each agent, MB.
    pub mem: f64,
    /// `disk` of each agent, MB.
    pub disk: f64,
    /// `ports` of each agent.
    pub ports: (u64, u64),
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// Seed of every id the master chooses.
    pub seed: u64,
    /// The master's address, as written in `master_info`.
    pub address: std::net::SocketAddr,
    /// Where to write what the server served as session files, one per
    /// framework (`--record`); the server's business, not the master's.
    pub record: Option<std::path::PathBuf>,
}

impl Default for Config {
    /// The seed walkthrough's cluster: two agents with 2 cpus, 996 MB of
    /// memory, 30509 MB of disk and ports 31000-32000; 15 s heartbeats.
    fn default() -> Self {
        Config {
            agents: 2,
            cpus: 2.0,
            mem: 996.0,
            disk: 30509.0,
            ports: (31000, 32000),
            heartbeat: Duration::from_secs(15),
            seed: 0,
            address: std::net::SocketAddr::from(([127, 0, 0, 1], 5050)),
            record: None,
        }
    }
}

/// Identifies one subscription stream (one `SUBSCRIBE` response).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey(pub u64);

/// A scheduler API request, as much of it as the master reads.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// `Content-Type`, if sent.
    pub content_type: Option<&'a str>,
    /// `Accept`, if sent (the last one).
    pub accept: Option<&'a str>,
    /// `Mesos-Stream-Id`, if sent.
    pub stream_id: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// The HTTP answer to a call.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// `202 Accepted` with an empty body.
    Accepted,
    /// `200 OK` with an empty body (`UPDATE_FRAMEWORK`).
    Ok,
    /// An error: the status and a `text/plain; charset=utf-8` body. A `405`
    /// also carries `Allow: POST`.
    Error {
        /// HTTP status.
        status: u16,
        /// The body text.
        message: String,
    },
    /// `200 OK` opening an event stream: its records come as [`Push`]es.
    Stream {
        /// The stream the pushes name.
        stream: StreamKey,
        /// The type of each record (`Content-Type`).
        content_type: ContentType,
        /// `Mesos-Stream-Id`.
        stream_id: String,
    },
}

impl Answer {
    fn error(status: u16, message: impl Into<String>) -> Answer {
        Answer::Error { status, message: message.into() }
    }
}

/// Something to do to a subscription stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Push {
    /// Write one framed RecordIO record as one HTTP chunk.
    Record {
        /// The stream.
        stream: StreamKey,
        /// Size line and payload.
        record: Bytes,
    },
    /// End the stream (the closing chunk).
    Close {
        /// The stream.
        stream: StreamKey,
    },
}

#[derive(Debug)]
struct Agent {
    id: String,
    hostname: String,
    ip: String,
    free: Resources,
}

#[derive(Debug)]
struct PendingOffer {
    id: String,
    framework: usize,
    agent: usize,
    resources: Resources,
}

#[derive(Debug)]
struct PendingUpdate {
    status: TaskStatus,
    /// When to send it (again); `None` until first sent.
    next_send: Option<Duration>,
    backoff: Duration,
}

#[derive(Debug)]
struct Task {
    info: TaskInfo,
    agent: usize,
    resources: Resources,
    state: TaskState,
    finish_at: Option<Duration>,
    updates: VecDeque<PendingUpdate>,
}

#[derive(Debug)]
struct Subscription {
    key: StreamKey,
    stream_id: String,
    content_type: ContentType,
    next_heartbeat: Duration,
}

#[derive(Debug)]
struct Framework {
    id: String,
    info: FrameworkInfo,
    subscription: Option<Subscription>,
    removed: bool,
    suppressed: bool,
    /// Agent index → refused until.
    filters: BTreeMap<usize, Duration>,
    failover_at: Option<Duration>,
    tasks: BTreeMap<String, Task>,
    /// `cpus` and `mem` of its outstanding offers and live tasks, kept as
    /// they change (for DRF).
    used: (f64, f64),
}

impl Framework {
    fn partition_aware(&self) -> bool {
        self.info.capabilities.iter().any(|c| c.r#type() == framework_info::capability::Type::PartitionAware)
    }
}

/// The simulated master. See the [module docs](self).
#[derive(Debug)]
pub struct Master {
    config: Config,
    master_id: String,
    agents: Vec<Agent>,
    total: Resources,
    frameworks: Vec<Framework>,
    /// Outstanding offers by number (the `N` of `<master id>-O<N>`).
    offers: BTreeMap<u64, PendingOffer>,
    next_offer: u64,
    next_stream: u64,
    next_status: u64,
}

fn call_type_name(call: &Call) -> &'static str {
    call::Type::try_from(call.r#type.unwrap_or(0)).map(|t| t.as_str_name()).unwrap_or("UNKNOWN")
}

/// `sleep N`, `sleep Ns`, `/bin/sleep 3000s`: how long the command runs.
fn sleep_duration(info: &TaskInfo) -> Option<Duration> {
    let command = info.command.as_ref()?;
    let mut words: Vec<&str> = Vec::new();
    if command.shell.unwrap_or(true) {
        words.extend(command.value.as_deref()?.split_whitespace());
    } else {
        words.extend(command.value.as_deref());
        words.extend(command.arguments.iter().skip(1).map(String::as_str));
    }
    let [program, amount] = words.as_slice() else { return None };
    if *program != "sleep" && !program.ends_with("/sleep") {
        return None;
    }
    let seconds: f64 = amount.strip_suffix('s').unwrap_or(amount).parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

impl Master {
    /// A master with its agents, as `config` says.
    pub fn new(config: Config) -> Master {
        let master_id = uuid_string(&uuid_bytes(config.seed, UuidKind::Master, 0));
        let per_agent = Resources {
            cpus: config.cpus,
            mem: config.mem,
            disk: config.disk,
            ports: if config.ports.0 <= config.ports.1 { vec![config.ports] } else { Vec::new() },
        };
        let mut total = Resources::default();
        let agents = (0..config.agents)
            .map(|n| {
                total.add(&per_agent);
                Agent {
                    id: format!("{master_id}-S{n}"),
                    hostname: format!("slave{n}"),
                    ip: format!("127.0.1.{}", (n % 254) + 1),
                    free: per_agent.clone(),
                }
            })
            .collect();
        Master {
            config,
            master_id,
            agents,
            total,
            frameworks: Vec::new(),
            offers: BTreeMap::new(),
            next_offer: 0,
            next_stream: 0,
            next_status: 0,
        }
    }

    /// The master's id (the prefix of every framework, agent and offer id).
    pub fn id(&self) -> &str {
        &self.master_id
    }

    /// The agents' ids, in order (`slave0` first).
    pub fn agent_ids(&self) -> Vec<String> {
        self.agents.iter().map(|a| a.id.clone()).collect()
    }

    /// Whether the framework `id` was removed (torn down or failed over
    /// too late). `false` for an id never seen.
    pub fn framework_removed(&self, id: &str) -> bool {
        self.frameworks.iter().any(|f| f.id == id && f.removed)
    }

    /// The framework whose subscription `stream` is.
    pub fn stream_framework(&self, stream: StreamKey) -> Option<&str> {
        self.frameworks.iter().find(|f| f.subscription.as_ref().is_some_and(|s| s.key == stream)).map(|f| f.id.as_str())
    }

    // ----- the scheduler API -----

    /// Handles one `POST /api/v1/scheduler` request, checked in the master's
    /// order, at time `now`.
    pub fn handle_call(&mut self, request: &Request<'_>, now: Duration, pushes: &mut Vec<Push>) -> Answer {
        if request.method != "POST" {
            // libprocess `MethodNotAllowed::constructBody`
            // (3rdparty/libprocess/include/process/http.hpp).
            return Answer::error(
                405,
                format!("405 Method Not Allowed. Expecting one of {{ 'POST' }}, but received '{}'.", request.method),
            );
        }
        let content_type = match negotiate::request_content_type(request.content_type) {
            Ok(ct) => ct,
            Err(e) => return Answer::error(e.status(), e.to_string()),
        };
        // The texts of the parse, convert and validate answers are those of
        // `Master::Http::scheduler` (src/master/http.cpp): the JSON parser's
        // and converter's own explanations are this crate's, not stout's.
        let call = match content_type {
            ContentType::Json => {
                if let Err(e) = serde_json::from_slice::<serde_json::Value>(request.body) {
                    return Answer::error(400, format!("Failed to parse body into JSON: {e}"));
                }
                match mesos_codec::json::from_json::<Call>(request.body) {
                    Ok(call) => call,
                    Err(e) => return Answer::error(400, format!("Failed to convert JSON into Call protobuf: {e}")),
                }
            }
            _ => match Call::decode(request.body) {
                Ok(call) => call,
                // src/master/http.cpp: no detail follows (`ParseFromString`
                // gives none).
                Err(_) => return Answer::error(400, "Failed to parse body into Call protobuf"),
            },
        };
        if let Err(e) = validate(&call) {
            return Answer::error(400, format!("Failed to validate scheduler::Call: {e}"));
        }
        if call.r#type() == call::Type::Subscribe {
            let response_type = match negotiate::response_content_type(request.accept) {
                Ok(ct) => ct,
                Err(e) => return Answer::error(e.status(), e.to_string()),
            };
            // src/master/http.cpp, checked after the 406.
            if request.stream_id.is_some() {
                return Answer::error(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
            }
            return self.subscribe(call, response_type, now, pushes);
        }
        let framework_id = call.framework_id.as_ref().map(|f| f.value.as_str()).unwrap_or_default();
        // src/master/http.cpp: the lookup, the connection, then the stream id.
        let Some(fw) = self.frameworks.iter().position(|f| f.id == framework_id && !f.removed) else {
            return Answer::error(400, "Framework cannot be found");
        };
        let Some(sub) = &self.frameworks[fw].subscription else {
            return Answer::error(403, "Framework is not subscribed");
        };
        match request.stream_id {
            None => return Answer::error(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"),
            Some(id) if id != sub.stream_id => {
                return Answer::error(
                    400,
                    format!(
                        "The stream ID included in this request didn't match the stream ID currently associated \
                         with framework ID '{framework_id}'"
                    ),
                );
            }
            Some(_) => {}
        }
        match call.r#type() {
            call::Type::Teardown => {
                self.remove_framework(fw, pushes);
                self.allocate(now, pushes);
            }
            call::Type::Accept => self.accept(fw, call.accept.unwrap_or_default(), now, pushes),
            call::Type::Decline => {
                let decline = call.decline.unwrap_or_default();
                self.decline(fw, &decline.offer_ids, decline.filters.and_then(|f| f.refuse_seconds), now, pushes);
            }
            call::Type::Revive => {
                let f = &mut self.frameworks[fw];
                f.filters.clear();
                f.suppressed = false;
                self.allocate(now, pushes);
            }
            call::Type::Suppress => self.frameworks[fw].suppressed = true,
            call::Type::UpdateFramework => {
                let update = call.update_framework.unwrap_or_default();
                let f = &mut self.frameworks[fw];
                let mut info = update.framework_info;
                info.id = Some(FrameworkId { value: f.id.clone() });
                f.info = info;
                f.suppressed = !update.suppressed_roles.is_empty();
                self.allocate(now, pushes);
                return Answer::Ok;
            }
            call::Type::Kill => {
                let kill = call.kill.unwrap_or_default();
                self.kill(fw, &kill.task_id.value, kill.agent_id.as_ref(), now, pushes);
            }
            call::Type::Acknowledge => {
                let ack = call.acknowledge.unwrap_or_default();
                self.acknowledge(fw, &ack.task_id.value, &ack.uuid, now, pushes);
            }
            call::Type::Reconcile => {
                let tasks = call.reconcile.unwrap_or_default().tasks;
                self.reconcile(fw, &tasks, now, pushes);
            }
            // No custom executors, inverse offers or allocator requests exist
            // in this cluster: a master accepts these and has nothing to do.
            call::Type::Message
            | call::Type::Request
            | call::Type::AcceptInverseOffers
            | call::Type::DeclineInverseOffers => {}
            // src/master/http.cpp answers `NotImplemented()`, whose default
            // body is libprocess's (process/http.hpp).
            call::Type::Unknown => return Answer::error(501, "501 Not Implemented."),
            other => {
                return Answer::error(501, format!("mesos-replay sim does not implement {}", other.as_str_name()));
            }
        }
        Answer::Accepted
    }

    /// The subscription's connection is gone: the framework is disconnected,
    /// its offers are rescinded and its failover timeout starts.
    pub fn stream_closed(&mut self, stream: StreamKey, now: Duration, pushes: &mut Vec<Push>) {
        let Some(fw) = self.frameworks.iter().position(|f| f.subscription.as_ref().is_some_and(|s| s.key == stream))
        else {
            return;
        };
        let f = &mut self.frameworks[fw];
        f.subscription = None;
        let timeout = f.info.failover_timeout.unwrap_or(0.0);
        // An infinite (or too large) timeout never expires.
        let timeout =
            if timeout > 0.0 { Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX) } else { Duration::ZERO };
        f.failover_at = Some(now.saturating_add(timeout));
        self.recover_offers(fw);
        self.handle_timeout(now, pushes);
        self.allocate(now, pushes);
    }

    /// When the master next needs [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        let mut consider = |t: Duration| next = Some(next.map_or(t, |n| n.min(t)));
        for f in self.frameworks.iter().filter(|f| !f.removed) {
            if let Some(t) = f.failover_at {
                consider(t);
            }
            for task in f.tasks.values() {
                if let Some(t) = task.finish_at {
                    consider(t);
                }
            }
            if let Some(sub) = &f.subscription {
                consider(sub.next_heartbeat);
                f.filters.values().for_each(|&t| consider(t));
                for task in f.tasks.values() {
                    if let Some(t) = task.updates.front().and_then(|u| u.next_send) {
                        consider(t);
                    }
                }
            }
        }
        next
    }

    /// Does everything due at or before `now`: heartbeats, tasks that end,
    /// status update retries, expired filters, failover timeouts.
    pub fn handle_timeout(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        // Everything (a framework removed) or the agents whose resources or
        // filters changed.
        let mut reallocate_all = false;
        let mut reallocate: Vec<usize> = Vec::new();
        for fw in 0..self.frameworks.len() {
            if self.frameworks[fw].removed {
                continue;
            }
            if self.frameworks[fw].failover_at.is_some_and(|t| t <= now) {
                self.remove_framework(fw, pushes);
                reallocate_all = true;
                continue;
            }
            let due: Vec<(String, usize)> = self.frameworks[fw]
                .tasks
                .iter()
                .filter(|(_, t)| t.finish_at.is_some_and(|at| at <= now))
                .map(|(id, t)| (id.clone(), t.agent))
                .collect();
            for (id, agent) in due {
                self.end_task(fw, &id, TaskState::TaskFinished, "Command exited with status 0", now, pushes);
                reallocate.push(agent);
            }
            let heartbeat = self.config.heartbeat;
            let f = &mut self.frameworks[fw];
            f.filters.retain(|agent, until| {
                let keep = *until > now;
                if !keep {
                    reallocate.push(*agent);
                }
                keep
            });
            let Some(sub) = &mut f.subscription else { continue };
            if sub.next_heartbeat <= now {
                sub.next_heartbeat = now + heartbeat.max(Duration::from_millis(1));
                let record = frame(&heartbeat_event(), sub.content_type);
                pushes.push(Push::Record { stream: sub.key, record });
            }
            let (key, ct) = (sub.key, sub.content_type);
            for task in f.tasks.values_mut() {
                if let Some(head) = task.updates.front_mut()
                    && head.next_send.is_some_and(|t| t <= now)
                {
                    head.backoff = (head.backoff * 2).min(UPDATE_RETRY_MAX);
                    head.next_send = Some(now + head.backoff);
                    pushes.push(Push::Record { stream: key, record: frame(&update_event(head.status.clone()), ct) });
                }
            }
        }
        if reallocate_all {
            self.allocate(now, pushes);
        } else if !reallocate.is_empty() {
            self.allocate_agents(reallocate, now, pushes);
        }
    }

    // ----- calls -----

    fn subscribe(&mut self, call: Call, content_type: ContentType, now: Duration, pushes: &mut Vec<Push>) -> Answer {
        let subscribe = call.subscribe.unwrap_or_default();
        let mut info = subscribe.framework_info;
        let requested = call.framework_id.map(|f| f.value).or_else(|| info.id.as_ref().map(|f| f.value.clone()));
        let key = StreamKey(self.next_stream);
        self.next_stream += 1;
        let stream_id = uuid_string(&uuid_bytes(self.config.seed, UuidKind::Stream, key.0));
        let answer = Answer::Stream { stream: key, content_type, stream_id: stream_id.clone() };

        let existing = requested.as_ref().and_then(|id| self.frameworks.iter().position(|f| &f.id == id));
        if let Some(fw) = existing
            && self.frameworks[fw].removed
        {
            let error = Event {
                r#type: Some(event::Type::Error as i32),
                error: Some(event::Error { message: "Framework has been removed".into() }),
                ..Default::default()
            };
            pushes.push(Push::Record { stream: key, record: frame(&error, content_type) });
            pushes.push(Push::Close { stream: key });
            return answer;
        }
        let fw = match existing {
            Some(fw) => {
                // Failover: the old stream learns it and ends; the offers go.
                if let Some(old) = self.frameworks[fw].subscription.take() {
                    let error = Event {
                        r#type: Some(event::Type::Error as i32),
                        error: Some(event::Error { message: "Framework failed over".into() }),
                        ..Default::default()
                    };
                    pushes.push(Push::Record { stream: old.key, record: frame(&error, old.content_type) });
                    pushes.push(Push::Close { stream: old.key });
                }
                self.recover_offers(fw);
                fw
            }
            None => {
                let id = requested.unwrap_or_else(|| format!("{}-{:04}", self.master_id, self.frameworks.len()));
                self.frameworks.push(Framework {
                    id,
                    info: FrameworkInfo::default(),
                    subscription: None,
                    removed: false,
                    suppressed: false,
                    filters: BTreeMap::new(),
                    failover_at: None,
                    tasks: BTreeMap::new(),
                    used: (0.0, 0.0),
                });
                self.frameworks.len() - 1
            }
        };
        let heartbeat = self.config.heartbeat;
        let master_info = self.master_info();
        let f = &mut self.frameworks[fw];
        info.id = Some(FrameworkId { value: f.id.clone() });
        f.info = info;
        f.suppressed = !subscribe.suppressed_roles.is_empty();
        f.failover_at = None;
        f.subscription = Some(Subscription {
            key,
            stream_id,
            content_type,
            next_heartbeat: now + heartbeat.max(Duration::from_millis(1)),
        });
        let subscribed = Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                framework_id: FrameworkId { value: f.id.clone() },
                heartbeat_interval_seconds: Some(heartbeat.as_secs_f64()),
                master_info: Some(master_info),
            }),
            ..Default::default()
        };
        pushes.push(Push::Record { stream: key, record: frame(&subscribed, content_type) });
        pushes.push(Push::Record { stream: key, record: frame(&heartbeat_event(), content_type) });
        // The agents re-send what is still unacknowledged.
        for task in f.tasks.values_mut() {
            if let Some(head) = task.updates.front_mut() {
                head.backoff = UPDATE_RETRY_MIN;
                head.next_send = Some(now + head.backoff);
                pushes.push(Push::Record {
                    stream: key,
                    record: frame(&update_event(head.status.clone()), content_type),
                });
            }
        }
        self.allocate(now, pushes);
        answer
    }

    fn accept(&mut self, fw: usize, accept: call::Accept, now: Duration, pushes: &mut Vec<Push>) {
        // Take the offers out; any that is not valid fails the whole call.
        let mut error: Option<String> = None;
        let mut agent: Option<usize> = None;
        let mut offered = Resources::default();
        let mut touched = Vec::new();
        if accept.offer_ids.is_empty() {
            error = Some("No offers specified".into());
        }
        for (n, id) in accept.offer_ids.iter().enumerate() {
            if accept.offer_ids[..n].contains(id) {
                error.get_or_insert_with(|| format!("Duplicate offer {} in accept", id.value));
                continue;
            }
            let Some(key) = self.offer_key(&id.value) else {
                error.get_or_insert_with(|| format!("Offer {} is no longer valid", id.value));
                continue;
            };
            if self.offers[&key].framework != fw {
                error.get_or_insert_with(|| format!("Offer {} has invalid framework", id.value));
                continue;
            }
            let Some(o) = self.offers.remove(&key) else { continue };
            self.charge(fw, &o.resources, -1.0);
            if agent.is_some_and(|a| a != o.agent) {
                error.get_or_insert_with(|| "Aggregated offers must belong to one single agent".into());
            }
            agent.get_or_insert(o.agent);
            touched.push(o.agent);
            self.agents[o.agent].free.add(&o.resources);
            offered.add(&o.resources);
        }
        for op in accept.operations.iter().filter(|op| op.r#type() != offer::operation::Type::Launch) {
            // Reservations, volumes and task groups are not simulated: the
            // operation does nothing, and says so in the log.
            let name = offer::operation::Type::try_from(op.r#type.unwrap_or(0)).map_or("UNKNOWN", |t| t.as_str_name());
            tracing::warn!("ACCEPT: the simulated master ignores {name} operations");
        }
        let tasks = accept
            .operations
            .iter()
            .filter(|op| op.r#type() == offer::operation::Type::Launch)
            .flat_map(|op| op.launch.iter().flat_map(|l| l.task_infos.iter()));
        let (Some(agent), None) = (agent, &error) else {
            let message = format!("Task launched with invalid offers: {}", error.unwrap_or_default());
            let state =
                if self.frameworks[fw].partition_aware() { TaskState::TaskDropped } else { TaskState::TaskLost };
            let statuses: Vec<TaskStatus> = tasks
                .map(|t| {
                    self.master_status(
                        &t.task_id,
                        Some(&t.agent_id),
                        state,
                        &message,
                        task_status::Reason::InvalidOffers,
                        now,
                    )
                })
                .collect();
            for status in statuses {
                self.send_once(fw, status, pushes);
            }
            self.allocate_agents(touched, now, pushes);
            return;
        };
        // The offered resources are back in `free`; launches take from them.
        let mut available = offered;
        let tasks: Vec<TaskInfo> = tasks.cloned().collect();
        for info in tasks {
            match self.validate_task(fw, agent, &info, &available) {
                Err(message) => {
                    let status = self.master_status(
                        &info.task_id,
                        Some(&info.agent_id),
                        TaskState::TaskError,
                        &message,
                        task_status::Reason::TaskInvalid,
                        now,
                    );
                    self.send_once(fw, status, pushes);
                }
                Ok(resources) => {
                    available.subtract(&resources);
                    self.agents[agent].free.subtract(&resources);
                    self.launch(fw, agent, info, resources, now, pushes);
                }
            }
        }
        let refuse = accept.filters.and_then(|f| f.refuse_seconds);
        if !available.is_empty() {
            self.add_filter(fw, agent, refuse, now);
        }
        self.allocate_agents([agent], now, pushes);
    }

    fn validate_task(
        &self,
        fw: usize,
        agent: usize,
        info: &TaskInfo,
        available: &Resources,
    ) -> Result<Resources, String> {
        let f = &self.frameworks[fw];
        if info.task_id.value.is_empty() {
            return Err("ID must not be empty".into());
        }
        if f.tasks.contains_key(&info.task_id.value) {
            return Err(format!("Task has duplicate ID: {}", info.task_id.value));
        }
        if info.agent_id.value != self.agents[agent].id {
            return Err(format!(
                "Task uses invalid agent: {} (the offers are for agent {})",
                info.agent_id.value, self.agents[agent].id
            ));
        }
        if info.command.is_some() == info.executor.is_some() {
            return Err("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present".into());
        }
        let wanted = Resources::from_proto(&info.resources)
            .map_err(|r| format!("Task uses more resources {r} than available {available}"))?;
        if !available.contains(&wanted) {
            return Err(format!("Task uses more resources {wanted} than available {available}"));
        }
        Ok(wanted)
    }

    fn launch(
        &mut self,
        fw: usize,
        agent: usize,
        info: TaskInfo,
        resources: Resources,
        now: Duration,
        pushes: &mut Vec<Push>,
    ) {
        let id = info.task_id.value.clone();
        let finish_at = sleep_duration(&info).map(|d| now.saturating_add(d));
        self.charge(fw, &resources, 1.0);
        self.frameworks[fw].tasks.insert(
            id.clone(),
            Task { info, agent, resources, state: TaskState::TaskStaging, finish_at, updates: VecDeque::new() },
        );
        self.agent_update(fw, &id, TaskState::TaskStarting, None, now, pushes);
        self.agent_update(fw, &id, TaskState::TaskRunning, None, now, pushes);
    }

    fn decline(
        &mut self,
        fw: usize,
        offer_ids: &[OfferId],
        refuse: Option<f64>,
        now: Duration,
        pushes: &mut Vec<Push>,
    ) {
        let mut touched = Vec::with_capacity(offer_ids.len());
        for id in offer_ids {
            let Some(key) = self.offer_key(&id.value).filter(|key| self.offers[key].framework == fw) else {
                continue;
            };
            let Some(o) = self.offers.remove(&key) else { continue };
            self.charge(fw, &o.resources, -1.0);
            self.agents[o.agent].free.add(&o.resources);
            self.add_filter(fw, o.agent, refuse, now);
            touched.push(o.agent);
        }
        self.allocate_agents(touched, now, pushes);
    }

    fn kill(&mut self, fw: usize, task_id: &str, agent_id: Option<&AgentId>, now: Duration, pushes: &mut Vec<Push>) {
        let live = self.frameworks[fw].tasks.get(task_id).is_some_and(|t| !is_terminal(t.state));
        if live {
            let agent = self.frameworks[fw].tasks[task_id].agent;
            self.end_task(fw, task_id, TaskState::TaskKilled, "Command terminated with signal Terminated", now, pushes);
            self.allocate_agents([agent], now, pushes);
        } else {
            let task = call::reconcile::Task { task_id: TaskId { value: task_id.into() }, agent_id: agent_id.cloned() };
            self.reconcile(fw, &[task], now, pushes);
        }
    }

    fn acknowledge(&mut self, fw: usize, task_id: &str, uuid: &[u8], now: Duration, pushes: &mut Vec<Push>) {
        let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) else { return };
        if task.updates.front().is_none_or(|u| u.status.uuid.as_deref() != Some(uuid)) {
            return;
        }
        task.updates.pop_front();
        if task.updates.is_empty() && is_terminal(task.state) {
            self.frameworks[fw].tasks.remove(task_id);
            return;
        }
        self.send_head(fw, task_id, now, pushes);
    }

    fn reconcile(&mut self, fw: usize, tasks: &[call::reconcile::Task], now: Duration, pushes: &mut Vec<Push>) {
        let reason = task_status::Reason::Reconciliation;
        let mut statuses = Vec::new();
        let f = &self.frameworks[fw];
        if tasks.is_empty() {
            for task in f.tasks.values() {
                let agent = AgentId { value: self.agents[task.agent].id.clone() };
                statuses.push(self.master_status(
                    &task.info.task_id,
                    Some(&agent),
                    task.state,
                    "Reconciliation: Latest task state",
                    reason,
                    now,
                ));
            }
        }
        for t in tasks {
            let status = match f.tasks.get(&t.task_id.value) {
                Some(task) => {
                    let agent = AgentId { value: self.agents[task.agent].id.clone() };
                    self.master_status(
                        &t.task_id,
                        Some(&agent),
                        task.state,
                        "Reconciliation: Latest task state",
                        reason,
                        now,
                    )
                }
                None => {
                    let known_agent = t.agent_id.as_ref().filter(|a| self.agents.iter().any(|x| x.id == a.value));
                    let (state, message) = match (known_agent, f.partition_aware()) {
                        (Some(_), true) => (TaskState::TaskGone, "Reconciliation: Task is unknown to the agent"),
                        (Some(_), false) => (TaskState::TaskLost, "Reconciliation: Task is unknown to the agent"),
                        (None, true) => (TaskState::TaskUnknown, "Reconciliation: Task is unknown"),
                        (None, false) => (TaskState::TaskLost, "Reconciliation: Task is unknown"),
                    };
                    self.master_status(&t.task_id, t.agent_id.as_ref(), state, message, reason, now)
                }
            };
            statuses.push(status);
        }
        for status in statuses {
            self.send_once(fw, status, pushes);
        }
    }

    // ----- internals -----

    fn master_info(&self) -> MasterInfo {
        let (ip, ip_text) = match self.config.address.ip() {
            std::net::IpAddr::V4(v4) => (u32::from_le_bytes(v4.octets()), v4.to_string()),
            std::net::IpAddr::V6(v6) => (0, v6.to_string()),
        };
        let port = self.config.address.port();
        MasterInfo {
            id: self.master_id.clone(),
            ip,
            port: u32::from(port),
            pid: Some(format!("master@{ip_text}:{port}")),
            hostname: Some(ip_text.clone()),
            version: Some("1.12.0".into()),
            address: Some(Address { hostname: Some(ip_text.clone()), ip: Some(ip_text), port: i32::from(port) }),
            ..Default::default()
        }
    }

    fn next_uuid(&mut self) -> Bytes {
        let n = self.next_status;
        self.next_status += 1;
        Bytes::copy_from_slice(&uuid_bytes(self.config.seed, UuidKind::Status, n))
    }

    fn master_status(
        &self,
        task_id: &TaskId,
        agent_id: Option<&AgentId>,
        state: TaskState,
        message: &str,
        reason: task_status::Reason,
        now: Duration,
    ) -> TaskStatus {
        let mut status = TaskStatus {
            task_id: task_id.clone(),
            message: Some(message.into()),
            agent_id: agent_id.cloned(),
            timestamp: Some(EPOCH_SECONDS + now.as_secs_f64()),
            ..Default::default()
        };
        status.set_state(state);
        status.set_source(task_status::Source::Master);
        status.set_reason(reason);
        status
    }

    /// A master-generated update: sent once, no uuid, nothing to acknowledge.
    fn send_once(&self, fw: usize, status: TaskStatus, pushes: &mut Vec<Push>) {
        if let Some(sub) = &self.frameworks[fw].subscription {
            pushes.push(Push::Record { stream: sub.key, record: frame(&update_event(status), sub.content_type) });
        }
    }

    /// A status update from the task's agent: queued per task and re-sent
    /// until acknowledged, one at a time, in order.
    fn agent_update(
        &mut self,
        fw: usize,
        task_id: &str,
        state: TaskState,
        message: Option<&str>,
        now: Duration,
        pushes: &mut Vec<Push>,
    ) {
        let uuid = self.next_uuid();
        let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) else { return };
        let agent = &self.agents[task.agent];
        task.state = state;
        let mut status = TaskStatus {
            task_id: task.info.task_id.clone(),
            message: message.map(str::to_owned),
            agent_id: Some(AgentId { value: agent.id.clone() }),
            executor_id: Some(ExecutorId { value: task_id.into() }),
            timestamp: Some(EPOCH_SECONDS + now.as_secs_f64()),
            uuid: Some(uuid),
            container_status: Some(ContainerStatus {
                network_infos: vec![NetworkInfo {
                    ip_addresses: vec![network_info::IpAddress {
                        ip_address: Some(agent.ip.clone()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        status.set_state(state);
        status.set_source(task_status::Source::Executor);
        task.updates.push_back(PendingUpdate { status, next_send: None, backoff: UPDATE_RETRY_MIN });
        if task.updates.len() == 1 {
            self.send_head(fw, task_id, now, pushes);
        }
    }

    fn send_head(&mut self, fw: usize, task_id: &str, now: Duration, pushes: &mut Vec<Push>) {
        let f = &mut self.frameworks[fw];
        let Some(task) = f.tasks.get_mut(task_id) else { return };
        let Some(head) = task.updates.front_mut() else { return };
        head.backoff = UPDATE_RETRY_MIN;
        head.next_send = Some(now + head.backoff);
        if let Some(sub) = &f.subscription {
            pushes.push(Push::Record {
                stream: sub.key,
                record: frame(&update_event(head.status.clone()), sub.content_type),
            });
        }
    }

    /// A task ends (finished or killed): its resources go back to its agent.
    fn end_task(
        &mut self,
        fw: usize,
        task_id: &str,
        state: TaskState,
        message: &str,
        now: Duration,
        pushes: &mut Vec<Push>,
    ) {
        let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) else { return };
        task.finish_at = None;
        let (agent, resources) = (task.agent, task.resources.clone());
        self.agents[agent].free.add(&resources);
        self.charge(fw, &resources, -1.0);
        self.agent_update(fw, task_id, state, Some(message), now, pushes);
    }

    /// Checks each framework's `used` against its offers and live tasks.
    #[cfg(debug_assertions)]
    fn check_used(&self) {
        for (fw, f) in self.frameworks.iter().enumerate().filter(|(_, f)| !f.removed) {
            let mut held = Resources::default();
            self.offers.values().filter(|o| o.framework == fw).for_each(|o| held.add(&o.resources));
            f.tasks.values().filter(|t| !is_terminal(t.state)).for_each(|t| held.add(&t.resources));
            debug_assert!(
                (held.cpus - f.used.0).abs() < 1e-6 && (held.mem - f.used.1).abs() < 1e-6,
                "framework {}: holds {held}, counted {:?}",
                f.id,
                f.used
            );
        }
    }

    /// Adds (`sign` 1) or takes (`sign` -1) `r` to or from what `fw` holds.
    fn charge(&mut self, fw: usize, r: &Resources, sign: f64) {
        let fixed = |x: f64| (x * 1000.0).round() / 1000.0;
        let used = &mut self.frameworks[fw].used;
        *used = (fixed(used.0 + sign * r.cpus), fixed(used.1 + sign * r.mem));
    }

    fn add_filter(&mut self, fw: usize, agent: usize, refuse: Option<f64>, now: Duration) {
        let seconds = refuse.unwrap_or(5.0);
        if seconds.is_nan() || seconds <= 0.0 {
            return;
        }
        let until = now.saturating_add(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
        let entry = self.frameworks[fw].filters.entry(agent).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// The key of an outstanding offer, from its id.
    fn offer_key(&self, id: &str) -> Option<u64> {
        let n = id.strip_prefix(self.master_id.as_str())?.strip_prefix("-O")?;
        // `parse` takes a leading `+`, which no offer id has.
        let key: u64 = n.parse().ok().filter(|_| !n.starts_with('+'))?;
        self.offers.get(&key).filter(|o| o.id == id).map(|_| key)
    }

    fn recover_offers(&mut self, fw: usize) {
        let gone: Vec<u64> = self.offers.iter().filter(|(_, o)| o.framework == fw).map(|(k, _)| *k).collect();
        for key in gone {
            if let Some(o) = self.offers.remove(&key) {
                self.charge(fw, &o.resources, -1.0);
                self.agents[o.agent].free.add(&o.resources);
            }
        }
    }

    /// Removes a framework (TEARDOWN or failover timeout): its tasks are
    /// killed, its offers and resources recovered, its stream closed.
    fn remove_framework(&mut self, fw: usize, pushes: &mut Vec<Push>) {
        self.recover_offers(fw);
        let f = &mut self.frameworks[fw];
        if let Some(sub) = f.subscription.take() {
            pushes.push(Push::Close { stream: sub.key });
        }
        f.removed = true;
        f.failover_at = None;
        f.used = (0.0, 0.0);
        let tasks = std::mem::take(&mut f.tasks);
        for task in tasks.values().filter(|t| !is_terminal(t.state)) {
            self.agents[task.agent].free.add(&task.resources);
        }
    }

    /// Offers every agent's free resources to the frameworks that want
    /// offers, the one with the smallest dominant share first (DRF).
    ///
    /// Calls and timeouts allocate only the agents they changed
    /// ([`allocate_agents`](Self::allocate_agents)); this whole-cluster
    /// pass is for SUBSCRIBE, REVIVE, UPDATE_FRAMEWORK, TEARDOWN and a lost
    /// connection. The shares come from each framework's running count of
    /// what it holds (`used`), so neither costs a pass over the tasks, and
    /// each framework in turn looks only at the agents still free: about
    /// `frameworks × free agents` filter look-ups.
    fn allocate(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        self.allocate_agents(0..self.agents.len(), now, pushes);
    }

    /// [`allocate`](Self::allocate), for the free resources of `agents`
    /// only: what a call or a timeout changed (as a Mesos allocator does
    /// when resources are recovered on one agent). The others are as they
    /// were after the last allocation: offered, or filtered for every
    /// framework that wants offers.
    fn allocate_agents(&mut self, agents: impl IntoIterator<Item = usize>, now: Duration, pushes: &mut Vec<Push>) {
        let mut free: Vec<usize> = agents.into_iter().filter(|&a| !self.agents[a].free.is_empty()).collect();
        free.sort_unstable();
        free.dedup();
        if free.is_empty() {
            return;
        }
        #[cfg(debug_assertions)]
        self.check_used();
        let share = |amount: f64, total: f64| if total > 0.0 { amount / total } else { 0.0 };
        let mut order: Vec<(f64, usize)> = self
            .frameworks
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.removed && !f.suppressed && f.subscription.is_some())
            .map(|(fw, f)| (share(f.used.0, self.total.cpus).max(share(f.used.1, self.total.mem)), fw))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, fw) in order {
            if free.is_empty() {
                break;
            }
            let filters = &self.frameworks[fw].filters;
            let mut mine = Vec::new();
            free.retain(|agent| {
                let offer = filters.get(agent).is_none_or(|until| *until <= now);
                if offer {
                    mine.push(*agent);
                }
                !offer
            });
            if mine.is_empty() {
                continue;
            }
            let mut offers = Vec::with_capacity(mine.len());
            for agent in mine {
                let resources = std::mem::take(&mut self.agents[agent].free);
                let key = self.next_offer;
                let id = format!("{}-O{key}", self.master_id);
                self.next_offer += 1;
                offers.push(self.offer_proto(&id, fw, agent, &resources));
                self.charge(fw, &resources, 1.0);
                self.offers.insert(key, PendingOffer { id, framework: fw, agent, resources });
            }
            let Some(sub) = &self.frameworks[fw].subscription else { continue };
            let event = Event {
                r#type: Some(event::Type::Offers as i32),
                offers: Some(event::Offers { offers }),
                ..Default::default()
            };
            pushes.push(Push::Record { stream: sub.key, record: frame(&event, sub.content_type) });
        }
    }

    fn offer_proto(&self, id: &str, fw: usize, agent: usize, resources: &Resources) -> Offer {
        let a = &self.agents[agent];
        Offer {
            id: OfferId { value: id.into() },
            framework_id: FrameworkId { value: self.frameworks[fw].id.clone() },
            agent_id: AgentId { value: a.id.clone() },
            hostname: a.hostname.clone(),
            url: Some(Url {
                scheme: "http".into(),
                address: Address { hostname: Some(a.hostname.clone()), ip: Some(a.ip.clone()), port: 5051 },
                path: Some("/slave(1)".into()),
                ..Default::default()
            }),
            resources: resources.to_proto(),
            ..Default::default()
        }
    }
}

fn is_terminal(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskError
            | TaskState::TaskLost
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator
    )
}

fn heartbeat_event() -> Event {
    Event { r#type: Some(event::Type::Heartbeat as i32), ..Default::default() }
}

fn update_event(status: TaskStatus) -> Event {
    Event { r#type: Some(event::Type::Update as i32), update: Some(event::Update { status }), ..Default::default() }
}

/// One event as one framed RecordIO record, in the stream's encoding.
fn frame(event: &Event, content_type: ContentType) -> Bytes {
    let payload = match content_type {
        ContentType::Protobuf => event.encode_to_vec(),
        // Every enum here is one the schema defines, so this cannot fail.
        _ => mesos_codec::json::to_json(event).unwrap_or_default(),
    };
    recordio::frame(Bytes::from(payload)).to_bytes()
}

/// The master's call validation (`validation::scheduler::call::validate`,
/// src/master/validation.cpp), with its texts.
fn validate(call: &Call) -> Result<(), String> {
    let Some(ty) = call.r#type else { return Err("Expecting 'type' to be present".into()) };
    let ty = call::Type::try_from(ty).unwrap_or(call::Type::Unknown);
    if ty == call::Type::Subscribe {
        let Some(subscribe) = &call.subscribe else { return Err("Expecting 'subscribe' to be present".into()) };
        let info_id = subscribe.framework_info.id.as_ref().map(|f| f.value.as_str()).unwrap_or_default();
        let call_id = call.framework_id.as_ref().map(|f| f.value.as_str()).unwrap_or_default();
        if info_id != call_id {
            return Err("'framework_id' differs from 'subscribe.framework_info.id'".into());
        }
        return Ok(());
    }
    if call.framework_id.is_none() {
        return Err("Expecting 'framework_id' to be present".into());
    }
    let present = match ty {
        call::Type::Accept => call.accept.is_some(),
        call::Type::Decline => call.decline.is_some(),
        call::Type::AcceptInverseOffers => call.accept_inverse_offers.is_some(),
        call::Type::DeclineInverseOffers => call.decline_inverse_offers.is_some(),
        call::Type::Kill => call.kill.is_some(),
        call::Type::Shutdown => call.shutdown.is_some(),
        call::Type::Acknowledge => call.acknowledge.is_some(),
        call::Type::AcknowledgeOperationStatus => call.acknowledge_operation_status.is_some(),
        call::Type::Reconcile => call.reconcile.is_some(),
        call::Type::ReconcileOperations => call.reconcile_operations.is_some(),
        call::Type::Message => call.message.is_some(),
        call::Type::Request => call.request.is_some(),
        call::Type::UpdateFramework => call.update_framework.is_some(),
        _ => true,
    };
    if !present {
        let field = call_type_name(call).to_ascii_lowercase();
        return Err(format!("Expecting '{field}' to be present"));
    }
    if let Some(update) = &call.update_framework
        && ty == call::Type::UpdateFramework
        && update.framework_info.id.as_ref().map(|f| f.value.as_str()).unwrap_or_default()
            != call.framework_id.as_ref().map(|f| f.value.as_str()).unwrap_or_default()
    {
        return Err("'framework_id' differs from 'update_framework.framework_info.id'".into());
    }
    if let Some(ack) = &call.acknowledge
        && ty == call::Type::Acknowledge
    {
        // `id::UUID::fromBytes` (3rdparty/stout/include/stout/uuid.hpp):
        // 16 bytes and a known version (boost's `version()`: 1 to 5).
        if ack.uuid.len() != 16 || !(1..=5).contains(&(ack.uuid[6] >> 4)) {
            return Err("Not a valid UUID".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_commands() {
        let task = |value: &str| TaskInfo {
            command: Some(mesos_codec::v1::CommandInfo { value: Some(value.into()), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(sleep_duration(&task("/bin/sleep 3000s")), Some(Duration::from_secs(3000)));
        assert_eq!(sleep_duration(&task("sleep 2.5")), Some(Duration::from_millis(2500)));
        assert_eq!(sleep_duration(&task("echo hi")), None);
        assert_eq!(sleep_duration(&task("sleep")), None);
    }
}
