-- Usage by group
-- Organisation usage/cost report buckets summed by $by: 'model', 'day' (UTC) or 'key' (API key,
-- else workspace/project). Tokens come from usage reports, cost from cost reports (or both from
-- LiteLLM spend logs); a sum over no reported value is NULL, not 0.
select
    case $by
        when 'day' then strftime(starting_at, '%Y-%m-%d')
        when 'key' then coalesce(api_key, workspace, '(none)')
        else coalesce(model, '(none)')
    end as "group",
    string_agg(distinct report, ',' order by report) as reports,
    sum(requests) as requests,
    sum(input_uncached_tokens) as input_uncached_tokens,
    sum(cache_read_tokens) as cache_read_tokens,
    cache_write_sum(cache_write_5m_tokens, cache_write_1h_tokens) as cache_write_tokens,
    sum(output_tokens) as output_tokens,
    exact_sum(cost_usd) as cost_usd
from usage_buckets
group by "group"
order by cost_usd desc nulls last, "group"
