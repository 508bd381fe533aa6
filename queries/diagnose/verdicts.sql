-- Verdicts
-- One primary bottleneck per run: among the bottleneck-class findings (long_inputs,
-- context_growth, too_many_ticks, slow_model, slow_tool, untraced_gap), the one whose lever saves
-- the largest share of the run (the larger of its share of the run's cost and of its wall-clock, so
-- dollars and milliseconds compare). A class whose saving cannot be estimated (NULL: tools that
-- already run in parallel, an untraced gap) still names the bottleneck when no lever saves more;
-- ties go to the order above. A run stopped by its turn or usage cap is too_many_ticks whatever the
-- savings. No class finding: healthy, meaning no slice dominates. top_finding is the finding of
-- any kind with the largest share.
create or replace temp table diag_verdicts as
with scored as (
    select f.*, r.cost_usd, r.wall_ms,
        saving_share(f.saving_usd, f.saving_ms, r.cost_usd, r.wall_ms) as share,
        c.run_id is not null as capped
    from diag_findings f
    join diag_runs r using (run_id)
    left join diag_caps c using (run_id)
),
primary_pick as (
    select run_id,
        arg_max(kind, [case when capped and kind = 'too_many_ticks' then 1 else 0 end, share,
                       case kind when 'long_inputs' then 6 when 'context_growth' then 5
                                 when 'too_many_ticks' then 4 when 'slow_model' then 3
                                 when 'slow_tool' then 2 else 1 end]) as bottleneck
    from scored where is_class
    group by run_id
),
top_pick as (
    select run_id, arg_max(kind, [share, case when is_class then 1 else 0 end]) as top_finding
    from scored where saving_usd is not null or saving_ms is not null
    group by run_id
)
select
    r.run_id,
    coalesce(p.bottleneck, 'healthy') as bottleneck,
    f.saving_usd,
    f.saving_ms,
    t.top_finding
from diag_runs r
left join primary_pick p using (run_id)
left join diag_findings f on f.run_id = r.run_id and f.kind = p.bottleneck
left join top_pick t using (run_id)
