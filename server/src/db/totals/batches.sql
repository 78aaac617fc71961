-- The distinct SPP listing batches of the cases accepted in each period, by bucket region.
-- Listed cases are few and indexed (cases_spp_listed). $1 region, $2 bucket level,
-- [$3, $4] the period, [$5, $6] the comparison period.
SELECT COALESCE(b.ancestor_code, c.region_code) AS bucket_region,
       p.side,
       c.spp_listed_batch AS batch
FROM (VALUES (0::smallint, $3::date, $4::date), (1::smallint, $5::date, $6::date)) AS p (side, start_on, end_on)
JOIN cases c ON c.accepted_on BETWEEN p.start_on AND p.end_on
JOIN region_ancestors s ON s.code = c.region_code AND s.ancestor_code = $1
LEFT JOIN region_ancestors b ON b.code = c.region_code AND b.ancestor_level = $2
WHERE c.spp_listed_batch > 0 AND c.status <> 3
GROUP BY 1, 2, 3
