-- Sums the figure_totals rows of regions $1 in scopes $6 into their bucket regions $2 (worked
-- out from the region tree held in memory), by side (0 the period, 1 the comparison period),
-- over the time buckets ($3 grains, $4 bucket starts, $5 sides) that tile both periods.
-- The FROM clause that finds the rows of figure_totals (totals::SCAN or totals::PROBE) is put
-- in by totals::read_sql.
SELECT m.bucket_region,
       p.side,
       ARRAY[sum(t.measures_protest), sum(t.measures_retrial_suggestion), sum(t.measures_trial_violation_suggestion), sum(t.measures_enforcement_violation_suggestion), sum(t.measures_social_governance_suggestion), sum(t.measures_administrative_organ_suggestion), sum(t.measures_protest_adopted), sum(t.measures_retrial_suggestion_adopted), sum(t.measures_trial_violation_suggestion_adopted), sum(t.measures_enforcement_violation_suggestion_adopted), sum(t.measures_social_governance_suggestion_adopted), sum(t.measures_administrative_organ_suggestion_adopted), sum(t.cases_accepted), sum(t.cases_concluded), sum(t.resolutions_total), sum(t.resolutions_private_enterprise), sum(t.resolutions_supervision_correction), sum(t.resolutions_reconciliation), sum(t.resolutions_judicial_assistance), sum(t.resolutions_public_hearing_settlement), sum(t.resolutions_other), sum(t.aid_grants), sum(t.aid_amount_fen), sum(t.markers_leader_handled), sum(t.markers_public_hearing), sum(t.markers_private_enterprise), sum(t.markers_spp_listed), sum(t.markers_spp_listed_private_enterprise), sum(t.markers_typical)]::bigint[] AS figures
{rows}
GROUP BY 1, 2
