"""The same inputs give byte-identical `--json` and HTML, whatever order the files were ingested
in: sums of costs and durations are exact (schema 029), ties are broken by value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REALDATA, ingest_json, run_cli

INPUTS = [
    REALDATA / "public" / "claude-code" / "spotter",
    REALDATA / "public" / "codex" / "codemie",
    REALDATA / "otlp",
]


def test_two_ingest_orders_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    outputs = []
    for name, order in (("forward", INPUTS), ("backward", INPUTS[::-1])):
        db = tmp_path / f"{name}.duckdb"
        ingest_json(db, *order)
        html = tmp_path / f"{name}.html"
        report = run_cli("report", "--db", db, "-o", html, "--json")
        assert report.exit_code == 0, report.stderr
        diagnosis = run_cli("diagnose", "--db", db, "--json")
        runs = run_cli("runs", "--db", db, "--json")
        outputs.append((report.stdout, html.read_bytes(), diagnosis.stdout, runs.stdout))
    forward, backward = outputs
    names = ("report --json", "HTML", "diagnose", "runs")
    for a, b, what in zip(forward, backward, names, strict=True):
        assert a == b, f"{what} differs between ingest orders"
