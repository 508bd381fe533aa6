-- JSON lines shape
-- One pass over an OTLP/JSON lines file ($path) with DuckDB's JSON reader, to decide whether the
-- native fast path (ingest/insert_spans_jsonl) can take it: every line must be a trace request in
-- the current envelope. Anything else (other signals, legacy envelopes) goes to the Python decoder,
-- which quarantines record by record. A malformed line makes this query fail, with the same effect.
select
    count(*) as docs,
    count(*) filter (where json_extract(j, '$.resourceSpans') is null
                        or json_type(json_extract(j, '$.resourceSpans')) <> 'ARRAY') as not_traces,
    count(*) filter (where contains(j::varchar, '"instrumentationLibrarySpans"')) as legacy,
    coalesce(sum(list_sum(list_transform(json_extract(j, '$.resourceSpans[*].scopeSpans[*].spans'),
                                         lambda a: json_array_length(a)))), 0) as spans
from read_json_objects($path, format = 'newline_delimited', compression = $compression) t(j)
