-- Revisions, totals kept up to date, and releases (issues 3 and 4).

-- Every change to a case or a record under it (修订记录). Revision n leaves the case at
-- version n; `before` is the case's whole state (domain::record::CaseState as JSON) just before
-- the change, so the records as they stood at any moment can be rebuilt. Revision 1, the
-- creation, is the case row itself (create_time, created_by, create_reason).
CREATE TABLE case_revisions (
    case_id     bigint NOT NULL REFERENCES cases (id),
    revision    integer NOT NULL CHECK (revision >= 2),
    revise_time timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    reason      text NOT NULL,
    -- [{"field": ..., "old": ..., "new": ...}]
    changes     jsonb NOT NULL DEFAULT '[]',
    before      jsonb,
    PRIMARY KEY (case_id, revision)
);
CREATE INDEX case_revisions_revise_time ON case_revisions (revise_time);

-- Figures kept up to date in the same transaction as the writes that change them (issue 4):
-- one row per procuratorate (the records' own region, scope 0) and time bucket, one column
-- per stored figure of domain::metric::STORED, in that order; and for year and month buckets
-- also one row per province for its whole subtree (scope 2), so that a national rollup reads
-- 31 rows a bucket. A rollup sums these rows over a subtree and over the buckets that tile its
-- period, so it reads a number of rows that depends on the regions and the period, not on the
-- number of records.
CREATE TABLE figure_totals (
    -- 1 year, 2 month, 3 day
    grain       smallint NOT NULL CHECK (grain BETWEEN 1 AND 3),
    -- first day of the bucket
    bucket      date NOT NULL,
    -- 0: the records of the procuratorate at region_code; 2: the whole subtree of the
    -- province region_code
    scope       smallint NOT NULL CHECK (scope IN (0, 2)),
    region_code text NOT NULL REFERENCES regions (code),
    measures_protest integer NOT NULL DEFAULT 0,
    measures_retrial_suggestion integer NOT NULL DEFAULT 0,
    measures_trial_violation_suggestion integer NOT NULL DEFAULT 0,
    measures_enforcement_violation_suggestion integer NOT NULL DEFAULT 0,
    measures_social_governance_suggestion integer NOT NULL DEFAULT 0,
    measures_administrative_organ_suggestion integer NOT NULL DEFAULT 0,
    measures_protest_adopted integer NOT NULL DEFAULT 0,
    measures_retrial_suggestion_adopted integer NOT NULL DEFAULT 0,
    measures_trial_violation_suggestion_adopted integer NOT NULL DEFAULT 0,
    measures_enforcement_violation_suggestion_adopted integer NOT NULL DEFAULT 0,
    measures_social_governance_suggestion_adopted integer NOT NULL DEFAULT 0,
    measures_administrative_organ_suggestion_adopted integer NOT NULL DEFAULT 0,
    cases_accepted integer NOT NULL DEFAULT 0,
    cases_concluded integer NOT NULL DEFAULT 0,
    resolutions_total integer NOT NULL DEFAULT 0,
    resolutions_private_enterprise integer NOT NULL DEFAULT 0,
    resolutions_supervision_correction integer NOT NULL DEFAULT 0,
    resolutions_reconciliation integer NOT NULL DEFAULT 0,
    resolutions_judicial_assistance integer NOT NULL DEFAULT 0,
    resolutions_public_hearing_settlement integer NOT NULL DEFAULT 0,
    resolutions_other integer NOT NULL DEFAULT 0,
    aid_grants integer NOT NULL DEFAULT 0,
    aid_amount_fen bigint NOT NULL DEFAULT 0,
    markers_leader_handled integer NOT NULL DEFAULT 0,
    markers_public_hearing integer NOT NULL DEFAULT 0,
    markers_private_enterprise integer NOT NULL DEFAULT 0,
    markers_spp_listed integer NOT NULL DEFAULT 0,
    markers_spp_listed_private_enterprise integer NOT NULL DEFAULT 0,
    markers_typical integer NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, bucket, scope, region_code)
) WITH (fillfactor = 70);

-- Cases listed by the SPP are few; the distinct-batch figure reads them directly.
CREATE INDEX cases_spp_listed ON cases (accepted_on) WHERE spp_listed_batch > 0;
CREATE INDEX cases_create_time ON cases (create_time, id);
CREATE INDEX cases_region_code ON cases (region_code, id);

-- Rollups frozen as published (发布版本).
CREATE TABLE releases (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title            text NOT NULL,
    published_by     text NOT NULL,
    publish_time     timestamptz NOT NULL DEFAULT now(),
    as_of            timestamptz NOT NULL,
    -- the procura.v1.Rollup as published, encoded
    rollup           bytea NOT NULL,
    canonical_values text NOT NULL,
    sha256           text NOT NULL,
    request_id       uuid UNIQUE
);

-- Releases and revisions are written once and never changed or removed.
CREATE FUNCTION procura_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed or deleted', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER releases_immutable BEFORE UPDATE OR DELETE ON releases
    FOR EACH ROW EXECUTE FUNCTION procura_forbid_change();
CREATE TRIGGER case_revisions_immutable BEFORE UPDATE OR DELETE ON case_revisions
    FOR EACH ROW EXECUTE FUNCTION procura_forbid_change();
