//! The gRPC services, one file each: validate the request into a command, call the service,
//! convert, return.

pub mod access;
pub mod calls;
pub mod cases;
pub mod convert;
pub mod decoding;
pub mod guard;
pub mod limits;
pub mod pagination;
pub mod regions;
pub mod reports;
pub mod request_bytes;
pub mod validate;

pub use crate::service::AppState;
