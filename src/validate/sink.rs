//! Where validation and analysis report what they find about one resource.

use crate::config::Resource;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::util::regex::{Refused, RegexBudget};

/// Collects the diagnostics of one resource; validation and analysis code report through it.
///
/// Paths are written out by the caller (`format!("{p}.route[{i}].weight")`): validation runs once
/// per configuration, so clarity beats avoiding a few allocations.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    resource: &'a Resource,
    out: &'a mut Vec<Diagnostic>,
    /// The regex budget of the configuration being validated; `None` for sinks that compile
    /// no regex (analysis).
    regexes: Option<&'a mut RegexBudget>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(resource: &'a Resource, out: &'a mut Vec<Diagnostic>) -> Self {
        Self {
            resource,
            out,
            regexes: None,
        }
    }

    /// The same sink, charging the regexes it checks to `budget` (shared by every resource
    /// of one configuration).
    pub(crate) fn with_regexes(self, budget: &'a mut RegexBudget) -> Self {
        Self {
            regexes: Some(budget),
            ..self
        }
    }

    /// Checks a user regex within the configuration's budget (a budget of its own when the
    /// sink has none).
    pub(crate) fn check_regex(&mut self, pattern: &str) -> Result<(), Refused> {
        match self.regexes.as_deref_mut() {
            Some(budget) => budget.check(pattern),
            None => RegexBudget::default().check(pattern),
        }
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
