-- Derive ticks
-- One row per model-call span of the affected traces, read in every attribute dialect of
-- FORMATS.md §3.9 (OTel GenAI current and deprecated, OpenInference, OpenLLMetry, Vercel AI SDK,
-- pydantic-ai, LangSmith, Claude Code spans). A field name in double braces stands for that field's attribute keys from
-- queries/dialects.csv, first present wins (agentprof/dialects.py renders it).
-- Only model-call spans count: agent/workflow spans that repeat run totals (pydantic-ai's
-- invoke_agent, Vercel's ai.generateText) are never read for tokens. A model-call span that wraps
-- another model-call span (two instrumentations of one request) yields to the inner one.
-- Token buckets are disjoint; an inclusive input total is split into uncached + cache read + cache
-- write, unless the cache counts exceed it (FORMATS.md §0 sanity rule), in which case the source
-- is taken to be disjoint and the row says so in input_provenance.
-- The rows go to a temp table that derive_tool_calls, derive_runs and unpriced_models read;
-- price_ticks stores them in ticks with their cost (one insert, no update). Each call span's
-- values are read out of its attribute map in one scan, so the self-join and the numbering carry
-- narrow rows, not maps.
create or replace temp table derived_ticks as
with calls as (
    select
        trace_id, span_id, parent_span_id, start_ns, end_ns,
        list_max(list_transform(events, lambda e: e.time_ns)) as last_event_ns,
        {{input}} as inclusive_input,
        -- Claude Code's own spans report Anthropic's disjoint counts under bare names.
        case when name = 'claude_code.llm_request'
                  or a['cache_read_tokens'] is not null or a['cache_creation_tokens'] is not null
             then token_count(a['input_tokens'])
             -- OpenLIT passes Anthropic's usage through unchanged: its gen_ai.usage.input_tokens
             -- excludes cache reads and writes (fixtures/frameworks/openlit_anthropic).
             when a['telemetry.sdk.name'] = 'openlit'
                  and lower({{provider}}) = 'anthropic'
             then token_count(a['gen_ai.usage.input_tokens']) end as disjoint_input,
        {{cache_read}} as cache_read,
        {{cache_write}} as cache_write,
        -- Local-log readers (agentprof/sources) split Anthropic's 1h cache writes out of the total.
        {{cache_write_1h}} as cache_write_1h,
        {{output}} as output,
        {{reasoning}} as reasoning,
        {{model}} as model,
        {{request_model}} as request_model,
        lower(coalesce(
            {{provider}},
            case when service_name = 'claude-code' or name like 'claude_code.%' then 'anthropic' end
        )) as provider_raw,
        -- Time to first token, in ms: the attribute (its unit per dialect row; an s_or_ms row is
        -- read as seconds when that fits the call's latency), else the first-chunk event.
        coalesce(
            {{ttft}},
            (list_min(list_transform(
                list_filter(events, lambda e: e.name in (
                    'gen_ai.content.completion.chunk', 'ai.stream.firstChunk', 'First Token Stream Event'
                )),
                lambda e: e.time_ns
            )) - start_ns) / 1e6
        ) as ttft_ms,
        {{finish_reason}} as finish_reason,
        {{reported_cost}} as reported_cost_usd,
        span_status(status_code, a) as status,
        -- Whether the span shows a model's answer at all (an id, a model, a finish reason, output
        -- messages): a span that prepares a call shows none of them.
        ({{response_id}} is not null or {{response_model}} is not null
         or {{finish_reason}} is not null or a['gen_ai.output.messages'] is not null
         or len(list_filter(map_keys(a), lambda k: k like 'gen_ai.completion.%'
                                                  or k like 'llm.output_messages.%')) > 0)
            as answered,
        -- What the model said, where tool-call ids show (derive_tool_calls links tools by them).
        concat_ws(' ',
            a['gen_ai.output.messages'], a['output.value'], a['ai.response.toolCalls'],
            array_to_string(list_transform(
                list_filter(map_entries(a), lambda e: e.key like 'gen_ai.completion.%'
                                                   or e.key like 'llm.output_messages.%'),
                lambda e: e.value), ' ')
        ) as output_text
    from affected_spans
    where (
        a['gen_ai.operation.name'] in ('chat', 'text_completion', 'generate_content')
        or a['openinference.span.kind'] = 'LLM'
        or name like 'ai.%.doGenerate' or name like 'ai.%.doStream'
        or name = 'claude_code.llm_request'
        or a['llm.request.type'] in ('chat', 'completion')
    )
    -- LangSmith maps its `prompt` run type to operation `chat`; it is a template, not a call.
    and coalesce(a['langsmith.span.kind'], '') <> 'prompt'
),
raw as (
    select c.* from calls c
    anti join calls inner_call
        on inner_call.trace_id = c.trace_id and inner_call.parent_span_id = c.span_id
    -- A model-call span with no usage and no answer (no response id or model, no finish reason,
    -- no output messages) that did not fail, followed under the same parent by one that reports
    -- usage, only prepared that call (OpenInference LlamaIndex writes an LLM span
    -- `OpenAI._prepare_chat_with_tools` before each `OpenAI.achat`; fixtures/frameworks/llamaindex):
    -- not a tick. A failed attempt (status error) stays one, and so does a call that answered
    -- without a usage record (OpenHands trajectories). The usage-less spans are picked
    -- first, so the sibling join stays small when every call reports usage.
    anti join (
        select c.trace_id, c.span_id from calls c
        semi join calls real_call
            on real_call.trace_id = c.trace_id
            and real_call.parent_span_id is not distinct from c.parent_span_id
            and real_call.start_ns >= c.end_ns
            and coalesce(real_call.inclusive_input, real_call.disjoint_input, real_call.output) is not null
        where coalesce(c.inclusive_input, c.disjoint_input, c.output, c.cache_read, c.cache_write) is null
          and c.status <> 'error' and not c.answered
    ) prep on prep.trace_id = c.trace_id and prep.span_id = c.span_id
),
ended as (
    -- A model-call span that ends before its own events was closed when the call handed back its
    -- stream, not when the stream ended (OpenInference LlamaIndex's streamed `astream_chat` ends
    -- before the request is even sent; its first-token event comes later): the stream is read by
    -- the step that asked for it, so the call is taken to last until that parent span ends (or,
    -- with no parent, until its last event).
    select r.* exclude (parent_span_id, last_event_ns) replace (
        coalesce(cut.parent_end_ns, r.end_ns) as end_ns)
    from raw r
    left join (
        select r2.trace_id, r2.span_id, greatest(r2.last_event_ns, p.end_ns) as parent_end_ns
        from raw r2
        left join (select trace_id, span_id, end_ns from affected_spans) p
            on p.trace_id = r2.trace_id and p.span_id = r2.parent_span_id
        where r2.last_event_ns > r2.end_ns
    ) cut on cut.trace_id = r.trace_id and cut.span_id = r.span_id
),
buckets as (
    select
        *,
        case
            when disjoint_input is not null then 'reported_disjoint'
            when inclusive_input is null then null
            when coalesce(cache_read, 0) + coalesce(cache_write, 0) > inclusive_input
                then 'inclusive_inconsistent_treated_as_disjoint'
            else 'derived_from_inclusive'
        end as input_provenance
    from ended
)
select
    trace_id as run_id,
    row_number() over (partition by trace_id order by start_ns, end_ns, span_id) as tick,
    span_id,
    ns_to_ts(start_ns) as started_at,
    ns_to_ts(end_ns) as ended_at,
    start_ns,
    end_ns,
    -- a call logged with one time (a usage-only line, an event without duration_ms) has no
    -- latency: NULL, not 0 ms, so percentiles and rules never count it as an instant answer
    case when end_ns > start_ns then (end_ns - start_ns) / 1e6 end as latency_ms,
    ttft_ms,
    model,
    request_model,
    -- genai-prices provider ids; OTel, Vercel and OpenLLMetry spell them differently.
    case
        when provider_raw is null then null
        when provider_raw like 'anthropic%' then 'anthropic'
        when provider_raw like 'azure%' or provider_raw like 'az.ai.%' then 'azure'
        when provider_raw like 'aws%' or provider_raw like 'bedrock%' or provider_raw like 'amazon-bedrock%' then 'aws'
        when provider_raw like 'gcp.%' or provider_raw like 'google%' or provider_raw in ('gemini', 'vertex_ai', 'vertex') then 'google'
        when provider_raw in ('x_ai', 'xai') or provider_raw like 'xai.%' then 'x-ai'
        when provider_raw like 'mistral%' then 'mistral'
        when provider_raw like 'openai%' then 'openai'
        -- Strands writes its own name where the conventions put the model's provider
        -- (fixtures/frameworks/strands): no provider beats a framework's name posing as one.
        when provider_raw = 'strands-agents' then null
        else split_part(provider_raw, '.', 1)
    end as provider,
    status,
    finish_reason,
    case
        when input_provenance = 'reported_disjoint' then disjoint_input
        when input_provenance = 'derived_from_inclusive'
            then inclusive_input - coalesce(cache_read, 0) - coalesce(cache_write, 0)
        when input_provenance is not null then inclusive_input
    end as input_uncached_tokens,
    cache_read as cache_read_tokens,
    -- Spans carry one cache-write count; Anthropic's default TTL (5 minutes) is the one it bills,
    -- unless the source names the 1h share (agentprof.usage.cache_write_1h_tokens).
    case when cache_write_1h is null then cache_write
         else greatest(coalesce(cache_write, 0) - cache_write_1h, 0) end as cache_write_5m_tokens,
    cache_write_1h as cache_write_1h_tokens,
    output as output_tokens,
    reasoning as reasoning_tokens,
    input_provenance,
    reported_cost_usd,
    output_text
from buckets
