//! What the test runner looks up in the configuration under test, beside the compiled `Mesh`:
//! the root VirtualServices that serve an authority (to choose who sends a case's request), a
//! VirtualService's `spec` by name (delegates, virtual host names), the Gateways' servers and
//! the hosts that services define.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Body, Gateway, Resource, VirtualService, effective};
use crate::util::gateways::bound_gateways;
use crate::util::host;

/// A VirtualService of the configuration.
#[derive(Debug)]
pub(super) struct Vs<'r> {
    /// `namespace/name`.
    pub(super) key: String,
    pub(super) namespace: &'r str,
    pub(super) spec: &'r VirtualService,
    /// `spec.hosts`, short names qualified with the VirtualService's namespace, lowercased (as
    /// Istio resolves them: `ResolveShortnameToFQDN`).
    pub(super) hosts: Vec<String>,
    /// The gateways it binds to, resolved (`mesh` for the sidecars).
    pub(super) gateways: Vec<String>,
}

impl Vs<'_> {
    /// Bound to the sidecars (`mesh`).
    pub(super) fn in_mesh(&self) -> bool {
        self.gateways.iter().any(|g| g == "mesh")
    }
}

/// How closely a VirtualService host names an authority's host: the most specific wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Closeness {
    /// `*`.
    Any,
    /// A wildcard, by the length of its suffix.
    Wildcard(usize),
    /// The host itself, or one of the names a Kubernetes service is reached by.
    Exact,
}

/// The configuration under test, indexed.
#[derive(Debug)]
pub(super) struct Manifests<'r> {
    /// Every VirtualService, roots (with hosts) in Istio's order (creation time, name,
    /// namespace), then delegates.
    pub(super) virtual_services: Vec<Vs<'r>>,
    /// Gateways by `namespace/name`.
    pub(super) gateways: BTreeMap<String, &'r Gateway>,
    /// The hosts services define: Kubernetes Services' FQDNs and ServiceEntry hosts, lowercased.
    pub(super) service_hosts: BTreeSet<String>,
}

impl<'r> Manifests<'r> {
    /// Indexes the definitions that take effect (a resource defined twice: the later).
    pub(super) fn new(resources: &'r [Resource]) -> Self {
        let effective = effective(resources);
        let mut virtual_services = Vec::new();
        let mut gateways = BTreeMap::new();
        let mut service_hosts = BTreeSet::new();
        for resource in effective {
            let namespace = resource.namespace();
            match &resource.body {
                Body::VirtualService(vs) => virtual_services.push((
                    resource,
                    Vs {
                        key: format!("{namespace}/{}", resource.name()),
                        namespace,
                        spec: vs,
                        hosts: vs
                            .hosts
                            .iter()
                            .map(|h| host::resolve(h, namespace))
                            .collect(),
                        gateways: bound_gateways(&vs.gateways, namespace),
                    },
                )),
                Body::Gateway(gateway) => {
                    gateways.insert(format!("{namespace}/{}", resource.name()), &**gateway);
                }
                Body::Service(_) => {
                    service_hosts.insert(host::resolve(resource.name(), namespace));
                }
                Body::ServiceEntry(entry) => {
                    service_hosts.extend(entry.hosts.iter().map(|h| host::resolve(h, namespace)));
                }
                _ => {}
            }
        }
        // compile/tables.rs `roots`: creation time, then name, then namespace; delegates last.
        virtual_services.sort_by(|(a, va), (b, vb)| {
            (
                va.hosts.is_empty(),
                &a.metadata.creation_timestamp,
                a.name(),
                a.namespace(),
            )
                .cmp(&(
                    vb.hosts.is_empty(),
                    &b.metadata.creation_timestamp,
                    b.name(),
                    b.namespace(),
                ))
        });
        Self {
            virtual_services: virtual_services.into_iter().map(|(_, vs)| vs).collect(),
            gateways,
            service_hosts,
        }
    }

    /// The VirtualService `namespace/name`.
    pub(super) fn virtual_service(&self, key: &str) -> Option<&Vs<'r>> {
        self.virtual_services.iter().find(|vs| vs.key == key)
    }

    /// The root VirtualServices with a host that names `authority_host` (lowercase, no port),
    /// each with how closely and the namespace a sidecar must be in to reach it by that name.
    pub(super) fn serving(&self, authority_host: &str) -> Vec<(&Vs<'r>, Closeness, String)> {
        let mut out = Vec::new();
        for vs in self
            .virtual_services
            .iter()
            .filter(|vs| !vs.hosts.is_empty())
        {
            let best = vs
                .hosts
                .iter()
                .filter_map(|h| names(h, authority_host).map(|(c, ns)| (c, ns, h)))
                .max_by_key(|(c, _, _)| *c);
            if let Some((closeness, namespace, _)) = best {
                let namespace = namespace.unwrap_or(vs.namespace).to_owned();
                out.push((vs, closeness, namespace));
            }
        }
        out
    }
}

/// Whether the VirtualService host `host` (qualified, lowercase) names `authority` (lowercase, no
/// port), and how closely; with the namespace a caller must be in when the name is a Kubernetes
/// short name (`svc-b` reaches `svc-b.<caller's namespace>.svc.cluster.local` only).
///
/// The names a Kubernetes service answers to are its virtual host's domains (istio/istio
/// `pilot/pkg/networking/core/httproute.go` `generateAltVirtualHostsForKubernetesService`):
/// `name` from its own namespace, `name.ns`, `name.ns.svc` and the FQDN from anywhere.
pub(super) fn names<'h>(host: &'h str, authority: &str) -> Option<(Closeness, Option<&'h str>)> {
    if host == "*" {
        return Some((Closeness::Any, None));
    }
    if let Some(suffix) = host.strip_prefix('*') {
        return host::wildcard_matches(suffix, authority)
            .then_some((Closeness::Wildcard(suffix.len()), None));
    }
    if host == authority {
        return Some((Closeness::Exact, None));
    }
    let (name, namespace) = host::kubernetes_service(host)?;
    if authority == name {
        return Some((Closeness::Exact, Some(namespace)));
    }
    let qualified = authority
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_prefix(namespace));
    matches!(qualified, Some("" | ".svc")).then_some((Closeness::Exact, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// httproute.go `generateAltVirtualHostsForKubernetesService`: a service is reached by its
    /// FQDN, `name.ns.svc`, `name.ns` and, from its own namespace, `name`.
    #[test]
    fn kubernetes_names() {
        let fqdn = "svc-b.prod.svc.cluster.local";
        for (authority, expected) in [
            (
                "svc-b.prod.svc.cluster.local",
                Some((Closeness::Exact, None)),
            ),
            ("svc-b.prod.svc", Some((Closeness::Exact, None))),
            ("svc-b.prod", Some((Closeness::Exact, None))),
            ("svc-b", Some((Closeness::Exact, Some("prod")))),
            ("svc-b.other", None),
            ("svc-bb.prod", None),
        ] {
            assert_eq!(names(fqdn, authority), expected, "{authority}");
        }
        assert_eq!(
            names("*.example.com", "a.example.com"),
            Some((Closeness::Wildcard(12), None))
        );
        assert_eq!(names("*.example.com", "example.com"), None);
        assert_eq!(names("*", "anything"), Some((Closeness::Any, None)));
        assert!(Closeness::Exact > Closeness::Wildcard(3));
        assert!(Closeness::Wildcard(3) > Closeness::Any);
    }
}
