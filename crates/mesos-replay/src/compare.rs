//! Comparing a recorded message with a live (or another recorded) one, field
//! by field, with identifier binding.
//!
//! Identifiers the master chooses (framework, offer, agent, status uuid)
//! must be equal. Identifiers the framework chooses are *bound* on first
//! sight instead: the recorded value stands for the live value from then on,
//! and later messages are compared (and recorded events rewritten) through
//! the binding. Framework-chosen are the `value` of every `task_id`,
//! `executor_id` / `executor_ids` and `operation_id` object, and the `id` of
//! an offer operation (`operations[i].id`, an `OperationID`).
//!
//! With [`Rebind::MasterIds`] (`diff --rebind-master-ids`), what a master
//! chooses or takes from its environment is bound the same way, so that two
//! masters (the sim and a real one, or two runs of one) can be compared:
//! framework ids (`framework_id`, `framework_info.id`), offer ids
//! (`offer_id(s)`, an offer's `id`), agent ids (`agent_id`, `slave_id`,
//! `agent_info.id`), status uuids (`uuid`), container ids, the master's id
//! (`master_info.id`), and its and its agents' `hostname`, `ip`, `port`,
//! `pid`, `executor_pid` and libprocess path (`url.path`, `/slave(1)`).
//! Each kind is bound one to one: two recorded agents cannot stand for one
//! live agent.
//!
//! Times inside messages (`timestamp`, `registered_time`, ...: when the
//! master or agent did something) are not compared: they differ on every
//! run and say nothing about the conversation.
//!
//! Two passes over each pair of messages: the first binds every
//! framework-chosen id the pair holds, the second compares everything else,
//! so the order of fields inside a message never matters.
//!
//! ```
//! use mesos_replay::compare::{Bindings, compare};
//! use serde_json::json;
//! let recorded = json!({"type": "KILL", "kill": {"task_id": {"value": "t-1"}}});
//! let live = json!({"type": "KILL", "kill": {"task_id": {"value": "t-9"}}});
//! let mut bindings = Bindings::default();
//! assert!(compare(&recorded, &live, &mut bindings).is_empty());
//! assert_eq!(bindings.live("task", "t-1"), Some("t-9"));
//! // Once bound, another live value for the same recorded id is a difference.
//! let again = json!({"type": "KILL", "kill": {"task_id": {"value": "t-5"}}});
//! let diffs = compare(&recorded, &again, &mut bindings);
//! assert_eq!(diffs[0].path, "$.kill.task_id.value");
//! ```

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

/// Which identifiers are bound on first sight rather than compared.
///
/// ```
/// use mesos_replay::compare::{Bindings, Rebind, compare};
/// use serde_json::json;
/// let a = json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "m1-O1"}]}});
/// let b = json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "m2-O1"}]}});
/// assert_eq!(compare(&a, &b, &mut Bindings::default()).len(), 1);
/// assert!(compare(&a, &b, &mut Bindings::new(Rebind::MasterIds)).is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rebind {
    /// Only the ids the framework chooses (task, executor, operation): the
    /// master's must be equal. What a replay needs.
    #[default]
    FrameworkIds,
    /// Also the ids and the environment a master chooses (see the module
    /// documentation).
    MasterIds,
}

/// One binding of an id.
///
/// ```
/// use mesos_replay::compare::{Bindings, compare};
/// let mut bindings = Bindings::default();
/// compare(&serde_json::json!({"task_id": {"value": "a"}}), &serde_json::json!({"task_id": {"value": "b"}}), &mut bindings);
/// let binding = &bindings.all()[0];
/// assert_eq!((binding.kind, binding.recorded.as_str(), binding.live.as_str()), ("task", "a", "b"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    /// `task`, `executor` or `operation`; with [`Rebind::MasterIds`] also
    /// `framework`, `offer`, `agent`, `uuid`, `container`, `master`,
    /// `hostname`, `ip`, `port`, `pid`, `executor_pid` or `path`.
    pub kind: &'static str,
    /// The id in the recording.
    pub recorded: String,
    /// The id the live framework chose.
    pub live: String,
}

/// The bindings made so far, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    rebind: Rebind,
    order: Vec<Binding>,
    forward: HashMap<(&'static str, String), usize>,
    backward: HashMap<(&'static str, String), usize>,
    /// How many bindings map an id to a different value.
    renamed: usize,
}

impl Bindings {
    /// No bindings yet; `rebind` says which ids are bound.
    ///
    /// ```
    /// use mesos_replay::compare::{Bindings, Rebind};
    /// assert_eq!(Bindings::new(Rebind::MasterIds).rebind(), Rebind::MasterIds);
    /// ```
    pub fn new(rebind: Rebind) -> Bindings {
        Bindings { rebind, ..Bindings::default() }
    }

    /// Which ids these bindings bind.
    ///
    /// ```
    /// use mesos_replay::compare::{Bindings, Rebind};
    /// assert_eq!(Bindings::default().rebind(), Rebind::FrameworkIds);
    /// ```
    pub fn rebind(&self) -> Rebind {
        self.rebind
    }

    /// The live id bound to a recorded one.
    ///
    /// ```
    /// assert_eq!(mesos_replay::compare::Bindings::default().live("task", "t"), None);
    /// ```
    pub fn live(&self, kind: &'static str, recorded: &str) -> Option<&str> {
        self.forward.get(&(kind, recorded.to_owned())).map(|&i| self.order[i].live.as_str())
    }

    /// Every binding, in the order made.
    ///
    /// ```
    /// assert!(mesos_replay::compare::Bindings::default().all().is_empty());
    /// ```
    pub fn all(&self) -> &[Binding] {
        &self.order
    }

    /// Whether some binding maps an id to a different value (only then do
    /// recorded messages need rewriting).
    ///
    /// ```
    /// assert!(!mesos_replay::compare::Bindings::default().renames());
    /// ```
    pub fn renames(&self) -> bool {
        self.renamed > 0
    }

    /// Whether a recorded id of `kind` is bound to a different live value.
    ///
    /// ```
    /// use mesos_replay::compare::{Bindings, compare};
    /// let mut b = Bindings::default();
    /// compare(&serde_json::json!({"task_id": {"value": "a"}}), &serde_json::json!({"task_id": {"value": "b"}}), &mut b);
    /// assert!(b.renamed("task", "a"));
    /// ```
    pub fn renamed(&self, kind: &'static str, recorded: &str) -> bool {
        self.live(kind, recorded).is_some_and(|live| live != recorded)
    }

    /// Binds `recorded` to `live`, or says why it cannot.
    fn bind(&mut self, kind: &'static str, recorded: &str, live: &str) -> Result<(), String> {
        match (self.live(kind, recorded), self.backward.get(&(kind, live.to_owned()))) {
            (Some(bound), _) if bound == live => Ok(()),
            (Some(bound), _) => Err(format!("recorded {kind} id `{recorded}` is bound to `{bound}`")),
            (None, Some(&i)) => {
                Err(format!("live {kind} id `{live}` is already bound to recorded `{}`", self.order[i].recorded))
            }
            (None, None) => {
                let i = self.order.len();
                self.order.push(Binding { kind, recorded: recorded.to_owned(), live: live.to_owned() });
                self.forward.insert((kind, recorded.to_owned()), i);
                self.backward.insert((kind, live.to_owned()), i);
                if recorded != live {
                    self.renamed += 1;
                }
                Ok(())
            }
        }
    }
}

/// One difference between two messages.
///
/// ```
/// use mesos_replay::compare::{Bindings, compare};
/// let diffs = compare(&serde_json::json!({"a": 1}), &serde_json::json!({}), &mut Bindings::default());
/// assert_eq!(diffs[0].path, "$.a");
/// assert_eq!(diffs[0].live, serde_json::Value::Null);
/// assert_eq!(diffs[0].reason.as_deref(), Some("absent live"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    /// Where, as a JSON path (`$.accept.offer_ids[0].value`).
    pub path: String,
    /// The recorded value (`null` when the field is absent there).
    pub recorded: Value,
    /// The live value (`null` when absent).
    pub live: Value,
    /// Why, when it is not plain inequality (a binding conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What kind of bound id a field holds, if any: `key` is the object key
/// the field sits under, `parent` the key of the enclosing array or object.
fn id_kind(rebind: Rebind, key: &str, parent: Option<&str>) -> Option<&'static str> {
    let framework = match key {
        "task_id" => Some("task"),
        "executor_id" | "executor_ids" => Some("executor"),
        "operation_id" => Some("operation"),
        "id" if parent == Some("operations") => Some("operation"),
        _ => None,
    };
    if framework.is_some() || rebind == Rebind::FrameworkIds {
        return framework;
    }
    match (key, parent) {
        ("framework_id", _) | ("id", Some("framework_info")) => Some("framework"),
        ("offer_id" | "offer_ids", _) | ("id", Some("offers")) => Some("offer"),
        ("agent_id" | "slave_id", _) | ("id", Some("agent_info")) => Some("agent"),
        ("uuid", _) => Some("uuid"),
        ("container_id", _) => Some("container"),
        ("id", Some("master_info")) => Some("master"),
        ("hostname", _) => Some("hostname"),
        ("ip", _) => Some("ip"),
        ("port", _) => Some("port"),
        ("pid", _) => Some("pid"),
        ("executor_pid", _) => Some("executor_pid"),
        ("path", Some("url")) => Some("path"),
        _ => None,
    }
}

/// Fields that hold a moment, not a fact of the conversation.
const TIME_KEYS: [&str; 5] =
    ["timestamp", "registered_time", "reregistered_time", "unregistered_time", "unreachable_time"];

/// Compares `recorded` with `live` through `bindings` (binding what is new)
/// and returns every difference, in document order.
///
/// ```
/// use mesos_replay::compare::{Bindings, compare};
/// use serde_json::json;
/// let recorded = json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "o1"}], "filters": {"refuse_seconds": 5.0}}});
/// let live = json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "o1"}], "filters": {"refuse_seconds": 60.0}}});
/// let diffs = compare(&recorded, &live, &mut Bindings::default());
/// assert_eq!(diffs.len(), 1);
/// assert_eq!(diffs[0].path, "$.decline.filters.refuse_seconds");
/// assert_eq!((diffs[0].recorded.clone(), diffs[0].live.clone()), (json!(5.0), json!(60.0)));
/// ```
pub fn compare(recorded: &Value, live: &Value, bindings: &mut Bindings) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    let mut path = String::from("$");
    bind_pass(recorded, live, None, None, &mut path, bindings, &mut diffs);
    compare_pass(recorded, live, None, None, &mut path, bindings, &mut diffs);
    diffs
}

/// The values of an id object (`{"value": "x"}`), a list of them, or a
/// plain string or number (a uuid, a port), as text.
fn id_values(value: &Value) -> Vec<Option<String>> {
    match value {
        Value::Object(o) => vec![o.get("value").and_then(scalar)],
        Value::Array(items) => items.iter().flat_map(id_values).collect(),
        other => vec![scalar(other)],
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bind_pass(
    recorded: &Value,
    live: &Value,
    key: Option<&str>,
    parent: Option<&str>,
    path: &mut String,
    bindings: &mut Bindings,
    diffs: &mut Vec<FieldDiff>,
) {
    if let Some(kind) = key.and_then(|k| id_kind(bindings.rebind, k, parent)) {
        for (i, (r, l)) in id_values(recorded).into_iter().zip(id_values(live)).enumerate() {
            if let (Some(r), Some(l)) = (r, l)
                && let Err(reason) = bindings.bind(kind, &r, &l)
            {
                let at = id_path(path, recorded, i);
                diffs.push(FieldDiff { path: at, recorded: r.into(), live: l.into(), reason: Some(reason) });
            }
        }
        return;
    }
    match (recorded, live) {
        (Value::Object(r), Value::Object(l)) => {
            for (k, rv) in r {
                if let Some(lv) = l.get(k) {
                    let len = path.len();
                    push_key(path, k);
                    bind_pass(rv, lv, Some(k), key.or(parent), path, bindings, diffs);
                    path.truncate(len);
                }
            }
        }
        (Value::Array(r), Value::Array(l)) => {
            for (i, (rv, lv)) in r.iter().zip(l).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                // Elements of a list sit under the list's key.
                bind_pass(rv, lv, None, key, path, bindings, diffs);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn id_path(path: &str, value: &Value, i: usize) -> String {
    match value {
        Value::Array(_) => format!("{path}[{i}].value"),
        Value::Object(_) => format!("{path}.value"),
        _ => path.to_owned(),
    }
}

fn push_key(path: &mut String, key: &str) {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !key.is_empty() {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::String(key.to_owned())));
    }
}

fn compare_pass(
    recorded: &Value,
    live: &Value,
    key: Option<&str>,
    parent: Option<&str>,
    path: &mut String,
    bindings: &mut Bindings,
    diffs: &mut Vec<FieldDiff>,
) {
    if let Some(kind) = key.and_then(|k| id_kind(bindings.rebind, k, parent)) {
        // Compare the ids through the bindings (the first pass bound them).
        let mut through = recorded.clone();
        rewrite_ids(&mut through, kind, bindings);
        if through != *live && !diffs.iter().any(|d| d.path.starts_with(path.as_str())) {
            diffs.push(FieldDiff { path: path.clone(), recorded: recorded.clone(), live: live.clone(), reason: None });
        }
        return;
    }
    match (recorded, live) {
        (Value::Object(r), Value::Object(l)) => {
            for (k, rv) in r {
                if TIME_KEYS.contains(&k.as_str()) {
                    continue;
                }
                let len = path.len();
                push_key(path, k);
                match l.get(k) {
                    Some(lv) => compare_pass(rv, lv, Some(k), key.or(parent), path, bindings, diffs),
                    None => diffs.push(FieldDiff {
                        path: path.clone(),
                        recorded: rv.clone(),
                        live: Value::Null,
                        reason: Some("absent live".into()),
                    }),
                }
                path.truncate(len);
            }
            for (k, lv) in l {
                if !r.contains_key(k) && !TIME_KEYS.contains(&k.as_str()) {
                    let len = path.len();
                    push_key(path, k);
                    diffs.push(FieldDiff {
                        path: path.clone(),
                        recorded: Value::Null,
                        live: lv.clone(),
                        reason: Some("absent in the recording".into()),
                    });
                    path.truncate(len);
                }
            }
        }
        (Value::Array(r), Value::Array(l)) => {
            for i in 0..r.len().max(l.len()) {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                match (r.get(i), l.get(i)) {
                    (Some(rv), Some(lv)) => compare_pass(rv, lv, None, key, path, bindings, diffs),
                    (rv, lv) => diffs.push(FieldDiff {
                        path: path.clone(),
                        recorded: rv.cloned().unwrap_or(Value::Null),
                        live: lv.cloned().unwrap_or(Value::Null),
                        reason: Some(if rv.is_none() { "absent in the recording" } else { "absent live" }.into()),
                    }),
                }
                path.truncate(len);
            }
        }
        (Value::Number(r), Value::Number(l)) if r.as_f64() == l.as_f64() => {}
        (r, l) if r == l => {}
        (r, l) => diffs.push(FieldDiff { path: path.clone(), recorded: r.clone(), live: l.clone(), reason: None }),
    }
}

/// Replaces the ids of one kind inside an id object or list (or a plain
/// string or number) by their bound values.
fn rewrite_ids(value: &mut Value, kind: &'static str, bindings: &Bindings) {
    match value {
        Value::Object(o) => {
            if let Some(id) = o.get_mut("value") {
                rewrite_ids(id, kind, bindings);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_ids(item, kind, bindings)),
        Value::String(id) => {
            if let Some(live) = bindings.live(kind, id) {
                *id = live.to_owned();
            }
        }
        Value::Number(n) => {
            if let Some(live) = bindings.live(kind, &n.to_string())
                && let Ok(number) = live.parse::<serde_json::Number>()
            {
                *n = number;
            }
        }
        _ => {}
    }
}

/// Rewrites every bound framework-chosen id in a recorded message with its
/// live value; returns whether anything changed.
///
/// ```
/// use mesos_replay::compare::{Bindings, compare, rewrite};
/// use serde_json::json;
/// let mut bindings = Bindings::default();
/// compare(&json!({"task_id": {"value": "t-1"}}), &json!({"task_id": {"value": "t-9"}}), &mut bindings);
/// let mut update = json!({"type": "UPDATE", "update": {"status": {"task_id": {"value": "t-1"}, "state": "TASK_RUNNING"}}});
/// assert!(rewrite(&mut update, &bindings));
/// assert_eq!(update["update"]["status"]["task_id"]["value"], "t-9");
/// ```
pub fn rewrite(value: &mut Value, bindings: &Bindings) -> bool {
    let before = value.clone();
    rewrite_in(value, None, None, bindings);
    *value != before
}

fn rewrite_in(value: &mut Value, key: Option<&str>, parent: Option<&str>, bindings: &Bindings) {
    if let Some(kind) = key.and_then(|k| id_kind(bindings.rebind, k, parent)) {
        rewrite_ids(value, kind, bindings);
        return;
    }
    match value {
        Value::Object(o) => {
            for (k, v) in o.iter_mut() {
                rewrite_in(v, Some(k), key.or(parent), bindings);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_in(item, None, key, bindings)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn master_chosen_ids_must_match() {
        let mut b = Bindings::default();
        let r = json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "o1"}]}});
        let l = json!({"type": "DECLINE", "decline": {"offer_ids": [{"value": "o2"}]}});
        let diffs = compare(&r, &l, &mut b);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "$.decline.offer_ids[0].value");
        assert_eq!((diffs[0].recorded.clone(), diffs[0].live.clone()), (json!("o1"), json!("o2")));
        assert!(b.all().is_empty());
    }

    #[test]
    fn ids_bind_whatever_the_field_order_and_compare_through_the_binding() {
        let mut b = Bindings::default();
        let r = json!({"task_infos": [{"name": "n", "task_id": {"value": "a"}}, {"task_id": {"value": "b"}}]});
        let l = json!({"task_infos": [{"task_id": {"value": "x"}, "name": "n"}, {"task_id": {"value": "y"}}]});
        assert_eq!(compare(&r, &l, &mut b), vec![]);
        assert_eq!(b.all().len(), 2);
        // Two recorded ids cannot map to one live id.
        let r2 = json!({"task_id": {"value": "c"}});
        let l2 = json!({"task_id": {"value": "x"}});
        let diffs = compare(&r2, &l2, &mut b);
        assert_eq!(diffs.len(), 1);
        assert!(diffs[0].reason.as_deref().unwrap().contains("already bound"), "{diffs:?}");
    }

    #[test]
    fn operation_ids_inside_accept_are_framework_chosen() {
        let mut b = Bindings::default();
        let r = json!({"accept": {"operations": [{"type": "LAUNCH", "id": {"value": "op1"}}]}});
        let l = json!({"accept": {"operations": [{"type": "LAUNCH", "id": {"value": "op7"}}]}});
        assert_eq!(compare(&r, &l, &mut b), vec![]);
        assert_eq!(b.live("operation", "op1"), Some("op7"));
    }

    #[test]
    fn absent_extra_and_different_fields_each_get_a_path() {
        let mut b = Bindings::default();
        let r = json!({"a": 1.0, "b": [1, 2], "c": {"d": "x"}, "e": "gone"});
        let l = json!({"a": 1, "b": [1, 3, 4], "c": {"d": "y"}, "f": true});
        let paths: Vec<_> = compare(&r, &l, &mut b).into_iter().map(|d| d.path).collect();
        assert_eq!(paths, ["$.b[1]", "$.b[2]", "$.c.d", "$.e", "$.f"]);
    }

    #[test]
    fn times_are_not_compared() {
        let mut b = Bindings::default();
        let r = json!({"status": {"state": "TASK_RUNNING", "timestamp": 1.5}});
        let l = json!({"status": {"timestamp": 2.5, "state": "TASK_RUNNING"}});
        assert_eq!(compare(&r, &l, &mut b), vec![]);
        assert_eq!(compare(&r, &json!({"status": {"state": "TASK_RUNNING"}}), &mut b), vec![]);
    }

    #[test]
    fn master_ids_and_environment_bind_when_asked() {
        let mut b = Bindings::new(Rebind::MasterIds);
        let a = json!({"type": "SUBSCRIBED", "subscribed": {
            "framework_id": {"value": "m1-0000"},
            "master_info": {"id": "m1", "ip": 16777343, "port": 5050, "pid": "master@127.0.0.1:5050",
                            "hostname": "h", "version": "1.11.0"}}});
        let l = json!({"type": "SUBSCRIBED", "subscribed": {
            "framework_id": {"value": "m2-0000"},
            "master_info": {"id": "m2", "ip": 16777343, "port": 38001, "pid": "master@127.0.0.1:38001",
                            "hostname": "h", "version": "1.11.0"}}});
        assert_eq!(compare(&a, &l, &mut b), vec![]);
        assert_eq!(b.live("port", "5050"), Some("38001"));
        // What a master does not choose is still compared.
        let mut other = l.clone();
        other["subscribed"]["master_info"]["version"] = json!("1.12.0");
        let diffs = compare(&a, &other, &mut b);
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].path, "$.subscribed.master_info.version");
        // A rewritten recorded message reads as the live one, numbers too.
        let mut rewritten = a.clone();
        assert!(rewrite(&mut rewritten, &b));
        assert_eq!(rewritten, l);
    }

    #[test]
    fn master_ids_bind_one_to_one_whatever_the_offer_order() {
        let mut b = Bindings::new(Rebind::MasterIds);
        let offer = |id: &str, agent: &str| json!({"id": {"value": id}, "agent_id": {"value": agent}});
        let a = json!({"offers": {"offers": [offer("o1", "s0"), offer("o2", "s1")]}});
        let l = json!({"offers": {"offers": [offer("p1", "t1"), offer("p2", "t0")]}});
        assert_eq!(compare(&a, &l, &mut b), vec![]);
        assert_eq!(b.live("agent", "s0"), Some("t1"));
        // The framework answers the first offer on both sides: the same call.
        let accept = |offer: &str, agent: &str, uuid: &str| {
            json!({"accept": {"offer_ids": [{"value": offer}], "operations": [{"type": "LAUNCH", "launch":
                {"task_infos": [{"task_id": {"value": "t"}, "agent_id": {"value": agent}}]}}]},
                   "acknowledge": {"uuid": uuid}})
        };
        assert_eq!(compare(&accept("o1", "s0", "u1"), &accept("p1", "t1", "v1"), &mut b), vec![]);
        // Another agent than the offer's is a difference, said with its binding.
        let diffs = compare(&accept("o1", "s1", "u1"), &accept("p1", "t1", "v1"), &mut b);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert_eq!(diffs[0].path, "$.accept.operations[0].launch.task_infos[0].agent_id.value");
        assert!(diffs[0].reason.as_deref().unwrap().contains("`s1` is bound to `t0`"), "{diffs:?}");
        // A uuid (a plain string) binds like an id object.
        let diffs = compare(&accept("o1", "s0", "u1"), &accept("p1", "t1", "v2"), &mut b);
        assert_eq!(diffs[0].path, "$.acknowledge.uuid");
        // Without the option, a master's ids must be equal.
        assert_eq!(compare(&a, &l, &mut Bindings::default()).len(), 4);
    }

    #[test]
    fn executor_id_lists_rewrite() {
        let mut b = Bindings::default();
        compare(&json!({"executor_id": {"value": "e1"}}), &json!({"executor_id": {"value": "E"}}), &mut b);
        let mut offer = json!({"offers": [{"executor_ids": [{"value": "e1"}, {"value": "e2"}]}]});
        assert!(rewrite(&mut offer, &b));
        assert_eq!(offer, json!({"offers": [{"executor_ids": [{"value": "E"}, {"value": "e2"}]}]}));
    }
}
