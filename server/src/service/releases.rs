//! Releases: rollups frozen as published (PublishRollup), read back byte for byte (GetRelease,
//! ListReleases), and compared with the live figures (DiffRelease).
//!
//! A release stores the canonical proto encoding of its `procura.v1.Rollup` and the text its
//! SHA-256 is taken over. Both are proto work, done by the api layer
//! (`api::reports::convert::freeze`), which hands this module a [`Frozen`] to store and, for a
//! diff, the figures it reads back from the stored bytes ([`Released`]). The hash is taken
//! here, over the text as given.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::rollups::{self, Rollup, RollupRequest, RollupSpec};
use crate::db::models::{NewRelease, ReleaseRow, RevisionRow};
use crate::db::moments::{self, Moment};
use crate::db::{history, releases, revisions, snapshot};
use crate::domain::metric::{self, BucketTally, METRICS};
use crate::domain::period::DateSpan;
use crate::domain::record::Case;
use crate::domain::region::{Level, RegionCode, RegionTree};
use crate::error::ApiError;

/// Most records named per changed figure in a diff.
const MAX_DIFF_RECORDS: usize = 50;
/// Most revisions read per changed figure in a diff.
const MAX_DIFF_REVISIONS: i64 = 2_000;

/// A PublishRollup, validated.
#[derive(Debug, Clone)]
pub struct PublishRequest {
    /// The release's title.
    pub title: String,
    /// Who publishes it.
    pub publisher: String,
    /// The idempotency key, if any.
    pub request_id: Option<Uuid>,
    /// The rollup to freeze.
    pub rollup: RollupRequest,
}

/// A rollup as a release stores it: its encoding and the text its hash is taken over.
#[derive(Debug, Clone)]
pub struct Frozen {
    /// The rollup's canonical proto encoding, returned byte for byte.
    pub encoded: Vec<u8>,
    /// The canonical values, one line per figure.
    pub canonical_values: String,
}

/// A figure of a rollup: its region's resource name, whether it counts the region's own
/// records only, and the metric id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FigureKey {
    /// The region's resource name, e.g. `regions/530000`.
    pub region: String,
    /// Whether the figure counts only the procuratorate's own records.
    pub own_records_only: bool,
    /// The metric id.
    pub metric: String,
}

/// The figures of a rollup by key: (value, previous value). The totals are keyed by the
/// rollup's region, not own records only.
pub type FigureValues = HashMap<FigureKey, (i64, Option<i64>)>;

/// What a release froze, read back from its stored rollup.
#[derive(Debug, Clone)]
pub struct Released {
    /// The region counted.
    pub region: RegionCode,
    /// The days counted.
    pub span: DateSpan,
    /// The days compared with, if any.
    pub previous: Option<DateSpan>,
    /// The level of the rows, if any.
    pub breakdown: Option<Level>,
    /// Its figures.
    pub values: FigureValues,
}

/// A record whose contribution to a changed figure changed since the release.
#[derive(Debug, Clone)]
pub struct RecordChange {
    /// The case.
    pub case_id: i64,
    /// Its case number.
    pub case_number: String,
    /// Its contribution when released.
    pub released_value: i64,
    /// Its contribution now.
    pub live_value: i64,
    /// Its revisions since the release.
    pub revisions: Vec<RevisionRow>,
}

/// A figure of a release that differs from the live figures.
#[derive(Debug, Clone)]
pub struct FigureChange {
    /// The figure.
    pub key: FigureKey,
    /// Whether the change is in the comparison period's value.
    pub comparison_period: bool,
    /// The released value.
    pub released_value: i64,
    /// The live value.
    pub live_value: i64,
    /// The records behind the change, at most [`MAX_DIFF_RECORDS`].
    pub records: Vec<RecordChange>,
}

/// A release compared with the live figures.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The release.
    pub release: ReleaseRow,
    /// The moment the live figures reflect.
    pub live_as_of: DateTime<Utc>,
    /// The figures that changed, in order of their keys.
    pub changes: Vec<FigureChange>,
}

/// The release `id`, or NOT_FOUND naming `name`.
async fn existing(
    conn: &mut AsyncPgConnection,
    id: i64,
    name: &str,
) -> Result<ReleaseRow, ApiError> {
    releases::find(conn, id)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            reason: "RELEASE_NOT_FOUND",
            resource: name.to_owned(),
        })
}

/// The hex SHA-256 of `text`.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// PublishRollup: computes the rollup `request` asks for, freezes it with `freeze` and stores
/// it; a request whose idempotency key made a release already gets that release.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    request: PublishRequest,
    freeze: impl FnOnce(&Rollup) -> Frozen,
) -> Result<ReleaseRow, ApiError> {
    let spec = RollupSpec::new(conn, &request.rollup).await?;
    if let Some(request_id) = request.request_id
        && let Some(row) = releases::find_by_request_id(conn, request_id).await?
    {
        return Ok(row);
    }
    let rollup = rollups::compute_in_snapshot(conn, regions, &spec).await?;
    let frozen = freeze(&rollup);
    let release = NewRelease {
        title: request.title,
        published_by: request.publisher,
        as_of: rollup.as_of,
        as_of_snapshot: rollup.moment.snapshot.clone(),
        rollup: frozen.encoded,
        sha256: sha256_hex(&frozen.canonical_values),
        canonical_values: frozen.canonical_values,
        request_id: request.request_id,
    };
    // With its moment, so that a rollup as of the release's as-of gives its figures.
    let inserted = {
        use diesel_async::AsyncConnection;
        conn.transaction(async |conn| {
            moments::add(conn, &rollup.moment).await?;
            releases::insert(conn, &release).await
        })
        .await
        .map_err(ApiError::from)
    };
    let row = match (inserted, request.request_id) {
        // The same request sent twice at once: the one that committed first published the
        // release, and this one answers it, as its retry would.
        (Err(concurrent @ ApiError::Concurrent { .. }), Some(request_id)) => {
            return releases::find_by_request_id(conn, request_id)
                .await?
                .ok_or(concurrent);
        }
        (inserted, _) => inserted?,
    };
    tracing::info!(release = row.id, sha256 = %row.sha256, "rollup published");
    crate::metrics::release_published();
    Ok(row)
}

/// GetRelease: release `id` (named `name`).
pub async fn get(
    conn: &mut AsyncPgConnection,
    id: i64,
    name: &str,
) -> Result<ReleaseRow, ApiError> {
    existing(conn, id, name).await
}

/// ListReleases: up to `page_size` releases with ids below `before`, newest first, and
/// whether more follow.
pub async fn list(
    conn: &mut AsyncPgConnection,
    before: Option<i64>,
    page_size: i64,
) -> Result<(Vec<ReleaseRow>, bool), ApiError> {
    let mut rows = releases::list(conn, before, page_size + 1).await?;
    let more = rows.len() as i64 > page_size;
    rows.truncate(page_size as usize);
    Ok((rows, more))
}

/// The figures of `rollup` by key, as [`FigureValues`].
pub fn values(rollup: &Rollup) -> FigureValues {
    let compare = rollup.compares();
    let mut out = HashMap::new();
    let sections = std::iter::once((rollup.region.name(), false, &rollup.total)).chain(
        rollup.rows.iter().map(|row| {
            (
                format!("regions/{}", row.code),
                row.own_records_only,
                &row.tally,
            )
        }),
    );
    for (region, own_records_only, tally) in sections {
        for (i, def) in METRICS.iter().enumerate() {
            out.insert(
                FigureKey {
                    region: region.clone(),
                    own_records_only,
                    metric: def.id.to_owned(),
                },
                (
                    tally.current.value(i),
                    compare.then(|| tally.previous.value(i)),
                ),
            );
        }
    }
    out
}

/// DiffRelease: release `id` (named `name`), read back with `read`, against the live figures
/// of the same rollup, each changed figure with the records behind the change.
pub async fn diff(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    id: i64,
    name: &str,
    read: impl FnOnce(&ReleaseRow) -> Result<Released, ApiError>,
) -> Result<Diff, ApiError> {
    let row = existing(conn, id, name).await?;
    let released = read(&row)?;
    let released_at = Moment {
        time: row.as_of,
        snapshot: row.as_of_snapshot.clone(),
    };
    let spec = RollupSpec {
        region_row: super::existing_region(conn, &released.region).await?,
        region: released.region.clone(),
        span: released.span,
        previous: released.previous,
        breakdown: released.breakdown,
        as_of: None,
        indicators: false,
    };
    let (live, changes) = snapshot!(conn, ApiError, |conn| {
        let live = rollups::compute(conn, regions, &spec).await?;
        let changed = ChangedCases::read(conn, regions, &released, &released_at).await?;
        let changes = figure_changes(
            conn,
            &released,
            &values(&live),
            &released_at,
            changed.as_ref(),
        )
        .await?;
        Ok((live, changes))
    })?;
    moments::keep_if_free(conn, &live.moment).await;
    Ok(Diff {
        release: row,
        live_as_of: live.as_of,
        changes,
    })
}

/// A case of a release's subtree changed since the release's moment, as a diff needs it.
struct ChangedCase {
    id: i64,
    number: String,
    /// Its region now (or then, when it no longer exists).
    region: String,
    /// Its contributions over the release's period and comparison period then and now.
    then: BucketTally,
    now: BucketTally,
    /// Its revisions since the moment, oldest first.
    revisions: Vec<RevisionRow>,
}

/// The cases of a release's subtree changed since its moment, read once for the whole diff:
/// so its cost depends on the changes, not on the records or the number of changed figures.
struct ChangedCases {
    /// In id order.
    cases: Vec<ChangedCase>,
    /// The cases (as indexes into `cases`, in id order) of each region's subtree.
    in_subtree: HashMap<String, Vec<usize>>,
    /// The cases of each procuratorate's own records.
    own: HashMap<String, Vec<usize>>,
}

impl ChangedCases {
    /// The changed cases of `released`'s subtree since `since`; `None` when the moment has no
    /// snapshot or more than [`rollups::MOST_CHANGED_SINCE`] cases changed since (each changed
    /// figure then reads its own region's).
    async fn read(
        conn: &mut AsyncPgConnection,
        regions: &RegionTree,
        released: &Released,
        since: &Moment,
    ) -> Result<Option<Self>, ApiError> {
        let region = released.region.as_str();
        let Some(ids) =
            history::changed_since(conn, regions, region, since, rollups::MOST_CHANGED_SINCE)
                .await?
        else {
            return Ok(None);
        };
        let (mut since_then, now) = revisions::since_for_cases(conn, &ids, since).await?;
        // The states then come out of the revisions: a diff names them without.
        let states = history::then_and_now_revised(conn, &ids, &mut since_then, now).await?;
        let mut revised: HashMap<i64, Vec<RevisionRow>> = HashMap::new();
        for revision in since_then {
            revised.entry(revision.case_id).or_default().push(revision);
        }
        let previous = released.previous.unwrap_or(released.span);
        let tally = |state: Option<&Case>| {
            let mut tally = BucketTally::default();
            if let Some(state) = state {
                tally.add_state(state, released.span, previous);
            }
            tally
        };
        let cases = ids
            .into_iter()
            .filter_map(|id| {
                let revisions = revised.remove(&id)?;
                let (then, now) = states.get(&id)?;
                let state = now.as_ref().or(then.as_ref())?;
                Some(ChangedCase {
                    id,
                    number: state.case_number.clone(),
                    region: state.region_code.as_str().to_owned(),
                    then: tally(then.as_ref()),
                    now: tally(now.as_ref()),
                    revisions,
                })
            })
            .collect::<Vec<ChangedCase>>();
        let mut in_subtree: HashMap<String, Vec<usize>> = HashMap::new();
        let mut own: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, case) in cases.iter().enumerate() {
            own.entry(case.region.clone()).or_default().push(i);
            for ancestor in regions.ancestors(&case.region) {
                in_subtree.entry(ancestor.to_owned()).or_default().push(i);
            }
        }
        Ok(Some(ChangedCases {
            cases,
            in_subtree,
            own,
        }))
    }

    /// The changes of these cases to `metric` over the period (or, with `comparison_period`,
    /// the comparison period) of the figure of `region` (its procuratorate's own records
    /// only, with `own_only`), at most [`MAX_DIFF_RECORDS`].
    fn records(
        &self,
        region: &str,
        own_only: bool,
        metric: usize,
        comparison_period: bool,
    ) -> Vec<RecordChange> {
        let value = |tally: &BucketTally| match comparison_period {
            false => tally.current.value(metric),
            true => tally.previous.value(metric),
        };
        let members = match own_only {
            true => self.own.get(region),
            false => self.in_subtree.get(region),
        };
        members
            .into_iter()
            .flatten()
            .map(|&i| &self.cases[i])
            .filter_map(|case| {
                let (released_value, live_value) = (value(&case.then), value(&case.now));
                (released_value != live_value).then(|| RecordChange {
                    case_id: case.id,
                    case_number: case.number.clone(),
                    released_value,
                    live_value,
                    revisions: case.revisions.clone(),
                })
            })
            .take(MAX_DIFF_RECORDS)
            .collect()
    }
}

/// The figures of `released` that differ in `now` (the live figures of the same rollup), each
/// with the records whose contribution changed since `released_at`: from `changed` when
/// given, else read for each figure.
async fn figure_changes(
    conn: &mut AsyncPgConnection,
    released: &Released,
    now: &FigureValues,
    released_at: &Moment,
    changed: Option<&ChangedCases>,
) -> Result<Vec<FigureChange>, ApiError> {
    let then = &released.values;
    let mut keys: Vec<&FigureKey> = then.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();

    let mut changes = Vec::new();
    for key in keys {
        let (old_value, old_previous) = then.get(key).copied().unwrap_or((0, None));
        let (new_value, new_previous) = now.get(key).copied().unwrap_or((0, None));
        let sides = [
            (false, old_value, new_value, Some(released.span)),
            (
                true,
                old_previous.unwrap_or(0),
                new_previous.unwrap_or(0),
                released.previous,
            ),
        ];
        for (comparison_period, old, new, side_span) in sides {
            let Some(side_span) = side_span else { continue };
            if old == new {
                continue;
            }
            let metric = metric::index_of(&key.metric)
                .ok_or_else(|| ApiError::Internal(format!("unknown metric {}", key.metric)))?;
            let region_code = key.region.trim_start_matches("regions/");
            let records = match changed {
                Some(changed) => {
                    changed.records(region_code, key.own_records_only, metric, comparison_period)
                }
                None => {
                    changed_records(
                        conn,
                        region_code,
                        key.own_records_only,
                        released_at,
                        metric,
                        side_span,
                    )
                    .await?
                }
            };
            changes.push(FigureChange {
                key: key.clone(),
                comparison_period,
                released_value: old,
                live_value: new,
                records,
            });
        }
    }
    Ok(changes)
}

/// The cases of a region's subtree (or own procuratorate) changed since `since` whose
/// contribution to `metric` over `span` changed, with their revisions since then.
async fn changed_records(
    conn: &mut AsyncPgConnection,
    region: &str,
    own_only: bool,
    since: &Moment,
    metric: usize,
    span: DateSpan,
) -> Result<Vec<RecordChange>, ApiError> {
    let revised =
        revisions::since_in_subtree(conn, region, own_only, since, MAX_DIFF_REVISIONS).await?;
    let mut by_case: BTreeMap<i64, (String, Vec<RevisionRow>)> = BTreeMap::new();
    for (revision, case_number) in revised {
        by_case
            .entry(revision.case_id)
            .or_insert_with(|| (case_number, Vec::new()))
            .1
            .push(revision);
    }
    let ids: Vec<i64> = by_case.keys().copied().collect();
    let states = history::then_and_now(conn, &ids, since).await?;
    let value =
        |state: Option<&Case>| state.map_or(0, |s| s.value_in(metric, span.start, span.end));
    Ok(by_case
        .into_iter()
        .filter_map(|(case_id, (case_number, revisions))| {
            let (then, now) = states
                .get(&case_id)
                .map_or((None, None), |(t, n)| (t.as_ref(), n.as_ref()));
            let (released_value, live_value) = (value(then), value(now));
            (released_value != live_value).then_some(RecordChange {
                case_id,
                case_number,
                released_value,
                live_value,
                revisions,
            })
        })
        .take(MAX_DIFF_RECORDS)
        .collect())
}
