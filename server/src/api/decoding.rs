//! A request that cannot be decoded is the caller's error: INVALID_ARGUMENT, not INTERNAL.
//!
//! tonic decodes each request message with prost before a handler sees it. When the bytes are
//! not a message of the method's request type (garbage, a truncated field, a string field that
//! is not UTF-8), it answers INTERNAL with prost's error, `failed to decode Protobuf message:
//! …` (`tonic_prost::codec::from_decode_error`, which applies grpc's code for an unparsable
//! *response* to requests too). procura answers such a request as any other bad input:
//! INVALID_ARGUMENT, `the request could not be decoded: …`, with an ErrorInfo of reason
//! `UNDECODABLE_REQUEST` and, when prost names the field it failed on, a BadRequest naming it
//! by its path in the request (e.g. `case.case_number`).
//!
//! - Unary methods: tonic decodes the request before calling the handler and, on failure,
//!   answers at once with a trailers-only response (the status in its headers). [`layer`]
//!   rewrites the status of such an answer.
//! - Streaming requests (ImportCases): messages are decoded as the handler reads them; the
//!   handler answers the error it reads through [`undecodable`].
//!
//! Only prost's decode errors are rewritten; every other status passes unchanged.

use std::collections::HashMap;
use std::task::{Context, Poll};

use futures::TryFutureExt;
use futures::future::MapOk;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::ERROR_DOMAIN;

/// How prost's `DecodeError` starts, as tonic puts it into the status message.
const PROST_PREFIX: &str = "failed to decode Protobuf message: ";

/// The ErrorInfo reason of an undecodable request.
pub const UNDECODABLE_REASON: &str = "UNDECODABLE_REQUEST";

/// `status` as answered to the caller: INVALID_ARGUMENT when it is tonic's error for a request
/// that cannot be decoded, `status` itself otherwise.
pub fn undecodable(status: Status) -> Status {
    if status.code() != Code::Internal {
        return status;
    }
    let Some(error) = status.message().strip_prefix(PROST_PREFIX) else {
        return status;
    };
    let (path, description) = field_path(error);
    let mut details =
        ErrorDetails::with_error_info(UNDECODABLE_REASON, ERROR_DOMAIN, HashMap::new());
    if let Some(path) = path {
        details.add_bad_request_violation(path, format!("could not be decoded: {description}"));
    }
    Status::with_error_details(
        Code::InvalidArgument,
        format!("the request could not be decoded: {error}"),
        details,
    )
}

/// The field path in the request of the field prost failed on, if it names one, and what went
/// wrong. prost writes the fields innermost first, `Message.field: ` each:
/// `Case.case_number: CreateCaseRequest.case: invalid string value: …` is `case.case_number`.
fn field_path(error: &str) -> (Option<String>, &str) {
    let mut fields = Vec::new();
    let mut rest = error;
    while let Some((segment, after)) = rest.split_once(": ") {
        match segment.split_once('.') {
            Some((message, field)) if is_identifier(message) && is_identifier(field) => {
                fields.push(field);
                rest = after;
            }
            _ => break,
        }
    }
    if fields.is_empty() {
        return (None, rest);
    }
    fields.reverse();
    (Some(fields.join(".")), rest)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Rewrites a trailers-only answer carrying tonic's decode error (see the module's doc).
fn rewrite_headers(headers: &mut http::HeaderMap) {
    const STATUS: &str = "grpc-status";
    const MESSAGE: &str = "grpc-message";
    const DETAILS: &str = "grpc-status-details-bin";
    // An answer with a body has its status in the trailers: a decode failure of a unary request
    // never has one. tonic's decode errors carry no details (and `from_header_map` insists that
    // details be valid base64).
    if headers
        .get(STATUS)
        .is_none_or(|code| code.as_bytes() != b"13")
        || headers.contains_key(DETAILS)
    {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    let answer = undecodable(status);
    if answer.code() == Code::Internal {
        return;
    }
    let mut rewritten = headers.clone();
    for name in [STATUS, MESSAGE, DETAILS] {
        rewritten.remove(name);
    }
    if answer.add_header(&mut rewritten).is_ok() {
        *headers = rewritten;
    }
}

fn rewrite<B>(mut response: http::Response<B>) -> http::Response<B> {
    rewrite_headers(response.headers_mut());
    response
}

/// The tower layer that answers undecodable unary requests INVALID_ARGUMENT.
pub fn layer() -> UndecodableLayer {
    UndecodableLayer
}

/// See [`layer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UndecodableLayer;

impl<S> tower::Layer<S> for UndecodableLayer {
    type Service = Undecodable<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Undecodable(inner)
    }
}

/// The service of [`UndecodableLayer`]: `S` with undecodable requests answered
/// INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct Undecodable<S>(S);

impl<S, R, B> tower::Service<R> for Undecodable<S>
where
    S: tower::Service<R, Response = http::Response<B>>,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = MapOk<S::Future, fn(http::Response<B>) -> http::Response<B>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.0.call(request).map_ok(rewrite::<B> as fn(_) -> _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prost_errors_name_the_field_path() {
        assert_eq!(
            field_path(
                "Case.case_number: CreateCaseRequest.case: invalid string value: data is not \
                 UTF-8 encoded"
            ),
            (
                Some("case.case_number".to_owned()),
                "invalid string value: data is not UTF-8 encoded"
            )
        );
        assert_eq!(
            field_path("invalid wire type value: 7"),
            (None, "invalid wire type value: 7")
        );
    }

    #[test]
    fn only_decode_errors_are_rewritten() {
        let status = undecodable(Status::internal(
            "failed to decode Protobuf message: GetCaseRequest.name: invalid string value: data \
             is not UTF-8 encoded",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("the request could not be decoded: GetCaseRequest.name: ")
        );
        let details = status.get_error_details();
        assert_eq!(
            details.error_info().map(|i| i.reason.as_str()),
            Some(UNDECODABLE_REASON)
        );
        let fields: Vec<&str> = details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| v.field.as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(fields, ["name"]);
        assert_eq!(
            undecodable(Status::internal("internal error")).code(),
            Code::Internal
        );
        assert_eq!(
            undecodable(Status::unavailable(PROST_PREFIX)).code(),
            Code::Unavailable
        );
    }

    #[test]
    fn a_trailers_only_decode_error_becomes_invalid_argument() {
        let mut headers = http::HeaderMap::new();
        Status::internal("failed to decode Protobuf message: invalid wire type value: 7")
            .add_header(&mut headers)
            .expect("headers");
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/grpc"),
        );
        rewrite_headers(&mut headers);
        let status = Status::from_header_map(&headers).expect("a status");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "the request could not be decoded: invalid wire type value: 7"
        );
        assert!(headers.contains_key("content-type"));
    }
}
