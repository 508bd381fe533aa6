-- Insert spans
-- New spans of one batch. A span already stored (same trace and span id, e.g. an exporter retry or
-- the same span in two files) is kept once: first copy wins.
insert into spans
select
    b.trace_id, b.span_id, b.parent_span_id, b.name, b.kind, b.start_ns, b.end_ns,
    b.status_code, b.status_message, b.service_name, b.scope_name, b.scope_version,
    b.attributes, b.resource_attributes, b.events, b.links, $file_sha256, b.line
from (
    select * from span_batch
    qualify row_number() over (partition by trace_id, span_id order by line) = 1
) b
anti join spans s on s.trace_id = b.trace_id and s.span_id = b.span_id
