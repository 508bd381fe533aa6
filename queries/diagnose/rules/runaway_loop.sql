-- Rule: runaway loop
-- Signature: the run ended on an iteration, turn or usage limit (diag_caps), or ended in error after
-- at least $max_ticks (10) ticks. Its ticks bought no answer; the saving is counted once, under too
-- many ticks, so this finding carries none.
insert into diag_findings
select
    r.run_id,
    'runaway_loop',
    false,
    case when c.cap_message is not null
         then format('the run was stopped by its limit after {} ticks: {}', r.ticks, c.cap_message)
         else format('the run ended in error after {} ticks', r.ticks) end,
    'an explicit iteration cap that ends with a graceful answer, a planning step, and detection of repeated near-identical ticks',
    null,
    null,
    [r.ticks],
    []
from diag_runs r
left join diag_caps c using (run_id)
where c.cap_message is not null or (r.status = 'error' and r.ticks >= $max_ticks)
