"""`agentprof compare RUN_A RUN_B`: two runs of one database side by side, checked against
`ticks --json`/`runs --json` of each run (an independent oracle) on real traces, and a built pair
whose first divergence is known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REAL_OTLP, ingest_json, run_cli, runs_json, ticks_json
from tests.otlp_builder import span, write_trace

CACHED = REAL_OTLP / "pydantic_ai" / "huge_system_prompt_cached.otlp.json"
UNCACHED = REAL_OTLP / "pydantic_ai" / "huge_system_prompt_uncached.otlp.json"
HOSTILE_TOOL = "[bold]x[/bold]\x1b[31m<script>"


def _trace_id(path: Path) -> str:
    doc = json.loads(path.read_text())
    ids = {
        s["traceId"].lower()
        for rs in doc["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    }
    assert len(ids) == 1
    return ids.pop()


@pytest.fixture
def real_pair(db):
    if not CACHED.exists():
        pytest.skip("../shared/realdata is not beside the checkout")
    ingest_json(db, CACHED, UNCACHED)
    return db, _trace_id(UNCACHED), _trace_id(CACHED)


def _tick(trace: str, n: int, start: float, model: str, tools: list[str], root: str) -> list[Any]:
    """Tick n: a chat span, then its tool calls one after another."""
    spans = [
        span(
            trace,
            f"{n:08x}" + "0" * 8,
            f"chat {model}",
            start,
            start + 100,
            root,
            gen_ai__operation__name="chat",
            gen_ai__provider__name="anthropic",
            gen_ai__request__model=model,
            gen_ai__usage__input_tokens=1000 * n,
            gen_ai__usage__output_tokens=10,
        )
    ]
    for i, tool in enumerate(tools):
        spans.append(
            span(
                trace,
                f"{n:08x}" + f"{i + 1:08x}",
                f"execute_tool {tool}",
                start + 110 + 20 * i,
                start + 125 + 20 * i,
                root,
                gen_ai__operation__name="execute_tool",
                gen_ai__tool__name=tool,
            )
        )
    return spans


def _run(path: Path, trace: str, ticks: list[tuple[str, list[str]]]) -> Path:
    root = "f" * 16
    spans = [span(trace, root, "invoke_agent pair", 0, 1000 * len(ticks) + 10)]
    for n, (model, tools) in enumerate(ticks, start=1):
        spans.extend(_tick(trace, n, 1000 * (n - 1), model, tools, root))
    return write_trace(path, spans)


A_ID = "aa" * 16
B_ID = "bb" * 16
SONNET, HAIKU = "claude-sonnet-4-5", "claude-haiku-4-5"


@pytest.fixture
def built_pair(db, tmp_path):
    a = [(SONNET, ["search"]), (SONNET, ["search", "search"]), (SONNET, [])]
    b = [(SONNET, ["search"]), (SONNET, ["search", HOSTILE_TOOL]), (HAIKU, ["fetch"]), (SONNET, [])]
    ingest_json(db, _run(tmp_path / "a.json", A_ID, a), _run(tmp_path / "b.json", B_ID, b))
    return db


def test_two_real_runs_compare_tick_by_tick_with_the_costs_of_their_own_ledgers(real_pair):
    db, a, b = real_pair
    ran = run_cli("compare", a[:8], b[:8], "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    doc = ran.json()
    assert (doc["run_a"], doc["run_b"]) == (a, b)
    assert [r["side"] for r in doc["runs"]] == ["A", "B"]
    ticks_a, ticks_b = ticks_json(db, a), ticks_json(db, b)
    assert [t["tick"] for t in doc["ticks"]] == list(range(1, max(len(ticks_a), len(ticks_b)) + 1))
    for row, ta, tb in zip(doc["ticks"], ticks_a, ticks_b, strict=False):
        assert row["a_cost_usd"] == pytest.approx(ta["cost_usd"])
        assert row["b_cost_usd"] == pytest.approx(tb["cost_usd"])
        assert row["cost_change_usd"] == pytest.approx(tb["cost_usd"] - ta["cost_usd"])
        for cls in ("input_uncached", "cache_read", "cache_write_5m", "output"):
            assert row[f"a_{cls}_tokens"] == ta[f"{cls}_tokens"]
            assert row[f"b_{cls}_tokens"] == tb[f"{cls}_tokens"]
    # The uncached run sends its whole prompt uncached; the cached one reads it from tick 2 on.
    assert doc["ticks"][1]["a_cache_read_tokens"] in (None, 0)
    assert doc["ticks"][1]["b_cache_read_tokens"] > 10_000
    totals = {t["metric"]: t for t in doc["totals"]}
    runs = {r["run_id"]: r for r in runs_json(db)}
    for side, rid in (("a", a), ("b", b)):
        assert totals["cost_usd"][side] == pytest.approx(runs[rid]["cost_usd"])
        assert totals["ticks"][side] == runs[rid]["ticks"]
        assert totals["tool_calls"][side] == runs[rid]["tool_calls"]
        assert totals["wall_ms"][side] == pytest.approx(runs[rid]["wall_ms"])
        split = sum(totals[m][side] for m in ("model_ms", "tool_ms", "harness_ms"))
        assert split == pytest.approx(totals["wall_ms"][side])
    assert totals["cost_usd"]["change"] == pytest.approx(runs[b]["cost_usd"] - runs[a]["cost_usd"])
    assert totals["cost_usd"]["change"] < 0  # caching the prompt made the run cheaper
    # Same agent, same task: the same tools on every tick, so no divergence.
    assert doc["first_divergent_tick"] is None and doc["divergence"] is None
    assert [t["tool_name"] for t in doc["tools"]] == ["get_customer"]
    assert doc["tools"][0]["a_calls"] == doc["tools"][0]["b_calls"] == runs[a]["tool_calls"]


def test_the_first_divergence_is_the_first_tick_calling_a_different_set_of_tools(built_pair):
    doc = run_cli("compare", A_ID, B_ID, "--db", built_pair, "--json").json()
    assert doc["first_divergent_tick"] == 2
    assert doc["divergence"] == "tools"
    by_tick = {t["tick"]: t for t in doc["ticks"]}
    assert by_tick[1]["diverges"] is False
    assert by_tick[2]["a_tools"] == ["search", "search"]
    assert by_tick[2]["b_tools"] == ["search", HOSTILE_TOOL]
    assert by_tick[3]["divergence"] == "model, tools"
    assert by_tick[4]["divergence"] == "only in B"
    assert by_tick[4]["a_model"] is None and by_tick[4]["a_cost_usd"] is None
    tools = {t["tool_name"]: (t["a_calls"], t["b_calls"], t["calls_change"]) for t in doc["tools"]}
    assert tools == {"search": (3, 2, -1), HOSTILE_TOOL: (0, 1, 1), "fetch": (0, 1, 1)}


def test_calling_one_tool_twice_instead_of_once_is_not_a_divergence(db, tmp_path):
    a = _run(tmp_path / "a.json", A_ID, [(SONNET, ["search"]), (SONNET, [])])
    b = _run(tmp_path / "b.json", B_ID, [(SONNET, ["search", "search"]), (SONNET, [])])
    ingest_json(db, a, b)
    doc = run_cli("compare", A_ID, B_ID, "--db", db, "--json").json()
    assert doc["first_divergent_tick"] is None
    assert doc["ticks"][0]["b_tools"] == ["search", "search"]


def test_a_different_model_on_a_tick_is_a_divergence(db, tmp_path):
    a = _run(tmp_path / "a.json", A_ID, [(SONNET, ["search"]), (SONNET, [])])
    b = _run(tmp_path / "b.json", B_ID, [(SONNET, ["search"]), (HAIKU, [])])
    ingest_json(db, a, b)
    doc = run_cli("compare", A_ID, B_ID, "--db", db, "--json").json()
    assert (doc["first_divergent_tick"], doc["divergence"]) == (2, "model")


def test_the_terminal_view_fits_80_columns_and_prints_trace_text_literally(built_pair):
    ran = run_cli("compare", A_ID[:6], B_ID[:6], "--db", built_pair, columns=80)
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "first divergence: tick 2 (tools)" in ran.stdout
    assert f"A = run {A_ID}" in ran.stdout and f"B = run {B_ID}" in ran.stdout
    # the hostile tool name: markup printed as text, ESC as a visible escape, never raw
    assert "[bold]x[/bold]" in ran.stdout
    assert "\x1b" not in ran.stdout and "\\x1b" in ran.stdout
    for title in ("totals (change = B - A)", "tool sets (calls)", "ticks aligned"):
        assert title in ran.stdout


def test_an_unknown_run_id_is_a_user_error_naming_it(built_pair):
    ran = run_cli("compare", A_ID, "nosuchrun", "--db", built_pair)
    assert ran.exit_code == 1
    assert ran.stdout == ""
    assert ran.stderr.startswith("error: nosuchrun: no such run")


def test_an_existing_file_makes_both_arguments_databases_or_baselines(built_pair, tmp_path):
    # one argument is a file: the database form, whose error names the missing baseline
    ran = run_cli("compare", built_pair, A_ID, "--db", built_pair)
    assert ran.exit_code == 1
    assert f"error: {A_ID}: no such baseline file" in ran.stderr
    # two files: the fleet comparison, unchanged
    doc = run_cli("compare", built_pair, built_pair, "--json").json()
    assert {"old", "new", "metrics", "bottlenecks"} <= set(doc)


def test_run_filters_are_refused_when_comparing_two_runs(built_pair):
    ran = run_cli("compare", A_ID, B_ID, "--db", built_pair, "--since", "2026-01-01")
    assert ran.exit_code == 2
    assert "two run ids need none" in ran.stderr


def test_the_comparison_as_a_page_escapes_trace_text_and_marks_the_divergence(built_pair, tmp_path):
    page = tmp_path / "compare.html"
    ran = run_cli("compare", A_ID, B_ID, "--db", built_pair, "-o", page)
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout == "" and f"wrote {page}" in ran.stderr
    html = page.read_text()
    assert "First divergence at tick 2: tools." in html
    assert html.count('<tr class="worse">') == 3  # ticks 2, 3 and 4 diverge
    assert "<script>" not in html.split("</head>", 1)[1]  # the hostile tool name is escaped
    assert "&lt;script&gt;" in html or "&lt;" in html
    assert "http" not in html.replace("http-equiv", "")  # self-contained: nothing to fetch
    refused = run_cli("compare", str(built_pair), str(built_pair), "-o", page)
    assert refused.exit_code == 2  # a page is for two runs only
