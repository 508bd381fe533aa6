-- Diagnosis macros
-- How evidence sentences print numbers: USD as people read it, durations in ms/s/min/h, tokens
-- with thousands separators, shares as whole percentages. Temporary, so a
-- read-only database can be diagnosed.
-- (the same rule as agentprof/units.py money(): cents at $1 and above, two significant digits
-- below)
create or replace temp macro usd_text(x) as case
    when x is null then 'an unknown amount (model not priced)'
    when x = 0 then '$0'
    when round(abs(x), 2) >= 1 then format('{}${:,.2f}', case when x < 0 then '-' else '' end, abs(x))
    else format('{}${:.{}f}', case when x < 0 then '-' else '' end, abs(x),
                least(greatest(1 - floor(log10(abs(x)))::int, 2), 8))
end;
create or replace temp macro tokens_text(x) as format('{:,}', x::bigint);
create or replace temp macro pct_text(x) as format('{:.0f}%', 100 * x);
-- The share of a run a saving represents: the larger of its cost share and its wall-clock share.
create or replace temp macro saving_share(usd, ms, cost, wall) as greatest(
    coalesce(usd / nullif(cost, 0), 0), coalesce(ms / nullif(wall, 0), 0));
-- Tools that run arbitrary commands: a failure is the command's answer, not a failed call.
create or replace temp macro tool_runs_commands(name) as regexp_matches(lower(coalesce(name, '')),
    '^(bash|shell|local_shell|exec_command|write_stdin|run_command|execute_command|terminal)$');
-- A duration as a person reads it: 850 ms, 4.2 s, 12 min 5 s, 1 h 23 min; the same text as
-- agentprof/units.py duration(). Minutes and hours come from the rounded whole seconds (or
-- minutes), so 119.6 s reads 2 min 0 s, not 1 min 60 s; DuckDB's `//` on a double is a plain
-- division, hence the integer casts first.
create or replace temp macro dur_secs(ms) as round(abs(ms) / 1000)::bigint;
create or replace temp macro dur_text(ms) as case
    when ms is null then 'an unknown time'
    when abs(ms) < 1000 then format('{:.0f} ms', ms)
    when abs(ms) < 10000 then format('{:.1f} s', ms / 1000)
    else (case when ms < 0 then '-' else '' end) || case
        when dur_secs(ms) < 60 then format('{} s', dur_secs(ms))
        when dur_secs(ms) < 3600 then format('{} min {} s', dur_secs(ms) // 60, dur_secs(ms) % 60)
        else format('{} h {} min', round(abs(ms) / 60000)::bigint // 60,
                    round(abs(ms) / 60000)::bigint % 60)
    end
end;
create or replace temp macro ms_text(x) as dur_text(x);
-- The first n items of a list as text, then "and N more" (full lists stay in --json).
create or replace temp macro list_text(xs, n) as
    array_to_string(list_transform(xs[1:n], lambda x: x::varchar), ', ')
    || case when len(xs) > n then format(' and {} more', len(xs) - n) else '' end;
-- Whether a run's tool-call times show when each tool ran, so that calls can be said to have run
-- one after another or in parallel. Local logs stamp a call when its line was written, not when
-- the tool started: a Claude Code transcript stamps a tool_use when the block was streamed (the
-- calls of one message look staggered even when they ran together) and a Codex rollout stamps a
-- function_call at log time. Traces (OTLP) time the execution; so do Claude Code's OTel events
-- (source claude-code-otel: a tool_result carries its duration_ms).
create or replace temp macro tool_starts_known(source) as source not in ('claude-code', 'codex');
