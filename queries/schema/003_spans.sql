-- Spans
-- Raw OTLP spans with every attribute, so new analyses need no re-ingest. Attribute values are text:
-- scalars as written (ints in decimal, bools as true/false), arrays and kvlists as JSON.
-- (trace_id, span_id) is unique; ingest enforces it by looking up the stored spans of the new
-- spans' traces after each insert (ingest/drop_stored_copies, drop_repeated_within) rather than with an index, because
-- DuckDB's ART index makes bulk inserts slow and memory-hungry.
create table if not exists spans (
    trace_id varchar not null,
    span_id varchar not null,
    parent_span_id varchar,
    name varchar,
    kind tinyint,
    start_ns bigint,
    end_ns bigint,
    status_code tinyint,
    status_message varchar,
    service_name varchar,
    scope_name varchar,
    scope_version varchar,
    attributes map(varchar, varchar),
    resource_attributes map(varchar, varchar),
    events struct(name varchar, time_ns bigint, attributes map(varchar, varchar))[],
    links struct(trace_id varchar, span_id varchar)[],
    file_sha256 varchar,
    line bigint
);
