//! Storage of the kept GetCase answers (`case_docs`): one row of bytes per case, as
//! [`crate::service::answers`] frames them. This module stores and reads bytes; what they hold
//! and when they are written is the service's.
//!
//! A trigger (migration 000005) drops a case's answer whenever its row changes or one of its
//! records is updated or deleted, in the writer's transaction; the writer then stores the new
//! one. A case without a kept answer is read from its records.

use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::case_docs;

/// Largest number of answers stored by one statement.
const STORE_CHUNK: usize = 5_000;

/// How rows already kept for a case are treated by a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// The cases are new: none may have an answer yet.
    Fail,
    /// The answer replaces the one kept before.
    Replace,
    /// An answer kept before stays (a backfill meeting a writer's answer).
    Keep,
}

impl OnConflict {
    fn clause(self) -> &'static str {
        match self {
            OnConflict::Fail => "",
            OnConflict::Replace => " ON CONFLICT (case_id) DO UPDATE SET doc = excluded.doc",
            OnConflict::Keep => " ON CONFLICT (case_id) DO NOTHING",
        }
    }
}

/// Stores `docs` (case id, stored bytes) in the caller's transaction.
pub async fn write(
    conn: &mut AsyncPgConnection,
    docs: &[(i64, Vec<u8>)],
    on_conflict: OnConflict,
) -> QueryResult<()> {
    for chunk in docs.chunks(STORE_CHUNK) {
        // The clause is one of three constant strings: nothing of the caller's is formatted in.
        diesel::sql_query(format!(
            "INSERT INTO case_docs (case_id, doc) \
             SELECT unnest($1::bigint[]), unnest($2::bytea[]){}",
            on_conflict.clause()
        ))
        .bind::<Array<BigInt>, _>(chunk.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind::<Array<Bytea>, _>(
            chunk
                .iter()
                .map(|(_, doc)| doc.as_slice())
                .collect::<Vec<_>>(),
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// The kept answers of those of `ids` that have one, in no particular order. One statement, so
/// one snapshot: each answer is its case as of one committed moment.
pub async fn read(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<(i64, Vec<u8>)>> {
    case_docs::table
        .filter(case_docs::case_id.eq_any(ids))
        .select((case_docs::case_id, case_docs::doc))
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Up to `limit` ids of cases after `after`, in order.
pub async fn case_ids(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    ids(
        conn,
        "SELECT id FROM cases WHERE id > $1 ORDER BY id LIMIT $2",
        after,
        limit,
    )
    .await
}

/// Up to `limit` ids of cases after `after` that have no kept answer, in order, locked against
/// change (`FOR SHARE`) until the caller's transaction ends, so that an answer built from them
/// is of their current version.
pub async fn unanswered_locked(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    ids(
        conn,
        "SELECT id FROM cases c WHERE id > $1 \
         AND NOT EXISTS (SELECT 1 FROM case_docs d WHERE d.case_id = c.id) \
         ORDER BY id LIMIT $2 FOR SHARE OF c",
        after,
        limit,
    )
    .await
}

async fn ids(
    conn: &mut AsyncPgConnection,
    statement: &'static str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    Ok(diesel::sql_query(statement)
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .load::<Id>(conn)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect())
}

#[derive(QueryableByName)]
struct Backfill {
    #[diesel(sql_type = BigInt)]
    up_to: i64,
    #[diesel(sql_type = BigInt)]
    done_to: i64,
}

/// Whether cases stored before answers were kept (ids up to the highest one when migration
/// 000005 ran) may still lack theirs: the marker a finished backfill clears.
pub async fn backfill_pending(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let state: Backfill = diesel::sql_query("SELECT up_to, done_to FROM case_docs_backfill")
        .get_result(conn)
        .await?;
    Ok(state.done_to < state.up_to)
}

/// Marks the answers of every case up to `up_to` as built.
pub async fn backfill_done(conn: &mut AsyncPgConnection, up_to: i64) -> QueryResult<()> {
    diesel::sql_query("UPDATE case_docs_backfill SET done_to = GREATEST(up_to, $1)")
        .bind::<BigInt, _>(up_to)
        .execute(conn)
        .await?;
    Ok(())
}
