-- The kept totals' region codes come from cases (which reference regions) or are their
-- provinces; checking each new totals row against regions again cost as much as writing it.
ALTER TABLE figure_totals DROP CONSTRAINT figure_totals_region_code_fkey;

-- The SPP listing batches (挂牌督办批次) of the counted cases, kept like figure_totals: how many
-- listed cases of each batch were accepted in each bucket, so that the distinct-batch figure is
-- read from rows that depend on the regions and the period, not on the number of cases.
CREATE TABLE listing_totals (
    -- 1 year, 2 month, 3 day (as in figure_totals)
    grain       smallint NOT NULL CHECK (grain BETWEEN 1 AND 3),
    -- first day of the bucket of the acceptance date
    bucket      date NOT NULL,
    -- 0: the procuratorate at region_code; 2: the subtree of the province region_code
    scope       smallint NOT NULL CHECK (scope IN (0, 2)),
    -- a procuratorate's region (from a case) or a province: no foreign key, as in figure_totals
    region_code text NOT NULL,
    batch       integer NOT NULL CHECK (batch > 0),
    -- listed cases of this batch in the bucket (rows may reach 0 after withdrawals). No CHECK
    -- (cases >= 0): PostgreSQL checks the row an upsert proposes, a negative delta, before it
    -- finds the row the delta is added to.
    cases       integer NOT NULL,
    PRIMARY KEY (grain, bucket, scope, region_code, batch)
) WITH (fillfactor = 70);

-- Databases migrated before this table existed: count the cases stored so far, as
-- totals::keys_of does (own rows by year, month and day; province rows by year and month).
INSERT INTO listing_totals (grain, bucket, scope, region_code, batch, cases)
SELECT g.grain, date_trunc(g.unit, c.accepted_on::timestamp)::date, 0, c.region_code, c.spp_listed_batch, count(*)
FROM cases c
CROSS JOIN (VALUES (1::smallint, 'year'), (2::smallint, 'month'), (3::smallint, 'day')) AS g (grain, unit)
WHERE c.spp_listed_batch > 0 AND c.status <> 3
GROUP BY 1, 2, 4, 5;

INSERT INTO listing_totals (grain, bucket, scope, region_code, batch, cases)
SELECT g.grain, date_trunc(g.unit, c.accepted_on::timestamp)::date, 2, substr(c.region_code, 1, 2) || '0000',
       c.spp_listed_batch, count(*)
FROM cases c
CROSS JOIN (VALUES (1::smallint, 'year'), (2::smallint, 'month')) AS g (grain, unit)
WHERE c.spp_listed_batch > 0 AND c.status <> 3 AND c.region_code NOT LIKE '00%'
GROUP BY 1, 2, 4, 5;
