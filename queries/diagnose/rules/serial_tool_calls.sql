-- Rule: serial independent tool calls
-- Signature: a tick requested several tool calls and they ran one after another (their union is
-- longer than the longest call), and parallel dispatch would save at least $min_saving_ms (100 ms)
-- over the run.
-- Only where the source's times can show it (tool_starts_known in diagnose/macros): a Claude Code
-- transcript or a Codex rollout stamps a call when its line was written, not when the tool ran, so
-- calls that ran together look staggered there; runs of those sources never get this finding.
-- Saving: per tick, union − longest call (three calls of 300, 500 and 700 ms run serially: 800 ms).
insert into diag_findings
select
    run_id,
    'serial_tool_calls',
    false,
    -- the first three ticks in words, then how many more (--json lists every tick)
    array_to_string(list(format('tick {}: {} calls ({}) took {} one after another; in parallel {}',
                                tick, calls, list_text(list_transform(tool_names, lambda n: coalesce(n, '?')), 4),
                                ms_text(union_ms), ms_text(longest_ms)) order by tick)[1:3], '; ')
        || case when count(*) > 3 then format('; and {} more tick(s) like these', count(*) - 3) else '' end,
    'dispatch the tool calls of one tick concurrently (they were requested together, so none waits on another''s result)',
    null,
    sum(union_ms - longest_ms),
    list(tick order by tick),
    flatten(list(span_ids order by tick))
from diag_tool_ticks
where calls >= 2 and union_ms - longest_ms > 0
  and run_id in (select run_id from diag_runs where tool_starts_known(source))
group by run_id
having sum(union_ms - longest_ms) >= $min_saving_ms
