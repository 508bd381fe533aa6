-- Delete stored Claude Code events a transcript stands for
-- Stored event spans whose request or tool call the transcript being stored also holds
-- (otel_logs_superseded): the transcript's copy replaces them.
delete from spans
using otel_logs_superseded s
where not s.staged and spans.trace_id = s.trace_id and spans.span_id = s.span_id
