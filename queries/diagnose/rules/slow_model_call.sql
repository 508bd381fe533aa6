-- Rule: slow model call
-- Signature: a provider latency spike (diag_model_spikes: a tick at least 3× slower than the same
-- model's other calls of its size in the same run, and 1 s more).
-- Saving: the latency beyond the expected one (a retry with a timeout or a hedged request).
insert into diag_findings
select
    run_id,
    'slow_model_call',
    false,
    format('{} tick(s) took {:g}× or more what the same model takes for a call that size in this run: {}',
        count(*), $slow_model_factor,
        list_text(list(format('tick {} ({} against {})', tick, ms_text(latency_ms), ms_text(expected_ms))
                       order by tick), 3)),
    'a provider latency spike, not your tools: a timeout with retry, a hedged second request, or a fallback model/region for that call',
    null,
    sum(excess_ms),
    list(tick order by tick),
    list(span_id order by tick)
from diag_model_spikes
group by run_id
