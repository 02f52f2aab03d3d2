//! meshroute's own lints (`meshroute::lint`, `meshroute check --lint`): MR001 shadowed match,
//! MR002 subset without endpoints, MR003 destination without traffic, MR004 routing flag that
//! callers must forward. Each lint has a bad configuration and a good neighbour.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use meshroute::LoadOptions;
use meshroute::{Diagnostic, Severity};

fn load(yaml: &str) -> Vec<meshroute::config::Resource> {
    let loaded = meshroute::from_str(yaml, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.resources
}

fn lint(yaml: &str) -> Vec<Diagnostic> {
    meshroute::lint(&load(yaml))
}

/// The findings of one code, as `(path, message)`.
fn found(diagnostics: &[Diagnostic], code: &str) -> Vec<(String, String)> {
    diagnostics
        .iter()
        .filter(|d| d.code.map(meshroute::Code::as_str) == Some(code))
        .inspect(|d| assert_eq!(d.severity, Severity::Warning, "{d}"))
        .map(|d| (d.path.clone(), d.message.clone()))
        .collect()
}

/// Asserts exactly one finding of `code`, at `path`, whose message contains every part.
fn assert_one(diagnostics: &[Diagnostic], code: &str, path: &str, parts: &[&str]) {
    let all = found(diagnostics, code);
    assert_eq!(all.len(), 1, "{diagnostics:#?}");
    let (at, message) = &all[0];
    assert_eq!(at, path, "{message}");
    for part in parts {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
}

/// A VirtualService for `svc-b` with these HTTP routes (no Service: MR004 stays quiet).
fn vs(http: &str) -> String {
    format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b, namespace: default}}
spec:
  hosts: [svc-b]
  http:
{http}"
    )
}

// ---------------------------------------------------------------------------------------------
// MR001

/// A rule whose only match asks for more than an earlier match (same header presence, a
/// longer path) never fires: reported at the rule.
#[test]
fn mr001_rule_whose_match_an_earlier_match_covers() {
    let yaml = vs("  - match:
    - uri: {prefix: /api}
      headers: {x-canary: {}}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - uri: {exact: /api/v1}
      headers: {X-Canary: {exact: 'true'}}
      method: {exact: GET}
    route:
    - destination: {host: svc-b, subset: v3}
  - route:
    - destination: {host: svc-b, subset: v1}
");
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR001",
        "spec.http[1]",
        &[
            "rule #1 never fires: match #0 of rule #0 (spec.http[0].match[0]) comes first and accepts every request its match accepts",
            "move rule #1 above rule #0, narrow that match, or remove this rule",
        ],
    );
    assert_eq!(d.len(), 1, "{d:#?}");
    // Istio's own analysis (IST0130 / IST0131) does not see it.
    let checked = meshroute::check(&load(&yaml));
    assert!(
        !checked.iter().any(|d| matches!(
            d.code.map(meshroute::Code::as_str),
            Some("IST0130" | "IST0131")
        )),
        "{checked:#?}"
    );
}

/// A rule whose every match is covered by earlier rules is reported once, at the rule.
#[test]
fn mr001_rule_whose_every_match_is_covered() {
    let yaml = vs("  - match:
    - method: {exact: POST}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - uri: {prefix: /admin}
    route:
    - destination: {host: svc-b, subset: v3}
  - name: late
    match:
    - name: posts
      method: {exact: POST}
      uri: {regex: '/x/[0-9]+'}
    - uri: {exact: /admin/users}
      scheme: {exact: https}
    route:
    - destination: {host: svc-b, subset: v4}
");
    assert_one(
        &lint(&yaml),
        "MR001",
        "spec.http[2]",
        &[
            "rule \"late\" never fires: earlier matches accept every request it accepts",
            "match \"posts\" is covered by match #0 of rule #0 (spec.http[0].match[0])",
            "match #1 is covered by match #0 of rule #1 (spec.http[1].match[0])",
        ],
    );
}

/// The good neighbour: the later match does not require the header, so requests without it
/// reach rule #1.
#[test]
fn mr001_not_when_the_earlier_match_is_narrower_anywhere() {
    let yaml = vs("  - match:
    - uri: {prefix: /api}
      headers: {x-canary: {}}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - uri: {exact: /api/v1}
    - uri: {prefix: /ap}
      headers: {x-canary: {}}
    - uri: {regex: '/api/.*'}
      headers: {x-canary: {}}
    - uri: {prefix: /api}
      withoutHeaders: {x-canary: {exact: 'no'}}
    - uri: {prefix: /api}
      headers: {x-canary-2: {}}
    route:
    - destination: {host: svc-b, subset: v3}
");
    let d = lint(&yaml);
    assert!(found(&d, "MR001").is_empty(), "{d:#?}");
}

/// One match of a rule covered by an earlier rule is reported at the match; the rule still
/// fires through its other match.
#[test]
fn mr001_single_match_with_a_way_to_fix_it() {
    let yaml = vs("  - match:
    - queryParams: {name: {prefix: x}}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - queryParams: {name: {exact: xx}}
      withoutHeaders: {x-debug: {}}
    - uri: {prefix: /debug}
    route:
    - destination: {host: svc-b, subset: v3}
");
    assert_one(
        &lint(&yaml),
        "MR001",
        "spec.http[1].match[0]",
        &[
            "match #0 of rule #1 never fires",
            "match #0 of rule #0 (spec.http[0].match[0]) comes first",
            "move rule #1 above rule #0",
        ],
    );
}

/// A catch-all rule after a match that accepts everything (`prefix: /` on the port the rule
/// applies to) never fires; a catch-all after a match on one port still does.
#[test]
fn mr001_catch_all_after_a_match_that_takes_everything() {
    let yaml = vs("  - name: all
    match:
    - uri: {prefix: /}
    route:
    - destination: {host: svc-b, subset: v2}
  - name: fallback
    route:
    - destination: {host: svc-b, subset: v1}
");
    assert_one(
        &lint(&yaml),
        "MR001",
        "spec.http[1]",
        &[
            "rule \"fallback\" has no match but never fires",
            "match #0 of rule \"all\" (spec.http[0].match[0]) accepts every request first",
        ],
    );
    let yaml = yaml.replace("- uri: {prefix: /}", "- port: 8080");
    assert!(found(&lint(&yaml), "MR001").is_empty());
}

/// Within one rule, a match that an earlier match of the same rule covers is redundant.
#[test]
fn mr001_redundant_match_in_the_same_rule() {
    let yaml = vs("  - match:
    - uri: {prefix: /API}
      ignoreUriCase: true
    - uri: {exact: /api/users}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
");
    assert_one(
        &lint(&yaml),
        "MR001",
        "spec.http[0].match[1]",
        &["match #0 of the same rule accepts every request it accepts; remove it"],
    );
    // Case-sensitive earlier prefix, case-insensitive later match: not covered.
    let yaml = yaml.replace("      ignoreUriCase: true\n", "").replace(
        "{exact: /api/users}",
        "{exact: /API/users}\n      ignoreUriCase: true",
    );
    assert!(found(&lint(&yaml), "MR001").is_empty());
}

/// Match-level gateways: a gateway the VirtualService is not bound to widens nothing (Istio
/// only applies the VirtualService on its own gateways), and with `gateways` set Istio ignores
/// `sourceLabels`; but a match kept only on a gateway does not cover one kept on the mesh.
#[test]
fn mr001_match_gateways_and_source_labels() {
    let yaml = vs("  - match:
    - uri: {prefix: /api}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - uri: {prefix: /api/v1}
      sourceLabels: {app: a}
      gateways: [mesh, other]
    - uri: {prefix: /other}
    route:
    - destination: {host: svc-b, subset: v3}
");
    assert_one(
        &lint(&yaml),
        "MR001",
        "spec.http[1].match[0]",
        &["match #0 of rule #1 never fires"],
    );
    let bound = yaml
        .replace(
            "  hosts: [svc-b]",
            "  hosts: [svc-b]\n  gateways: [mesh, other]",
        )
        .replace(
            "  - match:\n    - uri: {prefix: /api}\n",
            "  - match:\n    - uri: {prefix: /api}\n      gateways: [other]\n",
        );
    assert!(found(&lint(&bound), "MR001").is_empty(), "{bound}");
}

/// What IST0130 / IST0131 already report (an exact duplicate, a longer prefix after a shorter
/// one, a rule after a rule without matches) is not repeated as MR001.
#[test]
fn mr001_does_not_repeat_istio_findings() {
    let yaml = vs("  - match:
    - uri: {prefix: /a}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - uri: {prefix: /a}
    - uri: {prefix: /ab}
    route:
    - destination: {host: svc-b, subset: v3}
  - route:
    - destination: {host: svc-b, subset: v1}
  - route:
    - destination: {host: svc-b, subset: v1}
");
    let checked = meshroute::check(&load(&yaml));
    assert!(
        checked
            .iter()
            .any(|d| d.code.map(meshroute::Code::as_str) == Some("IST0131")),
        "{checked:#?}"
    );
    assert!(
        checked
            .iter()
            .any(|d| d.code.map(meshroute::Code::as_str) == Some("IST0130")),
        "{checked:#?}"
    );
    assert!(found(&lint(&yaml), "MR001").is_empty());
}

// ---------------------------------------------------------------------------------------------
// MR002

const SVC_B: &str = "apiVersion: v1
kind: Service
metadata: {name: svc-b, namespace: default}
spec:
  selector: {app: demo-b}
  ports: [{port: 8080, name: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo-b-v1, namespace: default}
spec:
  template:
    metadata: {labels: {app: demo-b, version: v1}}
    spec:
      containers: [{name: b, image: b}]
";

fn destination_rule(host: &str, subsets: &str) -> String {
    format!(
        "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc-b, namespace: default}}
spec:
  host: {host}
  subsets:
{subsets}"
    )
}

/// A subset whose labels match none of the host's workloads.
#[test]
fn mr002_subset_that_selects_no_endpoint() {
    let yaml = format!(
        "{SVC_B}{}",
        destination_rule(
            "svc-b",
            "  - name: v1
    labels: {version: v1}
  - name: v2
    labels:
      version: v2
"
        )
    );
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR002",
        "spec.subsets[1].labels",
        &[
            "subset \"v2\" selects no endpoints of svc-b.default.svc.cluster.local",
            "no workload has the labels {version: v2}",
            "its workloads have {app: demo-b, version: v1}",
            "503",
            "fix the labels or deploy workloads that carry them",
        ],
    );
    assert_eq!(d[0].line, Some(26), "{}", d[0]);
}

/// The good neighbours: a subset that matches, and a host whose endpoints the manifests do not
/// show (no Service, or a Service whose pods are not in the configuration).
#[test]
fn mr002_not_when_endpoints_match_or_are_unknown() {
    let subsets = "  - name: v1
    labels: {version: v1}
  - name: all
    labels: {app: demo-b}
";
    assert!(lint(&format!("{SVC_B}{}", destination_rule("svc-b", subsets))).is_empty());
    let unknown = destination_rule("svc-c", "  - name: v9\n    labels: {version: v9}\n");
    assert!(lint(&format!("{SVC_B}{unknown}")).is_empty());
    let service_only = SVC_B.split("---").next().unwrap();
    let v2 = destination_rule("svc-b", "  - name: v2\n    labels: {version: v2}\n");
    assert!(lint(&format!("{service_only}{v2}")).is_empty());
}

/// ServiceEntry endpoints count too.
#[test]
fn mr002_service_entry_endpoints() {
    let yaml = "apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints:
  - {address: 10.0.0.1, labels: {zone: a}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: db.example.com
  subsets:
  - {name: a, labels: {zone: a}}
  - {name: b, labels: {zone: b}}
";
    assert_one(
        &lint(yaml),
        "MR002",
        "spec.subsets[1].labels",
        &["subset \"b\" selects no endpoints of db.example.com"],
    );
}

// ---------------------------------------------------------------------------------------------
// MR003

/// Weight 0 and a missing weight beside another destination get 0%.
#[test]
fn mr003_destination_with_weight_0_or_none() {
    let d = lint(&vs("  - route:
    - destination: {host: svc-b, subset: v1}
      weight: 0
    - destination: {host: svc-b, subset: v2}
      weight: 100
    - destination: {host: svc-b, subset: v3}
"));
    let all = found(&d, "MR003");
    assert_eq!(all.len(), 2, "{d:#?}");
    assert_eq!(all[0].0, "spec.http[0].route[0].weight");
    assert!(
        all[0].1.contains(
            "destination svc-b subset v1 gets no traffic: with weight 0 in a route with 3 destinations the route sends it 0%"
        ),
        "{}",
        all[0].1
    );
    assert_eq!(all[1].0, "spec.http[0].route[2]");
    assert!(
        all[1]
            .1
            .contains("destination svc-b subset v3 gets no traffic")
            && all[1].1.contains("without a weight")
            && all[1].1.contains("0%"),
        "{}",
        all[1].1
    );
}

/// Two destinations naming the same host, subset and port.
#[test]
fn mr003_duplicate_destination() {
    let d = lint(&vs("  - route:
    - destination: {host: svc-b, subset: v1, port: {number: 8080}}
      weight: 30
    - destination: {host: svc-b, subset: v2}
      weight: 50
    - destination: {host: svc-b.default.svc.cluster.local, subset: v1, port: {number: 8080}}
      weight: 20
"));
    assert_one(
        &d,
        "MR003",
        "spec.http[0].route[2].destination",
        &[
            "repeats spec.http[0].route[0] (same host+subset+port)",
            "merge them into one destination with weight 50",
        ],
    );
}

/// The good neighbours: a single destination ignores its weight (even 0), distinct
/// destinations with weights, and the same subset on two ports.
#[test]
fn mr003_not_for_single_or_distinct_destinations() {
    let d = lint(&vs("  - match:
    - uri: {prefix: /one}
    route:
    - destination: {host: svc-b, subset: v1}
      weight: 0
  - route:
    - destination: {host: svc-b, subset: v1, port: {number: 8080}}
      weight: 5
    - destination: {host: svc-b, subset: v1, port: {number: 9090}}
      weight: 95
"));
    assert!(d.is_empty(), "{d:#?}");
}

// ---------------------------------------------------------------------------------------------
// MR004

/// A mesh VirtualService for an internal host (it has a Kubernetes Service) routing on a
/// request header: every caller must forward it.
#[test]
fn mr004_header_routing_on_an_internal_host() {
    let yaml = format!(
        "{SVC_B}---\n{}",
        vs("  - match:
    - headers:
        x-request-id: {prefix: a}
        X-Canary: {exact: 'true'}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - headers: {x-canary: {exact: 'yes'}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
")
    );
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR004",
        "spec.http[0].match[0].headers.X-Canary",
        &[
            "routing on request header \"X-Canary\" needs every caller to forward it",
            "each service that calls svc-b.default.svc.cluster.local (an internal host: Kubernetes Service default/svc-b)",
            "CaptureLayer built with Propagation::from_mesh plus OutboundLayer do it automatically; other services must copy it by hand",
            "header-based canaries fail on the second hop",
        ],
    );
}

/// Being another VirtualService's destination makes a host internal too; query parameters
/// count.
#[test]
fn mr004_query_parameter_on_a_destination_of_another_virtual_service() {
    let yaml = format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: front, namespace: default}}
spec:
  hosts: [front.example.com]
  gateways: [gw]
  http:
  - route:
    - destination: {{host: svc-b}}
---
{}",
        vs("  - match:
    - queryParams: {user: {exact: tester}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
")
    );
    let d = lint(&yaml);
    assert_one(
        &d,
        "MR004",
        "spec.http[0].match[0].queryParams.user",
        &[
            "query parameter \"user\"",
            "a destination of VirtualService default/front",
            "query-parameter-based canaries fail on the second hop",
        ],
    );
}

/// The good neighbours: the same rules on a gateway-only VirtualService (the client sends the
/// flag to the gateway itself), on a host nothing else refers to, and on trace headers.
#[test]
fn mr004_not_on_gateways_external_hosts_or_trace_headers() {
    let rules = "  - match:
    - headers: {x-canary: {exact: 'true'}}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
";
    let gateway_only = vs(rules).replace("  hosts: [svc-b]", "  hosts: [svc-b]\n  gateways: [gw]");
    assert!(found(&lint(&format!("{SVC_B}---\n{gateway_only}")), "MR004").is_empty());
    assert!(found(&lint(&vs(rules)), "MR004").is_empty());
    let trace = vs(&rules.replace("x-canary", "x-b3-sampled"));
    assert!(found(&lint(&format!("{SVC_B}---\n{trace}")), "MR004").is_empty());
}

// ---------------------------------------------------------------------------------------------
// The seed scenario

fn seed(files: &[&str]) -> Vec<meshroute::config::Resource> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    let mut loaded = meshroute::Loaded::default();
    for f in files {
        loaded.extend(meshroute::from_path(dir.join(f), &LoadOptions::default()).unwrap());
    }
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.resources
}

/// The whole seed folder: the weighted file (loaded last) replaces the canary file's svc-b
/// VirtualService and DestinationRule, so the effective svc-b rule is the plain 5/95 split:
/// no lint finding, and `check` stays at 0 diagnostics.
#[test]
fn seed_folder_lints_clean_and_checks_clean() {
    let resources = seed(&["."]);
    assert_eq!(resources.len(), 11);
    assert!(meshroute::check(&resources).is_empty());
    let lints = meshroute::lint(&resources);
    assert!(lints.is_empty(), "{lints:#?}");
}

/// The canary variant (demo.yaml, demo-gateway.yaml, destination-rule-svc-b-canary.yaml):
/// exactly two findings. MR003: `name=xx` sends v1 `weight: 0` beside v2's 100 (deliberate in
/// the article, but v1 gets nothing). MR004: svc-b has a Kubernetes Service and its mesh rule
/// routes on the `name` query parameter, which only arrives if svc-a (svc-b's caller in the
/// article; the configuration only shows that svc-b is internal) forwards it.
#[test]
fn seed_canary_files_give_mr003_and_mr004() {
    let resources = seed(&[
        "demo.yaml",
        "demo-gateway.yaml",
        "destination-rule-svc-b-canary.yaml",
    ]);
    assert!(meshroute::check(&resources).is_empty());
    let lints = meshroute::lint(&resources);
    assert_eq!(lints.len(), 2, "{lints:#?}");
    let mr003 = &lints[0];
    assert_eq!(mr003.code.map(meshroute::Code::as_str), Some("MR003"));
    assert_eq!(mr003.name.as_deref(), Some("default/svc-b"));
    assert_eq!(mr003.path, "spec.http[0].route[0].weight");
    assert_eq!(mr003.line, Some(58));
    assert!(
        mr003
            .message
            .starts_with("destination svc-b subset v1 gets no traffic")
    );
    let mr004 = &lints[1];
    assert_eq!(mr004.code.map(meshroute::Code::as_str), Some("MR004"));
    assert_eq!(mr004.path, "spec.http[0].match[0].queryParams.name");
    assert_eq!(mr004.line, Some(52));
    assert!(
        mr004
            .message
            .contains("an internal host: Kubernetes Service default/svc-b")
    );
}

/// The weighted variant alone: 5/95, both subsets backed by a Deployment: nothing to report.
#[test]
fn seed_weighted_files_lint_clean() {
    let resources = seed(&["demo.yaml", "destination-rule-svc-b-weighted.yaml"]);
    assert!(meshroute::lint(&resources).is_empty());
}

// ---------------------------------------------------------------------------------------------
// `meshroute check --lint`

/// The command line (the binary needs the `cli` feature).
#[cfg(feature = "cli")]
mod cli {
    use std::process::{Command, Output};

    const CANARY: [&str; 3] = [
        "examples/seed/demo.yaml",
        "examples/seed/demo-gateway.yaml",
        "examples/seed/destination-rule-svc-b-canary.yaml",
    ];

    fn meshroute(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_meshroute"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    }

    fn stdout(output: &Output) -> String {
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `check --lint` prints the MR findings with file, line and code; plain `check` does not;
    /// lints are warnings, so the exit status stays 0.
    #[test]
    fn check_lint_shows_mr_codes_and_plain_check_does_not() {
        let mut args = vec!["check", "--lint"];
        args.extend(CANARY);
        let out = meshroute(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let text = stdout(&out);
        assert!(
            text.contains(
                "examples/seed/destination-rule-svc-b-canary.yaml:58: warning[MR003]: VirtualService default/svc-b: spec.http[0].route[0].weight: destination svc-b subset v1 gets no traffic"
            ),
            "{text}"
        );
        assert!(text.contains("warning[MR004]"), "{text}");
        assert!(
            text.trim_end()
                .ends_with("0 error(s), 2 warning(s), 0 info"),
            "{text}"
        );

        let plain = meshroute(
            &args
                .iter()
                .copied()
                .filter(|a| *a != "--lint")
                .collect::<Vec<_>>(),
        );
        assert_eq!(plain.status.code(), Some(0));
        let text = stdout(&plain);
        assert!(!text.contains("MR0"), "{text}");
        assert!(
            text.trim_end()
                .ends_with("0 error(s), 0 warning(s), 0 info"),
            "{text}"
        );
    }

    /// `--json` carries the lint findings with their codes; `--deny-warnings` turns them into
    /// exit status 1 like any warning.
    #[test]
    fn check_lint_json_and_deny_warnings() {
        let mut args = vec!["check", "--lint", "--json"];
        args.extend(CANARY);
        let out = meshroute(&args);
        assert_eq!(out.status.code(), Some(0));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let list = value["diagnostics"].as_array().unwrap();
        let codes: Vec<&str> = list.iter().filter_map(|d| d["code"].as_str()).collect();
        assert_eq!(codes, ["MR003", "MR004"]);
        let mr004 = &list[1];
        assert_eq!(mr004["severity"], "warning");
        assert_eq!(mr004["path"], "spec.http[0].match[0].queryParams.name");
        assert_eq!(mr004["line"], 52);

        args.push("--deny-warnings");
        assert_eq!(meshroute(&args).status.code(), Some(1));
    }

    /// The seed folder as a whole lints clean (its weighted file replaces the canary file's
    /// svc-b rules), with and without `--lint`.
    #[test]
    fn check_lint_seed_folder_is_clean() {
        let out = meshroute(&["check", "--lint", "examples/seed/"]);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(
            text.trim_end()
                .ends_with("0 error(s), 0 warning(s), 0 info"),
            "{text}"
        );
    }
}
