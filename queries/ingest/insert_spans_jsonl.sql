-- Insert spans from OTLP/JSON lines (native fast path)
-- The same rows the Python decoder would produce, parsed by DuckDB's JSON reader straight from the
-- file ($path) in one pass: json_transform shapes each request, unnest walks resource → scope →
-- span. A line that is not a trace request in the current envelope (another signal, the legacy
-- `instrumentationLibrarySpans`) stops the statement with an error, as a malformed line does: the
-- Python decoder then takes the file and quarantines record by record. Ids are lower-cased; their
-- validity is checked afterwards (ingest/invalid_new_spans). Every span of the file is inserted, so
-- the statement's row count is the file's span count; ingest/drop_stored_copies then removes the
-- spans an earlier file already stored (first copy wins). `line` is not known here and stays NULL.
insert into spans
with docs as (
    select json_transform(j, '{"resourceSpans": [{
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
        }],
        "instrumentationLibrarySpans": "JSON"
    }]}') as d,
        -- 64 containers opened in a row (keys aside): possibly deeper than the Python decoder's
        -- limit (1,024 levels, orjson's), so that decoder judges the file.
        regexp_matches(j, '[\[{](\s*("[^"]*"\s*:\s*)?[\[{]){63}') as deep
    from read_json_objects($path, format = 'newline_delimited', compression = $compression) t(j)
),
requests as (
    -- Shaping the whole line at once, not json_extract first: that would print and re-parse it.
    select case when deep then error('nested deeper than the Python decoder reads')
                when d.resourceSpans is null
                  or list_bool_or(list_transform(d.resourceSpans, lambda r: r.instrumentationLibrarySpans is not null))
                then error('not an OTLP trace request in the current envelope')
                else d.resourceSpans end as rss
    from docs
),
resources as (select unnest(rss) as r from requests),
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
select *, $file_sha256 as file_sha256, cast(null as bigint) as line
from rows
