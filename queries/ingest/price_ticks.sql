-- Price ticks
-- Store the derived ticks (ingest/derive_ticks) with their cost:
-- cost = Σ tokens of each class × that class's USD/MTok ÷ 1e6, summed in one fixed class order so
-- that re-deriving gives the same last digit.
-- Tiers follow genai-prices' cliff rule: when the request's total input (uncached + cache read +
-- cache writes) exceeds a tier's start, every token of that class pays the tier rate (the
-- rate_tiers and tier_usd macros of schema 024).
-- A tick whose model has no price keeps cost_usd NULL ("not priced"), never 0.
insert into ticks
with k as (
    select d.*,
        coalesce(d.input_uncached_tokens, 0) as input_t,
        coalesce(d.cache_read_tokens, 0) as cache_read_t,
        coalesce(d.cache_write_5m_tokens, 0) as cache_write_5m_t,
        coalesce(d.cache_write_1h_tokens, 0) as cache_write_1h_t,
        coalesce(d.output_tokens, 0) as output_t,
        input_t + cache_read_t + cache_write_5m_t + cache_write_1h_t as prompt_t
    from derived_ticks d
),
priced as (
    select k.*, r.price_source,
        -- Each class pays its highest tier the prompt reaches (NULL: the class has no price).
        list_sum(list_transform(
            [{'tokens': input_t, 'tiers': r.input_tiers},
             {'tokens': output_t, 'tiers': r.output_tiers},
             {'tokens': cache_write_5m_t, 'tiers': r.cache_write_5m_tiers},
             {'tokens': cache_write_1h_t, 'tiers': r.cache_write_1h_tiers},
             {'tokens': cache_read_t, 'tiers': r.cache_read_tiers}],
            lambda c: c.tokens * tier_usd(c.tiers, prompt_t)
        )) / 1e6 as cost_usd
    from k
    left join rate_tiers() r
        on r.provider = coalesce(k.provider, '') and r.model = k.model
       and r.hour = date_trunc('hour', k.started_at)
       and (k.input_uncached_tokens is not null or k.output_tokens is not null)
)
select
    run_id, tick, span_id, started_at, ended_at, start_ns, end_ns, latency_ms, ttft_ms, model,
    request_model, provider, status, finish_reason, input_uncached_tokens, cache_read_tokens,
    cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens,
    input_provenance, reported_cost_usd, cost_usd,
    case when cost_usd is not null then price_source end as price_source
from priced
