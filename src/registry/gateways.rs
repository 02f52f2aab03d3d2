//! References to Gateways, resolved as Istio resolves them.

/// Resolves a gateway reference as Istio's `resolveGatewayName` (`pilot/pkg/model/config.go` in
/// istio/istio): `gw` and `./gw` are in the VirtualService's namespace, `ns/gw` is explicit, the
/// legacy `gw.ns.svc.cluster.local` is `ns/gw`. Returns `(namespace, name)`.
pub(crate) fn gateway_ref(name: &str, namespace: &str) -> (String, String) {
    if let Some((ns, gw)) = name.split_once('/') {
        let ns = if ns == "." { namespace } else { ns };
        return (ns.to_owned(), gw.to_owned());
    }
    let mut parts = name.split('.');
    match (parts.next(), parts.next()) {
        (Some(gw), Some(ns)) => (ns.to_owned(), gw.to_owned()),
        _ => (namespace.to_owned(), name.to_owned()),
    }
}

/// A match's or VirtualService's `gateways` entry as a key: `mesh`, or `namespace/name`.
pub(crate) fn gateway_key(name: &str, namespace: &str) -> String {
    if name == "mesh" {
        return name.to_owned();
    }
    let (ns, gw) = gateway_ref(name, namespace);
    format!("{ns}/{gw}")
}

/// The gateways a VirtualService with these top-level `gateways` binds to, resolved: `mesh`
/// (every sidecar) when it names none.
pub(crate) fn bound_gateways(gateways: &[String], namespace: &str) -> Vec<String> {
    if gateways.is_empty() {
        vec!["mesh".to_owned()]
    } else {
        gateways.iter().map(|g| gateway_key(g, namespace)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_like_istio() {
        assert_eq!(gateway_key("gw", "prod"), "prod/gw");
        assert_eq!(gateway_key("./gw", "prod"), "prod/gw");
        assert_eq!(gateway_key("infra/gw", "prod"), "infra/gw");
        assert_eq!(
            gateway_key("gw.infra.svc.cluster.local", "prod"),
            "infra/gw"
        );
        assert_eq!(gateway_key("mesh", "prod"), "mesh");
    }
}
