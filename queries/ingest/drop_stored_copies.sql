-- Drop stored copies
-- After ingest/insert_spans (or insert_spans_jsonl) and ingest/new_span_keys: of the spans just
-- inserted, remove every copy of a span stored before them (an exporter retry, the same export
-- twice under another name): the stored copy wins. Copies repeated within the new spans are
-- ingest/drop_repeated_within's. Stored spans are looked up only in the traces the new spans
-- belong to, so the cost follows the new data, not the size of the database: their row ids come
-- from the trace_id column alone (DuckDB pushes the new trace ids into that scan as a filter; a
-- join on trace and span id together would read both columns of every stored span), then their
-- span ids are fetched by row id.
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
