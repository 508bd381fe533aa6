-- Tick facts
-- Every tick of the scope with its token buckets (NULL read as 0 for arithmetic; cache_reported
-- says whether the source reported any cache count), the USD-per-token rate of each class as the
-- tick was priced (same tier rule as ingest/price_ticks: a tier's rate applies to every token of a
-- class once the prompt exceeds its start; a class a tier leaves out keeps the base rate), its input and total token cost, the idle
-- gap since the previous tick ended, and the run's replayed prefix: the smallest prompt of any of
-- its ticks, i.e. the part every tick re-sent (system prompt, tool definitions, first messages).
-- prefix_cache_saving_usd re-prices the tick as if a cache breakpoint sat after that prefix: the
-- run's first tick writes whatever of the prefix it did not already read or write (a negative
-- saving: the write premium), every later tick reads at least the prefix, taking those tokens from
-- its cache writes first (a broken cache re-writes the prefix) and then from uncached input.
-- A tick whose cache already covers the prefix saves nothing.
create or replace temp table diag_ticks as
with k as (
    select t.run_id, t.tick, t.span_id, t.start_ns, t.end_ns, t.latency_ms, t.model, t.provider,
        t.started_at, t.cost_usd, t.status,
        coalesce(t.input_uncached_tokens, 0) as input_t,
        coalesce(t.cache_read_tokens, 0) as read_t,
        coalesce(t.cache_write_5m_tokens, 0) as w5_t,
        coalesce(t.cache_write_1h_tokens, 0) as w1h_t,
        coalesce(t.output_tokens, 0) as output_t,
        t.output_tokens is not null as output_reported,
        t.cache_read_tokens is not null or t.cache_write_5m_tokens is not null
            or t.cache_write_1h_tokens is not null as cache_reported
    from ticks t
    where t.run_id in (select run_id from diag_runs)
),
rates as (
    -- One row per price tier with every class as a column; tier_key makes the cliff rule ("total
    -- input exceeds tier_start") an ASOF match: the highest tier whose key the prompt reaches.
    select provider, model, hour, case when tier_start = 0 then 0 else tier_start + 1 end as tier_key,
        max(usd_per_mtok) filter (where token_class = 'input') / 1e6 as p_in,
        max(usd_per_mtok) filter (where token_class = 'cache_read') / 1e6 as p_read,
        max(usd_per_mtok) filter (where token_class = 'cache_write_5m') / 1e6 as p_w5,
        max(usd_per_mtok) filter (where token_class = 'cache_write_1h') / 1e6 as p_w1h,
        max(usd_per_mtok) filter (where token_class = 'output') / 1e6 as p_out
    from price_rates
    group by provider, model, hour, tier_start
),
with_prefix as (
    select k.*,
        k.input_t + k.read_t + k.w5_t + k.w1h_t as prompt_t,
        min(k.input_t + k.read_t + k.w5_t + k.w1h_t) over (partition by k.run_id) as prefix_t,
        count(*) over (partition by k.run_id) as run_ticks,
        (k.start_ns - lag(k.end_ns) over (partition by k.run_id order by k.tick)) / 1e6 as gap_ms
    from k
),
moved as (
    select w.*,
        -- first tick: prefix tokens newly written; later ticks: prefix tokens newly read, by source
        case when w.tick = 1 then least(greatest(w.prefix_t - w.read_t - w.w5_t - w.w1h_t, 0), w.input_t) else 0 end
            as write_from_input_t,
        case when w.tick > 1 then least(greatest(w.prefix_t - w.read_t, 0), w.w5_t) else 0 end as read_from_w5_t,
        case when w.tick > 1 then least(greatest(w.prefix_t - w.read_t - w.w5_t, 0), w.w1h_t) else 0 end
            as read_from_w1h_t,
        case when w.tick > 1 then least(greatest(w.prefix_t - w.read_t - w.w5_t - w.w1h_t, 0), w.input_t) else 0 end
            as read_from_input_t
    from with_prefix w
)
select
    k.*,
    r.p_in, r.p_read, r.p_w5, r.p_w1h, r.p_out,
    k.input_t * r.p_in + k.read_t * r.p_read + k.w5_t * r.p_w5 + k.w1h_t * r.p_w1h as input_cost_usd,
    k.output_t * r.p_out as output_cost_usd,
    k.read_from_w5_t * (r.p_w5 - r.p_read) + k.read_from_w1h_t * (r.p_w1h - r.p_read)
        + k.read_from_input_t * (r.p_in - r.p_read) - k.write_from_input_t * (r.p_w5 - r.p_in)
        as prefix_cache_saving_usd
from moved k
asof left join rates r
    on r.provider = coalesce(k.provider, '') and r.model = k.model and r.hour = date_trunc('hour', k.started_at)
   and k.prompt_t >= r.tier_key
