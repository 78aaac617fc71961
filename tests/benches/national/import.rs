//! The import through `CaseService/ImportCases`, one stream per segment, timed.

use super::*;

pub(crate) struct ImportResult {
    pub(crate) counts: Counts,
    pub(crate) elapsed: Duration,
    pub(crate) batches: u64,
    pub(crate) encoded_bytes: u64,
}

/// Imports cases `from..to` over one ImportCases stream, `in_flight` batches at a time.
pub(crate) async fn import_range(
    channel: Authed,
    generator: Arc<Generator>,
    from: u64,
    to: u64,
    args: &Args,
) -> Result<ImportResult> {
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(args.in_flight));
    let (sender, receiver) = tokio::sync::mpsc::channel::<pb::ImportCasesRequest>(args.in_flight);
    let batch = args.batch;
    let producer = {
        let permits = permits.clone();
        tokio::spawn(async move {
            let mut counts = Counts::default();
            let mut bytes = 0u64;
            let mut number = 0i64;
            let mut start = from;
            while start < to {
                let end = (start + batch).min(to);
                permits.acquire().await?.forget();
                let generator = generator.clone();
                let (cases, batch_counts) =
                    tokio::task::spawn_blocking(move || generator.proto_batch(start, end)).await?;
                counts.merge(batch_counts);
                number += 1;
                let request = pb::ImportCasesRequest {
                    batch_number: number,
                    cases,
                };
                bytes += prost::Message::encoded_len(&request) as u64;
                if sender.send(request).await.is_err() {
                    break;
                }
                start = end;
            }
            anyhow::Ok((counts, number as u64, bytes))
        })
    };
    let mut client = CaseServiceClient::new(channel)
        .max_encoding_message_size(64 << 20)
        .max_decoding_message_size(64 << 20);
    let mut acks = client
        .import_cases(ReceiverStream::new(receiver))
        .await
        .context("ImportCases")?
        .into_inner();
    let mut created = 0u64;
    let mut acked = 0u64;
    while let Some(ack) = acks.message().await.context("ImportCases stream")? {
        ensure!(
            ack.rejections.is_empty(),
            "batch {} had {} rejections, the first: {:?}",
            ack.batch_number,
            ack.rejections.len(),
            ack.rejections.first()
        );
        ensure!(
            ack.already_present == 0,
            "batch {} found {} cases already present",
            ack.batch_number,
            ack.already_present
        );
        created += ack.created as u64;
        acked += 1;
        permits.add_permits(1);
    }
    let elapsed = started.elapsed();
    let (counts, batches, encoded_bytes) = producer.await??;
    ensure!(
        acked == batches,
        "{acked} acknowledgements for {batches} batches"
    );
    ensure!(
        created == counts.cases,
        "the server created {created} cases of {}",
        counts.cases
    );
    Ok(ImportResult {
        counts,
        elapsed,
        batches,
        encoded_bytes,
    })
}

// ---------------------------------------------------------------------------------------------
