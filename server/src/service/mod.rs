//! The work behind each request: transactions, the kept totals and answers. Functions here take
//! typed commands and domain values and return domain values or rows as stored (ids, times and
//! versions included) for the api layer to convert; never protocol messages.

pub mod access;
pub mod answers;
pub mod audit;
pub mod cases;
pub mod explanations;
pub mod regions;
pub mod releases;
pub mod rollups;

use std::sync::Arc;

use crate::api::limits::Limits;
use crate::db::{Pool, PooledConnection};
use crate::domain::region::{RegionCode, RegionTree};
use crate::error::ApiError;

/// What every service holds: the database pool and the region tree.
#[derive(Clone)]
pub struct AppState {
    /// Pooled PostgreSQL connections.
    pub pool: Pool,
    /// The region tree, loaded at start-up (the tree is fixed data).
    pub regions: Arc<RegionTree>,
    /// How a case's kept GetCase answer is encoded (given by the api layer).
    pub encode_answer: answers::Encoder,
    /// The server's limits: heavy reads, import bytes, whether the database answers.
    pub limits: Arc<Limits>,
}

impl AppState {
    /// A state over `pool`, loading the region tree's codes; writes keep GetCase answers
    /// encoded by `encode_answer`.
    pub async fn load(pool: Pool, encode_answer: answers::Encoder) -> Result<Self, ApiError> {
        let mut conn = pool.get().await?;
        let rows = crate::db::regions::all(&mut conn).await?;
        let tree = RegionTree::new(
            rows.into_iter()
                .map(|r| (r.code, r.parent_code, r.level, r.name)),
        );
        Ok(Self {
            pool,
            regions: Arc::new(tree),
            encode_answer,
            limits: Limits::unconfigured(),
        })
    }

    /// This state under `limits`.
    pub fn with_limits(self, limits: Arc<Limits>) -> Self {
        Self { limits, ..self }
    }

    /// Whether `code` is in the region tree.
    pub fn region_exists(&self, code: &RegionCode) -> bool {
        self.regions.get(code.as_str()).is_some()
    }

    /// A connection from the pool: RESOURCE_EXHAUSTED when every one stayed in use while the
    /// database answers, UNAVAILABLE when it does not.
    pub async fn conn(&self) -> Result<PooledConnection, ApiError> {
        match self.pool.get().await {
            Ok(conn) => Ok(conn),
            Err(error) => match ApiError::from(error) {
                ApiError::Overloaded { retry_delay, .. } if self.limits.database_answers() => {
                    Err(ApiError::Overloaded {
                        limit: format!(
                            "all {} database connections in use",
                            self.pool.status().max_size
                        ),
                        retry_delay,
                    })
                }
                ApiError::Overloaded { .. } => Err(ApiError::Unavailable(
                    "no database connection came free, and the database does not answer".to_owned(),
                )),
                other => Err(other),
            },
        }
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
