//! `load_compile`: any bytes (lossy UTF-8) through load, `check`, `lint` and `compile`; when the
//! configuration compiles, a few requests are routed. Properties: nothing panics; `compile`
//! succeeds exactly when `check` finds nothing that rejects the configuration; `route` (which
//! may use the path index) and `explain` (the in-order scan) decide alike.

use meshroute::config::Body;
use meshroute::{FastRng, LoadOptions, Mesh, Outcome, Source};

/// At most this many hosts of the configuration get requests.
const MAX_HOSTS: usize = 4;

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let loaded = meshroute::from_str(&text, &LoadOptions::default());
    let diagnostics = meshroute::check(&loaded.resources);
    let rejects = diagnostics.iter().any(|d| d.rejects());
    for d in &diagnostics {
        let _ = d.to_string();
    }
    // `meshroute check --lint` lints whatever loaded, valid or not.
    for d in meshroute::lint(&loaded.resources) {
        let _ = d.to_string();
    }
    // Hosts to send requests to: the VirtualServices' hosts and gateways.
    let mut hosts: Vec<String> = Vec::new();
    let mut gateways: Vec<String> = Vec::new();
    for resource in &loaded.resources {
        if let Body::VirtualService(vs) = &resource.body {
            hosts.extend(vs.hosts.iter().take(MAX_HOSTS).cloned());
            let ns = resource.metadata.namespace.as_deref().unwrap_or("default");
            for g in vs.gateways.iter().filter(|g| *g != "mesh").take(2) {
                gateways.push(if g.contains('/') {
                    g.clone()
                } else {
                    format!("{ns}/{g}")
                });
            }
        }
    }
    hosts.truncate(MAX_HOSTS);
    gateways.truncate(2);
    let compiled = meshroute::compile(loaded.resources);
    assert_eq!(
        compiled.is_ok(),
        !rejects,
        "compile and check disagree: {:?}",
        compiled.as_ref().err()
    );
    let Ok(mesh) = compiled else { return };
    let mut sources = vec![Source::sidecar("default")];
    sources.extend(gateways.iter().map(|g| Source::gateway(g)));
    for host in hosts
        .iter()
        .map(String::as_str)
        .chain(["svc-b", "unknown.example.com"])
    {
        let host = host.replace('*', "x");
        // A request without flags, one with a flag and a query, one whose flag is not ASCII.
        for (path, user) in [
            ("/", None),
            ("/api/v1?x=1", Some("jason")),
            ("/b", Some("é")),
        ] {
            let Ok(request) = build(&host, path, user) else {
                continue;
            };
            for source in &sources {
                same_decision(&mesh, &request, source);
            }
        }
    }
}

fn build(host: &str, path: &str, user: Option<&str>) -> Result<http::Request<()>, http::Error> {
    let mut builder = http::Request::get(format!("http://{host}{path}"));
    if let Some(user) = user {
        builder = builder.header("end-user", http::HeaderValue::from_bytes(user.as_bytes())?);
    }
    builder.body(())
}

/// `route` and `explain` decide alike with the same random source.
fn same_decision(mesh: &Mesh, request: &http::Request<()>, source: &Source) {
    let routed = mesh.route_with(request, source, &mut FastRng::from_seed(7));
    let (explained, explanation) = mesh.explain(request, source, &mut FastRng::from_seed(7));
    let _ = serde_json::to_string(&routed.report());
    assert_eq!(
        summary(&routed),
        summary(&explained),
        "route (left) and explain (right) disagree for {request:?} from {source:?}:\n{explanation}"
    );
    if routed.outcome() == Outcome::Redirect {
        let _ = routed.redirect_location();
    }
    let _ = routed.rewritten_path_and_query();
}

/// What `route` and `explain` must agree on.
type Summary<'a> = (
    Outcome,
    Option<&'a str>,
    Option<usize>,
    Option<usize>,
    Option<meshroute::DestinationRef<'a>>,
);

fn summary<'a>(d: &meshroute::Decision<'a>) -> Summary<'a> {
    (
        d.outcome(),
        d.virtual_service(),
        d.route().map(|r| r.index),
        d.matched().map(|r| r.index),
        d.destination(),
    )
}
