-- Derive tool calls
-- One row per tool-execution span of the affected traces (OTel execute_tool, OpenInference TOOL,
-- Traceloop tool, Vercel ai.toolCall, Claude Code claude_code.tool). The requesting tick is the one
-- whose recorded output names the tool call id (tick_link = 'call_id'); without that, the last tick
-- that ended before the tool started (tick_link = 'time'; 1 ms of clock skew tolerated).
-- args_fingerprint hashes the arguments as sorted-key JSON (args_fingerprint() is registered by
-- ingest); argument text itself is not copied. Output text is only assembled for the ticks of
-- runs whose tools carry a call id, and before the join, so the attribute maps are not carried
-- through it.
insert into tool_calls
with tools as (
    select
        trace_id as run_id,
        span_id,
        coalesce(a['gen_ai.tool.name'], a['tool.name'], a['ai.toolCall.name'], a['tool_name'],
                 a['tool_call.function.name'], a['traceloop.entity.name'], name) as tool_name,
        coalesce(a['gen_ai.tool.call.id'], a['tool_call.id'], a['ai.toolCall.id'], a['tool_use_id'],
                 a['tool.id']) as call_id,
        start_ns,
        end_ns,
        -- Tools that wait on a person (Claude Code's AskUserQuestion, ExitPlanMode) are user wait.
        case when a['agentprof.tool.user_wait'] = 'true' then 'user_wait'
             else span_status(status_code, a) end as status,
        coalesce(a['gen_ai.tool.call.arguments'], a['tool_call.function.arguments'], a['ai.toolCall.args'],
                 case when a['openinference.span.kind'] = 'TOOL' then a['input.value'] end,
                 a['traceloop.entity.input'], a['tool_input'], a['tool_parameters']) as args
    from affected_spans
    where a['gen_ai.operation.name'] = 'execute_tool'
       or a['openinference.span.kind'] = 'TOOL'
       or a['traceloop.span.kind'] = 'tool'
       or name = 'ai.toolCall'
       or name = 'claude_code.tool'
),
linked_runs as (
    select distinct run_id from tools where call_id is not null and call_id <> ''
),
tick_texts as (
    select
        s.trace_id, s.span_id,
        concat_ws(' ',
            s.a['gen_ai.output.messages'], s.a['output.value'], s.a['ai.response.toolCalls'],
            array_to_string(list_transform(
                list_filter(map_entries(s.a), lambda e: e.key like 'gen_ai.completion.%'
                                                     or e.key like 'llm.output_messages.%'),
                lambda e: e.value), ' ')
        ) as output_text
    from affected_spans s
    where s.trace_id in (select run_id from linked_runs)
      and (s.trace_id, s.span_id) in (select run_id, span_id from ticks where run_id in (select run_id from linked_runs))
),
tick_outputs as (
    select k.run_id, k.tick, x.output_text
    from ticks k
    join tick_texts x on x.trace_id = k.run_id and x.span_id = k.span_id
),
tick_ends as (
    select run_id, tick, end_ns from ticks where run_id in (select trace_id from affected_traces)
),
by_call_id as (
    select t.run_id, t.span_id, min(o.tick) as tick
    from tools t
    join tick_outputs o on o.run_id = t.run_id
    where t.call_id is not null and t.call_id <> '' and contains(o.output_text, t.call_id)
    group by t.run_id, t.span_id
),
by_time as (
    select t.run_id, t.span_id, max(o.tick) as tick
    from tools t
    join tick_ends o on o.run_id = t.run_id and o.end_ns <= t.start_ns + 1000000
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
