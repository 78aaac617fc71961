//! What a rollup query counts ([`RollupQuery`]: a region's subtree, a period, its comparison
//! period and the bucket level), and the cases pending at a day by acceptance date.

use diesel::sql_types::{BigInt, Date, Text};
use diesel::{QueryableByName, result::QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::period::DateSpan;

pub use crate::domain::metric::BucketTally;

/// What a rollup query counts: the subtree, the two periods and the bucket level.
#[derive(Debug, Clone, Copy)]
pub struct RollupQuery<'a> {
    /// Code of the region whose subtree is counted.
    pub region: &'a str,
    /// The period.
    pub period: DateSpan,
    /// The comparison period.
    pub previous: DateSpan,
    /// Level of the bucket regions (procura.v1.RegionLevel number).
    pub bucket_level: i16,
}

#[derive(QueryableByName)]
struct PendingRow {
    #[diesel(sql_type = Date)]
    accepted_on: chrono::NaiveDate,
    #[diesel(sql_type = BigInt)]
    cases: i64,
}

/// The cases of the subtree of `region` pending at day `end`, by acceptance date.
pub async fn pending_by_acceptance(
    conn: &mut AsyncPgConnection,
    region: &str,
    end: chrono::NaiveDate,
) -> QueryResult<Vec<(chrono::NaiveDate, i64)>> {
    let rows: Vec<PendingRow> = diesel::sql_query(include_str!("pending.sql"))
        .bind::<Text, _>(region)
        .bind::<Date, _>(end)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.accepted_on, r.cases)).collect())
}
