-- Keep the verdicts of the chunk just diagnosed (diagnose/kept).
insert into diag_kept
select v.run_id, v.bottleneck, r.cost_usd, v.saving_usd, v.saving_ms
from diag_verdicts v
join diag_runs r using (run_id)
