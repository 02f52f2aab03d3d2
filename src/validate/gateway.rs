//! Validation of `Gateway` resources.
//!
//! Follows Istio's `ValidateGateway`, `validateServer`, `validateServerPort`,
//! `validateServerBind` and `validateTLSOptions` (`pkg/config/validation/validation.go`) and
//! `agent.ValidateNamespaceSlashWildcardHostname` (`pkg/config/validation/agent/validation.go`),
//! with Istio's messages.

use std::collections::BTreeSet;

use super::common;
use super::sink::Sink;
use crate::config::*;
use crate::util::protocol::Protocol;

/// Cipher suites a gateway accepts (`pkg/config/security` `ValidCipherSuites`: BoringSSL's list
/// without PSK suites).
const VALID_CIPHER_SUITES: [&str; 15] = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-SHA",
    "AES256-SHA",
    "DES-CBC3-SHA",
];

pub(crate) fn validate(sink: &mut Sink<'_>, spec: &Gateway) {
    let name = sink.resource().name();
    if !name.is_empty() && !common::is_dns1123_label(name) {
        sink.error(
            "metadata.name",
            format!(
                "invalid gateway name: {name:?} (a gateway name is a DNS-1123 label: letters, digits and '-', no dots)"
            ),
        );
    }
    if spec.servers.is_empty() {
        sink.error("spec.servers", "gateway must have at least one server");
    }
    let mut port_names = BTreeSet::new();
    for (i, server) in spec.servers.iter().enumerate() {
        let path = format!("spec.servers[{i}]");
        validate_server(sink, &path, server);
        if let Some(port) = &server.port {
            if !port_names.insert(port.name.as_str()) {
                sink.error(
                    format!("{path}.port.name"),
                    format!(
                        "port names in servers must be unique: duplicate name {}",
                        port.name
                    ),
                );
            }
            let https_redirect = server.tls.as_ref().is_some_and(|tls| tls.https_redirect);
            if https_redirect && !Protocol::parse(&port.protocol).is_http() {
                sink.warn(
                    format!("{path}.tls.httpsRedirect"),
                    "tls.httpsRedirect should only be used with http servers",
                );
            }
        }
    }
}

/// validation.go `validateServer`.
fn validate_server(sink: &mut Sink<'_>, path: &str, server: &Server) {
    if server.hosts.is_empty() {
        sink.error(
            format!("{path}.hosts"),
            "server config must contain at least one host",
        );
    }
    for (j, host) in server.hosts.iter().enumerate() {
        for why in namespace_slash_hostname(host) {
            sink.error(format!("{path}.hosts[{j}]"), why);
        }
    }
    let port_valid = match &server.port {
        None => {
            sink.error(format!("{path}.port"), "port is required");
            false
        }
        Some(port) => server_port(sink, &format!("{path}.port"), port, &server.bind),
    };
    server_bind(sink, path, server);
    if let Some(tls) = &server.tls {
        tls_options(sink, &format!("{path}.tls"), tls);
    }
    let Some(port) = server.port.as_ref().filter(|_| port_valid) else {
        return;
    };
    let protocol = Protocol::parse(&port.protocol);
    match &server.tls {
        None if protocol.is_tls() => sink.error(
            format!("{path}.tls"),
            "server must have TLS settings for HTTPS/TLS protocols",
        ),
        Some(tls) if !protocol.is_tls() => {
            if protocol.is_http() {
                let passthrough = matches!(
                    tls.mode,
                    ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
                );
                if !passthrough
                    || !tls.ca_certificates.is_empty()
                    || !tls.private_key.is_empty()
                    || !tls.server_certificate.is_empty()
                {
                    sink.error(
                        format!("{path}.tls"),
                        "server cannot have TLS settings for plain text HTTP ports",
                    );
                }
            } else {
                sink.error(
                    format!("{path}.tls"),
                    "server cannot have TLS settings for non HTTPS/TLS ports",
                );
            }
        }
        _ => {}
    }
}

/// agent/validation.go `ValidateNamespaceSlashWildcardHostname` for gateways: `ns/host` or a
/// bare host, where the host is `*`, a (wildcard) FQDN or an IP.
fn namespace_slash_hostname(host: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let dns_name = match host.split_once('/') {
        None => host,
        Some((namespace, dns_name)) => {
            if namespace.is_empty() || dns_name.is_empty() {
                errors
                    .push("config namespace and dnsName in host entry cannot be empty".to_owned());
            }
            if namespace != "*" && namespace != "." && !common::is_dns1123_label(namespace) {
                errors.push(format!("invalid namespace value {namespace:?} in gateway"));
            }
            dns_name
        }
    };
    if dns_name != "*" && !dns_name.contains('.') {
        errors.push(format!(
            "short names (non FQDN) are not allowed: use a fully qualified name such as {dns_name}.example.com, or a wildcard"
        ));
    }
    if let Err(why) =
        common::wildcard_domain(dns_name).and_then(|()| common::numeric_top_level_domain(dns_name))
    {
        if !common::is_ip_address(dns_name) {
            errors.push(why);
        }
    }
    if let Err(why) = common::partial_wildcard(dns_name) {
        errors.push(why);
    }
    errors
}

/// validation.go `validateServerPort`. Returns whether the port is valid.
fn server_port(sink: &mut Sink<'_>, path: &str, port: &Port, bind: &str) -> bool {
    let mut valid = true;
    if Protocol::parse(&port.protocol) == Protocol::Unsupported {
        sink.error(
            format!("{path}.protocol"),
            format!(
                "invalid protocol {:?}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP",
                port.protocol
            ),
        );
        valid = false;
    }
    if (port.number > 0 || !bind.starts_with("unix://")) && !(1..=65535).contains(&port.number) {
        common::port(sink, &format!("{path}.number"), port.number);
        valid = false;
    }
    if port.target_port.is_some_and(|p| p > 0) {
        sink.error(
            format!("{path}.targetPort"),
            "targetPort has no impact on Gateways",
        );
        valid = false;
    }
    if port.name.is_empty() {
        sink.error(
            format!("{path}.name"),
            format!("port name must be set: number:{}", port.number),
        );
        valid = false;
    }
    valid
}

/// validation.go `validateServerBind`.
fn server_bind(sink: &mut Sink<'_>, path: &str, server: &Server) {
    let bind = &server.bind;
    if let Some(socket) = bind.strip_prefix("unix://") {
        if let Err(why) = common::unix_address(socket) {
            sink.error(format!("{path}.bind"), why);
        }
        if let Some(port) = server.port.as_ref().filter(|p| p.number != 0) {
            sink.error(
                format!("{path}.port.number"),
                format!(
                    "port number must be 0 for unix domain socket: number:{}",
                    port.number
                ),
            );
        }
    } else if !bind.is_empty() && !common::is_ip_address(bind) {
        sink.error(format!("{path}.bind"), format!("{bind} is not a valid IP"));
    }
}

/// validation.go `validateTLSOptions`.
pub(super) fn tls_options(sink: &mut Sink<'_>, path: &str, tls: &ServerTlsSettings) {
    if matches!(
        tls.min_protocol_version,
        TlsProtocol::Tlsv1_0 | TlsProtocol::Tlsv1_1
    ) && tls.cipher_suites.is_empty()
    {
        sink.warn(
            format!("{path}.minProtocolVersion"),
            "TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers",
        );
    }
    let mut invalid = BTreeSet::new();
    let mut valid = BTreeSet::new();
    let mut duplicate = BTreeSet::new();
    for suite in &tls.cipher_suites {
        if !valid_cipher_suite(suite) {
            invalid.insert(suite.as_str());
        } else if !valid.insert(suite.as_str()) {
            duplicate.insert(suite.as_str());
        }
    }
    if !invalid.is_empty() {
        sink.warn(
            format!("{path}.cipherSuites"),
            format!("ignoring invalid cipher suites: {}", go_list(&invalid)),
        );
    }
    if !duplicate.is_empty() {
        sink.warn(
            format!("{path}.cipherSuites"),
            format!("ignoring duplicate cipher suites: {}", go_list(&duplicate)),
        );
    }

    if tls.mode == ServerTlsMode::IstioMutual {
        let fields = [
            (
                "serverCertificate",
                !tls.server_certificate.is_empty(),
                "ISTIO_MUTUAL TLS cannot have associated server certificate",
            ),
            (
                "privateKey",
                !tls.private_key.is_empty(),
                "ISTIO_MUTUAL TLS cannot have associated private key",
            ),
            (
                "caCertificates",
                !tls.ca_certificates.is_empty(),
                "ISTIO_MUTUAL TLS cannot have associated CA bundle",
            ),
            (
                "tlsCertificates",
                !tls.tls_certificates.is_empty(),
                "ISTIO_MUTUAL TLS cannot have associated tlsCertificates",
            ),
            (
                "credentialName",
                !tls.credential_name.is_empty(),
                "ISTIO_MUTUAL TLS cannot have associated credentialName",
            ),
            (
                "credentialNames",
                !tls.credential_names.is_empty(),
                "ISTIO_MUTUAL TLS cannot have associated credentialNames",
            ),
        ];
        for (field, set, message) in fields {
            if set {
                sink.error(format!("{path}.{field}"), message);
            }
        }
        return;
    }

    let has_credential = !tls.credential_name.is_empty() || !tls.credential_names.is_empty();
    if matches!(
        tls.mode,
        ServerTlsMode::Passthrough | ServerTlsMode::AutoPassthrough
    ) && (!tls.ca_crl.is_empty()
        || !tls.server_certificate.is_empty()
        || !tls.private_key.is_empty()
        || !tls.ca_certificates.is_empty()
        || !tls.tls_certificates.is_empty()
        || has_credential)
    {
        sink.warn(
            path,
            format!(
                "{} mode does not use certificates, they will be ignored",
                tls.mode
            ),
        );
    }

    let sources = [
        !tls.server_certificate.is_empty() && !tls.private_key.is_empty(),
        !tls.credential_name.is_empty(),
        !tls.credential_names.is_empty(),
        !tls.tls_certificates.is_empty(),
    ];
    if sources.iter().filter(|set| **set).count() > 1 {
        sink.error(
            path,
            "only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified",
        );
    }

    let terminating = matches!(
        tls.mode,
        ServerTlsMode::Simple | ServerTlsMode::Mutual | ServerTlsMode::OptionalMutual
    );
    if terminating && has_credential {
        // Credentials are fetched remotely; no file is required.
        return;
    }
    if terminating {
        let mutual = tls.mode != ServerTlsMode::Simple;
        let prefix = if mutual { "MUTUAL TLS" } else { "SIMPLE TLS" };
        if mutual && tls.ca_certificates.is_empty() && tls.ca_cert_credential_name.is_empty() {
            sink.error(
                format!("{path}.caCertificates"),
                format!("{prefix} requires a client CA bundle"),
            );
        }
        if tls.tls_certificates.len() > 2 {
            sink.warn(
                format!("{path}.tlsCertificates"),
                format!("{prefix} can support up to 2 server certificates"),
            );
        }
        if tls.tls_certificates.is_empty() {
            if tls.server_certificate.is_empty() {
                sink.error(
                    format!("{path}.serverCertificate"),
                    format!("{prefix} requires a server certificate"),
                );
            }
            if tls.private_key.is_empty() {
                sink.error(
                    format!("{path}.privateKey"),
                    format!("{prefix} requires a private key"),
                );
            }
        }
        for (i, certificate) in tls.tls_certificates.iter().enumerate() {
            if certificate.server_certificate.is_empty() {
                sink.error(
                    format!("{path}.tlsCertificates[{i}].serverCertificate"),
                    format!("{prefix} requires a server certificate"),
                );
            }
            if certificate.private_key.is_empty() {
                sink.error(
                    format!("{path}.tlsCertificates[{i}].privateKey"),
                    format!("{prefix} requires a private key"),
                );
            }
        }
    }
    if !tls.ca_crl.is_empty() {
        if !tls.credential_name.is_empty() {
            sink.error(
                format!("{path}.caCrl"),
                "CRL is not supported with credentialName. CRL has to be specified in the credential",
            );
        }
        if tls.mode == ServerTlsMode::Simple {
            sink.error(
                format!("{path}.caCrl"),
                "CRL is not supported with SIMPLE TLS",
            );
        }
    }
}

/// `security.IsValidCipherSuite`: empty, `ALL`, an expression starting with an operator
/// (`-`, `+`, `!`, `[`), or one of the known suites.
fn valid_cipher_suite(suite: &str) -> bool {
    match suite.chars().next() {
        None => true,
        _ if suite == "ALL" => true,
        Some(first) if !first.is_alphanumeric() => true,
        Some(_) => VALID_CIPHER_SUITES.contains(&suite),
    }
}

/// Formats a set the way Go prints a `[]string` (`[a b]`).
fn go_list(items: &BTreeSet<&str>) -> String {
    let joined: Vec<&str> = items.iter().copied().collect();
    format!("[{}]", joined.join(" "))
}
