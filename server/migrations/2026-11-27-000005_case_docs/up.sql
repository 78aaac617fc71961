-- Each case's GetCase answer, ready: the procura.v1.Case message (the case with its measures,
-- resolution and aid grants), protobuf-encoded, as of the case's current version. GetCase reads
-- one row here instead of a case row and three tables of records. A case with no row here is
-- read from the records (a case stored before this migration until its answer is built, or one
-- of a batch whose answers could not be built); nothing here is the only copy of anything.
--
-- No foreign key to cases: cases are never deleted (withdrawal is a status), and an import
-- would pay one more index probe per case for it.
CREATE TABLE case_docs (
    case_id bigint PRIMARY KEY,
    doc     bytea NOT NULL
);

-- A kept answer is of one version of its case. Every change to a case row (each change procura
-- makes bumps its version) drops the answer in the changing transaction, and procura's writer
-- stores the new one after (db::docs::replace). A writer that did not, or a change made by hand,
-- leaves the case to be read from its records: slower, never stale.
-- The case's id is the changed row's column named by the trigger's argument.
CREATE FUNCTION procura_drop_case_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_docs WHERE case_id = (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    RETURN NULL;
END;
$$;
CREATE TRIGGER case_docs_follow_cases AFTER UPDATE OR DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION procura_drop_case_doc('id');

-- procura changes a record under a case only together with the case row; these triggers drop
-- the answer even for a change made outside procura (e.g. by hand in psql).
CREATE TRIGGER case_docs_follow_measures AFTER UPDATE OR DELETE ON measures
    FOR EACH ROW EXECUTE FUNCTION procura_drop_case_doc('case_id');
CREATE TRIGGER case_docs_follow_resolutions AFTER UPDATE OR DELETE ON resolutions
    FOR EACH ROW EXECUTE FUNCTION procura_drop_case_doc('case_id');
CREATE TRIGGER case_docs_follow_aid AFTER UPDATE OR DELETE ON judicial_aid
    FOR EACH ROW EXECUTE FUNCTION procura_drop_case_doc('case_id');

-- Cases stored before this migration get their answers from procura-server, in the background,
-- a chunk of ids at a time (db::docs::backfill): ids up to `up_to`, done up to `done_to`.
CREATE TABLE case_docs_backfill (
    up_to   bigint NOT NULL,
    done_to bigint NOT NULL
);
INSERT INTO case_docs_backfill SELECT coalesce(max(id), 0), 0 FROM cases;
