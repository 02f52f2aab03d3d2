//! Untrusted input never panics: arbitrary text, mutated seed files and arbitrary Istio-shaped
//! documents go through load + check + compile. Fixed seeds keep runs reproducible.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use meshroute::LoadOptions;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use common::runner;

const SEEDS: [&str; 4] = [
    include_str!("../examples/seed/demo.yaml"),
    include_str!("../examples/seed/demo-gateway.yaml"),
    include_str!("../examples/seed/destination-rule-svc-b-canary.yaml"),
    include_str!("../examples/seed/destination-rule-svc-b-weighted.yaml"),
];

/// Load, validate and compile; the only property is that nothing panics and that `compile`
/// succeeds exactly when `check` finds nothing that rejects the configuration (an analysis error
/// such as IST0101 does not).
fn exercise(text: &str) {
    let loaded = meshroute::from_str(text, &LoadOptions::default());
    let diagnostics = meshroute::check(&loaded.resources);
    let has_errors = diagnostics.iter().any(|d| d.rejects());
    for d in &diagnostics {
        let _ = d.to_string();
    }
    assert_eq!(meshroute::compile(loaded.resources).is_ok(), !has_errors);
}

#[test]
fn arbitrary_text_never_panics() {
    runner(2_000, 1)
        .run(&"\\PC{0,400}", |text| {
            exercise(&text);
            Ok(())
        })
        .unwrap();
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, bool),
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens = prop::sample::select(vec![
        ":",
        "-",
        " ",
        "\n",
        "{",
        "}",
        "[",
        "]",
        "*",
        "&a ",
        "*a",
        "\"",
        "'",
        "---\n",
        "#",
        "|\n",
        "weight: -3",
        "weight: abc",
        "regex: \"(\"",
        "exact: ",
        "prefix: \"\"",
        "subset: V_1",
        "0s",
        "host: \"*\"",
        "\t",
        "null",
        "~",
        "!!str ",
        "99999999999999999999",
    ]);
    prop_oneof![
        (any::<usize>(), 0usize..20).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), tokens.prop_map(str::to_owned)).prop_map(|(a, t)| Edit::Insert(a, t)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<usize>(), any::<bool>()).prop_map(|(a, b)| Edit::Indent(a, b)),
    ]
}

fn apply(text: &str, edit: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.len().max(1);
    match edit {
        Edit::Delete(at, len) => {
            let chars: Vec<char> = text.chars().collect();
            let at = at % chars.len().max(1);
            let end = (at + len).min(chars.len());
            return chars[..at].iter().chain(&chars[end..]).collect();
        }
        Edit::Insert(at, token) => {
            let chars: Vec<char> = text.chars().collect();
            let at = at % (chars.len() + 1);
            return chars[..at]
                .iter()
                .copied()
                .chain(token.chars())
                .chain(chars[at..].iter().copied())
                .collect();
        }
        Edit::DuplicateLine(at) => {
            if let Some(line) = lines.get(at % n).cloned() {
                lines.insert(at % n, line);
            }
        }
        Edit::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Edit::Indent(at, deeper) => {
            if let Some(line) = lines.get_mut(at % n) {
                if *deeper {
                    line.insert_str(0, "  ");
                } else if line.starts_with("  ") {
                    line.replace_range(..2, "");
                }
            }
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_seed_files_never_panic() {
    let strategy = (0..SEEDS.len(), prop::collection::vec(edit(), 1..8));
    runner(3_000, 2)
        .run(&strategy, |(which, edits)| {
            let mut text = SEEDS[which].to_owned();
            for e in &edits {
                text = apply(&text, e);
            }
            exercise(&text);
            Ok(())
        })
        .unwrap();
}

/// Values shaped like Istio's: the keys of the HTTP API with arbitrary values of any type.
fn istio_value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "hosts",
        "gateways",
        "http",
        "match",
        "route",
        "destination",
        "host",
        "subset",
        "port",
        "number",
        "weight",
        "uri",
        "exact",
        "prefix",
        "regex",
        "headers",
        "queryParams",
        "withoutHeaders",
        "redirect",
        "directResponse",
        "status",
        "body",
        "rewrite",
        "timeout",
        "retries",
        "attempts",
        "retryOn",
        "perTryTimeout",
        "fault",
        "delay",
        "abort",
        "percentage",
        "value",
        "fixedDelay",
        "httpStatus",
        "mirror",
        "mirrors",
        "mirrorPercentage",
        "corsPolicy",
        "request",
        "response",
        "set",
        "add",
        "remove",
        "delegate",
        "name",
        "namespace",
        "subsets",
        "labels",
        "trafficPolicy",
        "loadBalancer",
        "simple",
        "consistentHash",
        "maglev",
        "tableSize",
        "ringHash",
        "minimumRingSize",
        "outlierDetection",
        "connectionPool",
        "portLevelSettings",
        "servers",
        "endpoints",
        "address",
        "sourceLabels",
        "authority",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        "[a-z0-9*./:%() -]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "RANDOM",
            "ROUND_ROBIN",
            "1s",
            "0s",
            "*",
            "/",
            ".*",
            "mesh",
            "v1"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|entries| {
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

#[test]
fn arbitrary_istio_shaped_documents_never_panic() {
    let kinds = prop::sample::select(vec![
        "VirtualService",
        "DestinationRule",
        "Gateway",
        "ServiceEntry",
        "WorkloadEntry",
    ]);
    runner(3_000, 3)
        .run(&(kinds, istio_value()), |(kind, spec)| {
            let doc = json!({
                "apiVersion": "networking.istio.io/v1",
                "kind": kind,
                "metadata": {"name": "x", "namespace": "default"},
                "spec": spec,
            });
            // JSON is YAML too: exercise both readers.
            exercise(&doc.to_string());
            exercise(&format!(
                "---\n{}\n",
                serde_json::to_string_pretty(&doc).unwrap()
            ));
            Ok(())
        })
        .unwrap();
}

/// Services and a gateway for the generated TCP and TLS rules.
const STREAM_BASE: &str = "
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.example.com]
  addresses: [10.9.0.1]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp, protocol: TCP}, {number: 443, name: tls, protocol: TLS}]
  endpoints: [{address: 10.0.0.1, labels: {v: a}}, {address: 10.0.0.2, labels: {v: b}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: wild, namespace: default}
spec:
  hosts: ['*.example.com']
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: db.example.com
  subsets: [{name: a, labels: {v: a}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 443, name: tls, protocol: TLS}, tls: {mode: PASSTHROUGH}, hosts: ['*.example.com']}
  - {port: {number: 5432, name: tcp, protocol: TCP}, hosts: ['*']}
  - {port: {number: 15443, name: auto, protocol: TLS}, tls: {mode: AUTO_PASSTHROUGH}, hosts: ['*.example.com']}
";

/// One generated match: `port`, `destinationSubnets`, `sourceLabels`, `gateways` (and, for
/// `tls`, `sniHosts`), each from a small set so that rules overlap.
fn stream_match(tls: bool) -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "port: 5432, ", "port: 443, ", "port: 9, "]),
        prop::sample::select(vec![
            "",
            "destinationSubnets: [10.0.0.0/8], ",
            "destinationSubnets: [10.9.0.0/16, 0.0.0.0/0], ",
        ]),
        prop::sample::select(vec!["", "sourceLabels: {app: x}, "]),
        prop::sample::select(vec!["", "gateways: [mesh], ", "gateways: [edge], "]),
        prop::sample::select(vec![
            "sniHosts: [a.example.com]",
            "sniHosts: ['*.example.com']",
            "sniHosts: [db.example.com, a.example.com]",
        ]),
    )
        .prop_map(move |(port, subnets, labels, gateways, sni)| {
            let sni = if tls { sni } else { "" };
            format!("{{{port}{subnets}{labels}{gateways}{sni}}}")
        })
}

/// One generated rule: 0–2 matches (at least one for `tls`) and 1–3 weighted destinations.
fn stream_rule(tls: bool) -> impl Strategy<Value = String> {
    let destination = (
        prop::sample::select(vec![
            "{host: db.example.com}",
            "{host: db.example.com, subset: a}",
            "{host: db.example.com, port: {number: 443}}",
            "{host: a.example.com}",
        ]),
        0u32..3,
    )
        .prop_map(|(d, w)| format!("{{destination: {d}, weight: {w}}}"));
    (
        prop::collection::vec(stream_match(tls), usize::from(tls)..3),
        prop::collection::vec(destination, 1..4),
    )
        .prop_map(|(matches, route)| {
            let matches = if matches.is_empty() {
                String::new()
            } else {
                format!("match: [{}]\n    ", matches.join(", "))
            };
            format!("  - {matches}route: [{}]\n", route.join(", "))
        })
}

/// TCP and TLS rules of any shape over a fixed set of services and a gateway: compiling and
/// connection decisions (sidecar and gateway, TCP and TLS, with and without an address) never
/// panic; a routed connection always has a destination, and only a rule has a rule list.
#[test]
fn arbitrary_stream_rules_never_panic() {
    let vs = (
        prop::sample::select(vec![
            "[db.example.com]",
            "['*.example.com']",
            "[db.example.com, a.example.com]",
        ]),
        prop::sample::select(vec![
            "",
            "  gateways: [mesh, edge]\n",
            "  gateways: [edge]\n",
        ]),
        prop::collection::vec(stream_rule(false), 0..4),
        prop::collection::vec(stream_rule(true), 0..4),
    )
        .prop_map(|(hosts, gateways, tcp, tls)| {
            let mut spec = format!("  hosts: {hosts}\n{gateways}");
            if !tcp.is_empty() {
                spec.push_str(&format!("  tcp:\n{}", tcp.join("")));
            }
            if !tls.is_empty() {
                spec.push_str(&format!("  tls:\n{}", tls.join("")));
            }
            if tcp.is_empty() && tls.is_empty() {
                spec.push_str("  tcp:\n  - route: [{destination: {host: db.example.com}}]\n");
            }
            spec
        });
    let compiled = std::cell::Cell::new(0u32);
    runner(400, 5)
        .run(&prop::collection::vec(vs, 1..3), |specs| {
            let mut text = String::from(STREAM_BASE);
            for (i, spec) in specs.iter().enumerate() {
                text.push_str(&format!(
                    "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs{i}, namespace: default}}\nspec:\n{spec}"
                ));
            }
            exercise(&text);
            let Ok(mesh) = meshroute::from_str(&text, &LoadOptions::default()).compile() else {
                return Ok(());
            };
            compiled.set(compiled.get() + 1);
            let mut rng = meshroute::FastRng::from_seed(1);
            let connections = [
                meshroute::Connection::tcp("db.example.com", 5432),
                meshroute::Connection::tcp("10.9.0.1", 5432)
                    .with_destination_ip("10.1.2.3".parse().unwrap()),
                meshroute::Connection::tls("a.example.com", 443),
                meshroute::Connection::tls("b.c.example.com", 443),
                meshroute::Connection::tls("db.example.com", 443),
                meshroute::Connection::tls("outbound_.5432_.a_.db.example.com", 15443),
                meshroute::Connection::tls("", 1).to_host("*"),
            ];
            for source in [
                meshroute::Source::sidecar("default").with_labels([("app", "x")]),
                meshroute::Source::sidecar("other"),
                meshroute::Source::gateway("default/edge"),
            ] {
                for connection in &connections {
                    let (decision, explanation) =
                        mesh.explain_connection(connection, &source, &mut rng);
                    let plain = mesh.route_connection(connection, &source, &mut rng);
                    prop_assert_eq!(plain.outcome(), decision.outcome());
                    if decision.outcome() == meshroute::Outcome::Route {
                        prop_assert!(decision.destination().is_some());
                    }
                    prop_assert_eq!(decision.kind().is_some(), decision.route().is_some());
                    let _ = decision.report();
                    let _ = explanation.to_string();
                }
            }
            Ok(())
        })
        .unwrap();
    let compiled = compiled.get();
    assert!(
        compiled > 100,
        "only {compiled} of the generated configurations compiled"
    );
}

const TEST_FILES: [&str; 2] = [
    include_str!("../examples/seed/tests/canary-testcases.yaml"),
    include_str!("../examples/seed/tests/canary-router-check.yaml"),
];

/// Routing test files (`meshroute::sim::TestFiles`), mutated: reading, running against the
/// seed's canary variant and every rendering of the report never panic; a file that cannot be
/// read is an error, never a crash.
#[test]
fn mutated_test_files_never_panic() {
    use meshroute::sim::TestFiles;

    let mut canary = meshroute::Loaded::default();
    for file in common::CANARY {
        canary.extend(
            meshroute::from_path(common::seed_file(file), &LoadOptions::default()).unwrap(),
        );
    }
    let dir = std::env::temp_dir().join(format!("meshroute-robust-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tests.yaml");
    let strategy = (0..TEST_FILES.len(), prop::collection::vec(edit(), 1..6));
    runner(300, 3)
        .run(&strategy, |(which, edits)| {
            let mut text = TEST_FILES[which].to_owned();
            for e in &edits {
                text = apply(&text, e);
            }
            std::fs::write(&file, &text).unwrap();
            if let Ok(files) = TestFiles::discover([&file]) {
                let _ = files.config_paths();
                if let Ok(report) = files.run_on(canary.clone()) {
                    let _ = (report.to_string(), report.to_json(), report.to_junit());
                }
            }
            Ok(())
        })
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
