//! Validation of `Gateway` resources.
//!
//! Follows Istio's `ValidateGateway`, `validateServer`, `validateServerPort`,
//! `validateServerBind` and `validateTLSOptions` (`pkg/config/validation/validation.go`) and
//! `agent.ValidateNamespaceSlashWildcardHostname` (`pkg/config/validation/agent/validation.go`),
//! with Istio's messages.

use std::collections::BTreeSet;

use crate::compile::diagnostics::Sink;
use crate::compile::rules::{self, Protocol};
use crate::config::*;

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
    if !name.is_empty() && !rules::is_dns1123_label(name) {
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
            if namespace != "*" && namespace != "." && !rules::is_dns1123_label(namespace) {
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
        rules::wildcard_domain(dns_name).and_then(|()| rules::numeric_top_level_domain(dns_name))
    {
        if !rules::is_ip_address(dns_name) {
            errors.push(why);
        }
    }
    if let Err(why) = rules::partial_wildcard(dns_name) {
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
        rules::port(sink, &format!("{path}.number"), port.number);
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
        if let Err(why) = rules::unix_address(socket) {
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
    } else if !bind.is_empty() && !rules::is_ip_address(bind) {
        sink.error(format!("{path}.bind"), format!("{bind} is not a valid IP"));
    }
}

/// validation.go `validateTLSOptions`.
fn tls_options(sink: &mut Sink<'_>, path: &str, tls: &ServerTlsSettings) {
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

#[cfg(test)]
mod tests {
    use crate::compile::test_support::*;
    use crate::compile::{Diagnostic, check_yaml};

    /// Loads a Gateway named `name` in namespace `default` whose spec is `spec` (unindented).
    fn gateway_named(name: &str, spec: &str) -> Vec<Diagnostic> {
        let spec: String = spec.lines().map(|line| format!("  {line}\n")).collect();
        check_yaml(&format!(
            "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n{spec}"
        ))
    }

    fn gw(spec: &str) -> Vec<Diagnostic> {
        gateway_named("gw", spec)
    }

    /// One server with the given port line and extra server fields.
    fn server(port: &str, extra: &str) -> String {
        format!("servers:\n- port: {port}\n  hosts: [\"*.example.com\"]\n{extra}")
    }

    const HTTP: &str = "{number: 80, name: http, protocol: HTTP}";
    const HTTPS: &str = "{number: 443, name: https, protocol: HTTPS}";

    /// A Gateway using every field loads without a warning (nothing is unmodelled).
    #[test]
    fn every_field_is_modelled() {
        let d = gw(r#"selector: {istio: ingressgateway}
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["prod/*.example.com", "./www.example.com", "*"]
  tls: {httpsRedirect: true}
  name: plain
- port: {number: 443, name: https, protocol: HTTPS}
  bind: 0.0.0.0
  hosts: ["*.example.com", "10.0.0.1"]
  defaultEndpoint: 127.0.0.1:8080
  tls:
    mode: MUTUAL
    tlsCertificates:
    - {serverCertificate: /rsa.pem, privateKey: /rsa.key, caCertificates: /ca.pem}
    - {serverCertificate: /ec.pem, privateKey: /ec.key}
    caCertificates: /ca.pem
    caCrl: /crl.pem
    subjectAltNames: [client.example.com]
    verifyCertificateSpki: [abc]
    verifyCertificateHash: ["AB:CD"]
    minProtocolVersion: TLSV1_2
    maxProtocolVersion: TLSV1_3
    cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, "-AES128-SHA"]
- port: {number: 8443, name: creds, protocol: HTTPS}
  hosts: ["*.example.com"]
  tls: {mode: OPTIONAL_MUTUAL, credentialNames: [rsa, ecdsa], caCertCredentialName: ca}
- port: {number: 15443, name: tls, protocol: TLS}
  hosts: ["*.local"]
  tls: {mode: AUTO_PASSTHROUGH}
"#);
        assert_no_diagnostics(&d);
    }

    /// validation.go ValidateGateway: the gateway name must be a DNS-1123 label.
    #[test]
    fn gateway_name_dns1123() {
        let spec = server(HTTP, "");
        assert_error(
            &gateway_named("my.gw", &spec),
            "metadata.name",
            "invalid gateway name: \"my.gw\"",
        );
        assert_clean(&gateway_named("my-gw", &spec), "metadata.name");
    }

    /// validation.go ValidateGateway: at least one server.
    #[test]
    fn servers_required() {
        assert_error(
            &gw("selector: {app: gw}"),
            "spec.servers",
            "gateway must have at least one server",
        );
        assert_clean(&gw(&server(HTTP, "")), "spec.servers");
    }

    /// validation.go validateServer: a server needs hosts.
    #[test]
    fn server_hosts_required() {
        let d = gw(&format!("servers:\n- port: {HTTP}"));
        assert_error(
            &d,
            "spec.servers[0].hosts",
            "server config must contain at least one host",
        );
    }

    /// agent.ValidateNamespaceSlashWildcardHostname: `ns/host` parts non-empty, the namespace
    /// `*`, `.` or a label, the host an FQDN (no short names), wildcard or IP, no partial
    /// wildcards.
    #[test]
    fn server_host_format() {
        let d = gw(&format!(
            "servers:\n- port: {HTTP}\n  hosts: [\"ns_1/a.com\", \"/a.com\", reviews, \"a*.b.com\", \"*/foo.bar.com\", \"1.2.3.4\", \"~/a.com\"]"
        ));
        let p = "spec.servers[0].hosts";
        assert_error(
            &d,
            &format!("{p}[0]"),
            "invalid namespace value \"ns_1\" in gateway",
        );
        assert_error(
            &d,
            &format!("{p}[1]"),
            "config namespace and dnsName in host entry cannot be empty",
        );
        assert_error(
            &d,
            &format!("{p}[2]"),
            "short names (non FQDN) are not allowed",
        );
        assert_error(
            &d,
            &format!("{p}[3]"),
            "partial wildcard \"a*.b.com\" not allowed",
        );
        assert_clean(&d, &format!("{p}[4]"));
        assert_clean(&d, &format!("{p}[5]"));
        assert_error(
            &d,
            &format!("{p}[6]"),
            "invalid namespace value \"~\" in gateway",
        );
    }

    /// validation.go validateServerPort: the port is required.
    #[test]
    fn server_port_required() {
        let d = gw("servers:\n- hosts: [\"*\"]");
        assert_error(&d, "spec.servers[0].port", "port is required");
    }

    /// validation.go validateServerPort: the protocol must be known.
    #[test]
    fn server_port_protocol_known() {
        let d = gw(&server("{number: 80, name: http, protocol: HTTP3}", ""));
        assert_error(
            &d,
            "spec.servers[0].port.protocol",
            "invalid protocol \"HTTP3\", supported protocols are",
        );
        assert_clean(
            &gw(&server("{number: 80, name: http, protocol: grpc-web}", "")),
            "spec.servers[0].port.protocol",
        );
    }

    /// validation.go validateServerPort: the number is in 1..65535 (0 only with a unix bind).
    #[test]
    fn server_port_number_range() {
        let d = gw(&server("{number: 0, name: http, protocol: HTTP}", ""));
        assert_error(
            &d,
            "spec.servers[0].port.number",
            "port number 0 must be in the range 1..65535",
        );
        let unix = gw(&server(
            "{number: 0, name: http, protocol: HTTP}",
            "  bind: unix:///var/run/gw.sock",
        ));
        assert_clean(&unix, "spec.servers[0].port.number");
    }

    /// validation.go validateServerPort: targetPort is rejected on gateways.
    #[test]
    fn server_port_target_port_rejected() {
        let d = gw(&server(
            "{number: 80, name: http, protocol: HTTP, targetPort: 8080}",
            "",
        ));
        assert_error(
            &d,
            "spec.servers[0].port.targetPort",
            "targetPort has no impact on Gateways",
        );
    }

    /// validation.go validateServerPort: the port name is required.
    #[test]
    fn server_port_name_required() {
        let d = gw(&server("{number: 80, protocol: HTTP}", ""));
        assert_error(&d, "spec.servers[0].port.name", "port name must be set");
    }

    /// validation.go ValidateGateway: port names are unique across servers.
    #[test]
    fn port_names_unique() {
        let d = gw(&format!(
            "servers:\n- port: {HTTP}\n  hosts: [\"*\"]\n- port: {{number: 8080, name: http, protocol: HTTP}}\n  hosts: [\"*\"]"
        ));
        assert_error(
            &d,
            "spec.servers[1].port.name",
            "port names in servers must be unique: duplicate name http",
        );
        assert_clean(&d, "spec.servers[0].port.name");
    }

    /// validation.go validateServerBind: a bind is an IP or an absolute unix socket path with
    /// port 0.
    #[test]
    fn server_bind() {
        let p = "spec.servers[0].bind";
        assert_error(
            &gw(&server(HTTP, "  bind: localhost")),
            p,
            "localhost is not a valid IP",
        );
        assert_error(
            &gw(&server(
                "{number: 0, name: http, protocol: HTTP}",
                "  bind: unix://relative.sock",
            )),
            p,
            "is not an absolute path to a file",
        );
        assert_error(
            &gw(&server(HTTP, "  bind: unix:///gw.sock")),
            "spec.servers[0].port.number",
            "port number must be 0 for unix domain socket",
        );
        assert_clean(&gw(&server(HTTP, "  bind: 127.0.0.1")), p);
        assert_clean(
            &gw(&server(
                "{number: 0, name: http, protocol: HTTP}",
                "  bind: \"unix://@abstract\"",
            )),
            p,
        );
    }

    /// validation.go validateServer: HTTPS and TLS servers need TLS settings.
    #[test]
    fn tls_required_for_https() {
        assert_error(
            &gw(&server(HTTPS, "")),
            "spec.servers[0].tls",
            "server must have TLS settings for HTTPS/TLS protocols",
        );
        assert_clean(
            &gw(&server(
                HTTPS,
                "  tls: {mode: SIMPLE, credentialName: cert}",
            )),
            "spec.servers[0].tls",
        );
    }

    /// validation.go validateServer: plain HTTP servers may only carry httpsRedirect (passthrough
    /// mode, no files); other plain protocols may not carry TLS at all.
    #[test]
    fn tls_on_plain_ports() {
        assert_error(
            &gw(&server(HTTP, "  tls: {mode: SIMPLE, credentialName: cert}")),
            "spec.servers[0].tls",
            "server cannot have TLS settings for plain text HTTP ports",
        );
        assert_error(
            &gw(&server(
                "{number: 9000, name: tcp, protocol: TCP}",
                "  tls: {mode: PASSTHROUGH}",
            )),
            "spec.servers[0].tls",
            "server cannot have TLS settings for non HTTPS/TLS ports",
        );
        assert_no_diagnostics(&gw(&server(HTTP, "  tls: {httpsRedirect: true}")));
    }

    /// validation.go ValidateGateway: httpsRedirect on a non-HTTP server only warns.
    #[test]
    fn https_redirect_on_non_http_warns() {
        let d = gw(&server(
            HTTPS,
            "  tls: {httpsRedirect: true, mode: SIMPLE, credentialName: c}",
        ));
        assert_warning(
            &d,
            "spec.servers[0].tls.httpsRedirect",
            "should only be used with http servers",
        );
    }

    /// validation.go validateTLSOptions: ISTIO_MUTUAL takes no certificates of its own.
    #[test]
    fn istio_mutual_takes_no_certificates() {
        let d = gw(&server(
            HTTPS,
            "  tls: {mode: ISTIO_MUTUAL, serverCertificate: /c, privateKey: /k, caCertificates: /ca, credentialName: x}",
        ));
        let p = "spec.servers[0].tls";
        assert_error(
            &d,
            &format!("{p}.serverCertificate"),
            "ISTIO_MUTUAL TLS cannot have associated server certificate",
        );
        assert_error(
            &d,
            &format!("{p}.privateKey"),
            "cannot have associated private key",
        );
        assert_error(
            &d,
            &format!("{p}.caCertificates"),
            "cannot have associated CA bundle",
        );
        assert_error(
            &d,
            &format!("{p}.credentialName"),
            "cannot have associated credentialName",
        );
        assert_no_diagnostics(&gw(&server(HTTPS, "  tls: {mode: ISTIO_MUTUAL}")));
    }

    /// validation.go validateTLSOptions: certificates in passthrough modes are ignored (warning).
    #[test]
    fn passthrough_ignores_certificates() {
        let d = gw(&server(
            "{number: 443, name: tls, protocol: TLS}",
            "  tls: {mode: PASSTHROUGH, credentialName: c}",
        ));
        assert_warning(
            &d,
            "spec.servers[0].tls",
            "PASSTHROUGH mode does not use certificates",
        );
        assert!(!d.iter().any(Diagnostic::is_error), "{d:#?}");
    }

    /// validation.go validateTLSOptions: only one certificate source.
    #[test]
    fn one_certificate_source() {
        let d = gw(&server(
            HTTPS,
            "  tls: {mode: SIMPLE, credentialName: c, serverCertificate: /c, privateKey: /k}",
        ));
        assert_error(
            &d,
            "spec.servers[0].tls",
            "only one of credential_name, credential_names",
        );
    }

    /// validation.go validateTLSOptions: SIMPLE needs a certificate and a key; MUTUAL also a CA.
    #[test]
    fn terminating_tls_needs_files() {
        let p = "spec.servers[0].tls";
        let simple = gw(&server(HTTPS, "  tls: {mode: SIMPLE}"));
        assert_error(
            &simple,
            &format!("{p}.serverCertificate"),
            "SIMPLE TLS requires a server certificate",
        );
        assert_error(
            &simple,
            &format!("{p}.privateKey"),
            "SIMPLE TLS requires a private key",
        );
        let mutual = gw(&server(
            HTTPS,
            "  tls: {mode: MUTUAL, serverCertificate: /c, privateKey: /k}",
        ));
        assert_error(
            &mutual,
            &format!("{p}.caCertificates"),
            "MUTUAL TLS requires a client CA bundle",
        );
        assert_no_diagnostics(&gw(&server(
            HTTPS,
            "  tls: {mode: MUTUAL, serverCertificate: /c, privateKey: /k, caCertificates: /ca}",
        )));
    }

    /// validation.go validateTLSOptions: each tlsCertificates entry needs both files; more than
    /// two only warns.
    #[test]
    fn tls_certificates_entries() {
        let p = "spec.servers[0].tls.tlsCertificates";
        let d = gw(&server(
            HTTPS,
            "  tls:\n    mode: SIMPLE\n    tlsCertificates: [{serverCertificate: /a}, {privateKey: /b}, {serverCertificate: /c, privateKey: /d}]",
        ));
        assert_error(
            &d,
            &format!("{p}[0].privateKey"),
            "SIMPLE TLS requires a private key",
        );
        assert_error(
            &d,
            &format!("{p}[1].serverCertificate"),
            "SIMPLE TLS requires a server certificate",
        );
        assert_warning(&d, p, "SIMPLE TLS can support up to 2 server certificates");
        assert_clean(&d, &format!("{p}[2].serverCertificate"));
    }

    /// validation.go validateTLSOptions: a CRL cannot be used with credentialName or SIMPLE.
    #[test]
    fn crl_rules() {
        let p = "spec.servers[0].tls.caCrl";
        assert_error(
            &gw(&server(
                HTTPS,
                "  tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k, caCrl: /crl}",
            )),
            p,
            "CRL is not supported with SIMPLE TLS",
        );
        assert_error(
            &gw(&server(
                HTTPS,
                "  tls: {mode: PASSTHROUGH, credentialName: c, caCrl: /crl}",
            )),
            p,
            "CRL is not supported with credentialName",
        );
        assert_clean(
            &gw(&server(
                HTTPS,
                "  tls: {mode: MUTUAL, serverCertificate: /c, privateKey: /k, caCertificates: /ca, caCrl: /crl}",
            )),
            p,
        );
    }

    /// validation.go validateTLSOptions: unknown or repeated cipher suites warn, as does a TLS
    /// version below 1.2 without ciphers.
    #[test]
    fn cipher_suites_and_old_tls() {
        let p = "spec.servers[0].tls";
        let d = gw(&server(
            HTTPS,
            "  tls: {mode: SIMPLE, credentialName: c, cipherSuites: [FOO, AES128-SHA, AES128-SHA]}",
        ));
        assert_warning(
            &d,
            &format!("{p}.cipherSuites"),
            "ignoring invalid cipher suites: [FOO]",
        );
        assert_warning(
            &d,
            &format!("{p}.cipherSuites"),
            "ignoring duplicate cipher suites: [AES128-SHA]",
        );
        let old = gw(&server(
            HTTPS,
            "  tls: {mode: SIMPLE, credentialName: c, minProtocolVersion: TLSV1_1}",
        ));
        assert_warning(
            &old,
            &format!("{p}.minProtocolVersion"),
            "TLS version below TLSV1_2 require setting compatible ciphers",
        );
        assert!(!old.iter().any(Diagnostic::is_error), "{old:#?}");
    }
}
