//! The routing context of the inbound request a task is handling: a tokio task-local.

use std::sync::Arc;

use crate::propagation::RoutingContext;

tokio::task_local! {
    static CURRENT: Arc<RoutingContext>;
}

impl RoutingContext {
    /// The context of the inbound request the current task is handling, if any (set by
    /// [`CaptureLayer`](crate::service::CaptureLayer)).
    pub fn current() -> Option<Arc<RoutingContext>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    /// Runs `future` with `context` as the current context.
    pub fn scope<F: std::future::Future>(
        context: Arc<RoutingContext>,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Arc<RoutingContext>, F> {
        CURRENT.scope(context, future)
    }
}
