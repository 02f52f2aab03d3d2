//! `--cluster` and `meshroute dump --cluster`: the binary reads a cluster through a kubeconfig
//! that points at the fake API server of `tests/cluster/fake_api.rs`, served on loopback.

use std::path::PathBuf;

use serde_json::json;

#[path = "../cluster/fake_api.rs"]
mod fake_api;
#[path = "../cluster/objects.rs"]
mod objects;

use fake_api::FakeApi;
use objects::*;

/// A fake cluster with the seed's svc-b (canary VirtualService) in `default` and a different
/// VirtualService for svc-b in `other`, and a kubeconfig pointing at it (context namespace
/// `default`).
fn cluster(name: &str) -> (FakeApi, PathBuf) {
    let api = FakeApi::default();
    api.apply(service());
    api.apply(pod("demo-b-v1-0", "v1", "10.1.0.1"));
    api.apply(pod("demo-b-v2-0", "v2", "10.1.0.2"));
    api.apply(endpoint_slice(&[
        ("demo-b-v1-0", "10.1.0.1"),
        ("demo-b-v2-0", "10.1.0.2"),
    ]));
    api.apply(destination_rule());
    api.apply(canary());
    let mut other = weighted(0, 100);
    other["metadata"]["namespace"] = json!("other");
    other["metadata"]["name"] = json!("svc-b-from-other");
    other["spec"]["hosts"] = json!(["svc-b.default.svc.cluster.local"]);
    other["spec"]["http"][0]["route"][1]["destination"]["host"] =
        json!("svc-b.default.svc.cluster.local");
    api.apply(other);
    let address = api.serve();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-cluster-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: 'http://{address}'}}
contexts:
- name: fake
  context: {{cluster: fake, user: fake, namespace: default}}
- name: fake-other
  context: {{cluster: fake, user: fake, namespace: other}}
current-context: fake
users:
- name: fake
  user: {{}}
"
        ),
    )
    .unwrap();
    (api, kubeconfig)
}

fn run(kubeconfig: &PathBuf, args: &[&str]) -> (String, String, Option<i32>) {
    // SAFETY-free: the child gets the variable, this process is untouched.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meshroute"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.code(),
    )
}

/// The subset of `route -o json`'s decision.
fn subset(out: &str) -> String {
    let report: serde_json::Value = serde_json::from_str(out).unwrap();
    report["destination"]["subset"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn route_cluster_answers_for_the_cluster_as_it_is() {
    let (api, kubeconfig) = cluster("route");
    let (out, err, code) = run(
        &kubeconfig,
        &[
            "route",
            "--cluster",
            "--request",
            "GET http://svc-b:8080/greet?name=xx",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["destination"]["subset"], "v2", "{out}");
    assert_eq!(report["endpoint"]["address"], "10.1.0.2:8080", "{out}");
    // The context's namespace only: the VirtualService in `other` was not read.
    let requests = api.requests();
    assert!(
        requests.iter().all(|r| !r.contains("/namespaces/other/")),
        "{requests:#?}"
    );
    assert!(
        requests.iter().all(|r| !r.contains("watch=true")),
        "one list, no watch"
    );
}

#[test]
fn namespace_context_and_all_namespaces_choose_what_is_read() {
    let (api, kubeconfig) = cluster("namespaces");
    let plain = "GET http://svc-b:8080/greet";
    // Every namespace: the older VirtualService (in `default`) wins, as Istio's oldest-first.
    let (out, err, code) = run(
        &kubeconfig,
        &["route", "--cluster", "-A", "--request", plain, "-o", "json"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(subset(&out), "v1", "{out}");
    assert!(
        api.requests()
            .iter()
            .any(|r| r.starts_with("GET /apis/networking.istio.io/v1/virtualservices?"))
    );
    // `--namespace other` and `--context fake-other` read only `other`: svc-b's Service is in
    // `default`, so the host is outside what was read.
    for args in [["--namespace", "other"], ["--context", "fake-other"]] {
        let before = api.requests().len();
        let (_, err, code) = run(
            &kubeconfig,
            &["check", "--cluster", args[0], args[1], "-o", "json"],
        );
        assert!(code.is_some(), "{err}");
        let requests = api.requests()[before..].to_vec();
        assert!(
            requests
                .iter()
                .any(|r| r.contains("/namespaces/other/virtualservices")),
            "{requests:#?}"
        );
        assert!(
            requests.iter().all(|r| !r.contains("/namespaces/default/")),
            "{requests:#?}"
        );
    }
}

#[test]
fn check_and_simulate_read_the_cluster() {
    let (_api, kubeconfig) = cluster("check");
    let (out, err, code) = run(&kubeconfig, &["check", "--cluster", "-o", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["diagnostics"], json!([]), "{out}");
    let requests = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cluster-requests.jsonl");
    std::fs::write(&requests, "{\"url\": \"http://svc-b:8080/?name=xx\"}\n").unwrap();
    let (out, err, code) = run(
        &kubeconfig,
        &[
            "simulate",
            "--cluster",
            "--requests",
            requests.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("\"subset\":\"v2\""), "{out}");
}

#[test]
fn dump_writes_what_it_read_as_files_that_load_alike() {
    let (_api, kubeconfig) = cluster("dump");
    let dir = kubeconfig.parent().unwrap().join("dumped");
    let (_, err, code) = run(
        &kubeconfig,
        &["dump", "--cluster", "-A", dir.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("objects written"), "{err}");
    let vs = std::fs::read_to_string(dir.join("default/virtualservice.yaml")).unwrap();
    assert!(
        vs.contains("name: svc-b")
            && !vs.contains("managedFields")
            && !vs.contains("resourceVersion"),
        "{vs}"
    );
    assert!(dir.join("other/virtualservice.yaml").exists());
    // The files answer as the cluster did.
    let (out, err, code) = run(
        &kubeconfig,
        &[
            "route",
            dir.to_str().unwrap(),
            "--request",
            "GET http://svc-b:8080/?name=xx",
            "-o",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(subset(&out), "v2", "{out}");
    // Without --cluster, dump refuses (exit status 2); --cluster with paths too.
    let (_, err, code) = run(&kubeconfig, &["dump", dir.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    let (_, err, code) = run(&kubeconfig, &["check", "--cluster", "examples/seed"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("give no PATH"), "{err}");
}

#[test]
fn an_unreachable_cluster_is_a_clear_error() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cluster-unreachable");
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    // A loopback port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"),
    )
    .unwrap();
    let (_, err, code) = run(
        &kubeconfig,
        &["route", "--cluster", "--request", "GET http://svc-b/"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot read the cluster at http://127.0.0.1:"),
        "{err}"
    );
    let (_, err, code) = run(&kubeconfig, &["check", "--cluster", "--context", "nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot use kubeconfig context \"nope\""),
        "{err}"
    );
}
