//! `procura.v1.AccessService`: who one is; principals, tokens and grants; the access log.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use procura_proto::v1::{self as pb, access_service_server::AccessService};
use tonic::{Request, Response, Status};

use super::guard::guard;
use super::{AppState, convert, pagination};
use crate::db::access::{EventFilter, EventPlace, GrantRow, ListedEvent, PrincipalRow, TokenRow};
use crate::domain::access::Role;
use crate::domain::region::{NATIONAL, RegionCode};
use crate::error::{AllChecked, ApiError, Checked, field};
use crate::service::access::{Access, MAX_TOKEN_DAYS, admin, valid_principal_id};

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// Serves access management and the access log.
pub struct AccessApi {
    state: AppState,
    access: Arc<Access>,
}

impl AccessApi {
    /// A service over `state` and the access data `access`.
    pub fn new(state: AppState, access: Arc<Access>) -> Self {
        Self { state, access }
    }
}

fn principal_name(id: &str) -> String {
    format!("principals/{id}")
}

fn principal(row: PrincipalRow) -> pb::Principal {
    pb::Principal {
        name: principal_name(&row.id),
        id: row.id,
        display_name: row.display_name,
        kind: i32::from(row.kind),
        created_by: row.created_by,
        create_time: Some(convert::timestamp(row.create_time)),
    }
}

fn token(row: TokenRow) -> pb::Token {
    pb::Token {
        name: format!("tokens/{}", row.id),
        principal: principal_name(&row.principal_id),
        description: row.description,
        expire_time: Some(convert::timestamp(row.expire_time)),
        revoke_time: row.revoke_time.map(convert::timestamp),
        created_by: row.created_by,
        create_time: Some(convert::timestamp(row.create_time)),
    }
}

fn grant(row: GrantRow) -> pb::Grant {
    pb::Grant {
        name: format!("grants/{}", row.id),
        principal: principal_name(&row.principal_id),
        role: i32::from(row.role),
        region: format!("regions/{}", row.region_code),
        expire_time: row.expire_time.map(convert::timestamp),
        created_by: row.created_by,
        create_time: Some(convert::timestamp(row.create_time)),
    }
}

fn event(row: ListedEvent) -> pb::AccessEvent {
    pb::AccessEvent {
        name: format!("accessEvents/{}", row.id),
        time: Some(convert::timestamp(row.event_time)),
        principal: if row.principal.is_empty() {
            String::new()
        } else {
            principal_name(&row.principal)
        },
        method: row.method,
        resource: row.resource,
        region: row
            .region_code
            .map(|c| format!("regions/{c}"))
            .unwrap_or_default(),
        outcome: i32::from(row.outcome),
        code: row.code,
        permission: row.permission,
    }
}

/// The id in `principals/{id}`.
fn principal_id(name: &str) -> Result<String, String> {
    let id = name.strip_prefix("principals/").ok_or_else(|| {
        format!(
            "{:?} is not a principal name (principals/{{id}})",
            short(name)
        )
    })?;
    valid_principal_id(id)?;
    Ok(id.to_owned())
}

/// An optional principal filter: empty means all.
fn principal_filter(name: &str) -> Result<Option<String>, String> {
    if name.is_empty() {
        Ok(None)
    } else {
        principal_id(name).map(Some)
    }
}

/// The number in `{collection}/{n}`.
fn number(name: &str, collection: &str) -> Result<i64, String> {
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{:?} is not a {collection}/{{number}} name", short(name)))
}

/// At most 64 characters of a value, for an error message.
fn short(value: &str) -> String {
    value.chars().take(64).collect()
}

fn moment(time: Option<&prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, String> {
    time.map(|t| {
        DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(u32::MAX))
            .ok_or_else(|| "is not a valid timestamp".to_owned())
    })
    .transpose()
}

fn page_size(asked: i32) -> Checked<i64> {
    field(
        "page_size",
        pagination::page_size(asked, DEFAULT_PAGE, MAX_PAGE),
    )
}

/// The principal filter, page size and position of a listing of tokens or grants.
fn by_principal(
    principal: &str,
    size: i32,
    token: &str,
    print: &str,
) -> Result<(Option<String>, i64, Option<i64>), ApiError> {
    Ok((
        field("principal", principal_filter(principal)),
        page_size(size),
        field("page_token", pagination::decode_number::<i64>(token, print)),
    )
        .all()?)
}

#[tonic::async_trait]
impl AccessService for AccessApi {
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let who = guard(&request)?;
        let caller = who.caller();
        let mut conn = self.state.conn().await?;
        let row = crate::db::access::principal(&mut conn, &caller.principal)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::Internal("the caller's principal vanished".into()))?;
        let grants = crate::db::access::grants_of(&mut conn, &caller.principal, Utc::now())
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::WhoAmIResponse {
            principal: Some(principal(row)),
            grants: grants.into_iter().map(grant).collect(),
            authenticated_by: match caller.credential {
                crate::domain::access::Credential::Token => "token",
                crate::domain::access::Credential::Certificate => "certificate",
            }
            .to_owned(),
        }))
    }

    async fn create_principal(
        &self,
        request: Request<pb::CreatePrincipalRequest>,
    ) -> Result<Response<pb::CreatePrincipalResponse>, Status> {
        let who = guard(&request)?;
        let given = request.into_inner().principal.unwrap_or_default();
        let display_name = given.display_name.trim().to_owned();
        let ((), (), ()) = (
            field("principal.id", valid_principal_id(&given.id)),
            field(
                "principal.display_name",
                match display_name.chars().count() {
                    0 => Err("is required".to_owned()),
                    n if n > 100 => Err(format!("has {n} characters; at most 100")),
                    _ if display_name.chars().any(char::is_control) => {
                        Err("must not contain control characters".to_owned())
                    }
                    _ => Ok(()),
                },
            ),
            field(
                "principal.kind",
                match given.kind {
                    1 | 2 => Ok(()),
                    _ => Err("is required: PRINCIPAL_KIND_PERSON or PRINCIPAL_KIND_SERVICE".into()),
                },
            ),
        )
            .all()
            .map_err(ApiError::from)?;
        let row = PrincipalRow {
            id: given.id,
            display_name,
            kind: given.kind as i16,
            created_by: who.actor().to_owned(),
            create_time: Utc::now(),
        };
        let stored = admin::create_principal(&self.access, &who, row).await?;
        Ok(Response::new(pb::CreatePrincipalResponse {
            principal: Some(principal(stored)),
        }))
    }

    async fn list_principals(
        &self,
        request: Request<pb::ListPrincipalsRequest>,
    ) -> Result<Response<pb::ListPrincipalsResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let print = pagination::fingerprint(&["principals"]);
        let (limit, after) = (
            page_size(request.page_size),
            field(
                "page_token",
                pagination::decode(&request.page_token, &print),
            ),
        )
            .all()
            .map_err(ApiError::from)?;
        let after = after.unwrap_or_default();
        let mut rows = admin::list_principals(&self.access, &who, &after, limit + 1).await?;
        let next = more(&mut rows, limit, |r| pagination::encode(&print, &r.id));
        Ok(Response::new(pb::ListPrincipalsResponse {
            principals: rows.into_iter().map(principal).collect(),
            next_page_token: next,
        }))
    }

    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let who = guard(&request)?;
        let given = request.into_inner().token.unwrap_or_default();
        let now = Utc::now();
        let (id, expire_time) = (
            field("token.principal", principal_id(&given.principal)),
            field(
                "token.expire_time",
                moment(given.expire_time.as_ref()).and_then(|t| match t {
                    None => Err(format!(
                        "is required: tokens expire, at most {MAX_TOKEN_DAYS} days ahead"
                    )),
                    Some(t) if t <= now => Err("is in the past".to_owned()),
                    Some(t) if t > now + chrono::Duration::days(MAX_TOKEN_DAYS) => {
                        Err(format!("is more than {MAX_TOKEN_DAYS} days ahead"))
                    }
                    Some(t) => Ok(t),
                }),
            ),
        )
            .all()
            .map_err(ApiError::from)?;
        let description = field(
            "token.description",
            match given.description.chars().count() {
                n if n > 200 => Err(format!("has {n} characters; at most 200")),
                _ if given.description.chars().any(char::is_control) => {
                    Err("must not contain control characters".to_owned())
                }
                _ => Ok(given.description.trim().to_owned()),
            },
        )
        .map_err(ApiError::from)?;
        let (row, secret) =
            admin::create_token(&self.access, &who, &id, &description, expire_time).await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(token(row)),
            secret,
        }))
    }

    async fn list_tokens(
        &self,
        request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let print = pagination::fingerprint(&["tokens", &request.principal]);
        let (filter, limit, after) = by_principal(
            &request.principal,
            request.page_size,
            &request.page_token,
            &print,
        )?;
        let mut rows = admin::list_tokens(
            &self.access,
            &who,
            filter.as_deref(),
            after.unwrap_or(0),
            limit + 1,
        )
        .await?;
        let next = more(&mut rows, limit, |r| {
            pagination::encode(&print, &r.id.to_string())
        });
        Ok(Response::new(pb::ListTokensResponse {
            tokens: rows.into_iter().map(token).collect(),
            next_page_token: next,
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::RevokeTokenResponse>, Status> {
        let who = guard(&request)?;
        let id =
            field("name", number(&request.get_ref().name, "tokens")).map_err(ApiError::from)?;
        let row = admin::revoke_token(&self.access, &who, id).await?;
        Ok(Response::new(pb::RevokeTokenResponse {
            token: Some(token(row)),
        }))
    }

    async fn create_grant(
        &self,
        request: Request<pb::CreateGrantRequest>,
    ) -> Result<Response<pb::CreateGrantResponse>, Status> {
        let who = guard(&request)?;
        let given = request.into_inner().grant.unwrap_or_default();
        let (id, role, region, expire_time) = (
            field("grant.principal", principal_id(&given.principal)),
            field(
                "grant.role",
                Role::from_number(given.role)
                    .ok_or_else(|| "is required: one of ROLE_SUBMITTER, ROLE_VIEWER, ROLE_PUBLISHER, ROLE_AUDITOR, ROLE_ADMIN".to_owned()),
            ),
            field(
                "grant.region",
                RegionCode::from_name(&given.region).and_then(|code| {
                    if self.state.region_exists(&code) {
                        Ok(code)
                    } else {
                        Err(format!("{} is not in the region tree", code.name()))
                    }
                }),
            ),
            field(
                "grant.expire_time",
                moment(given.expire_time.as_ref()).and_then(|t| match t {
                    Some(t) if t <= Utc::now() => Err("is in the past".to_owned()),
                    t => Ok(t),
                }),
            ),
        )
            .all()
            .map_err(ApiError::from)?;
        let row = admin::create_grant(&self.access, &who, &id, role, &region, expire_time).await?;
        Ok(Response::new(pb::CreateGrantResponse {
            grant: Some(grant(row)),
        }))
    }

    async fn list_grants(
        &self,
        request: Request<pb::ListGrantsRequest>,
    ) -> Result<Response<pb::ListGrantsResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let print = pagination::fingerprint(&["grants", &request.principal]);
        let (filter, limit, after) = by_principal(
            &request.principal,
            request.page_size,
            &request.page_token,
            &print,
        )?;
        let after = after.unwrap_or(0);
        let mut rows: Vec<GrantRow> = admin::list_grants(&self.access, &who, filter.as_deref())
            .await?
            .into_iter()
            .filter(|g| g.id > after)
            .take(limit as usize + 1)
            .collect();
        let next = more(&mut rows, limit, |r| {
            pagination::encode(&print, &r.id.to_string())
        });
        Ok(Response::new(pb::ListGrantsResponse {
            grants: rows.into_iter().map(grant).collect(),
            next_page_token: next,
        }))
    }

    async fn revoke_grant(
        &self,
        request: Request<pb::RevokeGrantRequest>,
    ) -> Result<Response<pb::RevokeGrantResponse>, Status> {
        let who = guard(&request)?;
        let id =
            field("name", number(&request.get_ref().name, "grants")).map_err(ApiError::from)?;
        let row = admin::revoke_grant(&self.access, &who, id).await?;
        Ok(Response::new(pb::RevokeGrantResponse {
            grant: Some(grant(row)),
        }))
    }

    async fn list_access_events(
        &self,
        request: Request<pb::ListAccessEventsRequest>,
    ) -> Result<Response<pb::ListAccessEventsResponse>, Status> {
        let who = guard(&request)?;
        let request = request.into_inner();
        let print = pagination::fingerprint(&[
            "events",
            &request.principal,
            &request.region,
            &format!("{:?}", request.start_time),
            &format!("{:?}", request.end_time),
            &request.outcome.to_string(),
        ]);
        let (principal, region, start, end, outcome, limit, before) = (
            field("principal", principal_filter(&request.principal)),
            field(
                "region",
                if request.region.is_empty() {
                    Ok(None)
                } else {
                    RegionCode::from_name(&request.region).map(Some)
                },
            ),
            field("start_time", moment(request.start_time.as_ref())),
            field("end_time", moment(request.end_time.as_ref())),
            field(
                "outcome",
                match request.outcome {
                    0 => Ok(None),
                    n @ 1..=4 => Ok(Some(n as i16)),
                    n => Err(format!("{n} is not an outcome")),
                },
            ),
            page_size(request.page_size),
            field(
                "page_token",
                pagination::decode_with(&request.page_token, &print, |position| {
                    let (row, entry) = position.split_once('|')?;
                    Some(EventPlace {
                        row_id: row.parse().ok()?,
                        entry: entry.parse().ok()?,
                    })
                }),
            ),
        )
            .all()
            .map_err(ApiError::from)?;
        // The events of the asked region (or of the caller's auditor scope) that the caller
        // may read: a region outside its scope is refused, not silently emptied.
        let scopes = who.scopes(Role::Auditor);
        let regions: Option<Vec<String>> = match &region {
            Some(code) => {
                who.allow(
                    crate::domain::access::Permission::AuditRead,
                    code.as_str(),
                    &code.name(),
                )?;
                Some(
                    who.regions()
                        .subtree(code.as_str())
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                )
            }
            None if scopes.iter().any(|s| s.as_str() == NATIONAL) => None,
            None => Some(
                scopes
                    .iter()
                    .flat_map(|s| who.regions().subtree(s.as_str()))
                    .map(str::to_owned)
                    .collect(),
            ),
        };
        let filter = EventFilter {
            principal,
            regions,
            start,
            end,
            outcome,
            after: before,
        };
        let mut conn = self.state.conn().await?;
        let mut rows = crate::db::access::events_page(&mut conn, &filter, limit + 1)
            .await
            .map_err(ApiError::from)?;
        let next = more(&mut rows, limit, |r| {
            pagination::encode(&print, &format!("{}|{}", r.place.row_id, r.place.entry))
        });
        Ok(Response::new(pb::ListAccessEventsResponse {
            events: rows.into_iter().map(event).collect(),
            next_page_token: next,
        }))
    }
}

/// Cuts `rows` (fetched one beyond `limit`) to the page and returns the next page's token.
fn more<T>(rows: &mut Vec<T>, limit: i64, token: impl Fn(&T) -> String) -> String {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(token).unwrap_or_default()
    } else {
        String::new()
    }
}
