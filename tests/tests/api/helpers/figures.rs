//! Rollup figures: the metrics a rollup reports and the checks of figures against
//! hand-written expectations.

use procura_proto::v1::Figure;

/// Every metric a rollup reports, as listed in `report.proto` (the CLI's list).
pub use procura_client::figures::METRICS;

/// The figure `metric` of `figures`; panics if it is missing or repeated.
pub fn figure<'a>(figures: &'a [Figure], metric: &str) -> &'a Figure {
    let mut matching = figures.iter().filter(|f| f.metric == metric);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("metric {metric} is missing from the figures"));
    assert!(matching.next().is_none(), "metric {metric} appears twice");
    found
}

/// The value of figure `metric`.
pub fn value(figures: &[Figure], metric: &str) -> i64 {
    figure(figures, metric).value
}

/// Checks the figures of one rollup (or row) against hand-written expectations: `expected`
/// lists `(metric, value, previous_value)` for every metric that is non-zero in either period;
/// every other metric must be 0 in both. With `compared == false` previous values and changes
/// must be absent. Also checks that every metric is present once, with its unit, and that a
/// change is present exactly when the previous value is non-zero.
pub fn assert_figures(
    context: &str,
    figures: &[Figure],
    expected: &[(&str, i64, i64)],
    compared: bool,
) {
    for (metric, _, _) in expected {
        assert!(
            METRICS.contains(metric),
            "test bug: {metric} is not a metric"
        );
    }
    let mut reported: Vec<&str> = figures.iter().map(|f| f.metric.as_str()).collect();
    reported.sort_unstable();
    let mut all: Vec<&str> = METRICS.to_vec();
    all.sort_unstable();
    assert_eq!(reported, all, "{context}: the set of metrics reported");

    let mut mismatches = Vec::new();
    for metric in METRICS {
        let f = figure(figures, metric);
        let (want_value, want_previous) = expected
            .iter()
            .find(|(m, _, _)| *m == metric)
            .map(|(_, v, p)| (*v, *p))
            .unwrap_or((0, 0));
        let want_unit = if metric == "aid.amount_fen" {
            procura_proto::v1::Unit::Fen
        } else {
            procura_proto::v1::Unit::Count
        };
        assert_eq!(f.unit, want_unit as i32, "{context}: unit of {metric}");
        assert!(
            !f.label.trim().is_empty(),
            "{context}: {metric} has no label"
        );
        assert_eq!(
            f.qualifier,
            procura_proto::v1::Qualifier::Unspecified as i32,
            "{context}: {metric} has a qualifier outside a release"
        );
        if f.value != want_value {
            mismatches.push(format!(
                "{metric}: value {} (expected {want_value})",
                f.value
            ));
        }
        if compared {
            if f.previous_value != Some(want_previous) {
                mismatches.push(format!(
                    "{metric}: previous_value {:?} (expected Some({want_previous}))",
                    f.previous_value
                ));
            }
            let want_change = (want_previous != 0)
                .then(|| (want_value - want_previous) as f64 / want_previous as f64 * 100.0);
            let change_ok = match (f.change_percent, want_change) {
                (None, None) => true,
                (Some(got), Some(want)) => (got - want).abs() < 1e-9,
                _ => false,
            };
            if !change_ok {
                mismatches.push(format!(
                    "{metric}: change_percent {:?} (expected {want_change:?})",
                    f.change_percent
                ));
            }
        } else if f.previous_value.is_some() || f.change_percent.is_some() {
            mismatches.push(format!(
                "{metric}: previous_value {:?} / change_percent {:?} must be absent without comparison",
                f.previous_value, f.change_percent
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{context}: figures differ from the hand-made expectation:\n  {}",
        mismatches.join("\n  ")
    );
}

/// Checks that figure `metric` has exactly the change `expected` (hand-computed).
pub fn assert_change(figures: &[Figure], metric: &str, expected: Option<f64>) {
    let got = figure(figures, metric).change_percent;
    match (got, expected) {
        (None, None) => {}
        (Some(g), Some(e)) if (g - e).abs() < 1e-9 => {}
        _ => panic!("change_percent of {metric}: got {got:?}, expected {expected:?}"),
    }
}
