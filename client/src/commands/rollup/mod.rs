//! `procura rollup`: the figures of a region's whole subtree for a period (汇总统计), with the
//! year-on-year change (同比), an optional breakdown by a lower level, terminal bars and an
//! optional SVG/PNG chart; and `procura rollup explain`, the drill-down of one figure (下钻).
//!
//! This module holds the arguments, the GetRollup call and the chart; [`table`] renders a rollup
//! as text, JSON and CSV, [`explain`] runs and renders the drill-down.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{
    Comparison, Date, DateRange, GetRollupRequest, Period, RegionLevel, Rollup, YearMonth,
    YearQuarter, period,
};

use super::{Context, FiguresFormatArg, FormatArg, call};
use crate::chart;
use crate::convert::{
    format_date, format_timestamp, parse_date, parse_region_code, parse_timestamp, region_name,
    sub_national_level_parser,
};
use crate::output::{FiguresFormat, emit, emit_csv, emit_json, format_figure};

mod explain;
mod sdmx;
mod table;

pub use sdmx::{DATAFLOW, rollup_sdmx_csv, time_period};
pub use table::{indicator_value, rollup_csv, rollup_heading, rollup_json, rollup_text};

use explain::explain;

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
    format: FiguresFormatArg,
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
    // A file name that is neither .svg nor .png fails before the call.
    if let Some(path) = &args.chart {
        chart::ChartKind::of(path)?;
    }
    let client = ReportServiceClient::new(ctx.channel().await?);
    let response = call(&client, &request, |mut c, r| async move {
        c.get_rollup(r).await
    })
    .await?;
    let rollup = response.rollup.unwrap_or_default();
    if let Some(warning) = as_of_warning(ctx, &request, &rollup).await {
        eprintln!("{warning}");
    }
    if let Some(path) = &args.chart {
        let drawn = chart::draw_rollup_chart(
            path,
            &chart::ChartInput {
                rollup: &rollup,
                metric: &args.chart_metric,
            },
        )?;
        eprintln!("chart written to {}{}", path.display(), drawn.notes());
    }
    match ctx.figures_format(&args.format) {
        FiguresFormat::Table => emit(&rollup_text(&rollup, &args.chart_metric)),
        FiguresFormat::Json => emit_json(&rollup_json(&rollup)),
        FiguresFormat::Csv => emit_csv(&rollup_csv(&rollup)),
        FiguresFormat::SdmxCsv => emit_csv(&rollup_sdmx_csv(&rollup)),
    }
}

/// Whether every figure of a rollup, and every previous value, is 0.
fn every_figure_is_zero(rollup: &Rollup) -> bool {
    rollup
        .figures
        .iter()
        .all(|f| f.value == 0 && f.previous_value.unwrap_or(0) == 0)
}

/// The warning for a rollup asked `--as-of` a moment whose figures are all 0 while the live
/// records give some (`live`): the moment is before any record it counts was stored.
pub fn before_the_records_warning(
    as_of: &prost_types::Timestamp,
    asked: &Rollup,
    live: &Rollup,
) -> Option<String> {
    if !every_figure_is_zero(asked) || every_figure_is_zero(live) {
        return None;
    }
    let counted: Vec<String> = live
        .figures
        .iter()
        .filter(|f| f.value != 0)
        .take(2)
        .map(|f| format!("{} {}", f.metric, format_figure(f)))
        .collect();
    Some(format!(
        "warning: --as-of {} is before any record of this rollup was stored, so every figure \
         is 0 (without --as-of: {}, ...); give a later moment, such as a release's \"Records as \
         of\"",
        format_timestamp(as_of),
        counted.join(", ")
    ))
}

/// With `--as-of`, the warning of [`before_the_records_warning`], asking the live figures
/// only when every figure as of the moment is 0. A failure of that second call costs only
/// the warning.
pub async fn as_of_warning(
    ctx: &Context,
    request: &GetRollupRequest,
    rollup: &Rollup,
) -> Option<String> {
    let as_of = request.as_of.as_ref()?;
    if !every_figure_is_zero(rollup) {
        return None;
    }
    let live_request = GetRollupRequest {
        as_of: None,
        breakdown: 0,
        include_indicators: false,
        ..request.clone()
    };
    let client = ReportServiceClient::new(ctx.channel().await.ok()?);
    let live = call(&client, &live_request, |mut c, r| async move {
        c.get_rollup(r).await
    })
    .await
    .ok()?
    .rollup?;
    before_the_records_warning(as_of, rollup, &live)
}

#[cfg(test)]
mod tests;
