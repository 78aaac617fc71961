//! The `procura` command-line client, driven as a user would: the real binary of this build
//! (`cargo build --workspace --bins` first) against a spawned server. Records the CLI stores
//! are checked through gRPC, not only through the CLI's own output.

use procura_proto::v1::{
    Adoption, CaseStatus, GetRollupRequest, ListCasesRequest, MeasureKind, ResolutionMethod,
};
use serde_json::Value;

use crate::helpers::{
    METRICS, TempFile, TestApp, aid, answered, date, has_word, measure, on, resolution, row,
    spawn_app, trailing_id, valid_case, year,
};

const CREATE: &[&str] = &[
    "cases",
    "create",
    "--region",
    "530102",
    "--case-number",
    "昆五检行监〔2020〕7号",
    "--type",
    "judgment",
    "--applicant",
    "natural-person",
    "--sector",
    "public-security",
    "--accepted",
    "2020-03-01",
];

/// `procura cases create` with `CREATE`'s arguments; returns the stored case's name.
async fn create_with_cli(app: &TestApp) -> String {
    let output = app.cli(CREATE).await;
    let stdout = output.expect_success("procura cases create");
    let cases = app.list_all_cases(ListCasesRequest::default()).await;
    assert_eq!(cases.len(), 1, "one case stored");
    let case = &cases[0];
    assert_eq!(case.case_number, "昆五检行监〔2020〕7号");
    assert_eq!(case.region, "regions/530102");
    assert_eq!(case.accepted_on, on(2020, 3, 1));
    assert_eq!(
        row(stdout, "Case:"),
        [case.name.as_str()],
        "create prints the new case's name"
    );
    case.name.clone()
}

#[tokio::test]
async fn cli_creates_a_case_and_shows_it() {
    let app = spawn_app().await;
    let name = create_with_cli(&app).await;
    let id = trailing_id(&name);

    let by_id = app.cli(&["cases", "get", id]).await;
    let stdout = by_id.expect_success("procura cases get ID");
    assert_eq!(row(stdout, "Case:"), [name.as_str()], "{stdout}");
    assert_eq!(row(stdout, "Case number:"), ["昆五检行监〔2020〕7号"]);
    assert_eq!(row(stdout, "Accepted on:"), ["2020-03-01"], "{stdout}");

    let by_name = app.cli(&["cases", "get", &name]).await;
    let stdout = by_name.expect_success("procura cases get NAME");
    assert_eq!(row(stdout, "Case:"), [name.as_str()], "{stdout}");
    assert_eq!(row(stdout, "Case number:"), ["昆五检行监〔2020〕7号"]);

    let as_json = app.cli(&["cases", "get", id, "--format", "json"]).await;
    let json: Value = serde_json::from_str(as_json.expect_success("cases get --format json"))
        .expect("cases get --format json prints JSON");
    assert_eq!(json["name"], Value::String(name.clone()));
    assert_eq!(json["case_number"], "昆五检行监〔2020〕7号");
}

#[tokio::test]
async fn cli_get_of_an_unknown_case_fails() {
    let app = spawn_app().await;

    let output = app.cli(&["cases", "get", "999999"]).await;

    let stderr = output.expect_failure("procura cases get 999999");
    assert!(has_word(stderr, "cases/999999"), "names the case: {stderr}");
}

#[tokio::test]
async fn cli_records_measures_resolutions_and_aid() {
    let app = spawn_app().await;
    let name = create_with_cli(&app).await;
    let id = trailing_id(&name).to_owned();

    app.cli(&[
        "measures",
        "add",
        &id,
        "--kind",
        "protest",
        "--issued",
        "2020-04-01",
        "--addressee",
        "法院",
    ])
    .await
    .expect_success("procura measures add");
    let measures = app.get_case(&name).await.measures;
    assert_eq!(measures.len(), 1);
    let measure_name = measures[0].name.clone();
    assert_eq!(measures[0].kind, MeasureKind::Protest as i32);
    assert_eq!(measures[0].addressee, "法院");
    assert_eq!(measures[0].adoption, Adoption::Pending as i32);

    app.cli(&[
        "measures",
        "adopt",
        &measure_name,
        "--adopted",
        "--answered",
        "2020-05-01",
    ])
    .await
    .expect_success("procura measures adopt");

    app.cli(&[
        "resolutions",
        "add",
        &id,
        "--method",
        "reconciliation",
        "--resolved",
        "2020-06-01",
    ])
    .await
    .expect_success("procura resolutions add");

    app.cli(&[
        "aid",
        "add",
        &id,
        "--granted",
        "2020-06-02",
        "--amount",
        "1234.56",
    ])
    .await
    .expect_success("procura aid add");

    let case = app.get_case(&name).await;
    assert_eq!(case.measures[0].adoption, Adoption::Adopted as i32);
    assert_eq!(case.measures[0].answered_on, on(2020, 5, 1));
    let stored_resolution = case.resolution.as_ref().expect("a resolution");
    assert_eq!(
        stored_resolution.method,
        ResolutionMethod::Reconciliation as i32
    );
    assert_eq!(stored_resolution.resolved_on, on(2020, 6, 1));
    assert_eq!(case.aid_grants.len(), 1);
    assert_eq!(
        case.aid_grants[0].amount_fen, 123_456,
        "1234.56 yuan is 123,456 fen"
    );
    assert_eq!(case.aid_grants[0].granted_on, on(2020, 6, 2));

    let shown = app.cli(&["cases", "get", &id]).await;
    let stdout = shown.expect_success("procura cases get");
    // The table rows of the measure and the grant.
    assert_eq!(
        row(stdout, &measure_name),
        [
            "protest",
            "2020-04-01",
            "court",
            "法院",
            "adopted",
            "2020-05-01"
        ],
        "{stdout}"
    );
    assert_eq!(
        row(stdout, &case.aid_grants[0].name),
        ["2020-06-02", "1,234.56", "yuan", "-"],
        "the aid amount in yuan:\n{stdout}"
    );
}

#[tokio::test]
async fn cli_rejects_an_invalid_date_before_calling_the_server() {
    let app = spawn_app().await;
    let mut args = CREATE.to_vec();
    let last = args.len() - 1;
    args[last] = "2021-02-30";

    let output = app.cli(&args).await;

    let stderr = output.expect_failure("cases create --accepted 2021-02-30");
    assert!(stderr.contains("accepted"), "names the field: {stderr}");
    assert!(stderr.contains("2021-02-30"), "shows the value: {stderr}");
    assert!(
        app.list_all_cases(ListCasesRequest::default())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn cli_prints_the_servers_field_violations() {
    let app = spawn_app().await;
    let mut args = CREATE.to_vec();
    // Well-formed for the CLI, rejected by the server: conclusion before acceptance.
    args.extend(["--status", "concluded", "--concluded", "2020-02-01"]);

    let output = app.cli(&args).await;

    let stderr = output.expect_failure("cases create concluded before accepted");
    assert!(
        stderr.contains("case.concluded_on"),
        "field path on stderr: {stderr}"
    );
    assert!(
        app.list_all_cases(ListCasesRequest::default())
            .await
            .is_empty()
    );

    // A duplicate names the existing case.
    let name = create_with_cli(&app).await;
    let duplicate = app.cli(CREATE).await;
    let stderr = duplicate.expect_failure("a duplicate cases create");
    assert!(
        stderr.contains(&name),
        "names the existing case {name}: {stderr}"
    );
}

/// The "CLI" fixture for the rollup commands, in Yunnan, 2020 vs 2019:
/// - R1 at 530102, accepted 2020-03-01, leader-handled: protest 2020-04-01 adopted 2020-05-01,
///   aid 2020-06-02 123,456 fen.
/// - R2 at 530302 (Qujing), accepted 2020-05-01: retrial suggestion 2020-06-01; resolution
///   reconciliation 2020-07-01.
/// - R3 at 530102, accepted 2019-05-01, concluded 2019-12-01: protest 2019-06-01.
/// - R4 at 110101 (Beijing), accepted 2020-03-01: protest 2020-04-01 (not counted).
///
/// Expected for 530000, 2020: measures.total 2 (previous 1, +100.0), protest 1 (1, 0.0),
/// protest.adopted 1 (0, none), retrial_suggestion 1 (0, none), protest_and_retrial 2 (1,
/// +100.0), cases.accepted 2 (1, +100.0), cases.concluded 0 (1, -100.0), resolutions.total 1,
/// resolutions.reconciliation 1, aid.grants 1, aid.amount_fen 123,456, markers.leader_handled
/// 1; everything else 0.
async fn rollup_fixture(app: &TestApp) {
    let mut r1 = valid_case("530102", "R1");
    r1.leader_handled = true;
    r1.measures = vec![answered(
        measure(MeasureKind::Protest, date(2020, 4, 1)),
        Adoption::Adopted,
        date(2020, 5, 1),
    )];
    r1.aid_grants = vec![aid(date(2020, 6, 2), 123_456)];
    app.create_case(r1).await;

    let mut r2 = valid_case("530302", "R2");
    r2.accepted_on = on(2020, 5, 1);
    r2.measures = vec![measure(MeasureKind::RetrialSuggestion, date(2020, 6, 1))];
    r2.resolution = Some(resolution(
        ResolutionMethod::Reconciliation,
        date(2020, 7, 1),
    ));
    app.create_case(r2).await;

    let mut r3 = valid_case("530102", "R3");
    r3.accepted_on = on(2019, 5, 1);
    r3.status = CaseStatus::Concluded as i32;
    r3.concluded_on = on(2019, 12, 1);
    r3.measures = vec![measure(MeasureKind::Protest, date(2019, 6, 1))];
    app.create_case(r3).await;

    let mut r4 = valid_case("110101", "R4");
    r4.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 1))];
    app.create_case(r4).await;
}

/// (metric, value, previous, change) for 530000 in 2020, from the fixture above.
const CLI_ROLLUP: &[(&str, i64, i64, Option<f64>)] = &[
    ("measures.total", 2, 1, Some(100.0)),
    ("measures.protest_and_retrial", 2, 1, Some(100.0)),
    ("measures.protest", 1, 1, Some(0.0)),
    ("measures.protest.adopted", 1, 0, None),
    ("measures.retrial_suggestion", 1, 0, None),
    ("cases.accepted", 2, 1, Some(100.0)),
    ("cases.concluded", 0, 1, Some(-100.0)),
    ("resolutions.total", 1, 0, None),
    ("resolutions.reconciliation", 1, 0, None),
    ("aid.grants", 1, 0, None),
    ("aid.amount_fen", 123_456, 0, None),
    ("markers.leader_handled", 1, 0, None),
];

fn expected_cli_figure(metric: &str) -> (i64, i64, Option<f64>) {
    CLI_ROLLUP
        .iter()
        .find(|(m, _, _, _)| *m == metric)
        .map_or((0, 0, None), |(_, v, p, c)| (*v, *p, *c))
}

#[tokio::test]
async fn cli_rollup_as_json_matches_the_records() {
    let app = spawn_app().await;
    rollup_fixture(&app).await;

    let output = app
        .cli(&[
            "rollup", "--region", "530000", "--year", "2020", "--format", "json",
        ])
        .await;

    let stdout = output.expect_success("procura rollup --format json");
    let json: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("rollup --format json is not JSON ({e}):\n{stdout}"));
    let figures = json["figures"]
        .as_array()
        .unwrap_or_else(|| panic!("no figures array in {json}"));
    assert_eq!(figures.len(), METRICS.len(), "every metric: {json}");
    for metric in METRICS {
        let found: Vec<&Value> = figures.iter().filter(|f| f["metric"] == metric).collect();
        assert_eq!(found.len(), 1, "{metric} once in {json}");
        let figure = found[0];
        let (want_value, want_previous, want_change) = expected_cli_figure(metric);
        assert_eq!(
            figure["value"].as_i64(),
            Some(want_value),
            "{metric}: {figure}"
        );
        assert_eq!(
            figure["previous_value"].as_i64(),
            Some(want_previous),
            "{metric}: {figure}"
        );
        match want_change {
            None => assert!(
                figure["change_percent"].is_null(),
                "{metric}: an undefined change is null, not 0 or infinity: {figure}"
            ),
            Some(change) => {
                let got = figure["change_percent"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{metric}: change_percent missing: {figure}"));
                assert!((got - change).abs() < 1e-9, "{metric}: {figure}");
            }
        }
    }

    // The JSON says the same as the API.
    let rollup = app
        .rollup(GetRollupRequest {
            region: "regions/530000".to_owned(),
            period: year(2020),
            ..Default::default()
        })
        .await;
    for figure in &rollup.figures {
        let json_figure = figures
            .iter()
            .find(|f| f["metric"] == figure.metric.as_str())
            .expect("the metric");
        assert_eq!(json_figure["value"].as_i64(), Some(figure.value));
    }
}

#[tokio::test]
async fn cli_rollup_as_csv_has_one_record_per_figure() {
    let app = spawn_app().await;
    rollup_fixture(&app).await;

    let output = app
        .cli(&[
            "rollup", "--region", "530000", "--year", "2020", "--format", "csv",
        ])
        .await;

    let stdout = output.expect_success("procura rollup --format csv");
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a CSV header row")
        .iter()
        .map(str::to_owned)
        .collect();
    // The eight columns of the brief, first and in this order (later columns are extensions,
    // e.g. a release's `qualifier`).
    let expected = [
        "region",
        "display_name",
        "metric",
        "label",
        "unit",
        "value",
        "previous_value",
        "change_percent",
    ];
    assert!(
        header.len() >= expected.len() && header[..expected.len()] == expected,
        "CSV header {header:?}, expected it to start with {expected:?}"
    );
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.unwrap_or_else(|e| panic!("invalid CSV ({e}):\n{stdout}")))
        .collect();
    assert_eq!(
        records.len(),
        METRICS.len(),
        "one record per figure, no breakdown rows:\n{stdout}"
    );
    let column = |record: &csv::StringRecord, name: &str| -> String {
        let index = expected.iter().position(|c| *c == name).expect("a column");
        record.get(index).unwrap_or_default().to_owned()
    };
    for metric in METRICS {
        let matching: Vec<&csv::StringRecord> = records
            .iter()
            .filter(|r| column(r, "metric") == metric)
            .collect();
        assert_eq!(matching.len(), 1, "{metric} once:\n{stdout}");
        let record = matching[0];
        assert_eq!(column(record, "region"), "530000", "{record:?}");
        assert_eq!(column(record, "display_name"), "云南省", "{record:?}");
        assert!(!column(record, "label").is_empty(), "{record:?}");
        let (want_value, want_previous, want_change) = expected_cli_figure(metric);
        assert_eq!(
            column(record, "value"),
            want_value.to_string(),
            "{record:?}"
        );
        assert_eq!(
            column(record, "previous_value"),
            want_previous.to_string(),
            "{record:?}"
        );
        let change = column(record, "change_percent");
        match want_change {
            None => assert_eq!(
                change, "",
                "{metric}: an undefined change is empty: {record:?}"
            ),
            Some(want) => {
                let got: f64 = change
                    .parse()
                    .unwrap_or_else(|e| panic!("{metric}: change {change:?}: {e}"));
                assert!((got - want).abs() < 1e-9, "{metric}: {record:?}");
            }
        }
    }
}

#[tokio::test]
async fn cli_imports_jsonl_and_reports_each_rejected_line() {
    let app = spawn_app().await;
    let line = |number: &str, region: &str| {
        format!(
            "{{\"region\":\"{region}\",\"case_number\":\"{number}\",\"case_type\":\"judgment\",\
             \"applicant_type\":\"natural-person\",\"sector\":\"public-security\",\
             \"accepted_on\":\"2020-03-01\"}}"
        )
    };
    // Line 3 names a region that does not exist: only the server can tell.
    let contents = [
        line("I-1", "530102"),
        line("I-2", "530103"),
        line("I-3", "999999"),
        line("I-4", "110101"),
    ]
    .join("\n")
        + "\n";
    let file = TempFile::with_contents(".jsonl", &contents);

    let first = app.cli(&["cases", "import", file.path_str()]).await;

    assert!(
        !first.success(),
        "a rejected line makes the import fail: {first:?}"
    );
    assert!(first.code.is_some(), "{first:?}");
    // The summary line, then one line per rejection naming the line and the field.
    let report: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(report.len(), 2, "{first:?}");
    assert_eq!(
        report[0], "created 3, already present 0, rejected 1",
        "{first:?}"
    );
    assert!(
        report[1].starts_with("line 3: case.region: "),
        "names the bad line and field: {first:?}"
    );
    assert_eq!(
        app.list_case_numbers(ListCasesRequest::default()).await,
        vec!["I-1", "I-2", "I-4"]
    );

    let second = app.cli(&["cases", "import", file.path_str()]).await;

    let report: Vec<&str> = second.stdout.lines().collect();
    assert_eq!(report.len(), 2, "{second:?}");
    assert_eq!(
        report[0], "created 0, already present 3, rejected 1",
        "{second:?}"
    );
    assert!(report[1].starts_with("line 3: case.region: "), "{second:?}");
    assert_eq!(
        app.list_case_numbers(ListCasesRequest::default()).await,
        vec!["I-1", "I-2", "I-4"],
        "a second import stores nothing new"
    );
}
