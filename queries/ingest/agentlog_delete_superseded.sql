-- Delete superseded agent-log spans
-- A stored span that the staged file has a more complete copy of (higher agentprof.rank: a
-- streamed message whose final line arrived after the last ingest, a tool whose result came
-- later) is removed, so that ingest/insert_new_spans stores the new copy once. Equal or lower
-- ranks keep the stored copy: re-reading a snapshot never counts anything twice. Only the stored
-- spans of the staged traces are read: their row ids come from the trace_id column alone (the
-- staged trace ids are pushed into that scan as a filter), and only the stored copies of staged
-- spans (matched on trace and span id, without their attributes) have their rank read, so a file
-- of new spans reads no stored attribute map at all.
delete from spans
using (
    select s.rowid as stored_row, coalesce(tok(b.attributes['agentprof.rank']), 0) as staged_rank
    from spans s
    join agentlog_batch b on s.trace_id = b.trace_id and s.span_id = b.span_id
    where s.rowid in (
        select rowid from spans where trace_id in (select trace_id from agentlog_batch)
    )
) m
where spans.rowid = m.stored_row
  and m.staged_rank > coalesce(tok(spans.attributes['agentprof.rank']), 0)
