//! `Gateway` (istio/api `networking/v1alpha3/gateway.proto`): a load balancer at the edge of the
//! mesh and the ports, hosts and TLS it serves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::proto_enum;

/// The `spec` of a `Gateway`: its servers and the gateway workloads it configures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    /// The listeners: port, hosts and TLS.
    #[serde(default)]
    pub servers: Vec<Server>,
    /// Labels of the gateway pods this configuration applies to.
    #[serde(default)]
    pub selector: BTreeMap<String, String>,
}

/// `Server`: one listener of a gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    /// The port the proxy listens on.
    #[serde(default)]
    pub port: Option<Port>,
    /// IP or `unix://` socket to bind to (default: all addresses).
    #[serde(default)]
    pub bind: String,
    /// Hosts exposed, as `[namespace/]dnsName` (`*`, `*.example.com`, `prod/*`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// TLS options.
    #[serde(default)]
    pub tls: Option<ServerTlsSettings>,
    /// Not implemented by Istio.
    #[serde(default)]
    pub default_endpoint: String,
    /// Optional name of the server (used in stats).
    #[serde(default)]
    pub name: String,
}

/// `Port`: a port of a gateway server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Port number.
    #[serde(default)]
    pub number: u32,
    /// `HTTP`, `HTTPS`, `GRPC`, `GRPC-WEB`, `HTTP2`, `MONGO`, `REDIS`, `MYSQL`, `TCP` or `TLS`.
    #[serde(default)]
    pub protocol: String,
    /// Port name (required, unique across the gateway's servers).
    #[serde(default)]
    pub name: String,
    /// Deprecated and rejected on gateways.
    #[serde(default)]
    pub target_port: Option<u32>,
}

/// `ServerTLSSettings`: TLS termination, passthrough or redirect for a server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTlsSettings {
    /// Answer plain HTTP with a 301 redirect to HTTPS.
    #[serde(default)]
    pub https_redirect: bool,
    /// How TLS is handled.
    #[serde(default)]
    pub mode: ServerTlsMode,
    /// Server certificate file.
    #[serde(default)]
    pub server_certificate: String,
    /// Server private key file.
    #[serde(default)]
    pub private_key: String,
    /// CA bundle to verify client certificates (MUTUAL, OPTIONAL_MUTUAL).
    #[serde(default)]
    pub ca_certificates: String,
    /// Certificate revocation list file.
    #[serde(default)]
    pub ca_crl: String,
    /// Secret holding the server certificate, key and optionally the CA.
    #[serde(default)]
    pub credential_name: String,
    /// Several secrets (for example RSA and ECDSA certificates for the same server).
    #[serde(default)]
    pub credential_names: Vec<String>,
    /// Secret or config map with the CA used for client certificates (MUTUAL).
    #[serde(default)]
    pub ca_cert_credential_name: String,
    /// Several certificate/key file pairs.
    #[serde(default)]
    pub tls_certificates: Vec<TlsCertificate>,
    /// Names accepted in the client certificate's SAN.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// Base64 SHA-256 hashes of authorized client certificates' SPKIs.
    #[serde(default)]
    pub verify_certificate_spki: Vec<String>,
    /// Hex SHA-256 hashes of authorized client certificates.
    #[serde(default)]
    pub verify_certificate_hash: Vec<String>,
    /// Minimum TLS version.
    #[serde(default)]
    pub min_protocol_version: TlsProtocol,
    /// Maximum TLS version.
    #[serde(default)]
    pub max_protocol_version: TlsProtocol,
    /// Allowed cipher suites (default: Envoy's list).
    #[serde(default)]
    pub cipher_suites: Vec<String>,
}

/// `ServerTLSSettings.TLSCertificate`: one certificate/key pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsCertificate {
    /// Server certificate file.
    #[serde(default)]
    pub server_certificate: String,
    /// Private key file.
    #[serde(default)]
    pub private_key: String,
    /// CA bundle to verify client certificates.
    #[serde(default)]
    pub ca_certificates: String,
}

proto_enum! {
    /// `ServerTLSSettings.TLSmode`.
    pub enum ServerTlsMode {
        /// Forward the connection as is, routed by SNI.
        #[default]
        Passthrough = (0, "PASSTHROUGH"),
        /// Terminate TLS.
        Simple = (1, "SIMPLE"),
        /// Terminate mutual TLS.
        Mutual = (2, "MUTUAL"),
        /// Passthrough where the SNI names the destination cluster (multi-network).
        AutoPassthrough = (3, "AUTO_PASSTHROUGH"),
        /// Mutual TLS with Istio's workload certificates.
        IstioMutual = (4, "ISTIO_MUTUAL"),
        /// Mutual TLS when the client presents a certificate, simple TLS otherwise.
        OptionalMutual = (5, "OPTIONAL_MUTUAL"),
    }
}

proto_enum! {
    /// `ServerTLSSettings.TLSProtocol`.
    pub enum TlsProtocol {
        /// Let Envoy choose.
        #[default]
        TlsAuto = (0, "TLS_AUTO"),
        /// TLS 1.0.
        Tlsv1_0 = (1, "TLSV1_0"),
        /// TLS 1.1.
        Tlsv1_1 = (2, "TLSV1_1"),
        /// TLS 1.2.
        Tlsv1_2 = (3, "TLSV1_2"),
        /// TLS 1.3.
        Tlsv1_3 = (4, "TLSV1_3"),
    }
}
