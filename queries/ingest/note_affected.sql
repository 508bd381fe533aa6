-- Note affected traces
-- Traces of this batch that gain at least one span not stored before: only these are re-derived,
-- which is why re-ingesting known spans changes nothing.
insert into affected_traces
select distinct b.trace_id
from span_batch b
anti join spans s on s.trace_id = b.trace_id and s.span_id = b.span_id
where b.trace_id not in (select trace_id from affected_traces)
