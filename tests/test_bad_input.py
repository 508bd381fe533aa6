"""One small file per promised error or warning (fixtures/bad/, described in fixtures/README.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from agentprof.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
BAD = FIXTURES / "bad"
ENV = {"COLUMNS": "1000", "NO_COLOR": "1", "AGENTPROF_DB": None}

MARKUP = ("[b]bold[/b]", "<script>alert(1)</script>", "'; DROP TABLE ticks; --")

runner = CliRunner()


def cli(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, f"stderr: {result.stderr}\nexception: {result.exception!r}"
    return result


def runs(db: Path) -> list[dict[str, Any]]:
    return json.loads(ok(cli("runs", "--db", db, "--json")).stdout)["runs"]


def ticks(db: Path, run_id: str) -> list[dict[str, Any]]:
    return json.loads(ok(cli("ticks", run_id, "--db", db, "--json")).stdout)["ticks"]


def trace(n: int) -> str:
    return f"{n:02x}c0ffee" + "0" * 24


# --------------------------------------------------------------------------- refused files


@pytest.mark.parametrize("name", ["empty.json"])
def test_a_file_that_is_not_a_trace_export_is_refused_with_one_error_line(
    name: str, tmp_path: Path
) -> None:
    path = BAD / name
    result = cli("ingest", "--db", tmp_path / "a.duckdb", path, "--json")
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    pattern = re.compile(rf"^error: {re.escape(str(path))}: not an OTLP trace export \(.+\)$")
    lines = result.stderr.splitlines()
    assert any(pattern.match(line) for line in lines), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "shape"),
    [
        (
            "not_a_trace.csv",
            None,
            "CSV text with columns run_id, model, input_tokens, output_tokens",
        ),
        ("wrong_json.json", None, "a JSON document with keys hello"),
        (
            "keys.jsonl",
            b'{"b": 1, "a": 2}\n{"b": 3, "a": 4}\n',
            "JSON lines whose records have keys a, b",
        ),
        ("list.json", b'[{"id": 1, "when": 2}]', "a JSON array of objects with keys id, when"),
        ("notes.txt", b"just some notes\n", "text"),
        ("blob.bin", bytes(range(255, -1, -1)) * 4, "binary data"),
    ],
)
def test_a_file_of_unknown_format_says_what_it_looks_like_and_that_it_is_not_read(
    name: str, content: bytes | None, shape: str, tmp_path: Path
) -> None:
    path = BAD / name
    if content is not None:
        path = tmp_path / name
        path.write_bytes(content)
    result = cli("ingest", "--db", tmp_path / "a.duckdb", path, "--json")
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert result.stderr.splitlines() == [f"error: {path}: not a format agentprof reads ({shape})"]
    assert json.loads(result.stdout)["files_failed"] == 1


def test_a_folder_walk_counts_what_it_skipped_by_reason_and_names_the_first_few(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    (folder / "notes.md").write_text("# notes\n")
    (folder / "data.csv").write_text("a,b\n1,2\n")
    (folder / ".env").write_text("X=1\n")
    (folder / "sub" / "config.json").write_text('{"theme": "dark"}')
    (folder / "good.jsonl").write_bytes((BAD / "one_bad_line.jsonl").read_bytes())
    result = cli("ingest", "--db", tmp_path / "a.duckdb", folder)
    assert result.exit_code == 0, result.stderr
    assert (
        f"warning: skipped 5 files in folders (2 hidden, 2 not a trace or log file name, "
        f"1 not a format agentprof reads): {folder / '.env'}, {folder / '.hidden'}/, "
        f"{folder / 'data.csv'}, …"
    ) in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1].startswith("ingested 1 files:")


def test_a_folder_walk_with_nothing_skipped_says_nothing_about_skipping(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes((BAD / "one_bad_line.jsonl").read_bytes())
    result = cli("ingest", "--db", tmp_path / "a.duckdb", folder, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["warnings"] == []


# --------------------------------------------------------------------------- skipped records


def test_a_malformed_json_line_is_skipped_and_named_by_its_line_number(tmp_path: Path) -> None:
    db, path = tmp_path / "a.duckdb", BAD / "one_bad_line.jsonl"
    result = ok(cli("ingest", "--db", db, path, "--json"))
    assert "1 of 5 records skipped" in result.stderr
    assert f"{path}:3" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["records"], summary["records_skipped"]) == (5, 1)
    (r,) = runs(db)
    assert (r["run_id"], r["ticks"], r["tool_calls"]) == (trace(18), 2, 1)
    got = [
        (
            t["span_id"],
            t["input_uncached_tokens"],
            t["cache_read_tokens"],
            t["cache_write_5m_tokens"],
            t["output_tokens"],
        )
        for t in ticks(db, trace(18))
    ]
    assert got == [("1200000000000002", 500, 0, 500, 100), ("1200000000000005", 600, 500, 100, 80)]
    assert (r["wall_ms"], r["model_ms"], r["tool_ms"], r["harness_ms"]) == (3000, 2000, 300, 700)


def test_spans_with_a_non_hex_trace_id_or_no_span_id_are_skipped_and_named_by_line(
    tmp_path: Path,
) -> None:
    db, path = tmp_path / "a.duckdb", BAD / "bad_span.jsonl"
    result = ok(cli("ingest", "--db", db, path, "--json"))
    assert f"{path}:2" in result.stderr
    assert f"{path}:3" in result.stderr
    assert "skipped" in result.stderr
    assert [r["run_id"] for r in runs(db)] == [trace(19)]
    got = [
        (t["span_id"], t["input_uncached_tokens"], t["output_tokens"]) for t in ticks(db, trace(19))
    ]
    assert got == [("1300000000000002", 100, 10)]


def test_a_truncated_protobuf_frame_is_skipped_and_the_complete_frames_are_kept(
    tmp_path: Path,
) -> None:
    db, path = tmp_path / "a.duckdb", BAD / "truncated.binpb"
    result = ok(cli("ingest", "--db", db, path, "--json"))
    assert str(path) in result.stderr
    # How many records the complete frame holds is the reader's business; one is skipped.
    assert re.search(r"\b1 of \d+ records skipped", result.stderr), result.stderr
    assert json.loads(result.stdout)["records_skipped"] == 1
    (r,) = runs(db)
    assert (r["run_id"], r["ticks"], r["tool_calls"]) == (trace(20), 1, 1)
    (t,) = ticks(db, trace(20))
    assert (
        t["input_uncached_tokens"],
        t["cache_read_tokens"],
        t["cache_write_5m_tokens"],
        t["output_tokens"],
    ) == (500, 0, 500, 100)


# --------------------------------------------------------------------------- data is never markup


def ingest_markup(tmp_path: Path) -> Path:
    db = tmp_path / "a.duckdb"
    ok(cli("ingest", "--db", db, BAD / "markup_names.json", "--json"))
    return db


def test_markup_and_sql_in_names_come_back_literally_in_json(tmp_path: Path) -> None:
    db = ingest_markup(tmp_path)
    (r,) = runs(db)
    assert r["agent"] == "[b]bold[/b]"
    assert (r["ticks"], r["tool_calls"]) == (3, 2)
    assert [t["model"] for t in ticks(db, trace(17))] == list(MARKUP)


def test_markup_and_sql_in_names_print_literally_in_tables(tmp_path: Path) -> None:
    db = ingest_markup(tmp_path)
    runs_table = ok(cli("runs", "--db", db)).stdout
    assert "[b]bold[/b]" in runs_table
    ticks_table = ok(cli("ticks", trace(17), "--db", db)).stdout
    for text in MARKUP:
        assert text in ticks_table, (text, ticks_table)
    assert "\x1b[" not in runs_table + ticks_table  # no styling escapes leaked into captured output


def test_a_model_named_like_sql_injection_leaves_the_ticks_table_intact(tmp_path: Path) -> None:
    db = ingest_markup(tmp_path)
    assert len(ticks(db, trace(17))) == 3
    ok(cli("ingest", "--db", db, BAD / "markup_names.json", "--json"))
    assert len(ticks(db, trace(17))) == 3


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_repeated_attribute_keys_and_out_of_range_times_do_not_stop_a_file(
    suffix: str, tmp_path: Path
) -> None:
    doc = json.loads((FIXTURES / "otlp" / "genai_current.json").read_text())
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    first = spans[0]
    key = first["attributes"][0]["key"]
    first["attributes"].append({"key": key, "value": {"stringValue": "last value"}})
    spans[1]["kind"] = 300
    spans[2]["startTimeUnixNano"] = str(2**63 + 5)
    path = tmp_path / f"odd{suffix}"
    path.write_text(json.dumps(doc) + "\n")
    db = tmp_path / "a.duckdb"
    result = ok(cli("ingest", "--db", db, path, "--json"))
    summary = json.loads(result.stdout)
    assert (summary["records"], summary["records_skipped"]) == (len(spans), 1)
    assert f"{path}:1: bad span: startTimeUnixNano 9223372036854775813 is outside 1970..2200" in (
        result.stderr
    )
    with duckdb.connect(str(db), read_only=True) as con:
        value, kind = con.execute(
            "select (select attributes[$key] from spans where span_id = lower($a)),"
            " (select kind from spans where span_id = lower($b))",
            {"key": key, "a": first["spanId"], "b": spans[1]["spanId"]},
        ).fetchone()
    assert (value, kind) == ("last value", 0)
