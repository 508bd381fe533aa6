"""The report and diagnose answer in ten seconds: a headline says where the money and the time
went and which lever saves most, weighted by cost and time; every section's counts and sums
agree; numbers read as people read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentprof.units import duration, money, plural
from tests.conftest import REALDATA, ingest_json, run_cli


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("headline") / "real.duckdb"
    public = REALDATA / "public"
    ingest_json(
        db,
        public / "claude-code" / "spotter",
        public / "claude-code" / "codemie",
        public / "codex" / "codemie",
        REALDATA / "otlp",
    )
    return db


@pytest.mark.parametrize(
    ("usd", "text"),
    [(86.5504, "$86.55"), (1234.567, "$1,234.57"), (0.0734, "$0.073"), (0.00034, "$0.00034"),
     (0.5, "$0.50"), (0.996, "$1.00"), (0, "$0"), (-2.5, "-$2.50")],
)  # fmt: skip
def test_money_is_cents_above_a_dollar_and_two_significant_digits_below(
    usd: float, text: str
) -> None:
    assert money(usd) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [(850, "850 ms"), (4200, "4.2 s"), (12_000, "12 s"), (725_000, "12 min 5 s"),
     (2_846_529, "47 min 27 s"), (18_068_800, "5 h 1 min")],
)  # fmt: skip
def test_durations_read_as_people_say_them(ms: float, text: str) -> None:
    assert duration(ms) == text


# Edges of each unit, values whose minutes round up (157 s was "3 min 37 s" in the diagnosis
# text), a seconds field that rounds to 60, negative values.
DURATION_EDGES = [0, 999.4, 1000, 9_949, 9_999, 10_000, 59_499, 59_500, 60_000, 119_600,
                  157_000, 3_599_499, 3_599_500, 3_629_999, 5_370_000, 18_068_800, -157_000,
                  -850]  # fmt: skip


def test_diagnosis_text_gives_durations_as_the_terminal_and_report_do(tmp_path: Path) -> None:
    """The duration macro of the evidence sentences (queries/diagnose/macros.sql) and
    units.duration (tables, report) say the same thing for the same number."""
    import duckdb

    from agentprof import sql

    con = duckdb.connect(str(tmp_path / "m.duckdb"))
    sql.execute(con, "diagnose/macros")
    got = [con.execute("select dur_text(?::double)", [ms]).fetchone()[0] for ms in DURATION_EDGES]
    assert got == [duration(ms) for ms in DURATION_EDGES]
    assert duration(157_000) == "2 min 37 s" and duration(119_600) == "2 min 0 s"


def test_plurals() -> None:
    assert (plural(1, "run"), plural(2, "run"), plural(1_000, "tick")) == (
        "1 run",
        "2 runs",
        "1,000 ticks",
    )


def test_headline_is_weighted_by_cost_and_time_and_agrees_with_the_totals(real_db: Path) -> None:
    doc = run_cli("diagnose", "--db", real_db, "--json").json()
    runs, dist = doc["runs"], doc["distribution"]
    cost = sum(r["cost_usd"] or 0 for r in runs)
    first, second, third = doc["headline"]
    assert first.startswith(f"{money(cost)} over {plural(len(runs), 'run')} and ")
    # Classes by cost, not by run count: the costliest class leads.
    costliest = max(dist, key=lambda d: d["cost_usd"] or 0)
    share = (costliest["cost_usd"] or 0) / cost
    assert f"{share:.0%} to {costliest['bottleneck'].replace('_', ' ')}" in first
    assert [d["bottleneck"] for d in dist] == sorted(
        (d["bottleneck"] for d in dist),
        key=lambda b: -next(d["cost_usd"] or 0 for d in dist if d["bottleneck"] == b),
    )
    wall = sum(r["wall_ms"] for r in runs)
    assert second.startswith(f"Wall-clock {duration(wall)} in all: model calls ")
    best = max(dist, key=lambda d: d["saving_usd"] or 0)
    assert third.startswith("Biggest lever: ")
    assert f"saves {money(best['saving_usd'])}" in third


def test_every_section_counts_and_sums_agree(real_db: Path, tmp_path: Path) -> None:
    ran = run_cli("report", "--db", real_db, "--json", "-o", tmp_path / "r.html")
    assert ran.exit_code == 0, ran.stderr
    doc = ran.json()
    totals, dist = doc["fleet_totals"], doc["distribution"]
    assert totals["runs"] == sum(d["runs"] for d in dist) == len(doc["runs"])
    assert totals["cost_usd"] == pytest.approx(sum(d["cost_usd"] or 0 for d in dist))
    assert totals["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0 for r in doc["runs"]))
    saving = sum(d["saving_usd"] or 0 for d in dist)
    assert doc["total_saving_usd"] == pytest.approx(saving)
    # Top savings are each run's primary lever: they never add up to more than the total.
    top = sum(g["saving_usd"] or 0 for g in doc["top_savings"])
    assert top <= doc["total_saving_usd"] + 1e-9
    if len(doc["top_savings"]) < 10:
        assert top == pytest.approx(doc["total_saving_usd"])
    # Runs without ticks are not "unpriced": only runs with a tick the price table lacks.
    diag = run_cli("diagnose", "--db", real_db, "--json").json()
    assert totals["unpriced_runs"] == sum(1 for r in diag["runs"] if r["unpriced_ticks"])


def test_no_two_rows_show_the_same_id_and_any_shown_id_works(real_db: Path) -> None:
    ran = run_cli("runs", "--db", real_db, columns=80)
    assert ran.exit_code == 0
    shown = [line.split()[0] for line in ran.stdout.splitlines()[3:] if line.strip()]
    shown = [s for s in shown if not s.startswith("—")]
    assert (
        len(shown)
        == len(set(shown))
        == len(run_cli("runs", "--db", real_db, "--json").json()["runs"])
    )
    assert all(len(s) >= 8 for s in shown)
    for short in shown[:5]:
        assert run_cli("ticks", short, "--db", real_db, "--json").exit_code == 0
    ambiguous = run_cli("ticks", "agent-a", "--db", real_db)
    assert ambiguous.exit_code == 1
    assert "ambiguous run id prefix" in ambiguous.stderr and "agent-a" in ambiguous.stderr
    assert ambiguous.stderr.count("agent-") >= 3  # the candidates are listed


def test_control_characters_in_trace_text_never_reach_the_terminal(tmp_path: Path) -> None:
    from tests.otlp_builder import span, write_trace

    trace = "e5c0ffee".ljust(32, "0")
    evil = "x\x1b]0;pwned\x07y\x1b[2J[bold]z[/bold]"
    spans = [
        span(trace, "1".rjust(16, "0"), "agent", 0, 5000, gen_ai__agent__name=evil),
        span(trace, "2".rjust(16, "0"), "chat", 0, 1000, "1".rjust(16, "0"),
             gen_ai__operation__name="chat", gen_ai__request__model="claude-sonnet-4-5",
             gen_ai__provider__name="anthropic", gen_ai__usage__input_tokens=10,
             gen_ai__usage__output_tokens=5),
        span(trace, "3".rjust(16, "0"), "execute_tool", 1000, 4500, "1".rjust(16, "0"),
             gen_ai__operation__name="execute_tool", gen_ai__tool__name=evil),
    ]  # fmt: skip
    db = tmp_path / "d.duckdb"
    ingest_json(db, write_trace(tmp_path / "evil.json", spans))
    for args in (("runs",), ("diagnose",), ("diagnose", trace[:8]), ("sessions",)):
        out = run_cli(*args, "--db", db)
        assert out.exit_code == 0, out.stderr
        assert "\x1b" not in out.stdout and "\x07" not in out.stdout
    assert "\\x1b]0;pwned" in run_cli("diagnose", trace[:8], "--db", db).stdout
