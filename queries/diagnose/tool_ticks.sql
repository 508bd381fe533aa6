-- Tool calls per tick
-- For every tick of the scope that requested two tool calls or more: how many, their plain sum, the
-- longest one, and the time their union covers (overlapping calls count once). union − longest is
-- what parallel dispatch would save: independent calls run together finish when the longest one
-- does (a tick with one call has nothing to gain, so it is left out).
create or replace temp table diag_tool_ticks as
with c as (
    select run_id, tick, span_id, tool_name, start_ns, end_ns, greatest(end_ns - start_ns, 0) as dur_ns
    from tool_calls
    where run_id in (select run_id from diag_runs) and tick is not null
),
ordered as (
    -- Sorted by start, a call adds to the union only what reaches past every earlier call's end.
    select *,
        max(end_ns) over (partition by run_id, tick order by start_ns, end_ns, span_id
                          rows between unbounded preceding and 1 preceding) as reach,
        count(*) over (partition by run_id, tick) as tick_calls
    from c
)
select
    run_id,
    tick,
    count(*) as calls,
    sum(dur_ns) / 1e6 as serial_ms,
    max(dur_ns) / 1e6 as longest_ms,
    sum(greatest(end_ns - greatest(start_ns, coalesce(reach, start_ns)), 0)) / 1e6 as union_ms,
    list(tool_name order by start_ns, span_id) as tool_names,
    list(span_id order by start_ns, span_id) as span_ids
from ordered
where tick_calls >= 2
group by run_id, tick
