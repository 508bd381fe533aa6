-- JSON lines shape
-- One cheap pass over an OTLP/JSON lines file ($path) with DuckDB's JSON reader, to decide whether
-- the native fast path (ingest/insert_spans_jsonl) can take it: every line must be a trace request
-- in the current envelope. Anything else (other signals, legacy envelopes) goes to the Python
-- decoder, which quarantines record by record. A malformed line makes this query fail, with the
-- same effect. Only a skeleton of each request is shaped (span ids), so this costs a fraction of
-- the insert.
select
    count(*) as docs,
    count(*) filter (where d.resourceSpans is null) as not_traces,
    count(*) filter (where list_bool_or(list_transform(d.resourceSpans,
                                                       lambda r: r.instrumentationLibrarySpans is not null))) as legacy,
    coalesce(sum(list_sum(list_transform(d.resourceSpans,
                                         lambda r: list_sum(list_transform(r.scopeSpans, lambda s: len(s.spans)))))), 0) as spans
from (
    select json_transform(j, '{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "VARCHAR"}]}],
                                                  "instrumentationLibrarySpans": "JSON"}]}') as d
    from read_json_objects($path, format = 'newline_delimited', compression = $compression) t(j)
)
