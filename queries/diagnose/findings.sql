-- Findings
-- Every finding of the scope (a rule whose tick or span list came out empty gives [], not NULL), the run's primary bottleneck first, then by the share of the run its
-- lever saves (largest first), then by name.
select
    f.run_id,
    f.kind,
    f.kind = v.bottleneck as "primary",
    f.evidence,
    f.lever,
    f.saving_usd,
    f.saving_ms,
    coalesce(f.ticks, []) as ticks,
    coalesce(f.spans, []) as spans
from diag_findings f
join diag_verdicts v using (run_id)
join diag_runs r using (run_id)
order by
    f.run_id,
    f.kind = v.bottleneck desc,
    saving_share(f.saving_usd, f.saving_ms, r.cost_usd, r.wall_ms) desc,
    f.kind
