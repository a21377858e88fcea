//! Resources as a Mesos 1.11 master keeps them (`src/common/resources.cpp`,
//! `src/common/values.cpp`): an ordered list of entries, each a name, a
//! value and the role it is allocated to, with Mesos's arithmetic.
//!
//! The order is part of what a framework sees: an offer lists its
//! resources in the order the allocator's arithmetic left them. Adding an
//! entry merges it into the first entry it is addable to (same name and
//! allocation role) or appends it; subtracting one takes it from the first
//! such entry and, when that becomes empty, moves the *last* entry into its
//! place (`Resources::subtract`). An agent started with
//! `cpus:2;mem:996;disk:30509;ports:[31000-32000]` has its total in that
//! order, and the allocator offers the non-scalars first (`ports`), then
//! the scalars in the order they are left.
//!
//! Scalars are kept in thousandths, as Mesos's fixed-point arithmetic
//! rounds them (`convertToFixed`: `llround(value * 1000)`), so `0.1 + 0.2`
//! is `0.3` here as it is in a master. Only unreserved, non-revocable,
//! non-shared resources without disk information exist in the simulated
//! cluster; a task asking for anything else is refused by the containment
//! check, with Mesos's text.

use std::fmt;

use mesos_codec::v1::{Resource as ProtoResource, resource, value};

/// A role, as an index into the master's table of role names.
pub type Role = u16;

/// The names the simulated agents have, and any other a task may name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Name {
    /// `cpus`.
    Cpus,
    /// `mem`, MB.
    Mem,
    /// `disk`, MB.
    Disk,
    /// `ports`.
    Ports,
    /// Any other name (no agent has it).
    Other(Box<str>),
}

impl Name {
    /// The name as Mesos writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Name::Cpus => "cpus",
            Name::Mem => "mem",
            Name::Disk => "disk",
            Name::Ports => "ports",
            Name::Other(name) => name,
        }
    }

    fn from_str(name: &str) -> Name {
        match name {
            "cpus" => Name::Cpus,
            "mem" => Name::Mem,
            "disk" => Name::Disk,
            "ports" => Name::Ports,
            other => Name::Other(other.into()),
        }
    }

    /// The index of the scalar quantities DRF counts (`cpus`, `mem`, `disk`).
    fn quantity_index(&self) -> Option<usize> {
        match self {
            Name::Cpus => Some(0),
            Name::Mem => Some(1),
            Name::Disk => Some(2),
            _ => None,
        }
    }
}

/// A resource's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Amount {
    /// A scalar in thousandths.
    Scalar(i64),
    /// Sorted, disjoint, non-adjacent inclusive ranges.
    Ranges(Vec<(u64, u64)>),
    /// A set of items.
    Set(Vec<String>),
}

/// One entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// Its name.
    pub name: Name,
    /// Its value.
    pub amount: Amount,
    /// The role it is allocated to (`Resource.allocation_info.role`), if any.
    pub role: Option<Role>,
}

/// `convertToFixed`: a scalar in thousandths, rounded half away from zero.
pub fn to_fixed(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

/// `convertToFloating`.
pub fn to_floating(fixed: i64) -> f64 {
    fixed as f64 / 1000.0
}

/// Value::Ranges's `coalesce`: sorted, overlapping and adjacent ranges merged.
fn coalesce(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.retain(|(b, e)| b <= e);
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (b, e) in ranges {
        match out.last_mut() {
            Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((b, e)),
        }
    }
    out
}

fn ranges_minus(left: &[(u64, u64)], right: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = left.to_vec();
    for &(b, e) in right {
        let mut next = Vec::with_capacity(out.len() + 1);
        for (sb, se) in out {
            if e < sb || se < b {
                next.push((sb, se));
                continue;
            }
            if sb < b {
                next.push((sb, b - 1));
            }
            if e < se {
                next.push((e + 1, se));
            }
        }
        out = next;
    }
    coalesce(out)
}

fn ranges_contain(outer: &[(u64, u64)], inner: &[(u64, u64)]) -> bool {
    inner.iter().all(|&(b, e)| outer.iter().any(|&(sb, se)| sb <= b && e <= se))
}

impl Resource {
    /// A scalar.
    pub fn scalar(name: Name, fixed: i64) -> Resource {
        Resource { name, amount: Amount::Scalar(fixed), role: None }
    }

    /// Ranges.
    pub fn ranges(name: Name, ranges: Vec<(u64, u64)>) -> Resource {
        Resource { name, amount: Amount::Ranges(coalesce(ranges)), role: None }
    }

    fn is_empty(&self) -> bool {
        match &self.amount {
            Amount::Scalar(x) => *x == 0,
            Amount::Ranges(r) => r.is_empty(),
            Amount::Set(s) => s.is_empty(),
        }
    }

    fn same_kind(&self, other: &Resource) -> bool {
        self.name == other.name
            && self.role == other.role
            && std::mem::discriminant(&self.amount) == std::mem::discriminant(&other.amount)
    }

    /// `internal::addable` and `subtractable`: the same name, type and
    /// allocation role (nothing else differs in this cluster).
    fn combinable(&self, other: &Resource) -> bool {
        self.same_kind(other)
    }

    fn add_value(&mut self, other: &Resource) {
        match (&mut self.amount, &other.amount) {
            (Amount::Scalar(a), Amount::Scalar(b)) => *a += b,
            (Amount::Ranges(a), Amount::Ranges(b)) => {
                let mut all = std::mem::take(a);
                all.extend_from_slice(b);
                *a = coalesce(all);
            }
            (Amount::Set(a), Amount::Set(b)) => {
                for item in b {
                    if !a.contains(item) {
                        a.push(item.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn subtract_value(&mut self, other: &Resource) {
        match (&mut self.amount, &other.amount) {
            (Amount::Scalar(a), Amount::Scalar(b)) => *a -= b,
            (Amount::Ranges(a), Amount::Ranges(b)) => *a = ranges_minus(a, b),
            (Amount::Set(a), Amount::Set(b)) => a.retain(|item| !b.contains(item)),
            _ => {}
        }
    }

    /// `Resource_::contains`: the same kind, and at least as much.
    fn contains(&self, other: &Resource) -> bool {
        if !self.same_kind(other) {
            return false;
        }
        match (&self.amount, &other.amount) {
            (Amount::Scalar(a), Amount::Scalar(b)) => b <= a,
            (Amount::Ranges(a), Amount::Ranges(b)) => ranges_contain(a, b),
            (Amount::Set(a), Amount::Set(b)) => b.iter().all(|item| a.contains(item)),
            _ => false,
        }
    }

    fn is_negative(&self) -> bool {
        matches!(self.amount, Amount::Scalar(x) if x < 0)
    }
}

/// An ordered list of resources with Mesos's arithmetic.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources(Vec<Resource>);

/// The scalar quantities DRF counts: `cpus`, `mem`, `disk` in thousandths.
pub type Quantities = [i64; 3];

impl Resources {
    /// No resources.
    pub fn new() -> Resources {
        Resources(Vec::new())
    }

    /// An agent's resources, as `--resources` lists them
    /// (`cpus:C;mem:M;disk:D;ports:[B-E]`); empty amounts are left out.
    pub fn agent(cpus: f64, mem: f64, disk: f64, ports: Option<(u64, u64)>) -> Resources {
        let mut out = Resources::new();
        out.add(&Resource::scalar(Name::Cpus, to_fixed(cpus)));
        out.add(&Resource::scalar(Name::Mem, to_fixed(mem)));
        out.add(&Resource::scalar(Name::Disk, to_fixed(disk)));
        if let Some((b, e)) = ports {
            out.add(&Resource::ranges(Name::Ports, vec![(b, e)]));
        }
        out
    }

    /// The entries, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.0.iter()
    }

    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Resources::add`: merged into the first addable entry, else appended.
    pub fn add(&mut self, that: &Resource) {
        if that.is_empty() {
            return;
        }
        match self.0.iter_mut().find(|r| r.combinable(that)) {
            Some(r) => r.add_value(that),
            None => self.0.push(that.clone()),
        }
    }

    /// `+=`: each entry of `that`, in its order.
    pub fn add_all(&mut self, that: &Resources) {
        for r in &that.0 {
            self.add(r);
        }
    }

    /// `Resources::subtract`: taken from the first subtractable entry,
    /// which is replaced by the last entry when it becomes empty or
    /// negative.
    pub fn subtract(&mut self, that: &Resource) {
        if that.is_empty() {
            return;
        }
        if let Some(i) = self.0.iter().position(|r| r.combinable(that)) {
            self.0[i].subtract_value(that);
            if self.0[i].is_empty() || self.0[i].is_negative() {
                self.0.swap_remove(i);
            }
        }
    }

    /// `-=`: each entry of `that`, in its order.
    pub fn subtract_all(&mut self, that: &Resources) {
        for r in &that.0 {
            self.subtract(r);
        }
    }

    /// `-= that.unallocated()`, without the copy: each entry of `that`
    /// subtracted as if it had no allocation role.
    pub fn subtract_all_unallocated(&mut self, that: &Resources) {
        for r in &that.0 {
            if r.is_empty() {
                continue;
            }
            let i = self.0.iter().position(|x| {
                x.role.is_none()
                    && x.name == r.name
                    && std::mem::discriminant(&x.amount) == std::mem::discriminant(&r.amount)
            });
            if let Some(i) = i {
                self.0[i].subtract_value(r);
                if self.0[i].is_empty() || self.0[i].is_negative() {
                    self.0.swap_remove(i);
                }
            }
        }
    }

    /// `Resources::contains`: each entry of `that` lies within one entry
    /// of `self` of the same kind.
    pub fn contains(&self, that: &Resources) -> bool {
        that.0.iter().all(|t| self.0.iter().any(|r| r.contains(t)))
    }

    /// `allocate(role)`: every entry allocated to `role`.
    pub fn allocate(&mut self, role: Role) {
        for r in &mut self.0 {
            r.role = Some(role);
        }
    }

    /// `unallocate()`: a copy without allocation roles.
    pub fn unallocated(&self) -> Resources {
        Resources(self.0.iter().map(|r| Resource { role: None, ..r.clone() }).collect())
    }

    /// The non-scalar entries, then the scalar ones, each in order: what the
    /// allocator offers of an agent's available resources
    /// (`__generateOffers`: `toOffer` = non-scalars, `+=` the scalars).
    pub fn offer_order(&self) -> Resources {
        let mut out = Resources(Vec::with_capacity(self.0.len()));
        for r in self.0.iter().filter(|r| !matches!(r.amount, Amount::Scalar(_))) {
            out.add(r);
        }
        for r in self.0.iter().filter(|r| matches!(r.amount, Amount::Scalar(_))) {
            out.add(r);
        }
        out
    }

    /// The scalar quantities DRF counts.
    pub fn quantities(&self) -> Quantities {
        let mut q = [0; 3];
        for r in &self.0 {
            if let (Some(i), Amount::Scalar(x)) = (r.name.quantity_index(), &r.amount) {
                q[i] += x;
            }
        }
        q
    }

    /// `cpus`, as a number (for the master's state and metrics).
    pub fn cpus(&self) -> f64 {
        to_floating(self.scalar(&Name::Cpus))
    }

    /// `mem` (MB), as a number.
    pub fn mem(&self) -> f64 {
        to_floating(self.scalar(&Name::Mem))
    }

    /// `disk` (MB), as a number.
    pub fn disk(&self) -> f64 {
        to_floating(self.scalar(&Name::Disk))
    }

    /// The `ports` ranges, all entries', in order.
    pub fn ports(&self) -> Vec<(u64, u64)> {
        let mut ports = Vec::new();
        for r in self.0.iter().filter(|r| r.name == Name::Ports) {
            if let Amount::Ranges(ranges) = &r.amount {
                ports.extend_from_slice(ranges);
            }
        }
        ports.sort_unstable();
        ports
    }

    /// The amount of scalar `name` (all entries), in thousandths.
    pub fn scalar(&self, name: &Name) -> i64 {
        self.0.iter().filter(|r| &r.name == name).map(|r| if let Amount::Scalar(x) = r.amount { x } else { 0 }).sum()
    }

    /// Whether these resources meet one of the master's default minimum
    /// allocatable quantities (`--min_allocatable_resources`, by default
    /// `cpus:0.01|mem:32`).
    pub fn allocatable(&self) -> bool {
        !self.0.is_empty() && (self.scalar(&Name::Cpus) >= 10 || self.scalar(&Name::Mem) >= 32_000)
    }

    /// As `mesos.v1.Resource`s, as a master writes them to a framework:
    /// with `role: "*"` for a framework without the RESERVATION_REFINEMENT
    /// capability (`convertResourceFormat(PRE_RESERVATION_REFINEMENT)`),
    /// and with `allocation_info` only for a MULTI_ROLE framework.
    pub fn to_proto(&self, roles: &[String], multi_role: bool, refinement: bool) -> Vec<ProtoResource> {
        self.0
            .iter()
            .map(|r| {
                let mut out = ProtoResource { name: r.name.as_str().to_owned(), ..Default::default() };
                match &r.amount {
                    Amount::Scalar(x) => {
                        out.set_type(value::Type::Scalar);
                        out.scalar = Some(value::Scalar { value: to_floating(*x) });
                    }
                    Amount::Ranges(ranges) => {
                        out.set_type(value::Type::Ranges);
                        out.ranges = Some(value::Ranges {
                            range: ranges.iter().map(|&(begin, end)| value::Range { begin, end }).collect(),
                        });
                    }
                    Amount::Set(items) => {
                        out.set_type(value::Type::Set);
                        out.set = Some(value::Set { item: items.clone() });
                    }
                }
                if !refinement {
                    #[allow(deprecated)]
                    {
                        out.role = Some("*".into());
                    }
                }
                if multi_role && let Some(role) = r.role {
                    out.allocation_info = Some(resource::AllocationInfo {
                        role: Some(roles.get(usize::from(role)).cloned().unwrap_or_default()),
                    });
                }
                out
            })
            .collect()
    }

    /// Reads a task's resources (`Resources` built from the list: entries
    /// added in order), checked as `resource::validate` checks them. A
    /// reserved, shared, revocable or disk resource can be named but never
    /// matches what an agent here has (it is kept apart under its own
    /// name), so the containment check refuses it.
    pub fn from_proto(resources: &[ProtoResource]) -> Result<Resources, String> {
        let mut out = Resources::new();
        for r in resources {
            let entry = read_resource(r)?;
            out.add(&entry);
        }
        Ok(out)
    }
}

fn read_resource(r: &ProtoResource) -> Result<Resource, String> {
    // `Resources::validate(const Resource&)`.
    if r.name.is_empty() {
        return Err("Empty resource name".into());
    }
    let ty = value::Type::try_from(r.r#type).ok();
    let amount = match (ty, &r.scalar, &r.ranges, &r.set) {
        (Some(value::Type::Scalar), Some(s), None, None) => {
            if !s.value.is_finite() || s.value < 0.0 {
                return Err(format!("Invalid scalar resource {}: value must be non-negative", r.name));
            }
            Amount::Scalar(to_fixed(s.value))
        }
        (Some(value::Type::Ranges), None, Some(ranges), None) => {
            for range in &ranges.range {
                if range.begin > range.end {
                    return Err(format!("Invalid ranges resource {}: begin greater than end", r.name));
                }
            }
            Amount::Ranges(coalesce(ranges.range.iter().map(|x| (x.begin, x.end)).collect()))
        }
        (Some(value::Type::Set), None, None, Some(set)) => Amount::Set(set.item.clone()),
        _ => return Err(format!("Invalid resource type or value for resource '{}'", r.name)),
    };
    #[allow(deprecated)]
    let role_ok = r.role.as_deref().is_none_or(|role| role == "*");
    let plain = role_ok
        && r.reservation.is_none()
        && r.reservations.is_empty()
        && r.disk.is_none()
        && r.revocable.is_none()
        && r.shared.is_none()
        && r.provider_id.is_none();
    let name = if plain { Name::from_str(&r.name) } else { Name::Other(describe_foreign(r).into()) };
    Ok(Resource { name, amount, role: None })
}

/// The name of a resource no agent here has, as Mesos's `operator<<`
/// writes its metadata (`name(reservations: [...])`, `[disk]`, `{REV}`,
/// `<SHARED>`), without the value.
fn describe_foreign(r: &ProtoResource) -> String {
    let mut out = r.name.clone();
    #[allow(deprecated)]
    let role = r.role.as_deref().filter(|role| *role != "*");
    if !r.reservations.is_empty() || role.is_some() {
        let list: Vec<String> = if r.reservations.is_empty() {
            vec![format!("(STATIC,{})", role.unwrap_or_default())]
        } else {
            r.reservations
                .iter()
                .map(|x| {
                    let ty = x.r#type.and_then(|t| resource::reservation_info::Type::try_from(t).ok());
                    let ty = ty.map_or("UNKNOWN", |t| t.as_str_name());
                    format!("({},{})", ty, x.role.as_deref().unwrap_or_default())
                })
                .collect()
        };
        out.push_str(&format!("(reservations: [{}])", list.join(",")));
    }
    if r.disk.is_some() {
        out.push_str("[disk]");
    }
    if r.revocable.is_some() {
        out.push_str("{REV}");
    }
    if r.shared.is_some() {
        out.push_str("<SHARED>");
    }
    out
}

/// C++'s `ostream << double` with precision 15 (`%.15g`), as
/// `operator<<(ostream&, const Value::Scalar&)` writes a scalar.
pub fn format_scalar(fixed: i64) -> String {
    let value = to_floating(fixed);
    if value == 0.0 {
        return "0".into();
    }
    let scientific = format!("{value:.14e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s.to_owned() }
    };
    if !(-4..15).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    } else {
        let decimals = usize::try_from(14 - exponent).unwrap_or(0);
        trim(&format!("{value:.decimals$}"))
    }
}

/// Mesos's `operator<<(ostream&, const Resources&)`:
/// `cpus(allocated: *):1; mem(allocated: *):128; ports(allocated: *):[31000-32000]`,
/// `{}` when empty.
pub struct Display<'a> {
    resources: &'a Resources,
    roles: &'a [String],
}

impl Resources {
    /// The text form, with role names from `roles`.
    pub fn display<'a>(&'a self, roles: &'a [String]) -> Display<'a> {
        Display { resources: self, roles }
    }
}

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resources.is_empty() {
            return f.write_str("{}");
        }
        for (n, r) in self.resources.0.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            f.write_str(r.name.as_str())?;
            if let Some(role) = r.role {
                let name = self.roles.get(usize::from(role)).map_or("", String::as_str);
                write!(f, "(allocated: {name})")?;
            }
            f.write_str(":")?;
            match &r.amount {
                Amount::Scalar(x) => f.write_str(&format_scalar(*x))?,
                Amount::Ranges(ranges) => {
                    let list: Vec<String> = ranges.iter().map(|(b, e)| format!("{b}-{e}")).collect();
                    write!(f, "[{}]", list.join(", "))?;
                }
                Amount::Set(items) => write!(f, "{{{}}}", items.join(", "))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(p: &[(u64, u64)]) -> Resources {
        let mut out = Resources::new();
        out.add(&Resource::ranges(Name::Ports, p.to_vec()));
        out
    }

    fn names(r: &Resources) -> Vec<&str> {
        r.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn ports_arithmetic() {
        let mut all = ports(&[(31000, 32000)]);
        assert!(all.contains(&ports(&[(31000, 31000), (31500, 31600)])));
        all.subtract_all(&ports(&[(31000, 31000), (31500, 31600)]));
        assert_eq!(all.iter().next().unwrap().amount, Amount::Ranges(vec![(31001, 31499), (31601, 32000)]));
        all.add_all(&ports(&[(31000, 31000), (31500, 31600)]));
        assert_eq!(all, ports(&[(31000, 32000)]));
        assert!(!all.contains(&ports(&[(30999, 31000)])));
    }

    #[test]
    fn scalars_are_fixed_point() {
        let mut r = Resources::new();
        r.add(&Resource::scalar(Name::Cpus, to_fixed(0.1)));
        r.add(&Resource::scalar(Name::Cpus, to_fixed(0.2)));
        assert_eq!(r.scalar(&Name::Cpus), 300);
        assert_eq!(r.display(&[]).to_string(), "cpus:0.3");
    }

    /// The orders a real master's offers show (recorded from a 1.11.0
    /// master): the whole agent as `ports, cpus, mem, disk`; after a task
    /// of `cpus:1;mem:128` whose remainder is offered again, the task's
    /// resources recovered as `cpus, mem`.
    #[test]
    fn the_orders_of_a_real_master() {
        let total = Resources::agent(2.0, 996.0, 30509.0, Some((31000, 32000)));
        assert_eq!(names(&total), ["cpus", "mem", "disk", "ports"]);
        let mut offer = total.offer_order();
        offer.allocate(0);
        assert_eq!(names(&offer), ["ports", "cpus", "mem", "disk"]);
        // Offered: the agent's offered-or-allocated sum is the offer.
        let mut ooa = offer.clone();
        let mut task = Resources::new();
        task.add(&Resource::scalar(Name::Cpus, 1000));
        task.add(&Resource::scalar(Name::Mem, 128_000));
        task.allocate(0);
        let mut remainder = offer.clone();
        remainder.subtract_all(&task);
        assert_eq!(names(&remainder), ["ports", "cpus", "mem", "disk"]);
        ooa.subtract_all(&remainder);
        assert_eq!(names(&ooa), ["mem", "cpus"]);
        let mut available = total.clone();
        available.subtract_all(&ooa.unallocated());
        let again = available.offer_order();
        assert_eq!(names(&again), ["ports", "cpus", "mem", "disk"]);
        assert_eq!(again.display(&[]).to_string(), "ports:[31000-32000]; cpus:1; mem:868; disk:30509");
        // The remainder offered again, then the task's resources recovered.
        let mut again = again;
        again.allocate(0);
        ooa.add_all(&again);
        ooa.subtract_all(&task);
        let mut available = total.clone();
        available.subtract_all(&ooa.unallocated());
        assert_eq!(available.offer_order().display(&[]).to_string(), "cpus:1; mem:128");
    }

    #[test]
    fn scalars_as_cpp_writes_them() {
        assert_eq!(format_scalar(996_000), "996");
        assert_eq!(format_scalar(500), "0.5");
        assert_eq!(format_scalar(1), "0.001");
        assert_eq!(format_scalar(30_509_000), "30509");
        assert_eq!(format_scalar(1_000_000_000_000_000_000), "1e+15");
        assert_eq!(format_scalar(123_456_789_012_345), "123456789012.345");
    }

    #[test]
    fn min_allocatable() {
        let mut r = Resources::agent(0.0, 0.0, 30509.0, Some((31000, 32000)));
        assert!(!r.allocatable(), "disk and ports only");
        r.add(&Resource::scalar(Name::Mem, 32_000));
        assert!(r.allocatable());
        assert!(Resources::agent(0.01, 0.0, 0.0, None).allocatable());
    }
}
