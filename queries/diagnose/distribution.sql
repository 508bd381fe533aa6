-- Bottleneck distribution
-- Runs, cost and achievable saving per primary bottleneck (the saving of each run's primary lever;
-- secondary findings are not added, so a lever is never counted twice), the costliest class first.
-- (diag_kept: the verdicts of every chunk of the scope, with the run's cost)
select
    v.bottleneck,
    count(*) as runs,
    exact_sum(v.cost_usd) as cost_usd,
    exact_sum(v.saving_usd) as saving_usd,
    exact_sum(v.saving_ms) as saving_ms
from diag_kept v
group by v.bottleneck
order by coalesce(exact_sum(v.cost_usd), 0) desc, count(*) desc, v.bottleneck
