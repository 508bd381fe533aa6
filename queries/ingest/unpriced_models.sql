-- Unpriced models
-- (provider, model, hour) combinations of the affected ticks whose prices were never looked up.
-- Prices are resolved per hour so that genai-prices' dated and time-of-day prices apply.
select distinct coalesce(k.provider, '') as provider, k.model, date_trunc('hour', k.started_at) as hour
from derived_ticks k
anti join priced_models p
    on p.provider = coalesce(k.provider, '') and p.model = k.model
   and p.hour = date_trunc('hour', k.started_at)
where k.model is not null
order by provider, k.model, hour
