-- Monthly
-- Tokens by class, cost and models per calendar month in $timezone, as ccusage's `monthly`
-- reports them (the period_usage macro of schema 027 says how each column is counted).
select period as month, * exclude (period)
from period_usage($since, $until, $source, $agent, $project, $timezone, $by, '%Y-%m')
order by month, project nulls last
