-- Rule: slow model (bottleneck class)
-- Signature: the run's provider latency spikes (diag_model_spikes) hold at least
-- $slow_model_share (0.5) of its wall-clock: the run is slow because of one or a few model calls,
-- not its tools or its length.
-- Saving: the spikes' latency beyond the expected one (what a timeout with retry or a hedged
-- request would have saved).
insert into diag_findings
select
    s.run_id,
    'slow_model',
    true,
    format('{} of the {} wall-clock is {} slow model call(s) (tick {}); the same model takes {} for such a call in this run',
        pct_text(sum(s.latency_ms) / any_value(r.wall_ms)), ms_text(any_value(r.wall_ms)), count(*),
        list_text(list(s.tick order by s.tick), 5), ms_text(median(s.expected_ms))),
    'a timeout with a retry or a hedged second request for that call, or a fallback model or region',
    null,
    sum(s.excess_ms),
    list(s.tick order by s.tick),
    list(s.span_id order by s.tick)
from diag_model_spikes s
join diag_runs r using (run_id)
where r.wall_ms > 0
group by s.run_id
having sum(s.latency_ms) >= $slow_model_share * any_value(r.wall_ms)
