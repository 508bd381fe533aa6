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
--      on the tool span (mcp.tool.annotations.readOnlyHint, or an mcp.tool.annotations object)
--      or in the tool's entry of a gen_ai.tool.definitions list. No semantic convention records
--      MCP annotations yet; these are the shapes an instrumentation would write (the mcp.*
--      namespace of the OTel MCP conventions, the annotations object of MCP's tools/list). Spans
--      are read only in runs where a rule may advise a cache (annotated_runs below);
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
--   6. default: read_only (get_weather, lookup_order, search_docs, an MCP tool marked
--      readOnlyHint = true). The cache lever still says to skip tools whose answer must be fresh,
--      and [tools] stateful overrides any of these.
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
    -- Claude Code's OTel events name every MCP tool mcp_tool unless tool details are logged
    ('mcp_tool', 'changes_state', 'is an MCP tool not marked read-only (readOnlyHint defaults to false)'),
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
annotated_runs as (
    -- Runs where a rule may advise a result cache: a call repeated with identical arguments, or
    -- tools holding at least $slow_tool_share of the wall-clock (slow_tool). Only these runs' spans
    -- are read for annotations: elsewhere nothing would use them, and reading every tool span's
    -- attributes costs about 0.3 s per million spans.
    select run_id from diag_tool_repeats
    union
    select run_id from diag_runs where wall_ms > 0 and tool_ms >= $slow_tool_share * wall_ms
),
run_spans as materialized (
    -- The attributes that can mark a tool, read in one pass over the spans of those runs: an MCP
    -- marker on a tool span (OTel MCP spans carry mcp.method.name and mcp.session.id, Claude
    -- Code's OTel tool_result mcp_server_scope), a readOnlyHint on it (as
    -- mcp.tool.annotations.readOnlyHint, or inside an mcp.tool.annotations object: an OTLP kvlist
    -- is stored as JSON), and a gen_ai.tool.definitions list on any span of the run.
    select sp.trace_id as run_id, sp.span_id,
        coalesce(sp.attributes['mcp.method.name'], sp.attributes['mcp.session.id'],
                 sp.attributes['mcp_server_scope']) is not null as mcp_marker,
        lower(coalesce(sp.attributes['mcp.tool.annotations.readOnlyHint'],
                       case when json_valid(sp.attributes['mcp.tool.annotations'])
                            then json_extract_string(sp.attributes['mcp.tool.annotations'], '$.readOnlyHint') end)) as hint,
        case when sp.attributes['gen_ai.tool.definitions'] like '%readOnlyHint%'
              and json_valid(sp.attributes['gen_ai.tool.definitions'])
             then sp.attributes['gen_ai.tool.definitions'] end as definitions
    from annotated_runs r
    join spans sp on sp.trace_id = r.run_id
),
span_facts as (
    select c.run_id, c.tool_name,
        bool_or(s.mcp_marker) as mcp_span,
        bool_or(s.hint = 'false') as marked_writable,
        bool_or(s.hint = 'true') as marked_read_only
    from calls c
    join run_spans s on s.run_id = c.run_id and s.span_id = c.span_id
    group by c.run_id, c.tool_name
),
definitions as (
    -- an entry names its tool as "name" or "function": {"name"}
    select s.run_id,
        coalesce(d ->> 'name', d -> 'function' ->> 'name') as tool_name,
        lower(coalesce(d -> 'annotations' ->> 'readOnlyHint',
                       d -> 'function' -> 'annotations' ->> 'readOnlyHint')) as hint
    from run_spans s, unnest(json_extract(s.definitions, '$[*]')) as u(d)
    where s.definitions is not null
),
hints as (
    select run_id, tool_name,
        bool_or(hint = 'false') as marked_writable,
        bool_or(hint = 'true') as marked_read_only
    from definitions where hint in ('true', 'false')
    group by run_id, tool_name
),
names as (
    -- What the name alone says, once per distinct name: config patterns, the built-in table, words.
    select n.tool_name,
        len(list_filter($stateful_tools::varchar[], lambda p: n.tool_name glob p)) > 0 as config_stateful,
        len(list_filter($cacheable_tools::varchar[], lambda p: n.tool_name glob p)) > 0 as config_cacheable,
        n.tool_name like 'mcp\_\_%' escape '\' as mcp_name,
        b.effect as builtin_effect,
        b.reason as builtin_reason,
        regexp_split_to_array(lower(regexp_replace(n.tool_name, '([a-z0-9])([A-Z])', '\1_\2', 'g')),
                              '[^a-z0-9]+') as words
    from (select distinct tool_name from calls) n
    left join builtin b using (tool_name)
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
    from names
),
per_run as (
    select n.run_id, n.tool_name,
        coalesce(f.marked_writable, false) or coalesce(h.marked_writable, false) as marked_writable,
        coalesce(f.marked_read_only, false) or coalesce(h.marked_read_only, false) as marked_read_only,
        coalesce(f.mcp_span, false) as mcp_span
    from (select distinct run_id, tool_name from calls) n
    left join span_facts f using (run_id, tool_name)
    left join hints h using (run_id, tool_name)
),
decided as (
    select r.run_id, r.tool_name, r.marked_writable, r.marked_read_only,
        (w.mcp_name or r.mcp_span) and not r.marked_read_only as unmarked_mcp,
        w.*
    from per_run r
    join worded w using (tool_name)
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
        d.run_id,
        d.tool_name,
        case
            when d.config_stateful then 'changes_state'
            when d.config_cacheable then 'read_only'
            when d.marked_writable then 'changes_state'
            when d.builtin_effect is not null then d.builtin_effect
            when d.unmarked_mcp then 'changes_state'
            when d.change_word is not null then 'changes_state'
            when d.read_word is not null then 'reads_changing_state'
            else 'read_only'
        end as effect,
        case
            when d.config_stateful or d.config_cacheable then 'config'
            when d.marked_writable then 'annotation'
            when d.builtin_effect is not null then 'built-in'
            when d.unmarked_mcp then 'mcp'
            when d.change_word is not null or d.read_word is not null then 'name'
            when d.marked_read_only then 'annotation'
            else 'default'
        end as basis,
        case
            when d.config_stateful then 'is listed as stateful in the [tools] config'
            when d.config_cacheable then 'is listed as cacheable in the [tools] config'
            when d.marked_writable then 'is marked readOnlyHint = false in the trace'
            when d.builtin_effect is not null then d.builtin_reason
            when d.unmarked_mcp then 'is an MCP tool not marked read-only (readOnlyHint defaults to false)'
            when d.change_word is not null then format('has "{}" in its name: it changes state', d.change_word)
            when d.read_word is not null then format('has "{}" in its name: it reads state that changes', d.read_word)
            when d.marked_read_only then 'is marked readOnlyHint = true in the trace'
            else 'reads the same answer for the same arguments (nothing in its name says otherwise)'
        end as reason
    from decided d
) k
