-- Rule: one slow tool (bottleneck class)
-- Signature: tool calls hold at least $slow_tool_share (0.5) of the run's wall-clock on the
-- critical path (runs.tool_ms: overlapping calls count once, model time and calls that wait on a
-- person excluded). It fires whatever the levers below save: a run whose time goes to its tools is
-- not healthy, even when they already run in parallel or nothing in the run gives an estimate.
-- The tool named is the one whose calls take the most time (ties: the first name). Its levers, each
-- estimated from the run's own calls only (adding unrelated runs never changes a run's saving):
--   result cache, for cacheable tools only (diagnose/tool_kinds: never for a tool that changes
--   state or reads state that changes): calls repeating an earlier call with identical arguments;
--   parallel dispatch, only where the source's times show how calls ran (tool_starts_known in
--   diagnose/macros: not Claude Code transcripts or Codex rollouts): per tick with several calls,
--   their union minus the longest call;
--   fix the tool: its calls' time beyond a typical call of the run: the median of the run's other
--   tools' calls, else of its own calls when it made three or more; else there is no estimate.
-- The best lever is named with its saving when it saves at least $min_saving_ms (100 ms: below
-- that, the seeds' "instantaneous" band) and $min_saving_share (5%) of wall-clock. Otherwise the
-- saving is NULL ("not estimated") and the lever is the tool itself: "the tools already run in
-- parallel: speed up X itself" when the calls of its ticks overlapped, else "fix or speed up X".
insert into diag_findings
with calls as (
    select c.run_id, coalesce(c.tool_name, '(unnamed tool)') as tool_name, c.span_id, c.tick,
        greatest(c.end_ns - c.start_ns, 0) / 1e6 as dur_ms
    from tool_calls c
    where c.run_id in (select run_id from diag_runs) and c.status is distinct from 'user_wait'
),
by_tool as (
    select run_id, tool_name, count(*) as calls, sum(dur_ms) as total_ms
    from calls group by run_id, tool_name
),
slowest as (
    select * from by_tool
    qualify row_number() over (partition by run_id order by total_ms desc, tool_name) = 1
),
typical as (
    select s.run_id,
        coalesce(median(c.dur_ms) filter (where c.tool_name <> s.tool_name),
                 case when s.calls >= 3 then median(c.dur_ms) filter (where c.tool_name = s.tool_name) end)
            as typical_ms
    from slowest s join calls c using (run_id)
    group by s.run_id, s.calls
),
fix as (
    select s.run_id,
        -- greatest() skips NULLs, so an unknown typical time must stay NULL explicitly
        sum(case when ty.typical_ms is not null then greatest(c.dur_ms - ty.typical_ms, 0) end) as saving_ms,
        list(c.span_id order by c.span_id) as spans_list,
        list_sort(list(distinct c.tick) filter (where c.tick is not null)) as ticks_list
    from slowest s
    join typical ty using (run_id)
    join calls c on c.run_id = s.run_id and c.tool_name = s.tool_name
    group by s.run_id
),
parallel as (
    -- per tool: the parallel-dispatch saving of the ticks in which it was one of several calls,
    -- and whether the calls of those ticks already overlapped
    select p.run_id, u.tool_name, sum(p.union_ms - p.longest_ms) as parallel_ms,
        bool_or(p.union_ms < p.serial_ms) as overlapped
    from diag_tool_ticks p,
        unnest(list_distinct(list_transform(p.tool_names, lambda n: coalesce(n, '(unnamed tool)')))) as u(tool_name)
    where p.run_id in (select run_id from diag_runs where tool_starts_known(source))
    group by p.run_id, u.tool_name
),
repeats as (
    select run_id, coalesce(tool_name, '(unnamed tool)') as tool_name, sum(repeat_ms) as repeat_ms
    from diag_tool_repeats group by all
),
levers as (
    select s.run_id, s.tool_name, s.total_ms, s.calls, ty.typical_ms,
        fx.saving_ms as fix_ms,
        coalesce(pa.parallel_ms, 0) as parallel_ms,
        coalesce(pa.overlapped, false) as overlapped,
        coalesce(rp.repeat_ms, 0) as repeat_ms,
        case when k.cacheable then coalesce(rp.repeat_ms, 0) else 0 end as cache_ms,
        k.cacheable, k.reason,
        fx.spans_list, fx.ticks_list
    from slowest s
    join typical ty using (run_id)
    join fix fx using (run_id)
    join diag_tool_kinds k on k.run_id = s.run_id and k.tool_name = s.tool_name
    left join parallel pa on pa.run_id = s.run_id and pa.tool_name = s.tool_name
    left join repeats rp on rp.run_id = s.run_id and rp.tool_name = s.tool_name
),
best as (
    select l.*, r.wall_ms, r.tool_ms,
        greatest(coalesce(l.fix_ms, 0), l.parallel_ms, l.cache_ms) as best_ms,
        l.fix_ms is null and l.parallel_ms = 0 and l.cache_ms = 0 as no_estimate,
        greatest($min_saving_ms, $min_saving_share * r.wall_ms) as bar_ms
    from levers l
    join diag_runs r using (run_id)
    where r.wall_ms > 0 and r.tool_ms >= $slow_tool_share * r.wall_ms
),
chosen as (
    select b.*,
        case when b.best_ms >= b.bar_ms then b.best_ms end as saving_ms,
        case
            when b.best_ms < b.bar_ms and b.overlapped
                then 'the tools already run in parallel: speed up ' || b.tool_name || ' itself'
            when b.best_ms >= b.bar_ms and b.best_ms = b.cache_ms
                then 'result caching keyed on the tool name and canonical arguments: ' || b.tool_name || ' repeats identical calls'
            when b.best_ms >= b.bar_ms and b.best_ms = b.parallel_ms
                then 'dispatch the tool calls of one tick in parallel: they are independent and ran one after another'
            else 'fix or speed up ' || b.tool_name
                 || case when b.cacheable then ' (or cache its results if its arguments repeat across runs)' else '' end
        end as lever
    from best b
)
select
    c.run_id,
    'slow_tool',
    true,
    format('tools hold {} of the {} wall-clock ({}); {}: {} call(s), {} in all{}{}{}',
        pct_text(c.tool_ms / c.wall_ms), ms_text(c.wall_ms), ms_text(c.tool_ms), c.tool_name, c.calls,
        ms_text(c.total_ms),
        case when c.typical_ms is not null
             then format(', where a typical tool call of this run takes {}', ms_text(c.typical_ms))
             else '' end,
        case when not c.cacheable and c.repeat_ms > 0
             then format('; its repeats with identical arguments ({}) are no cache candidate: {} {}',
                         ms_text(c.repeat_ms), c.tool_name, c.reason)
             else '' end,
        case when c.saving_ms is not null
             then format('; the best lever saves {}', ms_text(c.saving_ms))
             when c.no_estimate
             then '; nothing else in the run to compare it with, so the saving is not estimated'
             else format('; no lever saves {} or more ({} at best), so the saving is not estimated',
                         ms_text(c.bar_ms), ms_text(c.best_ms)) end),
    c.lever,
    null,
    c.saving_ms,
    c.ticks_list,
    c.spans_list
from chosen c
