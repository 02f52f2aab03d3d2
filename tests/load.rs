//! Loading manifests: multi-document streams, JSON, folders, unknown fields, bad and hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Instant;

use meshroute::LoadOptions;
use meshroute::config::Body;
use meshroute::{Severity, from_path, from_str};

use common::{seed_dir, seed_file};

/// The seed folder holds comment-only documents and an empty trailing document; both are skipped.
/// It defines the svc-b DestinationRule and VirtualService twice (the canary file, then the
/// weighted one): two warnings, nothing else.
#[test]
fn seed_folder_loads_every_resource_with_its_two_redefinitions() {
    let loaded = from_path(seed_dir(), &LoadOptions::default()).expect("readable");
    let warnings: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.severity, Severity::Warning, "{d}");
            format!(
                "{} {}",
                d.kind.as_deref().unwrap(),
                d.name.as_deref().unwrap()
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            "DestinationRule default/svc-b-destination-rule",
            "VirtualService default/svc-b"
        ]
    );
    let mut kinds: Vec<String> = loaded
        .resources
        .iter()
        .map(|r| format!("{} {}", r.kind(), r.key()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "Deployment default/demo-a-v1",
            "Deployment default/demo-b-v1",
            "Deployment default/demo-b-v2",
            "DestinationRule default/svc-b-destination-rule",
            "DestinationRule default/svc-b-destination-rule",
            "Gateway default/demo-gateway",
            "Service default/svc-a",
            "Service default/svc-b",
            "VirtualService default/demo",
            "VirtualService default/svc-b",
            "VirtualService default/svc-b",
        ]
    );
}

#[test]
fn origin_names_file_and_line_of_each_document() {
    let loaded = from_path(seed_file("demo-gateway.yaml"), &LoadOptions::default()).unwrap();
    let lines: Vec<_> = loaded.resources.iter().map(|r| r.origin.line).collect();
    assert_eq!(lines, [Some(1), Some(16)]);
    assert!(
        loaded.resources[0]
            .origin
            .file
            .as_deref()
            .unwrap()
            .ends_with("demo-gateway.yaml")
    );
}

#[test]
fn json_object_array_and_list_are_accepted() {
    let object = r#"{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"a"},"spec":{"hosts":["a"],"http":[{"route":[{"destination":{"host":"a"}}]}]}}"#;
    for text in [
        object.to_owned(),
        format!(
            "[{object}, {}]",
            object.replace(r#""name":"a""#, r#""name":"b""#)
        ),
        format!(r#"{{"apiVersion":"v1","kind":"List","items":[{object}]}}"#),
    ] {
        let loaded = from_str(&text, &LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert!(!loaded.resources.is_empty());
        assert!(matches!(loaded.resources[0].body, Body::VirtualService(_)));
    }
    // Each item of a JSON array is a document: a redefinition names the item.
    let loaded = from_str(&format!("[{object}, {object}]"), &LoadOptions::default());
    assert_eq!(loaded.resources[1].origin.document, 1);
    assert!(
        loaded.diagnostics[0]
            .message
            .contains("the one at line 1 (document 1)"),
        "{}",
        loaded.diagnostics[0]
    );
}

#[test]
fn namespace_defaults_to_the_load_option() {
    let loaded = from_str(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspec: {host: a}\n",
        &LoadOptions::default().default_namespace("prod"),
    );
    assert_eq!(loaded.resources[0].key(), "prod/a");
}

#[test]
fn all_three_istio_versions_share_one_schema() {
    for version in ["v1alpha3", "v1beta1", "v1"] {
        let loaded = from_str(
            &format!(
                "apiVersion: networking.istio.io/{version}\nkind: DestinationRule\nmetadata: {{name: a}}\nspec: {{host: a}}\n"
            ),
            &LoadOptions::default(),
        );
        assert!(loaded.diagnostics.is_empty(), "{version}");
        assert!(matches!(loaded.resources[0].body, Body::DestinationRule(_)));
    }
    let loaded = from_str(
        "apiVersion: networking.istio.io/v9\nkind: DestinationRule\nmetadata: {name: a}\nspec: {host: a}\n",
        &LoadOptions::default(),
    );
    assert_eq!(loaded.diagnostics[0].path, "apiVersion");
    assert!(
        loaded.diagnostics[0]
            .message
            .contains("unsupported apiVersion")
    );
}

/// Kinds meshroute does not route on are kept, marked ignored, and not reported.
#[test]
fn unknown_kinds_are_kept_as_ignored() {
    let loaded = from_str(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: a}\nspec: {action: DENY}\n",
        &LoadOptions::default(),
    );
    assert!(loaded.diagnostics.is_empty());
    assert!(
        matches!(&loaded.resources[0].body, Body::Ignored { kind } if kind == "AuthorizationPolicy")
    );
}

/// A YAML document that is no Kubernetes object — a Helm `Chart.yaml` (an apiVersion, no
/// kind), a `values.yaml` — is skipped with a note; one that looks like a manifest (kind,
/// metadata or spec) but lacks its apiVersion or kind stays an error.
#[test]
fn documents_that_are_no_kubernetes_objects_are_skipped_with_a_note() {
    let chart = "apiVersion: v2\nname: shop\nversion: 1.2.0\n";
    let values = "replicaCount: 2\nimage: {repository: shop, tag: '1.0'}\n";
    for text in [chart, values] {
        let loaded = from_str(text, &LoadOptions::default());
        assert!(loaded.resources.is_empty());
        assert_eq!(loaded.diagnostics.len(), 1, "{:?}", loaded.diagnostics);
        assert_eq!(loaded.diagnostics[0].severity, Severity::Info);
        assert!(
            loaded.diagnostics[0]
                .message
                .contains("not a Kubernetes object"),
            "{}",
            loaded.diagnostics[0].message
        );
    }
    for broken in [
        "kind: VirtualService\nmetadata: {name: a}\nspec: {hosts: [a]}\n",
        "apiVersion: networking.istio.io/v1\nspec: {hosts: [a]}\n",
    ] {
        let loaded = from_str(broken, &LoadOptions::default());
        assert_eq!(loaded.diagnostics.len(), 1);
        assert_eq!(loaded.diagnostics[0].severity, Severity::Error, "{broken}");
    }
}

/// A routing test document (`testCases:` of istio-config-validator, `tests:` of Envoy's
/// router_check_tool, without apiVersion or kind) may sit beside the manifests it tests: the
/// loader skips it without a note (`meshroute test` reads it), and loads the rest.
#[test]
fn routing_test_documents_are_skipped_without_a_note() {
    let text = "testCases:\n- description: a\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\ntests: []\n---\n{\"tests\": [{\"test_name\": \"b\"}]}\n";
    let loaded = from_str(text, &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    assert_eq!(loaded.resources.len(), 1);
    // With a kind, it is a manifest (here one that lacks its apiVersion): an error.
    let loaded = from_str("kind: Service\ntests: []\n", &LoadOptions::default());
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].severity, Severity::Error);
}

/// A field the Istio API does not have is an error naming the resource, the field path and the
/// line: `kubectl apply` with its default `--validate=strict` rejects the object (server-side
/// field validation: "strict decoding error: unknown field"), and Istio's admission webhook
/// rejects unknown top-level fields (`checkFields`). The typo below would otherwise turn the
/// match into a catch-all.
#[test]
fn unknown_field_is_an_error_with_its_path_and_line() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: a
spec:
  hosts: [a]
  http:
  - match:
    - queryParam:
        name: {exact: xx}
    route:
    - destination:
        host: a
      wieght: 5
  - route:
    - destination: {host: a, subset: v1}
";
    let loaded = from_str(text, &LoadOptions::default());
    assert!(loaded.resources.is_empty(), "the resource is refused");
    let found: Vec<(&str, Option<u32>, Severity)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.path.as_str(), d.line, d.severity))
        .collect();
    assert_eq!(
        found,
        [
            ("spec.http[0].match[0].queryParam", Some(9), Severity::Error),
            ("spec.http[0].route[0].wieght", Some(14), Severity::Error),
        ]
    );
    let d = &loaded.diagnostics[1];
    assert_eq!(d.name.as_deref(), Some("default/a"));
    assert_eq!(d.kind.as_deref(), Some("VirtualService"));
    assert!(
        d.rejects() && d.code.is_none(),
        "a load error, not a finding"
    );
    assert!(
        d.to_string().starts_with(
            "line 14: error: VirtualService default/a: spec.http[0].route[0].wieght: unknown field \"wieght\": Istio's API has no such field here"
        ),
        "{d}"
    );
    let error = from_str(text, &LoadOptions::default())
        .compile()
        .unwrap_err();
    assert_eq!(error.errors().count(), 2);
}

/// `LoadOptions::allow_unknown_fields` (the CLI's `--allow-unknown-fields`) makes the unknown
/// field a warning and loads the rest of the resource, as `kubectl apply --validate=warn` does.
#[test]
fn allowed_unknown_field_is_a_warning_and_ignored() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a]
  http:
  - route:
    - destination: {host: a}
      wieght: 5
";
    let options = LoadOptions::default().allow_unknown_fields(true);
    assert!(options.allow_unknown_fields);
    let loaded = from_str(text, &options);
    assert_eq!(loaded.resources.len(), 1);
    assert_eq!(loaded.diagnostics.len(), 1);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.path, "spec.http[0].route[0].wieght");
    assert_eq!(d.line, Some(9));
    assert!(d.message.contains("it is ignored"), "{}", d.message);
    assert!(from_str(text, &options).compile().is_ok());
}

/// Unknown fields are found wherever they are: with a `null` value (the API server prunes null
/// *known* fields only), inside a `oneof` message such as `StringMatch`, at the top level beside
/// `spec` (Istio's webhook `checkFields` accepts `apiVersion`, `kind`, `metadata`, `spec` and
/// `status` only), in JSON. Kubernetes kinds keep what meshroute does not model.
#[test]
fn unknown_fields_anywhere_in_an_istio_resource() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spce:
  hosts: [b]
status: {}
spec:
  hosts: [a]
  http:
  - match:
    - uri: {exakt: /a}
      queryParam:
    route:
    - destination: {host: a}
";
    let loaded = from_str(text, &LoadOptions::default());
    let paths: Vec<&str> = loaded.diagnostics.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spce",
            "spec.http[0].match[0].uri.exakt",
            "spec.http[0].match[0].queryParam"
        ]
    );
    assert!(loaded.diagnostics.iter().all(|d| d.is_error()));
    let json = r#"{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"a"},"spec":{"host":"a","subsets":[{"name":"v1","lables":{"version":"v1"}}]}}"#;
    let loaded = from_str(json, &LoadOptions::default());
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].path, "spec.subsets[0].lables");
    // A Kubernetes Service with fields meshroute does not model loads without a word.
    let service = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80, appProtocol: http}]\n  sessionAffinity: None\nextra: 1\n";
    assert!(
        from_str(service, &LoadOptions::default())
            .diagnostics
            .is_empty()
    );
}

#[test]
fn wrong_type_is_an_error_with_path_and_line_and_other_documents_still_load() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a]
  http:
  - route:
    - destination: {host: a}
      weight: abc
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b}
spec: {host: b}
";
    let loaded = from_str(text, &LoadOptions::default());
    assert_eq!(loaded.resources.len(), 1);
    let d = &loaded.diagnostics[0];
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.kind.as_deref(), Some("VirtualService"));
    assert_eq!(d.path, "spec.http[0].route[0].weight");
    assert_eq!(d.line, Some(9));
    assert!(d.message.contains("invalid type"), "{}", d.message);
}

/// Every value of the wrong type is reported with its path and line, not only the first (as
/// `kubectl apply` lists every schema violation of an object); the document produces no
/// resource, so nothing of it is half applied.
#[test]
fn every_wrong_type_in_a_document_is_reported() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a, 5]
  http:
  - timeout: soon
    route:
    - destination: {host: a, port: {number: eighty}}
      weight: abc
    - destination: {host: b}
      weight: [1]
  - retries: {attempts: many}
    route:
    - destination: {host: a}
";
    let loaded = from_str(text, &LoadOptions::default());
    assert!(loaded.resources.is_empty(), "nothing half applied");
    let found: Vec<(&str, Option<u32>)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.path.as_str(), d.line))
        .collect();
    assert_eq!(
        found,
        [
            ("spec.hosts[1]", Some(5)),
            ("spec.http[0].timeout", Some(7)),
            ("spec.http[0].route[0].destination.port.number", Some(9)),
            ("spec.http[0].route[0].weight", Some(10)),
            ("spec.http[0].route[1].weight", Some(12)),
            ("spec.http[1].retries.attempts", Some(13)),
        ]
    );
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Error
                && d.kind.as_deref() == Some("VirtualService")
                && d.name.as_deref() == Some("default/a"))
    );
    assert!(
        loaded.diagnostics[1].message.contains("invalid duration"),
        "{}",
        loaded.diagnostics[1]
    );
}

/// A document with thousands of wrong values is cut short after 50 errors, quickly, wherever
/// the errors are (each round walks the whole document again).
#[test]
fn errors_in_one_document_are_bounded() {
    let good = (0..50_000).map(|i| format!("h{i}"));
    let late: Vec<String> = good.chain((0..100).map(|i| i.to_string())).collect();
    let text = format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: a}}\nspec:\n  hosts: [{}]\n",
        late.join(", ")
    );
    let start = Instant::now();
    let loaded = from_str(&text, &LoadOptions::default());
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
    assert_eq!(loaded.diagnostics.len(), 51);
    assert_eq!(loaded.diagnostics[1].path, "spec.hosts[50000]");

    let hosts: Vec<String> = (0..5_000).map(|i| i.to_string()).collect();
    let text = format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: a}}\nspec:\n  hosts: [{}]\n",
        hosts.join(", ")
    );
    let start = Instant::now();
    let loaded = from_str(&text, &LoadOptions::default());
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(loaded.diagnostics.len(), 51);
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.path == "spec" && d.message.contains("more errors not shown"))
    );
}

#[test]
fn syntax_error_names_the_line() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n   bad: [\n";
    let loaded = from_str(text, &LoadOptions::default());
    assert_eq!(loaded.resources.len(), 0);
    let d = &loaded.diagnostics[0];
    assert!(d.message.starts_with("invalid YAML"), "{}", d.message);
    assert!(d.line.is_some_and(|l| l >= 4), "{d:?}");
}

#[test]
fn missing_kind_and_scalar_documents_are_errors() {
    for text in ["metadata: {name: a}\n", "just a string\n", "- a\n- b\n"] {
        let loaded = from_str(text, &LoadOptions::default());
        assert_eq!(loaded.diagnostics.len(), 1, "{text}");
        assert!(loaded.diagnostics[0].is_error());
    }
}

/// "Billion laughs": nine levels of nine aliases would expand to 387 million nodes.
#[test]
fn alias_bomb_fails_fast() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let start = Instant::now();
    let loaded = from_str(&text, &LoadOptions::default());
    assert!(start.elapsed().as_secs() < 5);
    assert!(loaded.has_errors());
    assert!(loaded.diagnostics[0].message.starts_with("invalid YAML"));
}

#[test]
fn deep_nesting_fails_fast() {
    for text in [
        "[".repeat(10_000),
        "a:\n b:\n".to_owned() + &"{x: ".repeat(10_000),
    ] {
        let start = Instant::now();
        let loaded = from_str(&text, &LoadOptions::default());
        assert!(start.elapsed().as_secs() < 5);
        assert!(loaded.has_errors());
    }
    let json = "[".repeat(10_000);
    assert!(from_str(&json, &LoadOptions::default()).has_errors());
}

#[test]
fn oversized_document_is_refused_before_parsing() {
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  x: \"{}\"\n",
        "a".repeat(50 << 20)
    );
    let start = Instant::now();
    let loaded = from_str(&big, &LoadOptions::default());
    assert!(start.elapsed().as_secs() < 5);
    assert!(
        loaded.diagnostics[0].message.contains("byte limit"),
        "{}",
        loaded.diagnostics[0].message
    );
}

#[test]
fn unreadable_path_is_an_io_error() {
    assert!(from_path("/nonexistent/meshroute", &LoadOptions::default()).is_err());
}

/// `directResponse.body.bytes` is protobuf `bytes`: base64 as protobuf's JSON mapping reads it
/// (standard or URL-safe alphabet, padding as the length requires), decoded when the resource is
/// loaded. Text that is not base64 is an error at its field path, as Istio rejects it (a decoder
/// that skipped invalid characters used to turn it into another body).
#[test]
fn direct_response_bytes_are_base64_checked_at_load() {
    let vs = |bytes: &str| {
        format!(
            "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: r}}
spec:
  hosts: [svc-b]
  http:
  - directResponse:
      status: 200
      body:
        bytes: \"{bytes}\"
"
        )
    };
    let loaded = from_str(&vs("aGVsbG8*"), &LoadOptions::default());
    assert!(loaded.resources.is_empty());
    let error = &loaded.diagnostics[0];
    assert_eq!(error.severity, Severity::Error);
    assert_eq!(error.path, "spec.http[0].directResponse.body.bytes");
    assert_eq!(error.line, Some(10));
    assert!(error.message.contains("invalid base64"), "{error}");

    for (text, body) in [("aGVsbG8=", "hello"), ("aGVsbG8", "hello"), ("LV8-", "-_>")] {
        let mesh = from_str(&vs(text), &LoadOptions::default())
            .compile()
            .unwrap();
        let request = http::Request::get("http://svc-b/").body(()).unwrap();
        let decision = mesh.route(&request, &meshroute::Source::default());
        let response = decision.direct_response().unwrap();
        assert_eq!(response.body(), Some(body.as_bytes()), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// `null` is unset
// ---------------------------------------------------------------------------------------------

/// What a load produced, without the document texts: the resources' metadata, bodies and
/// places, the load diagnostics, and what validation and analysis say about the resources.
#[derive(Debug, PartialEq)]
struct Outcome {
    resources: Vec<(
        String,
        meshroute::config::ObjectMeta,
        Body,
        Option<u32>,
        usize,
    )>,
    load: Vec<meshroute::Diagnostic>,
    /// `check`'s diagnostics without their lines: a finding about a field that is `null` in one
    /// text and missing in the other is placed on the `null` key's line in the first.
    check: Vec<meshroute::Diagnostic>,
}

fn outcome(text: &str) -> Outcome {
    let loaded = from_str(text, &LoadOptions::default());
    let mut check = meshroute::check(&loaded.resources);
    for d in &mut check {
        d.line = None;
    }
    Outcome {
        resources: loaded
            .resources
            .iter()
            .map(|r| {
                (
                    r.api_version.clone(),
                    r.metadata.clone(),
                    r.body.clone(),
                    r.origin.line,
                    r.origin.document,
                )
            })
            .collect(),
        load: loaded.diagnostics,
        check,
    }
}

/// The documents of `tests/fixtures/every-field.yaml`.
fn every_field() -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(&common::fixture("every-field")).unwrap()
}

/// The kitchen-sink fixture loads without a diagnostic, and sets every field of the Istio models
/// somewhere (every `parent.field` that is `null`, an empty list or an empty map once loaded and
/// serialized again is set at another place), so that the property below nulls every field.
#[test]
fn every_field_fixture_sets_every_field() {
    use std::collections::BTreeSet;

    let loaded = from_str(&common::fixture("every-field"), &LoadOptions::default());
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.resources.len(), 9);
    /// Sorts every `parent.field` of `value` into `set` or `unset`.
    fn walk(
        value: &serde_json::Value,
        parent: &str,
        set: &mut BTreeSet<String>,
        unset: &mut BTreeSet<String>,
    ) {
        let serde_json::Value::Object(map) = value else {
            if let serde_json::Value::Array(items) = value {
                for item in items {
                    walk(item, parent, set, unset);
                }
            }
            return;
        };
        for (key, member) in map {
            let empty = match member {
                serde_json::Value::Null => true,
                serde_json::Value::Array(items) => items.is_empty(),
                serde_json::Value::Object(map) => map.is_empty(),
                _ => false,
            };
            let name = format!("{parent}.{key}");
            if empty {
                unset.insert(name);
            } else {
                set.insert(name);
            }
            walk(member, key, set, unset);
        }
    }
    let (mut set, mut unset) = (BTreeSet::new(), BTreeSet::new());
    for resource in &loaded.resources {
        let spec = match &resource.body {
            Body::VirtualService(vs) => serde_json::to_value(vs),
            Body::DestinationRule(dr) => serde_json::to_value(dr),
            Body::Gateway(gw) => serde_json::to_value(gw),
            Body::ServiceEntry(se) => serde_json::to_value(se),
            Body::WorkloadEntry(we) => serde_json::to_value(we),
            _ => continue,
        };
        walk(&spec.unwrap(), resource.kind(), &mut set, &mut unset);
    }
    let missing: Vec<&String> = unset.difference(&set).collect();
    assert!(
        missing.is_empty(),
        "fields the fixture never sets: {missing:#?}"
    );
}

/// protobuf's JSON mapping (<https://protobuf.dev/programming-guides/json/>): "null is an
/// accepted value for all field types and treated as the default value of the corresponding
/// field type"; the Kubernetes API server prunes null members (apiextensions-apiserver
/// `PruneNonNullableNullsWithoutDefaults`) and `kubectl apply` treats null as "not set". So a
/// document with any set of members (at any depth: fields, map entries, members of list items)
/// set to `null` loads exactly as the document without them: same resources, same load
/// diagnostics, same validation and analysis findings. Checked for YAML (`key:`, `key: ~` and
/// `key: null`, each against the same text with the member replaced by a comment, so that lines
/// match) and for JSON.
#[test]
fn null_member_loads_as_if_absent_property() {
    use proptest::prelude::*;

    let docs = every_field();
    let strategy = (0..docs.len()).prop_flat_map(|index| {
        let members = common::nulls::count_members(&docs[index]);
        (
            Just(index),
            1u8..64,
            prop::collection::vec(any::<u8>(), members),
        )
    });
    common::runner(96, 41)
        .run(&strategy, |(index, density, bytes)| {
            let doc = &docs[index];
            // apiVersion and kind stay: without them there is no resource to compare. So does
            // the first member (member 0; keys are emitted in name order, so `addressType` of
            // an EndpointSlice): the document starts on its line, the resource's line.
            let mut keep = common::nulls::top_level(doc, &["apiVersion", "kind"]);
            keep.push(0);
            let edits: common::nulls::Edits = bytes
                .iter()
                .enumerate()
                .filter(|(i, b)| **b < density && !keep.contains(i))
                .map(|(i, b)| (i, b % 3))
                .collect();
            let nulled = common::nulls::to_yaml(doc, &edits, false);
            let removed = common::nulls::to_yaml(doc, &edits, true);
            prop_assert_eq!(outcome(&nulled), outcome(&removed), "YAML:\n{}", nulled);
            let nulled = common::nulls::edited(doc, &edits, false).to_string();
            let removed = common::nulls::edited(doc, &edits, true).to_string();
            prop_assert_eq!(outcome(&nulled), outcome(&removed), "JSON: {}", nulled);
            Ok(())
        })
        .unwrap();
}

/// The emitter the property uses writes the fixture back as it was read (no edits): the
/// property compares what it means to compare.
#[test]
fn null_property_emitter_round_trips() {
    for doc in every_field() {
        let text = common::nulls::to_yaml(&doc, &Default::default(), false);
        let again: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(again, doc, "{text}");
    }
}

/// The null spellings of issue #10, each next to the text without the key (protobuf JSON: null
/// is the default value; YAML: a key with nothing after it is null).
#[test]
fn null_spellings_load_as_absent() {
    let vs = |http: &str| {
        format!(
            "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-b}}
spec:
  hosts: [svc-b]
{http}"
        )
    };
    let cases = [
        // `- match:` with nothing after it: the route has no match, a catch-all.
        (
            "  http:\n  - match:\n    route:\n    - destination: {host: svc-b}\n",
            "  http:\n  - route:\n    - destination: {host: svc-b}\n",
        ),
        (
            "  exportTo:\n  http:\n  - match: [{headers: null, uri: {prefix: /a}}]\n    retries: ~\n    route:\n    - destination: {host: svc-b, port: null}\n      weight: ~\n",
            "  http:\n  - match: [{uri: {prefix: /a}}]\n    route:\n    - destination: {host: svc-b}\n",
        ),
        (
            "  gateways: null\n  http:\n  - route: [{destination: {host: svc-b}, headers: {request: {set: {x-a: null, x-b: \"1\"}}}}]\n",
            "  http:\n  - route: [{destination: {host: svc-b}, headers: {request: {set: {x-b: \"1\"}}}}]\n",
        ),
    ];
    for (nulled, absent) in cases {
        let a = from_str(&vs(nulled), &LoadOptions::default());
        let b = from_str(&vs(absent), &LoadOptions::default());
        assert!(a.diagnostics.is_empty(), "{nulled}: {:#?}", a.diagnostics);
        assert_eq!(a.resources.len(), 1);
        assert_eq!(a.resources[0].body, b.resources[0].body, "{nulled}");
        // Valid as Istio validates it (analysis would add IST0101: no Service for svc-b here).
        let errors: Vec<_> = meshroute::check(&a.resources)
            .into_iter()
            .filter(|d| d.code.is_none())
            .collect();
        assert!(errors.is_empty(), "{nulled}: {errors:#?}");
    }
    let dr = from_str(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a, labels: ~}\nspec:\n  host: a\n  subsets: ~\n  trafficPolicy:\n",
        &LoadOptions::default(),
    );
    assert!(dr.diagnostics.is_empty(), "{:#?}", dr.diagnostics);
    match &dr.resources[0].body {
        Body::DestinationRule(dr) => {
            assert!(dr.subsets.is_empty());
            assert!(dr.traffic_policy.is_none());
        }
        other => panic!("{other:?}"),
    }
    // Kubernetes kinds and metadata read null the same way.
    let svc = from_str(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ~, annotations: null}\nspec:\n  selector:\n  ports:\n  - {port: 80, name: ~}\n",
        &LoadOptions::default(),
    );
    assert!(svc.diagnostics.is_empty(), "{:#?}", svc.diagnostics);
    assert_eq!(svc.resources[0].key(), "default/a");
}

/// A `null` list item is not a field: the Kubernetes API server prunes null members only, then
/// rejects the item against the CRD schema (kube-openapi `typeValidator`: "must be of type
/// string"), and protobuf's `protojson` rejects it too. So `hosts: [a, null]` and a dangling `- `
/// are errors at the item's path, and the resource is not loaded.
#[test]
fn null_list_item_is_an_error_at_its_path() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a, null]
  http:
  - match:
    -
    route:
    - destination: {host: a}
";
    let loaded = from_str(text, &LoadOptions::default());
    assert!(loaded.resources.is_empty());
    let found: Vec<(&str, Option<u32>)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.path.as_str(), d.line))
        .collect();
    assert_eq!(
        found,
        [
            ("spec.hosts[1]", Some(5)),
            ("spec.http[0].match[0]", Some(8))
        ]
    );
    assert!(
        loaded.diagnostics.iter().all(
            |d| d.severity == Severity::Error && d.message.contains("list item cannot be null")
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Resources defined twice
// ---------------------------------------------------------------------------------------------

/// Two definitions of one kind/namespace/name: the later replaces the earlier (`kubectl apply`
/// of the files in order keeps the last one applied), and the loader warns, naming both places
/// (in a folder: `file:line` of each).
#[test]
fn redefinition_across_files_warns_with_both_places() {
    let loaded = from_path(seed_dir(), &LoadOptions::default()).unwrap();
    let d = &loaded.diagnostics[0];
    assert!(
        d.file
            .as_deref()
            .unwrap()
            .ends_with("destination-rule-svc-b-weighted.yaml")
    );
    assert_eq!(d.line, Some(3));
    assert_eq!(d.path, "");
    assert!(
        d.message
            .starts_with("defined again: this definition replaces the one at ")
            && d.message.contains("destination-rule-svc-b-canary.yaml:1,"),
        "{}",
        d.message
    );
    // The later one takes effect.
    let effective = meshroute::config::effective(&loaded.resources);
    let dr = effective
        .iter()
        .find(|r| r.kind() == "DestinationRule")
        .unwrap();
    assert!(
        dr.origin
            .file
            .as_deref()
            .unwrap()
            .ends_with("weighted.yaml")
    );
    // A redefinition is a warning: the configuration compiles.
    assert!(loaded.compile().is_ok());
}

/// In one text without a file the places are lines and document numbers; a third definition is
/// reported against the second, the one it replaces; the same name in another namespace or of
/// another kind is another resource.
#[test]
fn redefinition_in_one_text_names_lines_and_documents() {
    let dr = |namespace: &str, host: &str| {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: a, namespace: {namespace}}}\nspec: {{host: {host}}}\n"
        )
    };
    let vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: a}\nspec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n";
    let text = [
        dr("default", "h1"),
        dr("other", "h2"),
        vs.to_owned(),
        dr("default", "h3"),
        dr("default", "h4"),
    ]
    .join("---\n");
    let loaded = from_str(&text, &LoadOptions::default());
    let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "line 16: warning: DestinationRule default/a: defined again: this definition replaces the one at line 1 (document 1), as applying the manifests in order would",
            "line 21: warning: DestinationRule default/a: defined again: this definition replaces the one at line 16 (document 4), as applying the manifests in order would",
        ]
    );
    let effective = meshroute::config::effective(&loaded.resources);
    let hosts: Vec<&str> = effective
        .iter()
        .filter_map(|r| match &r.body {
            Body::DestinationRule(dr) => Some(dr.host.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        hosts,
        ["h4", "h2"],
        "the last definition, in the first one's place"
    );
}

/// `Loaded::extend` (how the CLI and `Simulation::load` put several paths together) warns about
/// a resource that replaces one loaded before, once; resources built in Rust and handed to
/// `compile` get no warning (only the loader knows their places) and the later still wins.
#[test]
fn redefinition_across_extend_is_reported_once() {
    let text = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\nspec: {host: a}\n";
    let mut loaded = meshroute::from_str_named(text, "one.yaml", &LoadOptions::default());
    loaded.extend(meshroute::from_str_named(
        text,
        "two.yaml",
        &LoadOptions::default(),
    ));
    let shown: Vec<String> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "two.yaml:1: warning: DestinationRule default/a: defined again: this definition replaces the one at one.yaml:1, as applying the manifests in order would"
        ]
    );
    loaded.extend(meshroute::Loaded::default());
    assert_eq!(loaded.diagnostics.len(), 1, "nothing reported twice");
    let mesh = meshroute::compile(loaded.resources).unwrap();
    assert!(mesh.diagnostics().is_empty(), "{:?}", mesh.diagnostics());
}

/// `documents` small resources, as a large mesh has them: VirtualServices (a third exported to
/// their own namespace only, a tenth bound to a gateway, a few claiming a host twice), their
/// Services, DestinationRules with subsets, gateways and wildcard ServiceEntries, across 50
/// namespaces.
fn large_mesh(documents: usize) -> String {
    let mut text = String::with_capacity(documents * 300);
    let services = documents / 4;
    let rules = documents / 8;
    let gateways = 50;
    let entries = 10;
    let virtual_services = documents - services - rules - gateways - entries;
    for i in 0..virtual_services {
        let ns = i % 50;
        let export = if i % 3 == 0 { "\n  exportTo: [.]" } else { "" };
        let (hosts, gateways) = if i % 10 == 0 {
            (
                format!("[svc-{i}.example.com]"),
                format!("\n  gateways: [gw-{ns}]"),
            )
        } else if i % 1000 == 1 {
            // Claimed again by the next one: IST0109.
            (format!("[svc-{i}, svc-{}]", i + 1), String::new())
        } else {
            (format!("[svc-{i}]"), String::new())
        };
        text.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: vs-{i}, namespace: ns-{ns}}}\nspec:\n  hosts: {hosts}{gateways}{export}\n  http:\n  - match: [{{uri: {{prefix: /v{i}}}}}]\n    route: [{{destination: {{host: svc-{i}, subset: v1, port: {{number: 80}}}}}}]\n  - route: [{{destination: {{host: svc-{i}, port: {{number: 80}}}}}}]\n"
        ));
    }
    for i in 0..services {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: ns-{}}}\nspec:\n  ports: [{{port: 80, name: http}}]\n  selector: {{app: svc-{i}}}\n",
            i % 50
        ));
    }
    for i in 0..rules {
        text.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: svc-{i}, namespace: ns-{}}}\nspec:\n  host: svc-{i}\n  subsets: [{{name: v1, labels: {{version: v1}}}}]\n",
            i % 50
        ));
    }
    for i in 0..gateways {
        text.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {{name: gw-{i}, namespace: ns-{i}}}\nspec:\n  servers: [{{port: {{number: 80, name: http, protocol: HTTP}}, hosts: ['*/*.example.com']}}]\n"
        ));
    }
    for i in 0..entries {
        text.push_str(&format!(
            "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {{name: se-{i}, namespace: ns-{i}}}\nspec:\n  hosts: ['*.ext{i}.example.org']\n  ports: [{{number: 443, name: tls, protocol: TLS}}]\n  resolution: NONE\n"
        ));
    }
    text
}

/// Loading and checking grow linearly with the number of documents: 20,000 small resources
/// (5 MB) load and check within a bound a debug build meets with room to spare, where every
/// step that compares each resource with every other (redefinitions, host conflicts, the
/// lookup of each destination's service and subset, each gateway reference) would take
/// minutes. The release build checks 71,000 in seconds (see CHANGELOG.md).
#[test]
fn twenty_thousand_documents_load_and_check_in_linear_time() {
    let text = large_mesh(20_000);
    let start = Instant::now();
    let loaded = from_str(&text, &LoadOptions::default());
    let load = start.elapsed();
    let diagnostics = meshroute::check(&loaded.resources);
    let total = start.elapsed();
    eprintln!(
        "{} bytes, {} resources: loaded in {load:?}, checked in {:?}; {} load and {} check diagnostics",
        text.len(),
        loaded.resources.len(),
        total - load,
        loaded.diagnostics.len(),
        diagnostics.len()
    );
    assert_eq!(loaded.resources.len(), 20_000);
    assert!(
        loaded.diagnostics.is_empty(),
        "{:?}",
        loaded.diagnostics.first()
    );
    assert!(!diagnostics.is_empty());
    assert!(total.as_secs() < 30, "took {total:?}");
}
