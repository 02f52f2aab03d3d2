//! A listener's sidecar virtual hosts: the hosts a caller can name and, for each, the
//! VirtualServices that claim it in precedence order (istio/istio
//! `pilot/pkg/networking/core/httproute.go` `BuildSidecarOutboundVirtualHosts`,
//! `generateAltVirtualHostsForKubernetesService`, `dedupeDomains`).

use std::collections::HashMap;
use std::sync::Arc;

use super::entries::index;
use crate::registry::visibility::ExportTo;
use crate::route::table::{HostEntry, SidecarHosts};
use crate::util::host;

/// What scopes need to know of a root VirtualService.
#[derive(Debug)]
pub(super) struct VsInfo<'r> {
    /// Its index in `Tables::virtual_services`.
    pub(super) index: u32,
    pub(super) namespace: &'r str,
    /// `hosts`, resolved and lowercased.
    pub(super) hosts: Vec<String>,
    /// Bound to `mesh` (sidecars).
    pub(super) mesh: bool,
    pub(super) export: ExportTo,
    /// The hosts its routes and mirrors send to, resolved.
    pub(super) destinations: Vec<String>,
}

/// The virtual hosts of one listener: `services` (host, ports) get their own names; the
/// VirtualServices `order` lists (in precedence order) claim their hosts.
pub(super) fn sidecar_hosts(
    order: &[u32],
    services: &[(&str, Vec<u16>)],
    infos: &[VsInfo<'_>],
) -> SidecarHosts {
    sidecar_hosts_shadowing(order, services, infos).0
}

/// [`sidecar_hosts`], and the hosts whose VirtualServices another name's entry inherits (the
/// parents of `shadows` below, sorted), which [`with_claims_first`] must leave alone.
pub(super) fn sidecar_hosts_shadowing(
    order: &[u32],
    services: &[(&str, Vec<u16>)],
    infos: &[VsInfo<'_>],
) -> (SidecarHosts, Vec<u32>) {
    let mut sidecar = SidecarHosts::default();
    for (fqdn, ports) in services {
        host_entry(&mut sidecar, fqdn, Some(ports));
    }
    let rank: HashMap<u32, usize> = order.iter().enumerate().map(|(r, &vs)| (vs, r)).collect();
    // The services by exact host, and those with a wildcard host: a VirtualService's ports come
    // from the services its hosts match, found without a scan of every service per host.
    let mut by_host: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut wildcard_services: Vec<usize> = Vec::new();
    for (i, (fqdn, _)) in services.iter().enumerate() {
        if fqdn.starts_with('*') {
            wildcard_services.push(i);
        } else {
            by_host.entry(fqdn).or_default().push(i);
        }
    }
    let mut shadows: Vec<(u32, u32)> = Vec::new();
    for &vs in order {
        let Some(info) = infos.get(index(vs)) else {
            continue;
        };
        for resolved in &info.hosts {
            if let Some(suffix) = resolved.strip_prefix('*') {
                let idx = host_entry(&mut sidecar, resolved, None);
                let listed = sidecar
                    .wildcards
                    .iter()
                    .any(|(s, &i)| s == suffix && i == idx);
                if !listed {
                    sidecar.wildcards.insert(suffix, idx);
                }
                push_candidate(&mut sidecar, idx, vs);
            } else {
                let idx = vs_host_entry(&mut sidecar, resolved, &mut shadows);
                push_candidate(&mut sidecar, idx, vs);
            }
        }
        // The ports of the services its hosts name: it has virtual hosts there (and on 80).
        let mut ports: Vec<u16> = Vec::new();
        for h in &info.hosts {
            let mut add = |service_ports: &[u16]| {
                if service_ports.is_empty() {
                    ports.push(0);
                }
                ports.extend(service_ports);
            };
            if h.starts_with('*') {
                for (service, service_ports) in services {
                    if host::matches(h, service) {
                        add(service_ports);
                    }
                }
                continue;
            }
            // A concrete host matches a concrete service host only when equal.
            for &i in by_host.get(h.as_str()).into_iter().flatten() {
                if let Some((_, service_ports)) = services.get(i) {
                    add(service_ports);
                }
            }
            for &i in &wildcard_services {
                if let Some((service, service_ports)) = services.get(i) {
                    if host::matches(h, service) {
                        add(service_ports);
                    }
                }
            }
        }
        ports.sort_unstable();
        ports.dedup();
        let slot = index(vs);
        if sidecar.vs_ports.len() <= slot {
            sidecar.vs_ports.resize(slot + 1, None);
        }
        if let Some(entry) = sidecar.vs_ports.get_mut(slot) {
            *entry = Some(ports.into());
        }
    }
    let mut parents: Vec<u32> = shadows.iter().map(|&(_, parent)| parent).collect();
    parents.sort_unstable();
    parents.dedup();
    for (own, parent) in shadows {
        let inherited: Vec<u32> = sidecar
            .hosts
            .get(index(parent))
            .map(|e| e.virtual_services.clone())
            .unwrap_or_default();
        if let Some(entry) = sidecar.hosts.get_mut(index(own)) {
            entry.virtual_services.extend(inherited);
            entry
                .virtual_services
                .sort_by_key(|vs| rank.get(vs).copied().unwrap_or(usize::MAX));
            entry.virtual_services.dedup();
        }
    }
    (sidecar, parents)
}

/// The listener hosts [`sidecar_hosts`] builds for `first` followed by the order `base` was
/// built for, made from `base` instead: the VirtualServices of `first` claim their hosts ahead
/// of those that claimed them in `base`. A namespace's private VirtualServices come first in
/// its order (push_context.go `initVirtualServices`), and usually name a few of its own
/// services: each such namespace would otherwise build every host of the mesh again.
///
/// `None` when the result would differ from a full build in more than those claims: a host
/// of `first` that is not a service's own name (a wildcard is in no name table), or a name
/// another entry inherits from (`shadowed`, sorted); or a service with a wildcard host, whose
/// ports a VirtualService's virtual hosts take too.
pub(super) fn with_claims_first(
    base: &SidecarHosts,
    shadowed: &[u32],
    first: &[u32],
    infos: &[VsInfo<'_>],
) -> Option<SidecarHosts> {
    if base
        .hosts
        .iter()
        .any(|e| e.service_ports.is_some() && e.fqdn.starts_with('*'))
    {
        return None;
    }
    // `(entry, VirtualService)` in claim order, and each VirtualService's ports.
    let mut claims: Vec<(u32, u32)> = Vec::new();
    let mut seen: std::collections::HashSet<(u32, u32)> = std::collections::HashSet::new();
    let mut vs_ports: Vec<(usize, Box<[u16]>)> = Vec::new();
    for &vs in first {
        let info = infos.get(index(vs))?;
        let mut ports: Vec<u16> = Vec::new();
        for h in &info.hosts {
            let idx = *base.domains.get(h.as_str())?;
            let entry = base.hosts.get(index(idx))?;
            if *entry.fqdn != **h || shadowed.binary_search(&idx).is_ok() {
                return None;
            }
            let service_ports = entry.service_ports.as_deref()?;
            if service_ports.is_empty() {
                ports.push(0);
            }
            ports.extend(service_ports);
            if seen.insert((idx, vs)) {
                claims.push((idx, vs));
            }
        }
        ports.sort_unstable();
        ports.dedup();
        vs_ports.push((index(vs), ports.into()));
    }
    let mut hosts = base.clone();
    // Each claimed entry's own claims, in order (a stable sort by entry keeps it), ahead of
    // the ones it had.
    claims.sort_by_key(|&(idx, _)| idx);
    for group in claims.chunk_by(|a, b| a.0 == b.0) {
        let Some(&(idx, _)) = group.first() else {
            continue;
        };
        let entry = hosts.hosts.get_mut(index(idx))?;
        let mut list: Vec<u32> = group.iter().map(|&(_, vs)| vs).collect();
        list.extend(entry.virtual_services.iter().copied());
        entry.virtual_services = list;
    }
    for (slot, ports) in vs_ports {
        if hosts.vs_ports.len() <= slot {
            hosts.vs_ports.resize(slot + 1, None);
        }
        *hosts.vs_ports.get_mut(slot)? = Some(ports);
    }
    Some(hosts)
}

fn push_candidate(sidecar: &mut SidecarHosts, host: u32, vs: u32) {
    if let Some(entry) = sidecar
        .hosts
        .get_mut(usize::try_from(host).unwrap_or(usize::MAX))
    {
        if !entry.virtual_services.contains(&vs) {
            entry.virtual_services.push(vs);
        }
    }
}

/// The host entry for `fqdn`, creating it and its alternative names (httproute.go
/// `generateAltVirtualHostsForKubernetesService`: `name`, `name.ns`, `name.ns.svc` for
/// `name.ns.svc.cluster.local`; the short name only from the same namespace).
/// The host entry a VirtualService host claims: the service's own entry for its FQDN, but a
/// separate entry for any other name, even one that is also an alternative name of a service
/// (`svc-b.default`). Istio builds a virtual host with exactly the VirtualService's host as its
/// domain; where it collides with a service's alternative name, the older VirtualService keeps
/// the domain (httproute.go dedupes domains in VirtualService order). So the separate entry's
/// candidates are its own VirtualServices and the service's, merged in creation order once all
/// are known (see `shadows`).
fn vs_host_entry(sidecar: &mut SidecarHosts, name: &str, shadows: &mut Vec<(u32, u32)>) -> u32 {
    match sidecar.domains.get(name).copied() {
        Some(idx)
            if sidecar
                .hosts
                .get(usize::try_from(idx).unwrap_or(usize::MAX))
                .is_some_and(|e| &*e.fqdn != name) =>
        {
            let own = u32::try_from(sidecar.hosts.len()).unwrap_or(u32::MAX);
            sidecar.hosts.push(HostEntry::new(name, None));
            Arc::make_mut(&mut sidecar.domains).insert(name.into(), own);
            shadows.push((own, idx));
            own
        }
        _ => host_entry(sidecar, name, None),
    }
}

fn host_entry(sidecar: &mut SidecarHosts, fqdn: &str, ports: Option<&[u16]>) -> u32 {
    if let Some(&idx) = sidecar.domains.get(fqdn) {
        if let (Some(ports), Some(entry)) = (ports, sidecar.hosts.get_mut(index(idx))) {
            if entry.service_ports.is_none() {
                entry.service_mut().service_ports = Some(ports.into());
            }
        }
        return idx;
    }
    let idx = u32::try_from(sidecar.hosts.len()).unwrap_or(u32::MAX);
    sidecar.hosts.push(HostEntry::new(fqdn, ports));
    if fqdn.starts_with('*') {
        return idx;
    }
    Arc::make_mut(&mut sidecar.domains).insert(fqdn.into(), idx);
    if let Some((name, ns)) = host::kubernetes_service(fqdn) {
        Arc::make_mut(&mut sidecar.domains)
            .entry(format!("{name}.{ns}.svc").into())
            .or_insert(idx);
        Arc::make_mut(&mut sidecar.domains)
            .entry(format!("{name}.{ns}").into())
            .or_insert(idx);
        let pairs = Arc::make_mut(&mut sidecar.short)
            .entry(name.into())
            .or_default();
        if !pairs.iter().any(|(namespace, _)| **namespace == *ns) {
            pairs.push((ns.into(), idx));
        }
    }
    idx
}
