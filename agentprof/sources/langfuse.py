"""Langfuse trace exports (`{"trace": {...}, "observations": [...]}` as the Langfuse UI and
public API give them; not OTLP) as canonical spans. The trace is one run (run id = the Langfuse
trace id, session = its sessionId).

- A tick is a GENERATION observation with token usage (`usageDetails`, else the legacy `usage`
  object or the `inputUsage`/`outputUsage` columns). A generation that encloses another
  generation with usage is two instrumentations of one request (agno's `OpenAIChat.invoke`
  around the SDK's `chat …`): the inner one is the tick. Generations without usage (beeai's
  `…finish`/`…success` event spans) are bookkeeping, not calls. AGENT/CHAIN observations that
  repeat their children's usage are never read for tokens.
- `usageDetails` keys are Langfuse usage types, each priced once, so the SDK integrations split
  details out of the base counts: `input` excludes `input_cached_tokens`/`input_cache_read`/
  `cache_read_input_tokens`, `output` excludes `output_reasoning` (disjoint; inclusive input =
  input + those). Keys mapped from OpenInference attributes (`prompt_details.cache_read`,
  `completion_details.reasoning`) are subsets of `input`/`output`, and so are any details
  when the export's `total` equals input + output.
- Cost: `costDetails.total` (else the sum of its parts, else `calculatedTotalCost`/`totalCost`)
  is kept as the reported cost. It is usually Langfuse's own price, not the provider's bill.
- A tool call is a TOOL observation, or a SPAN that names a tool (`gen_ai.tool.name`,
  OpenInference `tool.name` on a TOOL span, a `gen_ai.operation.name` of `execute_tool`) or
  returns a LangChain ToolMessage (`type: "tool"`). Other observations are kept as plain spans
  with their parent links, so the run's timeline and wall time are the trace's.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

from agentprof.errors import InputError
from agentprof.sources import agentlog
from agentprof.sources.otlp import BadRecord, Batches, SpanBatcher

SOURCE = "langfuse"
SCOPE = "agentprof.langfuse"
NO_TICKS = "holds no generation with usage: nothing to build ticks from"
_CACHE_READ = (
    "input_cached_tokens",
    "input_cache_read",
    "cache_read_input_tokens",
    "input_cached",
    "prompt_details.cache_read",
    "prompt_details.cached",
)
_CACHE_WRITE = (
    "input_cache_creation",
    "input_cache_write",
    "cache_creation_input_tokens",
    "input_cache_creation_tokens",
    "prompt_details.cache_write",
    "prompt_details.cache_creation",
)
_REASONING = (
    "output_reasoning",
    "output_reasoning_tokens",
    "completion_details.reasoning",
    "reasoning_tokens",
)
_TOOL_PREFIXES = ("execute_tool ", "running tool: ", "tool.")


def _exports(doc: Any) -> list[tuple[dict[str, Any], list[Any]]]:
    """The (trace, observations) pairs of a document: one export, a trace object with its
    observations inside (public API), or a list (or `data` page) of either."""
    if isinstance(doc, dict):
        trace = doc.get("trace")
        if isinstance(trace, dict) and isinstance(doc.get("observations"), list):
            return [(trace, doc["observations"])]
        if (
            isinstance(doc.get("observations"), list)
            and isinstance(doc.get("id"), str)
            and "timestamp" in doc
            and all(isinstance(o, dict) and "type" in o for o in doc["observations"][:5])
        ):
            return [(doc, doc["observations"])]
        if isinstance(doc.get("data"), list) and doc["data"]:
            return _exports(doc["data"])
        return []
    if isinstance(doc, list) and doc:
        out = []
        for item in doc:
            found = _exports(item) if isinstance(item, dict) else []
            if not found:
                return []
            out.extend(found)
        return out
    return []


def looks_like(doc: Any) -> bool:
    return bool(_exports(doc))


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _first(d: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        n = _count(d.get(key))
        if n is not None:
            return n
    return None


def _usage_dict(obs: dict[str, Any]) -> dict[str, Any] | None:
    """The observation's usage types, from the newest field that has any."""
    details = obs.get("usageDetails")
    if isinstance(details, dict) and details:
        return details
    usage = obs.get("usage")
    if isinstance(usage, dict) and usage:
        return {
            "input": usage.get("input", usage.get("promptTokens")),
            "output": usage.get("output", usage.get("completionTokens")),
            "total": usage.get("total", usage.get("totalTokens")),
        }
    legacy = {
        "input": obs.get("inputUsage", obs.get("promptTokens")),
        "output": obs.get("outputUsage", obs.get("completionTokens")),
        "total": obs.get("totalUsage", obs.get("totalTokens")),
    }
    return legacy if any(v is not None for v in legacy.values()) else None


def usage(obs: dict[str, Any]) -> dict[str, int | None] | None:
    """Inclusive input, cache read, cache write, output (with reasoning) and reasoning of one
    observation, or None when it reports no positive token count."""
    d = _usage_dict(obs)
    if d is None:
        return None
    base_in, base_out = _count(d.get("input")), _count(d.get("output"))
    total = _count(d.get("total"))
    cache_read, cache_write = _first(d, _CACHE_READ), _first(d, _CACHE_WRITE)
    reasoning = _first(d, _REASONING)
    if not any((base_in, base_out, cache_read, cache_write, total)):
        return None
    # Langfuse-style detail types (no dot) are split out of input/output; OpenInference-mapped
    # ones (`prompt_details.*`) are parts of them. A total of input + output settles it.
    split_in = {k: _count(v) or 0 for k, v in d.items() if "." not in k and _input_detail(k)}
    split_out = {k: _count(v) or 0 for k, v in d.items() if "." not in k and _output_detail(k)}
    extra_in, extra_out = sum(split_in.values()), sum(split_out.values())
    if total is not None and total == (base_in or 0) + (base_out or 0):
        extra_in = extra_out = 0
    inclusive_in = None if base_in is None and not extra_in else (base_in or 0) + extra_in
    output = None if base_out is None and not extra_out else (base_out or 0) + extra_out
    return {
        "input": inclusive_in,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "output": output,
        "reasoning": reasoning,
    }


def _input_detail(key: str) -> bool:
    return key != "input" and ("input" in key or key.startswith("prompt"))


def _output_detail(key: str) -> bool:
    return key != "output" and ("output" in key or key.startswith("completion"))


def _cost(obs: dict[str, Any]) -> float | None:
    details = obs.get("costDetails")
    if isinstance(details, dict) and details:
        total = details.get("total")
        if isinstance(total, int | float) and not isinstance(total, bool):
            return float(total) if total > 0 else None
        parts = [v for v in details.values() if isinstance(v, int | float) and v > 0]
        return float(sum(parts)) if parts else None
    for key in ("calculatedTotalCost", "totalCost"):
        value = obs.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def _attrs(obs: dict[str, Any]) -> dict[str, Any]:
    """The OTel attributes Langfuse kept in the observation's metadata, when it did."""
    md = obs.get("metadata")
    if isinstance(md, str):
        try:
            md = orjson.loads(md)
        except orjson.JSONDecodeError:
            return {}
    attrs = md.get("attributes") if isinstance(md, dict) else None
    return attrs if isinstance(attrs, dict) else {}


def _tool_name(obs: dict[str, Any], attrs: dict[str, Any]) -> str | None:
    """The tool an observation executed, or None when it is not a tool execution."""
    kind = obs.get("type")
    if kind not in ("TOOL", "SPAN"):
        return None
    for key in ("gen_ai.tool.name", "tool.name"):
        if isinstance(attrs.get(key), str) and attrs[key]:
            if key == "tool.name" and attrs.get("openinference.span.kind") not in (None, "TOOL"):
                return None  # an agent step that mentions the tool it chose
            return str(attrs[key])
    output = obs.get("output")
    if isinstance(output, dict) and output.get("type") == "tool":  # a LangChain ToolMessage
        return str(output.get("name") or obs.get("name") or "tool")
    if kind == "TOOL" or attrs.get("gen_ai.operation.name") == "execute_tool":
        name = str(obs.get("name") or "tool")
        for prefix in _TOOL_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                return name[len(prefix) :]
        return name
    return None


def _call_id(obs: dict[str, Any], attrs: dict[str, Any]) -> str | None:
    value = attrs.get("gen_ai.tool.call.id")
    if isinstance(value, list):  # Microsoft Agent Framework: [run id, call id]
        ids = [v for v in value if isinstance(v, str)]
        value = next((v for v in ids if v.startswith("call_")), ids[-1] if ids else None)
    if isinstance(value, str) and value:
        return value
    output = obs.get("output")
    if isinstance(output, dict) and isinstance(output.get("tool_call_id"), str):
        return str(output["tool_call_id"])
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else agentlog.json_text(value)


def _provider(model: str | None, attrs: dict[str, Any]) -> str | None:
    for key in ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"):
        if isinstance(attrs.get(key), str) and attrs[key]:
            return str(attrs[key])
    m = (model or "").lower()
    if m.startswith(("gpt", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    if m.startswith("claude"):
        return "anthropic"
    if m.startswith("gemini"):
        return "google"
    return None


class _Bad(ValueError):
    pass


def _rows(
    trace: dict[str, Any], observations: list[Any], bad: BadRecord, first_line: int
) -> tuple[list[tuple[Any, ...]], int, int, int]:
    """Span rows of one trace, with the counts (observations, bad ones, ticks)."""
    trace_id = trace.get("id")
    if not isinstance(trace_id, str) or not trace_id:
        raise _Bad("trace without an id")
    session = trace.get("sessionId") if isinstance(trace.get("sessionId"), str) else None
    agent = trace.get("name") if isinstance(trace.get("name"), str) else None
    user = trace.get("userId") if isinstance(trace.get("userId"), str) else None
    trace_ns = agentlog.iso_ns(trace.get("timestamp"))
    good: list[tuple[int, dict[str, Any]]] = []
    nbad = 0
    for index, obs in enumerate(observations):
        line = first_line + index
        if not isinstance(obs, dict) or not isinstance(obs.get("id"), str) or not obs["id"]:
            nbad += 1
            bad(line, f"observations[{index}] has no id", agentlog.excerpt(agentlog.json_text(obs)))
            continue
        if agentlog.iso_ns(obs.get("startTime")) is None and trace_ns is None:
            nbad += 1
            bad(line, f"observation {obs['id']} has no valid startTime", obs["id"])
            continue
        good.append((line, obs))
    ids = {obs["id"] for _, obs in good}
    parent = {
        obs["id"]: obs.get("parentObservationId") if obs.get("parentObservationId") in ids else None
        for _, obs in good
    }
    usages = {
        obs["id"]: u
        for _, obs in good
        if obs.get("type") == "GENERATION" and (u := usage(obs)) is not None
    }
    # A generation with usage under another one: the outer one wraps the same request.
    wrappers: set[str] = set()
    for gen in usages:
        up, seen = parent.get(gen), {gen}
        while up is not None and up not in seen:
            seen.add(up)
            if up in usages:
                wrappers.add(up)
            up = parent.get(up)

    def sid(obs_id: str) -> str:
        return agentlog.stable_id("langfuse", trace_id, obs_id)

    # The tool calls each generation's recorded output names, so ticks link to tools by call id.
    call_ids = {
        cid: name
        for _, obs in good
        if obs["id"] not in usages
        and (name := _tool_name(obs, attrs := _attrs(obs))) is not None
        and (cid := _call_id(obs, attrs)) is not None
    }

    def requested(obs: dict[str, Any]) -> str | None:
        text = _text(obs.get("output")) or ""
        calls = [
            {"type": "tool_call", "id": cid, "name": name}
            for cid, name in call_ids.items()
            if cid in text
        ]
        return agentlog.json_text(calls) if calls else None

    rows = []
    ticks = 0
    for line, obs in good:
        oid = obs["id"]
        start = agentlog.iso_ns(obs.get("startTime")) or trace_ns or 0
        end = agentlog.iso_ns(obs.get("endTime"))
        attrs = _attrs(obs)
        level = obs.get("level")
        failed = level == "ERROR"
        status_msg = obs.get("statusMessage") if isinstance(obs.get("statusMessage"), str) else None
        a: dict[str, Any] = {
            "langfuse.observation.id": oid,
            "langfuse.observation.type": obs.get("type"),
            "langfuse.end_time_missing": "true" if end is None else None,
            "session.id": session,
            "user.id": user,
            "gen_ai.agent.name": agent,
            agentlog.SOURCE: SOURCE,
            agentlog.RANK: 1,
        }
        name = str(obs.get("name") or obs.get("type") or "observation")
        u = usages.get(oid)
        tool = _tool_name(obs, attrs)
        if u is not None and oid not in wrappers:
            ticks += 1
            model = obs.get("model") if isinstance(obs.get("model"), str) else None
            model = model or attrs.get("gen_ai.request.model") or attrs.get("llm.model_name")
            first_token = agentlog.iso_ns(obs.get("completionStartTime"))
            a.update(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": _provider(model, attrs),
                    "gen_ai.request.model": model,
                    "gen_ai.response.model": model,
                    "gen_ai.usage.input_tokens": u["input"],
                    "gen_ai.usage.cache_read.input_tokens": u["cache_read"],
                    "gen_ai.usage.cache_creation.input_tokens": u["cache_write"],
                    "gen_ai.usage.output_tokens": u["output"],
                    "gen_ai.usage.reasoning.output_tokens": u["reasoning"],
                    "ttft_ms": (first_token - start) / 1e6
                    if first_token is not None and first_token >= start
                    else None,
                    "cost_usd": _cost(obs),
                    "gen_ai.output.messages": requested(obs),
                }
            )
        elif oid in wrappers:
            a["langfuse.usage_ignored"] = "wraps a generation that reports its own usage"
        elif tool is not None:
            output = obs.get("output")
            result = _text(output)
            a.update(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": tool,
                    "gen_ai.tool.call.id": _call_id(obs, attrs),
                    "gen_ai.tool.call.arguments": _text(obs.get("input")),
                    agentlog.RESULT_CHARS: len(result) if result is not None else None,
                }
            )
            name = "execute_tool " + tool
        up = parent.get(oid)
        rows.append(
            agentlog.span_row(
                trace_id=trace_id,
                span_id=sid(oid),
                parent_span_id=sid(up) if up is not None else None,
                name=name,
                start_ns=start,
                end_ns=end if end is not None else start,
                attributes=a,
                service=SOURCE,
                scope=SCOPE,
                line=line,
                status_code=2 if failed else 0,
                status_message=status_msg if failed else None,
            )
        )
    return rows, len(observations), nbad, ticks


def read(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """The spans of every trace in the export. An export whose generations carry no usage
    fails with NO_TICKS (nothing is written), since it has no model call to profile."""
    exports = _exports(orjson.loads(stream.read()))
    rows: list[tuple[Any, ...]] = []
    records = nbad = ticks = 0
    line = 1
    for trace, observations in exports:
        try:
            r, n, b, t = _rows(trace, observations, bad, line)
        except _Bad as exc:
            records += 1
            nbad += 1
            bad(line, str(exc), agentlog.excerpt(agentlog.json_text(trace)))
            continue
        rows.extend(r)
        records, nbad, ticks = records + n, nbad + b, ticks + t
        line += max(n, 1)
    if not ticks:
        raise InputError(str(path), NO_TICKS)
    batcher = SpanBatcher()
    for row in rows:
        batcher.add(row)
        if batcher.full():
            yield batcher.take(), 0, 0
    yield batcher.take(), records, nbad
