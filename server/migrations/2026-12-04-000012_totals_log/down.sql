DROP TABLE totals_log_start;
DROP TABLE listing_totals_log;
DROP TABLE figure_totals_log;
