//! A bound on the request bytes the server holds at once, over all calls (`--max-request-mb`).
//!
//! tonic reads a request message whole into memory before it decodes it, and sets aside room
//! for all of it as soon as the message's 5-byte frame header (a compression flag and the
//! length) arrives. [`RequestBytesLayer`] wraps every request body: when the header of a
//! message arrives, the body first takes the message's length from the server's budget and only
//! then hands the header and the message's bytes on to tonic. Meanwhile it reads nothing more
//! from the connection, so HTTP/2 flow control holds the client back. The share is given back
//! once tonic asks for bytes beyond the message (it has then decoded it and handed it to the
//! call) or the call ends; an ImportCases stream takes it over instead ([`HeldMessage`]) and
//! gives it back once the batch is stored.
//!
//! - A message longer than [`MAX_MESSAGE_BYTES`] is refused as soon as its header arrives:
//!   RESOURCE_EXHAUSTED (`MESSAGE_TOO_LARGE`, naming the limit), before any of it is read.
//! - The first message of a call that finds the budget taken waits at most [`QUEUE_WAIT`], as
//!   calls wait for a slot, and its call is then answered RESOURCE_EXHAUSTED (`OVERLOADED`)
//!   with a RetryInfo. A later message of an ImportCases stream waits as long as it takes,
//!   behind the stream's own batches being stored (which need no budget), as HTTP/2 flow
//!   control would make it wait: a stream let in is not shed halfway. The stream's idle limit
//!   (`--call-timeout`) bounds that wait.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use futures::future::BoxFuture;
use http_body::Frame;
use prost::bytes::{Buf, Bytes};
use tokio::sync::OwnedSemaphorePermit;
use tonic::Status;
use tower::{Layer, Service};

use crate::api::limits::{Limits, MAX_MESSAGE_BYTES, QUEUE_WAIT};
use crate::error::ApiError;

/// A gRPC message's frame header: a compression flag and a big-endian u32 length.
const HEADER_BYTES: usize = 5;

/// The share of the budget held by the message a call's body is reading or has just handed
/// on; put into the request's extensions, where an ImportCases stream takes it over with the
/// batch it reads (see [`HeldMessage::take`]).
#[derive(Clone, Default)]
pub struct HeldMessage(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl HeldMessage {
    /// The share of the message read last, which then stays with the caller (e.g. until the
    /// batch is stored); `None` when the body holds none.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.lock().ok().and_then(|mut held| held.take())
    }

    fn hold(&self, permit: Option<OwnedSemaphorePermit>) {
        if let Ok(mut held) = self.0.lock() {
            *held = permit;
        }
    }
}

/// The tower layer that meters request bodies against the budget of `limits`.
#[derive(Clone)]
pub struct RequestBytesLayer {
    limits: Arc<Limits>,
}

impl RequestBytesLayer {
    /// The layer metering against `limits`' request byte budget.
    pub fn new(limits: Arc<Limits>) -> Self {
        RequestBytesLayer { limits }
    }
}

impl<S> Layer<S> for RequestBytesLayer {
    type Service = RequestBytes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestBytes {
            inner,
            limits: self.limits.clone(),
        }
    }
}

/// The router behind [`RequestBytesLayer`].
#[derive(Clone)]
pub struct RequestBytes<S> {
    inner: S,
    limits: Arc<Limits>,
}

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for RequestBytes<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let held = HeldMessage::default();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(held.clone());
        let body = Metered::new(body, self.limits.clone(), held);
        self.inner.call(http::Request::from_parts(
            parts,
            tonic::body::Body::new(body),
        ))
    }
}

/// A request body handing on one message at a time, each once its length is reserved.
struct Metered<B> {
    inner: B,
    limits: Arc<Limits>,
    /// Bytes read from `inner` and not yet handed on.
    pending: Bytes,
    /// The header of the next message, as far as it has arrived.
    header: [u8; HEADER_BYTES],
    header_read: usize,
    /// Bytes of the current message still to hand on after its header.
    remaining: usize,
    /// The current message's share, until it is decoded (or taken over).
    held: HeldMessage,
    /// The reservation of the next message, while it waits for the budget.
    reserving: Option<BoxFuture<'static, Result<OwnedSemaphorePermit, ApiError>>>,
    /// Whether the body failed: nothing more is read.
    failed: bool,
    /// Whether a message of this body was let in already.
    admitted: bool,
}

impl<B> Metered<B> {
    fn new(inner: B, limits: Arc<Limits>, held: HeldMessage) -> Self {
        Metered {
            inner,
            limits,
            pending: Bytes::new(),
            header: [0; HEADER_BYTES],
            header_read: 0,
            remaining: 0,
            held,
            reserving: None,
            failed: false,
            admitted: false,
        }
    }

    /// Ends the body with `error`.
    fn fail(&mut self, error: ApiError) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.failed = true;
        self.held.hold(None);
        Poll::Ready(Some(Err(Status::from(error))))
    }
}

impl<B> Drop for Metered<B> {
    fn drop(&mut self) {
        // A message not taken over by its call is given back with the body.
        self.held.hold(None);
    }
}

impl<B> http_body::Body for Metered<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        loop {
            if this.failed {
                return Poll::Ready(None);
            }
            if let Some(reserving) = &mut this.reserving {
                let reserved = ready!(reserving.as_mut().poll(cx));
                this.reserving = None;
                return match reserved {
                    Ok(permit) => {
                        this.admitted = true;
                        this.held.hold(Some(permit));
                        this.header_read = 0;
                        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(&this.header)))))
                    }
                    Err(error) => this.fail(error),
                };
            }
            if this.remaining > 0 && !this.pending.is_empty() {
                let part = this.remaining.min(this.pending.len());
                this.remaining -= part;
                return Poll::Ready(Some(Ok(Frame::data(this.pending.split_to(part)))));
            }
            if this.remaining == 0 && this.header_read == 0 {
                // tonic asks for more only once it has decoded every whole message it was
                // handed: the last one is done with, unless its call took it over.
                this.held.hold(None);
            }
            if this.remaining == 0 && !this.pending.is_empty() {
                let part = (HEADER_BYTES - this.header_read).min(this.pending.len());
                this.header[this.header_read..this.header_read + part]
                    .copy_from_slice(&this.pending[..part]);
                this.pending.advance(part);
                this.header_read += part;
                if this.header_read == HEADER_BYTES {
                    let length = u32::from_be_bytes([
                        this.header[1],
                        this.header[2],
                        this.header[3],
                        this.header[4],
                    ]) as usize;
                    if length > MAX_MESSAGE_BYTES {
                        return this.fail(ApiError::MessageTooLarge {
                            length,
                            limit: MAX_MESSAGE_BYTES,
                        });
                    }
                    this.remaining = length;
                    let wait = (!this.admitted).then_some(QUEUE_WAIT);
                    this.reserving = Some(Box::pin(
                        this.limits
                            .clone()
                            .request_bytes(HEADER_BYTES + length, wait),
                    ));
                }
                continue;
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    // Trailers: the end of the request.
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Some(Err(error)) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(Status::from_error(error.into()))));
                }
                None if this.header_read > 0 => {
                    // A header cut short: tonic answers the truncated message.
                    let partial = Bytes::copy_from_slice(&this.header[..this.header_read]);
                    this.header_read = 0;
                    return Poll::Ready(Some(Ok(Frame::data(partial))));
                }
                None => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.failed
            && self.pending.is_empty()
            && self.header_read == 0
            && self.reserving.is_none()
            && self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::time::Duration;

    use super::*;
    use crate::api::limits::LimitSettings;

    /// A request body of the given chunks.
    struct Chunks(VecDeque<Bytes>);

    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = Status;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    fn limits(budget_mb: usize) -> Arc<Limits> {
        let settings = LimitSettings {
            max_request_bytes: budget_mb << 20,
            ..LimitSettings::default()
        };
        Limits::new(&settings, 16)
    }

    /// A frame: the header of a message of `length` bytes, then `body` (possibly shorter).
    fn frame(length: u32, body: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend(length.to_be_bytes());
        bytes.extend(body);
        bytes
    }

    fn metered(chunks: Vec<Vec<u8>>, limits: &Arc<Limits>) -> (Metered<Chunks>, HeldMessage) {
        let held = HeldMessage::default();
        let chunks = Chunks(chunks.into_iter().map(Bytes::from).collect());
        (Metered::new(chunks, limits.clone(), held.clone()), held)
    }

    async fn next(body: &mut Metered<Chunks>) -> Option<Result<Bytes, Status>> {
        use http_body::Body as _;
        let frame = futures::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
        Some(frame.map(|f| f.into_data().expect("data")))
    }

    async fn data(body: &mut Metered<Chunks>) -> Bytes {
        next(body).await.expect("a frame").expect("data")
    }

    async fn refusal(body: &mut Metered<Chunks>) -> Status {
        next(body).await.expect("a frame").expect_err("a refusal")
    }

    fn available(limits: &Limits) -> usize {
        limits.request_bytes_free()
    }

    #[tokio::test]
    async fn messages_pass_whole_one_at_a_time_each_holding_its_length() {
        let limits = limits(64);
        let budget = available(&limits);
        // Two messages, cut anywhere: inside the first header, across the boundary.
        let mut wire = frame(3, b"abc");
        wire.extend(frame(2, b"de"));
        let chunks = vec![wire[..2].to_vec(), wire[2..7].to_vec(), wire[7..].to_vec()];
        let (mut body, _held) = metered(chunks, &limits);
        let mut first = Vec::new();
        while first.len() < 8 {
            first.extend_from_slice(&data(&mut body).await);
            assert_eq!(available(&limits), budget - 8, "the first message is held");
        }
        assert_eq!(first, frame(3, b"abc"), "nothing of the second message yet");
        let mut second = Vec::new();
        while let Some(chunk) = next(&mut body).await {
            second.extend_from_slice(&chunk.expect("data"));
            if second.len() == 7 {
                assert_eq!(available(&limits), budget - 7, "only the second is held");
            }
        }
        assert_eq!(second, frame(2, b"de"));
        assert_eq!(available(&limits), budget, "all given back at the end");
    }

    #[tokio::test]
    async fn a_message_taken_over_stays_held_after_the_body() {
        let limits = limits(64);
        let budget = available(&limits);
        let (mut body, held) = metered(vec![frame(4, b"wxyz")], &limits);
        assert_eq!(data(&mut body).await.len(), 5);
        assert_eq!(data(&mut body).await.len(), 4);
        let taken = held.take().expect("the batch's share");
        assert!(next(&mut body).await.is_none());
        drop(body);
        assert_eq!(available(&limits), budget - 9);
        drop(taken);
        assert_eq!(available(&limits), budget);
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_at_its_header() {
        let limits = limits(256);
        let length = u32::try_from(MAX_MESSAGE_BYTES + 1).expect("a u32");
        let (mut body, _held) = metered(vec![frame(length, b"abc")], &limits);
        let status = refusal(&mut body).await;
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("limit of 64 MB"), "{status:?}");
        assert!(next(&mut body).await.is_none());
    }

    #[tokio::test]
    async fn a_message_beyond_the_budget_waits_then_is_shed() {
        let limits = limits(64);
        let taken = limits
            .clone()
            .request_bytes(MAX_MESSAGE_BYTES, Some(QUEUE_WAIT))
            .await
            .expect("a free budget");
        let (mut body, _held) = metered(vec![frame(1 << 20, b"")], &limits);
        let started = tokio::time::Instant::now();
        let status = refusal(&mut body).await;
        assert!(started.elapsed() >= QUEUE_WAIT - Duration::from_millis(10));
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(
            status.message().contains("request messages in flight"),
            "{status:?}"
        );
        // Once the budget comes free within the wait, the message passes.
        let (mut body, _held) = metered(vec![frame(1 << 20, b"")], &limits);
        let freed = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(taken);
        });
        assert_eq!(data(&mut body).await.len(), 5);
        freed.await.expect("joined");
    }

    #[tokio::test]
    async fn a_later_message_of_a_stream_waits_for_the_batches_before_it() {
        let limits = limits(64);
        let mut wire = frame(1, b"a");
        wire.extend(frame(1 << 20, b""));
        let (mut body, held) = metered(vec![wire], &limits);
        assert_eq!(data(&mut body).await.len(), 5);
        assert_eq!(data(&mut body).await.len(), 1);
        let first = held.take().expect("the first batch's share");
        let filler = limits
            .clone()
            .request_bytes(MAX_MESSAGE_BYTES - 6, None)
            .await
            .expect("the rest of the budget");
        // The second waits beyond the first's wait, and goes on once the budget comes free.
        let freed = tokio::spawn(async move {
            tokio::time::sleep(QUEUE_WAIT + Duration::from_millis(500)).await;
            drop((first, filler));
        });
        assert_eq!(data(&mut body).await.len(), 5);
        assert!(freed.is_finished());
    }
}
