//! Rollup latency: GetRollup from the kept totals against the plain GROUP BY over the records (the tests crate's reference), and the check that both give the same figures.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) calls: usize,
}

/// p50 and p99 by the nearest-rank method.
pub(crate) fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let rank = |p: f64| {
        let r = (p / 100.0 * samples.len() as f64).ceil() as usize;
        samples[r.clamp(1, samples.len()) - 1]
    };
    Latency {
        p50: rank(50.0),
        p99: rank(99.0),
        calls: samples.len(),
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One rollup of the benchmark: the request and the same query for the plain GROUP BY.
pub(crate) struct RollupCase {
    pub(crate) title: &'static str,
    pub(crate) request: pb::GetRollupRequest,
    pub(crate) region: String,
    pub(crate) period: Period,
    pub(crate) bucket_level: i16,
}

pub(crate) fn rollup_cases(places: &Places) -> Result<Vec<RollupCase>> {
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let county = &places.places[places.busiest_county];
    let request = |region: &str, kind, breakdown: pb::RegionLevel| pb::GetRollupRequest {
        region: format!("regions/{region}"),
        period: Some(pb::Period { kind: Some(kind) }),
        breakdown: breakdown as i32,
        ..Default::default()
    };
    Ok(vec![
        RollupCase {
            title: "national by province, year 2020",
            request: request(
                "000000",
                pb::period::Kind::Year(2020),
                pb::RegionLevel::Province,
            ),
            region: "000000".to_owned(),
            period: Period::year(2020).map_err(|e| anyhow!(e))?,
            bucket_level: 2,
        },
        RollupCase {
            title: "Shandong (370000) by prefecture, Q2 2020",
            request: request(
                "370000",
                pb::period::Kind::Quarter(pb::YearQuarter {
                    year: 2020,
                    quarter: 2,
                }),
                pb::RegionLevel::Prefecture,
            ),
            region: "370000".to_owned(),
            period: Period::quarter(2020, 2).map_err(|e| anyhow!(e))?,
            bucket_level: 3,
        },
        RollupCase {
            title: "county, 2019-11-01..2020-12-31",
            request: request(
                &county.code,
                pb::period::Kind::Range(pb::DateRange {
                    start: Some(proto_date(d(2019, 11, 1))),
                    end: Some(proto_date(d(2020, 12, 31))),
                }),
                pb::RegionLevel::Unspecified,
            ),
            region: county.code.clone(),
            period: Period::range(d(2019, 11, 1), d(2020, 12, 31)).map_err(|e| anyhow!(e))?,
            // No breakdown: the server buckets by the level below the county's.
            bucket_level: 5,
        },
    ])
}

/// Times `calls` GetRollup calls one after the other (after 5 untimed ones).
pub(crate) async fn time_rollup(
    client: &mut ReportServiceClient<Authed>,
    request: &pb::GetRollupRequest,
    calls: usize,
) -> Result<(Latency, pb::Rollup)> {
    let mut last = None;
    let mut samples = Vec::with_capacity(calls);
    for call in 0..calls + 5 {
        let started = Instant::now();
        let response = client
            .get_rollup(request.clone())
            .await
            .with_context(|| format!("GetRollup {}", request.region))?;
        if call >= 5 {
            samples.push(started.elapsed());
        }
        last = response.into_inner().rollup;
    }
    Ok((
        latency(samples),
        last.ok_or_else(|| anyhow!("GetRollup returned no rollup"))?,
    ))
}

/// Longest time spent timing one GROUP BY: at 10M cases a call takes many seconds, so fewer
/// calls are made (at least 3).
pub(crate) const GROUP_BY_BUDGET: Duration = Duration::from_secs(120);

/// Times `calls` runs of the plain GROUP BY over the raw rows (after one untimed run), or as
/// many as fit in [`GROUP_BY_BUDGET`], at least 3.
pub(crate) async fn time_group_by(
    conn: &mut AsyncPgConnection,
    case: &RollupCase,
    calls: usize,
) -> Result<(Latency, BTreeMap<String, BucketTally>)> {
    let q = RollupQuery {
        region: &case.region,
        period: case.period.span(),
        previous: case.period.year_earlier().span(),
        bucket_level: case.bucket_level,
    };
    let mut last = rollup::by_bucket(conn, q).await?;
    let mut samples = Vec::with_capacity(calls);
    let began = Instant::now();
    while samples.len() < calls && (samples.len() < 3 || began.elapsed() < GROUP_BY_BUDGET) {
        let started = Instant::now();
        last = rollup::by_bucket(conn, q).await?;
        samples.push(started.elapsed());
    }
    Ok((latency(samples), last))
}

/// Checks that the rollup served from the kept totals has the figures of the GROUP BY: the
/// totals and every row.
pub(crate) fn check_same_figures(
    title: &str,
    rollup: &pb::Rollup,
    buckets: &BTreeMap<String, BucketTally>,
) -> Result<()> {
    use procura_server::api::reports::figures;
    let same = |what: &str, got: &[pb::Figure], want: &[pb::Figure]| -> Result<()> {
        ensure!(
            got.len() == want.len(),
            "{title}, {what}: {} figures served, {} from GROUP BY",
            got.len(),
            want.len()
        );
        for (g, w) in got.iter().zip(want) {
            ensure!(
                g.metric == w.metric && g.value == w.value && g.previous_value == w.previous_value,
                "{title}, {what}: {} is {} (previous {:?}) from the totals but {} (previous {:?}) \
                 from GROUP BY",
                g.metric,
                g.value,
                g.previous_value,
                w.value,
                w.previous_value
            );
        }
        Ok(())
    };
    let mut total = BucketTally::default();
    for bucket in buckets.values() {
        total.merge(bucket);
    }
    same(
        "totals",
        &rollup.figures,
        &figures(&total.current, Some(&total.previous)),
    )?;
    if rollup.breakdown != 0 {
        let served: BTreeMap<&str, &[pb::Figure]> = rollup
            .rows
            .iter()
            .map(|r| (r.region.as_str(), r.figures.as_slice()))
            .collect();
        let expected: Vec<(String, Vec<pb::Figure>)> = buckets
            .iter()
            .filter(|(_, t)| !t.current.is_empty() || !t.previous.is_empty())
            .map(|(code, t)| {
                (
                    format!("regions/{code}"),
                    figures(&t.current, Some(&t.previous)),
                )
            })
            .collect();
        ensure!(
            served.len() == expected.len(),
            "{title}: {} rows served, {} from GROUP BY",
            served.len(),
            expected.len()
        );
        for (region, want) in &expected {
            let got = served
                .get(region.as_str())
                .ok_or_else(|| anyhow!("{title}: no row for {region} served"))?;
            same(region, got, want)?;
        }
    }
    Ok(())
}

/// A figure of a rollup by metric id.
pub(crate) fn figure(rollup: &pb::Rollup, metric: &str) -> i64 {
    rollup
        .figures
        .iter()
        .find(|f| f.metric == metric)
        .map_or(0, |f| f.value)
}

/// The national rollup of 2020 by province, as of `as_of` when given, with indicators when
/// asked: the rollup the soak and the trusted figures call.
pub(crate) fn national_by_province(
    as_of: Option<prost_types::Timestamp>,
    indicators: bool,
) -> pb::GetRollupRequest {
    pb::GetRollupRequest {
        region: "regions/000000".to_owned(),
        period: Some(pb::Period {
            kind: Some(pb::period::Kind::Year(2020)),
        }),
        breakdown: pb::RegionLevel::Province as i32,
        as_of,
        include_indicators: indicators,
        ..Default::default()
    }
}

/// The first id and the number of the cases stored in `server_db` (at least one).
pub(crate) fn stored_case_ids(server_db: &str) -> Result<(i64, i64)> {
    let ids = psql(
        &db_url(server_db),
        "SELECT min(id) || ' ' || count(*) FROM cases",
    )?;
    let ids: Vec<i64> = ids
        .split(' ')
        .map(|v| v.parse().context("case ids"))
        .collect::<Result<_>>()?;
    ensure!(ids.len() == 2 && ids[1] > 0, "no cases stored: {ids:?}");
    Ok((ids[0], ids[1]))
}
