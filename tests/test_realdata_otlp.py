"""The real traces in shared/realdata/otlp (pydantic-ai and OpenLLMetry instrumentation): each
is one run with the right ticks and tool calls, and no token is counted twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REAL_OTLP, ingest_json, runs_json, ticks_json

REAL_FILES = sorted(REAL_OTLP.glob("*/*.otlp.json"))
# Tick counts the shared README states outright.
README_TICKS = {
    "pydantic_ai/many_iterations": 31,
    "pydantic_ai/usage_limit_exceeded": 12,
    "openai_sdk_traceloop/many_iterations": 21,
}


def _spans(path: Path) -> list[dict]:
    doc = json.loads(path.read_text())
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def _attrs(span: dict) -> dict:
    out = {}
    for kv in span.get("attributes", []):
        (value,) = kv["value"].values()
        out[kv["key"]] = value
    return out


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name.removesuffix('.otlp.json')}"


def test_the_shared_realdata_is_present():
    assert len(REAL_FILES) == 15


@pytest.mark.parametrize("path", REAL_FILES, ids=_name)
def test_each_real_trace_is_one_run_with_its_model_calls_as_ticks(path, db):
    ingest_json(db, path)
    (run,) = runs_json(db)
    spans = _spans(path)
    model_spans = [s for s in spans if _attrs(s).get("gen_ai.operation.name") == "chat"]
    tool_spans = [s for s in spans if _attrs(s).get("gen_ai.operation.name") == "execute_tool"]
    assert run["run_id"] == spans[0]["traceId"]
    assert run["ticks"] == len(model_spans)
    assert run["ticks"] == README_TICKS.get(_name(path), run["ticks"])
    assert run["tool_calls"] == len(tool_spans)
    ticks = ticks_json(db, run["run_id"])
    assert [t["tick"] for t in ticks] == list(range(1, len(model_spans) + 1))
    starts = [t["started_at"] for t in ticks]
    assert starts == sorted(starts)


@pytest.mark.parametrize("path", REAL_FILES, ids=_name)
def test_real_trace_tokens_add_up_to_what_the_model_spans_report(path, db):
    """Inclusive input on each model span = our disjoint buckets summed; outputs match; the
    invoke_agent span's run totals are not added on top."""
    ingest_json(db, path)
    (run,) = runs_json(db)
    model = [_attrs(s) for s in _spans(path) if _attrs(s).get("gen_ai.operation.name") == "chat"]
    reported_input = sum(int(a["gen_ai.usage.input_tokens"]) for a in model)
    reported_output = sum(int(a["gen_ai.usage.output_tokens"]) for a in model)
    ours_input = sum(
        run[k] or 0 for k in ("input_uncached_tokens", "cache_read_tokens", "cache_write_tokens")
    )
    assert ours_input == reported_input
    assert run["output_tokens"] == reported_output


@pytest.mark.parametrize("path", sorted(REAL_OTLP.glob("pydantic_ai/*.otlp.json")), ids=_name)
def test_pydantic_ai_ledger_matches_the_agent_spans_aggregated_usage(path, db):
    """pydantic-ai's invoke_agent span carries the run totals: an independent check of the sum."""
    ingest_json(db, path)
    (run,) = runs_json(db)
    (agent,) = [
        _attrs(s) for s in _spans(path) if _attrs(s).get("gen_ai.operation.name") == "invoke_agent"
    ]
    total_in = int(agent["gen_ai.aggregated_usage.input_tokens"])
    cache_read = int(agent.get("gen_ai.aggregated_usage.cache_read.input_tokens", 0))
    cache_write = int(agent.get("gen_ai.aggregated_usage.cache_creation.input_tokens", 0))
    assert (run["cache_read_tokens"] or 0) == cache_read
    assert (run["cache_write_tokens"] or 0) == cache_write
    assert run["input_uncached_tokens"] == total_in - cache_read - cache_write
    assert run["output_tokens"] == int(agent["gen_ai.aggregated_usage.output_tokens"])


def test_pydantic_ai_reported_cost_is_kept_beside_the_computed_one(db):
    path = REAL_OTLP / "pydantic_ai/huge_system_prompt_cached.otlp.json"
    ingest_json(db, path)
    (run,) = runs_json(db)
    reported = [
        float(_attrs(s)["operation.cost"]) for s in _spans(path) if "operation.cost" in _attrs(s)
    ]
    ticks = ticks_json(db, run["run_id"])
    assert [t["reported_cost_usd"] for t in ticks] == pytest.approx(reported)
    # pydantic-ai prices with genai-prices too, so the two agree on this run.
    assert [t["cost_usd"] for t in ticks] == pytest.approx(reported, rel=1e-6)


def test_protobuf_and_json_forms_of_one_run_give_identical_ledgers(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest_json(a, REAL_OTLP / "pydantic_ai/slow_tool.otlp.json")
    ingest_json(b, REAL_OTLP / "pydantic_ai/slow_tool.otlp.pb")
    (run_a,), (run_b,) = runs_json(a), runs_json(b)
    assert run_a == run_b
    assert ticks_json(a, run_a["run_id"]) == ticks_json(b, run_b["run_id"])


def test_protobuf_and_json_of_the_same_spans_are_stored_once(db):
    ingest_json(db, REAL_OTLP / "pydantic_ai/slow_tool.otlp.json")
    summary = ingest_json(db, REAL_OTLP / "pydantic_ai/slow_tool.otlp.pb")
    assert summary["spans"] == 0
    assert len(runs_json(db)) == 1


def test_slow_tool_time_is_tool_time_not_harness_time(db):
    ingest_json(db, REAL_OTLP / "pydantic_ai/slow_tool.otlp.json")
    (run,) = runs_json(db)
    assert run["tool_ms"] >= 4000
    assert run["model_ms"] + run["tool_ms"] + run["harness_ms"] == pytest.approx(run["wall_ms"])
    assert run["harness_ms"] < 0.05 * run["wall_ms"]


def test_untraced_tools_show_up_as_harness_time(db):
    ingest_json(db, REAL_OTLP / "openai_sdk_traceloop/untraced_tools.otlp.json")
    (run,) = runs_json(db)
    assert run["tool_calls"] == 0
    assert run["harness_ms"] >= 2500


def test_parallel_tools_count_once_in_tool_time_and_fully_in_the_serial_sum(db):
    ingest_json(db, REAL_OTLP / "pydantic_ai/parallel_tools.otlp.json")
    (run,) = runs_json(db)
    assert run["tool_calls"] == 5
    assert run["tool_serial_ms"] > 1.5 * run["tool_ms"]


def test_streaming_ticks_get_ttft_from_the_first_chunk_event(db):
    path = REAL_OTLP / "openai_sdk_traceloop/streaming.otlp.json"
    ingest_json(db, path)
    (run,) = runs_json(db)
    expected = []
    for s in _spans(path):
        if _attrs(s).get("gen_ai.operation.name") == "chat":
            first = min(
                int(e["timeUnixNano"])
                for e in s["events"]
                if e["name"] == "gen_ai.content.completion.chunk"
            )
            expected.append((first - int(s["startTimeUnixNano"])) / 1e6)
    ticks = ticks_json(db, run["run_id"])
    assert [t["ttft_ms"] for t in ticks] == pytest.approx(expected)
    assert all(1000 < t["ttft_ms"] < t["latency_ms"] for t in ticks)


def test_cache_hit_ratio_is_token_weighted_and_null_when_not_reported(tmp_path):
    cached, uncached = tmp_path / "c.duckdb", tmp_path / "u.duckdb"
    ingest_json(cached, REAL_OTLP / "pydantic_ai/huge_system_prompt_cached.otlp.json")
    ingest_json(uncached, REAL_OTLP / "pydantic_ai/huge_system_prompt_uncached.otlp.json")
    (c,), (u,) = runs_json(cached), runs_json(uncached)
    total = c["input_uncached_tokens"] + c["cache_read_tokens"] + c["cache_write_tokens"]
    assert c["cache_hit_ratio"] == pytest.approx(c["cache_read_tokens"] / total)
    assert u["cache_hit_ratio"] is None
    assert u["cache_read_tokens"] is None


def test_tool_calls_link_to_the_tick_that_requested_them(db):
    ingest_json(db, REAL_OTLP / "openai_sdk_traceloop/parallel_tool_calls.otlp.json")
    (run,) = runs_json(db)
    ticks = ticks_json(db, run["run_id"])
    assert [t["tool_calls"] for t in ticks] == [3, 0]
