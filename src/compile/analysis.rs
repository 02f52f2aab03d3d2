//! Cross-resource analysis (`istioctl analyze`-style warnings).

use crate::compile::Diagnostic;
use crate::config::Resource;

pub(crate) fn analyze(_resources: &[Resource], _out: &mut Vec<Diagnostic>) {}
