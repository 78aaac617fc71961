//! `procura.v1.CaseService`: cases and the measures, resolutions and aid grants under them.

use std::pin::Pin;

use futures::Stream;
use procura_proto::v1::{self as pb, case_service_server::CaseService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::field::debug;

use super::guard::guard;
use super::pagination::{self, CasePosition};
use super::{AppState, convert, validate};
use crate::domain::access::Permission;
use crate::domain::names;
use crate::domain::text::logged;
use crate::error::{AllChecked, ApiError, field};
use crate::service::answers;
use crate::service::cases::{self as service, case_not_found};

mod import;
mod requests;

pub use self::import::MAX_IMPORT_BATCH;
pub use self::requests::{CASE_UPDATABLE, MEASURE_UPDATABLE};
use self::requests::{case_listing, case_update, measure_update, new_case, new_record};

/// The regions a listing is narrowed to: `None` when the caller may use `permission` on the
/// whole of what the listing asks for (the region it names, or the whole country), else the
/// tops of the caller's scope. A listing naming a region outside the scope is refused.
pub fn scope_of(
    who: &crate::service::access::Guard,
    permission: Permission,
    region: Option<&crate::domain::region::RegionCode>,
) -> Result<Option<Vec<crate::domain::region::RegionCode>>, ApiError> {
    let asked = region.map_or(crate::domain::region::NATIONAL, |r| r.as_str());
    if who.caller().may(who.regions(), permission, asked) {
        return Ok(None);
    }
    if region.is_some() {
        return Err(who.denied(permission, asked));
    }
    let role = permission
        .role()
        .ok_or_else(|| ApiError::Internal("a listing without a role".into()))?;
    Ok(Some(who.scopes(role)))
}

/// Serves the case records.
pub struct CaseApi {
    state: AppState,
    answers: answers::Reader<pb::Case>,
}

impl CaseApi {
    /// A service over `state`; starts the batching of case reads on `readers` (needs a tokio
    /// runtime).
    pub fn new(state: AppState, readers: crate::db::Pool) -> Self {
        let answers = answers::Reader::start(readers, convert::case_answers());
        Self { state, answers }
    }
}

#[tonic::async_trait]
impl CaseService for CaseApi {
    #[tracing::instrument(skip_all, fields(region, case_number))]
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let Some(case) = request.case else {
            return Err(ApiError::invalid("case", "is required").into());
        };
        tracing::Span::current()
            .record("region", debug(logged(&case.region)))
            .record("case_number", debug(logged(&case.case_number)));
        let command = validate::finish(new_case(&self.state, &case, "case", &request.request_id))?;
        let case = convert::case(service::create_case(&self.state, command, &who).await?);
        tracing::info!(name = %case.name, "case created");
        Ok(Response::new(pb::CreateCaseResponse { case: Some(case) }))
    }

    // The hottest read: its span is at debug level, so that at the default `info` it costs
    // next to nothing per call (the reads themselves run in the reader's tasks, outside it).
    #[tracing::instrument(level = "debug", skip_all, fields(name = ?logged(&request.get_ref().name)))]
    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let id = names::parse_case(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        who.logged_read();
        let case = self
            .answers
            .read(id)
            .await?
            .ok_or_else(|| who.hide(Permission::CasesRead, case_not_found(id)))?;
        let region = case.region.strip_prefix("regions/").unwrap_or_default();
        who.allow_record(Permission::CasesRead, region, &case.name)?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(case) }))
    }

    #[tracing::instrument(skip_all, fields(region = ?logged(&request.get_ref().region)))]
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let who = guard(&request)?;
        let mut listing = validate::finish(case_listing(request.get_ref()))?;
        listing.filter.within =
            scope_of(&who, Permission::CasesRead, listing.filter.region.as_ref())?;
        // Cases with their records: a read the access log keeps, by the region listed.
        let listed = listing
            .filter
            .region
            .as_ref()
            .map_or_else(|| "regions/000000".to_owned(), |r| r.name());
        who.touch(&listed, listing.filter.region.as_ref().map(|r| r.as_str()));
        who.logged_read();
        let after = listing.after.map(|p| (p.accepted_on, p.id));
        let page =
            service::list_cases(&self.state, &listing.filter, after, listing.page_size).await?;
        let next_page_token = match page.items.last() {
            Some(last) if page.more => CasePosition {
                accepted_on: last.case.accepted_on,
                id: last.case.id,
            }
            .encode(&listing.print),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCasesResponse {
            cases: page.items.into_iter().map(convert::case).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(name))]
    async fn update_case(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let name = request.case.as_ref().map(|c| c.name.as_str()).unwrap_or("");
        tracing::Span::current().record("name", debug(logged(name)));
        let update = validate::finish(case_update(request))?;
        let case = convert::case(service::update_case(&self.state, update, &who).await?);
        tracing::info!(name = %case.name, "case updated");
        Ok(Response::new(pb::UpdateCaseResponse { case: Some(case) }))
    }

    #[tracing::instrument(skip_all, fields(parent = ?logged(&request.get_ref().parent)))]
    async fn create_measure(
        &self,
        request: Request<pb::CreateMeasureRequest>,
    ) -> Result<Response<pb::CreateMeasureResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let measure = request.measure.unwrap_or_default();
        let measure = validate::measure(&measure, "measure", None);
        let new = validate::finish(new_record(&request.parent, measure, &request.request_id))?;
        let row = service::add_record(&self.state, new, &who).await?;
        Ok(Response::new(pb::CreateMeasureResponse {
            measure: Some(convert::measure(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(name))]
    async fn update_measure(
        &self,
        request: Request<pb::UpdateMeasureRequest>,
    ) -> Result<Response<pb::UpdateMeasureResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let name = request
            .measure
            .as_ref()
            .map(|m| m.name.as_str())
            .unwrap_or("");
        tracing::Span::current().record("name", debug(logged(name)));
        let update = validate::finish(measure_update(request))?;
        let row = service::update_measure(&self.state, update, &who).await?;
        Ok(Response::new(pb::UpdateMeasureResponse {
            measure: Some(convert::measure(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = ?logged(&request.get_ref().parent)))]
    async fn create_resolution(
        &self,
        request: Request<pb::CreateResolutionRequest>,
    ) -> Result<Response<pb::CreateResolutionResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let resolution = request.resolution.unwrap_or_default();
        let resolution = validate::resolution(&resolution, "resolution", None);
        let new = validate::finish(new_record(&request.parent, resolution, &request.request_id))?;
        let row = service::add_record(&self.state, new, &who).await?;
        Ok(Response::new(pb::CreateResolutionResponse {
            resolution: Some(convert::resolution(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = ?logged(&request.get_ref().parent)))]
    async fn create_judicial_aid(
        &self,
        request: Request<pb::CreateJudicialAidRequest>,
    ) -> Result<Response<pb::CreateJudicialAidResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let grant = request.aid_grant.unwrap_or_default();
        let grant = validate::aid(&grant, "aid_grant", None);
        let new = validate::finish(new_record(&request.parent, grant, &request.request_id))?;
        let row = service::add_record(&self.state, new, &who).await?;
        Ok(Response::new(pb::CreateJudicialAidResponse {
            aid_grant: Some(convert::aid(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = ?logged(&request.get_ref().parent)))]
    async fn list_case_revisions(
        &self,
        request: Request<pb::ListCaseRevisionsRequest>,
    ) -> Result<Response<pb::ListCaseRevisionsResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let print = pagination::fingerprint(&[&request.parent]);
        let (case_id, page_size, after) = validate::finish(
            (
                field("parent", names::parse_case(&request.parent)),
                field(
                    "page_size",
                    pagination::page_size(request.page_size, 100, 1000),
                ),
                field(
                    "page_token",
                    pagination::decode_number::<i32>(&request.page_token, &print),
                ),
            )
                .all(),
        )?;
        who.logged_read();
        let page =
            service::list_revisions(&self.state, case_id, after.unwrap_or(0), page_size, &who)
                .await?;
        let next_page_token = match page.items.last() {
            Some(last) if page.more => pagination::encode(&print, &last.revision.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCaseRevisionsResponse {
            revisions: page.items.into_iter().map(convert::revision).collect(),
            next_page_token,
        }))
    }

    type ImportCasesStream =
        Pin<Box<dyn Stream<Item = Result<pb::ImportCasesResponse, Status>> + Send + 'static>>;

    #[tracing::instrument(skip_all)]
    async fn import_cases(
        &self,
        request: Request<Streaming<pb::ImportCasesRequest>>,
    ) -> Result<Response<Self::ImportCasesStream>, Status> {
        let who = guard(&request)?;
        let slot = request
            .extensions()
            .get::<crate::api::limits::ImportSlot>()
            .cloned();
        // Absent only when the service runs without `RequestBytesLayer` (nothing is held then).
        let message = request
            .extensions()
            .get::<crate::api::request_bytes::HeldMessage>()
            .cloned()
            .unwrap_or_default();
        let receiver = import::serve(self.state.clone(), request.into_inner(), who, slot, message);
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}
