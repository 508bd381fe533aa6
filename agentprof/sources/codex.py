"""OpenAI Codex CLI rollouts (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl`) as canonical
spans (FORMATS.md §5.3).

- A thread (session_meta.id) is a session, split into turns: each `user_message` event starts
  one, and the turn is a run whose id is Codex's `turn_id` (from the `task_started` or
  `turn_context` record before it; a hash of the thread and that id when it is too short to be
  unique, or of the thread and the message's time when there is none). Ticks before the first
  user message (a resumed thread) form a turn whose id is the thread id. A `compacted` record or
  `context_compacted` event marks the next tick `gen_ai.conversation.compacted`.
- A `thread_spawn` subagent's thread is a child run linked to its parent thread; derivation
  resolves the link to the parent's turn that was running when the subagent started.
- A tick is a `token_count` event whose cumulative `total_token_usage` advanced: Codex re-emits
  unchanged totals for UI and rate-limit refreshes, and counting those double-counts. The tick's
  usage is `last_token_usage`, or the difference of the cumulative totals when it is absent; when
  the totals go backwards (resume, fork) `last` is taken as it is. Input is inclusive of cached
  input, output inclusive of reasoning (OpenAI semantics).
- The span id hashes (thread, event timestamp, cumulative totals), so the same event in a
  snapshot copy of the thread or in a grown file is stored once.
- Tool calls are `function_call`/`custom_tool_call` → matching `*_output` by call_id.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from agentprof.sources import agentlog
from agentprof.sources.agentlog import BadLine
from agentprof.sources.otlp import BadRecord, Batches

SOURCE = "codex"
SCOPE = "agentprof.codex"
FALLBACK_MODEL = "gpt-5"
ROLLOUT_TYPES = frozenset(
    {"session_meta", "turn_context", "response_item", "event_msg", "compacted"}
)
_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")
_CALLS = {"function_call": "function_call_output", "custom_tool_call": "custom_tool_call_output"}
_OUTPUTS = frozenset(_CALLS.values())


def looks_like(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("type") in ROLLOUT_TYPES
        and isinstance(doc.get("payload"), dict)
        and "timestamp" in doc
    )


def _usage(value: Any, what: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    return tuple(agentlog.token_counts(value, _FIELDS, what).values())


@dataclass
class _Tool:
    call_id: str
    name: str
    args: Any
    start_ns: int
    line: int
    tick: int  # index of the tick that requested it (the next one emitted)
    turn: str
    end_ns: int | None = None
    result_chars: int | None = None


class _Reader:
    # Bump when the attributes a stored state holds change (or what they mean): older states are
    # then refused and their files read whole once (agentlog.load_state).
    STATE_VERSION = 1

    def __init__(self, path: Path) -> None:
        self.path = path
        self.thread = path.stem
        self.parent: str | None = None
        self.agent: str = SOURCE
        self.model: str | None = None
        self.provider = "openai"
        self.prev_total: tuple[int, ...] | None = None
        self.last_input_ns: int | None = None
        self.response_start_ns: int | None = None
        self.ticks: list[tuple[Any, ...]] = []
        self.tick_calls: list[str] = []
        self.tools: dict[str, _Tool] = {}
        self.version: str | None = None
        self.turn: str | None = None  # the running turn's run id (None: the thread's own id)
        self.next_turn_id: str | None = None  # Codex's id of the turn about to start
        self.compacted = False
        self.cwd: str | None = None  # the working directory (agentprof.project)
        # Resumed on a grown file (agentlog.load_state): the ticks before this index and the
        # tools whose output came before are stored already; rows() yields only the rest.
        self.resumed_at: int | None = None
        self.ended_before: frozenset[str] = frozenset()

    def __getstate__(self) -> dict[str, Any]:
        """What reading the rest of the file needs (agentlog.dump_state): of a tick only its
        span id (a later tool's parent), of a tool whose output arrived no arguments."""
        state = {k: v for k, v in self.__dict__.items() if k != "path"}
        state["ticks"] = [(t[0],) for t in self.ticks]
        state["tools"] = {
            cid: t if t.end_ns is None else _Tool(**{**t.__dict__, "args": None})
            for cid, t in self.tools.items()
        }
        state["resumed_at"], state["ended_before"] = None, frozenset()
        return state

    def resume(self, path: Path, bad: BadRecord) -> None:
        """After agentlog.load_state: from now on rows() yields what the new lines add."""
        self.path = path
        self.resumed_at = len(self.ticks)
        self.ended_before = frozenset(c for c, t in self.tools.items() if t.end_ns is not None)

    def line(self, lineno: int, doc: dict[str, Any]) -> None:
        kind = doc.get("type")
        payload = doc.get("payload")
        if kind not in ROLLOUT_TYPES:
            return  # a record type from a newer Codex: not ours to judge
        if not isinstance(payload, dict):
            raise BadLine(f"{kind} record without a payload object")
        ts = agentlog.iso_ns(doc.get("timestamp"))
        if kind == "session_meta":
            self.meta(payload)
        elif kind == "turn_context":
            if isinstance(payload.get("model"), str):
                self.model = payload["model"]
            self._cwd(payload)
            self._turn_id(payload)
        elif kind == "response_item":
            if ts is not None:
                self.item(lineno, ts, payload)
        elif kind == "event_msg":
            sub = payload.get("type")
            if sub == "token_count":
                if ts is None:
                    raise BadLine("token_count without a valid timestamp")
                self.token_count(lineno, ts, payload)
            elif sub == "user_message" and ts is not None:
                self.last_input_ns = ts
                self.response_start_ns = None
                self._start_turn(ts)
            elif sub == "task_started":
                self._turn_id(payload)
            elif sub == "context_compacted":
                self.compacted = True
        elif kind == "compacted":
            self.compacted = True

    def _cwd(self, p: dict[str, Any]) -> None:
        # The first one (session_meta's): where the thread started, as for Claude Code.
        if self.cwd is None and isinstance(p.get("cwd"), str) and p["cwd"]:
            self.cwd = p["cwd"]

    def _turn_id(self, p: dict[str, Any]) -> None:
        turn_id = p.get("turn_id")
        if isinstance(turn_id, str) and turn_id:
            self.next_turn_id = turn_id

    def _start_turn(self, ts: int) -> None:
        turn_id, self.next_turn_id = self.next_turn_id, None
        if turn_id is not None and len(turn_id) >= 16:
            self.turn = turn_id
        else:  # none (older Codex), or one like "turn-1" that is unique in its thread only
            self.turn = agentlog.stable_id("codex-turn", self.thread, turn_id or ts, nbytes=16)

    def meta(self, p: dict[str, Any]) -> None:
        if isinstance(p.get("id"), str) and p["id"]:
            self.thread = p["id"]
        if isinstance(p.get("model_provider"), str):
            self.provider = p["model_provider"]
        self.version = p.get("cli_version") if isinstance(p.get("cli_version"), str) else None
        self._cwd(p)
        source = p.get("source")
        spawn = source.get("subagent") if isinstance(source, dict) else None
        spawn = spawn.get("thread_spawn") if isinstance(spawn, dict) else None
        if isinstance(spawn, dict) and isinstance(spawn.get("parent_thread_id"), str):
            self.parent = spawn["parent_thread_id"]
            role = spawn.get("agent_role") or spawn.get("agent_nickname")
            self.agent = str(role) if role else "subagent"
        elif isinstance(p.get("agent_role"), str):
            self.agent = p["agent_role"]

    def item(self, lineno: int, ts: int, p: dict[str, Any]) -> None:
        kind = p.get("type")
        if kind in _CALLS:
            self._response_began(ts)
            call_id = p.get("call_id")
            if isinstance(call_id, str) and call_id not in self.tools:
                args = p.get("arguments", p.get("input"))
                name = str(p.get("name") or kind)
                self.tools[call_id] = _Tool(
                    call_id, name, args, ts, lineno, len(self.ticks), self.turn or self.thread
                )
                self.tick_calls.append(call_id)
        elif kind in _OUTPUTS:
            tool = self.tools.get(str(p.get("call_id")))
            if tool is not None and tool.end_ns is None:
                tool.end_ns = max(ts, tool.start_ns)
                tool.result_chars = _output_chars(p.get("output"))
            self.last_input_ns = ts
            self.response_start_ns = None
        elif kind == "message" and p.get("role") == "user":
            self.last_input_ns = ts
            self.response_start_ns = None
        elif kind in ("reasoning", "message", "web_search_call", "local_shell_call"):
            self._response_began(ts)

    def _response_began(self, ts: int) -> None:
        if self.response_start_ns is None:
            if self.last_input_ns is None:
                self._unprompted(ts)
            self.response_start_ns = ts if self.last_input_ns is None else self.last_input_ns

    def _unprompted(self, ts: int) -> None:
        """A response after an earlier one with no input logged in between (no tool output,
        no user message; only synthetic rollouts show it). Its start is the first item of the
        response, a lower bound on the call's latency, and it opens a turn of its own: the time
        since the last response is accounted for by nothing, so it is no part of that turn."""
        if self.ticks:
            self._start_turn(ts)

    def token_count(self, lineno: int, ts: int, p: dict[str, Any]) -> None:
        info = p.get("info")
        if info is None:
            return  # a rate-limit-only update
        if not isinstance(info, dict):
            raise BadLine("token_count info is not an object")
        total = _usage(info.get("total_token_usage"), "total_token_usage")
        last = _usage(info.get("last_token_usage"), "last_token_usage")
        if total is not None and total == self.prev_total:
            return  # re-emitted unchanged totals: not a new response
        if last is not None:
            delta = last
        elif total is not None:
            prev = self.prev_total or (0,) * len(_FIELDS)
            delta = tuple(t - q for t, q in zip(total, prev, strict=True))
            if min(delta) < 0:
                delta = total
        else:
            return
        if total is not None:
            self.prev_total = total
        if not any(delta):
            return
        model = info.get("model") if isinstance(info.get("model"), str) else self.model
        if self.response_start_ns is None and self.last_input_ns is None:
            self._unprompted(ts)
        start = self.response_start_ns or self.last_input_ns or ts
        inp, cached, out, reasoning = delta
        cached = min(cached, inp)
        tool_calls = [
            {"type": "tool_call", "id": c, "name": self.tools[c].name} for c in self.tick_calls
        ]
        span_id = agentlog.stable_id("codex", self.thread, ts, total, last)
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": model or FALLBACK_MODEL,
            "gen_ai.response.model": model or FALLBACK_MODEL,
            "gen_ai.usage.input_tokens": inp,
            "gen_ai.usage.cache_read.input_tokens": cached,
            "gen_ai.usage.output_tokens": out,
            "gen_ai.usage.reasoning.output_tokens": reasoning,
            "gen_ai.output.messages": agentlog.json_text(tool_calls) if tool_calls else None,
            "gen_ai.agent.name": self.agent,
            "session.id": self.thread,
            "gen_ai.conversation.compacted": "true" if self.compacted else None,
            "codex.model_fallback": "true" if model is None else None,
            "codex.cli_version": self.version,
            agentlog.PROJECT: self.cwd,
            agentlog.SOURCE: SOURCE,
            agentlog.RANK: 1,
        }
        self.ticks.append(
            (span_id, min(start, ts), ts, attrs, lineno, self.turn or self.thread),
        )
        self.compacted = False
        self.tick_calls = []
        # The next tick starts at its own input (a tool output, a user message); see
        # _unprompted for one that has none.
        self.last_input_ns = None
        self.response_start_ns = None

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Every span, or after resume() the ticks and ended tools the new lines added."""
        span_ids = [t[0] for t in self.ticks]
        for span_id, start, end, attrs, lineno, turn in self.ticks[self.resumed_at or 0 :]:
            yield agentlog.span_row(
                trace_id=turn,
                span_id=span_id,
                name="codex.response",
                start_ns=start,
                end_ns=end,
                attributes=attrs,
                service=SOURCE,
                scope=SCOPE,
                line=lineno,
                parent_trace_id=self.parent,
            )
        for tool in self.tools.values():
            if tool.end_ns is None or tool.call_id in self.ended_before:
                continue
            yield agentlog.tool_span_row(
                trace_id=tool.turn,
                span_id=agentlog.stable_id("codex-tool", self.thread, tool.call_id),
                parent_span_id=span_ids[tool.tick] if tool.tick < len(span_ids) else None,
                tool_name=tool.name,
                call_id=tool.call_id,
                arguments=tool.args,
                start_ns=tool.start_ns,
                end_ns=tool.end_ns,
                session=self.thread,
                result_chars=tool.result_chars,
                source=SOURCE,
                scope=SCOPE,
                line=tool.line,
                parent_trace_id=self.parent,
            )


def _output_chars(output: Any) -> int | None:
    """Characters of a tool's output as the model read it (text, or text items of a list)."""
    if isinstance(output, str):
        return len(output)
    if isinstance(output, list):
        return sum(
            len(i["text"]) for i in output if isinstance(i, dict) and isinstance(i.get("text"), str)
        )
    return None


def read(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """Yield span batches for one rollout file; unreadable lines are quarantined and unknown
    record types skipped."""
    return agentlog.read_jsonl(stream, bad, _Reader(path))


def reader(path: Path, bad: BadRecord) -> _Reader:
    """A fresh rollout reader (for agentlog.read_jsonl with a cursor)."""
    return _Reader(path)
