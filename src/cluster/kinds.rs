//! The kinds cluster mode reads: Istio's routing configuration, and the Kubernetes objects a
//! sidecar learns services and endpoints from.

use kube::core::{ApiResource, GroupVersionKind};

/// What a kind contributes to the mesh, which decides how a change to it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Routing configuration or services: a change recompiles the mesh.
    Config,
    /// Endpoints only (EndpointSlices, Pods): a change replaces the endpoints of the services
    /// it touches, without recompiling routes, unless it adds or removes a service port.
    Endpoints,
}

/// A watched kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Kind {
    pub(super) group: &'static str,
    pub(super) kind: &'static str,
    pub(super) plural: &'static str,
    pub(super) role: Role,
    /// Whether `ClusterOptions::label_selector` applies to it (Istio's routing kinds only: the
    /// services and endpoints they name must all be seen).
    pub(super) selectable: bool,
}

/// Every kind, in the order the configuration is assembled (the order of the files of a
/// folder: configuration first).
pub(super) const KINDS: [Kind; 10] = [
    istio("VirtualService", "virtualservices"),
    istio("DestinationRule", "destinationrules"),
    istio("Gateway", "gateways"),
    istio("ServiceEntry", "serviceentries"),
    istio("WorkloadEntry", "workloadentries"),
    istio("Sidecar", "sidecars"),
    Kind {
        group: "",
        kind: "Service",
        plural: "services",
        role: Role::Config,
        selectable: false,
    },
    Kind {
        group: "discovery.k8s.io",
        kind: "EndpointSlice",
        plural: "endpointslices",
        role: Role::Endpoints,
        selectable: false,
    },
    Kind {
        group: "",
        kind: "Pod",
        plural: "pods",
        role: Role::Endpoints,
        selectable: false,
    },
    // istiod's MeshConfig: the `istio` ConfigMap of the root namespace, watched by name.
    Kind {
        group: "",
        kind: "ConfigMap",
        plural: "configmaps",
        role: Role::Config,
        selectable: false,
    },
];

/// One of Istio's networking kinds, served in `networking.istio.io` (`v1` since Istio 1.22; the
/// API server converts between the versions it serves, so one version sees every object).
const fn istio(kind: &'static str, plural: &'static str) -> Kind {
    Kind {
        group: "networking.istio.io",
        kind,
        plural,
        role: Role::Config,
        selectable: true,
    }
}

impl Kind {
    /// Whether this is istiod's MeshConfig ConfigMap (watched in one namespace, by name).
    pub(super) fn is_mesh_config(&self) -> bool {
        self.kind == "ConfigMap"
    }

    /// The field selector of its watch: istiod's ConfigMap by name; pods that have not failed,
    /// as Istio's pod informer selects them (`pilot/pkg/serviceregistry/kube/controller/
    /// controller.go`, `status.phase!=Failed`: a failed pod is no
    /// endpoint and its labels select nothing).
    pub(super) fn field_selector(&self) -> Option<&'static str> {
        match self.kind {
            "ConfigMap" => Some("metadata.name=istio"),
            "Pod" => Some("status.phase!=Failed"),
            _ => None,
        }
    }

    /// The version the API server is asked for: `istio_version` for Istio's kinds, `v1` for
    /// the Kubernetes ones.
    pub(super) fn api_resource(&self, istio_version: &str) -> ApiResource {
        let version = if self.group == "networking.istio.io" {
            istio_version
        } else {
            "v1"
        };
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, version, self.kind),
            self.plural,
        )
    }
}
