//! `procura releases publish|get|list|diff`: rollups frozen as published (发布版本), so that
//! what was said on a date can be shown again, and compared with the live records.

use std::collections::HashMap;

use clap::{Args, Subcommand};
use procura_proto::v1::report_service_client::ReportServiceClient;
use procura_proto::v1::{
    DiffReleaseRequest, DiffReleaseResponse, FigureChange, GetReleaseRequest, ListReleasesRequest,
    PublishRollupRequest, Qualifier, Release, Rollup, Unit,
};
use serde_json::{Value, json};

use super::cases::{change_text, revision_json};
use super::rollup::{
    RollupQuery, as_of_warning, rollup_csv, rollup_heading, rollup_json, rollup_sdmx_csv,
    rollup_text,
};
use super::{Context, FiguresFormatArg, FormatArg, call, paginate, request_id};
use crate::convert::{enum_name, format_timestamp, region_code};
use crate::output::{
    FiguresFormat, OutputFormat, Table, emit, emit_csv, emit_json, format_count,
    format_figure_cell, format_range, qualifier_cell, range_json, render_fields,
};

/// Subcommands of `procura releases`.
#[derive(Debug, Subcommand)]
pub enum ReleasesCommand {
    /// Publish a rollup: freeze its figures, as-of moment and qualifiers into a release with a
    /// SHA-256 over its values, and print it.
    ///
    /// Example: procura releases publish --region 000000 --year 2020 --by province
    /// --title "2020 national figures" --more-than measures.trial_violation_suggestion
    Publish(PublishArgs),
    /// Show a release exactly as published (`--format sdmx-csv`: its figures as SDMX-CSV, with
    /// each qualifier as OBS_STATUS).
    Get {
        /// The release: its id or name (releases/ID).
        #[arg(value_name = "ID_OR_NAME", value_parser = parse_release_name)]
        release: String,
        #[command(flatten)]
        format: FiguresFormatArg,
    },
    /// List releases, newest first.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Compare a release with the live records: every figure that changed since, with the case
    /// revisions that changed it.
    Diff {
        /// The release: its id or name (releases/ID).
        #[arg(value_name = "ID_OR_NAME", value_parser = parse_release_name)]
        release: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Arguments of `procura releases publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    query: RollupQuery,
    /// Title of the release, e.g. "2020 national figures, press conference 2021-02-23".
    #[arg(long)]
    title: String,
    /// Figures published as "more than" their value (逾), shown as 6,000+ (repeat, or separate
    /// with commas).
    #[arg(long, value_name = "METRIC", num_args = 1.., value_delimiter = ',')]
    more_than: Vec<String>,
    /// Figures published as exactly their value (the default for every figure not named).
    #[arg(long, value_name = "METRIC", num_args = 1.., value_delimiter = ',')]
    exact: Vec<String>,
    /// Idempotency key (a UUID); a retry with the same key returns the release first made
    /// [default: a new random UUID].
    #[arg(long, value_parser = clap::value_parser!(uuid::Uuid))]
    request_id: Option<uuid::Uuid>,
    #[command(flatten)]
    format: FiguresFormatArg,
}

/// Parses a release given as its id (`3`) or resource name (`releases/3`).
pub fn parse_release_name(text: &str) -> Result<String, String> {
    let text = text.trim();
    let id = text.strip_prefix("releases/").unwrap_or(text);
    if id.is_empty() || id.contains('/') || id.chars().any(char::is_whitespace) {
        return Err(format!(
            "\"{text}\" is not a release: expected its id or name, e.g. 3 or releases/3"
        ));
    }
    Ok(format!("releases/{id}"))
}

/// The qualifiers map of a publish request from `--more-than` and `--exact`.
fn qualifiers(more_than: &[String], exact: &[String]) -> anyhow::Result<HashMap<String, i32>> {
    let mut map = HashMap::new();
    for metric in more_than {
        map.insert(metric.trim().to_owned(), i32::from(Qualifier::MoreThan));
    }
    for metric in exact {
        let metric = metric.trim();
        if map.contains_key(metric) {
            anyhow::bail!("{metric} is given both with --more-than and with --exact");
        }
        map.insert(metric.to_owned(), i32::from(Qualifier::Exact));
    }
    Ok(map)
}

/// Runs a `procura releases` subcommand.
pub async fn run(command: ReleasesCommand, ctx: &Context) -> anyhow::Result<()> {
    match command {
        ReleasesCommand::Publish(args) => {
            let rollup_request = args.query.request()?;
            let request = PublishRollupRequest {
                rollup: Some(rollup_request.clone()),
                title: args.title,
                qualifiers: qualifiers(&args.more_than, &args.exact)?,
                request_id: request_id(args.request_id),
            };
            let client = ReportServiceClient::new(ctx.channel().await?);
            let response = call(&client, &request, |mut c, r| async move {
                c.publish_rollup(r).await
            })
            .await?;
            let release = response.release.unwrap_or_default();
            let rollup = release.rollup.clone().unwrap_or_default();
            if let Some(warning) = as_of_warning(ctx, &rollup_request, &rollup).await {
                eprintln!("{warning}");
            }
            print_release(&release, ctx.figures_format(&args.format))
        }
        ReleasesCommand::Get { release, format } => {
            let release = get_release(ctx, &release).await?;
            print_release(&release, ctx.figures_format(&format))
        }
        ReleasesCommand::List { format } => {
            let client = ReportServiceClient::new(ctx.channel().await?);
            let releases = paginate(
                &client,
                None,
                |_, page_token| ListReleasesRequest {
                    page_size: 100,
                    page_token,
                },
                |mut c, r| async move { c.list_releases(r).await },
            )
            .await?;
            match ctx.format(&format) {
                OutputFormat::Table => emit(&releases_table(&releases)),
                OutputFormat::Json => emit_json(&Value::Array(
                    releases.iter().map(release_summary_json).collect(),
                )),
                OutputFormat::Csv => emit_csv(&releases_csv(&releases)),
            }
        }
        ReleasesCommand::Diff { release, format } => {
            let released = get_release(ctx, &release).await?;
            let client = ReportServiceClient::new(ctx.channel().await?);
            let request = DiffReleaseRequest { name: release };
            let diff = call(&client, &request, |mut c, r| async move {
                c.diff_release(r).await
            })
            .await?;
            let rollup = released.rollup.clone().unwrap_or_default();
            match ctx.format(&format) {
                OutputFormat::Table => emit(&diff_text(&released, &diff)),
                OutputFormat::Json => emit_json(&diff_json(&rollup, &diff)),
                OutputFormat::Csv => emit_csv(&diff_csv(&rollup, &diff)),
            }
        }
    }
}

async fn get_release(ctx: &Context, name: &str) -> anyhow::Result<Release> {
    let client = ReportServiceClient::new(ctx.channel().await?);
    let request = GetReleaseRequest {
        name: name.to_owned(),
    };
    let response = call(&client, &request, |mut c, r| async move {
        c.get_release(r).await
    })
    .await?;
    Ok(response.release.unwrap_or_default())
}

/// Prints a release: its particulars then its figures (table), as JSON, or its figures as CSV
/// or SDMX-CSV.
fn print_release(release: &Release, format: FiguresFormat) -> anyhow::Result<()> {
    let rollup = release.rollup.clone().unwrap_or_default();
    match format {
        FiguresFormat::Table => emit(&release_text(release, &rollup)),
        FiguresFormat::Json => emit_json(&release_json(release, &rollup)),
        FiguresFormat::Csv => emit_csv(&rollup_csv(&rollup)),
        FiguresFormat::SdmxCsv => emit_csv(&rollup_sdmx_csv(&rollup)),
    }
}

fn timestamp_text(ts: Option<&prost_types::Timestamp>) -> String {
    ts.map_or_else(|| "-".to_owned(), format_timestamp)
}

/// A release for people: name, title, publisher, times, checksum, then the rollup.
fn release_text(release: &Release, rollup: &Rollup) -> String {
    let mut out = render_fields(&[
        ("Release", release.name.clone()),
        ("Title", release.title.clone()),
        (
            "Published by",
            if release.published_by.is_empty() {
                "anonymous".to_owned()
            } else {
                release.published_by.clone()
            },
        ),
        ("Published", timestamp_text(release.publish_time.as_ref())),
        ("Records as of", timestamp_text(rollup.as_of.as_ref())),
        ("SHA-256", release.sha256.clone()),
    ]);
    out.push('\n');
    out.push_str(&rollup_text(rollup, "measures.total"));
    out
}

fn release_json(release: &Release, rollup: &Rollup) -> Value {
    json!({
        "name": release.name,
        "title": release.title,
        "published_by": release.published_by,
        "publish_time": release.publish_time.as_ref().map(format_timestamp),
        "sha256": release.sha256,
        "canonical_values": release.canonical_values,
        "rollup": rollup_json(rollup),
    })
}

fn release_summary_json(release: &Release) -> Value {
    let rollup = release.rollup.clone().unwrap_or_default();
    json!({
        "name": release.name,
        "title": release.title,
        "published_by": release.published_by,
        "publish_time": release.publish_time.as_ref().map(format_timestamp),
        "region": region_code(&rollup.region),
        "display_name": rollup.display_name,
        "period": range_json(rollup.period.as_ref()),
        "as_of": rollup.as_of.as_ref().map(format_timestamp),
        "sha256": release.sha256,
    })
}

fn releases_table(releases: &[Release]) -> String {
    let mut table = Table::new([
        "NAME",
        "PUBLISHED",
        "BY",
        "REGION",
        "PERIOD",
        "TITLE",
        "SHA-256",
    ]);
    for release in releases {
        let rollup = release.rollup.clone().unwrap_or_default();
        table.push(vec![
            release.name.clone(),
            timestamp_text(release.publish_time.as_ref()),
            if release.published_by.is_empty() {
                "anonymous".to_owned()
            } else {
                release.published_by.clone()
            },
            format!("{} {}", region_code(&rollup.region), rollup.display_name),
            rollup
                .period
                .as_ref()
                .map_or_else(|| "-".to_owned(), format_range),
            release.title.clone(),
            release.sha256.chars().take(12).collect(),
        ]);
    }
    format!(
        "{}({} {})\n",
        table.render(),
        format_count(releases.len() as i64),
        if releases.len() == 1 {
            "release"
        } else {
            "releases"
        }
    )
}

fn releases_csv(releases: &[Release]) -> Vec<Vec<String>> {
    let mut records = vec![
        [
            "name",
            "title",
            "published_by",
            "publish_time",
            "region",
            "display_name",
            "period_start",
            "period_end",
            "as_of",
            "sha256",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for release in releases {
        let rollup = release.rollup.clone().unwrap_or_default();
        let date =
            |which: fn(&procura_proto::v1::DateRange) -> Option<&procura_proto::v1::Date>| {
                rollup
                    .period
                    .as_ref()
                    .and_then(which)
                    .map(crate::convert::format_date)
                    .unwrap_or_default()
            };
        records.push(vec![
            release.name.clone(),
            release.title.clone(),
            release.published_by.clone(),
            release
                .publish_time
                .as_ref()
                .map(format_timestamp)
                .unwrap_or_default(),
            region_code(&rollup.region).to_owned(),
            rollup.display_name.clone(),
            date(|r| r.start.as_ref()),
            date(|r| r.end.as_ref()),
            rollup
                .as_of
                .as_ref()
                .map(format_timestamp)
                .unwrap_or_default(),
            release.sha256.clone(),
        ]);
    }
    records
}

/// What the release says about its figures: label and unit by metric, region names by code,
/// and the qualifier of each figure by (region code, own records only, metric): the totals are
/// under the rollup's region with `false`, an own-records row under its region with `true`.
struct Lookup {
    metrics: HashMap<String, (String, i32)>,
    qualifiers: HashMap<(String, bool, String), i32>,
    regions: HashMap<String, String>,
}

impl Lookup {
    fn of(rollup: &Rollup) -> Self {
        let mut metrics = HashMap::new();
        let mut qualifiers = HashMap::new();
        let mut regions = HashMap::new();
        let code = region_code(&rollup.region).to_owned();
        regions.insert(code.clone(), rollup.display_name.clone());
        for figure in &rollup.figures {
            metrics
                .entry(figure.metric.clone())
                .or_insert_with(|| (figure.label.clone(), figure.unit));
            qualifiers.insert(
                (code.clone(), false, figure.metric.clone()),
                figure.qualifier,
            );
        }
        for row in &rollup.rows {
            let code = region_code(&row.region).to_owned();
            regions.insert(code.clone(), row.display_name.clone());
            for figure in &row.figures {
                metrics
                    .entry(figure.metric.clone())
                    .or_insert_with(|| (figure.label.clone(), figure.unit));
                qualifiers.insert(
                    (code.clone(), row.own_records_only, figure.metric.clone()),
                    figure.qualifier,
                );
            }
        }
        Self {
            metrics,
            qualifiers,
            regions,
        }
    }

    /// The label of a metric, without the indentation that marks sub-figures in a rollup.
    fn label(&self, metric: &str) -> String {
        self.metrics
            .get(metric)
            .map_or_else(|| metric.to_owned(), |(label, _)| label.trim().to_owned())
    }

    fn unit(&self, metric: &str) -> i32 {
        self.metrics
            .get(metric)
            .map_or(i32::from(Unit::Count), |(_, unit)| *unit)
    }

    /// The qualifier the release gave the figure that changed. A qualifier words the
    /// period's value; the comparison period's value was published as it is.
    fn qualifier(&self, change: &FigureChange) -> i32 {
        if change.comparison_period {
            return 0;
        }
        self.qualifiers
            .get(&(
                region_code(&change.region).to_owned(),
                change.own_records_only,
                change.metric.clone(),
            ))
            .copied()
            .unwrap_or(0)
    }

    /// The region of a changed figure: `530100 昆明市`, `530000 云南省 (own records)`.
    fn region(&self, change: &FigureChange) -> String {
        let code = region_code(&change.region);
        let mut text = match self.regions.get(code) {
            Some(name) if !name.is_empty() => format!("{code} {name}"),
            _ => code.to_owned(),
        };
        if change.own_records_only {
            text.push_str(" (own records)");
        }
        text
    }
}

fn which_period(change: &FigureChange) -> &'static str {
    if change.comparison_period {
        "comparison period"
    } else {
        "period"
    }
}

/// A diff for people: "no change since release", or a summary table of the changed figures
/// and, per figure, the cases behind the change with their revisions.
pub fn diff_text(release: &Release, diff: &DiffReleaseResponse) -> String {
    let rollup = release.rollup.clone().unwrap_or_default();
    let lookup = Lookup::of(&rollup);
    let mut out = format!(
        "{} \"{}\": {}\nLive figures as of {}\n\n",
        release.name,
        release.title,
        rollup_heading(&rollup),
        timestamp_text(diff.live_time.as_ref())
    );
    if diff.changes.is_empty() {
        out.push_str("no change since release\n");
        return out;
    }
    out.push_str(&format!(
        "{} changed since the release:\n",
        match diff.changes.len() {
            1 => "1 figure".to_owned(),
            n => format!("{} figures", format_count(n as i64)),
        }
    ));
    let released_text = |change: &FigureChange, value: i64| {
        format_figure_cell(lookup.unit(&change.metric), value, lookup.qualifier(change))
    };
    let live_text = |change: &FigureChange, value: i64| {
        format_figure_cell(lookup.unit(&change.metric), value, 0)
    };
    let mut summary =
        Table::new(["REGION", "FIGURE", "OF THE", "RELEASED", "", "LIVE"]).right_align(&[3, 5]);
    for change in &diff.changes {
        summary.push(vec![
            lookup.region(change),
            lookup.label(&change.metric),
            which_period(change).to_owned(),
            released_text(change, change.released_value),
            "→".to_owned(),
            live_text(change, change.live_value),
        ]);
    }
    out.push_str(&summary.render());
    for change in &diff.changes {
        out.push_str(&format!(
            "\n{} · {} · {}: released {} → live {}\n",
            lookup.region(change),
            lookup.label(&change.metric),
            which_period(change),
            released_text(change, change.released_value),
            live_text(change, change.live_value)
        ));
        if change.records.is_empty() {
            out.push_str("  (no case revision found behind it)\n");
            continue;
        }
        let mut records = Table::new([
            "CASE",
            "CASE NUMBER",
            "RELEASED → LIVE",
            "REVISION",
            "TIME",
            "ACTOR",
            "REASON",
            "CHANGES",
        ])
        .right_align(&[3]);
        for record in &change.records {
            let contribution = format!(
                "{} → {}",
                live_text(change, record.released_value),
                live_text(change, record.live_value)
            );
            if record.revisions.is_empty() {
                records.push(vec![
                    record.case.clone(),
                    record.case_number.clone(),
                    contribution.clone(),
                ]);
            }
            for (i, revision) in record.revisions.iter().enumerate() {
                let first = i == 0;
                let changes: Vec<String> = revision.changes.iter().map(change_text).collect();
                records.push(vec![
                    if first {
                        record.case.clone()
                    } else {
                        String::new()
                    },
                    if first {
                        record.case_number.clone()
                    } else {
                        String::new()
                    },
                    if first {
                        contribution.clone()
                    } else {
                        String::new()
                    },
                    revision.revision.to_string(),
                    timestamp_text(revision.revise_time.as_ref()),
                    if revision.actor.is_empty() {
                        "anonymous".to_owned()
                    } else {
                        revision.actor.clone()
                    },
                    revision.reason.clone(),
                    changes.join("; "),
                ]);
            }
        }
        for line in records.render().lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn diff_json(rollup: &Rollup, diff: &DiffReleaseResponse) -> Value {
    let lookup = Lookup::of(rollup);
    json!({
        "release": diff.release,
        "as_of": rollup.as_of.as_ref().map(format_timestamp),
        "live_time": diff.live_time.as_ref().map(format_timestamp),
        "changed": !diff.changes.is_empty(),
        "changes": diff.changes.iter().map(|c| json!({
            "region": region_code(&c.region),
            "metric": c.metric,
            "label": lookup.label(&c.metric),
            "unit": enum_name::<Unit>(lookup.unit(&c.metric)),
            "own_records_only": c.own_records_only,
            "comparison_period": c.comparison_period,
            "released_value": c.released_value,
            "qualifier": match lookup.qualifier(c) {
                0 => Value::Null,
                q => Value::String(enum_name::<Qualifier>(q)),
            },
            "live_value": c.live_value,
            "records": c.records.iter().map(|r| json!({
                "case": r.case,
                "case_number": r.case_number,
                "released_value": r.released_value,
                "live_value": r.live_value,
                "revisions": r.revisions.iter().map(revision_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A diff as CSV: one record per revision behind each changed figure (a figure without
/// records gets one record with empty case cells).
fn diff_csv(rollup: &Rollup, diff: &DiffReleaseResponse) -> Vec<Vec<String>> {
    let lookup = Lookup::of(rollup);
    let mut records = vec![
        [
            "region",
            "own_records_only",
            "metric",
            "comparison_period",
            "released_value",
            "qualifier",
            "live_value",
            "case",
            "case_number",
            "case_released_value",
            "case_live_value",
            "revision",
            "revise_time",
            "actor",
            "reason",
            "changes",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for change in &diff.changes {
        let head = vec![
            region_code(&change.region).to_owned(),
            change.own_records_only.to_string(),
            change.metric.clone(),
            change.comparison_period.to_string(),
            change.released_value.to_string(),
            qualifier_cell(lookup.qualifier(change)),
            change.live_value.to_string(),
        ];
        if change.records.is_empty() {
            let mut record = head.clone();
            record.extend(std::iter::repeat_n(String::new(), 9));
            records.push(record);
        }
        for record in &change.records {
            let case = [
                record.case.clone(),
                record.case_number.clone(),
                record.released_value.to_string(),
                record.live_value.to_string(),
            ];
            if record.revisions.is_empty() {
                let mut row = head.clone();
                row.extend(case.iter().cloned());
                row.extend(std::iter::repeat_n(String::new(), 5));
                records.push(row);
            }
            for revision in &record.revisions {
                let mut row = head.clone();
                row.extend(case.iter().cloned());
                row.extend([
                    revision.revision.to_string(),
                    revision
                        .revise_time
                        .as_ref()
                        .map(format_timestamp)
                        .unwrap_or_default(),
                    revision.actor.clone(),
                    revision.reason.clone(),
                    revision
                        .changes
                        .iter()
                        .map(change_text)
                        .collect::<Vec<_>>()
                        .join("; "),
                ]);
                records.push(row);
            }
        }
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use procura_proto::v1::{CaseRevision, FieldChange, Figure, RecordChange, RollupRow};

    fn release() -> Release {
        let figure = |metric: &str, label: &str, unit: Unit, value, qualifier: Qualifier| Figure {
            metric: metric.to_owned(),
            label: label.to_owned(),
            unit: unit.into(),
            value,
            qualifier: qualifier.into(),
            ..Figure::default()
        };
        Release {
            name: "releases/3".to_owned(),
            title: "2020 figures".to_owned(),
            published_by: "spp".to_owned(),
            sha256: "ab".repeat(32),
            rollup: Some(Rollup {
                region: "regions/530000".to_owned(),
                display_name: "云南省".to_owned(),
                figures: vec![
                    figure(
                        "measures.protest",
                        "Protests (抗诉)",
                        Unit::Count,
                        6000,
                        Qualifier::MoreThan,
                    ),
                    figure(
                        "aid.amount_fen",
                        "Aid (司法救助金额)",
                        Unit::Fen,
                        150,
                        Qualifier::Exact,
                    ),
                ],
                rows: vec![
                    RollupRow {
                        region: "regions/530000".to_owned(),
                        display_name: "云南省".to_owned(),
                        own_records_only: true,
                        figures: vec![figure(
                            "measures.protest",
                            "Protests (抗诉)",
                            Unit::Count,
                            4,
                            Qualifier::Exact,
                        )],
                    },
                    RollupRow {
                        region: "regions/530100".to_owned(),
                        display_name: "昆明市".to_owned(),
                        ..RollupRow::default()
                    },
                ],
                ..Rollup::default()
            }),
            ..Release::default()
        }
    }

    fn diff() -> DiffReleaseResponse {
        DiffReleaseResponse {
            release: "releases/3".to_owned(),
            live_time: None,
            changes: vec![
                FigureChange {
                    region: "regions/530000".to_owned(),
                    metric: "measures.protest".to_owned(),
                    released_value: 6000,
                    live_value: 6001,
                    comparison_period: false,
                    own_records_only: false,
                    records: vec![RecordChange {
                        case: "cases/9".to_owned(),
                        case_number: "昆检1号".to_owned(),
                        released_value: 0,
                        live_value: 1,
                        revisions: vec![CaseRevision {
                            revision: 2,
                            actor: "alice".to_owned(),
                            reason: "late submission".to_owned(),
                            changes: vec![FieldChange {
                                field: "measures/4.kind".to_owned(),
                                old_value: String::new(),
                                new_value: "protest".to_owned(),
                            }],
                            ..CaseRevision::default()
                        }],
                    }],
                },
                FigureChange {
                    region: "regions/530000".to_owned(),
                    metric: "measures.protest".to_owned(),
                    released_value: 4,
                    live_value: 5,
                    comparison_period: true,
                    own_records_only: true,
                    records: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn release_names_are_parsed() {
        assert_eq!(parse_release_name("3").unwrap(), "releases/3");
        assert_eq!(parse_release_name("releases/ab").unwrap(), "releases/ab");
        assert!(parse_release_name("a/b").is_err());
        assert!(parse_release_name("").is_err());
    }

    #[test]
    fn qualifiers_come_from_the_flags() {
        let map = qualifiers(&["measures.protest".to_owned()], &["aid.grants".to_owned()]).unwrap();
        assert_eq!(map["measures.protest"], i32::from(Qualifier::MoreThan));
        assert_eq!(map["aid.grants"], i32::from(Qualifier::Exact));
        assert!(qualifiers(&["a".to_owned()], &["a".to_owned()]).is_err());
    }

    #[test]
    fn a_release_shows_more_than_values_with_a_plus() {
        let release = release();
        let text = release_text(&release, release.rollup.as_ref().unwrap());
        assert!(
            text.contains(&format!("SHA-256:       {}", "ab".repeat(32))),
            "{text}"
        );
        let protest = text.lines().find(|l| l.starts_with("Protests")).unwrap();
        assert!(protest.contains("6,000+"), "{protest}");
        let aid = text.lines().find(|l| l.starts_with("Aid")).unwrap();
        assert!(aid.contains("1.50 yuan") && !aid.contains('+'), "{aid}");
        let csv = rollup_csv(release.rollup.as_ref().unwrap());
        assert_eq!(csv[0].last().unwrap(), "qualifier");
        assert_eq!(csv[1][5], "6000");
        assert_eq!(csv[1].last().unwrap(), "more-than");
    }

    #[test]
    fn a_diff_names_the_figure_and_the_revisions_behind_it() {
        let text = diff_text(&release(), &diff());
        assert!(
            text.contains("2 figures changed since the release"),
            "{text}"
        );
        assert!(
            text.contains("530000 云南省 · Protests (抗诉) · period: released 6,000+ → live 6,001"),
            "{text}"
        );
        assert!(
            text.contains(
                "530000 云南省 (own records) · Protests (抗诉) · comparison period: released 4 → \
                 live 5\n  (no case revision found behind it)"
            ),
            "{text}"
        );
        let row = text.lines().find(|l| l.contains("cases/9")).unwrap();
        assert!(row.contains("昆检1号"), "{row}");
        assert!(row.contains("0 → 1"), "{row}");
        assert!(row.contains("alice"), "{row}");
        assert!(row.contains("late submission"), "{row}");
        assert!(row.contains("measures/4.kind: (none) → protest"), "{row}");

        let unchanged = DiffReleaseResponse {
            changes: Vec::new(),
            ..diff()
        };
        assert!(diff_text(&release(), &unchanged).ends_with("no change since release\n"));

        let rollup = release().rollup.unwrap();
        let csv = diff_csv(&rollup, &diff());
        assert_eq!(csv.len(), 3);
        assert_eq!(csv[1][5], "more-than");
        assert_eq!(csv[1][11], "2");
        assert_eq!(csv[2][1], "true");
        assert_eq!(
            csv[2][5], "",
            "a qualifier words the period's value, not the comparison period's"
        );
        let json = diff_json(&rollup, &diff());
        assert_eq!(json["changes"][0]["qualifier"], "more-than");
        assert_eq!(json["changes"][1]["qualifier"], Value::Null);
        assert_eq!(
            json["changes"][0]["records"][0]["revisions"][0]["actor"],
            "alice"
        );
    }
}
