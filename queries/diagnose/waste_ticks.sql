-- Waste ticks
-- The ticks a run itself shows to be waste (the only ticks "too many ticks" may count as savings;
-- never a comparison with other runs). One row per wasted tick, with the first reason that applies:
--   failed_retry: the tick's tool call failed (or the model call itself errored) and the next
--     tick called that tool again: the failed attempt bought nothing (a shell command that
--     failed is not counted: a failing test or build tells the agent something);
--   repeat: every tool call of the tick repeats an earlier call of the run with the same
--     arguments (same fingerprint) and no tool that changes state (diag_tool_kinds) ran in between,
--     so the agent already had the answer (a test re-run after an edit is no repeat);
--   serial_single: the tick made one call to a tool that does not change state, right after a tick
--     that made one (successful) call to the same tool: one tick with parallel calls could have
--     issued both.
-- saving_usd is what the tick would not have cost: all of it for a failed or repeated tick; for a
-- serial single call only its prompt (the output, the call itself, is still needed). saving_ms is
-- the tick's model time plus, for a failed or repeated tick, its tool calls' time.
-- Only runs too_many_ticks judges are looked at: $max_ticks (10) ticks or more, or stopped by a cap.
create or replace temp table diag_waste as
with judged as (
    select run_id from diag_runs where ticks >= $max_ticks
    union
    select run_id from diag_caps
),
calls as (
    select c.run_id, c.tick, c.span_id, coalesce(c.tool_name, '') as tool_name, c.args_fingerprint,
        c.status, c.start_ns, greatest(c.end_ns - c.start_ns, 0) / 1e6 as dur_ms,
        coalesce(k.effect = 'changes_state', false) as changes_state,
        tool_runs_commands(c.tool_name) as runs_commands
    from tool_calls c
    left join diag_tool_kinds k on k.run_id = c.run_id and k.tool_name = coalesce(c.tool_name, '(unnamed tool)')
    where c.run_id in (select run_id from judged) and c.tick is not null and c.status <> 'user_wait'
),
ordered as (
    -- state_before: state-changing calls started before this one (in start order)
    select *,
        coalesce(sum(changes_state::int) over (partition by run_id order by start_ns, span_id
                 rows between unbounded preceding and 1 preceding), 0) as state_before
    from calls
),
repeats as (
    -- a call is a repeat when the same call ran before and nothing that changes state ran between
    -- (the state-changing calls before it are those before the earlier call, plus that call itself
    -- when it changes state)
    select *,
        args_fingerprint is not null and prev_state_before is not null
        and state_before - prev_state_before - prev_changes_state::int = 0 as is_repeat
    from (
        select *,
            lag(state_before) over same_call as prev_state_before,
            lag(changes_state) over same_call as prev_changes_state
        from ordered
        window same_call as (partition by run_id, tool_name, args_fingerprint order by start_ns, span_id)
    )
),
per_tick as (
    select c.run_id, c.tick,
        count(*) as calls,
        min(c.tool_name) as tool_name,
        count(distinct c.tool_name) as tools,
        -- a failed command (tests failing, a build error) is information, not a wasted attempt
        bool_or(c.status = 'error' and not c.runs_commands) as failed,
        bool_and(c.is_repeat) as all_repeat,
        bool_or(c.changes_state) as changes_state,
        list(distinct c.tool_name) as tool_names,
        sum(c.dur_ms) as tool_ms
    from repeats c
    group by c.run_id, c.tick
),
ticks as (
    select t.run_id, t.tick, t.span_id, t.latency_ms, t.cost_usd, t.input_cost_usd,
        t.status as tick_status,
        p.calls, p.tool_name, p.tools, p.failed, p.all_repeat, p.changes_state, p.tool_names,
        coalesce(p.tool_ms, 0) as tool_ms,
        lag(p.calls) over w as prev_calls,
        lag(p.tool_name) over w as prev_tool,
        lag(p.tools) over w as prev_tools,
        lag(p.failed) over w as prev_failed,
        lead(p.tool_names) over w as next_tool_names,
        lead(t.tick) over w as next_tick
    from diag_ticks t
    semi join judged j on j.run_id = t.run_id
    left join per_tick p on p.run_id = t.run_id and p.tick = t.tick
    window w as (partition by t.run_id order by t.tick)
),
classified as (
    select *,
        case
            when next_tick is not null and (
                    tick_status = 'error'
                 or (failed and len(list_intersect(tool_names, coalesce(next_tool_names, []))) > 0))
                then 'failed_retry'
            when all_repeat then 'repeat'
            when calls = 1 and prev_calls = 1 and prev_tools = 1 and tool_name = prev_tool
                 and not changes_state and not coalesce(prev_failed, false)
                then 'serial_single'
        end as reason
    from ticks
)
select run_id, tick, span_id, reason, tool_names,
    case when reason = 'serial_single' then input_cost_usd else cost_usd end as saving_usd,
    coalesce(latency_ms, 0) + case when reason = 'serial_single' then 0 else tool_ms end as saving_ms
from classified
where reason is not null
