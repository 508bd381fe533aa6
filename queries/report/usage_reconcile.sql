-- Usage reconciliation
-- Report buckets against the tick ledger, per UTC day, provider and model, for the days the
-- reports cover. Tokens: every input class summed (uncached + cache read + cache writes), and
-- output. status: 'match' when tokens agree exactly and cost within 1%, 'mismatch' otherwise,
-- 'report only' / 'ledger only' when one side has nothing for that model that day (a finding:
-- usage the local logs missed, or local usage billed elsewhere).
with rep as (
    select date_trunc('day', starting_at)::date as day, coalesce(provider, '') as provider, model,
        sum(coalesce(input_uncached_tokens, 0) + coalesce(cache_read_tokens, 0)
            + coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0))
            filter (where input_uncached_tokens is not null) as input_tokens,
        sum(output_tokens) as output_tokens,
        exact_sum(cost_usd) as cost_usd
    from usage_buckets
    where model is not null
    group by all
),
led as (
    select date_trunc('day', started_at)::date as day, coalesce(provider, '') as provider, model,
        sum(coalesce(input_uncached_tokens, 0) + coalesce(cache_read_tokens, 0)
            + coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0)) as input_tokens,
        sum(output_tokens) as output_tokens,
        exact_sum(cost_usd) as cost_usd
    from ticks
    where model is not null and date_trunc('day', started_at)::date in (select day from rep)
    group by all
)
select
    strftime(day, '%Y-%m-%d') as day,
    provider,
    model,
    rep.input_tokens as report_input_tokens,
    led.input_tokens as ledger_input_tokens,
    rep.output_tokens as report_output_tokens,
    led.output_tokens as ledger_output_tokens,
    rep.cost_usd as report_cost_usd,
    led.cost_usd as ledger_cost_usd,
    case
        when led.model is null then 'report only'
        when rep.model is null then 'ledger only'
        when (rep.input_tokens is null or rep.input_tokens = led.input_tokens)
         and (rep.output_tokens is null or rep.output_tokens = led.output_tokens)
         and (rep.cost_usd is null or led.cost_usd is null
              or abs(rep.cost_usd - led.cost_usd) <= 0.01 * greatest(abs(rep.cost_usd), 1e-9))
            then 'match'
        else 'mismatch'
    end as status
from rep full join led using (day, provider, model)
order by day, provider, model
