-- Inserts a batch of measures given column by column.
INSERT INTO measures (case_id, kind, issued_on, addressee_type, addressee, adoption, answered_on,
                      request_id)
SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::date[], $4::smallint[], $5::text[],
                     $6::smallint[], $7::date[], $8::uuid[])
