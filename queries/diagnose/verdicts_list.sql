-- Verdicts list
-- The verdict of every run in the scope (built by diagnose/verdicts).
select run_id, bottleneck, saving_usd, saving_ms, top_finding
from diag_verdicts
order by run_id
