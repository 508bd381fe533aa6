-- Blocks
-- Usage per 5-hour billing block, as ccusage's `blocks` defines them: a block starts at its first
-- tick's started_at floored to the UTC hour and lasts 5 hours; the first tick more than 5 hours
-- after the block's start opens the next block (floored again). ccusage also opens a block after
-- a gap of more than 5 hours between ticks, but such a tick is always more than 5 hours past the
-- block's start too, so one rule covers both. Gaps between blocks get no row. Per block: its
-- start and end (start + 5 h), its last tick's start, sessions, runs, ticks, tokens by class (as
-- in daily), cost_usd (NULL when no tick is priced) and the models used. The blocks are built
-- from the ticks of the selected runs (--since/--until on the run's start, --source, --agent)
-- and $project; ticks are counted at their started_at (UTC).
with recursive t as materialized (
    select t.*, r.session_id
    from ticks t
    join selected_runs($since, $until, $source, $agent) r using (run_id)
    where t.started_at is not null
      and ($project is null or r.project = $project)
),
-- One row per block: its first tick and its start; each step finds the first tick past the
-- current block's 5 hours. Ticks join the block whose first tick is the latest at or before
-- theirs (not by the floored start: a tick exactly 5 h after a block's start stays in it even
-- when the next block, floored, starts at that same instant).
-- The steps read one row per hour with activity rather than every tick: block starts and ends
-- fall on the hour, so the first tick past an end is the first tick of the end's hour that is
-- later than the hour itself, or else the first tick of a later hour.
hours as materialized (
    select date_trunc('hour', started_at) as hour, min(started_at) as first_at,
        min(started_at) filter (where started_at > date_trunc('hour', started_at)) as first_after_at
    from t group by all
),
starts(first_at, block_start) as (
    select min(first_at), date_trunc('hour', min(first_at)) from hours having count(*) > 0
    union all
    select n.first_at, date_trunc('hour', n.first_at)
    from starts s,
    lateral (select min(case when h.hour = s.block_start + interval 5 hour then h.first_after_at
                             else h.first_at end) as first_at
             from hours h where h.hour >= s.block_start + interval 5 hour) n
    where n.first_at is not null
),
blocks as (
    select first_at, block_start from starts
)
select
    strftime(b.block_start, '%Y-%m-%dT%H:%M:%SZ') as started_at,
    strftime(b.block_start + interval 5 hour, '%Y-%m-%dT%H:%M:%SZ') as ends_at,
    strftime(max(t.started_at), '%Y-%m-%dT%H:%M:%S.%fZ') as last_tick_at,
    count(distinct t.session_id) as sessions,
    count(distinct t.run_id) as runs,
    count(*) as ticks,
    sum(t.input_uncached_tokens) as input_uncached_tokens,
    sum(t.output_tokens) as output_tokens,
    cache_write_sum(t.cache_write_5m_tokens, t.cache_write_1h_tokens) as cache_write_tokens,
    sum(t.cache_read_tokens) as cache_read_tokens,
    sum(coalesce(t.input_uncached_tokens, 0) + coalesce(t.output_tokens, 0)
        + coalesce(t.cache_write_5m_tokens, 0) + coalesce(t.cache_write_1h_tokens, 0)
        + coalesce(t.cache_read_tokens, 0)) as total_tokens,
    fsum(t.cost_usd) as cost_usd,
    count(*) filter (where t.cost_usd is null) as unpriced_ticks,
    coalesce(string_agg(distinct t.model, ',' order by t.model), '') as models
from t
asof join blocks b on t.started_at >= b.first_at
group by b.block_start
order by b.block_start
