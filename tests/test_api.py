"""The Python API (`agentprof.open`): the same numbers as the CLI's --json, as polars DataFrames
or Arrow tables, read-only. The database is built by the real ingest over fixtures/ (numbers in
fixtures/claude_code/README.md, fixtures/codex/README.md and fixtures/calendar/README.md)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pytest

import agentprof
from agentprof.errors import DatabaseError, InputError, NotFoundError
from tests.conftest import FIXTURES, ingest_json, run_cli, runs_json

SESSION = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("api") / "api.duckdb"
    ingest_json(db, FIXTURES / "claude_code", FIXTURES / "codex", FIXTURES / "calendar")
    return db


@pytest.fixture
def db(path: Path) -> Iterator[agentprof.Database]:
    with agentprof.open(path) as opened:
        yield opened


def cli_json(*args: str | Path) -> Any:
    ran = run_cli(*args, "--json")
    assert ran.exit_code == 0, ran.stderr
    return ran.json()


def test_runs_are_the_cli_runs_as_a_dataframe(db: agentprof.Database, path: Path) -> None:
    runs = db.runs()
    assert isinstance(runs, pl.DataFrame)
    assert runs.to_dicts() == runs_json(path)
    # Claude Code: the turn u1 and its subagent; Codex: one turn; calendar: 4 + 2 turns.
    assert runs.height == 9
    main = runs.filter(pl.col("run_id") == "u1").row(0, named=True)
    assert main["ticks"] == 3 and main["input_uncached_tokens"] == 18
    assert main["cost_usd"] == pytest.approx(0.011154)
    assert runs.schema["output_tokens"] == pl.Int64  # DuckDB's 128-bit sums, as integers
    costly = db.runs(source="claude-code", sort="cost")["run_id"].to_list()
    assert costly[0] == "u1" and "codex" not in db.runs(source="claude-code")["source"]


def test_ticks_of_one_run_by_prefix_and_of_every_run(db: agentprof.Database, path: Path) -> None:
    one = db.ticks(f"agent-abc@{SESSION[:8]}")
    assert one["run_id"].unique().to_list() == [f"agent-abc@{SESSION}"]
    assert (
        one.drop("run_id").to_dicts()
        == cli_json("ticks", f"agent-abc@{SESSION}", "--db", path)["ticks"]
    )
    assert db.ticks("u1")["input_uncached_tokens"].to_list() == [10, 5, 3]
    every = db.ticks()
    assert every.height == sum(r["ticks"] for r in runs_json(path)) == 3 + 1 + 3 + 6
    assert every.columns[0] == "run_id"


def test_tool_calls_of_one_run_and_of_all(db: agentprof.Database) -> None:
    calls = db.tool_calls("u1")
    # Bash 2,500 ms, then AskUserQuestion (60 s waiting on the user).
    assert calls["tool_name"].to_list() == ["Bash", "AskUserQuestion"]
    assert calls["duration_ms"].to_list() == [2500.0, 60000.0]
    assert calls["status"].to_list()[1] == "user_wait"
    assert db.tool_calls().height == sum(db.runs()["tool_calls"].to_list()) == 3


def test_sessions_and_calendar_views_equal_the_cli(db: agentprof.Database, path: Path) -> None:
    assert db.sessions().to_dicts() == cli_json("sessions", "--db", path)["sessions"]
    beta = db.sessions(project="-home-u-beta")
    assert beta["session_id"].to_list() == ["bbbbbbbb-0000-4000-8000-000000000002"]
    assert db.daily().to_dicts() == cli_json("daily", "--db", path)["daily"]
    tokyo = db.daily(source="claude-code", timezone="Asia/Tokyo", by="project")
    assert tokyo.filter(pl.col("project") == "/home/u/alpha")[
        "input_uncached_tokens"
    ].to_list() == [1000]
    assert (
        db.monthly(since="2026-04-01").to_dicts()
        == cli_json("monthly", "--db", path, "--since", "2026-04-01")["monthly"]
    )
    assert db.blocks().to_dicts() == cli_json("blocks", "--db", path)["blocks"]


def test_diagnose_and_findings_equal_the_cli(db: agentprof.Database, path: Path) -> None:
    doc = cli_json("diagnose", "--db", path)
    runs = db.diagnose()
    assert dict(zip(runs["run_id"], runs["bottleneck"], strict=True)) == {
        r["run_id"]: r["bottleneck"] for r in doc["runs"]
    }
    assert runs["findings"].to_list() == [len(r["findings"]) for r in doc["runs"]]
    findings = db.findings()
    assert findings.height == sum(len(r["findings"]) for r in doc["runs"])
    assert findings.columns == [
        "run_id", "kind", "primary", "evidence", "lever", "saving_usd", "saving_ms"
    ]  # fmt: skip
    one = db.diagnose("u1")
    assert one["run_id"].to_list() == ["u1"]
    with pytest.raises(InputError, match="unknown threshold 'not_a_threshold'"):
        db.diagnose(thresholds={"not_a_threshold": 1})


def test_as_arrow_gives_arrow_tables_with_integer_tokens(db: agentprof.Database) -> None:
    for table in (db.runs(as_arrow=True), db.ticks(as_arrow=True), db.daily(as_arrow=True),
                  db.blocks(as_arrow=True), db.findings(as_arrow=True)):  # fmt: skip
        assert isinstance(table, pa.Table)
    assert db.daily(as_arrow=True).schema.field("output_tokens").type == pa.int64()
    assert db.runs(as_arrow=True).num_rows == db.runs().height


def test_the_database_is_opened_read_only(path: Path) -> None:
    with agentprof.open(path) as db:
        # A second reader is fine; a writer is refused while the API holds the file.
        with agentprof.open(path) as other:
            assert other.runs().height == db.runs().height
        with pytest.raises(duckdb.Error):
            duckdb.connect(str(path)).close()


def test_unknown_run_and_missing_database_raise_the_core_errors(
    db: agentprof.Database, tmp_path: Path
) -> None:
    with pytest.raises(NotFoundError, match="no such run"):
        db.ticks("nope")
    with pytest.raises(NotFoundError, match="ambiguous"):
        db.ticks("aaaa-u")  # the 4 turns of calendar session A
    with pytest.raises(DatabaseError, match="no such database"):
        agentprof.open(tmp_path / "missing.duckdb")


def test_import_agentprof_does_not_load_the_cli_libraries() -> None:
    code = (
        "import sys, agentprof; "
        "print(sorted(m for m in ('typer', 'rich', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
