//! A rollup for output: the heading, the text table of figures with bars and the previous
//! value, the indicators, the breakdown table by region, and the rollup as JSON and CSV.

use procura_proto::v1::{Figure, Indicator, RegionLevel, Rollup, RollupRow};
use serde_json::{Value, json};

use crate::convert::{enum_name, format_timestamp, region_code};
use crate::output::{
    Table, bar, bar_pair, figure_json, format_change, format_count, format_figure,
    format_figure_cell, format_figure_value, format_percent, format_range, qualifier_cell,
    range_json,
};

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

/// Width in cells of the bars of the figures table.
const FIGURE_BAR_WIDTH: usize = 8;
/// Width in cells of the bars of the breakdown table.
pub(super) const BREAKDOWN_BAR_WIDTH: usize = 12;

/// The heading of a rollup: region, period, comparison period and as-of moment.
pub fn rollup_heading(rollup: &Rollup) -> String {
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
    out
}

/// The rollup for people: a heading, one line per figure with bars of the value and the
/// previous value, the indicators, then the breakdown table with a bar per region of `bar_metric`.
pub fn rollup_text(rollup: &Rollup, bar_metric: &str) -> String {
    let mut out = rollup_heading(rollup);
    out.push_str("\n\n");

    let compared = rollup.comparison_period.is_some()
        || rollup.figures.iter().any(|f| f.previous_value.is_some());
    let mut table = if compared {
        Table::new([
            "FIGURE".to_owned(),
            "VALUE".to_owned(),
            "PREVIOUS".to_owned(),
            "CHANGE".to_owned(),
            format!("{:<FIGURE_BAR_WIDTH$} PREVIOUS", "NOW"),
        ])
        .right_align(&[1, 2, 3])
    } else {
        Table::new(["FIGURE".to_owned(), "VALUE".to_owned()]).right_align(&[1])
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
            row.push(bar_pair(
                figure.value,
                figure.previous_value,
                FIGURE_BAR_WIDTH,
            ));
        }
        table.push(row);
    }
    out.push_str(&table.render());

    if !rollup.indicators.is_empty() {
        out.push_str("\nIndicators:\n");
        let mut indicators = Table::new(["INDICATOR", "VALUE"]);
        for indicator in &rollup.indicators {
            indicators.push(vec![indicator.label.clone(), indicator_value(indicator)]);
        }
        out.push_str(&indicators.render());
    }

    if rollup.breakdown != 0 {
        out.push('\n');
        out.push_str(&breakdown_text(rollup, bar_metric));
    }
    out
}

/// An indicator's value with its working: `75.0% (300 / 400)`, `n/a (0 / 0)`.
pub fn indicator_value(indicator: &Indicator) -> String {
    format!(
        "{} ({} / {})",
        format_percent(indicator.percent),
        format_count(indicator.numerator),
        format_count(indicator.denominator)
    )
}

/// The breakdown table: a few main figures per region, and a bar of `bar_metric` scaled to the
/// largest region.
fn breakdown_text(rollup: &Rollup, bar_metric: &str) -> String {
    let level = enum_name::<RegionLevel>(rollup.breakdown);
    let mut out = format!(
        "By {level}: {} with records (every figure per region: --format csv or json)\n",
        match rollup.rows.len() {
            1 => "1 region".to_owned(),
            n => format!("{} regions", format_count(n as i64)),
        }
    );
    let mut columns: Vec<(String, String)> = BREAKDOWN_COLUMNS
        .iter()
        .map(|(metric, header)| ((*metric).to_owned(), (*header).to_owned()))
        .collect();
    if !columns.iter().any(|(metric, _)| metric == bar_metric) {
        columns.push((bar_metric.to_owned(), bar_metric.to_ascii_uppercase()));
    }
    let bar_header = columns
        .iter()
        .find(|(metric, _)| metric == bar_metric)
        .map_or_else(String::new, |(_, header)| format!("{header} BAR"));
    let headers = ["CODE".to_owned(), "NAME".to_owned()]
        .into_iter()
        .chain(columns.iter().map(|(_, header)| header.clone()))
        .chain(std::iter::once(bar_header));
    let numeric: Vec<usize> = (2..2 + columns.len()).collect();
    let mut table = Table::new(headers).right_align(&numeric);
    let value_of = |row: &RollupRow| {
        row.figures
            .iter()
            .find(|f| f.metric == bar_metric)
            .map_or(0, |f| f.value)
    };
    let max = rollup.rows.iter().map(value_of).max().unwrap_or(0);
    for row in &rollup.rows {
        let mut cells = vec![
            region_code(&row.region).to_owned(),
            if row.own_records_only {
                format!("{} (own records)", row.display_name)
            } else {
                row.display_name.clone()
            },
        ];
        for (metric, _) in &columns {
            cells.push(
                row.figures
                    .iter()
                    .find(|f| f.metric == *metric)
                    .map_or_else(
                        || "-".to_owned(),
                        |f| format_figure_cell(f.unit, f.value, f.qualifier),
                    ),
            );
        }
        cells.push(bar(value_of(row), max, BREAKDOWN_BAR_WIDTH));
        table.push(cells);
    }
    out.push_str(&table.render());
    out
}

/// The rollup as JSON, field by field from the proto; regions by code, dates as YYYY-MM-DD.
pub fn rollup_json(rollup: &Rollup) -> Value {
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
/// undefined change is an empty cell; `qualifier` is
/// filled only for published figures (`exact`, `more-than`).
pub fn rollup_csv(rollup: &Rollup) -> Vec<Vec<String>> {
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
            "qualifier",
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
            qualifier_cell(figure.qualifier),
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
