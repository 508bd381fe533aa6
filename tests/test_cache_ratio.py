"""Cache reads per written token and the break-even of the write premium (per tick, run, model
and fleet), and the `cache_write_unpaid` finding. Numbers are worked out by hand from
fixtures/README.md, fixtures/claude_code/README.md and Anthropic's prices: claude-sonnet-4-5 and
-4-6 at $3 input, $0.30 cache read, $3.75 5-minute write, $6 1-hour write per million tokens, so
a written token breaks even after (3.75 − 3) ÷ (3 − 0.30) = 0.25 ÷ 0.9 reads (5 minutes) or
(6 − 3) ÷ (3 − 0.30) = 1.0 ÷ 0.9 reads (1 hour)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agentprof import html, report, sql, store
from agentprof.cli import app
from agentprof.gate import Filters
from agentprof.render import format_value
from tests.conftest import (
    FIXTURES,
    REALDATA,
    ingest_json,
    run_cli,
    runs_json,
    ticks_json,
)
from tests.otlp_builder import span, write_trace

OTLP = FIXTURES / "otlp"
DIAG = FIXTURES / "diagnose"
SPOTTER = REALDATA / "public" / "claude-code" / "spotter"
BREAK_EVEN_5M = 0.25 / 0.9
BREAK_EVEN_1H = 1.0 / 0.9


def _run(db: Path, run_id: str) -> dict[str, Any]:
    (found,) = [r for r in runs_json(db) if r["run_id"] == run_id]
    return found


def _trace(n: int) -> str:
    """Trace id of fixtures/otlp file n (fixtures/README.md)."""
    return f"{n:02x}c0ffee".ljust(32, "0")


def _diag(n: int) -> str:
    """Trace id of the fixtures/diagnose run n (make_diagnose.py)."""
    return f"d{n:x}c0ffee".ljust(32, "0")


def _diagnose(db: Path, *extra: str) -> dict[str, dict[str, Any]]:
    ran = run_cli("diagnose", "--db", db, "--json", *extra)
    assert ran.exit_code == 0, ran.stderr
    return {r["run_id"]: r for r in ran.json()["runs"]}


def _unpaid(run: dict[str, Any]) -> dict[str, Any] | None:
    found = [f for f in run["findings"] if f["kind"] == "cache_write_unpaid"]
    assert len(found) <= 1
    return found[0] if found else None


# ---- the ratio and its break-even -------------------------------------------------------------


def test_claude_code_run_reads_per_written_token_and_its_mixed_ttl_break_even(db: Path) -> None:
    ingest_json(db, FIXTURES / "claude_code")
    runs = runs_json(db)
    (main,) = [r for r in runs if r["parent_run_id"] is None]
    # Main run: cache read 8,000; writes 1,200 = 600 for 5 minutes + 600 for 1 hour.
    assert main["cache_read_write_ratio"] == pytest.approx(8000 / 1200)
    assert main["cache_break_even_ratio"] == pytest.approx(
        (600 * BREAK_EVEN_5M + 600 * BREAK_EVEN_1H) / 1200
    )
    # The subagent reported its cache counts as 0 and 0: a 0% hit ratio, no read/write ratio.
    (sub,) = [r for r in runs if r["parent_run_id"] is not None]
    assert sub["cache_hit_ratio"] == 0.0
    assert sub["cache_read_write_ratio"] is None and sub["cache_break_even_ratio"] is None


def test_per_tick_and_per_run_ratio_on_the_genai_fixture(db: Path) -> None:
    ingest_json(db, OTLP / "genai_current.json")
    # Ticks: (read 0, write 600), (600, 300), (900, 0).
    ticks = ticks_json(db, _trace(1))
    assert [t["cache_read_write_ratio"] for t in ticks] == [0.0, 2.0, None]
    run = _run(db, _trace(1))
    assert run["cache_read_write_ratio"] == pytest.approx(1500 / 900)
    # Spans carry one cache-write count, billed at the 5-minute rate.
    assert run["cache_break_even_ratio"] == pytest.approx(BREAK_EVEN_5M)


def test_unreported_cache_is_null_not_zero_and_reads_without_writes_are_null(db: Path) -> None:
    ingest_json(
        db,
        OTLP / "genai_deprecated.json",
        OTLP / "error_and_status.json",
        DIAG / "cache_broken.json",
    )
    unreported = _run(db, _trace(2))  # no cache attributes at all
    assert unreported["cache_read_write_ratio"] is None
    assert unreported["cache_break_even_ratio"] is None
    # Reads 800, writes reported as 0: not infinity; the hit ratio (800 of 2,000) tells it.
    reads_only = _run(db, _trace(0x0B))
    assert reads_only["cache_read_write_ratio"] is None
    assert reads_only["cache_hit_ratio"] == pytest.approx(800 / 2000)
    # Writes nobody read (3 × 4,000 written, 0 read): a real zero, not "not reported".
    broken = _run(db, _diag(7))
    assert broken["cache_read_write_ratio"] == 0.0
    assert broken["cache_break_even_ratio"] == pytest.approx(BREAK_EVEN_5M)


def test_break_even_is_0_28_reads_for_5_minute_and_1_11_for_1_hour_writes(db: Path) -> None:
    ingest_json(db, DIAG / "cache_write_unpaid.json", DIAG / "cache_1h_no_idle.json")
    five = _run(db, _diag(32))  # 20,000 written for 5 minutes, 2,000 read
    assert five["cache_break_even_ratio"] == pytest.approx(0.75 / 2.7)
    assert five["cache_read_write_ratio"] == pytest.approx(0.1)
    hour = _run(db, _diag(34))  # 10,000 written for 1 hour, read twice
    assert hour["cache_break_even_ratio"] == pytest.approx(3.0 / 2.7)
    assert hour["cache_read_write_ratio"] == pytest.approx(2.0)


def test_model_and_fleet_ratios_in_the_report_json(db: Path) -> None:
    ingest_json(
        db,
        OTLP / "genai_current.json",
        OTLP / "genai_deprecated.json",
        OTLP / "claude_code_spans.json",
    )
    ran = run_cli("report", "--db", db, "--json", "--top", "0")
    assert ran.exit_code == 0, ran.stderr
    doc = ran.json()
    models = {m["model"]: m for m in doc["cost_by_model"]}
    # claude_code_spans: read 8,500, written 4,800; gpt-4o reports no cache counts.
    assert models["claude-sonnet-4-6"]["cache_read_write_ratio"] == pytest.approx(8500 / 4800)
    assert models["claude-sonnet-4-6"]["cache_break_even_ratio"] == pytest.approx(BREAK_EVEN_5M)
    assert models["gpt-4o"]["cache_read_write_ratio"] is None
    assert models["gpt-4o"]["cache_break_even_ratio"] is None
    fleet = doc["fleet_totals"]
    assert fleet["cache_read_write_ratio"] == pytest.approx((1500 + 8500) / (900 + 4800))
    assert fleet["cache_break_even_ratio"] == pytest.approx(BREAK_EVEN_5M)


def test_a_fleet_with_no_cache_counts_has_no_ratio(db: Path) -> None:
    ingest_json(db, OTLP / "genai_deprecated.json")
    con = store.connect(db, read_only=True)
    try:
        params = Filters().params()
        fleet = sql.run(con, "report/fleet_totals", params).records()[0]
    finally:
        con.close()
    assert fleet["cache_read_write_ratio"] is None and fleet["cache_break_even_ratio"] is None


def test_an_older_database_gains_the_macros_when_upgraded(db: Path) -> None:
    ingest_json(db, OTLP / "genai_current.json")
    con = duckdb.connect(str(db))
    con.execute("drop macro cache_read_write_ratio")
    con.execute("update meta set value = '23' where key = 'schema_version'")
    con.close()
    store.connect(db).close()  # a writer upgrades: every schema file runs again, idempotently
    assert _run(db, _trace(1))["cache_read_write_ratio"] == pytest.approx(1500 / 900)


# ---- rendering --------------------------------------------------------------------------------


def test_read_write_ratios_print_as_times_and_hit_ratios_as_percent() -> None:
    assert format_value("cache_read_write_ratio", 37.4349) == "37.4×"
    assert format_value("cache_read_write_ratio", 1500 / 900) == "1.67×"
    assert format_value("cache_break_even_ratio", BREAK_EVEN_5M) == "0.28×"
    assert format_value("cache_read_write_ratio", None) == "—"
    assert format_value("cache_hit_ratio", 0.4) == "40.0%"


def test_runs_table_on_a_wide_terminal_and_the_run_view_show_the_ratio(db: Path) -> None:
    ingest_json(db, OTLP / "genai_current.json")
    out = CliRunner().invoke(app, ["runs", "--db", str(db)], env={"COLUMNS": "260"})
    assert out.exit_code == 0
    assert "cache read write" in out.stdout and "1.67×" in out.stdout
    ran = run_cli("diagnose", _trace(1)[:8], "--db", db)
    assert ran.exit_code == 0, ran.stderr
    assert "cache hit 40.5% · cache reads per write 1.67× (break-even 0.28×)" in ran.stdout


def test_html_report_states_the_break_even_beside_the_ratio(db: Path) -> None:
    ingest_json(db, OTLP / "genai_current.json", FIXTURES / "bad" / "markup_names.json")
    con = store.connect(db, read_only=True)
    try:
        text = html.render_report(report.build(con, Filters(), generated_at="2026-11-22T00:00Z"))
    finally:
        con.close()
    start = text.index(f'<article class="run" id="run-{_trace(1)}">')
    article = text[start : text.index("</article>", start)]
    assert "cache reads per write 1.67× (break-even 0.28×)" in article
    at = text.index('<section id="fleet_totals">')
    fleet = text[at : text.index("</section>", at)]
    assert "<dd>1.67×</dd>" in fleet and "break-even 0.28×" in fleet
    # The markup run reports no cache counts: a dash, and its names stay escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)</script>" not in text


# ---- the cache_write_unpaid finding -----------------------------------------------------------


@pytest.fixture(scope="module")
def diag_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    db = tmp_path_factory.mktemp("cache_ratio") / "diag.duckdb"
    ingest_json(db, DIAG)
    return _diagnose(db)


def test_unpaid_writes_fire_with_the_write_premium_less_the_read_saving(
    diag_runs: dict[str, dict[str, Any]],
) -> None:
    found = _unpaid(diag_runs[_diag(32)])
    assert found is not None
    # 20,000 written at 3.75 − 3 = 0.75 over input; 2,000 read at 3 − 0.30 = 2.70 under it.
    assert found["saving_usd"] == pytest.approx((20_000 * 0.75 - 2000 * 2.7) / 1e6)
    assert found["ticks"] == [1]
    evidence = found["evidence"]
    assert "wrote 20,000 tokens to the cache (all 5-minute) and read back 2,000" in evidence
    assert "0.10 reads per written token, below the 0.28 break-even" in evidence
    assert "so the cache lost $0.0096" in evidence
    assert "no cache breakpoint" in found["lever"] and "shared cached prefix" in found["lever"]


def test_writes_paid_back_by_0_30_reads_per_token_do_not_fire(
    diag_runs: dict[str, dict[str, Any]],
) -> None:
    run = diag_runs[_diag(33)]
    # 6,000 reads save 6,000 × 2.70 = 16,200 µ$, more than the 20,000 × 0.75 = 15,000 µ$ premium.
    assert run["cache_read_write_ratio"] == pytest.approx(0.3)
    assert run["cache_read_write_ratio"] > run["cache_break_even_ratio"]
    assert _unpaid(run) is None


def test_1_hour_writes_on_a_run_that_never_idles_past_5_minutes_fire_the_ttl_lever(
    diag_runs: dict[str, dict[str, Any]],
) -> None:
    found = _unpaid(diag_runs[_diag(34)])
    assert found is not None
    # The reads pay the 1-hour writes back (2.0 ≥ 1.11); 5-minute writes would cost less.
    assert found["saving_usd"] == pytest.approx(10_000 * (6 - 3.75) / 1e6)
    assert "wrote 10,000 tokens to the 1-hour cache" in found["evidence"]
    assert "(longest gap 60 s)" in found["evidence"]
    assert found["lever"].startswith("use the 5-minute cache TTL")
    assert found["ticks"] == [1]


def test_1_hour_writes_are_needed_when_the_run_idles_400_s(
    diag_runs: dict[str, dict[str, Any]],
) -> None:
    run = diag_runs[_diag(35)]
    assert _unpaid(run) is None
    assert "cache_expiring" not in {f["kind"] for f in run["findings"]}  # 400 s < 1 hour


def test_no_cache_counts_never_fire(diag_runs: dict[str, dict[str, Any]]) -> None:
    # long_inputs.json: 4 × 10,000 tokens, no cache attributes.
    assert diag_runs[_diag(5)]["cache_read_write_ratio"] is None
    assert _unpaid(diag_runs[_diag(5)]) is None


def test_thresholds_move_the_finding(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    ingest_json(db, DIAG / "cache_write_unpaid.json", DIAG / "cache_1h_no_idle.json")
    assert _unpaid(_diagnose(db)[_diag(32)]) is not None
    # 20,000 written is below a 25,000-token floor; a 50 s TTL ends inside the 60 s gaps.
    assert _unpaid(_diagnose(db, "--threshold", "min_cacheable_tokens=25000")[_diag(32)]) is None
    assert _unpaid(_diagnose(db, "--threshold", "cache_ttl_s=50")[_diag(34)]) is None


def test_the_saving_comes_from_the_runs_own_ticks(
    tmp_path: Path, diag_runs: dict[str, dict[str, Any]]
) -> None:
    db = tmp_path / "alone.duckdb"
    ingest_json(db, DIAG / "cache_write_unpaid.json")
    alone = _unpaid(_diagnose(db)[_diag(32)])
    in_fleet = _unpaid(diag_runs[_diag(32)])
    assert alone is not None and in_fleet is not None
    assert alone["saving_usd"] == in_fleet["saving_usd"]
    assert alone["evidence"] == in_fleet["evidence"]


def test_a_turn_of_a_longer_session_is_not_judged(tmp_path: Path) -> None:
    # The run of cache_write_unpaid.json, but one turn of conversation conv-7: the session's next
    # turn may read what it wrote, which this run's ticks cannot show.
    trace = "e7c0ffee".ljust(32, "0")
    root = "0" * 15 + "1"
    spans = [
        span(trace, root, "invoke_agent s", 0, 1000, gen_ai__operation__name="invoke_agent"),
        span(
            trace,
            "0" * 15 + "2",
            "chat claude-sonnet-4-5",
            0,
            900,
            root,
            gen_ai__operation__name="chat",
            gen_ai__provider__name="anthropic",
            gen_ai__request__model="claude-sonnet-4-5",
            gen_ai__conversation__id="conv-7",
            gen_ai__usage__input_tokens=22_500,
            gen_ai__usage__output_tokens=100,
            gen_ai__usage__cache_read__input_tokens=2000,
            gen_ai__usage__cache_creation__input_tokens=20_000,
        ),
    ]
    db = tmp_path / "s.duckdb"
    ingest_json(db, write_trace(tmp_path / "turn.json", spans))
    run = _diagnose(db)[trace]
    assert run["session_id"] == "conv-7"
    assert run["cache_read_write_ratio"] == pytest.approx(0.1)  # the ratio still shows
    assert _unpaid(run) is None


# ---- real Claude Code sessions ----------------------------------------------------------------


def test_every_spotter_run_has_a_ratio_and_the_fleet_matches_ccusage(db: Path) -> None:
    ingest_json(db, SPOTTER)
    runs = runs_json(db)
    assert len(runs) > 1
    for r in runs:
        assert r["cache_read_write_ratio"] == pytest.approx(
            r["cache_read_tokens"] / r["cache_write_tokens"]
        ), r["run_id"]
        assert r["cache_break_even_ratio"] is not None
        assert BREAK_EVEN_5M - 1e-9 <= r["cache_break_even_ratio"] <= BREAK_EVEN_1H + 1e-9
    con = store.connect(db, read_only=True)
    try:
        fleet = sql.run(con, "report/fleet_totals", Filters().params()).records()[0]
        w5, w1h = con.execute(
            "select sum(cache_write_5m_tokens), sum(cache_write_1h_tokens) from ticks"
        ).fetchone() or (0, 0)
    finally:
        con.close()
    # ccusage's `daily` totals for this folder (tests/test_claude_code.py ORACLE): cache read
    # 77,423,878, cache write 2,079,960.
    assert fleet["cache_read_write_ratio"] == pytest.approx(77_423_878 / 2_079_960)
    # Every model here is Anthropic's (1.25× / 2× / 0.1× input), so the fleet's break-even is
    # the token-weighted mean of 0.25 ÷ 0.9 and 1.0 ÷ 0.9.
    assert w5 + w1h == 2_079_960
    assert fleet["cache_break_even_ratio"] == pytest.approx(
        (w5 * BREAK_EVEN_5M + w1h * BREAK_EVEN_1H) / (w5 + w1h)
    )
