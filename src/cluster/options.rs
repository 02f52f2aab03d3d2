//! `ClusterOptions`: what cluster mode watches and how it applies changes.

use std::time::Duration;

use crate::config::load::LoadOptions;

/// What a [`ClusterSync`](super::ClusterSync) (or [`list`](super::list)) reads from the cluster.
///
/// ```
/// use std::time::Duration;
/// use meshroute::cluster::ClusterOptions;
///
/// let options = ClusterOptions::default()
///     .namespace("shop")
///     .namespace("payments")
///     .label_selector("meshroute.dev/in-process=true")
///     .debounce(Duration::from_millis(250));
/// assert_eq!(options.namespaces, ["shop", "payments"]);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// The namespaces to watch; empty (the default) watches every namespace. The objects of the
    /// others are invisible, as if they did not exist (their services included).
    pub namespaces: Vec<String>,
    /// A label selector (`app=shop,tier!=test`) for Istio's routing kinds (VirtualService,
    /// DestinationRule, Gateway, ServiceEntry, WorkloadEntry, Sidecar); Services,
    /// EndpointSlices and Pods are always read whole, since routes resolve to them.
    pub label_selector: Option<String>,
    /// How long changes are gathered, from the first one after a swap, before they are applied
    /// together (default 100 ms).
    pub debounce: Duration,
    /// The version of `networking.istio.io` asked for (default `v1`, served since Istio 1.22;
    /// `v1beta1` for older control planes). The API server converts every stored object to it.
    pub istio_version: String,
    /// The namespace of istiod's `istio` ConfigMap (MeshConfig), default `istio-system`;
    /// `None` reads no MeshConfig (Istio's defaults apply).
    pub root_namespace: Option<String>,
    /// How objects are loaded. The default allows unknown fields (a warning, the field ignored):
    /// what is in the cluster passed Istio's own validation, so an unknown field means a newer
    /// Istio than meshroute knows, not a typo.
    pub load: LoadOptions,
    /// The watchers' back-off after an error: the first wait and the longest (default 800 ms
    /// and 30 s, kube-rs's defaults), doubling with jitter.
    pub backoff: (Duration, Duration),
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            label_selector: None,
            debounce: Duration::from_millis(100),
            istio_version: "v1".to_owned(),
            root_namespace: Some("istio-system".to_owned()),
            load: LoadOptions::default().allow_unknown_fields(true),
            backoff: (Duration::from_millis(800), Duration::from_secs(30)),
        }
    }
}

impl ClusterOptions {
    /// Adds a namespace to watch (by default every namespace is watched).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespaces.push(namespace.into());
        self
    }

    /// Sets the label selector of Istio's routing kinds.
    pub fn label_selector(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Sets how long changes are gathered before they are applied together.
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// Sets the version of `networking.istio.io` asked for.
    pub fn istio_version(mut self, version: impl Into<String>) -> Self {
        self.istio_version = version.into();
        self
    }

    /// Sets the namespace of istiod's `istio` ConfigMap, or `None` for none.
    pub fn root_namespace(mut self, namespace: Option<String>) -> Self {
        self.root_namespace = namespace;
        self
    }

    /// Sets how objects are loaded.
    pub fn load_options(mut self, load: LoadOptions) -> Self {
        self.load = load;
        self
    }

    /// Sets the watchers' back-off after an error: the first wait and the longest.
    pub fn backoff(mut self, first: Duration, longest: Duration) -> Self {
        self.backoff = (first, longest);
        self
    }
}
