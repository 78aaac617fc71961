//! The records as they stood at a past moment, rebuilt from the current records and the
//! `before` states kept in revisions.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::cases::attach_records;
use super::models::{CaseRecord, CaseRow, RevisionRow};
use super::moments::Moment;
use super::revisions;
use super::schema::{cases, region_ancestors};
use crate::domain::record::Case;
use crate::domain::region::RegionTree;

/// Cases read per round trip.
const CHUNK: i64 = 2_000;

/// Which cases to read.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every case handled in the subtree of this region.
    Subtree(&'a str),
    /// The cases of the procuratorate at this region itself.
    Own(&'a str),
}

fn to_state(value: serde_json::Value) -> QueryResult<Case> {
    serde_json::from_value(value)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// The states of the cases with these ids at `moment` and now, `None` where a case did not
/// exist; their rows and records are read once for both.
pub async fn then_and_now(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    moment: &Moment,
) -> QueryResult<HashMap<i64, (Option<Case>, Option<Case>)>> {
    // Cases whose creation the moment did not see existed not then.
    let created_later: HashSet<i64> = cases::table
        .filter(cases::id.eq_any(ids))
        .filter(moment.missed("cases.create_xid", "cases.create_time"))
        .select(cases::id)
        .load::<i64>(conn)
        .await?
        .into_iter()
        .collect();
    let earlier = befores(conn, ids, moment).await?;
    states_then_and_now(conn, ids, created_later, earlier).await
}

/// [`then_and_now`] for cases whose revisions since the moment are read already (`since` and
/// `now`, as [`revisions::since_for_cases`] gives them, creations included): a creation among
/// them says the case did not exist then, a case's first stored revision since keeps its state
/// then, and its latest its state now where it keeps it (the case and its records are read
/// for the others). Takes the states then out of the revisions (their `before` is `None`
/// after).
pub async fn then_and_now_revised(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    since: &mut [RevisionRow],
    mut now: HashMap<i64, serde_json::Value>,
) -> QueryResult<HashMap<i64, (Option<Case>, Option<Case>)>> {
    let mut created_later = HashSet::new();
    // Each case's first stored revision since, with the state before it.
    let mut first: HashMap<i64, (i32, Option<serde_json::Value>)> = HashMap::new();
    for revision in since.iter_mut() {
        let before = revision.before.take();
        if revision.revision == 1 {
            // The creation (a case's later revisions are numbered from 2).
            created_later.insert(revision.case_id);
        } else if first
            .get(&revision.case_id)
            .is_none_or(|(kept, _)| revision.revision < *kept)
        {
            first.insert(revision.case_id, (revision.revision, before));
        }
    }
    let mut earlier: HashMap<i64, Option<serde_json::Value>> = first
        .into_iter()
        .map(|(id, (_, before))| (id, before))
        .collect();
    let mut states = HashMap::with_capacity(ids.len());
    let mut unknown = Vec::new();
    for &id in ids {
        let Some(state) = now.remove(&id) else {
            unknown.push(id);
            continue;
        };
        let state = to_state(state)?;
        let then = match earlier.remove(&id) {
            _ if created_later.contains(&id) => None,
            Some(Some(before)) => Some(to_state(before)?),
            Some(None) => None,
            None => Some(state.clone()),
        };
        states.insert(id, (then, Some(state)));
    }
    if !unknown.is_empty() {
        states.extend(states_then_and_now(conn, &unknown, created_later, earlier).await?);
    }
    Ok(states)
}

/// The states of the cases `ids` now, and then: none for those `created_later`, the state
/// `earlier` keeps for those changed since, else as now.
async fn states_then_and_now(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    created_later: HashSet<i64>,
    mut earlier: HashMap<i64, Option<serde_json::Value>>,
) -> QueryResult<HashMap<i64, (Option<Case>, Option<Case>)>> {
    let rows: Vec<CaseRow> = cases::table
        .filter(cases::id.eq_any(ids))
        .select(CaseRow::as_select())
        .load(conn)
        .await?;
    attach_records(conn, rows)
        .await?
        .into_iter()
        .map(|record| {
            let now = record.state()?;
            let then = state_then(&record, Some(&now), &mut earlier, &created_later)?;
            Ok((record.case.id, (then, Some(now))))
        })
        .collect()
}

/// For each of `ids` changed after `moment`, its state then as its first revision after the
/// moment keeps it (`None` when the case did not exist yet).
async fn befores(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    moment: &Moment,
) -> QueryResult<HashMap<i64, Option<serde_json::Value>>> {
    Ok(revisions::first_after(conn, ids, moment)
        .await?
        .into_iter()
        .map(|revision| (revision.case_id, revision.before))
        .collect())
}

/// The state of `record` at the moment `earlier` and `created_later` describe: none when it
/// was created later, its `before` when it changed since, else as it is (`now`, when known).
fn state_then(
    record: &CaseRecord,
    now: Option<&Case>,
    earlier: &mut HashMap<i64, Option<serde_json::Value>>,
    created_later: &HashSet<i64>,
) -> QueryResult<Option<Case>> {
    let id = record.case.id;
    Ok(match earlier.remove(&id) {
        _ if created_later.contains(&id) => None,
        None => Some(match now {
            Some(now) => now.clone(),
            None => record.state()?,
        }),
        Some(None) => None,
        Some(Some(before)) => Some(to_state(before)?),
    })
}

/// The states at `as_of` (now when `None`) of the cases of `rows`, which existed then.
async fn rebuild(
    conn: &mut AsyncPgConnection,
    rows: Vec<CaseRow>,
    as_of: Option<&Moment>,
) -> QueryResult<Vec<(i64, Option<Case>)>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut earlier = match as_of {
        Some(moment) => befores(conn, &ids, moment).await?,
        None => HashMap::new(),
    };
    let created_later = HashSet::new();
    attach_records(conn, rows)
        .await?
        .into_iter()
        .map(|record| {
            let state = state_then(&record, None, &mut earlier, &created_later)?;
            Ok((record.case.id, state))
        })
        .collect()
}

/// Calls `visit` with the id and state at `as_of` (now when `None`) of every case in `scope`
/// that existed then, in id order, reading a chunk at a time.
pub async fn for_each_state(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    as_of: Option<&Moment>,
    after_id: i64,
    mut visit: impl FnMut(i64, &Case) -> bool,
) -> QueryResult<()> {
    let mut last = after_id;
    loop {
        let mut query = cases::table
            .filter(cases::id.gt(last))
            .order(cases::id)
            .limit(CHUNK)
            .select(CaseRow::as_select())
            .into_boxed();
        query = match scope {
            Scope::Own(region) => query.filter(cases::region_code.eq(region.to_owned())),
            Scope::Subtree(region) => query.filter(
                cases::region_code.eq_any(
                    region_ancestors::table
                        .filter(region_ancestors::ancestor_code.eq(region.to_owned()))
                        .select(region_ancestors::code),
                ),
            ),
        };
        if let Some(moment) = as_of {
            query = query.filter(moment.saw("cases.create_xid", "cases.create_time"));
        }
        let rows = query.load(conn).await?;
        let Some(tail) = rows.last().map(|r| r.id) else {
            return Ok(());
        };
        last = tail;
        let full = rows.len() as i64 == CHUNK;
        for (id, state) in rebuild(conn, rows, as_of).await? {
            if let Some(state) = state
                && !visit(id, &state)
            {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// The cases handled in the subtree of `region` now that were created or changed after
/// `moment` (seen in the caller's snapshot), in id order; `None` when the moment has no
/// snapshot or more than `most` cases changed since (anywhere).
pub async fn changed_since(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    region: &str,
    moment: &Moment,
    most: i64,
) -> QueryResult<Option<Vec<i64>>> {
    use diesel::sql_types::{BigInt, Text};
    let Some(snapshot) = &moment.snapshot else {
        return Ok(None);
    };
    #[derive(QueryableByName)]
    struct Changed {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    // The changed ids come from the two indexes on transaction ids, then (below the nation,
    // whose subtree holds every case) each case's region
    // from its primary key, and the subtree from the region tree: joined in one statement,
    // the planner cannot tell how few rows the transaction ids after the snapshot select, and
    // reads every case of the subtree.
    let changed: Vec<Changed> = diesel::sql_query(
        "WITH since AS (SELECT $1::text::pg_snapshot AS seen) \
         SELECT c.id FROM cases c, since \
         WHERE c.create_xid >= pg_snapshot_xmin(since.seen) \
           AND NOT pg_visible_in_snapshot(c.create_xid, since.seen) \
         UNION \
         SELECT r.case_id FROM case_revisions r, since \
         WHERE r.xid >= pg_snapshot_xmin(since.seen) \
           AND NOT pg_visible_in_snapshot(r.xid, since.seen) \
         LIMIT $2",
    )
    .bind::<Text, _>(snapshot)
    .bind::<BigInt, _>(most + 1)
    .load(conn)
    .await?;
    if changed.len() as i64 > most {
        return Ok(None);
    }
    if changed.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut changed: Vec<i64> = changed.into_iter().map(|c| c.id).collect();
    if region == crate::domain::region::NATIONAL {
        changed.sort_unstable();
        return Ok(Some(changed));
    }
    let mut within: Vec<i64> = cases::table
        .filter(cases::id.eq_any(&changed))
        .select((cases::id, cases::region_code))
        .load::<(i64, String)>(conn)
        .await?
        .into_iter()
        .filter(|(_, code)| regions.within(code, region))
        .map(|(id, _)| id)
        .collect();
    within.sort_unstable();
    Ok(Some(within))
}
