//! The layering of `ARCHITECTURE.md` holds: every file of `src/` (the command-line tool and
//! test-only code aside) refers only to files of its own module or of the modules its row of the
//! code map allows, and no two files refer to each other, directly or through others.
//!
//! References are read from the source text: `use` trees, and `crate::…`, `super::…`, `self::…`
//! paths anywhere in code (comments and string literals removed). Each is resolved to the file
//! of the longest module path it names. A reference to the crate root (`crate::Mesh`) is a
//! reference to `lib.rs`, whose re-exports are for users only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`["route", "mesh"]`; empty for the crate root).
type ModPath = Vec<String>;

struct Source {
    /// The file, relative to `src/`.
    file: String,
    module: ModPath,
    /// Code with comments, literals and test-only modules removed.
    code: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(file: &str) -> ModPath {
    let stem = file.strip_suffix(".rs").unwrap();
    let mut parts: ModPath = stem.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Removes comments, string and char literals (keeping line structure irrelevant).
fn strip(text: &str) -> String {
    let bytes: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < bytes.len() && bytes[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i] == '/' && bytes.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == '*' && bytes.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&bytes, i) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while bytes.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if bytes.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= bytes.len() {
                    break;
                }
                if bytes[j] == '"' && (0..hashes).all(|k| bytes.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A char literal ('x', '\n', '"') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < bytes.len() && bytes[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if bytes.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(bytes: &[char], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_')
}

/// Removes `#[cfg(test)] mod name { ... }` blocks; returns the code and the names of test-only
/// module files (`#[cfg(test)] mod name;`).
fn without_tests(code: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut test_files = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        // Skip further attributes.
        let mut tail = after.trim_start();
        while tail.starts_with("#[") {
            let end = tail.find(']').unwrap();
            tail = tail[end + 1..].trim_start();
        }
        let item = tail
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ");
        if let Some(decl) = item.strip_prefix("mod ") {
            let name: String = decl
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after_name = decl[name.len()..].trim_start();
            if let Some(after) = after_name.strip_prefix(';') {
                test_files.push(name);
                rest = after;
                continue;
            }
            // Skip the balanced block.
            let open = after_name.find('{').unwrap();
            let mut depth = 0;
            let mut end = 0;
            for (k, ch) in after_name.char_indices().skip(open) {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &after_name[end..];
        } else {
            // A test-only item other than a module (a function, an impl): drop its attribute
            // only; its paths still count.
            rest = after;
        }
    }
    out.push_str(rest);
    (out, test_files)
}

/// Splits a `use` tree (`crate::a::{b, c::{d, e}}`) into full paths.
fn use_paths(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut base = prefix.to_vec();
        base.extend(head);
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        let mut depth = 0;
        let mut start = 0;
        for (k, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_paths(&inner[start..k], &base, out);
                    start = k + 1;
                }
                _ => {}
            }
        }
        use_paths(&inner[start..], &base, out);
    } else {
        let mut path = prefix.to_vec();
        for part in tree.split(" as ").next().unwrap().split("::") {
            let part = part.trim();
            if !part.is_empty() && part != "self" && part != "*" {
                path.push(part.to_owned());
            }
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
}

/// Every module path `code` refers to, made absolute from `module` (in file `file`).
fn references(
    code: &str,
    module: &ModPath,
    file: &str,
    children: &BTreeSet<String>,
) -> Vec<ModPath> {
    let _ = file;
    // `super` is the parent of this module (for `a/mod.rs`, the parent of `a`).
    let parent: ModPath = module[..module.len().saturating_sub(1)].to_vec();
    let absolute = |path: Vec<String>| -> Option<ModPath> {
        let first = path.first()?.as_str();
        match first {
            "crate" => Some(path[1..].to_vec()),
            "super" => {
                let mut base = parent.clone();
                let mut rest = &path[1..];
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                Some(base)
            }
            "self" => {
                let mut base = module.clone();
                base.extend(path[1..].iter().cloned());
                Some(base)
            }
            name if children.contains(name) => {
                let mut base = module.clone();
                base.extend(path.iter().cloned());
                Some(base)
            }
            _ => None,
        }
    };
    let mut found = Vec::new();
    // `use` trees.
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        let tail = &rest[at + 3..];
        let end = tail.find(';').unwrap_or(tail.len());
        let mut paths = Vec::new();
        use_paths(&tail[..end], &[], &mut paths);
        found.extend(paths.into_iter().filter_map(&absolute));
        rest = &tail[end..];
    }
    // Paths in code.
    for keyword in ["crate::", "super::", "self::"] {
        let mut offset = 0;
        while let Some(at) = code[offset..].find(keyword) {
            let start = offset + at;
            let before = code[..start].chars().last();
            let tail = &code[start..];
            offset = start + keyword.len();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let path: Vec<String> = tail
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap()
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            found.extend(absolute(path));
        }
    }
    found
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut offset = 0;
    while let Some(at) = text[offset..].find(word) {
        let start = offset + at;
        let before = text[..start].chars().last();
        let after = text[start + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(char::is_whitespace) {
            return Some(start);
        }
        offset = start + word.len();
    }
    None
}

/// The rows of `ARCHITECTURE.md`'s code map: module → modules it may import.
fn code_map() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[1].starts_with('`') {
            continue;
        }
        let name = cells[1]
            .trim_matches('`')
            .trim_end_matches('/')
            .trim_end_matches(".rs")
            .to_owned();
        let allowed: BTreeSet<String> = cells[3]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "—")
            .map(str::to_owned)
            .collect();
        map.insert(name, allowed);
    }
    map
}

fn sources() -> Vec<Source> {
    let src = root().join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let mut all: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .filter(|(rel, _)| !rel.starts_with("bin/"))
        .collect();
    all.sort();
    // Test-only files (`#[cfg(test)] mod x;`) are left out.
    let mut test_only: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for (file, text) in &all {
        let (code, tests) = without_tests(&strip(text));
        let module = module_of(file);
        for name in tests {
            let mut path = module.clone();
            path.push(name);
            test_only.insert(path.join("/"));
        }
        out.push(Source {
            file: file.clone(),
            module,
            code,
        });
    }
    out.retain(|s| !test_only.contains(&s.module.join("/")));
    out
}

fn graph(sources: &[Source]) -> BTreeMap<String, BTreeSet<String>> {
    let by_module: BTreeMap<ModPath, String> = sources
        .iter()
        .map(|s| (s.module.clone(), s.file.clone()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        let children: BTreeSet<String> = by_module
            .keys()
            .filter(|m| m.len() == source.module.len() + 1 && m.starts_with(&source.module))
            .map(|m| m.last().unwrap().clone())
            .collect();
        let targets = edges.entry(source.file.clone()).or_default();
        for path in references(&source.code, &source.module, &source.file, &children) {
            let target = (0..=path.len())
                .rev()
                .find_map(|n| by_module.get(&path[..n]));
            if let Some(target) = target.filter(|t| **t != source.file) {
                targets.insert(target.clone());
            }
        }
    }
    edges
}

fn top(file: &str) -> String {
    file.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_owned()
}

/// The layering of `ARCHITECTURE.md`: every reference between modules is one the code map allows.
#[test]
fn modules_import_only_what_the_code_map_allows() {
    let map = code_map();
    let sources = sources();
    let mut violations = Vec::new();
    for source in &sources {
        assert!(
            map.contains_key(&top(&source.file)),
            "src/{} belongs to no module of ARCHITECTURE.md's code map",
            source.file
        );
    }
    for (file, targets) in graph(&sources) {
        let from = top(&file);
        for target in targets {
            let to = top(&target);
            if to != from && !map[&from].contains(&to) {
                violations.push(format!(
                    "src/{file} uses src/{target} ({from} may not import {to})"
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// No two files of `src/` refer to each other, directly or through others.
#[test]
fn no_import_cycles_between_files() {
    let edges = graph(&sources());
    // Tarjan's strongly connected components.
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        cycles: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.cycles.push(component);
            }
        }
    }
    let mut state = State {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        cycles: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    assert!(
        state.cycles.is_empty(),
        "files that import each other: {:?}",
        state.cycles
    );
}

/// Only `lib.rs` speaks for the crate root: inside the crate, items are named by the file that
/// defines them (`crate::route::mesh::Mesh`, not `crate::Mesh`).
#[test]
fn the_crate_root_is_for_users_only() {
    let edges = graph(&sources());
    let users: Vec<&String> = edges
        .iter()
        .filter(|(_, targets)| targets.contains("lib.rs"))
        .map(|(file, _)| file)
        .collect();
    assert!(users.is_empty(), "files that import from lib.rs: {users:?}");
}

/// The checker sees what it should: known references resolve, comments and strings do not count.
#[test]
fn the_checker_reads_references() {
    let code = strip(
        "use crate::route::{mesh::Mesh, table::{Entry, Tables}};\n// crate::live::x\nlet s = \"crate::sim\";\nlet c = '\"'; let d = crate::util::host::resolve(a, b);\nuse super::sibling::X;",
    );
    let module: ModPath = vec!["analyze".into(), "flags".into()];
    let found = references(&code, &module, "analyze/flags.rs", &BTreeSet::new());
    let text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert!(text.contains(&"route::mesh::Mesh".to_owned()), "{text:?}");
    assert!(
        text.contains(&"route::table::Tables".to_owned()),
        "{text:?}"
    );
    assert!(text.contains(&"util::host::resolve".to_owned()), "{text:?}");
    assert!(text.contains(&"analyze::sibling::X".to_owned()), "{text:?}");
    assert!(
        !text
            .iter()
            .any(|t| t.starts_with("live") || t.starts_with("sim")),
        "{text:?}"
    );
    // `super::super::meta` from `config/load/lines.rs` is `config::meta`, nothing else.
    let nested: ModPath = vec!["config".into(), "load".into(), "lines".into()];
    let found = references(
        &strip("use super::super::meta::Origin;"),
        &nested,
        "config/load/lines.rs",
        &BTreeSet::new(),
    );
    let text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert!(text.iter().all(|t| t == "config::meta::Origin"), "{text:?}");
    // `super::super::meta` from `config/load/lines.rs` is `config::meta`, nothing else.
    let nested: ModPath = vec!["config".into(), "load".into(), "lines".into()];
    let found = references(
        &strip("use super::super::meta::Origin;"),
        &nested,
        "config/load/lines.rs",
        &BTreeSet::new(),
    );
    let text: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert!(text.iter().all(|t| t == "config::meta::Origin"), "{text:?}");
    let (code, tests) = without_tests(
        "a\n#[cfg(test)]\nmod tests { use crate::x; }\n#[cfg(test)]\n#[cfg(feature = \"yaml\")]\nmod more;\nb",
    );
    assert_eq!(tests, ["more"]);
    assert!(!code.contains("crate::x"));
}

/// Cluster mode is opt-in all the way down: without feature `kube`, not one crate of kube-rs's
/// tree (kube, k8s-openapi, their TLS and HTTP clients) is built, whatever other features are on.
#[test]
fn without_feature_kube_no_kube_crate_is_built() {
    let tree = |features: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO"));
        command
            .args(["tree", "--locked", "-e", "normal", "--prefix", "none"])
            .args(["--format", "{p}"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        command.args(features);
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let kube_crates = |tree: &str| -> BTreeSet<String> {
        tree.lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| {
                name.starts_with("kube") || name.starts_with("k8s-openapi") || *name == "rustls"
            })
            .map(str::to_owned)
            .collect()
    };
    let without = tree(&["--features", "yaml,tower,watch,cli,metrics"]);
    assert_eq!(kube_crates(&without), BTreeSet::new());
    let with = tree(&["--features", "kube"]);
    let found = kube_crates(&with);
    assert!(
        found.contains("kube-runtime") && found.contains("k8s-openapi"),
        "{found:?}"
    );
}
