//! Who sends a request: a sidecar in a namespace with its workload's labels, or a gateway.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// The scope the last [`Mesh`](crate::Mesh) chose for this caller, so that a caller that
    /// keeps its `Source` skips the namespace lookup on every request.
    scope: ScopeMemo,
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
            scope: ScopeMemo::default(),
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
            scope: ScopeMemo::default(),
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
        self.scope = ScopeMemo::default();
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

    /// [`Source::ip`], borrowed (for the hash input built per pick).
    pub(crate) fn ip_ref(&self) -> Option<&IpAddr> {
        self.ip.as_ref()
    }

    /// [`Source::downstream`], borrowed.
    pub(crate) fn downstream_ref(&self) -> Option<&(SocketAddr, SocketAddr)> {
        self.downstream.as_ref()
    }
}

impl Default for Source {
    /// A sidecar in namespace `default`.
    fn default() -> Self {
        Self::sidecar("default")
    }
}

/// A scope choice remembered for one caller: `mesh id << 24 | scope index`, `0` for none. One
/// atomic word, so that concurrent requests through a shared `Source` never read a mesh's id
/// with another mesh's index. Equality and hashing of [`Source`] ignore it.
#[derive(Default)]
struct ScopeMemo(AtomicU64);

/// Scope indexes that fit beside a mesh id in one word; larger ones are not remembered.
const SCOPE_BITS: u32 = 24;

impl ScopeMemo {
    /// The remembered scope index for mesh `id`.
    #[inline]
    fn get(&self, id: u64) -> Option<u32> {
        let word = self.0.load(Ordering::Relaxed);
        (word != 0 && word >> SCOPE_BITS == id).then(|| {
            // Masked to 24 bits: the cast keeps every bit.
            #[allow(clippy::cast_possible_truncation)]
            let index = (word & ((1 << SCOPE_BITS) - 1)) as u32;
            index
        })
    }

    /// Remembers scope `index` for mesh `id` (ids use the upper 40 bits).
    fn set(&self, id: u64, index: u32) {
        if index < 1 << SCOPE_BITS && id < 1 << (64 - SCOPE_BITS) {
            self.0
                .store(id << SCOPE_BITS | u64::from(index), Ordering::Relaxed);
        }
    }
}

impl Clone for ScopeMemo {
    fn clone(&self) -> Self {
        Self(AtomicU64::new(self.0.load(Ordering::Relaxed)))
    }
}

impl PartialEq for ScopeMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ScopeMemo {}

impl std::fmt::Debug for ScopeMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

impl Source {
    /// The scope index `mesh` (with unique id `mesh_id`, never 0) chose for this caller last
    /// time, else `choose`'s, remembered.
    #[inline]
    pub(crate) fn scope_index(&self, mesh_id: u64, choose: impl FnOnce(&Self) -> u32) -> u32 {
        match self.scope.get(mesh_id) {
            Some(index) => index,
            None => self.remember_scope(mesh_id, choose),
        }
    }

    /// [`Source::scope_index`] the first time: `choose`'s, remembered.
    #[cold]
    #[inline(never)]
    fn remember_scope(&self, mesh_id: u64, choose: impl FnOnce(&Self) -> u32) -> u32 {
        let index = choose(self);
        self.scope.set(mesh_id, index);
        index
    }
}
