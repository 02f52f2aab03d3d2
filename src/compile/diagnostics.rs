//! Diagnostics: what is wrong (or suspicious) in a configuration, and exactly where.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Origin, Resource};

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is rejected: Istio would reject it, or meshroute cannot load it.
    Error,
    /// The configuration is accepted, but probably does not do what its author meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found while loading or compiling, naming the file, resource and field.
///
/// `Display` renders it the way the `meshroute check` command prints it:
/// `routes.yaml:14: error: VirtualService default/svc-b: spec.http[0].route[1].weight: weight -1 < 0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file the resource came from, if it came from a file.
    pub file: Option<Arc<str>>,
    /// The one-based line of the field (or of the document) when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The resource kind (`VirtualService`), or `None` for a problem with the input itself.
    pub kind: Option<String>,
    /// The resource as `namespace/name`, if known.
    pub name: Option<String>,
    /// The field path, `spec.http[0].route[1].weight`; empty for the whole document.
    pub path: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
    /// The matching `istioctl analyze` code (`IST0101`) for analysis warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl Diagnostic {
    /// A diagnostic about the resource `resource` at `path`.
    pub fn for_resource(
        severity: Severity,
        resource: &Resource,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            file: resource.origin.file.clone(),
            line: resource.origin.line,
            kind: Some(resource.kind().to_owned()),
            name: Some(resource.key()),
            path: path.into(),
            message: message.into(),
            code: None,
        }
    }

    /// A diagnostic about input that could not be read as a resource.
    pub fn for_input(origin: &Origin, line: Option<u32>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            file: origin.file.clone(),
            line: line.or(origin.line),
            kind: None,
            name: None,
            path: String::new(),
            message: message.into(),
            code: None,
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: ")?,
            (Some(file), None) => write!(f, "{file}: ")?,
            (None, Some(line)) => write!(f, "line {line}: ")?,
            (None, None) => {}
        }
        write!(f, "{}", self.severity)?;
        if let Some(code) = self.code {
            write!(f, "[{code}]")?;
        }
        f.write_str(": ")?;
        match (&self.kind, &self.name) {
            (Some(kind), Some(name)) => write!(f, "{kind} {name}: ")?,
            (Some(kind), None) => write!(f, "{kind}: ")?,
            _ => {}
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Collects the diagnostics of one resource; validation code reports through it.
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

    /// The resource being validated.
    pub(crate) fn resource(&self) -> &'a Resource {
        self.resource
    }

    /// Reports an error at `path`.
    pub(crate) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::for_resource(
            Severity::Error,
            self.resource,
            path,
            message,
        ));
    }

    /// Reports a warning at `path`.
    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::for_resource(
            Severity::Warning,
            self.resource,
            path,
            message,
        ));
    }

    /// Reports an `istioctl analyze`-style finding with its code.
    pub(crate) fn analysis(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) {
        let mut diagnostic = Diagnostic::for_resource(severity, self.resource, path, message);
        diagnostic.code = Some(code);
        self.out.push(diagnostic);
    }
}
