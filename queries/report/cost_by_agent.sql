-- Cost by agent
-- Per agent: runs, ticks, total cost, mean cost per run (over priced runs), p50/p95 run cost and
-- p50/p95 run wall-clock (linear interpolation between runs), and the token-weighted cache hit
-- ratio. Runs with no agent name group under NULL. Same filters as report/runs.
with sel as (
    select * from selected_runs($since, $until, $source, $agent)
),
per_run as (
    select
        run_id,
        count(*) as ticks,
        exact_sum(cost_usd) as cost_usd,
        sum(input_uncached_tokens) as unc,
        sum(cache_read_tokens) as cr,
        sum(cache_write_5m_tokens) as w5,
        sum(cache_write_1h_tokens) as w1,
        count(cache_read_tokens) + count(cache_write_5m_tokens) + count(cache_write_1h_tokens) as cache_counts
    from ticks where run_id in (select run_id from sel)
    group by run_id
)
select
    s.agent,
    count(*) as runs,
    coalesce(sum(p.ticks), 0) as ticks,
    exact_sum(p.cost_usd) as cost_usd,
    exact_sum(p.cost_usd) / nullif(count(p.cost_usd), 0) as cost_per_run_usd,
    quantile_cont(p.cost_usd, 0.5) as cost_p50_usd,
    quantile_cont(p.cost_usd, 0.95) as cost_p95_usd,
    quantile_cont(s.wall_ms, 0.5) as wall_p50_ms,
    quantile_cont(s.wall_ms, 0.95) as wall_p95_ms,
    case when sum(p.cache_counts) > 0
         then coalesce(sum(p.cr), 0) / nullif(coalesce(sum(p.unc), 0) + coalesce(sum(p.cr), 0)
              + coalesce(sum(p.w5), 0) + coalesce(sum(p.w1), 0), 0)
    end as cache_hit_ratio
from sel s
left join per_run p using (run_id)
group by s.agent
order by coalesce(exact_sum(p.cost_usd), -1) desc, s.agent nulls last
