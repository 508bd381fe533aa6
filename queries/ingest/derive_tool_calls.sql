-- Derive tool calls
-- One row per tool-execution span of the affected traces (OTel execute_tool, OpenInference TOOL,
-- Traceloop tool, Vercel ai.toolCall, Claude Code claude_code.tool). The requesting tick is the one
-- whose recorded output names the tool call id (tick_link = 'call_id'); without that, the last tick
-- that ended before the tool started (tick_link = 'time'; 1 ms of clock skew tolerated).
-- args_fingerprint hashes the arguments as sorted-key JSON (args_fingerprint() is registered by
-- ingest); argument text itself is not copied. Reads the ticks from derived_ticks (derive_ticks),
-- whose output_text holds each tick's recorded output. The rows go to a temp table, in
-- tool_calls' column order, that derive_runs reads (a scan of every stored tool call would cost
-- in proportion to the database) and ingest/store_tool_calls stores.
create or replace temp table derived_tool_calls as
with tools as (
    select
        trace_id as run_id,
        span_id,
        coalesce({{tool_name}}, name) as tool_name,
        {{tool_call_id}} as call_id,
        start_ns,
        end_ns,
        -- Tools that wait on a person (Claude Code's AskUserQuestion, ExitPlanMode) are user wait.
        case when a['agentprof.tool.user_wait'] = 'true' then 'user_wait'
             else span_status(status_code, a) end as status,
        -- OpenInference keeps a tool's arguments in its generic input.value.
        coalesce({{tool_args}},
                 case when a['openinference.span.kind'] = 'TOOL' then a['input.value'] end) as args
    from affected_spans
    where (a['gen_ai.operation.name'] = 'execute_tool'
       or a['openinference.span.kind'] = 'TOOL'
       or a['traceloop.span.kind'] = 'tool'
       or name = 'ai.toolCall'
       or name = 'claude_code.tool')
      -- A tool name in parentheses is a framework's placeholder, not a tool a model can call
      -- (model APIs take names of letters, digits, _ . -): Google ADK's `(merged tools)` span
      -- sums up parallel calls that each have a span of their own (fixtures/frameworks/google_adk).
      and not coalesce({{tool_name}} like '(%)', false)
),
-- The tools to link by id, and the outputs they may be named in (an empty output names none).
linked as (
    select run_id, span_id, call_id from tools where call_id is not null and call_id <> ''
),
tick_outputs as (
    select run_id, tick, output_text from derived_ticks
    where output_text <> '' and run_id in (select run_id from linked)
),
by_call_id as (
    select t.run_id, t.span_id, min(o.tick) as tick
    from linked t
    join tick_outputs o on o.run_id = t.run_id and contains(o.output_text, t.call_id)
    group by t.run_id, t.span_id
),
by_time as (
    select t.run_id, t.span_id, max(o.tick) as tick
    from tools t
    join derived_ticks o on o.run_id = t.run_id and o.end_ns <= t.start_ns + 1000000
    group by t.run_id, t.span_id
)
select
    t.run_id,
    t.span_id,
    t.tool_name,
    t.call_id,
    coalesce(c.tick, b.tick) as tick,
    case when c.tick is not null then 'call_id' when b.tick is not null then 'time' end as tick_link,
    t.start_ns,
    t.end_ns,
    ns_to_ts(t.start_ns) as started_at,
    (t.end_ns - t.start_ns) / 1e6 as duration_ms,
    t.status,
    args_fingerprint(t.args) as args_fingerprint
from tools t
left join by_call_id c using (run_id, span_id)
left join by_time b using (run_id, span_id)
