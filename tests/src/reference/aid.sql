-- Judicial aid grants in the subtree of region $1, by bucket region, counted by grant date;
-- `extra` is the amount in fen. Parameters as in measures.sql.
SELECT COALESCE(b.ancestor_code, c.region_code) AS bucket,
       0::smallint AS key,
       count(*) FILTER (WHERE a.granted_on BETWEEN $2 AND $3) AS current,
       COALESCE(sum(a.amount_fen) FILTER (WHERE a.granted_on BETWEEN $2 AND $3), 0)::bigint AS current_extra,
       count(*) FILTER (WHERE a.granted_on BETWEEN $4 AND $5) AS previous,
       COALESCE(sum(a.amount_fen) FILTER (WHERE a.granted_on BETWEEN $4 AND $5), 0)::bigint AS previous_extra
FROM judicial_aid a
JOIN cases c ON c.id = a.case_id
JOIN region_ancestors s ON s.code = c.region_code AND s.ancestor_code = $1
LEFT JOIN region_ancestors b ON b.code = c.region_code AND b.ancestor_level = $6
WHERE c.status <> 3
  AND (a.granted_on BETWEEN $2 AND $3 OR a.granted_on BETWEEN $4 AND $5)
GROUP BY 1
