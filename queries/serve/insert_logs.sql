-- Insert logs
-- The log records of one spool segment. A record already stored (same content hash, e.g. an
-- exporter retry) is kept once: first copy wins.
insert into logs
select
    b.log_id, $file_sha256, b.line, b.time_ns, b.observed_ns, b.severity_number, b.severity_text,
    b.event_name, b.body, b.trace_id, b.span_id, b.service_name, b.scope_name, b.attributes,
    b.resource_attributes
from (
    select * from log_batch
    qualify row_number() over (partition by log_id order by line) = 1
) b
anti join logs l on l.log_id = b.log_id
