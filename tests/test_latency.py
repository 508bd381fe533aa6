"""Latency as users feel it: per tick TTFT, decode time and TPOT (report/ticks), per run the
seeds' perceived-latency band of its wall-clock (report/runs), per model TTFT and TPOT p50/p95
(report/cost_by_model). Expected numbers are hand-computed from fixtures/README.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, REAL_OTLP, ingest_json, run_cli, runs_json
from tests.otlp_builder import span, write_trace

OTLP = FIXTURES / "otlp"


def _ticks(db: Path, run_id: str) -> list[dict[str, Any]]:
    ran = run_cli("ticks", run_id, "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    return ran.json()["ticks"]  # type: ignore[no-any-return]


def _latency(ticks: list[dict[str, Any]]) -> list[tuple[Any, Any, Any]]:
    return [(t["ttft_ms"], t["decode_ms"], t["tpot_ms"]) for t in ticks]


@pytest.mark.parametrize(
    ("fixture", "run_id", "expected"),
    [
        # genai_current: tick 1 lat 1500, ttft 0.75 s = 750, out 200; ticks 2-3 report no TTFT.
        (
            "genai_current.json",
            "01c0ffee000000000000000000000000",
            [(750.0, 750.0, 750 / 199), (None, None, None), (None, None, None)],
        ),
        # vercel_ai: lat 1500, msToFirstChunk 600, out 150; lat 2000, 450.5, out 250.
        (
            "vercel_ai.json",
            "05c0ffee000000000000000000000000",
            [(600.0, 900.0, 900 / 149), (450.5, 1549.5, 1549.5 / 249)],
        ),
        # claude_code_spans: ttft_ms 900/700/1200, lat 2000/1500/3500, out 300/200/600.
        (
            "claude_code_spans.json",
            "08c0ffee000000000000000000000000",
            [(900.0, 1100.0, 1100 / 299), (700.0, 800.0, 800 / 199), (1200.0, 2300.0, 2300 / 599)],
        ),
        # openinference: first-token event at 500 in a 100-1300 span (ttft 400), out 100.
        (
            "openinference.json",
            "03c0ffee000000000000000000000000",
            [(400.0, 800.0, 800 / 99), (None, None, None), (None, None, None)],
        ),
    ],
)
def test_ticks_json_gives_ttft_decode_and_tpot_as_computed_by_hand(db, fixture, run_id, expected):
    ingest_json(db, OTLP / fixture)
    got = _latency(_ticks(db, run_id))
    assert len(got) == len(expected)
    for row, want in zip(got, expected, strict=True):
        assert row == pytest.approx(want)


def test_a_source_without_ttft_gives_null_latency_splits_never_zero(db):
    ingest_json(db, OTLP / "genai_deprecated.json")
    ticks = _ticks(db, "02c0ffee000000000000000000000000")
    assert ticks and all(t["latency_ms"] for t in ticks)
    assert _latency(ticks) == [(None, None, None)] * 3


def _streamed_chat(trace: str, output: int, ttft_s: float, end_ms: float) -> list[dict[str, Any]]:
    root = span(
        trace, "a" * 16, "invoke_agent t", 0, end_ms, gen_ai__operation__name="invoke_agent"
    )
    chat = span(trace, "b" * 16, "chat m", 0, end_ms, root["spanId"])
    chat["attributes"] = [
        {"key": k, "value": v}
        for k, v in (
            ("gen_ai.operation.name", {"stringValue": "chat"}),
            ("gen_ai.provider.name", {"stringValue": "anthropic"}),
            ("gen_ai.request.model", {"stringValue": "claude-sonnet-4-5"}),
            ("gen_ai.usage.input_tokens", {"intValue": "100"}),
            ("gen_ai.usage.output_tokens", {"intValue": str(output)}),
            ("gen_ai.response.time_to_first_chunk", {"doubleValue": ttft_s}),
        )
    ]
    return [root, chat]


def test_tpot_is_null_when_a_streamed_tick_produced_at_most_one_token(db, tmp_path):
    one = "e1" * 16
    two = "e2" * 16
    write_trace(tmp_path / "one.json", _streamed_chat(one, 1, 0.2, 300))
    write_trace(tmp_path / "two.json", _streamed_chat(two, 2, 0.2, 300))
    ingest_json(db, tmp_path / "one.json", tmp_path / "two.json")
    # one token: decode time is there (100 ms), but nothing to divide it by
    assert _latency(_ticks(db, one)) == [pytest.approx((200.0, 100.0, None))]
    assert _latency(_ticks(db, two)) == [pytest.approx((200.0, 100.0, 100.0))]


# Wall-clock -> band, at and around each boundary of the seeds' table (lower bound inclusive).
BANDS = [
    (50, "instantaneous"),
    (99, "instantaneous"),
    (100, "responsive"),
    (499, "responsive"),
    (500, "noticeable"),
    (1999, "noticeable"),
    (2000, "frustrating"),
    (4999, "frustrating"),
    (5000, "uncomfortable"),
    (9999, "uncomfortable"),
    (10000, "broken"),
    (600000, "broken"),
]


def test_every_run_carries_the_perceived_latency_band_of_its_wall_clock(db, tmp_path):
    expected = {}
    for i, (wall, band) in enumerate(BANDS):
        trace = f"{i + 1:02x}" * 16
        write_trace(tmp_path / f"band{i}.json", _streamed_chat(trace, 10, 0.01, wall))
        expected[trace] = (float(wall), band)
    ingest_json(db, tmp_path)
    got = {r["run_id"]: (r["wall_ms"], r["latency_band"]) for r in runs_json(db)}
    assert got == expected


@pytest.mark.parametrize(
    ("fixture", "band"),
    [
        ("genai_current.json", "uncomfortable"),  # wall 6000
        ("vercel_ai.json", "uncomfortable"),  # wall 5000: the boundary belongs to the upper band
        ("pydantic_ai.json", "frustrating"),  # wall 2500
        ("langsmith.json", "frustrating"),  # wall 3000
    ],
)
def test_fixture_runs_fall_in_the_band_of_their_hand_checked_wall_clock(db, fixture, band):
    ingest_json(db, OTLP / fixture)
    (run,) = runs_json(db)
    assert run["latency_band"] == band


def test_the_report_gives_ttft_and_tpot_percentiles_per_model(db):
    ingest_json(db, OTLP / "vercel_ai.json", OTLP / "genai_deprecated.json")
    ran = run_cli("report", "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    models = {m["model"]: m for m in ran.json()["cost_by_model"]}
    vercel = models["claude-sonnet-4-5-20250929"]
    # two ticks: TTFT 600 and 450.5, TPOT 900/149 and 1549.5/249 (linear interpolation)
    assert vercel["ttft_p50_ms"] == pytest.approx((600 + 450.5) / 2)
    assert vercel["ttft_p95_ms"] == pytest.approx(450.5 + 0.95 * (600 - 450.5))
    tpots = sorted([900 / 149, 1549.5 / 249])
    assert vercel["tpot_p50_ms"] == pytest.approx(sum(tpots) / 2)
    assert vercel["tpot_p95_ms"] == pytest.approx(tpots[0] + 0.95 * (tpots[1] - tpots[0]))
    # no TTFT reported: not reported, never 0
    for name in ("gpt-4o", "gpt-4o-mini"):
        assert [models[name][k] for k in ("ttft_p50_ms", "tpot_p95_ms")] == [None, None]


def test_the_html_models_table_has_ttft_and_tpot_columns(db, tmp_path):
    ingest_json(db, OTLP / "vercel_ai.json")
    out = tmp_path / "r.html"
    ran = run_cli("report", "--db", db, "-o", out)
    assert ran.exit_code == 0, ran.stderr
    section = out.read_text().split('id="cost_by_model"')[1].split("</section>")[0]
    for header in ("ttft p50", "ttft p95", "tpot p50", "tpot p95"):
        assert f">{header}</th>" in section
    assert 'data-v="525.25"' in section  # the TTFT p50 cell carries the raw number
    # hovering a tick (ledger bar or timeline model call) gives its own time to first token
    tips = re.findall(r"time to first token: ([^\n<]+)", out.read_text())
    assert len(tips) == 2 * 2 and all(t != "—" for t in tips)


STREAMING = REAL_OTLP / "openai_sdk_traceloop" / "streaming.otlp.json"


@pytest.mark.skipif(not STREAMING.exists(), reason="../shared/realdata is not beside the checkout")
def test_every_streamed_real_tick_with_ttft_has_tpot_and_its_run_a_band(db):
    ingest_json(db, STREAMING)
    (run,) = runs_json(db)
    assert run["latency_band"] is not None
    ticks = _ticks(db, run["run_id"])
    streamed = [t for t in ticks if t["ttft_ms"] is not None]
    assert streamed, "the streaming export reports a first chunk"
    for t in streamed:
        assert 0 < t["ttft_ms"] <= t["latency_ms"]
        assert t["decode_ms"] == pytest.approx(t["latency_ms"] - t["ttft_ms"])
        assert t["tpot_ms"] == pytest.approx(t["decode_ms"] / (t["output_tokens"] - 1))
