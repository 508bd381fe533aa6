-- Spans of an otel_traces table
-- ClickHouse SQL (run on the server or in chdb, never in DuckDB). The spans of the OpenTelemetry
-- Collector's ClickHouse exporter table {table} (Map variant, DDL in tests/clickhouse_ddl/)
-- shaped like agentprof's `spans` rows, so the stored spans and everything derived from them are
-- the same as from an OTLP file. What crosses to agentprof: ids, times, names, status, events and
-- links of every span in the window, and only the attribute keys the stages after the tick and
-- tool-call derivation read ({keys}, plus keys starting with one of {prefixes}: runs, diagnosis,
-- reports); the ticks and tool calls themselves are derived in ClickHouse (derive_ticks.sql,
-- derive_tool_calls.sql), so the keys they read stay there. Except a token count or cost attribute
-- ({token_keys}, {cost_keys}) that is not one: it crosses, so agentprof's range check
-- (agentprof/sources/validate.py) quarantines its span with the reason, as for a file; the
-- derivation leaves such a span out by the same test. Every other attribute stays in ClickHouse.
-- The exporter writes '' where OTLP had nothing (parent, status message, scope): read as NULL.
-- SpanKind and StatusCode are strings: the current exporter writes pdata's names (Client, Error),
-- older ones the proto names (SPAN_KIND_CLIENT, STATUS_CODE_ERROR): both are read.
-- The spans of the window (window.sql, spliced at /*window*/).
select
    TraceId as trace_id,
    SpanId as span_id,
    nullIf(ParentSpanId, '') as parent_span_id,
    toString(SpanName) as name,
    toInt8(multiIf(
        SpanKind in ('SPAN_KIND_INTERNAL', 'Internal'), 1,
        SpanKind in ('SPAN_KIND_SERVER', 'Server'), 2,
        SpanKind in ('SPAN_KIND_CLIENT', 'Client'), 3,
        SpanKind in ('SPAN_KIND_PRODUCER', 'Producer'), 4,
        SpanKind in ('SPAN_KIND_CONSUMER', 'Consumer'), 5,
        0)) as kind,
    toUnixTimestamp64Nano(Timestamp) as start_ns,
    toUnixTimestamp64Nano(Timestamp) + toInt64(Duration) as end_ns,
    toInt8(multiIf(
        StatusCode in ('STATUS_CODE_OK', 'Ok'), 1,
        StatusCode in ('STATUS_CODE_ERROR', 'Error'), 2,
        0)) as status_code,
    nullIf(StatusMessage, '') as status_message,
    nullIf(toString(ServiceName), '') as service_name,
    nullIf(ScopeName, '') as scope_name,
    nullIf(ScopeVersion, '') as scope_version,
    CAST(mapFilter((k, v) -> has({keys:Array(String)}, k)
                             or arrayExists(p -> startsWith(k, p), {prefixes:Array(String)})
                             or (v != '' and (
          (has({token_keys:Array(String)}, k)
           and not ifNull(isFinite(toFloat64OrNull(v)) and toFloat64OrNull(v) = floor(toFloat64OrNull(v))
                          and toFloat64OrNull(v) between 0 and 1000000000000, false))
          or (has({cost_keys:Array(String)}, k)
              and not ifNull(isFinite(toFloat64OrNull(v)) and toFloat64OrNull(v) >= 0, false)))),
                   SpanAttributes), 'Map(String, String)') as attributes,
    CAST(mapFilter((k, v) -> has({resource_keys:Array(String)}, k), ResourceAttributes),
         'Map(String, String)') as resource_attributes,
    CAST(arrayMap((n, t, a) -> (toString(n), toUnixTimestamp64Nano(t),
                                mapFilter((k, v) -> has({keys:Array(String)}, k), a)),
                  `Events.Name`, `Events.Timestamp`, `Events.Attributes`),
         'Array(Tuple(name String, time_ns Int64, attributes Map(String, String)))') as events,
    CAST(arrayMap((t, s) -> (t, s), `Links.TraceId`, `Links.SpanId`),
         'Array(Tuple(trace_id String, span_id String))') as links,
    toInt64(0) as line
from {table:Identifier}
where /*window*/
