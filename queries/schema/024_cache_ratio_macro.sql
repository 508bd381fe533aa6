-- Cache ratio macros
-- Whether a prompt cache pays for itself. A cache write costs more than plain input (Anthropic:
-- 1.25× the input price for the 5-minute TTL, 2× for 1 hour) and only later reads (0.1×) pay the
-- premium back, so the metric of a working cache is cache reads per written token, set beside
-- the break-even of the write premium: (write rate − input rate) ÷ (input rate − read rate) reads
-- per written token (Anthropic 5m: 0.25 ÷ 0.9 ≈ 0.28; 1h: 1.0 ÷ 0.9 ≈ 1.11). At or above it the
-- cache saved money against sending the same tokens uncached; below it the writes were not
-- paid back. (Parameters are prefixed: a parameter named like a column would replace it.)
--
-- cache_read_write_ratio: cache reads ÷ cache writes (5m + 1h) of a group of rows; use it in an
-- aggregate query. NULL when no row reported any cache count ("not reported", never 0), and NULL
-- (not infinity) when the group wrote nothing: its reads came from a cache written elsewhere
-- (another run, an earlier session) and cache_hit_ratio tells that story. 0 is a real zero:
-- writes that nothing read back.
create or replace macro cache_read_write_ratio(p_cache_read, p_write_5m, p_write_1h) as
    case when count(p_cache_read) + count(p_write_5m) + count(p_write_1h) > 0
         then coalesce(sum(p_cache_read), 0)
              / nullif(coalesce(sum(p_write_5m), 0) + coalesce(sum(p_write_1h), 0), 0)
    end;
-- rate_tiers: one row per priced (provider, model, hour) with each token class's tiers, lowest
-- first, as lists of {start, usd}; tier_usd picks the rate a prompt of prompt_t tokens pays
-- (genai-prices' cliff rule: every token of the class pays the highest tier the prompt exceeds).
-- ingest/price_ticks and tick_break_even price with these two.
create or replace macro rate_tiers() as table
    select provider, model, hour, any_value(price_source) as price_source,
        list({'start': tier_start, 'usd': usd_per_mtok} order by tier_start, usd_per_mtok)
            filter (where token_class = 'input') as input_tiers,
        list({'start': tier_start, 'usd': usd_per_mtok} order by tier_start, usd_per_mtok)
            filter (where token_class = 'cache_read') as cache_read_tiers,
        list({'start': tier_start, 'usd': usd_per_mtok} order by tier_start, usd_per_mtok)
            filter (where token_class = 'cache_write_5m') as cache_write_5m_tiers,
        list({'start': tier_start, 'usd': usd_per_mtok} order by tier_start, usd_per_mtok)
            filter (where token_class = 'cache_write_1h') as cache_write_1h_tiers,
        list({'start': tier_start, 'usd': usd_per_mtok} order by tier_start, usd_per_mtok)
            filter (where token_class = 'output') as output_tiers
    from price_rates
    group by provider, model, hour;
create or replace macro tier_usd(p_tiers, p_prompt_t) as
    list_filter(p_tiers, lambda x: x.start = 0 or p_prompt_t > x.start)[-1].usd;
-- tick_break_even: every tick (all columns of ticks) with the break-even reads per written token
-- of its 5-minute and 1-hour writes (break_even_5m, break_even_1h), from the rates the tick was
-- priced at (rate_tiers of its provider, model and hour, at the tier its prompt reaches). NULL
-- when the model has no price for the class.
create or replace macro tick_break_even() as table
    with priced as (
        select t.*,
            coalesce(t.input_uncached_tokens, 0) + coalesce(t.cache_read_tokens, 0)
                + coalesce(t.cache_write_5m_tokens, 0) + coalesce(t.cache_write_1h_tokens, 0) as bep_prompt_t,
            tier_usd(r.input_tiers, bep_prompt_t) as bep_in,
            tier_usd(r.cache_read_tiers, bep_prompt_t) as bep_read,
            tier_usd(r.cache_write_5m_tiers, bep_prompt_t) as bep_w5,
            tier_usd(r.cache_write_1h_tiers, bep_prompt_t) as bep_w1h
        from ticks t
        left join rate_tiers() r
            on r.provider = coalesce(t.provider, '') and r.model = t.model
           and r.hour = date_trunc('hour', t.started_at)
    )
    select * exclude (bep_prompt_t, bep_in, bep_read, bep_w5, bep_w1h),
        (bep_w5 - bep_in) / nullif(bep_in - bep_read, 0) as break_even_5m,
        (bep_w1h - bep_in) / nullif(bep_in - bep_read, 0) as break_even_1h
    from priced;
-- cache_break_even_ratio: the break-even of a group's cache writes, token-weighted over its 5m
-- and 1h writes (each tick at its own rates: feed it tick_break_even's columns); use it in an
-- aggregate query. NULL when the group wrote nothing that has a price. fsum (compensated
-- summation): a parallel sum of doubles could change its last digit from one run to the next.
create or replace macro cache_break_even_ratio(p_write_5m, p_write_1h, p_be_5m, p_be_1h) as
    (coalesce(fsum(p_write_5m * p_be_5m), 0) + coalesce(fsum(p_write_1h * p_be_1h), 0))
    / nullif(coalesce(sum(case when p_be_5m is not null then p_write_5m end), 0)
             + coalesce(sum(case when p_be_1h is not null then p_write_1h end), 0), 0);
