//! Validation of `gateway` resources.

use crate::compile::diagnostics::Sink;
use crate::config::*;

pub(crate) fn validate(_sink: &mut Sink<'_>, _spec: &Gateway) {}
