"""`agentprof check`, `baseline save` and `compare`: budgets against numbers recomputed here from
`runs --json` (an independent oracle), exit codes 0/1/2/3, and baselines from a file or a DB."""

from __future__ import annotations

import json
import statistics

import pytest

from tests.conftest import FIXTURES, ingest_json, run_cli, runs_json

OTLP = FIXTURES / "otlp"
REAL = FIXTURES / "realdata"
# Three hand-checked fixture runs (README: fixtures/otlp) and one expensive third-party run.
SMALL = [OTLP / "genai_current.json", OTLP / "parallel_tools.json", OTLP / "langsmith.json"]
EXPENSIVE = REAL / "pydantic_ai_huge_system_prompt_cached.otlp.json"


def _p(values: list[float], q: float) -> float:
    # Linear interpolation between order statistics, as DuckDB's quantile_cont.
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]


@pytest.fixture
def small_db(db):
    ingest_json(db, *SMALL)
    return db


def test_check_passes_with_generous_budgets_and_exits_zero(small_db):
    ran = run_cli(
        "check",
        "--db",
        small_db,
        "--max-cost-per-run",
        "1",
        "--max-ticks-p95",
        "20",
        "--max-wall-p95",
        "60s",
        "--json",
    )
    assert ran.exit_code == 0, ran.stderr
    doc = ran.json()
    assert doc["passed"] is True and doc["failed"] == 0 and doc["runs"] == 3
    assert [c["metric"] for c in doc["checks"]] == [
        "cost_per_run_max_usd",
        "ticks_per_run_p95",
        "wall_p95_ms",
    ]
    assert doc["checks"][2]["budget"] == 60_000


def test_check_metrics_match_percentiles_recomputed_from_runs_json(small_db):
    runs = runs_json(small_db)
    costs = sorted(r["cost_usd"] for r in runs)
    walls = sorted(r["wall_ms"] for r in runs)
    ticks = sorted(float(r["ticks"]) for r in runs)
    hit_num = sum(r["cache_read_tokens"] for r in runs)
    hit_den = sum(
        r["input_uncached_tokens"] + r["cache_read_tokens"] + r["cache_write_tokens"] for r in runs
    )
    doc = run_cli("check", "--db", small_db, "--max-ticks-p95", "99", "--json").json()
    m = doc["metrics"]
    assert m["cost_per_run_p95_usd"] == pytest.approx(_p(costs, 0.95))
    assert m["cost_per_run_p50_usd"] == pytest.approx(_p(costs, 0.5))
    assert m["cost_per_run_max_usd"] == pytest.approx(max(costs))
    assert m["wall_p95_ms"] == pytest.approx(_p(walls, 0.95))  # walls 3000, 4500, 6000 → 5850
    assert m["wall_p95_ms"] == pytest.approx(5850)
    assert m["ticks_per_run_p95"] == pytest.approx(_p(ticks, 0.95))
    assert m["cache_hit_ratio"] == pytest.approx(hit_num / hit_den)


def test_a_broken_budget_exits_3_and_names_metric_budget_value_excess_and_runs(small_db):
    runs = runs_json(small_db)
    # Budget between the cheapest and the dearest run: the runs above it are the ones to blame.
    costs = sorted(r["cost_usd"] for r in runs)
    budget = (costs[0] + costs[1]) / 2
    over = sorted((r for r in runs if r["cost_usd"] > budget), key=lambda r: -r["cost_usd"])
    ran = run_cli("check", "--db", small_db, "--max-cost-per-run", str(budget), "--json")
    assert ran.exit_code == 3
    (c,) = ran.json()["checks"]
    assert c["passed"] is False and c["flag"] == "--max-cost-per-run"
    assert c["metric"] == "cost_per_run_max_usd"
    assert c["budget"] == pytest.approx(budget)
    assert c["actual"] == pytest.approx(costs[-1])
    assert c["excess"] == pytest.approx(costs[-1] - budget)
    assert c["excess_ratio"] == pytest.approx((costs[-1] - budget) / budget)
    assert c["runs"] == [r["run_id"] for r in over]
    assert "check failed: 1 of 1 budgets broken (3 runs)" in ran.stderr


def test_failure_line_in_the_terminal_says_by_how_much(small_db):
    ran = run_cli("check", "--db", small_db, "--max-wall-p95", "5s", "--max-ticks-per-run", "2")
    assert ran.exit_code == 3
    lines = ran.stdout.splitlines()
    assert lines[0] == (
        "FAIL ticks_per_run_max 3 > budget 2 [--max-ticks-per-run]: over by 1 (+50.0%); "
        "runs: 01c0ffee00000000"
    )
    assert lines[1].startswith("FAIL wall_p95_ms 5.8 s > budget 5.0 s [--max-wall-p95]")
    assert "over by 850 ms (+17.0%)" in lines[1]
    assert "runs: 01c0ffee00000000" in lines[1]  # the 6000 ms run; 4500 is under 5 s
    assert "09c0ffee" not in lines[1]


def test_min_cache_hit_fails_below_and_passes_above(small_db):
    ratio = run_cli("check", "--db", small_db, "--max-ticks-p95", "99", "--json").json()["metrics"][
        "cache_hit_ratio"
    ]
    low = run_cli("check", "--db", small_db, "--min-cache-hit", f"{(ratio - 0.01) * 100}%")
    high = run_cli("check", "--db", small_db, "--min-cache-hit", str(ratio + 0.01), "--json")
    assert low.exit_code == 0
    assert high.exit_code == 3
    (c,) = high.json()["checks"]
    assert c["kind"] == "min" and c["excess"] == pytest.approx(0.01)
    assert (
        "under by 1.0 points"
        in run_cli("check", "--db", small_db, "--min-cache-hit", str(ratio + 0.01)).stdout
    )


def test_an_unreported_metric_is_an_error_not_a_pass(db):
    ingest_json(db, OTLP / "genai_deprecated.json")  # no cache attributes at all
    ran = run_cli("check", "--db", db, "--min-cache-hit", "0.5")
    assert ran.exit_code == 1
    assert ran.stderr.startswith("error: cache_hit_ratio: not reported by any selected run")


def test_empty_input_is_an_error(db):
    ingest_json(db, *SMALL)
    ran = run_cli("check", "--db", db, "--max-ticks-p95", "5", "--since", "2030-01-01")
    assert ran.exit_code == 1
    assert ran.stderr.startswith("error: runs: no runs match the selection")


def test_missing_database_and_missing_budgets_are_errors(db, small_db):
    assert (
        run_cli("check", "--db", db.parent / "nope.duckdb", "--max-ticks-p95", "5").exit_code == 1
    )
    assert run_cli("check", "--db", small_db).exit_code == 2
    assert run_cli("check", "--db", small_db, "--min-cache-hit", "1.5").exit_code == 2
    assert run_cli("check", "--db", small_db, "--max-share", "slow_tool").exit_code == 2
    assert run_cli("check", "--db", small_db, "--baseline", small_db).exit_code == 2


def test_max_share_counts_runs_per_bottleneck_class_from_diagnose(db):
    ingest_json(db, *SMALL, REAL / "pydantic_ai_slow_tool.otlp.json")
    diag = run_cli("diagnose", "--db", db, "--json").json()
    slow = sorted(r["run_id"] for r in diag["runs"] if r["bottleneck"] == "slow_tool")
    assert slow  # the fixture is a slow tool
    share = len(slow) / len(diag["runs"])
    ok = run_cli("check", "--db", db, "--max-share", f"slow_tool={share}", "--json")
    bad = run_cli("check", "--db", db, "--max-share", f"slow_tool={share / 2}", "--json")
    assert ok.exit_code == 0 and bad.exit_code == 3
    (c,) = bad.json()["checks"]
    assert c["metric"] == "share_slow_tool_ratio"
    assert c["actual"] == pytest.approx(share)
    assert sorted(c["runs"]) == slow


def test_baseline_save_then_check_against_it_passes_then_fails_on_a_regression(tmp_path):
    old_db, new_db = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    ingest_json(old_db, *SMALL)
    ingest_json(new_db, *SMALL, EXPENSIVE)
    base = tmp_path / "base.json"
    saved = run_cli("baseline", "save", "--db", old_db, "-o", base)
    assert saved.exit_code == 0, saved.stderr
    doc = json.loads(base.read_text())
    assert doc["agentprof_baseline"] == 1 and doc["metrics"]["runs"] == 3
    same = run_cli("check", "--db", old_db, "--baseline", base, "--max-regression", "10%")
    assert same.exit_code == 0, same.stdout
    ran = run_cli("check", "--db", new_db, "--baseline", base, "--max-regression", "10%", "--json")
    assert ran.exit_code == 3
    failed = {c["metric"]: c for c in ran.json()["checks"] if not c["passed"]}
    old_mean = doc["metrics"]["cost_per_run_mean_usd"]
    new_mean = statistics.mean(r["cost_usd"] for r in runs_json(new_db))
    c = failed["cost_per_run_mean_usd"]
    assert c["baseline"] == pytest.approx(old_mean)
    assert c["budget"] == pytest.approx(old_mean * 1.1)
    assert c["actual"] == pytest.approx(new_mean)
    # The same check against the old database instead of the JSON file gives the same verdicts.
    via_db = run_cli(
        "check", "--db", new_db, "--baseline", old_db, "--max-regression", "0.1", "--json"
    )
    assert via_db.exit_code == 3
    assert [c["passed"] for c in via_db.json()["checks"]] == [
        c["passed"] for c in ran.json()["checks"]
    ]


def test_a_file_that_is_not_a_baseline_is_an_error(small_db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    ran = run_cli("check", "--db", small_db, "--baseline", bad, "--max-regression", "10%")
    assert ran.exit_code == 1
    assert ran.stderr.startswith(f"error: {bad}: not an agentprof baseline")


def test_compare_reports_what_moved_and_which_way(tmp_path):
    old_db, new_db = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    ingest_json(old_db, *SMALL)
    ingest_json(new_db, *SMALL, EXPENSIVE)
    ran = run_cli("compare", old_db, new_db, "--json")
    assert ran.exit_code == 0, ran.stderr
    rows = {r["metric"]: r for r in ran.json()["metrics"]}
    assert rows["runs"]["old"] == 3 and rows["runs"]["new"] == 4 and rows["runs"]["change"] == 1
    old_cost = sum(r["cost_usd"] for r in runs_json(old_db))
    new_cost = sum(r["cost_usd"] for r in runs_json(new_db))
    assert rows["cost_usd"]["change"] == pytest.approx(new_cost - old_cost)
    assert rows["cost_usd"]["change_ratio"] == pytest.approx((new_cost - old_cost) / old_cost)
    assert rows["cost_per_run_mean_usd"]["worse"] is True
    classes = {b["bottleneck"]: b for b in ran.json()["bottlenecks"]}
    assert sum(b["old_runs"] for b in classes.values()) == 3
    assert sum(b["new_runs"] for b in classes.values()) == 4
    text = run_cli("compare", old_db, new_db)
    assert text.exit_code == 0
    assert "cost_per_run_mean_usd" in text.stdout and "worse" in text.stdout


def test_compare_with_a_missing_side_is_an_error(small_db, tmp_path):
    ran = run_cli("compare", small_db, tmp_path / "missing.json")
    assert ran.exit_code == 1
    assert "no such baseline file" in ran.stderr
