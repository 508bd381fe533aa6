-- Rows ClickHouse derived
-- The traces a ClickHouse source derived itself (clickhouse_traces), with their ticks before
-- pricing (clickhouse_ticks: queries/clickhouse/derive_ticks.sql's rows) and their tool calls
-- (clickhouse_tool_calls). The derivation reads them for those traces
-- (ingest/clickhouse_rows_use), so a trace derived again later (late spans, a retry trace by
-- trace) keeps ClickHouse's rows instead of re-deriving from stored spans, which lack the keys
-- the derivation reads. Empty in a database that never pulled from ClickHouse.
create table if not exists clickhouse_traces (trace_id varchar not null);
create table if not exists clickhouse_ticks (
    run_id varchar not null,
    tick integer not null,
    span_id varchar not null,
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
    reported_cost_usd double
);
-- tool_calls' columns (006_tool_calls.sql)
create table if not exists clickhouse_tool_calls as select * from tool_calls limit 0;
