//! The pending cases kept by acceptance and conclusion (`pending_totals`, migration 000012),
//! so that the pending-by-age indicators of a national rollup over a period ending on a
//! month's last day read counts instead of records.
//!
//! A case is pending at day E when it was accepted by then, not concluded by then and not
//! withdrawn. With E a month's last day, "not concluded by E" is "concluded in a month after
//! E's, or not yet". The cases pending at E accepted on or before day A are then those
//! accepted in months up to A's (grain 2 rows), less those accepted on the days of A's month
//! after A (grain 3 rows). A whole number of months before a month's last day falls on day 28
//! or later of its month, so only days 29 to 31 are kept by day.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use diesel::QueryableByName;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, Date, Integer, SmallInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::enums::CaseStatus;
use crate::domain::metric::PENDING_AGES;
use crate::domain::period::Grain;
use crate::domain::record::Case;
use crate::domain::region::NATIONAL;

/// The conclusion month of a case not concluded.
const NOT_CONCLUDED: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 1).expect("a valid date");

/// The first day of the month kept by day as well as by month.
const FIRST_DAY_KEPT: u32 = 29;

/// A row of `pending_totals`: the subtree (the nation's only), the acceptance bucket (its
/// grain and first day) and the month of conclusion.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Key {
    grain: i16,
    accepted: NaiveDate,
    concluded: NaiveDate,
}

/// Changes to the kept pending counts, by row.
pub(super) type Changes = HashMap<Key, i64>;

/// Adds `sign` × the rows `state` counts in to `changes`: none for a withdrawn case.
pub(super) fn add_state(changes: &mut Changes, state: &Case, sign: i64) {
    if state.status == CaseStatus::Withdrawn {
        return;
    }
    let concluded = state
        .concluded_on
        .map_or(NOT_CONCLUDED, |day| Grain::Month.bucket(day));
    let month = Key {
        grain: Grain::Month as i16,
        accepted: Grain::Month.bucket(state.accepted_on),
        concluded,
    };
    *changes.entry(month).or_insert(0) += sign;
    if state.accepted_on.day() >= FIRST_DAY_KEPT {
        let day = Key {
            grain: Grain::Day as i16,
            accepted: state.accepted_on,
            concluded,
        };
        *changes.entry(day).or_insert(0) += sign;
    }
}

/// Adds the pending count changes `rows` (non-zero, sorted) to `pending_totals`, and logs them
/// (they are the nation's, shared by every writer).
pub(super) async fn apply(conn: &mut AsyncPgConnection, rows: &[(Key, i64)]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let counts = rows
        .iter()
        .map(|(_, n)| i32::try_from(*n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    for sql in [UPSERT, LOG.as_str()] {
        diesel::sql_query(sql.to_owned())
            .bind::<Text, _>(NATIONAL)
            .bind::<Array<SmallInt>, _>(rows.iter().map(|(k, _)| k.grain).collect::<Vec<_>>())
            .bind::<Array<Date>, _>(rows.iter().map(|(k, _)| k.accepted).collect::<Vec<_>>())
            .bind::<Array<Date>, _>(rows.iter().map(|(k, _)| k.concluded).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(&counts)
            .execute(conn)
            .await?;
    }
    crate::metrics::kept_totals_written("pending_totals", rows.len());
    crate::metrics::kept_totals_written("pending_totals_log", rows.len());
    Ok(())
}

/// Adds changes to `pending_totals` rows of region $1: $2 grains, $3 acceptance buckets, $4
/// conclusion months, $5 changes; in key order.
const UPSERT: &str = "INSERT INTO pending_totals AS t (region_code, grain, accepted, concluded, cases)
SELECT $1, unnest($2::smallint[]), unnest($3::date[]), unnest($4::date[]), unnest($5::integer[])
ON CONFLICT (region_code, grain, accepted, concluded) DO UPDATE SET cases = t.cases + excluded.cases";

/// Logs changes to `pending_totals_log`, bound as [`UPSERT`].
static LOG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    super::log_statement(UPSERT, "pending_totals AS t", "pending_totals_log")
});

/// The days a pending-by-age count at `end` splits at: cases accepted on or before each of
/// them (12, 6 and 3 months before `end`, and `end`) are pending over 12 months, over 6, over
/// 3, or at all ([`crate::domain::metric::pending_age`]).
fn edges(end: NaiveDate) -> [NaiveDate; 4] {
    let before = |months: u32| end.checked_sub_months(Months::new(months)).unwrap_or(end);
    [before(12), before(6), before(3), end]
}

/// The last day of `day`'s month.
fn month_end(day: NaiveDate) -> NaiveDate {
    Grain::Month
        .bucket(day)
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(day)
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SmallInt)]
    grain: i16,
    #[diesel(sql_type = Date)]
    accepted: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    cases: i64,
}

/// The cases of the subtree of `region` pending at `end` by age class
/// ([`PENDING_AGES`] order), from the kept counts: now (in the caller's snapshot), or as of
/// the snapshot `as_of` (the kept counts less the changes logged since). `None` when they
/// cannot tell: a region other than the nation, an `end` that is not a month's last day, or
/// a snapshot older than the log.
pub async fn by_age(
    conn: &mut AsyncPgConnection,
    region: &str,
    end: NaiveDate,
    as_of: Option<&str>,
) -> QueryResult<Option<[i64; PENDING_AGES.len()]>> {
    if region != NATIONAL || month_end(end) != end {
        return Ok(None);
    }
    let edges = edges(end);
    // Every edge falls on a kept day or a month's last day.
    if edges
        .iter()
        .any(|edge| *edge != month_end(*edge) && edge.day() + 1 < FIRST_DAY_KEPT)
    {
        return Ok(None);
    }
    // Rows of cases not concluded by `end`, accepted by its month's end.
    let select = "SELECT grain, accepted, sum(cases)::bigint AS cases FROM {table} \
                  WHERE region_code = $1 AND concluded > $2 AND accepted <= $3 {unseen} \
                  GROUP BY 1, 2";
    let read =
        |table: &str, unseen: &str| select.replace("{table}", table).replace("{unseen}", unseen);
    if let Some(snapshot) = as_of
        && !super::log_reaches(conn, snapshot).await?
    {
        return Ok(None);
    }
    let live: Vec<Row> = diesel::sql_query(read("pending_totals", ""))
        .bind::<Text, _>(region)
        .bind::<Date, _>(Grain::Month.bucket(end))
        .bind::<Date, _>(end)
        .load(conn)
        .await?;
    let mut at_edges = at_edges(&live, &edges);
    if let Some(snapshot) = as_of {
        let since: Vec<Row> = diesel::sql_query(read(
            "pending_totals_log",
            "AND xid >= pg_snapshot_xmin($4::text::pg_snapshot) \
             AND NOT pg_visible_in_snapshot(xid, $4::text::pg_snapshot)",
        ))
        .bind::<Text, _>(region)
        .bind::<Date, _>(Grain::Month.bucket(end))
        .bind::<Date, _>(end)
        .bind::<Text, _>(snapshot)
        .load(conn)
        .await?;
        for (count, logged) in at_edges.iter_mut().zip(self::at_edges(&since, &edges)) {
            *count -= logged;
        }
    }
    // Accepted by each edge and still pending, to the classes between the edges.
    let [over_12, over_6, over_3, all] = at_edges;
    Ok(Some([
        all - over_3,
        over_3 - over_6,
        over_6 - over_12,
        over_12,
    ]))
}

/// For each edge, the cases of `rows` accepted on or before it: those of the months up to
/// its month, less those of the days of its month after it.
fn at_edges(rows: &[Row], edges: &[NaiveDate; 4]) -> [i64; 4] {
    edges.map(|edge| {
        let month = Grain::Month.bucket(edge);
        rows.iter()
            .map(|row| match row.grain {
                2 if row.accepted <= month => row.cases,
                3 if row.accepted > edge && Grain::Month.bucket(row.accepted) == month => {
                    -row.cases
                }
                _ => 0,
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn the_edges_of_a_month_end_fall_on_kept_days_or_month_ends() {
        for year in 2019..=2021 {
            for month in 1..=12 {
                let end = month_end(day(year, month, 1));
                for edge in edges(end) {
                    assert!(
                        edge == month_end(edge) || edge.day() + 1 >= FIRST_DAY_KEPT,
                        "{end}: {edge}"
                    );
                }
            }
        }
        assert_eq!(edges(day(2020, 4, 30))[2], day(2020, 1, 30));
        assert_eq!(month_end(day(2020, 2, 10)), day(2020, 2, 29));
    }

    #[test]
    fn cases_at_an_edge_count_their_months_less_the_days_after_it() {
        let row = |grain: i16, accepted, cases| Row {
            grain,
            accepted,
            cases,
        };
        let rows = [
            row(2, day(2020, 1, 1), 10),
            row(3, day(2020, 1, 31), 4),
            row(2, day(2019, 12, 1), 5),
            row(2, day(2020, 2, 1), 7),
        ];
        let edges = [
            day(2019, 12, 31),
            day(2020, 1, 30),
            day(2020, 1, 31),
            day(2020, 2, 29),
        ];
        assert_eq!(at_edges(&rows, &edges), [5, 11, 15, 22]);
    }
}
