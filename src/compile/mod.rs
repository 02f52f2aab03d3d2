//! Validation and lowering: turns loaded [`Resource`]s into a [`Mesh`], or into the complete list
//! of what is wrong with them.
//!
//! Every rule Istio's validation webhook applies to the resources meshroute reads is checked here
//! (`pkg/config/validation` in istio/istio), plus the `istioctl analyze` findings that matter for
//! routing. All problems are collected in one pass; a configuration with any error never becomes a
//! `Mesh`.

mod analysis;
mod destination_rule;
pub(crate) mod diagnostics;
mod gateway;
mod lint;
pub(crate) mod lower;
pub(crate) mod rules;
mod service_entry;
pub(crate) mod virtual_service;
mod workload_entry;

use crate::config::{Body, Resource};
use crate::mesh::Mesh;
use diagnostics::Sink;
pub use diagnostics::{Diagnostic, Severity};

/// A configuration that cannot be compiled: every error found, with the warnings beside them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} error(s) in the configuration; first: {}", self.error_count(), self.first_error())]
#[non_exhaustive]
pub struct CompileError {
    /// All diagnostics, errors and warnings, in resource order.
    pub diagnostics: Vec<Diagnostic>,
}

impl CompileError {
    fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    fn first_error(&self) -> String {
        self.diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// An error made of these diagnostics (for load errors found before compiling).
    pub fn from_diagnostics(diagnostics: Vec<Diagnostic>) -> Self {
        Self { diagnostics }
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

/// Validates `resources` and returns every diagnostic (errors and warnings), each with its line
/// when the resource's text is known.
pub fn check(resources: &[Resource]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for resource in resources {
        let start = out.len();
        validate_resource(resource, &mut out);
        #[cfg(feature = "yaml")]
        crate::config::load::locate_lines(resource, out.get_mut(start..).unwrap_or_default());
        #[cfg(not(feature = "yaml"))]
        let _ = start;
    }
    let effective = effective(resources);
    let start = out.len();
    analysis::analyze(&effective, &mut out);
    locate_effective(&effective, out.get_mut(start..).unwrap_or_default());
    out
}

/// Runs meshroute's own lints, the findings beyond Istio's validation and `istioctl analyze`,
/// on the resources that take effect ([`effective`]). Every finding is a [`Severity::Warning`]
/// with a code, each with its line when the resource's text is known:
///
/// - `MR001`: a match (or a rule) that never fires, because an earlier match of the same
///   VirtualService accepts every request it accepts (beyond IST0130 / IST0131, which it does
///   not repeat);
/// - `MR002`: a DestinationRule subset whose labels select none of the host's endpoints known
///   from the manifests (like `istioctl analyze` IST0173);
/// - `MR003`: a destination that gets no traffic (weight 0, or no weight, beside other
///   destinations), or two destinations of a route that name the same host, subset and port;
/// - `MR004`: a mesh VirtualService for a host other services call that routes on a request
///   header or query parameter (not a trace header), which every caller must forward.
///
/// [`check`] never runs them: its output stays what Istio and `istioctl analyze` report.
///
/// ```
/// # #[cfg(feature = "yaml")] {
/// let yaml = "apiVersion: networking.istio.io/v1
/// kind: VirtualService
/// metadata: {name: svc-b, namespace: default}
/// spec:
///   hosts: [svc-b]
///   http:
///   - route:
///     - destination: {host: svc-b, subset: v1}
///       weight: 0
///     - destination: {host: svc-b, subset: v2}
///       weight: 100
/// ";
/// let loaded = meshroute::from_str(yaml, &meshroute::config::LoadOptions::default());
/// let lints = meshroute::lint(&loaded.resources);
/// assert_eq!(lints.len(), 1);
/// assert_eq!(lints[0].code, Some("MR003"));
/// assert_eq!(lints[0].path, "spec.http[0].route[0].weight");
/// assert_eq!(lints[0].line, Some(9));
/// # }
/// ```
pub fn lint(resources: &[Resource]) -> Vec<Diagnostic> {
    let effective = effective(resources);
    let mut out = Vec::new();
    lint::lint(&effective, &mut out);
    locate_effective(&effective, &mut out);
    out
}

/// Fills in the line of each diagnostic about one of the `effective` resources.
fn locate_effective(effective: &[&Resource], diagnostics: &mut [Diagnostic]) {
    #[cfg(feature = "yaml")]
    for diagnostic in diagnostics {
        if let Some(resource) = effective.iter().find(|r| {
            diagnostic.name.as_deref() == Some(r.key().as_str())
                && diagnostic.kind.as_deref() == Some(r.kind())
        }) {
            crate::config::load::locate_lines(resource, std::slice::from_mut(diagnostic));
        }
    }
    #[cfg(not(feature = "yaml"))]
    let _ = (effective, diagnostics);
}

/// The resources that take effect: where several have the same kind, namespace and name, the last
/// one replaces the earlier ones (keeping the first one's position), as `kubectl apply` of the
/// same files in order would.
pub fn effective(resources: &[Resource]) -> Vec<&Resource> {
    let mut out: Vec<&Resource> = Vec::with_capacity(resources.len());
    let mut index: std::collections::HashMap<(&str, &str, &str), usize> =
        std::collections::HashMap::with_capacity(resources.len());
    for resource in resources {
        let key = (resource.kind(), resource.namespace(), resource.name());
        match index.get(&key).and_then(|&i| out.get_mut(i)) {
            Some(previous) => {
                tracing::debug!(
                    kind = resource.kind(),
                    name = %resource.key(),
                    "a later definition replaces an earlier one"
                );
                *previous = resource;
            }
            None => {
                index.insert(key, out.len());
                out.push(resource);
            }
        }
    }
    out
}

/// Validates and compiles `resources` into a [`Mesh`]. Fails with every error (and warning) if
/// any error is found; on success the warnings are kept on the mesh ([`Mesh::warnings`]).
pub fn compile(resources: Vec<Resource>) -> Result<Mesh, CompileError> {
    let diagnostics = check(&resources);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(CompileError { diagnostics });
    }
    let keep: std::collections::HashSet<*const Resource> = effective(&resources)
        .into_iter()
        .map(std::ptr::from_ref)
        .collect();
    let flags: Vec<bool> = resources
        .iter()
        .map(|r| keep.contains(&std::ptr::from_ref(r)))
        .collect();
    let kept: Vec<Resource> = resources
        .into_iter()
        .zip(flags)
        .filter_map(|(r, keep)| keep.then_some(r))
        .collect();
    let tables = {
        let refs: Vec<&Resource> = kept.iter().collect();
        lower::lower(&refs)
    };
    Ok(Mesh::new(kept, diagnostics, tables))
}

fn validate_resource(resource: &Resource, out: &mut Vec<Diagnostic>) {
    let mut sink = Sink::new(resource, out);
    if resource.metadata.name.is_empty() && !matches!(resource.body, Body::Ignored { .. }) {
        sink.error("metadata.name", "name is required");
    }
    match &resource.body {
        Body::VirtualService(vs) => virtual_service::validate(&mut sink, vs),
        Body::DestinationRule(dr) => destination_rule::validate(&mut sink, dr),
        Body::Gateway(gw) => gateway::validate(&mut sink, gw),
        Body::ServiceEntry(se) => service_entry::validate(&mut sink, se),
        Body::WorkloadEntry(we) => workload_entry::validate(&mut sink, we),
        Body::Service(_) | Body::Deployment(_) | Body::Pod(_) | Body::Ignored { .. } => {}
    }
}

/// Test support: load YAML and return every diagnostic, load problems included.
#[cfg(all(test, feature = "yaml"))]
pub(crate) fn check_yaml(yaml: &str) -> Vec<Diagnostic> {
    let loaded = crate::config::load::from_str(yaml, &crate::config::LoadOptions::default());
    let mut all = loaded.diagnostics;
    all.extend(check(&loaded.resources));
    all
}

/// Assertion helpers shared by the validation unit tests.
#[cfg(all(test, feature = "yaml"))]
pub(crate) mod test_support {
    use super::{Diagnostic, Severity};

    /// The messages of the diagnostics of `severity` at `path`.
    pub(crate) fn at<'a>(
        diagnostics: &'a [Diagnostic],
        severity: Severity,
        path: &str,
    ) -> Vec<&'a str> {
        diagnostics
            .iter()
            .filter(|d| d.severity == severity && d.path == path)
            .map(|d| d.message.as_str())
            .collect()
    }

    /// Asserts an error at `path` whose message contains `text`.
    pub(crate) fn assert_error(diagnostics: &[Diagnostic], path: &str, text: &str) {
        let found = at(diagnostics, Severity::Error, path);
        assert!(
            found.iter().any(|m| m.contains(text)),
            "no error {text:?} at {path}; got {diagnostics:#?}"
        );
    }

    /// Asserts a warning at `path` whose message contains `text`.
    pub(crate) fn assert_warning(diagnostics: &[Diagnostic], path: &str, text: &str) {
        let found = at(diagnostics, Severity::Warning, path);
        assert!(
            found.iter().any(|m| m.contains(text)),
            "no warning {text:?} at {path}; got {diagnostics:#?}"
        );
    }

    /// Asserts nothing at all (error or warning) at `path`.
    pub(crate) fn assert_clean(diagnostics: &[Diagnostic], path: &str) {
        let found: Vec<_> = diagnostics.iter().filter(|d| d.path == path).collect();
        assert!(
            found.is_empty(),
            "unexpected diagnostics at {path}: {found:#?}"
        );
    }

    /// Asserts the configuration is free of validation errors and warnings (`istioctl
    /// analyze`-style findings, which carry a code, are not the validators' concern).
    pub(crate) fn assert_no_diagnostics(diagnostics: &[Diagnostic]) {
        let found: Vec<_> = diagnostics.iter().filter(|d| d.code.is_none()).collect();
        assert!(found.is_empty(), "unexpected diagnostics: {found:#?}");
    }
}
