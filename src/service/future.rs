//! The response future of [`Dispatch`](super::Dispatch) and [`Outbound`](super::Outbound).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Response};

use super::body::ResponseBody;
use crate::route::mesh::ActiveRequest;
use crate::route::policy::HeaderOps;

/// What to do to the response once the inner service has answered.
#[derive(Debug, Default)]
pub(crate) struct After {
    pub(crate) response_ops: Option<HeaderOps>,
    pub(crate) set_cookie: Option<String>,
    pub(crate) active: Option<ActiveRequest>,
}

pin_project_lite::pin_project! {
    /// Response future of [`Dispatch`](super::Dispatch) and [`Outbound`](super::Outbound):
    /// a reply meshroute made itself (ready at once), or the inner service's response with the
    /// route's response header operations (and a generated cookie) applied.
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
        Inner { #[pin] future: F, after: Option<After> },
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

    pub(crate) fn inner(future: F, after: After) -> Self {
        Self {
            state: State::Inner {
                future,
                after: Some(after),
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
            StateProj::Inner { future, after } => {
                let mut response = ready!(future.poll(cx))?;
                let after = after.take().unwrap_or_default();
                if let Some(ops) = &after.response_ops {
                    ops.apply(response.headers_mut());
                }
                if let Some(cookie) = after
                    .set_cookie
                    .and_then(|c| HeaderValue::from_str(&c).ok())
                {
                    response
                        .headers_mut()
                        .append(http::header::SET_COOKIE, cookie);
                }
                let active = after.active;
                Poll::Ready(Ok(response.map(|body| ResponseBody::inner(body, active))))
            }
        }
    }
}
