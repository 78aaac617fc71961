//! `procura.v1.ReportService`: regional rollups with year-on-year change.

use std::collections::HashMap;

use procura_proto::v1::{self as pb, report_service_server::ReportService};
use tonic::{Request, Response, Status};

use super::{AppState, existing_region};
use crate::db::{regions, rollup};
use crate::domain::date;
use crate::domain::metric::{METRICS, Tally, change_percent};
use crate::domain::period::{DateSpan, Period};
use crate::domain::region::{Level, RegionCode};
use crate::error::{ApiError, Violations};

/// Serves rollups.
pub struct ReportApi {
    state: AppState,
}

impl ReportApi {
    /// A service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The period a request asks for, validated.
pub fn period(period: Option<&pb::Period>, v: &mut Violations) -> Option<Period> {
    use pb::period::Kind;
    match period.and_then(|p| p.kind.as_ref()) {
        None => {
            v.add(
                "period",
                "is required: give a year, quarter, month or range of days",
            );
            None
        }
        Some(Kind::Year(year)) => v.check("period.year", Period::year(*year)),
        Some(Kind::Quarter(q)) => v.check("period.quarter", Period::quarter(q.year, q.quarter)),
        Some(Kind::Month(m)) => v.check("period.month", Period::month(m.year, m.month)),
        Some(Kind::Range(range)) => {
            let start = v.check("period.range.start", date::required(range.start.as_ref()));
            let end = v.check("period.range.end", date::required(range.end.as_ref()));
            match (start, end) {
                (Some(start), Some(end)) => v.check("period.range", Period::range(start, end)),
                _ => None,
            }
        }
    }
}

fn date_range(span: DateSpan) -> pb::DateRange {
    pb::DateRange {
        start: Some(date::to_proto(span.start)),
        end: Some(date::to_proto(span.end)),
    }
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
            }
        })
        .collect()
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    #[tracing::instrument(skip_all, fields(region = %request.get_ref().region))]
    async fn get_rollup(
        &self,
        request: Request<pb::GetRollupRequest>,
    ) -> Result<Response<pb::GetRollupResponse>, Status> {
        let request = request.into_inner();
        let mut v = Violations::new();
        let code = v.check("region", RegionCode::from_name(&request.region));
        let period = period(request.period.as_ref(), &mut v);
        let breakdown = match request.breakdown {
            0 => Some(None),
            n => v.check(
                "breakdown",
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
                    "comparison",
                    format!("{} is not a known comparison", request.comparison),
                );
                None
            }
        };
        v.finish()?;
        let (Some(code), Some(period), Some(breakdown), Some(compare)) =
            (code, period, breakdown, compare)
        else {
            return Err(ApiError::Internal("validation passed without values".into()).into());
        };

        let mut conn = self.state.conn().await?;
        let region = existing_region(&mut conn, &code).await?;
        if let Some(level) = breakdown {
            if level.number() <= region.level {
                return Err(ApiError::invalid(
                    "breakdown",
                    format!(
                        "{} is not below the level of {} ({})",
                        level.as_str(),
                        code.name(),
                        region.name
                    ),
                )
                .into());
            }
        }
        let bucket_level = breakdown.map_or(region.level + 1, Level::number);
        let span = period.span();
        let previous_span = period.year_earlier().span();
        let buckets = rollup::by_bucket(
            &mut conn,
            rollup::RollupQuery {
                region: code.as_str(),
                period: span,
                previous: if compare { previous_span } else { span },
                bucket_level,
            },
        )
        .await
        .map_err(ApiError::from)?;

        let mut total = rollup::BucketTally::default();
        for bucket in buckets.values() {
            total.current.merge(&bucket.current);
            total.previous.merge(&bucket.previous);
        }
        let rows = match breakdown {
            None => Vec::new(),
            Some(level) => {
                let codes: Vec<String> = buckets.keys().cloned().collect();
                let found: HashMap<String, (String, i16)> = regions::find_many(&mut conn, &codes)
                    .await
                    .map_err(ApiError::from)?
                    .into_iter()
                    .map(|r| (r.code, (r.name, r.level)))
                    .collect();
                buckets
                    .iter()
                    .filter(|(_, tally)| {
                        !tally.current.is_empty() || (compare && !tally.previous.is_empty())
                    })
                    .map(|(bucket, tally)| {
                        let (name, bucket_level) = found.get(bucket).cloned().unwrap_or_default();
                        pb::RollupRow {
                            region: format!("regions/{bucket}"),
                            display_name: name,
                            own_records_only: bucket_level < level.number(),
                            figures: figures(&tally.current, compare.then_some(&tally.previous)),
                        }
                    })
                    .collect()
            }
        };
        Ok(Response::new(pb::GetRollupResponse {
            rollup: Some(pb::Rollup {
                region: code.name(),
                display_name: region.name,
                period: Some(date_range(span)),
                comparison_period: compare.then(|| date_range(previous_span)),
                figures: figures(&total.current, compare.then_some(&total.previous)),
                rows,
                breakdown: breakdown.map_or(0, |l| i32::from(l.number())),
            }),
        }))
    }
}
