-- A figure of a totals row that is zero is kept as NULL, which PostgreSQL stores as one bit:
-- most of a procuratorate's day rows have a few of their 29 figures non-zero, so their rows
-- are about half as wide, and so are the pages an import reads, dirties and writes again,
-- the write-ahead log of each change and the full-page images after each checkpoint.
-- totals/upsert.sql keeps zeros NULL; totals/read.sql reads NULL as 0. On a database with
-- totals already, the UPDATE below rewrites most rows while the table is locked, and the old
-- versions stay until the table is vacuumed (VACUUM FULL returns their space to the system).
ALTER TABLE figure_totals
    ALTER COLUMN measures_protest DROP NOT NULL, ALTER COLUMN measures_protest DROP DEFAULT,
    ALTER COLUMN measures_retrial_suggestion DROP NOT NULL, ALTER COLUMN measures_retrial_suggestion DROP DEFAULT,
    ALTER COLUMN measures_trial_violation_suggestion DROP NOT NULL, ALTER COLUMN measures_trial_violation_suggestion DROP DEFAULT,
    ALTER COLUMN measures_enforcement_violation_suggestion DROP NOT NULL, ALTER COLUMN measures_enforcement_violation_suggestion DROP DEFAULT,
    ALTER COLUMN measures_social_governance_suggestion DROP NOT NULL, ALTER COLUMN measures_social_governance_suggestion DROP DEFAULT,
    ALTER COLUMN measures_administrative_organ_suggestion DROP NOT NULL, ALTER COLUMN measures_administrative_organ_suggestion DROP DEFAULT,
    ALTER COLUMN measures_protest_adopted DROP NOT NULL, ALTER COLUMN measures_protest_adopted DROP DEFAULT,
    ALTER COLUMN measures_retrial_suggestion_adopted DROP NOT NULL, ALTER COLUMN measures_retrial_suggestion_adopted DROP DEFAULT,
    ALTER COLUMN measures_trial_violation_suggestion_adopted DROP NOT NULL, ALTER COLUMN measures_trial_violation_suggestion_adopted DROP DEFAULT,
    ALTER COLUMN measures_enforcement_violation_suggestion_adopted DROP NOT NULL, ALTER COLUMN measures_enforcement_violation_suggestion_adopted DROP DEFAULT,
    ALTER COLUMN measures_social_governance_suggestion_adopted DROP NOT NULL, ALTER COLUMN measures_social_governance_suggestion_adopted DROP DEFAULT,
    ALTER COLUMN measures_administrative_organ_suggestion_adopted DROP NOT NULL, ALTER COLUMN measures_administrative_organ_suggestion_adopted DROP DEFAULT,
    ALTER COLUMN cases_accepted DROP NOT NULL, ALTER COLUMN cases_accepted DROP DEFAULT,
    ALTER COLUMN cases_concluded DROP NOT NULL, ALTER COLUMN cases_concluded DROP DEFAULT,
    ALTER COLUMN resolutions_total DROP NOT NULL, ALTER COLUMN resolutions_total DROP DEFAULT,
    ALTER COLUMN resolutions_private_enterprise DROP NOT NULL, ALTER COLUMN resolutions_private_enterprise DROP DEFAULT,
    ALTER COLUMN resolutions_supervision_correction DROP NOT NULL, ALTER COLUMN resolutions_supervision_correction DROP DEFAULT,
    ALTER COLUMN resolutions_reconciliation DROP NOT NULL, ALTER COLUMN resolutions_reconciliation DROP DEFAULT,
    ALTER COLUMN resolutions_judicial_assistance DROP NOT NULL, ALTER COLUMN resolutions_judicial_assistance DROP DEFAULT,
    ALTER COLUMN resolutions_public_hearing_settlement DROP NOT NULL, ALTER COLUMN resolutions_public_hearing_settlement DROP DEFAULT,
    ALTER COLUMN resolutions_other DROP NOT NULL, ALTER COLUMN resolutions_other DROP DEFAULT,
    ALTER COLUMN aid_grants DROP NOT NULL, ALTER COLUMN aid_grants DROP DEFAULT,
    ALTER COLUMN aid_amount_fen DROP NOT NULL, ALTER COLUMN aid_amount_fen DROP DEFAULT,
    ALTER COLUMN markers_leader_handled DROP NOT NULL, ALTER COLUMN markers_leader_handled DROP DEFAULT,
    ALTER COLUMN markers_public_hearing DROP NOT NULL, ALTER COLUMN markers_public_hearing DROP DEFAULT,
    ALTER COLUMN markers_private_enterprise DROP NOT NULL, ALTER COLUMN markers_private_enterprise DROP DEFAULT,
    ALTER COLUMN markers_spp_listed DROP NOT NULL, ALTER COLUMN markers_spp_listed DROP DEFAULT,
    ALTER COLUMN markers_spp_listed_private_enterprise DROP NOT NULL, ALTER COLUMN markers_spp_listed_private_enterprise DROP DEFAULT,
    ALTER COLUMN markers_typical DROP NOT NULL, ALTER COLUMN markers_typical DROP DEFAULT;

UPDATE figure_totals SET
    measures_protest = NULLIF(measures_protest, 0),
    measures_retrial_suggestion = NULLIF(measures_retrial_suggestion, 0),
    measures_trial_violation_suggestion = NULLIF(measures_trial_violation_suggestion, 0),
    measures_enforcement_violation_suggestion = NULLIF(measures_enforcement_violation_suggestion, 0),
    measures_social_governance_suggestion = NULLIF(measures_social_governance_suggestion, 0),
    measures_administrative_organ_suggestion = NULLIF(measures_administrative_organ_suggestion, 0),
    measures_protest_adopted = NULLIF(measures_protest_adopted, 0),
    measures_retrial_suggestion_adopted = NULLIF(measures_retrial_suggestion_adopted, 0),
    measures_trial_violation_suggestion_adopted = NULLIF(measures_trial_violation_suggestion_adopted, 0),
    measures_enforcement_violation_suggestion_adopted = NULLIF(measures_enforcement_violation_suggestion_adopted, 0),
    measures_social_governance_suggestion_adopted = NULLIF(measures_social_governance_suggestion_adopted, 0),
    measures_administrative_organ_suggestion_adopted = NULLIF(measures_administrative_organ_suggestion_adopted, 0),
    cases_accepted = NULLIF(cases_accepted, 0),
    cases_concluded = NULLIF(cases_concluded, 0),
    resolutions_total = NULLIF(resolutions_total, 0),
    resolutions_private_enterprise = NULLIF(resolutions_private_enterprise, 0),
    resolutions_supervision_correction = NULLIF(resolutions_supervision_correction, 0),
    resolutions_reconciliation = NULLIF(resolutions_reconciliation, 0),
    resolutions_judicial_assistance = NULLIF(resolutions_judicial_assistance, 0),
    resolutions_public_hearing_settlement = NULLIF(resolutions_public_hearing_settlement, 0),
    resolutions_other = NULLIF(resolutions_other, 0),
    aid_grants = NULLIF(aid_grants, 0),
    aid_amount_fen = NULLIF(aid_amount_fen, 0),
    markers_leader_handled = NULLIF(markers_leader_handled, 0),
    markers_public_hearing = NULLIF(markers_public_hearing, 0),
    markers_private_enterprise = NULLIF(markers_private_enterprise, 0),
    markers_spp_listed = NULLIF(markers_spp_listed, 0),
    markers_spp_listed_private_enterprise = NULLIF(markers_spp_listed_private_enterprise, 0),
    markers_typical = NULLIF(markers_typical, 0)
WHERE measures_protest = 0
   OR measures_retrial_suggestion = 0
   OR measures_trial_violation_suggestion = 0
   OR measures_enforcement_violation_suggestion = 0
   OR measures_social_governance_suggestion = 0
   OR measures_administrative_organ_suggestion = 0
   OR measures_protest_adopted = 0
   OR measures_retrial_suggestion_adopted = 0
   OR measures_trial_violation_suggestion_adopted = 0
   OR measures_enforcement_violation_suggestion_adopted = 0
   OR measures_social_governance_suggestion_adopted = 0
   OR measures_administrative_organ_suggestion_adopted = 0
   OR cases_accepted = 0
   OR cases_concluded = 0
   OR resolutions_total = 0
   OR resolutions_private_enterprise = 0
   OR resolutions_supervision_correction = 0
   OR resolutions_reconciliation = 0
   OR resolutions_judicial_assistance = 0
   OR resolutions_public_hearing_settlement = 0
   OR resolutions_other = 0
   OR aid_grants = 0
   OR aid_amount_fen = 0
   OR markers_leader_handled = 0
   OR markers_public_hearing = 0
   OR markers_private_enterprise = 0
   OR markers_spp_listed = 0
   OR markers_spp_listed_private_enterprise = 0
   OR markers_typical = 0;
