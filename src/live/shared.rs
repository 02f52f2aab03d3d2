//! `SharedMesh`: the current mesh, replaced atomically.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::balance::endpoint::Endpoint;
use crate::compile::compile;
use crate::config::Resource;
use crate::diagnostic::CompileError;
use crate::route::mesh::{Mesh, SetWeightsError, UnknownCluster};

use super::observe::{ObserverId, Observers, RequestOutcome};

/// The live [`Mesh`], shared by every layer: cloning is cheap, reads never block, and
/// [`SharedMesh::store`] replaces the configuration atomically. A configuration that fails to
/// compile never replaces the working one.
///
/// Endpoints supplied by the application ([`SharedMesh::set_endpoints`]) are remembered and
/// applied to every mesh stored later, so a configuration reload does not lose them; so are
/// route weights set with [`SharedMesh::set_weights`] (a rollout's current step).
///
/// Observers ([`SharedMesh::observe`]) receive the outcome of every request the tower layers
/// built on this mesh send: the feed outlier detection reads, for progressive delivery.
#[derive(Debug, Clone)]
pub struct SharedMesh {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    current: ArcSwap<Mesh>,
    endpoints: Mutex<Vec<(String, u16, Vec<Endpoint>)>>,
    /// `(VirtualService, route, weights)` set by the application, re-applied on `store`.
    weights: Mutex<Vec<OwnedWeights>>,
    observers: Observers,
}

/// Route weights the application owns.
#[derive(Debug)]
struct OwnedWeights {
    virtual_service: String,
    route: String,
    weights: Vec<(String, u32)>,
}

impl OwnedWeights {
    fn apply(&self, mesh: &Mesh) -> Result<(), SetWeightsError> {
        let weights: Vec<(&str, u32)> =
            self.weights.iter().map(|(s, w)| (s.as_str(), *w)).collect();
        mesh.set_weights(&self.virtual_service, &self.route, &weights)
    }
}

impl SharedMesh {
    /// Starts with `mesh`.
    pub fn new(mesh: Mesh) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(mesh),
                endpoints: Mutex::new(Vec::new()),
                weights: Mutex::new(Vec::new()),
                observers: Observers::default(),
            }),
        }
    }

    /// The current mesh (a reference-counted snapshot; no lock, no allocation).
    pub fn load(&self) -> Arc<Mesh> {
        self.inner.current.load_full()
    }

    /// Replaces the mesh. Application-supplied endpoints and route weights are applied to it
    /// first (those whose host or route the new configuration no longer has are skipped, with a
    /// warning).
    pub fn store(&self, mesh: Mesh) {
        // The lock is held until the swap: a concurrent `set_endpoints` lands either in the list
        // applied here or on the mesh stored here, never in between (where it would be lost).
        let endpoints = self.inner.endpoints.lock();
        if let Ok(endpoints) = &endpoints {
            for (host, port, list) in endpoints.iter() {
                if let Err(error) = mesh.set_endpoints(host, *port, list) {
                    tracing::warn!(%error, "endpoints not applied to the new configuration");
                }
            }
        }
        // Same order as the endpoints: `set_weights` takes this lock alone.
        let weights = self.inner.weights.lock();
        if let Ok(weights) = &weights {
            for owned in weights.iter() {
                if let Err(error) = owned.apply(&mesh) {
                    tracing::warn!(%error, "route weights not applied to the new configuration");
                }
            }
        }
        self.inner.current.store(Arc::new(mesh));
        drop(weights);
        drop(endpoints);
        tracing::info!("meshroute configuration replaced");
    }

    /// Compiles `resources` and stores the result; on errors keeps the current mesh and returns
    /// every diagnostic.
    pub fn store_resources(&self, resources: Vec<Resource>) -> Result<(), CompileError> {
        self.store_compiled(compile(resources))
    }

    /// Loads YAML text, compiles it and stores it; on any error (loading included) keeps the
    /// current mesh and returns every diagnostic.
    #[cfg(feature = "yaml")]
    pub fn store_yaml(&self, yaml: &str) -> Result<(), CompileError> {
        let loaded =
            crate::config::load::from_str(yaml, &crate::config::load::LoadOptions::default());
        self.store_compiled(loaded.compile())
    }

    pub(super) fn store_compiled(
        &self,
        compiled: Result<Mesh, CompileError>,
    ) -> Result<(), CompileError> {
        match compiled {
            Ok(mesh) => {
                self.store(mesh);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(
                    errors = error.errors().count(),
                    "new configuration refused; the old one keeps serving"
                );
                Err(error)
            }
        }
    }

    /// Supplies the endpoints of `host` (any name of the service, see [`Mesh`]'s host names) on
    /// `port`, now and for every later mesh.
    pub fn set_endpoints(
        &self,
        host: &str,
        port: u16,
        endpoints: Vec<Endpoint>,
    ) -> Result<(), UnknownCluster> {
        // Under the lock `store` holds until its swap (see there), so the mesh loaded here is
        // the one that stays current until the list below is updated.
        let guard = self.inner.endpoints.lock();
        let result = self.load().set_endpoints(host, port, &endpoints);
        if let Ok(mut list) = guard {
            list.retain(|(h, p, _)| !(h.eq_ignore_ascii_case(host) && *p == port));
            list.push((host.to_ascii_lowercase(), port, endpoints));
        }
        result
    }
}

impl SharedMesh {
    /// Replaces the weights of one HTTP route in the current mesh ([`Mesh::set_weights`]: the
    /// same arguments and rules) and remembers them, so that every mesh stored later gets them
    /// too: the caller owns the route's weights until [`SharedMesh::release_weights`].
    pub fn set_weights(
        &self,
        virtual_service: &str,
        route: &str,
        weights: &[(&str, u32)],
    ) -> Result<(), SetWeightsError> {
        // Under the lock `store` holds until its swap, as `set_endpoints`.
        let guard = self.inner.weights.lock();
        self.load().set_weights(virtual_service, route, weights)?;
        if let Ok(mut list) = guard {
            list.retain(|o| !(o.virtual_service == virtual_service && o.route == route));
            list.push(OwnedWeights {
                virtual_service: virtual_service.to_owned(),
                route: route.to_owned(),
                weights: weights.iter().map(|(s, w)| ((*s).to_owned(), *w)).collect(),
            });
        }
        Ok(())
    }

    /// Forgets the weights [`SharedMesh::set_weights`] set for a route: the current mesh keeps
    /// them, the next stored mesh has the configured ones. Whether there were any.
    pub fn release_weights(&self, virtual_service: &str, route: &str) -> bool {
        let Ok(mut list) = self.inner.weights.lock() else {
            return false;
        };
        let before = list.len();
        list.retain(|o| !(o.virtual_service == virtual_service && o.route == route));
        list.len() != before
    }

    /// Calls `observer` with the outcome of every request the tower layers built on this mesh
    /// send to a destination (each attempt of an [`OutboundLayer`], each handler call of a
    /// [`Dispatch`]), and of each [`SharedMesh::publish`]. It runs on the request's task: it
    /// should count or buffer, never block. Until someone observes, publishing costs one
    /// atomic load per request.
    ///
    /// [`OutboundLayer`]: crate::service::OutboundLayer
    /// [`Dispatch`]: crate::service::Dispatch
    pub fn observe(
        &self,
        observer: impl Fn(&RequestOutcome<'_>) + Send + Sync + 'static,
    ) -> ObserverId {
        self.inner.observers.add(Arc::new(observer))
    }

    /// Stops calling an observer; whether it was registered.
    pub fn unobserve(&self, id: ObserverId) -> bool {
        self.inner.observers.remove(id)
    }

    /// Whether anyone observes the outcomes.
    pub fn is_observed(&self) -> bool {
        self.inner.observers.any()
    }

    /// Gives `outcome` to every observer: for requests an application sends without the tower
    /// layers.
    pub fn publish(&self, outcome: &RequestOutcome<'_>) {
        self.inner.observers.publish(outcome);
    }
}

impl SharedMesh {
    /// Replaces, in the current mesh, the endpoints discovered for each `(FQDN, port)` of
    /// `changed` (cluster mode), except those the application supplies with
    /// [`SharedMesh::set_endpoints`], which keep precedence. Fails at the first service the mesh
    /// has no cluster for: the caller then compiles a new mesh.
    #[cfg(feature = "kube")]
    pub(crate) fn replace_discovered(
        &self,
        changed: &[(&(String, u16), &Vec<Endpoint>)],
    ) -> Result<(), UnknownCluster> {
        // Under the lock `store` holds until its swap, as `set_endpoints`.
        let supplied = self.inner.endpoints.lock();
        let mesh = self.load();
        for ((host, port), endpoints) in changed {
            let by_application = supplied.as_ref().is_ok_and(|list| {
                list.iter()
                    .any(|(h, p, _)| p == port && mesh.service_fqdn(h, *p).as_deref() == Some(host))
            });
            if !by_application {
                mesh.set_endpoints(host, *port, endpoints)?;
            }
        }
        Ok(())
    }
}

impl From<Mesh> for SharedMesh {
    fn from(mesh: Mesh) -> Self {
        Self::new(mesh)
    }
}

/// The destination of one request, kept by a tower layer to publish its outcome: present only
/// while someone observes, so that nobody pays for the feed otherwise.
#[cfg(feature = "tower")]
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    mesh: SharedMesh,
    host: Arc<str>,
    subset: Option<Arc<str>>,
}

#[cfg(feature = "tower")]
impl Observed {
    /// For `decision`'s destination, if `mesh` has observers.
    pub(crate) fn of(
        mesh: &SharedMesh,
        decision: &crate::route::decision::Decision<'_>,
    ) -> Option<Self> {
        if !mesh.is_observed() {
            return None;
        }
        let (host, subset) = match (decision.chosen, decision.destination()) {
            (Some(chosen), _) => (chosen.host.clone(), chosen.subset.clone()),
            (None, Some(destination)) => (
                Arc::from(destination.host),
                destination.subset.map(Arc::from),
            ),
            (None, None) => return None,
        };
        Some(Self {
            mesh: mesh.clone(),
            host,
            subset,
        })
    }

    /// Publishes the outcome of a request sent at `started`.
    pub(crate) fn publish(
        &self,
        result: crate::balance::outlier::UpstreamResult,
        started: std::time::Instant,
    ) {
        self.mesh.publish(&RequestOutcome::new(
            &self.host,
            self.subset.as_deref(),
            result,
            started.elapsed(),
        ));
    }
}
