"""Incremental ingest: adding files to a database must give exactly what one ingest of everything
gives. The duplicate checks and the derivation only look at the traces the new spans belong to
(issue 18), so these tests split realistic traces across files, repeat spans across files, reuse
span ids across traces, and check that only the touched traces are rebuilt.

The oracle is the one-shot ingest of the same spans into a fresh database: incremental ingest must
store the same spans (first copy wins) and derive the same runs, ticks and tool calls."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import orjson
import pytest

from agentprof import ingest as ingest_mod
from agentprof import store
from agentprof.ingest import IngestSummary, expand_paths, ingest
from tests.conftest import FIXTURES, ROOT
from tests.otlp_builder import span, write_trace

TABLES = {
    "spans": "select * exclude (file_sha256, line) from spans order by trace_id, span_id",
    "runs": "select * from runs order by run_id",
    "ticks": "select * from ticks order by run_id, tick",
    "tool_calls": "select * from tool_calls order by run_id, span_id",
}
PATHS = ["native", "python"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Export lines of the benchmark generator: concurrent runs, ~40% of them straddling two or
    more lines, as a real Collector writes them."""
    out = tmp_path_factory.mktemp("corpus")
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_otlp.py"), "--spans", "1500", "--seed", "18"]
        + ["--only", "json", "--out", str(out), "-q"],
        check=True,
        capture_output=True,
    )
    lines = (out / "otlp.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) >= 6
    return lines


def _ingest(db: Path, paths: list[Path], path_kind: str) -> IngestSummary:
    con = store.connect(db)
    try:
        return ingest(con, expand_paths([str(p) for p in paths]), native_json=path_kind == "native")
    finally:
        con.close()


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {name: con.execute(q).fetchall() for name, q in TABLES.items()}
    finally:
        con.close()


def _query(db: Path, text: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(text).fetchall()
    finally:
        con.close()


def _trace_ids(lines: list[bytes]) -> set[str]:
    return {
        s["traceId"]
        for line in lines
        for rs in orjson.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    }


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture(autouse=True)
def _native_path_for_small_files_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Below NATIVE_MIN_BYTES every file takes the Python decoder; these must reach DuckDB's reader
    # too when the test asks for it (native_json=True).
    monkeypatch.setattr(ingest_mod, "NATIVE_MIN_BYTES", 0)


@pytest.fixture(autouse=True, params=["by_rowid", "by_trace"])
def _fetch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The derivation reads the affected spans by row id (a small share of a large database) or
    by trace id (a large share): both must give the same, whatever the share in these small
    databases."""
    monkeypatch.setattr(ingest_mod, "BY_ROWID_SHARE", 2.0 if request.param == "by_rowid" else 0.0)


@pytest.mark.parametrize("path_kind", PATHS)
def test_a_file_a_night_gives_what_one_ingest_of_everything_gives(corpus, tmp_path, path_kind):
    """Traces split across files (late spans of stored traces) are re-derived whole."""
    every = _write(tmp_path / "all.jsonl", corpus)
    _ingest(tmp_path / "once.duckdb", [every], path_kind)

    db = tmp_path / "nightly.duckdb"
    cut = [0, 2, len(corpus) // 2, len(corpus)]
    parts = [corpus[a:b] for a, b in zip(cut, cut[1:], strict=False)]
    straddling = set.intersection(_trace_ids(parts[0] + parts[1]), _trace_ids(parts[2]))
    assert straddling, "no trace straddles the files: this test would prove nothing"
    for k, part in enumerate(parts):
        summary = _ingest(db, [_write(tmp_path / f"night{k}.jsonl", part)], path_kind)
        assert {r.reader for r in summary.file_results} == {
            "duckdb" if path_kind == "native" else "python"
        }
        assert summary.spans == sum(
            len(s["spans"])
            for line in part
            for rs in orjson.loads(line)["resourceSpans"]
            for s in rs["scopeSpans"]
        )
    assert _tables(db) == _tables(tmp_path / "once.duckdb")


@pytest.mark.parametrize("path_kind", PATHS)
def test_overlapping_files_store_each_span_once_and_the_first_copy_wins(
    corpus, tmp_path, path_kind
):
    """An exporter retry: the second file repeats the first one's last two lines (other bytes, so
    another file) before new ones."""
    half = len(corpus) // 2
    first = _write(tmp_path / "first.jsonl", corpus[:half])
    again = _write(tmp_path / "again.jsonl", corpus[half - 2 :])
    _ingest(tmp_path / "once.duckdb", [_write(tmp_path / "all.jsonl", corpus)], path_kind)

    db = tmp_path / "retry.duckdb"
    _ingest(db, [first], path_kind)
    stored_before = _query(db, "select trace_id, span_id, file_sha256 from spans")
    summary = _ingest(db, [again], path_kind)
    repeated = sum(
        len(s["spans"])
        for line in corpus[half - 2 : half]
        for rs in orjson.loads(line)["resourceSpans"]
        for s in rs["scopeSpans"]
    )
    assert repeated > 0
    assert summary.file_results[0].spans_new == summary.spans
    assert summary.spans == len(_query(db, "select 1 from spans")) - len(stored_before)
    assert _tables(db) == _tables(tmp_path / "once.duckdb")
    # The repeated spans keep the first file's copy.
    now = set(_query(db, "select trace_id, span_id, file_sha256 from spans"))
    assert set(stored_before) <= now


def _one_span_file(path: Path, trace: str, span_id: str, model: str, parent: str | None = None):
    return write_trace(
        path,
        [
            span(
                trace,
                span_id,
                f"chat {model}",
                0,
                1000,
                parent,
                gen_ai__operation__name="chat",
                gen_ai__request__model=model,
                gen_ai__usage__input_tokens=100,
                gen_ai__usage__output_tokens=10,
            )
        ],
    )


@pytest.mark.parametrize("path_kind", PATHS)
def test_a_span_id_reused_by_another_trace_is_not_a_copy(tmp_path, path_kind):
    t1, t2, sid = "1" * 32, "2" * 32, "5" * 16
    db = tmp_path / "ids.duckdb"
    _ingest(db, [_one_span_file(tmp_path / "a.json", t1, sid, "first")], path_kind)
    # Same span id in another trace: a new span. Same trace and span id: a retry, not stored.
    b = _one_span_file(tmp_path / "b.json", t2, sid, "second")
    retry = _one_span_file(tmp_path / "c.json", t1, sid, "retried")
    summary = _ingest(db, [b, retry], path_kind)
    assert summary.spans == 1
    rows = _query(
        db, "select trace_id, span_id, attributes['gen_ai.request.model'] from spans order by 1"
    )
    assert rows == [(t1, sid, "first"), (t2, sid, "second")]
    assert _query(db, "select run_id, model from ticks order by 1") == [
        (t1, "first"),
        (t2, "second"),
    ]


@pytest.mark.parametrize("stored_before", [False, True], ids=["empty", "not-empty"])
def test_a_span_repeated_within_one_ingest_keeps_the_first_file_s_copy(tmp_path, stored_before):
    """Small files are stored in groups, one stream: a span two of them hold is kept from the
    first file named, and one a single file holds twice, from its first line; whether or not
    the database held spans before (into an empty one, no stored copy is looked for)."""
    trace, sid = "3" * 32, "6" * 16
    db = tmp_path / "group.duckdb"
    if stored_before:
        _ingest(db, [_one_span_file(tmp_path / "other.json", "9" * 32, sid, "other")], "python")
    a = _one_span_file(tmp_path / "a.json", trace, sid, "from-a")
    b = _one_span_file(tmp_path / "b.json", trace, sid, "from-b")
    twice = tmp_path / "twice.jsonl"
    line = _one_span_file(tmp_path / "x.json", "4" * 32, sid, "line-1").read_bytes()
    twice.write_bytes(line + b"\n" + line.replace(b"line-1", b"line-2") + b"\n")
    summary = _ingest(db, [a, b, twice], "python")
    assert summary.spans == 2
    models = _query(db, "select attributes['gen_ai.request.model'] from spans order by 1")
    assert models == [("from-a",), ("line-1",)] + ([("other",)] if stored_before else [])


@pytest.mark.parametrize("path_kind", PATHS)
def test_only_the_traces_of_new_spans_are_rebuilt(tmp_path, path_kind):
    t1, t2 = "7" * 32, "8" * 32
    db = tmp_path / "scope.duckdb"
    _ingest(
        db,
        [
            _one_span_file(tmp_path / "t1.json", t1, "1" * 16, "m"),
            _one_span_file(tmp_path / "t2.json", t2, "1" * 16, "m"),
        ],
        path_kind,
    )
    con = duckdb.connect(str(db))
    con.execute(f"update runs set agent = 'untouched' where run_id = '{t2}'")
    con.close()
    late = _one_span_file(tmp_path / "late.json", t1, "2" * 16, "m", parent="1" * 16)
    summary = _ingest(db, [late], path_kind)
    # t1 is rebuilt from both of its spans (the late one is a child: still one tick, the inner
    # call), and the summary counts what was rebuilt; t2 is left as it was.
    assert (summary.runs, summary.ticks) == (1, 1)
    assert _query(db, f"select span_id from ticks where run_id = '{t1}'") == [("2" * 16,)]
    assert _query(db, "select run_id, agent from runs order by 1")[1] == (t2, "untouched")


@pytest.mark.parametrize("path_kind", PATHS)
def test_the_same_file_again_changes_nothing(corpus, tmp_path, path_kind):
    db = tmp_path / "again.duckdb"
    path = _write(tmp_path / "a.jsonl", corpus[:3])
    _ingest(db, [path], path_kind)
    before = _tables(db)
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(path.read_bytes() + b"\n")  # the same spans in another file
    summary = _ingest(db, [path, copy], path_kind)
    assert summary.spans == 0
    assert _tables(db) == before


def test_a_claude_code_log_read_again_under_another_name_stores_nothing_new(tmp_path):
    """Local logs stage their spans in a table and insert only those not stored yet."""
    logs = sorted((FIXTURES / "claude_code").rglob("*.jsonl"))
    assert logs
    db = tmp_path / "cc.duckdb"
    _ingest(db, logs, "python")
    before = _tables(db)
    assert before["spans"]
    copies = []
    for k, log in enumerate(logs):
        copy = tmp_path / "copies" / f"{k}" / log.name
        copy.parent.mkdir(parents=True)
        shutil.copyfile(log, copy)
        with copy.open("ab") as f:
            f.write(b"\n")  # other bytes, the same records
        copies.append(copy)
    summary = _ingest(db, copies, "python")
    assert summary.spans == 0
    assert _tables(db) == before
