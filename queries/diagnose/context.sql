-- Context growth
-- Per run: how the prompt grew tick after tick, and what compaction would have saved. The stable
-- prefix is the smallest prompt of any run of the run's session and agent (system prompt, tool
-- definitions: what every turn re-sends); everything above it on a tick is history (earlier turns,
-- earlier messages, tool results). history_share is the history's part of all prompt tokens the
-- run sent.
-- Compaction is simulated on the run's own ticks: the prompt follows the run's real growth (each
-- tick adds what it really added) until it would pass $context_compact_tokens (80,000: well
-- before a 200k window fills, where compaction still keeps the task in view; a turn that starts
-- past it, carrying an earlier task's history, is compacted before its first tick); then the history is
-- summarised into $context_summary_tokens (4,000) and growth resumes from prefix + summary. Each
-- tick is re-priced at its own price per prompt token (so its cache hit ratio is kept), and every
-- compaction pays for itself: one call reading the whole context from the cache and writing the
-- summary as output, then a cache write of prefix + summary. saving_usd is the real prompt cost
-- less the simulated one less the compactions (NULL when a tick is not priced).
create or replace temp table diag_context as
with recursive session_prefix as (
    -- the smallest prompt of any run of the same session and agent: what every turn re-sends
    -- (a later turn starts with the history of the ones before it, so its own smallest prompt is
    -- no prefix)
    select d.run_id, min(coalesce(t.input_uncached_tokens, 0) + coalesce(t.cache_read_tokens, 0)
                         + coalesce(t.cache_write_5m_tokens, 0) + coalesce(t.cache_write_1h_tokens, 0)) as prefix_t
    from diag_runs d
    join runs x on x.run_id = d.run_id
    join runs r on r.session_id = x.session_id and coalesce(r.agent, '') = coalesce(d.agent, '')
    join ticks t on t.run_id = r.run_id
    group by d.run_id
),
base as materialized (
    select d.run_id, d.tick, d.prompt_t, least(d.prefix_t, p.prefix_t) as prefix_t, d.output_t,
        d.input_cost_usd, d.p_read, d.p_w5, d.p_out,
        coalesce(d.prompt_t - lag(d.prompt_t) over (partition by d.run_id order by d.tick), 0) as delta_t
    from diag_ticks d join session_prefix p using (run_id)
),
growth as materialized (
    select run_id,
        count(*) as ticks,
        arg_min(prompt_t, tick) as first_prompt_t,
        max(prompt_t) as peak_prompt_t,
        any_value(prefix_t) as prefix_t,
        sum(prompt_t - prefix_t) / nullif(sum(prompt_t), 0) as history_share,
        median(delta_t) filter (where tick > 1 and delta_t > 0) as added_per_tick_t
    from base group by run_id
),
-- Only runs the rule could judge are simulated (the recursion steps through ticks one at a time).
candidates as materialized (
    select b.* from base b
    where b.run_id in (
        select run_id from growth
        where ticks >= $context_min_ticks and history_share >= $context_history_share
          and peak_prompt_t > $context_compact_tokens)
),
sim(run_id, tick, sim_t, compacted, compaction_usd) as (
    -- a turn that starts past the threshold is compacted before its first tick
    select run_id, tick,
        case when prompt_t > $context_compact_tokens
             then least(prefix_t + $context_summary_tokens, prompt_t) else prompt_t end::double,
        prompt_t > $context_compact_tokens,
        case when prompt_t > $context_compact_tokens
             then prompt_t * p_read + $context_summary_tokens * p_out
                  + (prefix_t + $context_summary_tokens) * (p_w5 - p_read)
             else 0 end
    from candidates where tick = 1
    union all
    select b.run_id, b.tick,
        case when s.sim_t + b.delta_t > $context_compact_tokens
             then b.prefix_t + $context_summary_tokens + greatest(b.delta_t, 0)
             else greatest(s.sim_t + b.delta_t, least(b.prefix_t + $context_summary_tokens, b.prompt_t)) end,
        s.sim_t + b.delta_t > $context_compact_tokens,
        case when s.sim_t + b.delta_t > $context_compact_tokens
             then s.sim_t * b.p_read + $context_summary_tokens * b.p_out
                  + (b.prefix_t + $context_summary_tokens) * (b.p_w5 - b.p_read)
             else 0 end
    from sim s join candidates b on b.run_id = s.run_id and b.tick = s.tick + 1
),
repriced as (
    select b.run_id,
        sum(b.input_cost_usd) as prompt_cost_usd,
        sum(b.input_cost_usd / nullif(b.prompt_t, 0) * least(s.sim_t, b.prompt_t)) as sim_cost_usd,
        sum(s.compaction_usd) as compaction_usd,
        count(*) filter (where s.compacted) as compactions
    from candidates b join sim s using (run_id, tick)
    group by b.run_id
),
scope_spans as materialized (
    -- the two attributes read below, in one pass over the spans of the scope only: the trace
    -- filter reaches the scan before any attribute map is read (diagnosing one run reads one
    -- run's spans)
    select s.trace_id, s.span_id,
        s.attributes['gen_ai.conversation.compacted'] = 'true' as compacted,
        s.attributes['agentprof.tool.result_chars'] as result_chars
    from spans s
    semi join diag_runs d on d.run_id = s.trace_id
),
seen as (
    -- compactions the source recorded: a tick marked compacted, or a compaction subagent run
    select t.run_id, count(*) as compactions_seen
    from diag_ticks t join scope_spans s on s.trace_id = t.run_id and s.span_id = t.span_id
    where s.compacted
    group by t.run_id
),
seen_agents as (
    select parent_run_id as run_id, count(*) as compactions_seen
    from runs where agent = 'compact' and parent_run_id in (select run_id from diag_runs)
    group by parent_run_id
),
tool_tokens as (
    -- what each tool's results added, where the source recorded their size (characters / 4)
    select c.run_id, coalesce(c.tool_name, '(unnamed tool)') as tool_name,
        sum(tok(s.result_chars)) / 4 as result_t, count(*) as calls
    from tool_calls c join scope_spans s on s.trace_id = c.run_id and s.span_id = c.span_id
    where c.run_id in (select run_id from diag_runs) and s.result_chars is not null
    group by all
),
top_tools as (
    select run_id,
        string_agg(format('{} {} tokens in {} call(s)', tool_name, tokens_text(result_t), calls), ', '
                   order by result_t desc, tool_name) filter (where rn <= 3) as top_tools,
        sum(result_t) as results_t
    from (select *, row_number() over (partition by run_id order by result_t desc, tool_name) as rn
          from tool_tokens)
    group by run_id
)
select g.*,
    r.prompt_cost_usd, r.sim_cost_usd, r.compaction_usd, r.compactions as simulated_compactions,
    r.prompt_cost_usd - r.sim_cost_usd - r.compaction_usd as saving_usd,
    coalesce(se.compactions_seen, 0) + coalesce(sa.compactions_seen, 0) as compactions_seen,
    tt.top_tools, tt.results_t
from growth g
left join repriced r using (run_id)
left join seen se using (run_id)
left join seen_agents sa using (run_id)
left join top_tools tt using (run_id)
