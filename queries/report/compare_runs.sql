-- Compare runs
-- Who the two runs of a comparison ($run_a, $run_b) are: side (A or B), agent, source, session,
-- start time, models, status and the perceived wall-clock (ms). One row per side, A first; a run
-- compared with itself appears twice.
select s.side, r.run_id, r.agent, r.source, r.session_id,
       strftime(r.started_at, '%Y-%m-%dT%H:%M:%S.%fZ') as started_at,
       coalesce((select string_agg(distinct t.model, ',' order by t.model) from ticks t
                 where t.run_id = r.run_id), '') as models,
       r.status, r.wall_ms
from (values ('A', $run_a), ('B', $run_b)) as s(side, run_id)
join runs r on r.run_id = s.run_id
order by s.side
