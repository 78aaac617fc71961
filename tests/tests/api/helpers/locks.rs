//! Holding a table locked from a test's own transaction, and waiting until the server's
//! statements wait behind it (shared by the `api` and `faults` test targets).

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// A transaction of the test's holding a lock (a LOCK TABLE statement) until released or
/// dropped: the statements that need the table wait behind it.
pub struct Blocker(AsyncPgConnection);

impl Blocker {
    /// Begins a transaction on the database at `url` and runs `lock` in it.
    pub async fn hold(url: &str, lock: &str) -> Blocker {
        let mut conn = AsyncPgConnection::establish(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        conn.batch_execute(&format!("BEGIN; {lock}"))
            .await
            .unwrap_or_else(|e| panic!("{lock}: {e}"));
        Blocker(conn)
    }

    /// Ends the transaction, and its lock.
    pub async fn release(mut self) {
        self.0
            .batch_execute("COMMIT")
            .await
            .expect("ending the blocking transaction");
    }
}

/// Waits until at least `count` statements of the database at `url` wait on a lock (read
/// from a connection of its own: inside a transaction, pg_stat_activity keeps its first
/// answer).
pub async fn until_waiting_on_locks(url: &str, count: i64) {
    let mut watcher = AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    for _ in 0..1000 {
        let waiting: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
              AND wait_event_type = 'Lock')",
        ))
        .get_result(&mut watcher)
        .await
        .expect("reading pg_stat_activity");
        if waiting >= count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{count} statements never waited on a lock");
}
