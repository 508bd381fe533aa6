-- Time by tool
-- Per tool name: calls, runs calling it, failed calls, the serial sum of call durations and the
-- p50/p95 call duration, plus calls whose argument fingerprint repeats within the same run (result-
-- cache candidates). Tools have no token cost of their own; their price is wall-clock.
-- Same filters as report/runs.
with sel as (
    select c.*,
        count(*) over (partition by c.run_id, c.tool_name, c.args_fingerprint) as same_args
    from tool_calls c
    join selected_runs($since, $until, $source, $agent) r using (run_id)
)
select
    tool_name,
    count(*) as calls,
    count(distinct run_id) as runs,
    count(*) filter (where status = 'error') as failed_calls,
    count(*) filter (where args_fingerprint is not null and same_args > 1) as repeated_calls,
    exact_sum(duration_ms) as total_ms,
    quantile_cont(duration_ms, 0.5) as duration_p50_ms,
    quantile_cont(duration_ms, 0.95) as duration_p95_ms
from sel
group by tool_name
order by coalesce(exact_sum(duration_ms), -1) desc, tool_name nulls last
