"""Write small OTLP/JSON traces for tests that need usage numbers chosen on the spot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASE_NS = 1_795_132_800_000_000_000  # 2026-11-20T00:00:00Z


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def span(
    trace: str,
    span_id: str,
    name: str,
    start_ms: float,
    end_ms: float,
    parent: str | None = None,
    **attrs: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(BASE_NS + int(start_ms * 1e6)),
        "endTimeUnixNano": str(BASE_NS + int(end_ms * 1e6)),
        "attributes": [{"key": k.replace("__", "."), "value": _value(v)} for k, v in attrs.items()],
        "status": {},
    }
    if parent:
        out["parentSpanId"] = parent
    return out


def write_trace(path: Path, spans: list[dict[str, Any]], service: str = "test-agent") -> Path:
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": service}}]
                },
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": spans}],
            }
        ]
    }
    path.write_text(json.dumps(doc))
    return path


def chat_trace(
    path: Path, trace: str, usages: list[dict[str, Any]], provider: str = "anthropic"
) -> Path:
    """One run: a root span and one chat span per usage dict (keys: model, input (inclusive),
    cache_read, cache_write, output), each 1 s long, back to back."""
    root = "a" * 16
    spans = [
        span(
            trace,
            root,
            "invoke_agent test",
            0,
            1000 * len(usages) + 10,
            gen_ai__operation__name="invoke_agent",
        )
    ]
    for i, u in enumerate(usages):
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": u.get("provider", provider),
            "gen_ai.request.model": u["model"],
            "gen_ai.usage.input_tokens": u["input"],
            "gen_ai.usage.output_tokens": u["output"],
        }
        if "cache_read" in u:
            attrs["gen_ai.usage.cache_read.input_tokens"] = u["cache_read"]
        if "cache_write" in u:
            attrs["gen_ai.usage.cache_creation.input_tokens"] = u["cache_write"]
        s = span(trace, f"{i + 1:016x}", f"chat {u['model']}", 1000 * i + 5, 1000 * i + 1005, root)
        s["attributes"] = [{"key": k, "value": _value(v)} for k, v in attrs.items()]
        spans.append(s)
    return write_trace(path, spans)
