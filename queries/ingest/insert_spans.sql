-- Insert spans
-- New spans of a stream of batches (every row names its file: file_sha256, and file_seq, its place
-- in the stream). A span already stored (same trace and span id, e.g. an exporter retry or the
-- same span in two files) is kept once: first copy wins. This statement keeps out the spans stored
-- before it and streams (no blocking operator, so memory stays flat); a span repeated within the
-- stream is dropped afterwards by ingest/drop_repeated_spans, keeping the first copy in file
-- order, then line order.
insert into spans
select
    b.trace_id, b.span_id, b.parent_span_id, b.name, b.kind, b.start_ns, b.end_ns,
    b.status_code, b.status_message, b.service_name, b.scope_name, b.scope_version,
    b.attributes, b.resource_attributes, b.events, b.links, b.file_sha256, b.line
from span_batch b
anti join spans s on s.trace_id = b.trace_id and s.span_id = b.span_id
