//! Reference queries: every rollup figure of a subtree per bucket region, counted by plain
//! aggregates over the records (`reference/*.sql`). Tests and the benchmark compare the
//! server's kept totals with them; production code does not use them.

use std::collections::BTreeMap;

use diesel::sql_types::{Array, BigInt, Date, Integer, SmallInt, Text};
use diesel::{QueryableByName, result::QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use procura_server::db::rollup::RollupQuery;
use procura_server::domain::metric::{self, BucketTally, index};

/// The figures `cases.sql` counts: the column of the period (the comparison period's column
/// adds `_previous`) and the figure it feeds, in the order of [`CaseCounts::counts`].
const CASE_FIGURES: [(&str, usize); 8] = [
    ("accepted", index::CASES_ACCEPTED),
    ("concluded", index::CASES_CONCLUDED),
    ("leader_handled", index::LEADER_HANDLED),
    ("public_hearing", index::PUBLIC_HEARING),
    ("private_enterprise", index::PRIVATE_ENTERPRISE),
    ("spp_listed", index::SPP_LISTED),
    (
        "spp_listed_private_enterprise",
        index::SPP_LISTED_PRIVATE_ENTERPRISE,
    ),
    ("typical", index::TYPICAL),
];

const MEASURES_SQL: &str = include_str!("reference/measures.sql");
const RESOLUTIONS_SQL: &str = include_str!("reference/resolutions.sql");
const AID_SQL: &str = include_str!("reference/aid.sql");
const CASES_SQL: &str = include_str!("reference/cases.sql");

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

impl CaseCounts {
    /// The counts of the period and the comparison period, in [`CASE_FIGURES`] order.
    fn counts(&self) -> [(i64, i64); CASE_FIGURES.len()] {
        [
            (self.accepted, self.accepted_previous),
            (self.concluded, self.concluded_previous),
            (self.leader_handled, self.leader_handled_previous),
            (self.public_hearing, self.public_hearing_previous),
            (self.private_enterprise, self.private_enterprise_previous),
            (self.spp_listed, self.spp_listed_previous),
            (
                self.spp_listed_private_enterprise,
                self.spp_listed_private_enterprise_previous,
            ),
            (self.typical, self.typical_previous),
        ]
    }
}

async fn load<T: QueryableByName<diesel::pg::Pg> + Send + 'static>(
    conn: &mut AsyncPgConnection,
    sql: &'static str,
    q: RollupQuery<'_>,
) -> QueryResult<Vec<T>> {
    diesel::sql_query(sql)
        .bind::<Text, _>(q.region)
        .bind::<Date, _>(q.period.start)
        .bind::<Date, _>(q.period.end)
        .bind::<Date, _>(q.previous.start)
        .bind::<Date, _>(q.previous.end)
        .bind::<SmallInt, _>(q.bucket_level)
        .load(conn)
        .await
}

/// Counts every figure of the subtree per bucket region, by plain aggregates over the records.
pub async fn by_bucket(
    conn: &mut AsyncPgConnection,
    q: RollupQuery<'_>,
) -> QueryResult<BTreeMap<String, BucketTally>> {
    let mut buckets: BTreeMap<String, BucketTally> = BTreeMap::new();

    for row in load::<KeyedCounts>(conn, MEASURES_SQL, q).await? {
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

    for row in load::<KeyedCounts>(conn, RESOLUTIONS_SQL, q).await? {
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

    for row in load::<KeyedCounts>(conn, AID_SQL, q).await? {
        let tally = buckets.entry(row.bucket).or_default();
        tally.current.add(index::AID_GRANTS, row.current);
        tally.current.add(index::AID_AMOUNT_FEN, row.current_extra);
        tally.previous.add(index::AID_GRANTS, row.previous);
        tally
            .previous
            .add(index::AID_AMOUNT_FEN, row.previous_extra);
    }

    for row in load::<CaseCounts>(conn, CASES_SQL, q).await? {
        let counts = row.counts();
        let tally = buckets.entry(row.bucket).or_default();
        for ((_, metric), (current, previous)) in CASE_FIGURES.iter().zip(counts) {
            tally.current.add(*metric, current);
            tally.previous.add(*metric, previous);
        }
        row.batches
            .into_iter()
            .for_each(|b| tally.current.add_batch(b, 1));
        row.batches_previous
            .into_iter()
            .for_each(|b| tally.previous.add_batch(b, 1));
    }
    Ok(buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns `measures.sql`, `resolutions.sql` and `aid.sql` return, in order.
    const KEYED_COLUMNS: [&str; 6] = [
        "bucket",
        "key",
        "current",
        "current_extra",
        "previous",
        "previous_extra",
    ];

    /// The output column names of a query's SELECT list, in order: the name after the last
    /// `AS` of each top-level item.
    fn select_columns(sql: &str) -> Vec<String> {
        let body: String = sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let start = body.find("SELECT").expect("a SELECT") + "SELECT".len();
        let end = body.find("\nFROM").expect("a FROM");
        let mut items = Vec::new();
        let (mut depth, mut item) = (0, String::new());
        for ch in body[start..end].chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(std::mem::take(&mut item));
                    continue;
                }
                _ => {}
            }
            item.push(ch);
        }
        items.push(item);
        items
            .iter()
            .map(|i| {
                let at = i.rfind(" AS ").expect("every column is named with AS");
                i[at + 4..].trim().to_string()
            })
            .collect()
    }

    #[test]
    fn keyed_queries_return_the_keyed_columns() {
        for (name, sql) in [
            ("measures.sql", MEASURES_SQL),
            ("resolutions.sql", RESOLUTIONS_SQL),
            ("aid.sql", AID_SQL),
        ] {
            assert_eq!(select_columns(sql), KEYED_COLUMNS, "{name}");
        }
    }

    #[test]
    fn cases_query_has_a_column_pair_for_each_figure_it_claims() {
        let mut expected = vec!["bucket".to_string()];
        for (column, _) in CASE_FIGURES {
            expected.push(column.to_string());
            expected.push(format!("{column}_previous"));
        }
        expected.push("batches".to_string());
        expected.push("batches_previous".to_string());
        assert_eq!(select_columns(CASES_SQL), expected);
    }

    #[test]
    fn case_figures_are_distinct_figures() {
        let mut metrics: Vec<usize> = CASE_FIGURES.iter().map(|(_, m)| *m).collect();
        metrics.sort_unstable();
        metrics.dedup();
        assert_eq!(metrics.len(), CASE_FIGURES.len());
        assert!(metrics.iter().all(|m| *m < metric::METRICS.len()));
    }
}
