//! References to Gateways and the hosts their servers expose, resolved as Istio resolves them.

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

/// A server's `hosts` as Istio keeps them for the Gateway in `namespace` (`sanitizeServerHostNamespace`
/// in istio/istio `pilot/pkg/model/gateway.go`): `./host` becomes `namespace/host`, `*/host`
/// becomes `host`, and `*/*` makes the whole list `*`; `ns/host` stays as it is.
pub(crate) fn server_hosts(hosts: &[String], namespace: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(hosts.len());
    for host in hosts {
        match host.split_once('/') {
            Some((".", name)) => out.push(format!("{namespace}/{name}")),
            Some(("*", "*")) => return vec!["*".to_owned()],
            Some(("*", name)) => out.push(name.to_owned()),
            _ => out.push(host.clone()),
        }
    }
    out
}

/// The server hosts (as [`server_hosts`] leaves them) that select VirtualServices of
/// `namespace`, without their namespace part (`host.NamesForNamespace` in istio/istio
/// `pkg/config/host/names.go`): a bare host selects every namespace, `ns/host` only `ns`. The one
/// rule for which VirtualServices a server exposes, for routing and for `istioctl analyze`.
pub(crate) fn hosts_for_namespace<'h>(hosts: &'h [String], namespace: &str) -> Vec<&'h str> {
    hosts
        .iter()
        .filter_map(|host| match host.split_once('/') {
            Some((ns, name)) if ns == namespace || ns == "*" => Some(name),
            Some(_) => None,
            None => Some(host.as_str()),
        })
        .collect()
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

    /// gateway.go `sanitizeServerHostNamespace` and names.go `NamesForNamespace` doc examples.
    #[test]
    fn server_hosts_select_namespaces_like_istio() {
        let hosts = |list: &[&str]| list.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            server_hosts(&hosts(&["./a.com", "*/b.com", "ns/c.com", "d.com"]), "gw"),
            ["gw/a.com", "b.com", "ns/c.com", "d.com"]
        );
        assert_eq!(server_hosts(&hosts(&["a.com", "*/*"]), "gw"), ["*"]);
        let two = hosts(&["ns1/foo.com", "ns2/bar.com"]);
        assert_eq!(hosts_for_namespace(&two, "ns1"), ["foo.com"]);
        assert!(hosts_for_namespace(&two, "ns3").is_empty());
        let star = hosts(&["ns1/foo.com", "*/bar.com"]);
        assert_eq!(hosts_for_namespace(&star, "ns1"), ["foo.com", "bar.com"]);
        assert_eq!(hosts_for_namespace(&star, "ns3"), ["bar.com"]);
        let bare = hosts(&["foo.com", "ns2/bar.com"]);
        assert_eq!(hosts_for_namespace(&bare, "ns2"), ["foo.com", "bar.com"]);
        assert_eq!(hosts_for_namespace(&bare, "ns3"), ["foo.com"]);
    }
}
