-- Clear pending trace
-- One trace is rebuilt (or quarantined because it cannot be): it is no longer pending.
delete from pending_traces where trace_id = $trace_id
