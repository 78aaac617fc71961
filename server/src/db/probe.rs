//! The health check's own connection: whether the database answers, asked directly rather
//! than through the pool, so that a pool whose connections are all in use is not mistaken for
//! a database that is down.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// Longest the database may take to answer the check (connecting included).
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// A connection of its own to the database, opened again whenever a check fails.
pub struct Probe {
    url: String,
    conn: Option<AsyncPgConnection>,
}

impl Probe {
    /// A probe of the database at `url`; it connects at the first check.
    pub fn new(url: &str) -> Self {
        Probe {
            url: url.to_owned(),
            conn: None,
        }
    }

    /// Whether the database answers `SELECT 1` within [`ANSWER_WITHIN`]. A connection that
    /// failed or was too slow is dropped (a frozen database would leave it mid-statement).
    pub async fn answers(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
        if self.conn.is_none() {
            match tokio::time::timeout_at(deadline, AsyncPgConnection::establish(&self.url)).await {
                Ok(Ok(conn)) => self.conn = Some(conn),
                _ => return false,
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let answered = matches!(
            tokio::time::timeout_at(deadline, diesel::sql_query("SELECT 1").execute(conn)).await,
            Ok(Ok(_))
        );
        if !answered {
            self.conn = None;
        }
        answered
    }
}
