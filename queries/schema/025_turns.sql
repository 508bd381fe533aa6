-- Turns
-- Runs are turns (one user input to the answer); the time a turn's tools waited on the user
-- (Claude Code's AskUserQuestion, plan approval) belongs to no run: it is kept apart in
-- user_wait_ms and left out of wall_ms and harness_ms. A model's context window (tokens, from
-- genai-prices; NULL when unknown) lets the diagnosis see a prompt approaching it.
alter table runs add column if not exists user_wait_ms double;
alter table priced_models add column if not exists context_window bigint;
