//! ImportCases: a stream of batches, each validated and stored in its own transaction, each
//! acknowledged once committed, in batch order.

use procura_proto::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tracing::Instrument;

use super::requests::new_case;
use crate::api::{AppState, decoding};
use crate::error::ApiError;
use crate::service::access::Guard;
use crate::service::cases as service;

/// Most cases in one import batch.
pub const MAX_IMPORT_BATCH: usize = 10_000;

/// Import batches written at the same time, on as many connections.
const IMPORT_CONCURRENCY: usize = 2;

/// Starts writing the batches of `inbound` for the caller `who`; the acknowledgements come out of the
/// receiver, one per batch, in order, and end after the first failure.
pub fn serve(
    state: AppState,
    inbound: Streaming<pb::ImportCasesRequest>,
    who: Guard,
) -> tokio::sync::mpsc::Receiver<Result<pb::ImportCasesResponse, Status>> {
    // Two batches are written at a time, each in its own transaction on its own
    // connection, while at most two acknowledgements wait to be sent, in batch order. No
    // further batch is read before that, so a slow database slows the client down through
    // HTTP/2 flow control and memory stays bounded.
    let (acks, receiver) = tokio::sync::mpsc::channel(2);
    let writer = async move {
        use futures::StreamExt;
        // A message that cannot be read (one that does not decode, or a broken stream) is
        // queued as its error and answered after the acknowledgements of the batches before
        // it: INVALID_ARGUMENT when it does not decode (see `api::decoding`).
        let (queue, queued) =
            tokio::sync::mpsc::channel::<Result<pb::ImportCasesRequest, Status>>(1);
        let reader = async move {
            let mut inbound = inbound;
            loop {
                match inbound.message().await {
                    Ok(Some(batch)) => {
                        if queue.send(Ok(batch)).await.is_err() {
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
                        let batch = batch.map_err(ApiError::Answered)?;
                        let number = batch.batch_number;
                        let ack = import_batch(&state, batch, &who).await;
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
    };
    // Both tasks log in the call's span (its request id: api::calls).
    tokio::spawn(writer.in_current_span());
    receiver
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
