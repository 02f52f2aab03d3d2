//! Where validation and analysis report what they find about one resource.

use std::fmt;

use crate::config::Resource;
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::util::regex::{Refused, RegexBudget};

/// Collects the diagnostics of one resource; validation and analysis code report through it.
///
/// Paths are written out by the caller when it reports (`format!("{p}.route[{i}].weight")`).
/// Code that walks every route hands the paths of the fields it visits down as [`Path`]s (or
/// `format_args!`), written out only for a diagnostic: a configuration of 10,000 routes has
/// hundreds of thousands of fields and, usually, no finding.
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

/// A field path below `parent`, written out only when a diagnostic needs it: `{parent}.{field}`,
/// then `.{key}` and `[{index}]` when given.
#[derive(Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: &'a dyn fmt::Display,
    field: &'a str,
    key: Option<&'a str>,
    index: Option<usize>,
}

impl<'a> Path<'a> {
    /// `{parent}.{field}`.
    pub(crate) fn field(parent: &'a dyn fmt::Display, field: &'a str) -> Self {
        Self {
            parent,
            field,
            key: None,
            index: None,
        }
    }

    /// `{parent}.{field}[{index}]`.
    pub(crate) fn index(parent: &'a dyn fmt::Display, field: &'a str, index: usize) -> Self {
        Self {
            index: Some(index),
            ..Self::field(parent, field)
        }
    }

    /// `{parent}.{field}.{key}` (a map entry: `headers.x-user`).
    pub(crate) fn key(parent: &'a dyn fmt::Display, field: &'a str, key: &'a str) -> Self {
        Self {
            key: Some(key),
            ..Self::field(parent, field)
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.parent, self.field)?;
        if let Some(key) = self.key {
            write!(f, ".{key}")?;
        }
        if let Some(index) = self.index {
            write!(f, "[{index}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl From<Path<'_>> for String {
    fn from(path: Path<'_>) -> Self {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn paths_read_as_written_out() {
        let http = Path::index(&"spec", "http", 3);
        assert_eq!(http.to_string(), "spec.http[3]");
        let header = Path::key(&http, "headers", "x-user");
        assert_eq!(header.to_string(), "spec.http[3].headers.x-user");
        let destination = Path::field(&Path::index(&http, "route", 1), "destination").to_string();
        assert_eq!(destination, "spec.http[3].route[1].destination");
        assert_eq!(String::from(Path::field(&"spec", "hosts")), "spec.hosts");
    }
}
