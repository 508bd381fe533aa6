"""Whole-run timelines: the HTML drill-down draws every tool call of a long run (one lane per
tool, the rest in an "other" lane), marks the critical path and the peak concurrency, zooms into
the busiest stretch, and gives each meaning its own colour; the terminal drill-down of a long
run fits a couple of screens at 80 columns, with every row behind --all-ticks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REALDATA, ingest_json, run_cli, runs_json
from tests.otlp_builder import span, write_trace

LONG = "1ee7" * 8
TICKS, PER_TICK, NAMES = 20, 3, 15
SPOTTER = REALDATA / "public" / "claude-code" / "spotter"


def _attrs(**kv: Any) -> list[dict[str, Any]]:
    return [
        {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
        for k, v in kv.items()
    ]


def _long_run(path: Path) -> Path:
    """20 ticks 3 s apart; each requests 3 overlapping tool calls (1100-1600, 1200-2000,
    1300-2400 ms after the tick starts), named tool_00..tool_14 in turn: 60 calls, 15 tools, at
    most 3 at once, and the third call of each tick is the one the next tick waits on."""
    root = "f" * 16
    spans = [span(LONG, root, "invoke_agent long", 0, TICKS * 3000)]
    n = 0
    for i in range(TICKS):
        t = i * 3000
        chat = span(LONG, f"{0xC000 + i:016x}", "chat m", t + 100, t + 1100, root)
        chat["attributes"] = _attrs(
            **{
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4-5",
                "gen_ai.usage.input_tokens": 1000 + 100 * i,
                "gen_ai.usage.output_tokens": 50,
            }
        )
        spans.append(chat)
        for j in range(PER_TICK):
            tool = span(
                LONG,
                f"{0xD000 + n:016x}",
                "execute_tool",
                t + 1100 + 100 * j + 100,
                t + 1600 + 400 * j,
                root,
            )
            tool["attributes"] = _attrs(
                **{
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": f"tool_{n % NAMES:02d}",
                }
            )
            spans.append(tool)
            n += 1
    return write_trace(path, spans)


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("timeline")
    db = tmp / "long.duckdb"
    ingest_json(db, _long_run(tmp / "long.json"), FIXTURES / "otlp" / "genai_current.json")
    return db


@pytest.fixture(scope="module")
def long_html(long_db: Path) -> str:
    out = long_db.parent / "r.html"
    ran = run_cli("report", "--db", long_db, "-o", out, "--all-runs")
    assert ran.exit_code == 0, ran.stderr
    return out.read_text()


def _article(text: str, run_id: str) -> str:
    start = text.index(f'id="run-{run_id}"')
    return text[start : text.index("</article>", start)]


def _chart(article: str, name: str) -> str:
    start = article.index(f'data-chart="{name}"')
    return article[start : article.index("</figure>", start)]


def test_the_long_run_has_every_tool_call_and_tick_in_the_whole_run_timeline(long_html):
    timeline = _chart(_article(long_html, LONG), "run_timeline")
    assert timeline.count('<g class="gtool">') == TICKS * PER_TICK
    assert timeline.count('<g class="gmodel">') == TICKS
    assert "not drawn" not in long_html
    # 15 tools: the 12 busiest have lanes of their own, the last 3 share one (4 calls each)
    lanes = re.findall(r'text-anchor="end">(tool_\d\d|3 other tools)</text>', timeline)
    assert len(lanes) == 13 and lanes[-1] == "3 other tools"
    counts = re.findall(r'text-anchor="end">(\d+)</text>', timeline)
    assert counts == [str(TICKS)] + ["4"] * 12 + ["12"]  # calls per lane, model calls first


def test_every_tool_call_of_the_real_217_tick_session_turn_is_drawn(tmp_path):
    if not SPOTTER.exists():
        pytest.skip("../shared/realdata is not beside the checkout")
    db = tmp_path / "spotter.duckdb"
    ingest_json(db, SPOTTER)
    busiest = max(runs_json(db), key=lambda r: (r["tool_calls"], r["run_id"]))
    assert busiest["tool_calls"] > 100
    out = tmp_path / "r.html"
    day = busiest["started_at"][:10]
    ran = run_cli("report", "--db", db, "-o", out, "--sort", "ticks", "--top", "66", "--since", day)
    assert ran.exit_code == 0, ran.stderr
    timeline = _chart(_article(out.read_text(), busiest["run_id"]), "run_timeline")
    assert timeline.count('<g class="gtool">') == busiest["tool_calls"]
    assert timeline.count('<g class="gmodel">') == busiest["ticks"]


def test_a_long_run_gets_a_zoomed_view_of_its_busiest_stretch_and_a_short_one_does_not(
    long_html,
):
    long = _article(long_html, LONG)
    zoom = _chart(long, "busiest_window")
    assert 0 < zoom.count('<g class="ztool">') < TICKS * PER_TICK
    assert '<rect class="zoomband"' in _chart(long, "run_timeline")  # shaded where it zooms
    short = _article(long_html, "01c0ffee000000000000000000000000")
    assert 'data-chart="busiest_window"' not in short
    assert 'class="zoomband"' not in short


def test_the_critical_path_and_peak_concurrency_come_from_the_tool_timeline(long_db, long_html):
    ran = run_cli("diagnose", LONG, "--db", long_db, "--json")
    assert ran.exit_code == 0, ran.stderr
    calls = ran.json()["runs"][0]["tool_timeline"]
    assert len(calls) == TICKS * PER_TICK
    # the call that ends last in each tick (the third) is the one the next tick waited on
    critical = [i % PER_TICK for i, c in enumerate(calls) if c["critical"]]
    assert critical == [PER_TICK - 1] * TICKS
    assert [c["concurrency"] for c in calls[:PER_TICK]] == [1, 2, 3]
    timeline = _chart(_article(long_html, LONG), "run_timeline")
    path = timeline[timeline.index('<g class="cpath">') :]
    path = path[: path.index("</g>")]
    assert path.count('<rect class="cp"') == TICKS + TICKS  # every tick and each waited-on call
    assert "peak 3 tool call(s) at once" in timeline


def test_two_serial_tools_are_not_concurrent_and_only_the_last_is_critical(db):
    ingest_json(db, FIXTURES / "otlp" / "parallel_tools.json")
    ran = run_cli("diagnose", "09c0ffee", "--db", db, "--json")
    calls = ran.json()["runs"][0]["tool_timeline"]
    assert [(c["tool_name"], c["critical"], c["concurrency"]) for c in calls] == [
        ("fetch_weather", False, 1),
        ("fetch_flights", False, 1),
        ("fetch_hotels", True, 1),
    ]


def _css_vars() -> dict[str, str]:
    css = (FIXTURES.parent / "reports" / "report.css").read_text()
    root = css[css.index(":root") : css.index("}", css.index(":root"))]
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", root))


def test_each_meaning_drawn_in_the_charts_has_its_own_colour():
    colours = _css_vars()
    # token classes, cumulative cost, model call, serial / parallel tool call, critical path,
    # concurrency, zoomed stretch: one colour each (cache hit ratio shares cache read's on purpose)
    meanings = ("unc", "w5", "w1", "cr", "out", "cum", "model", "ser", "par", "cp", "conc", "zoom")
    values = [colours[m].lower() for m in meanings]
    assert len(set(values)) == len(values), dict(zip(meanings, values, strict=True))


def test_the_timeline_draws_serial_and_parallel_calls_with_their_own_classes(long_html):
    timeline = _chart(_article(long_html, LONG), "run_timeline")
    # the first call of each tick starts alone but overlaps the second: all 60 ran in parallel
    assert timeline.count('<rect class="par"') == TICKS * PER_TICK
    assert '<rect class="unc"' not in timeline  # token colours stay in the token chart


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def test_the_terminal_view_of_a_long_run_summarises_and_fits_80_columns(long_db):
    ran = run_cli("diagnose", LONG, "--db", long_db, columns=80)
    assert ran.exit_code == 0, ran.stderr
    lines = _lines(ran.stdout)
    assert max(len(line) for line in lines) <= 80
    assert len(lines) <= 50
    assert "ticks in" in ran.stdout and "tool calls by tool" in ran.stdout
    rows = [line.split()[0] for line in lines if re.match(r"tool_\d\d ", line)]
    assert len(rows) == 12 and len(set(rows)) == 12  # one row per tool, busiest 12
    assert any(line.startswith("3 other tools") for line in lines)
    full = run_cli("diagnose", LONG, "--db", long_db, "--all-ticks", columns=80)
    assert full.exit_code == 0, full.stderr
    full_lines = _lines(full.stdout)
    assert len(full_lines) > TICKS + TICKS * PER_TICK  # a row per tick and per tool call
    assert max(len(line) for line in full_lines) <= 80


def test_the_terminal_view_of_the_longest_real_turn_fits_two_screens(tmp_path):
    if not SPOTTER.exists():
        pytest.skip("../shared/realdata is not beside the checkout")
    db = tmp_path / "spotter.duckdb"
    ingest_json(db, SPOTTER)
    busiest = max(runs_json(db), key=lambda r: (r["ticks"], r["run_id"]))
    assert busiest["ticks"] > 100
    ran = run_cli("diagnose", busiest["run_id"], "--db", db, columns=80)
    assert ran.exit_code == 0, ran.stderr
    lines = _lines(ran.stdout)
    assert len(lines) <= 100
    assert max(len(line) for line in lines) <= 80
    full = run_cli("diagnose", busiest["run_id"], "--db", db, "--all-ticks", columns=80)
    assert len(_lines(full.stdout)) > busiest["ticks"] + busiest["tool_calls"]
