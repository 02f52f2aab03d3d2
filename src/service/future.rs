//! The response futures of [`Dispatch`](super::Dispatch) and [`Outbound`](super::Outbound).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{HeaderValue, Response};

use super::body::{Guards, ResponseBody};
use super::reply::record_end;
use crate::live::Observed;
use crate::route::mesh::ActiveRequest;
use crate::route::policy::HeaderOps;
use crate::route::upstream::UpstreamResult;

/// What to do to the response once the inner service has answered.
#[derive(Debug, Default)]
pub(crate) struct After {
    pub(crate) response_ops: Option<HeaderOps>,
    pub(crate) set_cookie: Option<String>,
    pub(crate) active: Option<ActiveRequest>,
}

impl After {
    /// The upstream's response with the route's response header operations (and a generated
    /// cookie) applied, its body holding `guards` until it ends.
    pub(crate) fn apply<B>(
        self,
        mut response: Response<B>,
        guards: Guards,
    ) -> Response<ResponseBody<B>> {
        if let Some(ops) = &self.response_ops {
            ops.apply(response.headers_mut());
        }
        if let Some(cookie) = self.set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .append(http::header::SET_COOKIE, cookie);
        }
        response.map(|body| ResponseBody::inner(body, guards))
    }
}

/// The future of one forwarded request's whole exchange (fault, attempts, retries).
type Sending<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send + 'static>>;

/// A boxed error: how the wrapped client's errors are read.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Turns a failed attempt into the reply Envoy sends for it (`grpc`: to a gRPC request).
pub(crate) type OnError<B> = fn(BoxError, bool) -> Response<ResponseBody<B>>;

pin_project_lite::pin_project! {
    /// Response future of [`Outbound`](super::Outbound): a reply meshroute made itself (ready
    /// at once); the exchange with the upstream under the route's policies — fault injection,
    /// attempts under the route timeout, retries — ending in the upstream's response with the
    /// route's response header operations applied, or in Envoy's local reply for the failure;
    /// or, for a route with no policy to apply, the one call to the wrapped client.
    pub struct OutboundFuture<F, B, E> {
        #[pin]
        state: OutboundState<F, B, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = OutboundStateProj]
    enum OutboundState<F, B, E> {
        Local { response: Option<Response<ResponseBody<B>>> },
        Sending { future: Sending<B, E> },
        Direct {
            #[pin]
            future: F,
            after: Option<(After, Guards)>,
            on_error: OnError<B>,
            grpc: bool,
            span: tracing::Span,
        },
    }
}

impl<F, B, E> std::fmt::Debug for OutboundFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> OutboundFuture<F, B, E> {
    pub(crate) fn local(response: Response<ResponseBody<B>>) -> Self {
        Self {
            state: OutboundState::Local {
                response: Some(response),
            },
        }
    }

    pub(crate) fn sending(future: Sending<B, E>) -> Self {
        Self {
            state: OutboundState::Sending { future },
        }
    }

    /// The wrapped client's own future, for a request no policy applies to.
    pub(crate) fn direct(
        future: F,
        after: After,
        guards: Guards,
        on_error: OnError<B>,
        grpc: bool,
        span: tracing::Span,
    ) -> Self {
        Self {
            state: OutboundState::Direct {
                future,
                after: Some((after, guards)),
                on_error,
                grpc,
                span,
            },
        }
    }
}

impl<F, B, E> Future for OutboundFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            OutboundStateProj::Local { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| Response::new(ResponseBody::local(""))))),
            OutboundStateProj::Sending { future } => future.as_mut().poll(cx),
            OutboundStateProj::Direct {
                future,
                after,
                on_error,
                grpc,
                span,
            } => {
                let result = {
                    let _entered = span.enter();
                    ready!(future.poll(cx))
                };
                let (after, guards) = after.take().unwrap_or_default();
                let response = match result {
                    Ok(response) => after.apply(response, guards),
                    Err(error) => {
                        drop(guards);
                        on_error(error.into(), *grpc)
                    }
                };
                record_end(span, &response);
                Poll::Ready(Ok(response))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Dispatch`](super::Dispatch): a reply meshroute made itself (ready
    /// at once), or the inner service's response with the route's response header operations
    /// applied.
    #[derive(Debug)]
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    #[derive(Debug)]
    enum State<F, B> {
        Local { response: Option<Response<ResponseBody<B>>> },
        Inner {
            #[pin] future: F,
            after: Option<After>,
            // The destination and the start, while the mesh has observers (`Dispatch`).
            observed: Option<(Observed, Instant)>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn local(response: Response<ResponseBody<B>>) -> Self {
        Self {
            state: State::Local {
                response: Some(response),
            },
        }
    }

    pub(crate) fn inner(future: F, after: After, observed: Option<Observed>) -> Self {
        Self {
            state: State::Inner {
                future,
                after: Some(after),
                observed: observed.map(|o| (o, Instant::now())),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Local { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| Response::new(ResponseBody::local(""))))),
            StateProj::Inner {
                future,
                after,
                observed,
            } => {
                let result = ready!(future.poll(cx));
                if let Some((observed, started)) = observed.take() {
                    let outcome = match &result {
                        Ok(response) => UpstreamResult::Status(response.status().as_u16()),
                        Err(_) => UpstreamResult::LocalFailure,
                    };
                    observed.publish(outcome, started);
                }
                let response = result?;
                let mut after = after.take().unwrap_or_default();
                let guards = Guards {
                    active: after.active.take(),
                    admission: None,
                };
                Poll::Ready(Ok(after.apply(response, guards)))
            }
        }
    }
}
