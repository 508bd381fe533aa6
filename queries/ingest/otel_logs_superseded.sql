-- Claude Code requests known twice
-- A Claude Code session can arrive both as its transcript (~/.claude/projects; scope
-- agentprof.claude_code) and as its OpenTelemetry log events (serve's /v1/logs or an OTLP logs
-- export; scope agentprof.claude_code_otel). The transcript's copy of a request or tool call wins:
-- it knows the 1h cache-write share, the message and the subagent that made it. This lists the
-- event spans that a transcript span stands for, wherever either is: staged (agentlog_batch, the
-- files being stored, which may hold both) or stored. A pair is the same session and either the
-- same tool call (both readers derive its span id from tool_use_id) or the same model request:
-- the same request id or, when one side has none (older builds), the same four token counts
-- ending within 5 minutes of each other. Event spans are always in the session's run (trace id =
-- session id), transcript spans in one of its turns or subagents, found by their session.id
-- attribute. `staged` says where the event span is.
create or replace temp table otel_logs_superseded as
with staged as (
    select trace_id, span_id, name, end_ns, attributes as a, scope_name, true as staged
    from agentlog_batch
    where scope_name in ('agentprof.claude_code', 'agentprof.claude_code_otel')
),
stored_events as (
    select trace_id, span_id, name, end_ns, attributes as a, scope_name, false as staged
    from spans
    where scope_name = 'agentprof.claude_code_otel'
      and trace_id in (select a['session.id'] from staged where scope_name = 'agentprof.claude_code')
),
stored_transcripts as (
    select trace_id, span_id, name, end_ns, attributes as a, scope_name, false as staged
    from spans
    where scope_name = 'agentprof.claude_code'
      and attributes['session.id'] in (
          select trace_id from staged where scope_name = 'agentprof.claude_code_otel'
      )
),
events as (
    select * from staged where scope_name = 'agentprof.claude_code_otel'
    union all
    select * from stored_events
),
transcripts as (
    select * from staged where scope_name = 'agentprof.claude_code'
    union all
    select * from stored_transcripts
)
select distinct e.trace_id, e.span_id, e.staged
from events e
join transcripts t on t.a['session.id'] = e.trace_id and (e.staged or t.staged)
where e.span_id = t.span_id
   or (
        e.name = 'claude_code.llm_request' and t.name = 'claude_code.llm_request'
        and (
            e.a['anthropic.request_id'] = t.a['anthropic.request_id']
            or (
                (e.a['anthropic.request_id'] is null or t.a['anthropic.request_id'] is null)
                and tok(e.a['input_tokens']) is not distinct from tok(t.a['input_tokens'])
                and tok(e.a['output_tokens']) is not distinct from tok(t.a['output_tokens'])
                and tok(e.a['cache_read_tokens']) is not distinct from tok(t.a['cache_read_tokens'])
                and tok(e.a['cache_creation_tokens']) is not distinct from tok(t.a['cache_creation_tokens'])
                and abs(e.end_ns - t.end_ns) <= 300000000000  -- 5 minutes
            )
        )
   )
