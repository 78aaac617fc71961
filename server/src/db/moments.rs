//! Moments in commit order (migration 000011): what had been committed at a point in time, as
//! a PostgreSQL snapshot, so that figures "as of" a moment count exactly the changes whose
//! transactions had committed by then, whatever time those transactions began.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::result::QueryResult;
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A moment figures are counted at.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Moment {
    /// When.
    #[diesel(sql_type = Timestamptz)]
    pub time: DateTime<Utc>,
    /// The transactions committed then (a `pg_snapshot` as text); none for a time before any
    /// moment was recorded, which is counted by the times the records carry (their writers'
    /// transaction starts).
    #[diesel(sql_type = Nullable<Text>)]
    pub snapshot: Option<String>,
}

/// A condition on rows of `QS`.
pub type Condition<QS> = Box<dyn BoxableExpression<QS, Pg, SqlType = Bool>>;

impl Moment {
    /// "The row had been written at this moment": its writer's transaction (column `xid`;
    /// none for rows written before migration 000011) had committed, or, for a moment
    /// without a snapshot, its stamp (column `time`) is not after it.
    pub fn saw<QS>(&self, xid: &'static str, time: &'static str) -> Condition<QS> {
        match &self.snapshot {
            Some(snapshot) => Box::new(
                sql::<Bool>("(")
                    .sql(xid)
                    .sql(" IS NULL OR pg_visible_in_snapshot(")
                    .sql(xid)
                    .sql(", ")
                    .bind::<Text, _>(snapshot.clone())
                    .sql("::pg_snapshot))"),
            ),
            None => Box::new(
                sql::<Bool>("(")
                    .sql(time)
                    .sql(" <= ")
                    .bind::<Timestamptz, _>(self.time)
                    .sql(")"),
            ),
        }
    }

    /// The opposite of [`Moment::saw`], written so that an index on the `xid` column finds
    /// the rows: "the row was written after this moment".
    pub fn missed<QS>(&self, xid: &'static str, time: &'static str) -> Condition<QS> {
        match &self.snapshot {
            Some(snapshot) => Box::new(
                sql::<Bool>("(")
                    .sql(xid)
                    .sql(" >= pg_snapshot_xmin(")
                    .bind::<Text, _>(snapshot.clone())
                    .sql("::pg_snapshot) AND NOT pg_visible_in_snapshot(")
                    .sql(xid)
                    .sql(", ")
                    .bind::<Text, _>(snapshot.clone())
                    .sql("::pg_snapshot))"),
            ),
            None => Box::new(
                sql::<Bool>("(")
                    .sql(time)
                    .sql(" > ")
                    .bind::<Timestamptz, _>(self.time)
                    .sql(")"),
            ),
        }
    }
}

/// The moment of the caller's transaction: its start and its snapshot (in a repeatable-read
/// transaction, the one every statement of it reads).
pub async fn of_transaction(conn: &mut AsyncPgConnection) -> QueryResult<Moment> {
    diesel::sql_query("SELECT now() AS time, pg_current_snapshot()::text AS snapshot")
        .get_result(conn)
        .await
}

/// The latest moment recorded at or before `time`; `time` itself, without a snapshot, when
/// none was.
pub async fn at(conn: &mut AsyncPgConnection, time: DateTime<Utc>) -> QueryResult<Moment> {
    let found: Option<Moment> = diesel::sql_query(
        "SELECT time, snapshot FROM moments WHERE time <= $1 ORDER BY time DESC, id DESC LIMIT 1",
    )
    .bind::<Timestamptz, _>(time)
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|e| match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    })?;
    Ok(found.unwrap_or(Moment {
        time,
        snapshot: None,
    }))
}

/// Records `moment` unless the moment a rollup as of its time would find already gives the
/// same figures: one at or before it that saw every case and revision `moment` sees. Nothing
/// is written then, and no transaction id is used, so that a read records a moment only
/// after records changed (the log's own writes and other moments do not count).
pub async fn keep(conn: &mut AsyncPgConnection, moment: &Moment) -> QueryResult<()> {
    let Some(snapshot) = &moment.snapshot else {
        return Ok(());
    };
    diesel::sql_query(
        "WITH found AS ( \
             SELECT snapshot::pg_snapshot AS seen FROM moments WHERE time <= $1 \
             ORDER BY time DESC, id DESC LIMIT 1 \
         ), missed AS ( \
             SELECT 1 FROM found, cases c \
             WHERE c.create_xid >= pg_snapshot_xmin(found.seen) \
               AND c.create_xid < pg_snapshot_xmax($2::pg_snapshot) \
               AND pg_visible_in_snapshot(c.create_xid, $2::pg_snapshot) \
               AND NOT pg_visible_in_snapshot(c.create_xid, found.seen) \
             UNION ALL \
             SELECT 1 FROM found, case_revisions r \
             WHERE r.xid >= pg_snapshot_xmin(found.seen) \
               AND r.xid < pg_snapshot_xmax($2::pg_snapshot) \
               AND pg_visible_in_snapshot(r.xid, $2::pg_snapshot) \
               AND NOT pg_visible_in_snapshot(r.xid, found.seen) \
         ) \
         INSERT INTO moments (time, snapshot) \
         SELECT $1, $2 \
         WHERE NOT EXISTS (SELECT 1 FROM found) OR EXISTS (SELECT 1 FROM missed)",
    )
    .bind::<Timestamptz, _>(moment.time)
    .bind::<Text, _>(snapshot)
    .execute(conn)
    .await
    .map(drop)
}

/// [`keep`], waiting at most 200 ms for a lock on the records (held only by maintenance such
/// as `LOCK TABLE` or `VACUUM FULL`); a moment not kept is logged and left out, and the
/// rollup that asked is answered all the same.
pub async fn keep_if_free(conn: &mut AsyncPgConnection, moment: &Moment) {
    use diesel_async::AsyncConnection;
    let kept = conn
        .transaction(async |conn| {
            diesel::sql_query("SET LOCAL lock_timeout = '200ms'")
                .execute(conn)
                .await?;
            keep(conn, moment).await
        })
        .await;
    if let Err(error) = kept {
        tracing::warn!(%error, "the moment of a rollup was not recorded");
    }
}

/// Records `moment` (one with a snapshot).
pub async fn add(conn: &mut AsyncPgConnection, moment: &Moment) -> QueryResult<()> {
    let Some(snapshot) = &moment.snapshot else {
        return Ok(());
    };
    diesel::sql_query("INSERT INTO moments (time, snapshot) VALUES ($1, $2)")
        .bind::<Timestamptz, _>(moment.time)
        .bind::<Text, _>(snapshot)
        .execute(conn)
        .await
        .map(drop)
}

/// Records the moment now.
pub async fn record_now(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO moments (time, snapshot) \
         SELECT statement_timestamp(), pg_current_snapshot()::text",
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Thins out moments older than a day to the last of each minute, keeping every release's;
/// returns how many went.
pub async fn thin_out(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM moments m \
         WHERE m.time < now() - interval '1 day' \
           AND EXISTS (SELECT 1 FROM moments later \
                       WHERE later.time > m.time \
                         AND date_trunc('minute', later.time) = date_trunc('minute', m.time)) \
           AND NOT EXISTS (SELECT 1 FROM releases r \
                           WHERE r.as_of = m.time AND r.as_of_snapshot = m.snapshot)",
    )
    .execute(conn)
    .await
}

/// Records a moment every `every`, and thins out old ones every hour, for as long as it
/// runs; a failure is logged and tried again at the next turn.
pub async fn record_every(pool: super::Pool, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut thinned = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        let mut conn = match pool.get().await {
            Ok(conn) => conn,
            Err(error) => {
                tracing::debug!(%error, "no connection to record a moment");
                continue;
            }
        };
        if let Err(error) = record_now(&mut conn).await {
            tracing::warn!(%error, "cannot record a moment");
        }
        if thinned.elapsed() >= std::time::Duration::from_secs(3600) {
            thinned = tokio::time::Instant::now();
            match thin_out(&mut conn).await {
                Ok(gone) => tracing::debug!(gone, "old moments thinned out"),
                Err(error) => tracing::warn!(%error, "cannot thin out old moments"),
            }
        }
    }
}
