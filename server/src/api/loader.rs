//! Reads of single cases that arrive together are answered together: while the database is
//! busy with one batch of `GetCase` reads, the next ones wait in a queue and go out together,
//! as one statement reading their kept answers (`case_docs` by `= ANY(ids)`, see
//! [`crate::db::docs`]). A lone call goes out at once, so batching adds no wait; under load it
//! saves statements, round trips and a connection checkout per call.
//!
//! Cases without a kept answer (stored before the answers were kept) are read from their
//! records: four pipelined statements (cases, measures, resolutions, aid grants) in one
//! read-only repeatable-read transaction. Either way the read starts after each of its calls
//! arrived, so a reader sees every write committed before it asked, and a case always with the
//! records of the same moment.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc, oneshot};
use tonic::Status;

use procura_proto::v1 as pb;

use crate::api::convert;
use crate::db::Pool;
use crate::db::cases as store;
use crate::db::docs;
use crate::error::ApiError;

/// Most cases read by one batch.
const MAX_BATCH: usize = 256;
/// Calls that may wait in the queue before callers wait to enter it.
const QUEUE: usize = 4096;

type Reply = Result<Option<pb::Case>, Status>;

struct Waiter {
    id: i64,
    reply: oneshot::Sender<Reply>,
}

/// The queue of case reads; cheap to clone. The batching task ends when every clone is gone.
#[derive(Clone)]
pub struct CaseLoader {
    queue: mpsc::Sender<Waiter>,
}

impl CaseLoader {
    /// Starts the batching task on the current tokio runtime, reading through `pool` (see
    /// [`crate::db::build_reader_pool`]).
    pub fn start(pool: Pool) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(batch_reads(pool, waiting));
        Self { queue }
    }

    /// The case with id `id` and everything under it, or none.
    pub async fn load(&self, id: i64) -> Reply {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Waiter { id, reply })
            .await
            .map_err(|_| Status::unavailable("the server is shutting down"))?;
        // The reply is dropped unanswered only if reading the batch failed unexpectedly.
        answer
            .await
            .map_err(|_| Status::internal("reading the case failed"))?
    }
}

/// Takes what is queued, up to [`MAX_BATCH`], whenever a batch may go out.
async fn batch_reads(pool: Pool, mut waiting: mpsc::Receiver<Waiter>) {
    // Batches in flight at once: one per connection of the reader pool.
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
            answer(&pool, waiters).await;
            drop(slot);
        });
    }
}

async fn answer(pool: &Pool, waiters: Vec<Waiter>) {
    let mut ids: Vec<i64> = waiters.iter().map(|w| w.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let read = async {
        let mut conn = pool.get().await?;
        let kept = docs::read(&mut conn, &ids).await?;
        let found = kept.len();
        let mut by_id: HashMap<i64, pb::Case> = kept
            .into_iter()
            .filter_map(|(id, doc)| Some((id, docs::decode(&doc)?)))
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
            let records = store::get_many(&mut conn, &unkept).await?;
            by_id.extend(records.into_iter().map(|r| (r.case.id, convert::case(r))));
        }
        Ok::<_, ApiError>(by_id)
    };
    match read.await {
        Ok(mut by_id) => {
            let repeated = ids.len() < waiters.len();
            for waiter in waiters {
                // A case asked for twice in one batch is copied; otherwise it is moved.
                let record = if repeated {
                    by_id.get(&waiter.id).cloned()
                } else {
                    by_id.remove(&waiter.id)
                };
                let _gone = waiter.reply.send(Ok(record));
            }
        }
        Err(error) => {
            // Status::from logs the error (once for the batch).
            let status = Status::from(error);
            for waiter in waiters {
                let _gone = waiter.reply.send(Err(status.clone()));
            }
        }
    }
}
