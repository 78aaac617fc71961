//! ExplainFigure: the parts of one figure of a rollup by the regions one level down, and the
//! cases of the region's own procuratorate behind it, a page at a time.

use diesel_async::AsyncPgConnection;

use super::rollups::{self, RollupRequest, RollupSpec};
use crate::db::{history, snapshot};
use crate::domain::metric::Tally;
use crate::domain::region::{RegionCode, RegionTree};
use crate::error::ApiError;

/// An ExplainFigure, validated.
#[derive(Debug, Clone)]
pub struct ExplainRequest {
    /// The rollup whose figure is explained (no breakdown, no comparison).
    pub rollup: RollupRequest,
    /// The figure, by index into [`METRICS`](crate::domain::metric::METRICS).
    pub metric: usize,
    /// The last case id of the previous page; 0 for the first.
    pub after: i64,
    /// Most cases on a page.
    pub page_size: i64,
}

/// The part of a figure that one region one level down holds.
#[derive(Debug, Clone)]
pub struct FigurePart {
    /// The region's code.
    pub code: String,
    /// Its name.
    pub display_name: String,
    /// Whether the part is the explained region's own procuratorate.
    pub own_records_only: bool,
    /// Its value, not 0.
    pub value: i64,
}

/// A case of the region's own procuratorate and what it contributes to the figure.
#[derive(Debug, Clone)]
pub struct Contribution {
    /// The case.
    pub case_id: i64,
    /// Its case number.
    pub case_number: String,
    /// Its procuratorate's region code.
    pub region_code: RegionCode,
    /// What it contributes, not 0.
    pub value: i64,
}

/// A figure explained.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The figure, by index into [`METRICS`](crate::domain::metric::METRICS).
    pub metric: usize,
    /// Its value over the whole subtree.
    pub value: i64,
    /// Its parts by region one level down.
    pub parts: Vec<FigurePart>,
    /// A page of the own procuratorate's cases behind it.
    pub cases: Vec<Contribution>,
    /// Whether more cases follow the page.
    pub more: bool,
}

/// ExplainFigure: the parts and a page of the cases of the figure `request` names, from one
/// snapshot.
pub async fn explain(
    conn: &mut AsyncPgConnection,
    regions: &RegionTree,
    request: &ExplainRequest,
) -> Result<Explanation, ApiError> {
    let spec = RollupSpec::new(conn, &request.rollup).await?;
    let region = spec.region.as_str();
    let (buckets, (cases, more)) = snapshot!(conn, ApiError, |conn| {
        let (buckets, _) = rollups::bucket_figures(
            conn,
            regions,
            region,
            spec.region_row.level + 1,
            spec.span,
            spec.span,
            spec.as_of.as_ref(),
        )
        .await?;
        let cases = contributions(conn, &spec, request).await?;
        Ok((buckets, cases))
    })?;
    let mut total = Tally::default();
    let mut parts = Vec::new();
    for (code, tally) in &buckets {
        total.merge(&tally.current);
        let value = tally.current.value(request.metric);
        if value != 0 {
            parts.push(FigurePart {
                display_name: regions
                    .get(code)
                    .map(|n| n.name.clone())
                    .unwrap_or_default(),
                own_records_only: code == region,
                code: code.clone(),
                value,
            });
        }
    }
    Ok(Explanation {
        metric: request.metric,
        value: total.value(request.metric),
        parts,
        cases,
        more,
    })
}

/// A page of the cases of the procuratorate of `spec` that contribute to the figure over its
/// span (as of its moment), after the case id `request` gives: at most its page size, and
/// whether more follow.
async fn contributions(
    conn: &mut AsyncPgConnection,
    spec: &RollupSpec,
    request: &ExplainRequest,
) -> Result<(Vec<Contribution>, bool), ApiError> {
    let mut cases = Vec::new();
    let mut more = false;
    history::for_each_state(
        conn,
        history::Scope::Own(spec.region.as_str()),
        spec.as_of.as_ref(),
        request.after,
        |case_id, case| {
            let value = case.value_in(request.metric, spec.span.start, spec.span.end);
            if value == 0 {
                return true;
            }
            if cases.len() as i64 == request.page_size {
                more = true;
                return false;
            }
            cases.push(Contribution {
                case_id,
                case_number: case.case_number.clone(),
                region_code: case.region_code.clone(),
                value,
            });
            true
        },
    )
    .await?;
    Ok((cases, more))
}
