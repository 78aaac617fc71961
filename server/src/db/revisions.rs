//! Revisions: the history of every case, written once, never changed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::models::{NewRevision, RevisionRow};
use super::moments::Moment;
use super::schema::{case_revisions, cases, region_ancestors};

/// Revision 1 of a case, its creation, as kept on the case row itself.
fn creation(
    (case_id, revise_time, actor, reason): (i64, DateTime<Utc>, String, String),
) -> RevisionRow {
    RevisionRow {
        case_id,
        revision: 1,
        revise_time,
        actor,
        reason,
        changes: serde_json::Value::Array(Vec::new()),
        before: None,
    }
}

/// Revision 1 of case `case_id`, if the case exists.
pub async fn creation_of(
    conn: &mut AsyncPgConnection,
    case_id: i64,
) -> QueryResult<Option<RevisionRow>> {
    cases::table
        .find(case_id)
        .select((
            cases::id,
            cases::create_time,
            cases::created_by,
            cases::create_reason,
        ))
        .first(conn)
        .await
        .optional()
        .map(|row| row.map(creation))
}

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

/// One page of a case's revisions after revision `after`, oldest first, from revision 2 on
/// (revision 1 is [`creation_of`]).
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

/// For each of `case_ids`, its first revision made after `moment`, if any: its `before` is
/// the case as it stood at `moment` (none when the case did not exist yet).
pub async fn first_after(
    conn: &mut AsyncPgConnection,
    case_ids: &[i64],
    moment: &Moment,
) -> QueryResult<Vec<RevisionRow>> {
    case_revisions::table
        .filter(case_revisions::case_id.eq_any(case_ids))
        .filter(moment.missed("case_revisions.xid", "case_revisions.revise_time"))
        .distinct_on(case_revisions::case_id)
        .order((case_revisions::case_id, case_revisions::revision))
        .select(RevisionRow::as_select())
        .load(conn)
        .await
}

/// The revisions made after `moment` to the cases `case_ids`, creations included, oldest
/// first; and for each case whose latest revision keeps it (migration 000012), its state after
/// that revision: its state now.
pub async fn since_for_cases(
    conn: &mut AsyncPgConnection,
    case_ids: &[i64],
    moment: &Moment,
) -> QueryResult<(Vec<RevisionRow>, HashMap<i64, serde_json::Value>)> {
    let created: Vec<CreationRow> = cases::table
        .filter(cases::id.eq_any(case_ids))
        .filter(moment.missed("cases.create_xid", "cases.create_time"))
        .select(CREATION)
        .load(conn)
        .await?;
    let changed: Vec<(RevisionRow, Option<serde_json::Value>)> = case_revisions::table
        .filter(case_revisions::case_id.eq_any(case_ids))
        .filter(moment.missed("case_revisions.xid", "case_revisions.revise_time"))
        .select((RevisionRow::as_select(), case_revisions::after))
        .load(conn)
        .await?;
    let mut latest: HashMap<i64, (i32, Option<serde_json::Value>)> = HashMap::new();
    let mut revisions: Vec<RevisionRow> = Vec::with_capacity(created.len() + changed.len());
    for (revision, after) in changed {
        let entry = latest.entry(revision.case_id).or_insert((0, None));
        if revision.revision > entry.0 {
            *entry = (revision.revision, after);
        }
        revisions.push(revision);
    }
    revisions.extend(
        created
            .into_iter()
            .map(|(id, at, by, why, _)| creation((id, at, by, why))),
    );
    sort_oldest_first(&mut revisions, |r| r);
    let now = latest
        .into_iter()
        .filter_map(|(id, (_, after))| Some((id, after?)))
        .collect();
    Ok((revisions, now))
}

/// A case's creation as [`CREATION`] selects it: id, time, actor, reason and case number.
type CreationRow = (i64, DateTime<Utc>, String, String, String);

/// The columns of a case that make its revision 1, with its case number.
const CREATION: (
    cases::id,
    cases::create_time,
    cases::created_by,
    cases::create_reason,
    cases::case_number,
) = (
    cases::id,
    cases::create_time,
    cases::created_by,
    cases::create_reason,
    cases::case_number,
);

/// The creations `created` and the revisions `changed`, each with its case number, oldest
/// first: by time, then case, then revision number.
fn oldest_first(
    created: Vec<CreationRow>,
    changed: Vec<(RevisionRow, String)>,
) -> Vec<(RevisionRow, String)> {
    let mut revisions: Vec<(RevisionRow, String)> = created
        .into_iter()
        .map(|(id, at, by, why, number)| (creation((id, at, by, why)), number))
        .chain(changed)
        .collect();
    sort_oldest_first(&mut revisions, |(r, _)| r);
    revisions
}

/// Sorts revisions (each `row` of an item) oldest first: by time, then case, then revision
/// number.
fn sort_oldest_first<T>(items: &mut [T], row: impl Fn(&T) -> &RevisionRow) {
    items.sort_by(|a, b| {
        let (a, b) = (row(a), row(b));
        (a.revise_time, a.case_id, a.revision).cmp(&(b.revise_time, b.case_id, b.revision))
    });
}

/// The revisions made after `moment` to cases in the subtree of `region` (or, with
/// `own_only`, of the procuratorate at `region` itself), creations included, with each case's
/// number, oldest first, at most `limit`.
pub async fn since_in_subtree(
    conn: &mut AsyncPgConnection,
    region: &str,
    own_only: bool,
    moment: &Moment,
    limit: i64,
) -> QueryResult<Vec<(RevisionRow, String)>> {
    let in_scope = |query: cases::BoxedQuery<'static, Pg>| {
        if own_only {
            query.filter(cases::region_code.eq(region.to_owned()))
        } else {
            query.filter(
                cases::region_code.eq_any(
                    region_ancestors::table
                        .filter(region_ancestors::ancestor_code.eq(region.to_owned()))
                        .select(region_ancestors::code),
                ),
            )
        }
    };
    let created: Vec<CreationRow> = in_scope(cases::table.into_boxed())
        .filter(moment.missed("cases.create_xid", "cases.create_time"))
        .order((cases::create_time, cases::id))
        .limit(limit)
        .select(CREATION)
        .load(conn)
        .await?;
    let scoped_ids = in_scope(cases::table.into_boxed()).select(cases::id);
    let changed: Vec<(RevisionRow, String)> = case_revisions::table
        .inner_join(cases::table)
        .filter(moment.missed("case_revisions.xid", "case_revisions.revise_time"))
        .filter(case_revisions::case_id.eq_any(scoped_ids))
        .order((
            case_revisions::revise_time,
            case_revisions::case_id,
            case_revisions::revision,
        ))
        .limit(limit)
        .select((RevisionRow::as_select(), cases::case_number))
        .load(conn)
        .await?;
    let mut all = oldest_first(created, changed);
    all.truncate(limit as usize);
    Ok(all)
}
