-- Affected traces from pending
-- The working set of one derivation: every trace marked pending, once.
create or replace temp table affected_traces as
select distinct trace_id from pending_traces
