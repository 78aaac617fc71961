//! A rollup as SDMX-CSV 2.0 (`--format sdmx-csv`), the CSV form of SDMX, the standard that
//! statistics offices exchange figures in: one row per observation, under the dataflow
//! [`DATAFLOW`].
//!
//! Columns: `STRUCTURE` (`dataflow`), `STRUCTURE_ID` ([`DATAFLOW`]), `ACTION` (`I`, for
//! information), the dimensions `REGION` (the GB/T 2260 code), `SCOPE` (`subtree`: the
//! region's whole subtree, as every figure of a rollup; `own`: only the records of the
//! procuratorate at the region itself, the breakdown rows of regions above the breakdown
//! level, which would otherwise share their key with the region's subtree), `TIME_PERIOD`
//! and `MEASURE` (the metric id, e.g. `measures.protest_and_retrial`), the measure
//! `OBS_VALUE`, and the attributes `UNIT_MEASURE` (`count` or `fen`) and `OBS_STATUS` (the
//! qualifier of a released figure, `exact` or `more-than`; empty where the figure has none).
//! The comparison period's values are observations of their own period.
//!
//! `TIME_PERIOD` is written as SDMX writes reporting periods: `2020` for a calendar year,
//! `2020-Q4`, `2020-03`, a day as `2020-03-01`, and any other range of days as its first day
//! and length, `2019-11-01/P427D`.

use procura_proto::v1::{Date, DateRange, Figure, Rollup};

use crate::convert::{days_in_month, enum_name, format_date, region_code};
use crate::output::qualifier_cell;

/// The dataflow the rows belong to: agency `PROCURA`, id `DF_SUPERVISION`, version 1.0.
pub const DATAFLOW: &str = "PROCURA:DF_SUPERVISION(1.0)";

/// The header row.
pub const COLUMNS: [&str; 10] = [
    "STRUCTURE",
    "STRUCTURE_ID",
    "ACTION",
    "REGION",
    "SCOPE",
    "TIME_PERIOD",
    "MEASURE",
    "OBS_VALUE",
    "UNIT_MEASURE",
    "OBS_STATUS",
];

/// Days from 1970-01-01 to `date` (proleptic Gregorian), for the length of a range.
fn day_number(date: &Date) -> i64 {
    let (year, month, day) = (
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A range of days as an SDMX time period (see the module comment); empty without both ends.
pub fn time_period(range: &DateRange) -> String {
    let (Some(start), Some(end)) = (range.start.as_ref(), range.end.as_ref()) else {
        return String::new();
    };
    let month_end = |date: &Date| date.day == days_in_month(date.year, date.month);
    if start == end {
        return format_date(start);
    }
    if start.year == end.year && start.day == 1 && month_end(end) {
        if start.month == 1 && end.month == 12 {
            return start.year.to_string();
        }
        if start.month == end.month {
            return format!("{:04}-{:02}", start.year, start.month);
        }
        if start.month % 3 == 1 && end.month == start.month + 2 {
            return format!("{:04}-Q{}", start.year, start.month / 3 + 1);
        }
    }
    let days = day_number(end) - day_number(start) + 1;
    format!("{}/P{days}D", format_date(start))
}

/// The rollup as SDMX-CSV records, the header first: the figures of the region's subtree,
/// then those of each breakdown row; for each figure the period's observation, then the
/// comparison period's when the rollup has one.
pub fn rollup_sdmx_csv(rollup: &Rollup) -> Vec<Vec<String>> {
    let period = rollup.period.as_ref().map(time_period).unwrap_or_default();
    let comparison = rollup.comparison_period.as_ref().map(time_period);
    let mut records = vec![COLUMNS.map(String::from).to_vec()];
    let mut push = |region: &str, scope: &str, figure: &Figure| {
        let unit = enum_name::<procura_proto::v1::Unit>(figure.unit);
        let mut observe = |time: &str, value: i64, status: String| {
            records.push(vec![
                "dataflow".to_owned(),
                DATAFLOW.to_owned(),
                "I".to_owned(),
                region_code(region).to_owned(),
                scope.to_owned(),
                time.to_owned(),
                figure.metric.clone(),
                value.to_string(),
                unit.clone(),
                status,
            ]);
        };
        observe(&period, figure.value, qualifier_cell(figure.qualifier));
        if let (Some(time), Some(previous)) = (&comparison, figure.previous_value) {
            observe(time, previous, String::new());
        }
    };
    for figure in &rollup.figures {
        push(&rollup.region, "subtree", figure);
    }
    for row in &rollup.rows {
        let scope = if row.own_records_only {
            "own"
        } else {
            "subtree"
        };
        for figure in &row.figures {
            push(&row.region, scope, figure);
        }
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use procura_proto::v1::{Qualifier, RollupRow, Unit};

    fn range(start: (i32, i32, i32), end: (i32, i32, i32)) -> DateRange {
        let date = |(year, month, day)| Some(Date { year, month, day });
        DateRange {
            start: date(start),
            end: date(end),
        }
    }

    #[test]
    fn periods_are_written_as_sdmx_reporting_periods() {
        assert_eq!(time_period(&range((2020, 1, 1), (2020, 12, 31))), "2020");
        assert_eq!(
            time_period(&range((2020, 10, 1), (2020, 12, 31))),
            "2020-Q4"
        );
        assert_eq!(time_period(&range((2020, 4, 1), (2020, 6, 30))), "2020-Q2");
        assert_eq!(time_period(&range((2020, 2, 1), (2020, 2, 29))), "2020-02");
        assert_eq!(
            time_period(&range((2020, 3, 1), (2020, 3, 1))),
            "2020-03-01"
        );
        // 2019-11-01..2020-12-31: 61 days of 2019 and 366 of 2020.
        assert_eq!(
            time_period(&range((2019, 11, 1), (2020, 12, 31))),
            "2019-11-01/P427D"
        );
        assert_eq!(
            time_period(&range((2020, 2, 1), (2020, 3, 31))),
            "2020-02-01/P60D"
        );
        assert_eq!(
            time_period(&range((2020, 1, 1), (2020, 12, 30))),
            "2020-01-01/P365D"
        );
        assert_eq!(time_period(&DateRange::default()), "");
    }

    #[test]
    fn every_figure_is_an_observation_with_its_unit_and_qualifier() {
        let figure = |metric: &str, unit: Unit, value, previous, qualifier: i32| Figure {
            metric: metric.to_owned(),
            unit: unit.into(),
            value,
            previous_value: previous,
            qualifier,
            ..Figure::default()
        };
        let rollup = Rollup {
            region: "regions/530000".to_owned(),
            period: Some(range((2020, 1, 1), (2020, 12, 31))),
            comparison_period: Some(range((2019, 1, 1), (2019, 12, 31))),
            figures: vec![
                figure(
                    "measures.total",
                    Unit::Count,
                    6000,
                    Some(2791),
                    Qualifier::MoreThan.into(),
                ),
                figure("aid.amount_fen", Unit::Fen, 1_200_050, None, 0),
            ],
            rows: vec![
                RollupRow {
                    region: "regions/530000".to_owned(),
                    own_records_only: true,
                    figures: vec![figure("measures.total", Unit::Count, 3, Some(0), 0)],
                    ..RollupRow::default()
                },
                RollupRow {
                    region: "regions/530100".to_owned(),
                    figures: vec![figure(
                        "measures.total",
                        Unit::Count,
                        5997,
                        Some(2791),
                        Qualifier::Exact.into(),
                    )],
                    ..RollupRow::default()
                },
            ],
            ..Rollup::default()
        };
        let text = crate::output::csv_text(&rollup_sdmx_csv(&rollup)).unwrap();
        assert_eq!(
            text,
            "STRUCTURE,STRUCTURE_ID,ACTION,REGION,SCOPE,TIME_PERIOD,MEASURE,OBS_VALUE,UNIT_MEASURE,OBS_STATUS\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530000,subtree,2020,measures.total,6000,count,more-than\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530000,subtree,2019,measures.total,2791,count,\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530000,subtree,2020,aid.amount_fen,1200050,fen,\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530000,own,2020,measures.total,3,count,\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530000,own,2019,measures.total,0,count,\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530100,subtree,2020,measures.total,5997,count,exact\n\
             dataflow,PROCURA:DF_SUPERVISION(1.0),I,530100,subtree,2019,measures.total,2791,count,\n"
        );
    }
}
