//! `procura aid add`: judicial aid grants (司法救助), amounts in integer fen.

use clap::{Args, Subcommand};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::{CreateJudicialAidRequest, Date, JudicialAid};

use super::{Context, FormatArg, call, request_id};
use crate::convert::{format_date, format_optional_date, parse_case_name, parse_date, parse_yuan};
use crate::output::{
    OutputFormat, Table, aid_json, emit, emit_csv, emit_json, format_yuan, render_fields,
};

/// Subcommands of `procura aid`.
#[derive(Debug, Subcommand)]
pub enum AidCommand {
    /// Add a judicial aid grant (司法救助) to a case.
    Add(AddArgs),
}

/// Arguments of `procura aid add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The case: its id (42) or name (cases/42).
    #[arg(value_name = "CASE", value_parser = parse_case_name)]
    case: String,
    /// Date of the grant (救助日期), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    granted: Date,
    /// Amount in yuan (救助金额), e.g. 1234.56 or 1234; at most two decimals, sent as fen.
    #[arg(long, value_name = "YUAN", value_parser = parse_yuan)]
    amount: i64,
    /// Recipient (救助对象).
    #[arg(long)]
    recipient: Option<String>,
    /// Idempotency key (a UUID) [default: a new random UUID].
    #[arg(long, value_parser = clap::value_parser!(uuid::Uuid))]
    request_id: Option<uuid::Uuid>,
    #[command(flatten)]
    format: FormatArg,
}

/// Runs a `procura aid` subcommand.
pub async fn run(command: AidCommand, ctx: &Context) -> anyhow::Result<()> {
    let AidCommand::Add(args) = command;
    let request = CreateJudicialAidRequest {
        parent: args.case,
        aid_grant: Some(JudicialAid {
            granted_on: Some(args.granted),
            amount_fen: args.amount,
            recipient: args.recipient.unwrap_or_default(),
            ..JudicialAid::default()
        }),
        request_id: request_id(args.request_id),
    };
    let client = CaseServiceClient::new(ctx.channel().await?);
    let response = call(&client, &request, |mut c, r| async move {
        c.create_judicial_aid(r).await
    })
    .await?;
    let aid = response.aid_grant.unwrap_or_default();
    match ctx.format(&args.format) {
        OutputFormat::Table => emit(&render_fields(&[
            ("Aid grant", aid.name.clone()),
            ("Granted on", format_optional_date(aid.granted_on.as_ref())),
            ("Amount", format!("{} yuan", format_yuan(aid.amount_fen))),
            ("Recipient", aid.recipient.clone()),
        ])),
        OutputFormat::Json => emit_json(&aid_json(&aid)),
        OutputFormat::Csv => emit_csv(&[
            ["name", "granted_on", "amount_fen", "recipient"]
                .map(String::from)
                .to_vec(),
            vec![
                aid.name.clone(),
                aid.granted_on.as_ref().map(format_date).unwrap_or_default(),
                aid.amount_fen.to_string(),
                aid.recipient.clone(),
            ],
        ]),
    }
}

/// Aid grants as a text table, amounts in yuan.
pub fn aid_table(grants: &[JudicialAid]) -> Table {
    let mut table = Table::new(["NAME", "GRANTED", "AMOUNT", "RECIPIENT"]).right_align(&[2]);
    for aid in grants {
        table.push(vec![
            aid.name.clone(),
            format_optional_date(aid.granted_on.as_ref()),
            format!("{} yuan", format_yuan(aid.amount_fen)),
            if aid.recipient.is_empty() {
                "-".to_owned()
            } else {
                aid.recipient.clone()
            },
        ]);
    }
    table
}
