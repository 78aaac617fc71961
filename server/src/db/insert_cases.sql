-- Inserts a batch of cases given column by column, skipping any whose (region, case number) or
-- request id is stored already; returns the keys and times of those inserted.
INSERT INTO cases (region_code, case_number, case_type, status, applicant_type, sector,
                   accepted_on, concluded_on, leader_handled, public_hearing, private_enterprise,
                   spp_listed_batch, typical, summary, request_id, created_by, create_reason)
SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::smallint[]), unnest($4::smallint[]),
       unnest($5::smallint[]), unnest($6::smallint[]), unnest($7::date[]), unnest($8::date[]),
       unnest($9::bool[]), unnest($10::bool[]), unnest($11::bool[]), unnest($12::integer[]),
       unnest($13::bool[]), unnest($14::text[]), unnest($15::uuid[]), unnest($16::text[]),
       unnest($17::text[])
ON CONFLICT DO NOTHING
RETURNING id, region_code, case_number, create_time
