//! Who sends a request: a sidecar in a namespace with its workload's labels, or a gateway.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Who sends the request: a sidecar in a namespace (with its workload's labels), or a gateway.
///
/// The caller's identity decides the config-time selectors of a match (`sourceLabels`,
/// `sourceNamespace`, `gateways`) and which VirtualServices apply (top-level `gateways`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    namespace: String,
    labels: BTreeMap<String, String>,
    gateway: Option<String>,
    ip: Option<IpAddr>,
    downstream: Option<(SocketAddr, SocketAddr)>,
}

impl Source {
    /// A sidecar (the `mesh` gateway) in `namespace`.
    pub fn sidecar(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            labels: BTreeMap::new(),
            gateway: None,
            ip: None,
            downstream: None,
        }
    }

    /// The gateway `namespace/name` (a bare `name` means namespace `default`). Its namespace is
    /// the caller's namespace (VirtualServices must be exported to it); its workload labels come
    /// from the Gateway's `selector`; its servers decide the ports and hosts it serves.
    pub fn gateway(name: &str) -> Self {
        let (namespace, name) = name.split_once('/').unwrap_or(("default", name));
        Self {
            namespace: namespace.to_owned(),
            labels: BTreeMap::new(),
            gateway: Some(format!("{namespace}/{name}")),
            ip: None,
            downstream: None,
        }
    }

    /// The caller workload's labels (for `sourceLabels`).
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The caller's IP address (for source-IP hashing and sticky choices).
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// The downstream connection's peer and local addresses. Envoy derives a generated
    /// `consistentHash.httpCookie` value from them (`Router::Filter::addDownstreamSetCookie` in envoyproxy/envoy); without them no cookie is
    /// generated and the pick falls back to a random hash.
    pub fn with_downstream(mut self, remote: SocketAddr, local: SocketAddr) -> Self {
        self.downstream = Some((remote, local));
        self
    }

    /// The caller's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The gateway (`namespace/name`), or `None` for a sidecar.
    pub fn gateway_name(&self) -> Option<&str> {
        self.gateway.as_deref()
    }

    /// The caller's labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// The caller's IP address, if known.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The downstream connection's `(remote, local)` addresses, if known.
    pub fn downstream(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.downstream
    }
}

impl Default for Source {
    /// A sidecar in namespace `default`.
    fn default() -> Self {
        Self::sidecar("default")
    }
}
