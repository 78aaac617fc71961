//! The independent recount: every figure of a rollup counted again from the raw records by one
//! plain SQL query (`recount/figures.sql`), written from the contract's counting rules rather
//! than from the server's code. The end-to-end tests compare the server's rollups with it; a
//! bug in the server's metric table, derived figures, region closure or kept totals shows up as
//! a difference.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::sql_types::{Bool, Date, SmallInt, Text};
use diesel::{QueryableByName, result::QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Every metric a rollup reports, as the contract lists them (`Figure.metric` in
/// `proto/procura/v1/report.proto`).
pub const METRICS: [&str; 32] = [
    "measures.total",
    "measures.protest_and_retrial",
    "measures.protest",
    "measures.retrial_suggestion",
    "measures.trial_violation_suggestion",
    "measures.enforcement_violation_suggestion",
    "measures.social_governance_suggestion",
    "measures.administrative_organ_suggestion",
    "measures.protest.adopted",
    "measures.retrial_suggestion.adopted",
    "measures.trial_violation_suggestion.adopted",
    "measures.enforcement_violation_suggestion.adopted",
    "measures.social_governance_suggestion.adopted",
    "measures.administrative_organ_suggestion.adopted",
    "cases.accepted",
    "cases.concluded",
    "resolutions.total",
    "resolutions.private_enterprise",
    "resolutions.supervision_correction",
    "resolutions.reconciliation",
    "resolutions.judicial_assistance",
    "resolutions.public_hearing_settlement",
    "resolutions.other",
    "aid.grants",
    "aid.amount_fen",
    "markers.leader_handled",
    "markers.public_hearing",
    "markers.private_enterprise",
    "markers.spp_listed",
    "markers.spp_listed_private_enterprise",
    "markers.spp_listed_batches",
    "markers.typical",
];

const FIGURES_SQL: &str = include_str!("recount/figures.sql");

/// What to recount: a region's subtree, a period and its comparison period (both ends
/// included), and the level of the bucket regions (1 national … 4 county).
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub region: &'a str,
    pub period: (NaiveDate, NaiveDate),
    pub previous: (NaiveDate, NaiveDate),
    pub bucket_level: i16,
}

/// A figure's value in the period and in the comparison period.
pub type Values = (i64, i64);

/// The recounted figures by metric id: the subtree's totals (every metric, zeros included) and
/// one row per bucket region with a record counted in either period (every metric too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recount {
    pub totals: BTreeMap<String, Values>,
    pub rows: BTreeMap<String, BTreeMap<String, Values>>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Bool)]
    total: bool,
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = Text)]
    metric: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    current: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    previous: i64,
}

fn zeros() -> BTreeMap<String, Values> {
    METRICS.iter().map(|m| ((*m).to_owned(), (0, 0))).collect()
}

/// Recounts every figure of `q` from the records, as they stand in `conn`'s snapshot.
pub async fn recount(conn: &mut AsyncPgConnection, q: Query<'_>) -> QueryResult<Recount> {
    let found: Vec<Row> = diesel::sql_query(FIGURES_SQL)
        .bind::<Text, _>(q.region)
        .bind::<Date, _>(q.period.0)
        .bind::<Date, _>(q.period.1)
        .bind::<Date, _>(q.previous.0)
        .bind::<Date, _>(q.previous.1)
        .bind::<SmallInt, _>(q.bucket_level)
        .load(conn)
        .await?;
    let mut out = Recount {
        totals: zeros(),
        rows: BTreeMap::new(),
    };
    for row in found {
        let figures = if row.total {
            &mut out.totals
        } else {
            out.rows.entry(row.bucket).or_insert_with(zeros)
        };
        // A metric the query names but the contract does not is kept, so that it shows up as a
        // difference rather than vanishing.
        figures.insert(row.metric, (row.current, row.previous));
    }
    Ok(out)
}
