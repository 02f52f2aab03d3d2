//! Validation of `VirtualService`s.

use crate::compile::diagnostics::Sink;
use crate::config::VirtualService;

pub(crate) fn validate(_sink: &mut Sink<'_>, _vs: &VirtualService) {}
