//! Each case's GetCase answer, kept ready in `case_docs`: the `procura.v1.Case` message (the
//! case with its measures, resolution and aid grants), protobuf-encoded, as of the case's
//! current version.
//!
//! A read of one case from the records touches an index and a heap page in each of `cases`,
//! `measures`, `resolutions` and `judicial_aid`; at national scale those pages are rarely in
//! PostgreSQL's buffers. A kept answer is one index probe and one heap page, and the server
//! decodes it instead of assembling rows.
//!
//! Kept answers are never stale: every change to a case bumps its version, and a trigger drops
//! the case's answer when its version changes (or when one of its records is updated or
//! deleted), in the writer's transaction. The writer then stores the new one ([`replace`]) from
//! the case as it reads it back; an import stores those of the cases it creates ([`insert`]). A case without a kept answer is read from the records.

use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use prost::Message;

use super::models::CaseRecord;
use super::schema::case_docs;
use crate::api::convert;

/// Largest number of answers stored by one statement.
const STORE_CHUNK: usize = 5_000;

/// The GetCase answer for `record`, encoded.
pub fn encode(record: CaseRecord) -> Vec<u8> {
    convert::case(record).encode_to_vec()
}

/// Stores `docs` (case id, answer) for cases created in the caller's transaction.
pub async fn insert(conn: &mut AsyncPgConnection, docs: &[(i64, Vec<u8>)]) -> QueryResult<()> {
    write(conn, docs, "").await
}

/// Stores `docs` (case id, answer) for cases changed in the caller's transaction, replacing
/// any answer kept before.
pub async fn replace(conn: &mut AsyncPgConnection, docs: &[(i64, Vec<u8>)]) -> QueryResult<()> {
    write(
        conn,
        docs,
        " ON CONFLICT (case_id) DO UPDATE SET doc = excluded.doc",
    )
    .await
}

async fn write(
    conn: &mut AsyncPgConnection,
    docs: &[(i64, Vec<u8>)],
    on_conflict: &str,
) -> QueryResult<()> {
    for chunk in docs.chunks(STORE_CHUNK) {
        diesel::sql_query(format!(
            "INSERT INTO case_docs (case_id, doc) \
             SELECT unnest($1::bigint[]), unnest($2::bytea[]){on_conflict}"
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

/// The kept answer `doc`, decoded; none if it does not decode (the case is then read from its
/// records).
pub fn decode(doc: &[u8]) -> Option<procura_proto::v1::Case> {
    procura_proto::v1::Case::decode(doc).ok()
}
