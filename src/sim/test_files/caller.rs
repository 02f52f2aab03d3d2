//! Who sends a case's request. Neither test format says: istio-config-validator matches the
//! request against every VirtualService, and Envoy's `router_check_tool` runs against one route
//! configuration. meshroute decides as the proxy whose routes those are: a sidecar in the
//! namespace of the VirtualService that serves the authority, or, when that VirtualService is
//! bound only to gateways, as its gateway. `--namespace` and `--gateway` decide for every case.

use super::manifests::Manifests;
use crate::route::source::Source;

/// Who decides every case, when the user says so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum Fixed {
    /// Chosen per case from the authority.
    #[default]
    PerCase,
    /// A sidecar in this namespace.
    Sidecar(String),
    /// This gateway (`namespace/name`).
    Gateway(String),
}

/// The proxy that sends a request, and why it was chosen.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub(super) source: Source,
    /// `a sidecar in default`, `the gateway default/demo-gateway`.
    pub(super) name: String,
    /// Why this proxy.
    pub(super) why: String,
}

impl Caller {
    fn sidecar(namespace: &str, why: String) -> Self {
        Self {
            source: Source::sidecar(namespace),
            name: format!("a sidecar in {namespace}"),
            why,
        }
    }

    fn gateway(key: &str, why: String) -> Self {
        Self {
            source: Source::gateway(key),
            name: format!("the gateway {key}"),
            why,
        }
    }
}

/// The caller of a request to `host` (lowercase, no port).
pub(super) fn choose(manifests: &Manifests<'_>, host: &str, fixed: &Fixed) -> Caller {
    match fixed {
        Fixed::Sidecar(namespace) => {
            return Caller::sidecar(namespace, "--namespace decides every case".to_owned());
        }
        Fixed::Gateway(key) => {
            return Caller::gateway(key, "--gateway decides every case".to_owned());
        }
        Fixed::PerCase => {}
    }
    let serving = manifests.serving(host);
    let Some(closest) = serving.iter().map(|(_, c, _)| *c).max() else {
        return Caller::sidecar(
            "default",
            format!("no VirtualService has a host that names {host:?}"),
        );
    };
    let closest: Vec<_> = serving.iter().filter(|(_, c, _)| *c == closest).collect();
    if let Some((vs, _, namespace)) = closest.iter().find(|(vs, _, _)| vs.in_mesh()) {
        return Caller::sidecar(
            namespace,
            format!(
                "the VirtualService {} serves {host:?} and is bound to the sidecars (mesh)",
                vs.key
            ),
        );
    }
    let Some((vs, _, _)) = closest.first() else {
        return Caller::sidecar("default", format!("no VirtualService serves {host:?}"));
    };
    // Bound only to gateways: the first one the configuration defines (else the first named,
    // whose absence the decision then explains).
    let named: Vec<&String> = vs.gateways.iter().filter(|g| *g != "mesh").collect();
    let gateway = named
        .iter()
        .find(|g| manifests.gateways.contains_key(g.as_str()))
        .or(named.first());
    match gateway {
        Some(gateway) => Caller::gateway(
            gateway,
            format!(
                "the VirtualService {} serves {host:?} and is bound only to gateways ({})",
                vs.key,
                named
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        None => Caller::sidecar("default", format!("no VirtualService serves {host:?}")),
    }
}
