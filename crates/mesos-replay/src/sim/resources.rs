//! The simulated cluster's resources: the four kinds an agent of the seed
//! cluster has (`cpus`, `mem`, `disk` scalars and `ports` ranges), with the
//! arithmetic the master needs (add, subtract, contains) and the conversion
//! to and from `mesos.v1.Resource`.
//!
//! Scalars are kept with Mesos's fixed-point precision (three decimals), so
//! `0.1 + 0.2` is `0.3` here as it is in a master.

use std::fmt;

use mesos_codec::v1::{Resource, value};

/// A bundle of unreserved (`"*"`) resources.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    /// `cpus`.
    pub cpus: f64,
    /// `mem`, in MB.
    pub mem: f64,
    /// `disk`, in MB.
    pub disk: f64,
    /// `ports`: sorted, disjoint, non-adjacent inclusive ranges.
    pub ports: Vec<(u64, u64)>,
}

fn fixed(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn normalize(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
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

impl Resources {
    /// Whether there is nothing at all.
    pub fn is_empty(&self) -> bool {
        self.cpus <= 0.0 && self.mem <= 0.0 && self.disk <= 0.0 && self.ports.is_empty()
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Resources) {
        self.cpus = fixed(self.cpus + other.cpus);
        self.mem = fixed(self.mem + other.mem);
        self.disk = fixed(self.disk + other.disk);
        let mut ports = std::mem::take(&mut self.ports);
        ports.extend_from_slice(&other.ports);
        self.ports = normalize(ports);
    }

    /// Whether `other` is a part of `self`.
    pub fn contains(&self, other: &Resources) -> bool {
        other.cpus <= self.cpus
            && other.mem <= self.mem
            && other.disk <= self.disk
            && other.ports.iter().all(|&(b, e)| self.ports.iter().any(|&(sb, se)| sb <= b && e <= se))
    }

    /// Takes `other` out of `self`; `other` must be [contained](Self::contains).
    pub fn subtract(&mut self, other: &Resources) {
        self.cpus = fixed((self.cpus - other.cpus).max(0.0));
        self.mem = fixed((self.mem - other.mem).max(0.0));
        self.disk = fixed((self.disk - other.disk).max(0.0));
        let mut ports = std::mem::take(&mut self.ports);
        for &(b, e) in &other.ports {
            let mut next = Vec::with_capacity(ports.len() + 1);
            for (sb, se) in ports {
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
            ports = next;
        }
        self.ports = normalize(ports);
    }

    /// The `mesos.v1.Resource` list, in the order a master lists an agent's
    /// resources (`cpus`, `mem`, `disk`, `ports`), without the deprecated
    /// `role` field (1.x schema: unreserved resources carry no role).
    pub fn to_proto(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        for (name, amount) in [("cpus", self.cpus), ("mem", self.mem), ("disk", self.disk)] {
            if amount > 0.0 {
                let mut r =
                    Resource { name: name.into(), scalar: Some(value::Scalar { value: amount }), ..Default::default() };
                r.set_type(value::Type::Scalar);
                out.push(r);
            }
        }
        if !self.ports.is_empty() {
            let mut r = Resource {
                name: "ports".into(),
                ranges: Some(value::Ranges {
                    range: self.ports.iter().map(|&(begin, end)| value::Range { begin, end }).collect(),
                }),
                ..Default::default()
            };
            r.set_type(value::Type::Ranges);
            out.push(r);
        }
        out
    }

    /// Reads a task's resources. Anything this cluster does not have (another
    /// name, another type, a reservation, a role other than `*`) is refused
    /// with the resource's description.
    pub fn from_proto(resources: &[Resource]) -> Result<Resources, String> {
        let mut out = Resources::default();
        for r in resources {
            #[allow(deprecated)]
            let role_ok = r.role.as_deref().is_none_or(|role| role == "*");
            let plain = role_ok && r.reservation.is_none() && r.reservations.is_empty() && r.disk.is_none();
            let ty = r.r#type();
            match (r.name.as_str(), ty, &r.scalar, &r.ranges) {
                ("cpus" | "mem" | "disk", value::Type::Scalar, Some(s), _) if plain && s.value >= 0.0 => {
                    let add = Resources {
                        cpus: if r.name == "cpus" { s.value } else { 0.0 },
                        mem: if r.name == "mem" { s.value } else { 0.0 },
                        disk: if r.name == "disk" { s.value } else { 0.0 },
                        ports: Vec::new(),
                    };
                    out.add(&add);
                }
                ("ports", value::Type::Ranges, _, Some(ranges)) if plain => {
                    let add = Resources {
                        ports: normalize(ranges.range.iter().map(|r| (r.begin, r.end)).collect()),
                        ..Default::default()
                    };
                    out.add(&add);
                }
                _ => return Err(describe_foreign(r)),
            }
        }
        Ok(out)
    }

    /// The dominant share of `self` in `total` (for DRF ordering).
    pub fn share_of(&self, total: &Resources) -> f64 {
        let cpus = if total.cpus > 0.0 { self.cpus / total.cpus } else { 0.0 };
        let mem = if total.mem > 0.0 { self.mem / total.mem } else { 0.0 };
        cpus.max(mem)
    }
}

fn describe_foreign(r: &Resource) -> String {
    match (&r.scalar, &r.ranges) {
        (Some(s), _) => format!("{}:{}", r.name, s.value),
        (_, Some(ranges)) => {
            let list: Vec<String> = ranges.range.iter().map(|r| format!("{}-{}", r.begin, r.end)).collect();
            format!("{}:[{}]", r.name, list.join(", "))
        }
        _ => r.name.clone(),
    }
}

/// Mesos's text form: `cpus:1; mem:996; ports:[31000-32000]`.
impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, amount) in [("cpus", self.cpus), ("mem", self.mem), ("disk", self.disk)] {
            if amount > 0.0 {
                parts.push(format!("{name}:{amount}"));
            }
        }
        if !self.ports.is_empty() {
            let list: Vec<String> = self.ports.iter().map(|(b, e)| format!("{b}-{e}")).collect();
            parts.push(format!("ports:[{}]", list.join(", ")));
        }
        if parts.is_empty() { f.write_str("{}") } else { f.write_str(&parts.join("; ")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(p: &[(u64, u64)]) -> Resources {
        Resources { ports: p.to_vec(), ..Default::default() }
    }

    #[test]
    fn ports_arithmetic() {
        let mut all = ports(&[(31000, 32000)]);
        assert!(all.contains(&ports(&[(31000, 31000), (31500, 31600)])));
        all.subtract(&ports(&[(31000, 31000), (31500, 31600)]));
        assert_eq!(all.ports, vec![(31001, 31499), (31601, 32000)]);
        all.add(&ports(&[(31000, 31000), (31500, 31600)]));
        assert_eq!(all.ports, vec![(31000, 32000)]);
        assert!(!all.contains(&ports(&[(30999, 31000)])));
    }

    #[test]
    fn scalars_are_fixed_point() {
        let mut r = Resources { cpus: 0.1, ..Default::default() };
        r.add(&Resources { cpus: 0.2, ..Default::default() });
        assert_eq!(r.cpus, 0.3);
        assert_eq!(r.to_string(), "cpus:0.3");
    }
}
