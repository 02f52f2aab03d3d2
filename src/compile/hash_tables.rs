//! The memory a mesh's consistent-hash tables may take, and the warning for a configuration
//! whose tables would take more.
//!
//! Each ring-hash or Maglev cluster builds its table on its first pick (see
//! `route/cluster.rs`), bounded by Envoy's own limits: a ring holds at most `maximum_ring_size`
//! entries (8388608 by default, Envoy's `RingHashLbConfig` in
//! `envoy/config/cluster/v3/cluster.proto`; 9 bytes each here over up to 256 hosts, 72 MiB), a
//! Maglev table at most 5000011 slots (1, 2 or 4 bytes each). Envoy picks the ring size from
//! the weights (see [`RingScale`]): endpoints weighted 1 and 4294967294 ask for 2^32 - 1
//! entries and get the cap, for every cluster (every subset) of the host. Picks stay Envoy's;
//! what meshroute adds is the sum: when the tables of every cluster, once built, would exceed
//! [`TABLE_BUDGET`], compilation warns about the load balancers that take the most, naming the
//! DestinationRule and the `consistentHash` field.

use std::collections::BTreeMap;

use crate::balance::endpoint::Endpoint;
use crate::balance::maglev::Maglev;
use crate::balance::ring_hash::{RingHash, RingScale};
use crate::config::{Body, Resource};
use crate::diagnostic::{Diagnostic, Severity};
use crate::registry::rules::RuleChoice;
use crate::registry::traffic_policy::Origin;
use crate::route::cluster::{ClusterPolicy, LbPolicy};

/// The memory every consistent-hash table of one mesh may take once built, 512 MiB: five rings
/// at Envoy's maximum size fit, as do 8000 Maglev tables of the default size (65537 slots) or
/// 40000 rings of the default minimum size (1024 entries). A configuration above it compiles
/// with a warning ([`warnings`]); no table is refused, since a table is only built when its
/// cluster is used and Envoy would build all of them.
pub(crate) const TABLE_BUDGET: u64 = 512 << 20;

/// What one cluster's consistent-hash table takes once built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Table {
    /// Ring entries or Maglev slots.
    pub(super) entries: u64,
    /// Bytes kept once built.
    pub(super) bytes: u64,
    /// A ring (else Maglev).
    pub(super) ring: bool,
    /// A ring cut down to `maximum_ring_size` by the weights.
    pub(super) capped: bool,
}

impl Table {
    /// The table of a cluster with `policy` over `endpoints` (all healthy, as compiled); `None`
    /// for clusters that do not hash, or whose table cannot be built.
    pub(super) fn of(policy: &ClusterPolicy, endpoints: &[Endpoint]) -> Option<Self> {
        let weights = endpoints.iter().map(|e| e.weight.max(1));
        match policy.lb {
            LbPolicy::RingHash { minimum_ring_size } => {
                let scale =
                    RingScale::of(weights, minimum_ring_size, RingHash::DEFAULT_MAX_RING_SIZE)?;
                Some(Self {
                    entries: scale.size,
                    bytes: RingHash::bytes(endpoints.len(), scale.size),
                    ring: true,
                    capped: scale.capped(),
                })
            }
            LbPolicy::Maglev { table_size } => Some(Self {
                entries: table_size,
                bytes: Maglev::bytes(endpoints.len(), table_size),
                ring: false,
                capped: false,
            }),
            _ => None,
        }
    }
}

/// One cluster's table and where its load balancer is configured.
#[derive(Debug, Clone, Copy)]
pub(super) struct TableCost<'a> {
    /// The DestinationRule choice (`Tables::rules`).
    pub(super) rule: u32,
    /// Where the rule sets the cluster's `loadBalancer`.
    pub(super) at: Origin<'a>,
    pub(super) table: Table,
}

/// The load balancers (one DestinationRule field each) whose tables push the mesh over
/// [`TABLE_BUDGET`]: the most expensive first, until what remains fits. Each is a warning at
/// `…loadBalancer.consistentHash` of the DestinationRule that sets it.
pub(super) fn warnings(
    costs: &[TableCost<'_>],
    choices: &[RuleChoice],
    resources: &[&Resource],
) -> Vec<Diagnostic> {
    let total: u64 = costs.iter().map(|c| c.table.bytes).sum();
    if total <= TABLE_BUDGET {
        return Vec::new();
    }
    // Group by the field that configures them, in the resource that defines it.
    let mut groups: BTreeMap<(usize, String), Group> = BTreeMap::new();
    for cost in costs {
        let Some((resource, path)) = source(cost, choices, resources) else {
            continue;
        };
        let group = groups.entry((resource, path)).or_default();
        group.clusters += 1;
        group.bytes = group.bytes.saturating_add(cost.table.bytes);
        group.largest = group.largest.max(cost.table.entries);
        group.ring |= cost.table.ring;
        group.capped |= cost.table.capped;
    }
    let mut groups: Vec<((usize, String), Group)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then_with(|| a.0.cmp(&b.0)));
    let mut remaining = total;
    let mut out = Vec::new();
    for ((resource, path), group) in groups {
        if remaining <= TABLE_BUDGET {
            break;
        }
        remaining = remaining.saturating_sub(group.bytes);
        let Some(resource) = resources.get(resource) else {
            continue;
        };
        let what = match (group.ring, group.capped) {
            (true, true) => format!(
                "rings of up to {} entries each, Envoy's maximum_ring_size, forced by the ratio of the endpoints' weights",
                group.largest
            ),
            (true, false) => format!("rings of up to {} entries each", group.largest),
            _ => format!("Maglev tables of {} slots each", group.largest),
        };
        let advice = if group.capped {
            "bring the endpoints' weights closer together"
        } else if group.ring {
            "lower minimumRingSize"
        } else {
            "lower maglev.tableSize"
        };
        let clusters = match group.clusters {
            1 => String::from("the cluster"),
            n => format!("the {n} clusters"),
        };
        let mut diagnostic = resource.diagnostic(
            Severity::Warning,
            format!("{path}.loadBalancer.consistentHash"),
            format!(
                "the consistent-hash tables of {clusters} this load balancer applies to take {} once used: {what}; the mesh's tables would take {}, above meshroute's budget of {} (each table is built on its cluster's first pick, so memory grows with the clusters in use); {advice}, or use fewer subsets",
                size(group.bytes),
                size(total),
                size(TABLE_BUDGET),
            ),
        );
        resource.locate(std::slice::from_mut(&mut diagnostic));
        out.push(diagnostic);
    }
    out
}

/// The clusters of one DestinationRule field.
#[derive(Debug, Default)]
struct Group {
    clusters: usize,
    bytes: u64,
    largest: u64,
    ring: bool,
    capped: bool,
}

/// The resource (index into `resources`) and traffic-policy path that set `cost`'s load
/// balancer. The choice's rule is merged from the rules of one namespace for the host
/// (`registry/rules.rs` `merge`): the first rule with a top-level `trafficPolicy` gives it, and
/// the first rule that defines a subset gives that subset (numbered as in that rule).
fn source(
    cost: &TableCost<'_>,
    choices: &[RuleChoice],
    resources: &[&Resource],
) -> Option<(usize, String)> {
    let choice = choices.get(usize::try_from(cost.rule).ok()?)?;
    choice.keys.iter().find_map(|key| {
        let (index, rule) = resources
            .iter()
            .enumerate()
            .find_map(|(i, r)| match &r.body {
                Body::DestinationRule(rule) if r.key() == *key => Some((i, rule)),
                _ => None,
            })?;
        let at = match cost.at.subset {
            None => rule.traffic_policy.is_some().then_some(cost.at)?,
            Some((_, name)) => {
                let position = rule.subsets.iter().position(|s| s.name == name)?;
                Origin {
                    subset: Some((position, name)),
                    ..cost.at
                }
            }
        };
        Some((index, at.path()))
    })
}

/// `bytes` for a message: MiB (rounded up) or GiB with one decimal.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MiB", bytes.div_ceil(MIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(TABLE_BUDGET), "512 MiB");
        assert_eq!(size(1), "1 MiB");
        assert_eq!(size(21 * 8388608 * 9), "1.5 GiB");
    }
}
