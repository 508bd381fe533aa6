-- Repeated tool calls
-- Calls of the same tool with the same argument fingerprint (sorted-key JSON hash) within one run.
-- Every call after the first could have been served by a result cache: its duration is the saving.
-- Calls whose arguments were not recorded have no fingerprint and are never called repeats.
create or replace temp table diag_tool_repeats as
select
    run_id,
    tool_name,
    args_fingerprint,
    count(*) as calls,
    sum(greatest(end_ns - start_ns, 0)) / 1e6 as total_ms,
    (sum(greatest(end_ns - start_ns, 0)) - arg_min(greatest(end_ns - start_ns, 0), start_ns)) / 1e6 as repeat_ms,
    list(tick order by start_ns, span_id) as ticks,
    list(span_id order by start_ns, span_id) as span_ids
from tool_calls
where run_id in (select run_id from diag_runs) and args_fingerprint is not null
group by run_id, tool_name, args_fingerprint
having count(*) >= 2
