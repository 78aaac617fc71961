//! The totals kept up to date on every write against plain aggregates over the raw records,
//! on random data with random corrections; rollups "as of" a moment against what was read
//! then; and an interrupted, resumed stream import that loses and duplicates nothing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use procura_proto::v1::{
    Adoption, Case, CaseStatus, Comparison, GetRollupRequest, ImportCasesRequest,
    ImportCasesResponse, ListCasesRequest, MeasureKind, RegionLevel, ResolutionMethod,
    UpdateMeasureRequest,
};
use procura_server::db::rollup::RollupQuery;
use procura_server::domain::metric::{BucketTally, METRICS};
use procura_server::domain::period::DateSpan;
use procura_tests::reference;
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

/// The figures of a rollup's totals (keyed `total of regions/…`) and rows by (region, metric):
/// (value, previous value).
fn served(rollup: &procura_proto::v1::Rollup) -> BTreeMap<(String, String), (i64, i64)> {
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

/// The same figures by plain GROUP BY over the raw records.
async fn plain(
    conn: &mut AsyncPgConnection,
    region: &str,
    span: DateSpan,
    previous: DateSpan,
    level: i16,
    with_rows: bool,
) -> BTreeMap<(String, String), (i64, i64)> {
    let buckets = reference::by_bucket(
        conn,
        RollupQuery {
            region,
            period: span,
            previous,
            bucket_level: level,
        },
    )
    .await
    .expect("plain aggregate");
    let mut out = BTreeMap::new();
    let mut total = BucketTally::default();
    for (code, tally) in &buckets {
        total.merge(tally);
        if with_rows && (!tally.current.is_empty() || !tally.previous.is_empty()) {
            for (i, def) in METRICS.iter().enumerate() {
                out.insert(
                    (region_name(code), def.id.to_owned()),
                    (tally.current.value(i), tally.previous.value(i)),
                );
            }
        }
    }
    for (i, def) in METRICS.iter().enumerate() {
        out.insert(
            (
                format!("total of {}", region_name(region)),
                def.id.to_owned(),
            ),
            (total.current.value(i), total.previous.value(i)),
        );
    }
    out
}

fn region_name(code: &str) -> String {
    format!("regions/{code}")
}

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

#[tokio::test]
async fn kept_totals_equal_plain_aggregates_on_random_data_with_corrections() {
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

    // Random corrections: dates, status, markers, withdrawals, adoptions.
    let stored = app.list_all_cases(ListCasesRequest::default()).await;
    assert_eq!(stored.len(), 600);
    for case in &stored {
        if !rng.random_bool(0.25) {
            continue;
        }
        let mut changed = case.clone();
        let paths: Vec<&str> = match rng.random_range(0..4) {
            0 => {
                changed.private_enterprise = !changed.private_enterprise;
                changed.spp_listed_batch = rng.random_range(0..=2);
                vec!["private_enterprise", "spp_listed_batch"]
            }
            1 => {
                changed.status = CaseStatus::Withdrawn as i32;
                vec!["status"]
            }
            2 if case.concluded_on.is_none() => {
                changed.status = CaseStatus::Concluded as i32;
                changed.concluded_on = Some(date(2020, 12, 31));
                vec!["status", "concluded_on"]
            }
            _ => {
                changed.typical = !changed.typical;
                changed.leader_handled = !changed.leader_handled;
                vec!["typical", "leader_handled"]
            }
        };
        app.update_case(changed, &paths)
            .await
            .unwrap_or_else(|s| panic!("UpdateCase {}: {s:?}", case.name));
        if let Some(m) = case.measures.first()
            && rng.random_bool(0.5)
            && m.adoption == Adoption::Pending as i32
        {
            let mut adopted = m.clone();
            adopted.adoption = Adoption::Adopted as i32;
            adopted.answered_on = Some(date(2020, 12, 31));
            app.cases
                .clone()
                .update_measure(UpdateMeasureRequest {
                    measure: Some(adopted),
                    update_mask: Some(field_mask(&["adoption", "answered_on"])),
                    reason: "adopted".into(),
                })
                .await
                .unwrap_or_else(|s| panic!("UpdateMeasure {}: {s:?}", m.name));
        }
    }

    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let regions = [
        ("000000", 1, RegionLevel::Province),
        ("000000", 1, RegionLevel::County),
        ("530000", 2, RegionLevel::Prefecture),
        ("530000", 2, RegionLevel::County),
        ("530100", 3, RegionLevel::County),
        ("110000", 2, RegionLevel::Prefecture),
        ("530102", 4, RegionLevel::Unspecified),
    ];
    let periods = [
        (d(2020, 1, 1), d(2020, 12, 31)),
        (d(2019, 11, 1), d(2020, 12, 31)),
        (d(2020, 4, 1), d(2020, 6, 30)),
        (d(2020, 2, 1), d(2020, 2, 29)),
    ];
    let mut compared = 0;
    let random_ranges: Vec<(NaiveDate, NaiveDate)> = (0..12)
        .map(|_| {
            let start = day(&mut rng, d(2019, 1, 1), d(2020, 12, 31));
            (start, day(&mut rng, start, d(2020, 12, 31)))
        })
        .collect();
    {
        for (code, level, breakdown) in regions {
            for (from, to) in periods.iter().copied().chain(random_ranges.iter().copied()) {
                let rollup = app
                    .rollup(GetRollupRequest {
                        region: region(code),
                        period: range(proto_date(from), proto_date(to)),
                        breakdown: breakdown as i32,
                        comparison: Comparison::PreviousYear as i32,
                        ..Default::default()
                    })
                    .await;
                let span = DateSpan {
                    start: from,
                    end: to,
                };
                let previous = DateSpan {
                    start: from - chrono::Months::new(12),
                    end: to - chrono::Months::new(12),
                };
                let with_rows = breakdown != RegionLevel::Unspecified;
                let bucket_level = if with_rows {
                    breakdown as i16
                } else {
                    level + 1
                };
                let expected =
                    plain(&mut conn, code, span, previous, bucket_level, with_rows).await;
                assert_eq!(
                    served(&rollup),
                    expected,
                    "{code} {from}..{to} by {breakdown:?}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(
        compared,
        regions.len() * (periods.len() + random_ranges.len())
    );
    // The data set is not trivial: figures of every kind are non-zero nationally.
    let national = app
        .rollup(GetRollupRequest {
            region: region("000000"),
            period: range(date(2018, 1, 1), date(2020, 12, 31)),
            ..Default::default()
        })
        .await;
    for metric in [
        "measures.protest",
        "measures.administrative_organ_suggestion.adopted",
        "resolutions.private_enterprise",
        "aid.amount_fen",
        "markers.spp_listed_batches",
        "cases.concluded",
    ] {
        let f = national
            .figures
            .iter()
            .find(|f| f.metric == metric)
            .unwrap();
        assert!(f.value > 0, "{metric} is 0 in the random data set");
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
