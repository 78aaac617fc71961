-- Cases in the subtree of region $1, by bucket region: accepted (by acceptance date),
-- concluded (by conclusion date), and the markers of the cases accepted in the period, with
-- the distinct SPP listing batches. Parameters as in measures.sql.
SELECT COALESCE(b.ancestor_code, c.region_code) AS bucket,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3) AS accepted,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5) AS accepted_previous,
       count(*) FILTER (WHERE c.concluded_on BETWEEN $2 AND $3) AS concluded,
       count(*) FILTER (WHERE c.concluded_on BETWEEN $4 AND $5) AS concluded_previous,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.leader_handled) AS leader_handled,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.leader_handled) AS leader_handled_previous,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.public_hearing) AS public_hearing,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.public_hearing) AS public_hearing_previous,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.private_enterprise) AS private_enterprise,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.private_enterprise) AS private_enterprise_previous,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.spp_listed_batch > 0) AS spp_listed,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.spp_listed_batch > 0) AS spp_listed_previous,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.spp_listed_batch > 0 AND c.private_enterprise) AS spp_listed_private_enterprise,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.spp_listed_batch > 0 AND c.private_enterprise) AS spp_listed_private_enterprise_previous,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.typical) AS typical,
       count(*) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.typical) AS typical_previous,
       COALESCE(array_agg(DISTINCT c.spp_listed_batch) FILTER (WHERE c.accepted_on BETWEEN $2 AND $3 AND c.spp_listed_batch > 0), '{}') AS batches,
       COALESCE(array_agg(DISTINCT c.spp_listed_batch) FILTER (WHERE c.accepted_on BETWEEN $4 AND $5 AND c.spp_listed_batch > 0), '{}') AS batches_previous
FROM cases c
JOIN region_ancestors s ON s.code = c.region_code AND s.ancestor_code = $1
LEFT JOIN region_ancestors b ON b.code = c.region_code AND b.ancestor_level = $6
WHERE c.status <> 3
  AND (c.accepted_on BETWEEN $2 AND $3 OR c.accepted_on BETWEEN $4 AND $5
       OR c.concluded_on BETWEEN $2 AND $3 OR c.concluded_on BETWEEN $4 AND $5)
GROUP BY 1
