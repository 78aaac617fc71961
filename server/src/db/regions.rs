//! Queries on the region tree.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::models::RegionRow;
use super::schema::{region_ancestors, regions};

/// One region, if it exists.
pub async fn find(conn: &mut AsyncPgConnection, code: &str) -> QueryResult<Option<RegionRow>> {
    regions::table
        .find(code)
        .select(RegionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// How many regions have each of `codes` as parent.
pub async fn child_counts(
    conn: &mut AsyncPgConnection,
    codes: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    regions::table
        .filter(regions::parent_code.eq_any(codes))
        .group_by(regions::parent_code)
        .select((
            regions::parent_code.assume_not_null(),
            diesel::dsl::count_star(),
        ))
        .load(conn)
        .await
}

/// Which set of regions a listing walks.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// The direct children of a region.
    Children(&'a str),
    /// Every region of a level inside a region's subtree (the region itself excluded).
    LevelWithin(&'a str, i16),
}

fn in_scope<'a>(scope: Scope<'a>) -> regions::BoxedQuery<'a, Pg> {
    match scope {
        Scope::Children(parent) => regions::table
            .filter(regions::parent_code.eq(parent))
            .into_boxed(),
        Scope::LevelWithin(ancestor, level) => regions::table
            .filter(regions::level.eq(level))
            .filter(
                regions::code.eq_any(
                    region_ancestors::table
                        .filter(region_ancestors::ancestor_code.eq(ancestor))
                        .select(region_ancestors::code),
                ),
            )
            .into_boxed(),
    }
}

/// One page of regions in `scope`, ordered by code, after the code `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    scope: Scope<'_>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<RegionRow>> {
    let mut query = in_scope(scope)
        .select(RegionRow::as_select())
        .order(regions::code)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(regions::code.gt(after));
    }
    query.load(conn).await
}

/// How many regions `scope` holds.
pub async fn count(conn: &mut AsyncPgConnection, scope: Scope<'_>) -> QueryResult<i64> {
    in_scope(scope).count().get_result(conn).await
}

/// The whole tree.
pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<RegionRow>> {
    regions::table
        .select(RegionRow::as_select())
        .load(conn)
        .await
}
