-- Drop stored copies
-- After ingest/insert_spans_jsonl: of the spans file $file_sha256 just added, remove those an
-- earlier file already stored (an exporter retry, the same export twice under another name). The
-- first copy wins, as in ingest/insert_spans.
delete from spans
where rowid in (
    select n.rowid
    from spans n
    semi join (select trace_id, span_id from spans where file_sha256 is distinct from $file_sha256) o
        on o.trace_id = n.trace_id and o.span_id = n.span_id
    where n.file_sha256 = $file_sha256
)
