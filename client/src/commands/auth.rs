//! `procura auth whoami`: who the server takes the caller for, and the roles it holds where.

use clap::Subcommand;
use procura_proto::v1::access_service_client::AccessServiceClient;
use procura_proto::v1::{PrincipalKind, WhoAmIRequest, WhoAmIResponse};
use serde_json::{Value, json};

use super::admin::{grant_csv_header, grant_csv_row, grant_json, grants_table, principal_json};
use super::{Context, FormatArg, call};
use crate::convert::{enum_name, principal_id};
use crate::output::{OutputFormat, emit, emit_csv, emit_json, render_fields};

/// Subcommands of `procura auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Show who you are to the server: the principal your credential names, how it was
    /// authenticated (token or certificate), and your grants in force (role, region, expiry).
    ///
    /// A quick check that a token works: with no or a refused credential this fails with
    /// "unauthenticated" and says how to give one.
    Whoami {
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Runs a `procura auth` subcommand.
pub async fn run(command: AuthCommand, ctx: &Context) -> anyhow::Result<()> {
    match command {
        AuthCommand::Whoami { format } => {
            let client = AccessServiceClient::new(ctx.channel().await?);
            let response = call(&client, &WhoAmIRequest {}, |mut c, r| async move {
                c.who_am_i(r).await
            })
            .await?;
            match ctx.format(&format) {
                OutputFormat::Table => emit(&whoami_text(&response)),
                OutputFormat::Json => emit_json(&whoami_json(&response)),
                OutputFormat::Csv => emit_csv(&whoami_csv(&response)),
            }
        }
    }
}

/// The caller and its grants for people.
fn whoami_text(response: &WhoAmIResponse) -> String {
    let principal = response.principal.clone().unwrap_or_default();
    let mut out = render_fields(&[
        ("Principal", principal.id.clone()),
        ("Display name", principal.display_name.clone()),
        ("Kind", enum_name::<PrincipalKind>(principal.kind)),
        (
            "Authenticated by",
            if response.authenticated_by.is_empty() {
                "-".to_owned()
            } else {
                response.authenticated_by.clone()
            },
        ),
    ]);
    out.push('\n');
    if response.grants.is_empty() {
        out.push_str(
            "No grants in force: ask an administrator for a role (procura admin grants create).\n",
        );
    } else {
        out.push_str(&grants_table(&response.grants));
    }
    out
}

fn whoami_json(response: &WhoAmIResponse) -> Value {
    json!({
        "principal": response.principal.as_ref().map_or(Value::Null, principal_json),
        "authenticated_by": response.authenticated_by,
        "grants": response.grants.iter().map(grant_json).collect::<Vec<_>>(),
    })
}

/// One record per grant, each with the caller's id and how it was authenticated in front (one
/// record with empty grant cells when it holds none).
fn whoami_csv(response: &WhoAmIResponse) -> Vec<Vec<String>> {
    let principal = response.principal.clone().unwrap_or_default();
    let mut header = vec![
        "principal".to_owned(),
        "display_name".to_owned(),
        "authenticated_by".to_owned(),
    ];
    header.extend(
        grant_csv_header()
            .into_iter()
            .filter(|c| c != "principal")
            .map(|c| if c == "name" { "grant".to_owned() } else { c }),
    );
    let head = [
        principal_id(&principal.name).to_owned(),
        principal.display_name.clone(),
        response.authenticated_by.clone(),
    ];
    let mut records = vec![header];
    if response.grants.is_empty() {
        let mut row = head.to_vec();
        row.extend(std::iter::repeat_n(String::new(), 6));
        records.push(row);
    }
    for grant in &response.grants {
        let mut row = head.to_vec();
        let mut cells = grant_csv_row(grant);
        cells.remove(1);
        row.extend(cells);
        records.push(row);
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use procura_proto::v1::{Grant, Principal, Role};

    fn response() -> WhoAmIResponse {
        WhoAmIResponse {
            principal: Some(Principal {
                name: "principals/zhang-san".to_owned(),
                id: "zhang-san".to_owned(),
                display_name: "张三".to_owned(),
                kind: PrincipalKind::Person.into(),
                ..Principal::default()
            }),
            grants: vec![Grant {
                name: "grants/1".to_owned(),
                principal: "principals/zhang-san".to_owned(),
                role: Role::Viewer.into(),
                region: "regions/530000".to_owned(),
                expire_time: Some(prost_types::Timestamp {
                    seconds: 1_583_049_600,
                    nanos: 0,
                }),
                ..Grant::default()
            }],
            authenticated_by: "token".to_owned(),
        }
    }

    #[test]
    fn whoami_shows_the_principal_and_its_grants() {
        let text = whoami_text(&response());
        assert!(text.contains("Principal:        zhang-san"), "{text}");
        assert!(text.contains("Display name:     张三"), "{text}");
        assert!(text.contains("Authenticated by: token"), "{text}");
        let row = text.lines().find(|l| l.starts_with("grants/1")).unwrap();
        assert!(row.contains("viewer"), "{row}");
        assert!(row.contains("530000"), "{row}");
        assert!(row.contains("2020-03-01T08:00:00Z"), "{row}");

        let csv = whoami_csv(&response());
        assert_eq!(
            csv[0],
            [
                "principal",
                "display_name",
                "authenticated_by",
                "grant",
                "role",
                "region",
                "expire_time",
                "created_by",
                "create_time"
            ]
        );
        assert_eq!(
            csv[1][..6],
            ["zhang-san", "张三", "token", "grants/1", "viewer", "530000"]
        );
        let json = whoami_json(&response());
        assert_eq!(json["principal"]["id"], "zhang-san");
        assert_eq!(json["grants"][0]["role"], "viewer");

        let none = WhoAmIResponse {
            grants: Vec::new(),
            ..response()
        };
        assert!(whoami_text(&none).contains("No grants in force"));
        assert_eq!(whoami_csv(&none)[1].len(), 9);
    }
}
