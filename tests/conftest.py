"""Shared test helpers: the real CLI through typer's CliRunner, on real DuckDB files."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentprof.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REALDATA = ROOT.parent / "shared" / "realdata"
REAL_OTLP = REALDATA / "otlp"


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/ from the output"
    )


def run_cli(*args: str | Path, columns: int = 200) -> Ran:
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


def ingest_json(db: Path, *paths: str | Path) -> dict[str, Any]:
    ran = run_cli("ingest", "--db", db, *paths, "--json")
    assert ran.exit_code == 0, ran.stderr
    return ran.json()  # type: ignore[no-any-return]


def runs_json(db: Path, *extra: str) -> list[dict[str, Any]]:
    ran = run_cli("runs", "--db", db, "--json", *extra)
    assert ran.exit_code == 0, ran.stderr
    return ran.json()["runs"]  # type: ignore[no-any-return]


def ticks_json(db: Path, run_id: str) -> list[dict[str, Any]]:
    ran = run_cli("ticks", run_id, "--db", db, "--json")
    assert ran.exit_code == 0, ran.stderr
    return ran.json()["ticks"]  # type: ignore[no-any-return]


def modules_loaded_by(imports: str, names: tuple[str, ...]) -> list[str]:
    """Which of `names` a fresh interpreter has loaded after `imports` ("import agentprof.cli")."""
    wanted = list(names)
    probe = f"print(json.dumps([m for m in {wanted!r} if m in sys.modules]))"
    code = f"import json, sys; {imports}; {probe}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return sorted(json.loads(out.stdout))
