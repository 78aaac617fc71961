//! `procura audit events`: the access log (访问日志): every write, every denial, every read of
//! a case's record, of an explanation or of an as-of rollup, newest first.

use clap::{Args, Subcommand};
use procura_proto::v1::access_service_client::AccessServiceClient;
use procura_proto::v1::{AccessEvent, ListAccessEventsRequest, Outcome};
use prost_types::Timestamp;
use serde_json::{Value, json};

use super::admin::{principal_text, time_text};
use super::{Context, FormatArg, paginate};
use crate::convert::{
    enum_name, enum_parser, format_timestamp, parse_end_moment, parse_principal_id,
    parse_region_code, parse_start_moment, principal_id, principal_name, region_code, region_name,
};
use crate::output::{OutputFormat, Table, emit, emit_csv, emit_json, format_count};

/// Subcommands of `procura audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List access log events, newest first: who called which method on what, and how it
    /// ended. Needs `auditor`; lists the events whose region lies in your auditor scope
    /// (events with no region, such as refused credentials, only for auditors at 000000).
    ///
    /// Example: procura audit events --region 530000 --from 2025-06-01 --outcome denied
    Events(EventsArgs),
}

/// Arguments of `procura audit events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events of this principal (ID or principals/ID).
    #[arg(long, value_name = "ID", value_parser = parse_principal_id)]
    principal: Option<String>,
    /// Only events whose region lies in this region's subtree (CODE or regions/CODE).
    #[arg(long, value_name = "CODE", value_parser = parse_region_code)]
    region: Option<String>,
    /// Only events at or after this moment: RFC 3339, or a day YYYY-MM-DD (from 00:00 UTC).
    #[arg(long, value_name = "RFC3339|YYYY-MM-DD", value_parser = parse_start_moment)]
    from: Option<Timestamp>,
    /// Only events before this moment: RFC 3339, or a day YYYY-MM-DD (through that day, UTC).
    #[arg(long, value_name = "RFC3339|YYYY-MM-DD", value_parser = parse_end_moment)]
    to: Option<Timestamp>,
    /// Only events with this outcome.
    #[arg(long, value_parser = enum_parser::<Outcome>())]
    outcome: Option<Outcome>,
    /// Stop after this many events (the newest).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    limit: u32,
    #[command(flatten)]
    format: FormatArg,
}

/// Runs a `procura audit` subcommand.
pub async fn run(command: AuditCommand, ctx: &Context) -> anyhow::Result<()> {
    match command {
        AuditCommand::Events(args) => events(args, ctx).await,
    }
}

async fn events(args: EventsArgs, ctx: &Context) -> anyhow::Result<()> {
    if let (Some(from), Some(to)) = (&args.from, &args.to)
        && (to.seconds, to.nanos) <= (from.seconds, from.nanos)
    {
        anyhow::bail!(
            "--to ({}) must be after --from ({})",
            format_timestamp(to),
            format_timestamp(from)
        );
    }
    let client = AccessServiceClient::new(ctx.channel().await?);
    let limit = args.limit as usize;
    let principal = args
        .principal
        .as_deref()
        .map(principal_name)
        .unwrap_or_default();
    let region = args.region.as_deref().map(region_name).unwrap_or_default();
    let events = paginate(
        &client,
        Some(limit),
        |read, page_token| ListAccessEventsRequest {
            principal: principal.clone(),
            region: region.clone(),
            start_time: args.from,
            end_time: args.to,
            outcome: args.outcome.map_or(0, Into::into),
            page_size: i32::try_from(limit.saturating_sub(read).min(500)).unwrap_or(500),
            page_token,
        },
        |mut c, r| async move { c.list_access_events(r).await },
    )
    .await?;
    match ctx.format(&args.format) {
        OutputFormat::Table => emit(&events_text(&events, limit)),
        OutputFormat::Json => emit_json(&Value::Array(events.iter().map(event_json).collect())),
        OutputFormat::Csv => {
            let mut records = vec![csv_header()];
            records.extend(events.iter().map(csv_row));
            emit_csv(&records)
        }
    }
}

/// A full method name in short: `/procura.v1.CaseService/UpdateCase` -> `CaseService/UpdateCase`.
pub fn short_method(method: &str) -> &str {
    let method = method.strip_prefix('/').unwrap_or(method);
    match method.split_once('/') {
        Some((service, _)) => match service.rfind('.') {
            Some(dot) => &method[dot + 1..],
            None => method,
        },
        None => method,
    }
}

/// A cell that shows `-` when empty.
fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// The events as a table, and how many there are (with a note when the limit cut them).
fn events_text(events: &[AccessEvent], limit: usize) -> String {
    let mut table = Table::new([
        "TIME",
        "PRINCIPAL",
        "METHOD",
        "RESOURCE",
        "REGION",
        "OUTCOME",
        "CODE",
        "PERMISSION",
    ]);
    for e in events {
        table.push(vec![
            time_text(e.time.as_ref(), "-"),
            principal_text(&e.principal),
            short_method(&e.method).to_owned(),
            or_dash(&e.resource),
            or_dash(region_code(&e.region)),
            enum_name::<Outcome>(e.outcome),
            or_dash(&e.code),
            or_dash(&e.permission),
        ]);
    }
    let noun = if events.len() == 1 { "event" } else { "events" };
    let more = if events.len() >= limit {
        ", the newest; older ones may follow: raise --limit or narrow with --from/--to"
    } else {
        ""
    };
    format!(
        "{}({} {noun}{more})\n",
        table.render(),
        format_count(events.len() as i64)
    )
}

fn event_json(event: &AccessEvent) -> Value {
    json!({
        "name": event.name,
        "time": event.time.as_ref().map(format_timestamp),
        "principal": principal_id(&event.principal),
        "method": event.method,
        "resource": event.resource,
        "region": region_code(&event.region),
        "outcome": enum_name::<Outcome>(event.outcome),
        "code": event.code,
        "permission": event.permission,
    })
}

fn csv_header() -> Vec<String> {
    [
        "name",
        "time",
        "principal",
        "method",
        "resource",
        "region",
        "outcome",
        "code",
        "permission",
    ]
    .map(String::from)
    .to_vec()
}

fn csv_row(event: &AccessEvent) -> Vec<String> {
    vec![
        event.name.clone(),
        time_text(event.time.as_ref(), ""),
        principal_id(&event.principal).to_owned(),
        event.method.clone(),
        event.resource.clone(),
        region_code(&event.region).to_owned(),
        enum_name::<Outcome>(event.outcome),
        event.code.clone(),
        event.permission.clone(),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_shortened_to_service_and_method() {
        assert_eq!(
            short_method("/procura.v1.CaseService/UpdateCase"),
            "CaseService/UpdateCase"
        );
        assert_eq!(short_method("/grpc.health.v1.Health/Check"), "Health/Check");
        assert_eq!(short_method("Plain/Call"), "Plain/Call");
        assert_eq!(short_method(""), "");
    }

    #[test]
    fn events_show_one_row_each() {
        let events = [
            AccessEvent {
                name: "accessEvents/2".to_owned(),
                time: Some(Timestamp {
                    seconds: 1_583_049_600,
                    nanos: 0,
                }),
                principal: "principals/zhang-san".to_owned(),
                method: "/procura.v1.CaseService/UpdateCase".to_owned(),
                resource: "cases/42".to_owned(),
                region: "regions/530100".to_owned(),
                outcome: Outcome::Denied.into(),
                code: "PERMISSION_DENIED".to_owned(),
                permission: "cases.write".to_owned(),
            },
            AccessEvent {
                name: "accessEvents/1".to_owned(),
                method: "/procura.v1.AccessService/WhoAmI".to_owned(),
                outcome: Outcome::Unauthenticated.into(),
                code: "UNAUTHENTICATED".to_owned(),
                ..AccessEvent::default()
            },
        ];
        let text = events_text(&events, 100);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TIME"), "{text}");
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "2020-03-01T08:00:00Z",
                "zhang-san",
                "CaseService/UpdateCase",
                "cases/42",
                "530100",
                "denied",
                "PERMISSION_DENIED",
                "cases.write"
            ]
        );
        let cells: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "-",
                "-",
                "AccessService/WhoAmI",
                "-",
                "-",
                "unauthenticated",
                "UNAUTHENTICATED",
                "-"
            ]
        );
        assert_eq!(lines[3], "(2 events)");
        assert!(events_text(&events, 2).contains("raise --limit"));
        assert_eq!(csv_row(&events[0])[2], "zhang-san");
        assert_eq!(event_json(&events[1])["time"], Value::Null);
    }
}
