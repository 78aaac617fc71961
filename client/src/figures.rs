//! The figure map: every metric id a rollup reports, in the order `report.proto` lists them.
//! The server sends each figure's label and unit with its value; these ids are what the CLI
//! (`--metric`, `--chart-metric`, `--more-than`) and the demo tally name them by.

/// Every metric a rollup reports, as listed in `report.proto`.
pub const METRICS: [&str; 32] = [
    "measures.total",
    "measures.protest_and_retrial",
    "measures.protest",
    "measures.retrial_suggestion",
    "measures.trial_violation_suggestion",
    "measures.enforcement_violation_suggestion",
    "measures.social_governance_suggestion",
    "measures.administrative_organ_suggestion",
    "measures.protest.adopted",
    "measures.retrial_suggestion.adopted",
    "measures.trial_violation_suggestion.adopted",
    "measures.enforcement_violation_suggestion.adopted",
    "measures.social_governance_suggestion.adopted",
    "measures.administrative_organ_suggestion.adopted",
    "cases.accepted",
    "cases.concluded",
    "resolutions.total",
    "resolutions.private_enterprise",
    "resolutions.supervision_correction",
    "resolutions.reconciliation",
    "resolutions.judicial_assistance",
    "resolutions.public_hearing_settlement",
    "resolutions.other",
    "aid.grants",
    "aid.amount_fen",
    "markers.leader_handled",
    "markers.public_hearing",
    "markers.private_enterprise",
    "markers.spp_listed",
    "markers.spp_listed_private_enterprise",
    "markers.spp_listed_batches",
    "markers.typical",
];

/// Whether `metric` is one of [`METRICS`].
pub fn is_metric(metric: &str) -> bool {
    METRICS.contains(&metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_ids_are_unique() {
        let mut ids = METRICS.to_vec();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), METRICS.len());
        assert!(is_metric("aid.amount_fen"));
        assert!(!is_metric("aid"));
    }
}
