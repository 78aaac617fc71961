-- Adds deltas to listing_totals, creating rows as needed. $1 grains, $2 buckets, $3 regions,
-- $4 scopes, $5 batches, $6 changes in the number of listed cases; in lock order.
INSERT INTO listing_totals AS t (grain, bucket, region_code, scope, batch, cases)
SELECT unnest($1::smallint[]), unnest($2::date[]), unnest($3::text[]), unnest($4::smallint[]),
       unnest($5::integer[]), unnest($6::bigint[])
ON CONFLICT (grain, bucket, scope, region_code, batch) DO UPDATE SET cases = t.cases + excluded.cases
