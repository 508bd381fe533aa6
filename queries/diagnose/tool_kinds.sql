-- Tool kinds: which tools a result cache may serve
-- One row per (run, tool name) of the scope. effect is
--   changes_state: the call does something (shell, edit, write, patch, exec, deploy, send ...);
--   reads_changing_state: the call reads something that changes between two calls (the working
--     tree the agent edits, a running process's output, the clock, a person's answer);
--   read_only: the same arguments give the same answer within a run (a lookup, a web search).
-- Only read_only tools are cacheable: a repeat of any other call is new work, so no rule may advise
-- a result cache for it (PRODUCT.md §3, "levers must fit the tool"). Per run, because a trace's own
-- annotations say what its tools are. The first of these that knows the tool decides (basis):
--   1. config: the diagnose --config [tools] table, glob patterns matched case-sensitively:
--      $stateful_tools first (a name in both lists is stateful: the safe side), then
--      $cacheable_tools (its tools count as read_only whatever follows);
--   2. annotation: the run's trace marks the tool readOnlyHint = false (MCP tool annotations):
--      on the tool span (an attribute ending in readOnlyHint or read_only_hint, e.g.
--      mcp.tool.annotations.readOnlyHint, or an annotations object), or in the entry for the tool
--      in a gen_ai.tool.definitions list of the run. No convention records them yet, so these are
--      the shapes an instrumentation would plausibly write;
--   3. built-in: the Claude Code and Codex tools below, each with the reason for its effect.
--      Read, Glob, Grep, LS, view_image and the like read the working tree, which the agent's own
--      edits and commands change: a cache keyed on the arguments would serve a file as it was
--      before the edit (and Claude Code already skips re-sending a file unchanged since its last
--      read). A re-read with nothing changed in between is a wasted tick, not a cache lever.
--      WebFetch and WebSearch are read_only (a page or a query's results do not change within a
--      session; Claude Code keeps a 15-minute WebFetch cache of its own);
--   4. mcp: an MCP tool (Claude Code and Codex name them mcp__<server>__<tool>; OTel MCP spans
--      carry mcp.* attributes, Claude Code's OTel events mcp_server_scope) that the trace does not
--      mark readOnlyHint = true: MCP's default for an unmarked tool is "may change its environment";
--   5. name: a word of the name (split at non-letters and camelCase humps) that says the tool
--      changes state (write, delete, exec, run, deploy, send ...) or reads state that changes
--      (now, time, status, file, dir, log ...);
--   6. default: read_only (get_weather, lookup_order, search_docs). The cache lever still says to
--      skip tools whose answer must be fresh, and [tools] stateful overrides any of these.
-- reason completes a sentence that starts with the tool's name (evidence uses it).
create or replace temp table diag_tool_kinds as
with calls as (
    select run_id, span_id, coalesce(tool_name, '(unnamed tool)') as tool_name
    from tool_calls
    where run_id in (select run_id from diag_runs)
),
builtin(tool_name, effect, reason) as (
    values
    -- Claude Code
    ('Bash', 'changes_state', 'runs shell commands, which change state and read state that changes'),
    ('BashOutput', 'reads_changing_state', 'reads the growing output of a background shell'),
    ('KillShell', 'changes_state', 'stops a background shell'),
    ('KillBash', 'changes_state', 'stops a background shell'),
    ('TaskOutput', 'reads_changing_state', 'reads the output of a running background task'),
    ('TaskStop', 'changes_state', 'stops a background task'),
    ('Edit', 'changes_state', 'edits files'),
    ('MultiEdit', 'changes_state', 'edits files'),
    ('Write', 'changes_state', 'writes files'),
    ('NotebookEdit', 'changes_state', 'edits notebooks'),
    ('Read', 'reads_changing_state', 'reads the working tree, which the agent''s own edits and commands change'),
    ('Glob', 'reads_changing_state', 'lists the working tree, which the agent''s own edits and commands change'),
    ('Grep', 'reads_changing_state', 'searches the working tree, which the agent''s own edits and commands change'),
    ('LS', 'reads_changing_state', 'lists the working tree, which the agent''s own edits and commands change'),
    ('NotebookRead', 'reads_changing_state', 'reads notebooks, which the agent''s own edits change'),
    ('WebFetch', 'read_only', 'reads a web page, which does not change within a session'),
    ('WebSearch', 'read_only', 'returns the same results for the same query within a session'),
    ('TodoWrite', 'changes_state', 'changes the todo list'),
    ('TodoRead', 'reads_changing_state', 'reads the todo list, which TodoWrite changes'),
    ('TaskCreate', 'changes_state', 'changes the task list'),
    ('TaskUpdate', 'changes_state', 'changes the task list'),
    ('TaskGet', 'reads_changing_state', 'reads the task list, which the agent changes'),
    ('TaskList', 'reads_changing_state', 'reads the task list, which the agent changes'),
    ('Task', 'changes_state', 'runs a subagent, which may change state'),
    ('Agent', 'changes_state', 'runs a subagent, which may change state'),
    ('Skill', 'changes_state', 'runs a skill (an action, not a lookup)'),
    ('SlashCommand', 'changes_state', 'runs a slash command'),
    ('AskUserQuestion', 'reads_changing_state', 'waits on a person''s answer'),
    ('ExitPlanMode', 'reads_changing_state', 'waits on a person''s approval'),
    ('EnterPlanMode', 'changes_state', 'switches the session''s mode'),
    ('ListMcpResourcesTool', 'reads_changing_state', 'lists an MCP server''s resources, which the server may change'),
    ('ReadMcpResourceTool', 'reads_changing_state', 'reads an MCP server''s resource, which the server may change'),
    -- Codex
    ('shell', 'changes_state', 'runs shell commands, which change state and read state that changes'),
    ('container.exec', 'changes_state', 'runs shell commands, which change state and read state that changes'),
    ('local_shell', 'changes_state', 'runs shell commands, which change state and read state that changes'),
    ('exec_command', 'changes_state', 'runs shell commands, which change state and read state that changes'),
    ('unified_exec', 'changes_state', 'runs shell commands, which change state and read state that changes'),
    ('write_stdin', 'changes_state', 'writes to a running process and reads its output'),
    ('apply_patch', 'changes_state', 'edits files'),
    ('update_plan', 'changes_state', 'changes the plan'),
    ('view_image', 'reads_changing_state', 'attaches a local image file, which the agent''s commands may change'),
    ('read_file', 'reads_changing_state', 'reads the working tree, which the agent''s own edits and commands change'),
    ('list_dir', 'reads_changing_state', 'lists the working tree, which the agent''s own edits and commands change'),
    ('grep_files', 'reads_changing_state', 'searches the working tree, which the agent''s own edits and commands change'),
    ('web_search', 'read_only', 'returns the same results for the same query within a session'),
    ('spawn_agent', 'changes_state', 'starts a subagent'),
    ('send_input', 'changes_state', 'sends a subagent input'),
    ('wait', 'reads_changing_state', 'waits on a subagent'),
    ('wait_agent', 'reads_changing_state', 'waits on a subagent'),
    ('close_agent', 'changes_state', 'stops a subagent'),
    ('request_user_input', 'reads_changing_state', 'waits on a person''s answer')
),
span_facts as (
    -- What the tool spans say: MCP markers, and any readOnlyHint recorded ('true' / 'false').
    select run_id, tool_name,
        bool_or(len(list_filter(keys, lambda k: k like 'mcp.%' or k = 'mcp_server_scope')) > 0) as mcp_span,
        bool_or(list_contains(hint_values, 'false')) as marked_writable,
        bool_or(list_contains(hint_values, 'true')) as marked_read_only
    from (
        select c.run_id, c.tool_name, map_keys(s.attributes) as keys,
            list_transform(map_entries(s.attributes), lambda e: lower(case
                when e.key ilike '%readonlyhint' or e.key ilike '%read_only_hint' then e.value
                when e.key ilike '%annotations' and json_valid(e.value)
                    then json_extract_string(e.value, '$.readOnlyHint') end)) as hint_values
        from calls c
        join spans s on s.trace_id = c.run_id and s.span_id = c.span_id
    )
    group by run_id, tool_name
),
definitions as (
    -- gen_ai.tool.definitions on the run's spans: [{"name" (or "function": {"name"}), "annotations": {"readOnlyHint"}}]
    select s.trace_id as run_id,
        coalesce(d ->> 'name', d -> 'function' ->> 'name') as tool_name,
        lower(coalesce(d -> 'annotations' ->> 'readOnlyHint', d -> 'function' -> 'annotations' ->> 'readOnlyHint')) as hint
    from (
        select trace_id, attributes['gen_ai.tool.definitions'] as defs
        from spans
        where trace_id in (select run_id from diag_runs)
    ) s, unnest(case when json_valid(s.defs) then json_extract(s.defs, '$[*]') end) as u(d)
),
hints as (
    select run_id, tool_name,
        bool_or(hint = 'false') as marked_writable,
        bool_or(hint = 'true') as marked_read_only
    from definitions where hint in ('true', 'false')
    group by run_id, tool_name
),
named as (
    select n.run_id, n.tool_name,
        exists (select 1 from unnest($stateful_tools::varchar[]) as p(pattern) where n.tool_name glob p.pattern) as config_stateful,
        exists (select 1 from unnest($cacheable_tools::varchar[]) as p(pattern) where n.tool_name glob p.pattern) as config_cacheable,
        coalesce(f.marked_writable, false) or coalesce(h.marked_writable, false) as marked_writable,
        coalesce(f.marked_read_only, false) or coalesce(h.marked_read_only, false) as marked_read_only,
        n.tool_name like 'mcp\_\_%' escape '\' or coalesce(f.mcp_span, false) as mcp,
        regexp_split_to_array(lower(regexp_replace(n.tool_name, '([a-z0-9])([A-Z])', '\1_\2', 'g')), '[^a-z0-9]+') as words
    from (select distinct run_id, tool_name from calls) n
    left join span_facts f using (run_id, tool_name)
    left join hints h using (run_id, tool_name)
),
worded as (
    select *,
        list_filter(words, lambda w: list_contains(['write', 'edit', 'patch', 'apply', 'update', 'upsert', 'set',
            'put', 'post', 'create', 'insert', 'add', 'append', 'delete', 'del', 'remove', 'rm', 'drop',
            'truncate', 'clear', 'reset', 'move', 'mv', 'rename', 'copy', 'cp', 'save', 'store', 'upload',
            'send', 'email', 'notify', 'submit', 'deploy', 'publish', 'release', 'push', 'commit', 'merge',
            'install', 'uninstall', 'exec', 'execute', 'run', 'shell', 'bash', 'sh', 'cmd', 'command',
            'terminal', 'eval', 'script', 'js', 'javascript', 'python', 'repl', 'kill', 'stop', 'start',
            'restart', 'launch', 'spawn', 'cancel', 'close', 'approve', 'book', 'buy', 'purchase', 'pay',
            'transfer', 'refund', 'schedule', 'enqueue', 'trigger', 'click', 'fill', 'press', 'navigate',
            'goto', 'mark', 'assign', 'lock', 'unlock', 'stdin'], w))[1] as change_word,
        list_filter(words, lambda w: list_contains(['now', 'today', 'current', 'time', 'clock', 'date',
            'random', 'uuid', 'status', 'state', 'health', 'poll', 'wait', 'sleep', 'watch', 'tail', 'log',
            'logs', 'latest', 'recent', 'live', 'queue', 'inbox', 'unread', 'file', 'files', 'dir',
            'directory', 'folder', 'path', 'ls', 'glob', 'grep', 'cwd', 'workspace', 'git', 'diff',
            'output', 'stdout', 'stderr', 'process', 'browser', 'screenshot', 'clipboard'], w))[1] as read_word
    from named
)
select
    k.run_id,
    k.tool_name,
    k.effect,
    k.effect = 'read_only' as cacheable,
    k.basis,
    k.reason
from (
    select
        w.run_id,
        w.tool_name,
        case
            when w.config_stateful then 'changes_state'
            when w.config_cacheable then 'read_only'
            when w.marked_writable then 'changes_state'
            when b.effect is not null then b.effect
            when w.mcp and not w.marked_read_only then 'changes_state'
            when w.change_word is not null then 'changes_state'
            when w.read_word is not null then 'reads_changing_state'
            else 'read_only'
        end as effect,
        case
            when w.config_stateful or w.config_cacheable then 'config'
            when w.marked_writable then 'annotation'
            when b.effect is not null then 'built-in'
            when w.mcp and not w.marked_read_only then 'mcp'
            when w.change_word is not null or w.read_word is not null then 'name'
            else 'default'
        end as basis,
        case
            when w.config_stateful then 'is listed as stateful in the [tools] config'
            when w.config_cacheable then 'is listed as cacheable in the [tools] config'
            when w.marked_writable then 'is marked readOnlyHint = false in the trace'
            when b.effect is not null then b.reason
            when w.mcp and not w.marked_read_only then 'is an MCP tool not marked read-only (readOnlyHint defaults to false)'
            when w.change_word is not null then format('has "{}" in its name: it changes state', w.change_word)
            when w.read_word is not null then format('has "{}" in its name: it reads state that changes', w.read_word)
            else 'reads the same answer for the same arguments (nothing in its name says otherwise)'
        end as reason
    from worded w
    left join builtin b using (tool_name)
) k
