-- figure_totals keyed by (grain, bucket, scope, region_code) again.
CREATE TABLE figure_totals_unkeyed (
    grain       smallint NOT NULL CHECK (grain BETWEEN 1 AND 3),
    bucket      date NOT NULL,
    scope       smallint NOT NULL CHECK (scope IN (0, 2)),
    region_code text NOT NULL,
    measures_protest integer,
    measures_retrial_suggestion integer,
    measures_trial_violation_suggestion integer,
    measures_enforcement_violation_suggestion integer,
    measures_social_governance_suggestion integer,
    measures_administrative_organ_suggestion integer,
    measures_protest_adopted integer,
    measures_retrial_suggestion_adopted integer,
    measures_trial_violation_suggestion_adopted integer,
    measures_enforcement_violation_suggestion_adopted integer,
    measures_social_governance_suggestion_adopted integer,
    measures_administrative_organ_suggestion_adopted integer,
    cases_accepted integer,
    cases_concluded integer,
    resolutions_total integer,
    resolutions_private_enterprise integer,
    resolutions_supervision_correction integer,
    resolutions_reconciliation integer,
    resolutions_judicial_assistance integer,
    resolutions_public_hearing_settlement integer,
    resolutions_other integer,
    aid_grants integer,
    aid_amount_fen bigint,
    markers_leader_handled integer,
    markers_public_hearing integer,
    markers_private_enterprise integer,
    markers_spp_listed integer,
    markers_spp_listed_private_enterprise integer,
    markers_typical integer,
    PRIMARY KEY (grain, bucket, scope, region_code)
) WITH (fillfactor = 70);

INSERT INTO figure_totals_unkeyed (grain, bucket, scope, region_code, measures_protest, measures_retrial_suggestion, measures_trial_violation_suggestion, measures_enforcement_violation_suggestion, measures_social_governance_suggestion, measures_administrative_organ_suggestion, measures_protest_adopted, measures_retrial_suggestion_adopted, measures_trial_violation_suggestion_adopted, measures_enforcement_violation_suggestion_adopted, measures_social_governance_suggestion_adopted, measures_administrative_organ_suggestion_adopted, cases_accepted, cases_concluded, resolutions_total, resolutions_private_enterprise, resolutions_supervision_correction, resolutions_reconciliation, resolutions_judicial_assistance, resolutions_public_hearing_settlement, resolutions_other, aid_grants, aid_amount_fen, markers_leader_handled, markers_public_hearing, markers_private_enterprise, markers_spp_listed, markers_spp_listed_private_enterprise, markers_typical)
SELECT grain, bucket, scope, region_code, measures_protest, measures_retrial_suggestion, measures_trial_violation_suggestion, measures_enforcement_violation_suggestion, measures_social_governance_suggestion, measures_administrative_organ_suggestion, measures_protest_adopted, measures_retrial_suggestion_adopted, measures_trial_violation_suggestion_adopted, measures_enforcement_violation_suggestion_adopted, measures_social_governance_suggestion_adopted, measures_administrative_organ_suggestion_adopted, cases_accepted, cases_concluded, resolutions_total, resolutions_private_enterprise, resolutions_supervision_correction, resolutions_reconciliation, resolutions_judicial_assistance, resolutions_public_hearing_settlement, resolutions_other, aid_grants, aid_amount_fen, markers_leader_handled, markers_public_hearing, markers_private_enterprise, markers_spp_listed, markers_spp_listed_private_enterprise, markers_typical
FROM figure_totals_readable;

DROP VIEW figure_totals_readable;
DROP TABLE figure_totals;
DROP FUNCTION procura_totals_key(smallint, date, smallint, text);
ALTER TABLE figure_totals_unkeyed RENAME TO figure_totals;
ALTER INDEX figure_totals_unkeyed_pkey RENAME TO figure_totals_pkey;
