-- Monthly
-- Tokens by class, cost and models per calendar month, as ccusage's `monthly` reports them, from the
-- tick ledger: a tick counts in the month its started_at falls in in $timezone (an IANA name; the
-- ledger stores UTC). With $by = 'project' there is one row per (month, project); the project is
-- the run's working directory (runs.project, NULL when the source recorded none). Tokens: input
-- is uncached input only, cache_write_tokens is 5m + 1h writes (ccusage's "cache create"),
-- total_tokens is all four classes plus output (reasoning is part of output). cost_usd sums the
-- priced ticks (NULL when none is priced; unpriced_ticks counts the rest). Filters: the runs of
-- selected_runs (--since/--until on the run's start, --source, --agent) and $project.
select
    strftime(timezone($timezone, timezone('UTC', t.started_at)), '%Y-%m') as month,
    case when $by = 'project' then r.project end as project,
    count(distinct r.session_id) as sessions,
    count(distinct r.run_id) as runs,
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
from ticks t
join selected_runs($since, $until, $source, $agent) r using (run_id)
where t.started_at is not null
  and ($project is null or r.project = $project)
group by all
order by month, project nulls last
