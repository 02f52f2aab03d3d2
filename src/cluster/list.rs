//! One read of a cluster's configuration, without watching: what `meshroute --cluster` and
//! `meshroute dump --cluster` use.

use kube::api::ListParams;
use serde_json::Value;

use super::kinds::KINDS;
use super::options::ClusterOptions;
use super::store::load;
use super::sync::{Target, not_served, plan};
use crate::config::load::Loaded;

/// Lists every kind cluster mode watches once and returns the objects as JSON, kinds in the
/// order a [`ClusterSync`](super::ClusterSync) assembles them, each with its `apiVersion` and
/// `kind` and without `metadata.managedFields`. A kind the API server does not serve (Istio's
/// CRDs not installed) has no objects.
///
/// # Errors
///
/// The first failed request other than a kind not served (404).
pub async fn list_objects(
    client: &kube::Client,
    options: &ClusterOptions,
) -> Result<Vec<Value>, kube::Error> {
    let mut objects = Vec::new();
    for (kind, namespace) in plan(options) {
        let (Some(spec), Some(target)) = (
            KINDS.get(kind),
            Target::new(client, options, kind, namespace.as_deref()),
        ) else {
            continue;
        };
        let mut params = ListParams::default();
        if let Some(labels) = &target.labels {
            params = params.labels(labels);
        }
        if let Some(fields) = target.fields {
            params = params.fields(fields);
        }
        let list = match target.api.list(&params).await {
            Ok(list) => list,
            Err(error) if not_served(&error) => {
                tracing::debug!(kind = spec.kind, "the API server does not serve this kind");
                continue;
            }
            Err(error) => return Err(error),
        };
        for item in list.items {
            let Ok(mut value) = serde_json::to_value(item) else {
                continue;
            };
            if let Some(object) = value.as_object_mut() {
                let api_version = spec.api_resource(&options.istio_version).api_version;
                object.insert("apiVersion".into(), Value::String(api_version));
                object.insert("kind".into(), Value::String(spec.kind.to_owned()));
                if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
                    metadata.remove("managedFields");
                }
            }
            objects.push(value);
        }
    }
    Ok(objects)
}

/// Lists the cluster's configuration once ([`list_objects`]) and loads it as the loader loads
/// manifest files: the resources and every diagnostic.
///
/// # Errors
///
/// As [`list_objects`].
pub async fn list(client: &kube::Client, options: &ClusterOptions) -> Result<Loaded, kube::Error> {
    let objects = list_objects(client, options).await?;
    let mut loaded = Loaded::default();
    for value in objects {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(spec) = KINDS.iter().find(|k| k.kind == kind) else {
            continue;
        };
        if let Some((_, one)) = load(spec, value.clone(), &options.load) {
            loaded.extend(one);
        }
    }
    Ok(loaded)
}
