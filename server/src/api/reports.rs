//! `procura.v1.ReportService`: regional rollups with year-on-year change, releases frozen as
//! published, their differences from the live figures, and drill-down to the records. Each
//! handler validates its request ([`validate`]), calls one function of
//! [`service`](crate::service) and converts the answer ([`convert`]).

mod convert;
mod validate;

use procura_proto::v1::{self as pb, report_service_server::ReportService};
use tonic::{Request, Response, Status};

pub use self::convert::{canonical_values, figures};
use super::guard::guard;
use super::{AppState, pagination};
use crate::domain::access::{Permission, Role};
use crate::domain::text::logged;
use crate::error::{ApiError, FieldViolation};
use crate::service::access::Guard;
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

/// The region code of a release's rollup.
fn release_region(release: &pb::Release) -> &str {
    release
        .rollup
        .as_ref()
        .and_then(|r| r.region.strip_prefix("regions/"))
        .unwrap_or_default()
}

/// Whether the caller may read `release`.
fn visible(who: &Guard, release: &pb::Release) -> bool {
    who.caller().may(
        who.regions(),
        Permission::ReportsRead,
        release_region(release),
    )
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    #[tracing::instrument(skip_all, fields(region = ?logged(&request.get_ref().region)))]
    async fn get_rollup(
        &self,
        request: Request<pb::GetRollupRequest>,
    ) -> Result<Response<pb::GetRollupResponse>, Status> {
        let who = guard(&request)?;
        let command = validate::rollup(request.get_ref(), "").map_err(ApiError::InvalidArgument)?;
        let region = command.region.as_str();
        who.allow(Permission::ReportsRead, region, &command.region.name())?;
        if command.as_of.is_some() {
            who.logged_read();
        }
        // As of a past moment, and the pending cases' ages, are read from the records.
        let _heavy = match command.as_of.is_some() || command.indicators {
            true => Some(self.state.limits.heavy().await?),
            false => None,
        };
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
        let who = guard(&request)?;
        let request = request.into_inner();
        let command = validate::publish(&request, who.actor().to_owned())
            .map_err(ApiError::InvalidArgument)?;
        let region = command.rollup.region.clone();
        who.allow(Permission::ReleasesPublish, region.as_str(), &region.name())?;
        let _heavy = self.state.limits.heavy().await?;
        let mut conn = self.state.conn().await?;
        let row = releases::publish(&mut conn, &self.state.regions, command, |rollup| {
            convert::freeze(rollup, &request.qualifiers)
        })
        .await
        .map_err(|e| nested("rollup.", e))?;
        let release = convert::release(row)?;
        // A retry gets its release back; a request id that published another region's
        // release is refused without showing it.
        if release_region(&release) != region.as_str() {
            return Err(ApiError::invalid(
                "request_id",
                "was used by an earlier request for another region's release; send a new one",
            )
            .into());
        }
        Ok(Response::new(pb::PublishRollupResponse {
            release: Some(release),
        }))
    }

    #[tracing::instrument(skip_all, fields(name = ?logged(&request.get_ref().name)))]
    async fn get_release(
        &self,
        request: Request<pb::GetReleaseRequest>,
    ) -> Result<Response<pb::GetReleaseResponse>, Status> {
        let who = guard(&request)?;
        let id = validate::release_name(&request.get_ref().name)
            .map_err(|e| ApiError::invalid("name", e))?;
        // The name a NOT_FOUND gives is the canonical one, never the caller's text.
        let name = &format!("releases/{id}");
        let mut conn = self.state.conn().await?;
        let row = releases::get(&mut conn, id, name)
            .await
            .map_err(|e| who.hide(Permission::ReportsRead, e))?;
        let release = convert::release(row)?;
        who.allow_record(Permission::ReportsRead, release_region(&release), name)?;
        Ok(Response::new(pb::GetReleaseResponse {
            release: Some(release),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_releases(
        &self,
        request: Request<pb::ListReleasesRequest>,
    ) -> Result<Response<pb::ListReleasesResponse>, Status> {
        let who = guard(&request)?;
        let print = pagination::fingerprint(&["releases"]);
        let (page_size, before) = validate::list_releases(request.get_ref(), &print)
            .map_err(ApiError::InvalidArgument)?;
        let mut conn = self.state.conn().await?;
        let (rows, more) = releases::list(&mut conn, before, page_size).await?;
        let next_page_token = match rows.last() {
            Some(last) if more => pagination::encode(&print, &last.id.to_string()),
            _ => String::new(),
        };
        // Narrowed to the caller's scope: a page may hold fewer releases than asked for.
        let releases: Vec<pb::Release> = rows
            .into_iter()
            .map(convert::release)
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::ListReleasesResponse {
            releases: releases.into_iter().filter(|r| visible(&who, r)).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(name = ?logged(&request.get_ref().name)))]
    async fn diff_release(
        &self,
        request: Request<pb::DiffReleaseRequest>,
    ) -> Result<Response<pb::DiffReleaseResponse>, Status> {
        let who = guard(&request)?;
        let id = validate::release_name(&request.get_ref().name)
            .map_err(|e| ApiError::invalid("name", e))?;
        let name = &format!("releases/{id}");
        let _heavy = self.state.limits.heavy().await?;
        let mut conn = self.state.conn().await?;
        let region = std::sync::Mutex::new(String::new());
        let read = |row: &crate::db::models::ReleaseRow| {
            let released = convert::released(row)?;
            who.allow_record(Permission::ReportsRead, released.region.as_str(), name)?;
            if let Ok(mut slot) = region.lock() {
                *slot = released.region.as_str().to_owned();
            }
            Ok(released)
        };
        let diff = releases::diff(&mut conn, &self.state.regions, id, name, read)
            .await
            .map_err(|e| who.hide(Permission::ReportsRead, e))?;
        who.logged_read();
        let mut answer = convert::diff(diff);
        // The revisions behind each figure are an auditor's to read: a viewer gets the cases
        // and how much each moved the figure, not who changed them, why or how.
        let region = region.into_inner().unwrap_or_default();
        if !who.holds(Role::Auditor, &region) {
            for change in &mut answer.changes {
                for record in &mut change.records {
                    record.revisions.clear();
                }
            }
        }
        Ok(Response::new(answer))
    }

    #[tracing::instrument(skip_all, fields(region = ?logged(&request.get_ref().region), metric = ?logged(&request.get_ref().metric)))]
    async fn explain_figure(
        &self,
        request: Request<pb::ExplainFigureRequest>,
    ) -> Result<Response<pb::ExplainFigureResponse>, Status> {
        let who = guard(&request)?;
        let print = validate::explain_fingerprint(request.get_ref());
        let command =
            validate::explain(request.get_ref(), &print).map_err(ApiError::InvalidArgument)?;
        let region = &command.rollup.region;
        who.allow(Permission::ReportsRead, region.as_str(), &region.name())?;
        who.logged_read();
        let _heavy = self.state.limits.heavy().await?;
        let mut conn = self.state.conn().await?;
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
