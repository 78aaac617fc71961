//! GetRollup: a region's figures over a period, from the kept totals (now) or rebuilt from the
//! records and their revisions (as of a past moment), by bucket region, with the comparison
//! period and the indicators.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::models::RegionRow;
use crate::db::moments::{self, Moment};
use crate::db::{history, rollup, snapshot, totals};
use crate::domain::metric::{self, BucketTally, Indicator};
use crate::domain::period::{DateSpan, Period};
use crate::domain::region::{Level, NATIONAL, RegionCode, RegionTree};
use crate::error::ApiError;

/// A rollup asked for, validated.
#[derive(Debug, Clone)]
pub struct RollupRequest {
    /// The region whose subtree is counted.
    pub region: RegionCode,
    /// The period counted.
    pub period: Period,
    /// The level of the rows, none for the totals only.
    pub breakdown: Option<Level>,
    /// Whether to compare with the period a year earlier.
    pub compare: bool,
    /// A past moment to count as of; none for now.
    pub as_of: Option<DateTime<Utc>>,
    /// Whether to add the indicators.
    pub indicators: bool,
}

/// A rollup to compute: a request with its region looked up.
pub(crate) struct RollupSpec {
    pub(crate) region: RegionCode,
    pub(crate) region_row: RegionRow,
    pub(crate) span: DateSpan,
    pub(crate) previous: Option<DateSpan>,
    pub(crate) breakdown: Option<Level>,
    /// The moment asked for: the latest recorded at or before the time asked, none for now.
    pub(crate) as_of: Option<Moment>,
    pub(crate) indicators: bool,
}

impl RollupSpec {
    /// The rollup `request` asks for: its region must exist and its breakdown lie below the
    /// region's level (INVALID_ARGUMENT on `breakdown` otherwise).
    pub(crate) async fn new(
        conn: &mut AsyncPgConnection,
        request: &RollupRequest,
    ) -> Result<Self, ApiError> {
        let region_row = super::existing_region(conn, &request.region).await?;
        if let Some(level) = request.breakdown
            && level.number() <= region_row.level
        {
            return Err(ApiError::invalid(
                "breakdown",
                format!(
                    "{} is not below the level of {} ({})",
                    level.as_str(),
                    request.region.name(),
                    region_row.name
                ),
            ));
        }
        let as_of = match request.as_of {
            Some(time) => Some(moments::at(conn, time).await?),
            None => None,
        };
        Ok(RollupSpec {
            region: request.region.clone(),
            region_row,
            span: request.period.span(),
            previous: request
                .compare
                .then(|| request.period.year_earlier().span()),
            breakdown: request.breakdown,
            as_of,
            indicators: request.indicators,
        })
    }
}

/// One row of a rollup: the figures of a bucket region.
#[derive(Debug, Clone)]
pub struct RollupRow {
    /// The bucket region's code.
    pub code: String,
    /// Its name.
    pub display_name: String,
    /// Whether the row counts only the procuratorate's own records (a region above the
    /// breakdown level).
    pub own_records_only: bool,
    /// Its figures over the period and the comparison period.
    pub tally: BucketTally,
}

/// A computed rollup.
#[derive(Debug, Clone)]
pub struct Rollup {
    /// The region counted.
    pub region: RegionCode,
    /// Its name.
    pub display_name: String,
    /// The days counted.
    pub span: DateSpan,
    /// The days compared with, if any.
    pub previous: Option<DateSpan>,
    /// The figures of the whole subtree.
    pub total: BucketTally,
    /// The rows, empty without a breakdown.
    pub rows: Vec<RollupRow>,
    /// The level of the rows.
    pub breakdown: Option<Level>,
    /// The moment the figures reflect.
    pub as_of: DateTime<Utc>,
    /// What had been committed then (see [`Moment`]).
    pub moment: Moment,
    /// The indicators, if asked for.
    pub indicators: Vec<Indicator>,
}

impl Rollup {
    /// Whether the rollup compares with a year earlier.
    pub fn compares(&self) -> bool {
        self.previous.is_some()
    }
}

/// GetRollup: the rollup `request` asks for, computed in one snapshot.
pub async fn get(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    request: &RollupRequest,
) -> Result<Rollup, ApiError> {
    let spec = RollupSpec::new(conn, request).await?;
    let rollup = compute_in_snapshot(conn, regions, &spec).await?;
    if spec.as_of.is_none() {
        // So that asking again as of the moment this rollup reports gives its figures.
        moments::keep_if_free(conn, &rollup.moment).await;
    }
    Ok(rollup)
}

/// Computes a rollup in one snapshot (see [`snapshot!`](crate::db::snapshot)).
pub(crate) async fn compute_in_snapshot(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    spec: &RollupSpec,
) -> Result<Rollup, ApiError> {
    snapshot!(conn, ApiError, |conn| compute(conn, regions, spec).await)
}

/// Computes a rollup: several statements, so in the caller's snapshot.
pub(crate) async fn compute(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    spec: &RollupSpec,
) -> Result<Rollup, ApiError> {
    let bucket_level = spec
        .breakdown
        .map_or(spec.region_row.level + 1, Level::number);
    let previous = spec.previous.unwrap_or(spec.span);
    let (buckets, moment) = bucket_figures(
        conn,
        regions,
        spec.region.as_str(),
        bucket_level,
        spec.span,
        previous,
        spec.as_of.as_ref(),
    )
    .await?;
    let mut total = BucketTally::default();
    for bucket in buckets.values() {
        total.merge(bucket);
    }
    let compare = spec.previous.is_some();
    let rows = match spec.breakdown {
        None => Vec::new(),
        Some(level) => buckets
            .into_iter()
            .filter(|(_, t)| !t.current.is_empty() || (compare && !t.previous.is_empty()))
            .map(|(code, tally)| {
                let node = regions.get(&code);
                RollupRow {
                    display_name: node.map(|n| n.name.clone()).unwrap_or_default(),
                    own_records_only: node.is_some_and(|n| n.level < level.number()),
                    code,
                    tally,
                }
            })
            .collect(),
    };
    let indicators = if spec.indicators {
        let classes = pending(
            conn,
            spec.region.as_str(),
            spec.span.end,
            spec.as_of.as_ref(),
        )
        .await?;
        metric::indicators(&total.current, classes)
    } else {
        Vec::new()
    };
    Ok(Rollup {
        region: spec.region.clone(),
        display_name: spec.region_row.name.clone(),
        span: spec.span,
        previous: spec.previous,
        total,
        rows,
        breakdown: spec.breakdown,
        as_of: moment.time,
        moment,
        indicators,
    })
}

/// The totals rows a rollup of `region` by bucket level `bucket_level` reads.
fn read_plan<'a>(
    regions: &'a RegionTree,
    region: &'a str,
    bucket_level: i16,
) -> totals::ReadPlan<'a> {
    let fine: Vec<totals::Member<'a>> = regions
        .subtree(region)
        .into_iter()
        .map(|code| {
            (
                code,
                regions.bucket_of(code, bucket_level),
                totals::SCOPE_OWN,
            )
        })
        .collect();
    // The nation counted by province (or in all): year and month buckets come from the
    // provinces' subtree rows and the national procuratorate's own.
    if region == NATIONAL && bucket_level <= 2 {
        let subtrees = regions
            .subtree(region)
            .into_iter()
            .filter(|code| regions.get(code).is_some_and(|n| n.level == 2))
            .map(|code| (code, code, totals::SCOPE_PROVINCE))
            .collect();
        totals::ReadPlan {
            subtrees,
            coarse: Some(vec![(region, region, totals::SCOPE_OWN)]),
            fine,
        }
    } else {
        totals::ReadPlan {
            subtrees: Vec::new(),
            coarse: None,
            fine,
        }
    }
}

/// The figures of a subtree per bucket region, from the kept totals (now) or rebuilt from
/// the records and their revisions (as of a past moment), and the moment they reflect. Reads
/// several statements: call it in a [`snapshot!`](crate::db::snapshot).
pub(crate) async fn bucket_figures(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    region: &str,
    bucket_level: i16,
    span: DateSpan,
    previous: DateSpan,
    moment: Option<&Moment>,
) -> Result<(BTreeMap<String, BucketTally>, Moment), ApiError> {
    match moment {
        None => {
            let q = rollup::RollupQuery {
                region,
                period: span,
                previous,
                bucket_level,
            };
            let plan = read_plan(regions, region, bucket_level);
            // The moment the caller's snapshot reflects: the start of its transaction, and
            // its snapshot.
            let now = moments::of_transaction(conn).await?;
            Ok((totals::by_bucket(conn, q, &plan).await?, now))
        }
        Some(moment) => {
            let q = rollup::RollupQuery {
                region,
                period: span,
                previous,
                bucket_level,
            };
            if let Some(buckets) = live_less_since(conn, regions, q, moment).await? {
                return Ok((buckets, moment.clone()));
            }
            crate::metrics::as_of_rollup("records");
            let mut buckets: BTreeMap<String, BucketTally> = BTreeMap::new();
            history::for_each_state(
                conn,
                history::Scope::Subtree(region),
                Some(moment),
                0,
                |_, case| {
                    let bucket = regions.bucket_of(case.region_code.as_str(), bucket_level);
                    buckets
                        .entry(bucket.to_owned())
                        .or_default()
                        .add_state(case, span, previous);
                    true
                },
            )
            .await?;
            Ok((buckets, moment.clone()))
        }
    }
}

/// Most cases changed since a moment for [`live_less_since`] to take their changes back from
/// the live figures (beyond it the records are rebuilt as they stood), and for a diff to read
/// them all at once.
pub(crate) const MOST_CHANGED_SINCE: i64 = 50_000;

/// The figures as of `moment`, as the live figures (the kept totals, in the caller's
/// snapshot) less what changed since then: the changes logged to the rows read when all of
/// them are logged ([`totals::logged_since`]: national rollups over whole months), or else
/// what the cases changed since then added (each such case's contribution now taken away and
/// its contribution then added back). So the work depends on the regions, the period and the
/// changes since the moment, not on the number of records. `None` when the moment has no
/// snapshot (recorded before migration 000011) or, without the log, more than
/// [`MOST_CHANGED_SINCE`] cases changed since (in any region).
async fn live_less_since(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    q: rollup::RollupQuery<'_>,
    moment: &Moment,
) -> Result<Option<BTreeMap<String, BucketTally>>, ApiError> {
    let plan = read_plan(regions, q.region, q.bucket_level);
    if let Some(snapshot) = &moment.snapshot
        && let Some(since) = totals::logged_since(conn, q, &plan, snapshot).await?
    {
        let mut buckets = totals::by_bucket(conn, q, &plan).await?;
        for (region, tally) in since {
            buckets.entry(region).or_default().take_away(&tally);
        }
        crate::metrics::as_of_rollup("totals_log");
        return Ok(Some(buckets));
    }
    let Some(changed) =
        history::changed_since(conn, regions, q.region, moment, MOST_CHANGED_SINCE).await?
    else {
        return Ok(None);
    };
    crate::metrics::as_of_rollup("changed_cases");
    let mut buckets = totals::by_bucket(conn, q, &plan).await?;
    if changed.is_empty() {
        return Ok(Some(buckets));
    }
    let states = history::then_and_now(conn, &changed, moment).await?;
    let bucket = |case: &crate::domain::record::Case| {
        regions
            .bucket_of(case.region_code.as_str(), q.bucket_level)
            .to_owned()
    };
    for (then, now) in states.values() {
        if let Some(case) = now {
            buckets
                .entry(bucket(case))
                .or_default()
                .remove_state(case, q.period, q.previous);
        }
        if let Some(case) = then {
            buckets
                .entry(bucket(case))
                .or_default()
                .add_state(case, q.period, q.previous);
        }
    }
    Ok(Some(buckets))
}

/// Pending cases by age class at `end`, now or as of a moment: from the kept counts where
/// they tell ([`totals::pending_by_age`]: the nation's, at a month's last day), else from the
/// records.
async fn pending(
    conn: &mut AsyncPgConnection,
    region: &str,
    end: NaiveDate,
    moment: Option<&Moment>,
) -> Result<[i64; 4], ApiError> {
    let snapshot = moment.and_then(|m| m.snapshot.as_deref());
    if moment.is_none_or(|m| m.snapshot.is_some())
        && let Some(classes) = totals::pending_by_age(conn, region, end, snapshot).await?
    {
        crate::metrics::pending_counted("kept_counts");
        return Ok(classes);
    }
    crate::metrics::pending_counted("records");
    let mut classes = [0i64; 4];
    match moment {
        None => {
            for (accepted_on, count) in rollup::pending_by_acceptance(conn, region, end).await? {
                classes[metric::pending_age(accepted_on, end)] += count;
            }
        }
        Some(moment) => {
            history::for_each_state(
                conn,
                history::Scope::Subtree(region),
                Some(moment),
                0,
                |_, c| {
                    if c.pending_on(end) {
                        classes[metric::pending_age(c.accepted_on, end)] += 1;
                    }
                    true
                },
            )
            .await?;
        }
    }
    Ok(classes)
}
