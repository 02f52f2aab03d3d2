//! Loading manifests: multi-document YAML streams and JSON, from strings, files, folders and
//! readers, the way `kubectl apply -f` reads them.
//!
//! - Documents that are empty or hold only comments are skipped, and so are routing test files
//!   (a mapping without `apiVersion` and `kind` whose top level has `testCases`, as
//!   istio-config-validator writes them, or `tests`, as Envoy's `router_check_tool` reads them):
//!   they may sit beside the manifests they test, and `meshroute test` runs them.
//! - A `kind: List` (what `kubectl get -o yaml` prints) is unpacked into its items.
//! - Kinds meshroute does not route on are kept as [`Body::Ignored`].
//! - `null` is unset: a member whose value is `null` (`match:` with nothing after it, `retries:
//!   ~`, `headers: {x-a: null}`) loads exactly as if it were absent, in Istio resources, metadata
//!   and Kubernetes kinds alike (protobuf's JSON mapping; the Kubernetes API server prunes null
//!   members). A `null` list item in an Istio resource is an error, as the API server rejects it.
//! - A field the Istio API does not have (at any depth, `null` or not, and at the top level
//!   beside `apiVersion`, `kind`, `metadata`, `spec` and `status`) is an error that names its
//!   path and line, as `kubectl apply --validate=strict` and Istio's admission webhook reject it;
//!   [`LoadOptions::allow_unknown_fields`] makes it a warning. Every value of the wrong type is an
//!   error that names its path and line (all of them, up to 50 per document). A document with an
//!   error produces no resource; a broken document does not stop the others from loading.
//! - A resource defined twice (same kind, namespace and name, in one input or across the files
//!   of a folder or of [`Loaded::extend`]) is a warning naming both places; the later definition
//!   replaces the earlier ([`effective`](crate::config::effective)), as `kubectl apply` of the
//!   files in order would. Resources built in Rust and given to [`compile`](crate::compile())
//!   get no such warning: only the loader knows where they came from.
//! - Hostile input is bounded: documents over [`LoadOptions::max_document_bytes`], nesting deeper
//!   than 64 levels and alias expansion ("billion laughs") fail fast with an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::destination_rule::DestinationRule;
use super::gateway::Gateway;
use super::kubernetes::{DeploymentSpec, EndpointSlice, Pod, ServiceSpec};
use super::mesh_config::MeshConfig;
use super::meta::{ObjectMeta, Origin};
use super::progressive::{Controller, WeightController};
use super::resource::{Body, Resource, redefined};
use super::service_entry::ServiceEntry;
use super::sidecar::Sidecar;
use super::virtual_service::VirtualService;
use super::workload_entry::WorkloadEntry;
use crate::diagnostic::{Diagnostic, Severity};

pub(super) mod lines;
mod walk;

use lines::locate_in;
use walk::{Mode, Typed, typed};

/// How to load manifests.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The namespace of resources that do not name one (`kubectl apply` uses the context's
    /// namespace; `default` unless set).
    pub default_namespace: String,
    /// The largest single document accepted, in bytes (default 8 MiB; Kubernetes stores at most
    /// about 1.5 MiB per object).
    pub max_document_bytes: usize,
    /// The largest file (or string) accepted, in bytes (default 64 MiB).
    pub max_input_bytes: usize,
    /// Whether a field the Istio API does not have is only a warning (and ignored) instead of
    /// an error that refuses its resource (default `false`: an error, as `kubectl apply`
    /// (`--validate=strict`, its default) and Istio's admission webhook reject it).
    pub allow_unknown_fields: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            default_namespace: "default".to_owned(),
            max_document_bytes: 8 << 20,
            max_input_bytes: 64 << 20,
            allow_unknown_fields: false,
        }
    }
}

impl LoadOptions {
    /// Sets the namespace for resources that do not name one.
    pub fn default_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.default_namespace = namespace.into();
        self
    }

    /// Makes an unknown field a warning, ignored, instead of an error (see
    /// [`LoadOptions::allow_unknown_fields`](LoadOptions#structfield.allow_unknown_fields)):
    /// for manifests written for a newer Istio than meshroute knows.
    ///
    /// ```
    /// use meshroute::{LoadOptions, Severity};
    ///
    /// let yaml = "apiVersion: networking.istio.io/v1
    /// kind: DestinationRule
    /// metadata: {name: a}
    /// spec: {host: a, hots: b}
    /// ";
    /// let strict = meshroute::from_str(yaml, &LoadOptions::default());
    /// assert!(strict.resources.is_empty());
    /// assert_eq!(strict.diagnostics[0].severity, Severity::Error);
    /// let lenient = meshroute::from_str(yaml, &LoadOptions::default().allow_unknown_fields(true));
    /// assert_eq!(lenient.resources.len(), 1);
    /// assert_eq!(lenient.diagnostics[0].severity, Severity::Warning);
    /// ```
    pub fn allow_unknown_fields(mut self, allow: bool) -> Self {
        self.allow_unknown_fields = allow;
        self
    }
}

/// What loading produced: the resources that could be read, and every problem found.
///
/// Loading does not stop at the first bad document: `diagnostics` holds every error of every
/// document that could not be read (unknown fields included, unless allowed).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Loaded {
    /// The resources, in input order.
    pub resources: Vec<Resource>,
    /// Load errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Appends another load result, with a warning for each of its resources that replaces one
    /// loaded before (same kind, namespace and name).
    pub fn extend(&mut self, other: Loaded) {
        let from = self.resources.len();
        self.append(other);
        self.warn_redefinitions(Some(from));
    }

    fn append(&mut self, other: Loaded) {
        self.resources.extend(other.resources);
        self.diagnostics.extend(other.diagnostics);
    }

    /// Warns about each resource that replaces an earlier definition of the same kind,
    /// namespace and name ([`effective`](crate::config::effective) keeps the later, as `kubectl
    /// apply` of the files in order would), naming both places. With `Some(from)`, only
    /// about a resource at `from` or later that replaces one before `from` (the pairs within
    /// each part were reported when it was loaded).
    fn warn_redefinitions(&mut self, across: Option<usize>) {
        let warnings: Vec<Diagnostic> = redefined(&self.resources)
            .into_iter()
            .enumerate()
            .filter_map(|(later, earlier)| {
                let earlier = earlier?;
                let reported = across.is_some_and(|from| later < from || earlier >= from);
                if reported {
                    return None;
                }
                let (later, earlier) = (self.resources.get(later)?, self.resources.get(earlier)?);
                Some(later.diagnostic(
                    Severity::Warning,
                    "",
                    format!(
                        "defined again: this definition replaces the one at {}, as applying the manifests in order would",
                        place(&earlier.origin)
                    ),
                ))
            })
            .collect();
        self.diagnostics.extend(warnings);
    }
}

/// Where a document is, for a message: `file:line`, or for text without a file its line and
/// document number.
fn place(origin: &Origin) -> String {
    match (&origin.file, origin.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => format!("{file} (document {})", origin.document + 1),
        (None, Some(line)) => format!("line {line} (document {})", origin.document + 1),
        (None, None) => format!("document {}", origin.document + 1),
    }
}

/// Input that could not be read at all (as opposed to read and found wrong).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not UTF-8 text.
    #[error("{path} is not UTF-8 text")]
    NotUtf8 {
        /// The path (`-` for stdin).
        path: PathBuf,
    },
}

/// Loads every document in `text`. Resources get no file name in their origin.
pub fn from_str(text: &str, options: &LoadOptions) -> Loaded {
    let mut loaded = load_text(text, None, options);
    loaded.warn_redefinitions(None);
    loaded
}

/// Loads every document in `text`, naming `file` as its origin in diagnostics.
pub fn from_str_named(text: &str, file: &str, options: &LoadOptions) -> Loaded {
    let mut loaded = load_text(text, Some(Arc::from(file)), options);
    loaded.warn_redefinitions(None);
    loaded
}

/// Loads a file, or every `*.yaml`, `*.yml` and `*.json` file below a folder (recursively, in
/// name order). `-` reads standard input.
pub fn from_path(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loaded = read_path(path.as_ref(), options)?;
    loaded.warn_redefinitions(None);
    Ok(loaded)
}

fn read_path(path: &Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text).map_err(
            |source| match source.kind() {
                std::io::ErrorKind::InvalidData => LoadError::NotUtf8 { path: path.into() },
                _ => LoadError::Io {
                    path: path.into(),
                    source,
                },
            },
        )?;
        return Ok(load_text(&text, Some(Arc::from("-")), options));
    }
    let metadata = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.into(),
        source,
    })?;
    if !metadata.is_dir() {
        return load_file(path, options);
    }
    let mut loaded = Loaded::default();
    for file in folder_manifests(path)? {
        loaded.append(load_file(&file, options)?);
    }
    Ok(loaded)
}

/// The files [`from_path`] reads for `path`, in the order it reads them: `path` itself when it
/// is not a folder, else every `*.yaml`, `*.yml` and `*.json` file below it in name order. (The
/// file watcher watches them; `meshroute test` looks for test files among them.)
pub(crate) fn manifest_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let metadata = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.into(),
        source,
    })?;
    if metadata.is_dir() {
        folder_manifests(path)
    } else {
        Ok(vec![path.to_owned()])
    }
}

/// The manifests below the folder `dir`, in name order.
fn folder_manifests(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    collect_manifests(dir, &mut files, 0)?;
    files.sort();
    Ok(files)
}

/// Loads text already read, as [`from_path`] of each root and [`Loaded::extend`] of the
/// results would: `roots` holds, per path given, its files' names and texts in the order
/// [`manifest_files`] lists them. The file watcher reads the files itself, so that what it
/// loads is exactly the content it found stable.
#[cfg(feature = "watch")]
pub(crate) fn from_texts<'a>(
    roots: impl IntoIterator<Item = Vec<(&'a Path, &'a str)>>,
    options: &LoadOptions,
) -> Loaded {
    let mut loaded = Loaded::default();
    for files in roots {
        let mut root = Loaded::default();
        for (file, text) in files {
            let name = file.display().to_string();
            root.append(load_text(text, Some(Arc::from(name)), options));
        }
        root.warn_redefinitions(None);
        loaded.extend(root);
    }
    loaded
}

fn collect_manifests(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), LoadError> {
    // Symlink loops are cut off by depth rather than followed forever.
    if depth > 32 {
        return Ok(());
    }
    let io = |source| LoadError::Io {
        path: dir.into(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        if path.is_dir() {
            collect_manifests(&path, out, depth + 1)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

fn load_file(path: &Path, options: &LoadOptions) -> Result<Loaded, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.into(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: path.into() })?;
    let name = path.display().to_string();
    Ok(load_text(&text, Some(Arc::from(name)), options))
}

/// Loads one object as an API server returns it (JSON), exactly as a document of a manifest
/// is loaded: cluster mode reads the cluster's objects through the same model and checks as
/// files.
#[cfg(feature = "kube")]
pub(crate) fn from_object(value: Value, origin: &Origin, options: &LoadOptions) -> Loaded {
    let mut loaded = Loaded::default();
    load_value(value, origin, options, &mut loaded);
    loaded
}

fn load_text(text: &str, file: Option<Arc<str>>, options: &LoadOptions) -> Loaded {
    let mut loaded = Loaded::default();
    for (origin, value) in documents(text, file, options) {
        match value {
            Ok(value) => load_value(value, &origin, options, &mut loaded),
            Err(diagnostic) => loaded.diagnostics.push(*diagnostic),
        }
    }
    loaded
}

/// One document of `text` as a JSON value, with where it came from, or the error that keeps it
/// from being read.
pub(crate) type Document = (Origin, Result<Value, Box<Diagnostic>>);

/// The documents of `text`, as the loader reads them: a JSON text is one value (each item of a
/// top-level array a document of its own), a YAML stream is split at its document markers
/// (empty and comment-only documents skipped); the size limits of `options` apply. What
/// [`from_path`] loads manifests from, and what routing test files (`sim::test_files`) are read
/// from.
pub(crate) fn documents(
    text: &str,
    file: Option<Arc<str>>,
    options: &LoadOptions,
) -> Vec<Document> {
    let mut out = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() > options.max_input_bytes {
        let origin = Origin {
            file,
            ..Origin::default()
        };
        let diagnostic = origin.diagnostic(
            None,
            format!(
                "input is {} bytes, more than the {} byte limit (LoadOptions::max_input_bytes)",
                text.len(),
                options.max_input_bytes
            ),
        );
        out.push((origin, Err(Box::new(diagnostic))));
        return out;
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // JSON: one value (an object, a `List`, or an array of objects).
        let origin = Origin {
            file,
            document: 0,
            line: Some(1),
            text_line: 1,
            text: None,
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => {
                // Each item of a JSON array is a document of its own.
                for (document, item) in items.into_iter().enumerate() {
                    let origin = Origin {
                        document,
                        ..origin.clone()
                    };
                    out.push((origin, Ok(item)));
                }
            }
            Ok(value) => out.push((origin, Ok(value))),
            Err(error) => {
                let diagnostic = origin.diagnostic(
                    u32::try_from(error.line()).ok(),
                    format!("invalid JSON: {error}"),
                );
                out.push((origin, Err(Box::new(diagnostic))));
            }
        }
        return out;
    }
    for (index, (line, doc)) in split_documents(text).into_iter().enumerate() {
        let content_line = doc
            .lines()
            .position(|l| {
                let l = l.trim();
                !l.is_empty() && !l.starts_with('#') && l != "---"
            })
            .and_then(|i| u32::try_from(i).ok())
            .map_or(line, |i| line + i);
        let origin = Origin {
            file: file.clone(),
            document: index,
            line: Some(content_line),
            text_line: line,
            text: Some(Arc::from(doc)),
        };
        if doc.len() > options.max_document_bytes {
            let diagnostic = origin.diagnostic(
                None,
                format!(
                    "document is {} bytes, more than the {} byte limit (LoadOptions::max_document_bytes)",
                    doc.len(),
                    options.max_document_bytes
                ),
            );
            out.push((origin, Err(Box::new(diagnostic))));
            continue;
        }
        match parse_yaml(doc) {
            Ok(Value::Null) => {}
            Ok(value) => out.push((origin, Ok(value))),
            Err((doc_line, message)) => {
                let diagnostic =
                    origin.diagnostic(doc_line.map(|l| line + l.saturating_sub(1)), message);
                out.push((origin, Err(Box::new(diagnostic))));
            }
        }
    }
    out
}

/// The top-level key that makes a document a routing test file rather than a manifest:
/// `testCases` (istio-config-validator) or `tests` (Envoy's `router_check_tool`), in a mapping
/// with neither `apiVersion` nor `kind`. The loader skips such documents, so that test files can
/// sit beside the manifests they test; `sim::test_files` reads them. The one rule for both.
pub(crate) fn routing_test_key(value: &Value) -> Option<&'static str> {
    test_key(value.as_object()?)
}

fn test_key(object: &serde_json::Map<String, Value>) -> Option<&'static str> {
    if object.contains_key("apiVersion") || object.contains_key("kind") {
        return None;
    }
    ["testCases", "tests"]
        .into_iter()
        .find(|key| object.contains_key(*key))
}

/// Reads `value` as the Istio API type `T`, as a resource's `spec` is read (`null` is unset,
/// every wrong value is found): the value when it has no wrong value, each wrong value as
/// `(path, message)`, and the path of each unknown field. Paths start with `prefix`.
pub(crate) fn read_istio<T: serde::de::DeserializeOwned>(
    value: &Value,
    prefix: &str,
) -> (Option<T>, Vec<(String, String)>, Vec<String>) {
    let found = typed::<T>(value, prefix, Mode::ISTIO);
    (found.value, found.errors, found.unknown)
}

/// The line of each field path (`testCases[1].request.uri`) in the document `origin` holds (or
/// of its nearest ancestor present), as diagnostics are located; `None` when the text is not
/// kept (JSON, whose parser reports no positions).
pub(crate) fn field_lines(origin: &Origin, paths: &[String]) -> Vec<Option<u32>> {
    if origin.text.is_none() {
        return vec![None; paths.len()];
    }
    let mut located: Vec<Diagnostic> = paths
        .iter()
        .map(|path| {
            let mut diagnostic = origin.diagnostic(None, "");
            diagnostic.path.clone_from(path);
            diagnostic
        })
        .collect();
    locate_in(origin, &mut located);
    located.into_iter().map(|d| d.line).collect()
}

/// Splits a YAML stream at its document markers (`---` and `...` at the start of a line, which
/// YAML reserves for that purpose even inside block scalars). Returns each document's text and
/// the one-based line it starts on. Empty and comment-only pieces are kept: the parser skips them.
fn split_documents(text: &str) -> Vec<(u32, &str)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let is_marker = |marker: &str| {
            line.strip_prefix(marker)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
        };
        if is_marker("---") || is_marker("...") {
            docs.push((start_line, text.get(start..offset).unwrap_or_default()));
            // Content after `--- ` on the marker line belongs to the next document; keep the
            // line (with the marker blanked) so that line numbers stay right.
            start = offset;
            start_line = line_no;
            if is_marker("...") {
                start = offset + line.len();
                start_line = line_no + 1;
            }
        }
        offset += line.len();
    }
    docs.push((start_line, text.get(start..).unwrap_or_default()));
    docs.retain(|(_, doc)| {
        doc.lines().any(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#') && l != "---" && l != "..." && !l.starts_with('%')
        })
    });
    docs
}

/// The deepest nesting a document may have (a manifest needs about 15 levels): serde-saphyr
/// stops at it with a budget error, before anything recurses that deep.
const MAX_DEPTH: usize = 64;

fn yaml_options() -> serde_saphyr::Options {
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = 100_000;
    alias_limits.max_replay_stack_depth = 16;
    alias_limits.max_alias_expansions_per_anchor = 1_000;
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_events: 2_000_000,
            max_nodes: 1_000_000,
            max_documents: 2,
        },
        alias_limits: alias_limits,
        with_snippet: false,
    }
}

/// Parses one YAML document into a JSON value. On failure returns the line (within the document)
/// and a message.
fn parse_yaml(doc: &str) -> Result<Value, (Option<u32>, String)> {
    serde_saphyr::from_str_with_options::<Option<Value>>(doc, yaml_options())
        .map(Option::unwrap_or_default)
        .map_err(|error| {
            let line = error
                .location()
                .and_then(|l| u32::try_from(l.line()).ok())
                .filter(|l| *l > 0);
            let message = match &error {
                serde_saphyr::Error::Budget { breach, .. } => budget_message(breach),
                // The scanner's own nesting limits (255 levels), reached before the budget's
                // when one line opens many levels (`- - - - ...`).
                serde_saphyr::Error::ExternalMessage { source, .. } => match &**source {
                    serde_saphyr::ExternalMessageSource::Parser(scan)
                        if matches!(
                            scan.kind(),
                            serde_saphyr::granit_parser::ErrorKind::RecursionLimitExceeded
                        ) =>
                    {
                        Some(too_deep())
                    }
                    _ => None,
                },
                _ => None,
            }
            .unwrap_or_else(|| error.to_string());
            // serde-saphyr appends " at line X, column Y"; the diagnostic carries the line.
            let message = match message.find(" at line ") {
                Some(cut) => message.get(..cut).unwrap_or(&message).to_owned(),
                None => message,
            };
            (line, format!("invalid YAML: {message}"))
        })
}

fn too_deep() -> String {
    format!("nested deeper than {MAX_DEPTH} levels, the most meshroute reads in one document")
}

/// What a breached parser budget means, in the user's words.
fn budget_message(breach: &serde_saphyr::budget::BudgetBreach) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach;
    match breach {
        BudgetBreach::Depth { .. } => Some(too_deep()),
        _ => None,
    }
}

const ISTIO_KINDS: [&str; 6] = [
    "VirtualService",
    "DestinationRule",
    "Gateway",
    "ServiceEntry",
    "WorkloadEntry",
    "Sidecar",
];

fn load_value(value: Value, origin: &Origin, options: &LoadOptions, loaded: &mut Loaded) {
    let Value::Object(mut object) = value else {
        loaded.diagnostics.push(origin.diagnostic(
            None,
            format!(
                "expected a Kubernetes object (a mapping with apiVersion and kind), found {}",
                describe(&value)
            ),
        ));
        return;
    };
    let api_version = match object.get("apiVersion") {
        Some(Value::String(v)) => v.clone(),
        _ => String::new(),
    };
    let kind = match object.get("kind") {
        Some(Value::String(v)) => v.clone(),
        _ => String::new(),
    };
    if api_version.is_empty() || kind.is_empty() {
        if test_key(&object).is_some() {
            // A routing test file beside the manifests (`sim::test_files`, `meshroute test`):
            // not a manifest, and no surprise there, so skipped without a note.
            return;
        }
        // A YAML file beside the manifests that is no Kubernetes object at all — a Helm
        // `Chart.yaml` (apiVersion, no kind) or `values.yaml` — is skipped with a note; a
        // document that looks like a manifest (it has a kind, metadata or a spec) but lacks a
        // field is an error.
        let manifest_like = ["kind", "metadata", "spec"]
            .iter()
            .any(|key| object.contains_key(*key));
        let mut diagnostic = origin.diagnostic(
            None,
            if manifest_like {
                "document has no apiVersion and kind: every manifest needs both (e.g. apiVersion: networking.istio.io/v1, kind: VirtualService)"
            } else {
                "not a Kubernetes object (no kind, metadata or spec): skipped"
            },
        );
        if !manifest_like {
            diagnostic.severity = Severity::Info;
        }
        loaded.diagnostics.push(diagnostic);
        return;
    }
    if kind == "List" || kind.ends_with("List") && object.contains_key("items") {
        if let Some(Value::Array(items)) = object.remove("items") {
            for item in items {
                load_value(item, origin, options, loaded);
            }
        }
        return;
    }
    let metadata_value = object.remove("metadata").unwrap_or(Value::Null);
    let metadata = typed::<ObjectMeta>(&metadata_value, "metadata", Mode::KUBERNETES);
    let mut errors = metadata.errors;
    let mut metadata = metadata.value.unwrap_or_else(|| ObjectMeta {
        // Name the resource in the diagnostics even when its metadata is wrong.
        name: match metadata_value.get("name") {
            Some(Value::String(name)) => name.clone(),
            _ => String::new(),
        },
        ..ObjectMeta::default()
    });
    if metadata.namespace.as_deref().is_none_or(str::is_empty) {
        metadata.namespace = Some(options.default_namespace.clone());
    }
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let istio = group == "networking.istio.io" && ISTIO_KINDS.contains(&kind.as_str());
    if istio && !matches!(version, "v1alpha3" | "v1beta1" | "v1") {
        let mut diagnostic = origin.diagnostic(
            None,
            format!(
                "unsupported apiVersion {api_version:?} for {kind}: use networking.istio.io/v1, v1beta1 or v1alpha3"
            ),
        );
        diagnostic.kind = Some(kind);
        diagnostic.name = Some(format!("{}/{}", metadata.namespace(), metadata.name));
        diagnostic.path = "apiVersion".into();
        loaded.diagnostics.push(diagnostic);
        return;
    }
    let spec = object.remove("spec").unwrap_or(Value::Null);
    let mut unknown = Vec::new();
    if istio {
        // Istio's admission webhook (`checkFields`) accepts these top-level fields only.
        unknown.extend(
            object
                .keys()
                .filter(|key| !matches!(key.as_str(), "apiVersion" | "kind" | "status"))
                .cloned(),
        );
    }
    let body = match (istio, group, kind.as_str()) {
        (true, _, "VirtualService") => typed::<VirtualService>(&spec, "spec", Mode::ISTIO)
            .into_body(&mut errors, &mut unknown, |s| {
                Body::VirtualService(Box::new(s))
            }),
        (true, _, "DestinationRule") => typed::<DestinationRule>(&spec, "spec", Mode::ISTIO)
            .into_body(&mut errors, &mut unknown, |s| {
                Body::DestinationRule(Box::new(s))
            }),
        (true, _, "Gateway") => {
            typed::<Gateway>(&spec, "spec", Mode::ISTIO)
                .into_body(&mut errors, &mut unknown, |s| Body::Gateway(Box::new(s)))
        }
        (true, _, "ServiceEntry") => typed::<ServiceEntry>(&spec, "spec", Mode::ISTIO).into_body(
            &mut errors,
            &mut unknown,
            |s| Body::ServiceEntry(Box::new(s)),
        ),
        (true, _, "WorkloadEntry") => typed::<WorkloadEntry>(&spec, "spec", Mode::ISTIO).into_body(
            &mut errors,
            &mut unknown,
            |s| Body::WorkloadEntry(Box::new(s)),
        ),
        (true, _, "Sidecar") => {
            typed::<Sidecar>(&spec, "spec", Mode::ISTIO)
                .into_body(&mut errors, &mut unknown, |s| Body::Sidecar(Box::new(s)))
        }
        (false, "", "ConfigMap") if is_mesh_config_map(&metadata.name) => {
            match object.get("data").and_then(|d| d.get("mesh")) {
                Some(Value::String(text)) => match mesh_config(text, "data.mesh") {
                    Ok(mesh) => Some(Body::MeshConfig(Box::new(mesh))),
                    Err(found) => {
                        errors.extend(found);
                        None
                    }
                },
                _ => Some(Body::Ignored { kind: kind.clone() }),
            }
        }
        (false, "", "Service") => typed::<ServiceSpec>(&spec, "spec", Mode::KUBERNETES).into_body(
            &mut errors,
            &mut unknown,
            |s| Body::Service(Box::new(s)),
        ),
        (false, "apps", "Deployment") => typed::<DeploymentSpec>(&spec, "spec", Mode::KUBERNETES)
            .into_body(&mut errors, &mut unknown, |s| Body::Deployment(Box::new(s))),
        (false, "", "Pod") => {
            let mut pod = serde_json::Map::new();
            pod.insert("spec".into(), spec);
            pod.insert(
                "status".into(),
                object.remove("status").unwrap_or(Value::Null),
            );
            typed::<Pod>(&Value::Object(pod), "", Mode::KUBERNETES).into_body(
                &mut errors,
                &mut unknown,
                |p| Body::Pod(Box::new(p)),
            )
        }
        (false, "discovery.k8s.io", "EndpointSlice") => {
            // No `spec`: the slice's fields are at the top level, beside `apiVersion` and
            // `kind`. Fields meshroute does not read (at the top level too: the API server
            // returns what its version has) are kept, not reported.
            let mut slice = object;
            slice.remove("apiVersion");
            slice.remove("kind");
            if !spec.is_null() {
                slice.insert("spec".into(), spec);
            }
            typed::<EndpointSlice>(&Value::Object(slice), "", Mode::KUBERNETES).into_body(
                &mut errors,
                &mut unknown,
                |s| Body::EndpointSlice(Box::new(s)),
            )
        }
        (false, group, kind) => match Controller::of_owner(group, kind) {
            Some(controller) => Some(Body::WeightController(Box::new(
                WeightController::from_spec(controller, &spec, metadata.namespace()),
            ))),
            None => Some(Body::Ignored {
                kind: kind.to_owned(),
            }),
        },
        _ => Some(Body::Ignored { kind: kind.clone() }),
    };
    let resource = Resource {
        api_version,
        metadata,
        origin: origin.clone(),
        body: Body::Ignored { kind: kind.clone() },
    };
    let mut diagnostics: Vec<Diagnostic> = unknown
        .into_iter()
        .map(|path| {
            let field = path.rsplit(['.', ']']).next().unwrap_or(&path).to_owned();
            let (severity, consequence) = if options.allow_unknown_fields {
                (Severity::Warning, "it is ignored (unknown fields allowed)")
            } else {
                (
                    Severity::Error,
                    "Kubernetes rejects the resource (to ignore it instead: --allow-unknown-fields, LoadOptions::allow_unknown_fields)",
                )
            };
            resource.diagnostic(
                severity,
                path,
                format!("unknown field {field:?}: Istio's API has no such field here (typo or wrong indentation?); {consequence}"),
            )
        })
        .chain(
            errors
                .into_iter()
                .map(|(path, message)| resource.diagnostic(Severity::Error, path, message)),
        )
        .collect();
    for diagnostic in &mut diagnostics {
        diagnostic.kind = Some(kind.clone());
    }
    locate_in(origin, &mut diagnostics);
    // Found in key order; read in document order.
    diagnostics.sort_by_key(|d| d.line);
    let rejected = diagnostics.iter().any(Diagnostic::is_error);
    loaded.diagnostics.extend(diagnostics);
    if let (Some(body), false) = (body, rejected) {
        loaded.resources.push(Resource { body, ..resource });
    }
}

/// Whether a ConfigMap of this name holds istiod's MeshConfig under `data.mesh`: `istio`, or
/// `istio-<revision>` for a revisioned control plane.
fn is_mesh_config_map(name: &str) -> bool {
    name == "istio" || name.starts_with("istio-")
}

/// Parses MeshConfig text (the YAML of the ConfigMap's `mesh` key). Fields meshroute does not
/// model are ignored: MeshConfig has many settings that change no routing decision.
fn mesh_config(text: &str, prefix: &str) -> Result<MeshConfig, Vec<(String, String)>> {
    let value = parse_yaml(text).map_err(|(_, message)| vec![(prefix.to_owned(), message)])?;
    let found = typed::<MeshConfig>(&value, prefix, Mode::KUBERNETES);
    match found.value {
        Some(mesh) if found.errors.is_empty() => Ok(mesh),
        _ => Err(found.errors),
    }
}

/// Loads a MeshConfig file: either the `istio` ConfigMap (as `kubectl get cm istio -n
/// istio-system -o yaml` prints it) or the text of its `mesh` key. The result holds one
/// [`Body::MeshConfig`] resource (named `istio-system/istio`) or the errors found; add it to the
/// other resources with [`Loaded::extend`], last, so that it wins over any `istio` ConfigMap
/// among them.
pub fn mesh_config_from_str(text: &str, file: Option<&str>) -> Loaded {
    let options =
        LoadOptions::default().default_namespace(super::mesh_config::DEFAULT_ROOT_NAMESPACE);
    let as_manifest = parse_yaml(text)
        .ok()
        .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some("ConfigMap"));
    if as_manifest {
        let mut loaded = load_text(text, file.map(Arc::from), &options);
        loaded
            .resources
            .retain(|r| matches!(r.body, Body::MeshConfig(_)));
        if loaded.resources.is_empty() && !loaded.has_errors() {
            let origin = Origin {
                file: file.map(Arc::from),
                line: Some(1),
                ..Origin::default()
            };
            loaded.diagnostics.push(origin.diagnostic(
                None,
                "no MeshConfig found: expected a ConfigMap named istio (or istio-<revision>) with a `mesh` key",
            ));
        }
        return loaded;
    }
    let origin = Origin {
        file: file.map(Arc::from),
        line: Some(1),
        text_line: 1,
        text: Some(Arc::from(text)),
        ..Origin::default()
    };
    let mut loaded = Loaded::default();
    match mesh_config(text, "") {
        Ok(mesh) => {
            let metadata = ObjectMeta {
                name: "istio".to_owned(),
                namespace: Some(super::mesh_config::DEFAULT_ROOT_NAMESPACE.to_owned()),
                ..ObjectMeta::default()
            };
            loaded.resources.push(Resource {
                api_version: "v1".to_owned(),
                metadata,
                origin,
                body: Body::MeshConfig(Box::new(mesh)),
            });
        }
        Err(errors) => {
            for (path, message) in errors {
                let mut diagnostic = origin.diagnostic(None, message);
                diagnostic.kind = Some("MeshConfig".to_owned());
                diagnostic.path = path;
                locate_in(&origin, std::slice::from_mut(&mut diagnostic));
                loaded.diagnostics.push(diagnostic);
            }
        }
    }
    loaded
}

impl<T> Typed<T> {
    /// Moves the errors and unknown fields out and wraps the value as a [`Body`].
    fn into_body(
        self,
        errors: &mut Vec<(String, String)>,
        unknown: &mut Vec<String>,
        body: impl FnOnce(T) -> Body,
    ) -> Option<Body> {
        errors.extend(self.errors);
        unknown.extend(self.unknown);
        self.value.map(body)
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_and_keeps_line_numbers() {
        let text = "a: 1\n---\n# only a comment\n---\nb: 2\nc: 3\n...\n---\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0], (1, "a: 1\n"));
        assert_eq!(docs[1].0, 4);
        assert!(docs[1].1.contains("b: 2"));
    }

    #[test]
    fn a_document_marker_with_content_on_its_line_starts_a_document() {
        let loaded = from_str(
            "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
            &LoadOptions::default(),
        );
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        assert_eq!(loaded.resources.len(), 1);
    }

    /// istiod reads MeshConfig from the `mesh` key of the `istio` ConfigMap (istio/istio
    /// `pkg/config/mesh/mesh.go` `ApplyMeshConfig`); fields meshroute does not model are ignored.
    #[test]
    fn mesh_config_from_the_config_map_or_its_mesh_text() {
        let text = "rootNamespace: mesh-root\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}\naccessLogFile: /dev/stdout\n";
        let bare = mesh_config_from_str(text, None);
        assert!(bare.diagnostics.is_empty(), "{:?}", bare.diagnostics);
        let map = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |\n{}",
            text.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let wrapped = mesh_config_from_str(&map, Some("mesh.yaml"));
        assert!(wrapped.diagnostics.is_empty(), "{:?}", wrapped.diagnostics);
        for loaded in [bare, wrapped] {
            let [resource] = loaded.resources.as_slice() else {
                panic!("one resource expected: {:?}", loaded.resources)
            };
            let Body::MeshConfig(mesh) = &resource.body else {
                panic!("a MeshConfig expected: {resource:?}")
            };
            assert_eq!(mesh.root_namespace(), "mesh-root");
            assert_eq!(
                mesh.outbound_traffic_mode(),
                super::super::sidecar::OutboundTrafficMode::RegistryOnly
            );
        }
        let wrong = mesh_config_from_str("rootNamespace: [a]\n", None);
        assert_eq!(wrong.diagnostics.len(), 1, "{:?}", wrong.diagnostics);
        assert_eq!(wrong.diagnostics[0].path, "rootNamespace");
        let other = mesh_config_from_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            None,
        );
        assert!(other.has_errors());
    }
}
