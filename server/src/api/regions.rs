//! `procura.v1.RegionService`: the region tree, read-only.

use procura_proto::v1::{self as pb, region_service_server::RegionService};
use tonic::{Request, Response, Status};

use super::{AppState, convert, pagination, validate};
use crate::domain::region::{Level, NATIONAL, RegionCode};
use crate::domain::text::logged;
use crate::error::{AllChecked, ApiError, Checked, field};
use crate::service::regions::{self as service, RegionListing};

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

/// The listing a request asks for, and the fingerprint its page tokens carry.
fn listing(request: &pb::ListRegionsRequest) -> Checked<(RegionListing, String)> {
    let parent = if request.parent.is_empty() {
        RegionCode::parse(NATIONAL)
    } else {
        RegionCode::from_name(&request.parent)
    };
    let level = match request.level {
        0 => Ok(None),
        n => Level::from_number(n)
            .map(Some)
            .ok_or_else(|| format!("{n} is not a region level")),
    };
    let print = pagination::fingerprint(&[&request.parent, &request.level.to_string()]);
    let (parent, level, page_size, after) = (
        field("parent", parent),
        field("level", level),
        field(
            "page_size",
            pagination::page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE),
        ),
        field(
            "page_token",
            pagination::decode(&request.page_token, &print),
        ),
    )
        .all()?;
    let listing = RegionListing {
        parent,
        level,
        page_size,
        after,
    };
    Ok((listing, print))
}

#[tonic::async_trait]
impl RegionService for RegionApi {
    #[tracing::instrument(skip_all, fields(name = ?logged(&request.get_ref().name)))]
    async fn get_region(
        &self,
        request: Request<pb::GetRegionRequest>,
    ) -> Result<Response<pb::GetRegionResponse>, Status> {
        let request = request.into_inner();
        let code =
            RegionCode::from_name(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        let entry = service::get(&self.state, &code).await?;
        Ok(Response::new(pb::GetRegionResponse {
            region: Some(convert::region(entry.row, entry.child_count)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = ?logged(&request.get_ref().parent), level = request.get_ref().level))]
    async fn list_regions(
        &self,
        request: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        let (listing, print) = validate::finish(listing(request.get_ref()))?;
        let page = service::list(&self.state, listing).await?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: page
                .regions
                .into_iter()
                .map(|entry| convert::region(entry.row, entry.child_count))
                .collect(),
            next_page_token: page
                .next_after
                .map(|code| pagination::encode(&print, &code))
                .unwrap_or_default(),
            total_size: i32::try_from(page.total).unwrap_or(i32::MAX),
        }))
    }
}
