//! What every call leaves for the operator (README, "Operating"), from the outermost tower
//! layer: a request id, a tracing span that every log line of the call carries, one summary
//! line when the call ends, and the gRPC RED metrics of [`crate::metrics`].
//!
//! - The request id is the caller's `x-request-id` metadata when it is short and printable,
//!   a new UUID otherwise; it goes back in the response's `x-request-id` metadata.
//! - The span `call` holds `method`, `request_id` and, once the access layer
//!   ([`super::guard`]) has authenticated the caller, `principal`.
//! - A call's status is in the response headers when it fails before answering (a
//!   trailers-only response) and in the trailers at the end of the body otherwise, so the
//!   body is wrapped to see them; a call whose body is dropped before its status (the client
//!   went away) ends CANCELLED.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::HeaderValue;
use http_body::{Body, Frame, SizeHint};
use prost::Message;
use tonic::Code;
use tower::{Layer, Service};
use tracing::Instrument;

use super::guard::code_name;
use crate::metrics::{HANDLED, HANDLING_SECONDS, STARTED};

/// The metadata key of the request id, in requests and responses.
pub const REQUEST_ID: &str = "x-request-id";

/// Longest request id taken from a caller.
pub const MAX_REQUEST_ID: usize = 128;

/// The package whose calls are logged at info; health and reflection calls at debug.
const PACKAGE: &str = "/procura.v1.";

/// A method the server serves, named as the metrics label it.
#[derive(Debug)]
struct Method {
    /// The full path, `/procura.v1.CaseService/GetCase`.
    path: String,
    /// `procura.v1.CaseService`.
    service: String,
    /// `GetCase`.
    method: String,
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    kind: &'static str,
}

/// What a path names that the server does not serve: one label set for all of them, so that
/// a caller cannot make up metrics.
static UNKNOWN: Method = Method {
    path: String::new(),
    service: String::new(),
    method: String::new(),
    kind: "unknown",
};

/// Every method of the served services (procura.v1, health, reflection), by path, from their
/// descriptors.
fn methods() -> &'static HashMap<String, Method> {
    static METHODS: OnceLock<HashMap<String, Method>> = OnceLock::new();
    METHODS.get_or_init(|| {
        let sets = [
            procura_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ];
        let mut methods = HashMap::new();
        for bytes in sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
                continue;
            };
            for file in &set.file {
                for service in &file.service {
                    let service_name = format!("{}.{}", file.package(), service.name());
                    for method in &service.method {
                        let path = format!("/{service_name}/{}", method.name());
                        let kind = match (method.client_streaming(), method.server_streaming()) {
                            (false, false) => "unary",
                            (true, false) => "client_stream",
                            (false, true) => "server_stream",
                            (true, true) => "bidi_stream",
                        };
                        methods.insert(
                            path.clone(),
                            Method {
                                path,
                                service: service_name.clone(),
                                method: method.name().to_owned(),
                                kind,
                            },
                        );
                    }
                }
            }
        }
        methods
    })
}

fn method_of(path: &str) -> &'static Method {
    methods().get(path).unwrap_or(&UNKNOWN)
}

impl Method {
    /// The method as logged: its path, or `(unknown method)`.
    fn logged(&'static self) -> &'static str {
        if self.path.is_empty() {
            "(unknown method)"
        } else {
            &self.path
        }
    }

    /// `(grpc_service, grpc_method)`, `unknown` for a path the server does not serve.
    fn labels(&'static self) -> (&'static str, &'static str) {
        if self.path.is_empty() {
            ("unknown", "unknown")
        } else {
            (&self.service, &self.method)
        }
    }
}

/// The caller's request id when it is 1 to [`MAX_REQUEST_ID`] printable ASCII characters
/// without spaces; a new UUID otherwise.
pub fn request_id(headers: &http::HeaderMap) -> HeaderValue {
    headers
        .get(REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            (1..=MAX_REQUEST_ID).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic)
        })
        .cloned()
        .unwrap_or_else(|| {
            // A version 4 UUID from the thread's generator: no system call per call.
            let made = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            HeaderValue::from_str(&made.to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("(none)"))
        })
}

/// The layer; outermost, so that it sees every answer, refusals of the access layer included.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallsLayer;

/// The layer of every call's request id, span, summary line and metrics.
pub fn layer() -> CallsLayer {
    CallsLayer
}

impl<S> Layer<S> for CallsLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Calls { inner }
    }
}

/// The router behind [`CallsLayer`].
#[derive(Debug, Clone)]
pub struct Calls<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Calls<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Body + Unpin,
{
    type Response = http::Response<CallBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(request.uri().path());
        let request_id = request_id(request.headers());
        let span = tracing::info_span!(
            "call",
            method = method.logged(),
            request_id = request_id.to_str().unwrap_or_default(),
            principal = tracing::field::Empty,
        );
        let (service, name) = method.labels();
        ::metrics::counter!(
            STARTED,
            "grpc_type" => method.kind,
            "grpc_service" => service,
            "grpc_method" => name
        )
        .increment(1);
        let mut call = Call {
            method,
            span: span.clone(),
            started: Instant::now(),
            finished: false,
        };
        let answer = span.in_scope(|| self.inner.call(request));
        Box::pin(
            async move {
                let result = answer.await;
                let mut response = match result {
                    Ok(response) => response,
                    Err(error) => {
                        call.finish(Code::Unknown);
                        return Err(error);
                    }
                };
                response.headers_mut().insert(REQUEST_ID, request_id);
                // A trailers-only answer: the call is over.
                if let Some(code) = response.headers().get("grpc-status") {
                    call.finish(Code::from_bytes(code.as_bytes()));
                }
                Ok(response.map(|body| CallBody {
                    inner: body,
                    call: (!call.finished).then_some(call),
                }))
            }
            .instrument(span),
        )
    }
}

/// A call in progress: finished once, with its status code, by its summary line and metrics;
/// CANCELLED if dropped before.
struct Call {
    method: &'static Method,
    span: tracing::Span,
    started: Instant,
    finished: bool,
}

impl Call {
    fn finish(&mut self, code: Code) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let elapsed = self.started.elapsed();
        let (service, name) = self.method.labels();
        ::metrics::counter!(
            HANDLED,
            "grpc_type" => self.method.kind,
            "grpc_service" => service,
            "grpc_method" => name,
            "grpc_code" => code_name(code)
        )
        .increment(1);
        ::metrics::histogram!(
            HANDLING_SECONDS,
            "grpc_type" => self.method.kind,
            "grpc_service" => service,
            "grpc_method" => name
        )
        .record(elapsed.as_secs_f64());
        let _entered = self.span.enter();
        let code = code_name(code);
        // Microseconds as milliseconds: 0.412.
        let duration_ms = elapsed.as_micros() as f64 / 1000.0;
        if self.method.path.starts_with(PACKAGE) {
            tracing::info!(code, duration_ms, "call finished");
        } else {
            tracing::debug!(code, duration_ms, "call finished");
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.finish(Code::Cancelled);
    }
}

/// A response body that finishes its call when the trailers with its status go out.
pub struct CallBody<B> {
    inner: B,
    /// The call, until it is finished.
    call: Option<Call>,
}

impl<B: Body + Unpin> Body for CallBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Some(call) = this.call.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        let code = trailers
                            .get("grpc-status")
                            .map_or(Code::Unknown, |code| Code::from_bytes(code.as_bytes()));
                        call.finish(code);
                    }
                }
                // The body broke off, or ended without a status.
                Poll::Ready(Some(Err(_)) | None) => call.finish(Code::Unknown),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(value: &[u8]) -> HeaderValue {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            REQUEST_ID,
            HeaderValue::from_bytes(value).expect("a header value"),
        );
        request_id(&headers)
    }

    #[test]
    fn a_short_printable_request_id_is_kept_and_others_are_replaced() {
        assert_eq!(given(b"test-123"), "test-123");
        let longest = "a".repeat(MAX_REQUEST_ID);
        assert_eq!(given(longest.as_bytes()), longest.as_str());
        for refused in [
            "a".repeat(MAX_REQUEST_ID + 1).into_bytes(),
            b"with space".to_vec(),
            b"tab\there".to_vec(),
            "中文".as_bytes().to_vec(),
        ] {
            let id = given(&refused);
            assert_ne!(id.as_bytes(), refused.as_slice());
            let made = uuid::Uuid::parse_str(id.to_str().expect("ASCII")).expect("a UUID");
            assert_eq!(made.get_version_num(), 4, "{id:?} is a new UUID");
        }
        let made = request_id(&http::HeaderMap::new());
        assert!(uuid::Uuid::parse_str(made.to_str().expect("ASCII")).is_ok());
    }

    #[test]
    fn methods_are_known_with_their_kind() {
        let import = method_of("/procura.v1.CaseService/ImportCases");
        assert_eq!(
            (import.service.as_str(), import.method.as_str(), import.kind),
            ("procura.v1.CaseService", "ImportCases", "bidi_stream")
        );
        assert_eq!(
            method_of("/procura.v1.RegionService/GetRegion").kind,
            "unary"
        );
        assert_eq!(
            method_of("/grpc.health.v1.Health/Watch").kind,
            "server_stream"
        );
        assert_eq!(
            method_of("/procura.v1.Nothing/Made_up").labels(),
            ("unknown", "unknown")
        );
    }
}
