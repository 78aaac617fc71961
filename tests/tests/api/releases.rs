//! Figures people can trust: revisions of every change, releases frozen as published and
//! compared with the live figures, drill-down to the records, indicators with their working.

use std::collections::HashMap;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use procura_proto::v1::{
    Adoption, CaseStatus, Comparison, DiffReleaseRequest, ExplainFigureRequest, GetReleaseRequest,
    GetRollupRequest, ListCaseRevisionsRequest, ListReleasesRequest, MeasureKind,
    PublishRollupRequest, Qualifier, RegionLevel, Release, ResolutionMethod, Role,
};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::helpers::*;

/// Three cases in Yunnan accepted in 2020: two in 五华区 (one of them with a protest and a
/// resolution), one at the provincial procuratorate itself; and one in Beijing.
async fn fixture(app: &TestApp) -> Vec<String> {
    let mut a = valid_case("530102", "A");
    a.accepted_on = on(2020, 3, 1);
    a.private_enterprise = true;
    a.measures = vec![answered(
        measure(MeasureKind::Protest, date(2020, 4, 1)),
        Adoption::Adopted,
        date(2020, 5, 1),
    )];
    a.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2020, 6, 1),
    ));
    let mut b = valid_case("530102", "B");
    b.accepted_on = on(2020, 7, 1);
    b.measures = vec![measure(MeasureKind::Protest, date(2020, 8, 1))];
    let mut c = valid_case("530000", "C");
    c.accepted_on = on(2020, 2, 1);
    c.status = CaseStatus::Concluded as i32;
    c.concluded_on = on(2020, 10, 1);
    let mut d = valid_case("110101", "D");
    d.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 2))];
    let mut names = Vec::new();
    for case in [a, b, c, d] {
        names.push(app.create_case(case).await.name);
    }
    names
}

fn figure(figures: &[procura_proto::v1::Figure], metric: &str) -> (i64, Option<i64>, i32) {
    let f = figures
        .iter()
        .find(|f| f.metric == metric)
        .unwrap_or_else(|| panic!("no figure {metric}"));
    (f.value, f.previous_value, f.qualifier)
}

async fn diff_of(app: &TestApp, release: &str) -> procura_proto::v1::DiffReleaseResponse {
    app.reports
        .clone()
        .diff_release(DiffReleaseRequest {
            name: release.to_owned(),
        })
        .await
        .expect("DiffRelease")
        .into_inner()
}

async fn publish(app: &TestApp) -> Release {
    app.reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: region("530000"),
                period: year(2020),
                breakdown: RegionLevel::Prefecture as i32,
                ..Default::default()
            }),
            title: "Yunnan 2020".into(),
            qualifiers: HashMap::from([(
                "measures.protest".to_owned(),
                Qualifier::MoreThan as i32,
            )]),
            request_id: String::new(),
        })
        .await
        .expect("PublishRollup")
        .into_inner()
        .release
        .unwrap()
}

#[tokio::test]
async fn every_change_keeps_a_revision_with_who_when_why_and_what() {
    let app = spawn_app().await;
    let names = fixture(&app).await;
    let case = app.get_case(&names[1]).await;
    let mut concluded = case.clone();
    concluded.status = CaseStatus::Concluded as i32;
    concluded.concluded_on = on(2020, 12, 1);
    let mut request = tonic::Request::new(procura_proto::v1::UpdateCaseRequest {
        case: Some(concluded),
        update_mask: Some(field_mask(&["status", "concluded_on"])),
        reason: "correction: concluded in December".into(),
    });
    // The actor is the token's principal, whatever a header claims.
    request
        .metadata_mut()
        .insert("procura-actor", "someone-else".parse().unwrap());
    let clerk = app
        .principal("clerk-7", &[(Role::Submitter, "530000")])
        .await;
    clerk.cases.clone().update_case(request).await.unwrap();

    let revisions = app
        .cases
        .clone()
        .list_case_revisions(ListCaseRevisionsRequest {
            parent: names[1].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .revisions;
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0].revision, 1);
    assert_eq!(revisions[0].reason, "created");
    assert_eq!(revisions[0].actor, "admin");
    let second = &revisions[1];
    assert_eq!(second.name, format!("{}/revisions/2", names[1]));
    assert_eq!(second.actor, "clerk-7");
    assert_eq!(second.reason, "correction: concluded in December");
    let changes: Vec<(&str, &str, &str)> = second
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.old_value.as_str(), c.new_value.as_str()))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("concluded_on", "", "2020-12-01"),
            ("status", "CASE_STATUS_ACCEPTED", "CASE_STATUS_CONCLUDED"),
        ]
    );
    // The etag follows the revision.
    assert_eq!(app.get_case(&names[1]).await.etag, "\"v2\"");
    // Withdrawal is a status: the case stays, with its history, and counts nowhere.
    let mut withdrawn = app.get_case(&names[1]).await;
    withdrawn.status = CaseStatus::Withdrawn as i32;
    app.update_case(withdrawn, &["status"]).await.unwrap();
    let still_there = app.get_case(&names[1]).await;
    assert_eq!(still_there.status, CaseStatus::Withdrawn as i32);
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            ..Default::default()
        })
        .await;
    assert_eq!(figure(&rollup.figures, "cases.accepted").0, 2);
    assert_eq!(figure(&rollup.figures, "measures.protest").0, 1);
}

#[tokio::test]
async fn a_release_stays_as_published_and_its_diff_names_the_records_that_moved_it() {
    let app = spawn_app().await;
    let names = fixture(&app).await;
    let release = publish(&app).await;
    let rollup = release.rollup.clone().unwrap();
    // Yunnan 2020 as published: protests 2 ("more than"), 3 cases accepted.
    assert_eq!(
        figure(&rollup.figures, "measures.protest"),
        (2, Some(0), Qualifier::MoreThan as i32)
    );
    assert_eq!(
        figure(&rollup.figures, "cases.accepted"),
        (3, Some(0), Qualifier::Exact as i32)
    );
    let rows: Vec<(&str, bool)> = rollup
        .rows
        .iter()
        .map(|r| (r.region.as_str(), r.own_records_only))
        .collect();
    assert_eq!(
        rows,
        vec![("regions/530000", true), ("regions/530100", false)]
    );
    // The hash is SHA-256 of the canonical values, which list every figure.
    let digest: String = Sha256::digest(release.canonical_values.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(release.sha256, digest);
    assert!(
        release
            .canonical_values
            .contains("regions/530000\tmeasures.protest\t2\t0\tmore_than\n")
    );
    assert_eq!(
        release.canonical_values.lines().count(),
        rollup.figures.len() * 3
    );

    // A late submission and a correction after publication.
    let mut late = valid_case("530103", "LATE");
    late.accepted_on = on(2020, 11, 1);
    late.measures = vec![measure(MeasureKind::Protest, date(2020, 11, 2))];
    let late = app.create_case(late).await;
    let mut moved = app.get_case(&names[1]).await;
    moved.accepted_on = on(2019, 7, 1);
    let request = tonic::Request::new(procura_proto::v1::UpdateCaseRequest {
        case: Some(moved),
        update_mask: Some(field_mask(&["accepted_on"])),
        reason: "correction: accepted in 2019".into(),
    });
    let auditor = app
        .principal("auditor", &[(Role::Submitter, "000000")])
        .await;
    auditor.cases.clone().update_case(request).await.unwrap();

    // The release is unchanged, byte for byte.
    let again = app
        .reports
        .clone()
        .get_release(GetReleaseRequest {
            name: release.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .release
        .unwrap();
    assert_eq!(again.encode_to_vec(), release.encode_to_vec());
    let listed = app
        .reports
        .clone()
        .list_releases(ListReleasesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .releases;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sha256, release.sha256);

    // The diff names the changed figures and the records behind them.
    let diff = diff_of(&app, &release.name).await;
    let find = |region: &str, metric: &str, comparison: bool| {
        diff.changes
            .iter()
            .find(|c| {
                c.region == region
                    && c.metric == metric
                    && c.comparison_period == comparison
                    && !c.own_records_only
            })
            .unwrap_or_else(|| panic!("no change of {metric} in {region}: {diff:#?}"))
    };
    // Protests 2020: B's protest stays in 2020 (issued 2020-08-01), LATE adds one: 2 -> 3.
    let protests = find("regions/530000", "measures.protest", false);
    assert_eq!((protests.released_value, protests.live_value), (2, 3));
    let records: Vec<&str> = protests.records.iter().map(|r| r.case.as_str()).collect();
    assert_eq!(records, vec![late.name.as_str()]);
    assert_eq!(protests.records[0].revisions[0].reason, "created");
    // Cases accepted 2020: 3 -> 3 (B left for 2019, LATE came): unchanged in total, so not
    // listed; in 2019 (the comparison period) 0 -> 1, because of B's correction.
    assert!(!diff.changes.iter().any(|c| c.region == "regions/530000"
        && c.metric == "cases.accepted"
        && !c.comparison_period
        && !c.own_records_only));
    let accepted_2019 = find("regions/530000", "cases.accepted", true);
    assert_eq!(
        (accepted_2019.released_value, accepted_2019.live_value),
        (0, 1)
    );
    let record = &accepted_2019.records[0];
    assert_eq!(record.case, names[1]);
    assert_eq!((record.released_value, record.live_value), (0, 1));
    assert_eq!(record.revisions[0].actor, "auditor");
    assert_eq!(record.revisions[0].reason, "correction: accepted in 2019");
    assert_eq!(record.revisions[0].changes[0].field, "accepted_on");
    // Kunming's row moves the same way.
    find("regions/530100", "measures.protest", false);

    // As of the release's moment, the rollup gives the released figures again.
    let then = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            breakdown: RegionLevel::Prefecture as i32,
            as_of: rollup.as_of,
            ..Default::default()
        })
        .await;
    let values = |r: &procura_proto::v1::Rollup| -> Vec<(String, i64, Option<i64>)> {
        r.figures
            .iter()
            .map(|f| (f.metric.clone(), f.value, f.previous_value))
            .collect()
    };
    assert_eq!(values(&then), values(&rollup));
}

#[tokio::test]
async fn publishing_validates_and_retries_are_idempotent() {
    let app = spawn_app().await;
    let status = app
        .reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: "regions/53".into(),
                ..Default::default()
            }),
            title: String::new(),
            qualifiers: HashMap::from([("no.such.metric".to_owned(), 1)]),
            request_id: "not-a-uuid".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut fields: Vec<String> = check_field_violations(&status)
        .unwrap()
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "qualifiers[no.such.metric]",
            "request_id",
            "rollup.period",
            "rollup.region",
            "title"
        ]
    );
    let request = PublishRollupRequest {
        rollup: Some(GetRollupRequest {
            region: region("000000"),
            period: year(2020),
            ..Default::default()
        }),
        title: "national".into(),
        qualifiers: HashMap::new(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let first = app
        .reports
        .clone()
        .publish_rollup(request.clone())
        .await
        .unwrap()
        .into_inner()
        .release
        .unwrap();
    let second = app
        .reports
        .clone()
        .publish_rollup(request)
        .await
        .unwrap()
        .into_inner()
        .release
        .unwrap();
    assert_eq!(first.name, second.name);
    let missing = app
        .reports
        .clone()
        .get_release(GetReleaseRequest {
            name: "releases/999".into(),
        })
        .await
        .unwrap_err();
    assert_status(&missing, Code::NotFound, "RELEASE_NOT_FOUND");
}

#[tokio::test]
async fn a_figure_drills_down_to_its_parts_and_the_cases_behind_them() {
    let app = spawn_app().await;
    let names = fixture(&app).await;
    let explain = |region_code: &str, page_token: String| {
        let mut reports = app.reports.clone();
        let request = ExplainFigureRequest {
            region: region(region_code),
            period: year(2020),
            metric: "cases.accepted".into(),
            page_size: 1,
            page_token,
            ..Default::default()
        };
        async move { reports.explain_figure(request).await.unwrap().into_inner() }
    };
    // Yunnan: 3 = 1 at the provincial procuratorate itself + 2 in Kunming.
    let yunnan = explain("530000", String::new()).await;
    assert_eq!(yunnan.figure.as_ref().unwrap().value, 3);
    let parts: Vec<(&str, bool, i64)> = yunnan
        .parts
        .iter()
        .map(|p| (p.region.as_str(), p.own_records_only, p.value))
        .collect();
    assert_eq!(
        parts,
        vec![("regions/530000", true, 1), ("regions/530100", false, 2)]
    );
    assert_eq!(yunnan.cases.len(), 1);
    assert_eq!(yunnan.cases[0].case, names[2]);
    // 五华区, a leaf: its two cases, one page at a time.
    let first = explain("530102", String::new()).await;
    assert_eq!(first.cases.len(), 1);
    assert!(!first.next_page_token.is_empty());
    let second = explain("530102", first.next_page_token.clone()).await;
    assert_eq!(second.cases.len(), 1);
    assert!(second.next_page_token.is_empty());
    let cases: Vec<&str> = first
        .cases
        .iter()
        .chain(&second.cases)
        .map(|c| c.case.as_str())
        .collect();
    assert_eq!(cases, vec![names[0].as_str(), names[1].as_str()]);

    let status = app
        .reports
        .clone()
        .explain_figure(ExplainFigureRequest {
            region: region("530000"),
            period: year(2020),
            metric: "cases.everything".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(check_field_violations(&status).unwrap()[0].0, "metric");
}

#[tokio::test]
async fn indicators_show_their_numerator_and_denominator() {
    let app = spawn_app().await;
    fixture(&app).await;
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            comparison: Comparison::None as i32,
            include_indicators: true,
            ..Default::default()
        })
        .await;
    let by_id: HashMap<&str, (i64, i64, Option<f64>)> = rollup
        .indicators
        .iter()
        .map(|i| (i.id.as_str(), (i.numerator, i.denominator, i.percent)))
        .collect();
    // Measures 2020 in Yunnan: A's protest (adopted) and B's (pending): 1 of 2.
    assert_eq!(by_id["adoption_rate"], (1, 2, Some(50.0)));
    // One resolution (A), one case concluded (C): 1 / 1.
    assert_eq!(by_id["resolution_rate"], (1, 1, Some(100.0)));
    // Pending at 2020-12-31: A (accepted 2020-03-01: 6-12 months) and B (2020-07-01: 3-6).
    assert_eq!(by_id["pending.0_3_months"], (0, 2, Some(0.0)));
    assert_eq!(by_id["pending.3_6_months"], (1, 2, Some(50.0)));
    assert_eq!(by_id["pending.6_12_months"], (1, 2, Some(50.0)));
    assert_eq!(by_id["pending.over_12_months"], (0, 2, Some(0.0)));
    // Without a denominator the rate is undefined, not 0.
    let empty = app
        .rollup(GetRollupRequest {
            region: region("650000"),
            period: year(2020),
            include_indicators: true,
            ..Default::default()
        })
        .await;
    assert_eq!(empty.indicators.len(), 6);
    assert!(empty.indicators.iter().all(|i| i.percent.is_none()));
}

/// While cases keep arriving, a drill-down's figure equals the sum of the cases it lists, and
/// a diff's change of a figure equals the sum of its records' changes: each answer is read in
/// one snapshot, not statement by statement.
#[tokio::test]
async fn figures_and_the_records_behind_them_agree_while_cases_arrive() {
    let app = spawn_app().await;
    fixture(&app).await;
    let release = publish(&app).await;
    let writer = {
        let app_cases = app.cases.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let mut case = valid_case("530102", &format!("LIVE-{i}"));
                case.accepted_on = on(2020, 9, 1);
                case.measures = vec![measure(MeasureKind::Protest, date(2020, 9, 2))];
                app_cases
                    .clone()
                    .create_case(procura_proto::v1::CreateCaseRequest {
                        case: Some(case),
                        request_id: String::new(),
                    })
                    .await
                    .expect("CreateCase");
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads < 10 {
        reads += 1;
        let explained = app
            .reports
            .clone()
            .explain_figure(ExplainFigureRequest {
                region: region("530102"),
                period: year(2020),
                metric: "measures.protest".into(),
                page_size: 500,
                ..Default::default()
            })
            .await
            .expect("ExplainFigure")
            .into_inner();
        let figure = explained.figure.as_ref().unwrap().value;
        let listed: i64 = explained.cases.iter().map(|c| c.value).sum();
        assert_eq!(
            figure,
            listed,
            "read {reads}: the figure and the {} cases listed behind it disagree",
            explained.cases.len()
        );

        let diff = app
            .reports
            .clone()
            .diff_release(DiffReleaseRequest {
                name: release.name.clone(),
            })
            .await
            .expect("DiffRelease")
            .into_inner();
        for change in &diff.changes {
            let moved: i64 = change
                .records
                .iter()
                .map(|r| r.live_value - r.released_value)
                .sum();
            assert_eq!(
                change.live_value - change.released_value,
                moved,
                "read {reads}: {} of {} ({} records) changed by other than its records' changes",
                change.metric,
                change.region,
                change.records.len()
            );
        }
    }
    writer.await.unwrap();
}

/// A write that began before a release and committed after it is not counted at the
/// release's moment, however early its transaction began: the rollup as of that moment gives
/// the released figures, the diff names the write, and an explanation as of then leaves it out.
#[tokio::test]
async fn a_write_committed_after_a_release_counts_after_it_however_early_it_began() {
    let app = spawn_app().await;
    let mut first = valid_case("530102", "FIRST");
    first.accepted_on = on(2020, 3, 1);
    app.create_case(first).await;

    let mut slow = valid_case("530102", "SLOW");
    slow.accepted_on = on(2020, 4, 1);
    let (holder, write) = held_write(&app, slow).await;

    let release = app
        .reports
        .clone()
        .publish_rollup(PublishRollupRequest {
            rollup: Some(GetRollupRequest {
                region: region("530000"),
                period: year(2020),
                ..Default::default()
            }),
            title: "Yunnan 2020, one case".into(),
            ..Default::default()
        })
        .await
        .expect("PublishRollup")
        .into_inner()
        .release
        .unwrap();
    let released = release.rollup.unwrap();
    assert_eq!(figure(&released.figures, "cases.accepted").0, 1);

    let slow = finish(holder, write).await;

    // As of the release's moment: the released figure, though the write began before it.
    let then = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            as_of: released.as_of,
            ..Default::default()
        })
        .await;
    assert_eq!(figure(&then.figures, "cases.accepted").0, 1);
    let now = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            ..Default::default()
        })
        .await;
    assert_eq!(figure(&now.figures, "cases.accepted").0, 2);

    // The diff names the write as what moved the figure.
    let diff = diff_of(&app, &release.name).await;
    let accepted = diff
        .changes
        .iter()
        .find(|c| c.metric == "cases.accepted" && !c.comparison_period)
        .unwrap_or_else(|| panic!("cases.accepted did not change: {diff:#?}"));
    assert_eq!((accepted.released_value, accepted.live_value), (1, 2));
    let named: Vec<&str> = accepted.records.iter().map(|r| r.case.as_str()).collect();
    assert_eq!(named, vec![slow.as_str()]);

    // An explanation as of then lists the first case only.
    let explained = app
        .reports
        .clone()
        .explain_figure(ExplainFigureRequest {
            region: region("530102"),
            period: year(2020),
            as_of: released.as_of,
            metric: "cases.accepted".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(explained.figure.unwrap().value, 1);
    assert_eq!(explained.cases.len(), 1, "{:#?}", explained.cases);
}

type HeldWrite = tokio::task::JoinHandle<
    Result<tonic::Response<procura_proto::v1::CreateCaseResponse>, tonic::Status>,
>;

/// Starts creating `case` while another session holds the kept totals, and returns once the
/// write has begun, stored its case and waits, uncommitted, to add to the totals: the holding
/// session (a transaction) and the write.
async fn held_write(
    app: &TestApp,
    case: procura_proto::v1::Case,
) -> (AsyncPgConnection, HeldWrite) {
    let mut holder = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query("LOCK TABLE figure_totals IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut cases = app.cases.clone();
    let write = tokio::spawn(async move {
        cases
            .create_case(procura_proto::v1::CreateCaseRequest {
                case: Some(case),
                ..Default::default()
            })
            .await
    });
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        waiting: i64,
    }
    let mut watcher = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for attempt in 0.. {
        let w: Waiting = diesel::sql_query(
            "SELECT count(*) AS waiting FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'figure_totals' AND NOT l.granted",
        )
        .get_result(&mut watcher)
        .await
        .unwrap();
        if w.waiting > 0 {
            break;
        }
        assert!(attempt < 200, "the write never waited for the totals");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    (holder, write)
}

/// Lets the held write commit; returns the name of the case it created.
async fn finish(mut holder: AsyncPgConnection, write: HeldWrite) -> String {
    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .unwrap();
    let created = write
        .await
        .unwrap()
        .expect("the write goes through")
        .into_inner();
    created.case.unwrap().name
}

/// A time asked for "as of" counts what had been committed at the latest moment recorded at
/// or before it (one at least every `moment_interval`), and the rollup says which moment that
/// was: a write in flight at that time is left out, however early it began.
#[tokio::test]
async fn as_of_a_time_counts_what_was_committed_at_the_latest_moment_before_it() {
    let app = spawn_app_with(|s| s.moment_interval = std::time::Duration::from_millis(50)).await;
    let mut first = valid_case("530102", "FIRST");
    first.accepted_on = on(2020, 3, 1);
    app.create_case(first).await;
    let mut slow = valid_case("530102", "SLOW");
    slow.accepted_on = on(2020, 4, 1);
    let (holder, write) = held_write(&app, slow).await;
    // Moments are recorded while the write waits.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let asked = prost_types::Timestamp::from(std::time::SystemTime::now());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    finish(holder, write).await;

    let request = |as_of| GetRollupRequest {
        region: region("530000"),
        period: year(2020),
        as_of,
        ..Default::default()
    };
    let then = app.rollup(request(Some(asked))).await;
    assert_eq!(figure(&then.figures, "cases.accepted").0, 1);
    let reported = then.as_of.unwrap();
    assert!(
        (reported.seconds, reported.nanos) <= (asked.seconds, asked.nanos),
        "{reported:?} is after {asked:?}"
    );
    let recent = (asked.seconds * 1_000_000_000 + i64::from(asked.nanos))
        - (reported.seconds * 1_000_000_000 + i64::from(reported.nanos));
    assert!(
        recent < 250_000_000,
        "the moment is {recent} ns before the time asked"
    );
    let now = app.rollup(request(None)).await;
    assert_eq!(figure(&now.figures, "cases.accepted").0, 2);
}

/// Moments older than a day are thinned out to the last of each minute, except a release's.
#[tokio::test]
async fn old_moments_are_thinned_out_to_one_a_minute_and_releases_keep_theirs() {
    let app = spawn_app().await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query(
        "INSERT INTO moments (time, snapshot) \
         SELECT '2020-01-01T10:00:00Z'::timestamptz + s * interval '10 seconds', \
                pg_current_snapshot()::text \
         FROM generate_series(0, 11) s",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let gone = procura_server::db::moments::thin_out(&mut conn)
        .await
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Kept {
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        time: chrono::DateTime<chrono::Utc>,
    }
    let kept: Vec<Kept> =
        diesel::sql_query("SELECT time FROM moments WHERE time < '2021-01-01' ORDER BY time")
            .load(&mut conn)
            .await
            .unwrap();
    let kept: Vec<String> = kept
        .iter()
        .map(|k| k.time.format("%H:%M:%S").to_string())
        .collect();
    assert_eq!(kept, vec!["10:00:50", "10:01:50"]);
    assert_eq!(gone, 10);
}

/// A live rollup records its moment only when records changed since the moment a rollup as of
/// its time would find; reads, the access log and other moments do not count as changes.
#[tokio::test]
async fn a_live_rollup_records_a_moment_only_after_records_changed() {
    let app = spawn_app_with(|s| s.moment_interval = std::time::Duration::from_secs(3600)).await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        moments: i64,
    }
    let mut count = async || -> i64 {
        let c: Count = diesel::sql_query("SELECT count(*) AS moments FROM moments")
            .get_result(&mut conn)
            .await
            .unwrap();
        c.moments
    };
    let request = || GetRollupRequest {
        region: region("530000"),
        period: year(2020),
        ..Default::default()
    };
    // The recorder's first moment (at start; the next is an hour away) is taken before the
    // case is written.
    for attempt in 0.. {
        if count().await > 0 {
            break;
        }
        assert!(attempt < 200, "no moment recorded at start");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let first = app.create_case(valid_case("530102", "ONE")).await;
    let before = count().await;
    let seen = app.rollup(request()).await;
    assert_eq!(count().await, before + 1, "the rollup saw a new case");
    // Reads (logged in the access log) and another rollup change no record.
    app.get_case(&first.name).await;
    app.rollup(request()).await;
    assert_eq!(count().await, before + 1);
    app.create_case(valid_case("530102", "TWO")).await;
    app.rollup(request()).await;
    assert_eq!(count().await, before + 2);
    // The first rollup's moment still gives its figures.
    let again = app
        .rollup(GetRollupRequest {
            as_of: seen.as_of,
            ..request()
        })
        .await;
    assert_eq!(
        figure(&again.figures, "cases.accepted"),
        figure(&seen.figures, "cases.accepted")
    );
}
