-- Moments in commit order (按提交顺序的时点). A change counts at a moment when its transaction
-- had committed by then, whatever time the transaction began: each moment keeps the
-- PostgreSQL snapshot taken then (which transactions had committed), and each case and
-- revision the id of the transaction that wrote it. Figures "as of" a time are those of the
-- latest moment at or before it. Moments are recorded by every server at least every second,
-- by each release (its own snapshot), and by a live rollup whose snapshot no moment holds yet,
-- so that the as-of of any rollup answered can be asked again and gives the same figures.

-- Added without a default first, so that the tables are not rewritten; rows written before
-- have none, and had all committed before the first moment recorded.
ALTER TABLE cases ADD COLUMN create_xid xid8;
ALTER TABLE cases ALTER COLUMN create_xid SET DEFAULT pg_current_xact_id();
ALTER TABLE case_revisions ADD COLUMN xid xid8;
ALTER TABLE case_revisions ALTER COLUMN xid SET DEFAULT pg_current_xact_id();

-- "Created after a moment" is found by transaction id instead of by time.
DROP INDEX cases_create_time;
CREATE INDEX cases_create_xid ON cases (create_xid);
CREATE INDEX case_revisions_xid ON case_revisions (xid);

CREATE TABLE moments (
    id       bigserial PRIMARY KEY,
    time     timestamptz NOT NULL,
    -- a pg_snapshot, as text
    snapshot text NOT NULL CHECK (snapshot::pg_snapshot IS NOT NULL)
);
CREATE INDEX moments_time ON moments (time);

-- The snapshot a release's figures were read in; none for releases published before.
ALTER TABLE releases ADD COLUMN as_of_snapshot text CHECK (as_of_snapshot::pg_snapshot IS NOT NULL);
