-- Batching windows
-- The windows of the batching_candidate rule, over the whole scope (not one chunk): the same tool
-- called by at least $batching_min_runs (3) different runs of the scope within one
-- $batching_window_ms (1,000 ms) window. Windows are fixed, aligned buckets of that width.
create or replace temp table diag_batching_windows as
select coalesce(tool_name, '(unnamed tool)') as tool_name,
    start_ns // ($batching_window_ms * 1000000)::bigint as bucket,
    count(distinct run_id) as runs,
    count(*) as calls
from tool_calls
where run_id in (select run_id from diag_scope)
group by all
having count(distinct run_id) >= $batching_min_runs
