-- Tick ledger
-- The per-tick rows the report draws, for every run in $run_ids at once: start offset from the
-- run's start, latency (and time to first token where the source reported it), disjoint token
-- buckets, cost and cumulative cost (the replay tax), and the tick's own cache hit ratio (cache
-- reads ÷ the tick's input tokens; NULL when the tick reported no cache count). Order: run, tick.
select
    t.run_id,
    t.tick,
    (t.start_ns - epoch_ns(r.started_at)) / 1e6 as offset_ms,
    t.latency_ms,
    t.ttft_ms,
    t.model,
    t.status,
    t.input_uncached_tokens,
    t.cache_read_tokens,
    t.cache_write_5m_tokens,
    t.cache_write_1h_tokens,
    t.output_tokens,
    t.cost_usd,
    sum(t.cost_usd) over (partition by t.run_id order by t.tick rows unbounded preceding)
        as cumulative_cost_usd,
    case when t.cache_read_tokens is not null or t.cache_write_5m_tokens is not null
              or t.cache_write_1h_tokens is not null
         then coalesce(t.cache_read_tokens, 0) / nullif(coalesce(t.input_uncached_tokens, 0)
              + coalesce(t.cache_read_tokens, 0) + coalesce(t.cache_write_5m_tokens, 0)
              + coalesce(t.cache_write_1h_tokens, 0), 0)
    end as cache_hit_ratio
from ticks t
join runs r using (run_id)
where list_contains($run_ids, t.run_id)
order by t.run_id, t.tick
