-- Price ticks
-- cost = Σ tokens of each class × that class's USD/MTok ÷ 1e6, for the affected ticks.
-- Tiers follow genai-prices' cliff rule: when the request's total input (uncached + cache read +
-- cache writes) exceeds a tier's start, every token of that class pays the tier rate.
-- A tick whose model has no price keeps cost_usd NULL ("not priced"), never 0.
update ticks set cost_usd = priced.cost_usd, price_source = priced.price_source
from (
    with k as (
        select run_id, tick, coalesce(provider, '') as provider, model,
            date_trunc('hour', started_at) as hour,
            coalesce(input_uncached_tokens, 0) as input_t,
            coalesce(cache_read_tokens, 0) as cache_read_t,
            coalesce(cache_write_5m_tokens, 0) as cache_write_5m_t,
            coalesce(cache_write_1h_tokens, 0) as cache_write_1h_t,
            coalesce(output_tokens, 0) as output_t
        from ticks
        where run_id in (select trace_id from affected_traces)
          and (input_uncached_tokens is not null or output_tokens is not null)
    ),
    class_rates as (
        select k.run_id, k.tick, r.token_class,
            arg_max(r.usd_per_mtok, r.tier_start) as usd_per_mtok,
            any_value(case r.token_class
                when 'input' then k.input_t
                when 'cache_read' then k.cache_read_t
                when 'cache_write_5m' then k.cache_write_5m_t
                when 'cache_write_1h' then k.cache_write_1h_t
                when 'output' then k.output_t
            end) as tokens,
            any_value(r.price_source) as price_source
        from k
        join price_rates r
            on r.provider = k.provider and r.model = k.model and r.hour = k.hour
        where r.tier_start = 0
           or k.input_t + k.cache_read_t + k.cache_write_5m_t + k.cache_write_1h_t > r.tier_start
        group by k.run_id, k.tick, r.token_class
    )
    select run_id, tick, sum(tokens * usd_per_mtok) / 1e6 as cost_usd, any_value(price_source) as price_source
    from class_rates
    group by run_id, tick
) priced
where ticks.run_id = priced.run_id and ticks.tick = priced.tick
