-- New span keys
-- The row ids and keys of the spans that the files just inserted ($file_batch: sha256 and
-- file_seq, their order) hold, in a temp table that ingest/drop_stored_copies and drop_repeated_within read. A table, not
-- a subquery: its exact size lets DuckDB build its joins on these few rows and push their trace
-- ids into the scan of the stored spans, instead of hashing every stored span.
create or replace temp table new_span_keys as
select s.rowid as r, s.trace_id, s.span_id, f.file_seq, s.line
from spans s
join file_batch f on f.sha256 = s.file_sha256
