-- The own year rows again, each the sum of its twelve month rows.
INSERT INTO figure_totals (grain, bucket, scope, region_code, measures_protest, measures_retrial_suggestion, measures_trial_violation_suggestion, measures_enforcement_violation_suggestion, measures_social_governance_suggestion, measures_administrative_organ_suggestion, measures_protest_adopted, measures_retrial_suggestion_adopted, measures_trial_violation_suggestion_adopted, measures_enforcement_violation_suggestion_adopted, measures_social_governance_suggestion_adopted, measures_administrative_organ_suggestion_adopted, cases_accepted, cases_concluded, resolutions_total, resolutions_private_enterprise, resolutions_supervision_correction, resolutions_reconciliation, resolutions_judicial_assistance, resolutions_public_hearing_settlement, resolutions_other, aid_grants, aid_amount_fen, markers_leader_handled, markers_public_hearing, markers_private_enterprise, markers_spp_listed, markers_spp_listed_private_enterprise, markers_typical)
SELECT 1, date_trunc('year', bucket::timestamp)::date, 0, region_code,
       sum(measures_protest),
       sum(measures_retrial_suggestion),
       sum(measures_trial_violation_suggestion),
       sum(measures_enforcement_violation_suggestion),
       sum(measures_social_governance_suggestion),
       sum(measures_administrative_organ_suggestion),
       sum(measures_protest_adopted),
       sum(measures_retrial_suggestion_adopted),
       sum(measures_trial_violation_suggestion_adopted),
       sum(measures_enforcement_violation_suggestion_adopted),
       sum(measures_social_governance_suggestion_adopted),
       sum(measures_administrative_organ_suggestion_adopted),
       sum(cases_accepted),
       sum(cases_concluded),
       sum(resolutions_total),
       sum(resolutions_private_enterprise),
       sum(resolutions_supervision_correction),
       sum(resolutions_reconciliation),
       sum(resolutions_judicial_assistance),
       sum(resolutions_public_hearing_settlement),
       sum(resolutions_other),
       sum(aid_grants),
       sum(aid_amount_fen),
       sum(markers_leader_handled),
       sum(markers_public_hearing),
       sum(markers_private_enterprise),
       sum(markers_spp_listed),
       sum(markers_spp_listed_private_enterprise),
       sum(markers_typical)
FROM figure_totals
WHERE grain = 2 AND scope = 0
GROUP BY 2, 4;

INSERT INTO listing_totals (grain, bucket, scope, region_code, batch, cases)
SELECT 1, date_trunc('year', bucket::timestamp)::date, 0, region_code, batch, sum(cases)
FROM listing_totals
WHERE grain = 2 AND scope = 0
GROUP BY 2, 4, 5;
