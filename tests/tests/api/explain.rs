//! ExplainFigure "as of" a past moment: the figure, its parts and the cases behind it as the
//! records stood then, whatever changed since; without `as_of`, as they stand now.

use procura_proto::v1::{
    CaseStatus, ExplainFigureRequest, ExplainFigureResponse, GetRollupRequest, MeasureKind,
};
use tonic::Status;

use crate::helpers::*;

async fn explain(
    app: &TestApp,
    region_code: &str,
    metric: &str,
    as_of: Option<prost_types::Timestamp>,
    page_size: i32,
    page_token: &str,
) -> Result<ExplainFigureResponse, Status> {
    Ok(app
        .reports
        .clone()
        .explain_figure(ExplainFigureRequest {
            region: region(region_code),
            period: year(2020),
            metric: metric.to_owned(),
            as_of,
            page_size,
            page_token: page_token.to_owned(),
        })
        .await?
        .into_inner())
}

/// The figure, the parts (region, own records only, value) and the cases (name, value).
type Explained = (i64, Vec<(String, bool, i64)>, Vec<(String, i64)>);

fn summary(response: &ExplainFigureResponse) -> Explained {
    (
        response.figure.as_ref().expect("the figure").value,
        response
            .parts
            .iter()
            .map(|p| (p.region.clone(), p.own_records_only, p.value))
            .collect(),
        response
            .cases
            .iter()
            .map(|c| (c.case.clone(), c.value))
            .collect(),
    )
}

fn parts(list: &[(&str, bool, i64)]) -> Vec<(String, bool, i64)> {
    list.iter()
        .map(|(r, own, v)| ((*r).to_owned(), *own, *v))
        .collect()
}

fn cases(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(c, v)| ((*c).to_owned(), *v)).collect()
}

#[tokio::test]
async fn explain_figure_as_of_a_moment_lists_the_records_as_they_stood_then() {
    let app = spawn_app().await;
    // 五华区 (530102): A and B, each with a protest; 盘龙区 (530103): C.
    let mut a = valid_case("530102", "A");
    a.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 1))];
    let mut b = valid_case("530102", "B");
    b.accepted_on = on(2020, 4, 1);
    b.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 2))];
    let mut c = valid_case("530103", "C");
    c.accepted_on = on(2020, 5, 1);
    let a = app.create_case(a).await;
    let b = app.create_case(b).await;
    let c = app.create_case(c).await;
    // The moment: when a live rollup read the records.
    let moment = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            ..Default::default()
        })
        .await
        .as_of
        .expect("a live rollup says when it read the records");

    // After the moment: B withdrawn, A corrected to 2019, a late case D in 五华区.
    let mut withdrawn = app.get_case(&b.name).await;
    withdrawn.status = CaseStatus::Withdrawn as i32;
    app.update_case(withdrawn, &["status"]).await.unwrap();
    let mut moved = app.get_case(&a.name).await;
    moved.accepted_on = on(2019, 7, 1);
    app.update_case(moved, &["accepted_on"]).await.unwrap();
    let mut d = valid_case("530102", "D");
    d.accepted_on = on(2020, 6, 1);
    let d = app.create_case(d).await;

    // Cases accepted in 五华区 in 2020: then A and B, now D.
    let then = explain(&app, "530102", "cases.accepted", Some(moment), 0, "")
        .await
        .unwrap();
    assert_eq!(
        summary(&then),
        (
            2,
            parts(&[("regions/530102", true, 2)]),
            cases(&[(&a.name, 1), (&b.name, 1)])
        ),
        "as of the moment"
    );
    let now = explain(&app, "530102", "cases.accepted", None, 0, "")
        .await
        .unwrap();
    assert_eq!(
        summary(&now),
        (
            1,
            parts(&[("regions/530102", true, 1)]),
            cases(&[(&d.name, 1)])
        ),
        "live"
    );
    assert_eq!(then.cases[1].case_number, "B");
    assert_eq!(then.cases[1].region, "regions/530102");

    // One level up, the parts as they stood: Kunming's districts 2 + 1 then, 1 + 1 now.
    let kunming_then = explain(&app, "530100", "cases.accepted", Some(moment), 0, "")
        .await
        .unwrap();
    assert_eq!(
        summary(&kunming_then),
        (
            3,
            parts(&[("regions/530102", false, 2), ("regions/530103", false, 1)]),
            vec![]
        )
    );
    let kunming_now = explain(&app, "530100", "cases.accepted", None, 0, "")
        .await
        .unwrap();
    assert_eq!(
        summary(&kunming_now),
        (
            2,
            parts(&[("regions/530102", false, 1), ("regions/530103", false, 1)]),
            vec![]
        )
    );
    assert_eq!(c.region, "regions/530103");

    // Protests: the withdrawn B's counted then, not now; A's stays (issued in 2020).
    let protests_then = explain(&app, "530102", "measures.protest", Some(moment), 0, "")
        .await
        .unwrap();
    assert_eq!(
        summary(&protests_then).2,
        cases(&[(&a.name, 1), (&b.name, 1)])
    );
    let protests_now = explain(&app, "530102", "measures.protest", None, 0, "")
        .await
        .unwrap();
    assert_eq!(summary(&protests_now).2, cases(&[(&a.name, 1)]));

    // The figure as of the moment is the rollup's as of the moment.
    let rollup_then = app
        .rollup(GetRollupRequest {
            region: region("530102"),
            period: year(2020),
            as_of: Some(moment),
            ..Default::default()
        })
        .await;
    assert_eq!(value(&rollup_then.figures, "cases.accepted"), 2);
    assert_eq!(value(&rollup_then.figures, "measures.protest"), 2);

    // Pages as of the moment: one case each, and the token is bound to the moment.
    let first = explain(&app, "530102", "cases.accepted", Some(moment), 1, "")
        .await
        .unwrap();
    assert_eq!(summary(&first).2, cases(&[(&a.name, 1)]));
    let second = explain(
        &app,
        "530102",
        "cases.accepted",
        Some(moment),
        1,
        &first.next_page_token,
    )
    .await
    .unwrap();
    assert_eq!(summary(&second).2, cases(&[(&b.name, 1)]));
    assert!(second.next_page_token.is_empty());
    let live_with_token = explain(
        &app,
        "530102",
        "cases.accepted",
        None,
        1,
        &first.next_page_token,
    )
    .await;
    assert_invalid_field(
        &expect_err(live_with_token, "a token of an as-of explanation, live"),
        "page_token",
    );
}

#[tokio::test]
async fn explain_figure_refuses_a_moment_in_the_future() {
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let tomorrow = prost_types::Timestamp {
        seconds: now + 86_400,
        nanos: 0,
    };
    let status = expect_err(
        explain(&app, "530102", "cases.accepted", Some(tomorrow), 0, "").await,
        "as_of tomorrow",
    );
    assert_invalid_field(&status, "as_of");
}
