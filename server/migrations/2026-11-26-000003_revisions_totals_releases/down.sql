DROP TABLE releases;
DROP FUNCTION procura_forbid_change() CASCADE;
DROP INDEX cases_region_code;
DROP INDEX cases_create_time;
DROP INDEX cases_spp_listed;
DROP TABLE figure_totals;
DROP TABLE case_revisions;
