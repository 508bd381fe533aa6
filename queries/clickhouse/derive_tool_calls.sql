-- Derive tool calls, in ClickHouse
-- ClickHouse SQL: the ClickHouse rendering of queries/ingest/derive_tool_calls.sql. It continues
-- queries/clickhouse/derive_ticks.sql after its `ticks` step (agentprof/sources/clickhouse.py
-- joins the two texts; same parameters), so the tools read the ticks and spans defined there.
-- One row per tool-execution span, in derived_tool_calls' columns less started_at (made from the
-- ns) and with the arguments text in place of its fingerprint: agentprof hashes it on arrival
-- (the canonical sorted-key JSON hash is agentprof's own) and never stores it.
tools as /*materialized*/ (
    select
        trace_id as t_run_id,
        span_id as t_span_id,
        coalesce({{tool_name}}, name) as t_tool_name,
        {{tool_call_id}} as t_call_id,
        start_ns as t_start_ns,
        end_ns as t_end_ns,
        -- Tools that wait on a person (Claude Code's AskUserQuestion, ExitPlanMode) are user wait.
        if(a['agentprof.tool.user_wait'] = 'true', 'user_wait',
           multiIf(status_code = 2 or a['success'] = 'false' or mapContains(a, 'error.type'), 'error',
                   status_code = 1, 'ok', 'unset')) as t_status,
        -- OpenInference keeps a tool's arguments in its generic input.value.
        coalesce({{tool_args}},
                 if(a['openinference.span.kind'] = 'TOOL' and mapContains(a, 'input.value'),
                    a['input.value'], NULL)) as t_args
    from spans
    where (a['gen_ai.operation.name'] = 'execute_tool'
       or a['openinference.span.kind'] = 'TOOL'
       or a['traceloop.span.kind'] = 'tool'
       or name = 'ai.toolCall'
       or name = 'claude_code.tool')
      -- A tool name in parentheses is a framework's placeholder (Google ADK's `(merged tools)`).
      and not ifNull({{tool_name}} like '(%)', false)
),
-- The requesting tick: the first whose recorded output names the tool call id, else the last
-- that ended before the tool started (1 ms of clock skew tolerated).
by_call_id as (
    select t.t_run_id as c_run_id, t.t_span_id as c_span_id, min(o.tick) as c_tick
    from tools t
    inner join ticks o on o.run_id = t.t_run_id
    where t.t_call_id is not null and t.t_call_id != '' and o.output_text != ''
      and position(o.output_text, assumeNotNull(t.t_call_id)) > 0
    group by c_run_id, c_span_id
),
by_time as (
    select t.t_run_id as b_run_id, t.t_span_id as b_span_id, max(o.tick) as b_tick
    from tools t
    inner join ticks o on o.run_id = t.t_run_id
    where o.end_ns <= t.t_start_ns + 1000000
    group by b_run_id, b_span_id
)
select
    t.t_run_id as run_id,
    t.t_span_id as span_id,
    t.t_tool_name as tool_name,
    t.t_call_id as call_id,
    coalesce(c.c_tick, b.b_tick) as tick,
    multiIf(c.c_tick is not null, 'call_id', b.b_tick is not null, 'time', NULL) as tick_link,
    t.t_start_ns as start_ns,
    t.t_end_ns as end_ns,
    (t.t_end_ns - t.t_start_ns) / 1e6 as duration_ms,
    t.t_status as status,
    t.t_args as args
from tools t
left join by_call_id c on c.c_run_id = t.t_run_id and c.c_span_id = t.t_span_id
left join by_time b on b.b_run_id = t.t_run_id and b.b_span_id = t.t_span_id
settings join_use_nulls = 1
