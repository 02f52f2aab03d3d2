//! Every command and snippet of `README.md` and `docs/*.md` runs as written.
//!
//! - `sh` blocks run as shell scripts (`sh -e`) in a scratch copy of `examples/`, with the
//!   `meshroute` binary on `PATH`. `cargo run --features cli --bin meshroute -- ARGS` runs that
//!   binary, `cargo run --example NAME` the example built by `cargo test`; `cargo test`,
//!   `cargo install` and `cargo bench` lines are checked against `.ci/run` and `Cargo.toml`
//!   instead of being run. A `text` block right after a `sh` block is its exact output.
//!   The scripts of `docs/cluster.md` run with `KUBECONFIG` pointing at a fake API server (the
//!   one of `tests/cluster/`, served on loopback) that holds `examples/seed/` and a running pod
//!   per Deployment replica; `kubectl apply -f` and `docker build` lines are checked against
//!   the files they name instead of being run.
//! - `yaml` blocks (CI jobs) run their `run:` steps the same way.
//! - `json` blocks are the content of a file under `examples/`.
//! - `rust` blocks of `README.md` are doc tests (`src/lib.rs` includes the README); the test file
//!   of `docs/testing-routing.md` is `tests/guide_routing.rs`, line for line.
//! - The `toml` dependency list of `README.md` builds the README's service example on its own.
#![cfg(all(feature = "cli", feature = "tower"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[cfg(feature = "kube")]
#[path = "cluster/fake_api.rs"]
mod fake_api;

/// A fenced block: its language, text and the line it starts on.
#[derive(Debug)]
struct Block {
    lang: String,
    text: String,
    line: usize,
    /// Whether only blank lines separate it from the previous block.
    follows_previous: bool,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut prose_since_last = true;
    for (number, line) in (1..).zip(markdown.lines()) {
        match &mut current {
            None => {
                if let Some(lang) = line.trim_start().strip_prefix("```") {
                    current = Some(Block {
                        lang: lang.trim().to_owned(),
                        text: String::new(),
                        line: number,
                        follows_previous: !prose_since_last,
                    });
                } else if !line.trim().is_empty() {
                    prose_since_last = true;
                }
            }
            Some(block) => {
                if line.trim_start() == "```" {
                    out.push(current.take().unwrap());
                    prose_since_last = false;
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                }
            }
        }
    }
    out
}

fn documents() -> Vec<String> {
    let mut files = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// Joins `\` continuations, so that each command is one line.
fn logical_lines(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in script.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        out.push(std::mem::take(&mut pending));
    }
    out
}

/// Rewrites the `cargo` invocations of a script line: runs the binaries they would build, checks
/// the ones that are not run here. Panics on a `cargo` command it does not know.
fn rewrite(line: &str, examples: &Path, place: &str) -> String {
    // A `cargo` line's trailing comment is prose.
    let trimmed = match line.split_once(" #") {
        Some((command, _)) if line.trim_start().starts_with("cargo ") => command.trim(),
        _ => line.trim(),
    };
    let manifest = read("Cargo.toml");
    if let Some(path) = trimmed.strip_prefix("kubectl apply -f ") {
        // Applying needs a cluster: the manifests must exist and be Kubernetes objects.
        let dir = root().join(path.trim());
        assert!(dir.is_dir(), "{place}: {path} is not a folder");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let file = entry.unwrap().path();
            if file.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&file).unwrap();
                let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text)
                    .unwrap_or_else(|e| panic!("{place}: {}: {e}", file.display()));
                for document in documents {
                    assert!(
                        document["apiVersion"].is_string() && document["kind"].is_string(),
                        "{place}: {}: not a Kubernetes object",
                        file.display()
                    );
                }
            }
        }
        return "true".to_owned();
    }
    if let Some(args) = trimmed.strip_prefix("docker build -f ") {
        // Building an image needs docker: the Dockerfile must build an example that exists,
        // with the features it requires.
        let dockerfile = read(args.split_whitespace().next().unwrap());
        let build = dockerfile
            .lines()
            .find_map(|l| l.trim().strip_prefix("RUN cargo build "))
            .unwrap_or_else(|| panic!("{place}: the Dockerfile builds nothing"));
        let example = build.rsplit("--example ").next().unwrap().trim();
        assert!(
            manifest.contains(&format!("[[example]]\nname = \"{example}\"")),
            "{place}: no example {example}"
        );
        return "true".to_owned();
    }
    if !trimmed.starts_with("cargo ") {
        return line.to_owned();
    }
    if let Some(args) = trimmed.strip_prefix("cargo run --features cli --bin meshroute -- ") {
        return format!("meshroute {args}");
    }
    let example = trimmed.strip_prefix("cargo run --example ").or_else(|| {
        trimmed
            .strip_prefix("cargo run --features ")
            .and_then(|rest| rest.split_once(" --example "))
            .map(|(_, name)| name)
    });
    if let Some(name) = example {
        let binary = examples.join(name.trim());
        assert!(
            binary.exists(),
            "{place}: example {name} not built at {} (cargo test builds the examples)",
            binary.display()
        );
        assert!(
            manifest.contains(&format!("[[example]]\nname = \"{}\"", name.trim())),
            "{place}: no example {name}"
        );
        return binary.display().to_string();
    }
    if trimmed == "cargo test --all-features" {
        let ci = read(".ci/run");
        assert!(
            ci.lines()
                .any(|l| l.trim().starts_with("cargo test --all-features")),
            "{place}: .ci/run must run the README's test command"
        );
        return "true".to_owned();
    }
    if trimmed == "cargo install --locked --path . --features cli,kube" {
        assert!(
            manifest.contains("\nkube = ["),
            "{place}: no `kube` feature"
        );
        assert!(
            read(".cargo/config.toml").contains("K8S_OPENAPI_ENABLED_VERSION"),
            "{place}: the repository must choose a Kubernetes version for k8s-openapi"
        );
        return "true".to_owned();
    }
    if trimmed == "cargo install --locked --path . --features cli" {
        assert!(manifest.contains("\ncli = ["), "{place}: no `cli` feature");
        assert!(
            manifest.contains("[[bin]]\nname = \"meshroute\"")
                && manifest.contains("required-features = [\"cli\"]"),
            "{place}: the meshroute binary must need the `cli` feature"
        );
        return "true".to_owned();
    }
    if let Some(name) = trimmed.strip_prefix("cargo bench --bench ") {
        assert!(
            manifest.contains(&format!("[[bench]]\nname = \"{}\"", name.trim())),
            "{place}: no bench {name}"
        );
        return "true".to_owned();
    }
    panic!("{place}: the docs test does not know how to check `{trimmed}`; teach tests/docs.rs");
}

/// A scratch directory with a copy of `examples/` and `meshroute` on the path.
struct Scratch {
    dir: PathBuf,
    bin: PathBuf,
    /// The kubeconfig the scripts get (`docs/cluster.md`: the fake cluster).
    kubeconfig: Option<PathBuf>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&root().join("examples"), &dir.join("examples"));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_meshroute"), bin.join("meshroute")).unwrap();
    Scratch {
        dir,
        bin,
        kubeconfig: None,
    }
}

/// A fake cluster holding the seed's canary variant (`examples/seed/demo.yaml`,
/// `demo-gateway.yaml`, `destination-rule-svc-b-canary.yaml`), with a running pod per
/// Deployment replica and the EndpointSlice of each Service, served on loopback; returns a
/// kubeconfig for it (context namespace `default`).
#[cfg(feature = "kube")]
fn fake_cluster(dir: &Path) -> PathBuf {
    use serde_json::{Value, json};

    let api = fake_api::FakeApi::default();
    let mut pods: Vec<Value> = Vec::new();
    for file in [
        "demo.yaml",
        "demo-gateway.yaml",
        "destination-rule-svc-b-canary.yaml",
    ] {
        let text = read(&format!("examples/seed/{file}"));
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        for mut document in documents.into_iter().filter(|d| d["kind"].is_string()) {
            if document["metadata"]["namespace"].is_null() {
                document["metadata"]["namespace"] = json!("default");
            }
            if document["kind"] == "Deployment" {
                let template = &document["spec"]["template"];
                for replica in 0..document["spec"]["replicas"].as_u64().unwrap_or(1) {
                    let ip = format!("10.1.{}.{}", pods.len() / 200, pods.len() % 200 + 1);
                    let name = format!(
                        "{}-{replica}",
                        document["metadata"]["name"].as_str().unwrap()
                    );
                    pods.push(json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": name, "namespace": "default",
                                     "labels": template["metadata"]["labels"]},
                        "spec": template["spec"],
                        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}));
                }
            }
            api.apply(document);
        }
    }
    for pod in pods {
        api.apply(pod);
    }
    let address = api.serve();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: 'http://{address}'}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: fake, namespace: default}}\ncurrent-context: fake\nusers:\n- name: fake\n  user: {{}}\n"
        ),
    )
    .unwrap();
    kubeconfig
}

fn examples_dir() -> PathBuf {
    // tests run from target/<profile>/deps; examples are built into target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples")
}

fn run_script(script: &str, scratch: &Scratch, place: &str) -> String {
    let examples = examples_dir();
    let lines: Vec<String> = logical_lines(script)
        .iter()
        .map(|line| rewrite(line, &examples, place))
        .collect();
    let path = format!(
        "{}:{}",
        scratch.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command
        .arg("-e")
        .arg("-c")
        .arg(lines.join("\n"))
        .current_dir(&scratch.dir)
        .env("PATH", path);
    if let Some(kubeconfig) = &scratch.kubeconfig {
        command
            .env("KUBECONFIG", kubeconfig)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy");
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{place}: the script failed ({}):\n{}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        lines.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn normalized(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

/// Every `sh` block runs, and the `text` block right after it is exactly its output.
#[test]
fn shell_blocks_run_and_print_what_the_docs_show() {
    let mut checked = 0;
    for file in documents() {
        let blocks = blocks(&read(&file));
        #[cfg_attr(not(feature = "kube"), allow(unused_mut))]
        let mut scratch = scratch(&format!("docs-{}", file.replace('/', "-")));
        if file == "docs/cluster.md" {
            #[cfg(not(feature = "kube"))]
            continue; // Its commands read a cluster: they need feature `kube`.
            #[cfg(feature = "kube")]
            {
                scratch.kubeconfig = Some(fake_cluster(&scratch.dir));
            }
        }
        for (i, block) in blocks.iter().enumerate() {
            if block.lang != "sh" {
                continue;
            }
            let place = format!("{file}:{}", block.line);
            let stdout = run_script(&block.text, &scratch, &place);
            if let Some(next) = blocks
                .get(i + 1)
                .filter(|b| b.lang == "text" && b.follows_previous)
            {
                assert_eq!(
                    normalized(&stdout),
                    normalized(&next.text),
                    "{file}:{}: the output differs from the docs",
                    next.line
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} shell blocks found");
}

/// CI jobs in the docs run their `run:` steps.
#[test]
fn ci_jobs_run() {
    let mut checked = 0;
    for file in documents() {
        for block in blocks(&read(&file)).iter().filter(|b| b.lang == "yaml") {
            let steps: Vec<&str> = block
                .text
                .lines()
                .filter_map(|line| line.trim().strip_prefix("- run: "))
                .collect();
            if steps.is_empty() {
                continue;
            }
            let place = format!("{file}:{}", block.line);
            let scratch = scratch(&format!("ci-{}", file.replace('/', "-")));
            // What a job's checkout of the pull request's base (`git worktree add base`, a
            // step that needs a real repository) leaves beside the change.
            copy_dir(&root().join("examples"), &scratch.dir.join("base/examples"));
            run_script(&steps.join("\n"), &scratch, &place);
            if block.text.contains("meshroute diff base/") {
                assert!(
                    scratch.dir.join("routing-diff.md").exists(),
                    "{place}: the diff step wrote nothing"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 1, "no CI job found in the docs");
}

/// Every block is of a kind this test checks; JSON blocks are files of `examples/`; the README's
/// Rust blocks are doc tests.
#[test]
fn every_block_is_checked() {
    let mut example_files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                out.push(text);
            }
        }
    }
    walk(&root().join("examples"), &mut example_files);
    let lib = read("src/lib.rs");
    assert!(
        lib.contains("#[doc = include_str!(\"../README.md\")]"),
        "the README's Rust blocks must be doc tests"
    );
    for file in documents() {
        for block in blocks(&read(&file)) {
            let place = format!("{file}:{}", block.line);
            match block.lang.as_str() {
                "sh" | "text" | "yaml" | "toml" => {}
                "json" => assert!(
                    example_files.iter().any(|f| f == &block.text),
                    "{place}: a JSON block must be the content of a file under examples/"
                ),
                "rust" | "rust,no_run" => assert!(
                    file == "README.md" || file == "docs/testing-routing.md",
                    "{place}: Rust blocks are checked in README.md (doc tests) and \
                     docs/testing-routing.md (tests/guide_routing.rs) only"
                ),
                other => panic!("{place}: a ```{other} block is not checked by tests/docs.rs"),
            }
        }
    }
}

/// The complete test file of the routing guide is `tests/guide_routing.rs` (without its header
/// of doc comments and lint attributes), which runs with the suite.
#[test]
fn the_routing_guide_test_file_is_the_one_that_runs() {
    let guide = blocks(&read("docs/testing-routing.md"));
    let shown: Vec<&Block> = guide.iter().filter(|b| b.lang == "rust").collect();
    assert_eq!(shown.len(), 1, "one complete test file in the guide");
    let file = read("tests/guide_routing.rs");
    let body: String = file
        .lines()
        .skip_while(|l| l.starts_with("//!") || l.starts_with("#![") || l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        shown[0].text, body,
        "docs/testing-routing.md and tests/guide_routing.rs differ"
    );
}

/// The dependencies the README lists are what its service example needs: a crate with exactly
/// those `[dependencies]` (meshroute from this checkout, versions from this `Cargo.lock`) builds
/// the example, offline.
#[test]
fn readme_dependencies_build_the_service_example() {
    let readme = read("README.md");
    let blocks = blocks(&readme);
    let toml = blocks
        .iter()
        .find(|b| b.lang == "toml" && b.text.starts_with("[dependencies]"))
        .expect("README lists the dependencies");
    let service = blocks
        .iter()
        .find(|b| b.lang == "rust,no_run")
        .expect("README shows a service");
    let manifest = toml.text.replace(
        "meshroute = \"0.1\"",
        &format!(
            "meshroute = {{ path = {:?} }}",
            root().display().to_string()
        ),
    );
    assert_ne!(
        manifest, toml.text,
        "the README's dependencies name meshroute"
    );
    let code: String = service
        .text
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-service");
    let _ = std::fs::remove_dir_all(dir.join("src"));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"readme-service\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n{manifest}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/lib.rs"), code).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet", "--lib"])
        .current_dir(&dir)
        .env(
            "CARGO_TARGET_DIR",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-target"),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the README's service example does not build with the README's dependencies:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
