//! `ServiceEntry`.
use serde::{Deserialize, Serialize};

/// `ServiceEntry` spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry {}
