-- Affected counts
-- Runs, ticks and tool calls rebuilt by the current file (for the ingest summary).
select
    (select count(*) from runs where run_id in (select trace_id from affected_traces)) as runs,
    (select count(*) from ticks where run_id in (select trace_id from affected_traces)) as ticks,
    (select count(*) from tool_calls where run_id in (select trace_id from affected_traces)) as tool_calls
