//! A read-only picture of the master's cluster, for the endpoints a master
//! answers outside the scheduler API (`/master/state`, `/metrics/snapshot`).
//!
//! A child module of [`super`] so that it reads the master's private state
//! without the master exposing its internals: every field it reads is
//! copied into the plain public structs below, and nothing here changes
//! the master.

use mesos_codec::v1::{FrameworkInfo, MasterInfo, Offer, TaskInfo, TaskState, TaskStatus};

use super::{Master, is_terminal};
use crate::sim::resources::Resources;

/// The cluster as the master sees it now.
#[derive(Clone, Debug)]
pub struct View {
    /// `master_info` as the SUBSCRIBED event carries it.
    pub info: MasterInfo,
    /// The agents, in order (`slave0` first).
    pub agents: Vec<AgentView>,
    /// The frameworks ever subscribed, in order of subscription.
    pub frameworks: Vec<FrameworkView>,
    /// The names of the roles the resources' [`Role`](crate::sim::resources::Role)s
    /// index.
    pub roles: Vec<String>,
}

/// One agent.
#[derive(Clone, Debug)]
pub struct AgentView {
    /// `<master id>-S<n>`.
    pub id: String,
    /// `slave<n>`.
    pub hostname: String,
    /// Its address.
    pub ip: String,
    /// Everything it has.
    pub total: Resources,
    /// What outstanding offers hold.
    pub offered: Resources,
    /// What live tasks use.
    pub used: Resources,
}

/// One framework.
#[derive(Clone, Debug)]
pub struct FrameworkView {
    /// Its id.
    pub id: String,
    /// Its `FrameworkInfo` as last subscribed (or updated).
    pub info: FrameworkInfo,
    /// Whether a subscription stream is open.
    pub connected: bool,
    /// Whether it was removed (torn down, or failed over too late).
    pub removed: bool,
    /// Whether it asked for no offers (SUPPRESS, or suppressed roles).
    pub suppressed: bool,
    /// How many agents it filters out now.
    pub filters: usize,
    /// Its outstanding offers, oldest first.
    pub offers: Vec<OfferView>,
    /// Its tasks the master still knows (live, or terminal and not yet
    /// acknowledged), by id.
    pub tasks: Vec<TaskView>,
}

/// One outstanding offer.
#[derive(Clone, Debug)]
pub struct OfferView {
    /// `<master id>-O<n>`.
    pub id: String,
    /// The agent's id.
    pub agent_id: String,
    /// What it offers.
    pub resources: Resources,
    /// The offer as its framework got it (`Master::offer`); `None` from
    /// [`Master::view_offer`].
    pub proto: Option<Offer>,
}

/// One task.
#[derive(Clone, Debug)]
pub struct TaskView {
    /// The `TaskInfo` it was launched with.
    pub info: TaskInfo,
    /// Its agent's id.
    pub agent_id: String,
    /// What it uses.
    pub resources: Resources,
    /// Its latest state (the last update its agent made, sent or not).
    pub state: TaskState,
    /// The status updates its agent has still to see acknowledged, the
    /// first one sent (or about to be).
    pub pending: Vec<TaskStatus>,
}

impl Master {
    /// The cluster as it is now (see [`View`]).
    pub fn view(&self) -> View {
        let agent_id = |a: usize| self.agents[a].id.clone();
        let mut agents: Vec<AgentView> = self
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| AgentView {
                id: a.id.clone(),
                hostname: self.hostname.clone(),
                ip: self.ip.clone(),
                total: self.allocator.total(i).unallocated(),
                offered: Resources::default(),
                used: Resources::default(),
            })
            .collect();
        let mut frameworks: Vec<FrameworkView> = self
            .frameworks
            .iter()
            .enumerate()
            .map(|(i, f)| FrameworkView {
                id: f.id.clone(),
                info: f.info.clone(),
                connected: f.subscription.is_some(),
                removed: f.removed,
                suppressed: self.allocator.suppressed(i),
                filters: self.allocator.filters(i),
                offers: Vec::new(),
                tasks: f
                    .tasks
                    .values()
                    .map(|t| TaskView {
                        info: t.info.clone(),
                        agent_id: agent_id(t.agent),
                        resources: t.resources.clone(),
                        state: t.state,
                        pending: t.updates.iter().cloned().collect(),
                    })
                    .collect(),
            })
            .collect();
        for offer in self.offers.values() {
            agents[offer.agent].offered.add_all(&offer.resources.unallocated());
            let role = offer.resources.iter().find_map(|r| r.role).unwrap_or_default();
            frameworks[offer.framework].offers.push(OfferView {
                id: offer.id.clone(),
                agent_id: agent_id(offer.agent),
                resources: offer.resources.clone(),
                proto: Some(self.offer_proto(&offer.id, offer.framework, offer.agent, role, &offer.resources)),
            });
        }
        for f in self.frameworks.iter().filter(|f| !f.removed) {
            for t in f.tasks.values().filter(|t| !is_terminal(t.state)) {
                agents[t.agent].used.add_all(&t.resources.unallocated());
            }
        }
        View { info: self.master_info(), agents, frameworks, roles: self.allocator.role_names().to_vec() }
    }
}

impl Master {
    /// The `FrameworkInfo` of framework `id`, as last subscribed.
    pub fn framework_info(&self, id: &str) -> Option<&FrameworkInfo> {
        self.by_id.get(id).map(|&fw| &self.frameworks[fw].info)
    }

    /// Task `task_id` of framework `framework_id`, while the master holds
    /// it (until its terminal update is acknowledged).
    pub fn view_task(&self, framework_id: &str, task_id: &str) -> Option<TaskView> {
        let f = self.by_id.get(framework_id).map(|&fw| &self.frameworks[fw]).filter(|f| !f.removed)?;
        let t = f.tasks.get(task_id)?;
        Some(TaskView {
            info: t.info.clone(),
            agent_id: self.agents[t.agent].id.clone(),
            resources: t.resources.clone(),
            state: t.state,
            pending: t.updates.iter().cloned().collect(),
        })
    }
}

impl Master {
    /// The outstanding offer `id`.
    pub fn view_offer(&self, id: &str) -> Option<OfferView> {
        let o = self.offers.get(&self.offer_key(id)?)?;
        Some(OfferView {
            id: o.id.clone(),
            agent_id: self.agents[o.agent].id.clone(),
            resources: o.resources.clone(),
            proto: None,
        })
    }
}

impl Master {
    /// How many frameworks were removed so far.
    pub fn removed_frameworks(&self) -> usize {
        self.frameworks.iter().filter(|f| f.removed).count()
    }
}
