-- Drop repeated spans, within the new ones
-- After ingest/new_span_keys: of a span the new spans hold more than once, remove every copy but
-- the first in file order, then line order (after ingest/drop_stored_copies when spans were stored
-- before them; removing a row that one already removed changes nothing).
delete from spans
where rowid in (
    select r from new_span_keys
    qualify row_number() over (partition by trace_id, span_id order by file_seq, line, r) > 1
)
