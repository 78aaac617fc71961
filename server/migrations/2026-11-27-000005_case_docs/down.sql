DROP TABLE case_docs_backfill;
DROP TRIGGER case_docs_follow_aid ON judicial_aid;
DROP TRIGGER case_docs_follow_resolutions ON resolutions;
DROP TRIGGER case_docs_follow_measures ON measures;
DROP TRIGGER case_docs_follow_cases ON cases;
DROP FUNCTION procura_drop_case_doc();
DROP TABLE case_docs;
