//! `WorkloadEntry`.
use serde::{Deserialize, Serialize};

/// `WorkloadEntry` spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadEntry {}
