-- Dispute resolutions in the subtree of region $1, by bucket region and method, counted by
-- resolution date; `extra` counts those of cases involving private enterprises. Parameters as
-- in measures.sql.
SELECT COALESCE(b.ancestor_code, c.region_code) AS bucket,
       r.method AS key,
       count(*) FILTER (WHERE r.resolved_on BETWEEN $2 AND $3) AS current,
       count(*) FILTER (WHERE r.resolved_on BETWEEN $2 AND $3 AND c.private_enterprise) AS current_extra,
       count(*) FILTER (WHERE r.resolved_on BETWEEN $4 AND $5) AS previous,
       count(*) FILTER (WHERE r.resolved_on BETWEEN $4 AND $5 AND c.private_enterprise) AS previous_extra
FROM resolutions r
JOIN cases c ON c.id = r.case_id
JOIN region_ancestors s ON s.code = c.region_code AND s.ancestor_code = $1
LEFT JOIN region_ancestors b ON b.code = c.region_code AND b.ancestor_level = $6
WHERE c.status <> 3
  AND (r.resolved_on BETWEEN $2 AND $3 OR r.resolved_on BETWEEN $4 AND $5)
GROUP BY 1, 2
