//! A resource as loaded: metadata, origin and typed body.

use super::destination_rule::DestinationRule;
use super::gateway::Gateway;
use super::kubernetes::{DeploymentSpec, EndpointSlice, Pod, ServiceSpec};
use super::mesh_config::MeshConfig;
use super::meta::{ObjectMeta, Origin};
use super::service_entry::ServiceEntry;
use super::sidecar::Sidecar;
use super::virtual_service::VirtualService;
use super::workload_entry::WorkloadEntry;
use crate::diagnostic::{Diagnostic, Severity};

/// One resource read from a manifest: its metadata, where it came from, and its typed body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Resource {
    /// `apiVersion` as written (`networking.istio.io/v1`, `apps/v1`, ...).
    pub api_version: String,
    /// `metadata`; the namespace is always filled in (the loader's default when absent).
    pub metadata: ObjectMeta,
    /// The file and line the resource was read from.
    pub origin: Origin,
    /// The typed spec.
    pub body: Body,
}

/// The typed body of a [`Resource`], by kind.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Body {
    /// `networking.istio.io` `VirtualService`.
    VirtualService(Box<VirtualService>),
    /// `networking.istio.io` `DestinationRule`.
    DestinationRule(Box<DestinationRule>),
    /// `networking.istio.io` `Gateway`.
    Gateway(Box<Gateway>),
    /// `networking.istio.io` `ServiceEntry`.
    ServiceEntry(Box<ServiceEntry>),
    /// `networking.istio.io` `WorkloadEntry`.
    WorkloadEntry(Box<WorkloadEntry>),
    /// `networking.istio.io` `Sidecar`.
    Sidecar(Box<Sidecar>),
    /// Istio's mesh-wide settings: the `mesh` key of the `istio` ConfigMap (kind `ConfigMap`).
    MeshConfig(Box<MeshConfig>),
    /// Kubernetes `v1` `Service`.
    Service(Box<ServiceSpec>),
    /// Kubernetes `apps/v1` `Deployment`.
    Deployment(Box<DeploymentSpec>),
    /// Kubernetes `v1` `Pod` (spec and status).
    Pod(Box<Pod>),
    /// Kubernetes `discovery.k8s.io/v1` `EndpointSlice`: endpoints of the Service its
    /// `kubernetes.io/service-name` label names.
    EndpointSlice(Box<EndpointSlice>),
    /// An Argo Rollouts `Rollout` or a Flagger `Canary`: only which VirtualServices' weights it
    /// sets, so that the lints leave those weights alone.
    WeightController(Box<super::progressive::WeightController>),
    /// A kind meshroute does not route on (a `ConfigMap`, an `AuthorizationPolicy`, ...): kept so
    /// that tools can list it, otherwise ignored.
    Ignored {
        /// The document's `kind`.
        kind: String,
    },
}

impl Resource {
    /// The resource's kind as written in manifests (`VirtualService`, `Deployment`, ...).
    pub fn kind(&self) -> &str {
        match &self.body {
            Body::VirtualService(_) => "VirtualService",
            Body::DestinationRule(_) => "DestinationRule",
            Body::Gateway(_) => "Gateway",
            Body::ServiceEntry(_) => "ServiceEntry",
            Body::WorkloadEntry(_) => "WorkloadEntry",
            Body::Sidecar(_) => "Sidecar",
            Body::MeshConfig(_) => "ConfigMap",
            Body::Service(_) => "Service",
            Body::Deployment(_) => "Deployment",
            Body::Pod(_) => "Pod",
            Body::EndpointSlice(_) => "EndpointSlice",
            Body::WeightController(c) => c.controller.kind(),
            Body::Ignored { kind } => kind,
        }
    }

    /// `namespace/name`, the way diagnostics and decisions name a resource.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace(), self.metadata.name)
    }

    /// The namespace (always set after loading).
    pub fn namespace(&self) -> &str {
        self.metadata.namespace()
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

impl Resource {
    /// A diagnostic about this resource at `path` (`spec.http[0].route`).
    pub(crate) fn diagnostic(
        &self,
        severity: Severity,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(severity, message);
        diagnostic.file.clone_from(&self.origin.file);
        diagnostic.line = self.origin.line;
        diagnostic.kind = Some(self.kind().to_owned());
        diagnostic.name = Some(self.key());
        diagnostic.path = path.into();
        diagnostic
    }

    /// Sets the line of each diagnostic about this resource from the field its path names, when
    /// the resource's text is known (it was loaded from YAML).
    pub(crate) fn locate(&self, diagnostics: &mut [Diagnostic]) {
        #[cfg(feature = "yaml")]
        super::load::lines::locate_in(&self.origin, diagnostics);
        #[cfg(not(feature = "yaml"))]
        let _ = diagnostics;
    }
}

/// The resources that take effect: where several have the same kind, namespace and name, the last
/// one replaces the earlier ones (keeping the first one's position), as `kubectl apply` of the
/// same files in order would.
pub fn effective(resources: &[Resource]) -> Vec<&Resource> {
    let mut out: Vec<&Resource> = Vec::with_capacity(resources.len());
    // The position in `out` of each resource's definition.
    let mut slots: Vec<usize> = Vec::with_capacity(resources.len());
    for (resource, earlier) in resources.iter().zip(redefined(resources)) {
        match earlier.and_then(|e| slots.get(e).copied()) {
            Some(slot) => {
                tracing::debug!(
                    kind = resource.kind(),
                    name = %resource.key(),
                    "a later definition replaces an earlier one"
                );
                if let Some(previous) = out.get_mut(slot) {
                    *previous = resource;
                }
                slots.push(slot);
            }
            None => {
                slots.push(out.len());
                out.push(resource);
            }
        }
    }
    out
}

/// For each resource, the index of the latest earlier resource with the same kind, namespace
/// and name (the definition it replaces), if any: the one rule behind [`effective`] and the
/// loader's warning about definitions that replace others.
pub(crate) fn redefined(resources: &[Resource]) -> Vec<Option<usize>> {
    let mut last: std::collections::HashMap<(&str, &str, &str), usize> =
        std::collections::HashMap::with_capacity(resources.len());
    resources
        .iter()
        .enumerate()
        .map(|(index, resource)| {
            last.insert(
                (resource.kind(), resource.namespace(), resource.name()),
                index,
            )
        })
        .collect()
}
