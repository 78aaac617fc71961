//! Validation of the report service's requests into typed commands: each validator gives its
//! command or every violation it found, with the field path of each.

use chrono::{DateTime, Utc};
use procura_proto::v1 as pb;

use crate::api::convert::date;
use crate::api::{pagination, validate};
use crate::domain::metric;
use crate::domain::period::Period;
use crate::domain::region::{Level, RegionCode};
use crate::domain::text;
use crate::error::FieldViolation;
use crate::service::explanations::ExplainRequest;
use crate::service::releases::PublishRequest;
use crate::service::rollups::RollupRequest;

/// Longest release title.
const MAX_TITLE: usize = 200;

/// What a validator gives: its value, or every violation it found.
pub type Checked<T> = Result<T, Vec<FieldViolation>>;

/// `result` with its error as the violation of `field`.
fn at<T>(field: impl Into<String>, result: Result<T, String>) -> Checked<T> {
    result.map_err(|description| {
        vec![FieldViolation {
            field: field.into(),
            description,
        }]
    })
}

/// The values of several [`Checked`] results as a tuple, or the violations of all that failed,
/// in the order given.
macro_rules! all {
    ($($r:ident),+ $(,)?) => {
        match ($($r,)+) {
            ($(Ok($r),)+) => Ok(($($r,)+)),
            ($($r,)+) => {
                let mut found = Vec::new();
                $(if let Err(violations) = $r {
                    found.extend(violations);
                })+
                Err(found)
            }
        }
    };
}

/// The period a request asks for, naming fields under `prefix`.
pub fn period(period: Option<&pb::Period>, prefix: &str) -> Checked<Period> {
    use pb::period::Kind;
    let field = |name: &str| format!("{prefix}{name}");
    match period.and_then(|p| p.kind.as_ref()) {
        None => at(
            field("period"),
            Err("is required: give a year, quarter, month or range of days".to_owned()),
        ),
        Some(Kind::Year(year)) => at(field("period.year"), Period::year(*year)),
        Some(Kind::Quarter(q)) => at(field("period.quarter"), Period::quarter(q.year, q.quarter)),
        Some(Kind::Month(m)) => at(field("period.month"), Period::month(m.year, m.month)),
        Some(Kind::Range(range)) => {
            let start = at(
                field("period.range.start"),
                date::required(range.start.as_ref()),
            );
            let end = at(
                field("period.range.end"),
                date::required(range.end.as_ref()),
            );
            let (start, end) = all!(start, end)?;
            at(field("period.range"), Period::range(start, end))
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

/// A GetRollupRequest, naming fields under `prefix`.
pub fn rollup(request: &pb::GetRollupRequest, prefix: &str) -> Checked<RollupRequest> {
    let field = |name: &str| format!("{prefix}{name}");
    let region = at(field("region"), RegionCode::from_name(&request.region));
    let period = period(request.period.as_ref(), prefix);
    let breakdown = at(
        field("breakdown"),
        match request.breakdown {
            0 => Ok(None),
            n => Level::from_number(n)
                .map(Some)
                .ok_or_else(|| format!("{n} is not a region level")),
        },
    );
    let compare = at(
        field("comparison"),
        match pb::Comparison::try_from(request.comparison) {
            Ok(pb::Comparison::Unspecified | pb::Comparison::PreviousYear) => Ok(true),
            Ok(pb::Comparison::None) => Ok(false),
            Err(_) => Err(format!("{} is not a known comparison", request.comparison)),
        },
    );
    let as_of = at(field("as_of"), as_of(request.as_of.as_ref()));
    let (region, period, breakdown, compare, as_of) =
        all!(region, period, breakdown, compare, as_of)?;
    Ok(RollupRequest {
        region,
        period,
        breakdown,
        compare,
        as_of,
        indicators: request.include_indicators,
    })
}

/// The qualifiers of a PublishRollupRequest: each names a metric and is exact or more than.
fn qualifiers(qualifiers: &std::collections::HashMap<String, i32>) -> Checked<()> {
    let mut found = Vec::new();
    for (metric, qualifier) in qualifiers {
        let description = if metric::index_of(metric).is_none() {
            format!("{} is not a metric of a rollup", text::quote(metric))
        } else if !matches!(
            pb::Qualifier::try_from(*qualifier),
            Ok(pb::Qualifier::Exact | pb::Qualifier::MoreThan)
        ) {
            "must be QUALIFIER_EXACT or QUALIFIER_MORE_THAN".to_owned()
        } else {
            continue;
        };
        found.push(FieldViolation {
            field: map_entry("qualifiers", metric),
            description,
        });
    }
    if found.is_empty() { Ok(()) } else { Err(found) }
}

/// The path of the entry `key` of map field `map`, `map[key]`; just `map` when the key is too
/// long or holds characters a path cannot show as they are (the description quotes it).
fn map_entry(map: &str, key: &str) -> String {
    let plain = key.len() <= text::MAX_QUOTED
        && key
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '[' | ']' | '"' | '\\'));
    if plain {
        format!("{map}[{key}]")
    } else {
        map.to_owned()
    }
}

/// A PublishRollupRequest by `publisher`.
pub fn publish(request: &pb::PublishRollupRequest, publisher: String) -> Checked<PublishRequest> {
    let title = at("title", validate::line(&request.title, MAX_TITLE, true));
    let qualifiers = qualifiers(&request.qualifiers);
    let request_id = at("request_id", validate::request_id(&request.request_id));
    let rollup = match &request.rollup {
        Some(rollup) => self::rollup(rollup, "rollup."),
        None => at(
            "rollup",
            Err("is required: the region and period to publish".to_owned()),
        ),
    };
    let (title, (), request_id, rollup) = all!(title, qualifiers, request_id, rollup)?;
    Ok(PublishRequest {
        title,
        publisher,
        request_id,
        rollup,
    })
}

/// The id of a release name, `releases/{id}`.
pub fn release_name(name: &str) -> Result<i64, String> {
    name.strip_prefix("releases/")
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            if name.is_empty() {
                "is required, e.g. releases/1".to_owned()
            } else {
                format!("{} is not a name of the form releases/1", text::quote(name))
            }
        })
}

/// A page of releases asked for: (page size, id below which the page starts), and the
/// fingerprint of its page tokens.
pub fn list_releases(
    request: &pb::ListReleasesRequest,
    print: &str,
) -> Checked<(i64, Option<i64>)> {
    let page_size = at(
        "page_size",
        pagination::page_size(request.page_size, 20, 100),
    );
    let before = at(
        "page_token",
        pagination::decode_number::<i64>(&request.page_token, print),
    );
    let (page_size, before) = all!(page_size, before)?;
    Ok((page_size, before))
}

/// The fingerprint of an ExplainFigure's page tokens.
pub fn explain_fingerprint(request: &pb::ExplainFigureRequest) -> String {
    pagination::fingerprint(&[
        &request.region,
        &format!("{:?}", request.period),
        &request.metric,
        &format!("{:?}", request.as_of),
    ])
}

/// An ExplainFigureRequest, its page tokens made with `print`.
pub fn explain(request: &pb::ExplainFigureRequest, print: &str) -> Checked<ExplainRequest> {
    let metric = at(
        "metric",
        metric::index_of(&request.metric).ok_or_else(|| {
            format!(
                "{} is not a metric of a rollup, e.g. measures.protest",
                text::quote(&request.metric)
            )
        }),
    );
    let page_size = at(
        "page_size",
        pagination::page_size(request.page_size, 50, 500),
    );
    let after = at(
        "page_token",
        pagination::decode_number::<i64>(&request.page_token, print),
    );
    let rollup = rollup(
        &pb::GetRollupRequest {
            region: request.region.clone(),
            period: request.period,
            breakdown: 0,
            comparison: pb::Comparison::None as i32,
            as_of: request.as_of,
            include_indicators: false,
        },
        "",
    );
    let (metric, page_size, after, rollup) = all!(metric, page_size, after, rollup)?;
    Ok(ExplainRequest {
        rollup,
        metric,
        after: after.unwrap_or(0),
        page_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_parse() {
        assert_eq!(release_name("releases/12"), Ok(12));
        assert!(release_name("releases/x").is_err());
        assert!(release_name("12").is_err());
        assert!(release_name("releases/+12").is_err());
        assert!(release_name("").is_err());
    }

    #[test]
    fn a_rollup_request_names_every_bad_field_at_once() {
        let request = pb::GetRollupRequest {
            region: "regions/53".into(),
            period: Some(pb::Period {
                kind: Some(pb::period::Kind::Quarter(pb::YearQuarter {
                    year: 2020,
                    quarter: 5,
                })),
            }),
            breakdown: 99,
            comparison: 99,
            ..Default::default()
        };
        let fields: Vec<String> = rollup(&request, "rollup.")
            .expect_err("invalid")
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "rollup.region",
                "rollup.period.quarter",
                "rollup.breakdown",
                "rollup.comparison"
            ]
        );
    }

    #[test]
    fn a_valid_rollup_request_becomes_its_command() {
        let request = pb::GetRollupRequest {
            region: "regions/530000".into(),
            period: Some(pb::Period {
                kind: Some(pb::period::Kind::Year(2020)),
            }),
            comparison: pb::Comparison::None as i32,
            include_indicators: true,
            ..Default::default()
        };
        let command = rollup(&request, "").expect("valid");
        assert_eq!(command.region.as_str(), "530000");
        assert_eq!(command.period, Period::year(2020).expect("a year"));
        assert_eq!(command.breakdown, None);
        assert!(!command.compare);
        assert!(command.indicators);
    }
}
