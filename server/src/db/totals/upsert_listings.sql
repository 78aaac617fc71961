-- Adds deltas to listing_totals, creating rows as needed. $1 grains, $2 buckets, $3 regions,
-- $4 scopes, $5 batches, $6 changes in the number of listed cases; sorted by key.
INSERT INTO listing_totals AS t (grain, bucket, region_code, scope, batch, cases)
SELECT * FROM unnest($1::smallint[], $2::date[], $3::text[], $4::smallint[], $5::integer[], $6::bigint[])
ON CONFLICT (grain, bucket, scope, region_code, batch) DO UPDATE SET cases = t.cases + excluded.cases
