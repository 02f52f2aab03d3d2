//! Validation rules shared by several resources: names, domains, labels, durations, ports.
//!
//! Messages follow Istio's `pkg/config/validation/validation.go` and
//! `pkg/config/validation/agent/validation.go` (istio/istio) so that a user can search for them;
//! where Istio's text does not say what to do, ours adds it.

use std::fmt::Display;

use super::sink::Sink;
use crate::config::Duration;
pub(crate) use crate::util::protocol::Protocol;

/// `agent.ValidateDuration`: at least 1ms, and a whole number of milliseconds.
pub(crate) fn duration(sink: &mut Sink<'_>, path: &dyn Display, value: &Duration) {
    if value.as_nanos() < 1_000_000 {
        sink.error(
            path.to_string(),
            format!("duration must be greater than 1ms (got {value})"),
        );
    } else if value.as_nanos() % 1_000_000 != 0 {
        sink.error(
            path.to_string(),
            format!("only durations to ms precision are supported (got {value})"),
        );
    }
}

/// A DNS-1123 label as Istio checks it (`labels.IsDNS1123Label`): 1-63 characters of
/// `[a-zA-Z0-9-]`, starting and ending alphanumeric. Istio's check accepts upper case.
pub(crate) fn is_dns1123_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// `ValidateWildcardDomain`: a DNS name whose first label may be `*` or start with `*`
/// (`*`, `*.foo.com`, `*foo.com`, `*-foo.com`). Returns what is wrong, if anything.
pub(crate) fn wildcard_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("empty domain name not allowed".into());
    }
    if domain.len() > 255 {
        return Err(format!("domain name {domain:?} too long (max 255)"));
    }
    let (first, rest) = match domain.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (domain, None),
    };
    let first_ok = if let Some(tail) = first.strip_prefix('*') {
        tail.is_empty()
            || is_dns1123_label(tail)
            || (tail.starts_with('-') && is_dns1123_label(tail.trim_start_matches('-')))
    } else {
        is_dns1123_label(first)
    };
    if !first_ok {
        return Err(format!(
            "domain name {domain:?} invalid (label {first:?} invalid): use letters, digits and '-', with an optional leading '*'"
        ));
    }
    if let Some(rest) = rest {
        // A trailing dot (FQDN form) is allowed.
        let rest = rest.strip_suffix('.').unwrap_or(rest);
        for label in rest.split('.') {
            if !is_dns1123_label(label) {
                return Err(format!(
                    "domain name {domain:?} invalid (label {label:?} invalid)"
                ));
            }
        }
    }
    Ok(())
}

/// A Kubernetes label key (`[prefix/]name`) and value, as `labels.Instance.Validate` checks them.
pub(crate) fn labels<'a>(
    sink: &mut Sink<'_>,
    path: &dyn Display,
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (key, value) in labels {
        if let Err(why) = label_key(key) {
            sink.error(format!("{path}.{key}"), why);
        }
        if !is_label_value(value) {
            sink.error(
                format!("{path}.{key}"),
                format!(
                    "invalid tag value {value:?}: at most 63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
                ),
            );
        }
    }
}

fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() || prefix.len() > 253 || !prefix.split('.').all(is_dns1123_label) {
            return Err(format!(
                "invalid tag key {key:?}: the prefix must be a DNS subdomain"
            ));
        }
    }
    if name.is_empty() || !is_label_value(name) {
        return Err(format!(
            "invalid tag key {key:?}: the name must be 1-63 characters of letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// A Kubernetes label value: empty, or at most 63 characters of `[A-Za-z0-9_.-]` starting and
/// ending alphanumeric.
pub(crate) fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.is_empty()
        || (bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
            && bytes.last().is_some_and(u8::is_ascii_alphanumeric))
}

/// A port number in `1..=65535` (Istio: `port number %d must be in the range 1..65535`).
pub(crate) fn port(sink: &mut Sink<'_>, path: &dyn Display, number: u32) {
    if !(1..=65535).contains(&number) {
        sink.error(
            path.to_string(),
            format!("port number {number} must be in the range 1..65535"),
        );
    }
}

/// A percentage in `[0, 100]`.
pub(crate) fn percentage_0_100(sink: &mut Sink<'_>, path: &str, value: f64) {
    if !(0.0..=100.0).contains(&value) {
        sink.error(path, format!("percentage {value} is not in range 0..100"));
    }
}

// ---- Helpers shared by the DestinationRule, Gateway, ServiceEntry and WorkloadEntry rules ----

/// `ValidateDNS1123Labels`' rule that a top-level domain cannot be all digits, applied as
/// `ValidateWildcardDomain` applies it: to the part after the first label (`foo.123` and
/// `1.2.3.4` are invalid hosts; a single label such as `123` is not checked).
pub(crate) fn numeric_top_level_domain(domain: &str) -> Result<(), String> {
    let Some((_, rest)) = domain.split_once('.') else {
        return Ok(());
    };
    let top = rest.rsplit('.').next().unwrap_or_default();
    if !top.is_empty() && top.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "domain name {rest:?} invalid (top level domain {top:?} cannot be all-numeric)"
        ));
    }
    Ok(())
}

/// `agent.ValidateFQDN`: a DNS name without wildcards, at most 255 characters, labels per
/// DNS-1123 (upper case accepted), an optional trailing dot, and a top-level domain that is not
/// all digits.
pub(crate) fn fqdn(name: &str) -> Result<(), String> {
    if name.len() > 255 {
        return Err(format!("domain name {name:?} too long (max 255)"));
    }
    if name.is_empty() {
        return Err("empty domain name not allowed".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    if let Some(top) = labels.last() {
        if !top.is_empty() && top.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "domain name {name:?} invalid (top level domain {top:?} cannot be all-numeric)"
            ));
        }
    }
    let last = labels.len().saturating_sub(1);
    for (i, label) in labels.iter().enumerate() {
        if i == last && label.is_empty() {
            break;
        }
        if !is_dns1123_label(label) {
            return Err(format!(
                "domain name {name:?} invalid (label {label:?} invalid)"
            ));
        }
    }
    Ok(())
}

/// `netutil.IsValidIPAddress` / `agent.ValidateIPAddress`: an IPv4 or IPv6 address.
pub(crate) fn is_ip_address(value: &str) -> bool {
    value.parse::<std::net::IpAddr>().is_ok()
}

/// `agent.ValidateIPSubnet`: an IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`).
pub(crate) fn ip_subnet(value: &str) -> Result<(), String> {
    if value.matches('/').count() == 1 {
        let valid = value.split_once('/').is_some_and(|(address, bits)| {
            let max = match address.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => 32,
                Ok(std::net::IpAddr::V6(_)) => 128,
                Err(_) => return false,
            };
            !bits.is_empty()
                && bits.len() <= 3
                && bits.bytes().all(|b| b.is_ascii_digit())
                && (bits == "0" || !bits.starts_with('0'))
                && bits.parse::<u32>().is_ok_and(|n| n <= max)
        });
        return if valid {
            Ok(())
        } else {
            Err(format!("{value} is not a valid CIDR block"))
        };
    }
    if is_ip_address(value) {
        Ok(())
    } else {
        Err(format!("{value} is not a valid IP"))
    }
}

/// `agent.ValidatePartialWildCard`: a wildcard must be the whole first label (`*` or `*.x`).
pub(crate) fn partial_wildcard(host: &str) -> Result<(), String> {
    if host.contains('*') && host.len() != 1 && !host.starts_with("*.") {
        return Err(format!("partial wildcard {host:?} not allowed"));
    }
    Ok(())
}

/// `ValidateUnixAddress`: the path of a `unix://` address: absolute and not a directory, or an
/// abstract socket (`@name`).
pub(crate) fn unix_address(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("unix address must not be empty".into());
    }
    if path.starts_with('@') {
        return Ok(());
    }
    if !path.starts_with('/') || path.ends_with('/') {
        return Err(format!("{path} is not an absolute path to a file"));
    }
    Ok(())
}

/// `ValidatePortName`: a port name must be a DNS-1123 label.
pub(crate) fn port_name(sink: &mut Sink<'_>, path: &str, name: &str) {
    if !is_dns1123_label(name) {
        sink.error(path, format!("invalid port name: {name}"));
    }
}

/// `ValidateProtocol`: empty (sniffing) or a protocol Istio knows.
pub(crate) fn protocol(sink: &mut Sink<'_>, path: &str, name: &str) {
    if !name.is_empty() && Protocol::parse(name) == Protocol::Unsupported {
        sink.error(path, format!("unsupported protocol: {name}"));
    }
}

/// `validateExportTo`: entries are `.`, `*`, a namespace name or (ServiceEntry only) `~`;
/// no duplicates (`.` counts as the resource's namespace); `*` and `~` stand alone; a
/// DestinationRule with a workload selector may only be exported to its own namespace.
pub(crate) fn export_to(
    sink: &mut Sink<'_>,
    path: &str,
    namespace: &str,
    entries: &[String],
    service_entry: bool,
    destination_rule_with_selector: bool,
) {
    if entries.is_empty() {
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let key = if entry == "." {
            namespace
        } else {
            entry.as_str()
        };
        let here = format!("{path}[{i}]");
        if seen.contains(&key) {
            if key != entry {
                sink.error(
                    here,
                    format!("duplicate entries in exportTo: . and current namespace {namespace}"),
                );
            } else {
                sink.error(
                    here,
                    format!("duplicate entries in exportTo for entry {entry}"),
                );
            }
        } else if service_entry && entry == "~" {
            seen.push(key);
        } else if key == "~" {
            sink.error(
                here,
                "exportTo ~ (none) is not allowed for Istio configuration objects",
            );
        } else if key != "*" && !is_dns1123_label(key) {
            sink.error(
                here,
                "only .,*,~, or a valid DNS 1123 label is allowed as exportTo entry",
            );
        } else {
            seen.push(key);
        }
    }
    if destination_rule_with_selector && !seen.is_empty() {
        if seen.contains(&namespace) {
            if seen.len() > 1 {
                sink.error(
                    path,
                    "destination rule with workload selector cannot have multiple entries in exportTo",
                );
            }
        } else {
            sink.error(
                path,
                "destination rule with workload selector cannot have exportTo beyond current namespace",
            );
        }
    }
    if seen.contains(&"*") && entries.len() > 1 {
        sink.error(
            path,
            "cannot have both public (*) and non-public exportTo values for a resource",
        );
    }
    if seen.contains(&"~") && entries.len() > 1 {
        sink.error(
            path,
            "cannot export service entry to no one (~) and someone",
        );
    }
}

/// validation.go `validateWorkloadSelector`: selector keys must not be empty, and neither keys
/// nor values may hold `*`. `path` names the label map (`spec.workloadSelector.matchLabels`).
pub(crate) fn selector_labels<'a>(
    sink: &mut Sink<'_>,
    path: &str,
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
) {
    for (key, value) in labels {
        let here = format!("{path}.{key}");
        let pair = format!("{key}={value}");
        if key.is_empty() {
            sink.error(
                here.clone(),
                format!("empty key is not supported in selector: {pair:?}"),
            );
        }
        if key.contains('*') || value.contains('*') {
            sink.error(
                here,
                format!("wildcard is not supported in selector: {pair:?}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns1123_label_accepts_upper_case_and_rejects_dots() {
        assert!(is_dns1123_label("v1"));
        assert!(is_dns1123_label("V1"));
        assert!(is_dns1123_label("a-b"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label("a."));
        assert!(!is_dns1123_label("a_b"));
        assert!(!is_dns1123_label(""));
        assert!(!is_dns1123_label(&"a".repeat(64)));
    }

    /// `pkg/config/validation/agent/validation_test.go` `TestValidateWildcardDomain` cases.
    #[test]
    fn wildcard_domains_as_istio() {
        for ok in [
            "*",
            "*.foo.com",
            "*foo.com",
            "*-foo.com",
            "foo.com",
            "reviews",
            "svc-b.default.svc.cluster.local",
        ] {
            assert!(wildcard_domain(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "foo.*",
            "*.*.foo",
            "foo..com",
            "default/baz",
            "foo_bar.com",
            "**",
        ] {
            assert!(wildcard_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_values() {
        assert!(is_label_value(""));
        assert!(is_label_value("v1.2_3-x"));
        assert!(!is_label_value("-v1"));
        assert!(!is_label_value("v 1"));
    }
}
