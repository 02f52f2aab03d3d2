//! [`TestFiles`]: finding the test files among paths, reading them, and running every case
//! against the configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::caller::{Caller, Fixed, choose};
use super::fields::{Problem, Sink};
use super::istio_config_validator::{self as validator, ValidatorCase};
use super::manifests::Manifests;
use super::observe::{Asked, Observed, observe};
use super::report::{CaseResult, Check, RequestResult, TestReport};
use super::router_check::{self as router, Assert, RouterCase};
use super::their_matcher::differences;
use crate::config::load::{
    LoadError, LoadOptions, Loaded, documents, field_lines, from_path, manifest_files,
    routing_test_key,
};
use crate::diagnostic::Severity;
use crate::route::mesh::Mesh;
use crate::sim::simulation::SimError;
use crate::util::regex::RegexBudget;

/// The cases of one test document.
#[derive(Debug, Clone)]
enum Cases {
    Validator(Vec<ValidatorCase>),
    Router(Vec<RouterCase>),
}

/// A case's place and the warnings about it.
#[derive(Debug, Clone)]
struct Placed {
    line: Option<u32>,
    warnings: Vec<Problem>,
}

/// One test document of a file.
#[derive(Debug, Clone)]
struct TestDocument {
    file: String,
    cases: Cases,
    /// Per case, in order.
    placed: Vec<Placed>,
}

/// Routing test files — istio-config-validator's `testCases` and Envoy's `router_check_tool`
/// `tests` — found among files and folders, ready to run against a configuration with Istio's
/// semantics (see the [module documentation](crate::sim::test_files) for what each format
/// supports).
///
/// The configuration is the Istio and Kubernetes resources among the same paths (the loader
/// skips test documents), or the paths given to [`TestFiles::config`]. Each case's request is
/// sent by a sidecar in the namespace of the VirtualService that serves its authority, or, when
/// that VirtualService is bound only to gateways, by its gateway; [`TestFiles::namespace`] and
/// [`TestFiles::gateway`] choose one proxy for every case.
///
/// ```
/// use meshroute::sim::TestFiles;
///
/// let files = TestFiles::discover(["examples/seed/tests/"])?.config([
///     "examples/seed/demo.yaml",
///     "examples/seed/demo-gateway.yaml",
///     "examples/seed/destination-rule-svc-b-canary.yaml",
/// ]);
/// let report = files.run()?;
/// assert!(report.passed(), "{report}");
/// assert!(report.to_string().starts_with("PASS examples/seed/tests/"));
/// # Ok::<(), meshroute::sim::SimError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TestFiles {
    documents: Vec<TestDocument>,
    /// Keys outside any case that were not read.
    warnings: Vec<Problem>,
    files: Vec<String>,
    config: Vec<PathBuf>,
    fixed: Fixed,
    namespace: Option<String>,
}

impl TestFiles {
    /// Finds and reads the test files among `paths` (files, or folders searched recursively for
    /// `*.yaml`, `*.yml` and `*.json`): every document whose top-level mapping has `testCases`
    /// or `tests` (and no `apiVersion` or `kind`). The configuration is then `paths` too.
    ///
    /// Fails on an unreadable file or document, on a test file with an error (every error, each
    /// naming the file, the line, the case and the field), and when no test file is found.
    pub fn discover(paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Result<Self, SimError> {
        let paths: Vec<PathBuf> = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        let mut found = Self {
            documents: Vec::new(),
            warnings: Vec::new(),
            files: Vec::new(),
            config: paths.clone(),
            fixed: Fixed::PerCase,
            namespace: None,
        };
        let mut errors = Vec::new();
        let mut budget = RegexBudget::default();
        for path in &paths {
            if path == Path::new("-") {
                return Err(SimError::Tests(vec![
                    "test files are read from files and folders, not from standard input"
                        .to_owned(),
                ]));
            }
            for file in manifest_files(path)? {
                found.read_file(&file, &mut errors, &mut budget)?;
            }
        }
        if !errors.is_empty() {
            return Err(SimError::Tests(
                errors.iter().map(ToString::to_string).collect(),
            ));
        }
        if found.documents.is_empty() {
            return Err(SimError::NoTestFiles(paths));
        }
        Ok(found)
    }

    fn read_file(
        &mut self,
        path: &Path,
        errors: &mut Vec<Problem>,
        budget: &mut RegexBudget,
    ) -> Result<(), SimError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let text =
            String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8 { path: path.into() })?;
        let name = path.display().to_string();
        let mut any = false;
        for (origin, value) in documents(
            &text,
            Some(Arc::from(name.as_str())),
            &LoadOptions::default(),
        ) {
            let value = match value {
                Ok(value) => value,
                Err(diagnostic) => {
                    errors.push(Problem {
                        file: name.clone(),
                        line: diagnostic.line,
                        case: None,
                        field: String::new(),
                        message: diagnostic.message.clone(),
                    });
                    continue;
                }
            };
            let Some(key) = routing_test_key(&value) else {
                continue;
            };
            if value.get(validator::KEY).is_some() && value.get(router::KEY).is_some() {
                let mut sink = Sink::new(&name, &origin, budget);
                sink.error(
                    "",
                    "has both testCases (istio-config-validator) and tests (router_check_tool): split it into two documents",
                );
                errors.extend(sink.finish().0);
                continue;
            }
            any = true;
            let mut sink = Sink::new(&name, &origin, budget);
            let (cases, titles, labels) = if key == validator::KEY {
                let cases = validator::parse(&value, &mut sink);
                let titles = cases.iter().map(ValidatorCase::title).collect::<Vec<_>>();
                let labels = cases.iter().map(|c| c.label.clone()).collect::<Vec<_>>();
                (Cases::Validator(cases), titles, labels)
            } else {
                let cases = router::parse(&value, &mut sink);
                let titles = cases.iter().map(RouterCase::title).collect::<Vec<_>>();
                let labels = cases.iter().map(|c| c.label.clone()).collect::<Vec<_>>();
                (Cases::Router(cases), titles, labels)
            };
            let (found_errors, warnings) = sink.finish();
            errors.extend(found_errors);
            let lines = field_lines(&origin, &labels);
            let mut placed: Vec<Placed> = lines
                .into_iter()
                .map(|line| Placed {
                    line,
                    warnings: Vec::new(),
                })
                .collect();
            for warning in warnings {
                let at = warning
                    .case
                    .as_ref()
                    .and_then(|case| titles.iter().position(|t| t == case));
                match at.and_then(|i| placed.get_mut(i)) {
                    Some(place) => place.warnings.push(warning),
                    None => self.warnings.push(warning),
                }
            }
            self.documents.push(TestDocument {
                file: name.clone(),
                cases,
                placed,
            });
        }
        if any {
            self.files.push(name);
        }
        Ok(())
    }

    /// Tests this configuration (files or folders, as [`crate::from_path`] reads them) instead
    /// of the resources among the test files' paths.
    pub fn config(mut self, paths: impl IntoIterator<Item = impl AsRef<Path>>) -> Self {
        self.config = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        self
    }

    /// Decides every case as a sidecar in `namespace` (instead of one chosen per case), and
    /// loads resources that name no namespace into it ([`TestFiles::run`]).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        self.fixed = Fixed::Sidecar(namespace.clone());
        self.namespace = Some(namespace);
        self
    }

    /// Decides every case as the gateway `namespace/name` (a bare `name` is in namespace
    /// `default`); running fails when the configuration has no such Gateway.
    ///
    /// ```
    /// use meshroute::sim::TestFiles;
    ///
    /// let files = TestFiles::discover(["examples/seed/tests/"])?.config([
    ///     "examples/seed/demo.yaml",
    ///     "examples/seed/demo-gateway.yaml",
    ///     "examples/seed/destination-rule-svc-b-canary.yaml",
    /// ]);
    /// // Through the gateway, svc-b's cases fail: it routes every host to svc-a.
    /// let report = files.clone().gateway("default/demo-gateway").run()?;
    /// assert!(!report.passed());
    /// assert!(report.to_string().contains("sent by the gateway default/demo-gateway"));
    /// // A gateway the configuration does not define is an error, not a failed case.
    /// assert!(files.gateway("infra/edge").run().is_err());
    /// # Ok::<(), meshroute::sim::SimError>(())
    /// ```
    pub fn gateway(mut self, name: &str) -> Self {
        let key = if name.contains('/') {
            name.to_owned()
        } else {
            format!("default/{name}")
        };
        self.fixed = Fixed::Gateway(key);
        self
    }

    /// The configuration's files or folders: the discovered paths, or those of
    /// [`TestFiles::config`]. For a caller that loads them itself ([`TestFiles::run_on`]).
    pub fn config_paths(&self) -> &[PathBuf] {
        &self.config
    }

    /// Loads the configuration ([`TestFiles::config_paths`], resources without a namespace in
    /// `default` or [`TestFiles::namespace`]'s) and runs every case ([`TestFiles::run_on`]).
    pub fn run(&self) -> Result<TestReport, SimError> {
        let mut options = LoadOptions::default();
        if let Some(namespace) = &self.namespace {
            options = options.default_namespace(namespace.clone());
        }
        let mut loaded = Loaded::default();
        for path in &self.config {
            loaded.extend(from_path(path, &options)?);
        }
        self.run_on(loaded)
    }

    /// Runs every case against a configuration already loaded. Fails when it holds no
    /// resource, when Istio would reject it ([`SimError::Invalid`], every error), or when
    /// [`TestFiles::gateway`] names a Gateway it does not define; a case that fails is a
    /// result, not an error.
    ///
    /// ```
    /// use meshroute::sim::TestFiles;
    /// use meshroute::{LoadOptions, Loaded};
    ///
    /// let files = TestFiles::discover(["examples/seed/tests/canary-router-check.yaml"])?
    ///     .config(["examples/seed/demo.yaml", "examples/seed/demo-gateway.yaml"]);
    /// // Load the configuration your own way (here: unknown fields allowed), then run.
    /// let options = LoadOptions::default().allow_unknown_fields(true);
    /// let mut loaded = Loaded::default();
    /// for path in files.config_paths() {
    ///     loaded.extend(meshroute::from_path(path, &options)?);
    /// }
    /// let report = files.run_on(loaded)?;
    /// // Without the svc-b rules svc-b is routed by default: its cases fail, the gateway's pass.
    /// assert_eq!(report.failed(), 2, "{report}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_on(&self, loaded: Loaded) -> Result<TestReport, SimError> {
        if loaded.resources.is_empty() && !loaded.has_errors() {
            let paths: Vec<String> = self
                .config
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            return Err(SimError::Tests(vec![format!(
                "no Istio or Kubernetes resource found in {} to test: give the manifests beside the test files, or with --config",
                paths.join(", ")
            )]));
        }
        let resources = loaded.resources.clone();
        let mesh = loaded
            .compile()
            .map_err(|error| SimError::Invalid(error.errors().cloned().collect()))?;
        if let Fixed::Gateway(gateway) = &self.fixed {
            if !mesh.has_gateway(gateway) {
                return Err(SimError::Tests(vec![format!(
                    "unknown gateway {gateway:?}: the configuration has no Gateway of that namespace and name"
                )]));
            }
        }
        let manifests = Manifests::new(&resources);
        let mut cases = Vec::new();
        for document in &self.documents {
            match &document.cases {
                Cases::Validator(list) => {
                    for (case, placed) in list.iter().zip(&document.placed) {
                        let requests = case
                            .requests
                            .iter()
                            .map(|asked| run_validator(case, asked, &mesh, &manifests, &self.fixed))
                            .collect();
                        cases.push(result(
                            document,
                            placed,
                            "istio-config-validator",
                            case.title(),
                            requests,
                        ));
                    }
                }
                Cases::Router(list) => {
                    for (case, placed) in list.iter().zip(&document.placed) {
                        let request = run_router(case, &mesh, &manifests, &self.fixed);
                        cases.push(result(
                            document,
                            placed,
                            "router_check_tool",
                            case.title(),
                            vec![request],
                        ));
                    }
                }
            }
        }
        Ok(TestReport {
            cases,
            warnings: self.warnings.clone(),
            configuration_warnings: mesh
                .diagnostics()
                .iter()
                .filter(|d| d.severity.is_at_least(Severity::Warning))
                .map(ToString::to_string)
                .collect(),
            files: self.files.clone(),
        })
    }
}

fn result(
    document: &TestDocument,
    placed: &Placed,
    format: &'static str,
    case: String,
    requests: Vec<RequestResult>,
) -> CaseResult {
    CaseResult {
        file: document.file.clone(),
        line: placed.line,
        format,
        case,
        passed: requests.iter().all(|r| r.passed),
        requests,
        warnings: placed.warnings.clone(),
    }
}

/// A request that could not be built (the test file was checked when read, so this is rare).
fn unbuildable(asked: &Asked, caller: &Caller, error: &str) -> RequestResult {
    RequestResult {
        request: asked.line(),
        caller: caller.name.clone(),
        caller_reason: caller.why.clone(),
        passed: false,
        checks: vec![Check {
            field: "request".to_owned(),
            expected: "a request meshroute can build".to_owned(),
            actual: error.to_owned(),
            passed: false,
            quoted: false,
        }],
        notes: Vec::new(),
        explain: None,
    }
}

fn finish(
    asked: &Asked,
    caller: &Caller,
    checks: Vec<Check>,
    observed: Observed,
    notes: impl FnOnce(&Observed) -> Vec<String>,
) -> RequestResult {
    let passed = checks.iter().all(|c| c.passed);
    RequestResult {
        request: asked.line(),
        caller: caller.name.clone(),
        caller_reason: caller.why.clone(),
        passed,
        checks,
        notes: if passed { Vec::new() } else { notes(&observed) },
        explain: (!passed).then_some(observed.explanation),
    }
}

fn run_validator(
    case: &ValidatorCase,
    asked: &Asked,
    mesh: &Mesh,
    manifests: &Manifests<'_>,
    fixed: &Fixed,
) -> RequestResult {
    let (host, _) = asked.host_port();
    let caller = choose(manifests, &host, fixed);
    let request = match asked.build() {
        Ok(request) => request,
        Err(error) => return unbuildable(asked, &caller, &error.to_string()),
    };
    let observed = observe(
        mesh,
        manifests,
        asked,
        &request,
        &caller,
        0,
        case.route.is_some(),
    );
    let checks = validator::check(case, &observed);
    finish(asked, &caller, checks, observed, |o| {
        differences(case, asked, o, manifests)
    })
}

fn run_router(
    case: &RouterCase,
    mesh: &Mesh,
    manifests: &Manifests<'_>,
    fixed: &Fixed,
) -> RequestResult {
    let (host, _) = case.asked.host_port();
    let caller = choose(manifests, &host, fixed);
    // Through a gateway, `ssl` is a request that arrived on its HTTPS servers.
    let asked = Asked {
        tls: case.ssl && caller.source.gateway_name().is_some(),
        ..case.asked.clone()
    };
    let request = match asked.build() {
        Ok(request) => request,
        Err(error) => return unbuildable(&asked, &caller, &error.to_string()),
    };
    let weighted = case
        .asserts
        .iter()
        .any(|a| matches!(a, Assert::Name("cluster_name", _)));
    let observed = observe(
        mesh,
        manifests,
        &asked,
        &request,
        &caller,
        case.random,
        weighted,
    );
    let checks = router::check(case, &observed);
    finish(&asked, &caller, checks, observed, |o| {
        router::differences(case, o)
    })
}
