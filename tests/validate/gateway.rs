//! Gateway validation, rule by rule, against Istio's `ValidateGateway` (`pkg/config/validation` in
//! istio/istio).

use crate::common::*;
use meshroute::Diagnostic;

/// Loads a Gateway named `name` in namespace `default` whose spec is `spec` (unindented).
fn gateway_named(name: &str, spec: &str) -> Vec<Diagnostic> {
    diagnostics(&resource("Gateway", name, "", spec))
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
