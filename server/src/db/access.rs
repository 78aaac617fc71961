//! Principals, tokens, grants and the access log as stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{access_events, access_tokens, access_version, grants, principals};

/// A principal as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = principals)]
pub struct PrincipalRow {
    pub id: String,
    pub display_name: String,
    pub kind: i16,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
}

/// A token as stored (its secret's hash only).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_tokens)]
pub struct TokenRow {
    pub id: i64,
    pub principal_id: String,
    pub secret_hash: Vec<u8>,
    pub description: String,
    pub expire_time: DateTime<Utc>,
    pub revoke_time: Option<DateTime<Utc>>,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
}

/// A new token.
#[derive(Debug, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct NewToken<'a> {
    pub principal_id: &'a str,
    pub secret_hash: &'a [u8],
    pub description: &'a str,
    pub expire_time: DateTime<Utc>,
    pub created_by: &'a str,
}

/// A grant as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = grants)]
pub struct GrantRow {
    pub id: i64,
    pub principal_id: String,
    pub role: i16,
    pub region_code: String,
    pub expire_time: Option<DateTime<Utc>>,
    pub revoke_time: Option<DateTime<Utc>>,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
}

/// A new grant.
#[derive(Debug, Insertable)]
#[diesel(table_name = grants)]
pub struct NewGrant<'a> {
    pub principal_id: &'a str,
    pub role: i16,
    pub region_code: &'a str,
    pub expire_time: Option<DateTime<Utc>>,
    pub created_by: &'a str,
}

/// One entry of the access log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_events)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub id: i64,
    pub event_time: DateTime<Utc>,
    pub principal: String,
    pub method: String,
    pub resource: String,
    pub region_code: Option<String>,
    pub outcome: i16,
    pub code: String,
    pub permission: String,
}

/// Everything an access check reads: principals, tokens and grants in force at `now`.
pub struct AccessRows {
    pub version: i64,
    pub principals: Vec<PrincipalRow>,
    pub tokens: Vec<TokenRow>,
    pub grants: Vec<GrantRow>,
}

/// The version of the access data: changes whenever principals, tokens or grants do.
pub async fn version(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    access_version::table
        .select(access_version::version)
        .first(conn)
        .await
}

/// Marks the access data changed; in the transaction that changes it.
pub async fn bump_version(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::update(access_version::table)
        .set(access_version::version.eq(access_version::version + 1))
        .execute(conn)
        .await
        .map(drop)
}

/// Principals, and the tokens and grants in force at `now`, with the version they are of.
pub async fn load(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<AccessRows> {
    let version = version(conn).await?;
    let principals = principals::table
        .select(PrincipalRow::as_select())
        .load(conn)
        .await?;
    let tokens = access_tokens::table
        .filter(access_tokens::revoke_time.is_null())
        .filter(access_tokens::expire_time.gt(now))
        .select(TokenRow::as_select())
        .load(conn)
        .await?;
    let grants = grants_in_force(conn, None, now).await?;
    Ok(AccessRows {
        version,
        principals,
        tokens,
        grants,
    })
}

/// How many principals there are.
pub async fn principal_count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    principals::table.count().get_result(conn).await
}

/// Stores a principal; `Ok(false)` when its id is taken.
pub async fn insert_principal(
    conn: &mut AsyncPgConnection,
    row: &PrincipalRow,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(principals::table)
        .values((
            principals::id.eq(&row.id),
            principals::display_name.eq(&row.display_name),
            principals::kind.eq(row.kind),
            principals::created_by.eq(&row.created_by),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

/// One principal.
pub async fn principal(
    conn: &mut AsyncPgConnection,
    id: &str,
) -> QueryResult<Option<PrincipalRow>> {
    principals::table
        .find(id)
        .select(PrincipalRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Principals after `after` in id order, at most `limit`.
pub async fn principals_page(
    conn: &mut AsyncPgConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<PrincipalRow>> {
    principals::table
        .filter(principals::id.gt(after))
        .order(principals::id)
        .limit(limit)
        .select(PrincipalRow::as_select())
        .load(conn)
        .await
}

/// Stores a token and returns it.
pub async fn insert_token(
    conn: &mut AsyncPgConnection,
    token: NewToken<'_>,
) -> QueryResult<TokenRow> {
    diesel::insert_into(access_tokens::table)
        .values(token)
        .returning(TokenRow::as_returning())
        .get_result(conn)
        .await
}

/// One token.
pub async fn token(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<TokenRow>> {
    access_tokens::table
        .find(id)
        .select(TokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Tokens after number `after`, of one principal or all, at most `limit`.
pub async fn tokens_page(
    conn: &mut AsyncPgConnection,
    principal: Option<&str>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<TokenRow>> {
    let mut query = access_tokens::table
        .filter(access_tokens::id.gt(after))
        .order(access_tokens::id)
        .limit(limit)
        .select(TokenRow::as_select())
        .into_boxed();
    if let Some(p) = principal {
        query = query.filter(access_tokens::principal_id.eq(p.to_owned()));
    }
    query.load(conn).await
}

/// Revokes a token at `now` (a revoked one stays as it was) and returns it.
pub async fn revoke_token(
    conn: &mut AsyncPgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> QueryResult<Option<TokenRow>> {
    diesel::update(access_tokens::table.find(id))
        .filter(access_tokens::revoke_time.is_null())
        .set(access_tokens::revoke_time.eq(now))
        .execute(conn)
        .await?;
    token(conn, id).await
}

/// Stores a grant and returns it.
pub async fn insert_grant(
    conn: &mut AsyncPgConnection,
    grant: NewGrant<'_>,
) -> QueryResult<GrantRow> {
    diesel::insert_into(grants::table)
        .values(grant)
        .returning(GrantRow::as_returning())
        .get_result(conn)
        .await
}

/// One grant.
pub async fn grant(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<GrantRow>> {
    grants::table
        .find(id)
        .select(GrantRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Grants of a principal that are in force at `now`.
pub async fn grants_of(
    conn: &mut AsyncPgConnection,
    principal: &str,
    now: DateTime<Utc>,
) -> QueryResult<Vec<GrantRow>> {
    grants_in_force(conn, Some(principal), now).await
}

/// Grants in force at `now`, of one principal or of all, by id.
pub async fn grants_in_force(
    conn: &mut AsyncPgConnection,
    principal: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<GrantRow>> {
    let mut query = grants::table
        .filter(grants::revoke_time.is_null())
        .filter(
            grants::expire_time
                .is_null()
                .or(grants::expire_time.gt(now)),
        )
        .order(grants::id)
        .select(GrantRow::as_select())
        .into_boxed();
    if let Some(p) = principal {
        query = query.filter(grants::principal_id.eq(p.to_owned()));
    }
    query.load(conn).await
}

/// Revokes a grant at `now` and returns it.
pub async fn revoke_grant(
    conn: &mut AsyncPgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> QueryResult<Option<GrantRow>> {
    diesel::update(grants::table.find(id))
        .filter(grants::revoke_time.is_null())
        .set(grants::revoke_time.eq(now))
        .execute(conn)
        .await?;
    grant(conn, id).await
}

/// Appends entries to the access log: one statement with one array per column, however many
/// entries.
pub async fn insert_events(conn: &mut AsyncPgConnection, events: &[&EventRow]) -> QueryResult<()> {
    use diesel::sql_types::{Array, Nullable, SmallInt, Text, Timestamptz};
    diesel::sql_query(
        "INSERT INTO access_events \
         (event_time, principal, method, resource, region_code, outcome, code, permission) \
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], \
                              $5::text[], $6::smallint[], $7::text[], $8::text[])",
    )
    .bind::<Array<Timestamptz>, _>(events.iter().map(|e| e.event_time).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        events
            .iter()
            .map(|e| e.principal.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Text>, _>(events.iter().map(|e| e.method.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        events
            .iter()
            .map(|e| e.resource.as_str())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<Nullable<Text>>, _>(
        events
            .iter()
            .map(|e| e.region_code.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind::<Array<SmallInt>, _>(events.iter().map(|e| e.outcome).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        events
            .iter()
            .map(|e| e.permission.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// What to list of the access log.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this principal's.
    pub principal: Option<String>,
    /// Only events whose region is one of these (a subtree's codes); `None` for any,
    /// region-less events included.
    pub regions: Option<Vec<String>>,
    /// Only at or after.
    pub start: Option<DateTime<Utc>>,
    /// Only before.
    pub end: Option<DateTime<Utc>>,
    /// Only this outcome.
    pub outcome: Option<i16>,
    /// Only events older than this one (the page token), newest first.
    pub before_id: Option<i64>,
}

/// A page of the access log, newest first.
pub async fn events_page(
    conn: &mut AsyncPgConnection,
    filter: &EventFilter,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = access_events::table
        .order(access_events::id.desc())
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(p) = &filter.principal {
        query = query.filter(access_events::principal.eq(p.clone()));
    }
    if let Some(regions) = &filter.regions {
        query = query.filter(access_events::region_code.eq_any(regions.clone()));
    }
    if let Some(start) = filter.start {
        query = query.filter(access_events::event_time.ge(start));
    }
    if let Some(end) = filter.end {
        query = query.filter(access_events::event_time.lt(end));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(access_events::outcome.eq(outcome));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(access_events::id.lt(before));
    }
    query.load(conn).await
}
