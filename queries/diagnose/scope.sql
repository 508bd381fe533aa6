-- Diagnosis scope
-- The runs to diagnose ($run_id, or the $since/$until/$source/$agent filters of `runs`), with the
-- numbers every rule reads: wall-clock split, token cost, and the tick count of comparable runs
-- (same source and agent) so "too many ticks" can be judged against what similar runs needed.
-- untimed_ticks counts model calls whose source gave one time and no duration (Claude Code's
-- api_request events without duration_ms, usage-only lines): their time is in the "covered by
-- no span" share, so the gap rules stay silent on such runs.
-- Comparable runs are counted over the whole database, not only the scope, so one run diagnosed
-- alone gets the same verdict as in the fleet view.
-- chunk numbers the runs in groups of $chunk_runs (by run id): the rules run one chunk at a time
-- (diagnose/chunk), so the temporary tables hold one chunk's ticks and tool calls, not the
-- fleet's. Every rule judges a run from its own rows, except what is computed here once for the
-- whole scope (comparable runs, diagnose/batching_windows).
create or replace temp table diag_scope as
with tick_counts as (
    select run_id, count(*) as ticks, exact_sum(cost_usd) as cost_usd, count(cost_usd) as priced_ticks,
        -- model calls logged with one time, no latency (derive_ticks): their time is in no interval
        count(*) filter (where latency_ms is null) as untimed_ticks
    from ticks group by run_id
),
fleet as (
    select r.run_id, r.source, coalesce(r.agent, '') as agent, coalesce(t.ticks, 0) as ticks
    from runs r left join tick_counts t using (run_id)
),
selected as (
    select r.*
    from selected_runs($since, $until, $source, $agent) r
    where ($run_id is null or r.run_id = $run_id)
),
comparable as (
    -- Median ticks of all runs of the same source and agent (the run itself included: one median per
    -- group keeps this linear in the fleet; with three or more other runs it barely moves).
    select source, agent, count(*) - 1 as comparable_runs, median(ticks) as comparable_median_ticks
    from fleet group by source, agent
)
select
    s.run_id,
    s.source,
    s.agent,
    s.started_at,
    s.wall_ms,
    s.model_ms,
    s.tool_ms,
    s.tool_serial_ms,
    s.harness_ms,
    s.status,
    coalesce(t.ticks, 0) as ticks,
    coalesce(t.untimed_ticks, 0) as untimed_ticks,
    t.cost_usd,
    coalesce(c.comparable_runs, 0) as comparable_runs,
    c.comparable_median_ticks,
    (row_number() over (order by s.run_id) - 1) // $chunk_runs as chunk
from selected s
left join tick_counts t using (run_id)
left join comparable c on c.source = s.source and c.agent = coalesce(s.agent, '')
