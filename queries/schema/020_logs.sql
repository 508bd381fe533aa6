-- Logs
-- OTLP log records received by `agentprof serve` on /v1/logs (e.g. Claude Code's api_request and
-- tool_result events, FORMATS.md §3.7), with every attribute. `event_name` is the record's
-- eventName, else its `event.name` attribute, else a `claude_code.*` body. `log_id` is a hash of
-- the record's content, so an exporter retry stores it once. `line` is the request's frame number
-- in the spool segment recorded in `files`.
create table if not exists logs (
    log_id varchar not null,
    file_sha256 varchar,
    line bigint,
    time_ns bigint,
    observed_ns bigint,
    severity_number integer,
    severity_text varchar,
    event_name varchar,
    body varchar,
    trace_id varchar,
    span_id varchar,
    service_name varchar,
    scope_name varchar,
    attributes map(varchar, varchar),
    resource_attributes map(varchar, varchar)
);
