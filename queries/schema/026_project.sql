-- Project
-- The project a run worked in: the working directory a coding agent recorded (Claude Code's
-- `cwd` on each line, Codex's session_meta/turn_context `cwd`), else the Claude Code project
-- folder name (`~/.claude/projects/<folder>`). Readers record it as the span attribute
-- `agentprof.project`; NULL for sources that have none (OTLP traces). `daily`, `monthly` and
-- `sessions` group or filter by it.
alter table runs add column if not exists project varchar;
