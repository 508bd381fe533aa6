-- Claude Code events of an otel_logs table
-- ClickHouse SQL (run on the server or in chdb). The log records of the Collector's ClickHouse
-- exporter table {table} that may be Claude Code's api_request or tool_result events
-- (FORMATS.md §3.7): agentprof/sources/otel_logs.py decides exactly, as for an OTLP logs file.
-- Every other record (user prompts, other programs' logs) stays in ClickHouse. Of the resource
-- attributes only {resource_keys} cross. Window: record time in [{since_ns}, {until_ns}) and
-- after {after_ns} (an incremental run's watermark, less its grace). Times are Unix nanoseconds.
select
    toUnixTimestamp64Nano(Timestamp) as time_ns,
    toInt32(SeverityNumber) as severity_number,
    toString(SeverityText) as severity_text,
    Body as body,
    TraceId as trace_id,
    SpanId as span_id,
    toString(ServiceName) as service_name,
    toString(ScopeName) as scope_name,
    CAST(LogAttributes, 'Map(String, String)') as attributes,
    CAST(mapFilter((k, v) -> has({resource_keys:Array(String)}, k), ResourceAttributes),
         'Map(String, String)') as resource_attributes
from {table:Identifier}
where (Body in ('claude_code.api_request', 'claude_code.tool_result')
       or LogAttributes['event.name'] in ('claude_code.api_request', 'claude_code.tool_result',
                                          'api_request', 'tool_result'))
  and Timestamp >= fromUnixTimestamp64Nano({since_ns:Int64})
  and Timestamp < fromUnixTimestamp64Nano({until_ns:Int64})
  and toUnixTimestamp64Nano(Timestamp) > {after_ns:Int64}
