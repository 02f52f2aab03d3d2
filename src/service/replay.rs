//! The request body the outbound client gets: the application's body, kept (up to a limit)
//! while it is sent so that a retry or a mirror can send it again.
//!
//! Envoy buffers a request body for retries and shadows up to the connection's buffer limit
//! and gives up retrying past it; [`RequestBody`] does the same without waiting for the whole
//! body first: the first attempt streams it, each frame is kept as it passes (a `Bytes` clone,
//! no copy), and a later attempt replays the kept frames, then reads on from the
//! application's body where the earlier attempt stopped (a connect failure reads nothing, an
//! early response part of it). One reader polls the application's body at a time; others
//! waiting at the same point are woken when a frame arrives or that reader goes away.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

/// The request body [`Outbound`](super::Outbound) hands to the client it wraps: the
/// application's body on the first attempt, the same bytes again on a retry or a mirror.
///
/// Bodies up to the layer's replay limit ([`OutboundLayer::retry_buffer_limit`],
/// 1 MiB by default, Envoy's default buffer limit) can be sent more than once; past it the
/// body streams on but a failed attempt is not retried (Envoy's behaviour too).
///
/// [`OutboundLayer::retry_buffer_limit`]: super::OutboundLayer::retry_buffer_limit
#[derive(Debug)]
pub struct RequestBody<B> {
    /// `None`: a body that was over before it started (nothing to keep, nothing allocated).
    shared: Option<Arc<Mutex<Shared<B>>>>,
    /// Frames of `Shared::kept` this reader has yielded.
    position: usize,
    /// The trailers were yielded.
    trailers_sent: bool,
    /// This reader is the one polling the application's body.
    polling: bool,
}

#[derive(Debug)]
struct Shared<B> {
    /// The part of the application's body not read yet; `None` once it ended or failed.
    rest: Option<B>,
    kept: Vec<Bytes>,
    kept_len: usize,
    trailers: Option<HeaderMap>,
    /// The application's body ended (every frame is in `kept`, unless `overflow`).
    ended: bool,
    /// More than `limit` bytes passed: nothing is kept any longer and no replay is possible.
    overflow: bool,
    limit: usize,
    /// A reader holds the right to poll `rest`.
    poller: bool,
    /// Readers waiting for `rest` to yield.
    waiting: Vec<Waker>,
}

impl<B: Body<Data = Bytes>> RequestBody<B> {
    /// Wraps `body`, keeping up to `limit` bytes for replays.
    pub(crate) fn new(body: B, limit: usize) -> Self {
        if body.is_end_stream() {
            return Self::from_shared(None);
        }
        Self::from_shared(Some(Arc::new(Mutex::new(Shared {
            rest: Some(body),
            kept: Vec::new(),
            kept_len: 0,
            trailers: None,
            ended: false,
            overflow: false,
            limit,
            poller: false,
            waiting: Vec::new(),
        }))))
    }
}

impl<B> RequestBody<B> {
    fn from_shared(shared: Option<Arc<Mutex<Shared<B>>>>) -> Self {
        Self {
            shared,
            position: 0,
            trailers_sent: false,
            polling: false,
        }
    }

    fn lock(&self) -> Option<MutexGuard<'_, Shared<B>>> {
        self.shared.as_ref()?.lock().ok()
    }

    /// Another reader of the same body from its start, for a retry or a mirror; `None` when
    /// the body cannot be sent again (it passed the limit).
    pub(crate) fn replay(&self) -> Option<Self> {
        match &self.shared {
            None => Some(Self::from_shared(None)),
            Some(shared) => {
                let replayable = self.lock().is_some_and(|s| !s.overflow);
                replayable.then(|| Self::from_shared(Some(Arc::clone(shared))))
            }
        }
    }

    fn stop_polling(&mut self) {
        if !self.polling {
            return;
        }
        self.polling = false;
        if let Some(mut shared) = self.lock() {
            shared.poller = false;
            for waker in shared.waiting.drain(..) {
                waker.wake();
            }
        }
    }
}

impl<B> Drop for RequestBody<B> {
    fn drop(&mut self) {
        self.stop_polling();
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some(mut shared) = this.shared.as_ref().and_then(|s| s.lock().ok()) else {
            return Poll::Ready(None);
        };
        // Kept frames first.
        if let Some(data) = shared.kept.get(this.position) {
            this.position = this.position.saturating_add(1);
            return Poll::Ready(Some(Ok(Frame::data(data.clone()))));
        }
        if shared.overflow && this.position > 0 && this.position < usize::MAX {
            // Frames this reader has not seen were dropped; only the reader that read them
            // (now streaming past the limit) can go on. Unreachable in practice: replays of an
            // overflowed body are never made.
            return Poll::Ready(None);
        }
        if shared.ended {
            if !this.trailers_sent {
                this.trailers_sent = true;
                if let Some(trailers) = shared.trailers.clone() {
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                }
            }
            return Poll::Ready(None);
        }
        if shared.poller && !this.polling {
            shared.waiting.push(cx.waker().clone());
            return Poll::Pending;
        }
        shared.poller = true;
        this.polling = true;
        let Some(rest) = shared.rest.as_mut() else {
            shared.ended = true;
            return Poll::Ready(None);
        };
        let polled = Pin::new(rest).poll_frame(cx);
        let result = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => {
                shared.ended = true;
                shared.rest = None;
                None
            }
            Poll::Ready(Some(Err(error))) => {
                // The body failed: nothing more to read for anyone.
                shared.ended = true;
                shared.overflow = true;
                shared.rest = None;
                Some(Err(error))
            }
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    if !shared.overflow {
                        shared.kept_len = shared.kept_len.saturating_add(data.len());
                        if shared.kept_len > shared.limit {
                            shared.overflow = true;
                            shared.kept = Vec::new();
                            // This reader streams on past the limit, alone.
                            this.position = usize::MAX;
                        } else {
                            shared.kept.push(data.clone());
                            this.position = shared.kept.len();
                        }
                    }
                    Some(Ok(Frame::data(data)))
                }
                Err(frame) => match frame.into_trailers() {
                    Ok(trailers) => {
                        shared.trailers = Some(trailers.clone());
                        shared.ended = true;
                        shared.rest = None;
                        this.trailers_sent = true;
                        Some(Ok(Frame::trailers(trailers)))
                    }
                    // A frame kind http-body does not know yet: pass nothing on.
                    Err(_) => None,
                },
            },
        };
        for waker in shared.waiting.drain(..) {
            waker.wake();
        }
        Poll::Ready(result)
    }

    fn is_end_stream(&self) -> bool {
        if self.shared.is_none() {
            return true;
        }
        self.lock().is_some_and(|s| {
            s.ended && self.position >= s.kept.len() && (self.trailers_sent || s.trailers.is_none())
        })
    }

    fn size_hint(&self) -> SizeHint {
        if self.shared.is_none() {
            return SizeHint::with_exact(0);
        }
        match self.lock() {
            Some(s) if s.ended && !s.overflow => {
                let kept = u64::try_from(s.kept_len).unwrap_or(u64::MAX);
                let sent: usize = s.kept.iter().take(self.position).map(Bytes::len).sum();
                SizeHint::with_exact(kept.saturating_sub(u64::try_from(sent).unwrap_or(0)))
            }
            Some(s) => {
                let kept: usize = s.kept.iter().skip(self.position).map(Bytes::len).sum();
                let kept = u64::try_from(kept).unwrap_or(u64::MAX);
                let rest = s.rest.as_ref().map(Body::size_hint).unwrap_or_default();
                let mut hint = SizeHint::new();
                // Upper first: `set_lower` refuses a lower bound above the upper one.
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(kept));
                }
                hint.set_lower(rest.lower().saturating_add(kept));
                hint
            }
            None => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    fn collect<B>(body: B) -> Vec<u8>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Debug,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(body.collect())
            .unwrap()
            .to_bytes()
            .to_vec()
    }

    #[test]
    fn a_replay_sends_the_same_bytes() {
        let first = RequestBody::new(Full::new(Bytes::from_static(b"hello")), 1024);
        let second = first.replay().unwrap();
        assert_eq!(collect(first), b"hello");
        assert_eq!(collect(second), b"hello");
    }

    #[test]
    fn a_replay_reads_on_where_an_unread_attempt_stopped() {
        // A connect failure: the first attempt never polls the body.
        let chunks = Chunks([Bytes::from_static(b"a"), Bytes::from_static(b"b")].into());
        let first = RequestBody::new(chunks, 1024);
        let second = first.replay().unwrap();
        drop(first);
        assert_eq!(collect(second), b"ab");
    }

    #[test]
    fn past_the_limit_no_replay_is_offered() {
        let first = RequestBody::new(Full::new(Bytes::from_static(b"0123456789")), 4);
        let replay = first.replay().unwrap();
        assert_eq!(collect(first), b"0123456789");
        assert!(replay.lock().unwrap().overflow);
        let again = RequestBody::new(Full::new(Bytes::from_static(b"0123456789")), 4);
        assert_eq!(collect(again.replay().unwrap()), b"0123456789");
        assert!(again.replay().is_none());
    }

    #[test]
    fn an_empty_body_is_complete_at_once() {
        let body = RequestBody::new(http_body_util::Empty::<Bytes>::new(), 0);
        assert!(body.is_end_stream());
        assert_eq!(collect(body.replay().unwrap()), b"");
    }

    /// A body of several data frames, one per poll.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }
}
