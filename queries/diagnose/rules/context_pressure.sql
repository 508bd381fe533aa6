-- Rule: context pressure
-- Signature: one of the run's last three ticks sent a prompt of at least $context_pressure_share
-- (0.8) of its model's context window (priced_models.context_window, from genai-prices; a model
-- whose window is unknown is never judged): the run is about to exhaust its context mid-turn,
-- where the agent truncates, compacts under pressure or fails.
-- Saving: not estimated (it is a risk, not a cost); context growth carries the saving.
insert into diag_findings
with last_ticks as (
    select t.run_id, t.tick, t.span_id, t.prompt_t, p.context_window
    from diag_ticks t
    join priced_models p
      on p.provider = coalesce(t.provider, '') and p.model = t.model and p.hour = date_trunc('hour', t.started_at)
    where t.tick > t.run_ticks - 3 and p.context_window > 0
)
select
    run_id,
    'context_pressure',
    false,
    format('tick {} sent {} prompt tokens, {} of the model''s {}-token context window',
        arg_max(tick, prompt_t / context_window), tokens_text(max(prompt_t)),
        pct_text(max(prompt_t / context_window)), tokens_text(arg_max(context_window, prompt_t / context_window))),
    'compact before the window fills (a lower auto-compaction threshold), trim tool results, or split the task across subagents',
    null,
    null,
    [arg_max(tick, prompt_t / context_window)],
    [arg_max(span_id, prompt_t / context_window)]
from last_ticks
group by run_id
having max(prompt_t / context_window) >= $context_pressure_share
