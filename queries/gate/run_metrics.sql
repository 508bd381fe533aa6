-- Run metrics
-- The fleet numbers budgets and baselines are checked against, over the selected runs: counts,
-- cost per run (mean, p50, p95, max over runs with at least one priced tick; unpriced runs are
-- counted, never taken as 0), ticks per run, wall-clock per run, and the token-weighted fleet
-- cache hit ratio (NULL when no tick reported a cache count). Percentiles interpolate linearly
-- between runs (quantile_cont). Same filters as report/runs.
with sel as (
    select * from selected_runs($since, $until, $source, $agent)
),
per_run as (
    select
        s.run_id,
        s.wall_ms,
        count(t.tick) as ticks,
        exact_sum(t.cost_usd) as cost_usd,
        sum(t.input_uncached_tokens) as unc,
        sum(t.cache_read_tokens) as cr,
        sum(t.cache_write_5m_tokens) as w5,
        sum(t.cache_write_1h_tokens) as w1,
        count(t.cache_read_tokens) + count(t.cache_write_5m_tokens) + count(t.cache_write_1h_tokens)
            as cache_counts
    from sel s
    left join ticks t using (run_id)
    group by s.run_id, s.wall_ms
)
select
    count(*) as runs,
    count(cost_usd) as priced_runs,
    exact_sum(cost_usd) as cost_usd,
    exact_sum(cost_usd) / nullif(count(cost_usd), 0) as cost_per_run_mean_usd,
    quantile_cont(cost_usd, 0.5) as cost_per_run_p50_usd,
    quantile_cont(cost_usd, 0.95) as cost_per_run_p95_usd,
    max(cost_usd) as cost_per_run_max_usd,
    sum(ticks) as ticks,
    avg(ticks) as ticks_per_run_mean,
    quantile_cont(ticks, 0.5) as ticks_per_run_p50,
    quantile_cont(ticks, 0.95) as ticks_per_run_p95,
    max(ticks) as ticks_per_run_max,
    quantile_cont(wall_ms, 0.5) as wall_p50_ms,
    quantile_cont(wall_ms, 0.95) as wall_p95_ms,
    max(wall_ms) as wall_max_ms,
    case when sum(cache_counts) > 0
         then coalesce(sum(cr), 0) / nullif(coalesce(sum(unc), 0) + coalesce(sum(cr), 0)
              + coalesce(sum(w5), 0) + coalesce(sum(w1), 0), 0)
    end as cache_hit_ratio
from per_run
