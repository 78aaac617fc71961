-- Sums the figure_totals rows of regions $1 in scopes $6 into their bucket regions $2 (worked
-- out from the region tree held in memory), by side (0 the period, 1 the comparison period),
-- over the time buckets ($3 grains, $4 bucket starts, $5 sides) that tile both periods.
-- The FROM clause that finds the rows of figure_totals by their key (totals::SCAN_KEYED or
-- totals::PROBE_KEYED) is put in by totals::read_sql. A zero is kept as NULL (migration
-- 000007): a sum of none is 0.
SELECT m.bucket_region,
       p.side,
       ARRAY[coalesce(sum(t.measures_protest), 0), coalesce(sum(t.measures_retrial_suggestion), 0), coalesce(sum(t.measures_trial_violation_suggestion), 0), coalesce(sum(t.measures_enforcement_violation_suggestion), 0), coalesce(sum(t.measures_social_governance_suggestion), 0), coalesce(sum(t.measures_administrative_organ_suggestion), 0), coalesce(sum(t.measures_protest_adopted), 0), coalesce(sum(t.measures_retrial_suggestion_adopted), 0), coalesce(sum(t.measures_trial_violation_suggestion_adopted), 0), coalesce(sum(t.measures_enforcement_violation_suggestion_adopted), 0), coalesce(sum(t.measures_social_governance_suggestion_adopted), 0), coalesce(sum(t.measures_administrative_organ_suggestion_adopted), 0), coalesce(sum(t.cases_accepted), 0), coalesce(sum(t.cases_concluded), 0), coalesce(sum(t.resolutions_total), 0), coalesce(sum(t.resolutions_private_enterprise), 0), coalesce(sum(t.resolutions_supervision_correction), 0), coalesce(sum(t.resolutions_reconciliation), 0), coalesce(sum(t.resolutions_judicial_assistance), 0), coalesce(sum(t.resolutions_public_hearing_settlement), 0), coalesce(sum(t.resolutions_other), 0), coalesce(sum(t.aid_grants), 0), coalesce(sum(t.aid_amount_fen), 0), coalesce(sum(t.markers_leader_handled), 0), coalesce(sum(t.markers_public_hearing), 0), coalesce(sum(t.markers_private_enterprise), 0), coalesce(sum(t.markers_spp_listed), 0), coalesce(sum(t.markers_spp_listed_private_enterprise), 0), coalesce(sum(t.markers_typical), 0)]::bigint[] AS figures
{rows}
GROUP BY 1, 2
