-- Reads gathered into one row (访问日志合并读取): the reads one principal makes through one
-- method within a moment (the access log's writer gathers them for up to 20 ms) are appended
-- as one row instead of one row each. The row's own columns hold the first read; the arrays
-- hold the others, each with an event number of its own from the same sequence as the rows'.
-- A row of a write or a denial has no arrays. Appending one row per principal and method,
-- instead of thousands per second, is what keeps logging every read cheap (docs/benchmarks.md).
ALTER TABLE access_events
    ADD COLUMN more_ids       bigint[],
    ADD COLUMN more_times     timestamptz[],
    ADD COLUMN more_resources text[],
    ADD COLUMN more_regions   text[],
    ADD CONSTRAINT access_events_more_aligned CHECK (
        (more_ids IS NULL AND more_times IS NULL AND more_resources IS NULL AND more_regions IS NULL)
        OR (cardinality(more_ids) = cardinality(more_times)
            AND cardinality(more_ids) = cardinality(more_resources)
            AND cardinality(more_ids) = cardinality(more_regions))
    );
