-- Ticks
-- The per-tick ledger of one run ($run_id): timing, model, disjoint token buckets, reported and
-- computed cost, and cumulative cost (the replay tax: each tick re-sends the conversation so far).
-- cache_read_write_ratio is the tick's cache reads ÷ its cache writes (schema/024_cache_ratio_macro:
-- NULL when the tick reported no cache count or wrote nothing).
-- Latency as users feel it (the seeds' two numbers): ttft_ms is the time to the first streamed
-- token, as the source reported it; decode_ms = latency - TTFT is the time the answer took to type
-- out; tpot_ms = decode_ms / (output - 1) is the time per output token after the first (the
-- first token arrives at TTFT). All three are NULL where the source has no TTFT (never 0), and
-- tpot_ms is NULL when the tick produced at most one output token (nothing to divide).
select
    tick,
    span_id,
    strftime(started_at, '%Y-%m-%dT%H:%M:%S.%fZ') as started_at,
    latency_ms,
    ttft_ms,
    case when ttft_ms is not null then greatest(latency_ms - ttft_ms, 0) end as decode_ms,
    case when ttft_ms is not null and output_tokens > 1
         then greatest(latency_ms - ttft_ms, 0) / (output_tokens - 1) end as tpot_ms,
    model,
    provider,
    status,
    finish_reason,
    input_uncached_tokens,
    cache_read_tokens,
    cache_write_5m_tokens,
    cache_write_1h_tokens,
    output_tokens,
    reasoning_tokens,
    input_provenance,
    reported_cost_usd,
    cost_usd,
    sum(cost_usd) over (order by tick rows unbounded preceding) as cumulative_cost_usd,
    price_source,
    (select count(*) from tool_calls c where c.run_id = $run_id and c.tick = ticks.tick) as tool_calls,
    (select cache_read_write_ratio(w.cache_read_tokens, w.cache_write_5m_tokens, w.cache_write_1h_tokens)
     from ticks w where w.run_id = $run_id and w.tick = ticks.tick) as cache_read_write_ratio
from ticks
where run_id = $run_id
order by tick
