-- Affected one trace
-- The working set when the derivation of every pending trace at once failed: one pending trace
-- ($trace_id) at a time, so one trace whose stored values break the derivation cannot stop the
-- others (ingest.derive_pending).
create or replace temp table affected_traces as
select $trace_id as trace_id
