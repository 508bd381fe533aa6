-- Tool timeline
-- Every tool call of the runs in $run_ids, for the Gantt chart: start offset from the run's start,
-- duration, the tick that requested it, and whether it overlapped another tool call of the same run
-- (ran in parallel) or ran alone (serial). repeats counts calls in the run with the same tool and
-- argument fingerprint (NULL when arguments were not recorded). Order: run, start, span.
select
    c.run_id,
    c.span_id,
    c.tool_name,
    c.tick,
    (c.start_ns - epoch_ns(r.started_at)) / 1e6 as offset_ms,
    c.duration_ms,
    c.status,
    exists (
        select 1 from tool_calls o
        where o.run_id = c.run_id and o.span_id <> c.span_id
          and o.start_ns < c.end_ns and o.end_ns > c.start_ns
    ) as overlapped,
    case when c.args_fingerprint is not null
         then count(*) over (partition by c.run_id, c.tool_name, c.args_fingerprint) end as repeats
from tool_calls c
join runs r using (run_id)
where list_contains($run_ids, c.run_id)
order by c.run_id, c.start_ns, c.span_id
