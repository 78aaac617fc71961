//! `procura.v1.RegionService`: the region tree, read-only.

use std::collections::HashMap;

use procura_proto::v1::{self as pb, region_service_server::RegionService};
use tonic::{Request, Response, Status};

use super::{AppState, convert, existing_region, pagination};
use crate::db::regions::{self, Scope};
use crate::domain::region::{Level, NATIONAL, RegionCode};
use crate::error::{ApiError, Violations};

const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

/// Serves the region tree.
pub struct RegionApi {
    state: AppState,
}

impl RegionApi {
    /// A service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl RegionService for RegionApi {
    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_region(
        &self,
        request: Request<pb::GetRegionRequest>,
    ) -> Result<Response<pb::GetRegionResponse>, Status> {
        let request = request.into_inner();
        let code =
            RegionCode::from_name(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        let mut conn = self.state.conn().await?;
        let row = existing_region(&mut conn, &code).await?;
        let children = regions::child_counts(&mut conn, std::slice::from_ref(&row.code))
            .await
            .map_err(ApiError::from)?;
        let count = children.first().map_or(0, |(_, n)| *n);
        Ok(Response::new(pb::GetRegionResponse {
            region: Some(convert::region(row, count)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent, level = request.get_ref().level))]
    async fn list_regions(
        &self,
        request: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        let request = request.into_inner();
        let mut v = Violations::new();
        let parent = if request.parent.is_empty() {
            RegionCode::parse(NATIONAL).ok()
        } else {
            v.check("parent", RegionCode::from_name(&request.parent))
        };
        let level = match request.level {
            0 => Some(None),
            n => v.check(
                "level",
                Level::from_number(n)
                    .map(Some)
                    .ok_or_else(|| format!("{n} is not a region level")),
            ),
        };
        let page_size = v.check(
            "page_size",
            pagination::page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE),
        );
        let print = pagination::fingerprint(&[&request.parent, &request.level.to_string()]);
        let after = v.check(
            "page_token",
            pagination::decode(&request.page_token, &print),
        );
        v.finish()?;
        let (Some(parent), Some(level), Some(page_size), Some(after)) =
            (parent, level, page_size, after)
        else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };

        let mut conn = self.state.conn().await?;
        let parent_row = existing_region(&mut conn, &parent).await?;
        let scope = match level {
            None => Scope::Children(parent.as_str()),
            Some(level) => {
                if level.number() <= parent_row.level {
                    return Err(ApiError::invalid(
                        "level",
                        format!(
                            "{} is not below {} ({}), which is a {} region",
                            level.as_str(),
                            parent.name(),
                            parent_row.name,
                            Level::from_number(i32::from(parent_row.level))
                                .map_or("?", Level::as_str)
                        ),
                    )
                    .into());
                }
                Scope::LevelWithin(parent.as_str(), level.number())
            }
        };
        let rows = regions::list(&mut conn, scope, after.as_deref(), page_size + 1)
            .await
            .map_err(ApiError::from)?;
        let total = regions::count(&mut conn, scope)
            .await
            .map_err(ApiError::from)?;
        let has_more = rows.len() as i64 > page_size;
        let rows: Vec<_> = rows.into_iter().take(page_size as usize).collect();
        let next_page_token = match rows.last() {
            Some(last) if has_more => pagination::encode(&print, &last.code),
            _ => String::new(),
        };
        let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
        let counts: HashMap<String, i64> = regions::child_counts(&mut conn, &codes)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .collect();
        let regions = rows
            .into_iter()
            .map(|row| {
                let count = counts.get(&row.code).copied().unwrap_or(0);
                convert::region(row, count)
            })
            .collect();
        Ok(Response::new(pb::ListRegionsResponse {
            regions,
            next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }
}
