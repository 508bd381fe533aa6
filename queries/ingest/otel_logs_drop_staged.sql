-- Drop staged Claude Code events a transcript stands for
-- The event spans of the file being stored whose request or tool call is already stored from
-- the session's transcript (otel_logs_superseded): they are not stored at all.
delete from agentlog_batch b
using otel_logs_superseded s
where s.staged and b.trace_id = s.trace_id and b.span_id = s.span_id
