-- Price rates
-- USD per million tokens by token class, resolved once per (provider, model, hour) from genai-prices
-- or the user's price file. tier_start follows genai-prices' cliff rule: a request whose total input
-- exceeds tier_start pays that tier's rate on every token.
create table if not exists price_rates (
    provider varchar not null,
    model varchar not null,
    hour timestamp not null,
    token_class varchar not null,
    tier_start bigint not null,
    usd_per_mtok double not null,
    price_source varchar not null
);
