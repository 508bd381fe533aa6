-- Rule: context growth (bottleneck class)
-- Signature: a run of at least $context_min_ticks (5) ticks whose prompt grows tick after tick so
-- that history, not the stable prefix, is at least $context_history_share (0.5) of all the prompt
-- tokens it sent, and whose prompt passed $context_compact_tokens (80,000), the compaction point
-- diag_context simulates. On coding agents the cache already works: the money goes to cache reads
-- of an ever larger context.
-- Saving: the run re-priced as if compacted at that point (diag_context: prefix + a summary of
-- $context_summary_tokens, each compaction's own call and cache write paid); below
-- $min_saving_share (5%) of the run's cost it is no finding.
insert into diag_findings
select
    x.run_id,
    'context_growth',
    true,
    concat_ws('; ',
        format('the prompt grew from {} to {} tokens over {} ticks (about {} added per tick); history is {} of the prompt tokens sent',
            tokens_text(x.first_prompt_t), tokens_text(x.peak_prompt_t), x.ticks,
            tokens_text(coalesce(x.added_per_tick_t, 0)), pct_text(x.history_share)),
        case when x.top_tools is not null then 'tool results that added most: ' || x.top_tools end,
        case when x.compactions_seen > 0 then format('{} compaction(s) seen in the run', x.compactions_seen) end,
        format('compacting to the {}-token prefix plus a {}-token summary whenever the prompt passed {} tokens ({} time(s)) saves {} ({} of the run''s cost)',
            tokens_text(x.prefix_t), tokens_text($context_summary_tokens), tokens_text($context_compact_tokens),
            x.simulated_compactions, usd_text(x.saving_usd), pct_text(x.saving_usd / r.cost_usd))),
    'compact or summarise the conversation at a threshold (e.g. /compact, or a summarisation step in the loop); trim bulky tool results (read file ranges, cap command output); explore in a subagent that returns only a summary; start a fresh session between unrelated tasks',
    x.saving_usd,
    null,
    [],
    []
from diag_context x
join diag_runs r using (run_id)
where x.ticks >= $context_min_ticks
  and x.history_share >= $context_history_share
  and x.peak_prompt_t > $context_compact_tokens
  and x.saving_usd >= $min_saving_share * r.cost_usd
  and x.saving_usd > 0
