//! What is wrong (or worth knowing) about a configuration, and exactly where.
//!
//! Every stage that reads configuration reports through [`Diagnostic`]: the loader (unknown
//! fields, wrong types), validation (Istio's admission rules and messages), analysis (the
//! `istioctl analyze` findings meshroute shares, each with its [`Code`]) and meshroute's own
//! lints. Severities follow `istioctl analyze` (`pkg/config/analysis/diag/level.go` in
//! istio/istio): [`Severity::Error`], [`Severity::Warning`], [`Severity::Info`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

/// How bad a [`Diagnostic`] is, as `istioctl analyze` grades its messages.
///
/// Ordered from the most to the least severe (`Error < Warning < Info`), like istioctl's
/// `Level` sort order; [`Severity::is_at_least`] compares against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is rejected: Istio would reject it, or meshroute cannot load it.
    Error,
    /// The configuration is accepted, but probably does not do what its author meant.
    Warning,
    /// Worth knowing, not a problem (`istioctl analyze` info messages such as IST0131).
    Info,
}

impl Severity {
    /// The lowercase name (`error`, `warning`, `info`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Whether this severity is at least as bad as `threshold` (istioctl's
    /// `IsWorseThanOrEqualTo`): `Error` is at least `Warning`, `Info` is not.
    pub fn is_at_least(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not `error`, `warning` or `info`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid severity {0:?}: expected one of Error, Warning, Info")]
pub struct InvalidSeverity(String);

impl FromStr for Severity {
    type Err = InvalidSeverity;

    /// `Error`, `Warning` or `Info`, in any case (istioctl's `--failure-threshold` and
    /// `--output-threshold` values).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "error" => Ok(Severity::Error),
            "warning" => Ok(Severity::Warning),
            "info" => Ok(Severity::Info),
            _ => Err(InvalidSeverity(text.to_owned())),
        }
    }
}

/// The kind of an analysis finding: the `istioctl analyze` message types meshroute shares with
/// Istio (`IST…`, from `pkg/config/analysis/msg/messages.yaml`) and meshroute's own lints
/// (`MR…`, see [`lint`](crate::lint())).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Code {
    /// IST0101 `ReferencedResourceNotFound`: a destination host (or `host:port`), subset or
    /// gateway that is not defined.
    ReferencedResourceNotFound,
    /// IST0109 `ConflictingMeshGatewayVirtualServiceHosts`: mesh VirtualServices sharing a host.
    ConflictingMeshGatewayVirtualServiceHosts,
    /// IST0112 `VirtualServiceDestinationPortSelectorRequired`: a destination without a port on a
    /// service with several ports.
    VirtualServiceDestinationPortSelectorRequired,
    /// IST0130 `VirtualServiceUnreachableRule`: an HTTP rule that can never fire.
    VirtualServiceUnreachableRule,
    /// IST0131 `VirtualServiceIneffectiveMatch`: a match an earlier one already covers.
    VirtualServiceIneffectiveMatch,
    /// IST0132 `VirtualServiceHostNotFoundInGateway`: a host the bound Gateway does not expose.
    VirtualServiceHostNotFoundInGateway,
    /// MR001: a match or rule shadowed by an earlier, broader match.
    ShadowedMatch,
    /// MR002: a DestinationRule subset that selects none of the host's endpoints.
    SubsetWithoutEndpoints,
    /// MR003: a destination that gets no traffic (weight 0, or a duplicate).
    DestinationWithoutTraffic,
    /// MR004: routing on a header or query parameter every caller must forward.
    UnforwardedRoutingFlag,
    /// MR005: endpoint weights so unequal that Envoy's ring hash is cut down to its maximum
    /// size (`maximum_ring_size`, 8388608 entries) for every cluster it applies to.
    RingAtMaximumSize,
}

impl Code {
    /// The code as printed (`IST0101`, `MR003`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::ReferencedResourceNotFound => "IST0101",
            Code::ConflictingMeshGatewayVirtualServiceHosts => "IST0109",
            Code::VirtualServiceDestinationPortSelectorRequired => "IST0112",
            Code::VirtualServiceUnreachableRule => "IST0130",
            Code::VirtualServiceIneffectiveMatch => "IST0131",
            Code::VirtualServiceHostNotFoundInGateway => "IST0132",
            Code::ShadowedMatch => "MR001",
            Code::SubsetWithoutEndpoints => "MR002",
            Code::DestinationWithoutTraffic => "MR003",
            Code::UnforwardedRoutingFlag => "MR004",
            Code::RingAtMaximumSize => "MR005",
        }
    }

    /// The message type's name (Istio's for `IST…` codes).
    pub fn name(self) -> &'static str {
        match self {
            Code::ReferencedResourceNotFound => "ReferencedResourceNotFound",
            Code::ConflictingMeshGatewayVirtualServiceHosts => {
                "ConflictingMeshGatewayVirtualServiceHosts"
            }
            Code::VirtualServiceDestinationPortSelectorRequired => {
                "VirtualServiceDestinationPortSelectorRequired"
            }
            Code::VirtualServiceUnreachableRule => "VirtualServiceUnreachableRule",
            Code::VirtualServiceIneffectiveMatch => "VirtualServiceIneffectiveMatch",
            Code::VirtualServiceHostNotFoundInGateway => "VirtualServiceHostNotFoundInGateway",
            Code::ShadowedMatch => "ShadowedMatch",
            Code::SubsetWithoutEndpoints => "SubsetWithoutEndpoints",
            Code::DestinationWithoutTraffic => "DestinationWithoutTraffic",
            Code::UnforwardedRoutingFlag => "UnforwardedRoutingFlag",
            Code::RingAtMaximumSize => "RingAtMaximumSize",
        }
    }

    /// The severity of the finding: the level `istioctl analyze` gives the `IST…` message
    /// types (`messages.yaml`: IST0101, IST0109 and IST0112 errors, IST0130 and IST0132
    /// warnings, IST0131 info); meshroute's lints are warnings.
    pub fn severity(self) -> Severity {
        match self {
            Code::ReferencedResourceNotFound
            | Code::ConflictingMeshGatewayVirtualServiceHosts
            | Code::VirtualServiceDestinationPortSelectorRequired => Severity::Error,
            // MR004 is advice for operators: the configuration may be right, it needs callers
            // that forward the flag.
            Code::VirtualServiceIneffectiveMatch | Code::UnforwardedRoutingFlag => Severity::Info,
            Code::VirtualServiceUnreachableRule
            | Code::VirtualServiceHostNotFoundInGateway
            | Code::ShadowedMatch
            | Code::SubsetWithoutEndpoints
            | Code::DestinationWithoutTraffic
            | Code::RingAtMaximumSize => Severity::Warning,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One problem found while loading or compiling, naming the file, resource and field.
///
/// `Display` renders it the way the `meshroute check` command prints it:
/// `routes.yaml:14: error: VirtualService default/svc-b: spec.http[0].route[1].weight: weight -1 < 0`.
/// It serializes with every key present (`null` where unknown), as `meshroute check --json`
/// prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error, warning or info.
    pub severity: Severity,
    /// The file the resource came from, if it came from a file.
    pub file: Option<Arc<str>>,
    /// The one-based line of the field (or of the document) when known.
    pub line: Option<u32>,
    /// The resource kind (`VirtualService`), or `None` for a problem with the input itself.
    pub kind: Option<String>,
    /// The resource as `namespace/name`, if known.
    pub name: Option<String>,
    /// The field path, `spec.http[0].route[1].weight`; empty for the whole document.
    pub path: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
    /// The analysis code (`IST0101`, `MR003`) for analysis findings and lints.
    pub code: Option<Code>,
}

impl Diagnostic {
    /// A diagnostic with only a severity and a message; the stage that reports it fills in
    /// the rest.
    pub(crate) fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self {
            severity,
            file: None,
            line: None,
            kind: None,
            name: None,
            path: String::new(),
            message: message.into(),
            code: None,
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Whether this refuses the configuration: an error in loading or validation, which Istio's
    /// admission would reject too. Analysis findings ([`Code`]) never do, even at error level
    /// (`istioctl analyze` grades IST0101 an error, yet Istio applies such a configuration and
    /// Envoy answers the requests it affects with a 503).
    pub fn rejects(&self) -> bool {
        self.is_error() && self.code.is_none()
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

/// A configuration that cannot be compiled: it has loading or validation errors (see
/// [`Diagnostic::rejects`]); every diagnostic found is kept, the others beside them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} error(s) in the configuration; first: {}", self.error_count(), self.first_error())]
#[non_exhaustive]
pub struct CompileError {
    /// All diagnostics (errors, warnings, info), loading problems first, then in resource order.
    pub diagnostics: Vec<Diagnostic>,
}

impl CompileError {
    /// An error made of these diagnostics.
    pub(crate) fn new(diagnostics: Vec<Diagnostic>) -> Self {
        Self { diagnostics }
    }

    fn error_count(&self) -> usize {
        self.errors().count()
    }

    fn first_error(&self) -> String {
        self.errors()
            .next()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The diagnostics that refuse the configuration ([`Diagnostic::rejects`]).
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.rejects())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// istioctl's `IsWorseThanOrEqualTo` over its sort order Error(0) < Warning(1) < Info(2).
    #[test]
    fn thresholds_compare_like_istioctl_levels() {
        assert!(Severity::Error.is_at_least(Severity::Warning));
        assert!(Severity::Warning.is_at_least(Severity::Warning));
        assert!(!Severity::Info.is_at_least(Severity::Warning));
        assert!(Severity::Info.is_at_least(Severity::Info));
        assert_eq!("WARNING".parse::<Severity>(), Ok(Severity::Warning));
        assert_eq!("Info".parse::<Severity>(), Ok(Severity::Info));
        assert!("fatal".parse::<Severity>().is_err());
    }

    /// messages.yaml levels: IST0101/IST0109/IST0112 Error, IST0130/IST0132 Warning, IST0131 Info.
    #[test]
    fn codes_carry_istioctl_levels() {
        assert_eq!(Code::ReferencedResourceNotFound.severity(), Severity::Error);
        assert_eq!(
            Code::ConflictingMeshGatewayVirtualServiceHosts.severity(),
            Severity::Error
        );
        assert_eq!(
            Code::VirtualServiceDestinationPortSelectorRequired.severity(),
            Severity::Error
        );
        assert_eq!(
            Code::VirtualServiceDestinationPortSelectorRequired.as_str(),
            "IST0112"
        );
        assert_eq!(
            Code::VirtualServiceUnreachableRule.severity(),
            Severity::Warning
        );
        assert_eq!(
            Code::VirtualServiceIneffectiveMatch.severity(),
            Severity::Info
        );
        assert_eq!(
            Code::VirtualServiceHostNotFoundInGateway.severity(),
            Severity::Warning
        );
        assert_eq!(Code::RingAtMaximumSize.severity(), Severity::Warning);
        assert_eq!(Code::RingAtMaximumSize.to_string(), "MR005");
        assert_eq!(Code::ReferencedResourceNotFound.to_string(), "IST0101");
        assert_eq!(
            serde_json::to_string(&Code::DestinationWithoutTraffic).unwrap_or_default(),
            "\"MR003\""
        );
    }
}
