-- Kept verdicts
-- Each chunk's verdicts with the run's cost (diagnose/keep adds them), for the distribution over
-- the whole scope.
create or replace temp table diag_kept (
    run_id varchar not null,
    bottleneck varchar not null,
    cost_usd double,
    saving_usd double,
    saving_ms double
)
