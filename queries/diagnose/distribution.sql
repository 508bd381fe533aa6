-- Bottleneck distribution
-- Runs, cost and achievable saving per primary bottleneck (the saving of each run's primary lever;
-- secondary findings are not added, so a lever is never counted twice), the costliest class first.
select
    v.bottleneck,
    count(*) as runs,
    exact_sum(r.cost_usd) as cost_usd,
    exact_sum(v.saving_usd) as saving_usd,
    exact_sum(v.saving_ms) as saving_ms
from diag_verdicts v
join diag_runs r using (run_id)
group by v.bottleneck
order by coalesce(exact_sum(r.cost_usd), 0) desc, count(*) desc, v.bottleneck
