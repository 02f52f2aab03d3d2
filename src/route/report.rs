//! A decision as data: the `meshroute route --json` contract, typed.
//!
//! [`DecisionReport`] owns its values, so it outlives the request and the mesh, compares with
//! `==`, serializes to the decision JSON (every key present, `null` where it does not apply)
//! and reads back from it.

use serde::{Deserialize, Serialize};
#[cfg(feature = "yaml")]
use std::fmt::Write as _;

use super::connection::ConnectionDecision;
use super::decision::{Decision, RouteKind, RuleRef};
use super::policy::{Abort, HeaderOps};
use crate::util::duration::seconds;

/// Everything a [`Decision`] says, owned: what `meshroute route --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DecisionReport {
    /// `route`, `redirect`, `directResponse`, `noRoute` or `noVirtualService`; for a connection
    /// also `passthrough`, `closed` or `http`.
    pub action: String,
    /// The VirtualService that decided (`namespace/name`).
    pub virtual_service: Option<String>,
    /// The route that fired, with the rule list it is in.
    pub route: Option<RouteReport>,
    /// The match that fired (within the route).
    #[serde(rename = "match")]
    pub matched: Option<RuleReport>,
    /// Where the request goes.
    pub destination: Option<DestinationReport>,
    /// The endpoint the destination's load balancer picked.
    pub endpoint: Option<EndpointReport>,
    /// The redirect Envoy answers with.
    pub redirect: Option<RedirectReport>,
    /// The direct response Envoy answers with.
    pub direct_response: Option<DirectResponseReport>,
    /// Header operations (`null` when there are none in either direction).
    pub headers: Option<HeadersReport>,
    /// The rewritten path (and query) and authority.
    pub rewrite: Option<RewriteReport>,
    /// The route timeout (`1.5s`).
    pub timeout: Option<String>,
    /// The retry policy Envoy applies.
    pub retries: Option<RetriesReport>,
    /// Fault injection.
    pub fault: Option<FaultReport>,
    /// Mirrors (shadow traffic).
    pub mirrors: Vec<MirrorReport>,
    /// The status Envoy answers with itself (404, 503, a redirect or direct response status).
    pub local_status: Option<u16>,
    /// The route's sticky choice (`meshroute.dev/sticky-key`): absent unless the route has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<StickyReport>,
}

/// A sticky weighted choice: the key it reads and the user's bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StickyReport {
    /// The key, as the annotation writes it (`header:x-user-id`).
    pub key: String,
    /// The user's bucket, of `buckets`; `null` when the request had no key (a random choice).
    pub bucket: Option<u32>,
    /// The size of the bucket space (2^20).
    pub buckets: u32,
}

/// The route that fired: its rule list, index and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteReport {
    /// `http`, `tcp` or `tls`: the rule list (`spec.http`, `spec.tcp`, `spec.tls`).
    pub kind: String,
    /// Zero-based index in that list.
    pub index: usize,
    /// The `name` field (HTTP routes only).
    pub name: Option<String>,
}

/// A route or match: its index and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleReport {
    /// Zero-based index in `match`.
    pub index: usize,
    /// The `name` field.
    pub name: Option<String>,
}

/// The destination of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DestinationReport {
    /// The fully qualified host.
    pub host: String,
    /// The subset.
    pub subset: Option<String>,
    /// The port.
    pub port: Option<u16>,
}

/// The endpoint picked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EndpointReport {
    /// `ip:port`.
    pub address: String,
}

/// A redirect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RedirectReport {
    /// The status (301 unless configured).
    pub status: Option<u16>,
    /// The `Location`.
    pub location: String,
}

/// A direct response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectResponseReport {
    /// The status.
    pub status: u16,
    /// The body (invalid UTF-8 replaced).
    pub body: Option<String>,
}

/// Header operations in both directions, in Envoy's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HeadersReport {
    /// On the request.
    pub request: Vec<HeaderOpReport>,
    /// On the response.
    pub response: Vec<HeaderOpReport>,
}

/// One header operation: `remove`, `set` or `add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HeaderOpReport {
    /// `remove`, `set` or `add`.
    pub op: String,
    /// The header name.
    pub name: String,
    /// The value (not for `remove`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A rewrite of the forwarded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RewriteReport {
    /// The new path and query.
    pub uri: Option<String>,
    /// The new authority.
    pub authority: Option<String>,
}

/// The retry policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RetriesReport {
    /// Number of retries.
    pub attempts: u32,
    /// Envoy's `retry_on`.
    pub retry_on: String,
    /// Retried status codes.
    pub retriable_status_codes: Vec<u16>,
    /// Timeout per attempt.
    pub per_try_timeout: Option<String>,
    /// Whether hosts already tried are avoided.
    pub retry_ignore_previous_hosts: bool,
    /// Whether other localities are tried.
    pub retry_remote_localities: bool,
    /// Base back-off interval.
    pub backoff: Option<String>,
}

/// Fault injection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultReport {
    /// The injected delay.
    pub delay: Option<DelayReport>,
    /// The injected abort.
    pub abort: Option<AbortReport>,
}

/// An injected delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DelayReport {
    /// The delay.
    pub fixed_delay: String,
    /// The share of requests delayed, in percent.
    pub percentage: f64,
}

/// An injected abort: an HTTP status or a gRPC status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AbortReport {
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The gRPC status name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<String>,
    /// The share of requests aborted, in percent.
    pub percentage: f64,
}

/// A mirror.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MirrorReport {
    /// The fully qualified host.
    pub host: String,
    /// The subset.
    pub subset: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The share mirrored, in percent.
    pub percentage: f64,
}

fn route_report(kind: RouteKind, r: RuleRef<'_>) -> RouteReport {
    RouteReport {
        kind: kind.as_str().to_owned(),
        index: r.index,
        name: r.name.map(str::to_owned),
    }
}

fn rule(r: RuleRef<'_>) -> RuleReport {
    RuleReport {
        index: r.index,
        name: r.name.map(str::to_owned),
    }
}

fn ops(ops: &HeaderOps) -> Vec<HeaderOpReport> {
    let removed = ops.remove.iter().map(|name| HeaderOpReport {
        op: "remove".to_owned(),
        name: name.as_str().to_owned(),
        value: None,
    });
    let changed = ops.ops.iter().map(|op| HeaderOpReport {
        op: if op.append { "add" } else { "set" }.to_owned(),
        name: op.name.as_str().to_owned(),
        value: Some(String::from_utf8_lossy(op.value.as_bytes()).into_owned()),
    });
    removed.chain(changed).collect()
}

impl Decision<'_> {
    /// The decision as an owned report (the `meshroute route --json` contract). Allocates.
    pub fn report(&self) -> DecisionReport {
        let request_ops = self.request_headers();
        let response_ops = self.response_headers();
        let headers =
            (!request_ops.is_empty() || !response_ops.is_empty()).then(|| HeadersReport {
                request: ops(request_ops),
                response: ops(response_ops),
            });
        let uri = self.rewritten_path_and_query();
        let authority = self.authority_rewrite().map(str::to_owned);
        let rewrite =
            (uri.is_some() || authority.is_some()).then_some(RewriteReport { uri, authority });
        DecisionReport {
            action: self.outcome().as_str().to_owned(),
            virtual_service: self.virtual_service().map(str::to_owned),
            route: self.route().map(|r| route_report(RouteKind::Http, r)),
            matched: self.matched().map(rule),
            destination: self.destination().map(|d| DestinationReport {
                host: d.host.to_owned(),
                subset: d.subset.map(str::to_owned),
                port: d.port,
            }),
            endpoint: self.endpoint().map(|e| EndpointReport {
                address: e.address.clone(),
            }),
            redirect: self.redirect_location().map(|location| RedirectReport {
                status: self.redirect_status(),
                location,
            }),
            direct_response: self.direct_response().map(|r| DirectResponseReport {
                status: r.status().as_u16(),
                body: r.body().map(|b| String::from_utf8_lossy(b).into_owned()),
            }),
            headers,
            rewrite,
            timeout: self.timeout().map(seconds),
            retries: self.retries().map(|r| RetriesReport {
                attempts: r.attempts,
                retry_on: r.retry_on.clone(),
                retriable_status_codes: r.retriable_status_codes.clone(),
                per_try_timeout: r.per_try_timeout.map(seconds),
                retry_ignore_previous_hosts: r.retry_ignore_previous_hosts,
                retry_remote_localities: r.retry_remote_localities,
                backoff: r.backoff.map(seconds),
            }),
            fault: self.fault().map(|f| FaultReport {
                delay: f.delay.map(|(d, percentage)| DelayReport {
                    fixed_delay: seconds(d),
                    percentage,
                }),
                abort: f.abort.as_ref().map(|(a, percentage)| AbortReport {
                    http_status: match a {
                        Abort::Http(status) => Some(*status),
                        Abort::Grpc(_) => None,
                    },
                    grpc_status: match a {
                        Abort::Grpc(status) => Some(status.clone()),
                        Abort::Http(_) => None,
                    },
                    percentage: *percentage,
                }),
            }),
            mirrors: self
                .mirrors()
                .iter()
                .map(|m| MirrorReport {
                    host: m.host.clone(),
                    subset: m.subset.clone(),
                    port: m.port,
                    percentage: m.percentage,
                })
                .collect(),
            local_status: self.local_status().map(|s| s.as_u16()),
            sticky: self.sticky_key().map(|key| StickyReport {
                key: key.to_owned(),
                bucket: self.sticky_bucket(),
                buckets: super::choice::BUCKETS,
            }),
        }
    }
}

impl ConnectionDecision<'_> {
    /// The decision as an owned report, in the shape of an HTTP decision's (the
    /// `meshroute route --json` contract): the HTTP-only keys are `null` (or empty). Allocates.
    pub fn report(&self) -> DecisionReport {
        let kind = self.kind().unwrap_or(RouteKind::Tcp);
        DecisionReport {
            action: self.outcome().as_str().to_owned(),
            virtual_service: self.virtual_service().map(str::to_owned),
            route: self.route().map(|r| route_report(kind, r)),
            matched: self.matched().map(rule),
            destination: self.destination().map(|d| DestinationReport {
                host: d.host.to_owned(),
                subset: d.subset.map(str::to_owned),
                port: d.port,
            }),
            endpoint: self.endpoint().map(|e| EndpointReport {
                address: e.address.clone(),
            }),
            redirect: None,
            direct_response: None,
            headers: None,
            rewrite: None,
            timeout: None,
            retries: None,
            fault: None,
            mirrors: Vec::new(),
            local_status: None,
            sticky: None,
        }
    }
}

#[cfg(feature = "yaml")]
impl DecisionReport {
    /// `VirtualService default/svc-b http[1].match[0]` (with route and match names when set), or
    /// what answered without a route.
    pub(crate) fn route_name(&self) -> String {
        let d = self;
        let named =
            |name: &Option<String>| name.as_ref().map(|n| format!(" {n:?}")).unwrap_or_default();
        match (&d.virtual_service, &d.route) {
            (Some(vs), Some(route)) => {
                let mut text = format!(
                    "VirtualService {vs} {}[{}]{}",
                    route.kind,
                    route.index,
                    named(&route.name)
                );
                if let Some(m) = &d.matched {
                    let _ = write!(text, " match[{}]{}", m.index, named(&m.name));
                }
                text
            }
            (Some(vs), None) => format!("VirtualService {vs} ({})", d.action),
            (None, _) => format!("no VirtualService ({})", d.action),
        }
    }
}
