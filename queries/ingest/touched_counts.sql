-- Touched counts
-- Runs, ticks and tool calls of the traces this ingest rebuilt (for the ingest summary).
select
    (select count(*) from runs where run_id in (select trace_id from affected_traces)) as runs,
    (select count(*) from ticks where run_id in (select trace_id from affected_traces)) as ticks,
    (select count(*) from tool_calls where run_id in (select trace_id from affected_traces)) as tool_calls
