//! What the loaded manifests define, looked up the way Istio's service registry and config
//! store look it up: the services and their ports, their endpoints, the DestinationRule that
//! applies to a host. Validation, analysis and compilation all ask these questions; the answers
//! live here once. (Gateway references and server hosts are plain name rules: `util::gateways`.)

pub(crate) mod endpoints;
pub(crate) mod rules;
pub(crate) mod services;
pub(crate) mod traffic_policy;
pub(crate) mod visibility;
