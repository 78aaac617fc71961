//! `--format sdmx-csv` of `procura rollup` and `procura releases get`, read by an independent
//! reader (Python's `csv` module) and checked against the rollup and the release the server
//! returns over gRPC: the SDMX-CSV 2.0 header, one row per observation with a key of its own,
//! every figure of the subtree and of each breakdown row for the period and the comparison
//! period, units, and the qualifiers of a release as OBS_STATUS.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use procura_proto::v1::{
    Comparison, GetReleaseRequest, GetRollupRequest, MeasureKind, RegionLevel, Rollup, Unit,
};

use crate::helpers::*;

/// The SDMX-CSV header the rows must have.
const HEADER: &str = "STRUCTURE,STRUCTURE_ID,ACTION,REGION,SCOPE,TIME_PERIOD,MEASURE,OBS_VALUE,UNIT_MEASURE,OBS_STATUS";

/// Python reading CSV from stdin, printing the header and the rows (one object per row) as
/// JSON.
const READER: &str = "\
import csv, json, sys
reader = csv.DictReader(sys.stdin)
rows = list(reader)
json.dump({'header': reader.fieldnames, 'rows': rows}, sys.stdout)
";

/// What Python's csv module reads from `text`: the header and the rows.
fn python_csv(text: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut child = Command::new("python3")
        .args(["-c", READER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3, which reads the SDMX-CSV in this test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "python3 could not read the CSV: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let header = parsed["header"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    let rows = parsed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .collect();
    (header, rows)
}

/// An observation's key: region, scope, time period, measure.
type Key = (String, String, String, String);

fn key(region: &str, scope: &str, time: &str, metric: &str) -> Key {
    (
        region.to_owned(),
        scope.to_owned(),
        time.to_owned(),
        metric.to_owned(),
    )
}

/// The observations a rollup must give, by key: value, unit and status (the qualifier's word
/// for the period's value, empty for the comparison period's).
fn expected_observations(rollup: &Rollup, periods: (&str, &str)) -> BTreeMap<Key, [String; 3]> {
    let mut expected = BTreeMap::new();
    let unit = |figure: &procura_proto::v1::Figure| {
        if figure.unit == Unit::Fen as i32 {
            "fen"
        } else {
            "count"
        }
    };
    let status = |qualifier: i32| match qualifier {
        1 => "exact",
        2 => "more-than",
        _ => "",
    };
    let mut add = |code: &str, scope: &str, figures: &[procura_proto::v1::Figure]| {
        for figure in figures {
            expected.insert(
                key(code, scope, periods.0, &figure.metric),
                [
                    figure.value.to_string(),
                    unit(figure).to_owned(),
                    status(figure.qualifier).to_owned(),
                ],
            );
            let previous = figure.previous_value.expect("a previous value");
            expected.insert(
                key(code, scope, periods.1, &figure.metric),
                [previous.to_string(), unit(figure).to_owned(), String::new()],
            );
        }
    };
    add(trailing_id(&rollup.region), "subtree", &rollup.figures);
    for row in &rollup.rows {
        let scope = if row.own_records_only {
            "own"
        } else {
            "subtree"
        };
        add(trailing_id(&row.region), scope, &row.figures);
    }
    expected
}

/// The observations of SDMX-CSV `text` as Python reads them, by key, checking the header,
/// the dataflow and action of every row, and that no key repeats.
fn observations(text: &str) -> BTreeMap<Key, [String; 3]> {
    let (header, rows) = python_csv(text);
    assert_eq!(header.join(","), HEADER, "the SDMX-CSV header:\n{text}");
    let mut found = BTreeMap::new();
    for row in rows {
        assert_eq!(row["STRUCTURE"], "dataflow", "{row:?}");
        assert_eq!(
            row["STRUCTURE_ID"], "PROCURA:DF_SUPERVISION(1.0)",
            "{row:?}"
        );
        assert_eq!(row["ACTION"], "I", "{row:?}");
        let key = key(
            &row["REGION"],
            &row["SCOPE"],
            &row["TIME_PERIOD"],
            &row["MEASURE"],
        );
        let value = [
            row["OBS_VALUE"].clone(),
            row["UNIT_MEASURE"].clone(),
            row["OBS_STATUS"].clone(),
        ];
        assert!(
            found.insert(key.clone(), value).is_none(),
            "the key {key:?} is given twice"
        );
    }
    found
}

#[tokio::test]
async fn sdmx_csv_of_a_rollup_and_a_release_gives_the_figures_of_the_server() {
    let app = spawn_app().await;
    // Kunming (a county and the prefecture's own procuratorate), Qujing, and the provincial
    // procuratorate's own case, which a breakdown by prefecture shows as a row of its own.
    for (code, number, accepted, measures) in [
        (
            "530102",
            "S-1",
            (2020, 3, 1),
            vec![(MeasureKind::Protest, (2020, 4, 1))],
        ),
        (
            "530102",
            "S-2",
            (2019, 5, 1),
            vec![(MeasureKind::Protest, (2019, 6, 1))],
        ),
        (
            "530100",
            "S-3",
            (2020, 7, 1),
            vec![(MeasureKind::RetrialSuggestion, (2020, 8, 1))],
        ),
        ("530302", "S-4", (2020, 2, 3), vec![]),
        (
            "530000",
            "S-5",
            (2020, 9, 9),
            vec![(MeasureKind::AdministrativeOrganSuggestion, (2020, 10, 1))],
        ),
    ] {
        let mut case = valid_case(code, number);
        case.accepted_on = on(accepted.0, accepted.1, accepted.2);
        case.measures = measures
            .into_iter()
            .map(|(kind, (y, m, d))| measure(kind, date(y, m, d)))
            .collect();
        if number == "S-1" {
            case.aid_grants = vec![aid(date(2020, 5, 6), 1_200_050)];
        }
        app.create_case(case).await;
    }

    let args = "rollup --region 530000 --year 2020 --by prefecture --format sdmx-csv";
    let output = app.cli(&args.split(' ').collect::<Vec<_>>()).await;
    let text = output.expect_success("rollup --format sdmx-csv");
    let rollup = app
        .rollup(GetRollupRequest {
            region: region("530000"),
            period: year(2020),
            breakdown: RegionLevel::Prefecture as i32,
            comparison: Comparison::PreviousYear as i32,
            ..GetRollupRequest::default()
        })
        .await;
    assert!(
        rollup.rows.iter().any(|r| r.own_records_only) && rollup.rows.len() == 3,
        "the breakdown has the province's own row and two prefectures: {:?}",
        rollup.rows
    );
    let found = observations(text);
    assert_eq!(found, expected_observations(&rollup, ("2020", "2019")));
    // Spot checks, written out: the subtree's protests of both years, the aid amount in fen,
    // the province's own procuratorate.
    for (region, scope, time, metric, value, unit) in [
        (
            "530000",
            "subtree",
            "2020",
            "measures.protest",
            "1",
            "count",
        ),
        (
            "530000",
            "subtree",
            "2019",
            "measures.protest",
            "1",
            "count",
        ),
        (
            "530100",
            "subtree",
            "2020",
            "aid.amount_fen",
            "1200050",
            "fen",
        ),
        (
            "530000",
            "own",
            "2020",
            "measures.administrative_organ_suggestion",
            "1",
            "count",
        ),
    ] {
        assert_eq!(
            found[&key(region, scope, time, metric)],
            [value, unit, ""],
            "{region} {scope} {time} {metric}"
        );
    }

    // A release: its figures as published, "more than" and "exact" as OBS_STATUS; a range of
    // days as its first day and length.
    app.cli(&[
        "releases",
        "publish",
        "--region",
        "530000",
        "--from",
        "2019-11-01",
        "--to",
        "2020-12-31",
        "--by",
        "prefecture",
        "--title",
        "Yunnan, special activity",
        "--more-than",
        "measures.total",
    ])
    .await
    .expect_success("releases publish");
    let output = app
        .cli(&["releases", "get", "releases/1", "--format", "sdmx-csv"])
        .await;
    let text = output.expect_success("releases get --format sdmx-csv");
    let release = app
        .reports
        .clone()
        .get_release(GetReleaseRequest {
            name: "releases/1".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .release
        .unwrap();
    let released = release.rollup.unwrap();
    let found = observations(text);
    assert_eq!(
        found,
        expected_observations(&released, ("2019-11-01/P427D", "2018-11-01/P426D"))
    );
    for (metric, value, status) in [
        ("measures.total", "3", "more-than"),
        ("cases.accepted", "4", "exact"),
    ] {
        let observed = &found[&key("530000", "subtree", "2019-11-01/P427D", metric)];
        assert_eq!(observed, &[value, "count", status], "{metric}");
    }
}
