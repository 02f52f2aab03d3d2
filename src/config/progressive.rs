//! Progressive-delivery controllers that set a VirtualService's weights: Argo Rollouts'
//! `Rollout` (`argoproj.io`) and Flagger's `Canary` (`flagger.app`).
//!
//! meshroute reads only which VirtualServices such a controller manages, so that the lints leave
//! alone the weights it sets (a canary at weight 0 between two steps is the controller's
//! business, not a mistake). Everything else in these resources is ignored.

use serde_json::Value;

use super::meta::ObjectMeta;

/// The controller that manages the weights of some VirtualServices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Controller {
    /// Argo Rollouts: a `Rollout` (`argoproj.io`) with Istio traffic routing.
    ArgoRollouts,
    /// Flagger: a `Canary` (`flagger.app`).
    Flagger,
}

impl Controller {
    /// The resource kind of the controller's object: `Rollout` or `Canary`.
    pub fn kind(self) -> &'static str {
        match self {
            Controller::ArgoRollouts => "Rollout",
            Controller::Flagger => "Canary",
        }
    }

    /// The controller of an owner reference (`metadata.ownerReferences[]`), if it is one.
    pub(crate) fn of_owner(api_version: &str, kind: &str) -> Option<Self> {
        let group = api_version.split('/').next().unwrap_or("");
        match (group, kind) {
            ("argoproj.io", "Rollout") => Some(Controller::ArgoRollouts),
            ("flagger.app", "Canary") => Some(Controller::Flagger),
            _ => None,
        }
    }
}

/// Argo Rollouts' annotation on the resources it modifies (`ManagedByRolloutsKey` in
/// argoproj/argo-rollouts `utils/defaults`).
const ARGO_MANAGED: &str = "argo-rollouts.argoproj.io/managed-by-rollouts";

/// The controller that manages a resource by its own metadata: an owner reference to a Flagger
/// `Canary` or an Argo `Rollout` (Flagger owns the VirtualService it generates), or Argo's
/// `managed-by-rollouts` annotation.
pub(crate) fn managed_by(meta: &ObjectMeta) -> Option<Controller> {
    let owners = meta
        .other
        .get("ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    owners
        .filter_map(|owner| {
            let field = |name: &str| owner.get(name).and_then(Value::as_str).unwrap_or("");
            Controller::of_owner(field("apiVersion"), field("kind"))
        })
        .next()
        .or_else(|| {
            meta.annotations
                .contains_key(ARGO_MANAGED)
                .then_some(Controller::ArgoRollouts)
        })
}

/// An Argo Rollouts `Rollout` or a Flagger `Canary`: the VirtualServices whose weights it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WeightController {
    /// Which controller.
    pub controller: Controller,
    /// The VirtualServices it manages, as `namespace/name`.
    pub virtual_services: Vec<String>,
}

impl WeightController {
    /// Reads the managed VirtualServices from a controller object's `spec` in `namespace`.
    ///
    /// - Argo Rollouts: `spec.strategy.canary.trafficRouting.istio.virtualService.name` and
    ///   `...istio.virtualServices[].name`, each `name` or `name.namespace` (Argo's
    ///   `GetVirtualServiceNamespaceName` in `utils/istio`); the Rollout's namespace otherwise.
    /// - Flagger: the VirtualService named after the apex service, `spec.service.name`, else
    ///   `spec.targetRef.name` (Flagger's `Canary.GetServiceNames`), in the Canary's namespace.
    #[cfg_attr(not(feature = "yaml"), allow(dead_code))]
    pub(crate) fn from_spec(controller: Controller, spec: &Value, namespace: &str) -> Self {
        let mut virtual_services = Vec::new();
        match controller {
            Controller::ArgoRollouts => {
                let istio = spec.pointer("/strategy/canary/trafficRouting/istio");
                let single = istio.and_then(|i| i.get("virtualService"));
                let many = istio
                    .and_then(|i| i.get("virtualServices"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                for reference in single.into_iter().chain(many) {
                    if let Some(name) = text(reference.get("name")) {
                        let mut fields = name.split('.');
                        let name = fields.next().unwrap_or(name);
                        let ns = fields.next().unwrap_or(namespace);
                        virtual_services.push(format!("{ns}/{name}"));
                    }
                }
            }
            Controller::Flagger => {
                let apex = text(spec.pointer("/service/name"))
                    .or_else(|| text(spec.pointer("/targetRef/name")));
                if let Some(name) = apex {
                    virtual_services.push(format!("{namespace}/{name}"));
                }
            }
        }
        Self {
            controller,
            virtual_services,
        }
    }
}

/// A non-empty string value.
#[cfg_attr(not(feature = "yaml"), allow(dead_code))]
fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_names_may_carry_their_namespace() {
        let spec = serde_json::json!({"strategy": {"canary": {"trafficRouting": {"istio": {
            "virtualService": {"name": "a"},
            "virtualServices": [{"name": "b.other"}, {"name": ""}, {"routes": ["x"]}],
        }}}}});
        let c = WeightController::from_spec(Controller::ArgoRollouts, &spec, "prod");
        assert_eq!(c.virtual_services, ["prod/a", "other/b"]);
        let none = WeightController::from_spec(Controller::ArgoRollouts, &Value::Null, "prod");
        assert!(none.virtual_services.is_empty());
    }

    #[test]
    fn flagger_manages_the_apex_service_virtual_service() {
        let target = serde_json::json!({"targetRef": {"name": "podinfo"}});
        let c = WeightController::from_spec(Controller::Flagger, &target, "test");
        assert_eq!(c.virtual_services, ["test/podinfo"]);
        let named =
            serde_json::json!({"targetRef": {"name": "podinfo"}, "service": {"name": "web"}});
        let c = WeightController::from_spec(Controller::Flagger, &named, "test");
        assert_eq!(c.virtual_services, ["test/web"]);
        assert_eq!(
            Controller::of_owner("flagger.app/v1beta1", "Canary"),
            Some(Controller::Flagger)
        );
        assert_eq!(
            Controller::of_owner("argoproj.io/v1alpha1", "Rollout"),
            Some(Controller::ArgoRollouts)
        );
        assert_eq!(Controller::of_owner("apps/v1", "Rollout"), None);
    }

    #[test]
    fn owner_references_and_argos_annotation_name_the_controller() {
        let mut meta = ObjectMeta::default();
        assert_eq!(managed_by(&meta), None);
        meta.other.insert(
            "ownerReferences".into(),
            serde_json::json!([{"apiVersion": "v1", "kind": "Service"},
                {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo"}]),
        );
        assert_eq!(managed_by(&meta), Some(Controller::Flagger));
        let mut meta = ObjectMeta::default();
        meta.annotations.insert(ARGO_MANAGED.into(), "web".into());
        assert_eq!(managed_by(&meta), Some(Controller::ArgoRollouts));
    }
}
