//! The figures of a rollup (统计数据项): which there are, how they add up, and the
//! year-on-year change.

use std::collections::BTreeMap;

/// The unit of a figure, numbered as `procura.v1.Unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of records.
    Count = 1,
    /// Money in fen.
    Fen = 2,
}

/// One figure that a rollup reports.
#[derive(Debug, Clone, Copy)]
pub struct MetricDef {
    /// Stable identifier, e.g. `measures.protest`.
    pub id: &'static str,
    /// English and Chinese label.
    pub label: &'static str,
    /// Unit of the value.
    pub unit: Unit,
}

const fn count(id: &'static str, label: &'static str) -> MetricDef {
    MetricDef {
        id,
        label,
        unit: Unit::Count,
    }
}

/// Every figure, in the order they are reported.
pub const METRICS: [MetricDef; 32] = [
    count("measures.total", "Supervision measures (监督措施)"),
    count(
        "measures.protest_and_retrial",
        "Protests and retrial suggestions (抗诉和再审检察建议)",
    ),
    count("measures.protest", "Administrative protests (抗诉)"),
    count(
        "measures.retrial_suggestion",
        "Retrial suggestions (再审检察建议)",
    ),
    count(
        "measures.trial_violation_suggestion",
        "Suggestions on trial personnel's illegal acts (审判人员违法行为检察建议)",
    ),
    count(
        "measures.enforcement_violation_suggestion",
        "Suggestions on enforcement violations (执行活动违法检察建议)",
    ),
    count(
        "measures.social_governance_suggestion",
        "Social governance suggestions (社会治理检察建议)",
    ),
    count(
        "measures.administrative_organ_suggestion",
        "Suggestions to administrative organs (向行政机关发出的检察建议)",
    ),
    count(
        "measures.protest.adopted",
        "  of which adopted: protests (采纳)",
    ),
    count(
        "measures.retrial_suggestion.adopted",
        "  of which adopted: retrial suggestions (采纳)",
    ),
    count(
        "measures.trial_violation_suggestion.adopted",
        "  of which adopted: trial violation suggestions (采纳)",
    ),
    count(
        "measures.enforcement_violation_suggestion.adopted",
        "  of which adopted: enforcement violation suggestions (采纳)",
    ),
    count(
        "measures.social_governance_suggestion.adopted",
        "  of which adopted: social governance suggestions (采纳)",
    ),
    count(
        "measures.administrative_organ_suggestion.adopted",
        "  of which adopted: suggestions to administrative organs (采纳)",
    ),
    count("cases.accepted", "Cases accepted (受理案件)"),
    count("cases.concluded", "Cases concluded (审结案件)"),
    count(
        "resolutions.total",
        "Administrative disputes resolved (行政争议实质性化解)",
    ),
    count(
        "resolutions.private_enterprise",
        "  of which involving private enterprises (涉民营企业)",
    ),
    count(
        "resolutions.supervision_correction",
        "  by supervision and correction (监督纠正)",
    ),
    count(
        "resolutions.reconciliation",
        "  by reconciliation or mediation (和解、调解)",
    ),
    count(
        "resolutions.judicial_assistance",
        "  by judicial assistance (司法救助)",
    ),
    count(
        "resolutions.public_hearing_settlement",
        "  by settlement after a public hearing (公开听证后化解)",
    ),
    count("resolutions.other", "  by other methods (其他)"),
    count("aid.grants", "Judicial aid grants (司法救助)"),
    MetricDef {
        id: "aid.amount_fen",
        label: "Judicial aid amount (司法救助金额)",
        unit: Unit::Fen,
    },
    count(
        "markers.leader_handled",
        "Cases handled by chief prosecutors (领导包案)",
    ),
    count(
        "markers.public_hearing",
        "Cases with a public hearing (公开听证)",
    ),
    count(
        "markers.private_enterprise",
        "Cases involving private enterprises (涉民营企业)",
    ),
    count(
        "markers.spp_listed",
        "Cases listed by the SPP (最高检挂牌督办)",
    ),
    count(
        "markers.spp_listed_private_enterprise",
        "  of which involving private enterprises (涉民营企业)",
    ),
    count(
        "markers.spp_listed_batches",
        "  listing batches (挂牌督办批次)",
    ),
    count("markers.typical", "Typical cases (典型案例)"),
];

/// The figures kept in `figure_totals`, by index into [`METRICS`], in column order: every
/// figure but the derived ones (measures.total, measures.protest_and_retrial, which are sums,
/// and markers.spp_listed_batches, a distinct count).
pub const STORED: [usize; 29] = [
    2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 31,
];

/// Index of `measures.<kind>` for measure kind `kind` (1..=6).
pub fn measure_kind(kind: i16) -> Option<usize> {
    (1..=6).contains(&kind).then(|| 1 + kind as usize)
}

/// Index of `measures.<kind>.adopted` for measure kind `kind` (1..=6).
pub fn measure_kind_adopted(kind: i16) -> Option<usize> {
    (1..=6).contains(&kind).then(|| 7 + kind as usize)
}

/// Index of `resolutions.<method>` for resolution method `method` (1..=5).
pub fn resolution_method(method: i16) -> Option<usize> {
    (1..=5).contains(&method).then(|| 17 + method as usize)
}

/// Indexes of the figures fed directly from the records.
pub mod index {
    /// measures.total
    pub const MEASURES_TOTAL: usize = 0;
    /// measures.protest_and_retrial
    pub const PROTEST_AND_RETRIAL: usize = 1;
    /// cases.accepted
    pub const CASES_ACCEPTED: usize = 14;
    /// cases.concluded
    pub const CASES_CONCLUDED: usize = 15;
    /// resolutions.total
    pub const RESOLUTIONS_TOTAL: usize = 16;
    /// resolutions.private_enterprise
    pub const RESOLUTIONS_PRIVATE_ENTERPRISE: usize = 17;
    /// aid.grants
    pub const AID_GRANTS: usize = 23;
    /// aid.amount_fen
    pub const AID_AMOUNT_FEN: usize = 24;
    /// markers.leader_handled
    pub const LEADER_HANDLED: usize = 25;
    /// markers.public_hearing
    pub const PUBLIC_HEARING: usize = 26;
    /// markers.private_enterprise
    pub const PRIVATE_ENTERPRISE: usize = 27;
    /// markers.spp_listed
    pub const SPP_LISTED: usize = 28;
    /// markers.spp_listed_private_enterprise
    pub const SPP_LISTED_PRIVATE_ENTERPRISE: usize = 29;
    /// markers.spp_listed_batches
    pub const SPP_LISTED_BATCHES: usize = 30;
    /// markers.typical
    pub const TYPICAL: usize = 31;
}

/// The figures of one region (or subtree) for one period. Counts add up across regions;
/// listing batches are kept with the number of listed cases of each, so that a batch seen in
/// two regions counts once and a batch whose cases are taken away (an as-of rollup taking
/// back later changes) counts no more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    values: [i64; METRICS.len()],
    batches: BTreeMap<i32, i64>,
}

impl Tally {
    /// Adds `amount` to figure `index`.
    pub fn add(&mut self, index: usize, amount: i64) {
        if let Some(value) = self.values.get_mut(index) {
            *value += amount;
        }
    }

    /// Adds `cases` listed cases of listing batch `batch` (negative to take them away).
    pub fn add_batch(&mut self, batch: i32, cases: i64) {
        let count = self.batches.entry(batch).or_default();
        *count += cases;
        if *count == 0 {
            self.batches.remove(&batch);
        }
    }

    /// Adds every figure of `other` into this one.
    pub fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.values.iter_mut().zip(other.values.iter()) {
            *mine += theirs;
        }
        for (batch, cases) in &other.batches {
            self.add_batch(*batch, *cases);
        }
    }

    /// Takes every figure of `other` away from this one.
    pub fn take_away(&mut self, other: &Tally) {
        for (mine, theirs) in self.values.iter_mut().zip(other.values.iter()) {
            *mine -= theirs;
        }
        for (batch, cases) in &other.batches {
            self.add_batch(*batch, -*cases);
        }
    }

    /// The value of figure `index`, derived figures included.
    pub fn value(&self, index: usize) -> i64 {
        match index {
            index::MEASURES_TOTAL => (2..=7).map(|i| self.values[i]).sum(),
            index::PROTEST_AND_RETRIAL => self.values[2] + self.values[3],
            index::SPP_LISTED_BATCHES => self.batches.values().filter(|c| **c > 0).count() as i64,
            _ => self.values.get(index).copied().unwrap_or(0),
        }
    }

    /// The stored figures, in [`STORED`] order.
    pub fn stored(&self) -> [i64; STORED.len()] {
        STORED.map(|i| self.values[i])
    }

    /// Adds stored figures given in [`STORED`] order.
    pub fn add_stored(&mut self, values: &[i64]) {
        for (index, value) in STORED.iter().zip(values) {
            self.values[*index] += value;
        }
    }

    /// True when every figure is zero.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(|v| *v == 0) && self.batches.values().all(|c| *c <= 0)
    }
}

/// Figures of one region (or bucket of regions) for a period and its comparison period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketTally {
    /// The period.
    pub current: Tally,
    /// The comparison period.
    pub previous: Tally,
}

impl BucketTally {
    /// Adds another bucket's figures.
    pub fn merge(&mut self, other: &BucketTally) {
        self.current.merge(&other.current);
        self.previous.merge(&other.previous);
    }

    /// Takes another bucket's figures away.
    pub fn take_away(&mut self, other: &BucketTally) {
        self.current.take_away(&other.current);
        self.previous.take_away(&other.previous);
    }
}

/// The age classes of pending cases at a period's end: id and label.
pub const PENDING_AGES: [(&str, &str); 4] = [
    (
        "pending.0_3_months",
        "Pending up to 3 months (在办 3 个月以内)",
    ),
    (
        "pending.3_6_months",
        "Pending 3 to 6 months (在办 3–6 个月)",
    ),
    (
        "pending.6_12_months",
        "Pending 6 to 12 months (在办 6–12 个月)",
    ),
    (
        "pending.over_12_months",
        "Pending over 12 months (在办 12 个月以上)",
    ),
];

/// The age class of a case accepted on `accepted_on` and still pending on `end`: 0 when
/// accepted less than 3 months before, 1 for 3 to 6, 2 for 6 to 12, 3 for more.
pub fn pending_age(accepted_on: chrono::NaiveDate, end: chrono::NaiveDate) -> usize {
    use chrono::Months;
    let before = |months: u32| end.checked_sub_months(Months::new(months)).unwrap_or(end);
    if accepted_on > before(3) {
        0
    } else if accepted_on > before(6) {
        1
    } else if accepted_on > before(12) {
        2
    } else {
        3
    }
}

/// A ratio reported beside the figures (e.g. 采纳率).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Stable identifier, e.g. `adoption_rate`.
    pub id: &'static str,
    /// English and Chinese label.
    pub label: &'static str,
    /// The part counted.
    pub numerator: i64,
    /// The whole it is a part of.
    pub denominator: i64,
}

impl Indicator {
    /// The numerator in percent of the denominator; none when the denominator is 0.
    pub fn percent(&self) -> Option<f64> {
        (self.denominator != 0).then(|| self.numerator as f64 / self.denominator as f64 * 100.0)
    }
}

/// The indicators of a subtree's figures `total`, with its pending cases by age class.
pub fn indicators(total: &Tally, pending: [i64; 4]) -> Vec<Indicator> {
    let adopted: i64 = (1..=6)
        .filter_map(measure_kind_adopted)
        .map(|i| total.value(i))
        .sum();
    let all_pending: i64 = pending.iter().sum();
    let mut out = vec![
        Indicator {
            id: "adoption_rate",
            label: "Adoption rate of measures (采纳率)",
            numerator: adopted,
            denominator: total.value(index::MEASURES_TOTAL),
        },
        Indicator {
            id: "resolution_rate",
            label: "Disputes resolved per case concluded (化解率)",
            numerator: total.value(index::RESOLUTIONS_TOTAL),
            denominator: total.value(index::CASES_CONCLUDED),
        },
    ];
    for ((id, label), count) in PENDING_AGES.iter().zip(pending) {
        out.push(Indicator {
            id,
            label,
            numerator: count,
            denominator: all_pending,
        });
    }
    out
}

/// The index of the figure with id `id`.
pub fn index_of(id: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.id == id)
}

/// Year-on-year change in percent: (current − previous) / previous × 100, or `None` when the
/// previous value is 0 and the change is undefined.
pub fn change_percent(current: i64, previous: i64) -> Option<f64> {
    if previous == 0 {
        None
    } else {
        Some((current - previous) as f64 / previous as f64 * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_match_the_table() {
        assert_eq!(METRICS[index::CASES_ACCEPTED].id, "cases.accepted");
        assert_eq!(METRICS[index::RESOLUTIONS_TOTAL].id, "resolutions.total");
        assert_eq!(METRICS[index::AID_AMOUNT_FEN].id, "aid.amount_fen");
        assert_eq!(
            METRICS[index::SPP_LISTED_BATCHES].id,
            "markers.spp_listed_batches"
        );
        assert_eq!(METRICS[index::TYPICAL].id, "markers.typical");
        assert_eq!(
            measure_kind(1).map(|i| METRICS[i].id),
            Some("measures.protest")
        );
        assert_eq!(
            measure_kind_adopted(6).map(|i| METRICS[i].id),
            Some("measures.administrative_organ_suggestion.adopted")
        );
        assert_eq!(
            resolution_method(1).map(|i| METRICS[i].id),
            Some("resolutions.supervision_correction")
        );
        assert_eq!(
            resolution_method(5).map(|i| METRICS[i].id),
            Some("resolutions.other")
        );
        assert_eq!(measure_kind(7), None);
    }

    #[test]
    fn stored_leaves_out_derived_figures() {
        let stored: Vec<&str> = STORED.iter().map(|i| METRICS[*i].id).collect();
        assert!(!stored.contains(&"measures.total"));
        assert!(!stored.contains(&"measures.protest_and_retrial"));
        assert!(!stored.contains(&"markers.spp_listed_batches"));
        assert_eq!(stored.len() + 3, METRICS.len());
    }

    #[test]
    fn derived_figures_add_up() {
        let mut a = Tally::default();
        a.add(2, 3);
        a.add(3, 4);
        a.add(4, 10);
        a.add_batch(1, 1);
        let mut b = Tally::default();
        b.add(2, 1);
        b.add_batch(1, 2);
        b.add_batch(2, 1);
        a.merge(&b);
        assert_eq!(a.value(index::PROTEST_AND_RETRIAL), 8);
        assert_eq!(a.value(index::MEASURES_TOTAL), 18);
        assert_eq!(a.value(index::SPP_LISTED_BATCHES), 2);
        // Taking batch 2's case away leaves batch 1 only; batch 1 stays while a case holds it.
        a.add_batch(2, -1);
        a.add_batch(1, -2);
        assert_eq!(a.value(index::SPP_LISTED_BATCHES), 1);
    }

    #[test]
    fn pending_ages_split_at_whole_months() {
        let d = |t: &str| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").expect("date");
        let end = d("2020-12-31");
        assert_eq!(pending_age(d("2020-12-31"), end), 0);
        assert_eq!(pending_age(d("2020-10-01"), end), 0);
        assert_eq!(pending_age(d("2020-09-30"), end), 1);
        assert_eq!(pending_age(d("2020-07-01"), end), 1);
        assert_eq!(pending_age(d("2020-06-30"), end), 2);
        assert_eq!(pending_age(d("2020-01-01"), end), 2);
        assert_eq!(pending_age(d("2019-12-31"), end), 3);
    }

    #[test]
    fn change_is_undefined_without_a_base() {
        assert_eq!(change_percent(5, 0), None);
        assert_eq!(change_percent(0, 0), None);
        let change = change_percent(380, 239).expect("defined");
        assert!((change - 58.995_815).abs() < 1e-3);
        assert_eq!(change_percent(2, 4), Some(-50.0));
    }
}
