-- Delete superseded agent-log spans
-- A stored span that the staged file has a more complete copy of (higher agentprof.rank: a
-- streamed message whose final line arrived after the last ingest, a tool whose result came
-- later) is removed, so that ingest/insert_spans stores the new copy once. Equal or lower ranks
-- keep the stored copy: re-reading a snapshot never counts anything twice.
delete from spans
using agentlog_batch b
where spans.trace_id = b.trace_id and spans.span_id = b.span_id
  and coalesce(tok(b.attributes['agentprof.rank']), 0) > coalesce(tok(spans.attributes['agentprof.rank']), 0)
