-- Rule: harness overhead
-- Signature: the part of wall-clock covered by no model or tool span (runs.harness_ms: untraced
-- tools, scheduling, retries, idle) is at least $harness_share (0.4) of the run and at least
-- $harness_min_ms (1,000 ms).
-- Saving: not estimated (what fills the gap is not in the trace); the evidence names the longest gap
-- and the ticks around it so the next trace can instrument it.
insert into diag_findings
with intervals as (
    select run_id, tick as after_tick, start_ns, end_ns from diag_ticks
    union all
    select run_id, tick, start_ns, end_ns from tool_calls
    where run_id in (select run_id from diag_runs) and end_ns >= start_ns
),
reach as (
    select *,
        max(end_ns) over (partition by run_id order by start_ns, end_ns rows between unbounded preceding and 1 preceding) as prev_end,
        max(after_tick) over (partition by run_id order by start_ns, end_ns rows between unbounded preceding and 1 preceding) as prev_tick
    from intervals
),
gaps as (
    select run_id, arg_max(start_ns - prev_end, start_ns - prev_end) as gap_ns,
        arg_max(prev_tick, start_ns - prev_end) as prev_tick
    from reach where start_ns > prev_end
    group by run_id
)
select
    r.run_id,
    'harness_overhead',
    false,
    format('{} ({}) of the {} wall-clock is covered by no model or tool span{}',
        ms_text(r.harness_ms), pct_text(r.harness_ms / r.wall_ms), ms_text(r.wall_ms),
        case when g.gap_ns is not null
             then format('; the longest gap is {} after tick {}', ms_text(g.gap_ns / 1e6), coalesce(g.prev_tick::varchar, '?'))
             else '' end),
    'trace what runs in the gaps (untraced tools, retries, queueing, scheduling) and remove the idle time',
    null,
    null,
    case when g.prev_tick is not null then [g.prev_tick] else [] end,
    []
from diag_runs r
left join gaps g using (run_id)
where r.wall_ms > 0
  and r.untimed_ticks = 0  -- as untraced_gap: a model call without a duration is no gap
  and r.harness_ms >= $harness_share * r.wall_ms
  and r.harness_ms >= $harness_min_ms
