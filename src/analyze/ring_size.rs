//! MR005: endpoint weights so unequal that Envoy's ring hash is cut down to its maximum size.
//!
//! Envoy sizes a ring so that the lightest endpoint gets `ceil(min_w * minimumRingSize)`
//! entries, where `min_w` is its share of the total weight, and the others get proportionally
//! more (`Ring::Ring` in `source/extensions/load_balancing_policies/ring_hash/ring_hash_lb.cc`;
//! [`RingScale`]). Once the total weight is more than 8388608 times the smallest weight (or
//! `minimumRingSize` is near the maximum), the ring asks for more than `maximum_ring_size`
//! entries and is capped there: every cluster the load balancer applies to (the host and each
//! subset) holds 8388608 entries (72 MiB here over two endpoints, about half a second to build
//! on its first pick), and the lightest endpoints get fewer entries than their weights ask for.

use std::collections::BTreeMap;

use crate::balance::endpoint::Endpoint;
use crate::balance::ring_hash::{RingHash, RingScale};
use crate::config::{DestinationRule, Subset};
use crate::diagnostic::Code;
use crate::registry::rules::Rules;
use crate::registry::traffic_policy::{Components, HashTableConfig};
use crate::util::host;
use crate::validate::sink::Sink;

/// At most this many clusters are named in an MR005 message.
const SHOWN_CLUSTERS: usize = 5;

/// One cluster whose ring is capped.
struct Capped<'a> {
    /// `host:port`, with ` subset NAME` for a subset's cluster.
    name: String,
    lightest: &'a Endpoint,
    heaviest: &'a Endpoint,
    /// The total weight over the smallest weight.
    ratio: f64,
    minimum_ring_size: u64,
    scale: RingScale,
    /// What the ring keeps once built.
    bytes: u64,
}

/// MR005: a `consistentHash` ring whose endpoints' weights (or whose `minimumRingSize`) make
/// Envoy cap it at `maximum_ring_size`, for the hosts this rule is in effect for (as seen from
/// its own namespace) and their endpoints known from the manifests. One finding per
/// `consistentHash` field, naming the clusters it applies to.
pub(crate) fn capped_rings(
    sink: &mut Sink<'_>,
    dr: &DestinationRule,
    rules: &Rules<'_>,
    discovered: &BTreeMap<(String, u16), Vec<Endpoint>>,
) {
    let namespace = sink.resource().namespace().to_owned();
    let key = sink.resource().key();
    let fqdn = host::resolve(&dr.host, &namespace);
    let mut in_effect: BTreeMap<&str, bool> = BTreeMap::new();
    let mut found: BTreeMap<String, Vec<Capped<'_>>> = BTreeMap::new();
    for ((h, port), endpoints) in discovered {
        if !host::matches(&fqdn, h) {
            continue;
        }
        let applies = *in_effect.entry(h.as_str()).or_insert_with(|| {
            rules
                .lookup(&namespace, h, None)
                .is_some_and(|choice| choice.keys.contains(&key))
        });
        if !applies {
            continue;
        }
        let subsets = std::iter::once(None).chain(dr.subsets.iter().map(Some));
        for subset in subsets {
            let components = Components::of(Some(dr), subset.map(|s| s.name.as_str()), *port);
            let Some(consistent_hash) = components
                .load_balancer
                .and_then(|lb| lb.consistent_hash.as_ref())
            else {
                continue;
            };
            let HashTableConfig::Ring { minimum_ring_size } = HashTableConfig::of(consistent_hash)
            else {
                continue;
            };
            if let Some(capped) = capped(h, *port, subset, endpoints, minimum_ring_size) {
                found
                    .entry(components.load_balancer_at.path())
                    .or_default()
                    .push(capped);
            }
        }
    }
    for (path, clusters) in found {
        let Some(first) = clusters.first() else {
            continue;
        };
        let mut names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
        let more = names.len().saturating_sub(SHOWN_CLUSTERS);
        names.truncate(SHOWN_CLUSTERS);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let count = match clusters.len() {
            1 => String::from("the cluster"),
            n => format!("each of {n} clusters"),
        };
        let advice = if first.ratio > RingHash::DEFAULT_MAX_RING_SIZE as f64 {
            format!(
                "bring the weights closer together (a total weight of at most {} times the smallest keeps the ring below the cap) or use maglev",
                RingHash::DEFAULT_MAX_RING_SIZE
            )
        } else {
            String::from("lower minimumRingSize")
        };
        sink.analysis(
            Code::RingAtMaximumSize,
            format!("{path}.loadBalancer.consistentHash"),
            format!(
                "ring hash at Envoy's maximum size for {count} ({}{more}): endpoint weights {} ({}) to {} ({}) with minimumRingSize {} ask for a ring of {:.0} entries, which Envoy caps at maximum_ring_size, {} entries ({} MiB per cluster, built on its first pick), so the lightest endpoints get fewer entries than their weights ask for; {advice}",
                names.join(", "),
                first.lightest.weight.max(1),
                first.lightest.address,
                first.heaviest.weight.max(1),
                first.heaviest.address,
                first.minimum_ring_size,
                first.scale.wanted,
                first.scale.size,
                first.bytes.div_ceil(1 << 20),
            ),
        );
    }
}

/// The cluster of `subset` (none: the whole host) on `port`, if Envoy caps its ring.
fn capped<'a>(
    host: &str,
    port: u16,
    subset: Option<&Subset>,
    endpoints: &'a [Endpoint],
    minimum_ring_size: u64,
) -> Option<Capped<'a>> {
    let selected: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| subset.is_none_or(|s| e.selected_by(&s.labels)))
        .collect();
    let weight = |e: &Endpoint| e.weight.max(1);
    let scale = RingScale::of(
        selected.iter().map(|e| weight(e)),
        minimum_ring_size,
        RingHash::DEFAULT_MAX_RING_SIZE,
    )?;
    if !scale.capped() {
        return None;
    }
    let lightest = *selected.iter().min_by_key(|e| weight(e))?;
    let heaviest = *selected.iter().max_by_key(|e| weight(e))?;
    let total: u64 = selected.iter().map(|e| u64::from(weight(e))).sum();
    let mut name = format!("{host}:{port}");
    if let Some(subset) = subset {
        name.push_str(&format!(" subset {}", subset.name));
    }
    Some(Capped {
        name,
        lightest,
        heaviest,
        ratio: total as f64 / f64::from(lightest.weight.max(1)),
        minimum_ring_size,
        scale,
        bytes: RingHash::bytes(selected.len(), scale.size),
    })
}
