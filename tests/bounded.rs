//! Bounded cost (issue #12): configurations built to make meshroute slow or big are compiled
//! quickly, and whatever budget they exceed is reported with the resource and field to fix.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

/// A ServiceEntry with two endpoints weighted 1 and 4294967294, and a DestinationRule hashing
/// them on a ring (`consistentHash`) with `subsets` subsets that all select both: the weight
/// ratio asks Envoy for a ring of 2^32 - 1 entries, which it caps at `maximum_ring_size`
/// (8388608), for every one of the `subsets + 1` clusters.
fn capped_rings(subsets: usize) -> String {
    let subsets: String = (0..subsets)
        .map(|i| format!("  - name: s{i}\n    labels: {{app: big}}\n"))
        .collect();
    format!(
        "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: big, namespace: default}}
spec:
  hosts: [big.example.com]
  ports: [{{number: 80, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints:
  - {{address: 10.0.0.1, weight: 1, labels: {{app: big}}}}
  - {{address: 10.0.0.2, weight: 4294967294, labels: {{app: big}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: big, namespace: default}}
spec:
  host: big.example.com
  trafficPolicy:
    loadBalancer:
      consistentHash: {{httpHeaderName: x-user}}
  subsets:
{subsets}"
    )
}

/// Consistent-hash tables are built on a cluster's first pick, not at compile time: 21
/// clusters whose rings would each hold Envoy's maximum of 8388608 entries (2 GB and minutes
/// when built eagerly) compile at once.
#[test]
fn capped_rings_cost_nothing_to_compile() {
    let yaml = capped_rings(20);
    let started = Instant::now();
    let mesh = common::mesh(&yaml);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "compiling took {took:?}");
    let endpoints = mesh.endpoints("big.example.com", Some("s19"), 80).unwrap();
    assert_eq!(endpoints.len(), 2);
}

/// The same rings are over the mesh's budget for consistent-hash tables (512 MiB): 21 rings of
/// 72 MiB (9 bytes an entry over two hosts). Compiling warns at the DestinationRule's `consistentHash`, with what the tables
/// take and why; the picks are still Envoy's.
#[test]
fn capped_rings_over_the_budget_are_reported() {
    let mesh = common::mesh(&capped_rings(20));
    let warnings: Vec<_> = mesh.diagnostics().iter().collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let warning = warnings[0];
    assert_eq!(warning.severity, meshroute::Severity::Warning);
    assert_eq!(warning.kind.as_deref(), Some("DestinationRule"));
    assert_eq!(warning.name.as_deref(), Some("default/big"));
    assert_eq!(
        warning.path,
        "spec.trafficPolicy.loadBalancer.consistentHash"
    );
    assert_eq!(warning.line, Some(19), "{warning}");
    for part in [
        "the 21 clusters this load balancer applies to take 1.5 GiB once used",
        "rings of up to 8388608 entries each, Envoy's maximum_ring_size, forced by the ratio of the endpoints' weights",
        "the mesh's tables would take 1.5 GiB, above meshroute's budget of 512 MiB",
        "built on its cluster's first pick",
        "bring the endpoints' weights closer together",
    ] {
        assert!(warning.message.contains(part), "{part:?} not in {warning}");
    }
    // Seven such rings fit (504 MiB); eight do not.
    let within = common::mesh(&capped_rings(6));
    assert!(
        within.diagnostics().is_empty(),
        "{:#?}",
        within.diagnostics()
    );
    assert_eq!(common::mesh(&capped_rings(7)).diagnostics().len(), 1);
}

/// A load balancer set in a subset's port-level settings is named there: eight subsets each
/// hashing on its own ring of 8388608 entries (576 MiB) exceed the budget, and the first of
/// them is the one warned about, since the other seven fit.
#[test]
fn the_budget_warning_names_the_field_that_sets_the_ring() {
    let yaml = capped_rings(0).replace(
        "  trafficPolicy:
    loadBalancer:
      consistentHash: {httpHeaderName: x-user}
  subsets:
",
        "  subsets:
",
    );
    let subsets: String = (0..8)
        .map(|i| {
            format!(
                "  - name: s{i}
    labels: {{app: big}}
    trafficPolicy:
      portLevelSettings:
      - port: {{number: 80}}
        loadBalancer: {{consistentHash: {{httpHeaderName: x-user}}}}
"
            )
        })
        .collect();
    let mesh = common::mesh(&format!("{yaml}{subsets}"));
    let paths: Vec<&str> = mesh.diagnostics().iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        ["spec.subsets[0].trafficPolicy.portLevelSettings[0].loadBalancer.consistentHash"]
    );
    assert!(
        mesh.diagnostics()[0]
            .message
            .contains("the cluster this load balancer applies to take 72 MiB once used"),
        "{}",
        mesh.diagnostics()[0]
    );
}

/// The VirtualService `default/svc-b` with `n` routes, route `i` matching its URI on
/// `regex(i)`.
fn regex_routes(n: usize, regex: impl Fn(usize) -> String) -> String {
    let http: String = (0..n)
        .map(|i| {
            format!(
                "  - match:\n    - uri: {{regex: '{}'}}\n    route:\n    - destination: {{host: svc-b, subset: v{i}}}\n",
                regex(i)
            )
        })
        .collect();
    common::svc_b_routes(&http)
}

/// Loads and checks `yaml` (compiling it, which is refused), in how long.
fn refused(yaml: &str) -> (meshroute::CompileError, Duration) {
    let started = Instant::now();
    let loaded = meshroute::from_str(yaml, &meshroute::LoadOptions::default());
    let error = loaded.compile().unwrap_err();
    (error, started.elapsed())
}

/// 200 distinct regexes each far above the size limit of one compiled regex (4 MiB) took 7 s
/// to load and check in a debug build, compiling every one of them up to the limit. Only the
/// first eight that exceed the limit are compiled; every later regex is refused without
/// compiling, with an error at its field that says why.
#[test]
fn a_file_full_of_huge_regexes_is_refused_quickly() {
    let yaml = regex_routes(200, |i| format!("(a{{1000}}){{1000}}b{i}"));
    let (error, took) = refused(&yaml);
    // 0.4 s in a debug build on an idle machine (7.4 s before the budget), 0.04 s in release;
    // the bound leaves room for a busy machine.
    assert!(
        took < Duration::from_secs(3),
        "load and check took {took:?}"
    );
    let errors: Vec<_> = error.errors().collect();
    assert_eq!(errors.len(), 200, "one error per regex");
    for (i, error) in errors.iter().enumerate() {
        assert_eq!(error.path, format!("spec.http[{i}].match[0].uri.regex"));
    }
    assert!(
        errors[7]
            .message
            .contains("Compiled regex exceeds size limit of 4194304 bytes"),
        "{}",
        errors[7]
    );
    assert_eq!(
        errors[8].to_string(),
        "line 40: error: VirtualService default/svc-b: spec.http[8].match[0].uri.regex: \"uri\": regex not compiled: 8 regexes before it in this configuration exceed the size limit of 4194304 bytes, and meshroute compiles no more regexes after that many; shorten or remove the oversized regexes"
    );
    // The same huge regex 200 times is compiled once: 200 errors, one compile.
    let (error, took) = refused(&regex_routes(200, |_| "(a{1000}){1000}".into()));
    assert!(
        took < Duration::from_secs(3),
        "load and check took {took:?}"
    );
    assert!(
        error
            .errors()
            .all(|e| e.message.contains("Compiled regex exceeds size limit")),
        "{error}"
    );
}

/// Regexes that compile, but large ones: once the regexes of a configuration take 128 MiB
/// compiled, the rest are refused without compiling. `a{100000}` compiles to 4.8 MB.
#[test]
fn large_regexes_stop_at_the_memory_budget() {
    let (error, _) = refused(&regex_routes(40, |i| format!("a{{{}}}", 100_000 + i)));
    let refused: Vec<&str> = error.errors().map(|d| d.path.as_str()).collect();
    assert_eq!(refused.len(), 12, "{refused:#?}");
    assert_eq!(refused[0], "spec.http[28].match[0].uri.regex");
    let message = &error.errors().next().unwrap().message;
    assert!(
        message.ends_with("regex not compiled: the regexes before it in this configuration already take 128 MiB compiled, meshroute's budget for one configuration; use exact or prefix matches, or simpler regexes"),
        "{message}"
    );
}

/// The same regex in every route is compiled once, in validation and in compilation: 200
/// routes matching `a{50000}` (2.4 MB compiled) stay far within the budget, and the mesh
/// routes with them.
#[test]
fn a_repeated_regex_is_compiled_once() {
    let started = Instant::now();
    let mesh = common::mesh(&format!(
        "{}---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-b, namespace: default}}\nspec:\n  ports: [{{name: http, port: 80}}]\n",
        regex_routes(200, |_| "/a{50000}".into())
    ));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "{took:?}");
    let request = common::get(&format!("http://svc-b/{}", "a".repeat(50_000)));
    let decision = mesh.route(&request, &meshroute::Source::sidecar("default"));
    assert_eq!(decision.outcome(), meshroute::Outcome::Route);
}
