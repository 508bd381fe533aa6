-- How many chunks the scope has (diagnose/scope).
select coalesce(max(chunk) + 1, 0) as chunks from diag_scope
