//! `procura cases import` against the real server: an import stopped midway and continued
//! with `--resume` stores every case exactly once, a CSV file is imported with every column,
//! as is what `cases list --format csv` prints, and the sample file `data/samples/cases.jsonl`
//! is imported with its records, as is what `cases list --format json` prints of them.

use std::time::{Duration, Instant};

use procura_proto::v1::{
    ApplicantType, Case, CaseStatus, CaseType, GetRollupRequest, ListCasesRequest, Sector,
};

use crate::helpers::*;

/// Cases of the interrupted import, and its batch size.
const CASES: u64 = 2_000;
const BATCH: u64 = 10;

fn jsonl_case(number: &str) -> String {
    format!(
        "{{\"region\":\"530102\",\"case_number\":\"{number}\",\"case_type\":\"judgment\",\
         \"applicant_type\":\"natural-person\",\"sector\":\"public-security\",\
         \"accepted_on\":\"2020-03-01\"}}\n"
    )
}

/// Cases in the database, how many distinct case numbers, read with SQL.
async fn stored(app: &TestApp) -> (u64, u64) {
    let row = query_values(
        &app.db_url,
        "SELECT count(*) || ' ' || count(DISTINCT case_number) AS value FROM cases",
    )
    .await;
    let counts: Vec<u64> = row[0].split(' ').map(|n| n.parse().unwrap()).collect();
    (counts[0], counts[1])
}

/// The import's state file, once it exists and parses.
fn read_state(path: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stopped_midway_resumes_after_its_last_acknowledged_batch_storing_each_case_once()
{
    let app = spawn_app().await;
    let numbers: Vec<String> = (1..=CASES).map(|i| format!("RESUME-{i:05}")).collect();
    let file = TempFile::with_contents(
        ".jsonl",
        &numbers.iter().map(|n| jsonl_case(n)).collect::<String>(),
    );
    let state_path = format!("{}.import-state", file.path_str());
    let batch = BATCH.to_string();

    // The first run is stopped abruptly (SIGKILL: the CLI has no signal handler, so Ctrl-C
    // stops it the same way) once its state file says 10 batches are acknowledged.
    let mut first = KillOnDrop(
        app.cli_command(&["cases", "import", file.path_str(), "--batch-size", &batch])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start procura cases import"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = first.0.try_wait().unwrap() {
            panic!("the import ended ({status}) before it could be stopped midway");
        }
        if read_state(&state_path).is_some_and(|s| s["last_batch"].as_u64() >= Some(10)) {
            break;
        }
        assert!(Instant::now() < deadline, "no state file after 60 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.0.kill().unwrap();
    let status = first.0.wait().unwrap();
    assert!(!status.success(), "the first run was stopped: {status}");

    let state = read_state(&state_path).expect("the state file stays after the stop");
    let last_batch = state["last_batch"].as_u64().expect("last_batch");
    assert_eq!(state["batch_size"].as_u64(), Some(BATCH), "{state}");
    assert_eq!(
        state["last_line"].as_u64(),
        Some(last_batch * BATCH),
        "{state}"
    );
    assert_eq!(
        state["tally"]["created"].as_u64(),
        Some(last_batch * BATCH),
        "{state}"
    );
    // Batches the server had received may still be committing after the CLI is gone: wait
    // until the number stored holds still.
    let mut stored_then = stored(&app).await.0;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = stored(&app).await.0;
        if now == stored_then {
            break;
        }
        stored_then = now;
    }
    eprintln!("stopped after batch {last_batch}, with {stored_then} cases stored");
    assert!(
        stored_then >= last_batch * BATCH && stored_then < CASES,
        "stopped midway: {stored_then} of {CASES} cases stored, {last_batch} batches acknowledged"
    );

    // The same command with --resume (and the default batch size, which the state overrides).
    let resumed = app
        .cli(&["cases", "import", file.path_str(), "--resume"])
        .await;
    let out = resumed.expect_success("cases import --resume");

    assert!(
        resumed.stderr.lines().any(|l| l.starts_with(&format!(
            "resuming after batch {last_batch} (line {}) from ",
            last_batch * BATCH
        ))),
        "{}",
        resumed.stderr
    );
    // Batches 1..=last_batch are not sent again: the cases already present are only those of
    // the batches in flight when the first run stopped, committed but not acknowledged.
    let present = stored_then - last_batch * BATCH;
    assert_eq!(
        out.lines().next(),
        Some(
            format!(
                "created {}, already present {present}, rejected 0",
                CASES - present
            )
            .as_str()
        ),
        "{out}"
    );
    assert_eq!(
        stored(&app).await,
        (CASES, CASES),
        "(cases, distinct numbers)"
    );
    let listed = app.list_case_numbers(ListCasesRequest::default()).await;
    assert_eq!(listed, numbers, "every case of the file, once");
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("530102"),
            period: year(2020),
            ..Default::default()
        })
        .await;
    assert_eq!(
        value(&rollup.figures, "cases.accepted"),
        CASES as i64,
        "each case counted once in the kept totals"
    );
    assert!(
        !std::path::Path::new(&state_path).exists(),
        "the state file is removed when the import completes"
    );
}

/// The cases of `app` without what the server sets (name, times, etag), by case number.
async fn cases_as_submitted(app: &TestApp) -> Vec<Case> {
    let mut cases = app.list_all_cases(ListCasesRequest::default()).await;
    for case in &mut cases {
        case.name.clear();
        case.etag.clear();
        case.create_time = None;
        case.update_time = None;
    }
    cases.sort_by(|a, b| a.case_number.cmp(&b.case_number));
    cases
}

#[tokio::test]
async fn a_csv_file_imports_every_column_and_cases_list_csv_imports_again() {
    let app = spawn_app().await;
    // Columns in another order than the CLI prints them, enum values as flags or proto names,
    // a quoted summary with a comma, quotes and Chinese, and a bad date on line 4.
    let csv = "\
case_number,region,accepted_on,case_type,applicant_type,sector,status,concluded_on,leader_handled,public_hearing,private_enterprise,spp_listed_batch,typical,summary
CSV-1,530102,2020-03-01,judgment,natural-person,public-security,accepted,,false,false,false,0,false,
CSV-2,530103,2020-04-02,CASE_TYPE_ENFORCEMENT_SUPERVISION,APPLICANT_TYPE_PRIVATE_ENTERPRISE,SECTOR_NATURAL_RESOURCES,concluded,2020-09-30,true,true,true,2,true,\"土地征收, \"\"补偿\"\" 争议\"
CSV-3,110101,2020-13-01,judgment,natural-person,public-security,accepted,,false,false,false,0,false,
CSV-4,530000,2020-05-03,judgment,other-organization,other,accepted,,false,false,false,0,false,省院
";
    let file = TempFile::with_contents(".csv", csv);

    let output = app.cli(&["cases", "import", file.path_str()]).await;

    assert_eq!(output.code, Some(2), "a rejected line: exit 2\n{output:?}");
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{output:?}");
    assert_eq!(lines[0], "created 3, already present 0, rejected 1");
    assert!(
        lines[1].starts_with("line 4: case.accepted_on: "),
        "the header is line 1, so CSV-3 is line 4: {output:?}"
    );
    let mut one = valid_case("530102", "CSV-1");
    one.status = CaseStatus::Accepted as i32;
    one.summary.clear();
    let two = Case {
        region: region("530103"),
        case_number: "CSV-2".to_owned(),
        case_type: CaseType::EnforcementSupervision as i32,
        status: CaseStatus::Concluded as i32,
        applicant_type: ApplicantType::PrivateEnterprise as i32,
        sector: Sector::NaturalResources as i32,
        accepted_on: on(2020, 4, 2),
        concluded_on: on(2020, 9, 30),
        leader_handled: true,
        public_hearing: true,
        private_enterprise: true,
        spp_listed_batch: 2,
        typical: true,
        summary: "土地征收, \"补偿\" 争议".to_owned(),
        ..Case::default()
    };
    let four = Case {
        region: region("530000"),
        case_number: "CSV-4".to_owned(),
        case_type: CaseType::JudgmentSupervision as i32,
        status: CaseStatus::Accepted as i32,
        applicant_type: ApplicantType::OtherOrganization as i32,
        sector: Sector::Other as i32,
        accepted_on: on(2020, 5, 3),
        summary: "省院".to_owned(),
        ..Case::default()
    };
    assert_eq!(cases_as_submitted(&app).await, vec![one, two, four]);

    // What `cases list --format csv` prints imports again, into another server, as it was.
    let listed = app.cli(&["cases", "list", "--format", "csv"]).await;
    let exported =
        TempFile::with_contents(".csv", listed.expect_success("cases list --format csv"));
    let other = spawn_app().await;
    let again = other.cli(&["cases", "import", exported.path_str()]).await;
    assert_eq!(
        again.expect_success("cases import of cases list --format csv"),
        "created 3, already present 0, rejected 0\n"
    );
    assert_eq!(
        cases_as_submitted(&other).await,
        cases_as_submitted(&app).await
    );
}

/// The cases of `app` with their records, without what the server sets (names, times, etags).
async fn records_as_submitted(app: &TestApp) -> Vec<Case> {
    let mut cases = cases_as_submitted(app).await;
    for case in &mut cases {
        for measure in &mut case.measures {
            measure.name.clear();
            measure.create_time = None;
            measure.update_time = None;
        }
        if let Some(resolution) = case.resolution.as_mut() {
            resolution.name.clear();
            resolution.create_time = None;
        }
        for aid in &mut case.aid_grants {
            aid.name.clear();
            aid.create_time = None;
        }
    }
    cases
}

#[tokio::test]
async fn the_sample_file_imports_and_cases_list_json_imports_again() {
    let sample =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/samples/cases.jsonl");
    let app = spawn_app().await;
    let output = app
        .cli(&["cases", "import", sample.to_str().unwrap()])
        .await;
    assert_eq!(
        output.expect_success("cases import data/samples/cases.jsonl"),
        "created 3, already present 0, rejected 0\n"
    );
    let cases = records_as_submitted(&app).await;
    let records: Vec<(usize, bool, usize)> = cases
        .iter()
        .map(|c| (c.measures.len(), c.resolution.is_some(), c.aid_grants.len()))
        .collect();
    assert_eq!(
        records,
        [(1, true, 1), (1, false, 0), (1, false, 0)],
        "measures, resolution and aid grants of the sample's cases, by case number"
    );
    assert_eq!(cases[0].aid_grants[0].amount_fen, 800_000);

    // `cases list --format json` prints one pretty-printed array: it imports again, into
    // another server, with every record as it was.
    let listed = app.cli(&["cases", "list", "--format", "json"]).await;
    let listed = listed.expect_success("cases list --format json");
    assert!(listed.starts_with("[\n  {\n"), "pretty-printed: {listed}");
    let exported = TempFile::with_contents(".json", listed);
    let other = spawn_app().await;
    let again = other.cli(&["cases", "import", exported.path_str()]).await;
    assert_eq!(
        again.expect_success("cases import of cases list --format json"),
        "created 3, already present 0, rejected 0\n"
    );
    assert_eq!(records_as_submitted(&other).await, cases);
    // Into the first server again: every case is there already.
    let twice = app.cli(&["cases", "import", exported.path_str()]).await;
    assert_eq!(
        twice.expect_success("cases import of the same cases"),
        "created 0, already present 3, rejected 0\n"
    );
}
