-- Rule: cache broken
-- Signature: ticks after the first keep writing the cache (at least $min_cacheable_tokens in all)
-- but read back less than $cache_broken_hit_ratio (0.5) of what they read or write: the prefix
-- changes on every call (a timestamp or per-user data before the breakpoint, tools in unstable
-- order), so each write is paid and never amortised. A healthy cache reads 80-95%.
-- Saving: those re-writes of the prefix priced as reads instead.
insert into diag_findings
with later as (
    select run_id,
        count(*) as ticks,
        count(*) filter (where w5_t + w1h_t > 0) as writing_ticks,
        sum(read_t) as read_t,
        sum(w5_t + w1h_t) as written_t,
        sum(least(w5_t, prefix_t) * (p_w5 - p_read) + least(w1h_t, greatest(prefix_t - w5_t, 0)) * (p_w1h - p_read))
            as saving_usd,
        list(tick order by tick) filter (where w5_t + w1h_t > 0) as ticks_list,
        list(span_id order by tick) filter (where w5_t + w1h_t > 0) as spans_list
    from diag_ticks
    where tick > 1
    group by run_id
)
select
    l.run_id,
    'cache_broken',
    false,
    format('ticks 2-{} wrote {} tokens to the cache on {} of {} calls but read only {} (hit ratio {}; healthy is 80-95%); reading the prefix instead of re-writing it saves {}',
        l.ticks + 1, tokens_text(l.written_t), l.writing_ticks, l.ticks, tokens_text(l.read_t),
        pct_text(l.read_t / (l.read_t + l.written_t)), usd_text(l.saving_usd)),
    'make the prefix byte-stable: move timestamps, per-user data and anything per-call after the cache breakpoint; sort tool definitions by name',
    l.saving_usd,
    null,
    l.ticks_list,
    l.spans_list
from later l
where l.written_t >= $min_cacheable_tokens
  and l.read_t < $cache_broken_hit_ratio * (l.read_t + l.written_t)
