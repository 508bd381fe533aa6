-- Insert spans from OTLP/JSON lines (native fast path)
-- The same rows the Python decoder would produce, parsed by DuckDB's JSON reader straight from the
-- file ($path) in one pass: json_transform shapes each request, unnest walks resource → scope →
-- span. A line that is not a trace request in the current envelope (another signal, the legacy
-- `instrumentationLibrarySpans`) stops the statement with an error, as a malformed line does: the
-- Python decoder then takes the file and quarantines record by record. Ids are lower-cased; their
-- validity is checked afterwards (ingest/invalid_new_spans). Every span of the file is inserted, so
-- the statement's row count is the file's span count; ingest/drop_stored_copies then removes the
-- spans an earlier file already stored (first copy wins). `line` is not known here and stays NULL.
-- Resources (schema/032_resources.sql): every span gets its resource's id, computed once per
-- resource of a request; only the first span of each resource of a request carries the map, from
-- which ingest/insert_resources_from_file then fills `resources` (one statement inserts into one
-- table: this keeps the file read once). Those spans keep their copy: clearing it (an UPDATE of
-- a MAP column, a delete and re-insert in DuckDB) made the commit cost ~5 CPU-s per 1M spans.
-- Whatever the Python decoder would read differently (a number not written as a plain integer,
-- nesting past its depth limit) stops the statement too, so both paths store the same.
insert into spans by name
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
        regexp_matches(j, '[\[{](\s*("[^"]*"\s*:\s*)?[\[{]){63}') as deep,
        -- An intValue not written as a plain integer: the Python decoder normalises ("007") or
        -- refuses ("1e3", a date) it, so it decides.
        list_bool_or(list_transform(
            regexp_extract_all(j, '"intValue"\s*:\s*"?([^",}\]\s]*)', 1),
            lambda x: not regexp_full_match(x, '-?(0|[1-9][0-9]*)'))) as odd_int,
        -- NaN, Infinity and numbers past a double (1e400): DuckDB's parser takes them, JSON and
        -- the Python decoder do not (a false alarm inside a string only costs the fast path).
        regexp_matches(j, '[:\[,]\s*-?(Infinity|NaN|[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]{3}|[0-9]{20})') as not_json,
        -- A key or name that is not a string: its text is the Python decoder's to choose.
        regexp_matches(j, '"(key|name|version|message)"\s*:\s*[^"\sn]') as odd_text
    from read_json_objects($path, format = 'newline_delimited', compression = $compression) t(j)
),
requests as (
    -- Shaping the whole line at once, not json_extract first: that would print and re-parse it.
    select case when deep then error('nested deeper than the Python decoder reads')
                when odd_int then error('an intValue that is not a plain integer')
                when not_json then error('NaN, Infinity or a number past a double')
                when odd_text then error('a key or name that is not a string')
                when d.resourceSpans is null
                  or list_bool_or(list_transform(d.resourceSpans, lambda r: r.instrumentationLibrarySpans is not null))
                then error('not an OTLP trace request in the current envelope')
                else d.resourceSpans end as rss
    from docs
),
resources as (select unnest(rss) as r from requests),
resource_maps as (
    select r, otlp_attrs(r.resource.attributes) as resource_attributes,
           -- the scope that holds the resource's first span
           list_position(list_transform(r.scopeSpans, lambda x: len(coalesce(x.spans, [])) > 0),
                         true) as first_scope
    from resources
),
scopes as (
    select resource_attributes, resource_key(resource_attributes) as resource_id, first_scope,
           unnest(r.scopeSpans) as s, generate_subscripts(r.scopeSpans, 1) as scope_no
    from resource_maps
),
raw as (
    select resource_attributes, resource_id, scope_no = first_scope as in_first_scope,
           s.scope.name as scope_name, s.scope.version as scope_version,
           unnest(s.spans) as span, generate_subscripts(s.spans, 1) as span_no
    from scopes
),
rows as (
    select
        lower(span.traceId) as trace_id,
        lower(span.spanId) as span_id,
        nullif(lower(span.parentSpanId), '') as parent_span_id,
        span.name as name,
        -- An open enum as the Python decoder reads it: a plain integer, 0 when outside tinyint;
        -- anything else (1.5, "true", a date) makes the statement fail: that decoder decides.
        case when span.kind is null then 0
             when not regexp_full_match(span.kind, '\s*[+-]?[0-9]+\s*') then error('an enum that is not an integer')
             when try_cast(span.kind as bigint) between 0 and 127 then cast(span.kind as tinyint)
             else 0 end as kind,
        case when regexp_full_match(span.startTimeUnixNano, '\s*[+-]?[0-9]+\s*') then try_cast(span.startTimeUnixNano as bigint) end as start_ns,
        case when regexp_full_match(span.endTimeUnixNano, '\s*[+-]?[0-9]+\s*') then try_cast(span.endTimeUnixNano as bigint) end as end_ns,
        -- An open enum as the Python decoder reads it: a plain integer, 0 when outside tinyint;
        -- anything else (1.5, "true", a date) makes the statement fail: that decoder decides.
        case when span.status.code is null then 0
             when not regexp_full_match(span.status.code, '\s*[+-]?[0-9]+\s*') then error('an enum that is not an integer')
             when try_cast(span.status.code as bigint) between 0 and 127 then cast(span.status.code as tinyint)
             else 0 end as status_code,
        nullif(span.status.message, '') as status_message,
        resource_attributes['service.name'] as service_name,
        nullif(scope_name, '') as scope_name,
        nullif(scope_version, '') as scope_version,
        otlp_attrs(span.attributes) as attributes,
        case when in_first_scope and span_no = 1 then resource_attributes end as resource_attributes,
        resource_id,
        list_transform(coalesce(span.events, []), lambda e: {
            'name': coalesce(e.name, ''),
            'time_ns': case when e.timeUnixNano is null then 0
                            when regexp_full_match(e.timeUnixNano, '\s*[+-]?[0-9]+\s*')
                                 and try_cast(e.timeUnixNano as bigint) >= 0
                            then cast(e.timeUnixNano as bigint)
                            else error('an event time the Python decoder refuses') end,
            'attributes': otlp_attrs(e.attributes)
        }) as events,
        list_transform(coalesce(span.links, []), lambda l: {
            'trace_id': lower(l.traceId), 'span_id': lower(l.spanId)
        }) as links
    from raw
)
select *, $file_sha256 as file_sha256, cast(null as bigint) as line
from rows
