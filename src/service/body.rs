//! The response body of meshroute's services: the inner service's body, or a local reply.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;

use crate::route::mesh::ActiveRequest;
use crate::route::upstream::Admission;

pin_project_lite::pin_project! {
    /// The response body of [`Dispatch`](super::Dispatch) and [`Outbound`](super::Outbound):
    /// the inner service's body, or a body meshroute made itself (a redirect, a direct
    /// response, a 404 or 503 answered the way Envoy answers it).
    #[derive(Debug)]
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

/// What a forwarded request holds until its response body ends: its count on the endpoint
/// (least request) and its place in the cluster's circuit breaker. Dropping releases both, on
/// completion, cancellation or panic alike.
#[derive(Debug, Default)]
pub(crate) struct Guards {
    pub(crate) active: Option<ActiveRequest>,
    pub(crate) admission: Option<Admission>,
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner { #[pin] body: B, guards: Guards },
        Local { #[pin] body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// A local body with these bytes.
    pub(crate) fn local(bytes: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Local {
                body: Full::new(bytes.into()),
            },
        }
    }

    /// The inner service's body, counting the request as active on its endpoint (for least
    /// request balancing) and in its cluster's circuit breaker until the body ends or is
    /// dropped.
    pub(crate) fn inner(body: B, guards: Guards) -> Self {
        Self {
            kind: Kind::Inner { body, guards },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body, guards } => {
                let frame = body.poll_frame(cx);
                if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
                    // The response is over: the endpoint is no longer busy with it.
                    guards.active.take();
                    guards.admission.take();
                }
                frame
            }
            KindProj::Local { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body, .. } => body.is_end_stream(),
            Kind::Local { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body, .. } => body.size_hint(),
            Kind::Local { body } => body.size_hint(),
        }
    }
}
