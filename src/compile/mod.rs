//! Lowering: a checked configuration becomes a [`Mesh`](crate::Mesh) — route tables, matchers,
//! policies and clusters in Envoy's terms. The only stage that knows both Istio's resources and
//! the decision's tables; the translation (Istio's `pilot/pkg/networking/core`) happens once
//! here, so that a decision only walks prepared tables.
//!
//! A configuration with errors never becomes a `Mesh`: [`compile`] checks first and refuses it
//! with every diagnostic.

#[cfg(test)]
#[cfg(feature = "yaml")]
mod balance_tests;
mod clusters;
mod delegates;
mod entries;
mod gateways;
mod hash_tables;
mod known;
mod routes;
mod scopes;
mod sidecar;
mod streams;
mod tables;

use crate::analyze::check;
use crate::config::{Resource, effective};
use crate::diagnostic::{CompileError, Diagnostic};
use crate::route::mesh::Mesh;

/// Validates and compiles `resources` into a [`Mesh`]. Fails with every diagnostic if a
/// loading or validation error is found, as Istio's admission would refuse the configuration
/// ([`Diagnostic::rejects`]); on success every diagnostic (analysis findings included, whatever
/// their level) is kept on the mesh ([`Mesh::diagnostics`]).
///
/// Resources loaded from text come with load diagnostics of their own: compile them with
/// [`Loaded::compile`](crate::Loaded::compile), which keeps those too.
pub fn compile(resources: Vec<Resource>) -> Result<Mesh, CompileError> {
    compile_with(Vec::new(), resources)
}

/// Compiles `resources`, reporting `diagnostics` (from loading) first; any of them that rejects
/// refuses the configuration.
pub(crate) fn compile_with(
    mut diagnostics: Vec<Diagnostic>,
    resources: Vec<Resource>,
) -> Result<Mesh, CompileError> {
    diagnostics.extend(check(&resources));
    if diagnostics.iter().any(Diagnostic::rejects) {
        return Err(CompileError::new(diagnostics));
    }
    let (tables, streams, warnings) = tables::lower(&effective(&resources));
    diagnostics.extend(warnings);
    Ok(Mesh::new(diagnostics, tables, streams))
}

#[cfg(feature = "yaml")]
impl crate::config::load::Loaded {
    /// Validates and compiles what was loaded into a [`Mesh`], keeping the load diagnostics:
    /// any load error (a document that could not be read, a field of the wrong type) refuses
    /// the configuration like a validation error, and load warnings stay on the mesh
    /// ([`Mesh::diagnostics`]).
    ///
    /// ```
    /// let loaded = meshroute::from_str("kind: VirtualService\n", &meshroute::LoadOptions::default());
    /// let error = loaded.compile().unwrap_err();
    /// assert!(error.errors().next().unwrap().message.contains("apiVersion"));
    /// ```
    pub fn compile(self) -> Result<Mesh, CompileError> {
        compile_with(self.diagnostics, self.resources)
    }
}
