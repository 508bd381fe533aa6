-- Compare tools
-- The tool sets of two runs ($run_a, $run_b): every tool name either run called, with its number
-- of calls, failed calls and summed duration (ms) on each side (0 calls on the side that never
-- called it) and the change in calls (B - A). Tool calls linked to no tick count here too.
-- Order: most calls over both runs first, then name.
with c as (
    select coalesce(tool_name, '(unnamed)') as tool_name,
           count(*) filter (where run_id = $run_a) as a_calls,
           count(*) filter (where run_id = $run_b) as b_calls,
           count(*) filter (where run_id = $run_a and status = 'error') as a_failed_calls,
           count(*) filter (where run_id = $run_b and status = 'error') as b_failed_calls,
           sum(duration_ms) filter (where run_id = $run_a) as a_total_ms,
           sum(duration_ms) filter (where run_id = $run_b) as b_total_ms
    from tool_calls
    where run_id in ($run_a, $run_b)
    group by all
)
select tool_name, a_calls, b_calls, b_calls - a_calls as calls_change, a_failed_calls,
       b_failed_calls, a_total_ms, b_total_ms
from c
order by a_calls + b_calls desc, tool_name
