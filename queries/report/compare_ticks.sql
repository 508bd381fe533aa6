-- Compare ticks
-- Two runs ($run_a, $run_b) side by side, tick 1 with tick 1 and so on (a full outer join on the
-- tick index, so the longer run's extra ticks appear with the other side NULL). Per side: the model,
-- the disjoint token buckets (tokens), the cost (USD) and the tool names the tick called, in start
-- order (tool calls linked to no tick are counted in compare_totals only). cost_change_usd is
-- B - A (NULL when either side is unpriced or missing).
-- diverges: the ticks differ in behaviour, not just in numbers: the tick exists in one run only,
-- the model differs, or the *set* of tool names called differs (calling the same tool once or
-- twice is the same choice of tool; the lists show the counts). divergence says which.
-- Order: tick.
with calls as (
    select run_id, tick,
           list(coalesce(tool_name, '(unnamed)') order by start_ns, span_id) as tools
    from tool_calls
    where run_id in ($run_a, $run_b) and tick is not null
    group by run_id, tick
),
side as (
    select t.run_id, t.tick, t.model, t.input_uncached_tokens, t.cache_read_tokens,
           t.cache_write_5m_tokens, t.cache_write_1h_tokens, t.output_tokens, t.cost_usd,
           coalesce(c.tools, []) as tools
    from ticks t
    left join calls c using (run_id, tick)
    where t.run_id in ($run_a, $run_b)
),
a as (select * from side where run_id = $run_a),
b as (select * from side where run_id = $run_b),
joined as (
    select
        coalesce(a.tick, b.tick) as tick,
        a.tick is not null as in_a,
        b.tick is not null as in_b,
        a.model as a_model,
        b.model as b_model,
        a.input_uncached_tokens as a_input_uncached_tokens,
        b.input_uncached_tokens as b_input_uncached_tokens,
        a.cache_read_tokens as a_cache_read_tokens,
        b.cache_read_tokens as b_cache_read_tokens,
        a.cache_write_5m_tokens as a_cache_write_5m_tokens,
        b.cache_write_5m_tokens as b_cache_write_5m_tokens,
        a.cache_write_1h_tokens as a_cache_write_1h_tokens,
        b.cache_write_1h_tokens as b_cache_write_1h_tokens,
        a.output_tokens as a_output_tokens,
        b.output_tokens as b_output_tokens,
        a.cost_usd as a_cost_usd,
        b.cost_usd as b_cost_usd,
        b.cost_usd - a.cost_usd as cost_change_usd,
        a.tools as a_tools,
        b.tools as b_tools
    from a full outer join b on a.tick = b.tick
)
select
    tick,
    a_model,
    b_model,
    a_input_uncached_tokens,
    b_input_uncached_tokens,
    a_cache_read_tokens,
    b_cache_read_tokens,
    a_cache_write_5m_tokens,
    b_cache_write_5m_tokens,
    a_cache_write_1h_tokens,
    b_cache_write_1h_tokens,
    a_output_tokens,
    b_output_tokens,
    a_cost_usd,
    b_cost_usd,
    cost_change_usd,
    a_tools,
    b_tools,
    case
        when not in_a then 'only in B'
        when not in_b then 'only in A'
        else nullif(concat_ws(', ',
            case when a_model is distinct from b_model then 'model' end,
            case when list_sort(list_distinct(a_tools)) <> list_sort(list_distinct(b_tools))
                 then 'tools' end), '')
    end as divergence,
    divergence is not null as diverges
from joined
order by tick
