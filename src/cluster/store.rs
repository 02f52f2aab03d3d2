//! What the watchers have seen: the objects of every watch, each loaded through the same model
//! and checks as a manifest file, with a re-list buffered until it is complete.
//!
//! Nothing here talks to a cluster: [`Stores::apply`] takes the events a watcher produces (as
//! JSON values), so the rules are tested without one.

use std::collections::BTreeMap;

use serde_json::Value;

use super::kinds::{KINDS, Kind, Role};
use crate::config::load::{LoadOptions, Loaded, from_object};
use crate::config::{Origin, Resource};
use crate::diagnostic::Diagnostic;

/// One event of a watch, as the watcher reports it (`kube::runtime::watcher::Event`), with the
/// object as JSON.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    /// A (re-)list starts: the objects that follow replace the watch's objects at `InitDone`.
    Init,
    /// An object of the list in progress.
    InitApply(Value),
    /// The list is complete.
    InitDone,
    /// An object was added or changed.
    Apply(Value),
    /// An object was deleted.
    Delete(Value),
    /// The API server does not serve the kind (404 on its list): it has no objects.
    Absent,
}

/// `(namespace, name)`.
type Key = (String, String);

/// One watch: a kind, in one namespace or in all.
#[derive(Debug)]
struct Watch {
    kind: usize,
    objects: BTreeMap<Key, Loaded>,
    /// The re-list in progress, applied whole at `InitDone` (never half).
    relist: Option<BTreeMap<Key, Loaded>>,
    /// Whether a list completed (or the kind is not served).
    listed: bool,
}

/// The objects of every watch.
#[derive(Debug)]
pub(super) struct Stores {
    watches: Vec<Watch>,
    options: LoadOptions,
}

impl Stores {
    /// One watch per entry of `kinds` (an index into [`KINDS`]).
    pub(super) fn new(kinds: impl IntoIterator<Item = usize>, options: LoadOptions) -> Self {
        Self {
            watches: kinds
                .into_iter()
                .map(|kind| Watch {
                    kind,
                    objects: BTreeMap::new(),
                    relist: None,
                    listed: false,
                })
                .collect(),
            options,
        }
    }

    /// Applies one event of watch `watch`; returns what the change touches, or `None` when
    /// nothing that matters changed (the same object again, a list still in progress).
    pub(super) fn apply(&mut self, watch: usize, event: Event) -> Option<Role> {
        let options = &self.options;
        let w = self.watches.get_mut(watch)?;
        let kind = KINDS.get(w.kind)?;
        match event {
            Event::Init => {
                w.relist = Some(BTreeMap::new());
                None
            }
            Event::InitApply(value) => {
                let (key, loaded) = load(kind, value, options)?;
                w.relist
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key, loaded);
                None
            }
            Event::InitDone => {
                let listed = w.relist.take().unwrap_or_default();
                let first = !w.listed;
                w.listed = true;
                let changed = listed != w.objects;
                w.objects = listed;
                (first || changed).then_some(kind.role)
            }
            Event::Apply(value) => {
                let (key, loaded) = load(kind, value, options)?;
                if w.objects.get(&key) == Some(&loaded) {
                    return None;
                }
                w.objects.insert(key, loaded);
                Some(kind.role)
            }
            Event::Delete(value) => {
                let key = key_of(&value)?;
                w.objects.remove(&key).map(|_| kind.role)
            }
            Event::Absent => {
                let first = !w.listed;
                w.listed = true;
                w.relist = None;
                let had = !w.objects.is_empty();
                w.objects.clear();
                (first || had).then_some(kind.role)
            }
        }
    }

    /// Whether every watch has listed its kind once: before that, the configuration is
    /// incomplete and must not be served.
    pub(super) fn listed(&self) -> bool {
        self.watches.iter().all(|w| w.listed)
    }

    /// The kinds not listed yet, for a status message.
    pub(super) fn waiting_for(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = self
            .watches
            .iter()
            .filter(|w| !w.listed)
            .filter_map(|w| KINDS.get(w.kind).map(|k| k.kind))
            .collect();
        kinds.dedup();
        kinds
    }

    /// The loaded objects, kinds in [`KINDS`] order, then by namespace and name.
    fn loaded(&self) -> impl Iterator<Item = &Loaded> {
        let mut watches: Vec<&Watch> = self.watches.iter().collect();
        watches.sort_by_key(|w| w.kind);
        watches.into_iter().flat_map(|w| w.objects.values())
    }

    /// The resources of every object, in [`KINDS`] order (then namespace and name), borrowed.
    pub(super) fn resource_refs(&self) -> Vec<&Resource> {
        self.loaded().flat_map(|l| &l.resources).collect()
    }

    /// The resources of every object, in [`KINDS`] order (then namespace and name), and every
    /// diagnostic loading them produced.
    pub(super) fn resources(&self) -> (Vec<Resource>, Vec<Diagnostic>) {
        let mut resources = Vec::new();
        let mut diagnostics = Vec::new();
        for loaded in self.loaded() {
            resources.extend(loaded.resources.iter().cloned());
            diagnostics.extend(loaded.diagnostics.iter().cloned());
        }
        (resources, diagnostics)
    }

    /// How many objects the watches hold.
    pub(super) fn len(&self) -> usize {
        self.watches.iter().map(|w| w.objects.len()).sum()
    }
}

fn key_of(value: &Value) -> Option<Key> {
    let metadata = value.get("metadata")?;
    let name = metadata.get("name")?.as_str()?.to_owned();
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Some((namespace, name))
}

/// Loads one object as the loader loads a document of a manifest. The API server omits
/// `apiVersion` and `kind` on the items of a list of built-in kinds, so they are set from the
/// watched kind; fields that change on every write without changing the object
/// (`resourceVersion`, `managedFields`) are dropped, so that a write that changes nothing
/// meshroute reads is recognised as such.
pub(super) fn load(kind: &Kind, mut value: Value, options: &LoadOptions) -> Option<(Key, Loaded)> {
    let key = key_of(&value)?;
    let object = value.as_object_mut()?;
    let api_version = if kind.group.is_empty() {
        "v1".to_owned()
    } else {
        let version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .and_then(|v| v.rsplit_once('/'))
            .map_or("v1", |(_, version)| version);
        format!("{}/{version}", kind.group)
    };
    object.insert("apiVersion".into(), Value::String(api_version));
    object.insert("kind".into(), Value::String(kind.kind.to_owned()));
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.remove("managedFields");
        metadata.remove("resourceVersion");
    }
    let loaded = from_object(value, &Origin::default(), options);
    Some((key, loaded))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind_index(kind: &str) -> usize {
        KINDS
            .iter()
            .position(|k| k.kind == kind)
            .unwrap_or(usize::MAX)
    }

    fn vs(name: &str, subset: &str) -> Value {
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "7",
                         "managedFields": [{"manager": "kubectl"}]},
            "spec": {"hosts": ["svc-b"], "http": [{"route": [{"destination":
                     {"host": "svc-b", "subset": subset}}]}]}
        })
    }

    #[test]
    fn a_relist_replaces_the_objects_only_when_complete() {
        let mut stores = Stores::new([kind_index("VirtualService")], LoadOptions::default());
        assert!(!stores.listed());
        assert_eq!(stores.apply(0, Event::Init), None);
        assert_eq!(stores.apply(0, Event::InitApply(vs("a", "v1"))), None);
        // Not listed yet: nothing to serve.
        assert!(!stores.listed());
        assert_eq!(stores.resources().0.len(), 0);
        assert_eq!(stores.apply(0, Event::InitDone), Some(Role::Config));
        assert!(stores.listed());
        assert_eq!(stores.resources().0.len(), 1);
        // A re-list in progress leaves the objects as they were until it is done.
        stores.apply(0, Event::Init);
        stores.apply(0, Event::InitApply(vs("b", "v2")));
        assert_eq!(stores.resources().0[0].name(), "a");
        assert_eq!(stores.apply(0, Event::InitDone), Some(Role::Config));
        let (resources, _) = stores.resources();
        assert_eq!(resources.len(), 1);
        assert_eq!(resources[0].name(), "b");
        // The same list again changes nothing.
        stores.apply(0, Event::Init);
        stores.apply(0, Event::InitApply(vs("b", "v2")));
        assert_eq!(stores.apply(0, Event::InitDone), None);
    }

    #[test]
    fn a_write_that_changes_nothing_read_is_no_change() {
        let mut stores = Stores::new([kind_index("VirtualService")], LoadOptions::default());
        stores.apply(0, Event::InitDone);
        assert_eq!(
            stores.apply(0, Event::Apply(vs("a", "v1"))),
            Some(Role::Config)
        );
        let mut again = vs("a", "v1");
        again["metadata"]["resourceVersion"] = json!("8");
        assert_eq!(stores.apply(0, Event::Apply(again)), None);
        assert_eq!(
            stores.apply(0, Event::Apply(vs("a", "v2"))),
            Some(Role::Config)
        );
        assert_eq!(
            stores.apply(0, Event::Delete(vs("a", "v2"))),
            Some(Role::Config)
        );
        assert_eq!(stores.apply(0, Event::Delete(vs("a", "v2"))), None);
        assert_eq!(stores.len(), 0);
    }

    #[test]
    fn list_items_of_built_in_kinds_get_their_kind_and_endpoints_changes_are_endpoints() {
        let mut stores = Stores::new([kind_index("Pod")], LoadOptions::default());
        stores.apply(0, Event::InitDone);
        // As in a list response: no apiVersion, no kind.
        let pod = json!({"metadata": {"name": "p", "namespace": "default",
                          "labels": {"version": "v2"}},
                         "spec": {"containers": []}, "status": {"podIP": "10.1.2.3"}});
        assert_eq!(stores.apply(0, Event::Apply(pod)), Some(Role::Endpoints));
        let (resources, diagnostics) = stores.resources();
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(resources[0].kind(), "Pod");
        assert_eq!(resources[0].api_version, "v1");
    }

    #[test]
    fn an_invalid_object_is_kept_as_its_diagnostics() {
        let mut stores = Stores::new([kind_index("DestinationRule")], LoadOptions::default());
        stores.apply(0, Event::InitDone);
        let bad = json!({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                         "metadata": {"name": "bad", "namespace": "default"},
                         "spec": {"host": "svc-b", "subsets": "v1"}});
        assert_eq!(stores.apply(0, Event::Apply(bad)), Some(Role::Config));
        let (resources, diagnostics) = stores.resources();
        assert!(resources.is_empty());
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].name.as_deref(), Some("default/bad"));
        assert_eq!(diagnostics[0].path, "spec.subsets");
    }

    #[test]
    fn an_absent_kind_counts_as_listed_and_empty() {
        let mut stores = Stores::new(
            [kind_index("Sidecar"), kind_index("Service")],
            LoadOptions::default(),
        );
        assert_eq!(stores.waiting_for(), ["Sidecar", "Service"]);
        assert_eq!(stores.apply(0, Event::Absent), Some(Role::Config));
        assert_eq!(stores.waiting_for(), ["Service"]);
        assert_eq!(stores.apply(0, Event::Absent), None);
    }
}
