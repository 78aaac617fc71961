//! Releases: rollups frozen as published. Inserted once; the table refuses changes.

use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::{NewRelease, ReleaseRow};
use super::schema::releases;

/// Stores a release.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewRelease) -> QueryResult<ReleaseRow> {
    diesel::insert_into(releases::table)
        .values(new)
        .returning(ReleaseRow::as_returning())
        .get_result(conn)
        .await
}

/// One release.
pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<ReleaseRow>> {
    releases::table
        .find(id)
        .select(ReleaseRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The release made by an earlier request with this idempotency key, if any.
pub async fn find_by_request_id(
    conn: &mut AsyncPgConnection,
    request_id: Uuid,
) -> QueryResult<Option<ReleaseRow>> {
    releases::table
        .filter(releases::request_id.eq(request_id))
        .select(ReleaseRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// One page of releases, newest first, with ids below `before`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ReleaseRow>> {
    let mut query = releases::table
        .order(releases::id.desc())
        .limit(limit)
        .select(ReleaseRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(releases::id.lt(before));
    }
    query.load(conn).await
}
