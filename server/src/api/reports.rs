//! `procura.v1.ReportService`: regional rollups with year-on-year change, releases frozen as
//! published, their differences from the live figures, and drill-down to the records. Each
//! handler validates its request ([`validate`]), calls one function of
//! [`service`](crate::service) and converts the answer ([`convert`]).

mod convert;
mod validate;

use procura_proto::v1::{self as pb, report_service_server::ReportService};
use tonic::{Request, Response, Status};

pub use self::convert::{canonical_values, figures};
use super::{AppState, actor, pagination};
use crate::domain::text::logged;
use crate::error::{ApiError, FieldViolation};
use crate::service::{explanations, releases, rollups};

/// Serves rollups, releases and drill-downs.
pub struct ReportApi {
    state: AppState,
}

impl ReportApi {
    /// A service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// `error` with the fields it names put under `prefix` (the rollup of a PublishRollup).
fn nested(prefix: &str, error: ApiError) -> ApiError {
    match error {
        ApiError::InvalidArgument(violations) => ApiError::InvalidArgument(
            violations
                .into_iter()
                .map(|v| FieldViolation {
                    field: format!("{prefix}{}", v.field),
                    description: v.description,
                })
                .collect(),
        ),
        other => other,
    }
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    #[tracing::instrument(skip_all, fields(region = ?logged(&request.get_ref().region)))]
    async fn get_rollup(
        &self,
        request: Request<pb::GetRollupRequest>,
    ) -> Result<Response<pb::GetRollupResponse>, Status> {
        let command = validate::rollup(request.get_ref(), "").map_err(ApiError::InvalidArgument)?;
        let mut conn = self.state.conn().await?;
        let rollup = rollups::get(&mut conn, &self.state.regions, &command).await?;
        Ok(Response::new(pb::GetRollupResponse {
            rollup: Some(convert::rollup(&rollup)),
        }))
    }

    #[tracing::instrument(skip_all, fields(title = ?logged(&request.get_ref().title)))]
    async fn publish_rollup(
        &self,
        request: Request<pb::PublishRollupRequest>,
    ) -> Result<Response<pb::PublishRollupResponse>, Status> {
        let publisher = actor(&request);
        let request = request.into_inner();
        let command = validate::publish(&request, publisher).map_err(ApiError::InvalidArgument)?;
        let mut conn = self.state.conn().await?;
        let row = releases::publish(&mut conn, &self.state.regions, command, |rollup| {
            convert::freeze(rollup, &request.qualifiers)
        })
        .await
        .map_err(|e| nested("rollup.", e))?;
        Ok(Response::new(pb::PublishRollupResponse {
            release: Some(convert::release(row)?),
        }))
    }

    #[tracing::instrument(skip_all, fields(name = ?logged(&request.get_ref().name)))]
    async fn get_release(
        &self,
        request: Request<pb::GetReleaseRequest>,
    ) -> Result<Response<pb::GetReleaseResponse>, Status> {
        let id = validate::release_name(&request.get_ref().name)
            .map_err(|e| ApiError::invalid("name", e))?;
        // The name a NOT_FOUND gives is the canonical one, never the caller's text.
        let name = &format!("releases/{id}");
        let mut conn = self.state.conn().await?;
        let row = releases::get(&mut conn, id, name).await?;
        Ok(Response::new(pb::GetReleaseResponse {
            release: Some(convert::release(row)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_releases(
        &self,
        request: Request<pb::ListReleasesRequest>,
    ) -> Result<Response<pb::ListReleasesResponse>, Status> {
        let print = pagination::fingerprint(&["releases"]);
        let (page_size, before) = validate::list_releases(request.get_ref(), &print)
            .map_err(ApiError::InvalidArgument)?;
        let mut conn = self.state.conn().await?;
        let (rows, more) = releases::list(&mut conn, before, page_size).await?;
        let next_page_token = match rows.last() {
            Some(last) if more => pagination::encode(&print, &last.id.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListReleasesResponse {
            releases: rows
                .into_iter()
                .map(convert::release)
                .collect::<Result<_, _>>()?,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(name = ?logged(&request.get_ref().name)))]
    async fn diff_release(
        &self,
        request: Request<pb::DiffReleaseRequest>,
    ) -> Result<Response<pb::DiffReleaseResponse>, Status> {
        let id = validate::release_name(&request.get_ref().name)
            .map_err(|e| ApiError::invalid("name", e))?;
        let name = &format!("releases/{id}");
        let mut conn = self.state.conn().await?;
        let diff =
            releases::diff(&mut conn, &self.state.regions, id, name, convert::released).await?;
        Ok(Response::new(convert::diff(diff)))
    }

    #[tracing::instrument(skip_all, fields(region = ?logged(&request.get_ref().region), metric = ?logged(&request.get_ref().metric)))]
    async fn explain_figure(
        &self,
        request: Request<pb::ExplainFigureRequest>,
    ) -> Result<Response<pb::ExplainFigureResponse>, Status> {
        let mut conn = self.state.conn().await?;
        let print = validate::explain_fingerprint(request.get_ref());
        let command =
            validate::explain(request.get_ref(), &print).map_err(ApiError::InvalidArgument)?;
        let explanation = explanations::explain(&mut conn, &self.state.regions, &command).await?;
        let next_page_token = match explanation.cases.last() {
            Some(last) if explanation.more => pagination::encode(&print, &last.case_id.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(convert::explanation(
            explanation,
            next_page_token,
        )))
    }
}
