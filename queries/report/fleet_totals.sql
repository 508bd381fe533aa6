-- Fleet totals
-- One row for the selected runs: counts, tokens by class, cost, wall-clock and its split, and the
-- fleet cache hit ratio (token-weighted: cache reads ÷ all input tokens; NULL when no tick reported
-- a cache count), cache reads ÷ cache writes and the break-even of the write premium (as in
-- report/runs). cost_usd sums priced ticks; unpriced_runs counts runs with a tick that has no
-- price (its cost is unknown, not zero).
-- Filters: $since/$until (started_at, inclusive/exclusive), $source, $agent, as in report/runs.
with sel as (
    select * from selected_runs($since, $until, $source, $agent)
),
t as (
    select
        count(*) as ticks,
        sum(input_uncached_tokens) as input_uncached_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        cache_write_sum(cache_write_5m_tokens, cache_write_1h_tokens) as cache_write_tokens,
        sum(output_tokens) as output_tokens,
        exact_sum(cost_usd) as cost_usd,
        cache_hit_ratio(input_uncached_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens) as cache_hit_ratio,
        cache_read_write_ratio(cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens) as cache_read_write_ratio,
        cache_break_even_ratio(cache_write_5m_tokens, cache_write_1h_tokens, break_even_5m, break_even_1h) as cache_break_even_ratio
    from tick_break_even() where run_id in (select run_id from sel)
),
priced as (
    -- runs with at least one tick the price table did not know (a run without ticks has no cost
    -- to miss)
    select count(distinct run_id) as unpriced_runs
    from ticks where cost_usd is null and run_id in (select run_id from sel)
)
select
    (select count(*) from sel) as runs,
    t.ticks,
    (select count(*) from tool_calls where run_id in (select run_id from sel)) as tool_calls,
    t.input_uncached_tokens,
    t.cache_read_tokens,
    t.cache_write_tokens,
    t.output_tokens,
    t.cost_usd,
    priced.unpriced_runs,
    (select exact_sum(wall_ms) from sel) as wall_ms,
    (select exact_sum(model_ms) from sel) as model_ms,
    (select exact_sum(tool_ms) from sel) as tool_ms,
    (select exact_sum(harness_ms) from sel) as harness_ms,
    t.cache_hit_ratio,
    t.cache_read_write_ratio,
    t.cache_break_even_ratio,
    (select strftime(min(started_at), '%Y-%m-%dT%H:%M:%SZ') from sel) as first_started_at,
    (select strftime(max(started_at), '%Y-%m-%dT%H:%M:%SZ') from sel) as last_started_at
from t, priced
