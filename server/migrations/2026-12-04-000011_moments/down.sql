ALTER TABLE releases DROP COLUMN as_of_snapshot;
DROP TABLE moments;
DROP INDEX case_revisions_xid;
DROP INDEX cases_create_xid;
CREATE INDEX cases_create_time ON cases (create_time, id);
ALTER TABLE case_revisions DROP COLUMN xid;
ALTER TABLE cases DROP COLUMN create_xid;
