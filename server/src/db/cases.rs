//! Queries on cases and the records under them. Writes that touch a case bump its version,
//! which is its etag.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Integer, Nullable, SmallInt, Text, Timestamptz,
};

use super::models::{
    AidRow, CaseRecord, CaseRow, MeasureRow, NewAid, NewCase, NewCaseRecord, NewMeasure,
    NewResolution, NewRevision, ResolutionRow,
};
use super::schema::{cases, judicial_aid, measures, region_ancestors, resolutions};
use super::{revisions, totals};
use crate::domain::enums::{CaseStatus, CaseType};
use crate::domain::record::{self, Case};
use crate::domain::region::RegionCode;

/// Largest number of rows inserted by one statement (PostgreSQL takes at most 65,535
/// parameters per statement).
const INSERT_CHUNK: usize = 2_000;

/// Cases an import works through before it lets a statement it has in flight go on.
const YIELD_EVERY: usize = 250;

/// What became of one case of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored now, with this id.
    Created(i64),
    /// A case with the same region and case number was stored before, with this id.
    Present(i64),
    /// The same request (same request id) stored this case before.
    SameRequest(i64),
}

/// What a batch of new cases stored, and what is left to store with it.
pub struct InsertedBatch {
    /// What became of each case, in the order sent.
    pub outcomes: Vec<Stored>,
    /// The cases created, as stored (built from what was sent and the ids and times the
    /// database gave); None if those did not line up with the records.
    pub created: Option<Vec<CaseRecord>>,
    /// The changes to the kept totals, not yet applied: the caller applies them last, the
    /// rows most shared between writers at the very end (see totals::lock_order), so that
    /// they are held for as short a time as can be.
    pub totals: totals::Ordered,
}

/// Stores a batch of new cases with their records in the caller's transaction, and works out
/// their part of the kept totals. Cases already stored are left as they are. The case rows keep
/// who stored them and why (`actor`, `reason`): their revision 1.
pub async fn insert_batch(
    conn: &mut AsyncPgConnection,
    batch: &[NewCaseRecord],
    actor: &str,
    reason: &str,
) -> QueryResult<InsertedBatch> {
    use std::collections::HashMap;
    let mut created: HashMap<(String, String), i64> = HashMap::new();
    // Stamped by the database with the transaction's start, so the same for every row.
    let mut stamped = None;
    for chunk in batch.chunks(INSERT_CHUNK) {
        let rows: Vec<InsertedCase> = insert_cases(conn, chunk, actor, reason).await?;
        for row in rows {
            stamped.get_or_insert(row.create_time);
            created.insert((row.region_code, row.case_number), row.id);
        }
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut lookups = Vec::new();
    for (position, record) in batch.iter().enumerate() {
        let key = (
            record.case.region_code.clone(),
            record.case.case_number.clone(),
        );
        match created.remove(&key) {
            Some(id) => outcomes.push(Some(Stored::Created(id))),
            None => {
                outcomes.push(None);
                lookups.push(position);
            }
        }
    }
    if !lookups.is_empty() {
        let numbers: Vec<&str> = lookups
            .iter()
            .map(|p| batch[*p].case.case_number.as_str())
            .collect();
        let existing: Vec<(i64, String, String, Option<Uuid>)> = cases::table
            .filter(cases::case_number.eq_any(&numbers))
            .select((
                cases::id,
                cases::region_code,
                cases::case_number,
                cases::request_id,
            ))
            .load(conn)
            .await?;
        for position in lookups {
            let new = &batch[position].case;
            let found = existing.iter().find(|(_, region, number, _)| {
                *region == new.region_code && *number == new.case_number
            });
            outcomes[position] = match found {
                Some((id, _, _, request_id))
                    if new.request_id.is_some() && *request_id == new.request_id =>
                {
                    Some(Stored::SameRequest(*id))
                }
                Some((id, ..)) => Some(Stored::Present(*id)),
                None => match new.request_id {
                    Some(request_id) => find_by_request_id(conn, request_id)
                        .await?
                        .map(Stored::SameRequest),
                    None => None,
                },
            };
        }
    }
    let outcomes: Vec<Stored> = outcomes
        .into_iter()
        .map(|o| o.ok_or(diesel::result::Error::NotFound))
        .collect::<QueryResult<_>>()?;

    let mut measures = Vec::new();
    let mut resolutions = Vec::new();
    let mut aid = Vec::new();
    for (record, outcome) in batch.iter().zip(&outcomes) {
        let Stored::Created(id) = *outcome else {
            continue;
        };
        measures.extend(record.measures.iter().map(|m| NewMeasure {
            case_id: id,
            ..m.clone()
        }));
        resolutions.extend(record.resolution.iter().map(|r| NewResolution {
            case_id: id,
            ..r.clone()
        }));
        aid.extend(record.aid.iter().map(|a| NewAid {
            case_id: id,
            ..a.clone()
        }));
    }
    // The server's work goes on while the database inserts: the totals' changes are worked out
    // while the measures are written, yielding now and then, so that the statement beside it
    // is sent as soon as it can be.
    let deltas = async {
        let mut deltas = totals::Deltas::new();
        for (i, (record, outcome)) in batch.iter().zip(&outcomes).enumerate() {
            if let Stored::Created(_) = outcome {
                deltas.add_state(&record.state, 1);
            }
            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
        }
        deltas.ordered()
    };
    let (measure_ids, deltas) = futures::join!(insert_all_measures(conn, &measures), deltas);
    let measure_ids = measure_ids?;
    for chunk in resolutions.chunks(INSERT_CHUNK) {
        diesel::insert_into(resolutions::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    let mut aid_ids = Vec::with_capacity(aid.len());
    for chunk in aid.chunks(INSERT_CHUNK) {
        aid_ids.extend(
            diesel::insert_into(judicial_aid::table)
                .values(chunk)
                .returning((judicial_aid::id, judicial_aid::case_id))
                .get_results::<(i64, i64)>(conn)
                .await?,
        );
    }
    let created = match stamped {
        Some(stamped) => as_stored(batch, &outcomes, stamped, &measure_ids, &aid_ids),
        None => Some(Vec::new()),
    };
    Ok(InsertedBatch {
        outcomes,
        created,
        totals: deltas,
    })
}

/// Inserts `measures` (their case ids set), a chunk at a time; their (id, case id) pairs in the
/// order given.
async fn insert_all_measures(
    conn: &mut AsyncPgConnection,
    measures: &[NewMeasure],
) -> QueryResult<Vec<(i64, i64)>> {
    let mut ids = Vec::with_capacity(measures.len());
    for chunk in measures.chunks(INSERT_CHUNK) {
        ids.extend(insert_measures(conn, chunk).await?);
    }
    Ok(ids)
}

/// The cases `batch` created as stored, built from what was sent and the ids and times the
/// database gave: `measure_ids` and `aid_ids` are the (id, case id) pairs the inserts returned,
/// in the order they were sent. None if those do not line up with the records.
fn as_stored(
    batch: &[NewCaseRecord],
    outcomes: &[Stored],
    create_time: DateTime<Utc>,
    measure_ids: &[(i64, i64)],
    aid_ids: &[(i64, i64)],
) -> Option<Vec<CaseRecord>> {
    let ascending = |ids: &[(i64, i64)]| ids.windows(2).all(|w| w[0].0 < w[1].0);
    if !ascending(measure_ids) || !ascending(aid_ids) {
        return None;
    }
    let mut measure_ids = measure_ids.iter();
    let mut aid_ids = aid_ids.iter();
    let mut answers = Vec::with_capacity(outcomes.len());
    for (record, outcome) in batch.iter().zip(outcomes) {
        let Stored::Created(id) = *outcome else {
            continue;
        };
        let mut measures = Vec::with_capacity(record.measures.len());
        for m in &record.measures {
            let &(measure_id, case_id) = measure_ids.next()?;
            if case_id != id {
                return None;
            }
            measures.push(m.stored(measure_id, case_id, create_time));
        }
        let mut aid = Vec::with_capacity(record.aid.len());
        for a in &record.aid {
            let &(grant_id, case_id) = aid_ids.next()?;
            if case_id != id {
                return None;
            }
            aid.push(a.stored(grant_id, case_id, create_time));
        }
        answers.push(CaseRecord {
            case: record.case.stored(id, create_time),
            measures,
            resolution: record
                .resolution
                .as_ref()
                .map(|r| r.stored(id, create_time)),
            aid,
        });
    }
    // Every id returned belongs to a created case.
    (measure_ids.next().is_none() && aid_ids.next().is_none()).then_some(answers)
}

#[derive(QueryableByName)]
struct InsertedCase {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    region_code: String,
    #[diesel(sql_type = Text)]
    case_number: String,
    #[diesel(sql_type = Timestamptz)]
    create_time: DateTime<Utc>,
}

/// One multi-row insert of cases, column arrays bound once (see `insert_cases.sql`).
async fn insert_cases(
    conn: &mut AsyncPgConnection,
    chunk: &[NewCaseRecord],
    actor: &str,
    reason: &str,
) -> QueryResult<Vec<InsertedCase>> {
    let cases: Vec<&NewCase> = chunk.iter().map(|r| &r.case).collect();
    diesel::sql_query(include_str!("insert_cases.sql"))
        .bind::<Array<Text>, _>(
            cases
                .iter()
                .map(|c| c.region_code.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(
            cases
                .iter()
                .map(|c| c.case_number.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SmallInt>, _>(cases.iter().map(|c| c.case_type).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(cases.iter().map(|c| c.status).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(cases.iter().map(|c| c.applicant_type).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(cases.iter().map(|c| c.sector).collect::<Vec<_>>())
        .bind::<Array<Date>, _>(cases.iter().map(|c| c.accepted_on).collect::<Vec<_>>())
        .bind::<Array<Nullable<Date>>, _>(cases.iter().map(|c| c.concluded_on).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(cases.iter().map(|c| c.leader_handled).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(cases.iter().map(|c| c.public_hearing).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(
            cases
                .iter()
                .map(|c| c.private_enterprise)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Integer>, _>(cases.iter().map(|c| c.spp_listed_batch).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(cases.iter().map(|c| c.typical).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(cases.iter().map(|c| c.summary.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<diesel::sql_types::Uuid>>, _>(
            cases.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(vec![actor; cases.len()])
        .bind::<Array<Text>, _>(vec![reason; cases.len()])
        .load(conn)
        .await
}

/// Completes a change to case `id` made in the caller's transaction (which has bumped the
/// case's version): stores the revision with what changed and the states before and after, and moves
/// the kept totals from `before` to the state now. Returns the case as it is now, whose kept
/// answer the caller replaces.
pub async fn record_change(
    conn: &mut AsyncPgConnection,
    id: i64,
    before: &Case,
    actor: &str,
    reason: &str,
) -> QueryResult<CaseRecord> {
    let after = get(conn, id)
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    let after_state = after.state()?;
    let changes = record::changes(Some(before), &after_state);
    let to_json = |value: serde_json::Result<serde_json::Value>| {
        value.map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
    };
    revisions::insert(
        conn,
        &[NewRevision {
            case_id: id,
            revision: after.case.version,
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            changes: to_json(serde_json::to_value(&changes))?,
            before: Some(to_json(serde_json::to_value(before))?),
            after: Some(to_json(serde_json::to_value(&after_state))?),
        }],
    )
    .await?;
    let mut deltas = totals::Deltas::new();
    deltas.change(Some(before), Some(&after_state));
    totals::apply(conn, deltas).await?;
    Ok(after)
}

/// The case stored by an earlier request with this idempotency key, if any.
pub async fn find_by_request_id(
    conn: &mut AsyncPgConnection,
    request_id: Uuid,
) -> QueryResult<Option<i64>> {
    cases::table
        .filter(cases::request_id.eq(request_id))
        .select(cases::id)
        .first(conn)
        .await
        .optional()
}

/// One multi-row insert of measures (their `case_id` set), column arrays bound once; the
/// (id, case id) of each, in the order sent.
async fn insert_measures(
    conn: &mut AsyncPgConnection,
    chunk: &[NewMeasure],
) -> QueryResult<Vec<(i64, i64)>> {
    diesel::sql_query(include_str!("insert_measures.sql"))
        .bind::<Array<BigInt>, _>(chunk.iter().map(|m| m.case_id).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(chunk.iter().map(|m| m.kind).collect::<Vec<_>>())
        .bind::<Array<Date>, _>(chunk.iter().map(|m| m.issued_on).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(chunk.iter().map(|m| m.addressee_type).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(
            chunk
                .iter()
                .map(|m| m.addressee.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SmallInt>, _>(chunk.iter().map(|m| m.adoption).collect::<Vec<_>>())
        .bind::<Array<Nullable<Date>>, _>(chunk.iter().map(|m| m.answered_on).collect::<Vec<_>>())
        .bind::<Array<Nullable<diesel::sql_types::Uuid>>, _>(
            chunk.iter().map(|m| m.request_id).collect::<Vec<_>>(),
        )
        .load::<InsertedMeasure>(conn)
        .await
        .map(|rows| rows.into_iter().map(|r| (r.id, r.case_id)).collect())
}

#[derive(QueryableByName)]
struct InsertedMeasure {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    case_id: i64,
}

/// Inserts one measure (its `case_id` set).
pub async fn insert_measure(
    conn: &mut AsyncPgConnection,
    new: &NewMeasure,
) -> QueryResult<MeasureRow> {
    diesel::insert_into(measures::table)
        .values(new)
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await
}

/// Inserts one aid grant (its `case_id` set).
pub async fn insert_aid(conn: &mut AsyncPgConnection, new: &NewAid) -> QueryResult<AidRow> {
    diesel::insert_into(judicial_aid::table)
        .values(new)
        .returning(AidRow::as_returning())
        .get_result(conn)
        .await
}

/// Inserts a resolution unless the case has one; `None` when it had.
pub async fn insert_resolution(
    conn: &mut AsyncPgConnection,
    new: &NewResolution,
) -> QueryResult<Option<ResolutionRow>> {
    diesel::insert_into(resolutions::table)
        .values(new)
        .on_conflict(resolutions::case_id)
        .do_nothing()
        .returning(ResolutionRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// The measure stored by an earlier request with this idempotency key, if any.
pub async fn measure_by_request_id(
    conn: &mut AsyncPgConnection,
    request_id: Uuid,
) -> QueryResult<Option<MeasureRow>> {
    measures::table
        .filter(measures::request_id.eq(request_id))
        .select(MeasureRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The resolution stored by an earlier request with this idempotency key, if any.
pub async fn resolution_by_request_id(
    conn: &mut AsyncPgConnection,
    request_id: Uuid,
) -> QueryResult<Option<ResolutionRow>> {
    resolutions::table
        .filter(resolutions::request_id.eq(request_id))
        .select(ResolutionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The aid grant stored by an earlier request with this idempotency key, if any.
pub async fn aid_by_request_id(
    conn: &mut AsyncPgConnection,
    request_id: Uuid,
) -> QueryResult<Option<AidRow>> {
    judicial_aid::table
        .filter(judicial_aid::request_id.eq(request_id))
        .select(AidRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One case row, locked for update until the transaction ends.
pub async fn lock_case(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<CaseRow>> {
    cases::table
        .find(id)
        .select(CaseRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// The region code of case `id`, if it exists.
pub async fn region_of(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<String>> {
    cases::table
        .find(id)
        .select(cases::region_code)
        .first(conn)
        .await
        .optional()
}

/// One measure of a case, locked for update.
pub async fn lock_measure(
    conn: &mut AsyncPgConnection,
    case_id: i64,
    id: i64,
) -> QueryResult<Option<MeasureRow>> {
    measures::table
        .find(id)
        .filter(measures::case_id.eq(case_id))
        .select(MeasureRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Writes every column of `row`, bumping its version and update time.
pub async fn save_case(conn: &mut AsyncPgConnection, row: &CaseRow) -> QueryResult<()> {
    diesel::update(cases::table.find(row.id))
        .set((
            cases::case_type.eq(row.case_type),
            cases::status.eq(row.status),
            cases::applicant_type.eq(row.applicant_type),
            cases::sector.eq(row.sector),
            cases::accepted_on.eq(row.accepted_on),
            cases::concluded_on.eq(row.concluded_on),
            cases::leader_handled.eq(row.leader_handled),
            cases::public_hearing.eq(row.public_hearing),
            cases::private_enterprise.eq(row.private_enterprise),
            cases::spp_listed_batch.eq(row.spp_listed_batch),
            cases::typical.eq(row.typical),
            cases::summary.eq(&row.summary),
            cases::version.eq(row.version + 1),
            cases::update_time.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Writes every column of a measure, with a new update time.
pub async fn save_measure(conn: &mut AsyncPgConnection, row: &MeasureRow) -> QueryResult<()> {
    diesel::update(measures::table.find(row.id))
        .set((
            measures::kind.eq(row.kind),
            measures::issued_on.eq(row.issued_on),
            measures::addressee_type.eq(row.addressee_type),
            measures::addressee.eq(&row.addressee),
            measures::adoption.eq(row.adoption),
            measures::answered_on.eq(row.answered_on),
            measures::update_time.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Marks a case changed because a record under it changed.
pub async fn touch_case(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    diesel::update(cases::table.find(id))
        .set((
            cases::version.eq(cases::version + 1),
            cases::update_time.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The earliest date of any record under a case, which its acceptance date may not pass.
pub async fn earliest_record_date(
    conn: &mut AsyncPgConnection,
    case_id: i64,
) -> QueryResult<Option<NaiveDate>> {
    use diesel::dsl::min;
    let measure: Option<NaiveDate> = measures::table
        .filter(measures::case_id.eq(case_id))
        .select(min(measures::issued_on))
        .first(conn)
        .await?;
    let resolution: Option<NaiveDate> = resolutions::table
        .filter(resolutions::case_id.eq(case_id))
        .select(min(resolutions::resolved_on))
        .first(conn)
        .await?;
    let aid: Option<NaiveDate> = judicial_aid::table
        .filter(judicial_aid::case_id.eq(case_id))
        .select(min(judicial_aid::granted_on))
        .first(conn)
        .await?;
    Ok([measure, resolution, aid].into_iter().flatten().min())
}

/// The measures, resolutions and aid grants of cases `ids`, as three pipelined queries on
/// `conn` (sent together, answered in one round trip).
async fn records_of(
    conn: &AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<(Vec<MeasureRow>, Vec<ResolutionRow>, Vec<AidRow>)> {
    let (mut c1, mut c2, mut c3) = (conn, conn, conn);
    futures::try_join!(
        measures::table
            .filter(measures::case_id.eq_any(ids))
            .order(measures::id)
            .select(MeasureRow::as_select())
            .load(&mut c1),
        resolutions::table
            .filter(resolutions::case_id.eq_any(ids))
            .select(ResolutionRow::as_select())
            .load(&mut c2),
        judicial_aid::table
            .filter(judicial_aid::case_id.eq_any(ids))
            .order(judicial_aid::id)
            .select(AidRow::as_select())
            .load(&mut c3),
    )
}

/// Puts each case together with its records, in the order of `rows`.
fn assemble(
    rows: Vec<CaseRow>,
    (all_measures, all_resolutions, all_aid): (Vec<MeasureRow>, Vec<ResolutionRow>, Vec<AidRow>),
) -> Vec<CaseRecord> {
    use std::collections::HashMap;
    let mut measures: HashMap<i64, Vec<MeasureRow>> = HashMap::new();
    for m in all_measures {
        measures.entry(m.case_id).or_default().push(m);
    }
    let mut resolutions: HashMap<i64, ResolutionRow> = all_resolutions
        .into_iter()
        .map(|r| (r.case_id, r))
        .collect();
    let mut aid: HashMap<i64, Vec<AidRow>> = HashMap::new();
    for a in all_aid {
        aid.entry(a.case_id).or_default().push(a);
    }
    rows.into_iter()
        .map(|case| CaseRecord {
            measures: measures.remove(&case.id).unwrap_or_default(),
            resolution: resolutions.remove(&case.id),
            aid: aid.remove(&case.id).unwrap_or_default(),
            case,
        })
        .collect()
}

/// Loads cases with everything under them, in one round trip whatever their number. The
/// result follows the order of `rows`.
pub async fn attach_records(
    conn: &mut AsyncPgConnection,
    rows: Vec<CaseRow>,
) -> QueryResult<Vec<CaseRecord>> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let records = records_of(conn, &ids).await?;
    Ok(assemble(rows, records))
}

/// Cases `ids` (those that exist, in no particular order) with everything under them, read in
/// one [`snapshot!`](super::snapshot), so that a write committed between the four reads cannot
/// pair a case with another moment's records. Not for use inside a transaction.
pub async fn get_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<CaseRecord>> {
    super::snapshot!(conn, diesel::result::Error, |conn| read_many(conn, ids)
        .await)
}

/// One case with everything under it, in the caller's transaction, which has the case locked.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<CaseRecord>> {
    Ok(read_many(conn, &[id]).await?.pop())
}

/// Cases `ids` (those that exist) with everything under them, read in the caller's
/// transaction: as of its snapshot, or as of now for cases it has locked.
pub async fn read_in_transaction(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<CaseRecord>> {
    read_many(conn, ids).await
}

/// Cases `ids` and their records: four queries pipelined in one round trip.
async fn read_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<CaseRecord>> {
    let conn = &*conn;
    let mut c0 = conn;
    let (rows, records) = futures::try_join!(
        cases::table
            .filter(cases::id.eq_any(ids))
            .select(CaseRow::as_select())
            .load(&mut c0),
        records_of(conn, ids),
    )?;
    Ok(assemble(rows, records))
}

/// Filters of a case listing; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Region subtree.
    pub region: Option<RegionCode>,
    /// Only cases in the subtree of one of these regions (the caller's scope), when given.
    pub within: Option<Vec<RegionCode>>,
    /// Case type.
    pub case_type: Option<CaseType>,
    /// Status; `None` means every status but withdrawn.
    pub status: Option<CaseStatus>,
    /// Accepted on or after.
    pub accepted_from: Option<NaiveDate>,
    /// Accepted on or before.
    pub accepted_to: Option<NaiveDate>,
    /// 领导包案 required
    pub leader_handled: bool,
    /// 公开听证 required
    pub public_hearing: bool,
    /// 涉民营企业 required
    pub private_enterprise: bool,
    /// 挂牌督办 required
    pub spp_listed: bool,
    /// 典型案例 required
    pub typical: bool,
}

/// One page of cases matching `filter`, ordered by (acceptance date, id), after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &CaseFilter,
    after: Option<(NaiveDate, i64)>,
    limit: i64,
) -> QueryResult<Vec<CaseRecord>> {
    let mut query = cases::table
        .select(CaseRow::as_select())
        .order((cases::accepted_on, cases::id))
        .limit(limit)
        .into_boxed();
    if let Some(region) = &filter.region {
        query = query.filter(
            cases::region_code.eq_any(
                region_ancestors::table
                    .filter(region_ancestors::ancestor_code.eq(region.as_str().to_owned()))
                    .select(region_ancestors::code),
            ),
        );
    }
    if let Some(scopes) = &filter.within {
        let tops: Vec<String> = scopes.iter().map(|r| r.as_str().to_owned()).collect();
        query = query.filter(
            cases::region_code.eq_any(
                region_ancestors::table
                    .filter(region_ancestors::ancestor_code.eq_any(tops))
                    .select(region_ancestors::code),
            ),
        );
    }
    if let Some(case_type) = filter.case_type {
        query = query.filter(cases::case_type.eq(case_type.number()));
    }
    query = match filter.status {
        Some(status) => query.filter(cases::status.eq(status.number())),
        None => query.filter(cases::status.ne(CaseStatus::Withdrawn.number())),
    };
    if let Some(from) = filter.accepted_from {
        query = query.filter(cases::accepted_on.ge(from));
    }
    if let Some(to) = filter.accepted_to {
        query = query.filter(cases::accepted_on.le(to));
    }
    if filter.leader_handled {
        query = query.filter(cases::leader_handled);
    }
    if filter.public_hearing {
        query = query.filter(cases::public_hearing);
    }
    if filter.private_enterprise {
        query = query.filter(cases::private_enterprise);
    }
    if filter.spp_listed {
        query = query.filter(cases::spp_listed_batch.gt(0));
    }
    if filter.typical {
        query = query.filter(cases::typical);
    }
    if let Some((date, id)) = after {
        query = query.filter(
            cases::accepted_on
                .gt(date)
                .or(cases::accepted_on.eq(date).and(cases::id.gt(id))),
        );
    }
    let rows = query.load(conn).await?;
    attach_records(conn, rows).await
}
