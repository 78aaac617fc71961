-- Cases pending at day $2 (accepted by then, not concluded by then, not withdrawn) in the
-- subtree of region $1, by acceptance date.
SELECT c.accepted_on, count(*) AS cases
FROM cases c
JOIN region_ancestors s ON s.code = c.region_code AND s.ancestor_code = $1
WHERE c.status <> 3
  AND c.accepted_on <= $2
  AND (c.concluded_on IS NULL OR c.concluded_on > $2)
GROUP BY 1
