-- Drop repeated spans, within the new ones
-- ingest/drop_repeated_spans for an insert into an empty table (a first ingest): nothing was
-- stored before, so only the copies repeated within the new spans (ingest/new_span_keys) are
-- removed, keeping the first in file order, then line order.
delete from spans
where rowid in (
    select r from new_span_keys
    qualify row_number() over (partition by trace_id, span_id order by file_seq, line, r) > 1
)
