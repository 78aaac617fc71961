//! Cases and the records under them: each write in one transaction that also stores the
//! revision, moves the kept totals and stores the kept GetCase answer.

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures::future::BoxFuture;
use uuid::Uuid;

use super::AppState;
use super::access::Guard;
use super::answers;
use crate::db::cases::{self as store, Stored};
use crate::db::models::{
    AidRow, CaseRecord, CaseRow, MeasureRow, NewAid, NewCaseRecord, NewMeasure, NewResolution,
    ResolutionRow, RevisionRow,
};
use crate::db::revisions;
use crate::domain::access::Permission;
use crate::domain::date::not_before;
use crate::domain::names;
use crate::domain::record::{AidGrant, Case, Measure, Resolution};
use crate::error::ApiError;

pub use crate::db::cases::CaseFilter;

/// A new case with the records given with it.
#[derive(Debug, Clone)]
pub struct NewCaseCommand {
    /// The case (its records' ids unset).
    pub case: Case,
    /// The AIP-155 request id, if one was sent.
    pub request_id: Option<Uuid>,
}

/// Works out a case's new state from its state now and the earliest date of the records
/// under it; bad input is INVALID_ARGUMENT.
pub type CaseEdit = Box<dyn FnOnce(&Case, Option<NaiveDate>) -> Result<Case, ApiError> + Send>;

/// A change to a case's own fields.
pub struct CaseUpdate {
    /// The case's id.
    pub id: i64,
    /// The etag the caller read, or empty.
    pub etag: String,
    /// Why, as kept in the revision.
    pub reason: String,
    /// The new fields.
    pub edit: CaseEdit,
}

/// Works out a measure's new state from its state now and the case's acceptance date.
pub type MeasureEdit = Box<dyn FnOnce(&Measure, NaiveDate) -> Result<Measure, ApiError> + Send>;

/// A change to a measure.
pub struct MeasureUpdate {
    /// The case's id.
    pub case_id: i64,
    /// The measure's id.
    pub measure_id: i64,
    /// Why, as kept in the revision.
    pub reason: String,
    /// The new fields.
    pub edit: MeasureEdit,
}

/// A record to add under a case: a measure, a resolution or an aid grant.
#[derive(Debug, Clone)]
pub struct NewRecord<R> {
    /// The case's id.
    pub case_id: i64,
    /// The record.
    pub record: R,
    /// The AIP-155 request id, if one was sent.
    pub request_id: Option<Uuid>,
}

/// One page of a listing, and whether more follow.
#[derive(Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether a next page exists.
    pub more: bool,
}

impl<T> Page<T> {
    /// The first `size` of `items`, which were asked for one more than that.
    fn of(mut items: Vec<T>, size: i64) -> Self {
        let more = items.len() as i64 > size;
        items.truncate(usize::try_from(size).unwrap_or(0));
        Self { items, more }
    }
}

/// NOT_FOUND for case `id`.
pub fn case_not_found(id: i64) -> ApiError {
    ApiError::NotFound {
        reason: "CASE_NOT_FOUND",
        resource: names::case(id),
    }
}

/// Stores a new case; ALREADY_EXISTS when its region and case number are taken (but by the
/// same request, whose case is returned). Returns the case as stored.
pub async fn create_case(
    state: &AppState,
    command: NewCaseCommand,
    who: &Guard,
) -> Result<CaseRecord, ApiError> {
    let encode = state.encode_answer;
    let (region, number) = (
        command.case.region_code.name(),
        command.case.case_number.clone(),
    );
    who.allow(
        Permission::CasesWrite,
        command.case.region_code.as_str(),
        &region,
    )?;
    let new = NewCaseRecord::new(command.case, command.request_id);
    let actor = who.actor().to_owned();
    let mut conn = state.conn().await?;
    let outcome = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let mut outcomes =
                insert_batch(conn, encode, std::slice::from_ref(&new), &actor, "created").await?;
            outcomes
                .pop()
                .ok_or_else(|| ApiError::Internal("insert returned nothing".into()))
        })
        .await?;
    let id = match outcome {
        Stored::Created(id) => id,
        Stored::SameRequest(id) => {
            // A retry gets its case back; a request id that stored another case (another
            // procuratorate's, perhaps) is refused without naming it.
            let stored = load_case(&mut conn, id).await?;
            if format!("regions/{}", stored.case.region_code) != region
                || stored.case.case_number != number
            {
                return Err(ApiError::invalid(
                    "request_id",
                    "was used by an earlier request for another case; send a new one",
                ));
            }
            return Ok(stored);
        }
        Stored::Present(id) => {
            return Err(ApiError::AlreadyExists {
                reason: "CASE_ALREADY_EXISTS",
                existing: names::case(id),
                message: format!(
                    "case {} of {region} already exists as {}",
                    crate::domain::text::quote(&number),
                    names::case(id)
                ),
            });
        }
    };
    load_case(&mut conn, id).await
}

/// How many cases of an import batch were stored, and how many were there before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    /// Stored now.
    pub created: i32,
    /// Stored before.
    pub already_present: i32,
}

/// Stores the valid cases of one import batch in one transaction.
pub async fn import_batch(
    state: &AppState,
    cases: Vec<NewCaseCommand>,
    who: &Guard,
) -> Result<Imported, ApiError> {
    let encode = state.encode_answer;
    let mut imported = Imported::default();
    if cases.is_empty() {
        return Ok(imported);
    }
    // A batch is written whole or not at all: one case outside the caller's scope refuses it.
    for c in &cases {
        let region = c.case.region_code.as_str();
        who.allow(Permission::CasesWrite, region, &c.case.region_code.name())?;
    }
    let batch: Vec<NewCaseRecord> = cases
        .into_iter()
        .map(|c| NewCaseRecord::new(c.case, c.request_id))
        .collect();
    let actor = who.actor().to_owned();
    let mut conn = state.conn().await?;
    let outcomes = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            insert_batch(conn, encode, &batch, &actor, "imported").await
        })
        .await?;
    for outcome in outcomes {
        match outcome {
            Stored::Created(_) => imported.created += 1,
            Stored::Present(_) | Stored::SameRequest(_) => imported.already_present += 1,
        }
    }
    Ok(imported)
}

/// Changes a case's own fields; ABORTED when the etag given is stale. Returns the case now.
pub async fn update_case(
    state: &AppState,
    update: CaseUpdate,
    who: &Guard,
) -> Result<CaseRecord, ApiError> {
    let encode = state.encode_answer;
    let CaseUpdate {
        id,
        etag,
        reason,
        edit,
    } = update;
    let actor = who.actor().to_owned();
    let who = who.clone();
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let stored = lock_allowed(conn, id, &who).await?;
        let before = current_state(conn, id).await?;
        let current = etag_of(stored.version);
        if !etag.is_empty() && etag != current {
            return Err(ApiError::EtagMismatch {
                resource: names::case(id),
                given: etag,
                current,
            });
        }
        let earliest = store::earliest_record_date(conn, id).await?;
        let after = edit(&before, earliest)?;
        store::save_case(conn, &stored.with(&after)).await?;
        record_change(conn, encode, id, &before, &actor, &reason).await?;
        Ok(())
    })
    .await?;
    load_case(&mut conn, id).await
}

/// The etag of a case at `version` (AIP-154).
pub fn etag_of(version: i32) -> String {
    format!("\"v{version}\"")
}

/// Changes a measure; NOT_FOUND when the case has no such measure. Returns it as stored.
pub async fn update_measure(
    state: &AppState,
    update: MeasureUpdate,
    who: &Guard,
) -> Result<MeasureRow, ApiError> {
    let encode = state.encode_answer;
    let MeasureUpdate {
        case_id,
        measure_id,
        reason,
        edit,
    } = update;
    let actor = who.actor().to_owned();
    let who = who.clone();
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let case = lock_allowed(conn, case_id, &who).await?;
        let before = current_state(conn, case_id).await?;
        let stored = store::lock_measure(conn, case_id, measure_id)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                reason: "MEASURE_NOT_FOUND",
                resource: names::measure(case_id, measure_id),
            })?;
        let after = edit(&stored.to_domain()?, case.accepted_on)?;
        store::save_measure(conn, &stored.with(&after)).await?;
        store::touch_case(conn, case_id).await?;
        record_change(conn, encode, case_id, &before, &actor, &reason).await?;
        store::lock_measure(conn, case_id, measure_id)
            .await?
            .ok_or_else(|| ApiError::Internal("measure vanished".into()))
    })
    .await
}

/// The record an earlier request with a request id stored, with its case's id.
pub type Earlier<'a, Row> = BoxFuture<'a, Result<Option<(i64, Row)>, ApiError>>;

/// What differs between the records added under a case: how a retry finds what its first
/// request stored, how the record is stored, and how the change is named.
pub trait CaseChild: Send + Sync + 'static {
    /// The stored row.
    type Row: Send + 'static;
    /// The reason kept in the revision.
    const ADDED: &'static str;
    /// The request field of the date that may not be before the case's acceptance.
    const DATE_FIELD: &'static str;
    /// That date.
    fn date(&self) -> NaiveDate;
    /// The record an earlier request with this id stored, with its case's id.
    fn earlier(conn: &mut AsyncPgConnection, request_id: Uuid) -> Earlier<'_, Self::Row>;
    /// Stores the record under case `case_id`.
    fn insert<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        case_id: i64,
        request_id: Option<Uuid>,
    ) -> BoxFuture<'a, Result<Self::Row, ApiError>>;
}

impl CaseChild for Measure {
    type Row = MeasureRow;
    const ADDED: &'static str = "measure added";
    const DATE_FIELD: &'static str = "measure.issued_on";

    fn date(&self) -> NaiveDate {
        self.issued_on
    }

    fn earlier(conn: &mut AsyncPgConnection, request_id: Uuid) -> Earlier<'_, MeasureRow> {
        Box::pin(async move {
            let found = store::measure_by_request_id(conn, request_id).await?;
            Ok(found.map(|m| (m.case_id, m)))
        })
    }

    fn insert<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        case_id: i64,
        request_id: Option<Uuid>,
    ) -> BoxFuture<'a, Result<MeasureRow, ApiError>> {
        Box::pin(async move {
            let new = NewMeasure::new(case_id, self, request_id);
            Ok(store::insert_measure(conn, &new).await?)
        })
    }
}

impl CaseChild for Resolution {
    type Row = ResolutionRow;
    const ADDED: &'static str = "resolution added";
    const DATE_FIELD: &'static str = "resolution.resolved_on";

    fn date(&self) -> NaiveDate {
        self.resolved_on
    }

    fn earlier(conn: &mut AsyncPgConnection, request_id: Uuid) -> Earlier<'_, ResolutionRow> {
        Box::pin(async move {
            let found = store::resolution_by_request_id(conn, request_id).await?;
            Ok(found.map(|r| (r.case_id, r)))
        })
    }

    fn insert<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        case_id: i64,
        request_id: Option<Uuid>,
    ) -> BoxFuture<'a, Result<ResolutionRow, ApiError>> {
        Box::pin(async move {
            let new = NewResolution::new(case_id, self, request_id);
            store::insert_resolution(conn, &new)
                .await?
                .ok_or_else(|| ApiError::AlreadyExists {
                    reason: "RESOLUTION_ALREADY_EXISTS",
                    existing: names::resolution(case_id),
                    message: format!(
                        "{} already has a resolution, {}",
                        names::case(case_id),
                        names::resolution(case_id)
                    ),
                })
        })
    }
}

impl CaseChild for AidGrant {
    type Row = AidRow;
    const ADDED: &'static str = "aid grant added";
    const DATE_FIELD: &'static str = "aid_grant.granted_on";

    fn date(&self) -> NaiveDate {
        self.granted_on
    }

    fn earlier(conn: &mut AsyncPgConnection, request_id: Uuid) -> Earlier<'_, AidRow> {
        Box::pin(async move {
            let found = store::aid_by_request_id(conn, request_id).await?;
            Ok(found.map(|a| (a.case_id, a)))
        })
    }

    fn insert<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        case_id: i64,
        request_id: Option<Uuid>,
    ) -> BoxFuture<'a, Result<AidRow, ApiError>> {
        Box::pin(async move {
            let new = NewAid::new(case_id, self, request_id);
            Ok(store::insert_aid(conn, &new).await?)
        })
    }
}

/// Adds a measure, resolution or aid grant under a case; a retry of a request already applied
/// (same request id) returns what the first stored. NOT_FOUND when the case does not exist.
pub async fn add_record<R: CaseChild>(
    state: &AppState,
    new: NewRecord<R>,
    who: &Guard,
) -> Result<R::Row, ApiError> {
    let encode = state.encode_answer;
    let NewRecord {
        case_id,
        record,
        request_id,
    } = new;
    let actor = who.actor().to_owned();
    let who = who.clone();
    let mut conn = state.conn().await?;
    let added = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let case = lock_allowed(conn, case_id, &who).await?;
            if let Some(request_id) = request_id
                && let Some(existing) = same_request(R::earlier(conn, request_id).await?, case_id)?
            {
                return Ok(existing);
            }
            let before = current_state(conn, case_id).await?;
            not_before(record.date(), case.accepted_on, "acceptance date")
                .map_err(|reason| ApiError::invalid(R::DATE_FIELD, reason))?;
            let row = record.insert(conn, case_id, request_id).await?;
            store::touch_case(conn, case_id).await?;
            record_change(conn, encode, case_id, &before, &actor, R::ADDED).await?;
            Ok(row)
        })
        .await;
    match (added, request_id) {
        // A request with the same id committed first (one id sent for two cases at once):
        // this one answers as its retry would, with what that one stored.
        (Err(concurrent @ ApiError::Concurrent { .. }), Some(request_id)) => {
            match same_request(R::earlier(&mut conn, request_id).await?, case_id)? {
                Some(existing) => Ok(existing),
                None => Err(concurrent),
            }
        }
        (added, _) => added,
    }
}

/// One page of the cases matching `filter` (in a region that must exist), ordered by
/// (acceptance date, id), after the case at `after`.
pub async fn list_cases(
    state: &AppState,
    filter: &CaseFilter,
    after: Option<(NaiveDate, i64)>,
    page_size: i64,
) -> Result<Page<CaseRecord>, ApiError> {
    let mut conn = state.conn().await?;
    if let Some(region) = &filter.region {
        super::existing_region(&mut conn, region).await?;
    }
    let records = store::list(&mut conn, filter, after, page_size + 1).await?;
    Ok(Page::of(records, page_size))
}

/// One page of the revisions of case `case_id` after revision `after`, its creation
/// (revision 1) first; the caller must be an auditor at the case's procuratorate.
pub async fn list_revisions(
    state: &AppState,
    case_id: i64,
    after: i32,
    page_size: i64,
    who: &Guard,
) -> Result<Page<RevisionRow>, ApiError> {
    let mut conn = state.conn().await?;
    let region = store::region_of(&mut conn, case_id)
        .await?
        .ok_or_else(|| who.hide(Permission::RevisionsRead, case_not_found(case_id)))?;
    who.allow_record(Permission::RevisionsRead, &region, &names::case(case_id))?;
    let creation = revisions::creation_of(&mut conn, case_id)
        .await?
        .ok_or_else(|| case_not_found(case_id))?;
    let mut rows = revisions::list(&mut conn, case_id, after, page_size + 1).await?;
    if after < 1 {
        rows.insert(0, creation);
    }
    Ok(Page::of(rows, page_size))
}

/// Stores a batch of new cases in the caller's transaction: their rows, their kept GetCase
/// answers and their part of the kept totals, the totals last.
async fn insert_batch(
    conn: &mut AsyncPgConnection,
    encode: answers::Encoder,
    batch: &[NewCaseRecord],
    actor: &str,
    reason: &str,
) -> Result<Vec<Stored>, ApiError> {
    let inserted = store::insert_batch(conn, batch, actor, reason).await?;
    match inserted.created {
        Some(created) => answers::store_new(conn, encode, created).await?,
        None => tracing::warn!(
            "the ids returned by an import's inserts did not line up with its records: its \
             cases will be read from their records"
        ),
    }
    inserted.totals.apply_own(conn).await?;
    inserted.totals.apply_shared(conn).await?;
    Ok(inserted.outcomes)
}

/// Completes a change to case `id` in the caller's transaction: its revision, its kept totals
/// and its kept GetCase answer.
async fn record_change(
    conn: &mut AsyncPgConnection,
    encode: answers::Encoder,
    id: i64,
    before: &Case,
    actor: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let after = store::record_change(conn, id, before, actor, reason).await?;
    answers::store_changed(conn, encode, after).await
}

/// The case as stored now, read in one snapshot (outside any transaction).
async fn load_case(conn: &mut AsyncPgConnection, id: i64) -> Result<CaseRecord, ApiError> {
    store::get_many(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| case_not_found(id))
}

/// Locks the case a change is made to; NOT_FOUND when there is none.
async fn lock_parent(conn: &mut AsyncPgConnection, id: i64) -> Result<CaseRow, ApiError> {
    store::lock_case(conn, id)
        .await?
        .ok_or_else(|| case_not_found(id))
}

/// Locks case `id` for a change by `who`, who must be a submitter at its procuratorate; a
/// missing case is PERMISSION_DENIED to a caller who could not write everywhere (AIP-211).
async fn lock_allowed(
    conn: &mut AsyncPgConnection,
    id: i64,
    who: &Guard,
) -> Result<CaseRow, ApiError> {
    let row = lock_parent(conn, id)
        .await
        .map_err(|e| who.hide(Permission::CasesWrite, e))?;
    who.allow_record(Permission::CasesWrite, &row.region_code, &names::case(id))?;
    Ok(row)
}

/// The whole state of a case, which the caller has locked.
async fn current_state(conn: &mut AsyncPgConnection, id: i64) -> Result<Case, ApiError> {
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
