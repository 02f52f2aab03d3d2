//! `Gateway`.
use serde::{Deserialize, Serialize};

/// `Gateway` spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {}
