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
with recursive t as (
    select t.*, r.session_id
    from ticks t
    join selected_runs($since, $until, $source, $agent) r using (run_id)
    where t.started_at is not null
      and ($project is null or r.project = $project)
),
-- One row per block start; each step finds the first tick past the current block's 5 hours.
starts(block_start) as (
    select date_trunc('hour', min(started_at)) from t having count(*) > 0
    union all
    select (select date_trunc('hour', min(t.started_at)) from t
            where t.started_at > s.block_start + interval 5 hour)
    from starts s
    where s.block_start is not null
),
blocks as (
    select block_start from starts where block_start is not null
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
asof join blocks b on t.started_at >= b.block_start
group by b.block_start
order by b.block_start
