-- Ticks
-- One model call. Token buckets are disjoint: input_uncached + cache_read + cache_write_5m +
-- cache_write_1h = all prompt tokens; output includes reasoning (reasoning is informational).
-- NULL means "not reported by the source", never zero. input_provenance says how the buckets
-- were obtained (reported disjoint, derived from an inclusive total, or inclusive-but-inconsistent).
create table if not exists ticks (
    run_id varchar not null,
    tick integer not null,
    span_id varchar not null,
    started_at timestamp,
    ended_at timestamp,
    start_ns bigint,
    end_ns bigint,
    latency_ms double,
    ttft_ms double,
    model varchar,
    request_model varchar,
    provider varchar,
    status varchar,
    finish_reason varchar,
    input_uncached_tokens bigint,
    cache_read_tokens bigint,
    cache_write_5m_tokens bigint,
    cache_write_1h_tokens bigint,
    output_tokens bigint,
    reasoning_tokens bigint,
    input_provenance varchar,
    reported_cost_usd double,
    cost_usd double,
    price_source varchar,
    primary key (run_id, tick)
);
