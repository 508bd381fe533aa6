-- Rule: long inputs (bottleneck class)
-- Signature: the prompt is at least $long_inputs_share (default 0.70: the seed's "input slice >70%
-- of the bar") of the token cost on at least $long_inputs_tick_share (0.5: "most") of the run's
-- ticks, the run has two ticks or more, and the replayed prefix is at least $min_cacheable_tokens
-- (1,024: the smallest prompt providers cache), and the cache does not already serve it: the later
-- ticks read less than $cache_working_share (0.8, the bottom of a healthy 80-95% hit rate) of the
-- prefix from the cache.
-- When the run does read from the cache, the lever is the cache's misses (ticks that wrote the
-- prefix again instead of reading it), not turning caching on.
-- Saving: the run re-priced with a cache breakpoint after the stable prefix (tick_facts'
-- prefix_cache_saving_usd). A run whose cache already covers the prefix saves nothing, so it is
-- never told to enable caching; a saving below $min_saving_share (5%) of the run's cost is no finding.
insert into diag_findings
with t as (
    select *, input_cost_usd / nullif(input_cost_usd + output_cost_usd, 0) as input_share
    from diag_ticks
),
per_run as (
    select run_id,
        count(*) as ticks,
        count(*) filter (where input_share >= $long_inputs_share) as long_ticks,
        sum(input_cost_usd) / nullif(sum(input_cost_usd + output_cost_usd), 0) as input_share,
        any_value(prefix_t) as prefix_t,
        sum(prefix_cache_saving_usd) as saving_usd,
        sum(least(read_t, prefix_t)) filter (where tick > 1) / nullif(any_value(prefix_t) * (count(*) - 1), 0)
            as prefix_coverage,
        bool_or(read_t > 0) as cache_used,
        -- later ticks that wrote the prefix again instead of reading it: cache misses
        list(tick order by tick) filter (where tick > 1 and read_t < 0.5 * prefix_t
                                          and w5_t + w1h_t >= 0.5 * prefix_t) as rewrite_ticks,
        list(tick order by tick) filter (where input_share >= $long_inputs_share) as ticks_list,
        list(span_id order by tick) filter (where input_share >= $long_inputs_share) as spans_list
    from t group by run_id
)
select
    p.run_id,
    'long_inputs',
    true,
    format('input is {} of token cost on {} of {} ticks; {}-token prefix replayed {}×{}; reading it from the cache on every later tick saves {} ({} of the run''s cost)',
        pct_text(p.input_share), p.long_ticks, p.ticks, tokens_text(p.prefix_t), p.ticks,
        case when p.cache_used and len(p.rewrite_ticks) > 0
             then format('; the cache is on, but tick {} wrote the prefix again instead of reading it', list_text(p.rewrite_ticks, 5))
             else '' end,
        usd_text(p.saving_usd), pct_text(p.saving_usd / r.cost_usd)),
    case when p.cache_used
         then 'the cache is on but misses: find what changes before the breakpoint between calls (a timestamp, reordered tools or files, a model or setting switch) and keep that prefix byte-stable'
         else 'prompt caching with the breakpoint after the system prompt and tool definitions; trim tool definitions the agent does not use' end,
    p.saving_usd,
    null,
    p.ticks_list,
    p.spans_list
from per_run p
join diag_runs r using (run_id)
where p.ticks >= 2
  and p.long_ticks >= $long_inputs_tick_share * p.ticks
  and p.prefix_t >= $min_cacheable_tokens
  and p.prefix_coverage < $cache_working_share
  and p.saving_usd >= $min_saving_share * r.cost_usd
  and p.saving_usd > 0
