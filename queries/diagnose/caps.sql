-- Turn and usage caps
-- Runs that were stopped by an iteration, turn, request or usage limit, as the framework reported it
-- on a span with error status, in its status message or exception event (pydantic-ai UsageLimitExceeded, OpenAI Agents
-- MaxTurnsExceeded, LangGraph GraphRecursionError, Claude Code error_max_turns, "request_limit of
-- 12", ...). The first such message's first sentence is kept (at most 160 characters) as evidence.
create or replace temp table diag_caps as
with failed as materialized (
    -- the error spans of the scope, picked before their events are unnested (a semi-join beside
    -- unnest() plans badly): one run diagnosed alone reads that run's spans only
    select s.trace_id, s.start_ns, s.status_message, s.events
    from spans s
    semi join diag_runs d on d.run_id = s.trace_id
    where s.status_code = 2
),
messages as (
    select s.trace_id as run_id, s.start_ns,
        concat_ws(': ', e.attributes['exception.type'], e.attributes['exception.message']) as message
    from failed s, unnest(s.events) as u(e)
    where e.name = 'exception'
    union all
    select s.trace_id, s.start_ns, s.status_message
    from failed s
    where s.status_message is not null
)
select run_id, left(rtrim(regexp_extract(first(message order by start_ns, message), '^[^\n]*?(\.\s|\n|$)'), '. ' || chr(10)), 160) as cap_message
from messages
where regexp_matches(message,
    '(usage|request|token|turn|iteration|step|recursion|tool[ _]?call)s?[ _]?limit|max[ _]?(turns|iterations|steps|requests)|UsageLimitExceeded|MaxTurnsExceeded|GraphRecursionError|error_max_turns|limit (exceeded|reached)',
    'i')
group by run_id
