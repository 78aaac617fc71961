//! Revisions: the history of every case, written once, never changed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::models::{NewRevision, RevisionRow};
use super::schema::{case_revisions, cases, region_ancestors};

/// Largest number of revisions inserted by one statement.
const INSERT_CHUNK: usize = 5_000;

/// Stores revisions.
pub async fn insert(conn: &mut AsyncPgConnection, new: &[NewRevision]) -> QueryResult<()> {
    for chunk in new.chunks(INSERT_CHUNK) {
        diesel::insert_into(case_revisions::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// One page of a case's revisions after revision `after`, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    case_id: i64,
    after: i32,
    limit: i64,
) -> QueryResult<Vec<RevisionRow>> {
    case_revisions::table
        .filter(case_revisions::case_id.eq(case_id))
        .filter(case_revisions::revision.gt(after))
        .order(case_revisions::revision)
        .limit(limit)
        .select(RevisionRow::as_select())
        .load(conn)
        .await
}

/// For each of `case_ids`, its first revision made after `time`, if any: its `before` is the
/// case as it stood at `time` (none when the case did not exist yet).
pub async fn first_after(
    conn: &mut AsyncPgConnection,
    case_ids: &[i64],
    time: DateTime<Utc>,
) -> QueryResult<Vec<RevisionRow>> {
    case_revisions::table
        .filter(case_revisions::case_id.eq_any(case_ids))
        .filter(case_revisions::revise_time.gt(time))
        .distinct_on(case_revisions::case_id)
        .order((case_revisions::case_id, case_revisions::revision))
        .select(RevisionRow::as_select())
        .load(conn)
        .await
}

/// The revisions made after `time` to cases in the subtree of `region` (or, with
/// `own_only`, of the procuratorate at `region` itself), with each case's number, oldest
/// first, at most `limit`.
pub async fn since_in_subtree(
    conn: &mut AsyncPgConnection,
    region: &str,
    own_only: bool,
    time: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<(RevisionRow, String)>> {
    let mut query = case_revisions::table
        .inner_join(cases::table)
        .filter(case_revisions::revise_time.gt(time))
        .order((
            case_revisions::revise_time,
            case_revisions::case_id,
            case_revisions::revision,
        ))
        .limit(limit)
        .select((RevisionRow::as_select(), cases::case_number))
        .into_boxed();
    if own_only {
        query = query.filter(cases::region_code.eq(region.to_owned()));
    } else {
        query = query.filter(
            cases::region_code.eq_any(
                region_ancestors::table
                    .filter(region_ancestors::ancestor_code.eq(region.to_owned()))
                    .select(region_ancestors::code),
            ),
        );
    }
    query.load(conn).await
}
