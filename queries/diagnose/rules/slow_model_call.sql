-- Rule: slow model call
-- Signature: a tick whose latency is at least $slow_model_factor (3×) what its model usually takes
-- for a call of its size, and at least $slow_model_min_excess_ms (1,000 ms) more. "Usually" is the
-- median latency of that model's ticks across the whole database (at least $slow_model_min_samples
-- = 5 of them), scaled up when the tick's prompt or output is larger than that model's median, so a
-- long prompt or a long answer is not mistaken for a provider latency spike. A spike is also an
-- outlier within its run: when the run has other ticks of the same model, the tick must take
-- $slow_model_factor times the fastest of them too (a run whose every call is slow, e.g. long
-- streamed answers, is that model's normal under that workload, not a spike).
-- Saving: the latency beyond the expected one (a retry with a timeout or a hedged request).
insert into diag_findings
with model_norms as (
    select model,
        count(*) as samples,
        median(latency_ms) as median_ms,
        median(coalesce(input_uncached_tokens, 0) + coalesce(cache_read_tokens, 0)
               + coalesce(cache_write_5m_tokens, 0) + coalesce(cache_write_1h_tokens, 0)) as median_prompt_t,
        median(output_tokens) as median_output_t
    from ticks
    where latency_ms > 0 and model is not null
    group by model
),
spikes as (
    select t.run_id, t.tick, t.span_id, t.model, t.latency_ms, n.median_ms,
        n.median_ms * greatest(1, t.prompt_t / nullif(n.median_prompt_t, 0),
                               t.output_t / nullif(n.median_output_t, 0)) as expected_ms,
        min(t.latency_ms) over (partition by t.run_id, t.model) as run_fastest_ms,
        count(*) over (partition by t.run_id, t.model) as run_calls
    from diag_ticks t
    join model_norms n using (model)
    where n.samples >= $slow_model_min_samples
)
select
    run_id,
    'slow_model_call',
    false,
    string_agg(format('tick {} took {} where {} usually takes {} for a call this size',
                      tick, ms_text(latency_ms), model, ms_text(expected_ms)), '; ' order by tick),
    'a provider latency spike, not your tools: a timeout with retry, a hedged second request, or a fallback model/region for that call',
    null,
    sum(latency_ms - expected_ms),
    list(tick order by tick),
    list(span_id order by tick)
from spikes
where latency_ms >= $slow_model_factor * expected_ms
  and (run_calls = 1 or latency_ms >= $slow_model_factor * run_fastest_ms)
  and latency_ms - expected_ms >= $slow_model_min_excess_ms
group by run_id
