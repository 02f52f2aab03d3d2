//! `DestinationRule` (istio/api `networking/v1alpha3/destination_rule.proto`).
use serde::{Deserialize, Serialize};

/// `DestinationRule` spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    /// The service host.
    #[serde(default)]
    pub host: String,
}
