//! `procura admin principals|tokens|grants`: who may call procura (主体), with which bearer
//! tokens (令牌), holding which roles where (授权), over `procura.v1.AccessService`.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use procura_proto::v1::access_service_client::AccessServiceClient;
use procura_proto::v1::{
    CreateGrantRequest, CreatePrincipalRequest, CreateTokenRequest, Grant, ListGrantsRequest,
    ListPrincipalsRequest, ListTokensRequest, Principal, PrincipalKind, RevokeGrantRequest,
    RevokeTokenRequest, Role, Token,
};
use prost_types::Timestamp;
use serde_json::{Value, json};

use super::{Context, FormatArg, paginate};
use crate::convert::{
    enum_name, enum_parser, format_timestamp, parse_end_moment, parse_grant_name,
    parse_principal_id, parse_region_code, parse_token_name, principal_id, principal_name,
    region_code, region_name,
};
use crate::output::{OutputFormat, Table, emit, emit_csv, emit_json, format_count, render_fields};

/// Subcommands of `procura admin`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create and list principals (主体): the people and services that call procura.
    #[command(subcommand)]
    Principals(PrincipalsCommand),
    /// Issue, list and revoke bearer tokens (令牌).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Grant, list and revoke roles at regions (授权).
    #[command(subcommand)]
    Grants(GrantsCommand),
}

/// Subcommands of `procura admin principals`.
#[derive(Debug, Subcommand)]
pub enum PrincipalsCommand {
    /// Create a principal, a person (the default) or a service, and print it. Needs `admin`.
    ///
    /// A principal holds no role until one is granted (procura admin grants create) and
    /// authenticates with a token (procura admin tokens create) or, for a service, a client
    /// certificate whose URI SAN is procura://svc/ID.
    ///
    /// Example: procura admin principals create zhang-san --name '张三'
    Create {
        /// Stable id: 1 to 64 lower-case letters, digits, -, _ and ., e.g. zhang-san (or
        /// principals/zhang-san). Never reused.
        #[arg(value_name = "ID", value_parser = parse_principal_id)]
        id: String,
        /// Display name as written, e.g. '张三'.
        #[arg(long, value_name = "DISPLAY NAME")]
        name: String,
        /// A service (e.g. an import job) rather than a person.
        #[arg(long)]
        service: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List principals by id. Needs `admin`.
    List {
        /// Stop after this many principals.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Subcommands of `procura admin tokens`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a bearer token to a principal and print its secret, once: the server keeps only
    /// its SHA-256. Needs `admin` at a region covering every grant of the principal.
    ///
    /// Example: procura admin tokens create zhang-san --description laptop --expires-in-days 30
    Create {
        /// The principal: its id or name (principals/ID).
        #[arg(value_name = "PRINCIPAL_ID", value_parser = parse_principal_id)]
        principal: String,
        /// What the token is for, e.g. laptop or "import job".
        #[arg(long, value_name = "TEXT")]
        description: Option<String>,
        /// Days until the token stops working (at most 400).
        #[arg(long, value_name = "N", default_value_t = 90,
              value_parser = clap::value_parser!(u32).range(1..=400))]
        expires_in_days: u32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List tokens (never their secrets), of one principal or of all. Needs `admin`.
    List {
        /// Only the tokens of this principal (ID or principals/ID).
        #[arg(long, value_name = "ID", value_parser = parse_principal_id)]
        principal: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Revoke a token: it is refused from the next call on. Needs `admin`.
    Revoke {
        /// The token: its number or name, e.g. 7 or tokens/7.
        #[arg(value_name = "TOKEN", value_parser = parse_token_name)]
        name: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Subcommands of `procura admin grants`.
#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// Grant a role at a region; it covers the region's whole subtree. Needs `admin` at a
    /// region covering it, and you must hold the role there yourself.
    ///
    /// Roles: submitter (creates and corrects cases, imports), viewer (reads cases, rollups,
    /// releases, explanations), publisher (publishes releases), auditor (reads case revisions
    /// and the access log), admin (manages principals, tokens and grants in the subtree).
    ///
    /// Example: procura admin grants create zhang-san --role submitter --region 530100
    Create {
        /// The principal: its id or name (principals/ID).
        #[arg(value_name = "PRINCIPAL_ID", value_parser = parse_principal_id)]
        principal: String,
        /// The role granted.
        #[arg(long, value_parser = enum_parser::<Role>())]
        role: Role,
        /// The region, as its six-digit code (or regions/CODE), e.g. 530000; 000000 is the
        /// whole country.
        #[arg(long, value_name = "CODE", value_parser = parse_region_code)]
        region: String,
        /// When the grant lapses: a day YYYY-MM-DD (in force through that day, UTC) or an
        /// RFC 3339 moment [default: never].
        #[arg(long, value_name = "YYYY-MM-DD|RFC3339", value_parser = parse_end_moment)]
        expires: Option<Timestamp>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List the grants in force, of one principal or of all, within your admin scope.
    List {
        /// Only the grants of this principal (ID or principals/ID).
        #[arg(long, value_name = "ID", value_parser = parse_principal_id)]
        principal: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Revoke a grant. Needs `admin` at a region covering it.
    Revoke {
        /// The grant: its number or name, e.g. 12 or grants/12.
        #[arg(value_name = "GRANT", value_parser = parse_grant_name)]
        grant: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// Page size of the List calls.
const PAGE_SIZE: i32 = 500;

/// Runs a `procura admin` subcommand.
pub async fn run(command: AdminCommand, ctx: &Context) -> anyhow::Result<()> {
    let client = AccessServiceClient::new(ctx.channel().await?);
    match command {
        AdminCommand::Principals(command) => principals(command, client, ctx).await,
        AdminCommand::Tokens(command) => tokens(command, client, ctx).await,
        AdminCommand::Grants(command) => grants(command, client, ctx).await,
    }
}

type Client = AccessServiceClient<super::Transport>;

async fn principals(
    command: PrincipalsCommand,
    client: Client,
    ctx: &Context,
) -> anyhow::Result<()> {
    match command {
        PrincipalsCommand::Create {
            id,
            name,
            service,
            format,
        } => {
            let kind = if service {
                PrincipalKind::Service
            } else {
                PrincipalKind::Person
            };
            let request = CreatePrincipalRequest {
                principal: Some(Principal {
                    id,
                    display_name: name,
                    kind: kind.into(),
                    ..Principal::default()
                }),
            };
            // Not retried: a create without a request id is not safe to repeat.
            let principal = client
                .clone()
                .create_principal(request)
                .await?
                .into_inner()
                .principal
                .unwrap_or_default();
            match ctx.format(&format) {
                OutputFormat::Table => emit(&principal_fields(&principal)),
                OutputFormat::Json => emit_json(&principal_json(&principal)),
                OutputFormat::Csv => {
                    emit_csv(&[principal_csv_header(), principal_csv_row(&principal)])
                }
            }
        }
        PrincipalsCommand::List { limit, format } => {
            let limit = limit.map(|l| l as usize);
            let principals = paginate(
                &client,
                limit,
                |read, page_token| ListPrincipalsRequest {
                    page_size: page_size(limit, read),
                    page_token,
                },
                |mut c, r| async move { c.list_principals(r).await },
            )
            .await?;
            match ctx.format(&format) {
                OutputFormat::Table => {
                    let mut table =
                        Table::new(["ID", "DISPLAY NAME", "KIND", "CREATED BY", "CREATED"]);
                    for p in &principals {
                        table.push(vec![
                            p.id.clone(),
                            p.display_name.clone(),
                            enum_name::<PrincipalKind>(p.kind),
                            principal_text(&p.created_by),
                            time_text(p.create_time.as_ref(), "-"),
                        ]);
                    }
                    emit(&format!(
                        "{}{}\n",
                        table.render(),
                        count_line(principals.len(), "principal", "principals")
                    ))
                }
                OutputFormat::Json => emit_json(&Value::Array(
                    principals.iter().map(principal_json).collect(),
                )),
                OutputFormat::Csv => {
                    let mut records = vec![principal_csv_header()];
                    records.extend(principals.iter().map(principal_csv_row));
                    emit_csv(&records)
                }
            }
        }
    }
}

async fn tokens(command: TokensCommand, client: Client, ctx: &Context) -> anyhow::Result<()> {
    match command {
        TokensCommand::Create {
            principal,
            description,
            expires_in_days,
            format,
        } => {
            let request = CreateTokenRequest {
                token: Some(Token {
                    principal: principal_name(&principal),
                    description: description.unwrap_or_default(),
                    expire_time: Some(days_from_now(expires_in_days)),
                    ..Token::default()
                }),
            };
            // Not retried: a second attempt could issue a second token.
            let response = client.clone().create_token(request).await?.into_inner();
            let token = response.token.unwrap_or_default();
            let notice = "The secret is shown only now (the server keeps only its SHA-256): \
                          store it, e.g. as the line `token = <secret>` of \
                          ~/.config/procura/credentials (chmod 600), or give it with --token \
                          or PROCURA_TOKEN.";
            match ctx.format(&format) {
                OutputFormat::Table => emit(&format!(
                    "{}\n{notice}\n",
                    token_fields(&token, Some(&response.secret))
                )),
                OutputFormat::Json => {
                    let mut value = token_json(&token);
                    value["secret"] = Value::String(response.secret.clone());
                    emit_json(&value)?;
                    eprintln!("{notice}");
                    Ok(())
                }
                OutputFormat::Csv => {
                    let mut header = token_csv_header();
                    header.push("secret".to_owned());
                    let mut row = token_csv_row(&token);
                    row.push(response.secret.clone());
                    emit_csv(&[header, row])?;
                    eprintln!("{notice}");
                    Ok(())
                }
            }
        }
        TokensCommand::List { principal, format } => {
            let principal = principal.as_deref().map(principal_name).unwrap_or_default();
            let tokens = paginate(
                &client,
                None,
                |_, page_token| ListTokensRequest {
                    principal: principal.clone(),
                    page_size: PAGE_SIZE,
                    page_token,
                },
                |mut c, r| async move { c.list_tokens(r).await },
            )
            .await?;
            match ctx.format(&format) {
                OutputFormat::Table => {
                    let now = now_seconds();
                    let mut table = Table::new([
                        "TOKEN",
                        "PRINCIPAL",
                        "DESCRIPTION",
                        "STATE",
                        "EXPIRES",
                        "CREATED BY",
                        "CREATED",
                    ]);
                    for t in &tokens {
                        table.push(vec![
                            t.name.clone(),
                            principal_text(&t.principal),
                            t.description.clone(),
                            token_state(t, now).to_owned(),
                            time_text(t.expire_time.as_ref(), "-"),
                            principal_text(&t.created_by),
                            time_text(t.create_time.as_ref(), "-"),
                        ]);
                    }
                    emit(&format!(
                        "{}{}\n",
                        table.render(),
                        count_line(tokens.len(), "token", "tokens")
                    ))
                }
                OutputFormat::Json => {
                    emit_json(&Value::Array(tokens.iter().map(token_json).collect()))
                }
                OutputFormat::Csv => {
                    let mut records = vec![token_csv_header()];
                    records.extend(tokens.iter().map(token_csv_row));
                    emit_csv(&records)
                }
            }
        }
        TokensCommand::Revoke { name, format } => {
            let token = client
                .clone()
                .revoke_token(RevokeTokenRequest { name })
                .await?
                .into_inner()
                .token
                .unwrap_or_default();
            match ctx.format(&format) {
                OutputFormat::Table => emit(&token_fields(&token, None)),
                OutputFormat::Json => emit_json(&token_json(&token)),
                OutputFormat::Csv => emit_csv(&[token_csv_header(), token_csv_row(&token)]),
            }
        }
    }
}

async fn grants(command: GrantsCommand, client: Client, ctx: &Context) -> anyhow::Result<()> {
    match command {
        GrantsCommand::Create {
            principal,
            role,
            region,
            expires,
            format,
        } => {
            let request = CreateGrantRequest {
                grant: Some(Grant {
                    principal: principal_name(&principal),
                    role: role.into(),
                    region: region_name(&region),
                    expire_time: expires,
                    ..Grant::default()
                }),
            };
            let grant = client
                .clone()
                .create_grant(request)
                .await?
                .into_inner()
                .grant
                .unwrap_or_default();
            print_grant(&grant, ctx.format(&format))
        }
        GrantsCommand::List { principal, format } => {
            let principal = principal.as_deref().map(principal_name).unwrap_or_default();
            let grants = paginate(
                &client,
                None,
                |_, page_token| ListGrantsRequest {
                    principal: principal.clone(),
                    page_size: PAGE_SIZE,
                    page_token,
                },
                |mut c, r| async move { c.list_grants(r).await },
            )
            .await?;
            print_grants(&grants, ctx.format(&format))
        }
        GrantsCommand::Revoke { grant, format } => {
            let grant = client
                .clone()
                .revoke_grant(RevokeGrantRequest { name: grant })
                .await?
                .into_inner()
                .grant
                .unwrap_or_default();
            print_grant(&grant, ctx.format(&format))
        }
    }
}

/// The page size of a List call that stops after `limit` items, `read` of them read.
fn page_size(limit: Option<usize>, read: usize) -> i32 {
    limit.map_or(PAGE_SIZE, |l| {
        i32::try_from(l.saturating_sub(read)).map_or(PAGE_SIZE, |n| n.min(PAGE_SIZE))
    })
}

/// `(3 tokens)`, `(1 token)`.
fn count_line(count: usize, one: &str, many: &str) -> String {
    let noun = if count == 1 { one } else { many };
    format!("({} {noun})", format_count(count as i64))
}

/// Seconds since the epoch now.
fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The moment `days` days from now.
fn days_from_now(days: u32) -> Timestamp {
    Timestamp {
        seconds: now_seconds() + i64::from(days) * 86_400,
        nanos: 0,
    }
}

/// A timestamp as RFC 3339 UTC, or `absent` when there is none.
pub fn time_text(ts: Option<&Timestamp>, absent: &str) -> String {
    ts.map_or_else(|| absent.to_owned(), format_timestamp)
}

fn timestamp_json(ts: Option<&Timestamp>) -> Value {
    ts.map_or(Value::Null, |t| Value::String(format_timestamp(t)))
}

/// A principal name for a table: its id, `-` when empty.
pub fn principal_text(name: &str) -> String {
    if name.is_empty() {
        "-".to_owned()
    } else {
        principal_id(name).to_owned()
    }
}

/// Whether a token works: `revoked`, `expired` (at `now`, seconds since the epoch) or
/// `active`.
fn token_state(token: &Token, now: i64) -> &'static str {
    if token.revoke_time.is_some() {
        "revoked"
    } else if token.expire_time.as_ref().is_some_and(|t| t.seconds <= now) {
        "expired"
    } else {
        "active"
    }
}

fn principal_fields(principal: &Principal) -> String {
    render_fields(&[
        ("Principal", principal.name.clone()),
        ("Display name", principal.display_name.clone()),
        ("Kind", enum_name::<PrincipalKind>(principal.kind)),
        ("Created by", principal_text(&principal.created_by)),
        ("Created", time_text(principal.create_time.as_ref(), "-")),
    ])
}

/// A principal as JSON.
pub fn principal_json(principal: &Principal) -> Value {
    json!({
        "name": principal.name,
        "id": principal.id,
        "display_name": principal.display_name,
        "kind": enum_name::<PrincipalKind>(principal.kind),
        "created_by": principal_id(&principal.created_by),
        "create_time": timestamp_json(principal.create_time.as_ref()),
    })
}

fn principal_csv_header() -> Vec<String> {
    ["id", "display_name", "kind", "created_by", "create_time"]
        .map(String::from)
        .to_vec()
}

fn principal_csv_row(principal: &Principal) -> Vec<String> {
    vec![
        principal.id.clone(),
        principal.display_name.clone(),
        enum_name::<PrincipalKind>(principal.kind),
        principal_id(&principal.created_by).to_owned(),
        time_text(principal.create_time.as_ref(), ""),
    ]
}

fn token_fields(token: &Token, secret: Option<&str>) -> String {
    let mut fields = vec![
        ("Token", token.name.clone()),
        ("Principal", principal_text(&token.principal)),
        ("Description", token.description.clone()),
        ("State", token_state(token, now_seconds()).to_owned()),
        ("Expires", time_text(token.expire_time.as_ref(), "-")),
        ("Revoked", time_text(token.revoke_time.as_ref(), "-")),
        ("Created by", principal_text(&token.created_by)),
        ("Created", time_text(token.create_time.as_ref(), "-")),
    ];
    if let Some(secret) = secret {
        fields.push(("Secret", secret.to_owned()));
    }
    render_fields(&fields)
}

fn token_json(token: &Token) -> Value {
    json!({
        "name": token.name,
        "principal": principal_id(&token.principal),
        "description": token.description,
        "state": token_state(token, now_seconds()),
        "expire_time": timestamp_json(token.expire_time.as_ref()),
        "revoke_time": timestamp_json(token.revoke_time.as_ref()),
        "created_by": principal_id(&token.created_by),
        "create_time": timestamp_json(token.create_time.as_ref()),
    })
}

fn token_csv_header() -> Vec<String> {
    [
        "name",
        "principal",
        "description",
        "state",
        "expire_time",
        "revoke_time",
        "created_by",
        "create_time",
    ]
    .map(String::from)
    .to_vec()
}

fn token_csv_row(token: &Token) -> Vec<String> {
    vec![
        token.name.clone(),
        principal_id(&token.principal).to_owned(),
        token.description.clone(),
        token_state(token, now_seconds()).to_owned(),
        time_text(token.expire_time.as_ref(), ""),
        time_text(token.revoke_time.as_ref(), ""),
        principal_id(&token.created_by).to_owned(),
        time_text(token.create_time.as_ref(), ""),
    ]
}

/// Grants as a table: GRANT, PRINCIPAL, ROLE, REGION, EXPIRES (`never` when they do not),
/// CREATED BY, CREATED.
pub fn grants_table(grants: &[Grant]) -> String {
    let mut table = Table::new([
        "GRANT",
        "PRINCIPAL",
        "ROLE",
        "REGION",
        "EXPIRES",
        "CREATED BY",
        "CREATED",
    ]);
    for g in grants {
        table.push(vec![
            g.name.clone(),
            principal_text(&g.principal),
            enum_name::<Role>(g.role),
            region_code(&g.region).to_owned(),
            time_text(g.expire_time.as_ref(), "never"),
            principal_text(&g.created_by),
            time_text(g.create_time.as_ref(), "-"),
        ]);
    }
    table.render()
}

/// A grant as JSON.
pub fn grant_json(grant: &Grant) -> Value {
    json!({
        "name": grant.name,
        "principal": principal_id(&grant.principal),
        "role": enum_name::<Role>(grant.role),
        "region": region_code(&grant.region),
        "expire_time": timestamp_json(grant.expire_time.as_ref()),
        "created_by": principal_id(&grant.created_by),
        "create_time": timestamp_json(grant.create_time.as_ref()),
    })
}

/// The CSV header of grants.
pub fn grant_csv_header() -> Vec<String> {
    [
        "name",
        "principal",
        "role",
        "region",
        "expire_time",
        "created_by",
        "create_time",
    ]
    .map(String::from)
    .to_vec()
}

/// A grant as a CSV record.
pub fn grant_csv_row(grant: &Grant) -> Vec<String> {
    vec![
        grant.name.clone(),
        principal_id(&grant.principal).to_owned(),
        enum_name::<Role>(grant.role),
        region_code(&grant.region).to_owned(),
        time_text(grant.expire_time.as_ref(), ""),
        principal_id(&grant.created_by).to_owned(),
        time_text(grant.create_time.as_ref(), ""),
    ]
}

fn print_grant(grant: &Grant, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => emit(&render_fields(&[
            ("Grant", grant.name.clone()),
            ("Principal", principal_text(&grant.principal)),
            ("Role", enum_name::<Role>(grant.role)),
            ("Region", region_code(&grant.region).to_owned()),
            ("Expires", time_text(grant.expire_time.as_ref(), "never")),
            ("Created by", principal_text(&grant.created_by)),
            ("Created", time_text(grant.create_time.as_ref(), "-")),
        ])),
        OutputFormat::Json => emit_json(&grant_json(grant)),
        OutputFormat::Csv => emit_csv(&[grant_csv_header(), grant_csv_row(grant)]),
    }
}

fn print_grants(grants: &[Grant], format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => emit(&format!(
            "{}{}\n",
            grants_table(grants),
            count_line(grants.len(), "grant", "grants")
        )),
        OutputFormat::Json => emit_json(&Value::Array(grants.iter().map(grant_json).collect())),
        OutputFormat::Csv => {
            let mut records = vec![grant_csv_header()];
            records.extend(grants.iter().map(grant_csv_row));
            emit_csv(&records)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos: 0 })
    }

    #[test]
    fn a_token_is_revoked_expired_or_active() {
        let token = Token {
            expire_time: ts(100),
            ..Token::default()
        };
        assert_eq!(token_state(&token, 99), "active");
        assert_eq!(token_state(&token, 100), "expired");
        let revoked = Token {
            revoke_time: ts(50),
            ..token
        };
        assert_eq!(token_state(&revoked, 10), "revoked");
    }

    #[test]
    fn grants_show_short_names_and_never() {
        let grants = [Grant {
            name: "grants/3".to_owned(),
            principal: "principals/zhang-san".to_owned(),
            role: Role::Submitter.into(),
            region: "regions/530100".to_owned(),
            expire_time: None,
            created_by: "principals/admin".to_owned(),
            create_time: ts(1_583_049_600),
        }];
        let text = grants_table(&grants);
        let row = text.lines().nth(1).unwrap();
        for cell in [
            "grants/3",
            "zhang-san",
            "submitter",
            "530100",
            "never",
            "admin",
            "2020-03-01T08:00:00Z",
        ] {
            assert!(row.contains(cell), "{row}");
        }
        assert!(!row.contains("principals/"), "{row}");
        let json = grant_json(&grants[0]);
        assert_eq!(json["role"], "submitter");
        assert_eq!(json["expire_time"], Value::Null);
        assert_eq!(grant_csv_row(&grants[0])[4], "");
    }

    #[test]
    fn pages_stop_at_the_limit() {
        assert_eq!(page_size(None, 0), PAGE_SIZE);
        assert_eq!(page_size(Some(10), 0), 10);
        assert_eq!(page_size(Some(1000), 600), 400);
        assert_eq!(page_size(Some(5000), 0), PAGE_SIZE);
    }

    #[test]
    fn a_new_token_expires_in_the_days_given() {
        let now = now_seconds();
        let expires = days_from_now(90).seconds;
        assert!((expires - now - 90 * 86_400).abs() <= 1);
    }
}
