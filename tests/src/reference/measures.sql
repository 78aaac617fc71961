-- Supervision measures in the subtree of region $1, by bucket region and kind, counted by
-- issue date in the period [$2, $3] and the comparison period [$4, $5]; `extra` counts the
-- adopted ones. A record's bucket is its region's ancestor at level $6, or its own region when
-- that sits above level $6. Withdrawn cases count nowhere.
SELECT COALESCE(b.ancestor_code, c.region_code) AS bucket,
       m.kind AS key,
       count(*) FILTER (WHERE m.issued_on BETWEEN $2 AND $3) AS current,
       count(*) FILTER (WHERE m.issued_on BETWEEN $2 AND $3 AND m.adoption = 2) AS current_extra,
       count(*) FILTER (WHERE m.issued_on BETWEEN $4 AND $5) AS previous,
       count(*) FILTER (WHERE m.issued_on BETWEEN $4 AND $5 AND m.adoption = 2) AS previous_extra
FROM measures m
JOIN cases c ON c.id = m.case_id
JOIN region_ancestors s ON s.code = c.region_code AND s.ancestor_code = $1
LEFT JOIN region_ancestors b ON b.code = c.region_code AND b.ancestor_level = $6
WHERE c.status <> 3
  AND (m.issued_on BETWEEN $2 AND $3 OR m.issued_on BETWEEN $4 AND $5)
GROUP BY 1, 2
