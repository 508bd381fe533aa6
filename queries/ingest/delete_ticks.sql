-- Delete ticks of affected traces (they are rebuilt from spans)
delete from ticks where run_id in (select trace_id from affected_traces)
