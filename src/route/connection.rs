//! A TCP connection to decide with a VirtualService's `tcp` and `tls` rules, and what the mesh
//! decided for it ([`Mesh::route_connection`](crate::Mesh::route_connection)).

use std::fmt;
use std::net::IpAddr;

use super::cluster::NoEndpoint;
use super::decision::{DestinationRef, Outcome, PickedEndpoint, RouteKind, RuleRef};
use crate::balance::endpoint::Endpoint;

/// A TCP connection a sidecar or gateway receives: where it goes and, for TLS, the server name
/// (SNI) of its ClientHello. The bytes are opaque: a connection never matches `http` rules.
///
/// ```
/// let tcp = meshroute::Connection::tcp("postgres", 5432);
/// let tls = meshroute::Connection::tls("api.example.com", 443);
/// assert_eq!(tls.host(), "api.example.com");
/// assert_eq!(tls.to_string(), "tls://api.example.com:443");
/// assert_eq!(tcp.sni(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    host: &'a str,
    port: u16,
    sni: Option<&'a str>,
    destination_ip: Option<IpAddr>,
}

impl<'a> Connection<'a> {
    /// Opaque TCP (no TLS handshake) to `host` (a name, resolved as [`Mesh`](crate::Mesh)
    /// resolves hosts, or an address) on `port`.
    pub fn tcp(host: &'a str, port: u16) -> Self {
        Self {
            host,
            port,
            sni: None,
            destination_ip: None,
        }
    }

    /// TLS with server name `sni` on `port`, sent to the host the SNI names (change it with
    /// [`Connection::to_host`]).
    pub fn tls(sni: &'a str, port: u16) -> Self {
        Self {
            host: sni,
            port,
            sni: Some(sni),
            destination_ip: None,
        }
    }

    /// Sends the connection to `host` (a name or an address) instead, keeping the SNI.
    pub fn to_host(mut self, host: &'a str) -> Self {
        self.host = host;
        self
    }

    /// The destination address Envoy sees, which `destinationSubnets` are matched on. Without
    /// it, an address the host is given as, or the service's own address (a Kubernetes cluster
    /// IP, a ServiceEntry address) is used.
    pub fn with_destination_ip(mut self, ip: IpAddr) -> Self {
        self.destination_ip = Some(ip);
        self
    }

    /// The host connected to.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The destination port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS server name, for a TLS connection.
    pub fn sni(&self) -> Option<&'a str> {
        self.sni
    }

    /// The destination address, when given.
    pub fn destination_ip(&self) -> Option<IpAddr> {
        self.destination_ip
    }
}

impl fmt::Display for Connection<'_> {
    /// `tcp://host:port` or `tls://sni:port` (with ` to host` when it differs from the SNI).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sni {
            Some(sni) => {
                write!(f, "tls://{sni}:{}", self.port)?;
                if sni != self.host {
                    write!(f, " to {}", self.host)?;
                }
                Ok(())
            }
            None => write!(f, "tcp://{}:{}", self.host, self.port),
        }
    }
}

/// What the mesh decided for one connection: which filter chain carries it, from which rule list
/// (`tcp` or `tls`) and VirtualService, the destination the weighted choice picked (once per
/// connection) and the endpoint its load balancer picked.
///
/// Borrowed from the `Mesh` and the [`Connection`]; producing it allocates nothing.
#[derive(Debug, Clone)]
pub struct ConnectionDecision<'a> {
    pub(crate) outcome: Outcome,
    pub(crate) kind: Option<RouteKind>,
    pub(crate) virtual_service: Option<&'a str>,
    pub(crate) route: Option<usize>,
    pub(crate) matched: Option<usize>,
    pub(crate) destination: Option<DestinationRef<'a>>,
    pub(crate) endpoint: Option<PickedEndpoint<'a>>,
    pub(crate) no_endpoint: Option<NoEndpoint>,
}

impl<'a> ConnectionDecision<'a> {
    pub(crate) fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            kind: None,
            virtual_service: None,
            route: None,
            matched: None,
            destination: None,
            endpoint: None,
            no_endpoint: None,
        }
    }

    /// The kind of answer: [`Outcome::Route`] (a rule, or an `AUTO_PASSTHROUGH` cluster),
    /// [`Outcome::NoVirtualService`] (the service's own chain), [`Outcome::Passthrough`],
    /// [`Outcome::Closed`] or [`Outcome::Http`].
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The rule list the rule that fired comes from: [`RouteKind::Tcp`] or [`RouteKind::Tls`].
    pub fn kind(&self) -> Option<RouteKind> {
        self.kind
    }

    /// The VirtualService whose rule fired (`namespace/name`).
    pub fn virtual_service(&self) -> Option<&'a str> {
        self.virtual_service
    }

    /// The rule that fired: its index in `spec.tcp` or `spec.tls` (TCP and TLS rules have no
    /// names).
    pub fn route(&self) -> Option<RuleRef<'a>> {
        self.route.map(|index| RuleRef { index, name: None })
    }

    /// The match of the rule that holds; `None` for a rule without matches.
    pub fn matched(&self) -> Option<RuleRef<'a>> {
        self.matched.map(|index| RuleRef { index, name: None })
    }

    /// Where the connection goes (for [`Outcome::Route`] and [`Outcome::NoVirtualService`]).
    pub fn destination(&self) -> Option<DestinationRef<'a>> {
        self.destination
    }

    /// The endpoint the destination's load balancer picked, when its endpoints are known.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        let picked = self.endpoint.as_ref()?;
        picked.state.endpoints().get(picked.index)
    }

    /// Why no endpoint was picked although the destination's endpoints are known.
    pub fn no_endpoint(&self) -> Option<NoEndpoint> {
        self.no_endpoint
    }
}
