//! [`PickCache`]: the cluster snapshots one thread picks endpoints from, kept between decisions.

use std::sync::Arc;

use arc_swap::{ArcSwap, Cache};

use super::cluster::ClusterState;

/// One cluster's snapshot, revalidated by one plain atomic load.
type StateCache = Cache<Arc<ArcSwap<ClusterState>>, Arc<ClusterState>>;

/// A worker's cache of the cluster snapshots its endpoint picks read, for
/// [`Mesh::route_cached`](crate::Mesh::route_cached).
///
/// Endpoints change while a [`Mesh`](crate::Mesh) serves ([`Mesh::set_endpoints`](crate::Mesh::set_endpoints),
/// outlier ejections, cluster mode): each cluster's endpoint set is a snapshot swapped
/// atomically, and a [`Decision`](crate::Decision) keeps the snapshot its endpoint was picked
/// from. Without a cache, holding it costs two atomic read-modify-write operations per decision
/// (one to take it, one to release it), about 20 ns on a server core, which is as much as the
/// rest of a small decision's pick. A `PickCache` keeps each cluster's snapshot between
/// decisions and checks it is still the current one with one plain load, as Envoy keeps a load
/// balancer per worker thread: keep one per thread or task, never shared.
///
/// It holds the snapshots it last saw until its next pick of the same cluster, or until
/// [`PickCache::clear`] or drop, and starts over when used with another `Mesh`.
///
/// ```
/// use meshroute::{FastRng, PickCache, Source};
///
/// let yaml = r#"
/// apiVersion: networking.istio.io/v1
/// kind: ServiceEntry
/// metadata: {name: api, namespace: default}
/// spec:
///   hosts: [api.example.com]
///   ports: [{number: 80, name: http, protocol: HTTP}]
///   resolution: STATIC
///   endpoints: [{address: 127.0.0.1}, {address: 127.0.0.2}]
/// "#;
/// let mesh = meshroute::from_str(yaml, &Default::default()).compile()?;
/// let source = Source::sidecar("default");
/// let request = http::Request::get("http://api.example.com/").body(())?;
/// let (mut rng, mut cache) = (FastRng::from_seed(7), PickCache::new());
/// for _ in 0..3 {
///     let decision = mesh.route_cached(&request, &source, &mut rng, &mut cache);
///     assert!(decision.endpoint().is_some_and(|e| e.address.starts_with("127.0.0.")));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct PickCache {
    /// The mesh the snapshots belong to (its unique id; 0: none yet).
    mesh: u64,
    /// By cluster index.
    states: Vec<Option<StateCache>>,
}

impl PickCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops every snapshot held.
    pub fn clear(&mut self) {
        self.states.clear();
    }

    /// The current snapshot of cluster `index` of mesh `mesh`, whose snapshots `cell` holds.
    #[inline]
    pub(crate) fn state(
        &mut self,
        mesh: u64,
        index: u32,
        cell: &Arc<ArcSwap<ClusterState>>,
    ) -> Option<&Arc<ClusterState>> {
        let slot = usize::try_from(index).ok()?;
        if self.mesh != mesh || self.states.get(slot).is_none_or(Option::is_none) {
            self.add(mesh, slot, cell);
        }
        Some(self.states.get_mut(slot)?.as_mut()?.load())
    }

    /// Makes room for cluster `slot` of mesh `mesh` and caches `cell` there (forgetting every
    /// cluster of another mesh): the first pick of a cluster through this cache.
    #[cold]
    #[inline(never)]
    fn add(&mut self, mesh: u64, slot: usize, cell: &Arc<ArcSwap<ClusterState>>) {
        if self.mesh != mesh {
            self.states.clear();
            self.mesh = mesh;
        }
        if self.states.len() <= slot {
            self.states.resize_with(slot + 1, || None);
        }
        if let Some(entry) = self.states.get_mut(slot) {
            entry.get_or_insert_with(|| Cache::new(Arc::clone(cell)));
        }
    }
}

impl std::fmt::Debug for PickCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PickCache")
            .field("clusters", &self.states.iter().flatten().count())
            .finish()
    }
}
