-- Priced models
-- Which (provider, model, hour) lookups were already made, including failed ones (price_source
-- 'unpriced'), so an unknown model is looked up and warned about once.
create table if not exists priced_models (
    provider varchar not null,
    model varchar not null,
    hour timestamp not null,
    price_source varchar not null,
    resolved_provider varchar,
    resolved_model varchar
);
