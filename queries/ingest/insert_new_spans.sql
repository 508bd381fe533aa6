-- Insert new spans
-- The rows of a staged table ($span_batch, read twice: a table, never a one-shot stream) that are
-- not stored yet (same trace and span id): the stored copy wins. Used by the local-log path
-- (agentlog.store_spans), whose staging already keeps one row per span. Stored spans are looked up
-- only in the staged traces, so the cost follows the staged rows, not the size of the database:
-- their row ids come from the trace_id column alone (the staged trace ids are pushed into that
-- scan as a filter), then their span ids are fetched by row id. By name: these spans name no
-- resource (resource_id stays NULL).
insert into spans by name
select
    b.trace_id, b.span_id, b.parent_span_id, b.name, b.kind, b.start_ns, b.end_ns,
    b.status_code, b.status_message, b.service_name, b.scope_name, b.scope_version,
    b.attributes, b.resource_attributes, b.events, b.links, b.file_sha256, b.line
from span_batch b
anti join (
    select trace_id, span_id from spans
    where rowid in (select rowid from spans where trace_id in (select trace_id from span_batch))
) s on s.trace_id = b.trace_id and s.span_id = b.span_id
