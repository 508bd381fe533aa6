-- Rule: cache expiring
-- Signature: a tick starts more than the cache TTL after the previous tick ended ($cache_ttl_s,
-- 300 s, Anthropic's default; $cache_ttl_1h_s, 3,600 s, when the run writes 1-hour entries) and
-- re-writes at least $min_cacheable_tokens tokens: the prefix expired while the agent idled.
-- Saving: those re-writes priced as reads (what a warm cache would have charged).
insert into diag_findings
with runs_ttl as (
    select run_id, case when sum(w1h_t) > 0 then $cache_ttl_1h_s else $cache_ttl_s end as ttl_s
    from diag_ticks group by run_id
),
expired as (
    select t.*, r.ttl_s
    from diag_ticks t join runs_ttl r using (run_id)
    where t.gap_ms > r.ttl_s * 1000 and t.w5_t + t.w1h_t >= $min_cacheable_tokens
)
select
    run_id,
    'cache_expiring',
    false,
    format('{} tick(s) started after an idle gap longer than the {:.0f}-second cache TTL (longest {:.0f} s) and re-wrote {} tokens',
        count(*), any_value(ttl_s), max(gap_ms) / 1000, tokens_text(sum(w5_t + w1h_t))),
    'use the 1-hour cache TTL for runs that idle past 5 minutes (writes cost more, reads stay cheap), or send a keep-warm request before the TTL ends',
    sum(w5_t * (p_w5 - p_read) + w1h_t * (p_w1h - p_read)),
    null,
    list(tick order by tick),
    list(span_id order by tick)
from expired
group by run_id
