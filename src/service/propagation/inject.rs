use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use tower::{Layer, Service};

use crate::propagation::RoutingContext;
use crate::route::mesh::Mesh;
use crate::util::host::request_authority;

/// Puts the current routing context on every outgoing request: for clients that do not route
/// through meshroute's [`Outbound`](crate::service::Outbound) layer (which injects by itself).
#[derive(Debug, Clone, Default)]
pub struct InjectLayer {
    filter: Option<(Arc<Mesh>, String)>,
}

impl InjectLayer {
    /// Injects into every request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Injects only into requests for hosts `mesh` knows, as seen from `namespace`.
    pub fn in_mesh_only(mesh: Arc<Mesh>, namespace: impl Into<String>) -> Self {
        Self {
            filter: Some((mesh, namespace.into())),
        }
    }
}

impl<S> Layer<S> for InjectLayer {
    type Service = Inject<S>;

    fn layer(&self, inner: S) -> Inject<S> {
        Inject {
            inner,
            filter: self.filter.clone(),
        }
    }
}

/// The service [`InjectLayer`] produces.
#[derive(Debug, Clone)]
pub struct Inject<S> {
    inner: S,
    filter: Option<(Arc<Mesh>, String)>,
}

impl<S, B> Service<Request<B>> for Inject<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if let Some(context) = RoutingContext::current() {
            let allowed = match &self.filter {
                None => true,
                Some((mesh, namespace)) => {
                    request_authority(&request).is_some_and(|h| mesh.knows_host(h, namespace))
                }
            };
            if allowed {
                context.inject(&mut request);
            }
        }
        self.inner.call(request)
    }
}
