-- Tool timeline
-- Every tool call of the runs in $run_ids, for the Gantt chart: start offset from the run's start,
-- duration, the tick that requested it, and whether it overlapped another tool call of the same run
-- (ran in parallel) or ran alone (serial). repeats counts calls in the run with the same tool and
-- argument fingerprint (NULL when arguments were not recorded).
-- critical: the call is on the run's critical path. A tick's next tick waits for every tool call
-- the tick requested, so the one that finished last (when it finished after the tick itself) is
-- the one the run waited on; the ticks themselves run one after another and are all on the path.
-- Calls that waited on a person (status user_wait) are never critical: that time is the user's.
-- concurrency: tool calls running when this one started, itself included (user waits excluded);
-- its maximum over a run is the run's peak parallelism. Order: run, start, span.
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
         then count(*) over (partition by c.run_id, c.tool_name, c.args_fingerprint) end as repeats,
    coalesce(c.status <> 'user_wait' and c.tick is not null
             and c.end_ns > coalesce(t.end_ns, c.start_ns)
             and c.span_id = max_by(c.span_id, (c.end_ns, c.span_id))
                 filter (where c.status <> 'user_wait') over (partition by c.run_id, c.tick),
             false) as critical,
    case when c.status <> 'user_wait' then (
        select count(*) from tool_calls o
        where o.run_id = c.run_id and o.status <> 'user_wait'
          and (o.span_id = c.span_id or (o.start_ns <= c.start_ns and o.end_ns > c.start_ns))
    ) end as concurrency
from tool_calls c
join runs r using (run_id)
left join ticks t on t.run_id = c.run_id and t.tick = c.tick
where list_contains($run_ids, c.run_id)
order by c.run_id, c.start_ns, c.span_id
