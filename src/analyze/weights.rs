//! MR003: destinations that get no traffic: weight 0 (or none) beside other destinations, or
//! two destinations of one route naming the same cluster.

use crate::config::{Destination, VirtualService};
use crate::diagnostic::Code;
use crate::util::host;
use crate::validate::sink::Sink;

fn describe_destination(d: &Destination) -> String {
    let mut text = d.host.clone();
    if !d.subset.is_empty() {
        text.push_str(&format!(" subset {}", d.subset));
    }
    if let Some(port) = &d.port {
        text.push_str(&format!(" port {}", port.number));
    }
    text
}

/// MR003: in a route with several destinations, a destination with weight 0 (or none), which
/// Istio leaves out of the weighted clusters — unless a progressive-delivery controller sets
/// the weights (`managed`); and two destinations naming the same cluster.
pub(crate) fn idle_destinations(sink: &mut Sink<'_>, vs: &VirtualService, managed: bool) {
    let namespace = sink.resource().namespace().to_owned();
    for (i, route) in vs.http.iter().enumerate() {
        let count = route.route.len();
        if count < 2 {
            continue;
        }
        let total: i64 = route
            .route
            .iter()
            .map(|d| i64::from(d.weight.unwrap_or(0).max(0)))
            .sum();
        if total == 0 {
            // Istio rejects it: `total destination weight = 0`.
            continue;
        }
        for (j, dest) in route.route.iter().enumerate() {
            if managed {
                break;
            }
            let Some(d) = &dest.destination else { continue };
            let name = describe_destination(d);
            match dest.weight {
                Some(0) => sink.analysis(
                    Code::DestinationWithoutTraffic,
                    format!("spec.http[{i}].route[{j}].weight"),
                    format!(
                        "destination {name} gets no traffic: with weight 0 in a route with {count} destinations the route sends it 0%; give it a weight above 0 or remove it"
                    ),
                ),
                None => sink.analysis(
                    Code::DestinationWithoutTraffic,
                    format!("spec.http[{i}].route[{j}]"),
                    format!(
                        "destination {name} gets no traffic: without a weight in a route with {count} destinations it has weight 0 and the route sends it 0%; set its weight or remove it"
                    ),
                ),
                Some(_) => {}
            }
        }
        let key = |d: &Destination| {
            (
                host::resolve(&d.host, &namespace),
                d.subset.clone(),
                d.port.as_ref().map(|p| p.number),
            )
        };
        for (j, dest) in route.route.iter().enumerate() {
            let (Some(d), Some(w)) = (&dest.destination, dest.weight.filter(|w| *w > 0)) else {
                continue;
            };
            let earlier = route.route.iter().take(j).enumerate().find(|(_, e)| {
                e.weight.is_some_and(|w| w > 0)
                    && e.headers == dest.headers
                    && e.destination.as_ref().is_some_and(|ed| key(ed) == key(d))
            });
            let Some((k, e)) = earlier else { continue };
            let first = e.weight.unwrap_or(0);
            sink.analysis(
                Code::DestinationWithoutTraffic,
                format!("spec.http[{i}].route[{j}].destination"),
                format!(
                    "destination {} repeats spec.http[{i}].route[{k}] (same host+subset+port): both weights go to one cluster; merge them into one destination with weight {}",
                    describe_destination(d),
                    i64::from(first) + i64::from(w)
                ),
            );
        }
    }
}
