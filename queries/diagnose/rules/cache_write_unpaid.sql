-- Rule: cache write unpaid
-- Signature: the run's cache writes are not paid back by its own reads. A write costs more than
-- plain input (Anthropic: 1.25× for the 5-minute TTL, 2× for 1 hour) and each later read saves
-- 0.9× input, so a written token must be read back (p_write − p_in) ÷ (p_in − p_read) times to
-- break even (≈ 0.28 for 5m, ≈ 1.11 for 1h; schema/024_cache_ratio_macro). Two shapes:
--  * unpaid: the run writes at least $min_cacheable_tokens in all and its reads save less than the
--    write premium cost (reads per written token below the break-even): a subagent or a short
--    session caching a prefix nothing reads again. Saving: the writes priced as plain input,
--    minus what the reads saved (i.e. the same tokens sent with no cache breakpoint).
--  * 1-hour TTL never needed: the run writes at least $min_cacheable_tokens 1-hour tokens but no
--    tick starts more than $cache_ttl_s (300 s) after the previous one ended, so 5-minute entries
--    would have stayed warm. Saving: the 1-hour writes priced as 5-minute writes.
-- When both apply, the finding names the lever that saves more. A run whose later ticks keep
-- re-writing the cache and read little of it back (cache_broken's signature, same thresholds) is
-- left to cache_broken: there the lever is a stable prefix, not fewer writes. Only the run's own
-- ticks count: its reads of an entry another run wrote are its reads, and later runs reading its
-- writes are not seen. So only runs whose conversation ends with them are judged: subagents
-- (a parent run) and runs that are a session of their own. A turn of a longer session hands its
-- cache to the session's next turn, perhaps after the user idled past 5 minutes, which its own
-- ticks cannot show. A run whose source reports no cache counts or whose model has no price never
-- fires, and a saving below $min_saving_share (5%) of the run's cost is no finding.
insert into diag_findings
with per_run as (
    select run_id,
        count(*) as ticks,
        bool_or(cache_reported) as cache_reported,
        sum(read_t) as read_t,
        sum(w5_t + w1h_t) as written_t,
        sum(w1h_t) as w1h_t,
        coalesce(sum(w5_t + w1h_t) filter (where tick > 1), 0) as later_written_t,
        coalesce(sum(read_t) filter (where tick > 1), 0) as later_read_t,
        coalesce(max(gap_ms), 0) as longest_gap_ms,
        cache_break_even_ratio(w5_t, w1h_t, (p_w5 - p_in) / nullif(p_in - p_read, 0),
            (p_w1h - p_in) / nullif(p_in - p_read, 0)) as break_even,
        -- against sending every cached token as plain input: what the writes cost on top, what
        -- the reads saved, and what 5-minute instead of 1-hour writes would have saved
        sum(w5_t * (p_w5 - p_in) + w1h_t * (p_w1h - p_in)) as premium_usd,
        sum(read_t * (p_in - p_read)) as read_saving_usd,
        sum(w1h_t * (p_w1h - p_w5)) as ttl_saving_usd,
        list(tick order by tick) filter (where w5_t + w1h_t > 0) as ticks_list,
        list(span_id order by tick) filter (where w5_t + w1h_t > 0) as spans_list
    from diag_ticks
    group by run_id
),
levers as (
    select p.*,
        case when p.written_t >= $min_cacheable_tokens
              and not (p.later_written_t >= $min_cacheable_tokens
                       and p.later_read_t < $cache_broken_hit_ratio * (p.later_read_t + p.later_written_t))
             then p.premium_usd - p.read_saving_usd end as unpaid_usd,
        case when p.w1h_t >= $min_cacheable_tokens and p.longest_gap_ms <= $cache_ttl_s * 1000
             then p.ttl_saving_usd end as ttl_usd
    from per_run p
    join runs r using (run_id)
    where p.cache_reported
      and (r.parent_run_id is not null or r.session_id is null or r.session_id = r.run_id)
),
chosen as (
    select l.*,
        greatest(l.unpaid_usd, l.ttl_usd) as saving_usd,
        coalesce(l.ttl_usd > l.unpaid_usd or l.unpaid_usd is null, false) as ttl_lever
    from levers l
)
select
    c.run_id,
    'cache_write_unpaid',
    false,
    case when c.ttl_lever and c.ticks = 1 then
        format('wrote {} tokens to the 1-hour cache on the run''s only call, so no later call of the run needed them past 5 minutes; writing them for 5 minutes saves {}',
            tokens_text(c.w1h_t), usd_text(c.ttl_usd))
    when c.ttl_lever then
        format('wrote {} tokens to the 1-hour cache, but no tick started more than {:.0f} s after the previous one ended (longest gap {:.0f} s), so 5-minute entries would have stayed warm; writing them for 5 minutes saves {}',
            tokens_text(c.w1h_t), $cache_ttl_s, c.longest_gap_ms / 1000, usd_text(c.ttl_usd))
    else
        format('wrote {} tokens to the cache ({}) and read back {}: {:.2f} reads per written token, below the {:.2f} break-even of the write premium; the writes cost {} more than plain input and the reads saved {}, so the cache lost {}',
            tokens_text(c.written_t),
            case when c.w1h_t = 0 then 'all 5-minute' when c.w1h_t = c.written_t then 'all 1-hour'
                 else tokens_text(c.w1h_t) || ' of them 1-hour' end,
            tokens_text(c.read_t), c.read_t / c.written_t,
            c.break_even, usd_text(c.premium_usd), usd_text(c.read_saving_usd), usd_text(c.unpaid_usd))
    end,
    case when c.ttl_lever then
        'use the 5-minute cache TTL: no idle gap in this run outlasts it, and a 5-minute write costs 1.25× input where a 1-hour write costs 2×'
    else
        'give subagents one shared cached prefix (same system prompt and tools, byte-identical) that each reads instead of writing its own; for one-shot calls set no cache breakpoint at all'
    end,
    c.saving_usd,
    null,
    c.ticks_list,
    c.spans_list
from chosen c
join diag_runs r using (run_id)
where c.saving_usd > 0
  and c.saving_usd >= $min_saving_share * r.cost_usd
