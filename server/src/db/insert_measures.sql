-- Inserts a batch of measures given column by column; returns their ids in the order given.
INSERT INTO measures (case_id, kind, issued_on, addressee_type, addressee, adoption, answered_on,
                      request_id)
SELECT unnest($1::bigint[]), unnest($2::smallint[]), unnest($3::date[]), unnest($4::smallint[]),
       unnest($5::text[]), unnest($6::smallint[]), unnest($7::date[]), unnest($8::uuid[])
RETURNING id, case_id
