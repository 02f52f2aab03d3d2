//! Cluster mode against a fake API server (`fake_api.rs`): a scripted sequence of watch events,
//! and after each step the decision a sidecar in `default` would make.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod fake_api;
mod objects;

use std::time::Duration;

use fake_api::FakeApi;
use meshroute::cluster::{ClusterOptions, ClusterSync, SyncStatus};
use meshroute::{SharedMesh, Source};
use objects::*;
use serde_json::{Value, json};

/// Waits (up to 10 s) until every kind is listed and applied.
async fn ready(sync: &ClusterSync) {
    tokio::time::timeout(Duration::from_secs(10), sync.ready())
        .await
        .expect("ready within 10 s")
        .expect("the watchers keep running");
}

/// The subset the canary request (`name=xx`) goes to.
fn canary_subset(sync: &ClusterSync) -> Option<String> {
    decide(sync.mesh(), "http://svc-b:8080/?name=xx", 1).0
}

fn options() -> ClusterOptions {
    ClusterOptions::default()
        .debounce(Duration::from_millis(20))
        .backoff(Duration::from_millis(10), Duration::from_millis(100))
}

/// Waits (up to 10 s) until the sync's status satisfies `done`.
async fn until(sync: &ClusterSync, what: &str, done: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
    let mut status = sync.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| done(s))).await;
    match waited {
        Ok(Ok(status)) => status.clone(),
        _ => panic!("timed out waiting for {what}; status: {:#?}", sync.status()),
    }
}

/// Waits until a decision has the expected answer (changes apply after the debounce window).
async fn until_decided(mesh: &SharedMesh, uri: &str, expected: (Option<&str>, Option<&str>)) {
    for _ in 0..500 {
        let (subset, endpoint) = decide(mesh, uri, 1);
        if (subset.as_deref(), endpoint.as_deref()) == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{uri}: expected {expected:?}, still {:?}",
        decide(mesh, uri, 1)
    );
}

#[tokio::test]
async fn a_scripted_sequence_of_watch_events_gives_a_sidecars_decisions_after_each_step() {
    let api = FakeApi::default();
    api.apply(service());
    api.apply(pod("demo-b-v1-0", "v1", "10.1.0.1"));
    api.apply(endpoint_slice(&[("demo-b-v1-0", "10.1.0.1")]));
    api.apply(destination_rule());
    let sync = ClusterSync::start(api.client(), options());
    let mesh = sync.mesh().clone();
    ready(&sync).await;
    let ready = sync.status();
    assert!(ready.ready && ready.waiting_for.is_empty());
    assert_eq!(
        ready.swaps, 1,
        "the first complete list is one swap: {ready:#?}"
    );
    assert!(ready.diagnostics.is_empty(), "{:#?}", ready.diagnostics);
    // No VirtualService: default routing to any endpoint of svc-b.
    assert_eq!(
        decide(&mesh, "http://svc-b:8080/greet?name=xx", 1),
        (None, Some("10.1.0.1:8080".into()))
    );

    // 1. The VirtualService is created: name=xx is sent to v2, which has no endpoint yet.
    api.apply(canary());
    until_decided(&mesh, "http://svc-b:8080/greet?name=xx", (Some("v2"), None)).await;
    assert_eq!(
        decide(&mesh, "http://svc-b:8080/greet?name=yy", 1),
        (Some("v1".into()), Some("10.1.0.1:8080".into()))
    );
    let swaps = sync.status().swaps;

    // 2. A v2 pod starts and the EndpointSlice lists it: endpoints only, no recompile.
    api.apply(pod("demo-b-v2-0", "v2", "10.1.0.2"));
    api.apply(endpoint_slice(&[
        ("demo-b-v1-0", "10.1.0.1"),
        ("demo-b-v2-0", "10.1.0.2"),
    ]));
    until_decided(
        &mesh,
        "http://svc-b:8080/greet?name=xx",
        (Some("v2"), Some("10.1.0.2:8080")),
    )
    .await;
    let status = sync.status();
    assert_eq!(
        status.swaps, swaps,
        "an endpoints change recompiles nothing: {status:#?}"
    );
    assert!(status.endpoint_updates >= 1);

    // 3. The weights shift: 20/80, then all to v2.
    api.apply(weighted(20, 80));
    until(&sync, "the weighted route", |s| s.swaps > swaps).await;
    let share = v2_share(&mesh, 2000);
    assert!((0.77..0.83).contains(&share), "v2 share {share}");
    let swaps = sync.status().swaps;
    api.apply(weighted(0, 100));
    until(&sync, "all weight on v2", |s| s.swaps > swaps).await;
    assert_eq!(v2_share(&mesh, 200), 1.0);

    // 4. An invalid DestinationRule (Istio's webhook would have refused it) is left out with
    //    its diagnostic; the rest keeps working.
    let swaps = sync.status().swaps;
    api.apply(json!({"apiVersion": ISTIO, "kind": "DestinationRule",
        "metadata": {"name": "svc-c", "namespace": "default"},
        "spec": {"host": "svc-c", "trafficPolicy": {"loadBalancer": {"simple": "FASTEST"}}}}));
    let status = until(&sync, "the invalid rule", |s| s.swaps > swaps).await;
    let errors: Vec<String> = status
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("DestinationRule default/svc-c"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("spec.trafficPolicy.loadBalancer.simple"),
        "{}",
        errors[0]
    );
    assert_eq!(
        decide(&mesh, "http://svc-b:8080/greet?name=yy", 1),
        (Some("v2".into()), Some("10.1.0.2:8080".into()))
    );

    // 5. The VirtualService is deleted: default routing again, to any endpoint of svc-b.
    let swaps = sync.status().swaps;
    api.delete(ISTIO, "VirtualService", "default", "svc-b");
    until(&sync, "the deletion", |s| s.swaps > swaps).await;
    let endpoints: std::collections::BTreeSet<Option<String>> = (0..50)
        .map(|seed| {
            let (subset, endpoint) = decide(&mesh, "http://svc-b:8080/greet?name=xx", seed);
            assert_eq!(subset, None);
            endpoint
        })
        .collect();
    assert_eq!(
        endpoints,
        [Some("10.1.0.1:8080".into()), Some("10.1.0.2:8080".into())].into()
    );
    let request = get("http://svc-b:8080/");
    assert_eq!(
        mesh.load()
            .route(&request, &Source::sidecar("default"))
            .virtual_service(),
        None
    );

    // 6. The API server compacts its history: every watch gets 410 Gone and the watchers list
    //    again; a change made meanwhile is in the new list.
    let lists_before = lists(&api, "virtualservices");
    api.expire();
    api.apply(canary());
    until_decided(
        &mesh,
        "http://svc-b:8080/greet?name=xx",
        (Some("v2"), Some("10.1.0.2:8080")),
    )
    .await;
    until_decided(
        &mesh,
        "http://svc-b:8080/greet?name=yy",
        (Some("v1"), Some("10.1.0.1:8080")),
    )
    .await;
    assert!(
        lists(&api, "virtualservices") > lists_before,
        "a re-list after 410"
    );

    // 7. A dropped connection resumes the watch from the last resource version: the change made
    //    while it was down arrives without a new list.
    let lists_before = lists(&api, "virtualservices");
    api.bookmark();
    api.drop_connections();
    api.apply(weighted(0, 100));
    until_decided(
        &mesh,
        "http://svc-b:8080/greet?name=yy",
        (Some("v2"), Some("10.1.0.2:8080")),
    )
    .await;
    assert_eq!(
        lists(&api, "virtualservices"),
        lists_before,
        "resumed, not re-listed"
    );
    let status = sync.status();
    assert!(status.ready, "{status:#?}");
}

fn get(uri: &str) -> http::Request<()> {
    http::Request::get(uri).body(()).unwrap()
}

/// How many list requests (not watches) the fake answered for a kind.
fn lists(api: &FakeApi, plural: &str) -> usize {
    api.requests()
        .iter()
        .filter(|r| r.contains(&format!("/{plural}")) && !r.contains("watch=true"))
        .count()
}

#[tokio::test]
async fn a_kind_the_server_does_not_serve_is_empty_and_the_rest_is_ready() {
    let api = FakeApi::default();
    api.unserve("sidecars");
    api.apply(service());
    api.apply(destination_rule());
    api.apply(canary());
    let sync = ClusterSync::start(api.client(), options());
    ready(&sync).await;
    assert_eq!(canary_subset(&sync), Some("v2".to_owned()));
}

#[tokio::test]
async fn nothing_is_served_before_every_kind_is_listed() {
    let api = FakeApi::default();
    api.apply(service());
    api.apply(destination_rule());
    api.apply(canary());
    // The mesh a service starts with serves until the cluster's configuration is complete.
    let sync = ClusterSync::start(api.client(), options());
    assert!(!sync.status().ready);
    assert_eq!(canary_subset(&sync), None);
    ready(&sync).await;
    assert_eq!(canary_subset(&sync), Some("v2".to_owned()));
}

#[tokio::test]
async fn namespaces_and_label_selectors_limit_what_is_read() {
    let api = FakeApi::default();
    api.apply(service());
    api.apply(destination_rule());
    let mut labelled = canary();
    labelled["metadata"]["labels"] = json!({"meshroute": "yes"});
    api.apply(labelled);
    let mut other = weighted(0, 100);
    other["metadata"]["namespace"] = json!("other");
    other["spec"]["hosts"] = json!(["svc-b.default.svc.cluster.local"]);
    api.apply(other);
    let sync = ClusterSync::start(
        api.client(),
        options()
            .namespace("default")
            .label_selector("meshroute=yes"),
    );
    ready(&sync).await;
    assert_eq!(canary_subset(&sync), Some("v2".to_owned()));
    assert_eq!(
        decide(sync.mesh(), "http://svc-b:8080/", 1).0.as_deref(),
        Some("v1")
    );
    let requests = api.requests();
    assert!(
        requests.iter().all(|r| r.contains("/namespaces/")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains("virtualservices") && r.contains("labelSelector=meshroute%3Dyes")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains("/services") && !r.contains("labelSelector")),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn a_configuration_listed_once_loads_like_files() {
    let api = FakeApi::default();
    api.apply(service());
    api.apply(pod("demo-b-v1-0", "v1", "10.1.0.1"));
    api.apply(destination_rule());
    api.apply(canary());
    let objects = meshroute::cluster::list_objects(&api.client(), &options())
        .await
        .unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["VirtualService", "DestinationRule", "Service", "Pod"]
    );
    assert!(
        objects
            .iter()
            .all(|o| o["metadata"].get("managedFields").is_none())
    );
    assert_eq!(objects[2]["apiVersion"], "v1");
    let loaded = meshroute::cluster::list(&api.client(), &options())
        .await
        .unwrap();
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let mesh = SharedMesh::new(loaded.compile().unwrap());
    assert_eq!(
        decide(&mesh, "http://svc-b:8080/?name=yy", 1),
        (Some("v1".into()), Some("10.1.0.1:8080".into()))
    );
}

/// `deploy/rbac.yaml` grants exactly what cluster mode asks the API server for: every request a
/// `ClusterSync` and a one-time list make is allowed (resource, verb, and for the MeshConfig
/// ConfigMap its namespace and name), and no rule grants a resource nobody asks for.
#[tokio::test]
async fn the_rbac_of_deploy_grants_exactly_what_cluster_mode_asks_for() {
    use std::collections::BTreeSet;

    let api = FakeApi::default();
    api.apply(service());
    let sync = ClusterSync::start(api.client(), options());
    ready(&sync).await;
    meshroute::cluster::list_objects(&api.client(), &options())
        .await
        .unwrap();
    // (API group, resource, verb), from each request's path and query.
    let mut asked = BTreeSet::new();
    for request in api.requests() {
        let uri = request.split_whitespace().nth(1).unwrap();
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (group, rest) = match parts.as_slice() {
            ["api", _, rest @ ..] => ("", rest),
            ["apis", group, _, rest @ ..] => (*group, rest),
            _ => panic!("{request}"),
        };
        let resource = *rest.last().unwrap();
        if resource == "configmaps" {
            assert_eq!(
                rest,
                ["namespaces", "istio-system", "configmaps"],
                "{request}"
            );
            assert!(
                query.contains("fieldSelector=metadata.name%3Distio"),
                "{request}"
            );
        }
        let verb = if query.contains("watch=true") {
            "watch"
        } else {
            "list"
        };
        asked.insert((group.to_owned(), resource.to_owned(), verb.to_owned()));
    }
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/rbac.yaml")).unwrap();
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let mut granted = BTreeSet::new();
    for document in &documents {
        let kind = document["kind"].as_str().unwrap();
        if kind != "ClusterRole" && kind != "Role" {
            continue;
        }
        for rule in document["rules"].as_array().unwrap() {
            if kind == "Role" {
                assert_eq!(document["metadata"]["namespace"], "istio-system");
                assert_eq!(rule["resourceNames"], json!(["istio"]));
            }
            for group in rule["apiGroups"].as_array().unwrap() {
                for resource in rule["resources"].as_array().unwrap() {
                    for verb in rule["verbs"].as_array().unwrap() {
                        let grant = (
                            group.as_str().unwrap(),
                            resource.as_str().unwrap(),
                            verb.as_str().unwrap(),
                        );
                        granted.insert((
                            grant.0.to_owned(),
                            grant.1.to_owned(),
                            grant.2.to_owned(),
                        ));
                    }
                }
            }
        }
    }
    let missing: Vec<_> = asked.difference(&granted).collect();
    assert!(missing.is_empty(), "asked for but not granted: {missing:?}");
    let resources = |set: &BTreeSet<(String, String, String)>| -> BTreeSet<(String, String)> {
        set.iter().map(|(g, r, _)| (g.clone(), r.clone())).collect()
    };
    assert_eq!(
        resources(&granted),
        resources(&asked),
        "granted beyond what is asked"
    );
    assert!(
        granted
            .iter()
            .all(|(_, _, verb)| ["get", "list", "watch"].contains(&verb.as_str()))
    );
}
