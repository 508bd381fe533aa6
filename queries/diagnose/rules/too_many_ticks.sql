-- Rule: too many ticks (bottleneck class)
-- Signature: at least $max_ticks (10) ticks, or at least $ticks_vs_median (2×) the median tick count
-- of comparable runs (same source and agent, when there are at least $min_comparable_runs = 3 of
-- them), or the run was stopped by a turn or usage cap (diag_caps) whatever its tick count.
-- Saving: the cost and time of the ticks past what the task needed: the comparable runs' median
-- when there are enough of them, else $max_ticks. Time runs from the start of the first excess tick
-- to the end of the last one (the model calls and the tool calls between them). A capped run with no
-- ticks past that count has no estimated saving (NULL): the fix is its stop condition.
insert into diag_findings
with expected as (
    select r.*,
        case when r.comparable_runs >= $min_comparable_runs then r.comparable_median_ticks end as median_ticks,
        c.cap_message
    from diag_runs r
    left join diag_caps c using (run_id)
),
flagged as (
    select e.*,
        greatest(floor(coalesce(e.median_ticks, $max_ticks)), 1)::integer as needed_ticks
    from expected e
    where e.ticks >= $max_ticks
       or (e.median_ticks is not null and e.ticks >= $ticks_vs_median * e.median_ticks)
       or e.cap_message is not null
),
excess as (
    select f.run_id,
        sum(t.cost_usd) as saving_usd,
        (max(t.end_ns) - min(t.start_ns)) / 1e6 as saving_ms,
        list(t.tick order by t.tick) as ticks_list,
        list(t.span_id order by t.tick) as spans_list
    from flagged f join diag_ticks t on t.run_id = f.run_id and t.tick > f.needed_ticks
    group by f.run_id
)
select
    f.run_id,
    'too_many_ticks',
    true,
    format('{} ticks{}; {}; {}',
        f.ticks,
        case when f.cap_message is not null then ', stopped by its cap (' || f.cap_message || ')' else '' end,
        case when f.median_ticks is not null
             then format('comparable runs of this agent ({}) need a median of {:g}', f.comparable_runs, f.median_ticks)
             else format('fewer than {} comparable runs, so {} ticks is taken as enough', $min_comparable_runs, $max_ticks) end,
        case when x.run_id is not null
             then format('the {} ticks past {} cost {} and took {}', len(x.ticks_list), f.needed_ticks,
                         usd_text(x.saving_usd), ms_text(x.saving_ms))
             else 'the run ended at its cap without an answer, so none of its ticks bought a result' end),
    'a stop condition and an explicit iteration cap with a graceful final answer; a planning step before acting; detect repeated near-identical ticks',
    x.saving_usd,
    x.saving_ms,
    coalesce(x.ticks_list, []),
    coalesce(x.spans_list, [])
from flagged f
left join excess x using (run_id)
