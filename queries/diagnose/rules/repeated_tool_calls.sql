-- Rule: repeated tool calls
-- Signature: the same tool called with the same argument fingerprint (sorted-key JSON hash) at
-- least twice in a run, and the repeats took at least $min_saving_ms (100 ms) in all: a cheaper
-- repeat is not worth a cache (the lookup would cost about as much).
-- Saving: the duration of every call after the first, which a result cache would have served.
insert into diag_findings
select
    run_id,
    'repeated_tool_calls',
    false,
    string_agg(format('{} called {}× with identical arguments ({} after the first call)',
                      coalesce(tool_name, '(unnamed tool)'), calls, ms_text(repeat_ms)),
               '; ' order by repeat_ms desc, tool_name, args_fingerprint),
    'a result cache keyed on the tool name and canonical (sorted-key) arguments, with a per-tool TTL; never for tools whose answer must be fresh',
    null,
    sum(repeat_ms),
    list_sort(list_distinct(flatten(list(ticks)))),
    list_sort(flatten(list(span_ids)))
from diag_tool_repeats
group by run_id
having sum(repeat_ms) >= $min_saving_ms
