//! `procura resolutions add`: the substantive resolution of a case's administrative dispute
//! (行政争议实质性化解).

use clap::{Args, Subcommand};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::{CreateResolutionRequest, Date, Resolution, ResolutionMethod};

use super::{Context, FormatArg, call, request_id};
use crate::convert::{
    enum_name, enum_parser, format_date, format_optional_date, parse_case_name, parse_date,
};
use crate::output::{OutputFormat, emit, emit_csv, emit_json, render_fields, resolution_json};

/// Subcommands of `procura resolutions`.
#[derive(Debug, Subcommand)]
pub enum ResolutionsCommand {
    /// Record that a case's dispute was substantively resolved (a case has at most one).
    Add(AddArgs),
}

/// Arguments of `procura resolutions add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The case: its id (42) or name (cases/42).
    #[arg(value_name = "CASE", value_parser = parse_case_name)]
    case: String,
    /// Method of resolution (化解方式).
    #[arg(long, value_parser = enum_parser::<ResolutionMethod>())]
    method: ResolutionMethod,
    /// Date the dispute was resolved (化解日期), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    resolved: Date,
    /// Free-text note (说明).
    #[arg(long)]
    note: Option<String>,
    /// Idempotency key (a UUID) [default: a new random UUID].
    #[arg(long, value_parser = clap::value_parser!(uuid::Uuid))]
    request_id: Option<uuid::Uuid>,
    #[command(flatten)]
    format: FormatArg,
}

/// Runs a `procura resolutions` subcommand.
pub async fn run(command: ResolutionsCommand, ctx: &Context) -> anyhow::Result<()> {
    let ResolutionsCommand::Add(args) = command;
    let request = CreateResolutionRequest {
        parent: args.case,
        resolution: Some(Resolution {
            method: args.method.into(),
            resolved_on: Some(args.resolved),
            note: args.note.unwrap_or_default(),
            ..Resolution::default()
        }),
        request_id: request_id(args.request_id),
    };
    let client = CaseServiceClient::new(ctx.channel().await?);
    let response = call(&client, &request, |mut c, r| async move {
        c.create_resolution(r).await
    })
    .await?;
    let resolution = response.resolution.unwrap_or_default();
    match ctx.format(&args.format) {
        OutputFormat::Table => emit(&render_fields(&[
            ("Resolution", resolution.name.clone()),
            ("Method", enum_name::<ResolutionMethod>(resolution.method)),
            (
                "Resolved on",
                format_optional_date(resolution.resolved_on.as_ref()),
            ),
            ("Note", resolution.note.clone()),
        ])),
        OutputFormat::Json => emit_json(&resolution_json(&resolution)),
        OutputFormat::Csv => emit_csv(&[
            ["name", "method", "resolved_on", "note"]
                .map(String::from)
                .to_vec(),
            vec![
                resolution.name.clone(),
                enum_name::<ResolutionMethod>(resolution.method),
                resolution
                    .resolved_on
                    .as_ref()
                    .map(format_date)
                    .unwrap_or_default(),
                resolution.note.clone(),
            ],
        ]),
    }
}
