-- Findings table
-- Every rule in queries/diagnose/rules/ inserts its findings here: one row per (run, kind) with
-- the evidence as a sentence of numbers, the lever, the saving the lever would bring (USD and/or
-- ms, NULL where it cannot be estimated from the data), and the ticks and spans it rests on.
-- is_class marks the three bottleneck classes, which compete to be the run's primary bottleneck.
create or replace temp table diag_findings (
    run_id varchar not null,
    kind varchar not null,
    is_class boolean not null,
    evidence varchar not null,
    lever varchar not null,
    saving_usd double,
    saving_ms double,
    ticks integer[],
    spans varchar[]
)
