-- Insert spans from OTLP/JSON lines (native fast path)
-- The same rows the Python decoder would produce, parsed by DuckDB's JSON reader straight from the
-- file ($path): json_transform shapes each request, unnest walks resource → scope → span. Ids are
-- lower-cased; their validity is checked afterwards (ingest/invalid_new_spans), and a file with any
-- bad id, or with a span twice, falls back to the Python decoder, which quarantines span by span
-- and keeps a file's first copy. Spans already stored are skipped (first copy wins); `line` is not
-- known here and stays NULL.
insert into spans
with docs as (
    select json_transform(json_extract(j, '$.resourceSpans'), '[{
        "resource": {"attributes": [{"key": "VARCHAR", "value": {"stringValue": "VARCHAR", "intValue": "VARCHAR",
            "doubleValue": "VARCHAR", "boolValue": "VARCHAR", "bytesValue": "VARCHAR", "arrayValue": "JSON", "kvlistValue": "JSON"}}]},
        "scopeSpans": [{
            "scope": {"name": "VARCHAR", "version": "VARCHAR"},
            "spans": [{
                "traceId": "VARCHAR", "spanId": "VARCHAR", "parentSpanId": "VARCHAR", "name": "VARCHAR",
                "kind": "VARCHAR", "startTimeUnixNano": "VARCHAR", "endTimeUnixNano": "VARCHAR",
                "attributes": [{"key": "VARCHAR", "value": {"stringValue": "VARCHAR", "intValue": "VARCHAR",
                    "doubleValue": "VARCHAR", "boolValue": "VARCHAR", "bytesValue": "VARCHAR", "arrayValue": "JSON", "kvlistValue": "JSON"}}],
                "events": [{"timeUnixNano": "VARCHAR", "name": "VARCHAR",
                    "attributes": [{"key": "VARCHAR", "value": {"stringValue": "VARCHAR", "intValue": "VARCHAR",
                        "doubleValue": "VARCHAR", "boolValue": "VARCHAR", "bytesValue": "VARCHAR", "arrayValue": "JSON", "kvlistValue": "JSON"}}]}],
                "links": [{"traceId": "VARCHAR", "spanId": "VARCHAR"}],
                "status": {"code": "VARCHAR", "message": "VARCHAR"}
            }]
        }]
    }]') as rss
    from read_json_objects($path, format = 'newline_delimited', compression = $compression) t(j)
),
resources as (select unnest(rss) as r from docs),
scopes as (
    select otlp_attrs(r.resource.attributes) as resource_attributes, unnest(r.scopeSpans) as s
    from resources
),
raw as (
    select resource_attributes, s.scope.name as scope_name, s.scope.version as scope_version,
           unnest(s.spans) as span
    from scopes
),
rows as (
    select
        lower(span.traceId) as trace_id,
        lower(span.spanId) as span_id,
        nullif(lower(span.parentSpanId), '') as parent_span_id,
        span.name as name,
        coalesce(try_cast(span.kind as tinyint), 0) as kind,
        try_cast(span.startTimeUnixNano as bigint) as start_ns,
        try_cast(span.endTimeUnixNano as bigint) as end_ns,
        coalesce(try_cast(span.status.code as tinyint), 0) as status_code,
        nullif(span.status.message, '') as status_message,
        resource_attributes['service.name'] as service_name,
        nullif(scope_name, '') as scope_name,
        nullif(scope_version, '') as scope_version,
        otlp_attrs(span.attributes) as attributes,
        resource_attributes,
        list_transform(coalesce(span.events, []), lambda e: {
            'name': coalesce(e.name, ''), 'time_ns': coalesce(try_cast(e.timeUnixNano as bigint), 0),
            'attributes': otlp_attrs(e.attributes)
        }) as events,
        list_transform(coalesce(span.links, []), lambda l: {
            'trace_id': lower(l.traceId), 'span_id': lower(l.spanId)
        }) as links
    from raw
)
select b.*, $file_sha256 as file_sha256, cast(null as bigint) as line
from rows b
anti join spans s on s.trace_id = b.trace_id and s.span_id = b.span_id
