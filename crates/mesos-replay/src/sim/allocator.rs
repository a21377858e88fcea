//! The hierarchical allocator of a Mesos 1.11 master
//! (`src/master/allocator/mesos/hierarchical.cpp`) with its DRF sorters
//! (`sorter/drf/sorter.cpp`), as far as a cluster of unreserved resources
//! without quota needs it:
//!
//! - Each agent keeps its total, what each framework was offered or is
//!   using there, and what is available (`total - offered or allocated`),
//!   with Mesos's [`Resources`] arithmetic, so offers list their
//!   resources in the master's order.
//! - An allocation run visits the candidate agents in random order; for
//!   each, the roles in DRF order, and in each role the frameworks in DRF
//!   order: the first framework that does not filter the agent's available
//!   resources is offered all of them.
//! - DRF order: the dominant share of `cpus`, `mem` and `disk` (offered or
//!   allocated, over the cluster's total), then the number of allocations
//!   the client ever received, then the name (`compareDRF`). The count is
//!   what makes frameworks with equal shares take turns.
//! - Resources that come back (declined, left over by a launch, freed by a
//!   task's end) are *not* offered at once: the master allocates every
//!   `allocation_interval` (1 s), and at once only when a framework is
//!   added or activated, or revives.
//! - A refusal (DECLINE, or what an ACCEPT left over) installs a filter of
//!   `max(allocation_interval, refuse_seconds)` (default 5 s, at most 365
//!   days, 0 for none) on the refused resources of that agent: it holds
//!   only while what the agent has is part of what was refused.
//! - Offers go only to resources that meet `--min_allocatable_resources`
//!   (`cpus:0.01|mem:32`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::ids::Rng;
use super::resources::{Quantities, Resources, Role};

/// `Filters().refuse_seconds()`.
pub const DEFAULT_REFUSE_SECONDS: f64 = 5.0;

/// The longest filter (`Days(365)`).
const MAX_REFUSE: Duration = Duration::from_secs(365 * 24 * 3600);

/// One client of a DRF sorter (a role, or a framework in a role).
#[derive(Debug)]
struct Client {
    /// The client's path: the role's name, the framework's id.
    name: String,
    active: bool,
    /// `cpus`, `mem`, `disk` offered or allocated, in thousandths.
    allocation: Quantities,
    /// How many allocations it received (`Allocation::count`; never goes down).
    count: u64,
    share: f64,
}

/// A flat DRF sorter (`DRFSorter`, without hierarchical roles or weights).
/// Clients are keyed by small dense indices (frameworks, roles).
#[derive(Debug, Default)]
struct Sorter {
    clients: Vec<Option<Client>>,
    len: usize,
    /// The active clients, in DRF order while not `dirty`.
    order: Vec<usize>,
    dirty: bool,
}

fn share(allocation: &Quantities, total: &Quantities) -> f64 {
    let mut share = 0.0_f64;
    for (a, t) in allocation.iter().zip(total) {
        if *t > 0 {
            share = share.max((*a as f64 / 1000.0) / (*t as f64 / 1000.0));
        }
    }
    share
}

fn drf_less(a: &Client, b: &Client) -> std::cmp::Ordering {
    a.share.total_cmp(&b.share).then(a.count.cmp(&b.count)).then_with(|| a.name.cmp(&b.name))
}

impl Sorter {
    fn client(&self, key: usize) -> Option<&Client> {
        self.clients.get(key).and_then(Option::as_ref)
    }

    fn client_mut(&mut self, key: usize) -> Option<&mut Client> {
        self.clients.get_mut(key).and_then(Option::as_mut)
    }

    fn contains(&self, key: usize) -> bool {
        self.client(key).is_some()
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn add(&mut self, key: usize, name: String) {
        if self.clients.len() <= key {
            self.clients.resize_with(key + 1, || None);
        }
        if self.clients[key].is_none() {
            self.len += 1;
        }
        self.clients[key] = Some(Client { name, active: false, allocation: [0; 3], count: 0, share: 0.0 });
        self.dirty = true;
    }

    fn remove(&mut self, key: usize) {
        if self.clients.get_mut(key).and_then(Option::take).is_some() {
            self.len -= 1;
            self.order.retain(|k| *k != key);
            self.dirty = true;
        }
    }

    fn activate(&mut self, key: usize) {
        if let Some(c) = self.client_mut(key)
            && !c.active
        {
            c.active = true;
            self.order.push(key);
            self.dirty = true;
        }
    }

    fn deactivate(&mut self, key: usize) {
        if let Some(c) = self.client_mut(key)
            && c.active
        {
            c.active = false;
            self.order.retain(|k| *k != key);
        }
    }

    fn allocation(&self, key: usize) -> Quantities {
        self.client(key).map_or([0; 3], |c| c.allocation)
    }

    /// `allocated()`: the client's allocation grows and it moves to its
    /// place (the order stays sorted if it was).
    fn allocated(&mut self, key: usize, q: &Quantities, total: &Quantities) {
        let dirty = self.dirty;
        let Some(c) = self.client_mut(key) else { return };
        for (a, x) in c.allocation.iter_mut().zip(q) {
            *a += x;
        }
        c.count += 1;
        if dirty || !c.active {
            return;
        }
        c.share = share(&c.allocation, total);
        let Some(mut pos) = self.order.iter().position(|k| *k == key) else { return };
        let clients = &self.clients;
        let get = |k: usize| clients[k].as_ref().expect("an active client exists");
        let less = |a: usize, b: usize| drf_less(get(a), get(b)).is_lt();
        while pos > 0 && less(key, self.order[pos - 1]) {
            self.order.swap(pos, pos - 1);
            pos -= 1;
        }
        while pos + 1 < self.order.len() && less(self.order[pos + 1], key) {
            self.order.swap(pos, pos + 1);
            pos += 1;
        }
    }

    fn unallocated(&mut self, key: usize, q: &Quantities) {
        if let Some(c) = self.client_mut(key) {
            for (a, x) in c.allocation.iter_mut().zip(q) {
                *a -= x;
            }
            self.dirty = true;
        }
    }

    /// The active clients in DRF order.
    fn sort(&mut self, total: &Quantities) -> &[usize] {
        if self.dirty {
            for &key in &self.order {
                if let Some(c) = self.clients.get_mut(key).and_then(Option::as_mut) {
                    c.share = share(&c.allocation, total);
                }
            }
            let clients = &self.clients;
            let get = |k: usize| clients[k].as_ref().expect("an active client exists");
            self.order.sort_by(|&a, &b| drf_less(get(a), get(b)));
            self.dirty = false;
        }
        &self.order
    }
}

/// A refused-offer filter.
#[derive(Debug)]
struct Filter {
    /// The refused resources, without allocation role.
    refused: Resources,
    expires: Duration,
}

#[derive(Debug)]
struct Framework {
    id: String,
    roles: BTreeSet<Role>,
    suppressed: BTreeSet<Role>,
    active: bool,
    /// (role, agent) → filters.
    filters: BTreeMap<(Role, usize), Vec<Filter>>,
}

#[derive(Debug)]
struct Agent {
    total: Resources,
    /// Framework → what it was offered or uses here (`offeredOrAllocated`).
    offered_or_allocated: BTreeMap<usize, Resources>,
    total_offered_or_allocated: Resources,
    available: Resources,
}

impl Agent {
    fn update_available(&mut self) {
        // `total - totalOfferedOrAllocated` with the allocation roles stripped.
        self.available.clone_from(&self.total);
        self.available.subtract_all_unallocated(&self.total_offered_or_allocated);
    }

    /// `Slave::decreaseAvailable`.
    fn offered(&mut self, fw: usize, resources: &Resources) {
        self.offered_or_allocated.entry(fw).or_default().add_all(resources);
        self.total_offered_or_allocated.add_all(resources);
        self.update_available();
    }

    /// `Slave::increaseAvailable`.
    fn recovered(&mut self, fw: usize, resources: &Resources) {
        self.total_offered_or_allocated.subtract_all(resources);
        if let Some(mine) = self.offered_or_allocated.get_mut(&fw) {
            mine.subtract_all(resources);
            if mine.is_empty() {
                self.offered_or_allocated.remove(&fw);
            }
        }
        self.update_available();
    }
}

/// What an allocation run offers: `resources` of `agent`, allocated to
/// `role`, for framework `framework`.
#[derive(Debug)]
pub struct Offerable {
    /// The framework (the master's index).
    pub framework: usize,
    /// The role.
    pub role: Role,
    /// The agent (its index).
    pub agent: usize,
    /// The resources, allocated to `role`, in offer order.
    pub resources: Resources,
}

/// The allocator. Frameworks and agents are the master's indices.
#[derive(Debug)]
pub struct Allocator {
    interval: Duration,
    agents: Vec<Agent>,
    total: Quantities,
    frameworks: Vec<Option<Framework>>,
    role_names: Vec<String>,
    roles: Sorter,
    /// Role → its frameworks' sorter.
    framework_sorters: BTreeMap<Role, Sorter>,
}

impl Allocator {
    /// An allocator allocating every `interval`.
    pub fn new(interval: Duration) -> Allocator {
        Allocator {
            interval,
            agents: Vec::new(),
            total: [0; 3],
            frameworks: Vec::new(),
            role_names: Vec::new(),
            roles: Sorter::default(),
            framework_sorters: BTreeMap::new(),
        }
    }

    /// `allocation_interval`.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Adds an agent with these resources (`addSlave`); its index is the
    /// number of agents before it.
    pub fn add_agent(&mut self, total: Resources) {
        let q = total.quantities();
        for (t, x) in self.total.iter_mut().zip(q) {
            *t += x;
        }
        let mut agent = Agent {
            total,
            offered_or_allocated: BTreeMap::new(),
            total_offered_or_allocated: Resources::new(),
            available: Resources::new(),
        };
        agent.update_available();
        self.agents.push(agent);
        self.roles.dirty = true;
        for sorter in self.framework_sorters.values_mut() {
            sorter.dirty = true;
        }
    }

    /// Everything `agent` has.
    pub fn total(&self, agent: usize) -> &Resources {
        &self.agents[agent].total
    }

    /// Whether framework `fw` suppressed offers to one of its roles.
    pub fn suppressed(&self, fw: usize) -> bool {
        self.frameworks.get(fw).and_then(Option::as_ref).is_some_and(|f| !f.suppressed.is_empty())
    }

    /// How many refused-offer filters framework `fw` has in force.
    pub fn filters(&self, fw: usize) -> usize {
        self.frameworks.get(fw).and_then(Option::as_ref).map_or(0, |f| f.filters.values().map(Vec::len).sum())
    }

    /// What `agent` has available.
    pub fn available(&self, agent: usize) -> &Resources {
        &self.agents[agent].available
    }

    fn framework(&mut self, fw: usize) -> Option<&mut Framework> {
        self.frameworks.get_mut(fw).and_then(Option::as_mut)
    }

    fn track_under_role(&mut self, fw: usize, role: Role) {
        let name = self.role_names.get(usize::from(role)).cloned().unwrap_or_default();
        if !self.framework_sorters.contains_key(&role) {
            self.roles.add(usize::from(role), name);
            self.roles.activate(usize::from(role));
            self.framework_sorters.insert(role, Sorter::default());
        }
        let id = self.frameworks[fw].as_ref().map(|f| f.id.clone()).unwrap_or_default();
        let sorter = self.framework_sorters.get_mut(&role).expect("inserted above");
        if !sorter.contains(fw) {
            sorter.add(fw, id);
        }
    }

    /// `tryUntrackFrameworkUnderRole`: only once it holds nothing there.
    fn try_untrack_under_role(&mut self, fw: usize, role: Role) -> bool {
        let Some(sorter) = self.framework_sorters.get_mut(&role) else { return true };
        if sorter.allocation(fw) != [0; 3] {
            return false;
        }
        sorter.remove(fw);
        if sorter.is_empty() {
            self.framework_sorters.remove(&role);
            self.roles.remove(usize::from(role));
        }
        true
    }

    /// Makes `name` a role known by index.
    pub fn role(&mut self, name: &str) -> Role {
        match self.role_names.iter().position(|r| r == name) {
            Some(n) => n as Role,
            None => {
                self.role_names.push(name.to_owned());
                (self.role_names.len() - 1) as Role
            }
        }
    }

    /// The role names, by index.
    pub fn role_names(&self) -> &[String] {
        &self.role_names
    }

    /// `addFramework`: a framework subscribed to `roles`, some suppressed.
    pub fn add_framework(&mut self, fw: usize, id: &str, roles: BTreeSet<Role>, suppressed: BTreeSet<Role>) {
        if self.frameworks.len() <= fw {
            self.frameworks.resize_with(fw + 1, || None);
        }
        self.frameworks[fw] = Some(Framework {
            id: id.to_owned(),
            roles: roles.clone(),
            suppressed,
            active: true,
            filters: BTreeMap::new(),
        });
        for role in roles {
            self.track_under_role(fw, role);
            let suppressed = self.frameworks[fw].as_ref().is_some_and(|f| f.suppressed.contains(&role));
            if let Some(sorter) = self.framework_sorters.get_mut(&role) {
                if suppressed { sorter.deactivate(fw) } else { sorter.activate(fw) }
            }
        }
    }

    /// `removeFramework`: everything it was offered or uses is available again.
    pub fn remove_framework(&mut self, fw: usize) {
        for agent in 0..self.agents.len() {
            if let Some(resources) = self.agents[agent].offered_or_allocated.get(&fw).cloned() {
                self.untrack(fw, &resources);
                self.agents[agent].recovered(fw, &resources);
            }
        }
        let roles: Vec<Role> = self.framework(fw).map(|f| f.roles.iter().copied().collect()).unwrap_or_default();
        for role in roles {
            self.try_untrack_under_role(fw, role);
        }
        if let Some(slot) = self.frameworks.get_mut(fw) {
            *slot = None;
        }
    }

    /// `activateFramework` (the caller then allocates).
    pub fn activate_framework(&mut self, fw: usize) {
        let Some(f) = self.framework(fw) else { return };
        f.active = true;
        let roles: Vec<Role> = f.roles.difference(&f.suppressed).copied().collect();
        for role in roles {
            if let Some(sorter) = self.framework_sorters.get_mut(&role) {
                sorter.activate(fw);
            }
        }
    }

    /// `deactivateFramework`: no more offers; its filters are gone.
    pub fn deactivate_framework(&mut self, fw: usize) {
        let Some(f) = self.framework(fw) else { return };
        f.active = false;
        f.filters.clear();
        let roles: Vec<Role> = f.roles.iter().copied().collect();
        for role in roles {
            if let Some(sorter) = self.framework_sorters.get_mut(&role) {
                sorter.deactivate(fw);
            }
        }
    }

    /// `updateFramework`: new roles and suppressed roles.
    pub fn update_framework(&mut self, fw: usize, roles: BTreeSet<Role>, suppressed: BTreeSet<Role>) {
        let Some(f) = self.framework(fw) else { return };
        let old_roles = std::mem::replace(&mut f.roles, roles.clone());
        let old_suppressed = f.suppressed.clone();
        for &role in roles.difference(&old_roles) {
            self.track_under_role(fw, role);
            if let Some(sorter) = self.framework_sorters.get_mut(&role) {
                sorter.activate(fw);
            }
        }
        for &role in old_roles.difference(&roles) {
            if let Some(sorter) = self.framework_sorters.get_mut(&role) {
                sorter.deactivate(fw);
            }
            self.try_untrack_under_role(fw, role);
            if let Some(f) = self.framework(fw) {
                f.filters.retain(|(r, _), _| *r != role);
                f.suppressed.remove(&role);
            }
        }
        let now_suppressed: BTreeSet<Role> = suppressed.difference(&old_suppressed).copied().collect();
        self.suppress(fw, &now_suppressed);
        let revived: BTreeSet<Role> =
            old_suppressed.difference(&suppressed).filter(|r| roles.contains(r)).copied().collect();
        self.revive_roles(fw, &revived);
    }

    /// `suppressRoles`.
    pub fn suppress(&mut self, fw: usize, roles: &BTreeSet<Role>) {
        let Some(f) = self.framework(fw) else { return };
        f.suppressed.extend(roles.iter().copied());
        for role in roles {
            if let Some(sorter) = self.framework_sorters.get_mut(role) {
                sorter.deactivate(fw);
            }
        }
    }

    /// `reviveRoles`: the roles' filters go, the framework wants offers.
    pub fn revive_roles(&mut self, fw: usize, roles: &BTreeSet<Role>) {
        let Some(f) = self.framework(fw) else { return };
        f.filters.retain(|(r, _), _| !roles.contains(r));
        for role in roles {
            f.suppressed.remove(role);
        }
        for role in roles {
            if let Some(sorter) = self.framework_sorters.get_mut(role) {
                sorter.activate(fw);
            }
        }
    }

    /// The framework's roles (what SUPPRESS and REVIVE without roles mean).
    pub fn framework_roles(&self, fw: usize) -> BTreeSet<Role> {
        self.frameworks.get(fw).and_then(Option::as_ref).map(|f| f.roles.clone()).unwrap_or_default()
    }

    fn untrack(&mut self, fw: usize, resources: &Resources) {
        let Some(role) = resources.iter().find_map(|r| r.role) else { return };
        let q = resources.quantities();
        if let Some(sorter) = self.framework_sorters.get_mut(&role) {
            sorter.unallocated(fw, &q);
        }
        self.roles.unallocated(usize::from(role), &q);
        let subscribed = self.frameworks.get(fw).and_then(Option::as_ref).is_some_and(|f| f.roles.contains(&role));
        if !subscribed {
            self.try_untrack_under_role(fw, role);
        }
    }

    fn track(&mut self, fw: usize, role: Role, resources: &Resources) {
        if !self.framework_sorters.get(&role).is_some_and(|s| s.contains(fw)) {
            self.track_under_role(fw, role);
        }
        let q = resources.quantities();
        let total = self.total;
        self.roles.allocated(usize::from(role), &q, &total);
        if let Some(sorter) = self.framework_sorters.get_mut(&role) {
            sorter.allocated(fw, &q, &total);
        }
    }

    /// `recoverResources`: `resources` (allocated to one role) of `agent`
    /// are no longer offered to or used by `fw`; with `refuse_seconds`
    /// (`Some`: the call's filter, or its default), a filter on them.
    pub fn recover(&mut self, fw: usize, agent: usize, resources: &Resources, refuse: Option<f64>, now: Duration) {
        if resources.is_empty() || self.frameworks.get(fw).and_then(Option::as_ref).is_none() {
            return;
        }
        let Some(role) = resources.iter().find_map(|r| r.role) else { return };
        self.agents[agent].recovered(fw, resources);
        if self.framework_sorters.get(&role).is_some_and(|s| s.contains(fw)) {
            self.untrack(fw, resources);
        }
        let Some(refuse) = refuse else { return };
        let timeout = if refuse.is_nan() {
            // `Duration::create(NaN)` makes a negative duration, which
            // `max` turns into the allocation interval.
            Duration::ZERO
        } else if refuse > MAX_REFUSE.as_secs_f64() {
            MAX_REFUSE
        } else if refuse < 0.0 {
            Duration::from_secs_f64(DEFAULT_REFUSE_SECONDS)
        } else {
            // Whole nanoseconds, as `Duration::create` truncates.
            Duration::from_nanos((refuse * 1e9) as u64)
        };
        if timeout.is_zero() && !refuse.is_nan() {
            return;
        }
        let expires = now.saturating_add(timeout.max(self.interval));
        let refused = resources.unallocated();
        if let Some(f) = self.framework(fw) {
            f.filters.entry((role, agent)).or_default().push(Filter { refused, expires });
        }
    }

    /// Drops the filters that expired by `now`.
    pub fn expire_filters(&mut self, now: Duration) {
        for f in self.frameworks.iter_mut().flatten() {
            f.filters.retain(|_, filters| {
                filters.retain(|x| x.expires > now);
                !filters.is_empty()
            });
        }
    }

    /// One allocation run over `agents` (`__generateOffers`), visited in
    /// an order drawn from `rng`. The offered resources are taken from
    /// the agents; the caller makes offers of them (or recovers them).
    pub fn allocate(&mut self, agents: &[usize], now: Duration, rng: &mut Rng) -> Vec<Offerable> {
        let mut order: Vec<usize> = agents.to_vec();
        rng.shuffle(&mut order);
        let mut out = Vec::new();
        let total = self.total;
        for agent in order {
            let available = &self.agents[agent].available;
            if available.is_empty() || !available.allocatable() {
                continue;
            }
            let offer = available.offer_order();
            let mut chosen: Option<(usize, Role)> = None;
            let roles: Vec<usize> = self.roles.sort(&total).to_vec();
            'roles: for role in roles {
                let role = role as Role;
                let Some(sorter) = self.framework_sorters.get_mut(&role) else { continue };
                let sorted = sorter.sort(&total);
                for &fw in sorted {
                    let Some(f) = self.frameworks.get(fw).and_then(Option::as_ref) else { continue };
                    if !is_filtered(f, role, agent, &offer, now) {
                        chosen = Some((fw, role));
                        break 'roles;
                    }
                }
            }
            let Some((fw, role)) = chosen else { continue };
            let mut resources = offer;
            resources.allocate(role);
            self.agents[agent].offered(fw, &resources);
            self.track(fw, role, &resources);
            out.push(Offerable { framework: fw, role, agent, resources });
        }
        out
    }
}

/// `isFiltered`: a filter of the framework on this role and agent, not
/// expired, whose refused resources hold all of `resources`.
fn is_filtered(f: &Framework, role: Role, agent: usize, resources: &Resources, now: Duration) -> bool {
    f.filters
        .get(&(role, agent))
        .is_some_and(|filters| filters.iter().any(|x| x.expires > now && x.refused.contains(resources)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(agents: usize) -> Allocator {
        let mut a = Allocator::new(Duration::from_secs(1));
        for _ in 0..agents {
            a.add_agent(Resources::agent(2.0, 996.0, 30509.0, Some((31000, 32000))));
        }
        a
    }

    /// Three frameworks that decline everything for 1 s share two agents:
    /// with equal shares the one allocated least often goes first, so each
    /// gets offers in turn.
    #[test]
    fn equal_shares_take_turns() {
        let mut a = cluster(2);
        let star = a.role("*");
        for fw in 0..3 {
            a.add_framework(fw, &format!("fw-{fw}"), BTreeSet::from([star]), BTreeSet::new());
        }
        let mut rng = Rng::new(1);
        let mut got = [0u32; 3];
        for tick in 1..=30 {
            let now = Duration::from_secs(tick);
            a.expire_filters(now);
            for o in a.allocate(&[0, 1], now, &mut rng) {
                got[o.framework] += 1;
                a.recover(o.framework, o.agent, &o.resources, Some(1.0), now);
            }
        }
        assert_eq!(got.iter().sum::<u32>(), 60);
        assert!(got.iter().all(|n| *n == 20), "{got:?}");
    }
}
