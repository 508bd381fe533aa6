"""Agent trajectories from benchmark harnesses: SWE-agent `.traj` files and OpenHands evaluation
output (`output.jsonl`, one instance run per line), as canonical spans.

- OpenHands keeps every model call: `metrics.response_latencies` (seconds) and
  `metrics.token_usages` (tokens), joined by `response_id`, and the history event each response
  produced (its `tool_call_metadata.model_response.id`). A call is a tick ending at that event
  and lasting its latency; an action whose observation names it (`cause`) is a tool call from
  the action to the observation. A call that produced no action (a malformed tool call) ends at
  the `error` observation that followed it, and a call with no token record has NULL tokens.
  History times are local and carry no zone: the zone is inferred from the responses' own
  `created` (Unix seconds), to the quarter hour; without one they are taken as UTC.
- SWE-agent's `.traj` holds no times and no per-call records, only the run's totals in
  `info.model_stats` (tokens sent and received, cost, API calls). It becomes one run with one
  aggregate tick carrying those totals (`swe_agent.api_calls` says how many calls it stands for)
  and SWE-agent's reported cost, stamped at the file's modification time; no per-call ticks or
  tool calls are made up.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from agentprof.sources import agentlog
from agentprof.sources.agentlog import BadLine
from agentprof.sources.otlp import BadRecord, Batches, SpanBatcher

SWE_AGENT = "swe-agent"
OPENHANDS = "openhands"
SCOPE = "agentprof.trajectories"
_QUARTER_HOUR_S = 900


# --- detection ----------------------------------------------------------------------------


def is_swe_agent(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("trajectory"), list)
        and isinstance(doc.get("info"), dict)
        and "history" in doc
    )


def is_openhands(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "instance_id" in doc
        and isinstance(doc.get("history"), list)
        and isinstance(doc.get("metrics"), dict | None)
        and "metadata" in doc
    )


def is_swe_bench_predictions(doc: Any) -> bool:
    """A SWE-bench predictions line (`all_preds.jsonl`): a patch per instance, no model calls."""
    return isinstance(doc, dict) and {"instance_id", "model_patch"} <= doc.keys()


# --- SWE-agent ----------------------------------------------------------------------------


def _count(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadLine(f"{what} {str(value)[:40]!r} is not a count")
    if isinstance(value, float) and not value.is_integer():
        raise BadLine(f"{what} {value!r} is not a whole number")
    return int(value)


def _cost(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _swe_agent_model(doc: dict[str, Any], path: Path) -> str | None:
    """The model SWE-agent ran: `replay_config.agent.model.name` (1.x), else the run folder's
    name, which SWE-agent starts with the model (`gpt4__<data>__<config>__t-…`)."""
    config = doc.get("replay_config")
    if isinstance(config, str):
        try:
            config = orjson.loads(config)
        except orjson.JSONDecodeError:
            config = None
    agent = config.get("agent") if isinstance(config, dict) else None
    model = agent.get("model") if isinstance(agent, dict) else None
    name = model.get("name") if isinstance(model, dict) else None
    if isinstance(name, str) and name:
        return name
    folder = path.parent.name
    return folder.split("__", 1)[0] if "__" in folder else None


def read_swe_agent(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """One `.traj` file: one run, one aggregate tick with the run's totals (see module doc)."""
    raw = stream.read()
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        bad(1, f"malformed JSON ({exc.args[0] if exc.args else exc})", agentlog.excerpt(raw))
        yield None, 1, 1
        return
    info: Any = doc.get("info") if isinstance(doc, dict) else None
    stats = info.get("model_stats") if isinstance(info, dict) else None
    if not isinstance(info, dict) or not isinstance(stats, dict):
        bad(1, "SWE-agent trajectory without info.model_stats", agentlog.excerpt(raw))
        yield None, 1, 1
        return
    try:
        sent = _count(stats.get("tokens_sent"), "model_stats.tokens_sent")
        received = _count(stats.get("tokens_received"), "model_stats.tokens_received")
        calls = _count(stats.get("api_calls"), "model_stats.api_calls")
    except BadLine as exc:
        bad(1, str(exc), agentlog.excerpt(agentlog.json_text(stats)))
        yield None, 1, 1
        return
    cost = _cost(stats.get("instance_cost", stats.get("total_cost")))
    model = _swe_agent_model(doc, path)
    instance = path.stem
    when = path.stat().st_mtime_ns
    run_id = agentlog.stable_id(SWE_AGENT, instance, agentlog.json_text(stats), nbytes=16)
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.response.model": agentlog.normalize_model(model) if model else None,
        "gen_ai.usage.input_tokens": sent,
        "gen_ai.usage.output_tokens": received,
        # SWE-agent's own cost for the run, kept as the reported cost.
        "cost_usd": cost,
        "swe_agent.api_calls": calls,
        "swe_agent.exit_status": info.get("exit_status")
        if isinstance(info.get("exit_status"), str)
        else None,
        "agentprof.tick.aggregate": "true",
        "agentprof.time_source": "file mtime",
        "gen_ai.agent.name": SWE_AGENT,
        "session.id": instance,
        agentlog.SOURCE: SWE_AGENT,
        agentlog.RANK: 1,
    }
    batcher = SpanBatcher()
    batcher.add(
        agentlog.span_row(
            trace_id=run_id,
            span_id=agentlog.stable_id(SWE_AGENT, run_id, "totals"),
            name="swe_agent.model_stats",
            start_ns=when,
            end_ns=when,
            attributes=attrs,
            service=SWE_AGENT,
            scope=SCOPE,
            line=1,
        )
    )
    yield batcher.take(), 1, 0


# --- OpenHands ----------------------------------------------------------------------------


def _naive_s(value: Any) -> float | None:
    """An OpenHands history time (ISO, local, no zone) as seconds, read as if it were UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _response(event: dict[str, Any]) -> dict[str, Any] | None:
    meta = event.get("tool_call_metadata")
    resp = meta.get("model_response") if isinstance(meta, dict) else None
    return resp if isinstance(resp, dict) else None


def _offset_s(history: list[Any]) -> float:
    """Local time minus UTC, from the first response whose `created` is known (see module doc)."""
    for event in history:
        if not isinstance(event, dict) or "action" not in event:
            continue
        resp = _response(event)
        created = resp.get("created") if resp else None
        local = _naive_s(event.get("timestamp"))
        if isinstance(created, int | float) and not isinstance(created, bool) and local:
            return round((local - created) / _QUARTER_HOUR_S) * _QUARTER_HOUR_S
    return 0.0


class _OpenHandsReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.spans: list[tuple[Any, ...]] = []

    def line(self, lineno: int, doc: dict[str, Any]) -> None:
        if not is_openhands(doc):
            raise BadLine("not an OpenHands evaluation record (instance_id, history, metadata)")
        history = [e for e in doc["history"] if isinstance(e, dict)]
        metrics = doc.get("metrics") or {}
        latencies = metrics.get("response_latencies") or []
        usages = {
            u["response_id"]: u
            for u in metrics.get("token_usages") or []
            if isinstance(u, dict) and u.get("response_id")
        }
        costs = {
            c["response_id"]: c
            for c in metrics.get("costs") or []
            if isinstance(c, dict) and c.get("response_id")
        }
        if not latencies and not usages:
            raise BadLine("OpenHands run without response_latencies or token_usages")
        offset = _offset_s(history)

        def ns(event: dict[str, Any]) -> int | None:
            local = _naive_s(event.get("timestamp"))
            return None if local is None else int(round((local - offset) * 1e9))

        instance = str(doc["instance_id"])
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        config: dict[str, Any] = (
            meta["llm_config"] if isinstance(meta.get("llm_config"), dict) else {}
        )
        first = ns(history[0]) if history else None
        run_id = agentlog.stable_id(OPENHANDS, instance, meta.get("start_time"), first, nbytes=16)
        # The first action event of each response, in history order.
        acted: dict[str, int] = {}
        for i, event in enumerate(history):
            resp = _response(event)
            if "action" in event and resp and isinstance(resp.get("id"), str):
                acted.setdefault(resp["id"], i)
        ticks: dict[str, str] = {}  # response id -> tick span id
        out: list[tuple[Any, ...]] = []  # kept only when the whole record reads
        cursor = 0
        for call in latencies:
            if not isinstance(call, dict) or not isinstance(call.get("response_id"), str):
                continue
            rid = call["response_id"]
            latency = call.get("latency")
            if isinstance(latency, bool) or not isinstance(latency, int | float) or latency < 0:
                raise BadLine(f"response_latencies: latency {str(latency)[:40]!r} for {rid}")
            at = acted.get(rid)
            if at is None:  # no action: the error observation that followed the call
                at = next(
                    (
                        i
                        for i in range(cursor, len(history))
                        if history[i].get("observation") == "error"
                        and _response(history[i]) is None
                    ),
                    None,
                )
            end = ns(history[at]) if at is not None else None
            if at is None or end is None:
                continue  # no time for this call in the history
            cursor = at + 1
            usage = usages.get(rid, {})
            model = usage.get("model") or call.get("model") or config.get("model")
            resp = _response(history[at]) or {}
            span_id = agentlog.stable_id(OPENHANDS, run_id, rid)
            ticks[rid] = span_id
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.response.model": resp.get("model")
                if isinstance(resp.get("model"), str)
                else model,
                "gen_ai.response.id": rid,
                "gen_ai.usage.input_tokens": _count(usage.get("prompt_tokens"), "prompt_tokens"),
                "gen_ai.usage.output_tokens": _count(
                    usage.get("completion_tokens"), "completion_tokens"
                ),
                "gen_ai.usage.cache_read.input_tokens": _count(
                    usage.get("cache_read_tokens"), "cache_read_tokens"
                ),
                "gen_ai.usage.cache_write.input_tokens": _count(
                    usage.get("cache_write_tokens"), "cache_write_tokens"
                ),
                "cost_usd": _cost(costs.get(rid, {}).get("cost")),
                "gen_ai.agent.name": str(meta.get("agent_class") or OPENHANDS),
                "session.id": instance,
                "agentprof.time_zone_offset_s": int(offset),
                agentlog.SOURCE: OPENHANDS,
                agentlog.RANK: 1,
            }
            out.append(
                agentlog.span_row(
                    trace_id=run_id,
                    span_id=span_id,
                    name="openhands.llm_call",
                    start_ns=end - int(round(latency * 1e9)),
                    end_ns=end,
                    attributes=attrs,
                    service=OPENHANDS,
                    scope=SCOPE,
                    line=lineno,
                )
            )
        self._tools(history, ns, run_id, ticks, instance, lineno, out)
        self.spans.extend(out)

    def _tools(
        self,
        history: list[dict[str, Any]],
        ns: Any,
        run_id: str,
        ticks: dict[str, str],
        instance: str,
        lineno: int,
        out: list[tuple[Any, ...]],
    ) -> None:
        observed: dict[str, dict[str, Any]] = {}
        for event in history:
            cause = event.get("cause")
            if "observation" in event and cause is not None:
                observed.setdefault(str(cause), event)
        for event in history:
            resp = _response(event)
            if "action" not in event or resp is None:
                continue
            result = observed.get(str(event.get("id")))
            start = ns(event)
            end = ns(result) if result is not None else None
            if start is None or end is None:
                continue  # no observation (e.g. `finish`): no time to give it
            meta = event["tool_call_metadata"]
            name = str(meta.get("function_name") or event.get("action"))
            content = result.get("content") if result is not None else None
            args = event.get("args")
            out.append(
                agentlog.tool_span_row(
                    trace_id=run_id,
                    span_id=agentlog.stable_id(OPENHANDS, run_id, "tool", event.get("id")),
                    parent_span_id=ticks.get(str(resp.get("id"))),
                    tool_name=name,
                    call_id=meta.get("tool_call_id"),
                    arguments=args,
                    start_ns=start,
                    end_ns=end,
                    session=instance,
                    result_chars=len(content) if isinstance(content, str) else None,
                    source=OPENHANDS,
                    scope=SCOPE,
                    line=lineno,
                )
            )

    def rows(self) -> Iterator[tuple[Any, ...]]:
        yield from self.spans


def read_openhands(stream: IO[bytes], path: Path, bad: BadRecord) -> Batches:
    """OpenHands evaluation output: one run per line (see module doc)."""
    return agentlog.read_jsonl(stream, bad, _OpenHandsReader(path))
