-- Usage buckets
-- Organisation usage and cost reports (Anthropic Admin API, OpenAI Usage/Costs API, LiteLLM spend
-- logs): aggregates over a period, not ticks. Token buckets are disjoint like ticks'; a report that
-- gives only cost (cost reports) leaves tokens NULL, one that gives only tokens leaves cost NULL.
-- bucket_key hashes (report, period, group): a later page for the same bucket replaces it.
create table if not exists usage_buckets (
    bucket_key varchar not null,
    report varchar not null,
    starting_at timestamp not null,
    ending_at timestamp not null,
    provider varchar,
    model varchar,
    api_key varchar,
    workspace varchar,
    service_tier varchar,
    line_item varchar,
    requests bigint,
    input_uncached_tokens bigint,
    cache_read_tokens bigint,
    cache_write_5m_tokens bigint,
    cache_write_1h_tokens bigint,
    output_tokens bigint,
    cost_usd double,
    file_sha256 varchar,
    line bigint
);
