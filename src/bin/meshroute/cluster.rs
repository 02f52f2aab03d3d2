//! `--cluster`: the configuration read from a Kubernetes cluster (one list of each kind, no
//! watch) instead of files, and `meshroute dump --cluster DIR`, which writes what it read as
//! YAML files for offline `diff` and `test`. Feature `kube`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use meshroute::Loaded;
use meshroute::cluster::ClusterOptions;
use serde_json::Value;

use crate::output::yaml;

/// Where the configuration comes from when it is not files.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClusterFlags {
    /// Read the configuration from the cluster of the current kubeconfig context (or, in a pod,
    /// its service account) instead of files: one list of each kind, no watch. It reads Istio's
    /// networking resources, Services, EndpointSlices, Pods and istiod's `istio` ConfigMap.
    #[arg(long)]
    pub(crate) cluster: bool,
    /// The kubeconfig context to use (default: the current one).
    #[arg(long, requires = "cluster", value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// Read every namespace (default: `--namespace`, else the context's namespace).
    #[arg(short = 'A', long, requires = "cluster")]
    pub(crate) all_namespaces: bool,
}

/// What to read: the flags and `--namespace` as given.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub(crate) flags: &'a ClusterFlags,
    pub(crate) namespace: Option<&'a str>,
}

impl Target<'_> {
    /// Connects to the cluster the flags name, on a runtime of its own, and runs `read` with
    /// the client and what to read; the message says why not.
    fn read<T>(
        &self,
        read: impl AsyncFnOnce(&kube::Client, &ClusterOptions) -> Result<T, kube::Error>,
    ) -> Result<T, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        runtime.block_on(async {
            let config = match &self.flags.context {
                Some(context) => {
                    let options = kube::config::KubeConfigOptions {
                        context: Some(context.clone()),
                        ..Default::default()
                    };
                    kube::Config::from_kubeconfig(&options)
                        .await
                        .map_err(|e| format!("cannot use kubeconfig context {context:?}: {e}"))?
                }
                None => kube::Config::infer()
                    .await
                    .map_err(|e| format!("cannot find a cluster to read: {e}"))?,
            };
            let mut options = ClusterOptions::default();
            if !self.flags.all_namespaces {
                // `--namespace` overrides the context's namespace, as `kubectl -n` does.
                let namespace = self
                    .namespace
                    .map_or_else(|| config.default_namespace.clone(), str::to_owned);
                options = options.namespace(namespace);
            }
            let url = config.cluster_url.to_string();
            let client = kube::Client::try_from(config)
                .map_err(|e| format!("cannot connect to {url}: {e}"))?;
            read(&client, &options)
                .await
                .map_err(|e| format!("cannot read the cluster at {url}: {e}"))
        })
    }

    /// Lists the cluster's configuration and loads it as files are loaded.
    pub(crate) fn load(&self) -> Result<Loaded, ExitCode> {
        self.read(async |client, options| meshroute::cluster::list(client, options).await)
            .map_err(|message| {
                eprintln!("meshroute: {message}");
                ExitCode::from(2)
            })
    }
}

/// `meshroute dump --cluster DIR`: each namespace's objects in `DIR/NAMESPACE/KIND.yaml` (one
/// file per kind, documents by name), cluster-scoped ones in `DIR/KIND.yaml`, without the
/// fields the API server manages (`status` of Istio's kinds aside, which it keeps).
pub(crate) fn dump(target: &Target<'_>, dir: &Path) -> ExitCode {
    let listed = target
        .read(async |client, options| meshroute::cluster::list_objects(client, options).await);
    let objects = match listed {
        Ok(objects) => objects,
        Err(message) => {
            eprintln!("meshroute: {message}");
            return ExitCode::from(2);
        }
    };
    let mut files: BTreeMap<std::path::PathBuf, Vec<String>> = BTreeMap::new();
    for mut object in objects {
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("object")
            .to_ascii_lowercase();
        if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
            for managed in ["resourceVersion", "uid", "generation", "managedFields"] {
                metadata.remove(managed);
            }
        }
        let namespace = object
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str);
        let file = match namespace {
            // A namespace is a DNS label; anything else (from a server that is not one) must not
            // become a path outside DIR.
            Some(namespace) if is_dns_label(namespace) => {
                dir.join(namespace).join(format!("{kind}.yaml"))
            }
            Some(_) => dir.join("_invalid-namespace").join(format!("{kind}.yaml")),
            None => dir.join(format!("{kind}.yaml")),
        };
        files.entry(file).or_default().push(yaml(&object));
    }
    let count: usize = files.values().map(Vec::len).sum();
    for (file, documents) in &files {
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(file, documents.join("---\n")));
        if let Err(error) = written {
            eprintln!("meshroute: cannot write {}: {error}", file.display());
            return ExitCode::from(2);
        }
    }
    eprintln!(
        "meshroute: {count} objects written to {} files under {}",
        files.len(),
        dir.display()
    );
    ExitCode::SUCCESS
}

/// Whether `name` is a DNS label (RFC 1123), what Kubernetes allows as a namespace name.
fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}
