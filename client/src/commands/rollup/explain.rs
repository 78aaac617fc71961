//! `procura rollup explain`: the drill-down of one figure (下钻): the figure, its parts one
//! level below with their shares, and the cases of the region's own procuratorate behind it,
//! read page by page; shown as text, JSON or CSV.

use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{CaseContribution, ExplainFigureRequest, ExplainFigureResponse};
use serde_json::{Value, json};

use super::ExplainArgs;
use super::table::BREAKDOWN_BAR_WIDTH;
use crate::commands::{Context, call};
use crate::convert::{region_code, region_name};
use crate::output::{
    OutputFormat, Table, bar, emit, emit_csv, emit_json, figure_json, format_count, format_figure,
    format_figure_cell, format_percent,
};

/// Runs `procura rollup explain`: the figure, its parts one level below, and up to `--limit`
/// cases of the region's own procuratorate behind it.
pub(super) async fn explain(args: ExplainArgs, ctx: &Context) -> anyhow::Result<()> {
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
pub(super) fn explain_text(
    explained: &ExplainFigureResponse,
    region_label: &str,
    more: bool,
) -> String {
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
pub(super) fn explain_json(explained: &ExplainFigureResponse, region: &str, more: bool) -> Value {
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
pub(super) fn explain_csv(explained: &ExplainFigureResponse) -> Vec<Vec<String>> {
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
