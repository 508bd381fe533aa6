"""Provider API response logs: one response body per line (or one document), as applications log
them, optionally wrapped as `{"response": {...}, "timestamp": ..., "latency_ms": ...,
"session_id": ...}` (FORMATS.md §4.1–§4.4). One tick per response.

- Anthropic Messages `usage` is disjoint (uncached input, cache reads, 5m/1h cache writes).
- OpenAI Chat Completions and Responses `usage` is inclusive (cached ⊂ input, reasoning ⊂ output).
- Gemini `usageMetadata`: prompt includes cached content; billable output is candidates +
  thoughts (`candidatesTokenCount` excludes `thoughtsTokenCount`).

Responses are grouped into runs by a session/conversation id when the record has one (wrapper
`session_id`/`conversation_id`/`thread_id`, `metadata.session_id`, Responses `conversation.id`),
otherwise by file. The span id is the response id, so the same response logged twice is stored
once."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

from agentprof.sources import agentlog
from agentprof.sources.otlp import BadRecord, Batches, SpanBatcher

SOURCE = "api-log"
SCOPE = "agentprof.api_logs"
_SESSION_KEYS = ("session_id", "conversation_id", "thread_id", "sessionId", "conversationId")
_TIME_KEYS = ("timestamp", "ts", "time", "request_time", "start_time", "startTime", "created_at")
_LATENCY_KEYS = ("latency_ms", "duration_ms", "elapsed_ms", "response_ms")


class BadLine(ValueError):
    pass


def _body(doc: Any) -> dict[str, Any] | None:
    if not isinstance(doc, dict):
        return None
    inner = doc.get("response")
    if isinstance(inner, dict) and _flavor(inner):
        return inner
    return doc if _flavor(doc) else None


def _flavor(body: dict[str, Any]) -> str | None:
    usage = body.get("usage")
    if body.get("type") == "message" and isinstance(usage, dict) and "input_tokens" in usage:
        return "anthropic"
    if str(body.get("object", "")).startswith("chat.completion") and isinstance(usage, dict):
        return "openai-chat"
    if body.get("object") == "response" and isinstance(usage, dict):
        return "openai-responses"
    if isinstance(body.get("usageMetadata"), dict) or isinstance(body.get("usage_metadata"), dict):
        return "gemini"
    return None


def looks_like(doc: Any) -> bool:
    return _body(doc) is not None


def _n(d: Any, *path: str) -> int | None:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    if d is None:
        return None
    if isinstance(d, bool) or not isinstance(d, int | float) or d < 0:
        raise BadLine(f"usage field {'.'.join(path)} {str(d)[:40]!r} is not a token count")
    return int(d)


def _usage_attrs(flavor: str, body: dict[str, Any]) -> dict[str, Any]:
    u = body.get("usage")
    if flavor == "anthropic":
        cache = u.get("cache_creation") if isinstance(u, dict) else None
        return {
            "gen_ai.provider.name": "anthropic",
            "input_tokens": _n(u, "input_tokens"),
            "cache_read_tokens": _n(u, "cache_read_input_tokens") or 0,
            "cache_creation_tokens": _n(u, "cache_creation_input_tokens") or 0,
            agentlog.CACHE_WRITE_1H: _n(cache, "ephemeral_1h_input_tokens"),
            "output_tokens": _n(u, "output_tokens"),
            "gen_ai.usage.reasoning.output_tokens": _n(
                u, "output_tokens_details", "thinking_tokens"
            ),
            "stop_reason": body.get("stop_reason"),
            "service_tier": u.get("service_tier") if isinstance(u, dict) else None,
        }
    if flavor == "openai-chat":
        choices = body.get("choices") or [{}]
        first = choices[0] if isinstance(choices[0], dict) else {}
        return {
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": _n(u, "prompt_tokens"),
            "gen_ai.usage.cache_read.input_tokens": _n(u, "prompt_tokens_details", "cached_tokens"),
            "gen_ai.usage.cache_creation.input_tokens": _n(
                u, "prompt_tokens_details", "cache_write_tokens"
            ),
            "gen_ai.usage.output_tokens": _n(u, "completion_tokens"),
            "gen_ai.usage.reasoning.output_tokens": _n(
                u, "completion_tokens_details", "reasoning_tokens"
            ),
            "stop_reason": first.get("finish_reason"),
        }
    if flavor == "openai-responses":
        return {
            "gen_ai.provider.name": "openai",
            "gen_ai.usage.input_tokens": _n(u, "input_tokens"),
            "gen_ai.usage.cache_read.input_tokens": _n(u, "input_tokens_details", "cached_tokens"),
            "gen_ai.usage.cache_creation.input_tokens": _n(
                u, "input_tokens_details", "cache_write_tokens"
            ),
            "gen_ai.usage.output_tokens": _n(u, "output_tokens"),
            "gen_ai.usage.reasoning.output_tokens": _n(
                u, "output_tokens_details", "reasoning_tokens"
            ),
            "stop_reason": body.get("status"),
        }
    meta = body.get("usageMetadata") or body.get("usage_metadata")
    if not isinstance(meta, dict):
        raise BadLine("usageMetadata is not an object")
    camel = "promptTokenCount" in meta or "candidatesTokenCount" in meta
    prompt = _n(meta, "promptTokenCount" if camel else "prompt_token_count")
    tool_prompt = _n(meta, "toolUsePromptTokenCount" if camel else "tool_use_prompt_token_count")
    candidates = _n(meta, "candidatesTokenCount" if camel else "candidates_token_count")
    thoughts = _n(meta, "thoughtsTokenCount" if camel else "thoughts_token_count")
    output = (
        None if candidates is None and thoughts is None else (candidates or 0) + (thoughts or 0)
    )
    return {
        "gen_ai.provider.name": "google",
        "gen_ai.usage.input_tokens": None if prompt is None else prompt + (tool_prompt or 0),
        "gen_ai.usage.cache_read.input_tokens": _n(
            meta, "cachedContentTokenCount" if camel else "cached_content_token_count"
        ),
        "gen_ai.usage.output_tokens": output,
        "gen_ai.usage.reasoning.output_tokens": thoughts,
    }


def _model(flavor: str, body: dict[str, Any]) -> str | None:
    model = body.get("modelVersion") or body.get("model_version") if flavor == "gemini" else None
    model = model or body.get("model")
    return model if isinstance(model, str) and model else None


def _time_ns(doc: dict[str, Any], body: dict[str, Any]) -> int | None:
    for holder in (doc, body):
        for key in _TIME_KEYS:
            value = holder.get(key)
            if isinstance(value, str):
                ns = agentlog.iso_ns(value)
                if ns is not None:
                    return ns
            elif isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                # Unix seconds (or milliseconds when that large).
                return int(value * (1e6 if value > 1e11 else 1e9))
    created = body.get("created")
    if isinstance(created, int | float) and not isinstance(created, bool):
        return int(created * 1e9)
    return None


def _latency_ms(doc: dict[str, Any], body: dict[str, Any]) -> float | None:
    for key in _LATENCY_KEYS:
        value = doc.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    start, end = body.get("created_at"), body.get("completed_at")
    if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
        return float(end - start) * 1000.0
    return None


def _session(doc: dict[str, Any], body: dict[str, Any]) -> str | None:
    for holder in (doc, body, doc.get("metadata"), body.get("metadata")):
        if isinstance(holder, dict):
            for key in _SESSION_KEYS:
                value = holder.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                    return str(value)
    conv = body.get("conversation")
    if isinstance(conv, dict) and isinstance(conv.get("id"), str):
        return str(conv["id"])
    return None


def read(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """One tick per logged response; other lines are quarantined."""
    data = stream.read()
    file_run = "api-log-" + agentlog.stable_id(str(path.resolve()), nbytes=8)
    try:
        fallback_ns = int(path.stat().st_mtime * 1e9)
    except OSError:
        fallback_ns = 0
    docs: list[tuple[int, Any, bytes]] = []
    try:
        docs.append((1, orjson.loads(data), data[:400]))
    except orjson.JSONDecodeError:
        for lineno, raw in enumerate(data.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                docs.append((lineno, orjson.loads(raw), raw))
            except orjson.JSONDecodeError as exc:
                docs.append((lineno, exc, raw))
    batcher = SpanBatcher()
    records = nbad = 0
    for lineno, doc, raw in docs:
        records += 1
        if isinstance(doc, orjson.JSONDecodeError):
            nbad += 1
            bad(
                lineno,
                f"malformed JSON ({doc.args[0] if doc.args else doc})",
                agentlog.excerpt(raw),
            )
            continue
        body = _body(doc)
        if body is None:
            nbad += 1
            bad(lineno, "not a provider response with a usage object", agentlog.excerpt(raw))
            continue
        flavor = _flavor(body) or ""
        try:
            attrs = _usage_attrs(flavor, body)
        except BadLine as exc:
            nbad += 1
            bad(lineno, str(exc), agentlog.excerpt(raw))
            continue
        start = _time_ns(doc, body)
        latency = _latency_ms(doc, body)
        session = _session(doc, body)
        model = _model(flavor, body)
        rid = body.get("id") or body.get("responseId") or body.get("response_id")
        span_id = agentlog.stable_id(
            "api-log", rid if isinstance(rid, str) and rid else raw.decode("utf-8", "replace")
        )
        attrs.update(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.response.model": agentlog.normalize_model(model) if model else None,
                "gen_ai.response.id": rid if isinstance(rid, str) else None,
                "session.id": session,
                "api_log.flavor": flavor,
                "api_log.time_estimated": "true" if start is None else None,
                agentlog.SOURCE: SOURCE,
                agentlog.RANK: 1,
            }
        )
        start_ns = start if start is not None else fallback_ns
        end_ns = start_ns + int((latency or 0.0) * 1e6)
        batcher.add(
            agentlog.span_row(
                trace_id=session or file_run,
                span_id=span_id,
                name=f"chat {model or ''}".strip(),
                start_ns=start_ns,
                end_ns=end_ns,
                attributes=attrs,
                service=SOURCE,
                scope=SCOPE,
                line=lineno,
            )
        )
    yield batcher.take(), records, nbad
