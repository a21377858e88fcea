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

/// One binding of a framework-chosen id.
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
    /// `task`, `executor` or `operation`.
    pub kind: &'static str,
    /// The id in the recording.
    pub recorded: String,
    /// The id the live framework chose.
    pub live: String,
}

/// The bindings made so far, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    order: Vec<Binding>,
    forward: HashMap<(&'static str, String), usize>,
    backward: HashMap<(&'static str, String), usize>,
    /// How many bindings map an id to a different value.
    renamed: usize,
}

impl Bindings {
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

/// What kind of framework-chosen id a field holds, if any: `key` is the
/// object key the field sits under, `parent` the key of the enclosing array
/// or object.
fn id_kind(key: &str, parent: Option<&str>) -> Option<&'static str> {
    match key {
        "task_id" => Some("task"),
        "executor_id" | "executor_ids" => Some("executor"),
        "operation_id" => Some("operation"),
        "id" if parent == Some("operations") => Some("operation"),
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

/// The string values of an id object (`{"value": "x"}`) or a list of them.
fn id_values(value: &Value) -> Vec<Option<&str>> {
    match value {
        Value::Object(o) => vec![o.get("value").and_then(Value::as_str)],
        Value::Array(items) => items.iter().flat_map(id_values).collect(),
        _ => vec![None],
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
    if let Some(kind) = key.and_then(|k| id_kind(k, parent)) {
        for (i, (r, l)) in id_values(recorded).into_iter().zip(id_values(live)).enumerate() {
            if let (Some(r), Some(l)) = (r, l)
                && let Err(reason) = bindings.bind(kind, r, l)
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
        _ => format!("{path}.value"),
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
    if let Some(kind) = key.and_then(|k| id_kind(k, parent)) {
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

/// Replaces the ids of one kind inside an id object or list by their bound values.
fn rewrite_ids(value: &mut Value, kind: &'static str, bindings: &Bindings) {
    match value {
        Value::Object(o) => {
            if let Some(Value::String(id)) = o.get_mut("value")
                && let Some(live) = bindings.live(kind, id)
            {
                *id = live.to_owned();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_ids(item, kind, bindings)),
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
    if let Some(kind) = key.and_then(|k| id_kind(k, parent)) {
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
    fn executor_id_lists_rewrite() {
        let mut b = Bindings::default();
        compare(&json!({"executor_id": {"value": "e1"}}), &json!({"executor_id": {"value": "E"}}), &mut b);
        let mut offer = json!({"offers": [{"executor_ids": [{"value": "e1"}, {"value": "e2"}]}]});
        assert!(rewrite(&mut offer, &b));
        assert_eq!(offer, json!({"offers": [{"executor_ids": [{"value": "E"}, {"value": "e2"}]}]}));
    }
}
