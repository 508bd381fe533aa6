-- Span tree
-- The raw spans of the runs in $run_ids as trees, in depth-first order (children by start time,
-- then span id): one row per span with its depth (0 = a root), its position in its run (1..N),
-- offset from the run's first span and duration (ms), status, the tick or tool call it became in
-- the ledger, and its attributes. A span whose parent is not in the run is a root; a span that no
-- root reaches (a parent cycle, which only a broken or hostile trace has) is listed after the tree
-- at depth 0 with detached = true, so every span appears once.
-- $max_spans caps the spans per run (NULL: all; spans_in_run says how many there are): the first
-- ones in tree order, so every shown span's parent is shown too.
-- attributes: [{key, kind, chars, value, tail}], inputs first, then outputs, then the other attributes,
-- then span events (key "event NAME: ATTRIBUTE"; events without attributes are counted per name).
-- kind is input (prompts, tool arguments) or output (answers, tool results) for the keys that hold
-- what a model or tool was given or gave back (the dialects of FORMATS.md §2-§3, listed in
-- message_keys below as glob patterns), else attribute or event. chars is the value's full
-- length in characters. A value longer than $value_chars is cut to its first $value_chars
-- characters; an input or output longer than $message_chars keeps its first and its last
-- $message_chars / 2 (value and tail), because a conversation replayed every tick starts the same
-- way each time and what is new is at its end. NULL bounds (and tail NULL) mean uncut.
with recursive
message_keys(pattern, kind) as (
    values
        ('gen_ai.input.messages', 'input'), ('gen_ai.system_instructions', 'input'),
        ('gen_ai.prompt', 'input'), ('gen_ai.prompt.*', 'input'),
        ('input.value', 'input'), ('llm.input_messages.*', 'input'), ('llm.prompts*', 'input'),
        ('ai.prompt', 'input'), ('ai.prompt.*', 'input'), ('traceloop.entity.input', 'input'),
        ('pydantic_ai.all_messages', 'input'), ('tool_input', 'input'),
        ('tool_arguments', 'input'), ('gen_ai.tool.call.arguments', 'input'),
        ('ai.toolCall.args', 'input'),
        ('gen_ai.output.messages', 'output'), ('gen_ai.completion', 'output'),
        ('gen_ai.completion.*', 'output'), ('output.value', 'output'),
        ('llm.output_messages.*', 'output'), ('ai.response.text', 'output'),
        ('ai.response.toolCalls', 'output'), ('ai.response.object', 'output'),
        ('traceloop.entity.output', 'output'), ('gen_ai.tool.call.result', 'output'),
        ('ai.toolCall.result', 'output'), ('final_result', 'output'), ('tool_result', 'output')
),
sp as (
    select trace_id as run_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code,
           status_message, service_name, attributes, events
    from spans
    where list_contains($run_ids, trace_id)
),
linked as (
    select c.run_id, c.span_id, c.parent_span_id, p.span_id is not null as has_parent,
           row_number() over (
               partition by c.run_id, case when p.span_id is not null then c.parent_span_id end
               order by c.start_ns, c.span_id) as sibling
    from sp c
    left join sp p on p.run_id = c.run_id and p.span_id = c.parent_span_id
),
tree(run_id, span_id, depth, path) as (
    select run_id, span_id, 0, [sibling] from linked where not has_parent
    union all
    select c.run_id, c.span_id, t.depth + 1, list_append(t.path, c.sibling)
    from tree t
    join linked c on c.run_id = t.run_id and c.parent_span_id = t.span_id and c.has_parent
),
placed as (
    select run_id, span_id, depth, path, false as detached from tree
    union all
    -- unreachable spans go after every tree path (paths start at sibling ranks >= 1)
    select l.run_id, l.span_id, 0, [0 - 1, row_number() over (partition by l.run_id
           order by s.start_ns, l.span_id)], true
    from linked l join sp s using (run_id, span_id)
    anti join tree t on t.run_id = l.run_id and t.span_id = l.span_id
),
ranked as (
    select *,
           row_number() over (partition by run_id
               order by case when detached then 1 else 0 end, path) as position,
           count(*) over (partition by run_id) as spans_in_run
    from placed
),
shown as (
    select r.run_id, r.span_id, r.depth, r.position, r.spans_in_run, r.detached,
           case when l.has_parent then l.parent_span_id end as parent_span_id,
           s.name, s.kind, s.start_ns, s.end_ns, s.status_code, s.status_message, s.service_name,
           s.attributes, s.events
    from ranked r
    join linked l using (run_id, span_id)
    join sp s using (run_id, span_id)
    where $max_spans is null or r.position <= $max_spans
),
attrs as (
    select run_id, span_id, e.key as key, e.value as value
    from (select run_id, span_id, unnest(map_entries(attributes)) as e from shown)
),
classified as (
    select a.run_id, a.span_id, a.key, a.value,
           coalesce((select min(m.kind) from message_keys m where a.key glob m.pattern),
                    'attribute') as kind
    from attrs a
),
ev as (
    select run_id, span_id, unnest(events) as ev from shown
),
ev_rows as (
    select run_id, span_id, 'event ' || coalesce(ev.name, '') as key,
           count(*)::varchar || case when count(*) = 1 then ' time' else ' times' end as value,
           'event' as kind
    from ev where coalesce(cardinality(ev.attributes), 0) = 0
    group by run_id, span_id, ev.name
    union all
    select run_id, span_id, 'event ' || coalesce(name, '') || ': ' || e.key, e.value, 'event'
    from (select run_id, span_id, ev.name as name, unnest(map_entries(ev.attributes)) as e from ev)
),
every_attr as (
    select * from classified
    union all
    select * from ev_rows
),
attr_lists as (
    select run_id, span_id,
           list({
               'key': key,
               'kind': kind,
               'chars': length(value),
               'value': case
                   when value is null then null
                   when kind in ('input', 'output') and length(value) > $message_chars
                       then left(value, $message_chars // 2)
                   when kind not in ('input', 'output') and length(value) > $value_chars
                       then left(value, $value_chars)
                   else value end,
               'tail': case
                   when kind in ('input', 'output') and length(value) > $message_chars
                       then right(value, $message_chars - $message_chars // 2)
                   end
           } order by case kind when 'input' then 1 when 'output' then 2
                                when 'attribute' then 3 else 4 end, key, value) as attributes
    from every_attr
    group by run_id, span_id
),
run_start as (
    select run_id, min(start_ns) as start_ns from sp group by run_id
)
select
    s.run_id,
    s.position,
    s.depth,
    s.span_id,
    s.parent_span_id,
    s.name,
    s.kind,
    s.service_name,
    (s.start_ns - rs.start_ns) / 1e6 as offset_ms,
    (s.end_ns - s.start_ns) / 1e6 as duration_ms,
    case s.status_code when 2 then 'error' when 1 then 'ok' else 'unset' end as status,
    s.status_message,
    t.tick,
    t.model,
    t.input_uncached_tokens + coalesce(t.cache_read_tokens, 0)
        + coalesce(t.cache_write_5m_tokens, 0) + coalesce(t.cache_write_1h_tokens, 0)
        as input_tokens,
    t.output_tokens,
    t.cost_usd,
    c.tool_name,
    c.tick as tool_tick,
    s.detached,
    s.spans_in_run,
    coalesce(a.attributes, []) as attributes
from shown s
join run_start rs using (run_id)
left join ticks t on t.run_id = s.run_id and t.span_id = s.span_id
left join tool_calls c on c.run_id = s.run_id and c.span_id = s.span_id
left join attr_lists a on a.run_id = s.run_id and a.span_id = s.span_id
order by s.run_id, s.position
