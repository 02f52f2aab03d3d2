//! Who sees what: `exportTo` with MeshConfig's defaults, and the mesh-wide settings that decide
//! visibility (istio/istio `pilot/pkg/model/push_context.go` `IsServiceVisible`,
//! `initVirtualServices`, `setDestinationRules`; `pkg/config/visibility`).

use crate::config::{Body, HttpRetry, MeshConfig, OutboundTrafficMode, Resource};

/// Istio's annotation on a Kubernetes Service that sets its `exportTo` (comma-separated).
pub(crate) const SERVICE_EXPORT_TO_ANNOTATION: &str = "networking.istio.io/exportTo";

/// The `exportTo` of one resource, resolved: `.` became the resource's namespace, an empty list
/// became MeshConfig's default for the kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportTo {
    /// `*`: every namespace.
    public: bool,
    /// Namespaces named (with `.` resolved); `~` leaves this empty and `public` false.
    namespaces: Vec<Box<str>>,
}

impl ExportTo {
    /// Resolves `values` (the resource's `exportTo`) for a resource in `own`, falling back to
    /// `default` (MeshConfig's `default…ExportTo`, `*` when that is empty too).
    pub(crate) fn new(values: &[String], own: &str, default: &[String]) -> Self {
        let list: &[String] = if values.is_empty() { default } else { values };
        if list.is_empty() {
            return Self {
                public: true,
                namespaces: Vec::new(),
            };
        }
        let mut out = Self {
            public: false,
            namespaces: Vec::new(),
        };
        for value in list {
            match value.trim() {
                "*" => out.public = true,
                "~" => {}
                "." => out.namespaces.push(own.into()),
                ns => out.namespaces.push(ns.into()),
            }
        }
        out.namespaces.sort_unstable();
        out.namespaces.dedup();
        out
    }

    /// Whether a caller in `namespace` sees the resource.
    pub(crate) fn visible_to(&self, namespace: &str) -> bool {
        self.public || self.namespaces.iter().any(|ns| &**ns == namespace)
    }

    /// Whether the resource is exported to every namespace.
    pub(crate) fn is_public(&self) -> bool {
        self.public
    }

    /// The namespaces named, `.` resolved.
    pub(crate) fn namespaces(&self) -> &[Box<str>] {
        &self.namespaces
    }
}

/// The mesh-wide settings routing reads: MeshConfig's values, or Istio's defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct MeshSettings {
    config: MeshConfig,
}

impl MeshSettings {
    /// The settings of the last MeshConfig among `resources` (the `istio` ConfigMap), or
    /// Istio's defaults.
    pub(crate) fn new(resources: &[&Resource]) -> Self {
        let config = resources
            .iter()
            .rev()
            .find_map(|r| match &r.body {
                Body::MeshConfig(m) => Some(m.as_ref().clone()),
                _ => None,
            })
            .unwrap_or_default();
        Self { config }
    }

    /// `rootNamespace` (default `istio-system`).
    pub(crate) fn root_namespace(&self) -> &str {
        self.config.root_namespace()
    }

    /// The resolved `exportTo` of a VirtualService.
    pub(crate) fn virtual_service_export(&self, values: &[String], own: &str) -> ExportTo {
        ExportTo::new(values, own, &self.config.default_virtual_service_export_to)
    }

    /// Whether MeshConfig's `defaultDestinationRuleExportTo` contains `.`: rules without
    /// `exportTo` are then private to their namespace.
    pub(crate) fn destination_rule_default_is_private(&self) -> bool {
        self.config
            .default_destination_rule_export_to
            .iter()
            .any(|e| e == ".")
    }

    /// The resolved `exportTo` of a service: a ServiceEntry's `exportTo`, or a Kubernetes
    /// Service's `networking.istio.io/exportTo` annotation.
    pub(crate) fn service_export(&self, values: &[String], own: &str) -> ExportTo {
        ExportTo::new(values, own, &self.config.default_service_export_to)
    }

    /// The mesh-wide outbound traffic policy (`ALLOW_ANY` unless set).
    pub(crate) fn outbound_traffic_mode(&self) -> OutboundTrafficMode {
        self.config.outbound_traffic_mode()
    }

    /// `defaultHttpRetryPolicy`, when set.
    pub(crate) fn default_http_retry_policy(&self) -> Option<&HttpRetry> {
        self.config.default_http_retry_policy.as_ref()
    }
}

/// The `exportTo` a Kubernetes Service's annotation sets (comma-separated), empty when absent.
pub(crate) fn service_annotation_export(resource: &Resource) -> Vec<String> {
    resource
        .metadata
        .annotations
        .get(SERVICE_EXPORT_TO_ANNOTATION)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| (*s).to_owned()).collect()
    }

    /// push_context.go `IsServiceVisible`: `*`, `.` for the own namespace, or the namespace.
    #[test]
    fn export_to_as_istio_resolves_it() {
        let public = ExportTo::new(&[], "a", &[]);
        assert!(public.visible_to("anything"));
        let private = ExportTo::new(&strings(&["."]), "a", &[]);
        assert!(private.visible_to("a"));
        assert!(!private.visible_to("b"));
        let named = ExportTo::new(&strings(&[".", "b"]), "a", &[]);
        assert!(named.visible_to("a") && named.visible_to("b") && !named.visible_to("c"));
        let none = ExportTo::new(&strings(&["~"]), "a", &[]);
        assert!(!none.visible_to("a"));
    }

    /// MeshConfig `defaultVirtualServiceExportTo: ["."]` makes resources without `exportTo`
    /// private to their namespace.
    #[test]
    fn mesh_default_applies_only_when_unset() {
        let default = strings(&["."]);
        assert!(!ExportTo::new(&[], "a", &default).visible_to("b"));
        assert!(ExportTo::new(&strings(&["*"]), "a", &default).visible_to("b"));
    }
}
