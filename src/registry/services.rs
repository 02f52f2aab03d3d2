//! The services the manifests define: Kubernetes `Service`s (by their FQDN) and `ServiceEntry`
//! hosts, each with its namespace, ports and `exportTo`, as Istio's service index keeps them
//! (istio/istio `pilot/pkg/model/push_context.go` `initServiceRegistry`: one service per host and
//! namespace, a Kubernetes Service winning over a ServiceEntry of the same host and namespace).

use std::collections::HashMap;

use super::visibility::{ExportTo, MeshSettings, service_annotation_export};
use crate::config::{Body, Resource};
use crate::util::host;

/// One service: a host in one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    /// The FQDN of a Kubernetes Service, or a ServiceEntry host as written (lowercased).
    pub(crate) host: String,
    pub(crate) namespace: String,
    pub(crate) ports: Vec<u16>,
    pub(crate) export: ExportTo,
    /// From a Kubernetes `Service` (rather than a ServiceEntry).
    pub(crate) kubernetes: bool,
    /// Another namespace has a service of the same host: a caller sees one of them
    /// ([`Services::for_caller`]). Most hosts are alone, and a scope takes them without asking.
    pub(crate) host_shared: bool,
    /// Its position in [`Services::iter`] (`0..Services::len()`), for tables by service.
    pub(crate) id: usize,
}

/// Every service of the configuration, in creation order.
#[derive(Debug, Default)]
pub(crate) struct Services {
    list: Vec<Service>,
    /// host → indices into `list` (one per namespace).
    by_host: HashMap<String, Vec<usize>>,
}

impl Services {
    /// The services of `resources`, with `exportTo` resolved by `settings`.
    pub(crate) fn new(resources: &[&Resource], settings: &MeshSettings) -> Self {
        let mut ordered: Vec<&Resource> = resources.to_vec();
        ordered.sort_by(|a, b| {
            (&a.metadata.creation_timestamp, a.name(), a.namespace()).cmp(&(
                &b.metadata.creation_timestamp,
                b.name(),
                b.namespace(),
            ))
        });
        let mut services = Self::default();
        for resource in ordered {
            let namespace = resource.namespace();
            match &resource.body {
                Body::Service(svc) => {
                    let export =
                        settings.service_export(&service_annotation_export(resource), namespace);
                    services.add(Service {
                        host: host::resolve(resource.name(), namespace),
                        namespace: namespace.to_owned(),
                        ports: svc
                            .ports
                            .iter()
                            .filter_map(|p| u16::try_from(p.port).ok())
                            .collect(),
                        export,
                        kubernetes: true,
                        host_shared: false,
                        id: 0,
                    });
                }
                Body::ServiceEntry(se) => {
                    let ports: Vec<u16> = se
                        .ports
                        .iter()
                        .filter_map(|p| u16::try_from(p.number).ok())
                        .collect();
                    let export = settings.service_export(&se.export_to, namespace);
                    for h in &se.hosts {
                        services.add(Service {
                            host: h.to_ascii_lowercase(),
                            namespace: namespace.to_owned(),
                            ports: ports.clone(),
                            export: export.clone(),
                            kubernetes: false,
                            host_shared: false,
                            id: 0,
                        });
                    }
                }
                _ => {}
            }
        }
        for slots in services.by_host.values().filter(|slots| slots.len() > 1) {
            for &i in slots {
                if let Some(service) = services.list.get_mut(i) {
                    service.host_shared = true;
                }
            }
        }
        services
    }

    /// Adds a service; an existing one of the same host and namespace stays, unless the new one
    /// is a Kubernetes Service replacing a ServiceEntry.
    fn add(&mut self, mut service: Service) {
        let slots = self.by_host.entry(service.host.clone()).or_default();
        let existing = slots.iter().copied().find(|&i| {
            self.list
                .get(i)
                .is_some_and(|s| s.namespace == service.namespace)
        });
        match existing {
            Some(i) => {
                if let Some(old) = self.list.get_mut(i) {
                    if !old.kubernetes && service.kubernetes {
                        service.id = i;
                        *old = service;
                    }
                }
            }
            None => {
                service.id = self.list.len();
                slots.push(service.id);
                self.list.push(service);
            }
        }
    }

    /// Every service, in creation order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Service> {
        self.list.iter()
    }

    /// How many services there are.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// The services of `host`, one per namespace.
    pub(crate) fn of_host<'a>(&'a self, host: &str) -> impl Iterator<Item = &'a Service> + 'a {
        self.by_host
            .get(host)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.list.get(i))
    }

    /// Whether any namespace has a service of `host`.
    pub(crate) fn contains(&self, host: &str) -> bool {
        self.by_host.contains_key(host)
    }

    /// The one service of `host` a caller in `namespace` uses: its own namespace's, else the
    /// first visible one in namespace order (sidecar.go `pickFirstVisibleNamespace`).
    pub(crate) fn for_caller(&self, host: &str, namespace: &str) -> Option<&Service> {
        let mut visible: Vec<&Service> = self
            .of_host(host)
            .filter(|s| s.export.visible_to(namespace))
            .collect();
        if let Some(own) = visible.iter().find(|s| s.namespace == namespace) {
            return Some(own);
        }
        visible.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        visible.first().copied()
    }

    /// The ports of `host` (any namespace; the first service defining it).
    pub(crate) fn ports(&self, host: &str) -> &[u16] {
        self.of_host(host)
            .next()
            .map_or(&[], |s| s.ports.as_slice())
    }

    /// The service's only port, when it has exactly one.
    pub(crate) fn only_port(&self, fqdn: &str) -> Option<u16> {
        match self.ports(fqdn) {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// Every service host, sorted, each once.
    pub(crate) fn hosts(&self) -> Vec<&str> {
        let mut hosts: Vec<&str> = self.by_host.keys().map(String::as_str).collect();
        hosts.sort_unstable();
        hosts
    }
}
