//! Rollups against the tests' own recount of the raw records (`procura_tests::recount`), on
//! random data through random corrections of every kind, live and as of random moments;
//! rollups "as of" a moment against what was read then; and an interrupted, resumed stream
//! import that loses and duplicates nothing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use procura_proto::v1::{
    Adoption, Case, CaseStatus, Comparison, CreateJudicialAidRequest, CreateMeasureRequest,
    CreateResolutionRequest, GetRollupRequest, ImportCasesRequest, ImportCasesResponse,
    ListCasesRequest, Measure, MeasureKind, RegionLevel, ResolutionMethod, UpdateMeasureRequest,
};
use procura_tests::recount;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_stream::StreamExt;

use crate::helpers::*;

/// The national procuratorate, procuratorates at every level of two provinces, and one of a third.
const PROCURATORATES: [&str; 10] = [
    "000000", "530000", "530100", "530102", "530103", "530300", "530381", "110000", "110101",
    "440300",
];

fn day(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days();
    from + chrono::Duration::days(rng.random_range(0..=span))
}

fn proto_date(d: NaiveDate) -> procura_proto::v1::Date {
    use chrono::Datelike;
    date(d.year(), d.month() as i32, d.day() as i32)
}

fn random_case(rng: &mut StdRng, n: usize) -> Case {
    let first = NaiveDate::from_ymd_opt(2018, 6, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2020, 12, 31).unwrap();
    let region = PROCURATORATES[rng.random_range(0..PROCURATORATES.len())];
    let accepted = day(rng, first, last);
    let mut case = valid_case(region, &format!("R-{n}"));
    case.accepted_on = Some(proto_date(accepted));
    case.leader_handled = rng.random_bool(0.2);
    case.public_hearing = rng.random_bool(0.2);
    case.private_enterprise = rng.random_bool(0.3);
    case.typical = rng.random_bool(0.05);
    case.spp_listed_batch = if rng.random_bool(0.05) {
        rng.random_range(1..=3)
    } else {
        0
    };
    if rng.random_bool(0.5) {
        case.status = CaseStatus::Concluded as i32;
        case.concluded_on = Some(proto_date(day(rng, accepted, last)));
    }
    let kinds = [
        MeasureKind::Protest,
        MeasureKind::RetrialSuggestion,
        MeasureKind::TrialViolationSuggestion,
        MeasureKind::EnforcementViolationSuggestion,
        MeasureKind::SocialGovernanceSuggestion,
        MeasureKind::AdministrativeOrganSuggestion,
    ];
    for _ in 0..rng.random_range(0..4) {
        let kind = kinds[rng.random_range(0..kinds.len())];
        let issued = day(rng, accepted, last);
        let mut m = measure(kind, proto_date(issued));
        if rng.random_bool(0.6) {
            let adoption = if rng.random_bool(0.7) {
                Adoption::Adopted
            } else {
                Adoption::NotAdopted
            };
            m = answered(m, adoption, proto_date(day(rng, issued, last)));
        }
        case.measures.push(m);
    }
    if rng.random_bool(0.3) {
        let methods = [
            ResolutionMethod::SupervisionCorrection,
            ResolutionMethod::Reconciliation,
            ResolutionMethod::JudicialAssistance,
            ResolutionMethod::PublicHearingSettlement,
            ResolutionMethod::Other,
        ];
        let method = methods[rng.random_range(0..methods.len())];
        case.resolution = Some(resolution(method, proto_date(day(rng, accepted, last))));
    }
    for _ in 0..rng.random_range(0..2) {
        let amount = rng.random_range(1..5_000_000);
        case.aid_grants
            .push(aid(proto_date(day(rng, accepted, last)), amount));
    }
    case
}

/// Sends `batches` over one ImportCases stream and returns the acknowledgements.
async fn import(app: &TestApp, batches: Vec<ImportCasesRequest>) -> Vec<ImportCasesResponse> {
    let mut client = app.cases.clone();
    let responses = client
        .import_cases(tokio_stream::iter(batches))
        .await
        .expect("ImportCases")
        .into_inner();
    responses
        .map(|ack| ack.expect("an acknowledgement"))
        .collect()
        .await
}

fn batches(cases: &[Case], size: usize, first_number: i64) -> Vec<ImportCasesRequest> {
    cases
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| ImportCasesRequest {
            batch_number: first_number + i as i64,
            cases: chunk.to_vec(),
        })
        .collect()
}

/// Figures by (row, metric): `total of regions/…` or a row's region, with (value, previous).
type Figures = BTreeMap<(String, String), (i64, i64)>;

/// The figures of a rollup's totals (keyed `total of regions/…`) and rows by (region, metric):
/// (value, previous value).
fn served(rollup: &procura_proto::v1::Rollup) -> Figures {
    let mut out = BTreeMap::new();
    for f in &rollup.figures {
        out.insert(
            (format!("total of {}", rollup.region), f.metric.clone()),
            (f.value, f.previous_value.unwrap_or(0)),
        );
    }
    for row in &rollup.rows {
        for f in &row.figures {
            out.insert(
                (row.region.clone(), f.metric.clone()),
                (f.value, f.previous_value.unwrap_or(0)),
            );
        }
    }
    out
}

/// The same figures recounted from the raw records by the tests' own SQL, in the shape of
/// [`served`]: the totals always, the rows when the rollup has a breakdown.
async fn recounted(conn: &mut AsyncPgConnection, ask: &Ask) -> Figures {
    let found = recount::recount(
        conn,
        recount::Query {
            region: ask.code,
            period: (ask.from, ask.to),
            previous: (
                ask.from - chrono::Months::new(12),
                ask.to - chrono::Months::new(12),
            ),
            bucket_level: ask.bucket_level(),
        },
    )
    .await
    .expect("the recount");
    let mut out = BTreeMap::new();
    for (metric, values) in found.totals {
        out.insert(
            (format!("total of {}", region_name(ask.code)), metric),
            values,
        );
    }
    if ask.breakdown != RegionLevel::Unspecified {
        for (code, figures) in found.rows {
            for (metric, values) in figures {
                out.insert((region_name(&code), metric), values);
            }
        }
    }
    out
}

fn region_name(code: &str) -> String {
    format!("regions/{code}")
}

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

/// One rollup asked for: a region (with its level), a breakdown and a range of days.
#[derive(Debug, Clone, Copy)]
struct Ask {
    code: &'static str,
    level: i16,
    breakdown: RegionLevel,
    from: NaiveDate,
    to: NaiveDate,
}

/// The regions the checks ask for, with their levels and the breakdowns tried.
const ASKED: [(&str, i16, RegionLevel); 9] = [
    ("000000", 1, RegionLevel::Province),
    ("000000", 1, RegionLevel::County),
    ("000000", 1, RegionLevel::Unspecified),
    ("530000", 2, RegionLevel::Prefecture),
    ("530000", 2, RegionLevel::County),
    ("530100", 3, RegionLevel::County),
    ("110000", 2, RegionLevel::Prefecture),
    ("530102", 4, RegionLevel::Unspecified),
    ("440000", 2, RegionLevel::County),
];

/// A day as (year, month, day).
type Ymd = (i32, u32, u32);

/// Periods every asked region is checked over, beside random ones.
const FIXED_PERIODS: [(Ymd, Ymd); 4] = [
    ((2020, 1, 1), (2020, 12, 31)),
    ((2019, 11, 1), (2020, 12, 31)),
    ((2020, 4, 1), (2020, 6, 30)),
    ((2020, 2, 1), (2020, 2, 29)),
];

impl Ask {
    /// Every asked region over every fixed period.
    fn fixed() -> impl Iterator<Item = Ask> {
        ASKED.into_iter().flat_map(|(code, level, breakdown)| {
            FIXED_PERIODS.into_iter().map(move |(f, t)| Ask {
                code,
                level,
                breakdown,
                from: d(f.0, f.1, f.2),
                to: d(t.0, t.1, t.2),
            })
        })
    }

    fn random(rng: &mut StdRng) -> Self {
        let (code, level, breakdown) = ASKED[rng.random_range(0..ASKED.len())];
        let from = day(rng, d(2018, 6, 1), d(2020, 12, 31));
        Ask {
            code,
            level,
            breakdown,
            from,
            to: day(rng, from, d(2020, 12, 31)),
        }
    }

    /// The level the server buckets records at: the breakdown's, or the one below the region.
    fn bucket_level(&self) -> i16 {
        match self.breakdown {
            RegionLevel::Unspecified => self.level + 1,
            level => level as i16,
        }
    }

    fn request(&self, as_of: Option<prost_types::Timestamp>) -> GetRollupRequest {
        GetRollupRequest {
            region: region(self.code),
            period: range(proto_date(self.from), proto_date(self.to)),
            breakdown: self.breakdown as i32,
            comparison: Comparison::PreviousYear as i32,
            as_of,
            ..Default::default()
        }
    }
}

/// Checks a rollup against the recount of the records as they stand now.
async fn check_against_recount(app: &TestApp, conn: &mut AsyncPgConnection, ask: &Ask) {
    let rollup = app.rollup(ask.request(None)).await;
    assert_same(&served(&rollup), &recounted(conn, ask).await, ask, "now");
}

/// Fails naming each figure served that differs from the recount, and each figure missing.
fn assert_same(served: &Figures, recounted: &Figures, ask: &Ask, when: &str) {
    let keys: std::collections::BTreeSet<_> = served.keys().chain(recounted.keys()).collect();
    let differences: Vec<String> = keys
        .into_iter()
        .filter(|k| served.get(*k) != recounted.get(*k))
        .map(|(row, metric)| {
            format!(
                "{row} {metric}: served {:?}, recounted {:?}",
                served.get(&(row.clone(), metric.clone())),
                recounted.get(&(row.clone(), metric.clone()))
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{ask:?} ({when}): (value, previous value) differs\n{}",
        differences.join("\n")
    );
}

/// The earliest date of a case's records, which its acceptance date may not pass.
fn earliest_record(case: &Case) -> Option<NaiveDate> {
    let days = case
        .measures
        .iter()
        .filter_map(|m| m.issued_on.as_ref())
        .chain(
            case.resolution
                .iter()
                .filter_map(|r| r.resolved_on.as_ref()),
        )
        .chain(case.aid_grants.iter().filter_map(|a| a.granted_on.as_ref()));
    days.map(naive).min()
}

fn naive(d: &procura_proto::v1::Date) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).unwrap()
}

const MEASURE_KINDS: [MeasureKind; 6] = [
    MeasureKind::Protest,
    MeasureKind::RetrialSuggestion,
    MeasureKind::TrialViolationSuggestion,
    MeasureKind::EnforcementViolationSuggestion,
    MeasureKind::SocialGovernanceSuggestion,
    MeasureKind::AdministrativeOrganSuggestion,
];

/// Makes one random correction to a stored case, of one of the kinds a procuratorate makes,
/// and says which: a withdrawn case is reinstated.
async fn correct(app: &TestApp, rng: &mut StdRng, case: &Case) -> &'static str {
    let last = d(2020, 12, 31);
    let accepted = naive(case.accepted_on.as_ref().unwrap());
    let withdrawn = case.status == CaseStatus::Withdrawn as i32;
    let mut changed = case.clone();
    let (what, paths): (&str, Vec<&str>) = match rng.random_range(0..10) {
        _ if withdrawn => {
            changed.status = if case.concluded_on.is_some() {
                CaseStatus::Concluded
            } else {
                CaseStatus::Accepted
            } as i32;
            ("reinstated", vec!["status"])
        }
        0 => {
            changed.status = CaseStatus::Withdrawn as i32;
            ("withdrawn", vec!["status"])
        }
        1 => {
            // Earlier, or later up to its first record or its conclusion.
            let records = earliest_record(case).unwrap_or(last);
            let concluded = case.concluded_on.as_ref().map_or(last, naive);
            let moved = day(rng, d(2018, 6, 1), records.min(concluded));
            changed.accepted_on = Some(proto_date(moved));
            ("acceptance moved", vec!["accepted_on"])
        }
        2 if case.concluded_on.is_some() => {
            changed.concluded_on = Some(proto_date(day(rng, accepted, last)));
            ("conclusion moved", vec!["concluded_on"])
        }
        2 => {
            changed.status = CaseStatus::Concluded as i32;
            changed.concluded_on = Some(proto_date(day(rng, accepted, last)));
            ("concluded", vec!["status", "concluded_on"])
        }
        3 => {
            changed.private_enterprise = !changed.private_enterprise;
            changed.spp_listed_batch = rng.random_range(0..=3);
            (
                "enterprise and listing",
                vec!["private_enterprise", "spp_listed_batch"],
            )
        }
        4 => {
            changed.typical = !changed.typical;
            changed.leader_handled = !changed.leader_handled;
            changed.public_hearing = !changed.public_hearing;
            (
                "markers",
                vec!["typical", "leader_handled", "public_hearing"],
            )
        }
        5 => return add_record(app, rng, case, accepted).await,
        _ => match case.measures.first() {
            Some(m) => return change_measure(app, rng, m, accepted).await,
            None => return add_record(app, rng, case, accepted).await,
        },
    };
    app.update_case(changed, &paths)
        .await
        .unwrap_or_else(|s| panic!("UpdateCase {} ({what}): {s:?}", case.name));
    what
}

/// Adds a measure, a resolution (when the case has none) or an aid grant to a stored case.
async fn add_record(
    app: &TestApp,
    rng: &mut StdRng,
    case: &Case,
    accepted: NaiveDate,
) -> &'static str {
    let on = proto_date(day(rng, accepted, d(2020, 12, 31)));
    let mut client = app.cases.clone();
    let parent = case.name.clone();
    let (what, result) = match rng.random_range(0..3) {
        0 if case.resolution.is_none() => {
            let method = [
                ResolutionMethod::SupervisionCorrection,
                ResolutionMethod::Reconciliation,
                ResolutionMethod::JudicialAssistance,
                ResolutionMethod::PublicHearingSettlement,
                ResolutionMethod::Other,
            ][rng.random_range(0..5)];
            let request = CreateResolutionRequest {
                parent,
                resolution: Some(resolution(method, on)),
                ..Default::default()
            };
            let result = client.create_resolution(request).await;
            ("resolution added", result.map(drop))
        }
        1 => {
            let request = CreateJudicialAidRequest {
                parent,
                aid_grant: Some(aid(on, rng.random_range(1..5_000_000))),
                ..Default::default()
            };
            let result = client.create_judicial_aid(request).await;
            ("aid added", result.map(drop))
        }
        _ => {
            let kind = MEASURE_KINDS[rng.random_range(0..MEASURE_KINDS.len())];
            let request = CreateMeasureRequest {
                parent,
                measure: Some(measure(kind, on)),
                ..Default::default()
            };
            let result = client.create_measure(request).await;
            ("measure added", result.map(drop))
        }
    };
    result.unwrap_or_else(|s| panic!("{what} to {}: {s:?}", case.name));
    what
}

/// Changes a measure's kind (with a fitting addressee), its issue date, or its answer.
async fn change_measure(
    app: &TestApp,
    rng: &mut StdRng,
    m: &Measure,
    accepted: NaiveDate,
) -> &'static str {
    let mut changed = m.clone();
    let issued = naive(m.issued_on.as_ref().unwrap());
    let (what, paths): (&str, Vec<&str>) = match rng.random_range(0..3) {
        0 => {
            let kind = MEASURE_KINDS[rng.random_range(0..MEASURE_KINDS.len())];
            changed.kind = kind as i32;
            changed.addressee_type = addressee_type_for(kind) as i32;
            ("measure kind changed", vec!["kind", "addressee_type"])
        }
        1 => {
            let latest = m.answered_on.as_ref().map_or(d(2020, 12, 31), naive);
            changed.issued_on = Some(proto_date(day(rng, accepted, latest)));
            ("issue date moved", vec!["issued_on"])
        }
        _ => {
            let answer = if m.adoption == Adoption::Adopted as i32 {
                Adoption::NotAdopted
            } else {
                Adoption::Adopted
            };
            changed.adoption = answer as i32;
            changed.answered_on = Some(proto_date(day(rng, issued, d(2020, 12, 31))));
            ("answer changed", vec!["adoption", "answered_on"])
        }
    };
    app.cases
        .clone()
        .update_measure(UpdateMeasureRequest {
            measure: Some(changed),
            update_mask: Some(field_mask(&paths)),
            reason: what.into(),
        })
        .await
        .unwrap_or_else(|s| panic!("UpdateMeasure {} ({what}): {s:?}", m.name));
    what
}

/// Every kind of correction [`correct`] makes.
const CORRECTIONS: [&str; 13] = [
    "withdrawn",
    "reinstated",
    "acceptance moved",
    "conclusion moved",
    "concluded",
    "enterprise and listing",
    "markers",
    "resolution added",
    "aid added",
    "measure added",
    "measure kind changed",
    "issue date moved",
    "answer changed",
];

#[tokio::test]
async fn rollups_equal_an_independent_recount_through_every_kind_of_correction_and_as_of() {
    let app = spawn_app().await;
    let mut rng = StdRng::seed_from_u64(20_210_223);
    let cases: Vec<Case> = (0..600).map(|n| random_case(&mut rng, n)).collect();
    // Most through the import stream, some one by one.
    let acks = import(&app, batches(&cases[..500], 97, 1)).await;
    assert_eq!(acks.iter().map(|a| a.created).sum::<i32>(), 500);
    assert!(acks.iter().all(|a| a.rejections.is_empty()), "{acks:?}");
    for case in &cases[500..] {
        app.create_case(case.clone()).await;
    }
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for ask in Ask::fixed() {
        check_against_recount(&app, &mut conn, &ask).await;
    }

    // Three rounds of random corrections of every kind. After some of them a random rollup is
    // checked, and the moment is noted with the recount of the records as they stood then.
    let mut made: BTreeMap<&str, usize> = BTreeMap::new();
    let mut moments = Vec::new();
    for _ in 0..3 {
        let mut stored = app.list_all_cases(ListCasesRequest::default()).await;
        let withdrawn = ListCasesRequest {
            status: CaseStatus::Withdrawn as i32,
            ..Default::default()
        };
        stored.extend(app.list_all_cases(withdrawn).await);
        assert_eq!(stored.len(), 600);
        for case in &stored {
            if !rng.random_bool(0.3) {
                continue;
            }
            *made.entry(correct(&app, &mut rng, case).await).or_default() += 1;
            if rng.random_bool(0.05) {
                let ask = Ask::random(&mut rng);
                check_against_recount(&app, &mut conn, &ask).await;
                let moment = std::time::SystemTime::now();
                moments.push((moment, ask, recounted(&mut conn, &ask).await));
            }
        }
    }
    for kind in CORRECTIONS {
        assert!(
            made.get(kind).is_some_and(|n| *n > 0),
            "no {kind}: {made:?}"
        );
    }

    // After every correction: the fixed and random rollups against the recount …
    for ask in Ask::fixed() {
        check_against_recount(&app, &mut conn, &ask).await;
    }
    for _ in 0..30 {
        check_against_recount(&app, &mut conn, &Ask::random(&mut rng)).await;
    }
    // … and the rollup as of each noted moment against the recount made then.
    assert!(moments.len() >= 5, "only {} moments noted", moments.len());
    for (moment, ask, then) in &moments {
        let rollup = app.rollup(ask.request(Some((*moment).into()))).await;
        assert_same(&served(&rollup), then, ask, &format!("as of {moment:?}"));
    }

    // The data set is not trivial: every figure is non-zero nationally.
    let national = app
        .rollup(GetRollupRequest {
            region: region("000000"),
            period: range(date(2018, 1, 1), date(2020, 12, 31)),
            ..Default::default()
        })
        .await;
    for metric in recount::METRICS {
        assert!(
            figure(&national.figures, metric).value > 0,
            "{metric} is 0 in the random data set"
        );
    }
    let (revised, disagreeing) = latest_revisions_against_the_records(&mut conn).await;
    assert!(revised > 100, "only {revised} cases revised");
    assert_eq!(
        disagreeing, 0,
        "latest revisions whose state after is not the case now"
    );
}

/// The cases with revisions, and those whose latest revision's state after it (which a
/// release's diff reads as the case now) is missing or disagrees with the case and its records.
async fn latest_revisions_against_the_records(conn: &mut AsyncPgConnection) -> (i64, i64) {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        revised: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        disagreeing: i64,
    }
    let found: Found = diesel::sql_query(
        "SELECT count(*) AS revised, count(*) FILTER (WHERE
             l.after IS NULL
             OR l.after->>'case_number' <> c.case_number
             OR l.after->>'accepted_on' <> c.accepted_on::text
             OR (l.after->>'concluded_on') IS DISTINCT FROM c.concluded_on::text
             OR (l.after->>'status')::int <> c.status
             OR (l.after->>'spp_listed_batch')::int <> c.spp_listed_batch
             OR (l.after->>'private_enterprise')::boolean <> c.private_enterprise
             OR jsonb_array_length(l.after->'measures')
                <> (SELECT count(*) FROM measures m WHERE m.case_id = c.id)
             OR jsonb_array_length(l.after->'aid')
                <> (SELECT count(*) FROM judicial_aid a WHERE a.case_id = c.id)
             OR (l.after->'resolution' = 'null'::jsonb)
                = EXISTS (SELECT 1 FROM resolutions s WHERE s.case_id = c.id)
         ) AS disagreeing
         FROM cases c
         JOIN LATERAL (SELECT r.after FROM case_revisions r WHERE r.case_id = c.id
                       ORDER BY r.revision DESC LIMIT 1) l ON true",
    )
    .get_result(&mut *conn)
    .await
    .expect("the latest revisions");
    (found.revised, found.disagreeing)
}

/// Rollups read while an import stores its batches on another stream: asked again as of the
/// moment each reported, each gives its figures again (batches committed after that moment
/// are not counted, however early their transactions began), whether few or many cases
/// changed since; and once the import is done, the figures equal the recount.
#[tokio::test]
async fn rollups_as_of_moments_inside_a_concurrent_import_give_the_figures_read_then() {
    let app = spawn_app().await;
    let mut rng = StdRng::seed_from_u64(20_201_231);
    let cases: Vec<Case> = (0..1_200).map(|n| random_case(&mut rng, n)).collect();
    let national = Ask::fixed().next().expect("a fixed rollup");
    let importing = import(&app, batches(&cases, 20, 1));
    let reading = async {
        let mut read = Vec::new();
        let mut rng = StdRng::seed_from_u64(3);
        for i in 0..40 {
            let ask = if i % 2 == 0 {
                national
            } else {
                Ask::random(&mut rng)
            };
            read.push((ask, app.rollup(ask.request(None)).await));
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        }
        read
    };
    let (acks, read) = tokio::join!(importing, reading);
    assert_eq!(acks.iter().map(|a| a.created).sum::<i32>(), 1_200);
    // The reads fell inside the import: the national figures moved between them.
    let distinct: std::collections::BTreeSet<Vec<(i64, i64)>> = read
        .iter()
        .filter(|(ask, _)| ask.code == national.code && ask.from == national.from)
        .map(|(_, rollup)| served(rollup).into_values().collect())
        .collect();
    assert!(
        distinct.len() >= 3,
        "only {} distinct national figures were read during the import",
        distinct.len()
    );
    for (ask, rollup) in &read {
        let then = app.rollup(ask.request(rollup.as_of)).await;
        assert_same(
            &served(&then),
            &served(rollup),
            ask,
            "as of the moment it reported",
        );
    }
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for ask in Ask::fixed() {
        check_against_recount(&app, &mut conn, &ask).await;
    }
}

#[tokio::test]
async fn rollups_as_of_a_moment_give_the_figures_read_then() {
    let app = spawn_app().await;
    let mut rng = StdRng::seed_from_u64(7);
    let cases: Vec<Case> = (0..120).map(|n| random_case(&mut rng, n)).collect();
    import(&app, batches(&cases, 50, 1)).await;
    let request = |as_of| GetRollupRequest {
        region: region("530000"),
        period: year(2020),
        breakdown: RegionLevel::Prefecture as i32,
        as_of,
        include_indicators: true,
        ..Default::default()
    };
    let before = app.rollup(request(None)).await;

    // Late submissions and corrections after that moment.
    let late: Vec<Case> = (1000..1040).map(|n| random_case(&mut rng, n)).collect();
    import(&app, batches(&late, 40, 1)).await;
    for case in app
        .list_all_cases(ListCasesRequest {
            region: region("530000"),
            ..Default::default()
        })
        .await
        .into_iter()
        .take(15)
    {
        let mut withdrawn = case.clone();
        withdrawn.status = CaseStatus::Withdrawn as i32;
        app.update_case(withdrawn, &["status"]).await.unwrap();
    }
    let after = app.rollup(request(None)).await;
    assert_ne!(
        served(&after),
        served(&before),
        "the changes moved no figure"
    );

    let then = app.rollup(request(before.as_of)).await;
    assert_eq!(served(&then), served(&before));
    assert_eq!(then.indicators, before.indicators);
}

#[tokio::test]
async fn an_interrupted_import_resumed_from_the_last_acknowledged_batch_stores_each_case_once() {
    let app = spawn_app().await;
    let mut rng = StdRng::seed_from_u64(99);
    let cases: Vec<Case> = (0..1_000).map(|n| random_case(&mut rng, n)).collect();
    let all = batches(&cases, 100, 1);

    // First attempt: send every batch, read two acknowledgements, then drop the connection.
    let (sender, receiver) = tokio::sync::mpsc::channel(16);
    for batch in all.iter().cloned() {
        sender.send(batch).await.unwrap();
    }
    let mut client = app.cases.clone();
    let mut acks = client
        .import_cases(tokio_stream::wrappers::ReceiverStream::new(receiver))
        .await
        .unwrap()
        .into_inner();
    let mut last_acknowledged = 0;
    for _ in 0..2 {
        let ack = acks.next().await.unwrap().unwrap();
        last_acknowledged = ack.batch_number;
    }
    drop(acks);
    drop(sender);
    drop(client);

    // Resume after the last acknowledged batch: batches the server committed without our
    // hearing of it come back as already present.
    let resumed = import(&app, all[last_acknowledged as usize..].to_vec()).await;
    assert_eq!(resumed.len(), all.len() - last_acknowledged as usize);
    assert_eq!(
        resumed.first().map(|a| a.batch_number),
        Some(last_acknowledged + 1)
    );
    let created: i32 = resumed.iter().map(|a| a.created).sum();
    let present: i32 = resumed.iter().map(|a| a.already_present).sum();
    assert_eq!(
        created + present,
        1_000 - 100 * last_acknowledged as i32,
        "{resumed:?}"
    );

    // Re-sending everything changes nothing.
    let again = import(&app, all.clone()).await;
    assert_eq!(again.iter().map(|a| a.created).sum::<i32>(), 0);
    assert_eq!(again.iter().map(|a| a.already_present).sum::<i32>(), 1_000);

    let stored = app.list_all_cases(ListCasesRequest::default()).await;
    assert_eq!(stored.len(), 1_000);
    let mut numbers: Vec<&str> = stored.iter().map(|c| c.case_number.as_str()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 1_000);
    let accepted = app
        .rollup(GetRollupRequest {
            region: region("000000"),
            period: range(date(2018, 1, 1), date(2020, 12, 31)),
            ..Default::default()
        })
        .await
        .figures
        .into_iter()
        .find(|f| f.metric == "cases.accepted")
        .unwrap()
        .value;
    assert_eq!(accepted, 1_000, "the kept totals count each case once");
}

#[tokio::test]
async fn an_import_batch_reports_rejections_by_position_and_stores_the_rest() {
    let app = spawn_app().await;
    let mut bad = valid_case("530102", "bad");
    bad.accepted_on = Some(date(2021, 2, 30));
    let unknown = valid_case("999999", "unknown");
    let batch = ImportCasesRequest {
        batch_number: 7,
        cases: vec![
            valid_case("530102", "good-1"),
            bad,
            unknown,
            valid_case("530102", "good-2"),
        ],
    };
    let acks = import(&app, vec![batch]).await;
    assert_eq!(acks.len(), 1);
    let ack = &acks[0];
    assert_eq!(
        (ack.batch_number, ack.created, ack.already_present),
        (7, 2, 0)
    );
    let rejected: Vec<(i32, &str)> = ack
        .rejections
        .iter()
        .map(|r| (r.position, r.field.as_str()))
        .collect();
    assert_eq!(
        rejected,
        vec![(1, "cases[1].accepted_on"), (2, "cases[2].region")]
    );
    let oversized = ImportCasesRequest {
        batch_number: 1,
        cases: vec![valid_case("530102", "x"); 10_001],
    };
    let mut client = app.cases.clone();
    let mut stream = client
        .import_cases(tokio_stream::iter(vec![oversized]))
        .await
        .unwrap()
        .into_inner();
    let status = stream.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("at most 10000"), "{status:?}");
}

#[tokio::test]
async fn an_import_batch_meeting_stored_cases_stores_the_new_ones_once_and_reports_the_rest() {
    let app = spawn_app().await;
    // Stored before the import, one by one.
    app.create_case(valid_case("530102", "S-1")).await;
    // A batch with the stored case, a case given twice, and a new one.
    let batch = ImportCasesRequest {
        batch_number: 1,
        cases: vec![
            valid_case("530102", "S-2"),
            valid_case("530102", "S-1"),
            valid_case("530102", "S-3"),
            valid_case("530102", "S-3"),
        ],
    };
    let acks = import(&app, vec![batch]).await;
    assert_eq!(acks.len(), 1);
    assert_eq!(
        (acks[0].created, acks[0].already_present),
        (2, 2),
        "{acks:?}"
    );
    assert!(acks[0].rejections.is_empty(), "{acks:?}");
    let stored = app.list_all_cases(ListCasesRequest::default()).await;
    let mut numbers: Vec<&str> = stored.iter().map(|c| c.case_number.as_str()).collect();
    numbers.sort();
    assert_eq!(numbers, ["S-1", "S-2", "S-3"]);
    // Each counted once in the kept totals.
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("530102"),
            period: range(date(2020, 1, 1), date(2020, 12, 31)),
            ..Default::default()
        })
        .await;
    assert_eq!(figure(&rollup.figures, "cases.accepted").value, 3);
}

#[tokio::test]
async fn a_full_import_batch_of_long_cases_is_stored() {
    let app = spawn_app().await;
    // 10,000 cases with summaries of 300 characters (900 bytes): about 10 MB in one message,
    // more than tonic's default limit of 4 MB.
    let summary = "案".repeat(300);
    let cases: Vec<Case> = (0..10_000)
        .map(|n| Case {
            summary: summary.clone(),
            ..valid_case("530102", &format!("L-{n}"))
        })
        .collect();
    let acks = import(&app, batches(&cases, 10_000, 1)).await;
    assert_eq!(acks.len(), 1);
    assert_eq!((acks[0].created, acks[0].already_present), (10_000, 0));
    assert!(acks[0].rejections.is_empty());
}

/// Cases pending at `end` by age since acceptance (up to 3 months, 3 to 6, 6 to 12, over 12),
/// counted from the records: accepted by `end`, not concluded by then, not withdrawn.
async fn pending_counted(conn: &mut AsyncPgConnection, end: NaiveDate) -> [i64; 4] {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Ages {
        #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::BigInt>)]
        ages: Vec<i64>,
    }
    let ages: Ages = diesel::sql_query(
        "SELECT ARRAY[
             count(*) FILTER (WHERE accepted_on > $1 - interval '3 months'),
             count(*) FILTER (WHERE accepted_on <= $1 - interval '3 months'
                              AND accepted_on > $1 - interval '6 months'),
             count(*) FILTER (WHERE accepted_on <= $1 - interval '6 months'
                              AND accepted_on > $1 - interval '12 months'),
             count(*) FILTER (WHERE accepted_on <= $1 - interval '12 months')] AS ages
         FROM cases
         WHERE status <> 3 AND accepted_on <= $1 AND (concluded_on IS NULL OR concluded_on > $1)",
    )
    .bind::<diesel::sql_types::Date, _>(end)
    .get_result(&mut *conn)
    .await
    .expect("the count of pending cases");
    ages.ages.try_into().expect("four ages")
}

/// The national pending-by-age indicators served for the month ending on `end`, with the
/// moment they reflect.
async fn pending_served(
    app: &TestApp,
    end: NaiveDate,
    as_of: Option<prost_types::Timestamp>,
) -> ([i64; 4], Option<prost_types::Timestamp>) {
    use chrono::Datelike;
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("000000"),
            period: range(proto_date(end.with_day(1).unwrap()), proto_date(end)),
            include_indicators: true,
            as_of,
            ..Default::default()
        })
        .await;
    let numerator = |id: &str| {
        rollup
            .indicators
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", rollup.indicators))
            .numerator
    };
    let ages = [
        "pending.0_3_months",
        "pending.3_6_months",
        "pending.6_12_months",
        "pending.over_12_months",
    ]
    .map(numerator);
    (ages, rollup.as_of)
}

/// The national pending-by-age indicators (read from the kept pending counts) at the last day
/// of every month from 2018 to 2021 equal a count of the records: after an import, after
/// random corrections of every kind (withdrawals, reinstatements, acceptance and conclusion
/// moved, conclusions), and as of a moment before those corrections.
#[tokio::test]
async fn national_pending_by_age_at_every_month_end_equals_a_count_of_the_records() {
    let app = spawn_app().await;
    let mut rng = StdRng::seed_from_u64(20_201_130);
    let cases: Vec<Case> = (0..500).map(|n| random_case(&mut rng, n)).collect();
    import(&app, batches(&cases, 100, 1)).await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let ends: Vec<NaiveDate> = (0..48)
        .map(|m| d(2018, 2, 1) + chrono::Months::new(m) - chrono::Duration::days(1))
        .collect();

    let mut before = Vec::new();
    let mut moment = None;
    for end in &ends {
        let (served, as_of) = pending_served(&app, *end, None).await;
        let counted = pending_counted(&mut conn, *end).await;
        assert_eq!(served, counted, "pending at {end}");
        before.push(counted);
        moment = as_of;
    }
    assert!(
        before.iter().any(|ages| ages.iter().all(|n| *n > 0)),
        "no month end has cases of every age: {before:?}"
    );

    let mut stored = app.list_all_cases(ListCasesRequest::default()).await;
    let withdrawn = ListCasesRequest {
        status: CaseStatus::Withdrawn as i32,
        ..Default::default()
    };
    stored.extend(app.list_all_cases(withdrawn).await);
    let mut made: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &stored {
        if rng.random_bool(0.5) {
            continue;
        }
        *made.entry(correct(&app, &mut rng, case).await).or_default() += 1;
    }
    for kind in [
        "withdrawn",
        "acceptance moved",
        "conclusion moved",
        "concluded",
    ] {
        assert!(
            made.get(kind).is_some_and(|n| *n > 0),
            "no {kind}: {made:?}"
        );
    }

    let mut moved = 0;
    for (end, then) in ends.iter().zip(&before) {
        let (served, _) = pending_served(&app, *end, None).await;
        let counted = pending_counted(&mut conn, *end).await;
        assert_eq!(served, counted, "pending at {end} after the corrections");
        moved += usize::from(counted != *then);
        let (served_then, _) = pending_served(&app, *end, moment).await;
        assert_eq!(served_then, *then, "pending at {end} as of {moment:?}");
    }
    assert!(
        moved > ends.len() / 2,
        "the corrections moved {moved} month ends"
    );
    assert_eq!(
        pending_counts_filled_by_the_migration(&mut conn).await,
        (0, 0),
        "pending_totals against the migration's count of the stored cases"
    );
}

/// The rows of `pending_totals` (but those at zero) the migration that created it would not
/// fill in from the cases stored now, and the rows it would fill in that are not kept: so a
/// database that had cases before the migration starts with the counts its writes keep.
async fn pending_counts_filled_by_the_migration(conn: &mut AsyncPgConnection) -> (i64, i64) {
    use diesel_async::RunQueryDsl;
    let migration =
        include_str!("../../../server/migrations/2026-12-04-000012_totals_log_and_pending/up.sql");
    let fill = migration
        .split_once("INSERT INTO pending_totals (region_code, grain, accepted, concluded, cases)")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map(|(select, _)| select)
        .expect("the migration fills pending_totals");
    #[derive(diesel::QueryableByName)]
    struct Differences {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        kept_only: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        filled_only: i64,
    }
    let kept = "SELECT region_code, grain, accepted, concluded, cases FROM pending_totals \
                WHERE cases <> 0";
    let found: Differences = diesel::sql_query(format!(
        "WITH filled AS ({fill}), kept AS ({kept}) \
         SELECT (SELECT count(*) FROM (TABLE kept EXCEPT TABLE filled) k) AS kept_only, \
                (SELECT count(*) FROM (TABLE filled EXCEPT TABLE kept) f) AS filled_only"
    ))
    .get_result(&mut *conn)
    .await
    .expect("comparing the kept pending counts with the migration's");
    (found.kept_only, found.filled_only)
}
