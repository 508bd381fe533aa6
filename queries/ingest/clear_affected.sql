-- Clear affected traces
-- The per-file working set of traces whose derived rows must be rebuilt.
create or replace temp table affected_traces (trace_id varchar)
