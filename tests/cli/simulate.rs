//! `meshroute simulate`: JSON request lines in, decision or distribution JSON lines out, each line
//! replayable with `meshroute route`, and its exit status on bad lines and bad configurations.

use std::process::Output;

use crate::common::{fixture, meshroute, stderr, stdout};

/// The seed files the tests name, relative to the crate root (where `meshroute` runs).
const CANARY: &str = "examples/seed/destination-rule-svc-b-canary.yaml";
const WEIGHTED: &str = "examples/seed/destination-rule-svc-b-weighted.yaml";

/// Standard output as JSON values, one a line.
fn lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn json_lines_on_the_seed() {
    let requests = r#"{"url":"http://svc-b:8080/greet?name=xx"}

{"method":"GET","url":"http://svc-b:8080/greet?name=yy","headers":{"x-user":"a"},"gateway":null,"sourceLabels":{"app":"demo-a"},"sourceNamespace":"default","sourceIp":null}
{"url":"http://svc-b:8080/greet"}
{"url":"http://demo.example.com/greet?name=xx","gateway":"demo-gateway"}
"#;
    let out = meshroute(
        &[
            "simulate",
            "examples/seed/demo.yaml",
            "examples/seed/demo-gateway.yaml",
            CANARY,
            "--requests",
            "-",
        ],
        Some(requests),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    assert_eq!(decisions.len(), 4, "{}", stdout(&out));
    let subsets: Vec<Option<&str>> = decisions
        .iter()
        .map(|d| d["destination"]["subset"].as_str())
        .collect();
    assert_eq!(subsets, [Some("v2"), Some("v1"), Some("v1"), None]);
    for d in &decisions[..3] {
        assert_eq!(d["action"], "route");
        assert_eq!(d["virtualService"], "default/svc-b");
        assert_eq!(d["destination"]["host"], "svc-b.default.svc.cluster.local");
    }
    assert_eq!(decisions[3]["virtualService"], "default/demo");
    assert_eq!(
        decisions[3]["destination"]["host"],
        "svc-a.default.svc.cluster.local"
    );
}

#[test]
fn repeat_reports_the_weighted_split_deterministically() {
    let dir = std::env::temp_dir().join(format!("meshroute-simulate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("requests.jsonl");
    std::fs::write(&file, "{\"url\":\"http://svc-b:8080/greet\"}\n").unwrap();
    let args = [
        "simulate",
        "examples/seed/demo.yaml",
        WEIGHTED,
        "--requests",
        file.to_str().unwrap(),
        "--repeat",
        "100000",
        "--seed",
        "7",
    ];
    let started = std::time::Instant::now();
    let first = meshroute(&args, None);
    let elapsed = started.elapsed();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(elapsed.as_secs() < 10, "100,000 decisions took {elapsed:?}");
    let second = meshroute(&args, None);
    assert_eq!(stdout(&first), stdout(&second));
    std::fs::remove_dir_all(&dir).ok();

    let distributions = lines(&first);
    assert_eq!(distributions.len(), 1);
    let d = &distributions[0];
    assert_eq!(d["total"], 100_000);
    let destinations = d["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 2, "{d}");
    for (entry, subset, percent) in [
        (&destinations[0], "v1", 5.0),
        (&destinations[1], "v2", 95.0),
    ] {
        assert_eq!(entry["subset"], subset);
        assert_eq!(entry["host"], "svc-b.default.svc.cluster.local");
        assert_eq!(entry["port"], 8080);
        let share = entry["count"].as_f64().unwrap() / 1000.0;
        assert!((share - percent).abs() <= 0.5, "{subset}: {share}% in {d}");
    }
    let endpoints = d["endpoints"].as_array().unwrap();
    let sum: u64 = endpoints.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(sum, 100_000);
}

/// A request line whose `"gateway"` the configuration does not define is a bad request line:
/// named with its number, skipped, and the run goes on (exit status 1 at the end).
#[test]
fn an_unknown_gateway_is_a_bad_line() {
    let out = meshroute(
        &["simulate", "examples/seed/", "--requests", "-"],
        Some(
            "{\"url\":\"http://demo.example.com/greet\",\"gateway\":\"demo-gateway\"}\n{\"url\":\"http://demo.example.com/greet\",\"gateway\":\"infra/edge\"}\n",
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 1, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "meshroute: -:2: bad request line: unknown gateway \"infra/edge\": the configuration has no Gateway of that namespace and name"
        ),
        "{err}"
    );
    assert!(
        err.contains("1 request(s) decided; skipped 1 bad request line(s)"),
        "{err}"
    );
}

/// Bad lines are reported with their numbers and skipped; the good ones are decided, each
/// with the seed of its place among the good lines; an oversized line is never echoed back.
#[test]
fn bad_lines_are_reported_and_skipped() {
    let long = format!("{{\"url\":\"http://svc-b/{}\"}}", "x".repeat(100_000));
    let input = format!(
        "{{\"url\":\"http://svc-b/\"}}\n{{\"url\": \n{long}\n{{\"url\":\"/greet\"}}\n{{\"url\":\"http://svc-b:8080/greet?name=xx\"}}\n"
    );
    let out = meshroute(
        &["simulate", "examples/seed/", "--requests", "-"],
        Some(&input),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(lines(&out).len(), 2, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("-:2: bad request line"), "{err}");
    assert!(
        err.contains("-:3: bad request line: line longer than 65536 bytes"),
        "{err}"
    );
    assert!(
        err.contains("-:4: bad request line") && err.contains("absolute"),
        "{err}"
    );
    assert!(
        err.len() < 2_000,
        "an oversized line is echoed: {} bytes",
        err.len()
    );

    let out = meshroute(
        &[
            "simulate",
            "examples/seed/",
            "--requests",
            "/nonexistent/requests.jsonl",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

/// Access logs replay: Istio's default text format and its JSON format, decided as a sidecar
/// in `--namespace` or as `--gateway`; entries without an HTTP request (TCP) are counted and
/// reported, never fatal.
#[test]
fn access_logs_replay() {
    let log = concat!(
        r#"[2026-11-30T10:00:00.000Z] "GET /greet?name=xx HTTP/1.1" 200 - via_upstream - "-" 0 12 3 2 "-" "curl/8.5.0" "4f1c" "svc-b:8080" "10.1.0.7:8080" outbound|8080|v2|svc-b.default.svc.cluster.local 10.1.0.5:40312 10.96.0.20:8080 10.1.0.5:51234 - default"#,
        "\n",
        r#"[2026-11-30T10:00:01.000Z] "- - -" 0 - - - "-" 10 20 5 - "-" "-" "-" "-" "10.1.0.9:5432" outbound|5432||db.default.svc.cluster.local 10.1.0.5:1 10.96.0.30:5432 10.1.0.5:2 - -"#,
        "\n",
        r#"{"method":"GET","path":"/greet?name=yy","authority":"svc-b:8080","x_canary":"1"}"#,
        "\n",
    );
    let out = meshroute(
        &[
            "simulate",
            "examples/seed/demo.yaml",
            "examples/seed/destination-rule-svc-b-canary.yaml",
            "--requests",
            "-",
            "--log-header",
            "x_canary=x-canary",
        ],
        Some(log),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0]["destination"]["subset"], "v2");
    assert_eq!(decisions[1]["destination"]["subset"], "v1");
    let err = stderr(&out);
    assert!(err.contains("-:2: access-log entry skipped"), "{err}");
    assert!(
        err.contains("skipped 0 bad request line(s) and 1 access-log entry"),
        "{err}"
    );

    let gateway = r#"[2026-11-30T10:00:00.000Z] "GET /greet HTTP/1.1" 200 - via_upstream - "-" 0 12 3 2 "-" "-" "-" "demo.example.com" "-" - - - 10.0.0.1:1 - -"#;
    let out = meshroute(
        &[
            "simulate",
            "examples/seed/",
            "--requests",
            "-",
            "--gateway",
            "demo-gateway",
        ],
        Some(gateway),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    assert_eq!(
        decisions[0]["destination"]["host"],
        "svc-a.default.svc.cluster.local"
    );
}

#[test]
fn config_errors_exit_1() {
    let bad = fixture("negative-weight");
    let dir = std::env::temp_dir().join(format!("meshroute-simulate-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let requests = dir.join("requests.jsonl");
    std::fs::write(&requests, "{\"url\":\"http://svc-b/\"}\n").unwrap();
    let out = meshroute(
        &["simulate", "-", "--requests", requests.to_str().unwrap()],
        Some(&bad),
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("spec.http[0].route[0].weight"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn each_line_replays_with_route_and_its_seed() {
    // Line i is decided with seed + i: the same as `route --seed (seed + i)`.
    let requests = "{\"url\":\"http://svc-b:8080/greet\"}\n".repeat(20);
    let out = meshroute(
        &[
            "simulate",
            "examples/seed/demo.yaml",
            WEIGHTED,
            "--requests",
            "-",
            "--seed",
            "3",
        ],
        Some(&requests),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let decisions = lines(&out);
    assert_eq!(decisions.len(), 20);
    for (i, decision) in [0usize, 7, 19].iter().map(|&i| (i, &decisions[i])) {
        let seed = (3 + i).to_string();
        let route = meshroute(
            &[
                "route",
                "examples/seed/demo.yaml",
                WEIGHTED,
                "--request",
                "GET http://svc-b:8080/greet",
                "--seed",
                &seed,
                "--json",
            ],
            None,
        );
        assert_eq!(route.status.code(), Some(0), "{}", stderr(&route));
        let expected: serde_json::Value = serde_json::from_str(stdout(&route).trim()).unwrap();
        assert_eq!(&expected, decision, "line {i}");
    }
}

/// A request line whose `url` is `tcp://host:port` or `tls://sni:port` is a connection, decided
/// with the `tcp` and `tls` rules; `destinationIp` gives its destination address.
#[test]
fn connection_lines_are_decided_with_tcp_and_tls_rules() {
    let out = meshroute(
        &[
            "simulate",
            "examples/streams/",
            "--requests",
            "-",
            "--seed",
            "7",
        ],
        Some(
            "{\"url\":\"tcp://db:5432\",\"sourceLabels\":{\"app\":\"reporting\"}}\n\
             {\"url\":\"tls://api.example.com:443\"}\n\
             {\"url\":\"tls://www.example.com:443\"}\n\
             {\"url\":\"tcp://db:5432\",\"destinationIp\":\"10.96.0.10\",\"sourceLabels\":{\"app\":\"reporting\"}}\n",
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d = lines(&out);
    assert_eq!(d[0]["route"]["kind"], "tcp");
    assert_eq!(d[0]["destination"]["subset"], "replica");
    assert_eq!(d[1]["route"]["kind"], "tls");
    assert_eq!(d[1]["destination"]["host"], "egress-proxy.internal");
    assert_eq!(d[2]["action"], "passthrough");
    assert_eq!(d[3]["destination"]["subset"], "replica");
}

/// `simulate` refuses a configuration with an unknown field (exit 1) and decides with
/// `--allow-unknown-fields`.
#[test]
fn simulate_refuses_unknown_fields_unless_allowed() {
    let dir = std::env::temp_dir().join(format!("meshroute-sim-unknown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("vs.yaml");
    std::fs::write(&config, fixture("unknown-field")).unwrap();
    let config = config.to_str().unwrap();
    let requests = "{\"url\":\"http://svc-b/\"}\n";
    let out = meshroute(&["simulate", config, "--requests", "-"], Some(requests));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown field \"queryParam\""),
        "{}",
        stderr(&out)
    );
    let out = meshroute(
        &[
            "simulate",
            config,
            "--requests",
            "-",
            "--allow-unknown-fields",
        ],
        Some(requests),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(lines(&out)[0]["action"], "route");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `simulate` prints the configuration's warnings to stderr (as `check` prints them) before
/// its JSON lines, which stay clean on stdout.
#[test]
fn simulate_prints_the_configuration_warnings_first() {
    let out = meshroute(
        &["simulate", "examples/seed/", "--requests", "-"],
        Some("{\"url\":\"http://svc-b:8080/greet\"}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(lines(&out).len(), 1);
    let text = stderr(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains(": warning: ") && l.contains(": defined again: ")),
        "{text}"
    );
}

/// `--sticky-users N`: each request sent as N users of its route's sticky key
/// (`examples/sticky/canary-25.yaml`, v2 at 25%): the spread follows the weights, a key the
/// request carried is replaced by each user's, and a request whose route is not sticky is a bad
/// line (exit status 1).
#[test]
fn sticky_users_spread_as_the_weights_say() {
    let requests = "{\"url\":\"http://svc-b:8080/\"}\n{\"url\":\"http://svc-b:8080/\",\"headers\":{\"x-user-id\":\"fixed\"}}\n";
    let out = meshroute(
        &[
            "simulate",
            "examples/sticky/canary-25.yaml",
            "--requests",
            "-",
            "--sticky-users",
            "10000",
        ],
        Some(requests),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["key"], "header:x-user-id");
        let v2 = line["after"]["svc-b.default.svc.cluster.local v2"]
            .as_u64()
            .unwrap();
        assert!((2_400..=2_600).contains(&v2), "{v2} of 10000 users in v2");
    }
    assert_eq!(
        lines[0]["after"], lines[1]["after"],
        "the request's own key is replaced"
    );

    let out = meshroute(
        &[
            "simulate",
            "examples/sticky/canary-25.yaml",
            "--requests",
            "-",
            "--sticky-users",
            "10",
        ],
        Some("{\"url\":\"http://other:8080/\"}\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no sticky key"));
}
