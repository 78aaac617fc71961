//! The rollup queries: figures of a region's subtree for a period and its comparison period,
//! per bucket region (see `measures.sql`). The sums over buckets are the subtree's figures.

use std::collections::BTreeMap;

use diesel::sql_types::{Array, BigInt, Date, Integer, SmallInt, Text};
use diesel::{QueryableByName, result::QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::metric::{self, index};
use crate::domain::period::DateSpan;

pub use crate::domain::metric::BucketTally;

#[derive(QueryableByName)]
struct KeyedCounts {
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = SmallInt)]
    key: i16,
    #[diesel(sql_type = BigInt)]
    current: i64,
    #[diesel(sql_type = BigInt)]
    current_extra: i64,
    #[diesel(sql_type = BigInt)]
    previous: i64,
    #[diesel(sql_type = BigInt)]
    previous_extra: i64,
}

#[derive(QueryableByName)]
struct CaseCounts {
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = BigInt)]
    accepted: i64,
    #[diesel(sql_type = BigInt)]
    accepted_previous: i64,
    #[diesel(sql_type = BigInt)]
    concluded: i64,
    #[diesel(sql_type = BigInt)]
    concluded_previous: i64,
    #[diesel(sql_type = BigInt)]
    leader_handled: i64,
    #[diesel(sql_type = BigInt)]
    leader_handled_previous: i64,
    #[diesel(sql_type = BigInt)]
    public_hearing: i64,
    #[diesel(sql_type = BigInt)]
    public_hearing_previous: i64,
    #[diesel(sql_type = BigInt)]
    private_enterprise: i64,
    #[diesel(sql_type = BigInt)]
    private_enterprise_previous: i64,
    #[diesel(sql_type = BigInt)]
    spp_listed: i64,
    #[diesel(sql_type = BigInt)]
    spp_listed_previous: i64,
    #[diesel(sql_type = BigInt)]
    spp_listed_private_enterprise: i64,
    #[diesel(sql_type = BigInt)]
    spp_listed_private_enterprise_previous: i64,
    #[diesel(sql_type = BigInt)]
    typical: i64,
    #[diesel(sql_type = BigInt)]
    typical_previous: i64,
    #[diesel(sql_type = Array<Integer>)]
    batches: Vec<i32>,
    #[diesel(sql_type = Array<Integer>)]
    batches_previous: Vec<i32>,
}

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

macro_rules! bind_query {
    ($sql:expr, $q:expr) => {
        diesel::sql_query($sql)
            .bind::<Text, _>($q.region)
            .bind::<Date, _>($q.period.start)
            .bind::<Date, _>($q.period.end)
            .bind::<Date, _>($q.previous.start)
            .bind::<Date, _>($q.previous.end)
            .bind::<SmallInt, _>($q.bucket_level)
    };
}

/// Counts every figure of the subtree per bucket region, by plain aggregates over the records.
pub async fn by_bucket(
    conn: &mut AsyncPgConnection,
    q: RollupQuery<'_>,
) -> QueryResult<BTreeMap<String, BucketTally>> {
    let mut buckets: BTreeMap<String, BucketTally> = BTreeMap::new();

    let measures: Vec<KeyedCounts> = bind_query!(include_str!("measures.sql"), q)
        .load(conn)
        .await?;
    for row in measures {
        let tally = buckets.entry(row.bucket).or_default();
        if let (Some(kind), Some(adopted)) = (
            metric::measure_kind(row.key),
            metric::measure_kind_adopted(row.key),
        ) {
            tally.current.add(kind, row.current);
            tally.current.add(adopted, row.current_extra);
            tally.previous.add(kind, row.previous);
            tally.previous.add(adopted, row.previous_extra);
        }
    }

    let resolutions: Vec<KeyedCounts> = bind_query!(include_str!("resolutions.sql"), q)
        .load(conn)
        .await?;
    for row in resolutions {
        let tally = buckets.entry(row.bucket).or_default();
        if let Some(method) = metric::resolution_method(row.key) {
            for (side, count, extra) in [
                (&mut tally.current, row.current, row.current_extra),
                (&mut tally.previous, row.previous, row.previous_extra),
            ] {
                side.add(method, count);
                side.add(index::RESOLUTIONS_TOTAL, count);
                side.add(index::RESOLUTIONS_PRIVATE_ENTERPRISE, extra);
            }
        }
    }

    let aid: Vec<KeyedCounts> = bind_query!(include_str!("aid.sql"), q).load(conn).await?;
    for row in aid {
        let tally = buckets.entry(row.bucket).or_default();
        tally.current.add(index::AID_GRANTS, row.current);
        tally.current.add(index::AID_AMOUNT_FEN, row.current_extra);
        tally.previous.add(index::AID_GRANTS, row.previous);
        tally
            .previous
            .add(index::AID_AMOUNT_FEN, row.previous_extra);
    }

    let cases: Vec<CaseCounts> = bind_query!(include_str!("cases.sql"), q).load(conn).await?;
    for row in cases {
        let tally = buckets.entry(row.bucket).or_default();
        let pairs = [
            (index::CASES_ACCEPTED, row.accepted, row.accepted_previous),
            (
                index::CASES_CONCLUDED,
                row.concluded,
                row.concluded_previous,
            ),
            (
                index::LEADER_HANDLED,
                row.leader_handled,
                row.leader_handled_previous,
            ),
            (
                index::PUBLIC_HEARING,
                row.public_hearing,
                row.public_hearing_previous,
            ),
            (
                index::PRIVATE_ENTERPRISE,
                row.private_enterprise,
                row.private_enterprise_previous,
            ),
            (index::SPP_LISTED, row.spp_listed, row.spp_listed_previous),
            (
                index::SPP_LISTED_PRIVATE_ENTERPRISE,
                row.spp_listed_private_enterprise,
                row.spp_listed_private_enterprise_previous,
            ),
            (index::TYPICAL, row.typical, row.typical_previous),
        ];
        for (metric, current, previous) in pairs {
            tally.current.add(metric, current);
            tally.previous.add(metric, previous);
        }
        row.batches
            .into_iter()
            .for_each(|b| tally.current.add_batch(b));
        row.batches_previous
            .into_iter()
            .for_each(|b| tally.previous.add_batch(b));
    }
    Ok(buckets)
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
