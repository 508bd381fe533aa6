-- Daily
-- Tokens by class, cost and models per calendar day in $timezone, as ccusage's `daily` reports
-- them (the period_usage macro of schema 027 says how each column is counted).
select period as date, * exclude (period)
from period_usage($since, $until, $source, $agent, $project, $timezone, $by, '%Y-%m-%d')
order by date, project nulls last
