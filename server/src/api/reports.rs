//! `procura.v1.ReportService`: regional rollups with year-on-year change, releases frozen as
//! published, their differences from the live figures, and drill-down to the records.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use procura_proto::v1::{self as pb, report_service_server::ReportService};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use super::convert::date;
use super::{AppState, actor, convert, existing_region, pagination, validate};
use crate::db::models::{NewRelease, RegionRow, ReleaseRow};
use crate::db::{history, releases, revisions, rollup, snapshot, totals};
use crate::domain::metric::{self, BucketTally, METRICS, Tally, change_percent};
use crate::domain::period::{DateSpan, Period};
use crate::domain::region::{Level, RegionCode};
use crate::error::{ApiError, Violations};

/// Longest release title.
const MAX_TITLE: usize = 200;
/// Most records named per changed figure in a diff.
const MAX_DIFF_RECORDS: usize = 50;
/// Most revisions read per changed figure in a diff.
const MAX_DIFF_REVISIONS: i64 = 2_000;

/// Serves rollups, releases and drill-downs.
pub struct ReportApi {
    state: AppState,
}

impl ReportApi {
    /// A service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The period a request asks for, validated, naming fields under `prefix`.
pub fn period(period: Option<&pb::Period>, prefix: &str, v: &mut Violations) -> Option<Period> {
    use pb::period::Kind;
    let field = |name: &str| format!("{prefix}{name}");
    match period.and_then(|p| p.kind.as_ref()) {
        None => {
            v.add(
                field("period"),
                "is required: give a year, quarter, month or range of days",
            );
            None
        }
        Some(Kind::Year(year)) => v.check(&field("period.year"), Period::year(*year)),
        Some(Kind::Quarter(q)) => {
            v.check(&field("period.quarter"), Period::quarter(q.year, q.quarter))
        }
        Some(Kind::Month(m)) => v.check(&field("period.month"), Period::month(m.year, m.month)),
        Some(Kind::Range(range)) => {
            let start = v.check(
                &field("period.range.start"),
                date::required(range.start.as_ref()),
            );
            let end = v.check(
                &field("period.range.end"),
                date::required(range.end.as_ref()),
            );
            match (start, end) {
                (Some(start), Some(end)) => {
                    v.check(&field("period.range"), Period::range(start, end))
                }
                _ => None,
            }
        }
    }
}

/// An optional moment in the past.
fn as_of(time: Option<&prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, String> {
    let Some(time) = time else {
        return Ok(None);
    };
    let moment = u32::try_from(time.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(time.seconds, nanos))
        .ok_or_else(|| "is not a valid timestamp".to_owned())?;
    if moment > Utc::now() {
        Err(format!("{moment} is in the future"))
    } else {
        Ok(Some(moment))
    }
}

fn date_range(span: DateSpan) -> pb::DateRange {
    pb::DateRange {
        start: Some(date::to_proto(span.start)),
        end: Some(date::to_proto(span.end)),
    }
}

fn span_of(range: Option<&pb::DateRange>) -> Option<DateSpan> {
    let range = range?;
    Some(DateSpan {
        start: date::from_proto(range.start.as_ref()?).ok()?,
        end: date::from_proto(range.end.as_ref()?).ok()?,
    })
}

/// The index of a metric id.
fn metric_index(id: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.id == id)
}

/// The figures of `current` against `previous` (absent without comparison).
pub fn figures(current: &Tally, previous: Option<&Tally>) -> Vec<pb::Figure> {
    METRICS
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let value = current.value(i);
            let previous_value = previous.map(|p| p.value(i));
            pb::Figure {
                metric: def.id.to_owned(),
                label: def.label.to_owned(),
                unit: def.unit as i32,
                value,
                previous_value,
                change_percent: previous_value.and_then(|p| change_percent(value, p)),
                qualifier: 0,
            }
        })
        .collect()
}

fn indicator(id: &str, label: &str, numerator: i64, denominator: i64) -> pb::Indicator {
    pb::Indicator {
        id: id.to_owned(),
        label: label.to_owned(),
        numerator,
        denominator,
        percent: (denominator != 0).then(|| numerator as f64 / denominator as f64 * 100.0),
    }
}

/// The indicators of a subtree's figures, with the pending cases by age class.
fn indicators(total: &Tally, pending: [i64; 4]) -> Vec<pb::Indicator> {
    let adopted: i64 = (1..=6)
        .filter_map(metric::measure_kind_adopted)
        .map(|i| total.value(i))
        .sum();
    let all_pending: i64 = pending.iter().sum();
    let mut out = vec![
        indicator(
            "adoption_rate",
            "Adoption rate of measures (采纳率)",
            adopted,
            total.value(metric::index::MEASURES_TOTAL),
        ),
        indicator(
            "resolution_rate",
            "Disputes resolved per case concluded (化解率)",
            total.value(metric::index::RESOLUTIONS_TOTAL),
            total.value(metric::index::CASES_CONCLUDED),
        ),
    ];
    for ((id, label), count) in metric::PENDING_AGES.iter().zip(pending) {
        out.push(indicator(id, label, count, all_pending));
    }
    out
}

/// A rollup to compute, validated.
struct RollupSpec {
    region: RegionCode,
    region_row: RegionRow,
    span: DateSpan,
    previous: Option<DateSpan>,
    breakdown: Option<Level>,
    as_of: Option<DateTime<Utc>>,
    indicators: bool,
}

/// Validates a GetRollupRequest (fields named under `prefix`) and looks up its region.
async fn rollup_spec(
    conn: &mut AsyncPgConnection,
    request: &pb::GetRollupRequest,
    prefix: &str,
    v: &mut Violations,
) -> Result<Option<RollupSpec>, ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    let code = v.check(&field("region"), RegionCode::from_name(&request.region));
    let period = period(request.period.as_ref(), prefix, v);
    let breakdown = match request.breakdown {
        0 => Some(None),
        n => v.check(
            &field("breakdown"),
            Level::from_number(n)
                .map(Some)
                .ok_or_else(|| format!("{n} is not a region level")),
        ),
    };
    let compare = match pb::Comparison::try_from(request.comparison) {
        Ok(pb::Comparison::Unspecified | pb::Comparison::PreviousYear) => Some(true),
        Ok(pb::Comparison::None) => Some(false),
        Err(_) => {
            v.add(
                field("comparison"),
                format!("{} is not a known comparison", request.comparison),
            );
            None
        }
    };
    let moment = v.check(&field("as_of"), as_of(request.as_of.as_ref()));
    let (Some(code), Some(period), Some(breakdown), Some(compare), Some(moment)) =
        (code, period, breakdown, compare, moment)
    else {
        return Ok(None);
    };
    if !v.is_empty() {
        return Ok(None);
    }
    let region_row = existing_region(conn, &code).await?;
    if let Some(level) = breakdown
        && level.number() <= region_row.level
    {
        v.add(
            field("breakdown"),
            format!(
                "{} is not below the level of {} ({})",
                level.as_str(),
                code.name(),
                region_row.name
            ),
        );
        return Ok(None);
    }
    Ok(Some(RollupSpec {
        region: code,
        region_row,
        span: period.span(),
        previous: compare.then(|| period.year_earlier().span()),
        breakdown,
        as_of: moment,
        indicators: request.include_indicators,
    }))
}

/// The figures of a subtree per bucket region, from the kept totals (now) or rebuilt from
/// the records and their revisions (as of a past moment), and the moment they reflect. Reads
/// several statements: call it in a [`snapshot!`](crate::db::snapshot).
async fn bucket_figures(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    region: &str,
    bucket_level: i16,
    span: DateSpan,
    previous: DateSpan,
    moment: Option<DateTime<Utc>>,
) -> Result<(BTreeMap<String, BucketTally>, DateTime<Utc>), ApiError> {
    match moment {
        None => {
            let q = rollup::RollupQuery {
                region,
                period: span,
                previous,
                bucket_level,
            };
            let fine: Vec<(&str, &str, i16)> = state
                .regions
                .subtree(region)
                .into_iter()
                .map(|code| {
                    (
                        code,
                        state.regions.bucket_of(code, bucket_level),
                        totals::SCOPE_OWN,
                    )
                })
                .collect();
            // The nation counted by province (or in all): year and month buckets come from the
            // provinces' subtree rows and the national procuratorate's own.
            let plan = if region == crate::domain::region::NATIONAL && bucket_level <= 2 {
                let subtrees = state
                    .regions
                    .subtree(region)
                    .into_iter()
                    .filter(|code| state.regions.get(code).is_some_and(|n| n.level == 2))
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
            };
            // The moment the caller's snapshot reflects: the start of its transaction.
            use diesel_async::RunQueryDsl;
            let now: DateTime<Utc> =
                diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"))
                    .get_result(conn)
                    .await?;
            Ok((totals::by_bucket(conn, q, &plan).await?, now))
        }
        Some(time) => {
            let mut buckets: BTreeMap<String, BucketTally> = BTreeMap::new();
            history::for_each_state(
                conn,
                history::Scope::Subtree(region),
                Some(time),
                0,
                |_, case| {
                    let bucket = state
                        .regions
                        .bucket_of(case.region_code.as_str(), bucket_level);
                    buckets
                        .entry(bucket.to_owned())
                        .or_default()
                        .add_state(case, span, previous);
                    true
                },
            )
            .await?;
            Ok((buckets, time))
        }
    }
}

/// Pending cases by age class at `end`, now or as of a moment.
async fn pending(
    conn: &mut AsyncPgConnection,
    region: &str,
    end: chrono::NaiveDate,
    moment: Option<DateTime<Utc>>,
) -> Result<[i64; 4], ApiError> {
    let mut classes = [0i64; 4];
    match moment {
        None => {
            for (accepted_on, count) in rollup::pending_by_acceptance(conn, region, end).await? {
                classes[metric::pending_age(accepted_on, end)] += count;
            }
        }
        Some(time) => {
            history::for_each_state(
                conn,
                history::Scope::Subtree(region),
                Some(time),
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

/// Computes a rollup in one snapshot (see [`snapshot!`](crate::db::snapshot)).
async fn compute_in_snapshot(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    spec: &RollupSpec,
) -> Result<pb::Rollup, ApiError> {
    snapshot!(conn, ApiError, |conn| compute(state, conn, spec).await)
}

/// Computes a rollup: several statements, so in the caller's snapshot.
async fn compute(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    spec: &RollupSpec,
) -> Result<pb::Rollup, ApiError> {
    let bucket_level = spec
        .breakdown
        .map_or(spec.region_row.level + 1, Level::number);
    let previous = spec.previous.unwrap_or(spec.span);
    let (buckets, moment) = bucket_figures(
        state,
        conn,
        spec.region.as_str(),
        bucket_level,
        spec.span,
        previous,
        spec.as_of,
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
            .iter()
            .filter(|(_, t)| !t.current.is_empty() || (compare && !t.previous.is_empty()))
            .map(|(code, t)| {
                let node = state.regions.get(code);
                pb::RollupRow {
                    region: format!("regions/{code}"),
                    display_name: node.map(|n| n.name.clone()).unwrap_or_default(),
                    own_records_only: node.is_some_and(|n| n.level < level.number()),
                    figures: figures(&t.current, compare.then_some(&t.previous)),
                }
            })
            .collect(),
    };
    let indicators = if spec.indicators {
        let classes = pending(conn, spec.region.as_str(), spec.span.end, spec.as_of).await?;
        indicators(&total.current, classes)
    } else {
        Vec::new()
    };
    Ok(pb::Rollup {
        region: spec.region.name(),
        display_name: spec.region_row.name.clone(),
        period: Some(date_range(spec.span)),
        comparison_period: spec.previous.map(date_range),
        figures: figures(&total.current, compare.then_some(&total.previous)),
        rows,
        breakdown: spec.breakdown.map_or(0, |l| i32::from(l.number())),
        as_of: Some(convert::timestamp(moment)),
        indicators,
    })
}

/// The canonical encoding of a rollup's values that a release's SHA-256 is taken over.
pub fn canonical_values(rollup: &pb::Rollup) -> String {
    let qualifier = |q: i32| match pb::Qualifier::try_from(q) {
        Ok(pb::Qualifier::MoreThan) => "more_than",
        Ok(pb::Qualifier::Exact) => "exact",
        _ => "",
    };
    let mut out = String::new();
    let sections = std::iter::once((&rollup.region, &rollup.figures))
        .chain(rollup.rows.iter().map(|row| (&row.region, &row.figures)));
    for (region, figures) in sections {
        for f in figures {
            let previous = f.previous_value.map(|p| p.to_string()).unwrap_or_default();
            out.push_str(&format!(
                "{region}\t{}\t{}\t{previous}\t{}\n",
                f.metric,
                f.value,
                qualifier(f.qualifier)
            ));
        }
    }
    out
}

fn release_message(row: ReleaseRow) -> Result<pb::Release, ApiError> {
    let rollup = pb::Rollup::decode(row.rollup.as_slice())
        .map_err(|e| ApiError::Internal(format!("release {} is unreadable: {e}", row.id)))?;
    Ok(pb::Release {
        name: format!("releases/{}", row.id),
        title: row.title,
        published_by: row.published_by,
        publish_time: Some(convert::timestamp(row.publish_time)),
        rollup: Some(rollup),
        canonical_values: row.canonical_values,
        sha256: row.sha256,
    })
}

fn parse_release(name: &str) -> Result<i64, String> {
    name.strip_prefix("releases/")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            if name.is_empty() {
                "is required, e.g. releases/1".to_owned()
            } else {
                format!("`{name}` is not a name of the form releases/1")
            }
        })
}

/// The values of a rollup by (region, own records only, metric): (value, previous value).
/// The totals are keyed by the rollup's region, not own records only.
fn values_by_region(rollup: &pb::Rollup) -> HashMap<(String, bool, String), (i64, Option<i64>)> {
    let mut out = HashMap::new();
    for f in &rollup.figures {
        out.insert(
            (rollup.region.clone(), false, f.metric.clone()),
            (f.value, f.previous_value),
        );
    }
    for row in &rollup.rows {
        for f in &row.figures {
            out.insert(
                (row.region.clone(), row.own_records_only, f.metric.clone()),
                (f.value, f.previous_value),
            );
        }
    }
    out
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn get_rollup(
        &self,
        request: Request<pb::GetRollupRequest>,
    ) -> Result<Response<pb::GetRollupResponse>, Status> {
        let request = request.into_inner();
        let mut conn = self.state.conn().await?;
        let mut v = Violations::new();
        let spec = rollup_spec(&mut conn, &request, "", &mut v).await?;
        v.finish()?;
        let spec = spec.ok_or_else(|| ApiError::Internal("no rollup".into()))?;
        let rollup = compute_in_snapshot(&self.state, &mut conn, &spec).await?;
        Ok(Response::new(pb::GetRollupResponse {
            rollup: Some(rollup),
        }))
    }

    #[tracing::instrument(skip_all, fields(title = %request.get_ref().title))]
    async fn publish_rollup(
        &self,
        request: Request<pb::PublishRollupRequest>,
    ) -> Result<Response<pb::PublishRollupResponse>, Status> {
        let publisher = actor(&request);
        let request = request.into_inner();
        let mut conn = self.state.conn().await?;
        let mut v = Violations::new();
        let title = v
            .check("title", validate::text(&request.title, MAX_TITLE, true))
            .unwrap_or_default();
        for (metric, qualifier) in &request.qualifiers {
            if metric_index(metric).is_none() {
                v.add(
                    format!("qualifiers[{metric}]"),
                    format!("`{metric}` is not a metric of a rollup"),
                );
            } else if !matches!(
                pb::Qualifier::try_from(*qualifier),
                Ok(pb::Qualifier::Exact | pb::Qualifier::MoreThan)
            ) {
                v.add(
                    format!("qualifiers[{metric}]"),
                    "must be QUALIFIER_EXACT or QUALIFIER_MORE_THAN",
                );
            }
        }
        let request_id = v.check("request_id", validate::request_id(&request.request_id));
        let spec = match &request.rollup {
            Some(rollup) => rollup_spec(&mut conn, rollup, "rollup.", &mut v).await?,
            None => {
                v.add("rollup", "is required: the region and period to publish");
                None
            }
        };
        v.finish()?;
        let (Some(spec), Some(request_id)) = (spec, request_id) else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        if let Some(request_id) = request_id
            && let Some(row) = releases::find_by_request_id(&mut conn, request_id)
                .await
                .map_err(ApiError::from)?
        {
            return Ok(Response::new(pb::PublishRollupResponse {
                release: Some(release_message(row)?),
            }));
        }
        let mut rollup = compute_in_snapshot(&self.state, &mut conn, &spec).await?;
        let exact = pb::Qualifier::Exact as i32;
        for figure in &mut rollup.figures {
            figure.qualifier = request
                .qualifiers
                .get(&figure.metric)
                .copied()
                .unwrap_or(exact);
        }
        for row in &mut rollup.rows {
            for figure in &mut row.figures {
                figure.qualifier = exact;
            }
        }
        let moment = rollup
            .as_of
            .as_ref()
            .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .ok_or_else(|| ApiError::Internal("rollup without as_of".into()))?;
        let canonical = canonical_values(&rollup);
        let digest: String = Sha256::digest(canonical.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let row = releases::insert(
            &mut conn,
            &NewRelease {
                title,
                published_by: publisher,
                as_of: moment,
                rollup: rollup.encode_to_vec(),
                canonical_values: canonical,
                sha256: digest,
                request_id,
            },
        )
        .await
        .map_err(ApiError::from)?;
        tracing::info!(release = row.id, sha256 = %row.sha256, "rollup published");
        Ok(Response::new(pb::PublishRollupResponse {
            release: Some(release_message(row)?),
        }))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn get_release(
        &self,
        request: Request<pb::GetReleaseRequest>,
    ) -> Result<Response<pb::GetReleaseResponse>, Status> {
        let request = request.into_inner();
        let id = parse_release(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        let mut conn = self.state.conn().await?;
        let row = releases::find(&mut conn, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound {
                reason: "RELEASE_NOT_FOUND",
                resource: request.name.clone(),
            })?;
        Ok(Response::new(pb::GetReleaseResponse {
            release: Some(release_message(row)?),
        }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_releases(
        &self,
        request: Request<pb::ListReleasesRequest>,
    ) -> Result<Response<pb::ListReleasesResponse>, Status> {
        let request = request.into_inner();
        let mut v = Violations::new();
        let page_size = v.check(
            "page_size",
            pagination::page_size(request.page_size, 20, 100),
        );
        let print = pagination::fingerprint(&["releases"]);
        let before = v
            .check(
                "page_token",
                pagination::decode_number::<i64>(&request.page_token, &print),
            )
            .flatten();
        v.finish()?;
        let page_size = page_size.unwrap_or(20);
        let mut conn = self.state.conn().await?;
        let mut rows = releases::list(&mut conn, before, page_size + 1)
            .await
            .map_err(ApiError::from)?;
        let has_more = rows.len() as i64 > page_size;
        rows.truncate(page_size as usize);
        let next_page_token = match rows.last() {
            Some(last) if has_more => pagination::encode(&print, &last.id.to_string()),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListReleasesResponse {
            releases: rows
                .into_iter()
                .map(release_message)
                .collect::<Result<_, _>>()?,
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(name = %request.get_ref().name))]
    async fn diff_release(
        &self,
        request: Request<pb::DiffReleaseRequest>,
    ) -> Result<Response<pb::DiffReleaseResponse>, Status> {
        let request = request.into_inner();
        let id = parse_release(&request.name).map_err(|e| ApiError::invalid("name", e))?;
        let mut conn = self.state.conn().await?;
        let row = releases::find(&mut conn, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound {
                reason: "RELEASE_NOT_FOUND",
                resource: request.name.clone(),
            })?;
        let released_at = row.as_of;
        let release = release_message(row)?;
        let released = release
            .rollup
            .ok_or_else(|| ApiError::Internal("release without rollup".into()))?;
        let code = RegionCode::from_name(&released.region).map_err(ApiError::Internal)?;
        let span = span_of(released.period.as_ref())
            .ok_or_else(|| ApiError::Internal("release without period".into()))?;
        let spec = RollupSpec {
            region_row: existing_region(&mut conn, &code).await?,
            region: code,
            span,
            previous: span_of(released.comparison_period.as_ref()),
            breakdown: Level::from_number(released.breakdown),
            as_of: None,
            indicators: false,
        };
        let state = &self.state;
        let (live, changes) = snapshot!(conn, ApiError, |conn| {
            let live = compute(state, conn, &spec).await?;
            let changes = figure_changes(conn, &released, &live, &spec, released_at).await?;
            Ok((live, changes))
        })?;
        Ok(Response::new(pb::DiffReleaseResponse {
            release: release.name,
            live_time: live.as_of,
            changes,
        }))
    }

    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region, metric = %request.get_ref().metric))]
    async fn explain_figure(
        &self,
        request: Request<pb::ExplainFigureRequest>,
    ) -> Result<Response<pb::ExplainFigureResponse>, Status> {
        let request = request.into_inner();
        let mut conn = self.state.conn().await?;
        let mut v = Violations::new();
        let metric = metric_index(&request.metric);
        if metric.is_none() {
            v.add(
                "metric",
                format!(
                    "`{}` is not a metric of a rollup, e.g. measures.protest",
                    request.metric
                ),
            );
        }
        let page_size = v.check(
            "page_size",
            pagination::page_size(request.page_size, 50, 500),
        );
        let print = pagination::fingerprint(&[
            &request.region,
            &format!("{:?}", request.period),
            &request.metric,
            &format!("{:?}", request.as_of),
        ]);
        let after = v
            .check(
                "page_token",
                pagination::decode_number::<i64>(&request.page_token, &print),
            )
            .map(|after| after.unwrap_or(0));
        let rollup_request = pb::GetRollupRequest {
            region: request.region.clone(),
            period: request.period,
            breakdown: 0,
            comparison: pb::Comparison::None as i32,
            as_of: request.as_of,
            include_indicators: false,
        };
        let spec = rollup_spec(&mut conn, &rollup_request, "", &mut v).await?;
        v.finish()?;
        let (Some(spec), Some(metric), Some(page_size), Some(after)) =
            (spec, metric, page_size, after)
        else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };
        let region = spec.region.as_str();
        let state = &self.state;
        // The parts and the cases behind the own part, from the same moment.
        let (buckets, (cases, more)) = snapshot!(conn, ApiError, |conn| {
            let (buckets, _) = bucket_figures(
                state,
                conn,
                region,
                spec.region_row.level + 1,
                spec.span,
                spec.span,
                spec.as_of,
            )
            .await?;
            let cases = contributions(conn, region, &spec, metric, after, page_size).await?;
            Ok((buckets, cases))
        })?;
        let mut total = Tally::default();
        let mut parts = Vec::new();
        for (code, tally) in &buckets {
            total.merge(&tally.current);
            let value = tally.current.value(metric);
            if value != 0 {
                parts.push(pb::FigurePart {
                    region: format!("regions/{code}"),
                    display_name: self
                        .state
                        .regions
                        .get(code)
                        .map(|n| n.name.clone())
                        .unwrap_or_default(),
                    own_records_only: *code == region,
                    value,
                });
            }
        }
        let next_page_token = match cases.last() {
            Some(last) if more => {
                pagination::encode(&print, last.case.trim_start_matches("cases/"))
            }
            _ => String::new(),
        };
        let def = METRICS[metric];
        Ok(Response::new(pb::ExplainFigureResponse {
            figure: Some(pb::Figure {
                metric: def.id.to_owned(),
                label: def.label.to_owned(),
                unit: def.unit as i32,
                value: total.value(metric),
                previous_value: None,
                change_percent: None,
                qualifier: 0,
            }),
            parts,
            cases,
            next_page_token,
        }))
    }
}

/// A page of the cases of procuratorate `region` that contribute to `metric` over the span
/// of `spec` (as of its moment), after case id `after`: at most `page_size`, and whether
/// more follow.
async fn contributions(
    conn: &mut AsyncPgConnection,
    region: &str,
    spec: &RollupSpec,
    metric: usize,
    after: i64,
    page_size: i64,
) -> Result<(Vec<pb::CaseContribution>, bool), ApiError> {
    let mut cases = Vec::new();
    let mut more = false;
    history::for_each_state(
        conn,
        history::Scope::Own(region),
        spec.as_of,
        after,
        |id, case| {
            let value = case.value_in(metric, spec.span.start, spec.span.end);
            if value == 0 {
                return true;
            }
            if cases.len() as i64 == page_size {
                more = true;
                return false;
            }
            cases.push(pb::CaseContribution {
                case: crate::domain::names::case(id),
                case_number: case.case_number.clone(),
                region: format!("regions/{}", case.region_code),
                value,
            });
            true
        },
    )
    .await?;
    Ok((cases, more))
}

/// The figures of release `released` that differ in `live` (computed for `spec` now), each
/// with the records whose contribution changed since `released_at`.
async fn figure_changes(
    conn: &mut AsyncPgConnection,
    released: &pb::Rollup,
    live: &pb::Rollup,
    spec: &RollupSpec,
    released_at: DateTime<Utc>,
) -> Result<Vec<pb::FigureChange>, ApiError> {
    let then = values_by_region(released);
    let now = values_by_region(live);
    let mut keys: Vec<&(String, bool, String)> = then.keys().chain(now.keys()).collect();
    keys.sort();
    keys.dedup();

    let mut changes = Vec::new();
    for key in keys {
        let (old_value, old_previous) = then.get(key).copied().unwrap_or((0, None));
        let (new_value, new_previous) = now.get(key).copied().unwrap_or((0, None));
        let sides = [
            (false, old_value, new_value, Some(spec.span)),
            (
                true,
                old_previous.unwrap_or(0),
                new_previous.unwrap_or(0),
                spec.previous,
            ),
        ];
        for (comparison_period, old, new, side_span) in sides {
            let Some(side_span) = side_span else { continue };
            if old == new {
                continue;
            }
            let (region, own_records_only, metric_id) = key;
            let metric = metric_index(metric_id)
                .ok_or_else(|| ApiError::Internal(format!("unknown metric {metric_id}")))?;
            let region_code = region.trim_start_matches("regions/");
            let records = changed_records(
                conn,
                region_code,
                *own_records_only,
                released_at,
                metric,
                side_span,
            )
            .await?;
            changes.push(pb::FigureChange {
                region: region.clone(),
                metric: metric_id.clone(),
                released_value: old,
                live_value: new,
                records,
                comparison_period,
                own_records_only: *own_records_only,
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
    since: DateTime<Utc>,
    metric: usize,
    span: DateSpan,
) -> Result<Vec<pb::RecordChange>, ApiError> {
    let revised =
        revisions::since_in_subtree(conn, region, own_only, since, MAX_DIFF_REVISIONS).await?;
    let mut by_case: BTreeMap<i64, (String, Vec<pb::CaseRevision>)> = BTreeMap::new();
    for (revision, case_number) in revised {
        by_case
            .entry(revision.case_id)
            .or_insert_with(|| (case_number, Vec::new()))
            .1
            .push(convert::revision(revision));
    }
    let ids: Vec<i64> = by_case.keys().copied().collect();
    let then = history::states_of(conn, &ids, Some(since)).await?;
    let now = history::states_of(conn, &ids, None).await?;
    let value = |states: &HashMap<i64, Option<crate::domain::record::Case>>, id: i64| {
        states
            .get(&id)
            .and_then(Option::as_ref)
            .map_or(0, |s| s.value_in(metric, span.start, span.end))
    };
    Ok(by_case
        .into_iter()
        .filter_map(|(id, (case_number, revisions))| {
            let (released_value, live_value) = (value(&then, id), value(&now, id));
            (released_value != live_value).then(|| pb::RecordChange {
                case: crate::domain::names::case(id),
                case_number,
                released_value,
                live_value,
                revisions,
            })
        })
        .take(MAX_DIFF_RECORDS)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_values_list_every_figure_in_order() {
        let figure = |metric: &str, value: i64, previous: Option<i64>, qualifier: i32| pb::Figure {
            metric: metric.into(),
            value,
            previous_value: previous,
            qualifier,
            ..Default::default()
        };
        let rollup = pb::Rollup {
            region: "regions/000000".into(),
            figures: vec![
                figure("measures.protest", 380, Some(239), 1),
                figure("aid.grants", 6000, None, 2),
            ],
            rows: vec![pb::RollupRow {
                region: "regions/530000".into(),
                figures: vec![figure("measures.protest", 5, Some(0), 1)],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            canonical_values(&rollup),
            "regions/000000\tmeasures.protest\t380\t239\texact\n\
             regions/000000\taid.grants\t6000\t\tmore_than\n\
             regions/530000\tmeasures.protest\t5\t0\texact\n"
        );
    }

    #[test]
    fn release_names_parse() {
        assert_eq!(parse_release("releases/12"), Ok(12));
        assert!(parse_release("releases/x").is_err());
        assert!(parse_release("12").is_err());
        assert!(parse_release("").is_err());
    }
}
