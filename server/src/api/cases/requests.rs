//! CaseService requests parsed into the service's typed commands: every bad field named at
//! once, nothing changed.

use chrono::NaiveDate;
use procura_proto::v1 as pb;

use crate::api::pagination::{self, CasePosition};
use crate::api::{AppState, convert, convert::date, validate};
use crate::domain::names;
use crate::domain::record::{Case, Measure};
use crate::domain::region::RegionCode;
use crate::domain::text;
use crate::error::{AllChecked, Checked, field};
use crate::service::cases::{CaseFilter, CaseUpdate, MeasureUpdate, NewCaseCommand, NewRecord};

pub(super) const DEFAULT_PAGE: i64 = 50;
pub(super) const MAX_PAGE: i64 = 500;

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

/// The paths of an update mask, checked against what may be updated; `*` means all.
pub(super) fn mask_paths(
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
        return Ok(paths.to_vec());
    }
    // The paths are the caller's: quoted, and no more than a few of them.
    const SHOWN: usize = 5;
    let mut named: Vec<String> = unknown
        .iter()
        .take(SHOWN)
        .map(|p| text::quote(p).to_string())
        .collect();
    if unknown.len() > SHOWN {
        named.push(format!("{} more", unknown.len() - SHOWN));
    }
    Err(format!(
        "cannot update {}: updatable fields are {}",
        named.join(", "),
        allowed.join(", ")
    ))
}

/// The stored case as a message, with the masked fields of `incoming` laid over it.
pub(super) fn merge_case(stored: &Case, incoming: &pb::Case, paths: &[String]) -> pb::Case {
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
pub(super) fn merge_measure(
    stored: &Measure,
    incoming: &pb::Measure,
    paths: &[String],
) -> pb::Measure {
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
pub(super) fn new_case(
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
pub(super) fn case_update(request: pb::UpdateCaseRequest) -> Checked<CaseUpdate> {
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
pub(super) fn measure_update(request: pb::UpdateMeasureRequest) -> Checked<MeasureUpdate> {
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
pub(super) fn new_record<R>(
    parent: &str,
    record: Checked<R>,
    request_id: &str,
) -> Checked<NewRecord<R>> {
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

/// A ListCases request, parsed: its filter, position, page size and the fingerprint of its
/// filters.
pub(super) struct CaseListing {
    /// Which cases.
    pub(super) filter: CaseFilter,
    /// Where the previous page ended.
    pub(super) after: Option<CasePosition>,
    /// Most cases answered.
    pub(super) page_size: i64,
    /// The fingerprint of the request its page tokens carry.
    pub(super) print: String,
}

pub(super) fn case_listing(request: &pb::ListCasesRequest) -> Checked<CaseListing> {
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
