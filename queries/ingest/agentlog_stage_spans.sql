-- Stage agent-log spans
-- The spans local-log files (Claude Code, Codex, API response log) decoded to, one row per
-- (trace, span): the most complete copy (highest agentprof.rank, then the later file and line)
-- wins.
create or replace temp table agentlog_batch as
select * from span_batch
qualify row_number() over (
    partition by trace_id, span_id
    order by tok(attributes['agentprof.rank']) desc nulls last, file_seq desc, line desc
) = 1
