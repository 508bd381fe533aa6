-- Derive ticks, in ClickHouse
-- ClickHouse SQL (run on the server or in chdb, never in DuckDB): the ClickHouse rendering of
-- queries/ingest/derive_ticks.sql, rule for rule, over the exporter's table {table}. One row per
-- model-call span of the traces the window touches, in the columns of DuckDB's derived_ticks
-- (less started_at/ended_at, which agentprof makes from the ns, and output_text, which never
-- crosses). A field name in double braces is that field's dialect rows (queries/dialects.csv),
-- rendered for ClickHouse by agentprof/dialects.py; tests/test_clickhouse_derive.py proves both renderings
-- give the same rows on every OTLP fixture. ClickHouse reads a missing map key as '': a key's
-- presence is mapContains, where DuckDB's is `is not null`.
-- Traces: every trace with a span in the window (window.sql, spliced at /*window*/, as in
-- otel_traces_spans.sql: same parameters), each read whole: its spans that started in [{derive_since_ns},
-- {derive_until_ns}). A span stored twice counts once; a span agentprof's range check refuses
-- (times outside 1970..2200, a token count or cost attribute ({token_keys}, {cost_keys}) that is
-- not one) is no call, as it is never stored from a file.
-- derive_tool_calls.sql continues this query after its `ticks` step (agentprof/sources/
-- clickhouse.py joins the two texts), so the rules are written once. The narrow steps read more
-- than once are marked /*materialized*/: on a server that has materialized CTEs (ClickHouse
-- 25.x+, enable_materialized_cte) agentprof makes them so, and each is computed once instead of
-- at every reference; elsewhere the mark is a comment and the query gives the same rows. `spans`
-- is not marked: it holds whole attribute maps, and is scanned again (streaming) rather than kept
-- in memory.
with
touched as (
    select distinct TraceId
    from {table:Identifier}
    where /*window*/
),
rows_read as (
    select
        TraceId as trace_id,
        SpanId as span_id,
        -- '' for a root, never NULL: the sibling rule's `is not distinct from` is plain equality
        ParentSpanId as parent_span_id,
        toString(SpanName) as name,
        nullIf(toString(ServiceName), '') as service_name,
        toUnixTimestamp64Nano(Timestamp) as start_ns,
        toUnixTimestamp64Nano(Timestamp) + toInt64(Duration) as end_ns,
        toInt8(multiIf(StatusCode in ('STATUS_CODE_ERROR', 'Error'), 2,
                       StatusCode in ('STATUS_CODE_OK', 'Ok'), 1, 0)) as status_code,
        SpanAttributes as a,
        arrayMap(t -> toUnixTimestamp64Nano(t), `Events.Timestamp`) as event_ns,
        arrayMap(n -> toString(n), `Events.Name`) as event_names
    from {table:Identifier}
    where TraceId in (select TraceId from touched) and SpanId != ''
      and Timestamp >= fromUnixTimestamp64Nano({derive_since_ns:Int64})
      and Timestamp < fromUnixTimestamp64Nano({derive_until_ns:Int64})
),
spans as (
    select * from rows_read
    -- agentprof/sources/validate.py's range check (otel_traces_spans.sql sends such a span's
    -- counts along, so agentprof quarantines it with the reason)
    where start_ns between 0 and 7258118400000000000
      and end_ns between start_ns and 7258118400000000000
      and arrayAll(t -> t between 0 and 7258118400000000000, event_ns)
      and not arrayExists((k, v) -> v != '' and (
              (has({token_keys:Array(String)}, k)
               and not ifNull(isFinite(toFloat64OrNull(v)) and toFloat64OrNull(v) = floor(toFloat64OrNull(v))
                              and toFloat64OrNull(v) between 0 and 1000000000000, false))
              or (has({cost_keys:Array(String)}, k)
                  and not ifNull(isFinite(toFloat64OrNull(v)) and toFloat64OrNull(v) >= 0, false))),
          mapKeys(a), mapValues(a))
    -- one copy of a span stored twice (an exporter's retry writes the same row again)
    limit 1 by trace_id, span_id
),
calls as /*materialized*/ (
    select
        trace_id, span_id, parent_span_id, start_ns, end_ns,
        if(empty(event_ns), NULL, arrayMax(event_ns)) as last_event_ns,
        {{input}} as inclusive_input,
        -- Claude Code's own spans report Anthropic's disjoint counts under bare names; OpenLIT
        -- passes Anthropic's usage through unchanged.
        multiIf(name = 'claude_code.llm_request'
                    or mapContains(a, 'cache_read_tokens') or mapContains(a, 'cache_creation_tokens'),
                if(toInt64OrNull(a['input_tokens']) between 0 and 1000000000000,
                   toInt64OrNull(a['input_tokens']), NULL),
                a['telemetry.sdk.name'] = 'openlit' and lower({{provider}}) = 'anthropic',
                if(toInt64OrNull(a['gen_ai.usage.input_tokens']) between 0 and 1000000000000,
                   toInt64OrNull(a['gen_ai.usage.input_tokens']), NULL),
                NULL) as disjoint_input,
        {{cache_read}} as cache_read,
        {{cache_write}} as cache_write,
        {{cache_write_1h}} as cache_write_1h,
        {{output}} as output,
        {{reasoning}} as reasoning,
        {{model}} as model,
        {{request_model}} as request_model,
        lower(coalesce(
            {{provider}},
            if(service_name = 'claude-code' or name like 'claude_code.%', 'anthropic', NULL)
        )) as provider_raw,
        arrayFilter((t, n) -> n in ('gen_ai.content.completion.chunk', 'ai.stream.firstChunk',
                                    'First Token Stream Event'), event_ns, event_names)
            as first_chunk_ns,
        coalesce(
            {{ttft}},
            if(empty(first_chunk_ns), NULL, (arrayMin(first_chunk_ns) - start_ns) / 1e6)
        ) as ttft_ms,
        {{finish_reason}} as finish_reason,
        {{reported_cost}} as reported_cost_usd,
        multiIf(status_code = 2 or a['success'] = 'false' or mapContains(a, 'error.type'), 'error',
                status_code = 1, 'ok', 'unset') as status,
        ({{response_id}} is not null or {{response_model}} is not null
         or {{finish_reason}} is not null or mapContains(a, 'gen_ai.output.messages')
         or arrayExists(k -> k like 'gen_ai.completion.%' or k like 'llm.output_messages.%',
                        mapKeys(a))) as answered,
        -- What the model said, where tool-call ids show (derive_tool_calls links tools by them).
        arrayStringConcat(arrayFilter(x -> x != '', [
            a['gen_ai.output.messages'], a['output.value'], a['ai.response.toolCalls'],
            arrayStringConcat(mapValues(mapFilter(
                (k, v) -> k like 'gen_ai.completion.%' or k like 'llm.output_messages.%', a)), ' ')
        ]), ' ') as output_text
    from spans
    where (
        a['gen_ai.operation.name'] in ('chat', 'text_completion', 'generate_content')
        or a['openinference.span.kind'] = 'LLM'
        or name like 'ai.%.doGenerate' or name like 'ai.%.doStream'
        or name = 'claude_code.llm_request'
        or a['llm.request.type'] in ('chat', 'completion')
    )
    -- LangSmith maps its `prompt` run type to operation `chat`; it is a template, not a call.
    and a['langsmith.span.kind'] != 'prompt'
),
-- A usage-less, answerless call that did not fail, followed under the same parent by one that
-- reports usage, only prepared that call: not a tick. "Followed" is "the last such sibling
-- started at or after it ended", the semi-join of DuckDB's rendering as an aggregate.
prep as (
    select c.trace_id, c.span_id
    from calls c
    inner join (
        select trace_id, parent_span_id, max(start_ns) as last_usage_start
        from calls
        where coalesce(inclusive_input, disjoint_input, output) is not null
        group by trace_id, parent_span_id
    ) real_call on real_call.trace_id = c.trace_id and real_call.parent_span_id = c.parent_span_id
    where real_call.last_usage_start >= c.end_ns
      and coalesce(c.inclusive_input, c.disjoint_input, c.output, c.cache_read, c.cache_write) is null
      and c.status != 'error' and not c.answered
),
raw as (
    select * from calls
    -- A model-call span that wraps another (two instrumentations of one request) yields to it.
    where (trace_id, span_id) not in (select trace_id, parent_span_id from calls)
      and (trace_id, span_id) not in (select trace_id, span_id from prep)
),
-- A call that ends before its own events lasts until its parent ends (or its last event).
ended as (
    select r.*,
        if(r.last_event_ns > r.end_ns,
           if(p.p_end_ns is null, r.last_event_ns, greatest(r.last_event_ns, p.p_end_ns)),
           r.end_ns) as call_end_ns
    from raw r
    left join (
        select trace_id as p_trace_id, span_id as p_span_id, end_ns as p_end_ns
        from spans
        where (trace_id, span_id) in (
            select trace_id, parent_span_id from calls where last_event_ns > end_ns)
    ) p on p.p_trace_id = r.trace_id and p.p_span_id = r.parent_span_id
),
buckets as (
    select *,
        multiIf(disjoint_input is not null, 'reported_disjoint',
                inclusive_input is null, NULL,
                coalesce(cache_read, 0) + coalesce(cache_write, 0) > inclusive_input,
                'inclusive_inconsistent_treated_as_disjoint',
                'derived_from_inclusive') as provenance
    from ended
),
ticks as /*materialized*/ (
    select
        trace_id as run_id,
        row_number() over (partition by trace_id order by start_ns, call_end_ns, span_id) as tick,
        span_id,
        start_ns,
        call_end_ns as end_ns,
        if(call_end_ns > start_ns, (call_end_ns - start_ns) / 1e6, NULL) as latency_ms,
        ttft_ms,
        model,
        request_model,
        multiIf(
            provider_raw is null, NULL,
            provider_raw like 'anthropic%', 'anthropic',
            provider_raw like 'azure%' or provider_raw like 'az.ai.%', 'azure',
            provider_raw like 'aws%' or provider_raw like 'bedrock%'
                or provider_raw like 'amazon-bedrock%', 'aws',
            provider_raw like 'gcp.%' or provider_raw like 'google%'
                or provider_raw in ('gemini', 'vertex_ai', 'vertex'), 'google',
            provider_raw in ('x_ai', 'xai') or provider_raw like 'xai.%', 'x-ai',
            provider_raw like 'mistral%', 'mistral',
            provider_raw like 'openai%', 'openai',
            provider_raw = 'strands-agents', NULL,
            splitByChar('.', assumeNotNull(provider_raw))[1]) as provider,
        status,
        finish_reason,
        multiIf(provenance = 'reported_disjoint', disjoint_input,
                provenance = 'derived_from_inclusive',
                inclusive_input - coalesce(cache_read, 0) - coalesce(cache_write, 0),
                provenance is not null, inclusive_input,
                NULL) as input_uncached_tokens,
        cache_read as cache_read_tokens,
        if(cache_write_1h is null, cache_write,
           greatest(coalesce(cache_write, 0) - cache_write_1h, 0)) as cache_write_5m_tokens,
        cache_write_1h as cache_write_1h_tokens,
        output as output_tokens,
        reasoning as reasoning_tokens,
        provenance as input_provenance,
        reported_cost_usd,
        output_text
    from buckets
)
select * except (output_text) from ticks
settings join_use_nulls = 1
