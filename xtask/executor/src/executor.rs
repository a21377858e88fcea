//! The executor proper: one thread owning all state, fed by a channel.
//!
//! Two layers, as in Mesos:
//! - the v1 executor library (src/executor/executor.cpp, `MesosProcess`):
//!   two persistent connections to the agent (one for the SUBSCRIBE call
//!   and its event stream, one for the other calls), the rule of which
//!   calls may be sent in which state, what a response code means,
//!   disconnection (with checkpointing: reconnection with random backoff
//!   and a recovery timeout; without: shutdown), the HEARTBEAT call every
//!   30 minutes, and `ShutdownProcess`, which kills the executor's process
//!   group when a shutdown takes longer than the shutdown grace period;
//! - the command executor (src/launcher/executor.cpp, `CommandExecutor`):
//!   subscription with retries, the events, launching and killing the task,
//!   status updates.
//!
//! Threads only do blocking I/O (connecting, one per connection, waiting
//! for the task) and send what they learn to this loop as [`Msg`]s, tagged
//! with the connection they belong to, so that news from a connection that
//! has since been dropped is ignored as the library ignores it.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::process::ExitStatus;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use mesos_codec::v1::executor::{Call, Event, call, event};
use mesos_codec::v1::{
    CommandInfo, ExecutorId, FrameworkId, FrameworkInfo, KillPolicy, TaskId, TaskInfo, TaskState, TaskStatus,
    check_info, framework_info, task_status,
};
use prost::Message;

use crate::config::Config;
use crate::duration::Dur;
use crate::http::{self, EventStream, Reader, ResponseHead, StreamItem};
use crate::launch;
use crate::status::{self, NewStatus, WaitStatus};
use crate::{error, info, warning};

/// What the I/O threads tell the executor loop.
#[derive(Debug)]
pub enum Msg {
    /// Both connections of attempt `conn` are up.
    Connected {
        conn: u64,
        subscribe: TcpStream,
        calls: TcpStream,
    },
    /// Attempt `conn` could not connect.
    ConnectFailed {
        conn: u64,
        error: String,
    },
    /// A SUBSCRIBE call was answered with something else than `200 OK`.
    SubscribeAnswer {
        conn: u64,
        head: ResponseHead,
        body: Vec<u8>,
    },
    /// A SUBSCRIBE call was answered with `200 OK`: events follow.
    Subscribed {
        conn: u64,
    },
    Event {
        conn: u64,
        event: Box<Event>,
    },
    /// A record of the event stream that is not an `Event`.
    Undecodable {
        conn: u64,
        error: String,
    },
    /// A non-SUBSCRIBE call was answered.
    CallAnswer {
        conn: u64,
        call: call::Type,
        head: ResponseHead,
        body: Vec<u8>,
    },
    /// A non-SUBSCRIBE call got no answer.
    CallFailed {
        conn: u64,
        call: call::Type,
        error: String,
    },
    /// A connection of `conn` broke.
    Disconnected {
        conn: u64,
        reason: String,
    },
    /// The event stream of `conn` ended or could not be read (logged as an
    /// error when `conn` is still the connection).
    StreamFailed {
        conn: u64,
        error: String,
    },
    /// The task's process was reaped.
    Reaped {
        pid: i32,
        status: Result<ExitStatus, String>,
    },
}

/// `process::MAX_REAP_INTERVAL()`.
const MAX_REAP_INTERVAL: Dur = Dur::secs(1);
/// The library's `DEFAULT_HEARTBEAT_CALL_INTERVAL`.
const HEARTBEAT_CALL_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// `doReliableRegistration`'s retry interval.
const REGISTRATION_RETRY: Duration = Duration::from_secs(1);
/// `kill()`'s default grace period, "for backwards compatibility".
const DEFAULT_KILL_GRACE_PERIOD: Dur = Dur::secs(3);

/// The library's connection states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LibState {
    Disconnected,
    Connecting,
    Connected,
    Subscribing,
    Subscribed,
}

impl LibState {
    fn name(self) -> &'static str {
        match self {
            LibState::Disconnected => "DISCONNECTED",
            LibState::Connecting => "CONNECTING",
            LibState::Connected => "CONNECTED",
            LibState::Subscribing => "SUBSCRIBING",
            LibState::Subscribed => "SUBSCRIBED",
        }
    }

    fn connected(self) -> bool {
        matches!(self, LibState::Connected | LibState::Subscribing | LibState::Subscribed)
    }
}

/// The command executor's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connected,
    Disconnected,
    Subscribed,
}

/// The two connections of one attempt.
struct Connections {
    subscribe: Sender<Vec<u8>>,
    calls: Sender<(call::Type, Vec<u8>)>,
    /// Clones of both sockets, to shut them down on disconnection.
    sockets: [TcpStream; 2],
}

/// The task, once LAUNCH has arrived (executor.cpp's `TaskData`).
struct TaskData {
    info: TaskInfo,
    /// Whether any of its status updates has been acknowledged.
    acknowledged: bool,
}

/// The state of the library and of the command executor.
pub struct Executor {
    config: Config,
    tx: Sender<Msg>,

    // The library (`MesosProcess`).
    lib: LibState,
    attempts: u64,
    connection_id: Option<u64>,
    connections: Option<Connections>,
    /// The first failure of a disconnection while the recovery timer is
    /// set (it stays set after firing, as `recoveryTimer` does).
    recovery: Option<String>,
    recovery_at: Option<Instant>,
    backoff_at: Option<Instant>,
    heartbeat_at: Instant,
    /// When `ShutdownProcess` kills the process group.
    suicide_at: Option<Instant>,
    /// The library process was terminated (`MESOS_LOCAL` shutdown).
    lib_terminated: bool,

    // The command executor (`CommandExecutor`).
    state: State,
    task: Option<TaskData>,
    launched: bool,
    killed: bool,
    killed_by_max_completion: bool,
    terminated: bool,
    pid: Option<i32>,
    kill_policy: Option<KillPolicy>,
    framework_info: Option<FrameworkInfo>,
    kill_grace_start: Option<Instant>,
    /// `killGracePeriodTimer`: when to escalate to SIGKILL, and the grace
    /// period it ends. It stays set (not pending) once fired or cancelled,
    /// as a libprocess `Timer` does.
    escalation: Option<Escalation>,
    /// The `max_completion_time` timer.
    completion: Option<(Instant, Dur)>,
    registration_at: Option<Instant>,
    self_terminate_at: Option<Instant>,
    /// Unacknowledged updates by uuid, in the order they were sent.
    unacknowledged: Vec<([u8; 16], call::Update)>,
    exit: Option<i32>,
}

/// A CHECK failure or ABORT of the C++ executor: the message, then
/// `abort()`, as glog does (the agent sees the executor killed by SIGABRT).
fn check_failed(message: &str) -> ! {
    crate::log::write(crate::log::Severity::Fatal, message);
    std::process::abort()
}

/// A pending or spent SIGKILL escalation.
#[derive(Debug, Clone, Copy)]
struct Escalation {
    at: Instant,
    grace: Dur,
    pending: bool,
}

/// `instant + duration` for a signed duration (saturating at `instant`
/// when the result cannot be represented).
fn add(instant: Instant, duration: Dur) -> Instant {
    if duration >= Dur::ZERO {
        instant.checked_add(duration.to_std()).unwrap_or(instant)
    } else {
        instant.checked_sub(Dur(duration.0.saturating_neg()).to_std()).unwrap_or(instant)
    }
}

impl Executor {
    pub fn new(config: Config, tx: Sender<Msg>) -> Executor {
        Executor {
            config,
            tx,
            lib: LibState::Disconnected,
            attempts: 0,
            connection_id: None,
            connections: None,
            recovery: None,
            recovery_at: None,
            backoff_at: None,
            heartbeat_at: Instant::now(),
            suicide_at: None,
            lib_terminated: false,
            state: State::Disconnected,
            task: None,
            launched: false,
            killed: false,
            killed_by_max_completion: false,
            terminated: false,
            pid: None,
            kill_policy: None,
            framework_info: None,
            kill_grace_start: None,
            escalation: None,
            completion: None,
            registration_at: None,
            self_terminate_at: None,
            unacknowledged: Vec::new(),
            exit: None,
        }
    }

    /// Runs until the executor terminates; returns the exit code.
    pub fn run(mut self, rx: Receiver<Msg>) -> i32 {
        info!("Using URL {} for the executor API endpoint", self.config.agent);
        // MesosProcess::initialize(): connect() and heartbeat().
        self.connect();
        self.heartbeat();
        loop {
            if let Some(code) = self.exit {
                if let Some(connections) = self.connections.take() {
                    for socket in &connections.sockets {
                        let _ = socket.shutdown(Shutdown::Both);
                    }
                }
                return code;
            }
            let now = Instant::now();
            let deadline = self.next_deadline();
            if let Some(at) = deadline
                && at <= now
            {
                self.fire_timer(now);
                continue;
            }
            let msg = match deadline {
                Some(at) => match rx.recv_timeout(at - now) {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return 1,
                },
                None => match rx.recv() {
                    Ok(msg) => msg,
                    Err(_) => return 1,
                },
            };
            self.handle(msg);
        }
    }

    fn timers(&self) -> [Option<Instant>; 9] {
        [
            self.suicide_at,
            self.self_terminate_at,
            self.escalation.filter(|e| e.pending).map(|e| e.at),
            self.completion.map(|(at, _)| at),
            self.registration_at,
            self.recovery_at,
            self.backoff_at,
            (!self.lib_terminated).then_some(self.heartbeat_at),
            None,
        ]
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.timers().into_iter().flatten().min()
    }

    /// Fires the first due timer.
    fn fire_timer(&mut self, now: Instant) {
        let due = |at: Option<Instant>| at.is_some_and(|at| at <= now);
        if due(self.suicide_at) {
            self.suicide_at = None;
            self.commit_suicide();
        } else if due(self.self_terminate_at) {
            self.self_terminate_at = None;
            self.self_terminate();
        } else if let Some(escalation) = self.escalation.as_mut()
            && escalation.pending
            && escalation.at <= now
        {
            escalation.pending = false;
            let grace = escalation.grace;
            self.escalated(grace);
        } else if let Some((at, duration)) = self.completion
            && at <= now
        {
            self.completion = None;
            self.task_completion_timeout(duration);
        } else if due(self.registration_at) {
            self.registration_at = None;
            self.do_reliable_registration();
        } else if due(self.recovery_at) {
            self.recovery_at = None;
            self.recovery_timeout();
        } else if due(self.backoff_at) {
            self.backoff_at = None;
            self.backoff();
        } else if !self.lib_terminated && self.heartbeat_at <= now {
            self.heartbeat();
        }
    }

    fn handle(&mut self, msg: Msg) {
        if self.lib_terminated && !matches!(msg, Msg::Reaped { .. }) {
            return;
        }
        let current = |conn: u64| self.connection_id == Some(conn);
        match msg {
            Msg::Connected { conn, subscribe, calls } => {
                if !current(conn) {
                    // `connected()`: "Ignoring connection attempt from stale connection".
                    let _ = subscribe.shutdown(Shutdown::Both);
                    let _ = calls.shutdown(Shutdown::Both);
                    return;
                }
                self.on_connected(conn, subscribe, calls);
            }
            Msg::ConnectFailed { conn, error } => {
                if current(conn) {
                    self.on_disconnected(conn, error);
                }
            }
            Msg::Disconnected { conn, reason } => {
                if current(conn) {
                    self.on_disconnected(conn, reason);
                }
            }
            Msg::StreamFailed { conn, error } => {
                if current(conn) {
                    error!("{error}");
                    self.on_disconnected(conn, error);
                }
            }
            Msg::Subscribed { conn } => {
                if current(conn) && self.lib == LibState::Subscribing {
                    self.lib = LibState::Subscribed;
                }
            }
            Msg::SubscribeAnswer { conn, head, body } => {
                if current(conn) {
                    self.on_answer(call::Type::Subscribe, &head, &body);
                }
            }
            Msg::CallAnswer { conn, call, head, body } => {
                if current(conn) {
                    self.on_answer(call, &head, &body);
                }
            }
            Msg::CallFailed { conn, call, error } => {
                if current(conn) {
                    error!("Request for call type {} failed: {error}", call.as_str_name());
                }
            }
            Msg::Event { conn, event } => {
                if current(conn) {
                    self.lib_receive(*event, false);
                }
            }
            Msg::Undecodable { conn, error } => {
                if current(conn) {
                    self.lib_error(&format!("Failed to de-serialize event: {error}"));
                }
            }
            Msg::Reaped { pid, status } => self.reaped(pid, status),
        }
    }

    // ---- The library (src/executor/executor.cpp, MesosProcess) ----

    /// `connect()`: a new attempt, both connections opened in a thread.
    fn connect(&mut self) {
        self.attempts += 1;
        let conn = self.attempts;
        self.connection_id = Some(conn);
        self.lib = LibState::Connecting;
        let tx = self.tx.clone();
        let authority = self.config.agent.authority();
        thread::spawn(move || {
            let msg = match TcpStream::connect(&authority).and_then(|a| Ok((a, TcpStream::connect(&authority)?))) {
                Ok((subscribe, calls)) => Msg::Connected { conn, subscribe, calls },
                Err(e) => Msg::ConnectFailed { conn, error: format!("Failed to connect to {authority}: {e}") },
            };
            let _ = tx.send(msg);
        });
    }

    /// `connected()`: both connections are up; start their threads and
    /// tell the executor.
    fn on_connected(&mut self, conn: u64, subscribe: TcpStream, calls: TcpStream) {
        let sockets = match (subscribe.try_clone(), calls.try_clone()) {
            (Ok(a), Ok(b)) => [a, b],
            (Err(e), _) | (_, Err(e)) => {
                self.on_disconnected(conn, format!("Failed to set up the connections: {e}"));
                return;
            }
        };
        self.lib = LibState::Connected;
        let (subscribe_tx, subscribe_rx) = std::sync::mpsc::channel();
        let (calls_tx, calls_rx) = std::sync::mpsc::channel();
        let (authority, path, token) =
            (self.config.agent.authority(), self.config.agent.path.clone(), self.config.auth_token.clone());
        let target = Target { conn, authority, path, token, tx: self.tx.clone() };
        let other = target.clone();
        thread::spawn(move || target.subscribe_connection(subscribe, subscribe_rx));
        thread::spawn(move || other.call_connection(calls, calls_rx));
        self.connections = Some(Connections { subscribe: subscribe_tx, calls: calls_tx, sockets });
        if self.recovery.take().is_some() {
            self.recovery_at = None;
        }
        self.connected();
    }

    /// `disconnected()`.
    fn on_disconnected(&mut self, _conn: u64, failure: String) {
        let was_connected = self.lib.connected();
        if was_connected {
            self.disconnected();
        }
        self.disconnect();
        if self.recovery.is_some() {
            return;
        }
        if self.config.checkpoint && was_connected {
            self.recovery_at = Some(Instant::now() + self.config.recovery_timeout.unwrap_or_default().to_std());
            self.recovery = Some(failure);
            self.backoff();
        } else {
            info!("Disconnected from agent: {failure}; Shutting down");
            self.lib_shutdown();
        }
    }

    /// `disconnect()`: drops both connections.
    fn disconnect(&mut self) {
        if let Some(connections) = self.connections.take() {
            for socket in &connections.sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        self.lib = LibState::Disconnected;
        self.connection_id = None;
    }

    /// `backoff()`: reconnect now, and again after a random part of the
    /// maximum backoff while not connected.
    fn backoff(&mut self) {
        if self.lib.connected() {
            return;
        }
        let mut random = [0u8; 8];
        status::random_bytes(&mut random);
        let fraction = u64::from_le_bytes(random) as f64 / u64::MAX as f64;
        let max = self.config.max_backoff.unwrap_or_default();
        let backoff = Dur((max.0 as f64 * fraction) as i64);
        info!("Will retry connecting with the agent again in {backoff}");
        self.connect();
        self.backoff_at = Some(Instant::now() + backoff.to_std());
    }

    /// `_recoveryTimeout()`.
    fn recovery_timeout(&mut self) {
        if self.lib.connected() {
            return;
        }
        let failure = self.recovery.clone().unwrap_or_default();
        info!(
            "Recovery timeout of {} exceeded following the first connection failure: {failure}; Shutting down",
            self.config.recovery_timeout.unwrap_or_default()
        );
        self.lib_shutdown();
    }

    /// `heartbeat()`: a HEARTBEAT call when there are connections, every
    /// 30 minutes.
    fn heartbeat(&mut self) {
        if self.connections.is_some() {
            let mut call = Call {
                executor_id: ExecutorId { value: "unused".into() },
                framework_id: FrameworkId { value: "unused".into() },
                ..Call::default()
            };
            call.set_type(call::Type::Heartbeat);
            self.send(call);
        }
        self.heartbeat_at = Instant::now() + HEARTBEAT_CALL_INTERVAL;
    }

    /// `send()`: a call goes out only in the state that allows it.
    fn send(&mut self, call: Call) {
        if self.lib_terminated {
            return;
        }
        let kind = call.r#type();
        let allowed = if kind == call::Type::Subscribe {
            self.lib == LibState::Connected
        } else {
            self.lib == LibState::Subscribed
        };
        if !allowed {
            warning!("Dropping {}: Executor is in state {}", kind.as_str_name(), self.lib.name());
            return;
        }
        let Some(connections) = &self.connections else {
            warning!("Dropping {}: no connection", kind.as_str_name());
            return;
        };
        let body = call.encode_to_vec();
        if kind == call::Type::Subscribe {
            self.lib = LibState::Subscribing;
            let _ = connections.subscribe.send(body);
        } else {
            let _ = connections.calls.send((kind, body));
        }
    }

    /// `_send()`: what a response other than the event stream means.
    fn on_answer(&mut self, kind: call::Type, head: &ResponseHead, body: &[u8]) {
        let body = String::from_utf8_lossy(body);
        match head.code {
            202 if kind != call::Type::Subscribe => return,
            200 | 202 => {
                error!("Unexpected '{}' for {}", head.status, kind.as_str_name());
                return;
            }
            _ => {}
        }
        if kind == call::Type::Subscribe && self.lib == LibState::Subscribing {
            self.lib = LibState::Connected;
        }
        if head.code == 503 || head.code == 404 {
            warning!("Received '{}' ({body}) for {}", head.status, kind.as_str_name());
            return;
        }
        self.lib_error(&format!("Received unexpected '{}' ({body}) for {}", head.status, kind.as_str_name()));
    }

    /// `error()`: an ERROR event made up by the library.
    fn lib_error(&mut self, message: &str) {
        let mut event = Event { error: Some(event::Error { message: message.to_string() }), ..Event::default() };
        event.set_type(event::Type::Error);
        self.lib_receive(event, true);
    }

    /// `shutdown()`: a SHUTDOWN event made up by the library.
    fn lib_shutdown(&mut self) {
        let mut event = Event::default();
        event.set_type(event::Type::Shutdown);
        self.lib_receive(event, true);
    }

    /// `receive()`: hands the event to the executor; a SHUTDOWN also arms
    /// `ShutdownProcess` (or, with `MESOS_LOCAL`, ends the library).
    fn lib_receive(&mut self, event: Event, injected: bool) {
        if !injected && self.lib != LibState::Subscribed {
            warning!("Ignoring {} event because we're no longer subscribed", event_name(&event));
            return;
        }
        let shutdown = event.r#type() == event::Type::Shutdown;
        self.received(event);
        if shutdown {
            if self.config.local {
                self.lib_terminated = true;
                self.backoff_at = None;
                self.recovery_at = None;
            } else if self.suicide_at.is_none() {
                info!("Scheduling shutdown of the executor in {}", self.config.shutdown_grace_period);
                self.suicide_at = Some(Instant::now() + self.config.shutdown_grace_period.to_std());
            }
        }
    }

    /// `ShutdownProcess::kill()`: SIGKILL to the executor's own process
    /// group, then, should that not be delivered, exit -1 after 5 secs.
    fn commit_suicide(&mut self) {
        info!("Committing suicide by killing the process group");
        launch::send_signal(0, libc::SIGKILL);
        thread::sleep(Duration::from_secs(5));
        self.exit = Some(255);
    }

    // ---- The command executor (src/launcher/executor.cpp) ----

    fn connected(&mut self) {
        self.state = State::Connected;
        self.do_reliable_registration();
    }

    fn disconnected(&mut self) {
        self.state = State::Disconnected;
    }

    /// `doReliableRegistration()`: SUBSCRIBE with the unacknowledged
    /// updates and task, again every second until subscribed.
    fn do_reliable_registration(&mut self) {
        if matches!(self.state, State::Subscribed | State::Disconnected) {
            return;
        }
        let mut call = Call {
            framework_id: FrameworkId { value: self.config.framework_id.clone() },
            executor_id: ExecutorId { value: self.config.executor_id.clone() },
            subscribe: Some(call::Subscribe {
                unacknowledged_updates: self.unacknowledged.iter().map(|(_, update)| update.clone()).collect(),
                unacknowledged_tasks: self
                    .task
                    .as_ref()
                    .filter(|task| !task.acknowledged)
                    .map(|task| task.info.clone())
                    .into_iter()
                    .collect(),
            }),
            ..Call::default()
        };
        call.set_type(call::Type::Subscribe);
        self.send(call);
        self.registration_at = Some(Instant::now() + REGISTRATION_RETRY);
    }

    /// `received()`.
    fn received(&mut self, event: Event) {
        info!("Received {} event", event_name(&event));
        match event.r#type() {
            event::Type::Subscribed => {
                let Some(subscribed) = event.subscribed else {
                    error!("SUBSCRIBED event without 'subscribed'; ignored");
                    return;
                };
                info!("Subscribed executor on {}", subscribed.agent_info.hostname);
                self.framework_info = Some(subscribed.framework_info);
                self.state = State::Subscribed;
            }
            event::Type::Launch => match event.launch {
                Some(launch) => self.launch(launch.task),
                None => error!("LAUNCH event without 'launch'; ignored"),
            },
            event::Type::LaunchGroup => {
                error!("LAUNCH_GROUP event is not supported");
                self.shutdown();
            }
            event::Type::Kill => match event.kill {
                Some(kill) => {
                    let policy = kill.kill_policy;
                    self.kill_with_policy(&kill.task_id, policy.as_ref());
                }
                None => error!("KILL event without 'kill'; ignored"),
            },
            event::Type::Acknowledged => match event.acknowledged {
                Some(ack) => self.acknowledged(&ack.uuid),
                None => error!("ACKNOWLEDGED event without 'acknowledged'; ignored"),
            },
            event::Type::Shutdown => self.shutdown(),
            event::Type::Message | event::Type::Heartbeat => {}
            event::Type::Error => {
                error!("Error: {}", event.error.map(|e| e.message).unwrap_or_default());
            }
            event::Type::Unknown => warning!("Received an UNKNOWN event and ignored"),
        }
    }

    fn acknowledged(&mut self, uuid: &[u8]) {
        let Some(index) = self.unacknowledged.iter().position(|(id, _)| id[..] == *uuid) else {
            warning!("Received acknowledgement {} for unknown status update", status::uuid_string(uuid));
            return;
        };
        let (_, update) = self.unacknowledged.remove(index);
        // Terminate on the acknowledgement of the terminal update.
        if status::is_terminal(update.status.state()) {
            self.exit = Some(0);
        }
        match &mut self.task {
            Some(task) => task.acknowledged = true,
            None => check_failed("Check failed: taskData.isSome()"),
        }
    }

    /// `launch()`.
    fn launch(&mut self, task: TaskInfo) {
        if self.state != State::Subscribed {
            check_failed(&format!("Check failed: SUBSCRIBED == state ({:?} vs. SUBSCRIBED)", self.state));
        }
        if self.launched {
            let status = self.create_task_status(
                &task.task_id,
                TaskState::TaskFailed,
                None,
                Some("Attempted to run multiple tasks using a \"command\" executor".into()),
            );
            self.forward(status);
            return;
        }
        let task_id = task.task_id.clone();
        self.task = Some(TaskData { info: task.clone(), acknowledged: false });

        let starting = self.create_task_status(&task_id, TaskState::TaskStarting, None, None);
        self.forward(starting);

        if task.kill_policy.is_some() {
            self.kill_policy = task.kill_policy;
        }

        let command: CommandInfo = if let Some(json) = &self.config.flags.task_command {
            match mesos_codec::json::from_json(json.as_bytes()) {
                Ok(command) => command,
                Err(e) => check_failed(&format!("Failed to parse --task_command: {e}")),
            }
        } else if let Some(command) = &task.command {
            command.clone()
        } else {
            check_failed(&format!("Expecting task '{}' to have a command", task_id.value))
        };
        if command.value.is_none() {
            let what = if command.shell() { "Shell command" } else { "Executable" };
            check_failed(&format!(
                "Check failed: command.has_value() {what} of task '{}' is not specified",
                task_id.value
            ));
        }

        let role = task
            .resources
            .first()
            .and_then(|r| r.allocation_info.as_ref())
            .and_then(|a| a.role.clone())
            .unwrap_or_default();
        let environment = launch::task_environment(
            &self.config.environment,
            self.config.flags.task_environment.as_ref(),
            command.environment.as_ref(),
            &role,
            |name| info!("Overwriting environment variable '{name}'"),
        );

        if let Some(max) = task.max_completion_time.as_ref().filter(|d| d.nanoseconds > 0) {
            let duration = Dur(max.nanoseconds);
            info!("Task {} has a max completion time of {duration}", task_id.value);
            self.completion = Some((Instant::now() + duration.to_std(), duration));
        }

        info!("Starting task {}", task_id.value);
        let pid = match self.launch_task_subprocess(&command, &environment) {
            Ok(pid) => pid,
            Err(e) => check_failed(&format!("Failed to launch task subprocess: {e}")),
        };
        self.pid = Some(pid);
        info!("Forked command at {pid}");

        if task.check.is_some() {
            warning!("Task {} defines a check: checks are not run by this executor", task_id.value);
        }
        if task.health_check.is_some() {
            warning!("Task {} defines a health check: health checks are not run by this executor", task_id.value);
        }

        let running = self.create_task_status(&task_id, TaskState::TaskRunning, None, None);
        self.forward(running);
        self.launched = true;
    }

    /// `launchTaskSubprocess()`; returns the pid, with a thread waiting
    /// for it.
    fn launch_task_subprocess(
        &mut self,
        command: &CommandInfo,
        environment: &mesos_codec::v1::Environment,
    ) -> Result<i32, String> {
        let flags = &self.config.flags;
        if flags.rootfs.is_some() {
            if launch::effective_uid() != 0 {
                check_failed("The command executor requires root with rootfs");
            }
            if let Some(user) = &flags.user {
                let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
                let (uid, gid) = launch::passwd_ids(&passwd, user)
                    .unwrap_or_else(|| check_failed(&format!("Failed to chown sandbox to user {user}: no such user")));
                let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
                if let Err(e) = std::os::unix::fs::chown(&cwd, Some(uid), Some(gid)) {
                    check_failed(&format!("Failed to chown sandbox to user {user}: {e}"));
                }
            }
        }
        let info = launch::launch_info(command, environment, flags)?;
        let args = launch::containerizer_args(&info);
        let child = launch::spawn(&flags.launcher_dir, &args, flags.tty_slave_path.is_none())
            .map_err(|e| format!("Failed to exec '{}/{}': {e}", flags.launcher_dir, launch::MESOS_CONTAINERIZER))?;
        let pid = child.id() as i32;
        let tx = self.tx.clone();
        thread::spawn(move || {
            let mut child = child;
            let status = child.wait().map_err(|e| e.to_string());
            let _ = tx.send(Msg::Reaped { pid, status });
        });
        Ok(pid)
    }

    /// The public `kill()`: the grace period of the KILL's kill policy,
    /// else of the task's, else 3 secs.
    fn kill_with_policy(&mut self, task_id: &TaskId, policy: Option<&KillPolicy>) {
        self.completion = None;
        let grace = policy
            .and_then(|p| p.grace_period.as_ref())
            .or_else(|| self.kill_policy.as_ref().and_then(|p| p.grace_period.as_ref()))
            .map(|d| Dur(d.nanoseconds))
            .unwrap_or(DEFAULT_KILL_GRACE_PERIOD);
        info!("Received kill for task {} with grace period of {grace}", task_id.value);
        self.kill(task_id, grace);
    }

    /// `shutdown()`: kill the task with the shutdown grace period less
    /// `MAX_REAP_INTERVAL` and one second, or terminate if there is none.
    fn shutdown(&mut self) {
        info!("Shutting down");
        let grace = self.config.shutdown_grace_period - MAX_REAP_INTERVAL - Dur::secs(1);
        if self.launched {
            let Some(task_id) = self.task.as_ref().map(|t| t.info.task_id.clone()) else {
                check_failed("Check failed: taskId.isSome()");
            };
            self.kill(&task_id, grace);
        } else {
            self.exit = Some(0);
        }
    }

    /// The private `kill()`: TASK_KILLING if the framework can take it,
    /// SIGTERM to the task's process tree, SIGKILL after the grace period;
    /// a later kill may only shorten the grace period.
    fn kill(&mut self, task_id: &TaskId, grace: Dur) {
        if self.terminated {
            return;
        }
        if !self.launched {
            check_failed(
                "Check failed: launched Terminating because kill task message has been received \
                 before the task has been launched",
            );
        }
        if self.killed {
            let (Some(start), Some(escalation)) = (self.kill_grace_start, self.escalation) else {
                check_failed("Check failed: killGracePeriodStart.isSome() && killGracePeriodTimer.isSome()");
            };
            // The grace period may only be shortened.
            if add(start, grace) > escalation.at {
                return;
            }
            let elapsed = Dur::from_std(start.elapsed());
            let remaining = if grace > elapsed { grace - elapsed } else { Dur::ZERO };
            info!("Rescheduling escalation to SIGKILL in {remaining} from now");
            self.escalation = Some(Escalation { at: Instant::now() + remaining.to_std(), grace, pending: true });
            return;
        }
        let current = self.task.as_ref().map(|t| t.info.task_id.clone());
        if current.as_ref() != Some(task_id) {
            check_failed(&format!(
                "Check failed: taskId.get() == _taskId ({} vs. {})",
                current.map(|t| t.value).unwrap_or_default(),
                task_id.value
            ));
        }
        let can_killing = self.framework_info.as_ref().is_some_and(|f| {
            f.capabilities.iter().any(|c| c.r#type() == framework_info::capability::Type::TaskKillingState)
        });
        if !self.killed_by_max_completion && can_killing {
            let status = self.create_task_status(task_id, TaskState::TaskKilling, None, None);
            self.forward(status);
        }
        let Some(pid) = self.pid else { check_failed("Check failed: pid.isSome()") };
        info!("Sending SIGTERM to process tree at pid {pid}");
        signal_tree(pid, libc::SIGTERM, "SIGTERM");
        info!("Scheduling escalation to SIGKILL in {grace} from now");
        let now = Instant::now();
        self.escalation = Some(Escalation { at: now + grace.to_std(), grace, pending: true });
        self.kill_grace_start = Some(now);
        self.killed = true;
    }

    /// `escalated()`: SIGKILL to the process tree.
    fn escalated(&mut self, grace: Dur) {
        if self.terminated {
            return;
        }
        let Some(pid) = self.pid else { return };
        info!("Process {pid} did not terminate after {grace}, sending SIGKILL to process tree at {pid}");
        signal_tree(pid, libc::SIGKILL, "SIGKILL");
    }

    /// `taskCompletionTimeout()`: kill with no grace period, and fail the
    /// task with REASON_MAX_COMPLETION_TIME_REACHED.
    fn task_completion_timeout(&mut self, duration: Dur) {
        if self.terminated || self.killed {
            return;
        }
        let Some(task_id) = self.task.as_ref().map(|t| t.info.task_id.clone()) else { return };
        info!("Killing task {} which exceeded its maximum completion time of {duration}", task_id.value);
        self.killed_by_max_completion = true;
        self.kill(&task_id, Dur::ZERO);
    }

    /// `reaped()`: the terminal update.
    fn reaped(&mut self, pid: i32, status: Result<ExitStatus, String>) {
        if self.pid != Some(pid) {
            return;
        }
        self.terminated = true;
        if let Some(escalation) = self.escalation.as_mut() {
            escalation.pending = false;
        }
        self.completion = None;
        let mut reason = None;
        let (state, message) = match status {
            Err(e) => (TaskState::TaskFailed, format!("Failed to get exit status for Command: {e}")),
            Ok(status) => {
                let wait = WaitStatus::from_exit_status(status);
                let state = if self.killed_by_max_completion {
                    reason = Some(task_status::Reason::MaxCompletionTimeReached);
                    TaskState::TaskFailed
                } else if self.killed {
                    TaskState::TaskKilled
                } else if wait.succeeded() {
                    TaskState::TaskFinished
                } else {
                    TaskState::TaskFailed
                };
                (state, format!("Command {}", wait.describe()))
            }
        };
        info!("{message} (pid: {pid})");
        let Some(task_id) = self.task.as_ref().map(|t| t.info.task_id.clone()) else {
            check_failed("Check failed: taskId.isSome()");
        };
        let status = self.create_task_status(&task_id, state, reason, Some(message));
        self.forward(status);
        // HTTP: a fail-safe should the acknowledgement never come. The
        // driver-based executor exits after a second.
        let wait = if self.config.http_command_executor { 60 } else { 1 };
        self.self_terminate_at = Some(Instant::now() + Duration::from_secs(wait));
    }

    /// `selfTerminate()`.
    fn self_terminate(&mut self) {
        if self.config.http_command_executor {
            error!("Did not receive ACK for the terminal status update from the agent");
            let _ = std::io::stderr().flush();
            self.exit = Some(1);
        } else {
            self.exit = Some(0);
        }
    }

    /// `createTaskStatus()`.
    fn create_task_status(
        &self,
        task_id: &TaskId,
        state: TaskState,
        reason: Option<task_status::Reason>,
        message: Option<String>,
    ) -> TaskStatus {
        let check = self.task.as_ref().and_then(|t| t.info.check.as_ref()).map(|c| c.r#type());
        if check == Some(check_info::Type::Unknown) {
            check_failed("UNKNOWN check type is invalid");
        }
        NewStatus { task_id, state, executor_id: &self.config.executor_id, reason, message, check }
            .build(status::random_uuid(), status::now_secs())
    }

    /// `forward()`: an UPDATE call, kept until acknowledged.
    fn forward(&mut self, status: TaskStatus) {
        let uuid: [u8; 16] = status.uuid.as_deref().and_then(|u| u.try_into().ok()).unwrap_or_default();
        let update = call::Update { status };
        let mut call = Call {
            framework_id: FrameworkId { value: self.config.framework_id.clone() },
            executor_id: ExecutorId { value: self.config.executor_id.clone() },
            update: Some(update.clone()),
            ..Call::default()
        };
        call.set_type(call::Type::Update);
        self.unacknowledged.retain(|(id, _)| *id != uuid);
        self.unacknowledged.push((uuid, update));
        self.send(call);
    }
}

/// `os::killtree(pid, signal, true, true)`, falling back to signalling
/// `pid` alone when the process table cannot be read.
fn signal_tree(pid: i32, signal: i32, name: &str) {
    match launch::killtree(pid, signal) {
        Ok(procs) => {
            let list: Vec<String> = procs.iter().map(|p| format!("{} ({})", p.pid, p.command)).collect();
            info!("Sent {name} to the following processes: [{}]", list.join(", "));
        }
        Err(e) => {
            error!("Failed to kill the process tree rooted at pid {pid}: {e}");
            launch::send_signal(pid, signal);
        }
    }
}

/// The event's type name; an unset or unknown type reads as UNKNOWN, as
/// in C++.
fn event_name(event: &Event) -> &'static str {
    event.r#type().as_str_name()
}

/// Where one connection's thread sends its calls and its news.
#[derive(Clone)]
struct Target {
    conn: u64,
    authority: String,
    path: String,
    token: Option<String>,
    tx: Sender<Msg>,
}

impl Target {
    fn request(&self, body: &[u8]) -> Vec<u8> {
        http::post_request(&self.authority, &self.path, body, self.token.as_deref())
    }

    fn disconnected(&self, what: &str, detail: impl std::fmt::Display) {
        let _ = self.tx.send(Msg::Disconnected { conn: self.conn, reason: format!("{what}: {detail}") });
    }

    fn stream_failed(&self, error: String) {
        let _ = self.tx.send(Msg::StreamFailed { conn: self.conn, error });
    }

    /// The SUBSCRIBE connection: each SUBSCRIBE handed in is sent and
    /// answered; a `200 OK` turns the connection into the event stream.
    fn subscribe_connection(self, stream: TcpStream, calls: Receiver<Vec<u8>>) {
        const WHAT: &str = "Subscribe connection interrupted";
        let mut writer = match stream.try_clone() {
            Ok(writer) => writer,
            Err(e) => return self.disconnected(WHAT, e),
        };
        let mut reader = Reader::new(stream);
        for body in calls {
            if let Err(e) = writer.write_all(&self.request(&body)) {
                return self.disconnected(WHAT, e);
            }
            let head = match reader.read_head() {
                Ok(head) => head,
                Err(e) => return self.disconnected(WHAT, e),
            };
            if head.code == 200 {
                let _ = self.tx.send(Msg::Subscribed { conn: self.conn });
                let mut events = EventStream::new(reader, &head);
                loop {
                    let msg = match events.next_item() {
                        Ok(StreamItem::Event(event)) => Msg::Event { conn: self.conn, event },
                        Ok(StreamItem::Undecodable(error)) => Msg::Undecodable { conn: self.conn, error },
                        Ok(StreamItem::End) => {
                            let error = "End-Of-File received from agent. The agent closed the event stream";
                            return self.stream_failed(error.into());
                        }
                        Err(e) => return self.stream_failed(format!("Failed to decode the stream of events: {e}")),
                    };
                    if self.tx.send(msg).is_err() {
                        return;
                    }
                }
            }
            let (body, reusable) = match reader.read_body(&head) {
                Ok(answer) => answer,
                Err(e) => return self.disconnected(WHAT, e),
            };
            let closing = head.header("Connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
            let _ = self.tx.send(Msg::SubscribeAnswer { conn: self.conn, head, body });
            if !reusable || closing {
                return self.disconnected(WHAT, "the agent closed the connection");
            }
        }
    }

    /// The connection of the other calls: one call at a time, each
    /// answered before the next goes out.
    fn call_connection(self, stream: TcpStream, calls: Receiver<(call::Type, Vec<u8>)>) {
        const WHAT: &str = "Non-subscribe connection interrupted";
        let mut writer = match stream.try_clone() {
            Ok(writer) => writer,
            Err(e) => return self.disconnected(WHAT, e),
        };
        let mut reader = Reader::new(stream);
        for (call, body) in calls {
            let answer = writer.write_all(&self.request(&body)).and_then(|()| {
                let head = reader.read_head()?;
                let (body, reusable) = reader.read_body(&head)?;
                Ok((head, body, reusable))
            });
            match answer {
                Ok((head, body, reusable)) => {
                    let closing = head.header("Connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
                    let _ = self.tx.send(Msg::CallAnswer { conn: self.conn, call, head, body });
                    if !reusable || closing {
                        return self.disconnected(WHAT, "the agent closed the connection");
                    }
                }
                Err(e) => {
                    let _ = self.tx.send(Msg::CallFailed { conn: self.conn, call, error: e.to_string() });
                    return self.disconnected(WHAT, e);
                }
            }
        }
    }
}

/// The executor against a fake agent on loopback: SUBSCRIBE refused with a
/// 503 then retried, LAUNCH through a stand-in `mesos-containerizer`, the
/// stream cut (with checkpointing: reconnection and a SUBSCRIBE carrying the
/// unacknowledged updates and task), KILL with a kill policy, and the exit
/// on the terminal acknowledgement.
#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read};
    use std::net::TcpListener;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::mpsc;

    use mesos_codec::v1::{
        AgentInfo, CommandInfo, DurationInfo, ExecutorInfo, KillPolicy, Resource, TaskState, resource,
    };

    /// Reads one request: its head lines and body.
    fn read_request(reader: &mut BufReader<TcpStream>) -> (Vec<String>, Vec<u8>) {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "connection closed");
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let length = head.iter().find_map(|h| h.strip_prefix("Content-Length: ")).map_or(0, |n| n.parse().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        (head, body)
    }

    fn read_call(reader: &mut BufReader<TcpStream>) -> Call {
        let (head, body) = read_request(reader);
        assert_eq!(head[0], "POST /slave(1)/api/v1/executor HTTP/1.1");
        assert!(head.contains(&"Content-Type: application/x-protobuf".to_string()));
        assert!(head.contains(&"Accept: application/x-protobuf".to_string()));
        let call = Call::decode(body.as_slice()).unwrap();
        assert_eq!(call.framework_id.value, "fw");
        assert_eq!(call.executor_id.value, "task-1");
        call
    }

    fn accepted(stream: &mut TcpStream) {
        stream.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
    }

    fn send_event(stream: &mut TcpStream, event: Event) {
        let bytes = event.encode_to_vec();
        let record = [format!("{}\n", bytes.len()).into_bytes(), bytes].concat();
        let mut chunk = format!("{:x}\r\n", record.len()).into_bytes();
        chunk.extend_from_slice(&record);
        chunk.extend_from_slice(b"\r\n");
        stream.write_all(&chunk).unwrap();
    }

    fn subscribed() -> Event {
        let mut capability = framework_info::Capability::default();
        capability.set_type(framework_info::capability::Type::TaskKillingState);
        let mut event = Event {
            subscribed: Some(event::Subscribed {
                executor_info: ExecutorInfo::default(),
                framework_info: FrameworkInfo { capabilities: vec![capability], ..FrameworkInfo::default() },
                agent_info: AgentInfo { hostname: "fake-agent".into(), ..AgentInfo::default() },
                container_id: None,
            }),
            ..Event::default()
        };
        event.set_type(event::Type::Subscribed);
        event
    }

    fn update(call: &Call, state: TaskState) -> (TaskStatus, [u8; 16]) {
        assert_eq!(call.r#type(), call::Type::Update);
        let status = call.update.as_ref().unwrap().status.clone();
        assert_eq!(status.state(), state);
        assert_eq!(status.source(), task_status::Source::Executor);
        assert_eq!(status.executor_id.as_ref().unwrap().value, "task-1");
        assert_eq!(status.task_id.value, "task-1");
        assert!(status.timestamp.unwrap() > 1.0e9);
        let uuid = status.uuid.as_deref().unwrap().try_into().unwrap();
        (status, uuid)
    }

    fn ack(uuid: [u8; 16]) -> Event {
        let mut event = Event {
            acknowledged: Some(event::Acknowledged {
                task_id: TaskId { value: "task-1".into() },
                uuid: bytes::Bytes::copy_from_slice(&uuid),
            }),
            ..Event::default()
        };
        event.set_type(event::Type::Acknowledged);
        event
    }

    #[test]
    fn against_a_fake_agent() {
        let dir = std::env::temp_dir().join(format!("mesos-executor-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("mesos-containerizer");
        std::fs::write(
            &script,
            "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > \"$(dirname \"$0\")/args\"\nexec sleep 30\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let env: Vec<(String, String)> = [
            ("MESOS_FRAMEWORK_ID", "fw"),
            ("MESOS_EXECUTOR_ID", "task-1"),
            ("MESOS_SLAVE_PID", &format!("slave(1)@127.0.0.1:{port}")),
            ("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"),
            ("MESOS_HTTP_COMMAND_EXECUTOR", "1"),
            ("MESOS_CHECKPOINT", "1"),
            ("MESOS_RECOVERY_TIMEOUT", "10secs"),
            ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "100ms"),
            // No ShutdownProcess (it would kill the test's process group).
            ("MESOS_LOCAL", "1"),
            ("PATH", "/usr/bin:/bin"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let args = vec![format!("--launcher_dir={}", dir.display())];
        let config = Config::load(&args, &env).unwrap();
        let (tx, rx) = mpsc::channel();
        let executor = thread::spawn(move || Executor::new(config, tx).run(rx));

        // Connect: the SUBSCRIBE connection first, then the calls'.
        let (mut sub, _) = listener.accept().unwrap();
        let (mut calls, _) = listener.accept().unwrap();
        let mut sub_reader = BufReader::new(sub.try_clone().unwrap());
        let mut calls_reader = BufReader::new(calls.try_clone().unwrap());

        // A 503 to the first SUBSCRIBE: it comes again a second later.
        let call = read_call(&mut sub_reader);
        assert_eq!(call.r#type(), call::Type::Subscribe);
        assert_eq!(call.subscribe, Some(call::Subscribe::default()));
        sub.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n\r\nRecovering").unwrap();
        let started = Instant::now();
        let call = read_call(&mut sub_reader);
        assert_eq!(call.r#type(), call::Type::Subscribe);
        assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
        sub.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nMesos-Stream-Id: s1\r\n\r\n").unwrap();
        send_event(&mut sub, subscribed());

        let allocation = resource::AllocationInfo { role: Some("web".into()) };
        let task = TaskInfo {
            name: "t".into(),
            task_id: TaskId { value: "task-1".into() },
            resources: vec![Resource { name: "cpus".into(), allocation_info: Some(allocation), ..Resource::default() }],
            command: Some(CommandInfo { value: Some("sleep 30".into()), ..CommandInfo::default() }),
            kill_policy: Some(KillPolicy { grace_period: Some(DurationInfo { nanoseconds: 5_000_000_000 }) }),
            ..TaskInfo::default()
        };
        let mut launch = Event { launch: Some(event::Launch { task: task.clone() }), ..Event::default() };
        launch.set_type(event::Type::Launch);
        send_event(&mut sub, launch);

        let (starting, _) = update(&read_call(&mut calls_reader), TaskState::TaskStarting);
        assert_eq!((&starting.message, starting.reason), (&None, None));
        accepted(&mut calls);
        let (running, _) = update(&read_call(&mut calls_reader), TaskState::TaskRunning);
        accepted(&mut calls);
        assert_ne!(starting.uuid, running.uuid);

        // The stand-in may not have run yet.
        let mut args = String::new();
        for _ in 0..100 {
            args = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
            if args.contains("--unshare_namespace_mnt") {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let args: Vec<&str> = args.lines().collect();
        assert!(args[0].ends_with("/mesos-containerizer"));
        assert_eq!(args[1..3], ["launch", "--help=false"]);
        assert_eq!(args[4], "--unshare_namespace_mnt=false");
        let info: serde_json::Value = serde_json::from_str(args[3].strip_prefix("--launch_info=").unwrap()).unwrap();
        assert_eq!(info["command"], serde_json::json!({"shell": true, "value": "sleep 30"}));
        let variables = info["environment"]["variables"].as_array().unwrap();
        assert!(
            variables.contains(&serde_json::json!({"name": "MESOS_ALLOCATION_ROLE", "type": "VALUE", "value": "web"}))
        );
        assert!(variables.contains(&serde_json::json!({"name": "MESOS_LOCAL", "type": "VALUE", "value": "1"})));

        // The stream ends: with checkpointing the executor reconnects and
        // subscribes again with what was not acknowledged.
        sub.write_all(b"0\r\n\r\n").unwrap();
        drop((sub, sub_reader, calls, calls_reader));
        let (mut sub, _) = listener.accept().unwrap();
        let (mut calls, _) = listener.accept().unwrap();
        let mut sub_reader = BufReader::new(sub.try_clone().unwrap());
        let mut calls_reader = BufReader::new(calls.try_clone().unwrap());
        let call = read_call(&mut sub_reader);
        assert_eq!(call.r#type(), call::Type::Subscribe);
        let subscribe = call.subscribe.unwrap();
        let resent: Vec<_> = subscribe.unacknowledged_updates.iter().map(|u| u.status.clone()).collect();
        assert_eq!(resent, [starting.clone(), running.clone()]);
        assert_eq!(subscribe.unacknowledged_tasks, [task]);
        sub.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nMesos-Stream-Id: s2\r\n\r\n").unwrap();
        send_event(&mut sub, subscribed());
        for status in [&starting, &running] {
            send_event(&mut sub, ack(status.uuid.as_deref().unwrap().try_into().unwrap()));
        }
        // An acknowledgement of nothing known is ignored.
        send_event(&mut sub, ack([9; 16]));

        // KILL with a shorter grace period than the task's.
        let mut kill = Event {
            kill: Some(event::Kill {
                task_id: TaskId { value: "task-1".into() },
                kill_policy: Some(KillPolicy { grace_period: Some(DurationInfo { nanoseconds: 1_000_000_000 }) }),
            }),
            ..Event::default()
        };
        kill.set_type(event::Type::Kill);
        send_event(&mut sub, kill);
        let (killing, killing_uuid) = update(&read_call(&mut calls_reader), TaskState::TaskKilling);
        assert_eq!(killing.message, None);
        accepted(&mut calls);
        let (killed, killed_uuid) = update(&read_call(&mut calls_reader), TaskState::TaskKilled);
        assert_eq!(killed.message.as_deref(), Some("Command terminated with signal Terminated"));
        assert_eq!(killed.reason, None);
        accepted(&mut calls);
        send_event(&mut sub, ack(killing_uuid));
        send_event(&mut sub, ack(killed_uuid));
        assert_eq!(executor.join().unwrap(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
