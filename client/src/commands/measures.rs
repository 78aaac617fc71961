//! `procura measures add|adopt`: supervision measures (监督措施) and whether their addressee
//! adopted them (采纳情况).

use clap::{ArgGroup, Args, Subcommand};
use procura_proto::v1::case_service_client::CaseServiceClient;
use procura_proto::v1::{
    AddresseeType, Adoption, CreateMeasureRequest, Date, Measure, MeasureKind, UpdateMeasureRequest,
};

use super::{Context, FormatArg, call, request_id};
use crate::convert::{
    default_addressee_type, enum_name, enum_parser, format_optional_date, parse_case_name,
    parse_date, parse_measure_name,
};
use crate::output::{OutputFormat, Table, emit, emit_csv, emit_json, measure_json, render_fields};

/// Subcommands of `procura measures`.
#[derive(Debug, Subcommand)]
pub enum MeasuresCommand {
    /// Add a supervision measure (监督措施) to a case.
    ///
    /// The addressee type defaults to court for protests and the three court suggestions, and
    /// to administrative-organ for administrative-organ-suggestion; a
    /// social-governance-suggestion needs --addressee-type.
    Add(AddArgs),
    /// Record whether the addressee adopted a measure (采纳情况) and when it answered.
    Adopt(AdoptArgs),
}

/// Arguments of `procura measures add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The case: its id (42) or name (cases/42).
    #[arg(value_name = "CASE", value_parser = parse_case_name)]
    case: String,
    /// Kind of measure (监督措施类型).
    #[arg(long, value_parser = enum_parser::<MeasureKind>())]
    kind: MeasureKind,
    /// Issue date (发出日期), YYYY-MM-DD.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    issued: Date,
    /// Name of the addressee (监督对象), e.g. 昆明市中级人民法院.
    #[arg(long)]
    addressee: String,
    /// Type of the addressee [default: by kind, see above].
    #[arg(long, value_parser = enum_parser::<AddresseeType>())]
    addressee_type: Option<AddresseeType>,
    /// Idempotency key (a UUID) [default: a new random UUID].
    #[arg(long, value_parser = clap::value_parser!(uuid::Uuid))]
    request_id: Option<uuid::Uuid>,
    #[command(flatten)]
    format: FormatArg,
}

/// Arguments of `procura measures adopt`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("outcome").required(true).args(["adopted", "not_adopted", "pending"])))]
pub struct AdoptArgs {
    /// The measure, e.g. cases/1/measures/2.
    #[arg(value_name = "MEASURE_NAME", value_parser = parse_measure_name)]
    measure: String,
    /// The addressee adopted the measure (采纳).
    #[arg(long)]
    adopted: bool,
    /// The addressee did not adopt it (未采纳).
    #[arg(long)]
    not_adopted: bool,
    /// Set it back to pending (待回复), clearing the answer date.
    #[arg(long, conflicts_with = "answered")]
    pending: bool,
    /// Date of the addressee's answer (回复日期), YYYY-MM-DD; required unless --pending.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date, required_unless_present = "pending")]
    answered: Option<Date>,
    /// Why the measure is changed (修改原因), kept in the case's revision.
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

/// Runs a `procura measures` subcommand.
pub async fn run(command: MeasuresCommand, ctx: &Context) -> anyhow::Result<()> {
    match command {
        MeasuresCommand::Add(args) => {
            let addressee_type = args
                .addressee_type
                .or_else(|| default_addressee_type(args.kind))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--addressee-type is required for a {} (court, administrative-organ or other-organ)",
                        enum_name::<MeasureKind>(args.kind.into())
                    )
                })?;
            let request = CreateMeasureRequest {
                parent: args.case,
                measure: Some(Measure {
                    kind: args.kind.into(),
                    issued_on: Some(args.issued),
                    addressee_type: addressee_type.into(),
                    addressee: args.addressee,
                    ..Measure::default()
                }),
                request_id: request_id(args.request_id),
            };
            let client = CaseServiceClient::new(ctx.channel().await?);
            let response = call(&client, &request, |mut c, r| async move {
                c.create_measure(r).await
            })
            .await?;
            print_measure(
                &response.measure.unwrap_or_default(),
                ctx.format(&args.format),
            )
        }
        MeasuresCommand::Adopt(args) => {
            let adoption = if args.adopted {
                Adoption::Adopted
            } else if args.not_adopted {
                Adoption::NotAdopted
            } else {
                Adoption::Pending
            };
            let request = UpdateMeasureRequest {
                measure: Some(Measure {
                    name: args.measure,
                    adoption: adoption.into(),
                    answered_on: args.answered,
                    ..Measure::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["adoption".to_owned(), "answered_on".to_owned()],
                }),
                reason: args.reason.unwrap_or_default(),
            };
            let mut client = CaseServiceClient::new(ctx.channel().await?);
            let response = client.update_measure(request).await?.into_inner();
            print_measure(
                &response.measure.unwrap_or_default(),
                ctx.format(&args.format),
            )
        }
    }
}

fn print_measure(measure: &Measure, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => emit(&render_fields(&[
            ("Measure", measure.name.clone()),
            ("Kind", enum_name::<MeasureKind>(measure.kind)),
            (
                "Issued on",
                format_optional_date(measure.issued_on.as_ref()),
            ),
            (
                "Addressee type",
                enum_name::<AddresseeType>(measure.addressee_type),
            ),
            ("Addressee", measure.addressee.clone()),
            ("Adoption", enum_name::<Adoption>(measure.adoption)),
            (
                "Answered on",
                format_optional_date(measure.answered_on.as_ref()),
            ),
        ])),
        OutputFormat::Json => emit_json(&measure_json(measure)),
        OutputFormat::Csv => emit_csv(&[
            [
                "name",
                "kind",
                "issued_on",
                "addressee_type",
                "addressee",
                "adoption",
                "answered_on",
            ]
            .map(String::from)
            .to_vec(),
            measure_row(measure, ""),
        ]),
    }
}

fn measure_row(measure: &Measure, none: &str) -> Vec<String> {
    let date = |d: Option<&Date>| d.map_or_else(|| none.to_owned(), crate::convert::format_date);
    vec![
        measure.name.clone(),
        enum_name::<MeasureKind>(measure.kind),
        date(measure.issued_on.as_ref()),
        enum_name::<AddresseeType>(measure.addressee_type),
        measure.addressee.clone(),
        enum_name::<Adoption>(measure.adoption),
        date(measure.answered_on.as_ref()),
    ]
}

/// Measures as a text table, one row each.
pub fn measure_table(measures: &[Measure]) -> Table {
    let mut table = Table::new([
        "NAME",
        "KIND",
        "ISSUED",
        "ADDRESSEE TYPE",
        "ADDRESSEE",
        "ADOPTION",
        "ANSWERED",
    ]);
    for measure in measures {
        table.push(measure_row(measure, "-"));
    }
    table
}
