-- Runs
-- One line per run: ticks, tool calls, tokens by class, cost, wall-clock split, cache hit ratio.
-- user_wait_ms is the time the run's tools waited on the user, kept out of wall_ms.
-- cache_write_tokens is 5m + 1h writes. cache_hit_ratio is token-weighted: cache reads ÷ all input
-- tokens (uncached + reads + writes); NULL when no tick of the run reported any cache count.
-- cache_read_write_ratio is cache reads ÷ cache writes (NULL when not reported or nothing was
-- written: the hit ratio then tells the story); cache_break_even_ratio is the reads per written
-- token at which the run's writes pay their premium back (token-weighted over its 5m and 1h
-- writes at each tick's rates; schema/024_cache_ratio_macro). Below it the cache cost money.
-- cost_usd sums the priced ticks; unpriced_ticks counts those with no price (their cost is unknown,
-- not zero), and cost_usd is NULL when no tick is priced.
-- Filters: $since/$until (started_at, inclusive/exclusive), $source, $agent, and $run_id (one run,
-- or NULL for all: the filter reaches the ticks and tool_calls scans, so one run reads its own
-- rows only); $sort picks the order.
-- latency_band is the seeds' perceived-latency band of the run's wall-clock: < 100 ms
-- instantaneous, 100-500 ms responsive, 0.5-2 s noticeable, 2-5 s frustrating, 5-10 s
-- uncomfortable, >= 10 s broken (lower bound inclusive). Wall-clock, not the first tick's TTFT:
-- a run ends when the model answers without calling a tool, so the user waits the whole turn for
-- the answer, and the seeds' table places tool chains and deep research in these same bands.
-- Time to first token is per tick (report/ticks ttft_ms). NULL when wall_ms is unknown.
with t as (
    select
        run_id,
        count(*) as ticks,
        sum(input_uncached_tokens) as input_uncached_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        cache_write_sum(cache_write_5m_tokens, cache_write_1h_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        sum(reasoning_tokens) as reasoning_tokens,
        exact_sum(cost_usd) as cost_usd,
        exact_sum(reported_cost_usd) as reported_cost_usd,
        count(*) filter (where cost_usd is null) as unpriced_ticks,
        cache_hit_ratio(input_uncached_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens) as cache_hit_ratio,
        cache_read_write_ratio(cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens) as cache_read_write_ratio,
        cache_break_even_ratio(cache_write_5m_tokens, cache_write_1h_tokens, break_even_5m, break_even_1h) as cache_break_even_ratio,
        string_agg(distinct model, ',' order by model) as models
    from tick_break_even()
    group by run_id
),
tc as (
    select run_id, count(*) as tool_calls from tool_calls group by run_id
)
select
    r.run_id,
    r.parent_run_id,
    r.source,
    r.agent,
    r.session_id,
    strftime(r.started_at, '%Y-%m-%dT%H:%M:%S.%fZ') as started_at,
    coalesce(t.models, '') as models,
    coalesce(t.ticks, 0) as ticks,
    coalesce(tc.tool_calls, 0) as tool_calls,
    t.input_uncached_tokens,
    t.cache_read_tokens,
    t.cache_write_tokens,
    t.output_tokens,
    t.reasoning_tokens,
    t.cost_usd,
    t.reported_cost_usd,
    coalesce(t.unpriced_ticks, 0) as unpriced_ticks,
    r.wall_ms,
    r.model_ms,
    r.tool_ms,
    r.tool_serial_ms,
    r.harness_ms,
    r.user_wait_ms,
    t.cache_hit_ratio,
    t.cache_read_write_ratio,
    t.cache_break_even_ratio,
    r.status,
    r.project,
    case when r.wall_ms is null then null
         when r.wall_ms < 100 then 'instantaneous'
         when r.wall_ms < 500 then 'responsive'
         when r.wall_ms < 2000 then 'noticeable'
         when r.wall_ms < 5000 then 'frustrating'
         when r.wall_ms < 10000 then 'uncomfortable'
         else 'broken' end as latency_band
from selected_runs($since, $until, $source, $agent) r
left join t using (run_id)
left join tc using (run_id)
where ($run_id is null or r.run_id = $run_id)
order by
    case when $sort = 'cost' then coalesce(t.cost_usd, -1) end desc,
    case when $sort = 'ticks' then coalesce(t.ticks, 0) end desc,
    case when $sort = 'wall' then r.wall_ms end desc,
    r.started_at, r.run_id
