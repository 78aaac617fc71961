//! The gRPC services, one file each: validate the request into a command, call the service,
//! convert, return.

pub mod cases;
pub mod convert;
pub mod decoding;
pub mod pagination;
pub mod regions;
pub mod reports;
pub mod validate;

pub use crate::service::AppState;

/// The request header naming who makes a change, kept in revisions and releases.
pub const ACTOR_HEADER: &str = "procura-actor";

/// Who makes the call: the `procura-actor` header (trimmed, at most 100 characters), or
/// `anonymous`.
pub fn actor<T>(request: &tonic::Request<T>) -> String {
    request
        .metadata()
        .get(ACTOR_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| name.chars().take(100).collect())
        .unwrap_or_else(|| "anonymous".to_owned())
}
