-- Derive runs
-- One row per affected trace. Wall-clock runs from the first span's start to the last span's end,
-- less the time tools waited on the user (user_wait_ms: that time belongs to no run).
-- model_ms is the union of tick intervals; tool_ms is what tool spans cover beyond model time
-- (parallel tools count once: the critical path); harness_ms is the rest (untraced tools,
-- scheduling, retries, idle). tool_serial_ms is the plain sum of tool durations, so the saving of
-- parallel dispatch shows beside it. parent_run_id comes from a link on the trace's root span.
-- session_id groups the turns of one conversation (gen_ai.conversation.id, session.id and the
-- frameworks' own names); a trace without one is a session of its own.
insert into runs
-- The attribute values needed are picked out first, so the spans read several times below are
-- narrow rows, not whole attribute maps.
with s as (
    select trace_id, span_id, parent_span_id, start_ns, end_ns, service_name, links,
           span_status(status_code, a) as status,
           -- Local-log readers name their source (claude-code, codex, api-log); OTLP has none.
           a['agentprof.source'] as source,
           -- the working directory (or project folder) a coding-agent log recorded
           a['agentprof.project'] as project,
           {{agent_name}} as agent_name,
           a['traceloop.workflow.name'] as workflow_name,
           {{session_id}} as session_id
    from affected_spans
),
bounds as (
    select trace_id, min(start_ns) as start_ns, max(end_ns) as end_ns,
           any_value(service_name order by start_ns) as service_name,
           coalesce(min(source), 'otlp') as source,
           coalesce(
               min_by(agent_name, start_ns) filter (where agent_name is not null),
               min_by(workflow_name, start_ns) filter (where workflow_name is not null)
           ) as agent,
           min_by(session_id, start_ns) filter (where session_id is not null) as session_id,
           min_by(project, start_ns) filter (where project is not null) as project
    from s group by trace_id
),
-- Spans whose parent is not in the trace (the parent lookup reads only the ids of the affected
-- spans, a narrower build than s; same trace, so the same spans: never every stored span).
roots as (
    select s.trace_id,
           arg_min(s.links, s.start_ns) as links,
           arg_min(s.status, s.start_ns) as status
    from s
    anti join (select trace_id, span_id from affected_spans) p
        on p.trace_id = s.trace_id and p.span_id = s.parent_span_id
    group by s.trace_id
),
-- Model time is the union of the tick intervals, covered time the union of tick and tool intervals.
intervals as (
    select run_id, true as model, start_ns, end_ns from derived_ticks where end_ns > start_ns
    union all
    select run_id, false, start_ns, end_ns from derived_tool_calls
    where end_ns > start_ns and status <> 'user_wait'
),
-- In start order, each interval adds to a union what it reaches past the intervals before it:
-- end_ns - max(start_ns, their furthest end), when positive.
ordered as (
    select *,
        max(end_ns) filter (where model) over before as model_reach,
        max(end_ns) over before as covered_reach
    from intervals
    window before as (partition by run_id order by start_ns, end_ns
                      rows between unbounded preceding and 1 preceding)
),
unions as (
    select run_id,
        sum(greatest(end_ns - greatest(start_ns, coalesce(model_reach, start_ns)), 0))
            filter (where model) as model_ns,
        sum(greatest(end_ns - greatest(start_ns, coalesce(covered_reach, start_ns)), 0))
            as covered_ns
    from ordered group by run_id
),
serial as (
    select run_id,
        sum(end_ns - start_ns) filter (where end_ns > start_ns and status <> 'user_wait') as tool_serial_ns,
        -- a tool that waits on the user runs alone (the agent is blocked on it): its time is the
        -- user's, taken out of the run's wall-clock
        sum(end_ns - start_ns) filter (where end_ns > start_ns and status = 'user_wait') as user_wait_ns
    from derived_tool_calls
    group by run_id
)
select
    b.trace_id as run_id,
    (select l.trace_id from unnest(r.links) as u(l) where l.trace_id <> b.trace_id limit 1) as parent_run_id,
    b.source,
    coalesce(b.agent, b.service_name) as agent,
    b.service_name,
    -- a run with no conversation id is a session of its own
    coalesce(b.session_id, b.trace_id) as session_id,
    ns_to_ts(b.start_ns) as started_at,
    ns_to_ts(b.end_ns) as ended_at,
    -- A run of instants only (SWE-agent's totals stamped at the file's time, a usage report's
    -- daily row) has no timing at all: its times are NULL ("not reported"), not 0 ms.
    case when b.end_ns > b.start_ns then
        (b.end_ns - b.start_ns - coalesce(sr.user_wait_ns, 0)) / 1e6 end as wall_ms,
    case when b.end_ns > b.start_ns then coalesce(u.model_ns, 0) / 1e6 end as model_ms,
    case when b.end_ns > b.start_ns then
        (coalesce(u.covered_ns, 0) - coalesce(u.model_ns, 0)) / 1e6 end as tool_ms,
    case when b.end_ns > b.start_ns then coalesce(sr.tool_serial_ns, 0) / 1e6 end as tool_serial_ms,
    case when b.end_ns > b.start_ns then
        greatest((b.end_ns - b.start_ns) - coalesce(u.covered_ns, 0) - coalesce(sr.user_wait_ns, 0), 0) / 1e6
    end as harness_ms,
    r.status,
    coalesce(sr.user_wait_ns, 0) / 1e6 as user_wait_ms,
    b.project
from bounds b
left join roots r using (trace_id)
left join unions u on u.run_id = b.trace_id
left join serial sr on sr.run_id = b.trace_id
