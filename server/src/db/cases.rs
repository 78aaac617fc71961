//! Queries on cases and the records under them. Writes that touch a case bump its version,
//! which is its etag.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{
    AidRow, CaseRecord, CaseRow, MeasureRow, NewAid, NewCase, NewMeasure, NewResolution,
    ResolutionRow,
};
use super::schema::{cases, judicial_aid, measures, region_ancestors, resolutions};

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

/// The case with this procuratorate and case number, if any.
pub async fn find_by_number(
    conn: &mut AsyncPgConnection,
    region_code: &str,
    case_number: &str,
) -> QueryResult<Option<i64>> {
    cases::table
        .filter(cases::region_code.eq(region_code))
        .filter(cases::case_number.eq(case_number))
        .select(cases::id)
        .first(conn)
        .await
        .optional()
}

/// Inserts a case unless one with the same (region, case number) or request id exists;
/// returns the new id, or `None` when nothing was inserted.
pub async fn insert_case(conn: &mut AsyncPgConnection, new: &NewCase) -> QueryResult<Option<i64>> {
    diesel::insert_into(cases::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(cases::id)
        .get_result(conn)
        .await
        .optional()
}

/// Inserts measures (their `case_id` already set).
pub async fn insert_measures(
    conn: &mut AsyncPgConnection,
    new: &[NewMeasure],
) -> QueryResult<Vec<MeasureRow>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    diesel::insert_into(measures::table)
        .values(new)
        .returning(MeasureRow::as_returning())
        .get_results(conn)
        .await
}

/// Inserts a resolution unless the case has one; `None` when it had.
pub async fn insert_resolution(
    conn: &mut AsyncPgConnection,
    new: &NewResolution,
) -> QueryResult<Option<ResolutionRow>> {
    diesel::insert_into(resolutions::table)
        .values(new)
        .on_conflict_do_nothing()
        .returning(ResolutionRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Inserts aid grants (their `case_id` already set).
pub async fn insert_aid(conn: &mut AsyncPgConnection, new: &[NewAid]) -> QueryResult<Vec<AidRow>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    diesel::insert_into(judicial_aid::table)
        .values(new)
        .returning(AidRow::as_returning())
        .get_results(conn)
        .await
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
            row,
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
        .set((row, measures::update_time.eq(diesel::dsl::now)))
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

/// Loads cases by id with everything under them: four queries whatever the number of cases.
/// The result follows the order of `rows`.
pub async fn attach_records(
    conn: &mut AsyncPgConnection,
    rows: Vec<CaseRow>,
) -> QueryResult<Vec<CaseRecord>> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut all_measures: Vec<MeasureRow> = measures::table
        .filter(measures::case_id.eq_any(&ids))
        .order(measures::id)
        .select(MeasureRow::as_select())
        .load(conn)
        .await?;
    let mut all_resolutions: Vec<ResolutionRow> = resolutions::table
        .filter(resolutions::case_id.eq_any(&ids))
        .select(ResolutionRow::as_select())
        .load(conn)
        .await?;
    let mut all_aid: Vec<AidRow> = judicial_aid::table
        .filter(judicial_aid::case_id.eq_any(&ids))
        .order(judicial_aid::id)
        .select(AidRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|case| {
            let id = case.id;
            let (mine, rest): (Vec<_>, Vec<_>) =
                all_measures.drain(..).partition(|m| m.case_id == id);
            all_measures = rest;
            let resolution = all_resolutions
                .iter()
                .position(|r| r.case_id == id)
                .map(|i| all_resolutions.swap_remove(i));
            let (aid, rest): (Vec<_>, Vec<_>) = all_aid.drain(..).partition(|a| a.case_id == id);
            all_aid = rest;
            CaseRecord {
                case,
                measures: mine,
                resolution,
                aid,
            }
        })
        .collect())
}

/// One case with everything under it.
pub async fn get(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<CaseRecord>> {
    let row = cases::table
        .find(id)
        .select(CaseRow::as_select())
        .first(conn)
        .await
        .optional()?;
    match row {
        Some(row) => Ok(attach_records(conn, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// Filters of a case listing; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Region subtree.
    pub region: Option<String>,
    /// procura.v1.CaseType
    pub case_type: Option<i16>,
    /// procura.v1.CaseStatus; `None` means every status but withdrawn.
    pub status: Option<i16>,
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
                    .filter(region_ancestors::ancestor_code.eq(region.clone()))
                    .select(region_ancestors::code),
            ),
        );
    }
    if let Some(case_type) = filter.case_type {
        query = query.filter(cases::case_type.eq(case_type));
    }
    query = match filter.status {
        Some(status) => query.filter(cases::status.eq(status)),
        None => query.filter(cases::status.ne(3)),
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
