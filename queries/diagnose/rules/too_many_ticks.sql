-- Rule: too many ticks (bottleneck class)
-- Signature: at least $max_ticks (10) ticks and waste the run itself shows (diag_waste: failed
-- attempts retried, calls repeated with nothing changed in between, single-call ticks one parallel
-- tick could have issued) worth at least $waste_share (10%) of its cost or wall-clock (below that
-- the waste is a detail of a run that needed its ticks, not its bottleneck); or the
-- run was stopped by a turn or usage cap (diag_caps), whatever its tick count. A long run with no
-- waste to show is not called too long: a coding task may need 200 ticks.
-- Saving: the cost and time of the wasted ticks (diag_waste), from the run's own data only. Runs of
-- the same source and agent appear as evidence (their median tick count), never as dollars. A
-- capped run with no waste to show has no estimated saving (NULL): the fix is its stop condition.
insert into diag_findings
with waste as (
    select run_id,
        sum(saving_usd) as saving_usd,
        sum(saving_ms) as saving_ms,
        count(*) filter (where reason = 'failed_retry') as failed,
        count(*) filter (where reason = 'repeat') as repeats,
        count(*) filter (where reason = 'serial_single') as serial,
        list(tick order by tick) filter (where reason = 'failed_retry') as failed_ticks,
        list(tick order by tick) filter (where reason = 'repeat') as repeat_ticks,
        list(tick order by tick) filter (where reason = 'serial_single') as serial_ticks,
        list(tick order by tick) as ticks_list,
        list(span_id order by tick) as spans_list
    from diag_waste group by run_id
),
flagged as (
    select r.*, c.cap_message, w.* exclude (run_id),
        case when r.comparable_runs >= $min_comparable_runs then r.comparable_median_ticks end as median_ticks
    from diag_runs r
    left join diag_caps c using (run_id)
    left join waste w using (run_id)
    where c.cap_message is not null
       or (r.ticks >= $max_ticks and w.run_id is not null
           and saving_share(w.saving_usd, w.saving_ms, r.cost_usd, r.wall_ms) >= $waste_share)
)
select
    f.run_id,
    'too_many_ticks',
    true,
    concat_ws('; ',
        format('{} ticks{}', f.ticks,
               case when f.cap_message is not null then ', stopped by its cap (' || f.cap_message || ')' else '' end),
        case when f.failed > 0 then format('{} failed attempt(s) retried (tick {})', f.failed, list_text(f.failed_ticks, 5)) end,
        case when f.repeats > 0 then format('{} tick(s) repeated a call already made with nothing changed in between (tick {})', f.repeats, list_text(f.repeat_ticks, 5)) end,
        case when f.serial > 0 then format('{} single-call tick(s) that the tick before could have issued in parallel (tick {})', f.serial, list_text(f.serial_ticks, 5)) end,
        case when f.ticks_list is not null
             then format('those ticks cost {} and took {}', usd_text(f.saving_usd), ms_text(f.saving_ms))
             else 'the run ended at its cap without an answer, so none of its ticks bought a result' end,
        case when f.median_ticks is not null
             then format('for comparison, {} other runs of this agent took a median of {:g} ticks', f.comparable_runs, f.median_ticks) end),
    concat_ws('; ',
        case when f.cap_message is not null then 'a stop condition that ends with a graceful answer before the cap, and a planning step' end,
        case when f.failed > 0 then 'fix what makes the calls fail (argument validation, clearer tool descriptions and error messages)' end,
        case when f.repeats > 0 then 'let the agent reuse results it already has (keep them in context, or a result cache for read-only tools)' end,
        case when f.serial > 0 then 'ask for independent calls in one tick (parallel tool calls), e.g. read all the files it needs at once' end),
    f.saving_usd,
    f.saving_ms,
    coalesce(f.ticks_list, []),
    coalesce(f.spans_list, [])
from flagged f
