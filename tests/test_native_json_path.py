"""DuckDB's native JSON-lines path and the Python decoder are two readers of one format: on every
JSON-lines input they must store the same spans and derive the same ledger."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agentprof import ingest as ingest_mod
from agentprof import store
from agentprof.ingest import expand_paths, ingest
from tests.conftest import FIXTURES, ROOT


@pytest.fixture(autouse=True)
def _native_path_for_small_files_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Below NATIVE_MIN_BYTES the Python decoder is faster and takes every file: these small
    # fixtures must go through DuckDB's reader to be compared with it.
    monkeypatch.setattr(ingest_mod, "NATIVE_MIN_BYTES", 0)


JSONL_INPUTS = [
    FIXTURES / "otlp" / "encodings" / "collector.jsonl",
    FIXTURES / "otlp" / "encodings" / "collector.jsonl.gz",
    *sorted((FIXTURES / "otlp").glob("*.json")),
]
TABLES = {
    # Through the view: the native path leaves a resource's map on its first span of a request.
    "spans": "select * exclude (line) from spans_with_resource order by trace_id, span_id",
    "runs": "select * from runs order by run_id",
    "ticks": "select * from ticks order by run_id, tick",
    "tool_calls": "select * from tool_calls order by run_id, span_id",
}


def _tables(db: Path, paths: list[Path], native: bool) -> tuple[dict[str, list[tuple]], list[str]]:
    con = store.connect(db)
    try:
        summary = ingest(con, expand_paths([str(p) for p in paths]), native_json=native)
        readers = [r.reader for r in summary.file_results]
        return {name: con.execute(q).fetchall() for name, q in TABLES.items()}, readers
    finally:
        con.close()


def _as_json_lines(path: Path, tmp_path: Path) -> Path:
    """Pretty-printed fixtures become one request per line, the shape the native reader takes."""
    if path.suffix == ".gz" or path.suffix == ".jsonl":
        return path
    out = tmp_path / (path.stem + ".jsonl")
    out.write_bytes(orjson.dumps(orjson.loads(path.read_bytes())) + b"\n")
    return out


@pytest.mark.parametrize("path", JSONL_INPUTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_native_and_python_readers_store_the_same_spans_and_ledger(path, tmp_path):
    lines = _as_json_lines(path, tmp_path)
    native, native_readers = _tables(tmp_path / "native.duckdb", [lines], native=True)
    python, python_readers = _tables(tmp_path / "python.duckdb", [lines], native=False)
    assert (native_readers, python_readers) == (["duckdb"], ["python"])
    assert native["spans"], "nothing ingested"
    for name in TABLES:
        assert native[name] == python[name], name


def test_a_file_with_a_malformed_line_falls_back_to_the_python_reader(tmp_path):
    bad = FIXTURES / "bad" / "one_bad_line.jsonl"
    native, readers = _tables(tmp_path / "n.duckdb", [bad], native=True)
    python, _ = _tables(tmp_path / "p.duckdb", [bad], native=False)
    assert readers == ["python"]
    assert len(native["spans"]) == 4
    assert native == python


def test_a_span_twice_in_one_file_falls_back_and_is_stored_once(tmp_path):
    # An exporter retry written twice into the same export: the file's first copy is kept.
    source = FIXTURES / "otlp" / "encodings" / "collector.jsonl"
    first = source.read_bytes().splitlines()[0]
    doubled = tmp_path / "doubled.jsonl"
    doubled.write_bytes(first + b"\n" + first + b"\n")
    once = tmp_path / "once.jsonl"
    once.write_bytes(first + b"\n")
    twice, readers = _tables(tmp_path / "d.duckdb", [doubled], native=True)
    single, single_readers = _tables(tmp_path / "s.duckdb", [once], native=True)
    assert (readers, single_readers) == (["python"], ["duckdb"])
    assert twice["spans"]

    # Everything equal but the file each span came from (file_sha256, before resource_id).
    def but_file(rows: list[tuple]) -> list[tuple]:
        return [row[:-2] + row[-1:] for row in rows]

    assert but_file(twice.pop("spans")) == but_file(single.pop("spans"))
    assert twice == single


def test_a_legacy_envelope_goes_to_the_python_reader(tmp_path):
    doc = orjson.loads(
        (FIXTURES / "otlp" / "encodings" / "collector.jsonl").read_bytes().splitlines()[0]
    )
    for rs in doc["resourceSpans"]:
        rs["instrumentationLibrarySpans"] = rs.pop("scopeSpans")
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_bytes(orjson.dumps(doc) + b"\n")
    tables, readers = _tables(tmp_path / "l.duckdb", [legacy], native=True)
    assert readers == ["python"]
    assert len(tables["spans"]) == sum(
        len(s["spans"]) for rs in doc["resourceSpans"] for s in rs["instrumentationLibrarySpans"]
    )


def test_a_file_overlapping_a_stored_one_keeps_the_first_copy_and_counts_every_span(tmp_path):
    # The second export repeats the first one's spans (an exporter retry) and adds new ones.
    lines = (FIXTURES / "otlp" / "encodings" / "collector.jsonl").read_bytes().splitlines()
    first = tmp_path / "first.jsonl"
    first.write_bytes(lines[0] + b"\n")
    both = tmp_path / "both.jsonl"
    both.write_bytes(b"\n".join(lines) + b"\n")
    in_first = sum(
        len(s["spans"]) for rs in orjson.loads(lines[0])["resourceSpans"] for s in rs["scopeSpans"]
    )
    in_both = sum(
        len(s["spans"])
        for line in lines
        for rs in orjson.loads(line)["resourceSpans"]
        for s in rs["scopeSpans"]
    )
    assert 0 < in_first < in_both
    con = store.connect(tmp_path / "o.duckdb")
    try:
        ingest(con, [first])
        summary = ingest(con, [both])
        (result,) = summary.file_results
        assert result.reader == "duckdb"
        new = in_both - in_first
        files = con.execute("select path, records, spans_new from files order by path").fetchall()
        assert files == [(str(both), in_both, new), (str(first), in_first, in_first)]
        kept = con.execute(
            "select f.path, count(*) from spans join files f on f.sha256 = file_sha256 group by 1"
        )
        assert sorted(kept.fetchall()) == [(str(both), new), (str(first), in_first)]
    finally:
        con.close()
    # The Python decoder, given the same two files, stores the same spans and ledger.
    native, _ = _tables(tmp_path / "n.duckdb", [first, both], native=True)
    python, _ = _tables(tmp_path / "p.duckdb", [first, both], native=False)
    assert native == python


def test_small_files_take_the_python_decoder_by_default(tmp_path, monkeypatch):
    monkeypatch.undo()
    con = store.connect(tmp_path / "small.duckdb")
    try:
        summary = ingest(con, [FIXTURES / "otlp" / "encodings" / "collector.jsonl"])
    finally:
        con.close()
    assert [r.reader for r in summary.file_results] == ["python"]
