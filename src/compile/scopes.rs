//! Scopes: what each caller sees of the mesh, built as istiod builds a `SidecarScope`
//! (istio/istio `pilot/pkg/model/sidecar.go`, `pilot/pkg/model/virtualservice.go`
//! `SelectVirtualServices`, `pilot/pkg/model/push_context.go` `getSidecarScope`,
//! `initSidecarScopes`, `IsServiceVisible`, `destinationRule`).
//!
//! - A scope is built for a namespace from a `Sidecar` resource, or from the default egress
//!   listener `*/*` when none applies. Each egress listener imports the services visible to the
//!   namespace (`exportTo`) whose host its `hosts` list (`ns/host`, `*/host`, `./host`, `~/`
//!   excludes), and the VirtualServices bound to `mesh` visible to the namespace (its private
//!   ones, then those exported to it by name, then public ones, each oldest first) that its hosts
//!   list for the VirtualService's own namespace or `*`.
//! - The services a scope has clusters for are its listeners' services plus the destinations of
//!   its VirtualServices (`collectImportedServices`), each with the DestinationRule the
//!   namespace's lookup finds.
//! - A workload gets the first workload-selecting Sidecar of its namespace whose selector its
//!   labels satisfy, else its namespace's selector-less Sidecar, else the root namespace's
//!   selector-less Sidecar (with `./` meaning the workload's namespace), else the default.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::known::Known;
use super::routes::NumberedDestination;
use super::sidecar::{VsInfo, sidecar_hosts_shadowing, with_claims_first};
use crate::config::{Body, IstioEgressListener, OutboundTrafficMode, Resource, Sidecar};
use crate::registry::rules::{Caller, RuleChoice};
use crate::registry::services::Service;
use crate::registry::visibility::service_annotation_export;
use crate::route::table::{
    Authorities, DomainNames, Listener, NO_NOTES, NO_RULE, NamespaceScopes, RuleInfo, Scope,
    ScopeHost, ScopeHosts, Scopes, SidecarHosts, Tables,
};
use crate::util::host;
use crate::util::host_table::HostNames;

/// The hosts one egress listener imports from one namespace (sidecar.go `hostClassification`).
#[derive(Debug, Default)]
struct Imports {
    exact: BTreeSet<String>,
    all: Vec<String>,
    excluded: Vec<String>,
}

impl Imports {
    /// `Matches`: whether a service host is imported.
    fn service(&self, h: &str) -> bool {
        if self.exact.contains(h) {
            return true;
        }
        let wild = h.starts_with('*');
        self.all
            .iter()
            .filter(|i| wild || i.starts_with('*'))
            .any(|i| host::subset_of(h, i))
    }

    /// `VSMatches` (without gateway semantics): whether a VirtualService host is imported.
    fn virtual_service(&self, h: &str) -> bool {
        if self.exact.contains(h) {
            return true;
        }
        let wild = h.starts_with('*');
        self.all
            .iter()
            .filter(|i| wild || i.starts_with('*'))
            .any(|i| host::matches(h, i))
    }

    /// `Excluded`: a `~`-prefixed entry names the host.
    fn excluded(&self, h: &str) -> bool {
        self.excluded.iter().any(|e| host::subset_of(h, e))
    }
}

/// One egress listener's `hosts`, by namespace (`*` for any), `.` resolved to `namespace`.
fn imports(listener: &IstioEgressListener, namespace: &str) -> HashMap<String, Imports> {
    let mut out: HashMap<String, Imports> = HashMap::new();
    for entry in &listener.hosts {
        // sidecar.go `convertIstioListenerToWrapper`: anything but `namespace/dnsName` is
        // skipped (validation rejects it).
        let Some((ns, name)) = entry.split_once('/') else {
            continue;
        };
        if name.contains('/') {
            continue;
        }
        let (ns, excluded) = match ns.strip_prefix('~') {
            Some("") => ("*", true),
            Some(rest) => (rest, true),
            None => (ns, false),
        };
        let ns = if ns == "." { namespace } else { ns };
        let name = name.to_ascii_lowercase();
        let imports = out.entry(ns.to_owned()).or_default();
        if excluded {
            imports.excluded.push(name);
        } else {
            if !name.starts_with('*') {
                imports.exact.insert(name.clone());
            }
            imports.all.push(name);
        }
    }
    out
}

/// The egress listener of the default scope: every host of every namespace.
fn default_listener() -> IstioEgressListener {
    IstioEgressListener {
        hosts: vec!["*/*".to_owned()],
        ..IstioEgressListener::default()
    }
}

/// Builds every scope into `tables.scopes` and their DestinationRule choices into
/// `tables.rules`; returns each choice (the merged DestinationRule and the rules it merges).
/// `numbered` holds the route destinations by number (`CompiledDestination::id`).
pub(super) fn build(
    resources: &[&Resource],
    known: &Known<'_>,
    infos: &[VsInfo<'_>],
    numbered: &[NumberedDestination],
    tables: &mut Tables,
) -> Vec<RuleChoice> {
    let root = known.settings.root_namespace().to_owned();
    let mut sidecars: Vec<&Resource> = resources
        .iter()
        .copied()
        .filter(|r| matches!(r.body, Body::Sidecar(_)))
        .collect();
    // push_context.go `initSidecarScopes`: creation order, workload-selecting ones first.
    sidecars.sort_by(|a, b| {
        (
            spec(a).is_some_and(|s| s.workload_selector.is_none()),
            &a.metadata.creation_timestamp,
            a.name(),
            a.namespace(),
        )
            .cmp(&(
                spec(b).is_some_and(|s| s.workload_selector.is_none()),
                &b.metadata.creation_timestamp,
                b.name(),
                b.namespace(),
            ))
    });
    let root_default = sidecars
        .iter()
        .copied()
        .find(|r| r.namespace() == root && spec(r).is_some_and(|s| s.workload_selector.is_none()));

    // Listener hosts are made from shared ones where they can be; a test compares with
    // building every one in full.
    #[cfg(test)]
    let claims_first = tests::CLAIMS_FIRST.with(std::cell::Cell::get);
    #[cfg(not(test))]
    let claims_first = true;
    let mut builder = Builder {
        known,
        infos,
        tables,
        rule_ids: HashMap::new(),
        policies: Vec::new(),
        listeners: HashMap::new(),
        authorities: HashMap::new(),
        scope_hosts: HashMap::new(),
        base_hosts: None,
        hasher: std::hash::RandomState::new(),
        note_ids: HashMap::new(),
        shared_rules: HashMap::new(),
        shared_service_rules: vec![None; known.services.len()],
        shadowed: HashMap::new(),
        claims_first,
    };
    let mut scopes = Scopes::default();
    for namespace in namespaces(resources, &root) {
        let plain = builder.scope(&namespace, None, &mut scopes);
        let mut entry = NamespaceScopes::default();
        for sidecar in sidecars.iter().filter(|r| r.namespace() == namespace) {
            let Some(spec) = spec(sidecar) else { continue };
            if let Some(selector) = &spec.workload_selector {
                let labels = selector
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                    .collect();
                let index = builder.scope(&namespace, Some(sidecar), &mut scopes);
                entry.selected.push((labels, index));
            }
        }
        let own_default = sidecars.iter().copied().find(|r| {
            r.namespace() == namespace && spec(r).is_some_and(|s| s.workload_selector.is_none())
        });
        entry.default = match own_default.or(root_default) {
            Some(sidecar) => builder.scope(&namespace, Some(sidecar), &mut scopes),
            None => plain,
        };
        scopes.plain.insert(namespace.as_str().into(), plain);
        scopes.namespaces.insert(namespace.as_str().into(), entry);
    }
    // A namespace no resource names: nothing private to it exists, `./` imports nothing.
    scopes.elsewhere_plain = builder.scope("", None, &mut scopes);
    scopes.elsewhere = match root_default {
        Some(sidecar) => builder.scope("", Some(sidecar), &mut scopes),
        None => scopes.elsewhere_plain,
    };
    // Each route destination as each scope sees it (cluster and subset), by destination id.
    let rules = &builder.tables.rules;
    for scope in &mut scopes.list {
        scope.destinations = numbered
            .iter()
            .map(|d| {
                let subset = d.subset.as_deref();
                let Some(seen) = scope.hosts.get(&d.host).copied().filter(|h| h.exists) else {
                    return ScopeHost::default();
                };
                let subset_defined = subset.is_none_or(|subset| {
                    rules
                        .get(usize::try_from(seen.rule).unwrap_or(usize::MAX))
                        .is_some_and(|rule| rule.subsets.iter().any(|s| &**s == subset))
                });
                ScopeHost {
                    exists: subset_defined,
                    ..seen
                }
            })
            .collect();
    }
    builder.tables.scopes = scopes;
    builder.policies
}

fn spec(resource: &Resource) -> Option<&Sidecar> {
    match &resource.body {
        Body::Sidecar(s) => Some(s),
        _ => None,
    }
}

/// Every namespace the configuration names: where resources live, where they are exported to,
/// the root namespace, and `default` (which every cluster has).
fn namespaces(resources: &[&Resource], root: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::from([root.to_owned(), "default".to_owned()]);
    let named = |out: &mut BTreeSet<String>, list: &[String]| {
        out.extend(
            list.iter()
                .filter(|e| !matches!(e.as_str(), "*" | "." | "~"))
                .cloned(),
        );
    };
    for resource in resources {
        out.insert(resource.namespace().to_owned());
        match &resource.body {
            Body::VirtualService(vs) => named(&mut out, &vs.export_to),
            Body::DestinationRule(dr) => named(&mut out, &dr.export_to),
            Body::ServiceEntry(se) => named(&mut out, &se.export_to),
            Body::Service(_) => named(&mut out, &service_annotation_export(resource)),
            _ => {}
        }
    }
    out
}

struct Builder<'k, 'r, 'i, 't> {
    known: &'k Known<'r>,
    infos: &'i [VsInfo<'i>],
    tables: &'t mut Tables,
    /// Rule choices already numbered, by their merged keys.
    rule_ids: HashMap<Vec<String>, u32>,
    /// Each choice, by index.
    policies: Vec<RuleChoice>,
    /// The listener hosts built so far, by what they were built from.
    listeners: HashMap<ListenerKey<'k>, (Arc<SidecarHosts>, Arc<HostNames>)>,
    /// The authorities with a dot built so far, by the name tables of the listener hosts they
    /// were built from (each kept alive by `listeners`, so an address names one).
    authorities: HashMap<Vec<*const DomainNames>, Arc<Authorities>>,
    /// The scopes' hosts built so far, by the hash of their content.
    scope_hosts: HashMap<u64, Vec<Arc<SeenHosts>>>,
    /// The first scope's hosts, which a scope that differs in a few hosts shares.
    base_hosts: Option<Arc<SeenHosts>>,
    hasher: std::hash::RandomState,
    /// Each list of notes numbered so far, by content.
    note_ids: HashMap<Vec<(String, String)>, u32>,
    /// The DestinationRule choice and notes of each service's host for every caller no rule
    /// for it names, by [`Service::id`].
    shared_service_rules: Vec<Option<(u32, u32)>>,
    /// The same for each host no resource defines.
    shared_rules: HashMap<Box<str>, (u32, u32)>,
    /// For each listener hosts built in full, the entries another name's entry inherits from.
    shadowed: HashMap<*const SidecarHosts, Vec<u32>>,
    /// Whether listener hosts may be made from shared ones (off: always built in full, for
    /// the test that compares the two).
    claims_first: bool,
}

/// The hosts a scope's routes may send to, before they are shared ([`Scope::hosts`]).
type SeenHosts = crate::route::table::HostMap;

/// What a listener's hosts are built from: its port, its services and its VirtualServices in
/// precedence order. Nothing else of the caller's namespace enters them but the DestinationRule
/// choice of each service's default route, which a scope that differs keeps as its own
/// (`Scope::rule_overrides`): one namespace's rule for another's host must not cost a copy of
/// every host.
#[derive(PartialEq, Eq, Hash)]
struct ListenerKey<'k> {
    port: Option<u16>,
    services: Vec<ServiceRef<'k>>,
    virtual_services: Vec<u32>,
}

/// A service compared by identity: the registry holds each once.
#[derive(Clone, Copy)]
struct ServiceRef<'k>(&'k Service);

impl PartialEq for ServiceRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for ServiceRef<'_> {}

impl std::hash::Hash for ServiceRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

impl<'k> Builder<'k, '_, '_, '_> {
    /// Builds the scope of `namespace` under `sidecar` (none: the default) and returns its index.
    fn scope(&mut self, namespace: &str, sidecar: Option<&Resource>, scopes: &mut Scopes) -> u32 {
        let spec = sidecar.and_then(spec);
        let default = [default_listener()];
        let egress: &[IstioEgressListener] = match spec {
            Some(s) if !s.egress.is_empty() => &s.egress,
            _ => &default,
        };
        let mut scope = Scope {
            name: match sidecar {
                Some(r) => format!("Sidecar {}", r.key()).into(),
                None => "default".into(),
            },
            registry_only: match spec.and_then(|s| s.outbound_traffic_policy.as_ref()) {
                Some(policy) => policy.mode == OutboundTrafficMode::RegistryOnly,
                None => {
                    self.known.settings.outbound_traffic_mode() == OutboundTrafficMode::RegistryOnly
                }
            },
            ..Scope::default()
        };
        // Services the scope has clusters for: the listeners' first, then the destinations of
        // their VirtualServices.
        let known: &'k Known<'_> = self.known;
        let mut imported: Vec<&'k Service> = Vec::new();
        // The hosts of `imported`: a scope sees every service, so a scan per service would make
        // a scope cost the square of the services.
        let mut imported_hosts: HashSet<&'k str> = HashSet::new();
        // Each egress listener's port, services and VirtualServices; its hosts are built once
        // the DestinationRule choices of the services are known.
        let mut planned: Vec<ListenerKey<'k>> = Vec::new();
        let mut all_vs: Vec<u32> = Vec::new();
        for listener in egress {
            let imports = imports(listener, namespace);
            let port = listener
                .port
                .as_ref()
                .and_then(|p| u16::try_from(p.number).ok())
                .filter(|p| *p != 0);
            let services = self.services(namespace, &imports, port);
            let virtual_services = self.virtual_services(namespace, &imports);
            imported_hosts.reserve(services.len());
            for s in &services {
                if imported_hosts.insert(s.host.as_str()) {
                    imported.push(s);
                }
            }
            all_vs.extend(&virtual_services);
            planned.push(ListenerKey {
                port,
                services: services.into_iter().map(ServiceRef).collect(),
                virtual_services,
            });
        }
        for &vs in &all_vs {
            let Some(info) = self.infos.get(usize::try_from(vs).unwrap_or(usize::MAX)) else {
                continue;
            };
            for destination in &info.destinations {
                if imported_hosts.contains(destination.as_str()) {
                    continue;
                }
                if let Some(service) = known.services.for_caller(destination, namespace) {
                    imported_hosts.insert(service.host.as_str());
                    imported.push(service);
                }
            }
        }
        let mut hosts: SeenHosts = SeenHosts::default();
        hosts.reserve(imported.len());
        let caller = known.rules.caller(namespace);
        for service in &imported {
            let (rule, notes) =
                self.rule_and_notes(caller, namespace, service.host.as_str(), Some(service));
            hosts.insert(
                service.host.as_str().into(),
                ScopeHost {
                    exists: true,
                    rule,
                    notes,
                },
            );
        }
        for info in self.infos {
            for destination in &info.destinations {
                if hosts.contains_key(destination.as_str()) {
                    continue;
                }
                let seen = if known.services.contains(destination) {
                    // A service the scope does not import: Envoy has no cluster for it (503 NC).
                    let why = if known.services.for_caller(destination, namespace).is_none() {
                        format!("not exported to {} (exportTo)", who(namespace))
                    } else {
                        format!("not imported by {} (egress hosts)", scope.name)
                    };
                    ScopeHost {
                        exists: false,
                        rule: NO_RULE,
                        notes: self.note(vec![(format!("service {destination}"), why)]),
                    }
                } else {
                    // Hosts no resource defines are taken to exist (partial configurations).
                    let (rule, notes) =
                        self.rule_and_notes(caller, namespace, destination.as_str(), None);
                    ScopeHost {
                        exists: true,
                        rule,
                        notes,
                    }
                };
                hosts.insert(destination.as_str().into(), seen);
            }
        }
        let mut listeners: Vec<Listener> = planned
            .into_iter()
            .map(|key| {
                // Each service's own virtual host knows its DestinationRule choice (the default
                // route).
                let rules: Vec<u32> = key
                    .services
                    .iter()
                    .map(|s| {
                        let seen = hosts.get(s.0.host.as_str()).filter(|h| h.exists);
                        seen.map_or(NO_RULE, |h| h.rule)
                    })
                    .collect();
                let port = key.port;
                let (shared, domains) = self.listener_hosts(key, &rules);
                // The hosts are shared with scopes whose DestinationRule choices may differ
                // (a namespace's own rule for another namespace's host): the scope's own
                // choice, where it differs, is kept on the scope.
                for entry in &shared.hosts {
                    if entry.service_ports.is_none() {
                        continue;
                    }
                    let own = hosts.get(&*entry.fqdn).filter(|h| h.exists);
                    let own = own.map_or(NO_RULE, |h| h.rule);
                    if own != entry.rule {
                        scope.rule_overrides.insert(entry.fqdn.as_ref().into(), own);
                    }
                }
                Listener::new(port, shared, domains, namespace)
            })
            .collect();
        // The catch-all listener last, as Envoy falls back to it.
        listeners.sort_by_key(|l| l.port.is_none());
        scope.listeners = listeners;
        scope.authorities = scope.index_authorities(false);
        // By name table: listener hosts made from shared ones keep the base's names, entries'
        // ports and hosts they lead to (`claims_on_shared`), so the same authorities.
        let shared_by: Vec<*const DomainNames> = scope
            .listeners
            .iter()
            .map(|l| Arc::as_ptr(&l.hosts.domains))
            .collect();
        scope.shared_authorities = match self.authorities.get(&shared_by) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared = Arc::new(scope.index_authorities(true));
                self.authorities.insert(shared_by, Arc::clone(&shared));
                shared
            }
        };
        scope.hosts = self.shared_hosts(hosts);
        let index = u32::try_from(scopes.list.len()).unwrap_or(u32::MAX);
        scopes.list.push(scope);
        index
    }

    /// `hosts` as a scope keeps them: an equal map an earlier scope has, else the first
    /// scope's map with this one's differences (when they are few), else a map of its own
    /// that later scopes may share.
    fn shared_hosts(&mut self, hosts: SeenHosts) -> ScopeHosts {
        // Independent of the map's order: a sum of each entry's hash.
        let hash = hosts.iter().fold(0_u64, |sum, entry| {
            sum.wrapping_add(std::hash::BuildHasher::hash_one(&self.hasher, entry))
        });
        let same = self.scope_hosts.entry(hash).or_default();
        if let Some(shared) = same.iter().find(|shared| ***shared == hosts) {
            return ScopeHosts {
                shared: Arc::clone(shared),
                own: Default::default(),
            };
        }
        if let Some(base) = &self.base_hosts {
            let mut own: crate::route::table::HostMap<Option<ScopeHost>> = Default::default();
            // Few: an eighth of the hosts, or 16.
            let few = ((hosts.len() + base.len()) / 8).max(16);
            for (host, seen) in &hosts {
                if base.get(host) != Some(seen) && own.len() <= few {
                    own.insert(host.clone(), Some(*seen));
                }
            }
            for host in base.keys() {
                if !hosts.contains_key(host) && own.len() <= few {
                    own.insert(host.clone(), None);
                }
            }
            if own.len() <= few {
                return ScopeHosts {
                    shared: Arc::clone(base),
                    own,
                };
            }
        }
        let shared = Arc::new(hosts);
        same.push(Arc::clone(&shared));
        if self.base_hosts.is_none() {
            self.base_hosts = Some(Arc::clone(&shared));
        }
        ScopeHosts {
            shared,
            own: Default::default(),
        }
    }

    /// The hosts of a listener that takes what `key` lists, with their domains: built the first
    /// time, with `rules` (the DestinationRule choice of each of `key.services`) as each
    /// service's default route's, and shared by every scope whose listener takes the same.
    fn listener_hosts(
        &mut self,
        key: ListenerKey<'k>,
        rules: &[u32],
    ) -> (Arc<SidecarHosts>, Arc<HostNames>) {
        if let Some(shared) = self.listeners.get(&key) {
            return shared.clone();
        }
        if let Some(shared) = self.claims_on_shared(&key, rules) {
            self.listeners.insert(key, shared.clone());
            return shared;
        }
        let services: Vec<(&str, Vec<u16>)> = key
            .services
            .iter()
            .map(|s| {
                let ports = match key.port {
                    Some(p) => vec![p],
                    None => s.0.ports.clone(),
                };
                (s.0.host.as_str(), ports)
            })
            .collect();
        let (mut hosts, shadowed) =
            sidecar_hosts_shadowing(&key.virtual_services, &services, self.infos);
        let rules: HashMap<&str, u32> = services
            .iter()
            .map(|(host, _)| *host)
            .zip(rules.iter().copied())
            .collect();
        for entry in &mut hosts.hosts {
            if entry.service_ports.is_some() {
                if let Some(&rule) = rules.get(&*entry.fqdn) {
                    entry.service_mut().rule = rule;
                }
            }
        }
        let domains = Arc::new(Listener::domain_names(&hosts));
        let shared = (Arc::new(hosts), domains);
        self.shadowed.insert(Arc::as_ptr(&shared.0), shadowed);
        self.listeners.insert(key, shared.clone());
        shared
    }

    /// The hosts of a listener whose VirtualServices that are not public (private to the
    /// namespace or exported to it by name, which come first) are added to the listener hosts
    /// of the same port, services and public VirtualServices ([`with_claims_first`]): a mesh
    /// whose namespaces keep their VirtualServices private otherwise builds every host of the
    /// mesh once per namespace. `None` when there is nothing to add, or it cannot be added so.
    fn claims_on_shared(
        &mut self,
        key: &ListenerKey<'k>,
        rules: &[u32],
    ) -> Option<(Arc<SidecarHosts>, Arc<HostNames>)> {
        if !self.claims_first {
            return None;
        }
        let public = |vs: &u32| {
            self.infos
                .get(usize::try_from(*vs).unwrap_or(usize::MAX))
                .is_some_and(|i| i.export.is_public())
        };
        let split = key
            .virtual_services
            .iter()
            .position(public)
            .unwrap_or(key.virtual_services.len());
        let (first, rest) = key.virtual_services.split_at(split);
        if first.is_empty() || !rest.iter().all(public) {
            return None;
        }
        let first = first.to_vec();
        let base_key = ListenerKey {
            port: key.port,
            services: key.services.clone(),
            virtual_services: rest.to_vec(),
        };
        let (base, domains) = self.listener_hosts(base_key, rules);
        let shadowed = self.shadowed.get(&Arc::as_ptr(&base))?;
        let hosts = Arc::new(with_claims_first(&base, shadowed, &first, self.infos)?);
        Some((hosts, domains))
    }

    /// The services one egress listener imports (sidecar.go `selectServices`): visible to
    /// `namespace`, named by the listener's hosts for their namespace or `*`, one per host (the
    /// caller's namespace's first), restricted to the listener's port when it has one.
    fn services(
        &self,
        namespace: &str,
        imports: &HashMap<String, Imports>,
        port: Option<u16>,
    ) -> Vec<&'k Service> {
        let known: &'k Known<'_> = self.known;
        let any = imports.get("*");
        let mut out: Vec<&'k Service> = Vec::new();
        // Where each host that more than one namespace has is in `out` (one service per host).
        let mut at: HashMap<&'k str, usize> = HashMap::new();
        for service in known.services.iter() {
            if !service.export.visible_to(namespace) {
                continue;
            }
            let own = imports.get(service.namespace.as_str());
            if own.is_some_and(|i| i.excluded(&service.host))
                || any.is_some_and(|i| i.excluded(&service.host))
            {
                continue;
            }
            let named = own.is_some_and(|i| i.service(&service.host))
                || any.is_some_and(|i| i.service(&service.host));
            if !named {
                continue;
            }
            if let Some(p) = port {
                if !service.ports.is_empty() && !service.ports.contains(&p) {
                    continue;
                }
            }
            if !service.host_shared {
                out.push(service);
                continue;
            }
            match at.get(service.host.as_str()).and_then(|&i| out.get_mut(i)) {
                Some(existing) => {
                    if service.namespace == namespace && existing.namespace != namespace {
                        *existing = service;
                    }
                }
                None => {
                    at.insert(service.host.as_str(), out.len());
                    out.push(service);
                }
            }
        }
        out
    }

    /// The VirtualServices one egress listener imports, in precedence order
    /// (virtualservice.go `SelectVirtualServices`): those bound to `mesh` and visible to
    /// `namespace` whose namespace's imports (or `*`'s) name one of their hosts.
    fn virtual_services(&self, namespace: &str, imports: &HashMap<String, Imports>) -> Vec<u32> {
        let any = imports.get("*");
        // push_context.go `initVirtualServices`: private to the namespace, exported to it by
        // name, public.
        let named = |i: &&VsInfo<'_>| !i.export.is_public() && i.export.visible_to(namespace);
        let private = self
            .infos
            .iter()
            .filter(|i| i.namespace == namespace && named(i));
        let exported = self
            .infos
            .iter()
            .filter(|i| i.namespace != namespace && named(i));
        let public = self.infos.iter().filter(|i| i.export.is_public());
        let mut out = Vec::new();
        let mut listed: HashSet<u32> = HashSet::new();
        for info in private.chain(exported).chain(public) {
            if !info.mesh {
                continue;
            }
            let own = imports.get(info.namespace);
            let selected = info.hosts.iter().any(|h| {
                let excluded =
                    own.is_some_and(|i| i.excluded(h)) || any.is_some_and(|i| i.excluded(h));
                !excluded
                    && (own.is_some_and(|i| i.virtual_service(h))
                        || any.is_some_and(|i| i.virtual_service(h)))
            });
            if selected && listed.insert(info.index) {
                out.push(info.index);
            }
        }
        out
    }

    /// [`Self::rule`] and [`Self::rule_notes`] for `fqdn`, the host of `service` (none: a
    /// host no resource defines), looked up once for every caller whose lookups for it are not
    /// its own ([`Caller::own`]): each scope sees every host, and most namespaces have no
    /// DestinationRule that names it. A service's answer is kept by its position, so that
    /// most hosts cost a scope no hashing.
    fn rule_and_notes(
        &mut self,
        caller: Caller<'_>,
        namespace: &str,
        fqdn: &str,
        service: Option<&Service>,
    ) -> (u32, u32) {
        let shared = !caller.own(fqdn);
        if shared {
            let found = match service {
                Some(service) => self.shared_service_rules.get(service.id).copied().flatten(),
                None => self.shared_rules.get(fqdn).copied(),
            };
            if let Some(found) = found {
                return found;
            }
        }
        let service_namespace = service.map(|s| s.namespace.as_str());
        let found = (
            self.rule(namespace, fqdn, service_namespace),
            self.rule_notes(namespace, fqdn, service_namespace),
        );
        if shared {
            match service {
                Some(service) => {
                    if let Some(slot) = self.shared_service_rules.get_mut(service.id) {
                        *slot = Some(found);
                    }
                }
                None => {
                    self.shared_rules.insert(fqdn.into(), found);
                }
            }
        }
        found
    }

    /// The notes on the DestinationRules of `fqdn` for a caller in `namespace`.
    fn rule_notes(&mut self, namespace: &str, fqdn: &str, service_namespace: Option<&str>) -> u32 {
        let notes = self
            .known
            .rules
            .explain(namespace, fqdn, service_namespace)
            .into_iter()
            .map(|(key, verdict)| (format!("DestinationRule {key}"), verdict))
            .collect::<Vec<_>>();
        // One rule that applies is no news: explanations show visibility when it chose.
        if let [(_, verdict)] = notes.as_slice() {
            if verdict.starts_with("applies") {
                return NO_NOTES;
            }
        }
        self.note(notes)
    }

    fn note(&mut self, notes: Vec<(String, String)>) -> u32 {
        if notes.is_empty() {
            return NO_NOTES;
        }
        // Once per content: each scope asks again for the hosts it shares with others.
        if let Some(&index) = self.note_ids.get(&notes) {
            return index;
        }
        let index = u32::try_from(self.tables.notes.len()).unwrap_or(NO_NOTES);
        self.tables.notes.push(
            notes
                .iter()
                .map(|(r, v)| (r.as_str().into(), v.as_str().into()))
                .collect(),
        );
        self.note_ids.insert(notes, index);
        index
    }

    /// The index of the DestinationRule choice for `fqdn` as a caller in `namespace` sees it.
    fn rule(&mut self, namespace: &str, fqdn: &str, service_namespace: Option<&str>) -> u32 {
        let Some(choice) = self.known.rules.lookup(namespace, fqdn, service_namespace) else {
            return NO_RULE;
        };
        if let Some(&id) = self.rule_ids.get(&choice.keys) {
            return id;
        }
        let id = u32::try_from(self.tables.rules.len()).unwrap_or(NO_RULE);
        self.tables.rules.push(rule_info(&choice));
        self.rule_ids.insert(choice.keys.clone(), id);
        self.policies.push(choice);
        id
    }
}

/// The caller's namespace as explanations name it.
fn who(namespace: &str) -> &str {
    if namespace.is_empty() {
        "the caller's namespace"
    } else {
        namespace
    }
}

fn rule_info(choice: &RuleChoice) -> RuleInfo {
    RuleInfo {
        subsets: choice
            .rule
            .subsets
            .iter()
            .map(|s| s.name.as_str().into())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::load::{LoadOptions, from_str};

    std::thread_local! {
        /// Off: every listener's hosts are built in full (`Builder::claims_on_shared`).
        pub(super) static CLAIMS_FIRST: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
    }
    use crate::util::host::{lowercase, split_host_port};

    /// The mesh `yaml` compiles to; it must load without a diagnostic.
    fn compiled(yaml: &str) -> crate::Mesh {
        let loaded = from_str(yaml, &LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
        match super::super::compile(loaded.resources) {
            Ok(mesh) => mesh,
            Err(e) => panic!("{:#?}", e.diagnostics),
        }
    }

    /// Services of one short name in two namespaces, a dotless ServiceEntry host of that name,
    /// a VirtualService host that shadows a service's alternative name, a wildcard, and a
    /// Sidecar that imports part of the mesh on its own port.
    const MESH: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: other}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc-c, namespace: other}
spec: {ports: [{name: http, port: 9090}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: literal, namespace: default}
spec:
  hosts: [svc-b, svc-c, api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shadow, namespace: other}
spec:
  hosts: [svc-b.default, "*.example.com"]
  http: [{route: [{destination: {host: svc-b.default.svc.cluster.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: narrow, namespace: narrow}
spec:
  egress:
  - port: {number: 8080, protocol: HTTP, name: http}
    hosts: [other/*]
  - hosts: ["./*", default/svc-b.default.svc.cluster.local]
"#;

    /// Scopes share the hosts they build alike (listeners and destination hosts), and only
    /// those: a private VirtualService, or a DestinationRule a namespace keeps to itself for
    /// another namespace's host, gives that namespace hosts of its own, and its callers'
    /// decisions follow them while the others' do not.
    #[test]
    fn scopes_share_only_what_they_build_alike() {
        const SHARED: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: svc-a, namespace: a}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: b}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: svc-c, namespace: c}
spec: {ports: [{name: http, port: 8080}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: public, namespace: a}
spec:
  hosts: [svc-a.a.svc.cluster.local]
  http: [{name: public, route: [{destination: {host: svc-a.a.svc.cluster.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: c}
spec:
  exportTo: ["."]
  hosts: [svc-b.b.svc.cluster.local]
  http: [{name: private, route: [{destination: {host: svc-c.c.svc.cluster.local}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: own, namespace: b}
spec:
  exportTo: ["."]
  host: svc-c.c.svc.cluster.local
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
"#;
        let mesh = compiled(SHARED);
        let scopes = &mesh.tables().scopes;
        let scope = |namespace: &str| scopes.select(namespace, &[] as &[(Box<str>, Box<str>)]);
        let listener_hosts = |namespace: &str| {
            let listeners = &scope(namespace).listeners;
            assert_eq!(listeners.len(), 1, "{namespace}");
            listeners.first().map(|l| std::sync::Arc::clone(&l.hosts))
        };
        let (a, b, c, default) = (
            listener_hosts("a"),
            listener_hosts("b"),
            listener_hosts("c"),
            listener_hosts("default"),
        );
        let same = |x: &Option<std::sync::Arc<_>>, y: &Option<std::sync::Arc<_>>| {
            x.as_ref()
                .zip(y.as_ref())
                .is_some_and(|(x, y)| std::sync::Arc::ptr_eq(x, y))
        };
        assert!(same(&a, &default), "a and default see the same listener");
        assert!(same(&a, &b), "b's own DestinationRule is an override");
        assert!(!same(&a, &c), "c's VirtualService is private");
        let hosts = |namespace: &str| {
            let hosts = &scope(namespace).hosts;
            (std::sync::Arc::as_ptr(&hosts.shared), hosts.own.len())
        };
        assert_eq!(hosts("a"), hosts("default"));
        assert_eq!(hosts("a"), hosts("c"));
        // b shares them but for its own choice for svc-c.
        assert_eq!(hosts("b"), (hosts("a").0, 1));
        assert_eq!(hosts("a").1, 0);
        let c_host = "svc-c.c.svc.cluster.local";
        let rule_of = |namespace: &str| scope(namespace).hosts.get(c_host).map(|h| h.rule);
        assert_ne!(rule_of("a"), rule_of("b"));
        assert_eq!(
            scope("b").rule_overrides.get(c_host).copied(),
            rule_of("b"),
            "b's choice for svc-c is kept on b's scope"
        );
        assert!(scope("a").rule_overrides.is_empty() && scope("c").rule_overrides.is_empty());
        // Short names stay the namespace's own, on shared hosts.
        let found = |namespace: &str, name: &str| {
            scope(namespace)
                .listeners
                .first()
                .and_then(|l| l.host(name))
                .map(|e| e.fqdn.to_string())
        };
        assert_eq!(
            found("a", "svc-a").as_deref(),
            Some("svc-a.a.svc.cluster.local")
        );
        assert_eq!(found("default", "svc-a"), None);
        assert_eq!(
            found("default", "SVC-A.a"),
            Some("svc-a.a.svc.cluster.local".into())
        );

        // Decisions follow each namespace's own hosts.
        let route = |namespace: &str, url: &str| {
            let request = http::Request::get(url).body(()).unwrap_or_default();
            let decision = mesh.route(&request, &crate::Source::sidecar(namespace));
            let to = decision.destination().map(|d| d.host.to_string());
            (decision.route().and_then(|r| r.name).map(str::to_owned), to)
        };
        let b_url = "http://svc-b.b.svc.cluster.local:8080/";
        assert_eq!(
            route("c", b_url),
            (
                Some("private".into()),
                Some("svc-c.c.svc.cluster.local".into())
            )
        );
        assert_eq!(
            route("a", b_url),
            (None, Some("svc-b.b.svc.cluster.local".into()))
        );
        assert_eq!(route("default", b_url), route("a", b_url));
        // The default route to svc-c takes each caller's own DestinationRule choice: its
        // cluster.
        let endpoint = crate::Endpoint::new([127, 0, 0, 1].into(), 8080);
        assert!(mesh.set_endpoints(c_host, 8080, &[endpoint]).is_ok());
        let c_url = "http://svc-c.c.svc.cluster.local:8080/";
        for namespace in ["a", "b", "c", "default"] {
            let request = http::Request::get(c_url).body(()).unwrap_or_default();
            let decision = mesh.route(&request, &crate::Source::sidecar(namespace));
            let rule = rule_of(namespace).unwrap_or(super::NO_RULE);
            let expected = mesh.tables().clusters.find(c_host, None, 8080, rule);
            assert!(expected.is_some(), "{namespace}");
            assert_eq!(
                decision.endpoint.as_ref().map(|e| e.cluster),
                expected,
                "{namespace}"
            );
        }
        let a_url = "http://svc-a.a.svc.cluster.local:8080/";
        for namespace in ["a", "b", "c", "default"] {
            assert_eq!(
                route(namespace, a_url),
                (
                    Some("public".into()),
                    Some("svc-a.a.svc.cluster.local".into())
                ),
                "{namespace}"
            );
        }
    }

    /// Listener hosts made from shared ones (a namespace's private VirtualServices claiming
    /// their hosts first) equal those built in full, for every scope, including the cases that
    /// must fall back to a full build: a wildcard, a name that is not a service's own, a name
    /// another entry inherits from.
    #[test]
    fn listener_hosts_made_from_shared_ones_equal_a_full_build() {
        use crate::route::table::SidecarHosts;
        let vs = |name: &str, namespace: &str, export: &str, hosts: &str, to: &str| {
            format!(
                "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  hosts: [{hosts}]\n{export}  http: [{{route: [{{destination: {{host: {to}}}}}]}}]\n"
            )
        };
        let dot = "  exportTo: [\".\"]\n";
        let mut yaml = String::new();
        for namespace in ["a", "b", "c", "d", "e", "f", "g"] {
            for service in ["svc-a", "svc-b"] {
                yaml += &format!(
                    "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {service}, namespace: {namespace}}}\nspec: {{ports: [{{name: http, port: 8080}}, {{name: grpc, port: 9090}}]}}\n"
                );
            }
        }
        // Public: one on a's service, one on an alternative name of b's (its own entry,
        // inheriting the service's VirtualServices).
        yaml += &vs(
            "pub-a",
            "a",
            "",
            "svc-a.a.svc.cluster.local",
            "svc-a.a.svc.cluster.local",
        );
        yaml += &vs("pub-alt", "b", "", "svc-a.b", "svc-a.b.svc.cluster.local");
        // Private ones that can be added: own services, a host a public one claims too, two
        // hosts, one exported to another namespace by name.
        yaml += &vs("own", "a", dot, "svc-a", "svc-a");
        yaml += &vs("own", "c", dot, "svc-a, svc-b", "svc-b");
        yaml += &vs("also", "c", dot, "svc-a.a.svc.cluster.local", "svc-a");
        yaml += &vs("named", "d", "  exportTo: [\".\", e]\n", "svc-b", "svc-b");
        // Private ones that cannot: the parent of b's alternative name, a wildcard, a host no
        // service has.
        yaml += &vs(
            "parent",
            "e",
            dot,
            "svc-a.b.svc.cluster.local",
            "svc-a.b.svc.cluster.local",
        );
        yaml += &vs("wild", "f", dot, "\"*.example.com\"", "svc-a");
        yaml += &vs("external", "g", dot, "api.example.com", "svc-a");

        fn shape(hosts: &SidecarHosts) -> String {
            let mut domains: Vec<_> = hosts.domains.iter().collect();
            domains.sort();
            let mut short: Vec<_> = hosts.short.iter().collect();
            short.sort();
            let entries: Vec<_> = hosts
                .hosts
                .iter()
                .map(|e| (&e.fqdn, &e.virtual_services, &e.service_ports, e.rule))
                .collect();
            format!(
                "{entries:?}\n{domains:?}\n{short:?}\n{:?}\n{:?}",
                hosts.vs_ports, hosts.wildcards
            )
        }
        let shapes = |claims_first: bool| {
            CLAIMS_FIRST.with(|c| c.set(claims_first));
            let mesh = compiled(&yaml);
            CLAIMS_FIRST.with(|c| c.set(true));
            let scopes = &mesh.tables().scopes;
            // Each scope's listener hosts, and what its authorities resolve to (shared ones
            // are the base's: they must lead to the same hosts).
            let shapes: Vec<Vec<String>> = scopes
                .list
                .iter()
                .map(|scope| {
                    let mut shapes: Vec<String> =
                        scope.listeners.iter().map(|l| shape(&l.hosts)).collect();
                    let mut names: Vec<String> = scope
                        .listeners
                        .iter()
                        .flat_map(|l| l.hosts.domains.keys().chain(l.hosts.short.keys()))
                        .map(|name| name.to_string())
                        .collect();
                    names.sort();
                    names.dedup();
                    for name in names {
                        for port in ["", ":80", ":8080", ":9090"] {
                            let authority = format!("{name}{port}");
                            let hit = scope.authority(&authority).map(|hit| {
                                let entry = hit.entry;
                                (
                                    hit.port,
                                    hit.host_len,
                                    entry.fqdn.clone(),
                                    entry.virtual_services.clone(),
                                )
                            });
                            shapes.push(format!("{authority} {hit:?}"));
                        }
                    }
                    shapes
                })
                .collect();
            // How many listener hosts share their names with other listener hosts (made from
            // shared ones): distinct hosts less distinct name tables.
            let distinct = |mut list: Vec<usize>| {
                list.sort_unstable();
                list.dedup();
                list.len()
            };
            let listeners = || scopes.list.iter().flat_map(|s| s.listeners.iter());
            let hosts = distinct(
                listeners()
                    .map(|l| std::sync::Arc::as_ptr(&l.hosts) as usize)
                    .collect(),
            );
            let names = distinct(
                listeners()
                    .map(|l| std::sync::Arc::as_ptr(&l.hosts.domains) as usize)
                    .collect(),
            );
            // Listener hosts with the same name tables hold the same services, not copies:
            // entries sharing theirs.
            let mut first: std::collections::HashMap<usize, &SidecarHosts> =
                std::collections::HashMap::new();
            let mut shared_services = 0;
            for l in listeners() {
                let base = *first
                    .entry(std::sync::Arc::as_ptr(&l.hosts.domains) as usize)
                    .or_insert(&l.hosts);
                if std::ptr::eq(base, &*l.hosts) {
                    continue;
                }
                assert_eq!(base.hosts.len(), l.hosts.hosts.len());
                for (a, b) in base.hosts.iter().zip(&l.hosts.hosts) {
                    assert!(std::ptr::eq(&**a, &**b), "{} copied", a.fqdn);
                    shared_services += 1;
                }
            }
            (shapes, hosts - names, shared_services)
        };
        let (full, none_shared, _) = shapes(false);
        let (made, shared, shared_services) = shapes(true);
        assert_eq!(none_shared, 0);
        assert!(
            shared_services > 10,
            "{shared_services} entries share services"
        );
        // a, c, d (and e, to which d's is exported) add their claims to the public hosts.
        assert!(shared >= 3, "{shared} listeners made from shared hosts");
        assert_eq!(full.len(), made.len());
        // The authorities were found, not just missed alike.
        let hits = made
            .iter()
            .flatten()
            .filter(|s| s.contains(" Some("))
            .count();
        assert!(hits > 100, "{hits} authorities found");
        for (i, (full, made)) in full.iter().zip(&made).enumerate() {
            assert_eq!(full, made, "scope {i}");
        }
    }

    /// A host two namespaces define: a scope takes its own namespace's service, else the first
    /// visible one by namespace (sidecar.go `pickFirstVisibleNamespace`); the ports tell which.
    #[test]
    fn a_host_two_namespaces_define_is_the_callers_own_namespaces() {
        let entry = |namespace: &str, port: u16| {
            format!(
                "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: api, namespace: {namespace}}}\nspec:\n  hosts: [api.example.com]\n  ports: [{{number: {port}, name: http, protocol: HTTP}}]\n  resolution: DNS\n"
            )
        };
        let yaml = entry("beta", 8080)
            + &entry("alpha", 80)
            + "---\napiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: gamma}\nspec: {ports: [{name: http, port: 80}]}\n";
        let mesh = compiled(&yaml);
        let scopes = &mesh.tables().scopes;
        let ports = |namespace: &str| {
            let scope = scopes.select(namespace, &[] as &[(Box<str>, Box<str>)]);
            let listener = scope.listeners.first().expect("a listener");
            let entry = listener.host("api.example.com").expect("the host");
            entry.service_ports.as_deref().map(<[u16]>::to_vec)
        };
        assert_eq!(ports("beta"), Some(vec![8080]));
        assert_eq!(ports("alpha"), Some(vec![80]));
        // Neither is `gamma`'s own: `alpha` comes first.
        assert_eq!(ports("gamma"), Some(vec![80]));
    }

    /// A listener's one-probe lookup of the host as sent agrees with `SidecarHosts::lookup` of
    /// the lowercased host in the scope's namespace, for every name any listener knows, in
    /// both cases, and for names no listener knows.
    #[test]
    fn listener_names_agree_with_lookup() {
        let mesh = compiled(MESH);
        let scopes = &mesh.tables().scopes;
        let mut candidates: Vec<String> = ["", "svc-x", "example.com", "x.example.com"]
            .map(String::from)
            .into();
        candidates.push("a".repeat(300));
        for scope in &scopes.list {
            for listener in &scope.listeners {
                candidates.extend(listener.hosts.domains.keys().map(|k| k.to_string()));
                candidates.extend(listener.hosts.short.keys().map(|k| k.to_string()));
            }
        }
        let variants: Vec<String> = candidates
            .iter()
            .flat_map(|c| {
                [
                    c.clone(),
                    c.to_ascii_uppercase(),
                    format!("{c}."),
                    format!("S{c}"),
                ]
            })
            .collect();
        let mut namespaces: Vec<(&str, u32)> =
            vec![("", scopes.elsewhere), ("", scopes.elsewhere_plain)];
        for (namespace, entry) in &scopes.namespaces {
            namespaces.push((namespace, entry.default));
            namespaces.extend(
                entry
                    .selected
                    .iter()
                    .map(|(_, scope)| (&**namespace, *scope)),
            );
        }
        namespaces.extend(scopes.plain.iter().map(|(ns, scope)| (&**ns, *scope)));
        let mut hits = 0;
        for (namespace, index) in namespaces {
            for listener in &scopes.get(index).listeners {
                for host in &variants {
                    let mut buffer = None;
                    let expected = lowercase(host, &mut buffer)
                        .and_then(|h| listener.hosts.lookup(h, namespace));
                    let found = listener.host(host);
                    assert_eq!(
                        found.map(|e| &*e.fqdn),
                        expected.map(|e| &*e.fqdn),
                        "{host:?} from namespace {namespace:?}, port {:?}",
                        listener.port
                    );
                    assert!(found.zip(expected).is_none_or(|(a, b)| std::ptr::eq(a, b)));
                    hits += usize::from(found.is_some());
                }
            }
        }
        // The names were found, not just missed alike.
        assert!(hits > 50, "{hits} hits");

        // Each scope's `name:port` table agrees with splitting the authority, choosing the
        // port's listener and looking the name up; and it answers the common authorities.
        let mut known = 0;
        for scope in &scopes.list {
            for host in &variants {
                for port in [
                    "8080", "9090", "80", "443", "1234", "08080", "8080x", "", "-",
                ] {
                    let authority = match port {
                        "-" => host.clone(),
                        port => format!("{host}:{port}"),
                    };
                    let Some(hit) = scope.authority(&authority) else {
                        continue;
                    };
                    known += 1;
                    // A bare name stands for port 80 (`http`'s default).
                    let (name, port) = split_host_port(&authority);
                    let port = port.or(Some(80));
                    assert_eq!(
                        (name.len(), port),
                        (hit.host_len, Some(hit.port)),
                        "{authority}"
                    );
                    let listener = scope.listener(hit.port);
                    assert!(
                        listener.is_some_and(|l| std::ptr::eq(l, hit.listener)),
                        "{authority}"
                    );
                    let entry = listener.and_then(|l| l.host(name));
                    assert!(
                        entry.is_some_and(|e| std::ptr::eq(e, hit.entry)),
                        "{authority}"
                    );
                }
            }
        }
        assert!(known > 50, "{known} authorities known");
        let default =
            scopes.get(scopes.select_index("default", &std::collections::BTreeMap::new()));
        for authority in [
            "svc-b:8080",
            "svc-b.default.svc:8080",
            "svc-c.other.svc.cluster.local:9090",
            "svc-b.default:80",
            // A dotless ServiceEntry host: not a short name of `default`'s, found all the same.
            "svc-c:80",
        ] {
            assert!(default.authority(authority).is_some(), "{authority}");
        }
        // Only lowercase, canonical authorities: anything else takes the general path.
        assert!(default.authority("SVC-B:8080").is_none());
        assert!(default.authority("svc-b:08080").is_none());
        assert!(default.authority("svc-b").is_some_and(|k| k.port == 80));

        // A bare name is port 80 for `http` and 443 for `https`, fast path or not.
        for namespace in ["default", "other", "narrow", "elsewhere"] {
            let source = crate::Source::sidecar(namespace);
            for host in [
                "svc-b",
                "svc-c",
                "svc-b.default",
                "api.example.com",
                "x.example.com",
            ] {
                for (scheme, port) in [("http", 80), ("https", 443)] {
                    let route = |authority: &str| {
                        let request = http::Request::get(format!("{scheme}://{authority}/"))
                            .body(())
                            .unwrap_or_default();
                        let decision = mesh.route(&request, &source);
                        (
                            decision.outcome(),
                            decision.virtual_service().map(str::to_owned),
                            decision.destination().map(|d| (d.host.to_owned(), d.port)),
                            decision.request.port,
                        )
                    };
                    assert_eq!(
                        route(host),
                        route(&format!("{host}:{port}")),
                        "{scheme}://{host} from {namespace}"
                    );
                }
            }
        }
    }

    /// Past `MAX_INDEXED_NAMES` names a listener looks hosts up the general way, and the
    /// scope indexes no authorities; decisions are the same.
    #[test]
    fn a_scope_past_the_name_budget_looks_hosts_up_the_general_way() {
        use crate::route::table::MAX_INDEXED_NAMES;
        // Four names per service (`s`, `s.default`, `s.default.svc`, the FQDN).
        let services = MAX_INDEXED_NAMES / 4 + 1;
        let yaml: Vec<String> = (0..services)
            .map(|i| {
                format!(
                    "apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: default}}\nspec: {{ports: [{{name: http, port: 8080}}]}}"
                )
            })
            .collect();
        let mesh = compiled(&yaml.join("\n---\n"));
        let scopes = &mesh.tables().scopes;
        let scope = scopes.get(scopes.select_index("default", &std::collections::BTreeMap::new()));
        assert!(scope.listeners.iter().all(|l| !l.indexed()));
        let last = services - 1;
        assert!(scope.authority(&format!("s{last}:8080")).is_none());
        let sidecar = crate::Source::sidecar("default");
        for host in [
            format!("s{last}"),
            format!("S{last}.Default"),
            format!("s{last}.default.svc.cluster.local"),
        ] {
            let request = http::Request::get(format!("http://{host}:8080/"))
                .body(())
                .unwrap_or_default();
            let decision = mesh.route(&request, &sidecar);
            assert_eq!(
                decision.destination().map(|d| d.host),
                Some(format!("s{last}.default.svc.cluster.local").as_str()),
                "{host}"
            );
        }
    }
}
