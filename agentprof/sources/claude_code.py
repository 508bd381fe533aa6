"""Claude Code session transcripts (`~/.claude/projects/<project>/<session>.jsonl`, subagents in
`<session>/subagents/agent-<id>.jsonl` or, in 2.0.x, `agent-<id>.jsonl` beside the session)
as canonical spans (FORMATS.md §5.1).

- A session is split into turns: each real user input starts one, and the turn is a run whose
  trace id is that input line's `uuid` (ticks before the first input in the file, e.g. of a
  resumed session, form a turn whose id is the sessionId). Real inputs are typed prompts, slash
  commands (a local one such as /clear or /compact calls no model, so its turn has no span and no
  run) and background-task notifications (`<task-notification>`: the agent acts on them without
  the user). Not inputs: tool results, meta lines (`isMeta`: skill and command expansions,
  caveats), local-command output, interruption markers ("[Request interrupted by user…]": the
  interrupted turn simply ends) and the summary written after a compaction (`isCompactSummary`:
  the agent carries on with the same turn; its next tick is marked
  `gen_ai.conversation.compacted`). Every span carries `session.id`.
- A sidechain (subagent) is a child run `agent-<agentId>@<sessionId>` linked to the session;
  derivation resolves the link to the turn that was running when the subagent started.
- A tick is one API response. Claude Code writes one line per content block, every line
  repeating the usage and only the last carrying the final output count: lines are grouped by
  (message.id, requestId) and the line with the most tokens is kept (on a tie, the later one);
  lines are never summed. The tick's span id is derived from that key, so a message seen again in
  a snapshot copy or a grown file is stored once (and replaced when the new copy is more complete).
- Tick start is the last user row (prompt or tool result) before the message's first line; its
  end is the message's last line.
- A tool call runs from the assistant line holding its `tool_use` to the user row holding the
  matching `tool_result`. Tools that wait on the user are marked as user wait, not tool time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from agentprof.sources import agentlog
from agentprof.sources.agentlog import BadLine
from agentprof.sources.otlp import BadRecord, Batches

SOURCE = "claude-code"
SCOPE = "agentprof.claude_code"
# Tools whose "execution" is a person answering (FORMATS.md §5.1, timing).
USER_WAIT_TOOLS = frozenset({"AskUserQuestion", "ExitPlanMode", "EnterPlanMode"})
KNOWN_TYPES = frozenset(
    {
        "assistant",
        "user",
        "system",
        "progress",
        "summary",
        "file-history-snapshot",
        "queue-operation",
        "attachment",
        "custom-title",
        "ai-title",
        "cost-state",
    }
)
_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def looks_like(doc: Any) -> bool:
    """A transcript line: a JSON object with Claude Code's envelope keys."""
    if not isinstance(doc, dict):
        return False
    if "sessionId" in doc and ("uuid" in doc or "type" in doc):
        return True
    kind = doc.get("type")
    if kind in ("summary", "file-history-snapshot") and ("leafUuid" in doc or "snapshot" in doc):
        return True
    msg = doc.get("message")
    return (kind in ("assistant", "user") and isinstance(msg, dict)) or _usage_only(doc)


def _usage_only(doc: dict[str, Any]) -> bool:
    """A line with no `type`: an assistant message with its usage, the session and request ids
    (older transcripts, and ccusage's fixtures; ccusage reads them as usage records)."""
    msg = doc.get("message")
    return (
        "type" not in doc
        and "sessionId" in doc
        and isinstance(msg, dict)
        and msg.get("role") == "assistant"
        and isinstance(msg.get("usage"), dict)
    )


def is_meta(path: Path, doc: Any) -> bool:
    """`agent-<id>.meta.json` beside a subagent transcript (read with the transcript)."""
    return path.name.endswith(".meta.json") and isinstance(doc, dict) and "agentType" in doc


def read_meta(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """A subagent's meta file holds no usage: one record, no spans (its transcript reads it)."""
    yield None, 1, 0


@dataclass
class _Message:
    trace: str
    turn: str
    key: tuple[str, str]
    first_line: int
    start_ns: int
    end_ns: int
    best_line: int
    best: dict[str, Any]
    best_rank: tuple[int, int]
    lines: int = 0
    tool_uses: dict[str, str] = field(default_factory=dict)  # tool_use id -> tool name
    compacted: bool = False
    # What the message's lines hold (text, thinking, tool input): its final line's output count
    # is sometimes a placeholder, so the diagnosis reads this to judge a call's latency.
    output_chars: int = 0


@dataclass
class _Tool:
    trace: str
    turn: str
    tick_key: tuple[str, str]
    name: str
    args: Any
    start_ns: int
    line: int
    end_ns: int | None = None
    is_error: bool = False
    user_wait: bool = False
    result_chars: int | None = None


_REQUIRED = frozenset({"input_tokens", "output_tokens"})


def _count(usage: dict[str, Any], key: str, required: bool) -> int | None:
    value = usage.get(key)
    if type(value) is int and value >= 0:
        return value  # the usual case, settled before the checks below
    if value is None:
        if required:
            raise BadLine(f"message.usage.{key} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadLine(f"message.usage.{key} {str(value)[:40]!r} is not a token count")
    return int(value)


class _Reader:
    # Bump when the attributes a stored state holds change (or what they mean): older states are
    # then refused and their files read whole once (agentlog.load_state).
    STATE_VERSION = 1

    def __init__(self, path: Path, bad: BadRecord) -> None:
        self.path = path
        self.bad = bad
        self.messages: dict[tuple[str, tuple[str, str]], _Message] = {}
        self.tools: dict[tuple[str, str], _Tool] = {}
        self.last_user_ns: dict[str, int] = {}
        self.session_of: dict[str, str] = {}
        self.agent_of: dict[str, str] = {}
        # The turn now running in each session trace (absent: the session's own id), and the
        # traces whose next tick follows a compaction.
        self.turn_of: dict[str, str] = {}
        self.compacted: set[str] = set()
        self.meta_agent = _subagent_type(path)
        self.cwd: str | None = None
        # Resumed on a grown file (agentlog.load_state): the messages the new lines touched and
        # the tools they ended, in order; rows() yields only those. None: a whole-file read.
        self.touched: dict[tuple[str, tuple[str, str]], None] | None = None
        self.ended: dict[tuple[str, str], None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """What reading the rest of the file needs (agentlog.dump_state). A tool whose result
        arrived is never written again: its input is dropped."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("path", "bad")}
        state["tools"] = {
            key: t if t.end_ns is None else _Tool(**{**t.__dict__, "args": None})
            for key, t in self.tools.items()
        }
        state["touched"] = state["ended"] = None
        return state

    def resume(self, path: Path, bad: BadRecord) -> None:
        """After agentlog.load_state: from now on rows() yields what the new lines change."""
        self.path, self.bad = path, bad
        self.touched, self.ended = {}, {}

    def trace_of(self, doc: dict[str, Any]) -> str:
        session = doc.get("sessionId")
        if not isinstance(session, str) or not session:
            session = self.path.stem
        agent_id = doc.get("agentId")
        if doc.get("isSidechain") is True:
            sub = str(agent_id) if agent_id else "sidechain"
            trace = f"agent-{sub}@{session}"
            self.session_of[trace] = session
            if trace not in self.agent_of:
                if self.meta_agent:
                    self.agent_of[trace] = self.meta_agent
                elif sub.startswith("acompact"):
                    self.agent_of[trace] = "compact"
                else:
                    self.agent_of[trace] = "subagent"
            return trace
        self.session_of[session] = session
        return session

    def line(self, lineno: int, doc: dict[str, Any]) -> None:
        kind = doc.get("type")
        if self.cwd is None and isinstance(doc.get("cwd"), str) and doc["cwd"]:
            self.cwd = doc["cwd"]  # the first one: where the session started
        if kind == "assistant" or (kind is None and _usage_only(doc)):
            if kind is None:
                # No conversation around a usage-only record (no prompt, no tool results): each
                # is a turn of its own, so days between records are no turn's wall-clock.
                trace = self.trace_of(doc)
                self.turn_of[trace] = f"{trace}#{lineno}"
            self.assistant(lineno, doc)
        elif kind == "user":
            self.user(lineno, doc)
        elif kind == "progress":
            self.progress(lineno, doc)

    def progress(self, lineno: int, doc: dict[str, Any]) -> None:
        """A subagent's messages as its parent transcript echoes them (`agent_progress`, 2.1.x).
        The subagent's own transcript holds the same API responses under the same (message.id,
        requestId) and wins when both are read (an echo ranks below any transcript line); the
        echo counts the calls whose transcript is missing, as ccusage's daily report does."""
        data = doc.get("data")
        if not isinstance(data, dict) or data.get("type") != "agent_progress":
            return  # hook and bash progress: most lines of a transcript, nothing billed
        inner = data.get("message")
        agent_id = data.get("agentId")
        if not isinstance(inner, dict) or not isinstance(agent_id, str) or not agent_id:
            return
        echo = {
            **inner,
            "sessionId": doc.get("sessionId"),
            "isSidechain": True,
            "agentId": agent_id,
        }
        echo.setdefault("timestamp", doc.get("timestamp"))
        try:
            if inner.get("type") == "assistant":
                self.assistant(lineno, echo, echo=True)
            elif inner.get("type") == "user":
                self.user(lineno, echo)
        except BadLine:
            return  # an unreadable echo costs nothing: the subagent's transcript has the record

    def assistant(self, lineno: int, doc: dict[str, Any], echo: bool = False) -> None:
        msg = doc.get("message")
        if not isinstance(msg, dict):
            raise BadLine("assistant record without a message object")
        usage = msg.get("usage")
        if usage is None:
            return  # nothing billed on this line
        if not isinstance(usage, dict):
            raise BadLine("message.usage is not an object")
        model = msg.get("model")
        if model == "<synthetic>" or doc.get("isApiErrorMessage") is True:
            return  # written by Claude Code itself, not an API response
        ts = agentlog.iso_ns(doc.get("timestamp"))
        if ts is None:
            raise BadLine("assistant record without a valid timestamp")
        counts = {k: _count(usage, k, k in _REQUIRED) for k in _USAGE_KEYS}
        trace = self.trace_of(doc)
        msg_id = msg.get("id")
        req_id = doc.get("requestId")
        key = (
            (str(msg_id), str(req_id or ""))
            if isinstance(msg_id, str) and msg_id
            else ("uuid", str(doc.get("uuid") or f"line {lineno}"))
        )
        total = sum(v or 0 for v in counts.values())
        rank = (total, counts["output_tokens"] or 0)
        m = self.messages.get((trace, key))
        if m is None:
            start = self.last_user_ns.get(trace, ts)
            turn = self.turn_of.get(trace, trace)
            m = _Message(trace, turn, key, lineno, min(start, ts), ts, lineno, _slim(doc), rank)
            m.compacted = trace in self.compacted
            self.compacted.discard(trace)
            self.messages[(trace, key)] = m
        elif rank >= m.best_rank:
            m.best, m.best_rank, m.best_line = _slim(doc), rank, lineno
        if self.touched is not None:
            self.touched[(trace, key)] = None
        m.lines += 0 if echo else 1  # an echo's rank stays below any transcript copy's
        m.end_ns = max(m.end_ns, ts)
        m.output_chars += _content_chars(msg.get("content"))
        for block in () if echo else msg.get("content") or ():
            if isinstance(block, dict) and block.get("type") == "tool_use":
                tool_id = block.get("id")
                if not isinstance(tool_id, str) or (trace, tool_id) in self.tools:
                    continue
                name = str(block.get("name") or "")
                m.tool_uses[tool_id] = name
                self.tools[(trace, tool_id)] = _Tool(
                    trace, m.turn, key, name, block.get("input"), ts, lineno,
                    user_wait=name in USER_WAIT_TOOLS,
                )  # fmt: skip

    def user(self, lineno: int, doc: dict[str, Any]) -> None:
        ts = agentlog.iso_ns(doc.get("timestamp"))
        if ts is None:
            return
        trace = self.trace_of(doc)
        self.last_user_ns[trace] = ts
        msg = doc.get("message")
        content = msg.get("content") if isinstance(msg, dict) else None
        if doc.get("isCompactSummary") is True:
            self.compacted.add(trace)
        elif trace not in self.agent_of and _starts_turn(doc, content):
            uuid = doc.get("uuid")
            self.turn_of[trace] = uuid if isinstance(uuid, str) and uuid else f"{trace}#{lineno}"
        if not isinstance(content, list):
            return
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                tool = self.tools.get((trace, str(block.get("tool_use_id"))))
                if tool is not None and tool.end_ns is None:
                    tool.end_ns = max(ts, tool.start_ns)
                    tool.is_error = block.get("is_error") is True
                    tool.result_chars = _text_chars(block.get("content"))
                    if self.ended is not None:
                        self.ended[(trace, str(block.get("tool_use_id")))] = None

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every span, or after resume() those the new lines changed: a message they added to or
        created, a tool they ended. The rest is stored already, as a whole-file read of the
        grown file would give it (it differs at most in attributes that keep its rank, and a
        stored span is replaced only by a higher rank)."""
        messages = self.messages if self.touched is None else self.touched
        for mkey in messages:
            m = self.messages[mkey]
            yield self.tick_row(m, agentlog.stable_id("claude-code", *m.key))
        tools = self.tools if self.ended is None else self.ended
        for tkey in tools:
            trace, tool_id = tkey
            t = self.tools[tkey]
            if t.end_ns is None:
                continue  # no result yet: a later copy of the file will have it
            attrs: dict[str, Any] = {
                "tool_name": t.name,
                "tool_use_id": tool_id,
                "tool_input": agentlog.json_text(t.args) if t.args is not None else None,
                agentlog.SOURCE: SOURCE,
                agentlog.RANK: 1,
                agentlog.RESULT_CHARS: t.result_chars,
                "session.id": self.session_of.get(trace),
            }
            if t.user_wait:
                attrs[agentlog.USER_WAIT] = "true"
            yield agentlog.span_row(
                trace_id=t.turn,
                span_id=agentlog.stable_id("claude-code-tool", tool_id),
                parent_span_id=agentlog.stable_id("claude-code", *t.tick_key),
                name="claude_code.tool",
                start_ns=t.start_ns,
                end_ns=t.end_ns,
                status_code=2 if t.is_error else 1,
                attributes=attrs,
                service=SOURCE,
                scope=SCOPE,
                line=t.line,
                parent_trace_id=self._parent(trace),
            )

    def _parent(self, trace: str) -> str | None:
        session = self.session_of.get(trace)
        return session if session and session != trace else None

    def tick_row(self, m: _Message, span_id: str) -> tuple[Any, ...]:
        doc = m.best
        msg = doc["message"]
        usage = msg["usage"]
        model = msg.get("model")
        cache = usage.get("cache_creation")
        one_hour = cache.get("ephemeral_1h_input_tokens") if isinstance(cache, dict) else None
        tool_calls = [
            {"type": "tool_call", "id": tid, "name": name} for tid, name in m.tool_uses.items()
        ]
        total, _ = m.best_rank
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": model,
            "gen_ai.response.model": agentlog.normalize_model(model)
            if isinstance(model, str)
            else None,
            "gen_ai.response.id": msg.get("id"),
            "anthropic.request_id": doc.get("requestId"),
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "cache_read_tokens": usage.get("cache_read_input_tokens"),
            "cache_creation_tokens": usage.get("cache_creation_input_tokens"),
            agentlog.CACHE_WRITE_1H: one_hour if isinstance(one_hour, int) else None,
            "cost_usd": doc.get("costUSD") if isinstance(doc.get("costUSD"), int | float) else None,
            "ttft_ms": msg.get("ttftMs") if isinstance(msg.get("ttftMs"), int | float) else None,
            "stop_reason": msg.get("stop_reason"),
            "gen_ai.output.messages": agentlog.json_text(tool_calls) if tool_calls else None,
            "session.id": self.session_of.get(m.trace),
            "gen_ai.conversation.compacted": "true" if m.compacted else None,
            agentlog.OUTPUT_CHARS: m.output_chars,
            "gen_ai.agent.name": self.agent_of.get(m.trace, SOURCE),
            "service_tier": usage.get("service_tier"),
            "speed": usage.get("speed"),
            "claude_code.version": doc.get("version"),
            agentlog.PROJECT: _project(self.cwd, self.path),
            agentlog.SOURCE: SOURCE,
            # More tokens first (the final streamed line), then more lines seen.
            agentlog.RANK: total * 10_000 + min(m.lines, 9_999),
        }
        return agentlog.span_row(
            trace_id=m.turn,
            span_id=span_id,
            name="claude_code.llm_request",
            start_ns=m.start_ns,
            end_ns=m.end_ns,
            attributes=attrs,
            service=SOURCE,
            scope=SCOPE,
            line=m.best_line,
            parent_trace_id=self._parent(m.trace),
        )


# Lines that look like user input but are not: Claude Code's own echoes and markers.
_NOT_INPUT = (
    "[Request interrupted by user",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "Caveat: The messages below were generated by the user",
    "<bash-input>",
    "<bash-stdout>",
    "<bash-stderr>",
)


def _starts_turn(doc: dict[str, Any], content: Any) -> bool:
    """A user line that is a new input to the agent (module docstring: which lines are)."""
    if doc.get("isMeta") is True or doc.get("isVisibleInTranscriptOnly") is True:
        return False
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = []
        for block in content:
            if not isinstance(block, dict) or block.get("type") == "tool_result":
                return False
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                texts.append(block["text"])
        text = "".join(texts)
    else:
        return False
    text = text.lstrip()
    return bool(text) and not text.startswith(_NOT_INPUT)


def _slim(doc: dict[str, Any]) -> dict[str, Any]:
    """What tick_row reads of a message's best line (a reader's state keeps only this)."""
    msg = doc["message"]
    return {
        "message": {
            k: msg[k] for k in ("model", "usage", "id", "ttftMs", "stop_reason") if k in msg
        },
        **{k: doc[k] for k in ("requestId", "costUSD", "version") if k in doc},
    }


def _content_chars(content: Any) -> int:
    """Characters an assistant line wrote: text, thinking and tool-call input."""
    total = 0
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        for key in ("text", "thinking"):
            if isinstance(block.get(key), str):
                total += len(block[key])
        if block.get("type") == "tool_use" and block.get("input") is not None:
            total += len(agentlog.json_text(block["input"]))
    return total


def _text_chars(content: Any) -> int | None:
    """Characters of a tool result as the model read it (text blocks; images are not counted)."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(
            len(b["text"])
            for b in content
            if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    return None


def _project(cwd: str | None, path: Path) -> str:
    """The session's working directory (where Claude Code started; a later `cd` does not move
    the session), else the project folder the transcript sits in
    (`projects/<folder>/<session>.jsonl`, subagents deeper under `<session>/`)."""
    if cwd:
        return cwd
    for folder in path.parents:
        if folder.parent.name == "projects":
            return folder.name
    return path.parent.name


def _subagent_type(path: Path) -> str | None:
    """`agent-<id>.meta.json` beside a subagent transcript names its type (2.1.x)."""
    meta = path.with_name(path.name.removesuffix(".jsonl") + ".meta.json")
    try:
        doc = orjson.loads(meta.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    kind = doc.get("agentType") if isinstance(doc, dict) else None
    return kind if isinstance(kind, str) and kind else None


def read(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """Yield span batches for one transcript. Every line is a record; unreadable lines are
    quarantined, unknown record types (newer Claude Code builds) are skipped without complaint."""
    return agentlog.read_jsonl(stream, bad, _Reader(path, bad))


def reader(path: Path, bad: BadRecord) -> _Reader:
    """A fresh transcript reader (for agentlog.read_jsonl with a cursor)."""
    return _Reader(path, bad)
