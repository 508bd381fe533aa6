"""Each OTLP dialect fixture gives the per-tick ledger and run split computed by hand.

The expected numbers are the ones in fixtures/README.md; the arithmetic is written out
there. Every test drives the real CLI (`ingest`, `runs`, `ticks`) on a fresh database.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentprof.cli import app

ROOT = Path(__file__).resolve().parent.parent
OTLP = ROOT / "fixtures" / "otlp"
# Wide and colourless, so tables never wrap and output is comparable.
ENV = {"COLUMNS": "1000", "NO_COLOR": "1", "AGENTPROF_DB": None}

runner = CliRunner()


def cli(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def ingest(db: Path, *paths: Path) -> dict[str, Any]:
    result = cli("ingest", "--db", db, *paths, "--json")
    assert result.exit_code == 0, f"stderr: {result.stderr}\nexception: {result.exception!r}"
    return json.loads(result.stdout)


def runs(db: Path) -> list[dict[str, Any]]:
    result = cli("runs", "--db", db, "--json")
    assert result.exit_code == 0, f"stderr: {result.stderr}\nexception: {result.exception!r}"
    return json.loads(result.stdout)["runs"]


def run(db: Path, run_id: str) -> dict[str, Any]:
    found = [r for r in runs(db) if r["run_id"] == run_id]
    assert len(found) == 1, (
        f"run {run_id} appears {len(found)} times in {[r['run_id'] for r in runs(db)]}"
    )
    return found[0]


def ticks(db: Path, run_id: str) -> list[dict[str, Any]]:
    result = cli("ticks", run_id, "--db", db, "--json")
    assert result.exit_code == 0, f"stderr: {result.stderr}\nexception: {result.exception!r}"
    doc = json.loads(result.stdout)
    assert doc["run_id"] == run_id
    return doc["ticks"]


def norm(v: Any) -> Any:
    """1500.0 == 1500, and floats compared to 6 decimals, so the type of a number never matters."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return int(v) if float(v).is_integer() else round(float(v), 6)
    return v


def pick(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in expected if k not in row]
    assert not missing, f"output lacks keys {missing}; it has {sorted(row)}"
    return {k: norm(row[k]) for k in expected}


def trace(n: int) -> str:
    return f"{n:02x}c0ffee" + "0" * 24


def span(n: int, k: int) -> str:
    return f"{n:02x}" + "0" * 10 + f"{k:04x}"


N = None
TICK_KEYS = (
    "tick",
    "span_id",
    "model",
    "provider",
    "input_uncached_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "output_tokens",
    "reasoning_tokens",
    "ttft_ms",
    "latency_ms",
    "reported_cost_usd",
)
RUN_KEYS = (
    "ticks",
    "tool_calls",
    "input_uncached_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "reported_cost_usd",
    "wall_ms",
    "model_ms",
    "tool_ms",
    "tool_serial_ms",
    "harness_ms",
)


def T(*values: Any) -> dict[str, Any]:
    return dict(zip(TICK_KEYS, values, strict=True))


def R(*values: Any, **extra: Any) -> dict[str, Any]:
    d = dict(zip(RUN_KEYS, values, strict=True))
    d.update(extra)
    return d


# fixture -> {run_id: (run expectations, [tick expectations])}. Numbers: fixtures/README.md.
# T(tick, span, model, provider, unc, cr, cw5m, out, rsn, ttft, lat, reported$)
# R(ticks, tools, unc, cr, cw, out, rsn, reported$, wall, model, tool, serial, harness, **more)
S45, H45, S46 = "claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-6"
S45D = "claude-sonnet-4-5-20250929"
A = "anthropic"
# fmt: off
EXPECTED: dict[str, dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]] = {
    "genai_current.json": {trace(1): (
        R(3, 2, 1300, 1500, 900, 600, 40, N, 6000, 4500, 500, 500, 1000, agent="travel-agent"),
        [T(1, span(1, 2), S45, A, 400, 0, 600, 200, N, 750, 1500, N),
         T(2, span(1, 4), S45, A, 300, 600, 300, 100, 40, N, 1000, N),
         T(3, span(1, 6), S45, A, 600, 900, 0, 300, N, N, 2000, N)])},
    "genai_deprecated.json": {trace(2): (
        R(3, 2, 2800, N, N, 450, N, N, 5000, 3000, 1000, 1000, 1000,
          agent="support-bot", cache_hit_ratio=N),
        [T(1, span(2, 2), "gpt-4o", "openai", 800, N, N, 150, N, N, 1000, N),
         T(2, span(2, 4), "gpt-4o-mini", "openai", 900, N, N, 50, N, N, 500, N),
         T(3, span(2, 6), "gpt-4o", "openai", 1100, N, N, 250, N, N, 1500, N)])},
    "openinference.json": {trace(3): (
        R(3, 2, 2100, 3400, 1900, 700, 80, 0.0085, 7000, 5000, 1300, 1300, 700,
          agent="research-agent"),
        [T(1, span(3, 3), H45, A, 500, 0, 1500, 100, N, 400, 1200, 0.0025),
         T(2, span(3, 5), H45, A, 500, 1500, 400, 200, 80, N, 800, 0.002),
         T(3, span(3, 7), H45, A, 1100, 1900, 0, 400, N, N, 3000, 0.004)])},
    "openllmetry_legacy.json": {trace(4): (
        R(3, 2, 600, 1800, 1100, 450, N, N, 4500, 2500, 1200, 1200, 800),
        [T(1, span(4, 2), S45, A, 200, 0, 800, 100, N, N, 1000, N),
         T(2, span(4, 4), S45, A, 100, 800, 200, 150, N, N, 500, N),
         T(3, span(4, 6), S45, A, 300, 1000, 100, 200, N, N, 1000, N)])},
    "vercel_ai.json": {trace(5): (
        R(2, 2, 300, 1800, 2100, 400, 50, N, 5000, 3500, 800, 800, 700),
        [T(1, span(5, 2), S45D, A, 200, 0, 1800, 150, 50, 600, 1500, N),
         T(2, span(5, 5), S45D, A, 100, 1800, 300, 250, 0, 450.5, 2000, N)])},
    "pydantic_ai.json": {trace(6): (
        R(2, 1, 1100, 2500, 2700, 200, N, 0.0154, 2500, 1800, 300, 300, 400,
          agent="support_agent"),
        [T(1, span(6, 2), S45D, A, 500, 0, 2500, 120, N, N, 1000, 0.0123),
         T(2, span(6, 4), S45D, A, 600, 2500, 200, 80, N, N, 800, 0.0031)])},
    "langsmith.json": {trace(7): (
        R(2, 1, 200, 800, 1000, 150, N, N, 3000, 2000, 500, 500, 500),
        [T(1, span(7, 2), S45, A, 100, 0, 900, 100, N, N, 1000, N),
         T(2, span(7, 4), S45, A, 100, 800, 100, 50, N, N, 1000, N)])},
    "claude_code_spans.json": {trace(8): (
        R(3, 2, 60, 8500, 4800, 1100, N, N, 9000, 7000, 1200, 1200, 800),
        [T(1, span(8, 2), S46, A, 10, 0, 4000, 300, N, 900, 2000, N),
         T(2, span(8, 4), S46, A, 20, 4000, 500, 200, N, 700, 1500, N),
         T(3, span(8, 6), S46, A, 30, 4500, 300, 600, N, 1200, 3500, N)])},
    "parallel_tools.json": {trace(9): (
        R(2, 3, 500, 800, 1100, 250, N, N, 4500, 2500, 1500, 1500, 500, agent="trip-agent"),
        [T(1, span(9, 2), S45, A, 200, 0, 800, 150, N, N, 1000, N),
         T(2, span(9, 6), S45, A, 300, 800, 300, 100, N, N, 1500, N)])},
    "overlapping_tools.json": {trace(10): (
        R(2, 2, 1000, 500, 700, 180, N, N, 3000, 2000, 600, 800, 400, agent="fanout-agent"),
        [T(1, span(10, 2), S45, A, 500, 0, 500, 100, N, N, 1000, N),
         T(2, span(10, 5), S45, A, 500, 500, 200, 80, N, N, 1000, N)])},
    "error_and_status.json": {trace(11): (
        R(3, 1, 1200, 800, 0, 350, N, N, 3200, 2300, 300, 300, 600, agent="flaky-agent"),
        [T(1, span(11, 2), S45, A, 600, 400, 0, 200, N, 500, 1000, N),
         T(2, span(11, 3), S45, A, N, N, N, N, N, N, 300, N),
         T(3, span(11, 4), S45, A, 600, 400, 0, 150, N, N, 1000, N)])},
    "unknown_model.json": {trace(12): (
        R(1, 0, 500, N, N, 50, N, N, 1500, 1000, 0, ..., 500, agent="acme-agent"),
        [T(1, span(12, 2), "acme-llm-9000", "acme", 500, N, N, 50, N, N, 1000, N)])},
    "nested_runs.json": {
        trace(13): (
            R(2, 1, 500, 800, 1200, 300, N, N, 6000, 2000, 3600, 3600, 400,
              agent="orchestrator", parent_run_id=N),
            [T(1, span(13, 2), S45, A, 200, 0, 800, 100, N, N, 1000, N),
             T(2, span(13, 4), S45, A, 300, 800, 400, 200, N, N, 1000, N)]),
        trace(14): (
            R(2, 1, 1500, 0, 0, 150, N, N, 3400, 2000, 1000, 1000, 400,
              agent="researcher", parent_run_id=trace(13)),
            [T(1, span(14, 2), H45, A, 600, 0, 0, 60, N, N, 1000, N),
             T(2, span(14, 4), H45, A, 900, 0, 0, 90, N, N, 1000, N)]),
    },
    "uppercase_ids.json": {trace(16): (
        R(1, 0, 100, 0, 0, 10, N, N, 1000, 800, 0, ..., 200, agent="shouty-agent"),
        [T(1, span(16, 2), H45, A, 100, 0, 0, 10, N, N, 800, N)])},
}
SPLIT = {trace(15): (
    R(3, 2, 1000, 1600, 1000, 420, N, N, 4000, 2800, 500, 500, 700, agent="splitter"),
    [T(1, span(15, 2), S45, A, 300, 0, 700, 100, N, N, 1000, N),
     T(2, span(15, 4), S45, A, 300, 700, 200, 120, N, N, 1000, N),
     T(3, span(15, 6), S45, A, 400, 900, 100, 200, N, N, 800, N)])}
# fmt: on
SPLIT_FILES = ("split_across_files_a.json", "split_across_files_b.json")


def expect_run(row: dict[str, Any], expected: dict[str, Any]) -> None:
    """`...` in an expectation means "a run without tools may say 0 or null here"."""
    loose = {k for k, v in expected.items() if v is ...}
    if loose:
        assert all(row.get(k) in (0, None) for k in loose), {k: row.get(k) for k in loose}
    strict = {k: norm(v) for k, v in expected.items() if v is not ...}
    assert pick(row, strict) == strict


def expect_ticks(rows: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    got = [pick(r, e) for r, e in zip(rows, expected, strict=False)]
    assert len(rows) == len(expected), f"{len(rows)} ticks, expected {len(expected)}: {got}"
    assert got == [{k: norm(v) for k, v in e.items()} for e in expected]


def check_all(
    db: Path, runs_expected: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]
) -> None:
    for run_id, (run_exp, ticks_exp) in runs_expected.items():
        expect_run(run(db, run_id), run_exp)
        expect_ticks(ticks(db, run_id), ticks_exp)


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_dialect_fixture_gives_the_hand_computed_ticks(fixture: str, tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / fixture)
    for run_id, (_, ticks_exp) in EXPECTED[fixture].items():
        expect_ticks(ticks(db, run_id), ticks_exp)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_each_dialect_fixture_gives_the_hand_computed_run_totals_and_timing(
    fixture: str, tmp_path: Path
) -> None:
    db = tmp_path / "a.duckdb"
    summary = ingest(db, OTLP / fixture)
    expected = EXPECTED[fixture]
    assert summary["runs"] == len(expected)
    assert summary["ticks"] == sum(r["ticks"] for r, _ in expected.values())
    assert summary["tool_calls"] == sum(r["tool_calls"] for r, _ in expected.values())
    assert sorted(r["run_id"] for r in runs(db)) == sorted(expected)
    for run_id, (run_exp, _) in expected.items():
        expect_run(run(db, run_id), run_exp)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_wall_clock_splits_exactly_into_model_tool_and_harness_time(
    fixture: str, tmp_path: Path
) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / fixture)
    for r in runs(db):
        assert norm(r["wall_ms"]) == norm(r["model_ms"] + r["tool_ms"] + r["harness_ms"]), r


def test_all_dialect_fixtures_ingested_together_keep_their_runs_apart(tmp_path: Path) -> None:
    db = tmp_path / "all.duckdb"
    summary = ingest(db, *(OTLP / f for f in sorted(EXPECTED)), *(OTLP / f for f in SPLIT_FILES))
    everything = {k: v for fixture in EXPECTED.values() for k, v in fixture.items()} | SPLIT
    assert summary["records_skipped"] == 0
    assert sorted(r["run_id"] for r in runs(db)) == sorted(everything)
    check_all(db, everything)


# --------------------------------------------------------------------------- one behaviour each


def test_genai_time_to_first_chunk_in_seconds_becomes_milliseconds(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "genai_current.json")
    assert [norm(t["ttft_ms"]) for t in ticks(db, trace(1))] == [750, None, None]


def test_genai_reasoning_tokens_are_kept_and_stay_inside_output(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "genai_current.json")
    t2 = ticks(db, trace(1))[1]
    assert (t2["output_tokens"], t2["reasoning_tokens"]) == (100, 40)
    assert run(db, trace(1))["output_tokens"] == 600  # reasoning is not added on top


def test_deprecated_names_without_cache_attributes_leave_cache_buckets_null(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "genai_deprecated.json")
    for t in ticks(db, trace(2)):
        assert t["cache_read_tokens"] is None
        assert t["cache_write_5m_tokens"] is None
        assert t["cache_write_1h_tokens"] is None
    r = run(db, trace(2))
    assert (r["cache_read_tokens"], r["cache_write_tokens"], r["cache_hit_ratio"]) == (
        None,
        None,
        None,
    )
    assert r["input_uncached_tokens"] == 800 + 900 + 1100


def test_openinference_first_token_stream_event_gives_ttft(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "openinference.json")
    assert [norm(t["ttft_ms"]) for t in ticks(db, trace(3))] == [400, None, None]


def test_openinference_chain_and_agent_spans_are_neither_ticks_nor_tools(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "openinference.json")
    r = run(db, trace(3))
    assert (r["ticks"], r["tool_calls"]) == (3, 2)


def test_reported_cost_is_passed_through_untouched(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "openinference.json", OTLP / "pydantic_ai.json")
    assert [norm(t["reported_cost_usd"]) for t in ticks(db, trace(3))] == [0.0025, 0.002, 0.004]
    assert [norm(t["reported_cost_usd"]) for t in ticks(db, trace(6))] == [0.0123, 0.0031]
    assert norm(run(db, trace(3))["reported_cost_usd"]) == 0.0085
    assert norm(run(db, trace(6))["reported_cost_usd"]) == 0.0154


def test_inclusive_source_whose_cache_counts_exceed_input_is_treated_as_disjoint(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "openllmetry_legacy.json")
    t3 = ticks(db, trace(4))[2]
    # prompt_tokens 300 < cache_read 1000 + cache_creation 100: FORMATS §0 sanity rule.
    assert (t3["input_uncached_tokens"], t3["cache_read_tokens"], t3["cache_write_5m_tokens"]) == (
        300,
        1000,
        100,
    )


def test_openllmetry_capitalised_system_is_normalised_to_a_provider_id(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "openllmetry_legacy.json")
    assert {t["provider"] for t in ticks(db, trace(4))} == {"anthropic"}


def test_vercel_outer_span_repeating_total_usage_is_not_counted(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "vercel_ai.json")
    r = run(db, trace(5))
    assert r["ticks"] == 2
    assert (
        r["input_uncached_tokens"],
        r["cache_read_tokens"],
        r["cache_write_tokens"],
        r["output_tokens"],
    ) == (300, 1800, 2100, 400)
    assert [t["span_id"] for t in ticks(db, trace(5))] == [span(5, 2), span(5, 5)]


def test_vercel_ms_to_first_chunk_and_dotted_provider_are_read(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "vercel_ai.json")
    ts = ticks(db, trace(5))
    assert [norm(t["ttft_ms"]) for t in ts] == [600, 450.5]
    assert {t["provider"] for t in ts} == {"anthropic"}


def test_pydantic_agent_run_totals_are_not_double_counted(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "pydantic_ai.json")
    r = run(db, trace(6))
    # The invoke_agent span says input 6300 / output 200; counting it would double everything.
    assert (
        r["ticks"],
        r["input_uncached_tokens"],
        r["cache_read_tokens"],
        r["cache_write_tokens"],
        r["output_tokens"],
    ) == (2, 1100, 2500, 2700, 200)


def test_model_is_the_response_model_when_both_are_present(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "pydantic_ai.json")
    assert {t["model"] for t in ticks(db, trace(6))} == {"claude-sonnet-4-5-20250929"}


def test_langsmith_python_repr_token_details_are_parsed(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "langsmith.json")
    t2 = ticks(db, trace(7))[1]
    assert (t2["input_uncached_tokens"], t2["cache_read_tokens"], t2["cache_write_5m_tokens"]) == (
        100,
        800,
        100,
    )


def test_claude_code_spans_are_disjoint_and_string_values_are_numbers(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "claude_code_spans.json")
    t2 = ticks(db, trace(8))[1]  # every number on this span is a stringValue
    assert (
        t2["input_uncached_tokens"],
        t2["cache_read_tokens"],
        t2["cache_write_5m_tokens"],
        t2["output_tokens"],
        norm(t2["ttft_ms"]),
    ) == (20, 4000, 500, 200, 700)


def test_claude_code_provider_falls_back_to_the_service_name(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "claude_code_spans.json")
    assert ticks(db, trace(8))[2]["provider"] == "anthropic"


def test_serial_tools_count_in_full_and_the_serial_sum_matches(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "parallel_tools.json")
    r = run(db, trace(9))
    assert (r["tool_calls"], norm(r["tool_ms"]), norm(r["tool_serial_ms"])) == (3, 1500, 1500)
    assert (norm(r["wall_ms"]), norm(r["model_ms"]), norm(r["harness_ms"])) == (4500, 2500, 500)


def test_overlapping_tools_count_once_in_tool_time_but_fully_in_the_serial_sum(
    tmp_path: Path,
) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "overlapping_tools.json")
    r = run(db, trace(10))
    assert (r["tool_calls"], norm(r["tool_ms"]), norm(r["tool_serial_ms"])) == (2, 600, 800)
    assert norm(r["harness_ms"]) == 400


def test_error_tick_keeps_its_error_status_and_unreported_tokens_stay_null(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "error_and_status.json")
    ts = ticks(db, trace(11))
    assert "error" in str(ts[1]["status"]).lower()
    assert "error" not in str(ts[0]["status"]).lower()
    assert "error" not in str(ts[2]["status"]).lower()
    assert [
        ts[1][k] for k in ("input_uncached_tokens", "cache_read_tokens", "output_tokens", "ttft_ms")
    ] == [None, None, None, None]


def test_every_anyvalue_shape_is_accepted_by_the_decoder(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    summary = ingest(db, OTLP / "error_and_status.json")
    assert summary["spans"] == 5
    t1 = ticks(db, trace(11))[0]
    # "1000" (string), 400 and 200 (JSON numbers), 0.5 s (double)
    assert (
        t1["input_uncached_tokens"],
        t1["cache_read_tokens"],
        t1["output_tokens"],
        norm(t1["ttft_ms"]),
    ) == (600, 400, 200, 500)


def test_unknown_model_gets_a_null_cost_and_one_warning(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    result = cli("ingest", "--db", db, OTLP / "unknown_model.json", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("acme-llm-9000") == 1, result.stderr
    assert [t["cost_usd"] for t in ticks(db, trace(12))] == [None]
    assert run(db, trace(12))["cost_usd"] is None


def test_linked_child_trace_records_its_parent_run(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "nested_runs.json")
    assert run(db, trace(14))["parent_run_id"] == trace(13)
    assert run(db, trace(13))["parent_run_id"] is None


def test_uppercase_hex_ids_become_lowercase_run_and_span_ids(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "uppercase_ids.json")
    assert [r["run_id"] for r in runs(db)] == [trace(16)]
    assert [t["span_id"] for t in ticks(db, trace(16))] == [span(16, 2)]


# --------------------------------------------------------------------------- split and re-ingest


def test_span_present_in_both_split_files_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, *(OTLP / f for f in SPLIT_FILES))
    check_all(db, SPLIT)


def test_split_files_ingested_together_are_summarised_as_one_run(tmp_path: Path) -> None:
    summary = ingest(tmp_path / "a.duckdb", *(OTLP / f for f in SPLIT_FILES))
    # 7 span records read, 6 spans stored; one run of 3 ticks and 2 tool calls, counted once.
    got = {k: summary[k] for k in ("files", "spans", "runs", "ticks", "tool_calls")}
    assert got == {"files": 2, "spans": 6, "runs": 1, "ticks": 3, "tool_calls": 2}


@pytest.mark.parametrize("order", [SPLIT_FILES, SPLIT_FILES[::-1]], ids=["a_then_b", "b_then_a"])
def test_split_files_ingested_one_at_a_time_give_the_same_run(
    order: tuple[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "a.duckdb"
    for f in order:
        ingest(db, OTLP / f)
    check_all(db, SPLIT)


def test_reingesting_the_same_file_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "genai_current.json")
    before = (runs(db), ticks(db, trace(1)))
    again = ingest(db, OTLP / "genai_current.json")
    assert again["files_unchanged"] == 1
    assert (runs(db), ticks(db, trace(1))) == before


def test_a_copy_of_a_file_under_another_name_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    ingest(db, OTLP / "genai_current.json")
    before = (runs(db), ticks(db, trace(1)))
    copy = tmp_path / "copy-of-genai.json"
    shutil.copyfile(OTLP / "genai_current.json", copy)
    ingest(db, copy)
    assert (runs(db), ticks(db, trace(1))) == before
