-- Adds deltas to figure_totals, creating rows as needed. $1 keys (procura_totals_key, migration
-- 000008), then one array per stored figure in domain::metric::STORED order (integer, the aid
-- amount bigint; NULL for no change). A figure that is zero is kept NULL (migration 000007), so
-- a sum that comes to 0 becomes NULL and a NULL plus a change is the change. All arrays equally
-- long, in lock order (totals::lock_order) so that concurrent writers lock rows in the same
-- order.
INSERT INTO figure_totals AS t (key, measures_protest, measures_retrial_suggestion, measures_trial_violation_suggestion, measures_enforcement_violation_suggestion, measures_social_governance_suggestion, measures_administrative_organ_suggestion, measures_protest_adopted, measures_retrial_suggestion_adopted, measures_trial_violation_suggestion_adopted, measures_enforcement_violation_suggestion_adopted, measures_social_governance_suggestion_adopted, measures_administrative_organ_suggestion_adopted, cases_accepted, cases_concluded, resolutions_total, resolutions_private_enterprise, resolutions_supervision_correction, resolutions_reconciliation, resolutions_judicial_assistance, resolutions_public_hearing_settlement, resolutions_other, aid_grants, aid_amount_fen, markers_leader_handled, markers_public_hearing, markers_private_enterprise, markers_spp_listed, markers_spp_listed_private_enterprise, markers_typical)
SELECT unnest($1::bigint[]), unnest($2::integer[]), unnest($3::integer[]), unnest($4::integer[]),
       unnest($5::integer[]), unnest($6::integer[]), unnest($7::integer[]), unnest($8::integer[]),
       unnest($9::integer[]), unnest($10::integer[]), unnest($11::integer[]), unnest($12::integer[]),
       unnest($13::integer[]), unnest($14::integer[]), unnest($15::integer[]), unnest($16::integer[]),
       unnest($17::integer[]), unnest($18::integer[]), unnest($19::integer[]), unnest($20::integer[]),
       unnest($21::integer[]), unnest($22::integer[]), unnest($23::integer[]), unnest($24::bigint[]),
       unnest($25::integer[]), unnest($26::integer[]), unnest($27::integer[]), unnest($28::integer[]),
       unnest($29::integer[]), unnest($30::integer[])
ON CONFLICT (key) DO UPDATE SET
    measures_protest = CASE WHEN excluded.measures_protest IS NULL THEN t.measures_protest ELSE NULLIF(coalesce(t.measures_protest, 0) + excluded.measures_protest, 0) END,
    measures_retrial_suggestion = CASE WHEN excluded.measures_retrial_suggestion IS NULL THEN t.measures_retrial_suggestion ELSE NULLIF(coalesce(t.measures_retrial_suggestion, 0) + excluded.measures_retrial_suggestion, 0) END,
    measures_trial_violation_suggestion = CASE WHEN excluded.measures_trial_violation_suggestion IS NULL THEN t.measures_trial_violation_suggestion ELSE NULLIF(coalesce(t.measures_trial_violation_suggestion, 0) + excluded.measures_trial_violation_suggestion, 0) END,
    measures_enforcement_violation_suggestion = CASE WHEN excluded.measures_enforcement_violation_suggestion IS NULL THEN t.measures_enforcement_violation_suggestion ELSE NULLIF(coalesce(t.measures_enforcement_violation_suggestion, 0) + excluded.measures_enforcement_violation_suggestion, 0) END,
    measures_social_governance_suggestion = CASE WHEN excluded.measures_social_governance_suggestion IS NULL THEN t.measures_social_governance_suggestion ELSE NULLIF(coalesce(t.measures_social_governance_suggestion, 0) + excluded.measures_social_governance_suggestion, 0) END,
    measures_administrative_organ_suggestion = CASE WHEN excluded.measures_administrative_organ_suggestion IS NULL THEN t.measures_administrative_organ_suggestion ELSE NULLIF(coalesce(t.measures_administrative_organ_suggestion, 0) + excluded.measures_administrative_organ_suggestion, 0) END,
    measures_protest_adopted = CASE WHEN excluded.measures_protest_adopted IS NULL THEN t.measures_protest_adopted ELSE NULLIF(coalesce(t.measures_protest_adopted, 0) + excluded.measures_protest_adopted, 0) END,
    measures_retrial_suggestion_adopted = CASE WHEN excluded.measures_retrial_suggestion_adopted IS NULL THEN t.measures_retrial_suggestion_adopted ELSE NULLIF(coalesce(t.measures_retrial_suggestion_adopted, 0) + excluded.measures_retrial_suggestion_adopted, 0) END,
    measures_trial_violation_suggestion_adopted = CASE WHEN excluded.measures_trial_violation_suggestion_adopted IS NULL THEN t.measures_trial_violation_suggestion_adopted ELSE NULLIF(coalesce(t.measures_trial_violation_suggestion_adopted, 0) + excluded.measures_trial_violation_suggestion_adopted, 0) END,
    measures_enforcement_violation_suggestion_adopted = CASE WHEN excluded.measures_enforcement_violation_suggestion_adopted IS NULL THEN t.measures_enforcement_violation_suggestion_adopted ELSE NULLIF(coalesce(t.measures_enforcement_violation_suggestion_adopted, 0) + excluded.measures_enforcement_violation_suggestion_adopted, 0) END,
    measures_social_governance_suggestion_adopted = CASE WHEN excluded.measures_social_governance_suggestion_adopted IS NULL THEN t.measures_social_governance_suggestion_adopted ELSE NULLIF(coalesce(t.measures_social_governance_suggestion_adopted, 0) + excluded.measures_social_governance_suggestion_adopted, 0) END,
    measures_administrative_organ_suggestion_adopted = CASE WHEN excluded.measures_administrative_organ_suggestion_adopted IS NULL THEN t.measures_administrative_organ_suggestion_adopted ELSE NULLIF(coalesce(t.measures_administrative_organ_suggestion_adopted, 0) + excluded.measures_administrative_organ_suggestion_adopted, 0) END,
    cases_accepted = CASE WHEN excluded.cases_accepted IS NULL THEN t.cases_accepted ELSE NULLIF(coalesce(t.cases_accepted, 0) + excluded.cases_accepted, 0) END,
    cases_concluded = CASE WHEN excluded.cases_concluded IS NULL THEN t.cases_concluded ELSE NULLIF(coalesce(t.cases_concluded, 0) + excluded.cases_concluded, 0) END,
    resolutions_total = CASE WHEN excluded.resolutions_total IS NULL THEN t.resolutions_total ELSE NULLIF(coalesce(t.resolutions_total, 0) + excluded.resolutions_total, 0) END,
    resolutions_private_enterprise = CASE WHEN excluded.resolutions_private_enterprise IS NULL THEN t.resolutions_private_enterprise ELSE NULLIF(coalesce(t.resolutions_private_enterprise, 0) + excluded.resolutions_private_enterprise, 0) END,
    resolutions_supervision_correction = CASE WHEN excluded.resolutions_supervision_correction IS NULL THEN t.resolutions_supervision_correction ELSE NULLIF(coalesce(t.resolutions_supervision_correction, 0) + excluded.resolutions_supervision_correction, 0) END,
    resolutions_reconciliation = CASE WHEN excluded.resolutions_reconciliation IS NULL THEN t.resolutions_reconciliation ELSE NULLIF(coalesce(t.resolutions_reconciliation, 0) + excluded.resolutions_reconciliation, 0) END,
    resolutions_judicial_assistance = CASE WHEN excluded.resolutions_judicial_assistance IS NULL THEN t.resolutions_judicial_assistance ELSE NULLIF(coalesce(t.resolutions_judicial_assistance, 0) + excluded.resolutions_judicial_assistance, 0) END,
    resolutions_public_hearing_settlement = CASE WHEN excluded.resolutions_public_hearing_settlement IS NULL THEN t.resolutions_public_hearing_settlement ELSE NULLIF(coalesce(t.resolutions_public_hearing_settlement, 0) + excluded.resolutions_public_hearing_settlement, 0) END,
    resolutions_other = CASE WHEN excluded.resolutions_other IS NULL THEN t.resolutions_other ELSE NULLIF(coalesce(t.resolutions_other, 0) + excluded.resolutions_other, 0) END,
    aid_grants = CASE WHEN excluded.aid_grants IS NULL THEN t.aid_grants ELSE NULLIF(coalesce(t.aid_grants, 0) + excluded.aid_grants, 0) END,
    aid_amount_fen = CASE WHEN excluded.aid_amount_fen IS NULL THEN t.aid_amount_fen ELSE NULLIF(coalesce(t.aid_amount_fen, 0) + excluded.aid_amount_fen, 0) END,
    markers_leader_handled = CASE WHEN excluded.markers_leader_handled IS NULL THEN t.markers_leader_handled ELSE NULLIF(coalesce(t.markers_leader_handled, 0) + excluded.markers_leader_handled, 0) END,
    markers_public_hearing = CASE WHEN excluded.markers_public_hearing IS NULL THEN t.markers_public_hearing ELSE NULLIF(coalesce(t.markers_public_hearing, 0) + excluded.markers_public_hearing, 0) END,
    markers_private_enterprise = CASE WHEN excluded.markers_private_enterprise IS NULL THEN t.markers_private_enterprise ELSE NULLIF(coalesce(t.markers_private_enterprise, 0) + excluded.markers_private_enterprise, 0) END,
    markers_spp_listed = CASE WHEN excluded.markers_spp_listed IS NULL THEN t.markers_spp_listed ELSE NULLIF(coalesce(t.markers_spp_listed, 0) + excluded.markers_spp_listed, 0) END,
    markers_spp_listed_private_enterprise = CASE WHEN excluded.markers_spp_listed_private_enterprise IS NULL THEN t.markers_spp_listed_private_enterprise ELSE NULLIF(coalesce(t.markers_spp_listed_private_enterprise, 0) + excluded.markers_spp_listed_private_enterprise, 0) END,
    markers_typical = CASE WHEN excluded.markers_typical IS NULL THEN t.markers_typical ELSE NULLIF(coalesce(t.markers_typical, 0) + excluded.markers_typical, 0) END
