-- Session runs
-- The runs of one session ($session_id) in start order: each turn, then the subagent runs it
-- spawned right after it (parent_run_id names the turn), with ticks, cost and wall-clock.
with t as (
    select run_id, count(*) as ticks, exact_sum(cost_usd) as cost_usd from ticks group by run_id
)
select
    r.run_id,
    r.parent_run_id,
    r.agent,
    strftime(r.started_at, '%Y-%m-%dT%H:%M:%S.%fZ') as started_at,
    coalesce(t.ticks, 0) as ticks,
    t.cost_usd,
    r.wall_ms,
    r.status
from runs r
left join t using (run_id)
left join runs p on p.run_id = r.parent_run_id
where r.session_id = $session_id
order by coalesce(p.started_at, r.started_at), r.parent_run_id is not null, r.started_at, r.run_id
