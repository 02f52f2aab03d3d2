//! `meshroute test`: istio-config-validator's `testCases` and Envoy router_check_tool's `tests`
//! run against Istio's semantics, one line per case, `--json`, `--junit`, and the exit status
//! (0 every case passed, 1 a case failed, 2 nothing could be run), as `src/bin/meshroute.rs` and
//! `meshroute::sim::test_files` describe them.

use std::path::PathBuf;
use std::process::Output;

use crate::common::{meshroute, stderr, stdout};

/// The seed scenario's canary variant, as `--config` flags.
const CANARY: [&str; 6] = [
    "--config",
    "examples/seed/demo.yaml",
    "--config",
    "examples/seed/demo-gateway.yaml",
    "--config",
    "examples/seed/destination-rule-svc-b-canary.yaml",
];

const FILES: &str = "tests/fixtures/test-files";

fn test(args: &[&str]) -> Output {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    meshroute(&all, None)
}

fn on_canary(paths: &[&str], more: &[&str]) -> Output {
    let mut args: Vec<&str> = paths.to_vec();
    args.extend_from_slice(&CANARY);
    args.extend_from_slice(more);
    test(&args)
}

/// A scratch folder of this test, emptied.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("meshroute-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(output).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// The seed's test files, one per format, pass against the canary variant: one line per case
/// (the file and line of the case, the case), then the summary; exit 0. The istio-config-validator
/// file has two documents: the second one's case is run too.
#[test]
fn the_seed_test_files_pass_on_the_canary() {
    let out = on_canary(&["examples/seed/tests/"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    assert!(
        lines[..9]
            .iter()
            .all(|l| l.starts_with("PASS examples/seed/tests/")),
        "{text}"
    );
    assert!(
        text.contains("PASS examples/seed/tests/canary-router-check.yaml:23 tests[2] \"testers with ?name=xx reach svc-b v2\" (1 request)"),
        "{text}"
    );
    assert!(
        text.contains("PASS examples/seed/tests/canary-testcases.yaml:21 testCases[1] \"testers with ?name=xx reach svc-b v2\" (2 requests)"),
        "{text}"
    );
    // The case of the second document.
    assert!(
        text.contains("PASS examples/seed/tests/canary-testcases.yaml:55 testCases[0] \"the gateway routes nothing but /greet\" (2 requests)"),
        "{text}"
    );
    assert_eq!(
        lines[9],
        "9 cases: 9 passed, 0 failed (2 files, 0 warnings)"
    );
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// Against the weighted variant the same files fail (exit 1), and each failure shows the
/// expected and actual values, who sent the request and why, and the explanation.
#[test]
fn the_seed_test_files_fail_on_the_weighted_variant() {
    let out = test(&[
        "examples/seed/tests/canary-testcases.yaml",
        "--config",
        "examples/seed/demo.yaml",
        "--config",
        "examples/seed/destination-rule-svc-b-weighted.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "FAIL examples/seed/tests/canary-testcases.yaml:21 testCases[1] \"testers with ?name=xx reach svc-b v2\" (2 of 2 requests failed)\n  GET http://svc-b:8080/greet?name=xx, sent by a sidecar in default (the VirtualService default/svc-b serves \"svc-b\" and is bound to the sidecars (mesh))\n    route: expected svc-b subset v2\n           actual   [svc-b.default.svc.cluster.local subset v1 port 8080 (5%), svc-b.default.svc.cluster.local subset v2 port 8080 (95%)]\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("    why:\n      sidecar in namespace default calls svc-b:8080\n"),
        "{text}"
    );
    // The gateway is not part of this configuration: a sidecar decides, and says why.
    assert!(
        text.contains("sent by a sidecar in default (no VirtualService has a host that names \"demo.example.com\")"),
        "{text}"
    );
    // `wantMatch: false` with a weighted split that does send some traffic to v2: still not
    // "all to v2", so it passes.
    assert!(
        text.contains("PASS examples/seed/tests/canary-testcases.yaml:41 testCases[3]"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("5 cases: 2 passed, 3 failed (1 file, 0 warnings)"),
        "{text}"
    );
}

/// A case whose expectation is what istio-config-validator's own matcher concludes, not what
/// Istio does (it does not evaluate queryParams), fails and says so plainly.
#[test]
fn an_expectation_istio_contradicts_fails_with_the_reason() {
    let out = on_canary(&[&format!("{FILES}/contradicts-istio.yaml")], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    for expected in [
        "FAIL tests/fixtures/test-files/contradicts-istio.yaml:8 testCases[0] \"without the flag svc-b still takes the canary route\" (1 of 1 request failed)",
        "    route: expected [svc-b subset v1 weight 0, svc-b subset v2 weight 100]",
        "           actual   svc-b.default.svc.cluster.local subset v1 port 8080 (100%)",
        "    note: istio-config-validator's own matcher picks default/svc-b http[0] for this request; Istio picks default/svc-b http[1]",
        "    note: istio-config-validator does not evaluate queryParams (it keeps only the path of request.uri); Istio does: default/svc-b http[0] match #0: queryParams.name: absent (wants exact \"xx\")",
        "          default/svc-b http[0] match #0: queryParams.name: absent (wants exact \"xx\")",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

/// istio-config-validator tests a regex as `^re$`, Istio as a full match: an alternation
/// differs, and the failure names the regex, the value and both verdicts. The configuration
/// sits in the test file itself (the loader skips the test document).
#[test]
fn a_regex_alternation_is_a_full_match_in_istio() {
    let out = test(&[&format!("{FILES}/regex.yaml")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("(1 of 2 requests failed)"), "{text}");
    assert!(
        text.contains(
            "note: shop/api http[0] match #0 uri regex \"/v1|/v2\" matches \"/v1/orders\" for istio-config-validator, which tests ^/v1|/v2$ without a group; in Istio a regex must match the whole value (Envoy safe_regex, RE2), and it does not match"
        ),
        "{text}"
    );
}

/// Every part a case can name (redirect, rewrite, headers, fault, delegate, a weighted route),
/// and every kind of router_check_tool check (cluster and virtual host names as Istio builds
/// them, rewrites, redirects and their code, header matchers, `random_value`, `ssl`), from a
/// JSON test file too: all pass against the configuration beside them.
#[test]
fn every_part_of_both_formats_is_checked() {
    let out = test(&[&format!("{FILES}/shop/")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out)
            .trim_end()
            .ends_with("13 cases: 13 passed, 0 failed (2 files, 0 warnings)"),
        "{}",
        stdout(&out)
    );
}

/// Each part is compared for real: a copy of the shop's tests with one value changed per case
/// fails on exactly that value.
#[test]
fn a_changed_expectation_fails_on_that_field() {
    let dir = scratch("changed");
    std::fs::copy(format!("{FILES}/shop/config.yaml"), dir.join("config.yaml")).unwrap();
    let cases = std::fs::read_to_string(format!("{FILES}/shop/testcases.yaml"))
        .unwrap()
        .replace("redirectCode: 302", "redirectCode: 301")
        .replace("rewrite: {uri: /v2}", "rewrite: {uri: /v3}")
        .replace("value: 50}}}", "value: 40}}}")
        .replace(
            "name: orders, namespace: shop",
            "name: orders, namespace: other",
        )
        .replace("weight: 90}", "weight: 80}")
        .replace("rewrite: \"/\\\\1\"}}", "rewrite: \"/x/\\\\1\"}}");
    std::fs::write(dir.join("testcases.yaml"), cases).unwrap();
    let checks = std::fs::read_to_string(format!("{FILES}/shop/router-check.json"))
        .unwrap()
        .replace("\"code_redirect\": 302", "\"code_redirect\": 301")
        .replace("\"www.shop.example.com:80\"", "\"shop.example.com:80\"")
        .replace("\"random_value\": 89", "\"random_value\": 90")
        .replace("{\"exact\": \"edge\"}", "{\"exact\": \"Edge\"}")
        .replace("\"shop.example.com:443\"", "\"shop.example.com:80\"")
        .replace(
            "\"path_rewrite\": \"/about?x=1\"",
            "\"path_rewrite\": \"/about\"",
        );
    std::fs::write(dir.join("router-check.json"), checks).unwrap();
    let out = meshroute(&["test", dir.to_str().unwrap(), "--json"], None);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let failed: Vec<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|case| {
            let name = case["case"].as_str().unwrap().to_owned();
            case["requests"][0]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["passed"] == false)
                .map(move |c| format!("{name}: {}", c["field"].as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        failed,
        [
            "tests[0] \"old pages redirect\": code_redirect",
            "tests[1] \"one virtual host serves both names\": virtual_host_name",
            "tests[1] \"one virtual host serves both names\": request_header_matches x-from",
            "tests[2] \"legacy pages keep their path on the legacy host\": path_rewrite",
            "tests[3] \"random_value 89 draws v1\": cluster_name",
            "tests[5] \"https arrives on the TLS server\": virtual_host_name",
            "testCases[0] \"old pages redirect\": redirect",
            "testCases[1] \"the API is rewritten and tagged\": rewrite",
            "testCases[2] \"legacy pages keep their path on the legacy host\": rewrite",
            "testCases[3] \"half the flaky calls abort\": fault",
            "testCases[4] \"orders v2 through the delegate\": delegate",
            "testCases[5] \"the web tier splits 90/10\": route",
        ]
    );
    // Values are raw in JSON (the text report quotes router_check_tool's names).
    let vhost = &report["cases"][1]["requests"][0]["checks"][1];
    assert_eq!(vhost["field"], "virtual_host_name");
    assert_eq!(vhost["expected"], "shop.example.com:80");
    assert_eq!(vhost["actual"], "www.shop.example.com:80");
    assert_eq!(report["summary"]["failed"], 11);
    assert_eq!(report["summary"]["passed"], 2);
}

/// `--json` prints one object: the verdict, the counts, and per case its requests, checks and,
/// for a failing request, the notes and the explanation (`null` for a passing one).
#[test]
fn json_output() {
    let out = on_canary(
        &[
            "examples/seed/tests/canary-testcases.yaml",
            &format!("{FILES}/contradicts-istio.yaml"),
        ],
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    let report = json(&out);
    assert_eq!(report["passed"], false);
    assert_eq!(
        report["summary"],
        serde_json::json!({"files": 2, "cases": 6, "passed": 5, "failed": 1, "warnings": 0})
    );
    let cases = report["cases"].as_array().unwrap();
    let passing = &cases[1];
    assert_eq!(passing["format"], "istio-config-validator");
    assert_eq!(passing["file"], "examples/seed/tests/canary-testcases.yaml");
    assert_eq!(passing["line"], 21);
    assert_eq!(passing["passed"], true);
    let request = &passing["requests"][0];
    assert_eq!(request["request"], "GET http://svc-b:8080/greet?name=xx");
    assert_eq!(request["caller"], "a sidecar in default");
    assert_eq!(request["explain"], serde_json::Value::Null);
    assert_eq!(
        request["checks"][0],
        serde_json::json!({"field": "route", "expected": "svc-b subset v2", "actual": "svc-b.default.svc.cluster.local subset v2 port 8080 (100%)", "passed": true})
    );
    let failing = cases.iter().find(|c| c["passed"] == false).unwrap();
    assert_eq!(
        failing["file"],
        "tests/fixtures/test-files/contradicts-istio.yaml"
    );
    let request = &failing["requests"][0];
    assert_eq!(request["explain"]["caller"], "sidecar in namespace default");
    assert!(request["notes"].as_array().unwrap().len() >= 2, "{request}");
}

/// `--junit FILE` writes JUnit XML (a suite per file, a case per case, a failure with the
/// details), with names and messages escaped; the text report still goes to standard output.
#[test]
fn junit_output() {
    let dir = scratch("junit");
    std::fs::write(
        dir.join("checks.yaml"),
        "tests:\n- test_name: 'a <b> & \"c\" ''d'''\n  input: {authority: 'svc-b:8080', path: /greet, method: GET}\n  validate: {cluster_name: 'outbound|8080|v2|svc-b.default.svc.cluster.local'}\n- test_name: plain\n  input: {authority: 'svc-b:8080', path: /greet, method: GET}\n  validate: {cluster_name: 'outbound|8080|v1|svc-b.default.svc.cluster.local'}\n",
    )
    .unwrap();
    let junit = dir.join("junit.xml");
    let out = on_canary(
        &[dir.join("checks.yaml").to_str().unwrap()],
        &["--junit", junit.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("FAIL "), "{}", stdout(&out));
    let xml = std::fs::read_to_string(&junit).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("checks.yaml").display().to_string();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"meshroute test\" tests=\"2\" failures=\"1\">\n"), "{xml}");
    assert!(
        xml.contains(&format!(
            "  <testsuite name=\"{file}\" tests=\"2\" failures=\"1\">"
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "    <testcase classname=\"{file}\" name=\"tests[0] &quot;a &lt;b&gt; &amp; \\&quot;c\\&quot; &apos;d&apos;&quot; (line 2)\">\n      <failure message=\"GET http://svc-b:8080/greet: cluster_name: expected &quot;outbound|8080|v2|svc-b.default.svc.cluster.local&quot;, actual &quot;outbound|8080|v1|svc-b.default.svc.cluster.local&quot;\" type=\"routing\">"
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "    <testcase classname=\"{file}\" name=\"tests[1] &quot;plain&quot; (line 5)\"/>"
        )),
        "{xml}"
    );
    assert!(
        xml.trim_end().ends_with("  </testsuite>\n</testsuites>"),
        "{xml}"
    );
    // Nothing but escaped text between the tags.
    let body = xml.split_once('\n').unwrap().1;
    assert!(!body.contains("&\"") && !body.contains("<b>"), "{xml}");
}

/// Keys that are not read are reported, with the file, line, case and field: unknown keys, the
/// unsupported ones, a missing `wantMatch` (read as false); the case still runs.
#[test]
fn keys_that_are_not_read_are_reported() {
    let dir = scratch("warnings");
    std::fs::write(
        dir.join("cases.yaml"),
        "testCases:\n- description: flagged\n  request:\n    authority: ['svc-b:8080']\n    method: [GET]\n    uri: ['/greet?name=xx']\n    queryParams: {name: xx}\n  route: [{destination: {host: svc-b, subset: v1}}]\n  mirror: {host: svc-c}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("checks.yaml"),
        "runtime: {re2.max_program_size.error_level: 100}\ntests:\n- test_name: flagged\n  input: {authority: 'svc-b:8080', path: '/greet?name=xx', method: GET, runtime: x, dynamic_metadata: []}\n  validate: {cluster_name: 'outbound|8080|v2|svc-b.default.svc.cluster.local', cluster: x}\n",
    )
    .unwrap();
    let out = on_canary(&[dir.to_str().unwrap()], &[]);
    let _ = std::fs::remove_dir_all(&dir);
    // wantMatch is absent (false) and the request does not reach v1: the case passes.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    let cases = dir.join("cases.yaml").display().to_string();
    let checks = dir.join("checks.yaml").display().to_string();
    for expected in [
        format!(
            "warning: {checks}:1: runtime: not supported, not checked: Envoy runtime settings do not change the routes Istio builds"
        ),
        format!(
            "warning: {checks}:4: tests[0] \"flagged\": tests[0].input.runtime: not supported, not checked: Istio's routes have no runtime fraction, so a runtime key changes nothing"
        ),
        format!(
            "warning: {checks}:4: tests[0] \"flagged\": tests[0].input.dynamic_metadata: not supported, not checked: Istio's routes do not match on dynamic metadata"
        ),
        format!(
            "warning: {checks}:5: tests[0] \"flagged\": tests[0].validate.cluster: unknown key, not read (typo or wrong indentation?)"
        ),
        format!(
            "warning: {cases}:2: testCases[0] \"flagged\": testCases[0].wantMatch: absent: read as false"
        ),
        format!(
            "warning: {cases}:7: testCases[0] \"flagged\": testCases[0].request.queryParams: not supported, not checked: give the query in the uri (/greet?name=xx)"
        ),
        format!(
            "warning: {cases}:9: testCases[0] \"flagged\": testCases[0].mirror: unknown key, not read (typo or wrong indentation?)"
        ),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in\n{text}");
    }
    assert!(
        text.trim_end()
            .ends_with("2 cases: 2 passed, 0 failed (2 files, 7 warnings)"),
        "{text}"
    );
}

/// `wantMatch: false` inverts each comparison: the case fails when the request goes where it
/// names, and the expectation reads "not ...".
#[test]
fn want_match_false_fails_when_istio_does_what_it_names() {
    let dir = scratch("want-match");
    std::fs::write(
        dir.join("cases.yaml"),
        "testCases:\n- description: testers never reach v2\n  wantMatch: false\n  request: {authority: ['svc-b:8080'], method: [GET], uri: ['/greet?name=xx', /greet]}\n  route: [{destination: {host: svc-b, subset: v2}}]\n",
    )
    .unwrap();
    let out = on_canary(&[dir.to_str().unwrap()], &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("(1 of 2 requests failed)"), "{text}");
    assert!(
        text.contains("  GET http://svc-b:8080/greet?name=xx, sent by a sidecar in default")
            && text.contains("    route: expected not svc-b subset v2\n"),
        "{text}"
    );
    assert!(
        !text.contains("GET http://svc-b:8080/greet, sent by"),
        "{text}"
    );
}

/// `--gateway` and `--namespace` decide every case, and a failure says who sent it and why.
#[test]
fn the_caller_can_be_fixed_for_every_case() {
    let out = on_canary(
        &["examples/seed/tests/canary-testcases.yaml"],
        &["--gateway", "default/demo-gateway"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("GET http://svc-b:8080/greet?name=xx, sent by the gateway default/demo-gateway (--gateway decides every case)"),
        "{text}"
    );
    // The gateway cases still pass.
    assert!(
        text.contains("PASS examples/seed/tests/canary-testcases.yaml:10 testCases[0]"),
        "{text}"
    );

    let out = on_canary(
        &["examples/seed/tests/canary-testcases.yaml"],
        &["--namespace", "other"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("sent by a sidecar in other (--namespace decides every case)"),
        "{}",
        stdout(&out)
    );
}

/// Exit status 2: nothing could be run. No test file among the paths; a path that does not
/// exist; a malformed test file (every error, with file, line, case and field); no
/// configuration; a configuration Istio rejects; an unknown `--gateway`.
#[test]
fn nothing_to_run_exits_2() {
    let out = test(&["examples/streams/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert_eq!(
        stderr(&out).trim(),
        "meshroute: no test file found in examples/streams/: a test file is YAML or JSON whose top level has testCases (istio-config-validator) or tests (Envoy's router_check_tool)"
    );

    let out = test(&["/nonexistent/tests"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/tests"),
        "{}",
        stderr(&out)
    );

    let dir = scratch("malformed");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "testCases:\n- description: first\n  wantMatch: true\n  request: {authority: [a], method: [GET], uri: [/]}\n  route: {destination: {host: a}}\n---\ntests:\n- input: {authority: a, path: /, method: GET}\n  validate: {}\n",
    )
    .unwrap();
    let out = on_canary(&[file.to_str().unwrap()], &[]);
    let name = file.display().to_string();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "meshroute: {name}:5: testCases[0] \"first\": testCases[0].route: invalid type: map, expected a sequence\n{name}:8: tests[0]: tests[0].test_name: missing or empty: validation.proto wants a name (min_len 1)"
        )
    );

    std::fs::write(&file, "testCases:\n- description: no config\n  wantMatch: true\n  request: {authority: [a], method: [GET], uri: [/]}\n  route: [{destination: {host: a}}]\n").unwrap();
    let out = test(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no VirtualService, DestinationRule, Gateway"),
        "{}",
        stderr(&out)
    );

    let out = test(&[
        file.to_str().unwrap(),
        "--config",
        "tests/fixtures/negative-weight.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("spec.http[0].route[0].weight"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was tested"),
        "{}",
        stderr(&out)
    );

    let out = on_canary(&["examples/seed/tests/"], &["--gateway", "infra/edge"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown gateway \"infra/edge\""),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Test files may sit beside the manifests they test: `check` skips them, and `test` takes the
/// manifests beside them as the configuration.
#[test]
fn test_files_beside_manifests_are_not_manifests() {
    let out = meshroute(&["check", "tests/fixtures/test-files/shop/"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("loaded 9 resource(s) from 1 file(s):"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out)
            .trim_end()
            .ends_with("0 error(s), 0 warning(s), 0 info"),
        "{}",
        stdout(&out)
    );
}
