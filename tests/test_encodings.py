"""Every OTLP framing and compression of one trace yields the same ledger.

fixtures/otlp/encodings/ holds the six spans of fixtures/otlp/genai_current.json in
nine encodings (see fixtures/README.md); fixtures/make_encodings.py regenerates them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_dialects import cli, ingest, runs

ROOT = Path(__file__).resolve().parent.parent
OTLP = ROOT / "fixtures" / "otlp"
ENCODINGS = OTLP / "encodings"
BASE = OTLP / "genai_current.json"
RUN_ID = "01c0ffee000000000000000000000000"
ENCODING_FILES = (
    "base.otlp.json",
    "concatenated.json",
    "collector.jsonl",
    "collector.jsonl.gz",
    "collector.jsonl.zst",
    "base.otlp.pb",
    "base.otlp.pb.gz",
    "collector.binpb",
    "collector.binpb.zst-legacy",
)


def ticks_document(db: Path) -> dict[str, Any]:
    result = cli("ticks", RUN_ID, "--db", db, "--json")
    assert result.exit_code == 0, f"stderr: {result.stderr}\nexception: {result.exception!r}"
    return json.loads(result.stdout)


def ledger_of(path: Path, db: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ingest(db, path)
    return ticks_document(db), runs(db)


def ticks_document_after(tmp_path: Path, path: Path) -> dict[str, Any]:
    db = tmp_path / "one.duckdb"
    ingest(db, path)
    return ticks_document(db)


def without_source(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The source label may legitimately name the encoding; every number must match.
    return [{k: v for k, v in r.items() if k != "source"} for r in rows]


def test_every_encoding_file_is_present() -> None:
    assert sorted(p.name for p in ENCODINGS.iterdir()) == sorted(ENCODING_FILES)


@pytest.mark.parametrize("name", ENCODING_FILES)
def test_each_encoding_gives_the_same_ticks_ledger_as_the_json_it_was_made_from(
    name: str, tmp_path: Path
) -> None:
    base_ticks, _ = ledger_of(BASE, tmp_path / "base.duckdb")
    enc_ticks, _ = ledger_of(ENCODINGS / name, tmp_path / "enc.duckdb")
    assert len(enc_ticks["ticks"]) == 3
    assert enc_ticks == base_ticks


@pytest.mark.parametrize("name", ENCODING_FILES)
def test_each_encoding_gives_the_same_run_totals_and_timing(name: str, tmp_path: Path) -> None:
    _, base_runs = ledger_of(BASE, tmp_path / "base.duckdb")
    _, enc_runs = ledger_of(ENCODINGS / name, tmp_path / "enc.duckdb")
    assert without_source(enc_runs) == without_source(base_runs)


@pytest.mark.parametrize("name", ENCODING_FILES)
def test_each_encoding_reports_six_spans_three_ticks_and_two_tool_calls(
    name: str, tmp_path: Path
) -> None:
    summary = ingest(tmp_path / "enc.duckdb", ENCODINGS / name)
    assert {
        k: summary[k] for k in ("files", "spans", "runs", "ticks", "tool_calls", "records_skipped")
    } == {"files": 1, "spans": 6, "runs": 1, "ticks": 3, "tool_calls": 2, "records_skipped": 0}


def test_the_encodings_match_the_hand_computed_numbers(tmp_path: Path) -> None:
    # Anchors the comparison above to fixtures/README.md, not only to each other.
    doc = ticks_document_after(tmp_path, ENCODINGS / "collector.binpb.zst-legacy")
    got = [
        (
            t["input_uncached_tokens"],
            t["cache_read_tokens"],
            t["cache_write_5m_tokens"],
            t["output_tokens"],
            t["reasoning_tokens"],
        )
        for t in doc["ticks"]
    ]
    assert got == [(400, 0, 600, 200, None), (300, 600, 300, 100, 40), (600, 900, 0, 300, None)]


def test_all_encodings_in_one_database_make_one_run_with_three_ticks(tmp_path: Path) -> None:
    db = tmp_path / "all.duckdb"
    ingest(db, BASE, *(ENCODINGS / n for n in ENCODING_FILES))
    rs = runs(db)
    assert [(r["run_id"], r["ticks"], r["tool_calls"]) for r in rs] == [(RUN_ID, 3, 2)]
    base_ticks, _ = ledger_of(BASE, tmp_path / "base.duckdb")
    assert ticks_document(db) == base_ticks


def test_ingesting_the_encodings_directory_reads_every_file_in_it(tmp_path: Path) -> None:
    db = tmp_path / "dir.duckdb"
    summary = ingest(db, ENCODINGS)
    assert summary["files"] == len(ENCODING_FILES)
    assert [(r["run_id"], r["ticks"]) for r in runs(db)] == [(RUN_ID, 3)]


def test_make_encodings_regenerates_byte_identical_files(tmp_path: Path) -> None:
    out, bad = tmp_path / "encodings", tmp_path / "bad"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "fixtures" / "make_encodings.py"),
            "--out",
            str(out),
            "--bad-out",
            str(bad),
        ],
        check=True,
    )
    for name in ENCODING_FILES:
        assert (out / name).read_bytes() == (ENCODINGS / name).read_bytes(), name
    truncated = ROOT / "fixtures" / "bad" / "truncated.binpb"
    assert (bad / "truncated.binpb").read_bytes() == truncated.read_bytes()
