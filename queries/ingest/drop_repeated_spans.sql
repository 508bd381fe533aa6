-- Drop repeated spans
-- After ingest/insert_spans: of a span stored more than once by the files just inserted
-- ($file_batch: sha256 and file_seq, their order), keep the first copy in file order, then line
-- order. Spans stored before those files were kept out by the insert itself.
delete from spans
where rowid in (
    select s.rowid
    from spans s
    join file_batch f on f.sha256 = s.file_sha256
    qualify row_number() over (
        partition by s.trace_id, s.span_id order by f.file_seq, s.line, s.rowid
    ) > 1
)
