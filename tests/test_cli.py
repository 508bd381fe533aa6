"""The command line as a user meets it: exit codes, stdout vs stderr, filters, and JSON."""

from __future__ import annotations

import json

import pytest

from tests.conftest import (
    FIXTURES,
    REAL_OTLP,
    ingest_json,
    modules_loaded_by,
    run_cli,
    runs_json,
)

SLOW_TOOL = REAL_OTLP / "pydantic_ai/slow_tool.otlp.json"
MANY = REAL_OTLP / "pydantic_ai/many_iterations.otlp.json"
CACHED = REAL_OTLP / "pydantic_ai/huge_system_prompt_cached.otlp.json"


@pytest.fixture
def three_runs(db):
    ingest_json(db, SLOW_TOOL, MANY, CACHED)
    return db


@pytest.mark.parametrize("command", [["runs"], ["quarantine"], ["ticks", "PLACEHOLDER"]])
def test_json_output_is_exactly_one_document_on_stdout(three_runs, command):
    if command[0] == "ticks":
        command = ["ticks", runs_json(three_runs)[0]["run_id"]]
    ran = run_cli(*command, "--db", three_runs, "--json")
    assert ran.exit_code == 0
    assert isinstance(json.loads(ran.stdout), dict)
    assert ran.stderr == ""


def test_ingest_json_summary_is_the_only_thing_on_stdout(db):
    ran = run_cli("ingest", "--db", db, SLOW_TOOL, "--json")
    summary = json.loads(ran.stdout)
    assert summary["files"] == 1 and summary["spans"] == 8 and summary["runs"] == 1
    assert summary["ticks"] == 4 and summary["tool_calls"] == 3 and summary["records_skipped"] == 0


def test_ingest_prints_a_one_line_summary_on_stderr_and_nothing_on_stdout(db):
    ran = run_cli("ingest", "--db", db, SLOW_TOOL)
    assert ran.exit_code == 0
    assert ran.stdout == ""
    assert ran.stderr.startswith(
        "ingested 1 files: 8 new spans, 1 runs, 4 ticks, 3 tool calls, 0 records skipped, "
    )


def test_runs_sort_by_cost_ticks_and_wall_clock(three_runs):
    by_cost = runs_json(three_runs, "--sort", "cost")
    assert [r["cost_usd"] for r in by_cost] == sorted(
        (r["cost_usd"] for r in by_cost), reverse=True
    )
    by_ticks = runs_json(three_runs, "--sort", "ticks")
    assert by_ticks[0]["ticks"] == 31
    by_wall = runs_json(three_runs, "--sort", "wall")
    assert [r["wall_ms"] for r in by_wall] == sorted((r["wall_ms"] for r in by_wall), reverse=True)


def test_runs_filter_by_time_source_and_agent(three_runs):
    runs = runs_json(three_runs)
    starts = sorted(r["started_at"] for r in runs)
    assert len(runs_json(three_runs, "--since", starts[1])) == 2
    assert len(runs_json(three_runs, "--until", starts[1])) == 1
    assert len(runs_json(three_runs, "--since", "2026-11-21T12:44:00+01:00")) == 3
    assert runs_json(three_runs, "--source", "claude_code") == []
    assert len(runs_json(three_runs, "--source", "otlp")) == 3
    agent = runs[0]["agent"]
    assert {r["agent"] for r in runs_json(three_runs, "--agent", agent)} == {agent}


def test_a_bad_time_is_a_usage_error(three_runs):
    ran = run_cli("runs", "--db", three_runs, "--since", "last tuesday")
    assert ran.exit_code == 2
    assert "is not an ISO date or time" in ran.stderr


def test_ticks_accepts_a_unique_prefix_and_refuses_an_unknown_run(three_runs):
    run_id = runs_json(three_runs)[0]["run_id"]
    ran = run_cli("ticks", run_id[:8], "--db", three_runs, "--json")
    assert ran.json()["run_id"] == run_id
    missing = run_cli("ticks", "ffffffffffff", "--db", three_runs)
    assert missing.exit_code == 1
    assert (
        missing.stderr.strip() == "error: ffffffffffff: no such run; `agentprof runs` lists run ids"
    )


def test_ticks_table_shows_each_tick_with_cumulative_cost(three_runs):
    run_id = json.loads(CACHED.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"][0][
        "traceId"
    ]
    ran = run_cli("ticks", run_id, "--db", three_runs)
    assert ran.exit_code == 0
    lines = [line.split() for line in ran.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [line[0] for line in lines] == ["1", "2", "3", "4"]
    ledger = run_cli("ticks", run_id, "--db", three_runs, "--json").json()["ticks"]
    # the last cumulative cost: pydantic-ai's own sum of operation.cost ($0.3385), to the cent
    assert ledger[-1]["cumulative_cost_usd"] == pytest.approx(0.3385, abs=5e-5)
    assert "$0.34" in ran.stdout


def test_empty_database_says_so_and_exits_zero(db):
    ingest_json(db, SLOW_TOOL)
    empty = db.parent / "empty.duckdb"
    run_cli("ingest", "--db", empty, FIXTURES / "bad" / "not_a_trace.csv")
    ran = run_cli("runs", "--db", empty)
    assert ran.exit_code == 0
    assert ran.stdout == ""
    assert "no runs in the database" in ran.stderr


def test_a_missing_input_path_is_a_clear_error(db, tmp_path):
    ran = run_cli("ingest", "--db", db, tmp_path / "nope.json")
    assert ran.exit_code == 1
    first, summary = ran.stderr.strip().splitlines()
    assert first == f"error: {tmp_path / 'nope.json'}: no such file or folder"
    assert summary.startswith("ingested 0 files, 1 failed:")


def test_quarantine_lists_skipped_records_with_path_and_line(db):
    bad = FIXTURES / "bad" / "one_bad_line.jsonl"
    run_cli("ingest", "--db", db, bad)
    ran = run_cli("quarantine", "--db", db)
    # Shown relative to the working directory (the repository root here); --json keeps it whole.
    assert ran.stdout.startswith("fixtures/bad/one_bad_line.jsonl:3: malformed JSON")
    stored = run_cli("quarantine", "--db", db, "--json").json()["quarantine"][0]["path"]
    assert stored == str(bad)


def test_version_and_help(db):
    assert run_cli("--version").stdout.startswith("agentprof ")
    help_text = run_cli("--help").stdout
    for command in ("ingest", "runs", "ticks", "quarantine"):
        assert command in help_text


def test_reading_commands_start_without_the_readers_pyarrow_and_protobuf() -> None:
    """The command line imports the ingest machinery (readers, pyarrow, numpy, protobuf) only in
    the commands that store: every reading command would otherwise pay ~150 ms to start."""
    heavy = ("pyarrow", "numpy", "google.protobuf", "agentprof.ingest", "agentprof.sources")
    assert modules_loaded_by("import agentprof.cli", (*heavy, "agentprof.api")) == []
    # ... and the Python API still resolves on first use.
    assert modules_loaded_by("import agentprof; agentprof.open", ("agentprof.api",)) == [
        "agentprof.api"
    ]
