//! The master's answers outside the scheduler API, as a Mesos 1.11.0
//! master gives them: `GET /version`, `/master/health` (`/health`),
//! `/master/redirect` (`/redirect`), `/master/state` (`/state`) and
//! `/metrics/snapshot`, and libprocess's routing to them (404 for the
//! rest).
//!
//! Sans-IO, like the master: a [`Request`] and a picture of the cluster
//! ([`View`], [`History`]) in, a [`Response`] out.
//!
//! The JSON is written as the master writes it (stout's `jsonify`, over
//! rapidjson): the same keys in the same order, doubles and strings in
//! rapidjson's form. The values follow from the simulated cluster; what a
//! real master takes from its machine (its flags' paths, timings, load,
//! memory) is a fixed value here, so that a run with `--seed` on the
//! virtual clock answers the same bytes every time. Lists that a master
//! keeps in hash maps (agents, frameworks, tasks, offers) come in the
//! order `std::unordered_map` gives a handful of entries: newest first.

use std::collections::BTreeMap;

use mesos_codec::json::{to_json, write_json_double, write_json_string};
use mesos_codec::v1::{
    CommandInfo, ContainerStatus, FrameworkInfo, Labels, NetworkInfo, TaskInfo, TaskState, TaskStatus, framework_info,
};

use super::history::{FrameworkHistory, History, TaskHistory};
use super::http::{Request, Response};
use super::master::{FrameworkView, View, is_terminal};
use super::resources::Resources;

/// `build::GIT_SHA` of the official 1.11.0 build (what `/version` of the
/// real master says).
pub const GIT_SHA: &str = "04bc7ee1984d86fbb0bd782ccc69ce44c13ae4b9";
/// `build::DATE`.
pub const BUILD_DATE: &str = "2020-11-24 15:38:37";
/// `build::TIME`.
pub const BUILD_TIME: f64 = 1_606_232_317.0;
/// `build::USER`.
pub const BUILD_USER: &str = "ubuntu";
/// `MESOS_VERSION`.
pub const VERSION: &str = "1.11.0";

/// Where libprocess sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `/master/api/v1/scheduler` (and `/api/v1/scheduler`).
    Scheduler,
    /// `/master/api/v1` (and `/api/v1`): the operator API.
    Operator,
    /// `/version`.
    Version,
    /// `/master/health`.
    Health,
    /// `/master/redirect`.
    Redirect,
    /// `/master/state`.
    State,
    /// `/metrics/snapshot`.
    Metrics,
    /// No handler: `404 Not Found.`.
    NotFound,
    /// A path that does not start with `/`.
    BadPath,
}

/// The processes of a master that the simulator answers for, and their
/// endpoints.
const MASTER: &[(&str, Endpoint)] = &[
    ("api/v1", Endpoint::Operator),
    ("api/v1/scheduler", Endpoint::Scheduler),
    ("health", Endpoint::Health),
    ("redirect", Endpoint::Redirect),
    ("state", Endpoint::State),
];

/// libprocess's routing (`ProcessManager::handle`, `ProcessBase::consume`):
/// the first path segment names a process (`version`, `metrics`); any
/// other path goes to the delegate, the master (`/state` is
/// `/master/state`); within a process, the longest prefix of the rest of
/// the path that is an endpoint handles it (`/master/state/x` is
/// `/master/state`, trailing slashes aside). Returns the endpoint and the
/// path as the handler sees it.
pub(crate) fn route(path: &str) -> (Endpoint, String) {
    if !path.starts_with('/') {
        return (Endpoint::BadPath, path.to_owned());
    }
    if path.contains("/..") {
        return (Endpoint::NotFound, path.to_owned());
    }
    // `ProcessManager::handle`: the first segment, percent-decoded, names
    // the process (`/vers%69on` is `/version`); `ProcessBase::consume`
    // takes that segment as it was off the front of the path, if the path
    // starts with it (`//version` does not: its endpoint is `version`,
    // which the version process does not have), and the slashes around
    // the rest.
    let first = path.split('/').find(|t| !t.is_empty()).unwrap_or("");
    let (process, token, path) = match super::http::http_decode(first).as_deref() {
        Some(process @ ("version" | "metrics" | "master")) => (process.to_owned(), first, path.to_owned()),
        _ => ("master".to_owned(), "master", format!("/master{path}")),
    };
    let rest = path.strip_prefix(&format!("/{token}")).unwrap_or(&path);
    let mut name = rest.trim_start_matches('/').trim_end_matches('/').to_owned();
    let endpoints: &[(&str, Endpoint)] = match process.as_str() {
        "version" => &[("", Endpoint::Version)],
        "metrics" => &[("snapshot", Endpoint::Metrics)],
        _ => MASTER,
    };
    // stout's `Path::dirname`: "a/b" → "a", "a" → ".", "" → ".".
    let dirname = |name: &str| match name.rfind('/') {
        Some(i) => name[..i].to_owned(),
        None => ".".to_owned(),
    };
    while dirname(&name) != name {
        if let Some((_, endpoint)) = endpoints.iter().find(|(n, _)| *n == name) {
            return (*endpoint, path);
        }
        name = dirname(&name);
    }
    (Endpoint::NotFound, path)
}

/// `GET /version` (`src/version/version.cpp`): the build, keys sorted.
pub(crate) fn version(request: &Request) -> Response {
    let mut out = Vec::with_capacity(200);
    let mut w = Json::new(&mut out);
    w.open_object();
    w.key("build_date").string(BUILD_DATE);
    w.key("build_time").double(BUILD_TIME);
    w.key("build_user").string(BUILD_USER);
    w.key("git_sha").string(GIT_SHA);
    w.key("git_tag").string(VERSION);
    w.key("version").string(VERSION);
    w.close_object();
    Response::json(out, request.query("jsonp"))
}

/// `/master/redirect` (`Master::Http::redirect`): to the leading master,
/// this one, as a protocol-relative URL; a path below it is a 404 (no
/// redirect loops).
pub(crate) fn redirect(path: &str, view: &View) -> Response {
    if path != "/master/redirect" {
        return Response::text(404, "404 Not Found.");
    }
    let hostname = view
        .info
        .hostname
        .clone()
        .unwrap_or_else(|| view.info.address.as_ref().and_then(|a| a.ip.clone()).unwrap_or_default());
    Response::redirect(format!("//{hostname}:{}", view.info.port))
}

/// The times and settings the state and the metrics need besides the
/// cluster.
pub(crate) struct Clock {
    /// Unix time the master started (and its agents registered).
    pub start: f64,
    /// Unix time now.
    pub now: f64,
    /// The port the master listens on (its `--port` flag).
    pub port: u16,
    /// Operator API event streams open now.
    pub operator_subscribers: usize,
}

/// A tiny JSON writer with rapidjson's output: compact, doubles and
/// strings by [`mesos_codec::json`].
struct Json<'a> {
    out: &'a mut Vec<u8>,
    /// Per open object or array: how many members or elements so far.
    counts: Vec<usize>,
    /// A key was written: its value comes next, with no separator.
    after_key: bool,
}

impl<'a> Json<'a> {
    fn new(out: &'a mut Vec<u8>) -> Json<'a> {
        Json { out, counts: Vec::new(), after_key: false }
    }

    /// Before a member or an element: the comma that separates it.
    fn element(&mut self) {
        if std::mem::take(&mut self.after_key) {
            return;
        }
        if let Some(count) = self.counts.last_mut() {
            if *count > 0 {
                self.out.push(b',');
            }
            *count += 1;
        }
    }

    fn key(&mut self, key: &str) -> &mut Self {
        self.element();
        write_json_string(key, self.out);
        self.out.push(b':');
        self.after_key = true;
        self
    }

    fn string(&mut self, value: &str) -> &mut Self {
        self.element();
        write_json_string(value, self.out);
        self
    }

    fn double(&mut self, value: f64) -> &mut Self {
        self.element();
        write_json_double(value, self.out);
        self
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.element();
        self.out.extend_from_slice(value.to_string().as_bytes());
        self
    }

    fn bool(&mut self, value: bool) -> &mut Self {
        self.element();
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// A value written elsewhere (`to_json`).
    fn raw(&mut self, json: &[u8]) -> &mut Self {
        self.element();
        self.out.extend_from_slice(json);
        self
    }

    fn open_object(&mut self) {
        self.element();
        self.out.push(b'{');
        self.counts.push(0);
    }

    fn close_object(&mut self) {
        self.counts.pop();
        self.out.push(b'}');
    }

    fn open_array(&mut self) {
        self.element();
        self.out.push(b'[');
        self.counts.push(0);
    }

    fn close_array(&mut self) {
        self.counts.pop();
        self.out.push(b']');
    }

    fn strings<'s>(&mut self, values: impl IntoIterator<Item = &'s str>) {
        self.open_array();
        for v in values {
            self.string(v);
        }
        self.close_array();
    }

    /// `json(writer, Resources)` (src/common/http.cpp): the scalars `cpus`,
    /// `gpus`, `mem`, `disk` always (in the order their hash map gives
    /// them: disk, mem, gpus, cpus), then ranges as `"[b-e, b-e]"`.
    fn resources(&mut self, r: &Resources) {
        self.open_object();
        self.key("disk").double(r.disk());
        self.key("mem").double(r.mem());
        self.key("gpus").double(0.0);
        self.key("cpus").double(r.cpus());
        if !r.ports().is_empty() {
            let ranges: Vec<String> = r.ports().iter().map(|(b, e)| format!("{b}-{e}")).collect();
            self.key("ports").string(&format!("[{}]", ranges.join(", ")));
        }
        self.close_object();
    }
}

/// `JSON::Protobuf(message)`: the message in the master's JSON.
fn protobuf<T: prost::Message + prost::Name>(message: &T) -> Vec<u8> {
    to_json(message).unwrap_or_else(|_| b"{}".to_vec())
}

fn labels(w: &mut Json<'_>, labels: &Labels) {
    w.open_array();
    for label in &labels.labels {
        w.raw(&protobuf(label));
    }
    w.close_array();
}

/// The role a framework's resources are allocated to.
fn role_of(info: &FrameworkInfo) -> String {
    #[allow(deprecated)]
    let role = info.role.clone();
    if multi_role(info) { info.roles.first().cloned() } else { role }.unwrap_or_else(|| "*".into())
}

fn multi_role(info: &FrameworkInfo) -> bool {
    info.capabilities.iter().any(|c| c.r#type() == framework_info::capability::Type::MultiRole)
}

/// The master's `/master/state`, keys in `ReadOnlyHandler::state`'s order.
pub(crate) fn state(request: &Request, view: &View, history: &History, clock: &Clock) -> Response {
    let mut out = Vec::with_capacity(8192);
    let mut w = Json::new(&mut out);
    let info = &view.info;
    let hostname = info.hostname.clone().unwrap_or_default();
    let pid = info.pid.clone().unwrap_or_default();
    w.open_object();
    w.key("version").string(VERSION);
    w.key("git_sha").string(GIT_SHA);
    w.key("git_tag").string(VERSION);
    w.key("build_date").string(BUILD_DATE);
    w.key("build_time").double(BUILD_TIME);
    w.key("build_user").string(BUILD_USER);
    w.key("start_time").double(clock.start);
    w.key("elected_time").double(clock.start);
    w.key("id").string(&info.id);
    w.key("pid").string(&pid);
    w.key("hostname").string(&hostname);
    w.key("capabilities").strings(["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"]);
    w.key("activated_slaves").double(view.agents.len() as f64);
    w.key("deactivated_slaves").double(0.0);
    w.key("unreachable_slaves").double(0.0);
    w.key("leader").string(&pid);
    w.key("leader_info");
    w.open_object();
    w.key("id").string(&info.id);
    w.key("pid").string(&pid);
    w.key("port").int(i64::from(info.port));
    w.key("hostname").string(&hostname);
    w.close_object();
    w.key("flags");
    w.open_object();
    for (name, value) in flag_values(clock) {
        w.key(&name).string(&value);
    }
    w.close_object();
    w.key("slaves");
    w.open_array();
    for (n, agent) in view.agents.iter().enumerate().rev() {
        w.open_object();
        w.key("id").string(&agent.id);
        w.key("hostname").string(&agent.hostname);
        w.key("port").int(i64::from(view.info.port));
        w.key("attributes");
        w.open_object();
        w.close_object();
        w.key("pid").string(&agent_pid(view, n));
        w.key("registered_time").double(clock.start);
        w.key("resources");
        w.resources(&agent.total);
        w.key("used_resources");
        w.resources(&agent.used);
        w.key("offered_resources");
        w.resources(&agent.offered);
        w.key("reserved_resources");
        w.open_object();
        w.close_object();
        w.key("unreserved_resources");
        w.resources(&agent.total);
        w.key("active").bool(true);
        w.key("deactivated").bool(false);
        w.key("version").string(VERSION);
        w.key("capabilities").strings(AGENT_CAPABILITIES.iter().copied());
        w.close_object();
    }
    w.close_array();
    w.key("recovered_slaves");
    w.open_array();
    w.close_array();
    w.key("frameworks");
    w.open_array();
    for f in view.frameworks.iter().rev().filter(|f| !f.removed) {
        framework(&mut w, f, history.framework(&f.id), clock);
    }
    w.close_array();
    w.key("completed_frameworks");
    w.open_array();
    for &n in &history.completed {
        let past = &history.frameworks[n];
        if let Some(f) = view.frameworks.iter().find(|f| f.id == past.id && f.removed) {
            framework(&mut w, f, Some(past), clock);
        }
    }
    w.close_array();
    w.key("orphan_tasks");
    w.open_array();
    w.close_array();
    w.key("unregistered_frameworks");
    w.open_array();
    w.close_array();
    w.close_object();
    Response::json(out, request.query("jsonp"))
}

/// Agent `n`'s pid: the agents live in the master's process, as
/// `mesos-local`'s do (and as the offers' URLs say), `slave(1)` first.
pub(crate) fn agent_pid(view: &View, n: usize) -> String {
    let ip = view.agents.get(n).map_or("", |a| a.ip.as_str());
    format!("slave({})@{ip}:{}", n + 1, view.info.port)
}

/// A 1.11.0 agent's capabilities, as a master lists them.
pub(crate) const AGENT_CAPABILITIES: &[&str] = &[
    "MULTI_ROLE",
    "HIERARCHICAL_ROLE",
    "RESERVATION_REFINEMENT",
    "RESOURCE_PROVIDER",
    "RESIZE_VOLUME",
    "AGENT_OPERATION_FEEDBACK",
    "AGENT_DRAINING",
    "TASK_RESOURCE_LIMITS",
];

/// The master's flags, as `cargo xtask real-master` starts one (sorted by
/// name, as the flags' map gives them). `port` is the simulator's own;
/// `work_dir` the default's.
const FLAGS: &[(&str, &str)] = &[
    ("agent_ping_timeout", "15secs"),
    ("agent_reregister_timeout", "10mins"),
    ("allocation_interval", "1secs"),
    ("allocator", "hierarchical"),
    ("allocator_agent_recovery_factor", "0.8"),
    ("allocator_recovery_timeout", "10mins"),
    ("authenticate_agents", "false"),
    ("authenticate_frameworks", "false"),
    ("authenticate_http_frameworks", "false"),
    ("authenticate_http_readonly", "false"),
    ("authenticate_http_readwrite", "false"),
    ("authentication_v0_timeout", "15secs"),
    ("authenticators", "crammd5"),
    ("authorizers", "local"),
    ("filter_gpu_resources", "true"),
    ("framework_sorter", "drf"),
    ("help", "false"),
    ("hostname_lookup", "true"),
    ("http_authenticators", "basic"),
    ("initialize_driver_logging", "true"),
    ("log_auto_initialize", "true"),
    ("logbufsecs", "0"),
    ("logging_level", "INFO"),
    ("max_agent_ping_timeouts", "5"),
    ("max_completed_frameworks", "50"),
    ("max_completed_tasks_per_framework", "1000"),
    ("max_operator_event_stream_subscribers", "1000"),
    ("max_unreachable_tasks_per_framework", "1000"),
    ("memory_profiling", "false"),
    ("min_allocatable_resources", "cpus:0.01|mem:32"),
    ("offer_constraints_re2_max_mem", "4KB"),
    ("offer_constraints_re2_max_program_size", "100"),
    ("port", "5050"),
    ("publish_per_framework_metrics", "true"),
    ("quiet", "false"),
    ("recovery_agent_removal_limit", "100%"),
    ("registry", "in_memory"),
    ("registry_fetch_timeout", "1mins"),
    ("registry_gc_interval", "15mins"),
    ("registry_max_agent_age", "2weeks"),
    ("registry_max_agent_count", "102400"),
    ("registry_store_timeout", "20secs"),
    ("registry_strict", "false"),
    ("require_agent_domain", "false"),
    ("role_sorter", "drf"),
    ("root_submissions", "true"),
    ("version", "false"),
    ("webui_dir", "/usr/share/mesos/webui"),
    ("work_dir", "/var/lib/mesos/master"),
    ("zk_session_timeout", "10secs"),
];

/// The master's flags and their values, sorted by name ([`FLAGS`], with
/// the simulator's own port).
pub(crate) fn flag_values(clock: &Clock) -> Vec<(String, String)> {
    FLAGS
        .iter()
        .map(|(name, value)| {
            let value = if *name == "port" { clock.port.to_string() } else { (*value).to_owned() };
            ((*name).to_owned(), value)
        })
        .collect()
}

/// `FullFrameworkWriter` (src/master/readonly_handler.cpp).
fn framework(w: &mut Json<'_>, f: &FrameworkView, past: Option<&FrameworkHistory>, clock: &Clock) {
    let info = &f.info;
    let live: Vec<&TaskHistory> = past.map(|p| p.tasks.iter().rev().collect()).unwrap_or_default();
    let mut used = Resources::default();
    for t in live.iter().filter(|t| !is_terminal(t.state)) {
        used.add_all(&t.resources);
    }
    let offered = match past {
        Some(p) => p.offered.clone(),
        None => {
            let mut offered = Resources::default();
            for o in &f.offers {
                offered.add_all(&o.resources);
            }
            offered
        }
    };
    let connected = f.connected && !f.removed;
    let registered = past.map_or(clock.start, |p| p.registered);
    let reregistered = past.map_or(registered, |p| p.reregistered);
    w.open_object();
    w.key("id").string(&f.id);
    w.key("name").string(&info.name);
    w.key("used_resources");
    w.resources(&used);
    w.key("offered_resources");
    w.resources(&offered);
    w.key("capabilities");
    w.open_array();
    for c in &info.capabilities {
        let name = framework_info::capability::Type::try_from(c.r#type.unwrap_or(0)).map_or("", |t| t.as_str_name());
        w.string(name);
    }
    w.close_array();
    w.key("hostname").string(info.hostname.as_deref().unwrap_or(""));
    w.key("webui_url").string(info.webui_url.as_deref().unwrap_or(""));
    w.key("active").bool(connected);
    w.key("connected").bool(connected);
    w.key("recovered").bool(false);
    w.key("user").string(&info.user);
    w.key("failover_timeout").double(info.failover_timeout.unwrap_or(0.0));
    w.key("checkpoint").bool(info.checkpoint.unwrap_or(false));
    w.key("registered_time").double(registered);
    w.key("unregistered_time").double(past.and_then(|p| p.unregistered).unwrap_or(0.0));
    if let Some(principal) = &info.principal {
        w.key("principal").string(principal);
    }
    let mut total = used.clone();
    total.add_all(&offered);
    w.key("resources");
    w.resources(&total);
    if reregistered != registered {
        w.key("reregistered_time").double(reregistered);
    }
    if multi_role(info) {
        w.key("roles").strings(info.roles.iter().map(String::as_str));
    } else {
        w.key("role").string(&role_of(info));
    }
    let role = role_of(info);
    w.key("tasks");
    w.open_array();
    for t in &live {
        task(w, t, &f.id, &role);
    }
    w.close_array();
    w.key("unreachable_tasks");
    w.open_array();
    w.close_array();
    w.key("completed_tasks");
    w.open_array();
    for t in past.map(|p| p.completed_tasks.as_slice()).unwrap_or_default() {
        task(w, t, &f.id, &role);
    }
    w.close_array();
    w.key("offers");
    w.open_array();
    for o in f.offers.iter().rev() {
        w.open_object();
        w.key("id").string(&o.id);
        w.key("framework_id").string(&f.id);
        w.key("allocation_info");
        w.open_object();
        w.key("role").string(&role);
        w.close_object();
        w.key("slave_id").string(&o.agent_id);
        w.key("resources");
        w.resources(&o.resources);
        w.close_object();
    }
    w.close_array();
    w.key("executors");
    w.open_array();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for t in &live {
        let Some(executor) = &t.info.executor else { continue };
        if seen.contains(&(t.agent_id.as_str(), executor.executor_id.value.as_str())) {
            continue;
        }
        seen.push((t.agent_id.as_str(), executor.executor_id.value.as_str()));
        w.open_object();
        w.key("executor_id").string(&executor.executor_id.value);
        w.key("name").string(executor.name.as_deref().unwrap_or(""));
        w.key("framework_id").string(&f.id);
        w.key("command");
        command(w, &executor.command.clone().unwrap_or_default());
        let resources = Resources::from_proto(&executor.resources).unwrap_or_default();
        w.key("resources");
        w.resources(&resources);
        if !executor.resources.is_empty() {
            w.key("role").string(&role);
        }
        if let Some(l) = &executor.labels {
            w.key("labels");
            labels(w, l);
        }
        if let Some(ty) = executor.r#type {
            let name = mesos_codec::v1::executor_info::Type::try_from(ty).map_or("UNKNOWN", |t| t.as_str_name());
            w.key("type").string(name);
        }
        w.key("slave_id").string(&t.agent_id);
        w.close_object();
    }
    w.close_array();
    if let Some(l) = &info.labels {
        w.key("labels");
        labels(w, l);
    }
    w.key("offer_constraints");
    w.open_object();
    w.close_object();
    w.close_object();
}

/// `json(writer, CommandInfo)`.
fn command(w: &mut Json<'_>, c: &CommandInfo) {
    w.open_object();
    if let Some(shell) = c.shell {
        w.key("shell").bool(shell);
    }
    if let Some(value) = &c.value {
        w.key("value").string(value);
    }
    w.key("argv").strings(c.arguments.iter().map(String::as_str));
    if let Some(env) = &c.environment {
        w.key("environment").raw(&protobuf(env));
    }
    w.key("uris");
    w.open_array();
    for uri in &c.uris {
        w.open_object();
        w.key("value").string(&uri.value);
        w.key("executable").bool(uri.executable.unwrap_or(false));
        w.close_object();
    }
    w.close_array();
    w.close_object();
}

/// `json(writer, Task)` (src/common/http.cpp).
fn task(w: &mut Json<'_>, t: &TaskHistory, framework_id: &str, role: &str) {
    let info: &TaskInfo = &t.info;
    w.open_object();
    w.key("id").string(&info.task_id.value);
    w.key("name").string(&info.name);
    w.key("framework_id").string(framework_id);
    let executor_id = info.executor.as_ref().map_or("", |e| e.executor_id.value.as_str());
    w.key("executor_id").string(executor_id);
    w.key("slave_id").string(&t.agent_id);
    w.key("state").string(t.state.as_str_name());
    w.key("resources");
    w.resources(&t.resources);
    if !info.limits.is_empty() {
        w.key("limits");
        w.open_object();
        for (name, value) in &info.limits {
            w.key(name).double(value.value);
        }
        w.close_object();
    }
    w.key("role").string(role);
    w.key("statuses");
    w.open_array();
    for s in &t.statuses {
        status(w, s);
    }
    w.close_array();
    if let Some(user) = info.command.as_ref().and_then(|c| c.user.as_deref()) {
        w.key("user").string(user);
    }
    if let Some(l) = &info.labels {
        w.key("labels");
        labels(w, l);
    }
    if let Some(d) = &info.discovery {
        w.key("discovery").raw(&protobuf(d));
    }
    if let Some(c) = &info.container {
        w.key("container").raw(&protobuf(c));
    }
    if let Some(h) = &info.health_check {
        w.key("health_check").raw(&protobuf(h));
    }
    w.close_object();
}

/// `json(writer, TaskStatus)`.
fn status(w: &mut Json<'_>, s: &TaskStatus) {
    w.open_object();
    w.key("state").string(s.state().as_str_name());
    w.key("timestamp").double(s.timestamp.unwrap_or(0.0));
    if let Some(l) = &s.labels {
        w.key("labels");
        labels(w, l);
    }
    if let Some(c) = &s.container_status {
        w.key("container_status");
        container_status(w, c);
    }
    if let Some(healthy) = s.healthy {
        w.key("healthy").bool(healthy);
    }
    w.close_object();
}

fn container_status(w: &mut Json<'_>, c: &ContainerStatus) {
    w.open_object();
    if let Some(id) = &c.container_id {
        w.key("container_id").raw(&protobuf(id));
    }
    if !c.network_infos.is_empty() {
        w.key("network_infos");
        w.open_array();
        for n in &c.network_infos {
            network_info(w, n);
        }
        w.close_array();
    }
    if let Some(cgroup) = &c.cgroup_info {
        w.key("cgroup_info").raw(&protobuf(cgroup));
    }
    w.close_object();
}

fn network_info(w: &mut Json<'_>, n: &NetworkInfo) {
    w.open_object();
    if !n.groups.is_empty() {
        w.key("groups").strings(n.groups.iter().map(String::as_str));
    }
    if let Some(l) = &n.labels {
        w.key("labels");
        labels(w, l);
    }
    if !n.ip_addresses.is_empty() {
        w.key("ip_addresses");
        w.open_array();
        for ip in &n.ip_addresses {
            w.raw(&protobuf(ip));
        }
        w.close_array();
    }
    if let Some(name) = &n.name {
        w.key("name").string(name);
    }
    if !n.port_mappings.is_empty() {
        w.key("port_mappings");
        w.open_array();
        for p in &n.port_mappings {
            w.raw(&protobuf(p));
        }
        w.close_array();
    }
    w.close_object();
}

/// libprocess's `http::encode` (a framework's name in its metrics' keys).
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &c in text.as_bytes() {
        let reserved = b"$&+,/:;=?@ \"<>#%{}|\\^~[]`".contains(&c);
        if reserved || !(0x20..=0x7f).contains(&c) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

const CALLS: &[&str] = &[
    "accept",
    "accept_inverse_offers",
    "acknowledge",
    "acknowledge_operation_status",
    "decline",
    "decline_inverse_offers",
    "kill",
    "message",
    "reconcile",
    "reconcile_operations",
    "request",
    "revive",
    "shutdown",
    "subscribe",
    "suppress",
    "teardown",
    "update_framework",
];

const EVENTS: &[&str] = &[
    "error",
    "failure",
    "heartbeat",
    "inverse_offers",
    "message",
    "offers",
    "rescind",
    "rescind_inverse_offer",
    "subscribed",
    "update",
    "update_operation_status",
];

const OPERATIONS: &[&str] = &[
    "create",
    "create_disk",
    "destroy",
    "destroy_disk",
    "grow_volume",
    "launch",
    "launch_group",
    "reserve",
    "shrink_volume",
    "unreserve",
];

/// `/metrics/snapshot`: every metric of a 1.11.0 master running its two
/// agents in its own process, as `cargo xtask real-master` starts one
/// (the `slave/*` metrics are its first agent's), keys sorted.
pub(crate) fn metrics(request: &Request, view: &View, history: &History, clock: &Clock) -> Response {
    let m = metric_values(view, history, clock);
    let mut out = Vec::with_capacity(m.len() * 60);
    let mut w = Json::new(&mut out);
    w.open_object();
    for (k, v) in &m {
        w.key(k).double(*v);
    }
    w.close_object();
    Response::json(out, request.query("jsonp"))
}

/// Every metric and its value, by name (what `/metrics/snapshot` and the
/// operator API's GET_METRICS say).
pub(crate) fn metric_values(view: &View, history: &History, clock: &Clock) -> BTreeMap<String, f64> {
    let mut m: BTreeMap<String, f64> = BASE_METRICS.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    let mut set = |k: &str, v: f64| {
        m.insert(k.to_owned(), v);
    };
    let agents = view.agents.len() as f64;
    let mut total = Resources::default();
    let mut used = Resources::default();
    let mut offered = Resources::default();
    for a in &view.agents {
        total.add_all(&a.total);
        used.add_all(&a.used);
        offered.add_all(&a.offered);
    }
    let percent = |part: f64, whole: f64| if whole > 0.0 { part / whole } else { 0.0 };
    for (name, t, u, o) in [
        ("cpus", total.cpus(), used.cpus(), offered.cpus()),
        ("mem", total.mem(), used.mem(), offered.mem()),
        ("disk", total.disk(), used.disk(), offered.disk()),
    ] {
        set(&format!("master/{name}_total"), t);
        set(&format!("master/{name}_used"), u);
        set(&format!("master/{name}_percent"), percent(u, t));
        set(&format!("allocator/mesos/resources/{name}/total"), t);
        set(&format!("allocator/mesos/resources/{name}/offered_or_allocated"), u + o);
    }
    for name in
        ["slave_registrations", "slaves_active", "slaves_connected", "messages_register_slave", "messages_update_slave"]
    {
        set(&format!("master/{name}"), agents);
    }
    let live = view.frameworks.iter().filter(|f| !f.removed);
    let connected = live.clone().filter(|f| f.connected).count() as f64;
    let disconnected = live.clone().filter(|f| !f.connected).count() as f64;
    set("master/frameworks_active", connected);
    set("master/frameworks_connected", connected);
    set("master/frameworks_disconnected", disconnected);
    set("master/frameworks_inactive", disconnected);
    set("master/outstanding_offers", view.frameworks.iter().map(|f| f.offers.len()).sum::<usize>() as f64);
    set("master/uptime_secs", clock.now - clock.start);
    for (name, count) in &history.counters {
        set(&format!("master/{name}"), *count as f64);
    }
    // Active tasks by state, master-wide and on the first agent.
    let tasks: Vec<&TaskHistory> = history.frameworks.iter().flat_map(|f| f.tasks.iter()).collect();
    let first_agent = view.agents.first().map(|a| a.id.as_str()).unwrap_or_default();
    for (name, state) in [
        ("staging", TaskState::TaskStaging),
        ("starting", TaskState::TaskStarting),
        ("running", TaskState::TaskRunning),
        ("killing", TaskState::TaskKilling),
        ("unreachable", TaskState::TaskUnreachable),
    ] {
        set(&format!("master/tasks_{name}"), tasks.iter().filter(|t| t.state == state).count() as f64);
        if name != "unreachable" {
            let here = tasks.iter().filter(|t| t.state == state && t.agent_id == first_agent).count();
            set(&format!("slave/tasks_{name}"), here as f64);
        }
    }
    if let Some(agent) = view.agents.first() {
        // The agent counts its command executors too (0.1 cpus, 32 MB
        // each: `DEFAULT_EXECUTOR_CPUS`, `DEFAULT_EXECUTOR_MEM`).
        let on_agent: Vec<&&TaskHistory> = tasks.iter().filter(|t| t.agent_id == agent.id).collect();
        let executors = on_agent.iter().filter(|t| !is_terminal(t.state) && t.info.executor.is_none()).count() as f64;
        let updates: usize = on_agent.iter().map(|t| t.statuses.iter().filter(|s| s.uuid.is_some()).count()).sum();
        let completed =
            history.frameworks.iter().flat_map(|f| f.completed_tasks.iter()).filter(|t| t.agent_id == agent.id);
        let forgotten = history.forgotten.get(&agent.id).cloned().unwrap_or_default();
        let updates = updates
            + forgotten.updates
            + completed.clone().map(|t| t.statuses.iter().filter(|s| s.uuid.is_some()).count()).sum::<usize>();
        set("slave/valid_status_updates", updates as f64);
        // Tasks that ended there, by state; each took its executor along.
        for (name, state) in [
            ("finished", TaskState::TaskFinished),
            ("failed", TaskState::TaskFailed),
            ("killed", TaskState::TaskKilled),
            ("lost", TaskState::TaskLost),
            ("gone", TaskState::TaskGone),
        ] {
            let live = on_agent.iter().filter(|t| t.state == state).count();
            let ended = completed.clone().filter(|t| t.state == state).count()
                + forgotten.ended.get(&state).copied().unwrap_or(0);
            set(&format!("slave/tasks_{name}"), (live + ended) as f64);
        }
        let ended = completed.count() + forgotten.tasks();
        set("slave/executors_terminated", ended as f64);
        set("containerizer/fetcher/task_fetches_succeeded", (on_agent.len() + ended) as f64);
        for (name, t, u) in [
            ("cpus", agent.total.cpus(), agent.used.cpus() + 0.1 * executors),
            ("mem", agent.total.mem(), agent.used.mem() + 32.0 * executors),
            ("disk", agent.total.disk(), agent.used.disk()),
        ] {
            set(&format!("slave/{name}_total"), t);
            set(&format!("slave/{name}_used"), u);
            set(&format!("slave/{name}_percent"), percent(u, t));
        }
        let here = tasks.iter().filter(|t| t.agent_id == agent.id && !is_terminal(t.state)).count();
        set("slave/executors_running", here as f64);
        let frameworks = history
            .frameworks
            .iter()
            .filter(|f| f.tasks.iter().any(|t| t.agent_id == agent.id && !is_terminal(t.state)))
            .count();
        set("slave/frameworks_active", frameworks as f64);
        set("slave/uptime_secs", clock.now - clock.start);
    }
    set("system/cpus_total", 2.0);
    // Roles with frameworks: their dominant share and active filters.
    let mut roles: BTreeMap<String, (Resources, usize)> = BTreeMap::new();
    for f in view.frameworks.iter().filter(|f| !f.removed) {
        let entry = roles.entry(role_of(&f.info)).or_default();
        for o in &f.offers {
            entry.0.add_all(&o.resources);
        }
        if let Some(past) = history.framework(&f.id) {
            for t in past.tasks.iter().filter(|t| !is_terminal(t.state)) {
                entry.0.add_all(&t.resources);
            }
        }
        entry.1 += f.filters;
    }
    // Quota consumption (what tasks use) of each role with tasks, and of
    // the root of the role tree, "".
    let mut consumed: BTreeMap<String, Resources> = BTreeMap::new();
    for f in view.frameworks.iter().filter(|f| !f.removed) {
        let Some(past) = history.framework(&f.id) else { continue };
        for t in past.tasks.iter().filter(|t| !is_terminal(t.state)) {
            consumed.entry(role_of(&f.info)).or_default().add_all(&t.resources);
            consumed.entry(String::new()).or_default().add_all(&t.resources);
        }
    }
    for (role, used) in &consumed {
        for (name, amount) in [("cpus", used.cpus()), ("mem", used.mem()), ("disk", used.disk())] {
            if amount > 0.0 {
                set(&format!("allocator/mesos/quota/roles/{role}/resources/{name}/consumed"), amount);
            }
        }
    }
    for (role, (held, filters)) in &roles {
        let share = percent(held.cpus(), total.cpus())
            .max(percent(held.mem(), total.mem()))
            .max(percent(held.disk(), total.disk()));
        set(&format!("allocator/mesos/roles/{role}/shares/dominant"), share);
        set(&format!("allocator/mesos/offer_filters/roles/{role}/active"), *filters as f64);
    }
    // A principal's message counters (of driver-based frameworks; an HTTP
    // framework's principal has them too, at zero, for good).
    for principal in history.frameworks.iter().filter_map(|f| f.principal.as_deref()) {
        set(&format!("frameworks/{principal}/messages_processed"), 0.0);
        set(&format!("frameworks/{principal}/messages_received"), 0.0);
    }
    for past in history.frameworks.iter().filter(|f| !f.forgotten) {
        let prefix = format!("master/frameworks/{}/{}/", url_encode(&past.name), past.id);
        let f = view.frameworks.iter().find(|f| f.id == past.id);
        let calls: u64 = past.calls.values().sum();
        set(&format!("{prefix}calls"), calls as f64);
        for call in CALLS {
            set(&format!("{prefix}calls/{call}"), past.calls.get(*call).copied().unwrap_or(0) as f64);
        }
        let events: u64 = past.events.values().sum();
        set(&format!("{prefix}events"), events as f64);
        for event in EVENTS {
            set(&format!("{prefix}events/{event}"), past.events.get(*event).copied().unwrap_or(0) as f64);
        }
        set(&format!("{prefix}offers/accepted"), past.offers_accepted as f64);
        set(&format!("{prefix}offers/declined"), past.offers_declined as f64);
        set(&format!("{prefix}offers/rescinded"), past.offers_rescinded as f64);
        set(&format!("{prefix}offers/sent"), past.offers_sent as f64);
        set(&format!("{prefix}operations"), past.launches as f64);
        for op in OPERATIONS {
            let n = if *op == "launch" { past.launches } else { 0 };
            set(&format!("{prefix}operations/{op}"), n as f64);
        }
        let suppressed = f.is_some_and(|f| f.suppressed && !f.removed);
        for role in &past.roles {
            set(&format!("{prefix}roles/{role}/suppressed"), if suppressed { 1.0 } else { 0.0 });
        }
        let subscribed = f.is_some_and(|f| f.connected && !f.removed);
        set(&format!("{prefix}subscribed"), if subscribed { 1.0 } else { 0.0 });
        for (name, state) in [
            ("killing", TaskState::TaskKilling),
            ("running", TaskState::TaskRunning),
            ("staging", TaskState::TaskStaging),
            ("starting", TaskState::TaskStarting),
            ("unknown", TaskState::TaskUnknown),
            ("unreachable", TaskState::TaskUnreachable),
        ] {
            let n = past.tasks.iter().filter(|t| t.state == state).count();
            set(&format!("{prefix}tasks/active/task_{name}"), n as f64);
        }
        for (name, state) in [
            ("dropped", TaskState::TaskDropped),
            ("error", TaskState::TaskError),
            ("failed", TaskState::TaskFailed),
            ("finished", TaskState::TaskFinished),
            ("gone", TaskState::TaskGone),
            ("gone_by_operator", TaskState::TaskGoneByOperator),
            ("killed", TaskState::TaskKilled),
            ("lost", TaskState::TaskLost),
        ] {
            let n = past.terminal.get(&state).copied().unwrap_or(0);
            set(&format!("{prefix}tasks/terminal/task_{name}"), n as f64);
        }
    }
    m.insert("master/operator_event_stream_subscribers".into(), clock.operator_subscribers as f64);
    m
}

/// Every metric a freshly started 1.11.0 master (with its two agents in
/// its own process) has, with its value then: the counters and gauges
/// that follow the cluster are set from it by [`metrics`]; the rest
/// (timings, the machine's load and memory, the registry) keep these.
const BASE_METRICS: &[(&str, f64)] = &[
    ("allocator/event_queue_dispatches", 0.0),
    ("allocator/mesos/allocation_run_latency_ms", 0.006144),
    ("allocator/mesos/allocation_run_latency_ms/count", 35.0),
    ("allocator/mesos/allocation_run_latency_ms/max", 0.01408),
    ("allocator/mesos/allocation_run_latency_ms/min", 0.00384),
    ("allocator/mesos/allocation_run_latency_ms/p50", 0.007168),
    ("allocator/mesos/allocation_run_latency_ms/p90", 0.00896),
    ("allocator/mesos/allocation_run_latency_ms/p95", 0.009984),
    ("allocator/mesos/allocation_run_latency_ms/p99", 0.012687359999999986),
    ("allocator/mesos/allocation_run_latency_ms/p999", 0.013940736000000006),
    ("allocator/mesos/allocation_run_latency_ms/p9999", 0.014066073600000003),
    ("allocator/mesos/allocation_run_ms", 0.013056),
    ("allocator/mesos/allocation_run_ms/count", 35.0),
    ("allocator/mesos/allocation_run_ms/max", 0.020992),
    ("allocator/mesos/allocation_run_ms/min", 0.012032),
    ("allocator/mesos/allocation_run_ms/p50", 0.01408),
    ("allocator/mesos/allocation_run_ms/p90", 0.017305600000000004),
    ("allocator/mesos/allocation_run_ms/p95", 0.019251199999999996),
    ("allocator/mesos/allocation_run_ms/p99", 0.020643839999999997),
    ("allocator/mesos/allocation_run_ms/p999", 0.020957184),
    ("allocator/mesos/allocation_run_ms/p9999", 0.0209885184),
    ("allocator/mesos/allocation_runs", 35.0),
    ("allocator/mesos/event_queue_dispatches", 0.0),
    ("allocator/mesos/resources/cpus/offered_or_allocated", 0.0),
    ("allocator/mesos/resources/cpus/total", 4.0),
    ("allocator/mesos/resources/disk/offered_or_allocated", 0.0),
    ("allocator/mesos/resources/disk/total", 61018.0),
    ("allocator/mesos/resources/mem/offered_or_allocated", 0.0),
    ("allocator/mesos/resources/mem/total", 1992.0),
    ("containerizer/fetcher/cache_size_total_bytes", 2147483648.0),
    ("containerizer/fetcher/cache_size_used_bytes", 0.0),
    ("containerizer/fetcher/task_fetches_failed", 0.0),
    ("containerizer/fetcher/task_fetches_succeeded", 0.0),
    ("containerizer/mesos/container_destroy_errors", 0.0),
    ("containerizer/mesos/provisioner/bind/remove_rootfs_errors", 0.0),
    ("containerizer/mesos/provisioner/remove_container_errors", 0.0),
    ("gc/path_removals_failed", 0.0),
    ("gc/path_removals_pending", 0.0),
    ("gc/path_removals_succeeded", 0.0),
    ("master/cpus_percent", 0.0),
    ("master/cpus_revocable_percent", 0.0),
    ("master/cpus_revocable_total", 0.0),
    ("master/cpus_revocable_used", 0.0),
    ("master/cpus_total", 4.0),
    ("master/cpus_used", 0.0),
    ("master/disk_percent", 0.0),
    ("master/disk_revocable_percent", 0.0),
    ("master/disk_revocable_total", 0.0),
    ("master/disk_revocable_used", 0.0),
    ("master/disk_total", 61018.0),
    ("master/disk_used", 0.0),
    ("master/dropped_messages", 0.0),
    ("master/elected", 1.0),
    ("master/event_queue_dispatches", 0.0),
    ("master/event_queue_http_requests", 0.0),
    ("master/event_queue_messages", 0.0),
    ("master/frameworks_active", 0.0),
    ("master/frameworks_connected", 0.0),
    ("master/frameworks_disconnected", 0.0),
    ("master/frameworks_inactive", 0.0),
    ("master/gpus_percent", 0.0),
    ("master/gpus_revocable_percent", 0.0),
    ("master/gpus_revocable_total", 0.0),
    ("master/gpus_revocable_used", 0.0),
    ("master/gpus_total", 0.0),
    ("master/gpus_used", 0.0),
    ("master/http_cache_hits", 0.0),
    ("master/invalid_executor_to_framework_messages", 0.0),
    ("master/invalid_framework_to_executor_messages", 0.0),
    ("master/invalid_operation_status_update_acknowledgements", 0.0),
    ("master/invalid_operation_status_updates", 0.0),
    ("master/invalid_status_update_acknowledgements", 0.0),
    ("master/invalid_status_updates", 0.0),
    ("master/mem_percent", 0.0),
    ("master/mem_revocable_percent", 0.0),
    ("master/mem_revocable_total", 0.0),
    ("master/mem_revocable_used", 0.0),
    ("master/mem_total", 1992.0),
    ("master/mem_used", 0.0),
    ("master/messages_authenticate", 0.0),
    ("master/messages_deactivate_framework", 0.0),
    ("master/messages_decline_offers", 0.0),
    ("master/messages_executor_to_framework", 0.0),
    ("master/messages_exited_executor", 0.0),
    ("master/messages_framework_to_executor", 0.0),
    ("master/messages_kill_task", 0.0),
    ("master/messages_launch_tasks", 0.0),
    ("master/messages_operation_status_update", 0.0),
    ("master/messages_operation_status_update_acknowledgement", 0.0),
    ("master/messages_reconcile_operations", 0.0),
    ("master/messages_reconcile_tasks", 0.0),
    ("master/messages_register_framework", 0.0),
    ("master/messages_register_slave", 2.0),
    ("master/messages_reregister_framework", 0.0),
    ("master/messages_reregister_slave", 0.0),
    ("master/messages_resource_request", 0.0),
    ("master/messages_revive_offers", 0.0),
    ("master/messages_status_update", 0.0),
    ("master/messages_status_update_acknowledgement", 0.0),
    ("master/messages_suppress_offers", 0.0),
    ("master/messages_unregister_framework", 0.0),
    ("master/messages_unregister_slave", 0.0),
    ("master/messages_update_slave", 2.0),
    ("master/operations/create/dropped", 0.0),
    ("master/operations/create/error", 0.0),
    ("master/operations/create/failed", 0.0),
    ("master/operations/create/finished", 0.0),
    ("master/operations/create/gone_by_operator", 0.0),
    ("master/operations/create/pending", 0.0),
    ("master/operations/create/recovering", 0.0),
    ("master/operations/create/total", 0.0),
    ("master/operations/create/unreachable", 0.0),
    ("master/operations/create_disk/dropped", 0.0),
    ("master/operations/create_disk/error", 0.0),
    ("master/operations/create_disk/failed", 0.0),
    ("master/operations/create_disk/finished", 0.0),
    ("master/operations/create_disk/gone_by_operator", 0.0),
    ("master/operations/create_disk/pending", 0.0),
    ("master/operations/create_disk/recovering", 0.0),
    ("master/operations/create_disk/total", 0.0),
    ("master/operations/create_disk/unreachable", 0.0),
    ("master/operations/destroy/dropped", 0.0),
    ("master/operations/destroy/error", 0.0),
    ("master/operations/destroy/failed", 0.0),
    ("master/operations/destroy/finished", 0.0),
    ("master/operations/destroy/gone_by_operator", 0.0),
    ("master/operations/destroy/pending", 0.0),
    ("master/operations/destroy/recovering", 0.0),
    ("master/operations/destroy/total", 0.0),
    ("master/operations/destroy/unreachable", 0.0),
    ("master/operations/destroy_disk/dropped", 0.0),
    ("master/operations/destroy_disk/error", 0.0),
    ("master/operations/destroy_disk/failed", 0.0),
    ("master/operations/destroy_disk/finished", 0.0),
    ("master/operations/destroy_disk/gone_by_operator", 0.0),
    ("master/operations/destroy_disk/pending", 0.0),
    ("master/operations/destroy_disk/recovering", 0.0),
    ("master/operations/destroy_disk/total", 0.0),
    ("master/operations/destroy_disk/unreachable", 0.0),
    ("master/operations/dropped", 0.0),
    ("master/operations/error", 0.0),
    ("master/operations/failed", 0.0),
    ("master/operations/finished", 0.0),
    ("master/operations/gone_by_operator", 0.0),
    ("master/operations/grow_volume/dropped", 0.0),
    ("master/operations/grow_volume/error", 0.0),
    ("master/operations/grow_volume/failed", 0.0),
    ("master/operations/grow_volume/finished", 0.0),
    ("master/operations/grow_volume/gone_by_operator", 0.0),
    ("master/operations/grow_volume/pending", 0.0),
    ("master/operations/grow_volume/recovering", 0.0),
    ("master/operations/grow_volume/total", 0.0),
    ("master/operations/grow_volume/unreachable", 0.0),
    ("master/operations/pending", 0.0),
    ("master/operations/recovering", 0.0),
    ("master/operations/reserve/dropped", 0.0),
    ("master/operations/reserve/error", 0.0),
    ("master/operations/reserve/failed", 0.0),
    ("master/operations/reserve/finished", 0.0),
    ("master/operations/reserve/gone_by_operator", 0.0),
    ("master/operations/reserve/pending", 0.0),
    ("master/operations/reserve/recovering", 0.0),
    ("master/operations/reserve/total", 0.0),
    ("master/operations/reserve/unreachable", 0.0),
    ("master/operations/shrink_volume/dropped", 0.0),
    ("master/operations/shrink_volume/error", 0.0),
    ("master/operations/shrink_volume/failed", 0.0),
    ("master/operations/shrink_volume/finished", 0.0),
    ("master/operations/shrink_volume/gone_by_operator", 0.0),
    ("master/operations/shrink_volume/pending", 0.0),
    ("master/operations/shrink_volume/recovering", 0.0),
    ("master/operations/shrink_volume/total", 0.0),
    ("master/operations/shrink_volume/unreachable", 0.0),
    ("master/operations/total", 0.0),
    ("master/operations/unreachable", 0.0),
    ("master/operations/unreserve/dropped", 0.0),
    ("master/operations/unreserve/error", 0.0),
    ("master/operations/unreserve/failed", 0.0),
    ("master/operations/unreserve/finished", 0.0),
    ("master/operations/unreserve/gone_by_operator", 0.0),
    ("master/operations/unreserve/pending", 0.0),
    ("master/operations/unreserve/recovering", 0.0),
    ("master/operations/unreserve/total", 0.0),
    ("master/operations/unreserve/unreachable", 0.0),
    ("master/operator_event_stream_subscribers", 0.0),
    ("master/outstanding_offers", 0.0),
    ("master/recovery_slave_removals", 0.0),
    ("master/slave_registrations", 2.0),
    ("master/slave_removals", 0.0),
    ("master/slave_removals/reason_registered", 0.0),
    ("master/slave_removals/reason_unhealthy", 0.0),
    ("master/slave_removals/reason_unregistered", 0.0),
    ("master/slave_reregistrations", 0.0),
    ("master/slave_shutdowns_canceled", 0.0),
    ("master/slave_shutdowns_completed", 0.0),
    ("master/slave_shutdowns_scheduled", 0.0),
    ("master/slave_unreachable_canceled", 0.0),
    ("master/slave_unreachable_completed", 0.0),
    ("master/slave_unreachable_scheduled", 0.0),
    ("master/slaves_active", 2.0),
    ("master/slaves_connected", 2.0),
    ("master/slaves_disconnected", 0.0),
    ("master/slaves_inactive", 0.0),
    ("master/slaves_unreachable", 0.0),
    ("master/tasks_dropped", 0.0),
    ("master/tasks_error", 0.0),
    ("master/tasks_failed", 0.0),
    ("master/tasks_finished", 0.0),
    ("master/tasks_gone", 0.0),
    ("master/tasks_gone_by_operator", 0.0),
    ("master/tasks_killed", 0.0),
    ("master/tasks_killing", 0.0),
    ("master/tasks_lost", 0.0),
    ("master/tasks_running", 0.0),
    ("master/tasks_staging", 0.0),
    ("master/tasks_starting", 0.0),
    ("master/tasks_unreachable", 0.0),
    ("master/uptime_secs", 33.79196288),
    ("master/valid_executor_to_framework_messages", 0.0),
    ("master/valid_framework_to_executor_messages", 0.0),
    ("master/valid_operation_status_update_acknowledgements", 0.0),
    ("master/valid_operation_status_updates", 0.0),
    ("master/valid_status_update_acknowledgements", 0.0),
    ("master/valid_status_updates", 0.0),
    ("registrar/queued_operations", 0.0),
    ("registrar/registry_size_bytes", 465.0),
    ("registrar/state_fetch_ms", 3.934976),
    ("registrar/state_store_ms", 0.291072),
    ("registrar/state_store_ms/count", 3.0),
    ("registrar/state_store_ms/max", 0.303104),
    ("registrar/state_store_ms/min", 0.249856),
    ("registrar/state_store_ms/p50", 0.291072),
    ("registrar/state_store_ms/p90", 0.3006976),
    ("registrar/state_store_ms/p95", 0.30190079999999997),
    ("registrar/state_store_ms/p99", 0.30286335999999997),
    ("registrar/state_store_ms/p999", 0.303079936),
    ("registrar/state_store_ms/p9999", 0.3031015936),
    ("resource_provider_manager/events/disconnect", 0.0),
    ("resource_provider_manager/events/subscribe", 0.0),
    ("resource_provider_manager/subscribed", 0.0),
    ("slave/container_launch_errors", 0.0),
    ("slave/cpus_percent", 0.0),
    ("slave/cpus_revocable_percent", 0.0),
    ("slave/cpus_revocable_total", 0.0),
    ("slave/cpus_revocable_used", 0.0),
    ("slave/cpus_total", 2.0),
    ("slave/cpus_used", 0.0),
    ("slave/disk_percent", 0.0),
    ("slave/disk_revocable_percent", 0.0),
    ("slave/disk_revocable_total", 0.0),
    ("slave/disk_revocable_used", 0.0),
    ("slave/disk_total", 30509.0),
    ("slave/disk_used", 0.0),
    ("slave/executor_directory_max_allowed_age_secs", 544320.0),
    ("slave/executors_preempted", 0.0),
    ("slave/executors_registering", 0.0),
    ("slave/executors_running", 0.0),
    ("slave/executors_terminated", 0.0),
    ("slave/executors_terminating", 0.0),
    ("slave/frameworks_active", 0.0),
    ("slave/gpus_percent", 0.0),
    ("slave/gpus_revocable_percent", 0.0),
    ("slave/gpus_revocable_total", 0.0),
    ("slave/gpus_revocable_used", 0.0),
    ("slave/gpus_total", 0.0),
    ("slave/gpus_used", 0.0),
    ("slave/invalid_framework_messages", 0.0),
    ("slave/invalid_status_updates", 0.0),
    ("slave/mem_percent", 0.0),
    ("slave/mem_revocable_percent", 0.0),
    ("slave/mem_revocable_total", 0.0),
    ("slave/mem_revocable_used", 0.0),
    ("slave/mem_total", 996.0),
    ("slave/mem_used", 0.0),
    ("slave/recovery_errors", 0.0),
    ("slave/recovery_time_secs", 0.001187072),
    ("slave/registered", 1.0),
    ("slave/tasks_failed", 0.0),
    ("slave/tasks_finished", 0.0),
    ("slave/tasks_gone", 0.0),
    ("slave/tasks_killed", 0.0),
    ("slave/tasks_killing", 0.0),
    ("slave/tasks_lost", 0.0),
    ("slave/tasks_running", 0.0),
    ("slave/tasks_staging", 0.0),
    ("slave/tasks_starting", 0.0),
    ("slave/uptime_secs", 33.79856896),
    ("slave/valid_framework_messages", 0.0),
    ("slave/valid_status_updates", 0.0),
    ("system/cpus_total", 2.0),
    ("system/load_15min", 2.7080078125),
    ("system/load_1min", 5.25341796875),
    ("system/load_5min", 4.3623046875),
    ("system/mem_free_bytes", 15617327104.0),
    ("system/mem_total_bytes", 25276194816.0),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = |p: &str| route(p).0;
        assert_eq!(r("/api/v1/scheduler"), Endpoint::Scheduler);
        assert_eq!(r("/master/api/v1/scheduler"), Endpoint::Scheduler);
        assert_eq!(r("/api/v1"), Endpoint::Operator);
        assert_eq!(r("/master/api/v1/"), Endpoint::Operator);
        assert_eq!(r("/api/v1/foo"), Endpoint::Operator);
        assert_eq!(r("/api/v1/scheduler/x"), Endpoint::Scheduler);
        assert_eq!(r("/version"), Endpoint::Version);
        assert_eq!(r("/version/"), Endpoint::Version);
        assert_eq!(r("/version/x"), Endpoint::NotFound);
        assert_eq!(r("/state"), Endpoint::State);
        assert_eq!(r("/master/state/x"), Endpoint::State);
        assert_eq!(r("/master/state.json"), Endpoint::NotFound);
        assert_eq!(r("/health"), Endpoint::Health);
        assert_eq!(r("/master/health/"), Endpoint::Health);
        assert_eq!(route("/redirect"), (Endpoint::Redirect, "/master/redirect".to_owned()));
        assert_eq!(route("/redirect/x"), (Endpoint::Redirect, "/master/redirect/x".to_owned()));
        assert_eq!(r("/metrics/snapshot"), Endpoint::Metrics);
        assert_eq!(r("/metrics/snapshot/"), Endpoint::Metrics);
        assert_eq!(r("/"), Endpoint::NotFound);
        assert_eq!(r("/foo"), Endpoint::NotFound);
        assert_eq!(r("foo"), Endpoint::BadPath);
    }

    #[test]
    fn json_writer() {
        let mut out = Vec::new();
        let mut w = Json::new(&mut out);
        w.open_object();
        w.key("a").double(1.0);
        w.key("b");
        w.open_array();
        w.string("x");
        w.open_object();
        w.close_object();
        w.int(3);
        w.close_array();
        w.key("c");
        w.open_object();
        w.key("d").bool(false);
        w.close_object();
        w.key("e").strings(["p", "q"]);
        w.close_object();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":1.0,"b":["x",{},3],"c":{"d":false},"e":["p","q"]}"#);
    }

    #[test]
    fn names_in_metric_keys() {
        assert_eq!(url_encode("Example HTTP Framework"), "Example%20HTTP%20Framework");
        assert_eq!(url_encode("a/b~c"), "a%2Fb%7Ec");
    }
}
