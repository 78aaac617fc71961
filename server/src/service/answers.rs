//! Kept GetCase answers: each case's answer, encoded once by the write that made its current
//! version and read back with one index probe instead of four tables of records.
//!
//! The interface:
//! - [`store_new`] and [`store_changed`]: what a write calls in its transaction, after the
//!   case and its records are written (a trigger, migration 000005, has dropped the answer of
//!   any case whose row or records changed, so a kept answer is never stale);
//! - [`Reader::read`]: GetCase's read, batching the calls that arrive together;
//! - [`verify`]: compares kept answers with the answers built from the records now;
//! - [`backfill`]: builds the answers of cases that have none (`procura-server answers
//!   backfill`); until then GetCase reads those cases from their records.
//!
//! An answer is a protocol message, and the protocol is the api layer's business: this module
//! is given an [`Encoder`] (and, for reading, a [`Codec`]) at start-up and handles only bytes.
//! A stored answer is `[0]`, the message's length (u32, little-endian) and the message
//! compressed with LZ4 (block format); or the message itself when compressing does not make
//! it smaller. A protobuf message never starts with byte 0 (the key of field 0), so plain and
//! compressed answers are told apart by that byte.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::db::answers::{self as store, OnConflict};
use crate::db::cases as records;
use crate::db::models::CaseRecord;
use crate::db::{Pool, snapshot};
use crate::error::{ApiError, SharedError};

/// A case as stored, turned into its GetCase answer's protocol message, encoded.
pub type Encoder = fn(CaseRecord) -> Vec<u8>;

/// How GetCase answers of type `T` are read: given by the api layer.
pub struct Codec<T> {
    /// The answer in an encoded message; none when it does not decode.
    pub decode: fn(&[u8]) -> Option<T>,
    /// The answer of a case as stored, without encoding it.
    pub build: fn(CaseRecord) -> T,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

/// The first byte of a compressed answer.
const LZ4: u8 = 0;

/// The longest message [`unpack`] decompresses: larger sizes in a header are damage.
const MAX_DOC: usize = 64 << 20;

/// The most an LZ4 block can expand (a byte of a match stands for at most 255): a larger
/// length in the header is damage too.
const MAX_EXPANSION: usize = 255;

/// `message` as it is stored: compressed when that is smaller.
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

/// The message of a stored answer: decompressed, or as stored when it is plain; none when its
/// header or block is found damaged (a block carries no checksum: damage inside it may go
/// unseen until the message is decoded).
fn unpack(doc: &[u8]) -> Option<Cow<'_, [u8]>> {
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

fn stored(encode: Encoder, record: CaseRecord) -> (i64, Vec<u8>) {
    let id = record.case.id;
    (id, pack(encode(record)))
}

/// Stores the answers of cases created in the caller's transaction.
pub async fn store_new(
    conn: &mut AsyncPgConnection,
    encode: Encoder,
    created: Vec<CaseRecord>,
) -> Result<(), ApiError> {
    let docs: Vec<(i64, Vec<u8>)> = created.into_iter().map(|r| stored(encode, r)).collect();
    Ok(store::write(conn, &docs, OnConflict::Fail).await?)
}

/// Stores the answer of a case changed in the caller's transaction, as read back there.
pub async fn store_changed(
    conn: &mut AsyncPgConnection,
    encode: Encoder,
    record: CaseRecord,
) -> Result<(), ApiError> {
    Ok(store::write(conn, &[stored(encode, record)], OnConflict::Replace).await?)
}

/// Most cases read by one batch of GetCase calls.
const MAX_BATCH: usize = 256;
/// Calls that may wait in the queue before callers wait to enter it.
const QUEUE: usize = 4096;

type Reply<T> = Result<Option<T>, ApiError>;

struct Waiter<T> {
    id: i64,
    reply: oneshot::Sender<Reply<T>>,
}

/// GetCase's reads. Reads that arrive together are answered together: while the database is
/// busy with one batch, the next calls wait in a queue and go out as one statement reading
/// their kept answers. A lone call goes out at once. Cases without a usable kept answer are
/// read from their records in one snapshot. Either way a read starts after each of its calls
/// arrived, so it sees every write committed before it was asked. Cheap to clone; the batching
/// task ends when every clone is gone.
pub struct Reader<T> {
    queue: mpsc::Sender<Waiter<T>>,
}

impl<T> Clone for Reader<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Clone + Send + 'static> Reader<T> {
    /// Starts the batching task on the current tokio runtime, reading through `pool` (see
    /// [`crate::db::build_reader_pool`]): one batch in flight per connection.
    pub fn start(pool: Pool, codec: Codec<T>) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(batch_reads(pool, codec, waiting));
        Self { queue }
    }

    /// The answer for case `id`, or none when there is no such case.
    pub async fn read(&self, id: i64) -> Reply<T> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Waiter { id, reply })
            .await
            .map_err(|_| SharedError::unavailable("the server is shutting down").get())?;
        // The reply is dropped unanswered only if reading the batch failed unexpectedly.
        answer
            .await
            .map_err(|_| SharedError::internal("reading the case failed").get())?
    }
}

/// Takes what is queued, up to [`MAX_BATCH`], whenever a batch may go out.
async fn batch_reads<T: Clone + Send + 'static>(
    pool: Pool,
    codec: Codec<T>,
    mut waiting: mpsc::Receiver<Waiter<T>>,
) {
    let slots = Arc::new(Semaphore::new(pool.status().max_size.max(1)));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        // Calls that came while every slot was busy join this batch.
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(waiter) => batch.push(waiter),
                Err(_) => break,
            }
        }
        let waiters = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        let pool = pool.clone();
        tokio::spawn(async move {
            answer(&pool, codec, waiters).await;
            drop(slot);
        });
    }
}

async fn read_batch<T>(
    pool: &Pool,
    codec: Codec<T>,
    ids: &[i64],
) -> Result<HashMap<i64, T>, ApiError> {
    let mut conn = pool.get().await?;
    let kept = store::read(&mut conn, ids).await?;
    let found = kept.len();
    let mut by_id: HashMap<i64, T> = kept
        .into_iter()
        .filter_map(|(id, doc)| Some((id, (codec.decode)(&unpack(&doc)?)?)))
        .collect();
    if by_id.len() < found {
        // Served right from the records, but a sign of damage or of a bug in the answers.
        tracing::warn!(
            undecodable = found - by_id.len(),
            "kept answers that do not decode: their cases are read from their records"
        );
    }
    let unkept: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !by_id.contains_key(id))
        .collect();
    if !unkept.is_empty() {
        let built = records::get_many(&mut conn, &unkept).await?;
        by_id.extend(built.into_iter().map(|r| (r.case.id, (codec.build)(r))));
    }
    Ok(by_id)
}

async fn answer<T: Clone>(pool: &Pool, codec: Codec<T>, waiters: Vec<Waiter<T>>) {
    let mut ids: Vec<i64> = waiters.iter().map(|w| w.id).collect();
    ids.sort_unstable();
    ids.dedup();
    match read_batch(pool, codec, &ids).await {
        Ok(mut by_id) => {
            let repeated = ids.len() < waiters.len();
            for waiter in waiters {
                // A case asked for twice in one batch is copied; otherwise it is moved.
                let answer = if repeated {
                    by_id.get(&waiter.id).cloned()
                } else {
                    by_id.remove(&waiter.id)
                };
                let _gone = waiter.reply.send(Ok(answer));
            }
        }
        Err(error) => {
            // The batch's failure, logged once with its cause, answers each of its calls.
            let shared = SharedError::new(error);
            for waiter in waiters {
                let _gone = waiter.reply.send(Err(shared.get()));
            }
        }
    }
}

/// Cases compared or built by one step of [`verify`] and [`backfill`].
const CHUNK: i64 = 2_000;

/// What [`verify`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Cases looked at.
    pub cases: u64,
    /// Of those, cases with a kept answer.
    pub kept: u64,
    /// Cases without one (GetCase reads them from their records; a backfill builds them).
    pub missing: u64,
    /// Cases whose kept answer differs from the one built from their records now, or does
    /// not decompress: the ids, in order.
    pub differing: Vec<i64>,
}

impl Verification {
    /// Whether every kept answer equals its records.
    pub fn is_clean(&self) -> bool {
        self.differing.is_empty()
    }
}

/// Compares every kept answer with the answer built from its case's records now, a chunk of
/// cases at a time, each chunk in one snapshot (so a case and its answer are of one moment).
/// `progress` is called after each chunk with the cases looked at so far.
pub async fn verify(
    pool: &Pool,
    encode: Encoder,
    mut progress: impl FnMut(u64),
) -> Result<Verification, ApiError> {
    let mut found = Verification::default();
    let mut after = 0;
    loop {
        let mut conn = pool.get().await?;
        let step = snapshot!(conn, ApiError, |conn| {
            let ids = store::case_ids(conn, after, CHUNK).await?;
            let kept: HashMap<i64, Vec<u8>> = store::read(conn, &ids).await?.into_iter().collect();
            let built = records::read_in_transaction(conn, &ids).await?;
            Ok::<_, ApiError>((ids, kept, built))
        })?;
        let (ids, mut kept, built) = step;
        let Some(&last) = ids.last() else {
            return Ok(found);
        };
        after = last;
        found.cases += ids.len() as u64;
        for record in built {
            let id = record.case.id;
            match kept.remove(&id) {
                None => found.missing += 1,
                Some(doc) => {
                    found.kept += 1;
                    let now = encode(record);
                    if unpack(&doc).as_deref() != Some(now.as_slice()) {
                        found.differing.push(id);
                    }
                }
            }
        }
        progress(found.cases);
    }
}

/// Builds the kept answers of every case that has none, a chunk at a time, each chunk's cases
/// locked against change while their answers are built and stored (an answer is never stored
/// for a version a writer has replaced; a writer that changes one later replaces it).
/// `progress` is called after each chunk with the answers built so far. Returns how many were
/// built. Safe to run beside a serving server, and again.
pub async fn backfill(
    pool: &Pool,
    encode: Encoder,
    mut progress: impl FnMut(u64),
) -> Result<u64, ApiError> {
    let mut built = 0;
    let mut after = 0;
    loop {
        let mut conn = pool.get().await?;
        let step = conn
            .transaction::<_, ApiError, _>(async |conn| {
                let ids = store::unanswered_locked(conn, after, CHUNK).await?;
                let docs: Vec<(i64, Vec<u8>)> = records::read_in_transaction(conn, &ids)
                    .await?
                    .into_iter()
                    .map(|record| stored(encode, record))
                    .collect();
                store::write(conn, &docs, OnConflict::Keep).await?;
                Ok((ids.last().copied(), docs.len() as u64))
            })
            .await?;
        match step {
            (Some(last), count) => {
                after = last;
                built += count;
                progress(built);
            }
            (None, _) => {
                store::backfill_done(&mut conn, after).await?;
                return Ok(built);
            }
        }
    }
}

/// Whether cases stored before answers were kept may still lack theirs (a database migrated
/// with cases in it, before `procura-server answers backfill` ran on it).
pub async fn backfill_pending(pool: &Pool) -> Result<bool, ApiError> {
    let mut conn = pool.get().await?;
    Ok(store::backfill_pending(&mut conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message as a protocol encoder would make it: names, dates and courts that repeat.
    fn message() -> Vec<u8> {
        let mut bytes = Vec::new();
        for id in 10_002_003..10_002_007 {
            bytes.extend_from_slice(format!("cases/5000001/measures/{id}").as_bytes());
            bytes.extend_from_slice("沿滩区人民法院".as_bytes());
        }
        bytes
    }

    #[test]
    fn answers_are_stored_compressed_and_read_back_the_same() {
        let message = message();
        let stored = pack(message.clone());
        assert_eq!(stored[0], LZ4);
        assert!(
            stored.len() < message.len(),
            "{} bytes stored for a message of {}",
            stored.len(),
            message.len()
        );
        assert_eq!(unpack(&stored).as_deref(), Some(message.as_slice()));
    }

    #[test]
    fn answers_too_short_to_gain_are_stored_plain_and_read_back() {
        // A protobuf message starts with a field key, never 0.
        let tiny = b"\x0a\x07cases/1".to_vec();
        let stored = pack(tiny.clone());
        assert_eq!(stored, tiny);
        assert_eq!(unpack(&stored).as_deref(), Some(tiny.as_slice()));
    }

    #[test]
    fn damaged_answers_unpack_to_none() {
        let stored = pack(message());
        // A cut block, a header without a block, a length that does not match.
        assert_eq!(unpack(&stored[..stored.len() - 3]), None);
        assert_eq!(unpack(&stored[..3]), None);
        let mut wrong = stored.clone();
        wrong[1..5].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(unpack(&wrong), None);
        // Lengths no block of this size could expand to are not allocated.
        let mut long = stored.clone();
        long[1..5].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(unpack(&long), None);
        let mut huge = stored;
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(unpack(&huge), None);
        assert_eq!(unpack(&[LZ4]), None);
    }
}
