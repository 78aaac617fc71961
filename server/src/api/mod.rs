//! The gRPC services, one file each: validate the request, call the store, convert, return.

pub mod cases;
pub mod convert;
pub mod pagination;
pub mod regions;
pub mod reports;
pub mod validate;

use crate::db::{Pool, PooledConnection};
use crate::domain::region::RegionCode;
use crate::error::ApiError;

/// What every service holds: the database pool.
#[derive(Clone)]
pub struct AppState {
    /// Pooled PostgreSQL connections.
    pub pool: Pool,
}

impl AppState {
    /// A connection from the pool, or UNAVAILABLE.
    pub async fn conn(&self) -> Result<PooledConnection, ApiError> {
        Ok(self.pool.get().await?)
    }
}

/// The region a request names, which must exist: NOT_FOUND otherwise.
pub async fn existing_region(
    conn: &mut diesel_async::AsyncPgConnection,
    code: &RegionCode,
) -> Result<crate::db::models::RegionRow, ApiError> {
    crate::db::regions::find(conn, code.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound {
            reason: "REGION_NOT_FOUND",
            resource: code.name(),
        })
}
