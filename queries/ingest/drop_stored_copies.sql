-- Drop stored copies
-- After ingest/insert_spans_jsonl and ingest/new_span_keys: of the spans the file just added,
-- remove those an earlier file already stored (an exporter retry, the same export twice under
-- another name): the first copy wins, as in ingest/drop_repeated_spans (the native path needs no
-- more: a file holding a span twice was handed to the Python decoder). Stored spans are looked up
-- only in the traces the new spans belong to, so the cost follows the file, not the size of the
-- database: their row ids come from the trace_id column alone (DuckDB pushes the new trace ids
-- into that scan as a filter), then their span ids are fetched by row id.
delete from spans
where rowid in (
    select n.r
    from new_span_keys n
    semi join (
        select trace_id, span_id
        from spans
        where rowid in (
            select rowid from spans where trace_id in (select trace_id from new_span_keys)
        )
          and rowid not in (select r from new_span_keys)
    ) o on o.trace_id = n.trace_id and o.span_id = n.span_id
)
