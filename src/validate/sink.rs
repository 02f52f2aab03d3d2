//! Where validation and analysis report what they find about one resource.

use crate::config::Resource;
use crate::diagnostic::{Code, Diagnostic, Severity};

/// Collects the diagnostics of one resource; validation and analysis code report through it.
///
/// Paths are written out by the caller (`format!("{p}.route[{i}].weight")`): validation runs once
/// per configuration, so clarity beats avoiding a few allocations.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    resource: &'a Resource,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(resource: &'a Resource, out: &'a mut Vec<Diagnostic>) -> Self {
        Self { resource, out }
    }

    /// How many diagnostics have been reported so far (of every resource).
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The resource being validated.
    pub(crate) fn resource(&self) -> &'a Resource {
        self.resource
    }

    /// Reports an error at `path`.
    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out
            .push(self.resource.diagnostic(Severity::Error, path, message));
    }

    /// Reports a warning at `path`.
    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out
            .push(self.resource.diagnostic(Severity::Warning, path, message));
    }

    /// Reports an analysis finding with its code, at the code's severity.
    pub(crate) fn analysis(
        &mut self,
        code: Code,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let mut diagnostic = self.resource.diagnostic(code.severity(), path, message);
        diagnostic.code = Some(code);
        self.out.push(diagnostic);
    }
}
