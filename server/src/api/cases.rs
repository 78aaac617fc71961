//! `procura.v1.CaseService`: cases and the measures, resolutions and aid grants under them.

use std::pin::Pin;

use chrono::NaiveDate;
use futures::Stream;
use procura_proto::v1::{self as pb, case_service_server::CaseService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::pagination::{self, CasePosition};
use super::{AppState, actor, convert, convert::date, validate};
use crate::domain::names;
use crate::domain::record::{Case, Measure};
use crate::domain::region::RegionCode;
use crate::error::{AllChecked, ApiError, Checked, field};
use crate::service::answers;
use crate::service::cases::{
    self as service, CaseFilter, CaseUpdate, MeasureUpdate, NewCaseCommand, NewRecord,
    case_not_found,
};

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

/// The stored case as a message, with the masked fields of `incoming` laid over it.
fn merge_case(stored: &Case, incoming: &pb::Case, paths: &[String]) -> pb::Case {
    let mut merged = convert::case_fields(stored);
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
fn merge_measure(stored: &Measure, incoming: &pb::Measure, paths: &[String]) -> pb::Measure {
    let mut merged = convert::measure_fields(stored);
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

/// Validates a new case with the records given inline, naming fields under `prefix`
/// (`case`, or `cases[3]` in an import batch). The region must be in the tree.
fn new_case(
    state: &AppState,
    case: &pb::Case,
    prefix: &str,
    request_id: &str,
) -> Checked<NewCaseCommand> {
    let accepted_on = case
        .accepted_on
        .as_ref()
        .and_then(|d| date::from_proto(d).ok());
    let fields = validate::case_fields(case, prefix);
    let in_tree = match &fields {
        Ok(f) if !state.region_exists(&f.region_code) => field(
            format!("{prefix}.region"),
            Err(format!(
                "regions/{} is not a region of the region tree",
                f.region_code
            )),
        ),
        _ => Ok(()),
    };
    let measures = case
        .measures
        .iter()
        .enumerate()
        .map(|(i, m)| validate::measure(m, &format!("{prefix}.measures[{i}]"), accepted_on));
    let resolution = case
        .resolution
        .as_ref()
        .map(|r| validate::resolution(r, &format!("{prefix}.resolution"), accepted_on));
    let aid = case
        .aid_grants
        .iter()
        .enumerate()
        .map(|(i, a)| validate::aid(a, &format!("{prefix}.aid_grants[{i}]"), accepted_on));
    let (mut case, (), measures, resolution, aid, request_id) = (
        fields,
        in_tree,
        measures.collect::<Vec<_>>().all(),
        resolution.transpose(),
        aid.collect::<Vec<_>>().all(),
        field("request_id", validate::request_id(request_id)),
    )
        .all()?;
    case.measures = measures;
    case.resolution = resolution;
    case.aid = aid;
    Ok(NewCaseCommand { case, request_id })
}

/// Validates an UpdateCase request; the new fields are validated again over the stored case.
fn case_update(request: pb::UpdateCaseRequest) -> Checked<CaseUpdate> {
    let incoming = request.case.unwrap_or_default();
    let reason = field("reason", validate::reason(&request.reason, "updated"));
    let id = field("case.name", names::parse_case(&incoming.name));
    let paths = field(
        "update_mask",
        mask_paths(request.update_mask.as_ref(), &CASE_UPDATABLE),
    );
    // On create an unset status means "accepted"; on update it would silently reinstate a
    // withdrawn or concluded case, so it must be given.
    let status_given = match &paths {
        Ok(p) if p.iter().any(|p| p == "status") && incoming.status == 0 => field(
            "case.status",
            Err("is required when updating the status".to_owned()),
        ),
        _ => Ok(()),
    };
    let (reason, id, paths, ()) = (reason, id, paths, status_given).all()?;
    let etag = incoming.etag.clone();
    let edit = Box::new(move |stored: &Case, earliest: Option<NaiveDate>| {
        let merged = merge_case(stored, &incoming, &paths);
        let fields = validate::case_fields(&merged, "case");
        let after_records = match (&fields, earliest) {
            (Ok(f), Some(earliest)) if f.accepted_on > earliest => field(
                "case.accepted_on",
                Err(format!(
                    "{} is after the case's earliest measure, resolution or aid grant ({earliest})",
                    f.accepted_on
                )),
            ),
            _ => Ok(()),
        };
        let (fields, ()) = (fields, after_records).all()?;
        Ok(Case {
            measures: stored.measures.clone(),
            resolution: stored.resolution.clone(),
            aid: stored.aid.clone(),
            ..fields
        })
    });
    Ok(CaseUpdate {
        id,
        etag,
        reason,
        edit,
    })
}

/// Validates an UpdateMeasure request; the new fields are validated again over the stored
/// measure.
fn measure_update(request: pb::UpdateMeasureRequest) -> Checked<MeasureUpdate> {
    let incoming = request.measure.unwrap_or_default();
    let ids = field("measure.name", names::parse_measure(&incoming.name));
    let reason = field(
        "reason",
        validate::reason(&request.reason, "measure updated"),
    );
    let paths = field(
        "update_mask",
        mask_paths(request.update_mask.as_ref(), &MEASURE_UPDATABLE),
    );
    let adoption_given = match &paths {
        Ok(p) if p.iter().any(|p| p == "adoption") && incoming.adoption == 0 => field(
            "measure.adoption",
            Err("is required when updating the adoption".to_owned()),
        ),
        _ => Ok(()),
    };
    let ((case_id, measure_id), reason, paths, ()) = (ids, reason, paths, adoption_given).all()?;
    let edit = Box::new(move |stored: &Measure, accepted_on: NaiveDate| {
        let merged = merge_measure(stored, &incoming, &paths);
        Ok(validate::measure(&merged, "measure", Some(accepted_on))?)
    });
    Ok(MeasureUpdate {
        case_id,
        measure_id,
        reason,
        edit,
    })
}

/// A record to add under the case named `parent`.
fn new_record<R>(parent: &str, record: Checked<R>, request_id: &str) -> Checked<NewRecord<R>> {
    let (case_id, record, request_id) = (
        field("parent", names::parse_case(parent)),
        record,
        field("request_id", validate::request_id(request_id)),
    )
        .all()?;
    Ok(NewRecord {
        case_id,
        record,
        request_id,
    })
}

/// A ListCases request: its filter, position, page size and the fingerprint of its filters.
struct CaseListing {
    filter: CaseFilter,
    after: Option<CasePosition>,
    page_size: i64,
    print: String,
}

fn case_listing(request: &pb::ListCasesRequest) -> Checked<CaseListing> {
    let region = if request.region.is_empty() {
        Ok(None)
    } else {
        field("region", RegionCode::from_name(&request.region).map(Some))
    };
    let from = field(
        "accepted_from",
        date::optional(request.accepted_from.as_ref()),
    );
    let to = field("accepted_to", date::optional(request.accepted_to.as_ref()));
    let order = match (&from, &to) {
        (Ok(Some(from)), Ok(Some(to))) if to < from => field(
            "accepted_to",
            Err(format!("{to} is before accepted_from {from}")),
        ),
        _ => Ok(()),
    };
    let markers = request.markers.iter().enumerate().map(|(i, marker)| {
        let known = pb::Marker::try_from(*marker)
            .ok()
            .filter(|m| *m != pb::Marker::Unspecified);
        field(
            format!("markers[{i}]"),
            known.ok_or_else(|| format!("{marker} is not a known marker")),
        )
    });
    let print = pagination::fingerprint(&[&format!(
        "{:?}",
        pb::ListCasesRequest {
            page_size: 0,
            page_token: String::new(),
            ..request.clone()
        }
    )]);
    let (region, case_type, status, from, to, (), markers, page_size, after) = (
        region,
        field(
            "case_type",
            validate::optional_enum(request.case_type, "case type"),
        ),
        field(
            "status",
            validate::optional_enum(request.status, "case status"),
        ),
        from,
        to,
        order,
        markers.collect::<Vec<_>>().all(),
        field(
            "page_size",
            pagination::page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE),
        ),
        field(
            "page_token",
            CasePosition::decode(&request.page_token, &print),
        ),
    )
        .all()?;
    let mut filter = CaseFilter {
        region,
        case_type,
        status,
        accepted_from: from,
        accepted_to: to,
        ..CaseFilter::default()
    };
    for marker in markers {
        match marker {
            pb::Marker::LeaderHandled => filter.leader_handled = true,
            pb::Marker::PublicHearing => filter.public_hearing = true,
            pb::Marker::PrivateEnterprise => filter.private_enterprise = true,
            pb::Marker::SppListed => filter.spp_listed = true,
            pb::Marker::Typical => filter.typical = true,
            pb::Marker::Unspecified => {}
        }
    }
    Ok(CaseListing {
        filter,
        after,
        page_size,
        print,
    })
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
        let command = validate::finish(new_case(&self.state, &case, "case", &request.request_id))?;
        let case = convert::case(service::create_case(&self.state, command, &actor).await?);
        tracing::info!(name = %case.name, "case created");
        Ok(Response::new(pb::CreateCaseResponse { case: Some(case) }))
    }

    // The hottest read: its span is at debug level, so that at the default `info` it costs
    // next to nothing per call (the reads themselves run in the reader's tasks, outside it).
    #[tracing::instrument(level = "debug", skip_all, fields(name = %request.get_ref().name))]
    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let request = request.into_inner();
        let id = names::parse_case(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        let case = self
            .answers
            .read(id)
            .await?
            .ok_or_else(|| case_not_found(id))?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(case) }))
    }

    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let listing = validate::finish(case_listing(request.get_ref()))?;
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
        let actor = actor(&request);
        let request = request.into_inner();
        let name = request.case.as_ref().map(|c| c.name.as_str()).unwrap_or("");
        tracing::Span::current().record("name", name);
        let update = validate::finish(case_update(request))?;
        let case = convert::case(service::update_case(&self.state, update, &actor).await?);
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
        let measure = request.measure.unwrap_or_default();
        let measure = validate::measure(&measure, "measure", None);
        let new = validate::finish(new_record(&request.parent, measure, &request.request_id))?;
        let row = service::add_record(&self.state, new, &actor).await?;
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
        let name = request
            .measure
            .as_ref()
            .map(|m| m.name.as_str())
            .unwrap_or("");
        tracing::Span::current().record("name", name);
        let update = validate::finish(measure_update(request))?;
        let row = service::update_measure(&self.state, update, &actor).await?;
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
        let resolution = request.resolution.unwrap_or_default();
        let resolution = validate::resolution(&resolution, "resolution", None);
        let new = validate::finish(new_record(&request.parent, resolution, &request.request_id))?;
        let row = service::add_record(&self.state, new, &actor).await?;
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
        let grant = request.aid_grant.unwrap_or_default();
        let grant = validate::aid(&grant, "aid_grant", None);
        let new = validate::finish(new_record(&request.parent, grant, &request.request_id))?;
        let row = service::add_record(&self.state, new, &actor).await?;
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
        let page =
            service::list_revisions(&self.state, case_id, after.unwrap_or(0), page_size).await?;
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

/// Validates one import batch and stores its valid cases in one transaction.
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
        match new_case(state, case, &format!("cases[{position}]"), "") {
            Ok(command) => valid.push(command),
            Err(violations) => {
                rejections.extend(violations.into_iter().map(|v| pb::ImportRejection {
                    position: position as i32,
                    field: v.field,
                    reason: v.description,
                }));
            }
        }
    }
    let imported = service::import_batch(state, valid, actor).await?;
    Ok(pb::ImportCasesResponse {
        batch_number: batch.batch_number,
        created: imported.created,
        already_present: imported.already_present,
        rejections,
    })
}
