-- Sessions
-- One line per session (a conversation: a Claude Code or Codex session, the OTLP traces sharing a
-- conversation id): its turns (top-level runs), subagent runs, ticks, cost, and two times:
-- active_ms, the sum of its turns' wall-clock (the agent working), and elapsed_ms, first start to
-- last end (which also holds the time the agent sat waiting for its user). project is the
-- working directory of its first run that recorded one (schema/026_project). Filters as in runs,
-- plus $project.
with t as (
    select run_id, count(*) as ticks, exact_sum(cost_usd) as cost_usd,
        count(*) filter (where cost_usd is null) as unpriced_ticks
    from ticks group by run_id
)
select
    r.session_id,
    min(r.source) as source,
    min_by(r.project, r.started_at) filter (where r.project is not null) as project,
    count(*) filter (where r.parent_run_id is null) as turns,
    count(*) filter (where r.parent_run_id is not null) as subagent_runs,
    coalesce(sum(t.ticks), 0) as ticks,
    exact_sum(t.cost_usd) as cost_usd,
    coalesce(sum(t.unpriced_ticks), 0) as unpriced_ticks,
    exact_sum(case when r.parent_run_id is null then r.wall_ms end) as active_ms,
    date_diff('millisecond', min(r.started_at), max(r.ended_at))::double as elapsed_ms,
    strftime(min(r.started_at), '%Y-%m-%dT%H:%M:%S.%fZ') as started_at
from selected_runs($since, $until, $source, $agent) r
left join t using (run_id)
where ($project is null or r.project = $project)
group by r.session_id
order by min(r.started_at), r.session_id
