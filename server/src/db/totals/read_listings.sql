-- The SPP listing batches with listed cases, and how many, in the rows of regions $1 in scopes $6, by bucket
-- region $2 and side (0 the period, 1 the comparison period), over the time buckets ($3 grains,
-- $4 bucket starts, $5 sides) that tile both periods. The FROM clause that finds the
-- rows of listing_totals (totals::SCAN or totals::PROBE) is put in by totals::read_sql.
SELECT m.bucket_region, p.side, t.batch, sum(t.cases)::bigint AS cases
{rows}
GROUP BY 1, 2, 3
HAVING sum(t.cases) > 0
