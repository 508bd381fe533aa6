-- Stage agent-log spans
-- The spans one local-log file (Claude Code, Codex, API response log) decoded to, one row per
-- (trace, span): the most complete copy (highest agentprof.rank, then the later line) wins.
create or replace temp table agentlog_batch as
select * from span_batch
qualify row_number() over (
    partition by trace_id, span_id
    order by tok(attributes['agentprof.rank']) desc nulls last, line desc
) = 1
