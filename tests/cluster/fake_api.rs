//! A fake Kubernetes API server in the process: a `kube::Client` over a tower service that
//! answers list and watch requests from a scripted store, as kube-rs documents for tests
//! without a cluster. It speaks what the watchers use: lists (all namespaces or one, label and
//! field selectors of the form `key=value`), watches from a resource version (newline-delimited
//! JSON events, bookmarks), `410 Gone` for a resource version compacted away, dropped
//! connections, and `404` for a kind not served.
//!
//! The JSON is what an API server sends: list items of built-in kinds without `apiVersion` and
//! `kind`, every object with `resourceVersion`, `uid`, `managedFields` and `creationTimestamp`.

#![allow(unreachable_pub, dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// `(group, plural)`, e.g. `("networking.istio.io", "virtualservices")`, `("", "pods")`: the
/// objects of a kind whatever version they were written in. A request for any version gets
/// them in that version (the API server converts between the versions of a CRD; Istio's
/// networking versions share one schema).
type Collection = (String, String);

fn group_of(api_version: &str) -> String {
    api_version
        .rsplit_once('/')
        .map_or(String::new(), |(group, _)| group.to_owned())
}

/// `object` as the version `api_version` asks for.
fn converted(object: &Value, api_version: &str) -> Value {
    let mut object = object.clone();
    if object["apiVersion"].is_string() {
        object["apiVersion"] = json!(api_version);
    }
    object
}

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<Collection, BTreeMap<(String, String), Value>>,
    /// Every change, for watches that resume from a resource version.
    log: Vec<(u64, Collection, &'static str, Value)>,
    /// Watches from a resource version older than this get `410 Gone`.
    compacted: u64,
    watchers: Vec<Watcher>,
    unserved: BTreeSet<String>,
    /// Every request's method and URI, in order.
    requests: Vec<String>,
}

struct Watcher {
    collection: Collection,
    /// The `apiVersion` the watch asked for.
    api_version: String,
    namespace: Option<String>,
    labels: Option<(String, String)>,
    sender: mpsc::UnboundedSender<Bytes>,
}

/// The fake API server; clones share it.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

const CORE: [&str; 3] = ["Service", "Pod", "ConfigMap"];

fn plural(kind: &str) -> String {
    match kind {
        "ServiceEntry" => "serviceentries".into(),
        "EndpointSlice" => "endpointslices".into(),
        other => format!("{}s", other.to_ascii_lowercase()),
    }
}

fn collection_of(object: &Value) -> Collection {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let kind = object["kind"].as_str().unwrap_or_default();
    (group_of(api_version), plural(kind))
}

fn key_of(object: &Value) -> (String, String) {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or("default").to_owned(),
        meta["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn label_matches(object: &Value, labels: &Option<(String, String)>) -> bool {
    labels
        .as_ref()
        .is_none_or(|(k, v)| object["metadata"]["labels"][k].as_str() == Some(v))
}

/// The object as a list item: built-in kinds without `apiVersion` and `kind`.
fn as_item(object: &Value) -> Value {
    let mut item = object.clone();
    if CORE.contains(&object["kind"].as_str().unwrap_or_default())
        || object["apiVersion"] == "discovery.k8s.io/v1"
    {
        let map = item.as_object_mut().unwrap();
        map.remove("apiVersion");
        map.remove("kind");
    }
    item
}

fn line(event: &Value) -> Bytes {
    let mut text = serde_json::to_vec(event).unwrap();
    text.push(b'\n');
    Bytes::from(text)
}

impl FakeApi {
    /// A `kube::Client` whose requests this fake answers.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.answer(&request)) }
        });
        kube::Client::new(service, "default")
    }

    /// Creates or replaces an object (its `apiVersion`, `kind`, `metadata.name` and, unless
    /// cluster-scoped, `metadata.namespace` are set), as `kubectl apply` would.
    pub fn apply(&self, mut object: Value) {
        let mut state = self.state.lock().unwrap();
        state.rv += 1;
        let rv = state.rv;
        let collection = collection_of(&object);
        let key = key_of(&object);
        let meta = object["metadata"].as_object_mut().unwrap();
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        meta.insert("namespace".into(), json!(key.0));
        meta.entry("uid")
            .or_insert_with(|| json!(format!("uid-{}-{}", key.0, key.1)));
        meta.entry("creationTimestamp")
            .or_insert_with(|| json!(format!("2026-12-01T00:00:{:02}Z", rv % 60)));
        meta.insert(
            "managedFields".into(),
            json!([{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}]),
        );
        let objects = state.objects.entry(collection.clone()).or_default();
        let kind = if objects.contains_key(&key) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        if let Some(previous) = objects.get(&key) {
            // Keep the creation time of the object being replaced.
            let created = previous["metadata"]["creationTimestamp"].clone();
            object["metadata"]["creationTimestamp"] = created;
        }
        objects.insert(key, object.clone());
        state.publish(rv, collection, kind, object);
    }

    /// Deletes an object.
    pub fn delete(&self, api_version: &str, kind: &str, namespace: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        let collection = (group_of(api_version), plural(kind));
        let Some(mut object) = state
            .objects
            .get_mut(&collection)
            .and_then(|objects| objects.remove(&(namespace.to_owned(), name.to_owned())))
        else {
            return;
        };
        state.rv += 1;
        let rv = state.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        state.publish(rv, collection, "DELETED", object);
    }

    /// Compacts history: every open watch gets a `410 Gone` error event and is closed, and a
    /// watch that resumes from a resource version before now gets the same; the watchers must
    /// list again.
    pub fn expire(&self) {
        let mut state = self.state.lock().unwrap();
        state.rv += 1;
        state.compacted = state.rv;
        state.log.clear();
        for watcher in state.watchers.drain(..) {
            let _ = watcher.sender.send(line(&gone()));
        }
    }

    /// Forgets the history of changes (as etcd's compaction does): open watches go on, a watch
    /// that resumes from an older resource version gets `410 Gone`.
    pub fn compact(&self) {
        let mut state = self.state.lock().unwrap();
        state.compacted = state.rv;
        state.log = Vec::new();
    }

    /// Closes every open watch without an error, as a dropped connection does.
    pub fn drop_connections(&self) {
        self.state.lock().unwrap().watchers.clear();
    }

    /// Sends a bookmark (the current resource version) on every open watch.
    pub fn bookmark(&self) {
        let mut state = self.state.lock().unwrap();
        let rv = state.rv.to_string();
        state.watchers.retain(|w| {
            let (api_version, plural) = (&w.api_version, &w.collection.1);
            let kind = match plural.as_str() {
                "serviceentries" => "ServiceEntry".to_owned(),
                other => other.trim_end_matches('s').to_owned(),
            };
            let event = json!({"type": "BOOKMARK", "object": {
                "apiVersion": api_version, "kind": kind,
                "metadata": {"resourceVersion": rv}}});
            w.sender.send(line(&event)).is_ok()
        });
    }

    /// Makes the list of a kind (by plural, e.g. `sidecars`) answer 404, as when its CRD is not
    /// installed.
    pub fn unserve(&self, plural: &str) {
        self.state
            .lock()
            .unwrap()
            .unserved
            .insert(plural.to_owned());
    }

    /// Serves the fake over HTTP on a loopback port, on a thread of its own, for as long as the
    /// process runs; returns its address. What `meshroute --cluster` is pointed at through a
    /// kubeconfig.
    pub fn serve(&self) -> std::net::SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let api = self.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let api = api.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |request: Request<hyper::body::Incoming>| {
                                let answer = api.answer(&request);
                                async move { Ok::<_, Infallible>(answer) }
                            },
                        );
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            });
        });
        address
    }

    /// The requests answered so far (method and URI).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The answer to one request (any body type: the fake reads only the method and URI).
    pub fn answer<B>(&self, request: &Request<B>) -> Response<BoxBody<Bytes, Infallible>> {
        let uri = request.uri();
        let mut state = self.state.lock().unwrap();
        state.requests.push(format!("{} {uri}", request.method()));
        let query: BTreeMap<String, String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), percent_decode(v)))
            .collect();
        let Some((collection, api_version, namespace)) = parse_path(uri.path()) else {
            return status(StatusCode::NOT_FOUND, "no such path");
        };
        if state.unserved.contains(&collection.1) {
            return status(
                StatusCode::NOT_FOUND,
                "the server could not find the requested resource",
            );
        }
        let labels = query
            .get("labelSelector")
            .and_then(|s| s.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let name = query
            .get("fieldSelector")
            .and_then(|s| s.strip_prefix("metadata.name="))
            .map(str::to_owned);
        let selected = |object: &Value| {
            let (ns, n) = key_of(object);
            namespace.as_ref().is_none_or(|want| *want == ns)
                && label_matches(object, &labels)
                && name.as_ref().is_none_or(|want| *want == n)
        };
        if query.get("watch").map(String::as_str) != Some("true") {
            let items: Vec<Value> = state
                .objects
                .get(&collection)
                .into_iter()
                .flat_map(BTreeMap::values)
                .filter(|o| selected(o))
                .map(|o| as_item(&converted(o, &api_version)))
                .collect();
            let body = json!({"apiVersion": "v1", "kind": "List",
                              "metadata": {"resourceVersion": state.rv.to_string()},
                              "items": items});
            return Response::new(Full::new(Bytes::from(body.to_string())).boxed());
        }
        let from: u64 = query
            .get("resourceVersion")
            .and_then(|rv| rv.parse().ok())
            .unwrap_or(0);
        let (sender, receiver) = mpsc::unbounded_channel();
        if from < state.compacted {
            let _ = sender.send(line(&gone()));
        } else {
            for (rv, c, kind, object) in &state.log {
                if *rv > from && *c == collection && selected(object) {
                    let object = converted(object, &api_version);
                    let _ = sender.send(line(&json!({"type": kind, "object": object})));
                }
            }
            state.watchers.push(Watcher {
                collection,
                api_version,
                namespace,
                labels,
                sender,
            });
        }
        let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
            let bytes = receiver.recv().await?;
            Some((Ok::<_, Infallible>(Frame::data(bytes)), receiver))
        });
        Response::new(BodyExt::boxed(StreamBody::new(stream)))
    }
}

impl State {
    fn publish(&mut self, rv: u64, collection: Collection, kind: &'static str, object: Value) {
        let (namespace, _) = key_of(&object);
        self.watchers.retain(|w| {
            if w.collection != collection
                || w.namespace.as_ref().is_some_and(|want| *want != namespace)
                || !label_matches(&object, &w.labels)
            {
                return !w.sender.is_closed();
            }
            let object = converted(&object, &w.api_version);
            w.sender
                .send(line(&json!({"type": kind, "object": object})))
                .is_ok()
        });
        self.log.push((rv, collection, kind, object));
        // A bounded history, as etcd's compaction keeps the API server's.
        if self.log.len() > 4096 {
            let cut = self.log.len() - 4096;
            self.compacted = self.log.get(cut).map_or(self.rv, |(rv, ..)| *rv);
            self.log.drain(..cut);
        }
    }
}

fn gone() -> Value {
    json!({"type": "ERROR", "object": {"apiVersion": "v1", "kind": "Status",
        "metadata": {}, "status": "Failure", "reason": "Expired", "code": 410,
        "message": "too old resource version"}})
}

fn status(code: StatusCode, message: &str) -> Response<BoxBody<Bytes, Infallible>> {
    let body = json!({"apiVersion": "v1", "kind": "Status", "metadata": {},
        "status": "Failure", "reason": "NotFound", "code": code.as_u16(), "message": message});
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = code;
    response
}

/// `/api/v1[/namespaces/NS]/PLURAL` or `/apis/GROUP/VERSION[/namespaces/NS]/PLURAL`.
/// The collection, the `apiVersion` asked for, and the namespace.
fn parse_path(path: &str) -> Option<(Collection, String, Option<String>)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, api_version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (String::new(), (*version).to_owned(), rest),
        ["apis", group, version, rest @ ..] => {
            ((*group).to_owned(), format!("{group}/{version}"), rest)
        }
        _ => return None,
    };
    match rest {
        ["namespaces", namespace, plural] => Some((
            (group, (*plural).to_owned()),
            api_version,
            Some((*namespace).to_owned()),
        )),
        [plural] => Some(((group, (*plural).to_owned()), api_version, None)),
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
