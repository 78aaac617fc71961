//! Principals, tokens, grants and the access log as stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{access_tokens, access_version, grants, principals};

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

/// One entry to append to the access log.
#[derive(Debug, Clone)]
pub struct EventRow {
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

/// Appends reads of one principal through one method, all with the same outcome, code and
/// permission, as one row: the first in the row's own columns, the others in its arrays, each
/// numbered from the log's sequence (migration 000010).
pub async fn insert_read_group(
    conn: &mut AsyncPgConnection,
    reads: &[&EventRow],
) -> QueryResult<()> {
    use diesel::sql_types::{Array, Nullable, SmallInt, Text, Timestamptz};
    let Some((first, more)) = reads.split_first() else {
        return Ok(());
    };
    if more.is_empty() {
        return insert_events(conn, reads).await;
    }
    diesel::sql_query(
        "INSERT INTO access_events \
         (event_time, principal, method, resource, region_code, outcome, code, permission, \
          more_times, more_resources, more_regions, more_ids) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                ARRAY(SELECT nextval('access_events_id_seq') \
                      FROM generate_series(1, cardinality($9::timestamptz[])))",
    )
    .bind::<Timestamptz, _>(first.event_time)
    .bind::<Text, _>(&first.principal)
    .bind::<Text, _>(&first.method)
    .bind::<Text, _>(&first.resource)
    .bind::<Nullable<Text>, _>(first.region_code.as_deref())
    .bind::<SmallInt, _>(first.outcome)
    .bind::<Text, _>(&first.code)
    .bind::<Text, _>(&first.permission)
    .bind::<Array<Timestamptz>, _>(more.iter().map(|e| e.event_time).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(more.iter().map(|e| e.resource.as_str()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        more.iter()
            .map(|e| e.region_code.as_deref())
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
    /// Only events listed after this one (the page token), newest first.
    pub after: Option<EventPlace>,
}

/// Where an event is in the log's order: its row, and its place in the row (0 for the row's
/// own columns, 1 and up for its arrays). The log lists rows newest first, and a row's events
/// last first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct EventPlace {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub row_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub entry: i64,
}

/// One event of a listing, with its place.
#[derive(Debug, Clone, QueryableByName)]
pub struct ListedEvent {
    #[diesel(embed)]
    pub place: EventPlace,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub event_time: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub principal: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub method: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub resource: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub region_code: Option<String>,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    pub outcome: i16,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub permission: String,
}

/// A page of the access log, newest first: each row's events (its own and those in its
/// arrays) filtered one by one.
pub async fn events_page(
    conn: &mut AsyncPgConnection,
    filter: &EventFilter,
    limit: i64,
) -> QueryResult<Vec<ListedEvent>> {
    use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text, Timestamptz};
    diesel::sql_query(
        "SELECT e.id AS row_id, x.entry, x.id, x.event_time, e.principal, e.method, x.resource, \
                x.region_code, e.outcome, e.code, e.permission \
         FROM access_events e \
         CROSS JOIN LATERAL ( \
             SELECT 0::bigint AS entry, e.id, e.event_time, e.resource, e.region_code \
             UNION ALL \
             SELECT m.entry, m.id, m.event_time, m.resource, m.region_code \
             FROM unnest(e.more_ids, e.more_times, e.more_resources, e.more_regions) \
                  WITH ORDINALITY AS m (id, event_time, resource, region_code, entry) \
         ) x \
         WHERE ($1::text IS NULL OR e.principal = $1) \
           AND ($2::text[] IS NULL OR x.region_code = ANY ($2)) \
           AND ($3::timestamptz IS NULL OR x.event_time >= $3) \
           AND ($4::timestamptz IS NULL OR x.event_time < $4) \
           AND ($5::smallint IS NULL OR e.outcome = $5) \
           AND ($6::bigint IS NULL OR e.id < $6 OR (e.id = $6 AND x.entry < $7)) \
           AND ($6::bigint IS NULL OR e.id <= $6) \
         ORDER BY e.id DESC, x.entry DESC \
         LIMIT $8",
    )
    .bind::<Nullable<Text>, _>(filter.principal.as_deref())
    .bind::<Nullable<Array<Text>>, _>(filter.regions.as_deref())
    .bind::<Nullable<Timestamptz>, _>(filter.start)
    .bind::<Nullable<Timestamptz>, _>(filter.end)
    .bind::<Nullable<SmallInt>, _>(filter.outcome)
    .bind::<Nullable<BigInt>, _>(filter.after.map(|p| p.row_id))
    .bind::<BigInt, _>(filter.after.map_or(0, |p| p.entry))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
