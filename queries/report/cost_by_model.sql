-- Cost by model
-- Per model (the response model of each tick): ticks, runs using it, total cost, cost per tick,
-- p50/p95 tick latency, tokens by class and the token-weighted cache hit ratio (cache reads ÷ all
-- input tokens; NULL when no tick of that model reported a cache count), cache reads ÷ cache writes
-- and the break-even of that model's write premium (as in report/runs). Same filters as report/runs.
-- ttft_p50/p95_ms and tpot_p50/p95_ms are the latency users feel (time to first token, time per
-- output token after it; as in report/ticks) over the ticks whose source reported TTFT: NULL when
-- none did, never 0. A tick logged with one time has no latency (NULL, derive_ticks) and is left
-- out of the latency percentiles.
select
    t.model,
    count(*) as ticks,
    count(distinct t.run_id) as runs,
    -- summed exactly (schema 029): float addition in whatever order the join produced rows gave
    -- results that differed in the last digit from one run to the next
    exact_sum(t.cost_usd) as cost_usd,
    exact_sum(t.cost_usd) / nullif(count(t.cost_usd), 0) as cost_per_tick_usd,
    quantile_cont(t.latency_ms, 0.5) as latency_p50_ms,
    quantile_cont(t.latency_ms, 0.95) as latency_p95_ms,
    quantile_cont(t.ttft_ms, 0.5) as ttft_p50_ms,
    quantile_cont(t.ttft_ms, 0.95) as ttft_p95_ms,
    quantile_cont(case when t.ttft_ms is not null and t.output_tokens > 1
                       then greatest(t.latency_ms - t.ttft_ms, 0) / (t.output_tokens - 1) end, 0.5)
        as tpot_p50_ms,
    quantile_cont(case when t.ttft_ms is not null and t.output_tokens > 1
                       then greatest(t.latency_ms - t.ttft_ms, 0) / (t.output_tokens - 1) end, 0.95)
        as tpot_p95_ms,
    sum(t.input_uncached_tokens) as input_uncached_tokens,
    sum(t.cache_read_tokens) as cache_read_tokens,
    case when count(t.cache_write_5m_tokens) + count(t.cache_write_1h_tokens) > 0
         then coalesce(sum(t.cache_write_5m_tokens), 0) + coalesce(sum(t.cache_write_1h_tokens), 0) end
        as cache_write_tokens,
    sum(t.output_tokens) as output_tokens,
    cache_hit_ratio(t.input_uncached_tokens, t.cache_read_tokens, t.cache_write_5m_tokens, t.cache_write_1h_tokens) as cache_hit_ratio,
    cache_read_write_ratio(t.cache_read_tokens, t.cache_write_5m_tokens, t.cache_write_1h_tokens) as cache_read_write_ratio,
    cache_break_even_ratio(t.cache_write_5m_tokens, t.cache_write_1h_tokens, t.break_even_5m, t.break_even_1h)
        as cache_break_even_ratio
from tick_break_even() t
join selected_runs($since, $until, $source, $agent) r using (run_id)
group by t.model
order by coalesce(exact_sum(t.cost_usd), -1) desc, t.model nulls last
