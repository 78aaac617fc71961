ALTER TABLE access_events
    DROP CONSTRAINT access_events_more_aligned,
    DROP COLUMN more_ids,
    DROP COLUMN more_times,
    DROP COLUMN more_resources,
    DROP COLUMN more_regions;
