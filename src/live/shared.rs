//! `SharedMesh`: the current mesh, replaced atomically.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::balance::endpoint::Endpoint;
use crate::compile::compile;
use crate::config::Resource;
use crate::diagnostic::CompileError;
use crate::route::mesh::{Mesh, UnknownCluster};

/// The live [`Mesh`], shared by every layer: cloning is cheap, reads never block, and
/// [`SharedMesh::store`] replaces the configuration atomically. A configuration that fails to
/// compile never replaces the working one.
///
/// Endpoints supplied by the application ([`SharedMesh::set_endpoints`]) are remembered and
/// applied to every mesh stored later, so a configuration reload does not lose them.
#[derive(Debug, Clone)]
pub struct SharedMesh {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    current: ArcSwap<Mesh>,
    endpoints: Mutex<Vec<(String, u16, Vec<Endpoint>)>>,
}

impl SharedMesh {
    /// Starts with `mesh`.
    pub fn new(mesh: Mesh) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(mesh),
                endpoints: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The current mesh (a reference-counted snapshot; no lock, no allocation).
    pub fn load(&self) -> Arc<Mesh> {
        self.inner.current.load_full()
    }

    /// Replaces the mesh. Application-supplied endpoints are applied to it first (those whose
    /// host the new configuration no longer has are skipped).
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
        self.inner.current.store(Arc::new(mesh));
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
