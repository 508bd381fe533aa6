-- Insert price rates
insert into price_rates select provider, model, hour, token_class, tier_start, usd_per_mtok, price_source from rates_batch
