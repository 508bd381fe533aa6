-- The window a pull reads
-- A predicate over the exporter's table, spliced where otel_traces_spans.sql and derive_ticks.sql
-- say `where /*window*/` (agentprof/sources/clickhouse.py), so both read the same spans. In Unix
-- nanoseconds: spans that started in [{scan_since_ns}, {scan_until_ns}) and ended after
-- {after_end_ns} (an incremental run's watermark, less its grace). With {whole_traces} = 1 (an
-- explicit --since/--until), only whole runs: every span of the traces whose first span started
-- in [{since_ns}, {until_ns}), the scan range padded around it to find their other spans.
TraceId != '' and SpanId != ''
and Timestamp >= fromUnixTimestamp64Nano({scan_since_ns:Int64})
and Timestamp < fromUnixTimestamp64Nano({scan_until_ns:Int64})
and toUnixTimestamp64Nano(Timestamp) + toInt64(Duration) > {after_end_ns:Int64}
and ({whole_traces:UInt8} = 0 or TraceId in (
    select TraceId
    from {table:Identifier}
    where Timestamp >= fromUnixTimestamp64Nano({scan_since_ns:Int64})
      and Timestamp < fromUnixTimestamp64Nano({until_ns:Int64})
    group by TraceId
    having min(Timestamp) >= fromUnixTimestamp64Nano({since_ns:Int64})))
