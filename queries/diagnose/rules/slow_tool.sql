-- Rule: one slow tool (bottleneck class)
-- Signature: tool calls hold at least $slow_tool_share (0.5) of the run's wall-clock on the
-- critical path (runs.tool_ms: overlapping calls count once, model time excluded).
-- Saving (ms), the best of three levers for the tool that takes the most time:
--   result cache: calls repeating an earlier call with identical arguments (their duration);
--   parallel dispatch: per tick with several calls, their union minus the longest call;
--   fix the tool: its calls' time beyond a typical call: the median of the run's other tool calls,
--   else of its own calls when it made three or more, else of all tool calls in the database (when
--   it holds more than one tool);
--   with nothing to compare against, the saving is unknown (NULL) and the finding still stands.
-- A saving below $min_saving_share (5%) of wall-clock or $min_saving_ms (100 ms: below that, the
-- seeds' "instantaneous" band) is no finding.
insert into diag_findings
with calls as (
    select c.run_id, coalesce(c.tool_name, '(unnamed tool)') as tool_name, c.span_id, c.tick, greatest(c.end_ns - c.start_ns, 0) / 1e6 as dur_ms
    from tool_calls c where c.run_id in (select run_id from diag_runs)
),
by_tool as (
    select run_id, tool_name, count(*) as calls, sum(dur_ms) as total_ms
    from calls group by run_id, tool_name
),
slowest as (
    select run_id, arg_max(tool_name, total_ms) as tool_name, max(total_ms) as total_ms,
        arg_max(calls, total_ms) as calls
    from by_tool group by run_id
),
fleet as (
    -- one number for the whole database, used only when it holds more than one tool
    select case when count(distinct tool_name) > 1 then median(duration_ms) end as median_ms
    from tool_calls
),
typical as (
    select s.run_id,
        coalesce(median(c.dur_ms) filter (where c.tool_name <> s.tool_name),
                 case when count(*) filter (where c.tool_name = s.tool_name) >= 3
                      then median(c.dur_ms) filter (where c.tool_name = s.tool_name) end,
                 any_value(f.median_ms)) as typical_ms
    from slowest s join calls c using (run_id), fleet f
    group by s.run_id, s.tool_name
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
    -- per tool: the parallel-dispatch saving of the ticks in which it was one of several calls
    select p.run_id, u.tool_name, sum(p.union_ms - p.longest_ms) as parallel_ms
    from diag_tool_ticks p,
        unnest(list_distinct(list_transform(p.tool_names, lambda n: coalesce(n, '(unnamed tool)')))) as u(tool_name)
    group by p.run_id, u.tool_name
),
repeats as (
    select run_id, coalesce(tool_name, '(unnamed tool)') as tool_name, sum(repeat_ms) as cache_ms
    from diag_tool_repeats group by all
),
levers as (
    select s.run_id, s.tool_name, s.total_ms, s.calls, ty.typical_ms,
        fx.saving_ms as fix_ms,
        coalesce(pa.parallel_ms, 0) as parallel_ms,
        coalesce(rp.cache_ms, 0) as cache_ms,
        fx.spans_list, fx.ticks_list
    from slowest s
    join typical ty using (run_id)
    join fix fx using (run_id)
    left join parallel pa on pa.run_id = s.run_id and pa.tool_name = s.tool_name
    left join repeats rp on rp.run_id = s.run_id and rp.tool_name = s.tool_name
),
best as (
    select l.*,
        case when l.fix_ms is null and l.parallel_ms = 0 and l.cache_ms = 0 then null
             else greatest(coalesce(l.fix_ms, 0), l.parallel_ms, l.cache_ms) end as saving_ms,
        case greatest(coalesce(l.fix_ms, 0), l.parallel_ms, l.cache_ms)
            when l.cache_ms then 'result caching keyed on the tool name and canonical arguments: ' || l.tool_name || ' repeats identical calls'
            when l.parallel_ms then 'dispatch the tool calls of one tick in parallel: they are independent and ran one after another'
            else 'fix or speed up ' || l.tool_name || ' (or cache its results if its arguments repeat across runs)'
        end as lever
    from levers l
)
select
    b.run_id,
    'slow_tool',
    true,
    format('tools hold {} of the {} wall-clock ({}); {}: {} call(s), {} in all, {}',
        pct_text(r.tool_ms / r.wall_ms), ms_text(r.wall_ms), ms_text(r.tool_ms), b.tool_name, b.calls,
        ms_text(b.total_ms),
        case when b.saving_ms is null
             then 'and no other tool calls to compare it with, so the saving is not estimated'
             else format('where a typical tool call takes {}; the best lever saves {}',
                         ms_text(b.typical_ms), ms_text(b.saving_ms)) end),
    b.lever,
    null,
    b.saving_ms,
    b.ticks_list,
    b.spans_list
from best b
join diag_runs r using (run_id)
where r.wall_ms > 0
  and r.tool_ms >= $slow_tool_share * r.wall_ms
  and (b.saving_ms is null or b.saving_ms >= greatest($min_saving_ms, $min_saving_share * r.wall_ms))
