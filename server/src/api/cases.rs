//! `procura.v1.CaseService`: cases and the measures, resolutions and aid grants under them.

use std::pin::Pin;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures::Stream;
use procura_proto::v1::{self as pb, case_service_server::CaseService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::convert::date;
use super::{AppState, actor, convert, pagination, validate};
use crate::db::cases::{self as store, CaseFilter, Stored};
use crate::db::models::{CaseRecord, CaseRow, MeasureRow, NewCaseRecord};
use crate::db::revisions;
use crate::domain::{names, region::RegionCode};
use crate::error::{ApiError, Violations};

/// Most cases in one import batch.
pub const MAX_IMPORT_BATCH: usize = 10_000;

/// Import batches written at the same time, on as many connections.
const IMPORT_CONCURRENCY: usize = 2;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// Fields of a case that UpdateCase may change.
pub const CASE_UPDATABLE: [&str; 12] = [
    "case_type",
    "status",
    "applicant_type",
    "sector",
    "accepted_on",
    "concluded_on",
    "leader_handled",
    "public_hearing",
    "private_enterprise",
    "spp_listed_batch",
    "typical",
    "summary",
];

/// Fields of a measure that UpdateMeasure may change.
pub const MEASURE_UPDATABLE: [&str; 6] = [
    "kind",
    "issued_on",
    "addressee_type",
    "addressee",
    "adoption",
    "answered_on",
];

/// Serves the case records.
pub struct CaseApi {
    state: AppState,
    loader: super::loader::CaseLoader,
}

impl CaseApi {
    /// A service over `state`; starts the batching of case reads on `readers` (needs a tokio
    /// runtime).
    pub fn new(state: AppState, readers: crate::db::Pool) -> Self {
        let loader = super::loader::CaseLoader::start(readers);
        Self { state, loader }
    }
}

fn case_not_found(id: i64) -> ApiError {
    ApiError::NotFound {
        reason: "CASE_NOT_FOUND",
        resource: names::case(id),
    }
}

/// The paths of an update mask, checked against what may be updated; `*` means all.
fn mask_paths(
    mask: Option<&prost_types::FieldMask>,
    allowed: &[&str],
) -> Result<Vec<String>, String> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        return Err(format!(
            "is required: name the fields to update, from {} (or * for all)",
            allowed.join(", ")
        ));
    }
    if paths.iter().any(|p| p == "*") {
        return Ok(allowed.iter().map(|p| (*p).to_owned()).collect());
    }
    let unknown: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|p| !allowed.contains(p))
        .collect();
    if unknown.is_empty() {
        Ok(paths.to_vec())
    } else {
        Err(format!(
            "cannot update {}: updatable fields are {}",
            unknown.join(", "),
            allowed.join(", ")
        ))
    }
}

/// Validates a new case with the records given inline, naming fields under `prefix`
/// (`case`, or `cases[3]` in an import batch). The region must be in the tree.
fn validate_new_case(
    state: &AppState,
    case: &pb::Case,
    prefix: &str,
    request_id: &str,
) -> Result<NewCaseRecord, ApiError> {
    let mut v = Violations::new();
    let fields = validate::case_fields(case, prefix, &mut v);
    if let Some(fields) = &fields
        && !state.region_exists(&fields.region_code)
    {
        v.add(
            format!("{prefix}.region"),
            format!(
                "regions/{} is not a region of the region tree",
                fields.region_code
            ),
        );
    }
    let accepted_on = fields.as_ref().map(|f| f.accepted_on).or_else(|| {
        case.accepted_on
            .as_ref()
            .and_then(|d| date::from_proto(d).ok())
    });
    let measures: Vec<_> = case
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| validate::measure(m, &format!("{prefix}.measures[{i}]"), accepted_on, &mut v))
        .collect();
    let resolution = case
        .resolution
        .as_ref()
        .map(|r| validate::resolution(r, &format!("{prefix}.resolution"), accepted_on, &mut v));
    let aid: Vec<_> = case
        .aid_grants
        .iter()
        .enumerate()
        .map(|(i, a)| validate::aid(a, &format!("{prefix}.aid_grants[{i}]"), accepted_on, &mut v))
        .collect();
    let request_id = v.check("request_id", validate::request_id(request_id));
    v.finish()?;
    let missing = || ApiError::Internal("validation passed without values".into());
    let mut new_case = fields.ok_or_else(missing)?;
    new_case.request_id = request_id.flatten();
    Ok(NewCaseRecord {
        case: new_case,
        measures: measures
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(missing)?,
        resolution: resolution.map(|r| r.ok_or_else(missing)).transpose()?,
        aid: aid.into_iter().collect::<Option<_>>().ok_or_else(missing)?,
    })
}

/// The case as stored now, read in one snapshot (outside any transaction).
async fn load_case(conn: &mut AsyncPgConnection, id: i64) -> Result<pb::Case, ApiError> {
    store::get_many(conn, &[id])
        .await?
        .pop()
        .map(convert::case)
        .ok_or_else(|| case_not_found(id))
}

/// The stored case as a message, with the masked fields of `incoming` laid over it.
fn merge_case(stored: &CaseRow, incoming: &pb::Case, paths: &[String]) -> pb::Case {
    let mut merged = convert::case(CaseRecord {
        case: stored.clone(),
        measures: Vec::new(),
        resolution: None,
        aid: Vec::new(),
    });
    for path in paths {
        match path.as_str() {
            "case_type" => merged.case_type = incoming.case_type,
            "status" => merged.status = incoming.status,
            "applicant_type" => merged.applicant_type = incoming.applicant_type,
            "sector" => merged.sector = incoming.sector,
            "accepted_on" => merged.accepted_on = incoming.accepted_on,
            "concluded_on" => merged.concluded_on = incoming.concluded_on,
            "leader_handled" => merged.leader_handled = incoming.leader_handled,
            "public_hearing" => merged.public_hearing = incoming.public_hearing,
            "private_enterprise" => merged.private_enterprise = incoming.private_enterprise,
            "spp_listed_batch" => merged.spp_listed_batch = incoming.spp_listed_batch,
            "typical" => merged.typical = incoming.typical,
            "summary" => merged.summary.clone_from(&incoming.summary),
            _ => {}
        }
    }
    merged
}

/// The stored measure as a message, with the masked fields of `incoming` laid over it.
fn merge_measure(stored: &MeasureRow, incoming: &pb::Measure, paths: &[String]) -> pb::Measure {
    let mut merged = convert::measure(stored.clone());
    for path in paths {
        match path.as_str() {
            "kind" => merged.kind = incoming.kind,
            "issued_on" => merged.issued_on = incoming.issued_on,
            "addressee_type" => merged.addressee_type = incoming.addressee_type,
            "addressee" => merged.addressee.clone_from(&incoming.addressee),
            "adoption" => merged.adoption = incoming.adoption,
            "answered_on" => merged.answered_on = incoming.answered_on,
            _ => {}
        }
    }
    merged
}

/// Locks the case a child record is added to; NOT_FOUND when there is none.
async fn lock_parent(conn: &mut AsyncPgConnection, id: i64) -> Result<CaseRow, ApiError> {
    store::lock_case(conn, id)
        .await?
        .ok_or_else(|| case_not_found(id))
}

/// The whole state of a case, which the caller has locked.
async fn current_state(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<crate::domain::record::Case, ApiError> {
    Ok(store::get(conn, id)
        .await?
        .ok_or_else(|| case_not_found(id))?
        .state()?)
}

/// The record an earlier request with the same idempotency key stored under case `case_id`,
/// if any; a key already used under another case is bad input.
fn same_request<T>(found: Option<(i64, T)>, case_id: i64) -> Result<Option<T>, ApiError> {
    match found {
        Some((owner, record)) if owner == case_id => Ok(Some(record)),
        Some((owner, _)) => Err(ApiError::invalid(
            "request_id",
            format!(
                "was used for a request on {}; send a new request id",
                names::case(owner)
            ),
        )),
        None => Ok(None),
    }
}

fn parse_parent(parent: &str, v: &mut Violations) -> Option<i64> {
    v.check("parent", names::parse_case(parent))
}

#[tonic::async_trait]
impl CaseService for CaseApi {
    #[tracing::instrument(skip_all, fields(region, case_number))]
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        let actor = actor(&request);
        let request = request.into_inner();
        let Some(case) = request.case else {
            return Err(ApiError::invalid("case", "is required").into());
        };
        tracing::Span::current()
            .record("region", case.region.as_str())
            .record("case_number", case.case_number.as_str());
        let new = validate_new_case(&self.state, &case, "case", &request.request_id)?;
        let mut conn = self.state.conn().await?;
        let outcome = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                let mut outcomes =
                    store::insert_batch(conn, std::slice::from_ref(&new), &actor, "created")
                        .await?;
                outcomes
                    .pop()
                    .ok_or_else(|| ApiError::Internal("insert returned nothing".into()))
            })
            .await?;
        let id = match outcome {
            Stored::Created(id) | Stored::SameRequest(id) => id,
            Stored::Present(id) => {
                return Err(ApiError::AlreadyExists {
                    reason: "CASE_ALREADY_EXISTS",
                    existing: names::case(id),
                    message: format!(
                        "case {} of {} already exists as {}",
                        case.case_number.trim(),
                        case.region,
                        names::case(id)
                    ),
                }
                .into());
            }
        };
        let case = load_case(&mut conn, id).await?;
        tracing::info!(name = %case.name, "case created");
        Ok(Response::new(pb::CreateCaseResponse { case: Some(case) }))
    }

    // The hottest read: its span is at debug level, so that at the default `info` it costs
    // next to nothing per call (the reads themselves run in the loader's tasks, outside it).
    #[tracing::instrument(level = "debug", skip_all, fields(name = %request.get_ref().name))]
    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let request = request.into_inner();
        let id = names::parse_case(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        let case = self
            .loader
            .load(id)
            .await?
            .ok_or_else(|| case_not_found(id))?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(case) }))
    }

    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let request = request.into_inner();
        let mut v = Violations::new();
        let region = if request.region.is_empty() {
            None
        } else {
            v.check("region", RegionCode::from_name(&request.region))
        };
        let case_type = v
            .check(
                "case_type",
                validate::optional_enum::<pb::CaseType>(request.case_type, "case type"),
            )
            .flatten();
        let status = v
            .check(
                "status",
                validate::optional_enum::<pb::CaseStatus>(request.status, "case status"),
            )
            .flatten();
        let from = v.check(
            "accepted_from",
            date::optional(request.accepted_from.as_ref()),
        );
        let to = v.check("accepted_to", date::optional(request.accepted_to.as_ref()));
        if let (Some(Some(from)), Some(Some(to))) = (from, to)
            && to < from
        {
            v.add(
                "accepted_to",
                format!("{to} is before accepted_from {from}"),
            );
        }
        let mut filter = CaseFilter {
            region: region.map(|r| r.as_str().to_owned()),
            case_type,
            status,
            accepted_from: from.flatten(),
            accepted_to: to.flatten(),
            ..CaseFilter::default()
        };
        for (i, marker) in request.markers.iter().enumerate() {
            match pb::Marker::try_from(*marker) {
                Ok(pb::Marker::LeaderHandled) => filter.leader_handled = true,
                Ok(pb::Marker::PublicHearing) => filter.public_hearing = true,
                Ok(pb::Marker::PrivateEnterprise) => filter.private_enterprise = true,
                Ok(pb::Marker::SppListed) => filter.spp_listed = true,
                Ok(pb::Marker::Typical) => filter.typical = true,
                _ => v.add(
                    format!("markers[{i}]"),
                    format!("{marker} is not a known marker"),
                ),
            }
        }
        let page_size = v.check(
            "page_size",
            pagination::page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE),
        );
        let print = pagination::fingerprint(&[&format!(
            "{:?}",
            pb::ListCasesRequest {
                page_size: 0,
                page_token: String::new(),
                ..request.clone()
            }
        )]);
        let after = v
            .check(
                "page_token",
                pagination::decode(&request.page_token, &print),
            )
            .flatten()
            .map(|position| {
                position
                    .split_once('|')
                    .and_then(|(d, id)| {
                        Some((
                            NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?,
                            id.parse::<i64>().ok()?,
                        ))
                    })
                    .ok_or_else(|| {
                        ApiError::invalid("page_token", "is damaged; start again without it")
                    })
            })
            .transpose()?;
        v.finish()?;
        let page_size = page_size.unwrap_or(DEFAULT_PAGE);

        let mut conn = self.state.conn().await?;
        if let Some(region) = &filter.region {
            super::existing_region(
                &mut conn,
                &RegionCode::parse(region).map_err(ApiError::Internal)?,
            )
            .await?;
        }
        let mut records = store::list(&mut conn, &filter, after, page_size + 1)
            .await
            .map_err(ApiError::from)?;
        let has_more = records.len() as i64 > page_size;
        records.truncate(page_size as usize);
        let next_page_token = match records.last() {
            Some(last) if has_more => pagination::encode(
                &print,
                &format!("{}|{}", last.case.accepted_on, last.case.id),
            ),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCasesResponse {
            cases: records.into_iter().map(convert::case).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(name))]
    async fn update_case(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        let actor = actor(&request);
        let request = request.into_inner();
        let mut v = Violations::new();
        let reason = v.check("reason", validate::reason(&request.reason, "updated"));
        let incoming = request.case.unwrap_or_default();
        tracing::Span::current().record("name", incoming.name.as_str());
        let id = v.check("case.name", names::parse_case(&incoming.name));
        let paths = v.check(
            "update_mask",
            mask_paths(request.update_mask.as_ref(), &CASE_UPDATABLE),
        );
        // On create an unset status means "accepted"; on update it would silently reinstate a
        // withdrawn or concluded case, so it must be given.
        if paths
            .as_ref()
            .is_some_and(|p| p.iter().any(|p| p == "status"))
            && incoming.status == 0
        {
            v.add("case.status", "is required when updating the status");
        }
        v.finish()?;
        let (Some(id), Some(paths), Some(reason)) = (id, paths, reason) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };

        let mut conn = self.state.conn().await?;
        conn.transaction::<_, ApiError, _>(async move |conn| {
                let stored = lock_parent(conn, id).await?;
                let before = store::get(conn, id)
                    .await?
                    .ok_or_else(|| case_not_found(id))?
                    .state()?;
                let current = convert::etag(stored.version);
                if !incoming.etag.is_empty() && incoming.etag != current {
                    return Err(ApiError::EtagMismatch {
                        resource: names::case(id),
                        given: incoming.etag.clone(),
                        current,
                    });
                }
                let merged = merge_case(&stored, &incoming, &paths);
                let mut v = Violations::new();
                let fields = validate::case_fields(&merged, "case", &mut v);
                if let Some(fields) = &fields
                    && let Some(earliest) = store::earliest_record_date(conn, id).await?
                        && fields.accepted_on > earliest {
                            v.add(
                                "case.accepted_on",
                                format!(
                                    "{} is after the case's earliest measure, resolution or aid grant ({earliest})",
                                    fields.accepted_on
                                ),
                            );
                        }
                v.finish()?;
                let fields = fields.ok_or_else(|| ApiError::Internal("no fields".into()))?;
                let updated = CaseRow {
                    case_type: fields.case_type,
                    status: fields.status,
                    applicant_type: fields.applicant_type,
                    sector: fields.sector,
                    accepted_on: fields.accepted_on,
                    concluded_on: fields.concluded_on,
                    leader_handled: fields.leader_handled,
                    public_hearing: fields.public_hearing,
                    private_enterprise: fields.private_enterprise,
                    spp_listed_batch: fields.spp_listed_batch,
                    typical: fields.typical,
                    summary: fields.summary,
                    ..stored
                };
                store::save_case(conn, &updated).await?;
                store::record_change(conn, id, &before, &actor, &reason).await?;
                Ok(())
            })
        .await?;
        let case = load_case(&mut conn, id).await?;
        tracing::info!(name = %case.name, "case updated");
        Ok(Response::new(pb::UpdateCaseResponse { case: Some(case) }))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn create_measure(
        &self,
        request: Request<pb::CreateMeasureRequest>,
    ) -> Result<Response<pb::CreateMeasureResponse>, Status> {
        let actor = actor(&request);
        let request = request.into_inner();
        let mut v = Violations::new();
        let case_id = parse_parent(&request.parent, &mut v);
        let incoming = request.measure.unwrap_or_default();
        validate::measure(&incoming, "measure", None, &mut v);
        let request_id = v.check("request_id", validate::request_id(&request.request_id));
        v.finish()?;
        let (Some(case_id), Some(request_id)) = (case_id, request_id) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        let mut conn = self.state.conn().await?;
        let row = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                let case = lock_parent(conn, case_id).await?;
                if let Some(request_id) = request_id {
                    let found = store::measure_by_request_id(conn, request_id).await?;
                    if let Some(existing) = same_request(found.map(|m| (m.case_id, m)), case_id)? {
                        return Ok(existing);
                    }
                }
                let before = current_state(conn, case_id).await?;
                let mut v = Violations::new();
                let new = validate::measure(&incoming, "measure", Some(case.accepted_on), &mut v);
                v.finish()?;
                let new = new.ok_or_else(|| ApiError::Internal("no measure".into()))?;
                let new = crate::db::models::NewMeasure {
                    case_id,
                    request_id,
                    ..new
                };
                let row = store::insert_measure(conn, &new).await?;
                store::touch_case(conn, case_id).await?;
                store::record_change(conn, case_id, &before, &actor, "measure added").await?;
                Ok(row)
            })
            .await?;
        Ok(Response::new(pb::CreateMeasureResponse {
            measure: Some(convert::measure(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(name))]
    async fn update_measure(
        &self,
        request: Request<pb::UpdateMeasureRequest>,
    ) -> Result<Response<pb::UpdateMeasureResponse>, Status> {
        let actor = actor(&request);
        let request = request.into_inner();
        let mut v = Violations::new();
        let incoming = request.measure.unwrap_or_default();
        tracing::Span::current().record("name", incoming.name.as_str());
        let ids = v.check("measure.name", names::parse_measure(&incoming.name));
        let reason = v.check(
            "reason",
            validate::reason(&request.reason, "measure updated"),
        );
        let paths = v.check(
            "update_mask",
            mask_paths(request.update_mask.as_ref(), &MEASURE_UPDATABLE),
        );
        if paths
            .as_ref()
            .is_some_and(|p| p.iter().any(|p| p == "adoption"))
            && incoming.adoption == 0
        {
            v.add("measure.adoption", "is required when updating the adoption");
        }
        v.finish()?;
        let (Some((case_id, measure_id)), Some(paths), Some(reason)) = (ids, paths, reason) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        let mut conn = self.state.conn().await?;
        let row = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                let case = lock_parent(conn, case_id).await?;
                let before = current_state(conn, case_id).await?;
                let stored = store::lock_measure(conn, case_id, measure_id)
                    .await?
                    .ok_or_else(|| ApiError::NotFound {
                        reason: "MEASURE_NOT_FOUND",
                        resource: names::measure(case_id, measure_id),
                    })?;
                let merged = merge_measure(&stored, &incoming, &paths);
                let mut v = Violations::new();
                let fields = validate::measure(&merged, "measure", Some(case.accepted_on), &mut v);
                v.finish()?;
                let fields = fields.ok_or_else(|| ApiError::Internal("no measure".into()))?;
                let updated = MeasureRow {
                    kind: fields.kind,
                    issued_on: fields.issued_on,
                    addressee_type: fields.addressee_type,
                    addressee: fields.addressee,
                    adoption: fields.adoption,
                    answered_on: fields.answered_on,
                    ..stored
                };
                store::save_measure(conn, &updated).await?;
                store::touch_case(conn, case_id).await?;
                store::record_change(conn, case_id, &before, &actor, &reason).await?;
                store::lock_measure(conn, case_id, measure_id)
                    .await?
                    .ok_or_else(|| ApiError::Internal("measure vanished".into()))
            })
            .await?;
        Ok(Response::new(pb::UpdateMeasureResponse {
            measure: Some(convert::measure(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn create_resolution(
        &self,
        request: Request<pb::CreateResolutionRequest>,
    ) -> Result<Response<pb::CreateResolutionResponse>, Status> {
        let actor = actor(&request);
        let request = request.into_inner();
        let mut v = Violations::new();
        let case_id = parse_parent(&request.parent, &mut v);
        let incoming = request.resolution.unwrap_or_default();
        validate::resolution(&incoming, "resolution", None, &mut v);
        let request_id = v.check("request_id", validate::request_id(&request.request_id));
        v.finish()?;
        let (Some(case_id), Some(request_id)) = (case_id, request_id) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        let mut conn = self.state.conn().await?;
        let row = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                let case = lock_parent(conn, case_id).await?;
                if let Some(request_id) = request_id {
                    let found = store::resolution_by_request_id(conn, request_id).await?;
                    if let Some(existing) = same_request(found.map(|r| (r.case_id, r)), case_id)? {
                        return Ok(existing);
                    }
                }
                let before = current_state(conn, case_id).await?;
                let mut v = Violations::new();
                let new =
                    validate::resolution(&incoming, "resolution", Some(case.accepted_on), &mut v);
                v.finish()?;
                let new = new.ok_or_else(|| ApiError::Internal("no resolution".into()))?;
                let new = crate::db::models::NewResolution {
                    case_id,
                    request_id,
                    ..new
                };
                match store::insert_resolution(conn, &new).await? {
                    Some(row) => {
                        store::touch_case(conn, case_id).await?;
                        store::record_change(conn, case_id, &before, &actor, "resolution added")
                            .await?;
                        Ok(row)
                    }
                    None => Err(ApiError::AlreadyExists {
                        reason: "RESOLUTION_ALREADY_EXISTS",
                        existing: names::resolution(case_id),
                        message: format!(
                            "{} already has a resolution, {}",
                            names::case(case_id),
                            names::resolution(case_id)
                        ),
                    }),
                }
            })
            .await?;
        Ok(Response::new(pb::CreateResolutionResponse {
            resolution: Some(convert::resolution(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn create_judicial_aid(
        &self,
        request: Request<pb::CreateJudicialAidRequest>,
    ) -> Result<Response<pb::CreateJudicialAidResponse>, Status> {
        let actor = actor(&request);
        let request = request.into_inner();
        let mut v = Violations::new();
        let case_id = parse_parent(&request.parent, &mut v);
        let incoming = request.aid_grant.unwrap_or_default();
        validate::aid(&incoming, "aid_grant", None, &mut v);
        let request_id = v.check("request_id", validate::request_id(&request.request_id));
        v.finish()?;
        let (Some(case_id), Some(request_id)) = (case_id, request_id) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        let mut conn = self.state.conn().await?;
        let row = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                let case = lock_parent(conn, case_id).await?;
                if let Some(request_id) = request_id {
                    let found = store::aid_by_request_id(conn, request_id).await?;
                    if let Some(existing) = same_request(found.map(|a| (a.case_id, a)), case_id)? {
                        return Ok(existing);
                    }
                }
                let before = current_state(conn, case_id).await?;
                let mut v = Violations::new();
                let new = validate::aid(&incoming, "aid_grant", Some(case.accepted_on), &mut v);
                v.finish()?;
                let new = new.ok_or_else(|| ApiError::Internal("no grant".into()))?;
                let new = crate::db::models::NewAid {
                    case_id,
                    request_id,
                    ..new
                };
                let row = store::insert_aid(conn, &new).await?;
                store::touch_case(conn, case_id).await?;
                store::record_change(conn, case_id, &before, &actor, "aid grant added").await?;
                Ok(row)
            })
            .await?;
        Ok(Response::new(pb::CreateJudicialAidResponse {
            aid_grant: Some(convert::aid(row)),
        }))
    }

    #[tracing::instrument(skip_all, fields(parent = %request.get_ref().parent))]
    async fn list_case_revisions(
        &self,
        request: Request<pb::ListCaseRevisionsRequest>,
    ) -> Result<Response<pb::ListCaseRevisionsResponse>, Status> {
        let request = request.into_inner();
        let mut v = Violations::new();
        let case_id = parse_parent(&request.parent, &mut v);
        let page_size = v.check(
            "page_size",
            pagination::page_size(request.page_size, 100, 1000),
        );
        let print = pagination::fingerprint(&[&request.parent]);
        let after = v
            .check(
                "page_token",
                pagination::decode_number::<i32>(&request.page_token, &print),
            )
            .map(|after| after.unwrap_or(0));
        v.finish()?;
        let (Some(case_id), Some(page_size), Some(after)) = (case_id, page_size, after) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        let mut conn = self.state.conn().await?;
        let creation = revisions::creation_of(&mut conn, case_id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| case_not_found(case_id))?;
        let mut rows = revisions::list(&mut conn, case_id, after, page_size + 1)
            .await
            .map_err(ApiError::from)?;
        if after < 1 {
            rows.insert(0, creation);
        }
        let has_more = rows.len() as i64 > page_size;
        rows.truncate(page_size as usize);
        let next_page_token = match rows.last() {
            Some(last) if has_more => pagination::encode(&print, &last.revision.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListCaseRevisionsResponse {
            revisions: rows.into_iter().map(convert::revision).collect(),
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
        let actor = actor(&request);
        let inbound = request.into_inner();
        let state = self.state.clone();
        // Two batches are written at a time, each in its own transaction on its own
        // connection, while at most two acknowledgements wait to be sent, in batch order. No
        // further batch is read before that, so a slow database slows the client down through
        // HTTP/2 flow control and memory stays bounded.
        let (acks, receiver) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            use futures::StreamExt;
            let (queue, queued) = tokio::sync::mpsc::channel::<pb::ImportCasesRequest>(1);
            tokio::spawn(async move {
                let mut inbound = inbound;
                loop {
                    match inbound.message().await {
                        Ok(Some(batch)) => {
                            if queue.send(batch).await.is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(status) => {
                            tracing::warn!(%status, "import stream broke off");
                            break;
                        }
                    }
                }
            });
            let batches = ReceiverStream::new(queued);
            let mut written = std::pin::pin!(
                batches
                    .map(|batch| {
                        let (state, actor) = (state.clone(), actor.clone());
                        async move {
                            let number = batch.batch_number;
                            let ack = import_batch(&state, batch, &actor).await;
                            if let Err(error) = &ack {
                                tracing::warn!(batch = number, %error, "import batch failed");
                            }
                            ack
                        }
                    })
                    .buffered(IMPORT_CONCURRENCY)
            );
            while let Some(ack) = written.next().await {
                let failed = ack.is_err();
                if acks.send(ack.map_err(Status::from)).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

/// Validates and stores one import batch in one transaction.
async fn import_batch(
    state: &AppState,
    batch: pb::ImportCasesRequest,
    actor: &str,
) -> Result<pb::ImportCasesResponse, ApiError> {
    if batch.cases.len() > MAX_IMPORT_BATCH {
        return Err(ApiError::invalid(
            "cases",
            format!(
                "batch {} has {} cases; send at most {MAX_IMPORT_BATCH} per batch",
                batch.batch_number,
                batch.cases.len()
            ),
        ));
    }
    let mut rejections = Vec::new();
    let mut valid = Vec::with_capacity(batch.cases.len());
    for (position, case) in batch.cases.iter().enumerate() {
        match validate_new_case(state, case, &format!("cases[{position}]"), "") {
            Ok(record) => valid.push(record),
            Err(ApiError::InvalidArgument(violations)) => {
                rejections.extend(violations.into_iter().map(|v| pb::ImportRejection {
                    position: position as i32,
                    field: v.field,
                    reason: v.description,
                }));
            }
            Err(other) => return Err(other),
        }
    }
    let mut created = 0;
    let mut already_present = 0;
    if !valid.is_empty() {
        let actor = actor.to_owned();
        let mut conn = state.conn().await?;
        let outcomes = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                Ok(store::insert_batch(conn, &valid, &actor, "imported").await?)
            })
            .await?;
        for outcome in outcomes {
            match outcome {
                Stored::Created(_) => created += 1,
                Stored::Present(_) | Stored::SameRequest(_) => already_present += 1,
            }
        }
    }
    Ok(pb::ImportCasesResponse {
        batch_number: batch.batch_number,
        created,
        already_present,
        rejections,
    })
}
