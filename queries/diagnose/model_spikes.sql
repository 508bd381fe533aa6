-- Model latency spikes
-- Ticks whose latency is at least $slow_model_factor (3×) what the same model takes in the same run
-- for a call of its size, and at least $slow_model_min_excess_ms (1,000 ms) more. "What it takes" is
-- the median latency of the run's ticks of that model (at least $slow_model_min_samples = 3 of
-- them, so the median is not the spike itself), scaled up when the tick's prompt or output is
-- larger than their median, so a long prompt or a long answer is not mistaken for a provider
-- latency spike. Judged within the run only: other runs in the database never change it.
-- excess_ms (latency beyond the expected one) is what a timeout with retry or a hedged request
-- would save.
create or replace temp table diag_model_spikes as
with sized as (
    -- A call's output size: its token count, or a quarter of the characters it wrote where the log
    -- keeps them and they say more (Claude Code sometimes logs a placeholder count of 1).
    select t.*, greatest(t.output_t, coalesce(tok(s.attributes['agentprof.output_chars']), 0) / 4) as out_t
    from diag_ticks t
    left join spans s on s.trace_id = t.run_id and s.span_id = t.span_id
),
norms as (
    select run_id, model,
        count(*) as samples,
        median(latency_ms) as median_ms,
        median(prompt_t) as median_prompt_t,
        median(out_t) as median_output_t
    from sized
    where latency_ms > 0 and model is not null
    group by run_id, model
),
expected as (
    select t.run_id, t.tick, t.span_id, t.model, t.latency_ms,
        n.median_ms * greatest(1, t.prompt_t / nullif(n.median_prompt_t, 0),
                               t.out_t / nullif(n.median_output_t, 0)) as expected_ms
    from sized t
    join norms n using (run_id, model)
    where n.samples >= $slow_model_min_samples
)
select run_id, tick, span_id, model, latency_ms, expected_ms, latency_ms - expected_ms as excess_ms
from expected
where latency_ms >= $slow_model_factor * expected_ms
  and latency_ms - expected_ms >= $slow_model_min_excess_ms
