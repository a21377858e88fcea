//! The operator API (`POST /api/v1`, `/master/api/v1`) as a Mesos 1.11.0
//! master answers it (`Master::Http::api`, src/master/http.cpp, and
//! `Master::ReadOnlyHandler`, src/master/readonly_handler.cpp), and its
//! event stream (`Master::Subscribers`, src/master/master.cpp).
//!
//! Sans-IO: a request and the picture of the cluster the other endpoints
//! read ([`View`], [`History`], [`Clock`]) in, an answer out
//! ([`handle`]); the event stream's [`Subscribers`] are told the time and
//! shown the cluster after every step, and give back the records to write.
//!
//! What the master writes, and so what this module writes:
//!
//! - the calls are read and refused as the scheduler API's are (the same
//!   texts, `Call` for `Call`), then validated
//!   (`validation::master::call::validate`), then `Accept` is negotiated
//!   for every call (JSON whenever acceptable);
//! - an answer is `OK(body, contentType)`: `Date`, `Content-Type`,
//!   `Content-Length`;
//! - `GET_STATE`, `GET_AGENTS`, `GET_FRAMEWORKS`, `GET_EXECUTORS`,
//!   `GET_TASKS`, `GET_METRICS` and the stream's `SUBSCRIBED` are written
//!   field by field (their lists always present in JSON, even empty), their
//!   elements as `asV1Protobuf` writes the master's own messages: the
//!   agents' `agent_info` carries the internal `SlaveInfo`'s `checkpoint`
//!   (field 7, which the v1 schema lacks); in protobuf, `GET_TASKS` lists
//!   each framework's live, unreachable and completed tasks in turn, and
//!   leaves out the frameworks that were removed (a master's inverted
//!   authorization test, `serializeGetTasks`), which its JSON lists;
//! - the other answers are the `Response` message in the master's JSON (no
//!   empty lists) or protobuf;
//! - the event stream: `SUBSCRIBED` with the state and the heartbeat
//!   interval, a `HEARTBEAT` at once and one every interval, then
//!   `FRAMEWORK_ADDED` (a framework subscribes), `FRAMEWORK_UPDATED` (it
//!   subscribes again, or UPDATE_FRAMEWORK changes its `FrameworkInfo`),
//!   `TASK_ADDED` (a task is launched, `TASK_STAGING`), `TASK_UPDATED`
//!   (each new state of a task), `FRAMEWORK_REMOVED`; `AGENT_ADDED` when
//!   an agent registers, which in the simulated cluster happens before
//!   anyone can subscribe.
//!
//! The calls that change the cluster (reservations, volumes, maintenance,
//! quota, weights, teardown, agents gone or drained, the logging level)
//! and the sandbox files are not simulated: once read and validated as a
//! master does, they are answered `501` with a text that says so.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use mesos_codec::json::to_json;
use mesos_codec::negotiate::{self, ContentType};
use mesos_codec::recordio;
use mesos_codec::v1::master::{Call, Event, Response as Message, call, event, response};
use mesos_codec::v1::{
    AgentId, AgentInfo, FrameworkId, FrameworkInfo, Metric, Resource as ProtoResource, Role as ProtoRole, Task,
    TaskState, TaskStatus, TimeInfo, VersionInfo, agent_info, resource, value,
};
use prost::Message as _;

use super::endpoints::{
    AGENT_CAPABILITIES, BUILD_DATE, BUILD_TIME, BUILD_USER, Clock, GIT_SHA, VERSION, agent_pid, flag_values,
    metric_values,
};
use super::history::{FrameworkHistory, History, TaskHistory};
use super::http::{Request, Response};
use super::master::is_terminal;
use super::master::{Answer, FrameworkView, Push, StreamKey, View, decode_call};
use super::resources::Resources;

/// What the server does with an operator API request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Answer it.
    Answer(Response),
    /// Open an event stream in this encoding ([`Subscribers::subscribe`]).
    Subscribe(ContentType),
}

/// What an answer is made of besides the request.
pub(crate) struct Cluster<'a> {
    pub view: &'a View,
    pub history: &'a History,
    pub clock: &'a Clock,
}

/// Handles one operator API request, checked in the master's order.
pub(crate) fn handle(request: &Request, cluster: &Cluster<'_>) -> Outcome {
    Outcome::Answer(match read(request) {
        Ok((call, accept)) => {
            if call.r#type() == call::Type::Subscribe {
                return Outcome::Subscribe(accept);
            }
            answer(&call, accept, cluster)
        }
        Err(response) => response,
    })
}

/// The call and the answer's type, or the master's refusal.
fn read(request: &Request) -> Result<(Call, ContentType), Response> {
    if request.method != "POST" {
        // libprocess `MethodNotAllowed::constructBody`.
        return Err(Response::method_not_allowed(format!(
            "405 Method Not Allowed. Expecting one of {{ 'POST' }}, but received '{}'.",
            request.method
        )));
    }
    let refusal = |e: negotiate::NegotiationError| Response::text(e.status(), e.to_string());
    let content_type = negotiate::request_content_type(request.header("Content-Type")).map_err(refusal)?;
    let call: Call = decode_call(content_type, &request.body).map_err(|answer| match answer {
        Answer::Error { status, message } => Response::text(status, message),
        _ => Response::text(400, "Failed to parse body into Call protobuf"),
    })?;
    if let Err(e) = validate(&call) {
        return Err(Response::text(400, format!("Failed to validate master::Call: {e}")));
    }
    let accept = negotiate::response_content_type(request.header("Accept")).map_err(refusal)?;
    Ok((call, accept))
}

/// `validation::master::call::validate` (src/master/validation.cpp): the
/// type, and the message a call needs.
#[allow(deprecated)] // SET_QUOTA and REMOVE_QUOTA are validated all the same
fn validate(call: &Call) -> Result<(), String> {
    let Some(ty) = call.r#type else { return Err("Expecting 'type' to be present".into()) };
    // An unknown number is a field protobuf keeps aside: no type.
    let Ok(ty) = call::Type::try_from(ty) else { return Err("Expecting 'type' to be present".into()) };
    use call::Type as T;
    let present = match ty {
        T::GetMetrics => call.get_metrics.is_some(),
        T::SetLoggingLevel => call.set_logging_level.is_some(),
        T::ListFiles => call.list_files.is_some(),
        T::ReadFile => call.read_file.is_some(),
        T::UpdateWeights => call.update_weights.is_some(),
        T::ReserveResources => call.reserve_resources.is_some(),
        T::UnreserveResources => call.unreserve_resources.is_some(),
        T::CreateVolumes => call.create_volumes.is_some(),
        T::DestroyVolumes => call.destroy_volumes.is_some(),
        T::GrowVolume => call.grow_volume.is_some(),
        T::ShrinkVolume => call.shrink_volume.is_some(),
        T::UpdateMaintenanceSchedule => call.update_maintenance_schedule.is_some(),
        T::StartMaintenance => call.start_maintenance.is_some(),
        T::StopMaintenance => call.stop_maintenance.is_some(),
        T::DrainAgent => call.drain_agent.is_some(),
        T::DeactivateAgent => call.deactivate_agent.is_some(),
        T::ReactivateAgent => call.reactivate_agent.is_some(),
        T::UpdateQuota => call.update_quota.is_some(),
        T::SetQuota => call.set_quota.is_some(),
        T::RemoveQuota => call.remove_quota.is_some(),
        T::Teardown => call.teardown.is_some(),
        T::MarkAgentGone => call.mark_agent_gone.is_some(),
        _ => true,
    };
    if !present {
        return Err(format!("Expecting '{}' to be present", ty.as_str_name().to_ascii_lowercase()));
    }
    let agent_less = |agent: Option<&AgentId>| agent.is_none();
    let volume_without_agent = match ty {
        T::GrowVolume => call.grow_volume.as_ref().is_some_and(|g| agent_less(g.agent_id.as_ref())),
        T::ShrinkVolume => call.shrink_volume.as_ref().is_some_and(|s| agent_less(s.agent_id.as_ref())),
        _ => false,
    };
    if volume_without_agent {
        return Err("Expecting 'agent_id' to be present; only agent default resources are supported right now".into());
    }
    Ok(())
}

/// A `Response` of `ty` with its one field set by `set`.
fn message(ty: response::Type, set: impl FnOnce(&mut Message)) -> Message {
    let mut m = Message { r#type: Some(ty as i32), ..Default::default() };
    set(&mut m);
    m
}

/// `OK(serialize(contentType, evolve(response)), contentType)`.
fn serialized(m: &Message, accept: ContentType) -> Response {
    let body = match accept {
        ContentType::Protobuf => m.encode_to_vec(),
        _ => to_json(m).unwrap_or_default(),
    };
    Response::ok(body, accept.as_str())
}

/// The answer to a call that is read, valid and acceptable.
fn answer(call: &Call, accept: ContentType, cluster: &Cluster<'_>) -> Response {
    use call::Type as T;
    use response::Type as R;
    let ty = call.r#type();
    match ty {
        // src/master/http.cpp: `NotImplemented()`, libprocess's body.
        T::Unknown => Response::text(501, "501 Not Implemented."),
        T::GetHealth => {
            serialized(&message(R::GetHealth, |m| m.get_health = Some(response::GetHealth { healthy: true })), accept)
        }
        T::GetFlags => {
            let flags = flag_values(cluster.clock)
                .into_iter()
                .map(|(name, value)| mesos_codec::v1::Flag { name, value: Some(value) })
                .collect();
            serialized(&message(R::GetFlags, |m| m.get_flags = Some(response::GetFlags { flags })), accept)
        }
        T::GetVersion => {
            let version_info = VersionInfo {
                version: VERSION.into(),
                build_date: Some(BUILD_DATE.into()),
                build_time: Some(BUILD_TIME),
                build_user: Some(BUILD_USER.into()),
                git_sha: Some(GIT_SHA.into()),
                git_branch: None,
                git_tag: Some(VERSION.into()),
            };
            serialized(&message(R::GetVersion, |m| m.get_version = Some(response::GetVersion { version_info })), accept)
        }
        T::GetMetrics => get_metrics(accept, cluster),
        // `FLAGS_v`: glog's verbosity, 0 unless `GLOG_v` says otherwise.
        T::GetLoggingLevel => serialized(
            &message(R::GetLoggingLevel, |m| m.get_logging_level = Some(response::GetLoggingLevel { level: 0 })),
            accept,
        ),
        T::GetState => custom(R::GetState, "get_state", accept, &|out, accept| state(out, accept, cluster)),
        T::GetAgents => custom(R::GetAgents, "get_agents", accept, &|out, accept| agents(out, accept, cluster)),
        T::GetFrameworks => {
            custom(R::GetFrameworks, "get_frameworks", accept, &|out, accept| frameworks(out, accept, cluster))
        }
        T::GetExecutors => custom(R::GetExecutors, "get_executors", accept, &|out, accept| executors(out, accept)),
        T::GetTasks => custom(R::GetTasks, "get_tasks", accept, &|out, accept| tasks(out, accept, cluster)),
        // No operations exist in the simulated cluster.
        T::GetOperations => {
            serialized(&message(R::GetOperations, |m| m.get_operations = Some(Default::default())), accept)
        }
        T::GetRoles => serialized(&message(R::GetRoles, |m| m.get_roles = Some(roles(cluster))), accept),
        // No weights were set: the master answers the bare type.
        T::GetWeights => serialized(&message(R::GetWeights, |_| {}), accept),
        T::GetMaster => serialized(&message(R::GetMaster, |m| m.get_master = Some(master(cluster))), accept),
        // No maintenance, no quota.
        T::GetMaintenanceStatus => serialized(
            &message(R::GetMaintenanceStatus, |m| m.get_maintenance_status = Some(Default::default())),
            accept,
        ),
        T::GetMaintenanceSchedule => serialized(
            &message(R::GetMaintenanceSchedule, |m| m.get_maintenance_schedule = Some(Default::default())),
            accept,
        ),
        T::GetQuota => serialized(&message(R::GetQuota, |m| m.get_quota = Some(Default::default())), accept),
        other => Response::text(501, format!("mesos-replay sim does not implement {}", other.as_str_name())),
    }
}

/// A body written field by field: `{"type":..,"<field>":<inner>}` in JSON;
/// the type and the inner message's bytes (field `number`) in protobuf.
type Inner<'a> = dyn Fn(&mut Vec<u8>, ContentType) + 'a;

fn custom(ty: response::Type, field: &str, accept: ContentType, inner: &Inner<'_>) -> Response {
    let mut out = Vec::with_capacity(4096);
    match accept {
        ContentType::Protobuf => {
            let mut body = Vec::new();
            inner(&mut body, accept);
            prost::encoding::int32::encode(1, &(ty as i32), &mut out);
            prost::encoding::bytes::encode(response_field(ty), &body, &mut out);
        }
        _ => {
            out.extend_from_slice(format!("{{\"type\":\"{}\",\"{field}\":", ty.as_str_name()).as_bytes());
            inner(&mut out, accept);
            out.push(b'}');
        }
    }
    Response::ok(out, accept.as_str())
}

/// The number of `Response`'s field for `ty`'s answer.
fn response_field(ty: response::Type) -> u32 {
    use response::Type as R;
    match ty {
        R::GetMetrics => 5,
        R::GetState => 9,
        R::GetAgents => 10,
        R::GetFrameworks => 11,
        R::GetExecutors => 12,
        R::GetTasks => 13,
        _ => 0,
    }
}

/// A JSON object of lists: `{"a":[..],"b":[..]}`, each list always there.
fn json_lists(out: &mut Vec<u8>, lists: &[(&str, Vec<Vec<u8>>)]) {
    out.push(b'{');
    for (n, (name, elements)) in lists.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{name}\":[").as_bytes());
        for (i, e) in elements.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(e);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// A message in the master's JSON.
fn json<T: prost::Message + prost::Name>(message: &T) -> Vec<u8> {
    to_json(message).unwrap_or_else(|_| b"{}".to_vec())
}

// ----- GET_METRICS -----

fn get_metrics(accept: ContentType, cluster: &Cluster<'_>) -> Response {
    let values = metric_values(cluster.view, cluster.history, cluster.clock);
    let metrics: Vec<Metric> = values.into_iter().map(|(name, v)| Metric { name, value: Some(v) }).collect();
    custom(response::Type::GetMetrics, "get_metrics", accept, &|out, accept| match accept {
        ContentType::Protobuf => {
            for m in &metrics {
                prost::encoding::message::encode(1, m, out);
            }
        }
        _ => json_lists(out, &[("metrics", metrics.iter().map(json).collect())]),
    })
}

// ----- GET_MASTER -----

fn master(cluster: &Cluster<'_>) -> response::GetMaster {
    response::GetMaster {
        master_info: Some(cluster.view.info.clone()),
        start_time: Some(cluster.clock.start),
        elected_time: Some(cluster.clock.start),
    }
}

// ----- GET_AGENTS -----

/// `Time::duration().ns()` of a Unix time in seconds.
fn time_info(seconds: f64) -> TimeInfo {
    TimeInfo { nanoseconds: (seconds * 1e9) as i64 }
}

/// Resources in the master's endpoint format (`convertResourceFormat(..,
/// ENDPOINT)`): `role` `*`, and the allocation if any.
fn endpoint_format(resources: &Resources, roles: &[String]) -> Vec<ProtoResource> {
    resources.to_proto(roles, true, false)
}

/// `createAgentResponse` for agent `n` (src/common/protobuf_utils.cpp).
pub(crate) fn agent(view: &View, n: usize, clock: &Clock) -> response::get_agents::Agent {
    let a = &view.agents[n];
    response::get_agents::Agent {
        agent_info: AgentInfo {
            hostname: a.hostname.clone(),
            port: Some(i32::from(view.info.port as u16)),
            resources: a.total.to_proto(&view.roles, false, true),
            attributes: Vec::new(),
            id: Some(AgentId { value: a.id.clone() }),
            domain: None,
        },
        active: true,
        deactivated: Some(false),
        version: VERSION.into(),
        pid: Some(agent_pid(view, n)),
        registered_time: Some(time_info(clock.start)),
        reregistered_time: None,
        total_resources: a.total.to_proto(&view.roles, false, false),
        allocated_resources: endpoint_format(&agent_used(view, n), &view.roles),
        offered_resources: endpoint_format(&agent_offered(view, n), &view.roles),
        capabilities: AGENT_CAPABILITIES
            .iter()
            .filter_map(|name| agent_info::capability::Type::from_str_name(name))
            .map(|ty| agent_info::Capability { r#type: Some(ty as i32) })
            .collect(),
        resource_providers: Vec::new(),
        drain_info: None,
        estimated_drain_start_time: None,
    }
}

/// What the live tasks on agent `n` use, allocated to their roles
/// (`Resources::sum(slave.usedResources)`), in the order they were launched.
fn agent_used(view: &View, n: usize) -> Resources {
    let id = &view.agents[n].id;
    let mut used = Resources::default();
    for f in view.frameworks.iter().filter(|f| !f.removed) {
        for t in f.tasks.iter().filter(|t| &t.agent_id == id && !is_terminal(t.state)) {
            used.add_all(&t.resources);
        }
    }
    used
}

/// What outstanding offers hold of agent `n`, allocated to their roles.
fn agent_offered(view: &View, n: usize) -> Resources {
    let id = &view.agents[n].id;
    let mut offered = Resources::default();
    for f in &view.frameworks {
        for o in f.offers.iter().filter(|o| &o.agent_id == id) {
            offered.add_all(&o.resources);
        }
    }
    offered
}

/// An agent as `asV1Protobuf` writes the master's: the internal
/// `SlaveInfo` has `checkpoint` (field 7; an agent of `mesos-local`
/// checkpoints), which the v1 `AgentInfo` lacks.
fn agent_bytes(agent: &response::get_agents::Agent, accept: ContentType) -> Vec<u8> {
    match accept {
        ContentType::Protobuf => {
            let mut info = agent.agent_info.clone();
            let port = info.port.take();
            let mut info_bytes = info.encode_to_vec();
            // Field 7 (checkpoint), then field 8 (port): number order.
            prost::encoding::bool::encode(7, &true, &mut info_bytes);
            if let Some(port) = port {
                prost::encoding::int32::encode(8, &port, &mut info_bytes);
            }
            let mut rest = agent.clone();
            rest.agent_info = AgentInfo::default();
            let mut out = Vec::with_capacity(info_bytes.len() + 512);
            prost::encoding::bytes::encode(1, &info_bytes, &mut out);
            // Everything after field 1, as prost writes it (in number order).
            let encoded = rest.encode_to_vec();
            let skip = prost::encoding::key_len(1)
                + prost::encoding::encoded_len_varint(AgentInfo::default().encoded_len() as u64)
                + AgentInfo::default().encoded_len();
            out.extend_from_slice(encoded.get(skip..).unwrap_or_default());
            out
        }
        _ => {
            let mut text = json(agent);
            let info = json(&agent.agent_info);
            // `"agent_info":{...}` is the first member: `checkpoint` closes it.
            let at = "{\"agent_info\":".len() + info.len() - 1;
            if text.get(at) == Some(&b'}') {
                text.splice(at..at, b",\"checkpoint\":true".iter().copied());
            }
            text
        }
    }
}

/// `GetAgents`: the agents, newest first (the master's hash map), and no
/// recovered ones.
fn agents(out: &mut Vec<u8>, accept: ContentType, cluster: &Cluster<'_>) {
    let view = cluster.view;
    let agents: Vec<Vec<u8>> =
        (0..view.agents.len()).rev().map(|n| agent_bytes(&agent(view, n, cluster.clock), accept)).collect();
    match accept {
        ContentType::Protobuf => {
            for a in &agents {
                prost::encoding::bytes::encode(1, a, out);
            }
        }
        _ => json_lists(out, &[("agents", agents), ("recovered_agents", Vec::new())]),
    }
}

// ----- GET_FRAMEWORKS -----

/// A framework and its past.
type WithPast<'a> = (&'a FrameworkView, Option<&'a FrameworkHistory>);

/// The frameworks the master has (newest first, its hash map's order)
/// and those it removed (in the order it removed them), with their past.
fn registered_and_completed<'a>(cluster: &Cluster<'a>) -> (Vec<WithPast<'a>>, Vec<WithPast<'a>>) {
    let (view, history) = (cluster.view, cluster.history);
    let registered =
        view.frameworks.iter().rev().filter(|f| !f.removed).map(|f| (f, history.framework(&f.id))).collect();
    let completed = history
        .completed
        .iter()
        .filter_map(|&n| {
            let past = &history.frameworks[n];
            view.frameworks.iter().find(|f| f.id == past.id && f.removed).map(|f| (f, Some(past)))
        })
        .collect();
    (registered, completed)
}

/// The framework's `FrameworkInfo` as the master keeps it (with its id).
fn stored_info(f: &FrameworkView) -> FrameworkInfo {
    let mut info = f.info.clone();
    if info.id.is_none() {
        info.id = Some(FrameworkId { value: f.id.clone() });
    }
    info
}

/// `model(Framework)` (src/master/http.cpp).
pub(crate) fn framework(
    f: &FrameworkView,
    past: Option<&FrameworkHistory>,
    roles: &[String],
    clock: &Clock,
) -> response::get_frameworks::Framework {
    let connected = f.connected && !f.removed;
    let nonzero = |t: f64| (t != 0.0).then(|| time_info(t));
    let mut used = Resources::default();
    if !f.removed {
        for t in past.map(|p| p.tasks.as_slice()).unwrap_or_default().iter().filter(|t| !is_terminal(t.state)) {
            used.add_all(&t.resources);
        }
    }
    let offered = if f.removed { Resources::default() } else { past.map(|p| p.offered.clone()).unwrap_or_default() };
    response::get_frameworks::Framework {
        framework_info: stored_info(f),
        active: connected,
        connected,
        recovered: false,
        registered_time: nonzero(past.map_or(clock.start, |p| p.registered)),
        reregistered_time: nonzero(past.map_or(clock.start, |p| p.reregistered)),
        unregistered_time: past.and_then(|p| p.unregistered).and_then(nonzero),
        offers: f.offers.iter().rev().filter_map(|o| o.proto.clone()).collect(),
        inverse_offers: Vec::new(),
        allocated_resources: endpoint_format(&used, roles),
        offered_resources: endpoint_format(&offered, roles),
        offer_constraints: Some(Default::default()),
    }
}

fn frameworks(out: &mut Vec<u8>, accept: ContentType, cluster: &Cluster<'_>) {
    let (registered, completed) = registered_and_completed(cluster);
    let model = |(f, past): &WithPast<'_>| framework(f, *past, &cluster.view.roles, cluster.clock);
    match accept {
        ContentType::Protobuf => {
            for f in &registered {
                prost::encoding::message::encode(1, &model(f), out);
            }
            for f in &completed {
                prost::encoding::message::encode(2, &model(f), out);
            }
        }
        _ => json_lists(
            out,
            &[
                ("frameworks", registered.iter().map(|f| json(&model(f))).collect()),
                ("completed_frameworks", completed.iter().map(|f| json(&model(f))).collect()),
            ],
        ),
    }
}

// ----- GET_EXECUTORS -----

/// The master knows the executors frameworks give; the command executors
/// of the simulated cluster's tasks are the agents' business.
fn executors(out: &mut Vec<u8>, accept: ContentType) {
    if accept != ContentType::Protobuf {
        json_lists(out, &[("executors", Vec::new())]);
    }
}

// ----- GET_TASKS -----

/// A task as the master keeps it (`protobuf::createTask`, then each
/// status update: the latest status of each state, in order, without
/// `data`).
pub(crate) fn task(t: &TaskHistory, framework_id: &str, state: TaskState, roles: &[String]) -> Task {
    let info = &t.info;
    let role = t.resources.iter().find_map(|r| r.role).and_then(|r| roles.get(usize::from(r))).cloned();
    let resources = info
        .resources
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r.allocation_info.is_none() {
                r.allocation_info = Some(resource::AllocationInfo { role: role.clone() });
            }
            r
        })
        .collect();
    let mut statuses: Vec<TaskStatus> = Vec::with_capacity(t.statuses.len());
    for s in &t.statuses {
        let mut s = s.clone();
        s.data = None;
        if statuses.last().is_some_and(|last| last.state == s.state) {
            statuses.pop();
        }
        statuses.push(s);
    }
    let last_update = t.statuses.iter().rev().find(|s| s.uuid.is_some());
    let mut task = Task {
        name: info.name.clone(),
        task_id: info.task_id.clone(),
        framework_id: FrameworkId { value: framework_id.to_owned() },
        executor_id: info.executor.as_ref().map(|e| e.executor_id.clone()),
        agent_id: AgentId { value: t.agent_id.clone() },
        state: state as i32,
        resources,
        statuses,
        status_update_state: last_update.map(|s| s.state),
        status_update_uuid: last_update.and_then(|s| s.uuid.clone()),
        labels: info.labels.clone(),
        discovery: info.discovery.clone(),
        container: info.container.clone(),
        health_check: info.health_check.clone(),
        kill_policy: info.kill_policy,
        user: info
            .command
            .as_ref()
            .and_then(|c| c.user.clone())
            .or_else(|| info.executor.as_ref().and_then(|e| e.command.as_ref()).and_then(|c| c.user.clone())),
        limits: info.limits.clone(),
    };
    if t.statuses.is_empty() {
        task.status_update_state = None;
    }
    task
}

/// The master's state of a task: what its agent last said (the master's
/// view, while it holds the task).
fn task_state(f: &FrameworkView, t: &TaskHistory) -> TaskState {
    f.tasks.iter().find(|v| v.info.task_id == t.info.task_id).map_or(t.state, |v| v.state)
}

fn tasks(out: &mut Vec<u8>, accept: ContentType, cluster: &Cluster<'_>) {
    let (registered, completed) = registered_and_completed(cluster);
    let roles = &cluster.view.roles;
    // Per framework: its live tasks (newest first, a hash map) and its
    // completed ones (in the order they ended).
    let per_framework: Vec<(Vec<Task>, Vec<Task>)> = registered
        .iter()
        .chain(&completed)
        .map(|(f, past)| {
            let live = past
                .map(|p| p.tasks.iter().rev().map(|t| task(t, &f.id, task_state(f, t), roles)).collect())
                .unwrap_or_default();
            let done = past
                .map(|p| p.completed_tasks.iter().map(|t| task(t, &f.id, t.state, roles)).collect())
                .unwrap_or_default();
            (live, done)
        })
        .collect();
    match accept {
        ContentType::Protobuf => {
            // `serializeGetTasks` takes a completed framework only when the
            // operator may *not* see it (`if (!approvers->approved(..))`):
            // with no authorizer, never. Its JSON twin takes them all.
            for (live, done) in per_framework.iter().take(registered.len()) {
                for t in live {
                    prost::encoding::message::encode(2, t, out);
                }
                for t in done {
                    prost::encoding::message::encode(3, t, out);
                }
            }
        }
        _ => json_lists(
            out,
            &[
                ("tasks", per_framework.iter().flat_map(|(live, _)| live.iter().map(json)).collect()),
                ("unreachable_tasks", Vec::new()),
                ("completed_tasks", per_framework.iter().flat_map(|(_, done)| done.iter().map(json)).collect()),
            ],
        ),
    }
}

// ----- GET_STATE -----

/// `GetState`: the tasks, executors, frameworks and agents.
fn state(out: &mut Vec<u8>, accept: ContentType, cluster: &Cluster<'_>) {
    let parts: [(&str, &Inner<'_>); 4] = [
        ("get_tasks", &|out, accept| tasks(out, accept, cluster)),
        ("get_executors", &|out, accept| executors(out, accept)),
        ("get_frameworks", &|out, accept| frameworks(out, accept, cluster)),
        ("get_agents", &|out, accept| agents(out, accept, cluster)),
    ];
    if accept != ContentType::Protobuf {
        out.push(b'{');
    }
    for (n, (name, part)) in parts.iter().enumerate() {
        match accept {
            ContentType::Protobuf => {
                let mut body = Vec::new();
                part(&mut body, accept);
                prost::encoding::bytes::encode(n as u32 + 1, &body, out);
            }
            _ => {
                if n > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(format!("\"{name}\":").as_bytes());
                part(out, accept);
            }
        }
    }
    if accept != ContentType::Protobuf {
        out.push(b'}');
    }
}

// ----- GET_ROLES -----

/// The roles frameworks are subscribed to, sorted, each with its weight
/// (1), its frameworks and what is allocated or offered to it (`cpus`,
/// `disk`, `gpus`, `mem` quantities, sorted by name, those it has).
fn roles(cluster: &Cluster<'_>) -> response::GetRoles {
    let view = cluster.view;
    let mut by_role: BTreeMap<String, (Vec<FrameworkId>, BTreeMap<&'static str, i64>)> = BTreeMap::new();
    for f in view.frameworks.iter().rev().filter(|f| !f.removed) {
        for role in framework_roles(&f.info) {
            by_role.entry(role).or_default().0.push(FrameworkId { value: f.id.clone() });
        }
        let mut held = Resources::default();
        for t in f.tasks.iter().filter(|t| !is_terminal(t.state)) {
            held.add_all(&t.resources);
        }
        for o in &f.offers {
            held.add_all(&o.resources);
        }
        for r in held.iter() {
            let Some(role) = r.role.and_then(|n| view.roles.get(usize::from(n))) else { continue };
            let name = match r.name.as_str() {
                "cpus" => "cpus",
                "mem" => "mem",
                "disk" => "disk",
                "gpus" => "gpus",
                _ => continue,
            };
            if let super::resources::Amount::Scalar(x) = r.amount {
                *by_role.entry(role.clone()).or_default().1.entry(name).or_default() += x;
            }
        }
    }
    let roles = by_role
        .into_iter()
        .map(|(name, (frameworks, quantities))| ProtoRole {
            name,
            weight: 1.0,
            frameworks,
            resources: quantities
                .into_iter()
                .filter(|(_, x)| *x != 0)
                .map(|(name, x)| {
                    let mut r = ProtoResource {
                        name: name.into(),
                        scalar: Some(value::Scalar { value: super::resources::to_floating(x) }),
                        ..Default::default()
                    };
                    r.set_type(value::Type::Scalar);
                    r
                })
                .collect(),
        })
        .collect();
    response::GetRoles { roles }
}

/// `protobuf::framework::getRoles`.
fn framework_roles(info: &FrameworkInfo) -> Vec<String> {
    let multi =
        info.capabilities.iter().any(|c| c.r#type() == mesos_codec::v1::framework_info::capability::Type::MultiRole);
    if multi {
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

// ----- the event stream -----

/// One operator API event stream.
#[derive(Debug)]
struct Subscriber {
    key: StreamKey,
    content_type: ContentType,
    next_heartbeat: Duration,
}

/// What the subscribers were last told of a framework.
#[derive(Debug, Clone)]
struct SeenFramework {
    info: FrameworkInfo,
    reregistered: f64,
    removed: bool,
}

/// The operator API's subscribers (`Master::Subscribers`), and what they
/// were last told: each step of the master is compared with it, and what
/// changed is sent, in the master's order (frameworks added or updated,
/// then their tasks' events, then frameworks removed).
#[derive(Debug)]
pub(crate) struct Subscribers {
    subscribers: Vec<Subscriber>,
    heartbeat: Duration,
    next_key: u64,
    frameworks: HashMap<String, SeenFramework>,
    /// Per framework and task: the statuses seen (`None`: not added yet).
    tasks: HashMap<(String, String), usize>,
}

/// Stream keys of the operator API: apart from the master's.
const KEY_BASE: u64 = 1 << 62;

/// `--max_operator_event_stream_subscribers`.
pub(crate) const MAX_SUBSCRIBERS: usize = 1000;

impl Subscribers {
    /// Subscribers sent a heartbeat every `heartbeat`
    /// (`DEFAULT_HEARTBEAT_INTERVAL`, the scheduler API's).
    pub fn new(heartbeat: Duration) -> Subscribers {
        Subscribers {
            subscribers: Vec::new(),
            heartbeat: heartbeat.max(Duration::from_millis(1)),
            next_key: KEY_BASE,
            frameworks: HashMap::new(),
            tasks: HashMap::new(),
        }
    }

    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// Whether `key` is one of these streams.
    pub fn owns(&self, key: StreamKey) -> bool {
        key.0 >= KEY_BASE
    }

    /// A new subscriber at `now`: its stream's key and first records
    /// (SUBSCRIBED with the state, then a HEARTBEAT); the oldest stream is
    /// closed when there are [`MAX_SUBSCRIBERS`] already.
    pub fn subscribe(
        &mut self,
        content_type: ContentType,
        cluster: &Cluster<'_>,
        now: Duration,
        pushes: &mut Vec<Push>,
    ) -> StreamKey {
        if self.subscribers.is_empty() {
            self.remember(cluster);
        }
        if self.subscribers.len() >= MAX_SUBSCRIBERS {
            let oldest = self.subscribers.remove(0);
            pushes.push(Push::Close { stream: oldest.key });
        }
        let key = StreamKey(self.next_key);
        self.next_key += 1;
        let mut subscribed = Vec::with_capacity(4096);
        match content_type {
            ContentType::Protobuf => {
                let mut inner = Vec::new();
                let mut state_bytes = Vec::new();
                state(&mut state_bytes, content_type, cluster);
                prost::encoding::bytes::encode(1, &state_bytes, &mut inner);
                prost::encoding::double::encode(2, &self.heartbeat.as_secs_f64(), &mut inner);
                prost::encoding::int32::encode(1, &(event::Type::Subscribed as i32), &mut subscribed);
                prost::encoding::bytes::encode(2, &inner, &mut subscribed);
            }
            _ => {
                subscribed.extend_from_slice(b"{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":");
                state(&mut subscribed, content_type, cluster);
                subscribed.extend_from_slice(b",\"heartbeat_interval_seconds\":");
                mesos_codec::json::write_json_double(self.heartbeat.as_secs_f64(), &mut subscribed);
                subscribed.extend_from_slice(b"}}");
            }
        }
        pushes.push(Push::Record { stream: key, record: recordio::frame(Bytes::from(subscribed)).to_bytes() });
        pushes.push(Push::Record { stream: key, record: frame(&heartbeat(), content_type) });
        self.subscribers.push(Subscriber { key, content_type, next_heartbeat: now + self.heartbeat });
        key
    }

    /// The stream `key` is gone.
    pub fn closed(&mut self, key: StreamKey) {
        self.subscribers.retain(|s| s.key != key);
    }

    /// When the next heartbeat is due.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.subscribers.iter().map(|s| s.next_heartbeat).min()
    }

    /// The heartbeats due at `now`.
    pub fn handle_timeout(&mut self, now: Duration, pushes: &mut Vec<Push>) {
        for s in &mut self.subscribers {
            if s.next_heartbeat <= now {
                s.next_heartbeat = now + self.heartbeat;
                pushes.push(Push::Record { stream: s.key, record: frame(&heartbeat(), s.content_type) });
            }
        }
    }

    /// Takes the cluster as it is now as what subscribers know.
    fn remember(&mut self, cluster: &Cluster<'_>) {
        self.frameworks.clear();
        self.tasks.clear();
        for f in &cluster.view.frameworks {
            let past = cluster.history.framework(&f.id);
            self.frameworks.insert(
                f.id.clone(),
                SeenFramework {
                    info: f.info.clone(),
                    reregistered: past.map_or(0.0, |p| p.reregistered),
                    removed: f.removed,
                },
            );
            for t in past.map(|p| p.tasks.iter().chain(&p.completed_tasks)).into_iter().flatten() {
                self.tasks.insert((f.id.clone(), t.info.task_id.value.clone()), t.statuses.len());
            }
        }
    }

    /// After a step of the master: the events of what changed since the
    /// last look, to every subscriber.
    pub fn observe(&mut self, cluster: &Cluster<'_>, pushes: &mut Vec<Push>) {
        if self.subscribers.is_empty() {
            return;
        }
        let (view, history, roles) = (cluster.view, cluster.history, &cluster.view.roles);
        let mut events: Vec<Event> = Vec::new();
        let mut removed: Vec<Event> = Vec::new();
        for f in &view.frameworks {
            let past = history.framework(&f.id);
            let reregistered = past.map_or(0.0, |p| p.reregistered);
            let model = |f: &FrameworkView| {
                // `createFrameworkAdded`/`Updated`: the times always, no
                // resources, offers or constraints.
                let mut m = framework(f, past, roles, cluster.clock);
                m.registered_time = Some(m.registered_time.unwrap_or_default());
                m.reregistered_time = Some(m.reregistered_time.unwrap_or_default());
                m.unregistered_time = Some(m.unregistered_time.unwrap_or_default());
                m.offers.clear();
                m.allocated_resources.clear();
                m.offered_resources.clear();
                m.offer_constraints = None;
                m
            };
            match self.frameworks.get(&f.id).cloned() {
                None => {
                    events.push(Event {
                        r#type: Some(event::Type::FrameworkAdded as i32),
                        framework_added: Some(event::FrameworkAdded { framework: model(f) }),
                        ..Default::default()
                    });
                }
                Some(seen)
                    if !seen.removed && !f.removed && (seen.reregistered != reregistered || seen.info != f.info) =>
                {
                    events.push(Event {
                        r#type: Some(event::Type::FrameworkUpdated as i32),
                        framework_updated: Some(event::FrameworkUpdated { framework: model(f) }),
                        ..Default::default()
                    });
                }
                _ => {}
            }
            let was_removed = self.frameworks.get(&f.id).is_some_and(|s| s.removed);
            if f.removed && !was_removed {
                removed.push(Event {
                    r#type: Some(event::Type::FrameworkRemoved as i32),
                    framework_removed: Some(event::FrameworkRemoved { framework_info: stored_info(f) }),
                    ..Default::default()
                });
            }
            self.frameworks
                .insert(f.id.clone(), SeenFramework { info: f.info.clone(), reregistered, removed: f.removed });
            let Some(past) = past else { continue };
            for t in past.tasks.iter().chain(&past.completed_tasks) {
                let key = (f.id.clone(), t.info.task_id.value.clone());
                let seen = match self.tasks.get(&key) {
                    Some(&n) => n,
                    None => {
                        let mut added = task(t, &f.id, TaskState::TaskStaging, roles);
                        added.statuses.clear();
                        added.status_update_state = None;
                        added.status_update_uuid = None;
                        events.push(Event {
                            r#type: Some(event::Type::TaskAdded as i32),
                            task_added: Some(event::TaskAdded { task: added }),
                            ..Default::default()
                        });
                        0
                    }
                };
                for (i, status) in t.statuses.iter().enumerate().skip(seen) {
                    // A status of the state the last one had replaces it
                    // without an event.
                    if i > 0 && t.statuses[i - 1].state == status.state {
                        continue;
                    }
                    let state = if i + 1 == t.statuses.len() { task_state(f, t) } else { status.state() };
                    let mut status = status.clone();
                    status.data = None;
                    events.push(Event {
                        r#type: Some(event::Type::TaskUpdated as i32),
                        task_updated: Some(event::TaskUpdated {
                            framework_id: FrameworkId { value: f.id.clone() },
                            status,
                            state: state as i32,
                        }),
                        ..Default::default()
                    });
                }
                self.tasks.insert(key, t.statuses.len());
            }
        }
        events.extend(removed);
        for e in &events {
            for s in &self.subscribers {
                pushes.push(Push::Record { stream: s.key, record: frame(e, s.content_type) });
            }
        }
    }
}

fn heartbeat() -> Event {
    Event { r#type: Some(event::Type::Heartbeat as i32), ..Default::default() }
}

/// One event as one RecordIO record (`StreamingHttpConnection::send`:
/// the v1 message, serialized).
fn frame(event: &Event, content_type: ContentType) -> Bytes {
    let payload = match content_type {
        ContentType::Protobuf => event.encode_to_vec(),
        _ => to_json(event).unwrap_or_default(),
    };
    recordio::frame(Bytes::from(payload)).to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::master::{Config, Master, Request as Call0};

    const HEARTBEAT: Duration = Duration::from_secs(15);

    fn clock() -> Clock {
        Clock { start: 1_796_000_000.0, now: 1_796_000_000.0, port: 5050, operator_subscribers: 0 }
    }

    /// The payloads of the records pushed to `stream`.
    fn payloads(pushes: &[Push], stream: StreamKey) -> Vec<Vec<u8>> {
        pushes
            .iter()
            .filter_map(|p| match p {
                Push::Record { stream: s, record } if *s == stream => {
                    let nl = record.iter().position(|&b| b == b'\n').unwrap();
                    Some(record[nl + 1..].to_vec())
                }
                _ => None,
            })
            .collect()
    }

    fn types(pushes: &[Push], stream: StreamKey) -> Vec<String> {
        payloads(pushes, stream)
            .iter()
            .map(|p| {
                let v: serde_json::Value = serde_json::from_slice(p).unwrap();
                v["type"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// A framework subscribes to `master` (as the server tells `history`).
    fn subscribe_framework(master: &mut Master, history: &mut History, name: &str) -> (String, String) {
        let body = format!(r#"{{"type":"SUBSCRIBE","subscribe":{{"framework_info":{{"user":"u","name":"{name}"}}}}}}"#);
        let request = Call0 {
            method: "POST",
            content_type: Some("application/json"),
            accept: Some("application/json"),
            stream_id: None,
            body: body.as_bytes(),
        };
        let mut pushes = Vec::new();
        let Answer::Stream { stream, stream_id, .. } = master.handle_call(&request, Duration::ZERO, &mut pushes) else {
            panic!("subscribed")
        };
        let id = master.stream_framework(stream).unwrap().to_owned();
        history.subscribed(master, stream, Some(&id), false, ContentType::Json, clock().start);
        (id, stream_id)
    }

    #[test]
    fn subscribed_then_a_heartbeat_now_and_every_interval() {
        let master = Master::new(Config::default());
        let (view, history, clock) = (master.view(), History::default(), clock());
        let cluster = Cluster { view: &view, history: &history, clock: &clock };
        let mut subs = Subscribers::new(HEARTBEAT);
        let mut pushes = Vec::new();
        let key = subs.subscribe(ContentType::Json, &cluster, Duration::from_secs(3), &mut pushes);
        assert_eq!(types(&pushes, key), ["SUBSCRIBED", "HEARTBEAT"]);
        let subscribed = String::from_utf8(payloads(&pushes, key)[0].clone()).unwrap();
        assert!(subscribed.starts_with(
            r#"{"type":"SUBSCRIBED","subscribed":{"get_state":{"get_tasks":{"tasks":[],"unreachable_tasks":[],"completed_tasks":[]},"get_executors":{"executors":[]},"get_frameworks":{"frameworks":[],"completed_frameworks":[]},"get_agents":{"agents":[{"agent_info":{"hostname":"localhost","port":5050,"#
        ));
        assert!(subscribed.ends_with(r#""recovered_agents":[]}},"heartbeat_interval_seconds":15.0}}"#));
        assert_eq!(subs.poll_timeout(), Some(Duration::from_secs(18)));
        let mut beats = Vec::new();
        subs.handle_timeout(Duration::from_secs(17), &mut beats);
        assert!(beats.is_empty());
        subs.handle_timeout(Duration::from_secs(18), &mut beats);
        assert_eq!(types(&beats, key), ["HEARTBEAT"]);
        assert_eq!(subs.poll_timeout(), Some(Duration::from_secs(33)));
        subs.closed(key);
        assert_eq!((subs.len(), subs.poll_timeout()), (0, None));
    }

    #[test]
    fn frameworks_added_and_removed_once_each() {
        let mut master = Master::new(Config::default());
        let mut history = History::default();
        let clock = clock();
        let mut subs = Subscribers::new(HEARTBEAT);
        let (json_key, pb_key) = {
            let view = master.view();
            let cluster = Cluster { view: &view, history: &history, clock: &clock };
            let mut pushes = Vec::new();
            (
                subs.subscribe(ContentType::Json, &cluster, Duration::ZERO, &mut pushes),
                subs.subscribe(ContentType::Protobuf, &cluster, Duration::ZERO, &mut pushes),
            )
        };
        let (id, stream_id) = subscribe_framework(&mut master, &mut history, "fw");
        let observe = |master: &Master, history: &History, subs: &mut Subscribers| {
            let view = master.view();
            let mut pushes = Vec::new();
            subs.observe(&Cluster { view: &view, history, clock: &clock }, &mut pushes);
            pushes
        };
        let pushes = observe(&master, &history, &mut subs);
        assert_eq!(types(&pushes, json_key), ["FRAMEWORK_ADDED"]);
        let added: serde_json::Value = serde_json::from_slice(&payloads(&pushes, json_key)[0]).unwrap();
        let framework = &added["framework_added"]["framework"];
        assert_eq!(framework["framework_info"]["id"]["value"], id.as_str());
        assert_eq!((framework["active"].as_bool(), framework["connected"].as_bool()), (Some(true), Some(true)));
        assert_eq!(framework["registered_time"]["nanoseconds"], 1_796_000_000_000_000_000i64);
        assert_eq!(framework["unregistered_time"]["nanoseconds"], 0);
        // The same event in protobuf.
        let pb = Event::decode(payloads(&pushes, pb_key)[0].as_slice()).unwrap();
        assert_eq!(pb.r#type(), event::Type::FrameworkAdded);
        assert_eq!(pb.framework_added.unwrap().framework.framework_info.id.unwrap().value, id);
        // Nothing changed: nothing sent.
        assert!(observe(&master, &history, &mut subs).is_empty());
        // TEARDOWN: the framework is removed.
        let teardown = format!(r#"{{"type":"TEARDOWN","framework_id":{{"value":"{id}"}}}}"#);
        let request = Call0 {
            method: "POST",
            content_type: Some("application/json"),
            accept: None,
            stream_id: Some(&stream_id),
            body: teardown.as_bytes(),
        };
        assert_eq!(master.handle_call(&request, Duration::from_secs(1), &mut Vec::new()), Answer::Accepted);
        history.sync(&master, clock.start + 1.0);
        let pushes = observe(&master, &history, &mut subs);
        assert_eq!(types(&pushes, json_key), ["FRAMEWORK_REMOVED"]);
        let removed: serde_json::Value = serde_json::from_slice(&payloads(&pushes, json_key)[0]).unwrap();
        assert_eq!(removed["framework_removed"]["framework_info"]["name"], "fw");
        assert!(observe(&master, &history, &mut subs).is_empty());
    }

    #[test]
    fn the_oldest_subscriber_goes_when_there_are_too_many() {
        let master = Master::new(Config::default());
        let (view, history, clock) = (master.view(), History::default(), clock());
        let cluster = Cluster { view: &view, history: &history, clock: &clock };
        let mut subs = Subscribers::new(HEARTBEAT);
        let mut pushes = Vec::new();
        let first = subs.subscribe(ContentType::Json, &cluster, Duration::ZERO, &mut pushes);
        for _ in 1..MAX_SUBSCRIBERS {
            subs.subscribe(ContentType::Protobuf, &cluster, Duration::ZERO, &mut pushes);
        }
        pushes.clear();
        subs.subscribe(ContentType::Json, &cluster, Duration::ZERO, &mut pushes);
        assert_eq!(pushes[0], Push::Close { stream: first });
        assert_eq!(subs.len(), MAX_SUBSCRIBERS);
        assert!(subs.owns(first) && !subs.owns(StreamKey(0)));
    }

    #[test]
    fn calls_are_read_validated_and_negotiated_as_a_master_does() {
        let master = Master::new(Config::default());
        let (view, history, clock) = (master.view(), History::default(), clock());
        let cluster = Cluster { view: &view, history: &history, clock: &clock };
        let ask = |method: &str, headers: &[(&str, &str)], body: &[u8]| {
            let request = Request {
                method: method.into(),
                target: "/api/v1".into(),
                path: "/api/v1".into(),
                query: Vec::new(),
                headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
                body: Bytes::copy_from_slice(body),
                keep_alive: true,
            };
            match handle(&request, &cluster) {
                Outcome::Answer(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
                Outcome::Subscribe(ct) => (0, ct.as_str().to_owned()),
            }
        };
        let json = [("Content-Type", "application/json")];
        assert_eq!(ask("GET", &[], b"").0, 405);
        assert_eq!(
            ask("POST", &json, br#"{"type":"NOPE"}"#).1,
            "Failed to validate master::Call: Expecting 'type' to be present"
        );
        assert_eq!(
            ask("POST", &json, br#"{"type":"GET_METRICS"}"#).1,
            "Failed to validate master::Call: Expecting 'get_metrics' to be present"
        );
        assert_eq!(ask("POST", &json, br#"{"type":"UNKNOWN"}"#), (501, "501 Not Implemented.".into()));
        assert_eq!(
            ask("POST", &json, br#"{"type":"GET_HEALTH"}"#),
            (200, r#"{"type":"GET_HEALTH","get_health":{"healthy":true}}"#.into())
        );
        assert_eq!(
            ask(
                "POST",
                &[("Content-Type", "application/x-protobuf"), ("Accept", "application/x-protobuf")],
                &[0x08, 0x01]
            )
            .1
            .as_bytes(),
            [0x08, 0x01, 0x12, 0x02, 0x08, 0x01]
        );
        let accept_html = [("Content-Type", "application/json"), ("Accept", "text/html")];
        assert_eq!(ask("POST", &accept_html, br#"{"type":"GET_HEALTH"}"#).0, 406);
        assert_eq!(ask("POST", &json, br#"{"type":"SUBSCRIBE"}"#), (0, "application/json".into()));
        let (status, text) = ask("POST", &json, br#"{"type":"TEARDOWN","teardown":{"framework_id":{"value":"x"}}}"#);
        assert_eq!((status, text.as_str()), (501, "mesos-replay sim does not implement TEARDOWN"));
    }
}
