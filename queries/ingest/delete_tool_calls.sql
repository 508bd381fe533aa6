-- Delete tool calls of affected traces (they are rebuilt from spans)
delete from tool_calls where run_id in (select trace_id from affected_traces)
