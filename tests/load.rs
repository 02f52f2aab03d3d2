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

/// The seed folder holds comment-only documents and an empty trailing document; both are skipped
/// and nothing else is reported.
#[test]
fn seed_folder_loads_every_resource_without_diagnostics() {
    let loaded = from_path(seed_dir(), &LoadOptions::default()).expect("readable");
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
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
        format!("[{object}, {object}]"),
        format!(r#"{{"apiVersion":"v1","kind":"List","items":[{object}]}}"#),
    ] {
        let loaded = from_str(&text, &LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert!(!loaded.resources.is_empty());
        assert!(matches!(loaded.resources[0].body, Body::VirtualService(_)));
    }
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

#[test]
fn unknown_field_is_a_warning_with_its_path_and_line() {
    let text = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: a
spec:
  hosts: [a]
  http:
  - route:
    - destination:
        host: a
      wieght: 5
";
    let loaded = from_str(text, &LoadOptions::default());
    assert_eq!(
        loaded.resources.len(),
        1,
        "an unknown field does not stop loading"
    );
    let d = &loaded.diagnostics[0];
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.path, "spec.http[0].route[0].wieght");
    assert_eq!(d.line, Some(11));
    assert_eq!(d.name.as_deref(), Some("default/a"));
    assert!(
        d.message.contains("unknown field \"wieght\""),
        "{}",
        d.message
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
