//! `procura demo load` end to end: the real CLI stores the demo data set in a spawned server,
//! and the server's own rollups of those records give every figure of
//! `data/published-figures-2020.csv` (the demo's values, the previous year's values and the
//! published year-on-year change), with the size the README gives: 47,358 cases accepted
//! 2019-01-01..2020-12-31 at 3,307 procuratorates in all 31 provinces. Loading a second time
//! stores nothing new, and says when other records in the database change the demo's figures.

use procura_proto::v1::{Comparison, Date, GetRollupRequest, MeasureKind};

use crate::helpers::{
    CliOutput, TestApp, date, figure, measure, query_values, range, region, spawn_app, valid_case,
};

/// Cases of the demo data set (README, "The 2020 national figures, rebuilt from records").
const DEMO_CASES: i64 = 47_358;
/// Procuratorates with cases in the demo data set (README).
const DEMO_PROCURATORATES: i64 = 3_307;

/// The published figures, vendored from `shared/data/published-figures/`.
const PUBLISHED: &str = include_str!("../../../data/published-figures-2020.csv");

/// One row of the published figures.
#[derive(Debug)]
struct Row {
    id: String,
    start: Date,
    end: Date,
    published_yoy_percent: Option<i64>,
    demo_value: i64,
    demo_previous_year_value: Option<i64>,
}

/// Splits one CSV line into fields (double quotes enclose fields with commas; `""` is a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn parse_date(text: &str) -> Date {
    let parts: Vec<i32> = text
        .split('-')
        .map(|p| p.parse().unwrap_or_else(|_| panic!("bad date {text}")))
        .collect();
    assert_eq!(parts.len(), 3, "bad date {text}");
    date(parts[0], parts[1], parts[2])
}

fn published_rows() -> Vec<Row> {
    let mut lines = PUBLISHED.lines().filter(|l| !l.trim().is_empty());
    let header = csv_fields(lines.next().expect("a header row"));
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in published-figures-2020.csv"))
    };
    let number = |text: &str| -> Option<i64> {
        (!text.trim().is_empty()).then(|| text.trim().parse().expect("a whole number"))
    };
    lines
        .map(|line| {
            let cells = csv_fields(line);
            assert_eq!(cells.len(), header.len(), "row {line}");
            Row {
                id: cells[column("id")].clone(),
                start: parse_date(&cells[column("period_start")]),
                end: parse_date(&cells[column("period_end")]),
                published_yoy_percent: number(&cells[column("published_yoy_percent")]),
                demo_value: number(&cells[column("demo_value")]).expect("a demo value"),
                demo_previous_year_value: number(&cells[column("demo_previous_year_value")]),
            }
        })
        .collect()
}

/// The rollup metric of a published figure, and how many of the metric's units make one of
/// the CSV's (the CSV gives aid in yuan, the service in fen).
fn metric_of(id: &str) -> (&'static str, i64) {
    match id {
        "protests_and_retrial_suggestions" => ("measures.protest_and_retrial", 1),
        "trial_violation_suggestions" => ("measures.trial_violation_suggestion", 1),
        "enforcement_violation_suggestions" => ("measures.enforcement_violation_suggestion", 1),
        "social_governance_suggestions" => ("measures.social_governance_suggestion", 1),
        "administrative_organ_suggestions" => ("measures.administrative_organ_suggestion", 1),
        "disputes_resolved" => ("resolutions.total", 1),
        "private_enterprise_disputes_resolved" => ("resolutions.private_enterprise", 1),
        "judicial_aid_grants" => ("aid.grants", 1),
        "judicial_aid_yuan" => ("aid.amount_fen", 100),
        "listed_major_cases" => ("markers.spp_listed", 1),
        "listed_private_enterprise_cases" => ("markers.spp_listed_private_enterprise", 1),
        "typical_cases" => ("markers.typical", 1),
        other => panic!("published figure {other} has no metric in this test"),
    }
}

/// The counts of the line `... created N, already present M, rejected K` of the load.
fn load_counts(output: &CliOutput) -> (i64, i64, i64) {
    let stdout = output.expect_success("procura demo load");
    let line = stdout
        .lines()
        .find(|l| l.contains("created ") && l.contains("already present "))
        .unwrap_or_else(|| panic!("no created/already present line in:\n{stdout}"));
    let count = |label: &str| -> i64 {
        let rest = &line[line
            .find(label)
            .unwrap_or_else(|| panic!("no `{label}` in {line}"))
            + label.len()..];
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("no number after `{label}` in {line}"))
    };
    (
        count("created "),
        count("already present "),
        count("rejected "),
    )
}

async fn national_rollup(app: &TestApp, start: Date, end: Date) -> procura_proto::v1::Rollup {
    app.rollup(GetRollupRequest {
        region: region("000000"),
        period: range(start, end),
        comparison: Comparison::PreviousYear as i32,
        ..GetRollupRequest::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_data_set_reproduces_every_published_figure() {
    let app = spawn_app().await;

    let first = app.cli(&["demo", "load"]).await;
    let (created, present, rejected) = load_counts(&first);
    assert_eq!(
        (created, present, rejected),
        (DEMO_CASES, 0, 0),
        "first load: (created, already present, rejected)\n{}",
        first.stdout
    );
    // What the database holds: every case, at every procuratorate the README names.
    let stored = query_values(
        &app.db_url,
        "SELECT concat_ws(' ', count(*), count(DISTINCT region_code), \
         count(DISTINCT left(region_code, 2)), \
         count(*) FILTER (WHERE accepted_on NOT BETWEEN '2019-01-01' AND '2020-12-31')) \
         AS value FROM cases",
    )
    .await;
    assert_eq!(
        stored,
        [format!("{DEMO_CASES} {DEMO_PROCURATORATES} 31 0")],
        "cases, procuratorates, provinces, and cases accepted outside 2019-2020 in the database"
    );

    assert!(
        !first.stdout.contains("other records"),
        "the database holds the demo alone:\n{}",
        first.stdout
    );

    let rows = published_rows();
    assert_eq!(rows.len(), 12, "rows of published-figures-2020.csv");
    let mut mismatches = Vec::new();
    for row in &rows {
        let (metric, scale) = metric_of(&row.id);
        let rollup = national_rollup(&app, row.start, row.end).await;
        let f = figure(&rollup.figures, metric);
        if f.value != row.demo_value * scale {
            mismatches.push(format!(
                "{}: {metric} is {}, expected {}",
                row.id,
                f.value,
                row.demo_value * scale
            ));
        }
        if let Some(previous) = row.demo_previous_year_value {
            if f.previous_value != Some(previous * scale) {
                mismatches.push(format!(
                    "{}: previous value of {metric} is {:?}, expected {}",
                    row.id,
                    f.previous_value,
                    previous * scale
                ));
            }
            let percent = row
                .published_yoy_percent
                .unwrap_or_else(|| panic!("{}: a previous value without a change", row.id));
            match f.change_percent {
                Some(change) if change.round() as i64 == percent => {}
                other => mismatches.push(format!(
                    "{}: change of {metric} is {other:?}, published {percent}%",
                    row.id
                )),
            }
        }
        if row.id == "listed_major_cases" {
            let batches = figure(&rollup.figures, "markers.spp_listed_batches").value;
            if batches != 2 {
                mismatches.push(format!(
                    "{}: markers.spp_listed_batches is {batches}, expected 2",
                    row.id
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "the demo data set does not reproduce the published figures:\n  {}",
        mismatches.join("\n  ")
    );

    // One more case of 2020 with a protest: a second load stores nothing new (every case is
    // already there) and says that other records change the demo's figures.
    let mut other = valid_case("530102", "其他〔2020〕1号");
    other.measures = vec![measure(MeasureKind::Protest, date(2020, 4, 1))];
    app.create_case(other).await;
    let second = app.cli(&["demo", "load"]).await;
    assert_eq!(
        load_counts(&second),
        (0, created, 0),
        "second load:\n{}",
        second.stdout
    );
    assert!(
        second.stdout.contains(
            "note: the database holds other records besides the demo's (or changed ones), and \
             they change its figures: "
        ) && second
            .stdout
            .contains("2020-01-01..2020-12-31 measures.total is "),
        "the second load names a figure the other case changes:\n{}",
        second.stdout
    );
    let everything = national_rollup(&app, date(2019, 1, 1), date(2020, 12, 31)).await;
    assert_eq!(
        figure(&everything.figures, "cases.accepted").value,
        created + 1,
        "the demo's cases stored once each, and the other case"
    );
}

#[test]
fn csv_fields_are_split_with_quotes() {
    assert_eq!(csv_fields("a,b,,c"), vec!["a", "b", "", "c"]);
    assert_eq!(
        csv_fields("x,\"more, than\",\"say \"\"hi\"\"\""),
        vec!["x", "more, than", "say \"hi\""]
    );
}
