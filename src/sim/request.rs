use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use http::Request;

use crate::route::connection::Connection;
use crate::route::mesh::Mesh;
use crate::route::source::Source;
use crate::util::host::split_host_port;

/// A request that cannot be simulated: a URL that is not absolute, an invalid method or header,
/// a malformed request line, a gateway the configuration does not define. The message says what
/// is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRequest(String);

impl InvalidRequest {
    pub(super) fn new(message: String) -> Self {
        Self(message)
    }
}

/// Refuses a request sent by a gateway `mesh` does not define ([`Mesh::has_gateway`]): Istio
/// has no such gateway to send it, and [`Mesh::route`] would answer 404 for want of one.
pub(super) fn known_gateway(mesh: &Mesh, source: &Source) -> Result<(), InvalidRequest> {
    match source.gateway_name() {
        Some(gateway) if !mesh.has_gateway(gateway) => Err(InvalidRequest(format!(
            "unknown gateway {gateway:?}: the configuration has no Gateway of that namespace and name"
        ))),
        _ => Ok(()),
    }
}

/// A request to simulate and who sends it (by default a sidecar in namespace `default`).
///
/// A `tcp://host:port` URL describes an opaque TCP connection and a `tls://sni:port` URL a TLS
/// connection with that server name: [`Simulation`](crate::sim::Simulation) decides those with
/// the `tcp` and `tls` rules ([`Mesh::route_connection`](crate::Mesh::route_connection)); the
/// method and headers do not apply to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    namespace: String,
    gateway: Option<String>,
    labels: BTreeMap<String, String>,
    ip: Option<IpAddr>,
    destination_ip: Option<IpAddr>,
}

impl SimRequest {
    /// The same request sent by `other`'s caller (namespace, gateway, labels, addresses).
    pub(crate) fn with_source_of(mut self, other: &SimRequest) -> Self {
        self.namespace.clone_from(&other.namespace);
        self.gateway.clone_from(&other.gateway);
        self.labels.clone_from(&other.labels);
        self.ip = other.ip;
        self.destination_ip = other.destination_ip;
        self
    }

    /// A `GET` of `url`, which must be absolute (`http://svc-b:8080/greet?name=xx`): its
    /// authority is the host being called.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A request with any method. The URL must be absolute.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            namespace: "default".to_owned(),
            gateway: None,
            labels: BTreeMap::new(),
            ip: None,
            destination_ip: None,
        }
    }

    /// Adds a header (repeatable; repeated names are all sent).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header written `Name: value` (as `meshroute route -H` takes it).
    pub fn header_line(self, line: &str) -> Result<Self, InvalidRequest> {
        let (name, value) = line.split_once(':').ok_or_else(|| {
            InvalidRequest(format!("invalid header {line:?}: expected 'Name: value'"))
        })?;
        Ok(self.header(name.trim(), value.trim()))
    }

    /// Sent by a sidecar in `namespace` (the default: a sidecar in `default`).
    pub fn from_sidecar(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self.gateway = None;
        self
    }

    /// The calling workload's labels (for `sourceLabels` matches).
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// Sent by the gateway `namespace/name` (a bare `name` is in namespace `default`). The
    /// [`Simulation`](super::Simulation) refuses the request when its configuration has no such
    /// Gateway.
    pub fn from_gateway(mut self, name: &str) -> Self {
        let name = if name.contains('/') {
            name.to_owned()
        } else {
            format!("default/{name}")
        };
        if let Some((namespace, _)) = name.split_once('/') {
            namespace.clone_into(&mut self.namespace);
        }
        self.gateway = Some(name);
        self
    }

    /// The caller's IP address (source-IP hashing, sticky choices).
    pub fn source_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// The destination address of a connection (what `destinationSubnets` are matched on; see
    /// [`Connection::with_destination_ip`]).
    pub fn destination_ip(mut self, ip: IpAddr) -> Self {
        self.destination_ip = Some(ip);
        self
    }

    /// Parses a request line of a `meshroute simulate --requests` file (one JSON object per line):
    /// `{"method":"GET","url":"http://svc-b:8080/greet",
    /// "headers":{"x-user":"a"},"gateway":null,"sourceLabels":{},"sourceNamespace":"default",
    /// "sourceIp":null,"destinationIp":null}`; all but `url` optional (`null` = absent), unknown
    /// keys rejected. A bare gateway name is in namespace `default` (whether the configuration
    /// defines that Gateway is checked when the request is simulated). The request is checked
    /// with [`SimRequest::build`], a `tcp://` or `tls://` URL with [`SimRequest::connection`].
    pub fn from_json_line(line: &str) -> Result<Self, InvalidRequest> {
        Self::from_json_line_in(line, "default")
    }

    /// [`SimRequest::from_json_line`] with a bare gateway name in `namespace`.
    pub fn from_json_line_in(line: &str, namespace: &str) -> Result<Self, InvalidRequest> {
        Self::parse_json_line(line, namespace).map_err(InvalidRequest)
    }

    fn parse_json_line(line: &str, namespace: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
        let object = value
            .as_object()
            .ok_or("a request line must be a JSON object")?;
        let string = |key: &str| -> Result<Option<String>, String> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!("{key:?} must be a string, not {other}")),
            }
        };
        let map = |key: &str| -> Result<Vec<(String, String)>, String> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Ok(Vec::new()),
                Some(serde_json::Value::Object(entries)) => entries
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                        other => Err(format!("{key}.{k} must be a string, not {other}")),
                    })
                    .collect(),
                Some(other) => Err(format!("{key:?} must be an object, not {other}")),
            }
        };
        const KEYS: [&str; 8] = [
            "method",
            "url",
            "headers",
            "gateway",
            "sourceLabels",
            "sourceNamespace",
            "sourceIp",
            "destinationIp",
        ];
        if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "unknown key {unknown:?} (expected one of {})",
                KEYS.join(", ")
            ));
        }
        let url = string("url")?.ok_or("missing \"url\"")?;
        let method = string("method")?.unwrap_or_else(|| "GET".to_owned());
        let mut request = Self::new(method, url);
        for (name, value) in map("headers")? {
            request = request.header(name, value);
        }
        if let Some(ns) = string("sourceNamespace")? {
            request = request.from_sidecar(ns);
        }
        if let Some(gateway) = string("gateway")? {
            let name = if gateway.contains('/') {
                gateway
            } else {
                format!("{namespace}/{gateway}")
            };
            request = request.from_gateway(&name);
        }
        request = request.with_labels(map("sourceLabels")?);
        if let Some(ip) = string("sourceIp")? {
            let ip = ip
                .parse()
                .map_err(|e| format!("invalid \"sourceIp\" {ip:?}: {e}"))?;
            request = request.source_ip(ip);
        }
        if let Some(ip) = string("destinationIp")? {
            let ip = ip
                .parse()
                .map_err(|e| format!("invalid \"destinationIp\" {ip:?}: {e}"))?;
            request = request.destination_ip(ip);
        }
        match request.connection() {
            Some(connection) => connection.map(|_| ()).map_err(|e| e.0)?,
            None => request.build().map(|_| ()).map_err(|e| e.0)?,
        }
        Ok(request)
    }

    /// The connection a `tcp://host:port` or `tls://sni:port` URL describes (the port is
    /// required), with the destination address if one was given; `None` for any other URL, an
    /// error for a malformed connection URL.
    pub fn connection(&self) -> Option<Result<Connection<'_>, InvalidRequest>> {
        let url = self.url.trim();
        let scheme = url.get(..6)?;
        let tls = if scheme.eq_ignore_ascii_case("tls://") {
            true
        } else if scheme.eq_ignore_ascii_case("tcp://") {
            false
        } else {
            return None;
        };
        let authority = url.get(6..).unwrap_or("");
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        let (host, port) = split_host_port(authority);
        let connection = match port {
            Some(port) if !host.is_empty() && !host.contains(['/', '?', '#', '@']) => {
                if tls {
                    Connection::tls(host, port)
                } else {
                    Connection::tcp(host, port)
                }
            }
            _ => {
                return Some(Err(InvalidRequest(format!(
                    "invalid connection URL {url:?}: expected tcp://host:port or tls://sni:port"
                ))));
            }
        };
        Some(Ok(match self.destination_ip {
            Some(ip) => connection.with_destination_ip(ip),
            None => connection,
        }))
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers, in the order added.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Who sends the request.
    pub fn source(&self) -> Source {
        let source = match &self.gateway {
            Some(name) => Source::gateway(name),
            None => Source::sidecar(self.namespace.clone()),
        }
        .with_labels(self.labels.clone());
        match self.ip {
            Some(ip) => source.with_ip(ip),
            None => source,
        }
    }

    /// The HTTP request, or why it cannot be built (a URL that is not absolute, an invalid
    /// method or header, a `tcp://` or `tls://` URL, which is a [`SimRequest::connection`]).
    pub fn build(&self) -> Result<Request<()>, InvalidRequest> {
        if self.connection().is_some() {
            return Err(InvalidRequest(format!(
                "{} describes a connection, not an HTTP request: decide it with Mesh::route_connection (SimRequest::connection)",
                self.url
            )));
        }
        let uri: http::Uri = self
            .url
            .trim()
            .parse()
            .map_err(|e| InvalidRequest(format!("invalid URL {:?}: {e}", self.url)))?;
        if uri.authority().is_none() {
            return Err(InvalidRequest(format!(
                "the URL {:?} must be absolute (http://host[:port]/path): its authority is the host being called",
                self.url
            )));
        }
        let mut builder = Request::builder().method(self.method.as_str()).uri(uri);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(())
            .map_err(|e| InvalidRequest(format!("invalid request: {e}")))
    }
}

impl fmt::Display for SimRequest {
    /// `METHOD URL` (the URL alone for a connection) and who sends it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.connection().is_some() {
            write!(f, "{}", self.url)?;
        } else {
            write!(f, "{} {}", self.method, self.url)?;
        }
        match &self.gateway {
            Some(gateway) => write!(f, " via gateway {gateway}"),
            None => write!(f, " from a sidecar in {}", self.namespace),
        }
    }
}
