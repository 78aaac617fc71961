ALTER TABLE case_revisions DROP COLUMN after;
DROP TABLE totals_log_start;
DROP TABLE pending_totals_log;
DROP TABLE pending_totals;
DROP TABLE listing_totals_log;
DROP TABLE figure_totals_log;
