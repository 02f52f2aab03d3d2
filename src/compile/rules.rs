//! Validation rules shared by several resources: names, domains, labels, durations, ports.
//!
//! Messages follow Istio's `pkg/config/validation` (`validation.go`, `agent/validation.go`) so
//! that a user can search for them; where Istio's text does not say what to do, ours adds it.

use crate::compile::diagnostics::Sink;
use crate::config::Duration;

/// `agent.ValidateDuration`: at least 1ms, and a whole number of milliseconds.
pub(crate) fn duration(sink: &mut Sink<'_>, path: &str, value: &Duration) {
    if value.as_nanos() < 1_000_000 {
        sink.error(path, format!("duration must be greater than 1ms (got {value})"));
    } else if value.as_nanos() % 1_000_000 != 0 {
        sink.error(
            path,
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
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
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
        tail.is_empty() || is_dns1123_label(tail) || (tail.starts_with('-') && is_dns1123_label(tail.trim_start_matches('-')))
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
                return Err(format!("domain name {domain:?} invalid (label {label:?} invalid)"));
            }
        }
    }
    Ok(())
}

/// A Kubernetes label key (`[prefix/]name`) and value, as `labels.Instance.Validate` checks them.
pub(crate) fn labels<'a>(
    sink: &mut Sink<'_>,
    path: &str,
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
            return Err(format!("invalid tag key {key:?}: the prefix must be a DNS subdomain"));
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
pub(crate) fn port(sink: &mut Sink<'_>, path: &str, number: u32) {
    if !(1..=65535).contains(&number) {
        sink.error(path, format!("port number {number} must be in the range 1..65535"));
    }
}

/// A percentage in `[0, 100]`.
pub(crate) fn percentage_0_100(sink: &mut Sink<'_>, path: &str, value: f64) {
    if !(0.0..=100.0).contains(&value) {
        sink.error(path, format!("percentage {value} is not in range 0..100"));
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

    /// validation_test.go `TestValidateWildcardDomain` cases.
    #[test]
    fn wildcard_domains_as_istio() {
        for ok in ["*", "*.foo.com", "*foo.com", "*-foo.com", "foo.com", "reviews", "svc-b.default.svc.cluster.local"] {
            assert!(wildcard_domain(ok).is_ok(), "{ok}");
        }
        for bad in ["", "foo.*", "*.*.foo", "foo..com", "default/baz", "foo_bar.com", "**"] {
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
