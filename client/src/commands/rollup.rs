//! `procura rollup`: the figures of a region's whole subtree for a period (汇总统计), with the
//! year-on-year change (同比), an optional breakdown by a lower level, terminal bars and an
//! optional SVG/PNG chart; and `procura rollup explain`, the drill-down of one figure (下钻).

use std::collections::HashMap;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use procura_proto::v1::region_service_client::RegionServiceClient;
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{
    CaseContribution, Comparison, Date, DateRange, ExplainFigureRequest, ExplainFigureResponse,
    Figure, GetRegionRequest, GetRollupRequest, Indicator, ListRegionsRequest, Period, RegionLevel,
    Rollup, RollupRow, YearMonth, YearQuarter, period,
};
use serde_json::{Value, json};

use super::{Context, FormatArg, call};
use crate::chart;
use crate::convert::{
    enum_name, format_date, format_timestamp, parse_date, parse_region_code, parse_timestamp,
    region_code, region_name, sub_national_level_parser,
};
use crate::output::{
    OutputFormat, Table, bar, bar_pair, emit, emit_csv, emit_json, figure_json, format_change,
    format_count, format_figure, format_figure_cell, format_figure_value, format_percent,
    format_range, qualifier_cell, range_json,
};

/// `procura rollup`: the figures of a region for a period, or `procura rollup explain`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RollupCommand {
    #[command(subcommand)]
    command: Option<RollupSubcommand>,
    #[command(flatten)]
    args: RollupArgs,
}

/// Subcommands of `procura rollup`.
#[derive(Debug, Subcommand)]
pub enum RollupSubcommand {
    /// Drill one figure down (下钻): the parts one level below that make it up, and the cases
    /// of the region's own procuratorate behind it.
    Explain(ExplainArgs),
}

/// The period flags shared by `rollup`, `rollup explain` and `releases publish`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("period").required(true).args(["year", "from"])))]
pub struct PeriodArgs {
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
}

/// Arguments of `procura rollup`.
#[derive(Debug, Args)]
pub struct RollupArgs {
    #[command(flatten)]
    query: RollupQuery,
    /// Also draw the rollup into this file, SVG or PNG by its extension: bars per region of
    /// --chart-metric (with --by) and the main figures against the previous year.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    chart: Option<PathBuf>,
    /// The figure drawn per region in the chart and as bars in the breakdown table.
    #[arg(long, value_name = "METRIC", default_value = "measures.total")]
    chart_metric: String,
    #[command(flatten)]
    format: FormatArg,
}

/// Arguments of `procura rollup explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The region, e.g. 530000.
    #[arg(long, value_parser = parse_region_code)]
    region: String,
    #[command(flatten)]
    period: PeriodArgs,
    /// The figure, as in `rollup --format csv`, e.g. measures.protest or aid.amount_fen.
    #[arg(long)]
    metric: String,
    /// Count the records as they stood at this moment (回溯), RFC 3339 [default: now].
    #[arg(long, value_name = "MOMENT", value_parser = parse_timestamp)]
    as_of: Option<prost_types::Timestamp>,
    /// List at most this many cases.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
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

impl PeriodArgs {
    /// The period the flags describe.
    pub fn period(&self) -> anyhow::Result<Period> {
        let kind = match (self.year, self.quarter, self.month, self.from, self.to) {
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
}

/// The rollup flags that `rollup` and `releases publish` share: region, period, breakdown,
/// comparison, as-of moment and indicators. (`region` is an option that clap requires, so that
/// `rollup explain` can do without it.)
#[derive(Debug, Args)]
pub struct RollupQuery {
    /// The region whose subtree is counted, e.g. 530000 (000000 for the whole country).
    #[arg(long, required = true, value_parser = parse_region_code)]
    pub region: Option<String>,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Also break the figures down by the regions of this level inside the region.
    #[arg(long, value_parser = sub_national_level_parser())]
    pub by: Option<RegionLevel>,
    /// Do not compare with the same period one year earlier.
    #[arg(long)]
    pub no_compare: bool,
    /// Count the records as they stood at this moment (回溯), RFC 3339 [default: now].
    #[arg(long, value_name = "MOMENT", value_parser = parse_timestamp)]
    pub as_of: Option<prost_types::Timestamp>,
    /// Also include the indicators (指标).
    #[arg(long)]
    pub indicators: bool,
}

impl RollupQuery {
    /// The GetRollup request the flags describe.
    pub fn request(&self) -> anyhow::Result<GetRollupRequest> {
        let region = self
            .region
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--region is required"))?;
        Ok(GetRollupRequest {
            region: region_name(region),
            period: Some(self.period.period()?),
            breakdown: self.by.map_or(0, Into::into),
            comparison: if self.no_compare {
                Comparison::None.into()
            } else {
                Comparison::PreviousYear.into()
            },
            as_of: self.as_of,
            include_indicators: self.indicators,
        })
    }
}

/// Runs `procura rollup` or `procura rollup explain`.
pub async fn run(command: RollupCommand, ctx: &Context) -> anyhow::Result<()> {
    match command.command {
        Some(RollupSubcommand::Explain(args)) => explain(args, ctx).await,
        None => rollup(command.args, ctx).await,
    }
}

async fn rollup(args: RollupArgs, ctx: &Context) -> anyhow::Result<()> {
    let request = args.query.request()?;
    let chart_kind = match &args.chart {
        Some(path) => Some(chart::ChartKind::of(path)?),
        None => None,
    };
    let client = ReportServiceClient::new(ctx.channel().await?);
    let response = call(&client, &request, |mut c, r| async move {
        c.get_rollup(r).await
    })
    .await?;
    let rollup = response.rollup.unwrap_or_default();
    if let (Some(path), Some(kind)) = (&args.chart, chart_kind) {
        let english_names = if kind == chart::ChartKind::Png && !chart::font_has_chinese() {
            english_names(&rollup, ctx).await
        } else {
            HashMap::new()
        };
        let drawn = chart::draw_rollup_chart(
            path,
            &chart::ChartInput {
                rollup: &rollup,
                metric: &args.chart_metric,
                english_names: &english_names,
            },
        )?;
        eprintln!("chart written to {}{}", path.display(), drawn.notes());
    }
    match ctx.format(&args.format) {
        OutputFormat::Table => emit(&rollup_text(&rollup, &args.chart_metric)),
        OutputFormat::Json => emit_json(&rollup_json(&rollup)),
        OutputFormat::Csv => emit_csv(&rollup_csv(&rollup)),
    }
}

/// English names of the rollup's region and of its breakdown rows where the server knows them
/// (provinces and the root), by code; for chart labels in a font without Chinese. Failures only
/// cost the names.
async fn english_names(rollup: &Rollup, ctx: &Context) -> HashMap<String, String> {
    let mut names = HashMap::new();
    let Ok(channel) = ctx.channel().await else {
        return names;
    };
    let mut client = RegionServiceClient::new(channel);
    if let Ok(response) = client
        .get_region(GetRegionRequest {
            name: rollup.region.clone(),
        })
        .await
        && let Some(region) = response.into_inner().region
        && !region.english_name.is_empty()
    {
        names.insert(region.code, region.english_name);
    }
    if rollup.breakdown != i32::from(RegionLevel::Province) {
        return names;
    }
    let mut page_token = String::new();
    loop {
        let request = ListRegionsRequest {
            parent: rollup.region.clone(),
            level: rollup.breakdown,
            page_size: 1000,
            page_token: page_token.clone(),
        };
        let Ok(response) = client.list_regions(request).await else {
            break;
        };
        let response = response.into_inner();
        for region in response.regions {
            if !region.english_name.is_empty() {
                names.insert(region.code, region.english_name);
            }
        }
        page_token = response.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    names
}

/// Width in cells of the bars of the figures table.
const FIGURE_BAR_WIDTH: usize = 8;
/// Width in cells of the bars of the breakdown table.
const BREAKDOWN_BAR_WIDTH: usize = 12;

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

/// Runs `procura rollup explain`: the figure, its parts one level below, and up to `--limit`
/// cases of the region's own procuratorate behind it.
async fn explain(args: ExplainArgs, ctx: &Context) -> anyhow::Result<()> {
    let period = args.period.period()?;
    let client = ReportServiceClient::new(ctx.channel().await?);
    let limit = args.limit as usize;
    let mut first: Option<ExplainFigureResponse> = None;
    let mut cases: Vec<CaseContribution> = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ExplainFigureRequest {
            region: region_name(&args.region),
            period: Some(period),
            metric: args.metric.clone(),
            as_of: args.as_of,
            page_size: i32::try_from((limit - cases.len()).min(500)).unwrap_or(500),
            page_token: page_token.clone(),
        };
        let mut response = call(&client, &request, |mut c, r| async move {
            c.explain_figure(r).await
        })
        .await?;
        cases.append(&mut response.cases);
        page_token = std::mem::take(&mut response.next_page_token);
        if first.is_none() {
            first = Some(response);
        }
        if page_token.is_empty() || cases.len() >= limit {
            break;
        }
    }
    cases.truncate(limit);
    let more = !page_token.is_empty();
    let mut explained = first.unwrap_or_default();
    explained.cases = cases;
    let region_label = explained
        .parts
        .iter()
        .find(|p| p.own_records_only && region_code(&p.region) == args.region)
        .map_or_else(
            || args.region.clone(),
            |p| format!("{} ({})", p.display_name, args.region),
        );
    match ctx.format(&args.format) {
        OutputFormat::Table => emit(&explain_text(&explained, &region_label, more)),
        OutputFormat::Json => emit_json(&explain_json(&explained, &args.region, more)),
        OutputFormat::Csv => emit_csv(&explain_csv(&explained)),
    }
}

/// A part's share of the figure in percent, absent when the figure is 0.
fn share(value: i64, total: i64) -> Option<f64> {
    (total != 0).then(|| value as f64 / total as f64 * 100.0)
}

/// A drill-down for people: the figure, a table of its parts with their shares and bars, and
/// the table of cases.
fn explain_text(explained: &ExplainFigureResponse, region_label: &str, more: bool) -> String {
    let figure = explained.figure.clone().unwrap_or_default();
    let unit = figure.unit;
    let mut out = format!(
        "{} ({}) in {region_label}: {}\n",
        figure.label,
        figure.metric,
        format_figure(&figure)
    );
    out.push_str(&format!(
        "\nParts ({}):\n",
        format_count(explained.parts.len() as i64)
    ));
    let max = explained.parts.iter().map(|p| p.value).max().unwrap_or(0);
    let value_header = if unit == i32::from(procura_proto::v1::Unit::Fen) {
        "VALUE (YUAN)"
    } else {
        "VALUE"
    };
    let mut parts = Table::new(["REGION", "NAME", "OWN RECORDS", value_header, "SHARE", ""])
        .right_align(&[3, 4]);
    for part in &explained.parts {
        parts.push(vec![
            region_code(&part.region).to_owned(),
            part.display_name.clone(),
            if part.own_records_only { "yes" } else { "no" }.to_owned(),
            format_figure_cell(unit, part.value, 0),
            format_percent(share(part.value, figure.value)),
            bar(part.value, max, BREAKDOWN_BAR_WIDTH),
        ]);
    }
    out.push_str(&parts.render());
    out.push_str(&format!(
        "\nCases of the region's own procuratorate ({}{}):\n",
        format_count(explained.cases.len() as i64),
        if more { ", more with --limit" } else { "" }
    ));
    if !explained.cases.is_empty() {
        let contribution = if unit == i32::from(procura_proto::v1::Unit::Fen) {
            "CONTRIBUTION (YUAN)"
        } else {
            "CONTRIBUTION"
        };
        let mut cases =
            Table::new(["CASE", "CASE NUMBER", "REGION", contribution]).right_align(&[3]);
        for case in &explained.cases {
            cases.push(vec![
                case.case.clone(),
                case.case_number.clone(),
                region_code(&case.region).to_owned(),
                format_figure_cell(unit, case.value, 0),
            ]);
        }
        out.push_str(&cases.render());
    }
    out
}

/// A drill-down as JSON.
fn explain_json(explained: &ExplainFigureResponse, region: &str, more: bool) -> Value {
    let total = explained.figure.as_ref().map_or(0, |f| f.value);
    json!({
        "region": region,
        "figure": explained.figure.as_ref().map(figure_json),
        "parts": explained.parts.iter().map(|p| json!({
            "region": region_code(&p.region),
            "display_name": p.display_name,
            "own_records_only": p.own_records_only,
            "value": p.value,
            "share_percent": share(p.value, total),
        })).collect::<Vec<_>>(),
        "cases": explained.cases.iter().map(|c| json!({
            "case": c.case,
            "case_number": c.case_number,
            "region": region_code(&c.region),
            "value": c.value,
        })).collect::<Vec<_>>(),
        "more_cases": more,
    })
}

/// A drill-down as CSV: one record per part, then one per case (`kind` says which).
fn explain_csv(explained: &ExplainFigureResponse) -> Vec<Vec<String>> {
    let total = explained.figure.as_ref().map_or(0, |f| f.value);
    let metric = explained
        .figure
        .as_ref()
        .map_or_else(String::new, |f| f.metric.clone());
    let mut records = vec![
        [
            "kind",
            "metric",
            "region",
            "display_name",
            "own_records_only",
            "case",
            "case_number",
            "value",
            "share_percent",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for part in &explained.parts {
        records.push(vec![
            "part".to_owned(),
            metric.clone(),
            region_code(&part.region).to_owned(),
            part.display_name.clone(),
            part.own_records_only.to_string(),
            String::new(),
            String::new(),
            part.value.to_string(),
            share(part.value, total)
                .map(|s| format!("{s:.1}"))
                .unwrap_or_default(),
        ]);
    }
    for case in &explained.cases {
        records.push(vec![
            "case".to_owned(),
            metric.clone(),
            region_code(&case.region).to_owned(),
            String::new(),
            String::new(),
            case.case.clone(),
            case.case_number.clone(),
            case.value.to_string(),
            String::new(),
        ]);
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use procura_proto::v1::{Qualifier, Unit};

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
        let text = rollup_text(&sample(), "measures.total");
        assert!(text.starts_with(
            "云南省 (530000), 2020-01-01 to 2020-12-31, compared with 2019-01-01 to 2019-12-31\n"
        ));
        let protest = text
            .lines()
            .find(|l| l.starts_with("measures.protest_and_retrial"))
            .unwrap();
        assert!(protest.contains("380"), "{protest}");
        assert!(protest.contains("239"), "{protest}");
        assert!(protest.contains("+59.0%"), "{protest}");
        assert!(protest.ends_with("████████ █████"), "{protest}");
        let aid = text
            .lines()
            .find(|l| l.starts_with("aid.amount_fen"))
            .unwrap();
        assert!(aid.contains("1,234,567.89 yuan"), "{aid}");
        assert!(aid.contains("n/a"), "{aid}");
        assert!(
            aid.ends_with("n/a  ████████"),
            "a previous 0 has no bar: {aid}"
        );
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

    #[test]
    fn indicators_show_their_working() {
        let indicator = Indicator {
            id: "adoption_rate".to_owned(),
            label: "Adoption rate (采纳率)".to_owned(),
            numerator: 300,
            denominator: 400,
            percent: Some(75.0),
        };
        assert_eq!(indicator_value(&indicator), "75.0% (300 / 400)");
        let empty = Indicator {
            numerator: 0,
            denominator: 0,
            percent: None,
            ..indicator.clone()
        };
        assert_eq!(indicator_value(&empty), "n/a (0 / 0)");
        let rollup = Rollup {
            indicators: vec![indicator],
            ..sample()
        };
        let text = rollup_text(&rollup, "measures.total");
        assert!(
            text.lines().any(
                |l| l.starts_with("Adoption rate (采纳率)") && l.ends_with("75.0% (300 / 400)")
            ),
            "{text}"
        );
    }

    #[test]
    fn the_breakdown_has_a_bar_per_region_scaled_to_the_largest() {
        let row = |code: &str, value| RollupRow {
            region: format!("regions/{code}"),
            display_name: format!("R{code}"),
            own_records_only: code == "530000",
            figures: vec![figure("measures.total", Unit::Count, value, None)],
        };
        let rollup = Rollup {
            rows: vec![row("530000", 6), row("530100", 24), row("530300", 12)],
            ..sample()
        };
        let text = rollup_text(&rollup, "measures.total");
        assert!(text.contains("MEASURES BAR"), "{text}");
        let line = |code: &str| {
            text.lines()
                .find(|l| l.starts_with(code))
                .unwrap()
                .to_owned()
        };
        assert!(line("530100").ends_with(&"█".repeat(12)), "{text}");
        assert!(
            line("530300").ends_with(&format!("  {}", "█".repeat(6))),
            "{text}"
        );
        assert!(line("530000").contains("(own records)"));
        assert!(
            line("530000").ends_with(&format!("  {}", "█".repeat(3))),
            "{text}"
        );
        // A metric outside the usual columns gets its own column before the bar.
        let text = rollup_text(&rollup, "markers.typical");
        assert!(
            text.contains("MARKERS.TYPICAL  MARKERS.TYPICAL BAR"),
            "{text}"
        );
    }

    #[test]
    fn qualifiers_show_in_the_table_and_have_their_own_csv_column() {
        let mut rollup = sample();
        rollup.figures[0].qualifier = Qualifier::MoreThan.into();
        let text = rollup_text(&rollup, "measures.total");
        assert!(text.contains("380+"), "{text}");
        let records = rollup_csv(&rollup);
        assert_eq!(records[1][5], "380");
        assert_eq!(records[1][8], "more-than");
        assert_eq!(records[2][8], "");
        assert_eq!(rollup_json(&rollup)["figures"][0]["qualifier"], "more-than");
    }

    #[test]
    fn a_drill_down_shows_parts_with_shares_and_cases() {
        use procura_proto::v1::FigurePart;
        let explained = ExplainFigureResponse {
            figure: Some(figure("measures.protest", Unit::Count, 8, None)),
            parts: vec![
                FigurePart {
                    region: "regions/530100".to_owned(),
                    display_name: "昆明市".to_owned(),
                    own_records_only: false,
                    value: 6,
                },
                FigurePart {
                    region: "regions/530000".to_owned(),
                    display_name: "云南省".to_owned(),
                    own_records_only: true,
                    value: 2,
                },
            ],
            cases: vec![CaseContribution {
                case: "cases/4".to_owned(),
                case_number: "云检1号".to_owned(),
                region: "regions/530000".to_owned(),
                value: 2,
            }],
            next_page_token: String::new(),
        };
        let text = explain_text(&explained, "云南省 (530000)", true);
        assert!(
            text.starts_with("measures.protest label (measures.protest) in 云南省 (530000): 8\n")
        );
        let kunming = text.lines().find(|l| l.starts_with("530100")).unwrap();
        assert!(
            kunming.contains("75.0%") && kunming.ends_with(&"█".repeat(12)),
            "{kunming}"
        );
        let own = text.lines().find(|l| l.starts_with("530000")).unwrap();
        assert!(own.contains("yes") && own.contains("25.0%"), "{own}");
        assert!(text.contains("(1, more with --limit)"));
        assert!(
            text.lines()
                .any(|l| l.starts_with("cases/4") && l.ends_with('2'))
        );
        let csv = explain_csv(&explained);
        assert_eq!(csv.len(), 4);
        assert_eq!(csv[1][8], "75.0");
        assert_eq!(csv[3][5], "cases/4");
        let json = explain_json(&explained, "530000", true);
        assert_eq!(json["parts"][1]["share_percent"], 25.0);
        assert_eq!(json["more_cases"], true);
    }
}
