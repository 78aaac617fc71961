//! `procura cases create|get|list|update|import|revisions|withdraw`: administrative
//! procuratorial supervision cases (行政检察监督案件).

use clap::{Args, Subcommand};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::{
    ApplicantType, Case, CaseRevision, CaseStatus, CaseType, CreateCaseRequest, Date, FieldChange,
    GetCaseRequest, ListCaseRevisionsRequest, ListCasesRequest, Marker, ResolutionMethod, Sector,
    UpdateCaseRequest,
};
use serde_json::Value;

use super::{Context, FormatArg, call, paginate, request_id};
use crate::commands::{aid, import, measures};
use crate::convert::{
    cli_word, enum_name, format_date, format_optional_date, format_timestamp, parse_case_name,
    parse_date, parse_region_code, region_code, region_name,
};
use crate::output::{
    OutputFormat, Table, case_json, case_markers, emit, emit_csv, emit_json, format_count,
    format_yuan, render_fields,
};
use crate::records::{CASE_COLUMNS, parse_set_pair, set_case_field};

/// Subcommands of `procura cases`.
#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// Store a new case and print it.
    Create(CreateArgs),
    /// Show a case with its measures, resolution, aid grants and etag.
    Get {
        /// The case: its id (42) or name (cases/42).
        #[arg(value_name = "ID_OR_NAME", value_parser = parse_case_name)]
        case: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List cases matching filters, ordered by acceptance date (every page unless --limit).
    List(ListArgs),
    /// Change fields of a case and print it.
    ///
    /// Give each change as --set field=value; the update mask is built from the fields given.
    /// Updatable fields: status, concluded_on, case_type, applicant_type, sector, accepted_on,
    /// leader_handled, public_hearing, private_enterprise, spp_listed_batch, typical, summary.
    /// Enum values as in `cases create` (e.g. status=concluded), dates as YYYY-MM-DD, flags as
    /// true/false; an empty value clears the field (concluded_on=).
    ///
    /// Example: procura cases update 42 --set status=concluded --set concluded_on=2020-05-01
    Update(UpdateArgs),
    /// Import cases from a CSV, JSON or JSON-lines file (what `cases list` writes) over a
    /// resumable stream.
    Import(import::ImportArgs),
    /// Show the revisions of a case (修订记录): who changed what, when and why.
    ///
    /// Who is the principal the server authenticated for the change (`anonymous` for changes
    /// made before procura had access control). Needs the auditor role at a region covering
    /// the case.
    Revisions {
        /// The case: its id (42) or name (cases/42).
        #[arg(value_name = "ID_OR_NAME", value_parser = parse_case_name)]
        case: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Withdraw a case entered in error (撤回): kept for the record, counted in no figure.
    Withdraw {
        /// The case: its id (42) or name (cases/42).
        #[arg(value_name = "ID_OR_NAME", value_parser = parse_case_name)]
        case: String,
        /// Why it is withdrawn (修改原因), kept in its revision.
        #[arg(long)]
        reason: String,
        /// Withdraw only if the case still has this etag (from `cases get`); else ABORTED.
        #[arg(long)]
        etag: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Arguments of `procura cases create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The procuratorate handling the case, as its region code (承办检察院), e.g. 530100.
    #[arg(long, value_parser = parse_region_code)]
    region: String,
    /// The procuratorate's own case number (案号), unique within it.
    #[arg(long)]
    case_number: String,
    /// Case type (案件类型).
    #[arg(long = "type", value_name = "TYPE", value_parser = crate::convert::enum_parser::<CaseType>())]
    case_type: CaseType,
    /// Applicant type (申请人类型).
    #[arg(long, value_parser = crate::convert::enum_parser::<ApplicantType>())]
    applicant: ApplicantType,
    /// Sector of the administrative agency in dispute (行政管理领域).
    #[arg(long, value_parser = crate::convert::enum_parser::<Sector>())]
    sector: Sector,
    /// Acceptance date (受理日期), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    accepted: Date,
    /// Conclusion date (审结日期), YYYY-MM-DD; required with --status concluded.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    concluded: Option<Date>,
    /// Status (案件状态) [default: accepted, or concluded when --concluded is given].
    #[arg(long, value_parser = crate::convert::enum_parser::<CaseStatus>())]
    status: Option<CaseStatus>,
    /// Handled personally by the chief or deputy chief prosecutor (领导包案).
    #[arg(long)]
    leader_handled: bool,
    /// A public hearing was held (公开听证).
    #[arg(long)]
    public_hearing: bool,
    /// Involves a private enterprise (涉民营企业).
    #[arg(long)]
    private_enterprise: bool,
    /// Listed for supervision by the SPP (最高检挂牌督办), with the batch number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    spp_listed_batch: Option<i32>,
    /// Published as a typical case (典型案例).
    #[arg(long)]
    typical: bool,
    /// Short summary (案情摘要).
    #[arg(long)]
    summary: Option<String>,
    /// Idempotency key (a UUID); a retry with the same key returns the case first stored
    /// [default: a new random UUID].
    #[arg(long, value_parser = clap::value_parser!(uuid::Uuid))]
    request_id: Option<uuid::Uuid>,
    #[command(flatten)]
    format: FormatArg,
}

/// Arguments of `procura cases list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only cases of procuratorates in this region's subtree, e.g. 530000.
    #[arg(long, value_parser = parse_region_code)]
    region: Option<String>,
    /// Only cases of this type.
    #[arg(long = "type", value_name = "TYPE", value_parser = crate::convert::enum_parser::<CaseType>())]
    case_type: Option<CaseType>,
    /// Only cases in this status [default: every status but withdrawn].
    #[arg(long, value_parser = crate::convert::enum_parser::<CaseStatus>())]
    status: Option<CaseStatus>,
    /// Only cases accepted on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    from: Option<Date>,
    /// Only cases accepted on or before this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    to: Option<Date>,
    /// Only cases carrying every one of these markers (repeat, or separate with commas).
    #[arg(long, value_delimiter = ',', value_parser = crate::convert::enum_parser::<Marker>())]
    marker: Vec<Marker>,
    /// Cases asked for per call [default: the server's, 50; at most 500].
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..))]
    page_size: Option<i32>,
    /// Stop after this many cases instead of reading every page.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    #[command(flatten)]
    format: FormatArg,
}

/// Arguments of `procura cases update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The case: its id (42) or name (cases/42).
    #[arg(value_name = "ID_OR_NAME", value_parser = parse_case_name)]
    case: String,
    /// A change, field=value (repeat for several fields).
    #[arg(long = "set", value_name = "FIELD=VALUE", required = true, value_parser = parse_set_pair)]
    changes: Vec<(String, String)>,
    /// Update only if the case still has this etag (from `cases get`); else ABORTED.
    #[arg(long)]
    etag: Option<String>,
    /// Why the case is changed (修改原因), kept in its revision, e.g. "correction: wrong date".
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

/// Runs a `procura cases` subcommand.
pub async fn run(command: CasesCommand, ctx: &Context) -> anyhow::Result<std::process::ExitCode> {
    match command {
        CasesCommand::Create(args) => create(args, ctx).await?,
        CasesCommand::Get { case, format } => {
            let client = CaseServiceClient::new(ctx.channel().await?);
            let request = GetCaseRequest { name: case };
            let response = call(
                &client,
                &request,
                |mut c, r| async move { c.get_case(r).await },
            )
            .await?;
            print_case(&response.case.unwrap_or_default(), ctx.format(&format))?;
        }
        CasesCommand::List(args) => list(args, ctx).await?,
        CasesCommand::Update(args) => update(args, ctx).await?,
        CasesCommand::Import(args) => return import::run(args, ctx).await,
        CasesCommand::Revisions { case, format } => revisions(case, ctx, format).await?,
        CasesCommand::Withdraw {
            case,
            reason,
            etag,
            format,
        } => {
            if reason.trim().is_empty() {
                anyhow::bail!("--reason must say why the case is withdrawn");
            }
            let request = UpdateCaseRequest {
                case: Some(Case {
                    name: case,
                    status: CaseStatus::Withdrawn.into(),
                    etag: etag.unwrap_or_default(),
                    ..Case::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["status".to_owned()],
                }),
                reason,
            };
            let mut client = CaseServiceClient::new(ctx.channel().await?);
            let response = client.update_case(request).await?.into_inner();
            print_case(&response.case.unwrap_or_default(), ctx.format(&format))?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn create(args: CreateArgs, ctx: &Context) -> anyhow::Result<()> {
    let status = args.status.unwrap_or(if args.concluded.is_some() {
        CaseStatus::Concluded
    } else {
        CaseStatus::Accepted
    });
    let case = Case {
        region: region_name(&args.region),
        case_number: args.case_number,
        case_type: args.case_type.into(),
        status: status.into(),
        applicant_type: args.applicant.into(),
        sector: args.sector.into(),
        accepted_on: Some(args.accepted),
        concluded_on: args.concluded,
        leader_handled: args.leader_handled,
        public_hearing: args.public_hearing,
        private_enterprise: args.private_enterprise,
        spp_listed_batch: args.spp_listed_batch.unwrap_or(0),
        typical: args.typical,
        summary: args.summary.unwrap_or_default(),
        ..Case::default()
    };
    let request = CreateCaseRequest {
        case: Some(case),
        request_id: request_id(args.request_id),
    };
    let client = CaseServiceClient::new(ctx.channel().await?);
    let response = call(&client, &request, |mut c, r| async move {
        c.create_case(r).await
    })
    .await?;
    print_case(&response.case.unwrap_or_default(), ctx.format(&args.format))
}

async fn list(args: ListArgs, ctx: &Context) -> anyhow::Result<()> {
    let client = CaseServiceClient::new(ctx.channel().await?);
    let limit = args.limit.map(|l| l as usize);
    let cases: Vec<Case> = paginate(
        &client,
        limit,
        |read, page_token| {
            let remaining = limit.map(|l| i32::try_from(l - read).unwrap_or(i32::MAX));
            let page_size = match (args.page_size, remaining) {
                (Some(size), Some(remaining)) => size.min(remaining),
                (Some(size), None) => size,
                (None, Some(remaining)) => remaining.min(500),
                // Every page is read: ask for the largest pages.
                (None, None) => 500,
            };
            ListCasesRequest {
                region: args.region.as_deref().map(region_name).unwrap_or_default(),
                case_type: args.case_type.map_or(0, Into::into),
                status: args.status.map_or(0, Into::into),
                accepted_from: args.from,
                accepted_to: args.to,
                markers: args.marker.iter().map(|m| (*m).into()).collect(),
                page_size,
                page_token,
            }
        },
        |mut c, r| async move { c.list_cases(r).await },
    )
    .await?;
    match ctx.format(&args.format) {
        OutputFormat::Table => {
            let mut table = Table::new([
                "NAME",
                "REGION",
                "CASE NUMBER",
                "TYPE",
                "STATUS",
                "ACCEPTED",
                "CONCLUDED",
                "MARKERS",
                "MEASURES",
                "RESOLVED",
                "AID (YUAN)",
            ])
            .right_align(&[8, 10]);
            for case in &cases {
                table.push(vec![
                    case.name.clone(),
                    region_code(&case.region).to_owned(),
                    case.case_number.clone(),
                    enum_name::<CaseType>(case.case_type),
                    enum_name::<CaseStatus>(case.status),
                    format_optional_date(case.accepted_on.as_ref()),
                    format_optional_date(case.concluded_on.as_ref()),
                    case_markers(case),
                    format_count(case.measures.len() as i64),
                    case.resolution.as_ref().map_or_else(
                        || "-".to_owned(),
                        |r| format_optional_date(r.resolved_on.as_ref()),
                    ),
                    if case.aid_grants.is_empty() {
                        "-".to_owned()
                    } else {
                        format_yuan(case.aid_grants.iter().map(|a| a.amount_fen).sum())
                    },
                ]);
            }
            let noun = if cases.len() == 1 { "case" } else { "cases" };
            emit(&format!(
                "{}({} {noun})\n",
                table.render(),
                format_count(cases.len() as i64)
            ))
        }
        OutputFormat::Json => emit_json(&Value::Array(cases.iter().map(case_json).collect())),
        OutputFormat::Csv => {
            let mut records = vec![case_csv_header()];
            records.extend(cases.iter().map(case_csv_row));
            emit_csv(&records)
        }
    }
}

async fn update(args: UpdateArgs, ctx: &Context) -> anyhow::Result<()> {
    let mut case = Case {
        name: args.case,
        etag: args.etag.unwrap_or_default(),
        ..Case::default()
    };
    let mut paths: Vec<String> = Vec::new();
    for (field, value) in &args.changes {
        if paths.contains(field) {
            anyhow::bail!("--set {field} is given twice");
        }
        set_case_field(&mut case, field, &Value::String(value.clone()))
            .map_err(|e| anyhow::anyhow!("--set {field}: {}", e.description))?;
        paths.push(field.clone());
    }
    let request = UpdateCaseRequest {
        case: Some(case),
        update_mask: Some(prost_types::FieldMask { paths }),
        reason: args.reason.unwrap_or_default(),
    };
    let mut client = CaseServiceClient::new(ctx.channel().await?);
    let response = client.update_case(request).await?.into_inner();
    print_case(&response.case.unwrap_or_default(), ctx.format(&args.format))
}

/// Reads every revision of a case, page by page.
async fn revisions(case: String, ctx: &Context, format: FormatArg) -> anyhow::Result<()> {
    let client = CaseServiceClient::new(ctx.channel().await?);
    let revisions: Vec<CaseRevision> = paginate(
        &client,
        None,
        |_, page_token| ListCaseRevisionsRequest {
            parent: case.clone(),
            page_size: 1000,
            page_token,
        },
        |mut c, r| async move { c.list_case_revisions(r).await },
    )
    .await?;
    match ctx.format(&format) {
        OutputFormat::Table => emit(&format!(
            "{case}: {}\n\n{}",
            match revisions.len() {
                1 => "1 revision".to_owned(),
                n => format!("{} revisions", format_count(n as i64)),
            },
            revisions_text(&revisions)
        )),
        OutputFormat::Json => {
            emit_json(&Value::Array(revisions.iter().map(revision_json).collect()))
        }
        OutputFormat::Csv => emit_csv(&revisions_csv(&revisions)),
    }
}

/// A value of a changed field for people, in the CLI's words (`concluded`, not
/// `CASE_STATUS_CONCLUDED`): `(none)` when the record did not exist (or the value was empty).
fn change_value(value: &str) -> String {
    if value.is_empty() {
        "(none)".to_owned()
    } else {
        cli_word(value)
    }
}

/// One changed field for people: `status: accepted → withdrawn`.
pub fn change_text(change: &FieldChange) -> String {
    format!(
        "{}: {} → {}",
        change.field,
        change_value(&change.old_value),
        change_value(&change.new_value)
    )
}

/// The heading line of a revision: `revision 2  2021-03-01T08:00:00Z  by alice  correction`.
pub fn revision_heading(revision: &CaseRevision) -> String {
    format!(
        "revision {}  {}  by {}  {}",
        revision.revision,
        revision
            .revise_time
            .as_ref()
            .map_or_else(|| "-".to_owned(), format_timestamp),
        if revision.actor.is_empty() {
            "anonymous"
        } else {
            &revision.actor
        },
        if revision.reason.is_empty() {
            "(no reason given)"
        } else {
            &revision.reason
        }
    )
}

/// Revisions for people: a heading line each, then one indented line per changed field.
pub fn revisions_text(revisions: &[CaseRevision]) -> String {
    let mut out = String::new();
    for revision in revisions {
        out.push_str(&revision_heading(revision));
        out.push('\n');
        for change in &revision.changes {
            out.push_str(&format!("    {}\n", change_text(change)));
        }
    }
    out
}

/// A revision as JSON.
pub fn revision_json(revision: &CaseRevision) -> Value {
    serde_json::json!({
        "name": revision.name,
        "revision": revision.revision,
        "revise_time": revision.revise_time.as_ref().map(format_timestamp),
        "actor": revision.actor,
        "reason": revision.reason,
        "changes": revision.changes.iter().map(|c| serde_json::json!({
            "field": c.field,
            "old_value": cli_word(&c.old_value),
            "new_value": cli_word(&c.new_value),
        })).collect::<Vec<_>>(),
    })
}

/// Revisions as CSV: one record per changed field (a revision without changes gets one record
/// with empty change cells).
fn revisions_csv(revisions: &[CaseRevision]) -> Vec<Vec<String>> {
    let mut records = vec![
        [
            "revision",
            "revise_time",
            "actor",
            "reason",
            "field",
            "old_value",
            "new_value",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for revision in revisions {
        let head = vec![
            revision.revision.to_string(),
            revision
                .revise_time
                .as_ref()
                .map(format_timestamp)
                .unwrap_or_default(),
            revision.actor.clone(),
            revision.reason.clone(),
        ];
        if revision.changes.is_empty() {
            let mut record = head.clone();
            record.extend([String::new(), String::new(), String::new()]);
            records.push(record);
        }
        for change in &revision.changes {
            let mut record = head.clone();
            record.extend([
                change.field.clone(),
                cli_word(&change.old_value),
                cli_word(&change.new_value),
            ]);
            records.push(record);
        }
    }
    records
}

/// Prints a case in the chosen format: details and sub-tables, JSON, or one CSV row.
pub fn print_case(case: &Case, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => emit(&case_details(case)),
        OutputFormat::Json => emit_json(&case_json(case)),
        OutputFormat::Csv => emit_csv(&[case_csv_header(), case_csv_row(case)]),
    }
}

/// The header of the case CSV: `name` then the columns `cases import` reads.
pub fn case_csv_header() -> Vec<String> {
    std::iter::once("name")
        .chain(CASE_COLUMNS.iter().copied())
        .map(String::from)
        .collect()
}

/// One case as a CSV row matching [`case_csv_header`].
pub fn case_csv_row(case: &Case) -> Vec<String> {
    let date = |d: Option<&Date>| d.map(format_date).unwrap_or_default();
    vec![
        case.name.clone(),
        region_code(&case.region).to_owned(),
        case.case_number.clone(),
        enum_name::<CaseType>(case.case_type),
        enum_name::<CaseStatus>(case.status),
        enum_name::<ApplicantType>(case.applicant_type),
        enum_name::<Sector>(case.sector),
        date(case.accepted_on.as_ref()),
        date(case.concluded_on.as_ref()),
        case.leader_handled.to_string(),
        case.public_hearing.to_string(),
        case.private_enterprise.to_string(),
        case.spp_listed_batch.to_string(),
        case.typical.to_string(),
        case.summary.clone(),
    ]
}

/// A case for people: its fields, then its measures, resolution and aid grants.
pub fn case_details(case: &Case) -> String {
    let timestamp =
        |ts: Option<&prost_types::Timestamp>| ts.map_or_else(|| "-".to_owned(), format_timestamp);
    let mut out = render_fields(&[
        ("Case", case.name.clone()),
        ("Region", region_code(&case.region).to_owned()),
        ("Case number", case.case_number.clone()),
        ("Type", enum_name::<CaseType>(case.case_type)),
        ("Status", enum_name::<CaseStatus>(case.status)),
        ("Applicant", enum_name::<ApplicantType>(case.applicant_type)),
        ("Sector", enum_name::<Sector>(case.sector)),
        (
            "Accepted on",
            format_optional_date(case.accepted_on.as_ref()),
        ),
        (
            "Concluded on",
            format_optional_date(case.concluded_on.as_ref()),
        ),
        ("Markers", case_markers(case)),
        (
            "Summary",
            if case.summary.is_empty() {
                "-".to_owned()
            } else {
                case.summary.clone()
            },
        ),
        ("Created", timestamp(case.create_time.as_ref())),
        ("Updated", timestamp(case.update_time.as_ref())),
        ("Etag", case.etag.clone()),
    ]);

    out.push_str(&format!("\nMeasures ({}):\n", case.measures.len()));
    if !case.measures.is_empty() {
        out.push_str(&measures::measure_table(&case.measures).render());
    }

    match &case.resolution {
        Some(resolution) => {
            out.push_str(&format!(
                "\nResolution: {} on {} ({})\n",
                enum_name::<ResolutionMethod>(resolution.method),
                format_optional_date(resolution.resolved_on.as_ref()),
                resolution.name
            ));
            if !resolution.note.is_empty() {
                out.push_str(&format!("  Note: {}\n", resolution.note));
            }
        }
        None => out.push_str("\nResolution: none\n"),
    }

    let total: i64 = case.aid_grants.iter().map(|a| a.amount_fen).sum();
    out.push_str(&format!("\nAid grants ({}", case.aid_grants.len()));
    if !case.aid_grants.is_empty() {
        out.push_str(&format!(", {} yuan in total", format_yuan(total)));
    }
    out.push_str("):\n");
    if !case.aid_grants.is_empty() {
        out.push_str(&aid::aid_table(&case.aid_grants).render());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Vec<CaseRevision> {
        vec![
            CaseRevision {
                name: "cases/7/revisions/1".to_owned(),
                revision: 1,
                revise_time: Some(prost_types::Timestamp {
                    seconds: 1_583_020_800,
                    nanos: 0,
                }),
                actor: String::new(),
                reason: "created".to_owned(),
                changes: vec![FieldChange {
                    field: "status".to_owned(),
                    old_value: String::new(),
                    new_value: "CASE_STATUS_ACCEPTED".to_owned(),
                }],
            },
            CaseRevision {
                name: "cases/7/revisions/2".to_owned(),
                revision: 2,
                revise_time: None,
                actor: "alice".to_owned(),
                reason: String::new(),
                changes: Vec::new(),
            },
            CaseRevision {
                name: "cases/7/revisions/3".to_owned(),
                revision: 3,
                revise_time: None,
                actor: "alice".to_owned(),
                reason: "corrected".to_owned(),
                changes: vec![
                    FieldChange {
                        field: "measures/2.adoption".to_owned(),
                        old_value: "ADOPTION_PENDING".to_owned(),
                        new_value: "ADOPTION_NOT_ADOPTED".to_owned(),
                    },
                    FieldChange {
                        field: "summary".to_owned(),
                        old_value: "CASE_TYPE_X".to_owned(),
                        new_value: "2020-03-01".to_owned(),
                    },
                ],
            },
        ]
    }

    #[test]
    fn revisions_show_each_change_as_old_to_new() {
        assert_eq!(
            revisions_text(&sample()),
            "revision 1  2020-03-01T00:00:00Z  by anonymous  created\n\
             \x20   status: (none) → accepted\n\
             revision 2  -  by alice  (no reason given)\n\
             revision 3  -  by alice  corrected\n\
             \x20   measures/2.adoption: pending → not-adopted\n\
             \x20   summary: CASE_TYPE_X → 2020-03-01\n",
            "enum values in the CLI's words, other text as it is"
        );
    }

    #[test]
    fn revisions_csv_has_one_record_per_change() {
        let records = revisions_csv(&sample());
        assert_eq!(records.len(), 5);
        assert_eq!(records[1][4..], ["status", "", "accepted"]);
        assert_eq!(records[2][..4], ["2", "", "alice", ""]);
        let json = revision_json(&sample()[0]);
        assert_eq!(json["changes"][0]["new_value"], "accepted");
        assert_eq!(
            records[3][4..],
            ["measures/2.adoption", "pending", "not-adopted"]
        );
        assert_eq!(json["revise_time"], "2020-03-01T00:00:00Z");
    }
}
