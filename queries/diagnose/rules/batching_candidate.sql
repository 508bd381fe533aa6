-- Rule: batching candidate (fleet view)
-- Signature: the same tool called by at least batching_min_runs (3) different runs within one
-- $batching_window_ms (1,000 ms) window: a batcher in front of that tool would serve those calls
-- with one downstream request. Windows are fixed, aligned buckets of that width.
-- Saving: not estimated per run (it depends on the downstream's bulk endpoint); the evidence gives
-- the call counts so the amortisation can be judged.
-- The windows are counted once over the whole scope (diagnose/batching_windows); this file finds
-- the calls of the runs of the chunk in them.
insert into diag_findings
with calls as (
    select run_id, coalesce(tool_name, '(unnamed tool)') as tool_name, span_id, tick,
        start_ns // ($batching_window_ms * 1000000)::bigint as bucket
    from tool_calls
    where run_id in (select run_id from diag_runs)
),
windows as (
    select tool_name, bucket, runs from diag_batching_windows
),
per_run_tool as (
    select c.run_id, c.tool_name, count(distinct c.bucket) as windows, max(w.runs) as max_runs,
        list(c.tick order by c.tick) filter (where c.tick is not null) as ticks_list, list(c.span_id order by c.span_id) as spans_list
    from calls c join windows w using (tool_name, bucket)
    group by c.run_id, c.tool_name
)
select
    run_id,
    'batching_candidate',
    false,
    string_agg(format('{} was called by up to {} runs at once ({} window(s) of {})',
                      tool_name, max_runs, windows, ms_text($batching_window_ms)), '; ' order by max_runs desc, tool_name),
    'batch the calls of concurrent runs to that tool (a short batching window in front of a bulk endpoint); only worth it at high concurrency',
    null,
    null,
    list_sort(list_distinct(flatten(list(ticks_list)))),
    list_sort(flatten(list(spans_list)))
from per_run_tool
group by run_id
