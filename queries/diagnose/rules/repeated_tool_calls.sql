-- Rule: repeated tool calls
-- Signature: the same tool called with the same argument fingerprint (sorted-key JSON hash) at
-- least twice in a run, and the repeats took at least $min_saving_ms (100 ms) in all: a cheaper
-- repeat is not worth a cache (the lookup would cost about as much).
-- Only tools a result cache may serve (cacheable in diagnose/tool_kinds): a repeat of a tool that
-- changes state or reads state that changes (Bash re-running the tests after an edit, Read of a
-- file the agent edits, an MCP tool not marked read-only) is new work, not a cache hit.
-- Saving: the duration of every call after the first, which a result cache would have served.
insert into diag_findings
select
    p.run_id,
    'repeated_tool_calls',
    false,
    -- the three costliest repeats in words, then how many more (--json lists every span)
    array_to_string(list(format('{} called {}× with identical arguments ({} after the first call)',
                                coalesce(p.tool_name, '(unnamed tool)'), p.calls, ms_text(p.repeat_ms))
                         order by p.repeat_ms desc, p.tool_name, p.args_fingerprint)[1:3], '; ')
        || case when count(*) > 3 then format('; and {} more repeated call(s)', count(*) - 3) else '' end,
    'a result cache keyed on the tool name and canonical (sorted-key) arguments, with a per-tool TTL; never for tools whose answer must be fresh',
    null,
    sum(p.repeat_ms),
    list_sort(list_distinct(flatten(list(p.ticks)))),
    list_sort(flatten(list(p.span_ids)))
from diag_tool_repeats p
join diag_tool_kinds k on k.run_id = p.run_id and k.tool_name = coalesce(p.tool_name, '(unnamed tool)')
where k.cacheable
group by p.run_id
having sum(p.repeat_ms) >= $min_saving_ms
