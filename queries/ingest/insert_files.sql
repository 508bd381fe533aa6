-- Insert files
-- Marks files' contents as ingested; the same bytes under any path are skipped from now on.
insert into files
select sha256, path, format, size_bytes, records, records_skipped, spans_new, now()::timestamp
from files_batch
