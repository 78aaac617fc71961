//! The gRPC services, one file each: validate the request, call the store, convert, return.

pub mod cases;
pub mod convert;
pub mod loader;
pub mod pagination;
pub mod regions;
pub mod reports;
pub mod validate;

use crate::db::{Pool, PooledConnection};
use crate::domain::region::RegionCode;
use crate::error::ApiError;

/// What every service holds: the database pool and the region tree.
#[derive(Clone)]
pub struct AppState {
    /// Pooled PostgreSQL connections.
    pub pool: Pool,
    /// The region tree, loaded at start-up (the tree is fixed data).
    pub regions: std::sync::Arc<crate::domain::region::RegionTree>,
}

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

impl AppState {
    /// A state over `pool`, loading the region tree's codes.
    pub async fn load(pool: Pool) -> Result<Self, ApiError> {
        let mut conn = pool.get().await?;
        let rows = crate::db::regions::all(&mut conn).await?;
        let tree = crate::domain::region::RegionTree::new(
            rows.into_iter()
                .map(|r| (r.code, r.parent_code, r.level, r.name)),
        );
        Ok(Self {
            pool,
            regions: std::sync::Arc::new(tree),
        })
    }

    /// Whether `code` is in the region tree.
    pub fn region_exists(&self, code: &str) -> bool {
        self.regions.get(code).is_some()
    }

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
