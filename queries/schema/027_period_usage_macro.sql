-- Period usage
-- Tokens by class, cost and models per calendar period of the tick ledger, the body of
-- report/daily and report/monthly (p_format '%Y-%m-%d' or '%Y-%m'): a tick counts in the period
-- its started_at falls in, in time zone p_timezone (an IANA name; the ledger stores UTC). With
-- p_by = 'project' there is one row per (period, project); the project is the run's working
-- directory (runs.project, NULL when the source recorded none). Tokens: input is uncached input
-- only, cache_write_tokens is 5m + 1h writes (ccusage's "cache create"), total_tokens is all four
-- classes plus output (reasoning is part of output). cost_usd sums the priced ticks (NULL when
-- none is priced; unpriced_ticks counts the rest). Filters: the runs of selected_runs and
-- p_project. (Parameters are prefixed: a parameter named like a column would replace it.)
create or replace macro period_usage(p_since, p_until, p_source, p_agent, p_project, p_timezone, p_by, p_format) as table
select
    strftime(timezone(p_timezone, timezone('UTC', t.started_at)), p_format) as period,
    case when p_by = 'project' then r.project end as project,
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
join selected_runs(p_since, p_until, p_source, p_agent) r using (run_id)
where t.started_at is not null
  and (p_project is null or r.project = p_project)
group by all
order by period, project nulls last;
