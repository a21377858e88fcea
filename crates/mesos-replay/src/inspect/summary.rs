//! `inspect --summary`: a [`Story`] in a few lines a person reads.

use std::io::{self, Write};

use super::filter::Filter;
use super::story::{At, Outcome, Story, TaskStory};

/// How many offers `--summary` lists under "offers held longest".
pub const OFFERS_LISTED: usize = 10;

fn secs(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000_000, ns % 1_000_000_000 / 1_000_000)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn at(at: At) -> String {
    format!("{} #{}", secs(at.t_ns), at.seq)
}

fn answer(status: Option<u16>) -> String {
    status.map_or_else(|| "no answer".to_owned(), |s| s.to_string())
}

fn wanted(filter: &[String], value: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == value)
}

fn task_selected(task: &TaskStory, filter: &Filter) -> bool {
    wanted(&filter.tasks, &task.id)
        && wanted(&filter.frameworks, &task.framework)
        && (filter.agents.is_empty() || task.agent.as_ref().is_some_and(|a| wanted(&filter.agents, a)))
        && filter.offers.is_empty()
}

/// One task's life in one line: launched, each update (acknowledged or
/// not, re-sent), each kill, in order.
fn life(task: &TaskStory) -> String {
    let mut steps: Vec<(usize, String)> = Vec::new();
    if let Some((launch, status)) = task.launched {
        steps.push((launch.entry, format!("launched {} ({})", at(launch), answer(status))));
    }
    for update in &task.updates {
        let mut text = format!("{} {}", update.state, at(update.at));
        if update.resent_of.is_some() {
            text.push_str(" re-sent");
        }
        match (&update.uuid, update.ack) {
            (_, Some((ack, status))) => text.push_str(&format!(" (acked {}, {})", secs(ack.t_ns), answer(status))),
            (Some(_), None) => text.push_str(" (not acked)"),
            (None, None) => {}
        }
        steps.push((update.at.entry, text));
    }
    for kill in &task.kills {
        steps.push((kill.at.entry, format!("KILL {} ({})", at(kill.at), answer(kill.answer))));
    }
    steps.sort_by_key(|(entry, _)| *entry);
    steps.into_iter().map(|(_, s)| s).collect::<Vec<_>>().join(" → ")
}

/// Writes the summary of `story`, its rows chosen by `filter`'s ids.
///
/// ```
/// use mesos_replay::inspect::story::Story;
/// use mesos_replay::inspect::{filter::Filter, write_summary};
/// let mut out = Vec::new();
/// write_summary(&Story::default(), &Filter::default(), &mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().starts_with("0 entries, 0.000 s: 0 frameworks, 0 tasks, 0 offers, 0 notes\n"));
/// ```
pub fn write_summary(story: &Story, filter: &Filter, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{}, {} s: {}, {}, {}, {}",
        plural(story.entries as usize, "entry", "entries"),
        secs(story.end_ns),
        plural(story.frameworks.len(), "framework", "frameworks"),
        plural(story.tasks.len(), "task", "tasks"),
        plural(story.offers.len(), "offer", "offers"),
        plural(story.notes.len(), "note", "notes"),
    )?;
    writeln!(out, "\nframeworks (calls and events by type)")?;
    for f in story.frameworks.iter().filter(|f| wanted(&filter.frameworks, &f.id)) {
        let counts = |map: &std::collections::BTreeMap<String, u64>| {
            let total: u64 = map.values().sum();
            let each: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!("{total}: {}", each.join(", "))
        };
        let id = if f.id.is_empty() { "(no framework id)" } else { &f.id };
        writeln!(out, "  {id}")?;
        writeln!(out, "    calls {}", counts(&f.calls))?;
        writeln!(out, "    events {}", counts(&f.events))?;
    }
    writeln!(out, "\ntasks (time s #seq; answers and acknowledgements)")?;
    for task in story.tasks.iter().filter(|t| task_selected(t, filter)) {
        let agent = task.agent.as_deref().map(|a| format!(" on {a}")).unwrap_or_default();
        let framework = if story.frameworks.len() > 1 { format!(" of {}", task.framework) } else { String::new() };
        writeln!(out, "  {}{framework}{agent}: {}", task.id, life(task))?;
    }
    let unacked: Vec<_> = story.unacknowledged().filter(|(t, _)| task_selected(t, filter)).collect();
    writeln!(out, "\nunacknowledged updates: {}", unacked.len())?;
    for (task, update) in unacked {
        let framework = if story.frameworks.len() > 1 { format!(" of {}", task.framework) } else { String::new() };
        writeln!(
            out,
            "  {}{framework} {} uuid={} sent {}{}",
            task.id,
            update.state,
            update.uuid.as_deref().unwrap_or_default(),
            at(update.at),
            if update.resent_of.is_some() { " (re-sent)" } else { "" }
        )?;
    }
    let mut offers: Vec<_> = story
        .offers
        .iter()
        .filter(|o| {
            let tasks: &[String] = match &o.outcome {
                Outcome::Accepted { tasks, .. } => tasks,
                _ => &[],
            };
            wanted(&filter.offers, &o.id)
                && wanted(&filter.agents, &o.agent)
                && wanted(&filter.frameworks, &o.framework)
                && (filter.tasks.is_empty() || tasks.iter().any(|t| filter.tasks.contains(t)))
        })
        .collect();
    offers.sort_by(|a, b| {
        b.held_ns(story.end_ns).cmp(&a.held_ns(story.end_ns)).then(a.offered.entry.cmp(&b.offered.entry))
    });
    writeln!(out, "\noffers held longest: {} of {}", offers.len().min(OFFERS_LISTED), offers.len())?;
    for o in offers.iter().take(OFFERS_LISTED) {
        let outcome = match (&o.outcome, o.ended) {
            (Outcome::Accepted { tasks, operations }, Some((end, status))) => {
                let what = if tasks.is_empty() { operations.join(",") } else { format!("tasks {}", tasks.join(",")) };
                format!("accepted {} ({}): {what}", at(end), answer(status))
            }
            (Outcome::Declined { refuse_seconds }, Some((end, status))) => {
                let filter = refuse_seconds.map(|s| format!(", refuse_seconds {s}")).unwrap_or_default();
                format!("declined {} ({}{filter})", at(end), answer(status))
            }
            (Outcome::Rescinded, Some((end, _))) => format!("rescinded {}", at(end)),
            _ => "outstanding at the end".to_owned(),
        };
        writeln!(
            out,
            "  {} s  {}  on {} ({})  {}  offered {}, {outcome}",
            secs(o.held_ns(story.end_ns)),
            o.id,
            o.agent,
            o.hostname,
            o.resources,
            at(o.offered)
        )?;
    }
    if !story.notes.is_empty() {
        writeln!(out, "\nnotes: {}", story.notes.len())?;
        for note in &story.notes {
            let gap = if note.incomplete { " (lost data)" } else { "" };
            writeln!(out, "  {}{gap}: {}", at(note.at), note.message)?;
        }
    }
    Ok(())
}
