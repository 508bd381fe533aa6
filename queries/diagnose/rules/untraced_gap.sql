-- Rule: untraced gap (bottleneck class)
-- Signature: at least $untraced_share (0.5) of the run's wall-clock (and at least $harness_min_ms)
-- is covered by no model or tool span (runs.harness_ms: untraced tools, scheduling, retries,
-- queueing). The harness_overhead finding gives the longest gap.
-- Saving: not estimated: what fills the gap is not in the trace. Silent when some model call of the
-- run has no duration (diag_runs.untimed_ticks): the gap then holds model time nobody logged.
insert into diag_findings
select
    r.run_id,
    'untraced_gap',
    true,
    format('{} ({}) of the {} wall-clock is covered by no model or tool span',
        ms_text(r.harness_ms), pct_text(r.harness_ms / r.wall_ms), ms_text(r.wall_ms)),
    'trace what runs between the model calls (untraced tools, retries, queueing), then fix the slowest part',
    null,
    null,
    [],
    []
from diag_runs r
where r.wall_ms > 0
  and r.untimed_ticks = 0
  and r.harness_ms >= $untraced_share * r.wall_ms
  and r.harness_ms >= $harness_min_ms
