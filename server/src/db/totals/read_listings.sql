-- The SPP listing batches with listed cases in the rows of regions $1 in scopes $6, by bucket
-- region $2 and side (0 the period, 1 the comparison period), over the time buckets ($3 grains,
-- $4 bucket starts, $5 sides) that tile both periods.
SELECT m.bucket_region, p.side, t.batch
FROM unnest($3::smallint[], $4::date[], $5::smallint[]) AS p (grain, bucket, side)
JOIN listing_totals t ON t.grain = p.grain AND t.bucket = p.bucket
JOIN unnest($1::text[], $2::text[], $6::smallint[]) AS m (code, bucket_region, scope)
  ON m.code = t.region_code AND m.scope = t.scope
GROUP BY 1, 2, 3
HAVING sum(t.cases) > 0
