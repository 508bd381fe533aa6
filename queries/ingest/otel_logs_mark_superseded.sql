-- Mark the runs of superseded Claude Code events pending
-- Stored event spans that the transcript being stored stands for are about to be deleted; their
-- runs (the session's, even when the transcript file is a subagent's) must be rebuilt.
insert into pending_traces
select distinct trace_id from otel_logs_superseded where not staged
