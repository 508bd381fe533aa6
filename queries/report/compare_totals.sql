-- Compare totals
-- The totals of two runs ($run_a, $run_b), one row per metric: ticks, tool calls, tokens by
-- class (tokens), cost (USD: priced ticks only; NULL when no tick is priced), and the wall-clock
-- split (ms): wall = model + tool + harness, the serial sum of tool time beside it.
-- change is B - A; change_ratio is change ÷ A (NULL when A is 0 or either side is NULL).
-- The metric name carries the unit of a, b and change. Order: the order of the list below.
with t as (
    select run_id,
           count(*) as ticks,
           sum(input_uncached_tokens) as input_uncached_tokens,
           sum(cache_read_tokens) as cache_read_tokens,
           sum(cache_write_5m_tokens) as cache_write_5m_tokens,
           sum(cache_write_1h_tokens) as cache_write_1h_tokens,
           sum(output_tokens) as output_tokens,
           sum(reasoning_tokens) as reasoning_tokens,
           exact_sum(cost_usd) as cost_usd,
           count(*) filter (where cost_usd is null) as unpriced_ticks
    from ticks where run_id in ($run_a, $run_b) group by run_id
),
tc as (
    select run_id, count(*) as tool_calls from tool_calls
    where run_id in ($run_a, $run_b) group by run_id
),
totals as (
    select r.run_id,
           coalesce(t.ticks, 0)::double as ticks,
           coalesce(tc.tool_calls, 0)::double as tool_calls,
           t.input_uncached_tokens::double as input_uncached_tokens,
           t.cache_read_tokens::double as cache_read_tokens,
           t.cache_write_5m_tokens::double as cache_write_5m_tokens,
           t.cache_write_1h_tokens::double as cache_write_1h_tokens,
           t.output_tokens::double as output_tokens,
           t.reasoning_tokens::double as reasoning_tokens,
           t.cost_usd::double as cost_usd,
           coalesce(t.unpriced_ticks, 0)::double as unpriced_ticks,
           r.wall_ms, r.model_ms, r.tool_ms, r.harness_ms, r.tool_serial_ms
    from runs r
    left join t using (run_id)
    left join tc using (run_id)
    where r.run_id in ($run_a, $run_b)
),
-- One row per (run, metric): parallel unnests zip the names with the values, NULLs kept.
long as (
    select run_id,
           unnest(range(1, 16)) as pos,
           unnest(['ticks', 'tool_calls', 'input_uncached_tokens', 'cache_read_tokens',
                   'cache_write_5m_tokens', 'cache_write_1h_tokens', 'output_tokens',
                   'reasoning_tokens', 'cost_usd', 'unpriced_ticks', 'wall_ms', 'model_ms',
                   'tool_ms', 'harness_ms', 'tool_serial_ms']) as metric,
           unnest([ticks, tool_calls, input_uncached_tokens, cache_read_tokens,
                   cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens,
                   cost_usd, unpriced_ticks, wall_ms, model_ms, tool_ms, harness_ms,
                   tool_serial_ms]) as v
    from totals
),
metrics as (select distinct pos, metric from long)
select
    m.metric,
    a.v as a,
    b.v as b,
    b.v - a.v as change,
    (b.v - a.v) / nullif(a.v, 0) as change_ratio
from metrics m
left join long a on a.metric = m.metric and a.run_id = $run_a
left join long b on b.metric = m.metric and b.run_id = $run_b
order by m.pos
