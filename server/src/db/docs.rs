//! Each case's GetCase answer, kept ready in `case_docs`: the `procura.v1.Case` message (the
//! case with its measures, resolution and aid grants), protobuf-encoded, as of the case's
//! current version; compressed with LZ4 when that makes it smaller (see [`encode`]).
//!
//! A read of one case from the records touches an index and a heap page in each of `cases`,
//! `measures`, `resolutions` and `judicial_aid`; at national scale those pages are rarely in
//! PostgreSQL's buffers. A kept answer is one index probe and one heap page, and the server
//! decodes it instead of assembling rows.
//!
//! Kept answers are never stale: a trigger drops a case's answer whenever its row changes
//! (every change procura makes to a case or its records updates the case row, bumping its
//! version) or one of its records is updated or deleted, in the writer's transaction. The
//! writer then stores the new one ([`replace`]) from the case as it reads it back; an import
//! stores those of the cases it creates ([`insert`]). A case without a kept answer is read
//! from the records.

use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bytea};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use prost::Message;

use super::Pool;
use super::models::CaseRecord;
use super::schema::case_docs;
use crate::api::convert;

/// Largest number of answers stored by one statement.
const STORE_CHUNK: usize = 5_000;

/// The first byte of a compressed answer. A protobuf message never starts with it (it would
/// be the key of field 0), so answers stored plain, as before they were compressed, are told
/// apart from compressed ones by that byte alone.
const LZ4: u8 = 0;

/// The longest answer [`decode`] decompresses: larger sizes in a compressed answer's header
/// are taken as damage, not allocated.
const MAX_DOC: usize = 64 << 20;

/// The most an LZ4 block can expand (a byte of a match stands for at most 255): a larger
/// length in the header is damage too.
const MAX_EXPANSION: usize = 255;

/// The GetCase answer for `record`, encoded: `[0]`, the message's length (u32, little-endian)
/// and the message compressed with LZ4 (block format); or the message itself when compressing
/// does not make it smaller. Answers are the largest table at national scale (about 440 bytes
/// a case plain), and their names, dates and courts repeat within a case, so compressed they
/// take about a third less disk and memory.
pub fn encode(record: CaseRecord) -> Vec<u8> {
    pack(convert::case(record).encode_to_vec())
}

/// `message` as it is stored: compressed when that is smaller (see [`encode`]).
fn pack(message: Vec<u8>) -> Vec<u8> {
    let Ok(length) = u32::try_from(message.len()) else {
        return message;
    };
    let mut packed = vec![0; 5 + lz4_flex::block::get_maximum_output_size(message.len())];
    packed[0] = LZ4;
    packed[1..5].copy_from_slice(&length.to_le_bytes());
    match lz4_flex::block::compress_into(&message, &mut packed[5..]) {
        Ok(size) if 5 + size < message.len() => {
            packed.truncate(5 + size);
            packed.shrink_to_fit();
            packed
        }
        _ => message,
    }
}

/// The protobuf message of a stored answer: decompressed, or as stored when it is plain; none
/// when its header or block is found damaged (a block carries no checksum: damage inside it
/// may go unseen until the message is decoded).
fn unpack(doc: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    match doc.split_first() {
        Some((&LZ4, rest)) => {
            let (length, block) = rest.split_first_chunk::<4>()?;
            let length = usize::try_from(u32::from_le_bytes(*length)).ok()?;
            if length > MAX_DOC || length > block.len().saturating_mul(MAX_EXPANSION) {
                return None;
            }
            let mut message = vec![0; length];
            match lz4_flex::block::decompress_into(block, &mut message) {
                Ok(size) if size == length => Some(message.into()),
                _ => None,
            }
        }
        _ => Some(doc.into()),
    }
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

/// The kept answer `doc` (compressed or plain), decoded; none if it does not decompress or
/// decode (the case is then read from its records, and the reader logs it).
pub fn decode(doc: &[u8]) -> Option<procura_proto::v1::Case> {
    procura_proto::v1::Case::decode(&*unpack(doc)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use procura_proto::v1 as pb;

    fn sample() -> pb::Case {
        let measure = |id: i64| pb::Measure {
            name: format!("cases/5000001/measures/{id}"),
            addressee: "沿滩区人民法院".to_owned(),
            ..Default::default()
        };
        pb::Case {
            name: "cases/5000001".to_owned(),
            region: "regions/510311".to_owned(),
            case_number: "沿检行监〔2020〕5000001号".to_owned(),
            measures: (10_002_003..10_002_007).map(measure).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn answers_are_stored_compressed_and_read_back_the_same() {
        let message = sample().encode_to_vec();
        let stored = pack(message.clone());
        assert_eq!(stored[0], LZ4);
        assert!(
            stored.len() < message.len(),
            "{} bytes stored for a message of {}",
            stored.len(),
            message.len()
        );
        assert_eq!(decode(&stored), Some(sample()));
    }

    #[test]
    fn answers_stored_plain_before_compression_still_decode() {
        assert_eq!(decode(&sample().encode_to_vec()), Some(sample()));
        // Too short to gain from compressing: kept plain.
        let tiny = pb::Case {
            name: "cases/1".to_owned(),
            ..Default::default()
        };
        let stored = pack(tiny.encode_to_vec());
        assert_eq!(stored, tiny.encode_to_vec());
        assert_eq!(decode(&stored), Some(tiny));
    }

    #[test]
    fn damaged_answers_decode_to_none() {
        let stored = pack(sample().encode_to_vec());
        // A cut block, a header without a block, a length that does not match, a huge length.
        assert_eq!(decode(&stored[..stored.len() - 3]), None);
        assert_eq!(decode(&stored[..3]), None);
        let mut wrong = stored.clone();
        wrong[1..5].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(decode(&wrong), None);
        // Lengths no block of this size could expand to are not allocated.
        let mut long = stored.clone();
        long[1..5].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(unpack(&long), None);
        let mut huge = stored;
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge), None);
        assert_eq!(decode(&[LZ4]), None);
    }
}

/// Cases a backfill step answers at once.
const BACKFILL_CHUNK: i64 = 2_000;

/// How long the backfill waits after a failed step (e.g. while the database is away).
const BACKFILL_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(QueryableByName)]
struct BackfillState {
    #[diesel(sql_type = BigInt)]
    up_to: i64,
    #[diesel(sql_type = BigInt)]
    done_to: i64,
}

#[derive(QueryableByName)]
struct Unanswered {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Builds the answers of the cases stored before answers were kept (ids up to the highest one
/// when migration 000005 ran), a chunk at a time, logging its progress; returns when none is
/// left, at once on a database that had no cases then. GetCase serves those cases from their
/// records until then.
pub async fn backfill(pool: Pool) {
    let mut logged = None;
    loop {
        match backfill_step(&pool).await {
            Ok(Some((done_to, up_to))) => {
                let tenth = done_to * 10 / up_to.max(1);
                if logged.is_none() {
                    tracing::info!(
                        up_to,
                        "building the kept answers of cases stored before them"
                    );
                }
                if logged != Some(tenth) {
                    logged = Some(tenth);
                    tracing::info!(done_to, up_to, "kept answers built up to case {done_to}");
                }
            }
            Ok(None) => {
                if logged.is_some() {
                    tracing::info!("every case stored before answers were kept has one now");
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "building kept answers failed; trying again in 30 s");
                tokio::time::sleep(BACKFILL_RETRY).await;
            }
        }
    }
}

/// One chunk of [`backfill`]: (done to, up to) after it, none when nothing was left. Its cases
/// are locked against change (`FOR SHARE`) while they are read and their answers stored, so an
/// answer is never stored for a version a writer has replaced; a writer that changes one later
/// replaces its answer.
async fn backfill_step(pool: &Pool) -> Result<Option<(i64, i64)>, crate::error::ApiError> {
    let mut conn = pool.get().await?;
    let step = conn
        .build_transaction()
        .run::<_, diesel::result::Error, _>(async |conn| {
            let state: BackfillState =
                diesel::sql_query("SELECT up_to, done_to FROM case_docs_backfill FOR UPDATE")
                    .get_result(conn)
                    .await?;
            if state.done_to >= state.up_to {
                return Ok(None);
            }
            let end = state
                .done_to
                .saturating_add(BACKFILL_CHUNK)
                .min(state.up_to);
            let ids: Vec<i64> = diesel::sql_query(
                "SELECT id FROM cases c WHERE id > $1 AND id <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM case_docs d WHERE d.case_id = c.id) \
                 ORDER BY id FOR SHARE OF c",
            )
            .bind::<BigInt, _>(state.done_to)
            .bind::<BigInt, _>(end)
            .load::<Unanswered>(conn)
            .await?
            .into_iter()
            .map(|row| row.id)
            .collect();
            let docs: Vec<(i64, Vec<u8>)> = super::cases::get_many_locked(conn, &ids)
                .await?
                .into_iter()
                .map(|record| (record.case.id, encode(record)))
                .collect();
            write(conn, &docs, " ON CONFLICT (case_id) DO NOTHING").await?;
            diesel::sql_query("UPDATE case_docs_backfill SET done_to = $1")
                .bind::<BigInt, _>(end)
                .execute(conn)
                .await?;
            Ok(Some((end, state.up_to)))
        })
        .await?;
    Ok(step)
}
