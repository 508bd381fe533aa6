-- Rule: cache not used
-- Signature: a run of two ticks or more whose every prompt repeats a prefix of at least
-- $min_cacheable_tokens (1,024) tokens, with no cache read or write on any tick, reported as zero.
-- A source that reports no cache counts at all says nothing about the cache: no finding (long
-- inputs still judges the replayed prefix).
-- Saving: the same re-pricing as long inputs (breakpoint after the stable prefix); a saving below
-- $min_saving_share (5%) of the run's cost is no finding.
insert into diag_findings
with per_run as (
    select run_id,
        count(*) as ticks,
        bool_or(cache_reported) as cache_reported,
        sum(read_t + w5_t + w1h_t) as cached_t,
        any_value(prefix_t) as prefix_t,
        sum(prefix_cache_saving_usd) as saving_usd,
        list(tick order by tick) as ticks_list,
        list(span_id order by tick) as spans_list
    from diag_ticks group by run_id
)
select
    p.run_id,
    'cache_not_used',
    false,
    format('no cache reads or writes on any of {} ticks ({}) while every prompt starts with the same {}-token prefix; reading it from the cache saves {} ({} of the run''s cost)',
        p.ticks, 'reported as 0',
        tokens_text(p.prefix_t), usd_text(p.saving_usd), pct_text(p.saving_usd / r.cost_usd)),
    'enable prompt caching: a cache_control breakpoint after the system prompt and tools (Anthropic), or a byte-identical prefix of 1,024+ tokens (OpenAI caches automatically): move timestamps and per-user data after it',
    p.saving_usd,
    null,
    p.ticks_list,
    p.spans_list
from per_run p
join diag_runs r using (run_id)
where p.ticks >= 2
  and p.cache_reported
  and p.cached_t = 0
  and p.prefix_t >= $min_cacheable_tokens
  and p.saving_usd >= $min_saving_share * r.cost_usd
  and p.saving_usd > 0
