-- Inserts a batch of cases given column by column, skipping any whose (region, case number) or
-- request id is stored already; returns the keys of those inserted.
INSERT INTO cases (region_code, case_number, case_type, status, applicant_type, sector,
                   accepted_on, concluded_on, leader_handled, public_hearing, private_enterprise,
                   spp_listed_batch, typical, summary, request_id, created_by, create_reason)
SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::smallint[], $5::smallint[],
                     $6::smallint[], $7::date[], $8::date[], $9::bool[], $10::bool[], $11::bool[],
                     $12::integer[], $13::bool[], $14::text[], $15::uuid[], $16::text[],
                     $17::text[])
ON CONFLICT DO NOTHING
RETURNING id, region_code, case_number
