-- Diagnosis chunk
-- The runs of one chunk of the scope (diagnose/scope): every rule reads its runs from diag_runs.
create or replace temp table diag_runs as
select * exclude (chunk) from diag_scope where chunk = $chunk
