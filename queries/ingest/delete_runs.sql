-- Delete runs of affected traces (they are rebuilt from spans)
delete from runs where run_id in (select trace_id from affected_traces)
