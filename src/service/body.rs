//! The response body of meshroute's services: the inner service's body, or a local reply.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;

pin_project_lite::pin_project! {
    /// Either the inner service's response body or a body meshroute made itself (a redirect,
    /// a direct response, a 404 or 503 answered the way Envoy answers it).
    /// (Each variant holds its body in `body`.)
    #[project = ResponseBodyProj]
    #[derive(Debug)]
    #[allow(missing_docs)]
    pub enum ResponseBody<B> {
        /// From the inner service.
        Inner { #[pin] body: B, active: Option<crate::mesh::ActiveRequest> },
        /// Made by meshroute.
        Local { #[pin] body: Full<Bytes> },
    }
}

impl<B> ResponseBody<B> {
    /// A local body with these bytes.
    pub fn local(bytes: impl Into<Bytes>) -> Self {
        ResponseBody::Local {
            body: Full::new(bytes.into()),
        }
    }

    /// The inner service's body.
    pub fn inner(body: B) -> Self {
        ResponseBody::Inner { body, active: None }
    }

    /// The inner service's body, counting the request as active on its endpoint (for least
    /// request balancing) until the body ends or is dropped.
    pub(crate) fn tracked(body: B, active: Option<crate::mesh::ActiveRequest>) -> Self {
        ResponseBody::Inner { body, active }
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
        match self.project() {
            ResponseBodyProj::Inner { body, active } => {
                let frame = body.poll_frame(cx);
                if matches!(frame, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
                    // The response is over: the endpoint is no longer busy with it.
                    active.take();
                }
                frame
            }
            ResponseBodyProj::Local { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Inner { body, .. } => body.is_end_stream(),
            ResponseBody::Local { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Inner { body, .. } => body.size_hint(),
            ResponseBody::Local { body } => body.size_hint(),
        }
    }
}
