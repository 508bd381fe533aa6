-- Insert spans
-- Every span of a stream of batches (every row names its file: file_sha256, and file_seq, its place
-- in the stream), as it comes: no join, no blocking operator, so memory stays flat whatever the
-- stream's size, and nothing here reads the stored spans. A span already stored (same trace and
-- span id: an exporter retry, the same span in two files) or repeated within the stream is removed
-- right after by ingest/drop_stored_copies and drop_repeated_within, which keep the first copy:
-- the stored one, else the first in file order, then line order. Always run them together, in
-- one transaction. OTLP streams name each span's resource (resource_id, stored once by
-- ingest/insert_resources) with a NULL resource_attributes; others (ClickHouse) carry the map and a
-- NULL resource_id.
insert into spans by name
select
    b.trace_id, b.span_id, b.parent_span_id, b.name, b.kind, b.start_ns, b.end_ns,
    b.status_code, b.status_message, b.service_name, b.scope_name, b.scope_version,
    b.attributes, b.resource_attributes, b.resource_id, b.events, b.links, b.file_sha256, b.line
from span_batch b
