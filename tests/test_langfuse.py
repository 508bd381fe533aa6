"""Langfuse trace exports (`../shared/realdata/public/langfuse-export/`, 13 frameworks): every
file ingests as one run; ticks, tool calls, tokens and reported cost are checked against numbers
summed here from the export files themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agentprof.sources import langfuse
from tests.conftest import REALDATA, ingest_json, run_cli, runs_json, ticks_json

EXPORTS = REALDATA / "public" / "langfuse-export"

# (ticks, tool calls) per export, read off each file by hand:
# - agno: two `OpenAIChat.invoke` generations (agno's instrumentation) each wrap a `chat
#   gpt-4o-mini` generation (the SDK call, whose usage equals the response's `usage`): 2 ticks.
#   One tool (`duckduckgo_search`, an OpenInference TOOL span with `tool.name`).
# - beeai: three `backend.openai.chat.start-N` generations carry input counts only; the
#   `…finish`/`…success` generations carry none. Its tool spans are events (start/finish/success,
#   all ending at the trace's end) without a tool name: no tool call can be delimited.
# - google-vertex-tools-langchain: usage only in the legacy inputUsage/outputUsage columns.
# - langgraph: `Web-Search` returns a LangChain ToolMessage; the `tools` node around it does not.
# - microsoft-agent: the AGENT observation repeats its second generation's usage: not a tick.
# - openai-assistants: the generation has no endTime (a tick of zero latency).
# - pydantic-ai: `running 3 tools` is a bookkeeping span around three TOOL observations.
EXPECTED = {
    "agno-2025-06-11.json": (2, 1),
    "autogen-2025-06-06.json": (1, 0),
    "beeai-2025-08-01.json": (3, 0),
    "google-adk-2025-08-28.json": (2, 1),
    "google-gemini-2025-08-01.json": (1, 0),
    "google-vertex-tools-langchain-2025-09-19.json": (1, 0),
    "koog-2025-08-26.json": (2, 2),
    "langgraph-2025-08-22.json": (2, 1),
    "llamaindex-2025-06-05.json": (1, 0),
    "microsoft-agent-2025-10-14.json": (2, 1),
    "openai-agents-2025-09-30.json": (2, 1),
    "openai-assistants-2024-05-29.json": (1, 0),
    "pydantic-ai-tools-2025-12-04.json": (4, 3),
}
# Generations that wrap another generation of the same request (see agno above), by name.
WRAPPERS = {"agno-2025-06-11.json": {"OpenAIChat.invoke"}}


def export(name: str) -> dict[str, Any]:
    return json.loads((EXPORTS / name).read_text())  # type: ignore[no-any-return]


def file_numbers(name: str) -> tuple[int, int, int | None, float]:
    """Ticks, input, output (None when no generation reports one) and cost, summed from the
    export: GENERATION observations with a positive count, wrappers left out. No export here
    reports cache or reasoning detail types other than zero or (google-gemini) a part of
    output, so `input`/`output` are the whole counts."""
    ticks = inp = 0
    out: int | None = None
    cost = 0.0
    for o in export(name)["observations"]:
        if o["type"] != "GENERATION" or o["name"] in WRAPPERS.get(name, set()):
            continue
        usage = o.get("usageDetails") or {
            "input": o.get("inputUsage"),
            "output": o.get("outputUsage"),
        }
        if not (usage.get("input") or usage.get("output")):
            continue
        ticks += 1
        inp += usage.get("input") or 0
        if usage.get("output") is not None:
            out = (out or 0) + usage["output"]
        details = o.get("costDetails") or {}
        cost += details.get("total", o.get("calculatedTotalCost") or 0)
    return ticks, inp, out, cost


def test_the_thirteen_exports_are_all_there() -> None:
    assert sorted(p.name for p in EXPORTS.glob("*.json")) == sorted(EXPECTED)


def test_every_export_ingests_as_one_langfuse_run_named_by_its_trace(db: Path) -> None:
    out = ingest_json(db, EXPORTS)
    assert out["files"] == 13 and out["files_failed"] == 0 and out["errors"] == []
    assert out["records_skipped"] == 0
    runs = {r["run_id"]: r for r in runs_json(db)}
    assert {r["source"] for r in runs.values()} == {"langfuse"}
    assert set(runs) == {export(name)["trace"]["id"] for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ticks_tools_tokens_and_cost_match_the_export(db: Path, name: str) -> None:
    ingest_json(db, EXPORTS / name)
    (run,) = runs_json(db)
    ticks, inp, out, cost = file_numbers(name)
    assert (run["ticks"], run["tool_calls"]) == EXPECTED[name]
    assert run["ticks"] == ticks
    inclusive = sum(run[k] or 0 for k in ("input_uncached_tokens", "cache_read_tokens"))
    assert inclusive + (run["cache_write_tokens"] or 0) == inp
    assert run["output_tokens"] == out
    assert run["reported_cost_usd"] == pytest.approx(cost)
    trace = export(name)["trace"]
    assert run["session_id"] == (trace.get("sessionId") or trace["id"])


def test_agno_ticks_are_the_inner_calls_whose_usage_is_the_responses(db: Path) -> None:
    ingest_json(db, EXPORTS / "agno-2025-06-11.json")
    ticks = ticks_json(db, "080130871f53145aecf7c29d5dfb6e4c")
    # The provider's own `usage` in each OpenAIChat.invoke output: 163/20, then 663/225.
    invokes = [
        o["output"]["usage"]
        for o in export("agno-2025-06-11.json")["observations"]
        if o["name"] == "OpenAIChat.invoke"
    ]
    by_start = sorted(invokes, key=lambda u: u["prompt_tokens"])
    assert [t["input_uncached_tokens"] for t in ticks] == [u["prompt_tokens"] for u in by_start]
    assert [t["output_tokens"] for t in ticks] == [u["completion_tokens"] for u in by_start]


def test_beeai_ticks_report_input_but_no_output(db: Path) -> None:
    ingest_json(db, EXPORTS / "beeai-2025-08-01.json")
    (run,) = runs_json(db)
    ticks = ticks_json(db, run["run_id"])
    assert [t["output_tokens"] for t in ticks] == [None, None, None]
    assert all(t["input_uncached_tokens"] > 0 for t in ticks)


def test_gemini_reasoning_is_part_of_the_reported_output(db: Path) -> None:
    ingest_json(db, EXPORTS / "google-gemini-2025-08-01.json")
    (obs,) = export("google-gemini-2025-08-01.json")["observations"]
    usage = obs["usageDetails"]
    # total = input + output: completion_details.reasoning is inside output, not added to it.
    assert usage["total"] == usage["input"] + usage["output"]
    (tick,) = ticks_json(db, "9f2f0fe0228fd81a9fe75882934b384a")
    assert tick["output_tokens"] == usage["output"]
    assert tick["reasoning_tokens"] == usage["completion_details.reasoning"]


def test_tool_calls_carry_names_and_call_ids(db: Path) -> None:
    ingest_json(db, EXPORTS)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select run_id, tool_name, call_id, tick_link from tool_calls"
            " order by run_id, tool_name"
        ).fetchall()
    finally:
        con.close()
    found = {(r, n): c for r, n, c, _ in rows}
    # A tool whose call id shows in a generation's recorded output links to that tick by id.
    for name in EXPECTED:
        outputs = " ".join(
            json.dumps(o.get("output"))
            for o in export(name)["observations"]
            if o["type"] == "GENERATION"
        )
        trace = export(name)["trace"]["id"]
        for run_id, _, call_id, link in rows:
            if run_id == trace:
                by_id = call_id is not None and call_id in outputs
                assert link == ("call_id" if by_id else "time"), (name, call_id)
    assert sum(link == "call_id" for *_, link in rows) == 7
    assert found[("dff173a675b759ce1b70e522b27d6846", "ByeTool")] == "call_dOeEHJDI0liHrCdFWTpkTsuO"
    # Microsoft Agent Framework writes [run id, call id]; the call id is the one ticks name.
    weather = found[("e3a407423619277a2dcef3c13dc89982", "get_weather")]
    assert weather == "call_Sz1QP8T7fuJkIECGDLFWOorq"
    joke_tools = {n for r, n in found if r == "7a38edd8123db47ad8dcb8aa4c5e3926"}
    assert joke_tools == {
        "get_dad_joke_suggestion",
        "get_one_liner_suggestion",
        "get_pun_suggestion",
    }


def write_export(tmp_path: Path, observations: list[dict[str, Any]]) -> Path:
    path = tmp_path / "export.json"
    trace = {"id": "t-1", "timestamp": "2025-01-01T00:00:00Z", "sessionId": "s-1"}
    base = {"startTime": "2025-01-01T00:00:00Z", "endTime": "2025-01-01T00:00:02Z"}
    obs = [{**base, "id": f"o{i}", "name": "chat", **o} for i, o in enumerate(observations)]
    path.write_text(json.dumps({"trace": trace, "observations": obs}))
    return path


def test_langfuse_detail_types_are_split_out_of_input_and_output(db: Path, tmp_path: Path) -> None:
    usage = {
        "input": 100,
        "input_cached_tokens": 900,
        "output": 50,
        "output_reasoning": 20,
        "total": 1070,
    }
    ingest_json(
        db,
        write_export(tmp_path, [{"type": "GENERATION", "model": "gpt-4o", "usageDetails": usage}]),
    )
    (tick,) = ticks_json(db, "t-1")
    assert (tick["input_uncached_tokens"], tick["cache_read_tokens"]) == (100, 900)
    assert (tick["output_tokens"], tick["reasoning_tokens"]) == (70, 20)


def test_openinference_detail_types_are_parts_of_input_and_output(db: Path, tmp_path: Path) -> None:
    usage = {"input": 1000, "prompt_details.cache_read": 900, "output": 50, "total": 1050}
    ingest_json(
        db,
        write_export(tmp_path, [{"type": "GENERATION", "model": "gpt-4o", "usageDetails": usage}]),
    )
    (tick,) = ticks_json(db, "t-1")
    assert (tick["input_uncached_tokens"], tick["cache_read_tokens"]) == (100, 900)
    assert tick["output_tokens"] == 50


def test_a_total_of_input_plus_output_means_the_details_are_inside_them(
    db: Path, tmp_path: Path
) -> None:
    usage = {"input": 1000, "input_cached_tokens": 900, "output": 50, "total": 1050}
    obs = {"type": "GENERATION", "model": "gpt-4o", "usageDetails": usage}
    ingest_json(db, write_export(tmp_path, [obs]))
    (tick,) = ticks_json(db, "t-1")
    assert (tick["input_uncached_tokens"], tick["cache_read_tokens"]) == (100, 900)


def test_an_export_without_usage_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = write_export(tmp_path, [{"type": "GENERATION", "model": "gpt-4o", "usageDetails": {}}])
    ran = run_cli("ingest", "--db", tmp_path / "x.duckdb", path)
    assert ran.exit_code == 1
    assert f"error: {path}: {langfuse.NO_TICKS}" in ran.stderr
    assert "not an OTLP trace export" not in ran.stderr
