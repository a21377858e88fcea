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
//! a virtual clock and get the same bytes every time; the Unix time it
//! started at ([`Config::start_time`]) turns it into the timestamps a
//! framework sees.
//!
//! What it does is what a Mesos 1.11.0 master with two agents
//! (`mesos-local`) does, as read in its sources and checked against a real
//! one (`tests/sim_vs_real.rs`):
//!
//! - the allocator ([`super::allocator`]): DRF with allocation counts,
//!   allocation runs every second and when a framework is added, activated
//!   or revives, refusal filters on resources;
//! - the agents: each task's status updates are kept by its agent and sent
//!   to the master one at a time, the next only once the framework
//!   acknowledged the last, re-sent after 10 s, 20 s, ... up to 10 min; the
//!   master learns the agent's latest task state with each (so a task that
//!   ended behind an unacknowledged update gives its resources back only
//!   then); a (re)subscription makes the agents running its tasks re-send
//!   what is pending at once;
//! - what it writes: `master_info` as the master fills it, offers as
//!   `Master::offer` writes them, status updates as the agent and the
//!   command executor make them, the master's own texts;
//! - what it checks of a framework's `FrameworkInfo` at SUBSCRIBE and
//!   UPDATE_FRAMEWORK (`sim/validation.rs`): its roles, id, offer
//!   filters, suppressed roles and failover timeout, and what a known
//!   framework may not change (a resubscription keeps its user and
//!   checkpointing, as `preserveImmutableFields` does).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use mesos_codec::negotiate::{self, ContentType};
use mesos_codec::recordio;
use mesos_codec::v1::scheduler::{Call, Event, call, event};
use mesos_codec::v1::{
    Address, AgentId, ContainerId, ContainerStatus, ExecutorId, FrameworkId, FrameworkInfo, MasterInfo, NetworkInfo,
    Offer, OfferId, OperationState, OperationStatus, TaskId, TaskInfo, TaskState, TaskStatus, Url, framework_info,
    master_info, network_info, offer, resource, task_status,
};
use prost::Message;

use super::allocator::{Allocator, DEFAULT_REFUSE_SECONDS, Offerable};
use super::faults::{Fault, Faults, Kind, Location, NotReady, NotReadyAnswer};
use super::ids::{Rng, UuidKind, uuid_bytes, uuid_string};
use super::picojson;
use super::resources::{Resources, Role};
use super::stout;
use super::validation;

mod view;
pub use view::{AgentView, FrameworkView, OfferView, TaskView, View};

/// The Unix time (seconds) a bare [`Master`] maps its time 0 to when
/// [`Config::start_time`] is not given (the server gives it the clock's).
pub const DEFAULT_START_SECONDS: u64 = 1_796_000_000;

/// First retry delay of an unacknowledged status update; it doubles up to
/// [`UPDATE_RETRY_MAX`] (`STATUS_UPDATE_RETRY_INTERVAL_MIN` / `_MAX`).
pub const UPDATE_RETRY_MIN: Duration = Duration::from_secs(10);
/// Longest delay between two sends of an unacknowledged status update.
pub const UPDATE_RETRY_MAX: Duration = Duration::from_secs(600);

/// How long after its due time a periodic allocation run ends, as seen on
/// a real master: its allocator waits `allocation_interval` after each
/// run ends (libprocess `loop` over `after`), and consecutive runs of a
/// 1.11.0 master with two agents come 1.0009 to 1.0018 s apart (1.0013 s on
/// average). The drift decides, for instance, that an offer declined for
/// 5 s a millisecond after an allocation comes back at the fifth one, not
/// the sixth.
pub const ALLOCATION_RUN_TIME: Duration = Duration::from_micros(1300);

/// The version a 1.11.0 master reports.
pub const VERSION: &str = "1.11.0";

/// The simulated cluster and master settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Number of agents (`S0`, `S1`, ...).
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
    /// How often the allocator runs (`--allocation_interval`, 1 s).
    pub allocation_interval: Duration,
    /// Seed of every id the master chooses and of its random choices.
    pub seed: u64,
    /// The master's address, as written in `master_info`.
    pub address: std::net::SocketAddr,
    /// The master's (and its agents') hostname; by default `localhost` for
    /// a loopback address (what a master finds for 127.0.0.1), else the
    /// address.
    pub hostname: Option<String>,
    /// The Unix time of master time 0 (status update timestamps). `None`:
    /// on the real clock the server takes the system clock's when it
    /// starts; a virtual clock and a bare [`Master`] take
    /// [`DEFAULT_START_SECONDS`] (the same bytes every run).
    pub start_time: Option<Duration>,
    /// Where to write what the server served as session files, one per
    /// framework (`--record`); the server's business, not the master's.
    pub record: Option<std::path::PathBuf>,
    /// The faults to show (`--fault`, [`super::faults`]).
    pub faults: Vec<Fault>,
}

impl Default for Config {
    /// The cluster of `cargo xtask real-master` (`mesos-local` with
    /// `cpus:2;mem:996;disk:30509;ports:[31000-32000]`): two agents; 15 s
    /// heartbeats, allocations every second.
    fn default() -> Self {
        Config {
            agents: 2,
            cpus: 2.0,
            mem: 996.0,
            disk: 30509.0,
            ports: (31000, 32000),
            heartbeat: Duration::from_secs(15),
            allocation_interval: Duration::from_secs(1),
            seed: 0,
            address: std::net::SocketAddr::from(([127, 0, 0, 1], 5050)),
            hostname: None,
            start_time: None,
            record: None,
            faults: Vec::new(),
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
    pub(crate) fn error(status: u16, message: impl Into<String>) -> Answer {
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
}

#[derive(Debug)]
struct PendingOffer {
    id: String,
    framework: usize,
    agent: usize,
    /// Allocated to the offer's role.
    resources: Resources,
    /// When a `rescind` fault rescinds it (its offer timeout).
    rescind_at: Option<Duration>,
}

/// How a task's command ends by itself, as the command executor reports it.
#[derive(Clone, Debug)]
struct Ending {
    at: Duration,
    state: TaskState,
    message: String,
}

#[derive(Debug)]
struct Task {
    info: TaskInfo,
    agent: usize,
    /// What it uses, allocated to its role.
    resources: Resources,
    /// The master's state of it: the agent's latest, as last reported.
    state: TaskState,
    /// The state of the last update the master forwarded (reconciliation
    /// reports it).
    status_update_state: Option<TaskState>,
    /// The agent's (and executor's) state of it.
    agent_state: TaskState,
    ending: Option<Ending>,
    /// The agent's status update stream: unacknowledged updates, oldest first.
    updates: VecDeque<TaskStatus>,
    /// When the agent re-sends the first of `updates`, and its interval.
    retry_at: Option<Duration>,
    retry_interval: Duration,
    /// The latest container status the master saw.
    container_status: Option<ContainerStatus>,
    container: ContainerStatus,
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
    failover_at: Option<Duration>,
    tasks: BTreeMap<String, Task>,
}

pub(crate) fn has_capability(info: &FrameworkInfo, ty: framework_info::capability::Type) -> bool {
    info.capabilities.iter().any(|c| c.r#type() == ty)
}

impl Framework {
    fn partition_aware(&self) -> bool {
        has_capability(&self.info, framework_info::capability::Type::PartitionAware)
    }

    fn multi_role(&self) -> bool {
        has_capability(&self.info, framework_info::capability::Type::MultiRole)
    }

    fn refinement(&self) -> bool {
        has_capability(&self.info, framework_info::capability::Type::ReservationRefinement)
    }
}

/// The simulated master. See the [module docs](self).
#[derive(Debug)]
pub struct Master {
    config: Config,
    master_id: String,
    hostname: String,
    ip: String,
    start: Duration,
    agents: Vec<Agent>,
    allocator: Allocator,
    frameworks: Vec<Framework>,
    /// Framework id → its index in `frameworks` (a soak of 43 000
    /// framework runs spent its time looking ids up one by one).
    by_id: HashMap<String, usize>,
    /// Outstanding offers by number (the `N` of `<master id>-O<N>`).
    offers: BTreeMap<u64, PendingOffer>,
    next_offer: u64,
    next_stream: u64,
    next_status: u64,
    next_container: u64,
    next_framework: u64,
    next_allocation: Duration,
    rng: Rng,
    faults: Faults,
    /// Each `partition` fault's state, by its place in `faults`.
    partitions: Vec<Partition>,
    /// Pushes held back by a partition, in order.
    held: Vec<Push>,
    /// Acknowledged updates a `duplicate-update` fault sends again: when,
    /// to which framework.
    duplicates: VecDeque<(Duration, usize, TaskStatus)>,
    /// Streams whose connections a fault cut, for the server to drop.
    cuts: Vec<StreamKey>,
    /// How many times the master crashed (`crash`): its id's number.
    generation: u64,
    /// It crashed since the server last asked ([`Master::take_crash`]).
    crashed: bool,
    /// The other master's address (`leader-change`), and whether it leads.
    successor: Option<std::net::SocketAddr>,
    moved: Option<Location>,
}

/// Where a fault that starts something (`partition`, `stale-instance`,
/// `failover-timeout`) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Partition {
    /// Not started (or not such a fault).
    Pending,
    /// Started: the streams below this key (those open when it started)
    /// are silent.
    On(u64),
    /// Over.
    Done,
}

fn push_stream(push: &Push) -> StreamKey {
    match push {
        Push::Record { stream, .. } | Push::Close { stream } => *stream,
    }
}

fn call_type_name(call: &Call) -> &'static str {
    call::Type::try_from(call.r#type.unwrap_or(0)).map(|t| t.as_str_name()).unwrap_or("UNKNOWN")
}

/// How a task's command ends by itself, if the simulator can tell:
/// `sleep N` after N seconds with status 0; `true`, `false`, `exit N`
/// and `echo ...` at once. Anything else runs until killed.
fn command_ending(info: &TaskInfo) -> Option<(Duration, i32)> {
    let command = info.command.as_ref()?;
    let mut words: Vec<&str> = Vec::new();
    if command.shell.unwrap_or(true) {
        words.extend(command.value.as_deref()?.split_whitespace());
    } else {
        words.extend(command.value.as_deref());
        words.extend(command.arguments.iter().skip(1).map(String::as_str));
    }
    let program = words.first()?.rsplit('/').next()?;
    match (program, &words[1..]) {
        ("sleep", [amount]) => {
            let seconds: f64 = amount.strip_suffix('s').unwrap_or(amount).parse().ok()?;
            (seconds.is_finite() && seconds >= 0.0).then(|| (Duration::from_secs_f64(seconds), 0))
        }
        ("true", []) => Some((Duration::ZERO, 0)),
        ("false", []) => Some((Duration::ZERO, 1)),
        ("exit", []) => Some((Duration::ZERO, 0)),
        ("exit", [code]) => code.parse::<i32>().ok().map(|c| (Duration::ZERO, c & 0xff)),
        ("echo", _) => Some((Duration::ZERO, 0)),
        _ => None,
    }
}

/// Whether a task in `state` has ended (no update comes after it).
pub(crate) fn is_terminal(state: TaskState) -> bool {
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

/// `protobuf::framework::getRoles`: `roles` for a MULTI_ROLE framework,
/// else its `role` (by default `*`).
pub(crate) fn framework_roles(info: &FrameworkInfo) -> Vec<String> {
    if has_capability(info, framework_info::capability::Type::MultiRole) {
        let mut roles = info.roles.clone();
        roles.sort();
        roles.dedup();
        roles
    } else {
        #[allow(deprecated)]
        let role = info.role.clone();
        vec![role.unwrap_or_else(|| "*".into())]
    }
}

impl Master {
    /// A master with its agents, as `config` says.
    pub fn new(config: Config) -> Master {
        let master_id = uuid_string(&uuid_bytes(config.seed, UuidKind::Master, 0));
        let ip = config.address.ip().to_string();
        let hostname = config.hostname.clone().unwrap_or_else(|| {
            if config.address.ip().is_loopback() && config.address.is_ipv4() { "localhost".into() } else { ip.clone() }
        });
        let start = config.start_time.unwrap_or(Duration::from_secs(DEFAULT_START_SECONDS));
        let mut allocator = Allocator::new(config.allocation_interval.max(Duration::from_millis(1)));
        let ports = (config.ports.0 <= config.ports.1).then_some(config.ports);
        let agents = (0..config.agents)
            .map(|n| {
                allocator.add_agent(Resources::agent(config.cpus, config.mem, config.disk, ports));
                Agent { id: format!("{master_id}-S{n}") }
            })
            .collect();
        let next_allocation = allocator.interval();
        let rng = Rng::new(config.seed);
        let faults = Faults::new(config.faults.clone(), config.seed);
        let partitions = vec![Partition::Pending; faults.list.len()];
        Master {
            config,
            master_id,
            hostname,
            ip,
            start,
            agents,
            allocator,
            frameworks: Vec::new(),
            by_id: HashMap::new(),
            offers: BTreeMap::new(),
            next_offer: 0,
            next_stream: 0,
            next_status: 0,
            next_container: 0,
            next_framework: 0,
            next_allocation,
            rng,
            faults,
            partitions,
            held: Vec::new(),
            duplicates: VecDeque::new(),
            cuts: Vec::new(),
            generation: 0,
            crashed: false,
            successor: None,
            moved: None,
        }
    }

    /// The master's id (the prefix of every framework, agent and offer id).
    pub fn id(&self) -> &str {
        &self.master_id
    }

    /// The agents' ids, in order (`S0` first).
    pub fn agent_ids(&self) -> Vec<String> {
        self.agents.iter().map(|a| a.id.clone()).collect()
    }

    /// When the next periodic allocation is due: `allocation_interval`
    /// after the start, then [`ALLOCATION_RUN_TIME`] more than
    /// `allocation_interval` after each.
    pub fn next_allocation(&self) -> Duration {
        self.next_allocation
    }

    /// The seed this master was made with.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// Whether the framework `id` was removed (torn down or failed over
    /// too late). `false` for an id never seen.
    pub fn framework_removed(&self, id: &str) -> bool {
        self.by_id.get(id).is_some_and(|&fw| self.frameworks[fw].removed)
    }

    /// The framework whose subscription `stream` is.
    pub fn stream_framework(&self, stream: StreamKey) -> Option<&str> {
        self.frameworks.iter().find(|f| f.subscription.as_ref().is_some_and(|s| s.key == stream)).map(|f| f.id.as_str())
    }

    /// Unix time at master time `now`, in seconds (`Clock::now().secs()`).
    fn unix(&self, now: Duration) -> f64 {
        self.start.saturating_add(now).as_secs_f64()
    }

    // ----- the scheduler API -----

    /// Handles one `POST /api/v1/scheduler` request, checked in the master's
    /// order, at time `now`.
    pub fn handle_call(&mut self, request: &Request<'_>, now: Duration, pushes: &mut Vec<Push>) -> Answer {
        let from = pushes.len();
        self.fault_tick(now, pushes);
        let answer = self.call(request, now, pushes);
        let fired = self.faults.watching() && !matches!(answer, Answer::Error { .. }) && self.seen_call(request, now);
        self.triggers(from, fired, now, pushes);
        self.hold(from, pushes);
        answer
    }

    fn call(&mut self, request: &Request<'_>, now: Duration, pushes: &mut Vec<Push>) -> Answer {
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
        // `Master::Http::scheduler` (src/master/http.cpp).
        let call: Call = match decode_call(content_type, request.body) {
            Ok(call) => call,
            Err(answer) => return answer,
        };
        if let Err(e) = validate(&call) {
            return Answer::error(400, format!("Failed to validate scheduler::Call: {e}"));
        }
        // src/master/http.cpp: the answer's type is negotiated for the two
        // calls that have a body to answer with.
        if matches!(call.r#type(), call::Type::Subscribe | call::Type::ReconcileOperations)
            && let Err(e) = negotiate::response_content_type(request.accept)
        {
            return Answer::error(e.status(), e.to_string());
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
        let Some(fw) = self.by_id.get(framework_id).copied().filter(|&fw| !self.frameworks[fw].removed) else {
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
                        "The stream ID '{id}' included in this request didn't match the stream ID currently \
                         associated with framework ID {framework_id}"
                    ),
                );
            }
            Some(_) => {}
        }
        match call.r#type() {
            call::Type::Teardown => self.remove_framework(fw, now, pushes),
            call::Type::Accept => self.accept(fw, call.accept.unwrap_or_default(), now, pushes),
            call::Type::Decline => {
                let decline = call.decline.unwrap_or_default();
                let refuse = decline.filters.and_then(|f| f.refuse_seconds).unwrap_or(DEFAULT_REFUSE_SECONDS);
                self.decline(&decline.offer_ids, refuse, now);
            }
            call::Type::Revive => {
                let roles = self.role_set(fw, &call.revive.unwrap_or_default().roles);
                self.allocator.revive_roles(fw, &roles);
                self.allocate(now, pushes);
            }
            call::Type::Suppress => {
                let roles = self.role_set(fw, &call.suppress.unwrap_or_default().roles);
                self.allocator.suppress(fw, &roles);
            }
            call::Type::UpdateFramework => {
                let update = call.update_framework.unwrap_or_default();
                let mut info = update.framework_info;
                // `Master::updateFramework`: checked as a SUBSCRIBE is, then
                // against what the framework has (nothing preserved here).
                if let Some(message) = validation::validate_framework(&info, &update.suppressed_roles, false) {
                    return Answer::error(400, format!("Supplied FrameworkInfo is not valid: {message}"));
                }
                if let Some(message) = validation::validate_update(&self.frameworks[fw].info, &info) {
                    return Answer::error(400, format!("FrameworkInfo update is not valid: {message}"));
                }
                info.id = Some(FrameworkId { value: self.frameworks[fw].id.clone() });
                let roles = self.intern_roles(&info);
                let suppressed = update.suppressed_roles.iter().map(|r| self.allocator.role(r)).collect();
                self.frameworks[fw].info = info;
                self.allocator.update_framework(fw, roles, suppressed);
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
            call::Type::Shutdown => {
                // A command task's executor has the task's id: shutting it
                // down kills the task.
                let shutdown = call.shutdown.unwrap_or_default();
                let agent = shutdown.agent_id.value;
                let executor = shutdown.executor_id.value;
                let on_agent = self.frameworks[fw]
                    .tasks
                    .get(&executor)
                    .is_some_and(|t| self.agents[t.agent].id == agent && t.info.executor.is_none());
                if on_agent {
                    self.kill(fw, &executor, None, now, pushes);
                }
            }
            call::Type::ReconcileOperations => {
                self.reconcile_operations(fw, &call.reconcile_operations.unwrap_or_default().operations, pushes);
            }
            // No custom executors, inverse offers, operations or allocator
            // requests exist in this cluster: a master accepts these and has
            // nothing to do.
            call::Type::Message
            | call::Type::Request
            | call::Type::AcceptInverseOffers
            | call::Type::DeclineInverseOffers
            | call::Type::AcknowledgeOperationStatus => {}
            // src/master/http.cpp answers `NotImplemented()`, whose default
            // body is libprocess's (process/http.hpp).
            call::Type::Unknown => return Answer::error(501, "501 Not Implemented."),
            other => {
                return Answer::error(501, format!("mesos-replay sim does not implement {}", other.as_str_name()));
            }
        }
        Answer::Accepted
    }

    /// The subscription's connection is gone (`Master::exited`): the
    /// framework is disconnected and deactivated, its offers rescinded, and
    /// its failover timeout starts. What it held is offered again at the
    /// next allocation.
    pub fn stream_closed(&mut self, stream: StreamKey, now: Duration, pushes: &mut Vec<Push>) {
        // What a partition held for it goes nowhere now.
        self.held.retain(|p| push_stream(p) != stream);
        let Some(fw) = self.frameworks.iter().position(|f| f.subscription.as_ref().is_some_and(|s| s.key == stream))
        else {
            return;
        };
        self.disconnect(fw, now);
        self.handle_timeout(now, pushes);
    }

    /// The framework is disconnected: its failover timeout starts (a
    /// `failover-timeout` fault's, while it lasts), it is deactivated, its
    /// offers go back.
    fn disconnect(&mut self, fw: usize, now: Duration) {
        let forced = self.faults.find_for(now, &self.frameworks[fw].info.name, None, |k| match k {
            Kind::FailoverTimeout { timeout } => Some(*timeout),
            _ => None,
        });
        let f = &mut self.frameworks[fw];
        f.subscription = None;
        let timeout = f.info.failover_timeout.unwrap_or(0.0);
        // An infinite (or too large) timeout never expires.
        let timeout =
            if timeout > 0.0 { Duration::try_from_secs_f64(timeout).unwrap_or(Duration::MAX) } else { Duration::ZERO };
        f.failover_at = Some(now.saturating_add(forced.unwrap_or(timeout)));
        self.allocator.deactivate_framework(fw);
        self.discard_offers(fw, now);
    }

    /// The master crashes (`crash`) and a new one takes over: every
    /// framework's stream is cut (the server drops the operator API's too,
    /// [`Master::take_crash`]); the new master has a new id, knows the
    /// agents and their tasks (they re-register with it), and no offers;
    /// the frameworks are disconnected until they subscribe again, with no
    /// failover timeout running (it has not heard of them).
    fn crash(&mut self, now: Duration) {
        tracing::info!("fault: the master crashes");
        self.generation += 1;
        self.master_id = uuid_string(&uuid_bytes(self.config.seed, UuidKind::Master, self.generation));
        for fw in 0..self.frameworks.len() {
            if self.frameworks[fw].removed {
                continue;
            }
            if let Some(sub) = self.frameworks[fw].subscription.take() {
                self.cuts.push(sub.key);
                self.allocator.deactivate_framework(fw);
            }
            self.frameworks[fw].failover_at = None;
            self.discard_offers(fw, now);
        }
        self.held.clear();
        self.duplicates.clear();
        self.crashed = true;
    }

    /// The address of the other master a `leader-change` fault moves the
    /// leadership to (the server's second listener).
    pub fn set_successor(&mut self, addr: std::net::SocketAddr) {
        self.successor = Some(addr);
    }

    /// The other master's address (`leader-change`), if there is one.
    pub fn successor(&self) -> Option<std::net::SocketAddr> {
        self.successor
    }

    /// Where a request that reached the master at its first address
    /// (`at_successor`: at the other) is redirected (`leader-change`): the
    /// leader's host, port and the form of the `Location`; `None`: it is
    /// the leader there.
    pub fn redirect(&self, at_successor: bool, now: Duration) -> Option<(String, u16, Location)> {
        let successor = self.successor?;
        match self.moved {
            Some(location) if !at_successor => Some((self.hostname.clone(), successor.port(), location)),
            Some(_) => None,
            None if at_successor => {
                let location = self.faults.leader_change_ahead(now)?;
                Some((self.hostname.clone(), self.config.address.port(), location))
            }
            None => None,
        }
    }

    /// The leadership moves to the other master (`leader-change`): as a
    /// crash of this one (every stream cut, a new id, no offers, the
    /// frameworks disconnected), the new leader at the other address.
    fn leader_change(&mut self, location: Location, now: Duration) {
        let Some(successor) = self.successor else { return };
        tracing::info!(%successor, "fault: the leadership moves");
        self.crash(now);
        self.config.address = successor;
        self.moved = Some(location);
    }

    /// Whether the master crashed (`crash`) since the last call: the
    /// server then drops every stream it has, the operator API's too.
    pub fn take_crash(&mut self) -> bool {
        std::mem::take(&mut self.crashed)
    }

    /// The streams whose connections a fault cut since the last call
    /// (`failover-timeout`): the server drops them without their last
    /// chunk. The master already counts their frameworks disconnected.
    pub fn take_cuts(&mut self) -> Vec<StreamKey> {
        std::mem::take(&mut self.cuts)
    }

    /// At least `events` events for the framework at once (`burst`), each
    /// one a master may send: round after round, each outstanding offer of
    /// the framework rescinded and all of them offered again at once in one
    /// OFFERS under new ids (as an offer timeout and the next allocation
    /// would, faster than real time), then the reconciliation update of
    /// each of its tasks (as an implicit RECONCILE is answered). A
    /// framework with neither offers nor tasks gets nothing.
    fn burst(&mut self, fw: usize, events: usize, now: Duration, pushes: &mut Vec<Push>) {
        let mut sent = 0;
        while sent < events {
            let Some(sub) = &self.frameworks[fw].subscription else { return };
            let (key, content_type) = (sub.key, sub.content_type);
            let mut round = 0;
            let keys: Vec<u64> = self.offers.iter().filter(|(_, o)| o.framework == fw).map(|(k, _)| *k).collect();
            let mut again = Vec::new();
            for old in keys {
                let Some(o) = self.offers.remove(&old) else { continue };
                let event = Event {
                    r#type: Some(event::Type::Rescind as i32),
                    rescind: Some(event::Rescind { offer_id: OfferId { value: o.id.clone() } }),
                    ..Default::default()
                };
                pushes.push(Push::Record { stream: key, record: frame(&event, content_type) });
                round += 1;
                again.push(o);
            }
            if !again.is_empty() {
                let mut offers = Vec::with_capacity(again.len());
                for o in again {
                    let n = self.next_offer;
                    self.next_offer += 1;
                    let id = format!("{}-O{n}", self.master_id);
                    let role = o.resources.iter().find_map(|r| r.role).unwrap_or(0);
                    offers.push(self.offer_proto(&id, fw, o.agent, role, &o.resources));
                    self.offers.insert(n, PendingOffer { id, ..o });
                }
                let event = Event {
                    r#type: Some(event::Type::Offers as i32),
                    offers: Some(event::Offers { offers }),
                    ..Default::default()
                };
                pushes.push(Push::Record { stream: key, record: frame(&event, content_type) });
                round += 1;
            }
            let tasks = self.frameworks[fw].tasks.len();
            if tasks > 0 {
                self.reconcile(fw, &[], now, pushes);
                round += tasks;
            }
            if round == 0 {
                return;
            }
            sent += round;
        }
    }

    /// Another instance of the framework subscribes with its id, from a
    /// connection that is not the framework's (`stale-instance`): the
    /// framework's stream learns it failed over and ends, its offers go
    /// back; what the master sends the new instance goes nowhere.
    fn stale_instance(&mut self, fw: usize, now: Duration, pushes: &mut Vec<Push>) {
        let key = StreamKey(self.next_stream);
        self.next_stream += 1;
        let stream_id = uuid_string(&uuid_bytes(self.config.seed, UuidKind::Stream, key.0));
        let heartbeat = self.config.heartbeat.max(Duration::from_millis(1));
        let f = &mut self.frameworks[fw];
        let Some(old) = f.subscription.take() else { return };
        let content_type = old.content_type;
        f.subscription = Some(Subscription { key, stream_id, content_type, next_heartbeat: now + heartbeat });
        let error = Event {
            r#type: Some(event::Type::Error as i32),
            error: Some(event::Error { message: "Framework failed over".into() }),
            ..Default::default()
        };
        pushes.push(Push::Record { stream: old.key, record: frame(&error, old.content_type) });
        pushes.push(Push::Close { stream: old.key });
        self.discard_offers(fw, now);
    }

    // ----- faults -----

    /// Whether the master is not ready at `now` (a `not-ready` fault), and
    /// how: the server answers for it (`docs/faults.md`).
    pub fn not_ready(&self, now: Duration) -> Option<NotReady> {
        self.faults.list.iter().filter(|f| f.active(now)).find_map(|f| match f.kind {
            // A master restarting: its process starts, is elected, recovers.
            Kind::Crash => {
                let third = f.duration.map_or(Duration::from_secs(2), |d| d / 3).max(Duration::from_nanos(1));
                Some(match (now - f.at).as_nanos() / third.as_nanos() {
                    0 => NotReady::NotFound,
                    1 => NotReady::NoLeader,
                    _ => NotReady::Recovering,
                })
            }
            Kind::NotReady { answer } => Some(match answer {
                NotReadyAnswer::NotFound => NotReady::NotFound,
                NotReadyAnswer::NoLeader => NotReady::NoLeader,
                NotReadyAnswer::Recovering => NotReady::Recovering,
                NotReadyAnswer::All => {
                    // A third of the window each; for ever: 2 s each, then
                    // recovering.
                    let third = f.duration.map_or(Duration::from_secs(2), |d| d / 3).max(Duration::from_nanos(1));
                    match (now - f.at).as_nanos() / third.as_nanos() {
                        0 => NotReady::NotFound,
                        1 => NotReady::NoLeader,
                        _ => NotReady::Recovering,
                    }
                }
            }),
            _ => None,
        })
    }

    /// Where to cut a framed record of a framework's stream into HTTP
    /// chunks at `now` (a `rechunk` fault; empty: one chunk). The server
    /// asks once per record it writes, in order, so the cuts are the same
    /// for the same seed and calls.
    pub fn chunk_cuts(&mut self, record: &[u8], now: Duration) -> Vec<usize> {
        self.faults.cuts(record, now)
    }

    /// Partitions that start or end at `now`: one that starts silences the
    /// streams open now; one that ends lets through what it held (for the
    /// streams no other partition holds).
    fn fault_tick(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        // Faults a trigger started since.
        self.partitions.resize(self.faults.list.len(), Partition::Pending);
        let mut ended = false;
        let mut starting = Vec::new();
        for (n, fault) in self.faults.list.iter().enumerate() {
            if matches!(
                fault.kind,
                Kind::StaleInstance
                    | Kind::FailoverTimeout { .. }
                    | Kind::Burst { .. }
                    | Kind::Crash
                    | Kind::LeaderChange { .. }
            ) {
                if self.partitions[n] == Partition::Pending && now >= fault.at {
                    self.partitions[n] = Partition::Done;
                    starting.push(fault.clone());
                }
                continue;
            }
            if fault.kind != Kind::Partition {
                continue;
            }
            match self.partitions[n] {
                Partition::Pending if fault.active(now) => {
                    self.partitions[n] = Partition::On(self.next_stream);
                    tracing::info!(streams = self.next_stream, "fault: partition starts");
                }
                Partition::Pending | Partition::On(_) if fault.end().is_some_and(|end| now >= end) => {
                    self.partitions[n] = Partition::Done;
                    ended = true;
                    tracing::info!("fault: partition ends");
                }
                _ => {}
            }
        }
        for fault in starting {
            let kind = fault.kind.clone();
            if kind == Kind::Crash {
                self.crash(now);
                continue;
            }
            if let Kind::LeaderChange { location } = kind {
                self.leader_change(location, now);
                continue;
            }
            let subscribed: Vec<(usize, StreamKey)> = self
                .frameworks
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.removed && fault.targets(&f.info.name, None))
                .filter_map(|(n, f)| f.subscription.as_ref().map(|s| (n, s.key)))
                .collect();
            for (fw, key) in subscribed {
                if let Kind::Burst { events } = kind {
                    tracing::info!(framework = %self.frameworks[fw].id, events, "fault: a burst");
                    self.burst(fw, events, now, pushes);
                } else if kind == Kind::StaleInstance {
                    tracing::info!(framework = %self.frameworks[fw].id, "fault: another instance subscribes");
                    self.stale_instance(fw, now, pushes);
                } else {
                    tracing::info!(framework = %self.frameworks[fw].id, "fault: its connection is cut");
                    self.held.retain(|p| push_stream(p) != key);
                    self.cuts.push(key);
                    self.disconnect(fw, now);
                }
            }
        }
        if ended {
            let held = std::mem::take(&mut self.held);
            for push in held {
                if self.silenced(push_stream(&push)) {
                    self.held.push(push);
                } else {
                    pushes.push(push);
                }
            }
        }
    }

    /// A `--faults` scenario's triggers (`faults::scenario`): they count
    /// the events in `pushes[from..]` (`fired`: a call already fired one),
    /// and what they start at `now` starts now, its events counted in turn.
    fn triggers(&mut self, from: usize, mut fired: bool, now: Duration, pushes: &mut Vec<Push>) {
        if !self.faults.watching() {
            return;
        }
        let mut seen = from;
        // A fault's events may fire another trigger; a scenario that keeps
        // doing so is cut short.
        for _ in 0..64 {
            for push in &pushes[seen..] {
                let Push::Record { stream, record } = push else { continue };
                let framework = self
                    .frameworks
                    .iter()
                    .find(|f| f.subscription.as_ref().is_some_and(|s| s.key == *stream))
                    .map_or("", |f| f.info.name.as_str());
                fired |= self.faults.seen_record(framework, record, now);
            }
            seen = pushes.len();
            if !fired {
                return;
            }
            fired = false;
            self.fault_tick(now, pushes);
        }
    }

    /// A call the master accepted, for the triggers: whether one fired.
    fn seen_call(&mut self, request: &Request<'_>, now: Duration) -> bool {
        let Ok(content_type) = negotiate::request_content_type(request.content_type) else { return false };
        let Ok(call) = decode_call::<Call>(content_type, request.body) else { return false };
        let framework = match &call.subscribe {
            Some(subscribe) if call.r#type() == call::Type::Subscribe => subscribe.framework_info.name.clone(),
            _ => call
                .framework_id
                .as_ref()
                .and_then(|id| self.by_id.get(&id.value))
                .map_or_else(String::new, |&fw| self.frameworks[fw].info.name.clone()),
        };
        let task = match (&call.acknowledge, &call.kill) {
            (Some(ack), _) => Some(ack.task_id.value.as_str()),
            (_, Some(kill)) => Some(kill.task_id.value.as_str()),
            _ => None,
        };
        let seen = super::faults::scenario::Seen {
            call: true,
            type_name: call_type_name(&call),
            state: None,
            framework: &framework,
            task,
        };
        self.faults.seen(&seen, now)
    }

    /// Whether a partition silences `stream` now.
    fn silenced(&self, stream: StreamKey) -> bool {
        self.partitions.iter().any(|p| matches!(p, Partition::On(below) if stream.0 < *below))
    }

    /// Holds back what `pushes[from..]` has for silenced streams.
    fn hold(&mut self, from: usize, pushes: &mut Vec<Push>) {
        if !self.partitions.iter().any(|p| matches!(p, Partition::On(_))) || from >= pushes.len() {
            return;
        }
        let tail = pushes.split_off(from);
        for push in tail {
            if self.silenced(push_stream(&push)) {
                self.held.push(push);
            } else {
                pushes.push(push);
            }
        }
    }

    /// When the master next needs [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut next = self.next_allocation;
        let mut consider = |t: Duration| next = next.min(t);
        for (fault, state) in self.faults.list.iter().zip(&self.partitions) {
            match state {
                Partition::Pending
                    if matches!(
                        fault.kind,
                        Kind::Partition
                            | Kind::StaleInstance
                            | Kind::FailoverTimeout { .. }
                            | Kind::Burst { .. }
                            | Kind::Crash
                            | Kind::LeaderChange { .. }
                    ) =>
                {
                    consider(fault.at)
                }
                Partition::On(_) => {
                    if let Some(end) = fault.end() {
                        consider(end);
                    }
                }
                _ => {}
            }
        }
        if let Some((t, _, _)) = self.duplicates.front() {
            consider(*t);
        }
        for o in self.offers.values() {
            if let Some(t) = o.rescind_at {
                consider(t);
            }
        }
        for f in self.frameworks.iter().filter(|f| !f.removed) {
            if let Some(t) = f.failover_at {
                consider(t);
            }
            if let Some(sub) = &f.subscription {
                consider(sub.next_heartbeat);
            }
            for task in f.tasks.values() {
                if let Some(e) = &task.ending {
                    consider(e.at);
                }
                if let Some(t) = task.retry_at {
                    consider(t);
                }
            }
        }
        Some(next)
    }

    /// Does everything due at or before `now`: framework failover timeouts,
    /// commands that end, the agents' status update retries, heartbeats,
    /// then the periodic allocation.
    pub fn handle_timeout(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        let from = pushes.len();
        self.fault_tick(now, pushes);
        self.timeout(now, pushes);
        self.triggers(from, false, now, pushes);
        self.hold(from, pushes);
    }

    fn timeout(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        while self.duplicates.front().is_some_and(|(t, _, _)| *t <= now) {
            if let Some((_, fw, status)) = self.duplicates.pop_front() {
                self.send_once(fw, status, pushes);
            }
        }
        // `Master::offerTimeout` (a `rescind` fault's `--offer_timeout`):
        // RESCIND, the resources back unfiltered.
        let due: Vec<u64> =
            self.offers.iter().filter(|(_, o)| o.rescind_at.is_some_and(|t| t <= now)).map(|(k, _)| *k).collect();
        for key in due {
            let Some(o) = self.offers.remove(&key) else { continue };
            if let Some(sub) = &self.frameworks[o.framework].subscription {
                let event = Event {
                    r#type: Some(event::Type::Rescind as i32),
                    rescind: Some(event::Rescind { offer_id: OfferId { value: o.id.clone() } }),
                    ..Default::default()
                };
                pushes.push(Push::Record { stream: sub.key, record: frame(&event, sub.content_type) });
            }
            self.allocator.recover(o.framework, o.agent, &o.resources, None, now);
        }
        for fw in 0..self.frameworks.len() {
            if self.frameworks[fw].removed {
                continue;
            }
            if self.frameworks[fw].failover_at.is_some_and(|t| t <= now) {
                self.remove_framework(fw, now, pushes);
                continue;
            }
            let ended: Vec<(String, Ending)> = self.frameworks[fw]
                .tasks
                .iter_mut()
                .filter(|(_, t)| t.ending.as_ref().is_some_and(|e| e.at <= now))
                .filter_map(|(id, t)| t.ending.take().map(|e| (id.clone(), e)))
                .collect();
            for (id, ending) in ended {
                self.executor_update(fw, &id, ending.state, Some(&ending.message), now, pushes);
            }
            let due: Vec<String> = self.frameworks[fw]
                .tasks
                .iter()
                .filter(|(_, t)| t.retry_at.is_some_and(|at| at <= now))
                .map(|(id, _)| id.clone())
                .collect();
            for id in due {
                if let Some(task) = self.frameworks[fw].tasks.get_mut(&id) {
                    task.retry_interval = (task.retry_interval * 2).min(UPDATE_RETRY_MAX);
                }
                self.forward_head(fw, &id, now, pushes);
            }
            let heartbeat = self.config.heartbeat.max(Duration::from_millis(1));
            if let Some(sub) = &mut self.frameworks[fw].subscription
                && sub.next_heartbeat <= now
            {
                sub.next_heartbeat = now + heartbeat;
                let record = frame(&heartbeat_event(), sub.content_type);
                pushes.push(Push::Record { stream: sub.key, record });
            }
        }
        if self.next_allocation <= now {
            self.next_allocation = now + self.allocator.interval() + ALLOCATION_RUN_TIME;
            self.allocator.expire_filters(now);
            self.allocate(now, pushes);
        }
    }

    // ----- calls -----

    fn intern_roles(&mut self, info: &FrameworkInfo) -> BTreeSet<Role> {
        framework_roles(info).iter().map(|r| self.allocator.role(r)).collect()
    }

    /// The roles a SUPPRESS or REVIVE names (none: all the framework's).
    fn role_set(&mut self, fw: usize, roles: &[String]) -> BTreeSet<Role> {
        if roles.is_empty() {
            self.allocator.framework_roles(fw)
        } else {
            roles.iter().map(|r| self.allocator.role(r)).collect()
        }
    }

    fn subscribe(&mut self, call: Call, content_type: ContentType, now: Duration, pushes: &mut Vec<Push>) -> Answer {
        let subscribe = call.subscribe.unwrap_or_default();
        let mut info = subscribe.framework_info;
        let requested = call.framework_id.map(|f| f.value).or_else(|| info.id.as_ref().map(|f| f.value.clone()));
        let requested = requested.filter(|id| !id.is_empty());
        let key = StreamKey(self.next_stream);
        self.next_stream += 1;
        let stream_id = uuid_string(&uuid_bytes(self.config.seed, UuidKind::Stream, key.0));
        let answer = Answer::Stream { stream: key, content_type, stream_id: stream_id.clone() };

        let existing = requested.as_ref().and_then(|id| self.by_id.get(id).copied());
        // `Master::subscribe` and `_subscribe`: a framework refused gets an
        // ERROR and the end of the stream.
        let refuse = |message: String, pushes: &mut Vec<Push>| {
            let error = Event {
                r#type: Some(event::Type::Error as i32),
                error: Some(event::Error { message }),
                ..Default::default()
            };
            pushes.push(Push::Record { stream: key, record: frame(&error, content_type) });
            pushes.push(Push::Close { stream: key });
        };
        let removed = existing.is_some_and(|fw| self.frameworks[fw].removed);
        if let Some(message) = validation::validate_framework(&info, &subscribe.suppressed_roles, removed) {
            refuse(message, pushes);
            return answer;
        }
        if let Some(fw) = existing {
            // `preserveImmutableFields`, then `validateUpdate`.
            let old = &self.frameworks[fw].info;
            info.user.clone_from(&old.user);
            info.checkpoint = old.checkpoint;
            if let Some(message) = validation::validate_update(old, &info) {
                refuse(message, pushes);
                return answer;
            }
        }
        let roles = self.intern_roles(&info);
        let suppressed: BTreeSet<Role> = subscribe.suppressed_roles.iter().map(|r| self.allocator.role(r)).collect();
        let heartbeat = self.config.heartbeat.max(Duration::from_millis(1));
        let subscription = Subscription { key, stream_id, content_type, next_heartbeat: now + heartbeat };
        let (fw, activate) = match existing {
            Some(fw) => {
                // `updateFramework`, then `failoverFramework`: the old
                // stream learns it and ends; the offers are discarded; an
                // inactive (disconnected) framework is activated.
                self.allocator.update_framework(fw, roles, suppressed);
                let f = &mut self.frameworks[fw];
                info.id = Some(FrameworkId { value: f.id.clone() });
                f.info = info;
                f.failover_at = None;
                let old = f.subscription.replace(subscription);
                let was_active = old.is_some();
                if let Some(old) = old {
                    let error = Event {
                        r#type: Some(event::Type::Error as i32),
                        error: Some(event::Error { message: "Framework failed over".into() }),
                        ..Default::default()
                    };
                    pushes.push(Push::Record { stream: old.key, record: frame(&error, old.content_type) });
                    pushes.push(Push::Close { stream: old.key });
                }
                self.discard_offers(fw, now);
                if !was_active {
                    self.allocator.activate_framework(fw);
                }
                (fw, !was_active)
            }
            None => {
                let id = requested.unwrap_or_else(|| {
                    let n = self.next_framework;
                    self.next_framework += 1;
                    format!("{}-{n:04}", self.master_id)
                });
                info.id = Some(FrameworkId { value: id.clone() });
                self.frameworks.push(Framework {
                    id: id.clone(),
                    info,
                    subscription: Some(subscription),
                    removed: false,
                    failover_at: None,
                    tasks: BTreeMap::new(),
                });
                let fw = self.frameworks.len() - 1;
                self.by_id.insert(id.clone(), fw);
                self.allocator.add_framework(fw, &id, roles, suppressed);
                (fw, true)
            }
        };
        let subscribed = Event {
            r#type: Some(event::Type::Subscribed as i32),
            subscribed: Some(event::Subscribed {
                framework_id: FrameworkId { value: self.frameworks[fw].id.clone() },
                heartbeat_interval_seconds: Some(heartbeat.as_secs_f64()),
                master_info: Some(self.master_info()),
            }),
            ..Default::default()
        };
        pushes.push(Push::Record { stream: key, record: frame(&subscribed, content_type) });
        pushes.push(Push::Record { stream: key, record: frame(&heartbeat_event(), content_type) });
        if activate {
            self.allocate(now, pushes);
        }
        // The master tells every agent (`UpdateFrameworkMessage`); an agent
        // that runs tasks of this framework re-sends, at once, the pending
        // update of every task stream it has.
        let agents: BTreeSet<usize> = self.frameworks[fw].tasks.values().map(|t| t.agent).collect();
        if !agents.is_empty() {
            for other in 0..self.frameworks.len() {
                let resend: Vec<String> = self.frameworks[other]
                    .tasks
                    .iter()
                    .filter(|(_, t)| agents.contains(&t.agent) && !t.updates.is_empty())
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in resend {
                    if let Some(task) = self.frameworks[other].tasks.get_mut(&id) {
                        task.retry_interval = UPDATE_RETRY_MIN;
                    }
                    self.forward_head(other, &id, now, pushes);
                }
            }
        }
        answer
    }

    /// `Master::accept`: the offers are checked as `validation::offer`
    /// checks them; then each launch, as `validation::task` checks it.
    fn accept(&mut self, fw: usize, accept: call::Accept, now: Duration, pushes: &mut Vec<Push>) {
        let error = if accept.offer_ids.is_empty() {
            Some("No offers specified".to_owned())
        } else {
            self.validate_offers(fw, &accept.offer_ids)
        };
        let launches = || {
            accept
                .operations
                .iter()
                .filter(|op| op.r#type() == offer::operation::Type::Launch)
                .flat_map(|op| op.launch.iter().flat_map(|l| l.task_infos.iter()))
        };
        for op in accept.operations.iter().filter(|op| op.r#type() != offer::operation::Type::Launch) {
            // Reservations, volumes and task groups are not simulated: the
            // operation does nothing, and says so in the log.
            let name = offer::operation::Type::try_from(op.r#type.unwrap_or(0)).map_or("UNKNOWN", |t| t.as_str_name());
            tracing::warn!("ACCEPT: the simulated master ignores {name} operations");
        }
        if let Some(error) = error {
            // The valid offers among them are discarded (no filter).
            for id in &accept.offer_ids {
                if let Some(key) = self.offer_key(&id.value)
                    && let Some(o) = self.offers.remove(&key)
                {
                    self.allocator.recover(o.framework, o.agent, &o.resources, None, now);
                }
            }
            let message = format!("Task launched with invalid offers: {error}");
            let state =
                if self.frameworks[fw].partition_aware() { TaskState::TaskDropped } else { TaskState::TaskLost };
            let statuses: Vec<TaskStatus> = launches()
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
            return;
        }
        // Valid: the offers are used up; what the launches leave is
        // recovered with the call's filter.
        let mut offered = Resources::new();
        let mut agent = 0;
        for id in &accept.offer_ids {
            if let Some(key) = self.offer_key(&id.value)
                && let Some(o) = self.offers.remove(&key)
            {
                agent = o.agent;
                offered.add_all(&o.resources);
            }
        }
        let role = offered.iter().find_map(|r| r.role).unwrap_or(0);
        let mut launched: Vec<String> = Vec::new();
        let tasks: Vec<TaskInfo> = launches().cloned().collect();
        for info in tasks {
            match self.validate_task(fw, agent, role, &info, &offered) {
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
                    offered.subtract_all(&resources);
                    launched.push(info.task_id.value.clone());
                    self.add_task(fw, agent, info, resources, now);
                }
            }
        }
        let refuse = accept.filters.and_then(|f| f.refuse_seconds).unwrap_or(DEFAULT_REFUSE_SECONDS);
        self.allocator.recover(fw, agent, &offered, Some(refuse), now);
        // The agent runs them: each task's executor reports TASK_STARTING,
        // then TASK_RUNNING.
        for id in launched {
            let name = &self.frameworks[fw].info.name;
            if self.faults.find_for(now, name, Some(&id), |k| (*k == Kind::LoseUpdate).then_some(())).is_some() {
                // A `lose-update` fault: the agent lost the task before
                // its first update (it crashed, and came back without
                // it); nobody knows it any more.
                if let Some(task) = self.frameworks[fw].tasks.remove(&id) {
                    tracing::info!(task = %id, "fault: its agent lost the task");
                    self.allocator.recover(fw, task.agent, &task.resources, None, now);
                }
                continue;
            }
            self.executor_update(fw, &id, TaskState::TaskStarting, None, now, pushes);
            self.executor_update(fw, &id, TaskState::TaskRunning, None, now, pushes);
        }
    }

    /// `validation::offer::validate`: unique, outstanding, this
    /// framework's, one role, one agent; the first error.
    fn validate_offers(&self, fw: usize, ids: &[OfferId]) -> Option<String> {
        for (n, id) in ids.iter().enumerate() {
            if ids[..n].contains(id) {
                return Some(format!("Duplicate offer {} in offer list", id.value));
            }
        }
        let offers: Vec<&PendingOffer> = match ids
            .iter()
            .map(|id| self.offer_key(&id.value).and_then(|k| self.offers.get(&k)).ok_or(id))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(offers) => offers,
            Err(id) => return Some(format!("Offer {} is no longer valid", id.value)),
        };
        for (id, o) in ids.iter().zip(&offers) {
            if o.framework != fw {
                return Some(format!(
                    "Offer {} has invalid framework {} while framework {} is expected",
                    id.value, self.frameworks[o.framework].id, self.frameworks[fw].id
                ));
            }
        }
        let role_of = |o: &PendingOffer| o.resources.iter().find_map(|r| r.role);
        let names = self.allocator.role_names();
        let name = |r: Option<Role>| r.and_then(|r| names.get(usize::from(r))).cloned().unwrap_or_default();
        for (id, o) in ids.iter().zip(&offers) {
            if role_of(o) != role_of(offers[0]) {
                return Some(format!(
                    "Aggregated offers must be allocated to the same role. Offer {} uses role '{} but another is \
                     using role '{}",
                    id.value,
                    name(role_of(o)),
                    name(role_of(offers[0]))
                ));
            }
        }
        for (id, o) in ids.iter().zip(&offers) {
            if o.agent != offers[0].agent {
                return Some(format!(
                    "Aggregated offers must belong to one single agent. Offer {} uses agent {} and agent {}",
                    id.value, self.agents[o.agent].id, self.agents[offers[0].agent].id
                ));
            }
        }
        None
    }

    /// `validation::task::validate` of a command task, with its texts: the
    /// task's resources (allocated to the offers' role) when it may launch.
    fn validate_task(
        &self,
        fw: usize,
        agent: usize,
        role: Role,
        info: &TaskInfo,
        offered: &Resources,
    ) -> Result<Resources, String> {
        let f = &self.frameworks[fw];
        let id = &info.task_id.value;
        if id.is_empty() {
            return Err("ID must not be empty".into());
        }
        if id.len() > 255 {
            return Err("ID must not be greater than 255 characters".into());
        }
        if id == "." || id == ".." {
            return Err(format!("'{id}' is disallowed"));
        }
        if id.chars().any(|c| c.is_ascii_control() || c == '/' || c == '\\') {
            return Err(format!("'{id}' contains invalid characters"));
        }
        if f.tasks.contains_key(id) {
            return Err(format!("Task has duplicate ID: {id}"));
        }
        if info.agent_id.value != self.agents[agent].id {
            return Err(format!(
                "Task uses invalid agent {} while agent {} is expected",
                info.agent_id.value, self.agents[agent].id
            ));
        }
        if info.resources.is_empty() {
            return Err("Task uses no resources".into());
        }
        let mut wanted =
            Resources::from_proto(&info.resources).map_err(|e| format!("Task uses invalid resources: {e}"))?;
        wanted.allocate(role);
        if info.command.is_some() == info.executor.is_some() {
            return Err("Task should have at least one (but not both) of CommandInfo or ExecutorInfo present".into());
        }
        if !offered.contains(&wanted) {
            let names = self.allocator.role_names();
            return Err(format!(
                "Total resources {} required by task and its executor is more than available {}",
                wanted.display(names),
                offered.display(names)
            ));
        }
        Ok(wanted)
    }

    fn add_task(&mut self, fw: usize, agent: usize, info: TaskInfo, resources: Resources, now: Duration) {
        let id = info.task_id.value.clone();
        let ending = command_ending(&info).map(|(after, code)| Ending {
            at: now.saturating_add(after),
            state: if code == 0 { TaskState::TaskFinished } else { TaskState::TaskFailed },
            message: format!("Command exited with status {code}"),
        });
        let n = self.next_container;
        self.next_container += 1;
        let container = uuid_bytes(self.config.seed, UuidKind::Container, n);
        // A pid as Linux gives them: from the container's bytes, 1000..=32767.
        let pid = 1000 + u32::from(u16::from_be_bytes([container[0], container[1]])) % 31768;
        let container = ContainerStatus {
            container_id: Some(ContainerId { value: uuid_string(&container), ..Default::default() }),
            network_infos: vec![NetworkInfo {
                ip_addresses: vec![network_info::IpAddress {
                    protocol: Some(network_info::Protocol::IPv4 as i32),
                    ip_address: Some(self.ip.clone()),
                }],
                ..Default::default()
            }],
            executor_pid: Some(pid),
            ..Default::default()
        };
        self.frameworks[fw].tasks.insert(
            id,
            Task {
                info,
                agent,
                resources,
                state: TaskState::TaskStaging,
                status_update_state: None,
                agent_state: TaskState::TaskStaging,
                ending,
                updates: VecDeque::new(),
                retry_at: None,
                retry_interval: UPDATE_RETRY_MIN,
                container_status: None,
                container,
            },
        );
    }

    /// `Master::decline`: each outstanding offer named (whoever's it is)
    /// goes back with the filter.
    fn decline(&mut self, offer_ids: &[OfferId], refuse: f64, now: Duration) {
        for id in offer_ids {
            let Some(key) = self.offer_key(&id.value) else { continue };
            let Some(o) = self.offers.remove(&key) else { continue };
            self.allocator.recover(o.framework, o.agent, &o.resources, Some(refuse), now);
        }
    }

    fn kill(&mut self, fw: usize, task_id: &str, agent_id: Option<&AgentId>, now: Duration, pushes: &mut Vec<Push>) {
        let Some(task) = self.frameworks[fw].tasks.get(task_id) else {
            let task = call::reconcile::Task { task_id: TaskId { value: task_id.into() }, agent_id: agent_id.cloned() };
            self.reconcile(fw, &[task], now, pushes);
            return;
        };
        if agent_id.is_some_and(|a| a.value != self.agents[task.agent].id) {
            return;
        }
        // The executor kills the command (SIGTERM): TASK_KILLED.
        if !is_terminal(task.agent_state) {
            if let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) {
                task.ending = None;
            }
            let message = "Command terminated with signal Terminated";
            self.executor_update(fw, task_id, TaskState::TaskKilled, Some(message), now, pushes);
        }
    }

    fn acknowledge(&mut self, fw: usize, task_id: &str, uuid: &[u8], now: Duration, pushes: &mut Vec<Push>) {
        let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) else { return };
        if task.updates.front().is_none_or(|u| u.uuid.as_deref() != Some(uuid)) {
            // The agent: "Unexpected" or "Duplicate task status update
            // acknowledgement".
            return;
        }
        let acked = task.updates.pop_front();
        task.retry_at = None;
        // A `duplicate-update` fault: the agent sends it once more.
        if let Some(status) = &acked
            && let Some(delay) = self.faults.find_for(now, &self.frameworks[fw].info.name, Some(task_id), |k| match k {
                Kind::DuplicateUpdate { delay } => Some(*delay),
                _ => None,
            })
        {
            if delay.is_zero() {
                self.send_once(fw, status.clone(), pushes);
            } else {
                let at = now.saturating_add(delay);
                // Kept in time order.
                let place = self.duplicates.partition_point(|(t, _, _)| *t <= at);
                self.duplicates.insert(place, (at, fw, status.clone()));
            }
        }
        let acked = acked.map(|u| u.state());
        let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) else { return };
        if acked.is_some_and(is_terminal) {
            // The master forgets a task once its terminal update is
            // acknowledged.
            self.frameworks[fw].tasks.remove(task_id);
            return;
        }
        if !task.updates.is_empty() {
            task.retry_interval = UPDATE_RETRY_MIN;
            self.forward_head(fw, task_id, now, pushes);
        }
    }

    fn reconcile(&mut self, fw: usize, tasks: &[call::reconcile::Task], now: Duration, pushes: &mut Vec<Push>) {
        let reason = task_status::Reason::Reconciliation;
        let mut statuses = Vec::new();
        let f = &self.frameworks[fw];
        let known = |task: &Task| {
            let agent = AgentId { value: self.agents[task.agent].id.clone() };
            let state = task.status_update_state.unwrap_or(task.state);
            let mut status = self.master_status(
                &task.info.task_id,
                Some(&agent),
                state,
                "Reconciliation: Latest task state",
                reason,
                now,
            );
            status.container_status = task.container_status.clone();
            status
        };
        if tasks.is_empty() {
            statuses.extend(f.tasks.values().map(known));
        }
        for t in tasks {
            let status = match f.tasks.get(&t.task_id.value) {
                Some(task) => known(task),
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

    /// `Master::reconcileOperations`. No operation is known here (none is
    /// ever launched), so an implicit reconciliation says nothing, and each
    /// operation named is `OPERATION_UNKNOWN`, said as the master says it:
    /// for a registered agent (every agent here) "Operation is unknown",
    /// unless a resource provider is named, which the agent is asked about
    /// (it has `AGENT_OPERATION_FEEDBACK`) and answers after the master's
    /// own answers, without a message; for an agent not known, "Both
    /// operation and agent are unknown"; without an agent, "Operation is
    /// unknown and no 'agent_id' was provided".
    fn reconcile_operations(
        &self,
        fw: usize,
        operations: &[call::reconcile_operations::Operation],
        pushes: &mut Vec<Push>,
    ) {
        let Some(sub) = &self.frameworks[fw].subscription else { return };
        let status = |op: &call::reconcile_operations::Operation, message: Option<&str>| OperationStatus {
            operation_id: Some(op.operation_id.clone()),
            state: OperationState::OperationUnknown as i32,
            message: message.map(str::to_owned),
            agent_id: op.agent_id.clone(),
            resource_provider_id: op.resource_provider_id.clone(),
            ..Default::default()
        };
        let mut statuses = Vec::new();
        let mut forwarded = Vec::new();
        for op in operations {
            let registered = op.agent_id.as_ref().map(|a| self.agents.iter().any(|x| x.id == a.value));
            match registered {
                Some(true) if op.resource_provider_id.is_some() => forwarded.push(status(op, None)),
                Some(true) => statuses.push(status(op, Some("Reconciliation: Operation is unknown"))),
                Some(false) => statuses.push(status(op, Some("Reconciliation: Both operation and agent are unknown"))),
                None => statuses
                    .push(status(op, Some("Reconciliation: Operation is unknown and no 'agent_id' was provided"))),
            }
        }
        for status in statuses.into_iter().chain(forwarded) {
            let event = Event {
                r#type: Some(event::Type::UpdateOperationStatus as i32),
                update_operation_status: Some(event::UpdateOperationStatus { status }),
                ..Default::default()
            };
            pushes.push(Push::Record { stream: sub.key, record: frame(&event, sub.content_type) });
        }
    }

    // ----- internals -----

    fn master_info(&self) -> MasterInfo {
        let ip = match self.config.address.ip() {
            std::net::IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()),
            std::net::IpAddr::V6(_) => 0,
        };
        let port = self.config.address.port();
        // `AGENT_UPDATE`, `AGENT_DRAINING` and `QUOTA_V2` (3), which the
        // 1.11 v1 schema lacks: `{}` in JSON, `08 03` in protobuf.
        let capabilities =
            [master_info::capability::Type::AgentUpdate as i32, master_info::capability::Type::AgentDraining as i32, 3]
                .into_iter()
                .map(|ty| master_info::Capability { r#type: Some(ty) })
                .collect();
        MasterInfo {
            id: self.master_id.clone(),
            ip,
            port: u32::from(port),
            pid: Some(format!("master@{}:{port}", self.ip)),
            hostname: Some(self.hostname.clone()),
            version: Some(VERSION.into()),
            address: Some(Address {
                hostname: Some(self.hostname.clone()),
                ip: Some(self.ip.clone()),
                port: i32::from(port),
            }),
            capabilities,
            ..Default::default()
        }
    }

    fn next_uuid(&mut self) -> Bytes {
        let n = self.next_status;
        self.next_status += 1;
        Bytes::copy_from_slice(&uuid_bytes(self.config.seed, UuidKind::Status, n))
    }

    /// A status the master makes (`protobuf::createStatusUpdate`): no
    /// uuid, the master's time.
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
            timestamp: Some(self.unix(now)),
            ..Default::default()
        };
        status.set_state(state);
        status.set_source(task_status::Source::Master);
        status.set_reason(reason);
        status
    }

    /// A master-generated update: sent once, nothing to acknowledge.
    fn send_once(&self, fw: usize, status: TaskStatus, pushes: &mut Vec<Push>) {
        if let Some(sub) = &self.frameworks[fw].subscription {
            pushes.push(Push::Record { stream: sub.key, record: frame(&update_event(status), sub.content_type) });
        }
    }

    /// The task's executor reports `state`: the agent queues the update
    /// (`TaskStatusUpdateManager::update`) and sends it to the master if it
    /// is the only one pending.
    fn executor_update(
        &mut self,
        fw: usize,
        task_id: &str,
        state: TaskState,
        message: Option<&str>,
        now: Duration,
        pushes: &mut Vec<Push>,
    ) {
        let uuid = self.next_uuid();
        let timestamp = self.unix(now);
        let Some(task) = self.frameworks[fw].tasks.get_mut(task_id) else { return };
        let agent = &self.agents[task.agent];
        task.agent_state = state;
        let mut status = TaskStatus {
            task_id: task.info.task_id.clone(),
            message: message.map(str::to_owned),
            agent_id: Some(AgentId { value: agent.id.clone() }),
            executor_id: Some(ExecutorId { value: task_id.into() }),
            timestamp: Some(timestamp),
            uuid: Some(uuid),
            container_status: Some(task.container.clone()),
            ..Default::default()
        };
        status.set_state(state);
        status.set_source(task_status::Source::Executor);
        task.updates.push_back(status);
        if task.updates.len() == 1 {
            task.retry_interval = UPDATE_RETRY_MIN;
            self.forward_head(fw, task_id, now, pushes);
        }
    }

    /// The agent sends the task's oldest pending update to the master
    /// (with the task's latest state): the master updates its view of the
    /// task, recovers its resources if it just ended, and forwards the
    /// update to the framework if it is connected.
    fn forward_head(&mut self, fw: usize, task_id: &str, now: Duration, pushes: &mut Vec<Push>) {
        let f = &mut self.frameworks[fw];
        let Some(task) = f.tasks.get_mut(task_id) else { return };
        let Some(head) = task.updates.front() else {
            task.retry_at = None;
            return;
        };
        task.retry_at = Some(now + task.retry_interval);
        let ended = !is_terminal(task.state) && is_terminal(task.agent_state);
        if !is_terminal(task.state) {
            task.state = task.agent_state;
        }
        task.container_status = head.container_status.clone();
        if let Some(sub) = &f.subscription {
            task.status_update_state = Some(head.state());
            pushes.push(Push::Record { stream: sub.key, record: frame(&update_event(head.clone()), sub.content_type) });
        }
        if ended {
            let (agent, resources) = (task.agent, task.resources.clone());
            self.allocator.recover(fw, agent, &resources, None, now);
        }
    }

    /// The key of an outstanding offer, from its id.
    fn offer_key(&self, id: &str) -> Option<u64> {
        let n = id.strip_prefix(self.master_id.as_str())?.strip_prefix("-O")?;
        // `parse` takes a leading `+`, which no offer id has.
        let key: u64 = n.parse().ok().filter(|_| !n.starts_with('+'))?;
        self.offers.get(&key).filter(|o| o.id == id).map(|_| key)
    }

    /// The framework's outstanding offers go back to the allocator, unfiltered.
    fn discard_offers(&mut self, fw: usize, now: Duration) {
        let gone: Vec<u64> = self.offers.iter().filter(|(_, o)| o.framework == fw).map(|(k, _)| *k).collect();
        for key in gone {
            if let Some(o) = self.offers.remove(&key) {
                self.allocator.recover(fw, o.agent, &o.resources, None, now);
            }
        }
    }

    /// Removes a framework (TEARDOWN or failover timeout): its offers go,
    /// its tasks are killed without a word, everything it held is available
    /// again (offered at the next allocation), its stream ends.
    fn remove_framework(&mut self, fw: usize, now: Duration, pushes: &mut Vec<Push>) {
        self.discard_offers(fw, now);
        self.allocator.remove_framework(fw);
        let f = &mut self.frameworks[fw];
        if let Some(sub) = f.subscription.take() {
            pushes.push(Push::Close { stream: sub.key });
        }
        f.removed = true;
        f.failover_at = None;
        f.tasks.clear();
    }

    /// One allocation run over every agent; the offers are made
    /// (`Master::offer`): one OFFERS event per framework.
    fn allocate(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        let agents: Vec<usize> = (0..self.agents.len()).collect();
        let offerable = self.allocator.allocate(&agents, now, &mut self.rng);
        let mut by_framework: BTreeMap<usize, Vec<Offerable>> = BTreeMap::new();
        for o in offerable {
            by_framework.entry(o.framework).or_default().push(o);
        }
        for (fw, offerable) in by_framework {
            if self.frameworks[fw].subscription.is_none() {
                for o in offerable {
                    self.allocator.recover(fw, o.agent, &o.resources, None, now);
                }
                continue;
            }
            let mut offers = Vec::with_capacity(offerable.len());
            for o in offerable {
                let key = self.next_offer;
                self.next_offer += 1;
                let id = format!("{}-O{key}", self.master_id);
                offers.push(self.offer_proto(&id, fw, o.agent, o.role, &o.resources));
                let rescind_at = self
                    .faults
                    .find_for(now, &self.frameworks[fw].info.name, None, |k| match k {
                        Kind::Rescind { timeout } => Some(*timeout),
                        _ => None,
                    })
                    .map(|timeout| now.saturating_add(timeout));
                self.offers.insert(
                    key,
                    PendingOffer { id, framework: fw, agent: o.agent, resources: o.resources, rescind_at },
                );
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

    /// An offer as `Master::offer` writes it for this framework.
    fn offer_proto(&self, id: &str, fw: usize, agent: usize, role: Role, resources: &Resources) -> Offer {
        let f = &self.frameworks[fw];
        let multi_role = f.multi_role();
        let roles = self.allocator.role_names();
        Offer {
            id: OfferId { value: id.into() },
            framework_id: FrameworkId { value: f.id.clone() },
            agent_id: AgentId { value: self.agents[agent].id.clone() },
            hostname: self.hostname.clone(),
            url: Some(Url {
                scheme: "http".into(),
                address: Address {
                    hostname: Some(self.hostname.clone()),
                    ip: Some(self.ip.clone()),
                    port: i32::from(self.config.address.port()),
                },
                path: Some(format!("/slave({})", agent + 1)),
                ..Default::default()
            }),
            resources: resources.to_proto(roles, multi_role, f.refinement()),
            allocation_info: multi_role.then(|| resource::AllocationInfo {
                role: Some(roles.get(usize::from(role)).cloned().unwrap_or_default()),
            }),
            ..Default::default()
        }
    }
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
        // An enum number the schema lacks (QUOTA_V2) is written as the
        // master writes it (`{}`); nothing here can fail.
        _ => mesos_codec::json::to_json(event).unwrap_or_default(),
    };
    recordio::frame(Bytes::from(payload)).to_bytes()
}

/// A v1 `Call` (scheduler or operator) from a request body in
/// `content_type`, or the master's `400` answer: the texts of
/// `Master::Http::scheduler` and `Master::Http::api` (src/master/http.cpp),
/// which read a body alike. The parser's texts are stout's and picojson's
/// (see `picojson`), the converter's stout's `protobuf::parse` (see
/// `stout`); the codec then reads the call (its own texts only where stout
/// and serde disagree on what is JSON, e.g. numbers with leading zeros).
pub(crate) fn decode_call<T: Message + prost::Name + Default>(
    content_type: ContentType,
    body: &[u8],
) -> Result<T, Answer> {
    match content_type {
        ContentType::Json => {
            if let Err(e) = picojson::check(body) {
                return Err(Answer::error(400, format!("Failed to parse body into JSON: {e}")));
            }
            // stout's `protobuf::parse`, for its texts (see `stout`).
            if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(Answer::error(400, "Failed to convert JSON into Call protobuf: Expecting a JSON object"));
            }
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
                && let Err(e) = stout::check(&value, &T::full_name())
            {
                return Err(Answer::error(400, format!("Failed to convert JSON into Call protobuf: {e}")));
            }
            mesos_codec::json::from_json::<T>(body)
                .map_err(|e| Answer::error(400, format!("Failed to convert JSON into Call protobuf: {e}")))
        }
        // src/master/http.cpp: no detail follows (`ParseFromString` gives
        // none).
        _ => T::decode(body).map_err(|_| Answer::error(400, "Failed to parse body into Call protobuf")),
    }
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
        && !valid_uuid(&ack.uuid)
    {
        return Err("Not a valid UUID".into());
    }
    if let Some(ack) = &call.acknowledge_operation_status
        && ty == call::Type::AcknowledgeOperationStatus
    {
        if !valid_uuid(&ack.uuid) {
            return Err("Not a valid UUID".into());
        }
        // "TODO(gkleiman): Revisit this once we introduce support for
        // external resource providers."
        if ack.agent_id.is_none() {
            return Err("Expecting 'agent_id' to be present".into());
        }
    }
    Ok(())
}

/// `id::UUID::fromBytes` (3rdparty/stout/include/stout/uuid.hpp): 16 bytes
/// and a known version (boost's `version()`: 1 to 5).
fn valid_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 16 && (1..=5).contains(&(bytes[6] >> 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_endings() {
        let task = |value: &str| TaskInfo {
            command: Some(mesos_codec::v1::CommandInfo { value: Some(value.into()), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(command_ending(&task("/bin/sleep 3000s")), Some((Duration::from_secs(3000), 0)));
        assert_eq!(command_ending(&task("sleep 2.5")), Some((Duration::from_millis(2500), 0)));
        assert_eq!(command_ending(&task("exit 3")), Some((Duration::ZERO, 3)));
        assert_eq!(command_ending(&task("false")), Some((Duration::ZERO, 1)));
        assert_eq!(command_ending(&task("echo hi")), Some((Duration::ZERO, 0)));
        assert_eq!(command_ending(&task("sleep")), None);
        assert_eq!(command_ending(&task("./server")), None);
    }
}
