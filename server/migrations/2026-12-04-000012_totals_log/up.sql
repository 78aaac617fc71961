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

-- This migration's transaction: the log holds every change committed after it, so it serves
-- the moments whose snapshots saw it (earlier moments are counted from the records).
CREATE TABLE totals_log_start (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    xid xid8 NOT NULL
);
INSERT INTO totals_log_start (xid) VALUES (pg_current_xact_id());
