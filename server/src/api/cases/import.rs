//! ImportCases: a stream of batches, each validated and stored in its own transaction, each
//! acknowledged once committed, in batch order.

use procura_proto::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tracing::Instrument;

use super::requests::new_case;
use crate::api::limits::ImportSlot;
use crate::api::request_bytes::HeldMessage;
use crate::api::{AppState, decoding};
use crate::error::ApiError;
use crate::service::access::Guard;
use crate::service::cases as service;

/// Most cases in one import batch.
pub const MAX_IMPORT_BATCH: usize = 10_000;

/// Import batches written at the same time, on as many connections.
const IMPORT_CONCURRENCY: usize = 2;

/// Starts writing the batches of `inbound` for the caller `who`; the acknowledgements come out of the
/// receiver, one per batch, in order, and end after the first failure. The stream holds
/// `slot` (one of `--max-import-streams`) until it ends, and each batch's share of the request
/// byte budget (taken from `message`) until the batch is stored; no database connection while it
/// waits for a batch; it ends DEADLINE_EXCEEDED when no batch comes within the call timeout,
/// and UNAVAILABLE when the server's shutdown grace is over.
pub fn serve(
    state: AppState,
    inbound: Streaming<pb::ImportCasesRequest>,
    who: Guard,
    slot: Option<ImportSlot>,
    message: HeldMessage,
) -> tokio::sync::mpsc::Receiver<Result<pb::ImportCasesResponse, Status>> {
    // Two batches are written at a time, each in its own transaction on its own
    // connection, while at most two acknowledgements wait to be sent, in batch order. No
    // further batch is read before that, so a slow database slows the client down through
    // HTTP/2 flow control and memory stays bounded.
    let (acks, receiver) = tokio::sync::mpsc::channel(2);
    let limits = state.limits.clone();
    let expired = limits.expired();
    let last_word = acks.clone();
    let task = async move {
        use futures::StreamExt;
        // A message that cannot be read (one that does not decode, or a broken stream) is
        // queued as its error and answered after the acknowledgements of the batches before
        // it: INVALID_ARGUMENT when it does not decode (see `api::decoding`).
        let (queue, queued) = tokio::sync::mpsc::channel::<Result<Read, Status>>(1);
        let reading = limits.clone();
        let reader = async move {
            let mut inbound = inbound;
            let idle = reading.call_timeout();
            loop {
                let next = match tokio::time::timeout(idle, inbound.message()).await {
                    Ok(next) => next,
                    Err(_) => {
                        let _closed = queue.send(Err(idle_stream(idle))).await;
                        break;
                    }
                };
                match next {
                    Ok(Some(batch)) => {
                        // The batch's share of `--max-request-mb`, held until it is stored.
                        let held = message.take();
                        if queue.send(Ok((batch, held))).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(status) => {
                        tracing::warn!(status = ?status.to_string(), "import stream broke off");
                        let _closed = queue.send(Err(decoding::undecodable(status))).await;
                        break;
                    }
                }
            }
        };
        tokio::spawn(reader.in_current_span());
        let batches = ReceiverStream::new(queued);
        let mut written = std::pin::pin!(
            batches
                .map(|batch| {
                    let (state, who) = (state.clone(), who.clone());
                    async move {
                        let (batch, _held) = batch.map_err(ApiError::Answered)?;
                        let number = batch.batch_number;
                        let within = state.limits.call_timeout();
                        let ack = tokio::time::timeout(within, import_batch(&state, batch, &who))
                            .await
                            .unwrap_or(Err(ApiError::DeadlineExceeded(Some(within))));
                        if let Err(error) = &ack {
                            tracing::warn!(
                                batch = number,
                                error = ?error.to_string(),
                                "import batch failed"
                            );
                        }
                        ack
                    }
                })
                .buffered(IMPORT_CONCURRENCY)
        );
        while let Some(ack) = written.next().await {
            let failed = ack.is_err();
            if acks.send(ack.map_err(Status::from)).await.is_err() || failed {
                break;
            }
        }
        acks
    };
    // Both tasks log in the call's span (its request id: api::calls).
    let ended = async move {
        // The slot is given back when the stream ends, however it ends.
        let _slot = slot;
        let mut task = Box::pin(task);
        tokio::select! {
            _ = &mut task => {}
            () = expired => {
                // The batches being written are rolled back with the task; the client resumes
                // from its last acknowledgement.
                drop(task);
                tracing::warn!("import stream open at the end of the shutdown grace");
                let status = Status::from(ApiError::ShuttingDown);
                let _unread = tokio::time::timeout(
                    std::time::Duration::from_secs(1),
                    last_word.send(Err(status)),
                )
                .await;
            }
        }
    };
    tokio::spawn(ended.in_current_span());
    receiver
}

/// A batch read from the stream, with its share of the request byte budget.
type Read = (
    pb::ImportCasesRequest,
    Option<tokio::sync::OwnedSemaphorePermit>,
);

/// The answer to a stream that sent no batch for `idle`.
fn idle_stream(idle: std::time::Duration) -> Status {
    Status::from(ApiError::IdleStream(idle))
}

/// Validates one import batch and stores its valid cases in one transaction.
async fn import_batch(
    state: &AppState,
    batch: pb::ImportCasesRequest,
    who: &Guard,
) -> Result<pb::ImportCasesResponse, ApiError> {
    if batch.cases.len() > MAX_IMPORT_BATCH {
        return Err(ApiError::invalid(
            "cases",
            format!(
                "batch {} has {} cases; send at most {MAX_IMPORT_BATCH} per batch",
                batch.batch_number,
                batch.cases.len()
            ),
        ));
    }
    let mut rejections = Vec::new();
    let mut rejected = 0;
    let mut valid = Vec::with_capacity(batch.cases.len());
    for (position, case) in batch.cases.iter().enumerate() {
        match new_case(state, case, &format!("cases[{position}]"), "") {
            Ok(command) => valid.push(command),
            Err(violations) => {
                rejected += 1;
                rejections.extend(violations.into_iter().map(|v| pb::ImportRejection {
                    position: position as i32,
                    field: v.field,
                    reason: v.description,
                }));
            }
        }
    }
    let _turn = state.limits.import_write().await?;
    let imported = service::import_batch(state, valid, who).await?;
    crate::metrics::cases_imported(
        u64::try_from(imported.created).unwrap_or_default(),
        u64::try_from(imported.already_present).unwrap_or_default(),
        rejected,
    );
    Ok(pb::ImportCasesResponse {
        batch_number: batch.batch_number,
        created: imported.created,
        already_present: imported.already_present,
        rejections,
    })
}
