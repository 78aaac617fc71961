//! The region tree, read-only: one division with its number of children, or a page of the
//! divisions under one.

use std::collections::HashMap;

use super::{AppState, existing_region};
use crate::db::models::RegionRow;
use crate::db::regions::{self, Scope};
use crate::domain::region::{Level, RegionCode};
use crate::error::ApiError;

/// A division with the number of divisions directly under it.
pub struct RegionEntry {
    /// The division.
    pub row: RegionRow,
    /// Its children.
    pub child_count: i64,
}

/// Which divisions a listing asks for.
pub struct RegionListing {
    /// The division listed under.
    pub parent: RegionCode,
    /// Its children when none; else every division of this level in its subtree.
    pub level: Option<Level>,
    /// Most divisions answered.
    pub page_size: i64,
    /// The code the previous page ended at.
    pub after: Option<String>,
}

/// A page of divisions.
pub struct RegionPage {
    /// The divisions, in code order.
    pub regions: Vec<RegionEntry>,
    /// The last code of this page when more follow.
    pub next_after: Option<String>,
    /// How many divisions the listing has in all.
    pub total: i64,
}

/// The division `code`: NOT_FOUND when the tree has none.
pub async fn get(state: &AppState, code: &RegionCode) -> Result<RegionEntry, ApiError> {
    let mut conn = state.conn().await?;
    let row = existing_region(&mut conn, code).await?;
    let children = regions::child_counts(&mut conn, std::slice::from_ref(&row.code)).await?;
    let child_count = children.first().map_or(0, |(_, n)| *n);
    Ok(RegionEntry { row, child_count })
}

/// A page of the divisions `listing` asks for; INVALID_ARGUMENT on `level` when it is not
/// below the parent's.
pub async fn list(state: &AppState, listing: RegionListing) -> Result<RegionPage, ApiError> {
    let mut conn = state.conn().await?;
    let parent = existing_region(&mut conn, &listing.parent).await?;
    let scope = match listing.level {
        None => Scope::Children(listing.parent.as_str()),
        Some(level) if level.number() > parent.level => {
            Scope::LevelWithin(listing.parent.as_str(), level.number())
        }
        Some(level) => {
            return Err(ApiError::invalid(
                "level",
                format!(
                    "{} is not below {} ({}), which is a {} region",
                    level.as_str(),
                    listing.parent.name(),
                    parent.name,
                    Level::from_number(i32::from(parent.level)).map_or("?", Level::as_str)
                ),
            ));
        }
    };
    let mut rows = regions::list(
        &mut conn,
        scope,
        listing.after.as_deref(),
        listing.page_size + 1,
    )
    .await?;
    let total = regions::count(&mut conn, scope).await?;
    let has_more = rows.len() as i64 > listing.page_size;
    rows.truncate(usize::try_from(listing.page_size).unwrap_or(0));
    let next_after = rows
        .last()
        .filter(|_| has_more)
        .map(|last| last.code.clone());
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let counts: HashMap<String, i64> = regions::child_counts(&mut conn, &codes)
        .await?
        .into_iter()
        .collect();
    let regions = rows
        .into_iter()
        .map(|row| RegionEntry {
            child_count: counts.get(&row.code).copied().unwrap_or(0),
            row,
        })
        .collect();
    Ok(RegionPage {
        regions,
        next_after,
        total,
    })
}
