//! What keeps a busy server answering: bounded admission, deadlines and a bounded drain.
//!
//! - Every procura call takes a slot of `--max-concurrent-calls`; when none is free it waits,
//!   at most [`QUEUE_WAIT`] and behind at most `--max-queued-calls` others, and is otherwise
//!   answered RESOURCE_EXHAUSTED (`OVERLOADED`) with a `google.rpc.RetryInfo`: shed load, not a
//!   timeout and not "database unavailable".
//! - Heavy reads — the calls that read records rather than kept totals: as-of rollups, rollups
//!   with indicators, ExplainFigure, DiffRelease, PublishRollup — take a slot of
//!   `--max-heavy-calls` besides, well below the pool's connections, so that they cannot
//!   starve writes and cheap reads of connections; they queue and shed the same way.
//! - ImportCases streams take a slot of `--max-import-streams` for as long as they are open
//!   (refused RESOURCE_EXHAUSTED beyond it); a stream holds no connection between batches, and
//!   batches are written as many at once, over all streams, as heavy reads.
//! - Request messages hold at most `--max-request-mb` between them, over all calls, from their
//!   first byte until decoded (import batches: until stored); see `api::request_bytes`.
//! - Every call but ImportCases ends by its deadline: the caller's `grpc-timeout`, or
//!   `--call-timeout` when that is sooner or not given; it is then answered DEADLINE_EXCEEDED
//!   and its work is dropped (an interrupted transaction's connection leaves the pool).
//!   An import batch is bounded by `--call-timeout` on its own.
//! - On SIGTERM the server stops taking connections and lets the calls in flight finish for at
//!   most `--shutdown-grace`; then what is still open (an idle import stream, say) is answered
//!   UNAVAILABLE (`SHUTTING_DOWN`), which the CLI resumes from elsewhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tonic::Status;
use tower::{Layer, Service};

use crate::error::ApiError;

/// Longest a call waits for a slot before it is shed.
pub const QUEUE_WAIT: Duration = Duration::from_secs(1);

/// The delay a shed call is told to wait before it retries (`google.rpc.RetryInfo`).
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// The ImportCases method, the one streaming call.
const IMPORT_METHOD: &str = "/procura.v1.CaseService/ImportCases";

/// The package of the calls these limits apply to (health and reflection are never limited).
const PACKAGE: &str = "/procura.v1.";

/// The limits of one server, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Calls served at once (`--max-concurrent-calls`).
    pub max_calls: usize,
    /// Calls waiting for a slot at once (`--max-queued-calls`); more are shed at once.
    pub max_queued: usize,
    /// Heavy reads served at once (`--max-heavy-calls`); `None`: a quarter of the pool.
    pub max_heavy: Option<usize>,
    /// ImportCases streams open at once (`--max-import-streams`).
    pub max_import_streams: usize,
    /// Bytes of request messages held at once, over all calls (`--max-request-mb`).
    pub max_request_bytes: usize,
    /// Longest a call may take when its caller gives no sooner deadline (`--call-timeout`).
    pub call_timeout: Duration,
    /// Longest the calls in flight may finish after SIGTERM (`--shutdown-grace`).
    pub shutdown_grace: Duration,
}

/// Calls served at once by default.
pub const DEFAULT_MAX_CALLS: usize = 256;
/// Calls waiting for a slot at once by default.
pub const DEFAULT_MAX_QUEUED: usize = 256;
/// ImportCases streams open at once by default.
pub const DEFAULT_MAX_IMPORT_STREAMS: usize = 16;
/// Megabytes of request messages held at once by default.
pub const DEFAULT_MAX_REQUEST_MB: usize = 256;
/// Longest a call may take by default, and the default shutdown grace.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            max_calls: DEFAULT_MAX_CALLS,
            max_queued: DEFAULT_MAX_QUEUED,
            max_heavy: None,
            max_import_streams: DEFAULT_MAX_IMPORT_STREAMS,
            max_request_bytes: DEFAULT_MAX_REQUEST_MB << 20,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            shutdown_grace: DEFAULT_CALL_TIMEOUT,
        }
    }
}

/// The flags of these limits (see the README's configuration table).
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Calls served at once; more wait (see --max-queued-calls), then are answered
    /// RESOURCE_EXHAUSTED with a retry delay.
    #[arg(long, env = "PROCURA_MAX_CONCURRENT_CALLS", default_value_t = DEFAULT_MAX_CALLS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_concurrent_calls: usize,
    /// Calls waiting for a slot at once (each at most 1 s); more are answered
    /// RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "PROCURA_MAX_QUEUED_CALLS", default_value_t = DEFAULT_MAX_QUEUED,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=100_000))]
    pub max_queued_calls: usize,
    /// Heavy reads (as-of rollups, indicators, ExplainFigure, DiffRelease, PublishRollup)
    /// served at once; by default a quarter of --pool-size.
    #[arg(long, env = "PROCURA_MAX_HEAVY_CALLS",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub max_heavy_calls: Option<usize>,
    /// ImportCases streams open at once; more are answered RESOURCE_EXHAUSTED.
    #[arg(long, env = "PROCURA_MAX_IMPORT_STREAMS", default_value_t = DEFAULT_MAX_IMPORT_STREAMS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub max_import_streams: usize,
    /// Megabytes of request messages held at once over all calls, from their first byte
    /// until decoded (import batches: until stored); a call's first message beyond it waits
    /// at most 1 s, then the call is answered RESOURCE_EXHAUSTED (a later batch of an import
    /// stream waits behind the stream's own). At least 64, the largest message.
    #[arg(long, env = "PROCURA_MAX_REQUEST_MB", default_value_t = DEFAULT_MAX_REQUEST_MB,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new()
              .range(MAX_MESSAGE_MB as u64..=4095))]
    pub max_request_mb: usize,
    /// Longest a call may take (its caller's grpc-timeout when sooner), and one import batch:
    /// e.g. 30s, 500ms, 2m. Also each database statement's timeout.
    #[arg(long, env = "PROCURA_CALL_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub call_timeout: Duration,
    /// After SIGTERM or SIGINT, longest the calls in flight may finish before what is still
    /// open is answered UNAVAILABLE; a second signal exits at once.
    #[arg(long, env = "PROCURA_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
}

impl LimitArgs {
    /// The settings these flags describe.
    pub fn settings(&self) -> LimitSettings {
        LimitSettings {
            max_calls: self.max_concurrent_calls,
            max_queued: self.max_queued_calls,
            max_heavy: self.max_heavy_calls,
            max_import_streams: self.max_import_streams,
            max_request_bytes: self.max_request_mb << 20,
            call_timeout: self.call_timeout,
            shutdown_grace: self.shutdown_grace,
        }
    }
}

/// A duration written as a number and a unit (`ms`, `s`, `m`, `h`), e.g. `30s`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. 30s, 500ms or 2m"))?;
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` must start with a whole number, e.g. 30s"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(amount),
        "s" => Duration::from_secs(amount),
        "m" => Duration::from_secs(amount.saturating_mul(60)),
        "h" => Duration::from_secs(amount.saturating_mul(3600)),
        _ => return Err(format!("`{text}`: the unit must be ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err(format!("`{text}` must be more than zero"));
    }
    Ok(duration)
}

/// Most megabytes of one request message (an import batch of 10,000 cases with long summaries
/// is tens of MB). Answers are far smaller.
pub const MAX_MESSAGE_MB: usize = 64;

/// Most bytes of one request message.
pub const MAX_MESSAGE_BYTES: usize = MAX_MESSAGE_MB << 20;

/// A pool of slots with a bounded queue in front of it.
#[derive(Debug)]
struct Gate {
    /// What the slots are, for the error (`calls`, `heavy reads`, …).
    what: &'static str,
    slots: Arc<Semaphore>,
    capacity: usize,
    queued: AtomicUsize,
    max_queued: usize,
}

/// Counts a call in the queue while it waits.
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    fn new(what: &'static str, capacity: usize, max_queued: usize) -> Self {
        let capacity = capacity.max(1);
        Gate {
            what,
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// A slot: at once, or after waiting at most `wait` behind fewer than `max_queued`
    /// others; RESOURCE_EXHAUSTED otherwise.
    async fn enter(&self, wait: Duration) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(self.overloaded());
        }
        let _queued = Queued(&self.queued);
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.overloaded()),
        }
    }

    /// A slot if one is free now; RESOURCE_EXHAUSTED otherwise.
    fn try_enter(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.overloaded())
    }

    fn overloaded(&self) -> ApiError {
        ApiError::Overloaded {
            limit: format!("{} {}", self.capacity, self.what),
            retry_delay: RETRY_DELAY,
        }
    }
}

/// The limits of one running server, shared by its services.
#[derive(Debug)]
pub struct Limits {
    calls: Gate,
    heavy: Gate,
    imports: Gate,
    /// Import batches written at once, over all streams.
    import_writes: Arc<Semaphore>,
    /// The request byte budget (`api::request_bytes`).
    request_bytes: Arc<Semaphore>,
    max_request_bytes: usize,
    call_timeout: Duration,
    shutdown_grace: Duration,
    /// Whether the database answered the health check last time it was asked.
    database_answers: AtomicBool,
    /// Becomes true when the shutdown grace is over: what is still open ends UNAVAILABLE.
    expired: watch::Sender<bool>,
}

impl Limits {
    /// The limits of `settings` for a pool of `pool_size` connections.
    pub fn new(settings: &LimitSettings, pool_size: usize) -> Arc<Self> {
        let heavy = settings.max_heavy.unwrap_or_else(|| (pool_size / 4).max(1));
        // Every message fits in the budget, and the budget in the permits of one acquisition.
        let max_request_bytes = settings
            .max_request_bytes
            .clamp(MAX_MESSAGE_BYTES + 5, u32::MAX as usize);
        Arc::new(Limits {
            calls: Gate::new("concurrent calls", settings.max_calls, settings.max_queued),
            heavy: Gate::new("concurrent heavy reads", heavy, heavy.saturating_mul(4)),
            imports: Gate::new("open import streams", settings.max_import_streams, 0),
            import_writes: Arc::new(Semaphore::new(heavy)),
            request_bytes: Arc::new(Semaphore::new(max_request_bytes)),
            max_request_bytes,
            call_timeout: settings.call_timeout,
            shutdown_grace: settings.shutdown_grace,
            database_answers: AtomicBool::new(true),
            expired: watch::channel(false).0,
        })
    }

    /// Limits as configured by default, for a pool of 16.
    pub fn unconfigured() -> Arc<Self> {
        Self::new(&LimitSettings::default(), 16)
    }

    /// A slot for a heavy read (see the module's doc), held until dropped.
    pub async fn heavy(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.heavy.enter(QUEUE_WAIT).await
    }

    /// A turn to write an import batch: as many at once as heavy reads, so that imports, too,
    /// leave most connections to the other calls. Waits for its turn.
    pub async fn import_write(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.import_writes
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal("the import writers were closed".into()))
    }

    /// Longest a call, or one import batch, may take.
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// Longest the calls in flight may finish after a shutdown signal.
    pub fn shutdown_grace(&self) -> Duration {
        self.shutdown_grace
    }

    /// Holds `bytes` of the request byte budget (`--max-request-mb`) until the permit is
    /// dropped, waiting for earlier messages to be done with at most `wait` (without a bound
    /// of its own when `None`); RESOURCE_EXHAUSTED otherwise. `bytes` is at most a message and
    /// its header, which the budget always holds.
    pub fn request_bytes(
        self: Arc<Self>,
        bytes: usize,
        wait: Option<Duration>,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, ApiError>> + Send + 'static {
        let permits = u32::try_from(bytes.clamp(1, self.max_request_bytes)).unwrap_or(u32::MAX);
        async move {
            let budget = self.request_bytes.clone();
            let acquired = match budget.clone().try_acquire_many_owned(permits) {
                Ok(permit) => Ok(permit),
                Err(_) => match wait {
                    Some(wait) => tokio::time::timeout(wait, budget.acquire_many_owned(permits))
                        .await
                        .map_err(drop)
                        .and_then(|acquired| acquired.map_err(drop)),
                    None => budget.acquire_many_owned(permits).await.map_err(drop),
                },
            };
            acquired.map_err(|()| ApiError::Overloaded {
                limit: format!(
                    "{} MB of request messages in flight",
                    self.max_request_bytes >> 20
                ),
                retry_delay: RETRY_DELAY,
            })
        }
    }

    /// Bytes of the request byte budget free now.
    #[cfg(test)]
    pub(crate) fn request_bytes_free(&self) -> usize {
        self.request_bytes.available_permits()
    }

    /// Records whether the database answered its health check.
    pub fn set_database_answers(&self, answers: bool) {
        self.database_answers.store(answers, Ordering::Release);
    }

    /// Whether the database answered its last health check.
    pub fn database_answers(&self) -> bool {
        self.database_answers.load(Ordering::Acquire)
    }

    /// Ends the shutdown grace: every call still open is answered UNAVAILABLE.
    pub fn expire(&self) {
        self.expired.send_replace(true);
    }

    /// Completes when the shutdown grace is over.
    pub fn expired(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut watch = self.expired.subscribe();
        async move {
            // An error means the limits are gone, and the server with them.
            let _ = watch.wait_for(|expired| *expired).await;
        }
    }

    /// The answer to a call still open when the shutdown grace is over.
    pub fn shutting_down() -> ApiError {
        ApiError::ShuttingDown
    }
}

/// The deadline a caller gave in `grpc-timeout` (`<digits><unit>`, units H M S m u n).
pub fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Shortest time between two warnings of shed calls.
const SHED_WARNING_EVERY: Duration = Duration::from_secs(10);

/// Calls shed since the last warning.
static SHED_UNREPORTED: AtomicUsize = AtomicUsize::new(0);
/// When shed calls were last reported at warning level.
static SHED_REPORTED: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// Logs a shed call: each at debug level, and at most once every [`SHED_WARNING_EVERY`] a
/// warning with the number shed since the last one (under overload a warning per call would
/// write tens of thousands of lines a second; the metrics count every one).
pub fn log_shed(limit: &str) {
    tracing::debug!(%limit, "call shed: the server is busy");
    SHED_UNREPORTED.fetch_add(1, Ordering::Relaxed);
    let now = std::time::Instant::now();
    let Ok(mut reported) = SHED_REPORTED.try_lock() else {
        return;
    };
    if reported.is_some_and(|at| now.duration_since(at) < SHED_WARNING_EVERY) {
        return;
    }
    let seconds = reported.map_or(0, |at| now.duration_since(at).as_secs());
    *reported = Some(now);
    let shed = SHED_UNREPORTED.swap(0, Ordering::Relaxed);
    tracing::warn!(
        %limit,
        shed,
        seconds,
        "calls shed: the server is busy (shed: calls since the last such line, seconds ago)"
    );
}

/// Most bytes of a shed call's request read before it is answered.
const SHED_READ_BYTES: usize = 64 << 10;
/// Longest a shed call's request is waited for before it is answered.
const SHED_READ_WAIT: Duration = Duration::from_millis(100);

/// Reads what is left of a request that is answered without it (a shed call's), up to
/// [`SHED_READ_BYTES`] and for at most [`SHED_READ_WAIT`]. The answer then ends a stream the
/// caller has finished sending: HTTP/2 answers an unfinished one by resetting it, and a server
/// that has reset many streams of one connection (h2 allows 1,024) closes the connection,
/// failing every call on it.
async fn take_the_rest<B: http_body::Body + Unpin>(mut body: B) {
    let reading = async {
        let mut read = 0usize;
        while read <= SHED_READ_BYTES {
            let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx));
            match frame.await {
                Some(Ok(frame)) => {
                    read += frame.data_ref().map_or(0, prost::bytes::Buf::remaining);
                }
                Some(Err(_)) | None => return,
            }
        }
    };
    let _ = tokio::time::timeout(SHED_READ_WAIT, reading).await;
}

/// The slot of an open ImportCases stream, put into its request for the handler to hold
/// until the stream ends.
#[derive(Clone)]
pub struct ImportSlot(pub Arc<OwnedSemaphorePermit>);

/// The tower layer of these limits: wraps the router.
#[derive(Clone)]
pub struct LimitLayer {
    limits: Arc<Limits>,
}

impl LimitLayer {
    /// The layer enforcing `limits`.
    pub fn new(limits: Arc<Limits>) -> Self {
        LimitLayer { limits }
    }
}

impl<S> Layer<S> for LimitLayer {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limited {
            inner,
            limits: self.limits.clone(),
        }
    }
}

/// The router behind [`LimitLayer`].
#[derive(Clone)]
pub struct Limited<S> {
    inner: S,
    limits: Arc<Limits>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Limited<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: http_body::Body + Unpin + Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if !path.starts_with(PACKAGE) {
            return Box::pin(self.inner.call(request));
        }
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let limits = self.limits.clone();
        if path == IMPORT_METHOD {
            // A stream holds its slot for as long as it is open; there is no queue.
            return match limits.imports.try_enter() {
                Ok(permit) => {
                    request
                        .extensions_mut()
                        .insert(ImportSlot(Arc::new(permit)));
                    Box::pin(inner.call(request))
                }
                Err(error) => Box::pin(async move { Ok(Status::from(error).into_http()) }),
            };
        }
        let timeout = grpc_timeout(request.headers())
            .map_or(limits.call_timeout, |given| given.min(limits.call_timeout));
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            let expired = limits.expired();
            let served = async {
                let slot = match limits.calls.enter(QUEUE_WAIT.min(timeout)).await {
                    Ok(slot) => slot,
                    Err(shed) => {
                        // Answered only once the request is in, so that the stream ends
                        // as the caller expects rather than reset (a reset for each shed call
                        // would soon make HTTP/2 close the whole connection as abusive).
                        take_the_rest(request.into_body()).await;
                        return Err(shed);
                    }
                };
                let response = inner.call(request).await;
                drop(slot);
                Ok::<_, ApiError>(response)
            };
            let outcome = tokio::select! {
                biased;
                () = expired => Err(ApiError::ShuttingDown),
                outcome = tokio::time::timeout_at(deadline, served) => {
                    outcome.unwrap_or(Err(ApiError::DeadlineExceeded(Some(timeout))))
                }
            };
            match outcome {
                Ok(response) => response,
                Err(error) => Ok(Status::from(error).into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_with_their_unit() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["30", "s", "0s", "3x", "-1s", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grpc_timeouts_are_read_in_every_unit() {
        let read = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-timeout", value.parse().expect("a header value"));
            grpc_timeout(&headers)
        };
        assert_eq!(read("2S"), Some(Duration::from_secs(2)));
        assert_eq!(read("1500m"), Some(Duration::from_millis(1500)));
        assert_eq!(read("3M"), Some(Duration::from_secs(180)));
        assert_eq!(read("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(read("10u"), Some(Duration::from_micros(10)));
        assert_eq!(read("10n"), Some(Duration::from_nanos(10)));
        assert_eq!(read("S"), None);
        assert_eq!(read("10x"), None);
        assert_eq!(read("123456789S"), None);
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_full_gate_queues_a_bounded_number_then_sheds() {
        let gate = Arc::new(Gate::new("calls", 1, 1));
        let held = gate.enter(QUEUE_WAIT).await.expect("a free slot");
        // One waits in the queue; the next is shed at once.
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter(Duration::from_secs(5)).await.map(drop) }
        });
        while gate.queued.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let shed = gate
            .enter(Duration::from_secs(5))
            .await
            .expect_err("queue full");
        assert!(
            matches!(&shed, ApiError::Overloaded { limit, .. } if limit == "1 calls"),
            "{shed:?}"
        );
        drop(held);
        waiting
            .await
            .expect("joined")
            .expect("served once the slot is free");
        // A wait is bounded.
        let _held = gate.enter(QUEUE_WAIT).await.expect("free again");
        let started = std::time::Instant::now();
        assert!(gate.enter(Duration::from_millis(50)).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
