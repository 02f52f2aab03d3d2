//! MR001: a match or a rule that never fires because an earlier match of the same VirtualService
//! accepts every request it accepts (without repeating what IST0130 / IST0131 report).

use crate::common::svc_b_routes;
use crate::{assert_one, found, lint, load};

/// A rule whose only match asks for more than an earlier match (same header presence, a
/// longer path) never fires: reported at the rule.
#[test]
fn mr001_rule_whose_match_an_earlier_match_covers() {
    let yaml = svc_b_routes(
        "  - match:
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
",
    );
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
    let yaml = svc_b_routes(
        "  - match:
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
",
    );
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
    let yaml = svc_b_routes(
        "  - match:
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
",
    );
    let d = lint(&yaml);
    assert!(found(&d, "MR001").is_empty(), "{d:#?}");
}

/// One match of a rule covered by an earlier rule is reported at the match; the rule still
/// fires through its other match.
#[test]
fn mr001_single_match_with_a_way_to_fix_it() {
    let yaml = svc_b_routes(
        "  - match:
    - queryParams: {name: {prefix: x}}
    route:
    - destination: {host: svc-b, subset: v2}
  - match:
    - queryParams: {name: {exact: xx}}
      withoutHeaders: {x-debug: {}}
    - uri: {prefix: /debug}
    route:
    - destination: {host: svc-b, subset: v3}
",
    );
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
    let yaml = svc_b_routes(
        "  - name: all
    match:
    - uri: {prefix: /}
    route:
    - destination: {host: svc-b, subset: v2}
  - name: fallback
    route:
    - destination: {host: svc-b, subset: v1}
",
    );
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
    let yaml = svc_b_routes(
        "  - match:
    - uri: {prefix: /API}
      ignoreUriCase: true
    - uri: {exact: /api/users}
    route:
    - destination: {host: svc-b, subset: v2}
  - route:
    - destination: {host: svc-b, subset: v1}
",
    );
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
    let yaml = svc_b_routes(
        "  - match:
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
",
    );
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
    let yaml = svc_b_routes(
        "  - match:
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
",
    );
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
