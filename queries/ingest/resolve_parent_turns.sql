-- Resolve subagent parents to turns
-- A subagent's log links it to its session (Claude Code's agent-<id>@<session>, a Codex spawned
-- thread), but sessions are split into turns: the run that spawned it is the session's top-level
-- turn that was running when the subagent started (the latest one started at or before it). Only
-- links that name no run are looked at, so a resolved link is never moved again; a subagent that
-- started before any turn of its session (Claude Code's warm-up calls) keeps the session id.
update runs set parent_run_id = t.turn_id
from (
    select o.run_id, arg_max(p.run_id, p.started_at) as turn_id
    from runs o
    join runs p
      on p.session_id = o.parent_run_id and p.parent_run_id is null
     and p.run_id <> o.run_id and p.started_at <= o.started_at
    where o.parent_run_id is not null
      and not exists (select 1 from runs x where x.run_id = o.parent_run_id)
    group by o.run_id
) t
where runs.run_id = t.run_id
