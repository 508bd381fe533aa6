-- Delete superseded agent-log spans
-- A stored span that the staged file has a more complete copy of (higher agentprof.rank: a
-- streamed message whose final line arrived after the last ingest, a tool whose result came
-- later) is removed, so that ingest/insert_new_spans stores the new copy once. Equal or lower
-- ranks keep the stored copy: re-reading a snapshot never counts anything twice. Only the stored
-- spans of the staged traces are read: their row ids come from the trace_id column alone (the
-- staged trace ids are pushed into that scan as a filter), so no other span's attributes are.
delete from spans
where rowid in (
    select s.rowid
    from spans s
    join agentlog_batch b on s.trace_id = b.trace_id and s.span_id = b.span_id
    where s.rowid in (
        select rowid from spans where trace_id in (select trace_id from agentlog_batch)
    )
      and coalesce(tok(b.attributes['agentprof.rank']), 0)
        > coalesce(tok(s.attributes['agentprof.rank']), 0)
)
