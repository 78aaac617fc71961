-- Cases $1 with everything under them, in one statement: for each, the case row, then its
-- measures, its resolution (none or one) and its aid grants, column by column as arrays (in the
-- same order within a table; the server sorts them by id).
SELECT c.id, c.region_code, c.case_number, c.case_type, c.status, c.applicant_type, c.sector,
       c.accepted_on, c.concluded_on, c.leader_handled, c.public_hearing, c.private_enterprise,
       c.spp_listed_batch, c.typical, c.summary, c.request_id, c.created_by, c.create_reason,
       c.version, c.create_time, c.update_time,
       m.*, r.*, a.*
FROM cases c
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(id), '{}') AS m_id,
           coalesce(array_agg(kind), '{}') AS m_kind,
           coalesce(array_agg(issued_on), '{}') AS m_issued_on,
           coalesce(array_agg(addressee_type), '{}') AS m_addressee_type,
           coalesce(array_agg(addressee), '{}') AS m_addressee,
           coalesce(array_agg(adoption), '{}') AS m_adoption,
           coalesce(array_agg(answered_on), '{}') AS m_answered_on,
           coalesce(array_agg(request_id), '{}') AS m_request_id,
           coalesce(array_agg(create_time), '{}') AS m_create_time,
           coalesce(array_agg(update_time), '{}') AS m_update_time
    FROM measures WHERE case_id = c.id
) m
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(method), '{}') AS r_method,
           coalesce(array_agg(resolved_on), '{}') AS r_resolved_on,
           coalesce(array_agg(note), '{}') AS r_note,
           coalesce(array_agg(request_id), '{}') AS r_request_id,
           coalesce(array_agg(create_time), '{}') AS r_create_time
    FROM resolutions WHERE case_id = c.id
) r
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(id), '{}') AS a_id,
           coalesce(array_agg(granted_on), '{}') AS a_granted_on,
           coalesce(array_agg(amount_fen), '{}') AS a_amount_fen,
           coalesce(array_agg(recipient), '{}') AS a_recipient,
           coalesce(array_agg(request_id), '{}') AS a_request_id,
           coalesce(array_agg(create_time), '{}') AS a_create_time
    FROM judicial_aid WHERE case_id = c.id
) a
WHERE c.id = ANY($1)
