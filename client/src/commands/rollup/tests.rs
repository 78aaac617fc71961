//! Tests of the rollup output (text table, indicators, breakdown, JSON, CSV, qualifiers) and of
//! the drill-down of a figure.

#![allow(clippy::unwrap_used)]

use procura_proto::v1::{
    CaseContribution, ExplainFigureResponse, Figure, Indicator, Qualifier, Rollup, RollupRow, Unit,
};
use serde_json::Value;

use super::explain::*;
use super::table::*;
use super::*;

fn figure(metric: &str, unit: Unit, value: i64, previous: Option<i64>) -> Figure {
    let change_percent = previous
        .filter(|p| *p != 0)
        .map(|p| (value - p) as f64 / p as f64 * 100.0);
    Figure {
        metric: metric.to_owned(),
        label: format!("{metric} label"),
        unit: unit.into(),
        value,
        previous_value: previous,
        change_percent,
        ..Figure::default()
    }
}

fn sample() -> Rollup {
    let date = |year, month, day| Some(Date { year, month, day });
    Rollup {
        region: "regions/530000".to_owned(),
        display_name: "云南省".to_owned(),
        period: Some(DateRange {
            start: date(2020, 1, 1),
            end: date(2020, 12, 31),
        }),
        comparison_period: Some(DateRange {
            start: date(2019, 1, 1),
            end: date(2019, 12, 31),
        }),
        figures: vec![
            figure("measures.protest_and_retrial", Unit::Count, 380, Some(239)),
            figure("aid.amount_fen", Unit::Fen, 123_456_789, Some(0)),
        ],
        rows: vec![RollupRow {
            region: "regions/530100".to_owned(),
            display_name: "昆明市".to_owned(),
            own_records_only: false,
            figures: vec![figure("aid.amount_fen", Unit::Fen, 6000, Some(0))],
        }],
        breakdown: RegionLevel::Prefecture.into(),
        ..Rollup::default()
    }
}

#[test]
fn the_table_shows_values_previous_and_change() {
    let text = rollup_text(&sample(), "measures.total");
    assert!(text.starts_with(
        "云南省 (530000), 2020-01-01 to 2020-12-31, compared with 2019-01-01 to 2019-12-31\n"
    ));
    let protest = text
        .lines()
        .find(|l| l.starts_with("measures.protest_and_retrial"))
        .unwrap();
    assert!(protest.contains("380"), "{protest}");
    assert!(protest.contains("239"), "{protest}");
    assert!(protest.contains("+59.0%"), "{protest}");
    assert!(protest.ends_with("████████ █████"), "{protest}");
    let aid = text
        .lines()
        .find(|l| l.starts_with("aid.amount_fen"))
        .unwrap();
    assert!(aid.contains("1,234,567.89 yuan"), "{aid}");
    assert!(aid.contains("n/a"), "{aid}");
    assert!(
        aid.ends_with("n/a  ████████"),
        "a previous 0 has no bar: {aid}"
    );
    assert!(text.contains("By prefecture: 1 region"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("530100  昆明市") && l.ends_with("60.00"))
    );
}

#[test]
fn csv_has_one_record_per_figure_with_empty_undefined_change() {
    let records = rollup_csv(&sample());
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[1][..7],
        [
            "530000",
            "云南省",
            "measures.protest_and_retrial",
            "measures.protest_and_retrial label",
            "count",
            "380",
            "239"
        ]
    );
    assert!(records[1][7].starts_with("58.99"));
    assert_eq!(records[2][7], "");
    assert_eq!(records[3][0], "530100");
}

#[test]
fn json_has_null_for_undefined_change() {
    let value = rollup_json(&sample());
    assert_eq!(value["region"], "530000");
    assert_eq!(value["breakdown"], "prefecture");
    assert_eq!(value["figures"][1]["change_percent"], Value::Null);
    assert_eq!(value["figures"][1]["unit"], "fen");
    assert_eq!(value["period"]["start"], "2020-01-01");
    assert_eq!(value["rows"][0]["figures"][0]["value"], 6000);
}

#[test]
fn indicators_show_their_working() {
    let indicator = Indicator {
        id: "adoption_rate".to_owned(),
        label: "Adoption rate (采纳率)".to_owned(),
        numerator: 300,
        denominator: 400,
        percent: Some(75.0),
    };
    assert_eq!(indicator_value(&indicator), "75.0% (300 / 400)");
    let empty = Indicator {
        numerator: 0,
        denominator: 0,
        percent: None,
        ..indicator.clone()
    };
    assert_eq!(indicator_value(&empty), "n/a (0 / 0)");
    let rollup = Rollup {
        indicators: vec![indicator],
        ..sample()
    };
    let text = rollup_text(&rollup, "measures.total");
    assert!(
        text.lines()
            .any(|l| l.starts_with("Adoption rate (采纳率)") && l.ends_with("75.0% (300 / 400)")),
        "{text}"
    );
}

#[test]
fn the_breakdown_has_a_bar_per_region_scaled_to_the_largest() {
    let row = |code: &str, value| RollupRow {
        region: format!("regions/{code}"),
        display_name: format!("R{code}"),
        own_records_only: code == "530000",
        figures: vec![figure("measures.total", Unit::Count, value, None)],
    };
    let rollup = Rollup {
        rows: vec![row("530000", 6), row("530100", 24), row("530300", 12)],
        ..sample()
    };
    let text = rollup_text(&rollup, "measures.total");
    assert!(text.contains("MEASURES BAR"), "{text}");
    let line = |code: &str| {
        text.lines()
            .find(|l| l.starts_with(code))
            .unwrap()
            .to_owned()
    };
    assert!(line("530100").ends_with(&"█".repeat(12)), "{text}");
    assert!(
        line("530300").ends_with(&format!("  {}", "█".repeat(6))),
        "{text}"
    );
    assert!(line("530000").contains("(own records)"));
    assert!(
        line("530000").ends_with(&format!("  {}", "█".repeat(3))),
        "{text}"
    );
    // A metric outside the usual columns gets its own column before the bar.
    let text = rollup_text(&rollup, "markers.typical");
    assert!(
        text.contains("MARKERS.TYPICAL  MARKERS.TYPICAL BAR"),
        "{text}"
    );
}

#[test]
fn qualifiers_show_in_the_table_and_have_their_own_csv_column() {
    let mut rollup = sample();
    rollup.figures[0].qualifier = Qualifier::MoreThan.into();
    let text = rollup_text(&rollup, "measures.total");
    assert!(text.contains("380+"), "{text}");
    let records = rollup_csv(&rollup);
    assert_eq!(records[1][5], "380");
    assert_eq!(records[1][8], "more-than");
    assert_eq!(records[2][8], "");
    assert_eq!(rollup_json(&rollup)["figures"][0]["qualifier"], "more-than");
}

#[test]
fn a_drill_down_shows_parts_with_shares_and_cases() {
    use procura_proto::v1::FigurePart;
    let explained = ExplainFigureResponse {
        figure: Some(figure("measures.protest", Unit::Count, 8, None)),
        parts: vec![
            FigurePart {
                region: "regions/530100".to_owned(),
                display_name: "昆明市".to_owned(),
                own_records_only: false,
                value: 6,
            },
            FigurePart {
                region: "regions/530000".to_owned(),
                display_name: "云南省".to_owned(),
                own_records_only: true,
                value: 2,
            },
        ],
        cases: vec![CaseContribution {
            case: "cases/4".to_owned(),
            case_number: "云检1号".to_owned(),
            region: "regions/530000".to_owned(),
            value: 2,
        }],
        next_page_token: String::new(),
    };
    let text = explain_text(&explained, "云南省 (530000)", true);
    assert!(text.starts_with("measures.protest label (measures.protest) in 云南省 (530000): 8\n"));
    let kunming = text.lines().find(|l| l.starts_with("530100")).unwrap();
    assert!(
        kunming.contains("75.0%") && kunming.ends_with(&"█".repeat(12)),
        "{kunming}"
    );
    let own = text.lines().find(|l| l.starts_with("530000")).unwrap();
    assert!(own.contains("yes") && own.contains("25.0%"), "{own}");
    assert!(text.contains("(1, more with --limit)"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("cases/4") && l.ends_with('2'))
    );
    let csv = explain_csv(&explained);
    assert_eq!(csv.len(), 4);
    assert_eq!(csv[1][8], "75.0");
    assert_eq!(csv[3][5], "cases/4");
    let json = explain_json(&explained, "530000", true);
    assert_eq!(json["parts"][1]["share_percent"], 25.0);
    assert_eq!(json["more_cases"], true);
}

#[test]
fn a_moment_before_the_records_is_warned_of() {
    let moment = prost_types::Timestamp {
        seconds: 1_609_459_200,
        nanos: 0,
    };
    let mut zero = sample();
    for figure in &mut zero.figures {
        figure.value = 0;
        figure.previous_value = Some(0);
    }
    let warning = before_the_records_warning(&moment, &zero, &sample()).unwrap();
    assert_eq!(
        warning,
        "warning: --as-of 2021-01-01T00:00:00Z is before any record of this rollup was \
         stored, so every figure is 0 (without --as-of: measures.protest_and_retrial 380, \
         aid.amount_fen 1,234,567.89 yuan, ...); give a later moment, such as a release's \
         \"Records as of\""
    );
    // Some figure as of the moment, or none now either: nothing to say.
    assert_eq!(
        before_the_records_warning(&moment, &sample(), &sample()),
        None
    );
    assert_eq!(before_the_records_warning(&moment, &zero, &zero), None);
}
