-- Every figure of a rollup recounted from the records, written from the counting rules of the
-- contract (`Figure.metric` in proto/procura/v1/report.proto, "How figures are counted" in the
-- README) and nothing of the server's: no metric table, no region closure, no kept totals.
--
-- $1: the rollup's region code; [$2, $3]: the period; [$4, $5]: the comparison period, both
-- ends included; $6: the bucket level (1 national, 2 province, 3 prefecture, 4 county).
-- Stored enum numbers are the proto's: case status 3 is CASE_STATUS_WITHDRAWN, adoption 2 is
-- ADOPTION_ADOPTED, measure kinds and resolution methods as numbered below.
--
-- One row per (bucket, metric) with an event in either period, and one per metric for the
-- whole subtree (`total` true, `bucket` empty). A record's bucket is the region of its
-- procuratorate's ancestors (itself included) at level $6, or its own region when that sits
-- above level $6.
WITH RECURSIVE subtree (code, bucket) AS (
    SELECT code, code FROM regions WHERE code = $1
    UNION ALL
    SELECT r.code, CASE WHEN r.level <= $6 THEN r.code ELSE t.bucket END
    FROM regions r
    JOIN subtree t ON r.parent_code = t.code
),
-- Withdrawn cases count nowhere, nor do their records.
counted AS (
    SELECT c.*, t.bucket
    FROM cases c
    JOIN subtree t ON t.code = c.region_code
    WHERE c.status <> 3
),
measure_kinds (number, name) AS (
    VALUES (1, 'protest'),
           (2, 'retrial_suggestion'),
           (3, 'trial_violation_suggestion'),
           (4, 'enforcement_violation_suggestion'),
           (5, 'social_governance_suggestion'),
           (6, 'administrative_organ_suggestion')
),
resolution_methods (number, name) AS (
    VALUES (1, 'supervision_correction'),
           (2, 'reconciliation'),
           (3, 'judicial_assistance'),
           (4, 'public_hearing_settlement'),
           (5, 'other')
),
measure_events AS (
    SELECT c.bucket, m.issued_on AS day, k.name AS kind, m.adoption = 2 AS adopted
    FROM measures m
    JOIN counted c ON c.id = m.case_id
    JOIN measure_kinds k ON k.number = m.kind
),
resolution_events AS (
    SELECT c.bucket, r.resolved_on AS day, k.name AS method, c.private_enterprise
    FROM resolutions r
    JOIN counted c ON c.id = r.case_id
    JOIN resolution_methods k ON k.number = r.method
),
-- Each event: the figure it feeds, the day that places it in a period, what it adds (1 for a
-- count, fen for money) and, for listing batches, the batch it names.
events (bucket, metric, day, amount, batch) AS (
    SELECT bucket, 'cases.accepted', accepted_on, 1::bigint, NULL::integer FROM counted
    UNION ALL
    SELECT bucket, 'cases.concluded', concluded_on, 1, NULL FROM counted
    WHERE concluded_on IS NOT NULL
    -- Markers: the cases accepted in the period that carry them.
    UNION ALL
    SELECT bucket, 'markers.leader_handled', accepted_on, 1, NULL FROM counted WHERE leader_handled
    UNION ALL
    SELECT bucket, 'markers.public_hearing', accepted_on, 1, NULL FROM counted WHERE public_hearing
    UNION ALL
    SELECT bucket, 'markers.private_enterprise', accepted_on, 1, NULL FROM counted
    WHERE private_enterprise
    UNION ALL
    SELECT bucket, 'markers.spp_listed', accepted_on, 1, NULL FROM counted WHERE spp_listed_batch > 0
    UNION ALL
    SELECT bucket, 'markers.spp_listed_private_enterprise', accepted_on, 1, NULL FROM counted
    WHERE spp_listed_batch > 0 AND private_enterprise
    UNION ALL
    SELECT bucket, 'markers.spp_listed_batches', accepted_on, NULL, spp_listed_batch FROM counted
    WHERE spp_listed_batch > 0
    UNION ALL
    SELECT bucket, 'markers.typical', accepted_on, 1, NULL FROM counted WHERE typical
    -- Measures by issue date; "adopted" by the answer known now, whatever its date.
    UNION ALL
    SELECT bucket, 'measures.total', day, 1, NULL FROM measure_events
    UNION ALL
    SELECT bucket, 'measures.protest_and_retrial', day, 1, NULL FROM measure_events
    WHERE kind IN ('protest', 'retrial_suggestion')
    UNION ALL
    SELECT bucket, 'measures.' || kind, day, 1, NULL FROM measure_events
    UNION ALL
    SELECT bucket, 'measures.' || kind || '.adopted', day, 1, NULL FROM measure_events WHERE adopted
    -- Resolutions by resolution date; "private enterprise" by the case's marker.
    UNION ALL
    SELECT bucket, 'resolutions.total', day, 1, NULL FROM resolution_events
    UNION ALL
    SELECT bucket, 'resolutions.' || method, day, 1, NULL FROM resolution_events
    UNION ALL
    SELECT bucket, 'resolutions.private_enterprise', day, 1, NULL FROM resolution_events
    WHERE private_enterprise
    -- Judicial aid by grant date.
    UNION ALL
    SELECT c.bucket, 'aid.grants', a.granted_on, 1, NULL
    FROM judicial_aid a JOIN counted c ON c.id = a.case_id
    UNION ALL
    SELECT c.bucket, 'aid.amount_fen', a.granted_on, a.amount_fen, NULL
    FROM judicial_aid a JOIN counted c ON c.id = a.case_id
)
SELECT GROUPING(bucket) = 1 AS total,
       COALESCE(bucket, '') AS bucket,
       metric,
       CASE WHEN metric = 'markers.spp_listed_batches'
            THEN count(DISTINCT batch) FILTER (WHERE day BETWEEN $2 AND $3)
            ELSE COALESCE(sum(amount) FILTER (WHERE day BETWEEN $2 AND $3), 0)
       END::bigint AS current,
       CASE WHEN metric = 'markers.spp_listed_batches'
            THEN count(DISTINCT batch) FILTER (WHERE day BETWEEN $4 AND $5)
            ELSE COALESCE(sum(amount) FILTER (WHERE day BETWEEN $4 AND $5), 0)
       END::bigint AS previous
FROM events
WHERE day BETWEEN $2 AND $3 OR day BETWEEN $4 AND $5
GROUP BY GROUPING SETS ((bucket, metric), (metric))
