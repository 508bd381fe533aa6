-- Source watermarks
-- How far `agentprof ingest` has read a database source (a ClickHouse otel_traces or otel_logs
-- table): the latest span end (or log record time) it stored, in Unix nanoseconds. The next run
-- reads only what ended after it, less a grace period for rows inserted late. One row per
-- source, named without credentials (clickhouse://user@host:port/database/table).
create table if not exists source_watermarks (
    source varchar primary key,
    watermark_ns bigint not null,
    updated_at timestamp not null
);
