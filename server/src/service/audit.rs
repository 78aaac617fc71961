//! The access log's writer: calls hand their entries to one task, which appends them in
//! batches (one INSERT for the writes and denials waiting, one row for each principal's reads
//! through one method). A write or a denial waits until its entry is
//! committed before its answer goes out, so that no answered write is missing from the log;
//! a logged read does not wait: its entry is appended within [`LINGER`] and a little more,
//! committed without waiting for the disk (so a crash can lose the reads of the last moments).

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::db::Pool;
use crate::db::access::{EventRow, insert_events, insert_read_group};

/// Entries appended by one INSERT at most.
const BATCH: usize = 1_000;

/// Entries waiting beyond which new ones are dropped (and that is logged): the log's writer
/// is behind by this much only when the database has been unreachable for a while.
const QUEUE: usize = 100_000;

/// How long a write waits for its entry before answering anyway (the entry stays queued).
const WAIT: Duration = Duration::from_secs(5);

type Entry = (EventRow, Option<oneshot::Sender<()>>);

/// Where calls send their access-log entries.
#[derive(Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<Entry>,
}

impl AuditLog {
    /// Starts the writer on `pool`.
    pub fn start(pool: Pool) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_entries(pool, receiver));
        AuditLog { sender }
    }

    /// Appends `event`; with `wait`, returns once it is committed (or after [`WAIT`]).
    pub async fn record(&self, event: EventRow, wait: bool) {
        let (done, committed) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        if let Err(error) = self.sender.try_send((event, done)) {
            let event = match error {
                mpsc::error::TrySendError::Full((e, _))
                | mpsc::error::TrySendError::Closed((e, _)) => e,
            };
            tracing::error!(
                method = %event.method,
                principal = ?event.principal,
                "the access log's queue is full: entry dropped"
            );
            return;
        }
        if let Some(committed) = committed
            && tokio::time::timeout(WAIT, committed).await.is_err()
        {
            tracing::warn!("an access-log entry is not committed yet; answering anyway");
        }
    }
}

/// How long entries of reads alone gather before they are appended.
const LINGER: Duration = Duration::from_millis(20);

/// Moves the entries waiting into `batch`, up to [`BATCH`].
fn drain(receiver: &mut mpsc::Receiver<Entry>, batch: &mut Vec<Entry>) {
    while batch.len() < BATCH {
        match receiver.try_recv() {
            Ok(entry) => batch.push(entry),
            Err(_) => break,
        }
    }
}

/// Appends `batch` in one transaction, in the order the entries came: each write or denial
/// as a row of its own, the reads as one row per principal, method and outcome, placed where
/// the first of them came (a read alone is a row of its own too). A batch nobody waits for
/// is committed without waiting for the disk.
async fn append(
    conn: &mut diesel_async::AsyncPgConnection,
    batch: &[Entry],
) -> diesel::QueryResult<()> {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let waited = batch.iter().any(|(_, done)| done.is_some());
    let mut rows: Vec<Vec<&EventRow>> = Vec::new();
    let mut groups: HashMap<(&str, &str, i16, &str, &str), usize> = HashMap::new();
    for (event, done) in batch {
        if done.is_some() {
            rows.push(vec![event]);
            continue;
        }
        let key = (
            event.principal.as_str(),
            event.method.as_str(),
            event.outcome,
            event.code.as_str(),
            event.permission.as_str(),
        );
        match groups.get(&key) {
            Some(&row) => rows[row].push(event),
            None => {
                groups.insert(key, rows.len());
                rows.push(vec![event]);
            }
        }
    }
    conn.transaction(async |conn| {
        if !waited {
            diesel::sql_query("SET LOCAL synchronous_commit = off")
                .execute(conn)
                .await?;
        }
        // Rows of one entry go in runs, one statement a run.
        let mut run: Vec<&EventRow> = Vec::new();
        for row in &rows {
            if let [single] = row.as_slice() {
                run.push(single);
                continue;
            }
            if !run.is_empty() {
                insert_events(conn, &run).await?;
                run.clear();
            }
            insert_read_group(conn, row).await?;
        }
        if !run.is_empty() {
            insert_events(conn, &run).await?;
        }
        Ok(())
    })
    .await
}

async fn write_entries(pool: Pool, mut receiver: mpsc::Receiver<Entry>) {
    let mut batch: Vec<Entry> = Vec::with_capacity(BATCH);
    let mut pause = Duration::from_millis(100);
    loop {
        if batch.is_empty() {
            match receiver.recv().await {
                Some(entry) => batch.push(entry),
                None => return,
            }
        }
        drain(&mut receiver, &mut batch);
        // Reads are not waited for: their entries gather a little longer, to be appended
        // many at a time, and committed without waiting for the disk (a crash may lose the
        // last few milliseconds of reads, never an answered write or denial).
        let waited = batch.iter().any(|(_, done)| done.is_some());
        if !waited && batch.len() < BATCH {
            tokio::time::sleep(LINGER).await;
            drain(&mut receiver, &mut batch);
        }
        let written = match pool.get().await {
            Ok(mut conn) => append(&mut conn, &batch).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match written {
            Ok(()) => {
                pause = Duration::from_millis(100);
                for (_, done) in batch.drain(..) {
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, entries = batch.len(), "cannot append to the access log; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
