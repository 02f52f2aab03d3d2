//! The compiled mesh.

use std::sync::Arc;

use crate::compile::Diagnostic;
use crate::config::Resource;

/// A validated, immutable configuration: cheap to clone (`Arc` inside), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Mesh {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    resources: Vec<Resource>,
    warnings: Vec<Diagnostic>,
}

impl Mesh {
    pub(crate) fn new(resources: Vec<Resource>, warnings: Vec<Diagnostic>) -> Self {
        Self {
            inner: Arc::new(Inner {
                resources,
                warnings,
            }),
        }
    }

    /// The resources the mesh was compiled from.
    pub fn resources(&self) -> &[Resource] {
        &self.inner.resources
    }

    /// Warnings found while compiling (errors prevent a `Mesh` from existing).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.inner.warnings
    }
}
