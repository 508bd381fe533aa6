-- Insert agent-log spans
-- The staged local-log spans that are not stored yet, each with the file it came from.
insert into spans
select
    b.trace_id, b.span_id, b.parent_span_id, b.name, b.kind, b.start_ns, b.end_ns,
    b.status_code, b.status_message, b.service_name, b.scope_name, b.scope_version,
    b.attributes, b.resource_attributes, b.events, b.links, b.file_sha256, b.line
from agentlog_batch b
anti join spans s on s.trace_id = b.trace_id and s.span_id = b.span_id
