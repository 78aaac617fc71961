//! `procura rollup`: the figures of a region's whole subtree for a period (汇总统计), with the
//! year-on-year change (同比) and an optional breakdown by a lower level.

use clap::{ArgGroup, Args};
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{
    Comparison, Date, DateRange, Figure, GetRollupRequest, Period, RegionLevel, Rollup, YearMonth,
    YearQuarter, period,
};
use serde_json::{Value, json};

use super::{Context, FormatArg, with_retry};
use crate::convert::{
    enum_name, format_date, format_timestamp, parse_date, parse_region_code, parse_timestamp,
    region_code, region_name, sub_national_level_parser,
};
use crate::output::{
    OutputFormat, Table, emit, emit_csv, emit_json, figure_json, format_change, format_count,
    format_figure_value, format_percent, format_range, format_yuan, range_json,
};

/// Arguments of `procura rollup`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("period").required(true).args(["year", "from"])))]
pub struct RollupArgs {
    /// The region whose subtree is counted, e.g. 530000 (000000 for the whole country).
    #[arg(long, value_parser = parse_region_code)]
    region: String,
    /// Count a calendar year (年度), e.g. 2020.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1900..=9999))]
    year: Option<i32>,
    /// With --year: count only this quarter (季度), 1 to 4.
    #[arg(long, requires = "year", conflicts_with = "month", value_parser = clap::value_parser!(i32).range(1..=4))]
    quarter: Option<i32>,
    /// With --year: count only this month (月度), 1 to 12.
    #[arg(long, requires = "year", value_parser = clap::value_parser!(i32).range(1..=12))]
    month: Option<i32>,
    /// Count a range of days from this day (with --to), e.g. 2019-11-01.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "to", value_parser = parse_date)]
    from: Option<Date>,
    /// Last day of the range (with --from), included, e.g. 2020-12-31.
    #[arg(long, value_name = "YYYY-MM-DD", requires = "from", conflicts_with = "year", value_parser = parse_date)]
    to: Option<Date>,
    /// Also break the figures down by the regions of this level inside the region.
    #[arg(long, value_parser = sub_national_level_parser())]
    by: Option<RegionLevel>,
    /// Do not compare with the same period one year earlier.
    #[arg(long)]
    no_compare: bool,
    /// Count the records as they stood at this moment (回溯), RFC 3339, e.g.
    /// 2021-02-23T10:00:00+08:00 [default: now].
    #[arg(long, value_name = "MOMENT", value_parser = parse_timestamp)]
    as_of: Option<prost_types::Timestamp>,
    /// Also show the indicators (指标): adoption and resolution rates, pending cases by age.
    #[arg(long)]
    indicators: bool,
    #[command(flatten)]
    format: FormatArg,
}

/// The figures shown as columns of the breakdown table: metric and column header.
const BREAKDOWN_COLUMNS: &[(&str, &str)] = &[
    ("measures.total", "MEASURES"),
    ("measures.protest_and_retrial", "PROTEST+RETRIAL"),
    ("cases.accepted", "ACCEPTED"),
    ("cases.concluded", "CONCLUDED"),
    ("resolutions.total", "RESOLVED"),
    ("aid.grants", "AID GRANTS"),
    ("aid.amount_fen", "AID (YUAN)"),
];

/// The period the arguments describe.
fn period_of(args: &RollupArgs) -> anyhow::Result<Period> {
    let kind = match (args.year, args.quarter, args.month, args.from, args.to) {
        (Some(year), Some(quarter), _, _, _) => {
            period::Kind::Quarter(YearQuarter { year, quarter })
        }
        (Some(year), None, Some(month), _, _) => period::Kind::Month(YearMonth { year, month }),
        (Some(year), None, None, _, _) => period::Kind::Year(year),
        (None, _, _, Some(start), Some(end)) => {
            if (start.year, start.month, start.day) > (end.year, end.month, end.day) {
                anyhow::bail!(
                    "--from {} is after --to {}",
                    format_date(&start),
                    format_date(&end)
                );
            }
            period::Kind::Range(DateRange {
                start: Some(start),
                end: Some(end),
            })
        }
        _ => anyhow::bail!("give --year (with --quarter or --month) or --from and --to"),
    };
    Ok(Period { kind: Some(kind) })
}

/// Runs `procura rollup`.
pub async fn run(args: RollupArgs, ctx: &Context) -> anyhow::Result<()> {
    let request = GetRollupRequest {
        region: region_name(&args.region),
        period: Some(period_of(&args)?),
        breakdown: args.by.map_or(0, Into::into),
        comparison: if args.no_compare {
            Comparison::None.into()
        } else {
            Comparison::PreviousYear.into()
        },
        as_of: args.as_of,
        include_indicators: args.indicators,
    };
    let client = ReportServiceClient::new(ctx.channel().await?);
    let response = with_retry(|| {
        let mut client = client.clone();
        let request = request.clone();
        async move { client.get_rollup(request).await }
    })
    .await?;
    let rollup = response.rollup.unwrap_or_default();
    match ctx.format(&args.format) {
        OutputFormat::Table => emit(&rollup_text(&rollup)),
        OutputFormat::Json => emit_json(&rollup_json(&rollup)),
        OutputFormat::Csv => emit_csv(&rollup_csv(&rollup)),
    }
}

/// The rollup for people: a heading, one line per figure, then the breakdown table.
fn rollup_text(rollup: &Rollup) -> String {
    let mut out = format!("{} ({})", rollup.display_name, region_code(&rollup.region));
    if let Some(period) = &rollup.period {
        out.push_str(&format!(", {}", format_range(period)));
    }
    if let Some(comparison) = &rollup.comparison_period {
        out.push_str(&format!(", compared with {}", format_range(comparison)));
    }
    if let Some(as_of) = &rollup.as_of {
        out.push_str(&format!(", records as of {}", format_timestamp(as_of)));
    }
    out.push_str("\n\n");

    let compared = rollup.comparison_period.is_some()
        || rollup.figures.iter().any(|f| f.previous_value.is_some());
    let mut table = if compared {
        Table::new(["FIGURE", "VALUE", "PREVIOUS", "CHANGE"]).right_align(&[1, 2, 3])
    } else {
        Table::new(["FIGURE", "VALUE"]).right_align(&[1])
    };
    for figure in &rollup.figures {
        let mut row = vec![figure.label.clone(), format_figure(figure)];
        if compared {
            row.push(
                figure
                    .previous_value
                    .map_or_else(|| "-".to_owned(), |p| format_figure_value(figure.unit, p)),
            );
            row.push(format_change(figure.change_percent));
        }
        table.push(row);
    }
    out.push_str(&table.render());

    if !rollup.indicators.is_empty() {
        out.push_str("\nIndicators:\n");
        let mut indicators = Table::new(["INDICATOR", "NUMERATOR", "DENOMINATOR", "PERCENT"])
            .right_align(&[1, 2, 3]);
        for indicator in &rollup.indicators {
            indicators.push(vec![
                indicator.label.clone(),
                format_count(indicator.numerator),
                format_count(indicator.denominator),
                format_percent(indicator.percent),
            ]);
        }
        out.push_str(&indicators.render());
    }

    if rollup.breakdown != 0 {
        let level = enum_name::<RegionLevel>(rollup.breakdown);
        out.push_str(&format!(
            "\nBy {level}: {} with records (every figure per region: --format csv or json)\n",
            match rollup.rows.len() {
                1 => "1 region".to_owned(),
                n => format!("{} regions", format_count(n as i64)),
            }
        ));
        let headers = ["CODE", "NAME"]
            .into_iter()
            .chain(BREAKDOWN_COLUMNS.iter().map(|(_, header)| *header));
        let numeric: Vec<usize> = (2..2 + BREAKDOWN_COLUMNS.len()).collect();
        let mut rows = Table::new(headers).right_align(&numeric);
        for row in &rollup.rows {
            let mut cells = vec![
                region_code(&row.region).to_owned(),
                if row.own_records_only {
                    format!("{} (own records)", row.display_name)
                } else {
                    row.display_name.clone()
                },
            ];
            for (metric, _) in BREAKDOWN_COLUMNS {
                cells.push(
                    row.figures
                        .iter()
                        .find(|f| f.metric == *metric)
                        .map_or_else(|| "-".to_owned(), breakdown_cell),
                );
            }
            rows.push(cells);
        }
        out.push_str(&rows.render());
    }
    out
}

/// A figure's value in its unit, with `+` when it was published as "more than" it.
fn format_figure(figure: &Figure) -> String {
    let value = format_figure_value(figure.unit, figure.value);
    if figure.qualifier == i32::from(procura_proto::v1::Qualifier::MoreThan) {
        format!("{value}+")
    } else {
        value
    }
}

/// A figure in a breakdown cell: counts as `6,000`, fen as yuan without the unit (the column
/// header says it).
fn breakdown_cell(figure: &Figure) -> String {
    if figure.unit == i32::from(procura_proto::v1::Unit::Fen) {
        format_yuan(figure.value)
    } else {
        format_count(figure.value)
    }
}

/// The rollup as JSON, field by field from the proto; regions by code, dates as YYYY-MM-DD.
fn rollup_json(rollup: &Rollup) -> Value {
    json!({
        "region": region_code(&rollup.region),
        "display_name": rollup.display_name,
        "period": range_json(rollup.period.as_ref()),
        "comparison_period": range_json(rollup.comparison_period.as_ref()),
        "breakdown": if rollup.breakdown == 0 {
            Value::Null
        } else {
            Value::String(enum_name::<RegionLevel>(rollup.breakdown))
        },
        "as_of": rollup.as_of.as_ref().map(format_timestamp),
        "figures": rollup.figures.iter().map(figure_json).collect::<Vec<_>>(),
        "indicators": rollup.indicators.iter().map(|i| json!({
            "id": i.id,
            "label": i.label,
            "numerator": i.numerator,
            "denominator": i.denominator,
            "percent": i.percent.filter(|p| p.is_finite()),
        })).collect::<Vec<_>>(),
        "rows": rollup.rows.iter().map(|row| json!({
            "region": region_code(&row.region),
            "display_name": row.display_name,
            "own_records_only": row.own_records_only,
            "figures": row.figures.iter().map(figure_json).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The rollup as CSV records: one per figure, the totals first (under the queried region),
/// then each breakdown row's. Values are raw (fen for money); an absent previous value or an
/// undefined change is an empty cell.
fn rollup_csv(rollup: &Rollup) -> Vec<Vec<String>> {
    let mut records = vec![
        [
            "region",
            "display_name",
            "metric",
            "label",
            "unit",
            "value",
            "previous_value",
            "change_percent",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let record = |region: &str, name: &str, figure: &Figure| {
        vec![
            region_code(region).to_owned(),
            name.to_owned(),
            figure.metric.clone(),
            figure.label.clone(),
            enum_name::<procura_proto::v1::Unit>(figure.unit),
            figure.value.to_string(),
            figure
                .previous_value
                .map(|p| p.to_string())
                .unwrap_or_default(),
            figure
                .change_percent
                .filter(|c| c.is_finite())
                .map(|c| c.to_string())
                .unwrap_or_default(),
        ]
    };
    for figure in &rollup.figures {
        records.push(record(&rollup.region, &rollup.display_name, figure));
    }
    for row in &rollup.rows {
        for figure in &row.figures {
            records.push(record(&row.region, &row.display_name, figure));
        }
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use procura_proto::v1::{RollupRow, Unit};

    fn figure(metric: &str, unit: Unit, value: i64, previous: Option<i64>) -> Figure {
        let change_percent = previous
            .filter(|p| *p != 0)
            .map(|p| (value - p) as f64 / p as f64 * 100.0);
        Figure {
            metric: metric.to_owned(),
            label: format!("{metric} label"),
            unit: unit.into(),
            value,
            previous_value: previous,
            change_percent,
            ..Figure::default()
        }
    }

    fn sample() -> Rollup {
        let date = |year, month, day| Some(Date { year, month, day });
        Rollup {
            region: "regions/530000".to_owned(),
            display_name: "云南省".to_owned(),
            period: Some(DateRange {
                start: date(2020, 1, 1),
                end: date(2020, 12, 31),
            }),
            comparison_period: Some(DateRange {
                start: date(2019, 1, 1),
                end: date(2019, 12, 31),
            }),
            figures: vec![
                figure("measures.protest_and_retrial", Unit::Count, 380, Some(239)),
                figure("aid.amount_fen", Unit::Fen, 123_456_789, Some(0)),
            ],
            rows: vec![RollupRow {
                region: "regions/530100".to_owned(),
                display_name: "昆明市".to_owned(),
                own_records_only: false,
                figures: vec![figure("aid.amount_fen", Unit::Fen, 6000, Some(0))],
            }],
            breakdown: RegionLevel::Prefecture.into(),
            ..Rollup::default()
        }
    }

    #[test]
    fn the_table_shows_values_previous_and_change() {
        let text = rollup_text(&sample());
        assert!(text.starts_with(
            "云南省 (530000), 2020-01-01 to 2020-12-31, compared with 2019-01-01 to 2019-12-31\n"
        ));
        let protest = text
            .lines()
            .find(|l| l.starts_with("measures.protest_and_retrial"))
            .unwrap();
        assert!(protest.contains("380"), "{protest}");
        assert!(protest.contains("239"), "{protest}");
        assert!(protest.ends_with("+59.0%"), "{protest}");
        let aid = text
            .lines()
            .find(|l| l.starts_with("aid.amount_fen"))
            .unwrap();
        assert!(aid.contains("1,234,567.89 yuan"), "{aid}");
        assert!(aid.ends_with("n/a"), "{aid}");
        assert!(text.contains("By prefecture: 1 region"));
        assert!(
            text.lines()
                .any(|l| l.starts_with("530100  昆明市") && l.ends_with("60.00"))
        );
    }

    #[test]
    fn csv_has_one_record_per_figure_with_empty_undefined_change() {
        let records = rollup_csv(&sample());
        assert_eq!(records.len(), 4);
        assert_eq!(
            records[1][..7],
            [
                "530000",
                "云南省",
                "measures.protest_and_retrial",
                "measures.protest_and_retrial label",
                "count",
                "380",
                "239"
            ]
        );
        assert!(records[1][7].starts_with("58.99"));
        assert_eq!(records[2][7], "");
        assert_eq!(records[3][0], "530100");
    }

    #[test]
    fn json_has_null_for_undefined_change() {
        let value = rollup_json(&sample());
        assert_eq!(value["region"], "530000");
        assert_eq!(value["breakdown"], "prefecture");
        assert_eq!(value["figures"][1]["change_percent"], Value::Null);
        assert_eq!(value["figures"][1]["unit"], "fen");
        assert_eq!(value["period"]["start"], "2020-01-01");
        assert_eq!(value["rows"][0]["figures"][0]["value"], 6000);
    }
}
