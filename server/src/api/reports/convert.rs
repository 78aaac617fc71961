//! Conversions between the report service's domain results and `procura.v1` messages.
//!
//! A release's rollup is stored as its proto encoding, so freezing a rollup ([`freeze`]) and
//! reading one back ([`released`]) happen here, in the api layer.

use std::collections::HashMap;

use procura_proto::v1 as pb;
use prost::Message;

use crate::api::convert::date;
use crate::api::convert::{revision, timestamp};
use crate::db::models::ReleaseRow;
use crate::domain::metric::{Indicator, METRICS, Tally, change_percent};
use crate::domain::names;
use crate::domain::period::DateSpan;
use crate::domain::region::{Level, RegionCode};
use crate::error::ApiError;
use crate::service::explanations::Explanation;
use crate::service::releases::{Diff, FigureKey, FigureValues, Frozen, Released};
use crate::service::rollups::Rollup;

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

fn indicator(indicator: &Indicator) -> pb::Indicator {
    pb::Indicator {
        id: indicator.id.to_owned(),
        label: indicator.label.to_owned(),
        numerator: indicator.numerator,
        denominator: indicator.denominator,
        percent: indicator.percent(),
    }
}

/// A rollup message.
pub fn rollup(rollup: &Rollup) -> pb::Rollup {
    let compare = rollup.compares();
    let figures_of = |tally: &crate::domain::metric::BucketTally| {
        figures(&tally.current, compare.then_some(&tally.previous))
    };
    pb::Rollup {
        region: rollup.region.name(),
        display_name: rollup.display_name.clone(),
        period: Some(date_range(rollup.span)),
        comparison_period: rollup.previous.map(date_range),
        figures: figures_of(&rollup.total),
        rows: rollup
            .rows
            .iter()
            .map(|row| pb::RollupRow {
                region: format!("regions/{}", row.code),
                display_name: row.display_name.clone(),
                own_records_only: row.own_records_only,
                figures: figures_of(&row.tally),
            })
            .collect(),
        breakdown: rollup.breakdown.map_or(0, |l| i32::from(l.number())),
        as_of: Some(timestamp(rollup.as_of)),
        indicators: rollup.indicators.iter().map(indicator).collect(),
    }
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

/// `rollup` as a release stores it: its message with the qualifiers (`qualifiers` by metric
/// id for the totals, exact when not given, and exact for every row's figure), encoded, and
/// its canonical values.
pub fn freeze(rollup: &Rollup, qualifiers: &HashMap<String, i32>) -> Frozen {
    let mut message = self::rollup(rollup);
    let exact = pb::Qualifier::Exact as i32;
    for figure in &mut message.figures {
        figure.qualifier = qualifiers.get(&figure.metric).copied().unwrap_or(exact);
    }
    for row in &mut message.rows {
        for figure in &mut row.figures {
            figure.qualifier = exact;
        }
    }
    Frozen {
        canonical_values: canonical_values(&message),
        encoded: message.encode_to_vec(),
    }
}

/// The rollup message a release stores.
fn stored_rollup(row: &ReleaseRow) -> Result<pb::Rollup, ApiError> {
    pb::Rollup::decode(row.rollup.as_slice())
        .map_err(|e| ApiError::Internal(format!("release {} is unreadable: {e}", row.id)))
}

/// A release message, its rollup as stored.
pub fn release(row: ReleaseRow) -> Result<pb::Release, ApiError> {
    let rollup = stored_rollup(&row)?;
    Ok(pb::Release {
        name: format!("releases/{}", row.id),
        title: row.title,
        published_by: row.published_by,
        publish_time: Some(timestamp(row.publish_time)),
        rollup: Some(rollup),
        canonical_values: row.canonical_values,
        sha256: row.sha256,
    })
}

/// The values of a rollup message by figure.
fn values_by_region(rollup: &pb::Rollup) -> FigureValues {
    let key = |region: &String, own_records_only: bool, f: &pb::Figure| FigureKey {
        region: region.clone(),
        own_records_only,
        metric: f.metric.clone(),
    };
    let mut out = HashMap::new();
    for f in &rollup.figures {
        out.insert(key(&rollup.region, false, f), (f.value, f.previous_value));
    }
    for row in &rollup.rows {
        for f in &row.figures {
            out.insert(
                key(&row.region, row.own_records_only, f),
                (f.value, f.previous_value),
            );
        }
    }
    out
}

/// What release `row` froze, read back from its stored rollup.
pub fn released(row: &ReleaseRow) -> Result<Released, ApiError> {
    let rollup = stored_rollup(row)?;
    Ok(Released {
        region: RegionCode::from_name(&rollup.region).map_err(ApiError::Internal)?,
        span: span_of(rollup.period.as_ref())
            .ok_or_else(|| ApiError::Internal("release without period".into()))?,
        previous: span_of(rollup.comparison_period.as_ref()),
        breakdown: Level::from_number(rollup.breakdown),
        values: values_by_region(&rollup),
    })
}

/// A DiffRelease answer.
pub fn diff(diff: Diff) -> pb::DiffReleaseResponse {
    pb::DiffReleaseResponse {
        release: format!("releases/{}", diff.release.id),
        live_time: Some(timestamp(diff.live_as_of)),
        changes: diff
            .changes
            .into_iter()
            .map(|change| pb::FigureChange {
                region: change.key.region,
                metric: change.key.metric,
                released_value: change.released_value,
                live_value: change.live_value,
                records: change
                    .records
                    .into_iter()
                    .map(|record| pb::RecordChange {
                        case: names::case(record.case_id),
                        case_number: record.case_number,
                        released_value: record.released_value,
                        live_value: record.live_value,
                        revisions: record.revisions.into_iter().map(revision).collect(),
                    })
                    .collect(),
                comparison_period: change.comparison_period,
                own_records_only: change.key.own_records_only,
            })
            .collect(),
    }
}

/// An ExplainFigure answer, with the token of the next page.
pub fn explanation(explanation: Explanation, next_page_token: String) -> pb::ExplainFigureResponse {
    let def = METRICS[explanation.metric];
    pb::ExplainFigureResponse {
        figure: Some(pb::Figure {
            metric: def.id.to_owned(),
            label: def.label.to_owned(),
            unit: def.unit as i32,
            value: explanation.value,
            previous_value: None,
            change_percent: None,
            qualifier: 0,
        }),
        parts: explanation
            .parts
            .into_iter()
            .map(|part| pb::FigurePart {
                region: format!("regions/{}", part.code),
                display_name: part.display_name,
                own_records_only: part.own_records_only,
                value: part.value,
            })
            .collect(),
        cases: explanation
            .cases
            .into_iter()
            .map(|case| pb::CaseContribution {
                case: names::case(case.case_id),
                case_number: case.case_number,
                region: format!("regions/{}", case.region_code),
                value: case.value,
            })
            .collect(),
        next_page_token,
    }
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
}
