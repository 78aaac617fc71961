-- The log of the kept totals' shared rows (共享合计行的变动日志): each transaction that changes
-- a province subtree row or a row of the national procuratorate's own records adds the change,
-- with its transaction id, to figure_totals_log (listing_totals_log for the listing counts).
-- These are the rows a national rollup by province or in all reads for whole months, and the
-- rows every writer of a province shares, so a write adds one log row per shared row it moves
-- (an import batch of 10,000 cases about a thousand, next to the tens of thousands of rows it
-- writes). The figures as of a moment are the live rows less the logged changes whose
-- transactions the moment's snapshot had not seen: the work depends on the rows read and the
-- changes since, not on the number of records.

-- The columns of figure_totals (the key, then the change of each figure, NULL for none as
-- figure_totals keeps a zero), and the writer's transaction.
CREATE TABLE figure_totals_log (LIKE figure_totals);
ALTER TABLE figure_totals_log ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX figure_totals_log_key_xid ON figure_totals_log (key, xid);

-- The columns of listing_totals (cases: the change in the number of listed cases), and the
-- writer's transaction.
CREATE TABLE listing_totals_log (LIKE listing_totals);
ALTER TABLE listing_totals_log ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX listing_totals_log_key_xid ON listing_totals_log (grain, bucket, scope, region_code, xid);

-- Pending cases kept by acceptance and conclusion (在办案件计数), so that the pending-by-age
-- indicators of a period ending on a month's last day read counts, not records: the counted
-- (not withdrawn) cases of the subtree of region_code by the month they were accepted and the
-- month they were concluded (9999-12-01 for none yet). Pending at day E with an acceptance on
-- or before day A is then the cases accepted in months up to A's and concluded in months
-- after E's, less those accepted on days of A's month after A: so the cases accepted on days
-- 29 to 31 are also kept by their day (grain 3), the days a whole number of months before a
-- month's last day can leave over. Kept for the nation's subtree, the indicators of a national
-- rollup.
CREATE TABLE pending_totals (
    region_code text NOT NULL,
    -- 2: accepted is the first day of the month of acceptance; 3: the day of acceptance
    grain       smallint NOT NULL CHECK (grain IN (2, 3)),
    accepted    date NOT NULL,
    -- first day of the month of conclusion, 9999-12-01 for a case not concluded
    concluded   date NOT NULL,
    -- no CHECK (cases >= 0), as in listing_totals
    cases       integer NOT NULL,
    PRIMARY KEY (region_code, grain, accepted, concluded)
) WITH (fillfactor = 70);

INSERT INTO pending_totals (region_code, grain, accepted, concluded, cases)
SELECT '000000', g.grain,
       CASE g.grain WHEN 2 THEN date_trunc('month', c.accepted_on)::date ELSE c.accepted_on END,
       coalesce(date_trunc('month', c.concluded_on)::date, date '9999-12-01'), count(*)
FROM cases c
CROSS JOIN (VALUES (2::smallint), (3::smallint)) AS g (grain)
WHERE c.status <> 3 AND (g.grain = 2 OR extract(day FROM c.accepted_on) >= 29)
GROUP BY 1, 2, 3, 4;

-- Its changes, logged as those of the shared totals rows.
CREATE TABLE pending_totals_log (LIKE pending_totals);
ALTER TABLE pending_totals_log ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX pending_totals_log_region_xid ON pending_totals_log (region_code, xid);

-- Each revision written from now on keeps the case's state after it too, so that the state of a
-- case changed since a moment comes from its revisions since (recent rows, written together)
-- instead of from the case and its records spread over the tables: a release's diff reads
-- then those only. NULL for the revisions written before.
ALTER TABLE case_revisions ADD COLUMN after jsonb;

-- This migration's transaction: the log holds every change committed after it, so it serves
-- the moments whose snapshots saw it (earlier moments are counted from the records).
CREATE TABLE totals_log_start (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    xid xid8 NOT NULL
);
INSERT INTO totals_log_start (xid) VALUES (pg_current_xact_id());
