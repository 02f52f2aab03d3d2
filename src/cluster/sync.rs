//! `ClusterSync`: the watchers, the batching of their changes, and the swaps of the mesh.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use kube::Api;
use kube::api::DynamicObject;
use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::watcher;
use kube::runtime::{WatchStreamExt, watcher as watch_kind};
use tokio::sync::watch;
use tokio::time::Instant;

use super::kinds::{KINDS, Role};
use super::options::ClusterOptions;
use super::store::{Event, Stores};
use crate::balance::endpoint::Endpoint;
use crate::compile::compile;
use crate::config::Resource;
use crate::diagnostic::{CompileError, Diagnostic};
use crate::live::SharedMesh;
use crate::registry::endpoints::discover;
use crate::route::mesh::Mesh;
use crate::util::rng::{FastRng, Rng};

/// Keeps a [`SharedMesh`] in sync with a Kubernetes cluster: what a sidecar learns from istiod,
/// learnt from the API server directly.
///
/// [`ClusterSync::start`] spawns, on the current tokio runtime, one watcher
/// (`kube::runtime::watcher`) per kind and namespace: Istio's `VirtualService`,
/// `DestinationRule`, `Gateway`, `ServiceEntry`, `WorkloadEntry` and `Sidecar`, and the
/// Kubernetes `Service`s, `EndpointSlice`s and `Pod`s their hosts and subsets resolve to, plus
/// istiod's MeshConfig (the `istio` ConfigMap of the root namespace). Every object is read by
/// the same loader and checks as a manifest file.
///
/// - **Batched**: the first change after a swap opens a window of
///   [`ClusterOptions::debounce`] (100 ms by default); everything that arrives in it is applied
///   as one compile and one atomic swap, so a storm of changes costs at most one compile per
///   window.
/// - **Endpoints without recompiling**: when only EndpointSlices and Pods changed and no service
///   port appeared or vanished, the endpoints of the services they touch are replaced in the
///   current mesh (each cluster's set swapped atomically, as [`Mesh::set_endpoints`] does).
/// - **Bad objects left out**: an object the loader or Istio's validation refuses (Istio's
///   webhook would normally have refused it) is left out, the rest of the configuration is
///   applied, and its diagnostics are in [`SyncStatus::diagnostics`] and logged. A
///   configuration that still fails keeps the last good mesh.
/// - **Never half applied**: nothing is served before every kind's first list is complete
///   ([`ClusterSync::ready`]); a re-list (after a watch error or `410 Gone`, with exponential
///   back-off) replaces its kind's objects only once complete.
///
/// Dropping the `ClusterSync` stops the watchers; the [`SharedMesh`] keeps its last mesh.
#[derive(Debug)]
pub struct ClusterSync {
    mesh: SharedMesh,
    status: watch::Receiver<SyncStatus>,
    task: tokio::task::AbortHandle,
}

/// What a [`ClusterSync`] has done so far.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SyncStatus {
    /// Every watched kind has been listed and the result applied.
    pub ready: bool,
    /// The kinds whose first list has not completed yet.
    pub waiting_for: Vec<&'static str>,
    /// How many meshes were compiled and stored.
    pub swaps: u64,
    /// How many times endpoints were replaced without recompiling.
    pub endpoint_updates: u64,
    /// How many objects the watchers hold.
    pub objects: usize,
    /// What the last applied configuration's objects produced when loaded and checked: the
    /// errors of the objects left out, and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// The last problem: a watch error (the watcher retries with back-off) or a configuration
    /// that failed as a whole (the last good mesh keeps serving). `None` once a later
    /// configuration applied.
    pub last_error: Option<String>,
}

/// The watchers of a [`ClusterSync`] stopped before the configuration was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cluster watchers stopped before the configuration was ready")]
#[non_exhaustive]
pub struct Stopped;

impl ClusterSync {
    /// Starts following the cluster `client` talks to, on the current tokio runtime. The mesh
    /// is empty (every request passes through) until [`ClusterSync::ready`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn start(client: kube::Client, options: ClusterOptions) -> Self {
        let mesh = SharedMesh::new(empty_mesh());
        Self::start_with(client, mesh, options)
    }

    /// Like [`ClusterSync::start`], storing into an existing [`SharedMesh`] (its current mesh
    /// serves until the cluster's first configuration is applied; endpoints the application
    /// set with [`SharedMesh::set_endpoints`] keep precedence over the cluster's).
    pub fn start_with(client: kube::Client, mesh: SharedMesh, options: ClusterOptions) -> Self {
        let (sender, status) = watch::channel(SyncStatus::default());
        let task = tokio::spawn(run(client, options, mesh.clone(), sender));
        Self {
            mesh,
            status,
            task: task.abort_handle(),
        }
    }

    /// The mesh the cluster's configuration is stored into; give it to the tower layers.
    pub fn mesh(&self) -> &SharedMesh {
        &self.mesh
    }

    /// Resolves once every watched kind's first list has been applied, so that a service can
    /// wait for it before serving (a readiness probe).
    pub async fn ready(&self) -> Result<(), Stopped> {
        let mut status = self.status.clone();
        status
            .wait_for(|s| s.ready)
            .await
            .map(|_| ())
            .map_err(|_| Stopped)
    }

    /// What has happened so far.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every new status (after each applied change or error).
    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }
}

impl Drop for ClusterSync {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) fn empty_mesh() -> Mesh {
    // An empty configuration compiles; should it ever not, empty tables answer the same.
    compile(Vec::new()).unwrap_or_else(|_| Mesh::empty())
}

/// One watch: a kind (an index into [`KINDS`]) in a namespace, or in all.
pub(super) fn plan(options: &ClusterOptions) -> Vec<(usize, Option<String>)> {
    let mut plan = Vec::new();
    for (index, kind) in KINDS.iter().enumerate() {
        if kind.is_mesh_config() {
            if let Some(root) = &options.root_namespace {
                plan.push((index, Some(root.clone())));
            }
        } else if options.namespaces.is_empty() {
            plan.push((index, None));
        } else {
            for namespace in &options.namespaces {
                plan.push((index, Some(namespace.clone())));
            }
        }
    }
    plan
}

/// The API handle of one watch and its label and field selectors.
pub(super) struct Target {
    pub(super) api: Api<DynamicObject>,
    pub(super) labels: Option<String>,
    pub(super) fields: Option<&'static str>,
}

impl Target {
    pub(super) fn new(
        client: &kube::Client,
        options: &ClusterOptions,
        kind: usize,
        namespace: Option<&str>,
    ) -> Option<Self> {
        let spec = KINDS.get(kind)?;
        let resource = spec.api_resource(&options.istio_version);
        let api = match namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        Some(Self {
            api,
            labels: options.label_selector.clone().filter(|_| spec.selectable),
            fields: spec.field_selector(),
        })
    }

    fn watcher_config(&self) -> watcher::Config {
        let mut config = watcher::Config::default();
        if let Some(labels) = &self.labels {
            config = config.labels(labels);
        }
        if let Some(fields) = self.fields {
            config = config.fields(fields);
        }
        config
    }
}

/// Whether a watch error says the API server does not serve the kind.
pub(super) fn not_served(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

fn object_value(object: DynamicObject) -> Option<serde_json::Value> {
    serde_json::to_value(object).ok()
}

async fn run(
    client: kube::Client,
    options: ClusterOptions,
    mesh: SharedMesh,
    status: watch::Sender<SyncStatus>,
) {
    let plan = plan(&options);
    let mut stores = Stores::new(plan.iter().map(|(kind, _)| *kind), options.load.clone());
    let streams = plan
        .iter()
        .enumerate()
        .filter_map(|(id, (kind, namespace))| {
            let target = Target::new(&client, &options, *kind, namespace.as_deref())?;
            let config = target.watcher_config();
            // Reset after two minutes without an error, as kube-rs's default back-off.
            let backoff = ResetTimerBackoff::new(
                Backoff::new(options.backoff.0, options.backoff.1, id),
                Duration::from_secs(120),
            );
            Some(
                watch_kind(target.api, config)
                    .backoff(backoff)
                    .map(move |item| (id, item))
                    .boxed(),
            )
        });
    let mut events = futures_util::stream::select_all(streams);
    let mut state = Applied::default();
    let mut pending: Option<Role> = None;
    let mut deadline: Option<Instant> = None;
    status.send_modify(|s| s.waiting_for = stores.waiting_for());
    loop {
        let due = deadline.unwrap_or_else(Instant::now);
        tokio::select! {
            item = events.next() => {
                let Some((id, item)) = item else { break };
                let event = match item {
                    Ok(event) => convert(event),
                    Err(error) => {
                        let served = match &error {
                            watcher::Error::InitialListFailed(e) => !not_served(e),
                            _ => true,
                        };
                        let kind = plan.get(id).and_then(|(k, _)| KINDS.get(*k)).map_or("", |k| k.kind);
                        if served {
                            tracing::warn!(kind, %error, "cluster watch failed; retrying with back-off");
                            status.send_modify(|s| s.last_error = Some(format!("{kind}: {error}")));
                            None
                        } else {
                            tracing::debug!(kind, "the API server does not serve this kind");
                            Some(Event::Absent)
                        }
                    }
                };
                if let Some(role) = event.and_then(|event| stores.apply(id, event)) {
                    pending = Some(match (pending, role) {
                        (Some(Role::Config), _) | (_, Role::Config) => Role::Config,
                        _ => Role::Endpoints,
                    });
                    if state.ready && deadline.is_none() {
                        deadline = Some(Instant::now() + options.debounce);
                    }
                }
                if !state.ready {
                    if stores.listed() {
                        // The first complete configuration is applied at once.
                        state.apply(&stores, &mesh, Role::Config, &status);
                        pending = None;
                        deadline = None;
                    } else {
                        status.send_modify(|s| s.waiting_for = stores.waiting_for());
                    }
                }
            }
            () = tokio::time::sleep_until(due), if deadline.is_some() => {
                deadline = None;
                if let Some(role) = pending.take() {
                    state.apply(&stores, &mesh, role, &status);
                }
            }
        }
    }
}

/// Exponential back-off with jitter: from `first`, doubling up to `longest`, each wait drawn
/// between half and all of the current step (kube-rs's default policy, with our bounds).
struct Backoff {
    first: Duration,
    longest: Duration,
    step: Duration,
    rng: FastRng,
}

impl Backoff {
    fn new(first: Duration, longest: Duration, seed: usize) -> Self {
        Self {
            first,
            longest: longest.max(first),
            step: first,
            rng: FastRng::from_seed(FastRng::from_entropy().next_u64() ^ seed as u64),
        }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let step = self.step;
        self.step = step.saturating_mul(2).min(self.longest);
        let half = step / 2;
        // A uniform draw in [half, step].
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = self.rng.next_u64() % spread.saturating_add(1);
        Some(half + Duration::from_nanos(jitter))
    }
}

impl kube::runtime::utils::Backoff for Backoff {
    fn reset(&mut self) {
        self.step = self.first;
    }
}

fn convert(event: watcher::Event<DynamicObject>) -> Option<Event> {
    Some(match event {
        watcher::Event::Init => Event::Init,
        watcher::Event::InitApply(object) => Event::InitApply(object_value(object)?),
        watcher::Event::InitDone => Event::InitDone,
        watcher::Event::Apply(object) => Event::Apply(object_value(object)?),
        watcher::Event::Delete(object) => Event::Delete(object_value(object)?),
    })
}

/// What was applied last: the endpoints found in it, to tell an endpoints-only change.
#[derive(Debug, Default)]
struct Applied {
    ready: bool,
    /// The endpoints of the last applied objects, `None` while no mesh was stored.
    endpoints: Option<BTreeMap<(String, u16), Vec<Endpoint>>>,
}

impl Applied {
    fn apply(
        &mut self,
        stores: &Stores,
        mesh: &SharedMesh,
        role: Role,
        status: &watch::Sender<SyncStatus>,
    ) {
        // Endpoints are found on borrowed resources: an endpoint change clones nothing.
        let endpoints = discover(&stores.resource_refs());
        let objects = stores.len();
        if role == Role::Endpoints
            && let Some(previous) = &self.endpoints
            && previous.keys().eq(endpoints.keys())
        {
            let changed: Vec<(&(String, u16), &Vec<Endpoint>)> = endpoints
                .iter()
                .filter(|(key, list)| previous.get(*key) != Some(*list))
                .collect();
            if mesh.replace_discovered(&changed).is_ok() {
                tracing::debug!(
                    services = changed.len(),
                    "cluster endpoints replaced without recompiling"
                );
                self.endpoints = Some(endpoints);
                status.send_modify(|s| {
                    s.endpoint_updates += 1;
                    s.objects = objects;
                });
                return;
            }
        }
        let (resources, load_diagnostics) = stores.resources();
        let (compiled, rejected) = compile_leaving_out(resources);
        let mut diagnostics = load_diagnostics;
        diagnostics.extend(rejected);
        for diagnostic in diagnostics.iter().filter(|d| d.is_error()) {
            tracing::warn!(%diagnostic, "cluster object left out");
        }
        let ready_now = !self.ready;
        self.ready = true;
        match compiled {
            Ok(compiled) => {
                mesh.store(compiled);
                self.endpoints = Some(endpoints);
                status.send_modify(|s| {
                    s.swaps += 1;
                    s.ready = true;
                    s.waiting_for.clear();
                    s.objects = objects;
                    s.diagnostics = diagnostics;
                    s.last_error = None;
                });
            }
            Err(error) => {
                tracing::warn!(%error, "cluster configuration refused; the last good one keeps serving");
                status.send_modify(|s| {
                    s.ready |= ready_now;
                    s.waiting_for.clear();
                    s.objects = objects;
                    s.diagnostics = error.diagnostics;
                    s.last_error = Some("the configuration failed to compile as a whole; the last good mesh keeps serving".into());
                });
            }
        }
    }
}

/// Compiles `resources`, leaving out every object that has an error of its own (Istio's
/// webhook would have refused it), as often as that uncovers more; returns the mesh (or the
/// error once nothing is left to leave out) and the errors of the objects left out.
pub(super) fn compile_leaving_out(
    mut resources: Vec<Resource>,
) -> (Result<Mesh, CompileError>, Vec<Diagnostic>) {
    let mut rejected = Vec::new();
    // Each round leaves out at least one object; three rounds cover an error that only shows
    // once another object is gone, without risking a long loop on a hostile configuration.
    for _ in 0..3 {
        let error = match compile(resources.clone()) {
            Ok(mesh) => return (Ok(mesh), rejected),
            Err(error) => error,
        };
        let bad: BTreeSet<(String, String)> = error
            .errors()
            .filter_map(|d| Some((d.kind.clone()?, d.name.clone()?)))
            .collect();
        let before = resources.len();
        resources.retain(|r| {
            !bad.contains(&(
                r.kind().to_owned(),
                format!("{}/{}", r.namespace(), r.name()),
            ))
        });
        rejected.extend(error.errors().cloned());
        if resources.len() == before {
            return (Err(error), rejected);
        }
    }
    (compile(resources), rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load::{LoadOptions, from_str};

    fn resources(yaml: &str) -> Vec<Resource> {
        let loaded = from_str(yaml, &LoadOptions::default());
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        loaded.resources
    }

    const GOOD: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: good, namespace: default}
spec:
  hosts: [svc-b]
  http: [{route: [{destination: {host: svc-b, subset: v2}}]}]
";

    #[test]
    fn an_object_with_errors_is_left_out_and_the_rest_compiles() {
        let bad = "---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad, namespace: default}
spec: {host: svc-c, subsets: [{name: '', labels: {version: v1}}]}
";
        let (mesh, rejected) = compile_leaving_out(resources(&format!("{GOOD}{bad}")));
        let mesh = mesh.expect("the rest compiles");
        assert!(!rejected.is_empty());
        assert!(
            rejected
                .iter()
                .all(|d| d.name.as_deref() == Some("default/bad")),
            "{rejected:?}"
        );
        let request = http::Request::get("http://svc-b/")
            .body(())
            .unwrap_or_default();
        let decision = mesh.route(&request, &crate::route::source::Source::sidecar("default"));
        assert_eq!(decision.destination().and_then(|d| d.subset), Some("v2"));
    }

    #[test]
    fn a_valid_configuration_leaves_nothing_out() {
        let (mesh, rejected) = compile_leaving_out(resources(GOOD));
        assert!(mesh.is_ok());
        assert!(rejected.is_empty());
    }

    #[test]
    fn the_back_off_doubles_with_jitter_up_to_its_longest_and_resets() {
        use kube::runtime::utils::Backoff as _;

        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400), 1);
        let waits: Vec<Duration> = (0..5).filter_map(|_| backoff.next()).collect();
        let steps = [100, 200, 400, 400, 400];
        for (wait, step) in waits.iter().zip(steps) {
            let step = Duration::from_millis(step);
            assert!(
                *wait >= step / 2 && *wait <= step,
                "{wait:?} for a step of {step:?}"
            );
        }
        backoff.reset();
        assert!(
            backoff
                .next()
                .is_some_and(|w| w <= Duration::from_millis(100))
        );
    }
}
