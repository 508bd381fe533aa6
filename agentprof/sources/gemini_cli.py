"""Gemini CLI chat sessions (`~/.gemini/tmp/<project hash>/chats/session-*.json`: one JSON
document, `{sessionId, projectHash, startTime, lastUpdated, messages: [...]}`; newer builds append
the same records as JSON lines) as canonical spans.

- A session is split into turns: each `user` message starts one, and the turn is a run whose id
  is that message's id (a UUID). Messages before the first user message form a turn whose id is
  the sessionId.
- A tick is a `gemini` message with a `tokens` object. Gemini CLI copies the API's
  `usageMetadata` there: `input` = promptTokenCount (includes `cached`), `cached` =
  cachedContentTokenCount, `output` = candidatesTokenCount (excludes thoughts), `thoughts` =
  thoughtsTokenCount, `tool` = toolUsePromptTokenCount, `total` = the sum of input, output,
  thoughts and tool. So, as for Gemini API logs (FORMATS.md §4.4), input = input + tool and
  billable output = output + thoughts.
- A message is stamped when it is recorded, which for a message that called tools is when its
  first tool finished. The model call is taken to end at the earliest tool start (Gemini CLI's
  call ids embed the start in Unix milliseconds) and to start at the previous input: the user
  message, or the last tool result before it.
- Tool calls are the message's `toolCalls`, from their start to their `timestamp` (the result).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from agentprof.sources import agentlog
from agentprof.sources.otlp import BadRecord, Batches, SpanBatcher

SOURCE = "gemini-cli"
SCOPE = "agentprof.gemini_cli"
_MESSAGE_TYPES = frozenset({"user", "gemini", "info", "error", "warning"})
_TOKEN_KEYS = ("input", "output", "cached", "thoughts", "tool")
# `read_file-1764625560264-22036414d7d65`: the tool name, the start in Unix ms, a random suffix.
_CALL_ID_MS = re.compile(r"-(\d{13})-[0-9a-zA-Z]+$")
_FAILED = frozenset({"error", "cancelled"})


def looks_like(doc: Any) -> bool:
    """A whole session document, or the metadata record that starts a JSON-lines session."""
    if not isinstance(doc, dict) or not isinstance(doc.get("sessionId"), str):
        return False
    messages = doc.get("messages")
    if messages is None:
        return isinstance(doc.get("projectHash"), str) and "type" not in doc
    return (
        isinstance(messages, list)
        and ("projectHash" in doc or "startTime" in doc)
        and all(isinstance(m, dict) and m.get("type") in _MESSAGE_TYPES for m in messages[:5])
    )


@dataclass
class _Tool:
    call_id: str
    name: str
    args: Any
    start_ns: int
    end_ns: int
    status: str | None
    result_chars: int | None


def _call_start_ns(call_id: str, near_ns: int) -> int | None:
    """The start Gemini CLI wrote into a call id, when it is within a day of the message."""
    m = _CALL_ID_MS.search(call_id)
    if not m:
        return None
    ns = int(m.group(1)) * 1_000_000
    return ns if abs(ns - near_ns) < 86_400 * 10**9 else None


def _result_chars(result: Any) -> int | None:
    """Characters of the tool's output as the model read it (functionResponse.response.output)."""
    if not isinstance(result, list):
        return None
    total = 0
    for part in result:
        resp = part.get("functionResponse") if isinstance(part, dict) else None
        resp = resp.get("response") if isinstance(resp, dict) else None
        if isinstance(resp, dict):
            for value in resp.values():
                if isinstance(value, str):
                    total += len(value)
    return total


def _tools(msg: dict[str, Any], msg_ns: int) -> list[_Tool]:
    calls = msg.get("toolCalls")
    if not isinstance(calls, list):
        return []
    tools = []
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            continue
        call_id = call["id"]
        start = _call_start_ns(call_id, msg_ns) or msg_ns
        end = agentlog.iso_ns(call.get("timestamp")) or start
        status = call.get("status") if isinstance(call.get("status"), str) else None
        tools.append(
            _Tool(
                call_id,
                str(call.get("name") or "tool"),
                call.get("args"),
                min(start, end),
                end,
                status,
                _result_chars(call.get("result")),
            )
        )
    return tools


def _jsonl(data: bytes, bad: BadRecord) -> tuple[dict[str, Any], list[tuple[int, Any]], int, int]:
    """Newer Gemini CLI builds append records instead of rewriting one document: a metadata
    record, message records (a later copy of an id replaces the earlier one, as when its token
    counts arrive), `$set` metadata updates (`messages` replaces them all), `$rewindTo` (drops
    that message and everything after it) and `$patch` (`removeIds`, tool results). Returns the
    metadata, the (line, message) list, and the records and bad records seen."""
    meta: dict[str, Any] = {}
    messages: dict[str, tuple[int, dict[str, Any]]] = {}
    records = nbad = 0
    for lineno, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        records += 1
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            nbad += 1
            bad(
                lineno,
                f"malformed JSON ({exc.args[0] if exc.args else exc})",
                agentlog.excerpt(raw),
            )
            continue
        if not isinstance(rec, dict):
            nbad += 1
            bad(lineno, "not a JSON object", agentlog.excerpt(raw))
            continue
        if isinstance(rec.get("$rewindTo"), str):
            ids = list(messages)
            cut = ids.index(rec["$rewindTo"]) if rec["$rewindTo"] in ids else 0
            for mid in ids[cut:]:
                del messages[mid]
        elif isinstance(rec.get("$patch"), dict):
            _patch(messages, rec["$patch"])
        elif isinstance(rec.get("id"), str):
            messages[rec["id"]] = (messages.get(rec["id"], (lineno, rec))[0], rec)
        elif isinstance(rec.get("$set"), dict):
            update = dict(rec["$set"])
            if isinstance(update.get("messages"), list):
                messages = {}
                for m in update.pop("messages"):
                    if isinstance(m, dict) and isinstance(m.get("id"), str):
                        messages[m["id"]] = (lineno, m)
            meta.update(update)
        elif isinstance(rec.get("sessionId"), str):
            meta.update({k: v for k, v in rec.items() if k != "messages"})
            for m in rec.get("messages") or []:
                if isinstance(m, dict) and isinstance(m.get("id"), str):
                    messages[m["id"]] = (lineno, m)
    return meta, list(messages.values()), records, nbad


def _patch(messages: dict[str, tuple[int, dict[str, Any]]], patch: dict[str, Any]) -> None:
    for removed in patch.get("removeIds") or []:
        messages.pop(removed, None)
    updates = [patch, *(u for u in patch.get("updates") or [] if isinstance(u, dict))]
    for update in updates:
        mid = update.get("id")
        found = messages.get(mid) if isinstance(mid, str) else None
        calls = found[1].get("toolCalls") if found else None
        if not isinstance(calls, list) or not isinstance(update.get("toolCalls"), list):
            continue
        results = {t.get("id"): t for t in update["toolCalls"] if isinstance(t, dict)}
        for call in calls:
            if isinstance(call, dict) and call.get("id") in results:
                call.update({k: v for k, v in results[call["id"]].items() if k != "id"})


def read(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """One tick per `gemini` message with token counts, one tool span per recorded tool call;
    a message that cannot be read is quarantined (named by its position in `messages`, or its
    line in a JSON-lines session)."""
    data = stream.read()
    try:
        doc = orjson.loads(data)
        if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
            raise orjson.JSONDecodeError("not a whole session document", "", 0)
        items: list[tuple[int, Any]] = [(1, m) for m in doc["messages"]]
        records, nbad, jsonl = len(items), 0, False
    except orjson.JSONDecodeError:
        doc, items, records, nbad = _jsonl(data, bad)
        jsonl = True
    session = str(doc.get("sessionId") or path.stem)
    batcher = SpanBatcher()
    turn = session
    last_input_ns: int | None = agentlog.iso_ns(doc.get("startTime"))
    for index, (line, msg) in enumerate(items, 1):
        where = f"messages[{index - 1}]"
        if not isinstance(msg, dict):
            nbad += 1
            bad(line, f"{where} is not an object", agentlog.excerpt(agentlog.json_text(msg)))
            continue
        ts = agentlog.iso_ns(msg.get("timestamp"))
        kind = msg.get("type")
        if kind == "user":
            if ts is not None:
                last_input_ns = ts
            if isinstance(msg.get("id"), str) and msg["id"]:
                turn = msg["id"]
            else:
                turn = agentlog.stable_id("gemini-cli-turn", session, ts or index, nbytes=16)
            continue
        if kind != "gemini" or msg.get("tokens") is None:
            continue  # info/error/warning notices, or a reply without counts: no model call seen
        try:
            if ts is None:
                raise agentlog.BadLine("gemini message without a valid timestamp")
            tokens = agentlog.token_counts(msg["tokens"], _TOKEN_KEYS, "tokens")
        except agentlog.BadLine as exc:
            nbad += 1
            bad(line, f"{where}: {exc}", agentlog.excerpt(agentlog.json_text(msg)))
            continue
        tools = _tools(msg, ts)
        end = min([ts, *(t.start_ns for t in tools)])
        start = min(last_input_ns if last_input_ns is not None else end, end)
        msg_id = msg.get("id") if isinstance(msg.get("id"), str) else None
        span_id = agentlog.stable_id("gemini-cli", session, msg_id or ts)
        model = msg.get("model") if isinstance(msg.get("model"), str) and msg["model"] else None
        calls = [{"type": "tool_call", "id": t.call_id, "name": t.name} for t in tools]
        content = msg.get("content")
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "google",
            "gen_ai.request.model": model,
            "gen_ai.response.model": model,
            "gen_ai.usage.input_tokens": tokens["input"] + tokens["tool"],
            "gen_ai.usage.cache_read.input_tokens": tokens["cached"],
            "gen_ai.usage.output_tokens": tokens["output"] + tokens["thoughts"],
            "gen_ai.usage.reasoning.output_tokens": tokens["thoughts"],
            "gen_ai.output.messages": agentlog.json_text(calls) if calls else None,
            "gen_ai.response.id": msg_id,
            "gen_ai.agent.name": SOURCE,
            "session.id": session,
            "gemini_cli.project_hash": doc.get("projectHash")
            if isinstance(doc.get("projectHash"), str)
            else None,
            agentlog.OUTPUT_CHARS: len(content) if isinstance(content, str) else None,
            agentlog.SOURCE: SOURCE,
            agentlog.RANK: 1,
        }
        batcher.add(
            agentlog.span_row(
                trace_id=turn,
                span_id=span_id,
                name=f"chat {model or ''}".strip(),
                start_ns=start,
                end_ns=end,
                attributes=attrs,
                service=SOURCE,
                scope=SCOPE,
                line=line if jsonl else index,
            )
        )
        for tool in tools:
            failed = tool.status in _FAILED
            batcher.add(
                agentlog.tool_span_row(
                    trace_id=turn,
                    span_id=agentlog.stable_id("gemini-cli-tool", session, tool.call_id),
                    parent_span_id=span_id,
                    tool_name=tool.name,
                    call_id=tool.call_id,
                    arguments=tool.args,
                    start_ns=tool.start_ns,
                    end_ns=tool.end_ns,
                    session=session,
                    result_chars=tool.result_chars,
                    source=SOURCE,
                    scope=SCOPE,
                    line=line if jsonl else index,
                    status_code=2 if failed else 0,
                    status_message=tool.status if failed else None,
                )
            )
        ends = [t.end_ns for t in tools]
        last_input_ns = max([end, *ends]) if ends else end
        if batcher.full():
            yield batcher.take(), 0, 0
    yield batcher.take(), records, nbad
